#!/usr/bin/env bash
# Regenerate the shipped motion LLM (models/weights/llm) in its nine training stages, on the embedded corpus.
# About 12 h on a 2-core CPU; each stage checkpoints and resumes (run the script again after an interruption).
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
# 4. The motion reader (pretrained contrastively on motion tokens and captions: ~20 min, most of it embedding the
#    captions once with MiniLM) is added: shown motions are
#    also read through it. Reading weighted up further: 600 steps, ~95 min.
[ -f "$work/reader/.done" ] || { $motionllm train reader --out "$work/reader" && touch "$work/reader/.done"; }
[ -f "$work/stage4/.done" ] || { $motionllm train llm --init-from "$work/stage3" --motion-reader "$work/reader" \
    --out "$work/stage4" --steps 600 --tasks t2m=0.2 m2t=0.35 qa=0.35 predict=0.05 inbetween=0.05 --qa-follow-ups 3 \
    && touch "$work/stage4/.done"; }
# 5. Q&A weighted up (the reader reads; the answers still lag): 450 steps, ~70 min.
[ -f "$work/stage5/.done" ] || { $motionllm train llm --init-from "$work/stage4" --out "$work/stage5" --steps 450 \
    --tasks t2m=0.15 m2t=0.2 qa=0.55 predict=0.05 inbetween=0.05 --qa-follow-ups 3 && touch "$work/stage5/.done"; }
# 6. The reader gets a label tagger (each token's action and that action's count, speed, side and direction,
#    trained on the labels: ~12 min), whose tags the LLM reads beside the reader's states; Q&A weighted up:
#    450 steps, ~75 min.
[ -f "$work/tagger/.done" ] || { $motionllm train tagger --reader "$work/stage5" --out "$work/tagger" \
    && touch "$work/tagger/.done"; }
[ -f "$work/stage6/.done" ] || { $motionllm train llm --init-from "$work/stage5" --motion-reader "$work/tagger" \
    --out "$work/stage6" --steps 450 --tasks t2m=0.15 m2t=0.15 qa=0.55 predict=0.075 inbetween=0.075 \
    --qa-follow-ups 3 --seed 6 && touch "$work/stage6/.done"; }
# 7. Each shown span is followed by a text note of the actions the tagger reads in it (counts and speeds in
#    words, which the LLM did not learn to read from the tag probabilities): 450 steps, ~85 min.
[ -f "$work/stage7/.done" ] || { $motionllm train llm --init-from "$work/stage6" --tag-notes --out "$work/stage7" \
    --steps 450 --tasks t2m=0.15 m2t=0.15 qa=0.55 predict=0.075 inbetween=0.075 --qa-follow-ups 3 --seed 7 \
    && touch "$work/stage7/.done"; }
# 8. Writing motion weighted up (half the examples text-to-motion; the reading tasks kept in the mix so they
#    hold): 400 steps, ~65 min.
[ -f "$work/stage8/.done" ] || { $motionllm train llm --init-from "$work/stage7" --out "$work/stage8" --steps 400 \
    --tasks t2m=0.5 m2t=0.1 qa=0.3 predict=0.05 inbetween=0.05 --qa-follow-ups 3 --seed 8 \
    && touch "$work/stage8/.done"; }
# 9. Writing motion weighted up again (two thirds text-to-motion): 500 steps, ~85 min.
[ -f "$work/stage9/.done" ] || { $motionllm train llm --init-from "$work/stage8" --out "$work/stage9" --steps 500 \
    --tasks t2m=0.65 m2t=0.08 qa=0.2 predict=0.035 inbetween=0.035 --qa-follow-ups 3 --seed 9 \
    && touch "$work/stage9/.done"; }
# Ship the last stage: the model files and its training log, not the optimiser state or the code cache.
rm -rf models/weights/llm.part && mkdir -p models/weights/llm.part
cp -r "$work/stage9"/{adapter,config.json,motion_embeddings.safetensors,history.json,history.png,train_config.json} \
    models/weights/llm.part/
cp "$work/tagger/tagger_history.json" models/weights/llm.part/
rm -rf models/weights/llm && mv models/weights/llm.part models/weights/llm
echo "shipped: models/weights/llm (from $work/stage9)"
# Its ONNX Runtime decode-step engine (not in git): rebuilt for the new weights.
$motionllm export llm-engine
