#!/usr/bin/env bash
# Run the test suite (installs the environment first if needed). Extra arguments go to pytest, e.g.
#   scripts/test.sh -m slow        # only the slow tests (training, full-size corpus)
#   scripts/test.sh -m "not ros"   # skip the tests that start ROS 2 nodes
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PYTHONUNBUFFERED=1
if [ $# -eq 0 ]; then
    set -- -m "not slow"
fi
exec .venv/bin/python -m pytest "$@"
