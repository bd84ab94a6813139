# The ros-* wheels export <pkg>__rosidl_generator_py targets whose INTERFACE_INCLUDE_DIRECTORIES name the Python
# include folder of the machine that built them (/opt/python/cp311-cp311/...), which CMake rejects. After every
# find_package has run, replace it on every imported target with this interpreter's Python and NumPy includes.
function(_motionllm_fix_python_includes)
  execute_process(COMMAND "${Python3_EXECUTABLE}" -c "import sysconfig, numpy; print(sysconfig.get_paths()['include'] + ';' + numpy.get_include())"
                  OUTPUT_VARIABLE _here OUTPUT_STRIP_TRAILING_WHITESPACE)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(_target IN LISTS _targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(_dirs AND "${_dirs}" MATCHES "/opt/python/")
      list(FILTER _dirs EXCLUDE REGEX "^/opt/python/")
      list(APPEND _dirs ${_here})
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_dirs}")
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _motionllm_fix_python_includes)
