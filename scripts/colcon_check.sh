#!/usr/bin/env bash
# Build every package of ros2_ws/src with colcon, as a ROS 2 workspace would (ament_cmake interface packages
# and the ament_python node package, in dependency order, isolated installs), against the ros-* wheels in .venv;
# then import the colcon-built interfaces. colcon comes from PyPI into its own venv (build/colcon-venv); nothing
# of the project's .venv changes. Usage: scripts/colcon_check.sh [WORKDIR]   (default build/colcon-check)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$PWD/.venv
WORK=${1:-$PWD/build/colcon-check}
COLCON_VENV=$PWD/build/colcon-venv
if [ ! -x "$COLCON_VENV/bin/colcon" ]; then
    python3 -m venv "$COLCON_VENV"
    "$COLCON_VENV/bin/pip" install -q --disable-pip-version-check colcon-core==0.21.3 colcon-cmake==0.2.30 \
        colcon-ros==0.5.0 colcon-library-path colcon-package-information colcon-package-selection \
        colcon-parallel-executor colcon-recursive-crawl colcon-python-setup-py colcon-pkg-config colcon-test-result
fi
rm -rf "$WORK"
export AMENT_PREFIX_PATH=$VENV CMAKE_PREFIX_PATH=$VENV PATH=$VENV/bin:$PATH
"$COLCON_VENV/bin/colcon" --log-base "$WORK/log" list --base-paths ros2_ws/src
"$COLCON_VENV/bin/colcon" --log-base "$WORK/log" build --base-paths ros2_ws/src --build-base "$WORK/build" \
    --install-base "$WORK/install" --event-handlers console_direct- \
    --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF \
    -DCMAKE_PROJECT_INCLUDE="$PWD/scripts/cmake/fix_wheel_python_includes.cmake"
site=lib/$("$VENV/bin/python" -c 'import sys; print(f"python{sys.version_info.major}.{sys.version_info.minor}")')/site-packages
PYTHONPATH=$WORK/install/motionllm_interfaces/$site:$WORK/install/hri_msgs/$site:$WORK/install/tf2_msgs/$site:$WORK/install/motionllm_ros/$site \
    "$VENV/bin/python" - "$WORK" <<'PY'
import sys
import hri_msgs.msg, motionllm_interfaces.action, motionllm_interfaces.msg, motionllm_interfaces.srv, tf2_msgs.msg
import motionllm_ros
for module in (hri_msgs, motionllm_interfaces, tf2_msgs, motionllm_ros):
    assert module.__file__.startswith(sys.argv[1]), f"{module.__name__} came from {module.__file__}, not the colcon build"
print("colcon check: hri_msgs, tf2_msgs, motionllm_interfaces and motionllm_ros built and import from", sys.argv[1])
PY
