#!/usr/bin/env bash
# Regenerate the shipped motion LLM (models/weights/llm) in its three training stages, on the embedded corpus.
# About 3.5 h on a 2-core CPU; each stage checkpoints and resumes (run the script again after an interruption).
#   scripts/train_llm_stages.sh [WORK_DIR]     # intermediate stages go to WORK_DIR (default: outputs/llm_stages)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-outputs/llm_stages}"
motionllm=.venv/bin/motionllm
# 1. LoRA + motion head, motion input rows fixed at their codebook projection (fast steps): 1100 steps, ~90 min.
[ -f "$work/stage1/.done" ] || { $motionllm train llm --fixed-motion-input --out "$work/stage1" && touch "$work/stage1/.done"; }
# 2. The motion input rows train too (the backward pass then runs through every layer): 275 steps, ~45 min.
[ -f "$work/stage2/.done" ] || { $motionllm train llm --init-from "$work/stage1" --out "$work/stage2" --steps 275 \
    && touch "$work/stage2/.done"; }
# 3. More reading: captioning and Q&A weighted up, each Q&A example with 3 follow-up questions: 550 steps, ~80 min.
[ -f "$work/stage3/.done" ] || { $motionllm train llm --init-from "$work/stage2" --out "$work/stage3" --steps 550 \
    --tasks t2m=0.25 m2t=0.3 qa=0.3 predict=0.075 inbetween=0.075 --qa-follow-ups 3 && touch "$work/stage3/.done"; }
# Ship the last stage: the model files and its training log, not the optimiser state or the code cache.
rm -rf models/weights/llm.part && mkdir -p models/weights/llm.part
cp -r "$work/stage3"/{adapter,config.json,motion_embeddings.safetensors,history.json,history.png,train_config.json} \
    models/weights/llm.part/
rm -rf models/weights/llm && mv models/weights/llm.part models/weights/llm
echo "shipped: models/weights/llm (from $work/stage3)"
