#!/usr/bin/env bash
# Build the ROS 2 interface packages of ros2_ws/src (motionllm_interfaces, hri_msgs, tf2_msgs) from the ros-* wheels in
# .venv and install them into the venv prefix, where rclpy finds them with no environment set
# (../shared/docs/ros-interfaces.md). Idempotent: a package whose sources did not change is not rebuilt.
# Called by install.sh; run it alone after editing a .msg/.srv/.action file.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$PWD/.venv
BUILD=${BUILD_DIR:-$PWD/build/interfaces}
for package in hri_msgs tf2_msgs motionllm_interfaces; do
    source_dir=ros2_ws/src/$package
    stamp=$VENV/.motionllm-interface-$package
    digest=$(find "$source_dir" -type f | sort | xargs cat | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
        continue
    fi
    echo "[install] building the ROS interface package $package (about 15-60 s)" >&2
    log=$BUILD/$package.log
    mkdir -p "$BUILD/$package"
    if ! (export AMENT_PREFIX_PATH=$VENV CMAKE_PREFIX_PATH=$VENV PATH=$VENV/bin:$PATH
          cmake -S "$source_dir" -B "$BUILD/$package" -DCMAKE_INSTALL_PREFIX="$VENV" \
                -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF \
                -DCMAKE_PROJECT_INCLUDE="$PWD/scripts/cmake/fix_wheel_python_includes.cmake" &&
          cmake --build "$BUILD/$package" -j "$(nproc)" && cmake --install "$BUILD/$package") > "$log" 2>&1; then
        echo "[install] error: building $package failed; the last lines of $log:" >&2
        tail -n 15 "$log" >&2
        exit 1
    fi
    "$VENV/bin/python" -c "import $package.msg" || { echo "[install] error: $package was built but does not import" >&2; exit 1; }
    echo "$digest" > "$stamp"
done
