#!/usr/bin/env bash
# One command for a fresh machine: install everything, then run the main job on the embedded defaults
# (`motionllm quickstart`). Safe to run again: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/motionllm quickstart "$@"
