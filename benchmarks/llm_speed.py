"""Motion LLM speed on this CPU: caption latency for a 4 s motion, generation latency for a 4 s motion,
decoding tokens/s, peak memory. Prints figures; not a timed test.

    python benchmarks/llm_speed.py [--model DIR] [--repeats 10] [--threads N] [--engine auto|onnx|torch]
                                   [--prompt-precision auto|bfloat16|float32]

Latencies are end to end through the Python API (MotionLanguageModel): motion -> features -> VQ codes ->
prompt -> KV-cached decoding -> text (caption), and text -> prompt -> decoding of exactly 20 motion tokens
-> VQ decoder -> joints (generation). Model loading is timed once, separately. Targets (issue 4): caption
<= 0.5 s, generation <= 1.0 s. Decode steps run through the ONNX Runtime engine when one is built beside the
model (`motionllm export llm-engine`; --engine torch for the torch decoder); with the engine, prompts are read
in bfloat16 on CPUs with bfloat16 instructions (--prompt-precision float32 to compare). On a shared VM the
figures vary by +-20 % between runs, and by up to 1.5x between quiet and busy hours: use --repeats 10 or more,
and read the "CPU check" lines (the same fixed matrix product before and after, in GFLOP/s) to tell a busy VM
from a slow model.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from motionllm.engines import ENGINE_CHOICES, PROMPT_PRECISIONS


REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / ".." / "shared" / "data" / "humanml3d_sample" / "new_joints_012314.npy"
PROMPTS = ("a person waves with the right hand.", "someone walks forward slowly.", "a person jumps in place twice.",
           "a man sits down and stands back up.")


def _timed(fn, repeats: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def _line(name: str, times: list[float]) -> str:
    p95 = sorted(times)[max(0, int(round(0.95 * len(times))) - 1)]
    return f"{name:34s} median {statistics.median(times):6.3f} s   p95 {p95:6.3f} s   (n={len(times)})"


def _cpu_check() -> float:
    """GFLOP/s of a fixed float32 matrix product on all torch threads: how much CPU this VM gives right now."""
    import torch

    a, b = torch.randn(512, 576), torch.randn(576, 1536)
    a @ b
    times, _ = _timed(lambda: a @ b, 50)
    return 2 * 512 * 576 * 1536 / statistics.median(times) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="motion LLM folder (default: shipped)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                        help="decode steps: the ONNX Runtime engine if built (default), required, or torch")
    parser.add_argument("--prompt-precision", choices=PROMPT_PRECISIONS, default="auto",
                        help="what the torch layers read prompts in (default auto: bfloat16 with the engine on a CPU "
                             "with bfloat16 instructions)")
    args = parser.parse_args()

    import torch

    from motionllm.models.llm_tasks import Example
    from motionllm.models.motion_llm import MotionLanguageModel, default_threads
    from motionllm.motion.formats import read_motion

    if args.threads:
        torch.set_num_threads(args.threads)
    else:
        default_threads()
    cpu_before = _cpu_check()
    start = time.perf_counter()
    lm = MotionLanguageModel.load(args.model, engine=args.engine, prompt_precision=args.prompt_precision)
    load_seconds = time.perf_counter() - start
    motion = read_motion(SAMPLE)[:80] if SAMPLE.is_file() else lm.generate(PROMPTS[0], seconds=4.0)
    assert len(motion) == 80, "a 4 s motion at 20 fps"

    lm.caption(motion), lm.generate(PROMPTS[0], seconds=4.0)  # warm-up: first calls allocate caches
    caption_times, caption = _timed(lambda: lm.caption(motion), args.repeats)
    prompts = iter(PROMPTS * args.repeats)
    generate_times, joints = _timed(lambda: lm.generate(next(prompts), seconds=4.0), args.repeats)

    # Decoding rate alone: 20 motion tokens for one prompt, KV cache on, no VQ decoding.
    prompt = lm.chat.generation_prompt(Example("t2m", f"Generate a motion: {PROMPTS[1]}", []))
    decode_times, _ = _timed(lambda: lm.model.decode([prompt], "motion", lengths=[20]), args.repeats)
    batch_times, _ = _timed(lambda: lm.model.decode([prompt] * 32, "motion", lengths=[20] * 32), max(2, args.repeats // 3))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu_after = _cpu_check()

    print(f"motion LLM speed ({torch.get_num_threads()} torch threads, model {lm.config.base_model or 'SmolLM2-135M-Instruct'}, "
          f"LoRA top {lm.config.lora_layers} layers, decode steps: "
          f"{'ONNX Runtime ' + lm.model.step_engine.info['weights'] if lm.model.step_engine else 'torch'}, "
          f"prompts in {str(lm.model.layer_dtype).removeprefix('torch.')})")
    print(f"{'model load':34s} {load_seconds:6.2f} s")
    print(_line("caption, 4 s motion", caption_times) + f"   -> {caption!r}")
    print(_line("generate, 4 s motion (20 tokens)", generate_times) + f"   -> {len(joints)} frames")
    rates = [21 / t for t in decode_times]
    print(f"{'decode, batch 1':34s} {statistics.median(rates):6.1f} tokens/s (prompt {len(prompt)} tokens + 21 generated)")
    print(f"{'decode, batch 32':34s} {32 * 21 / statistics.median(batch_times):6.1f} tokens/s")
    print(f"{'peak memory (max RSS)':34s} {peak_mib:6.0f} MiB")
    print(f"{'CPU check, before / after':34s} {cpu_before:6.1f} / {cpu_after:.1f} GFLOP/s (float32 matrix product)")
    ok = statistics.median(caption_times) <= 0.5 and statistics.median(generate_times) <= 1.0
    print(f"targets: caption <= 0.5 s, generation <= 1.0 s: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
