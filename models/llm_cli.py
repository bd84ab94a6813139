"""Command line of the motion LLM: generate, caption, ask, predict, inbetween (+ train/eval/export llm in cli.py).

Motions are read with motionllm.motion.formats.read_motion (joints or features .npy, BVH, AMC, ...) and
written with write_motion; `--render` takes .gif/.mp4/.png like `motionllm render`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from motionllm.errors import MotionLLMError


def _add_model_options(p, sampling: bool = False) -> None:
    p.add_argument("--model", type=Path, default=None, help="trained motion LLM folder (default: the shipped one)")
    p.add_argument("--base-model", default=None, help="base HF model directory the adapter was trained on "
                                                      "(default: as recorded in the model's config)")
    add_engine_option(p)
    if sampling:
        p.add_argument("--temperature", type=float, default=None,
                       help="0 = greedy; e.g. 0.8 to sample (default: 0.7 for generate, greedy for predict and "
                            "inbetween)")
        p.add_argument("--top-k", type=int, default=None,
                       help="sample among the k most likely tokens, 0 = all (default: 20 for generate)")
        p.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass (default: 1 = off)")
        p.add_argument("--seed", type=int, default=None, help="random seed for sampling (default: a fresh one)")


def add_engine_option(p) -> None:
    from motionllm.engines import ENGINE_CHOICES, PROMPT_PRECISIONS

    p.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                   help="decode steps through the ONNX Runtime engine built beside the model (`motionllm export "
                        "llm-engine`): auto = when there is one (default), onnx = required, torch = never")
    p.add_argument("--prompt-precision", choices=PROMPT_PRECISIONS, default="auto",
                   help="what the torch layers read prompts in: auto = bfloat16 when the steps run in the engine and "
                        "the CPU has bfloat16 instructions (AMX, AVX512-BF16), else float32 (default)")


def _add_motion_output(p) -> None:
    p.add_argument("-o", "--out", type=Path, required=True, help="output motion (.npy joints, .bvh, ...)")
    p.add_argument("--seconds", type=float, default=None, help="length of the generated part (default: the model decides)")
    p.add_argument("--render", type=Path, default=None, help="also render it (.gif, .mp4 or .png)")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("generate", help="text -> motion with the motion LLM",
                              description="Generate SMPL-22 motion (20 fps) for a text description.")
    p.add_argument("text", help='e.g. "a person waves with the right hand"')
    _add_motion_output(p)
    _add_model_options(p, sampling=True)
    p.set_defaults(func=run_generate)

    p = subparsers.add_parser("caption", help="motion -> text (long motions in time windows)",
                              description="Caption a motion file; motions longer than 10 s (or any motion, with "
                                          "--window) are captioned in windows, printed with their times.")
    p.add_argument("motion", type=Path, help="motion file (joints or features .npy, BVH, ...)")
    p.add_argument("--window", type=float, default=None,
                   help="caption windows of this many seconds, 0.2-10 (default: one caption for up to 10 s, "
                        "6 s windows for longer motions)")
    p.add_argument("--json", action="store_true", help="print JSON lines {start, end, caption}")
    _add_model_options(p)
    p.set_defaults(func=run_caption)

    p = subparsers.add_parser("ask", help="answer a question about a motion",
                              description="Answer a question about a motion of up to 10 s (the last 10 s are used "
                                          "for longer motions).")
    p.add_argument("motion", type=Path)
    p.add_argument("question", help='e.g. "which hand does the person raise?"')
    _add_model_options(p)
    p.set_defaults(func=run_ask)

    p = subparsers.add_parser("predict", help="continue a motion",
                              description="Predict how a motion continues from its last (up to) 2 s; writes the "
                                          "context followed by the prediction.")
    p.add_argument("motion", type=Path)
    _add_motion_output(p)
    _add_model_options(p, sampling=True)
    p.set_defaults(func=run_predict)

    p = subparsers.add_parser("inbetween", help="fill the motion between two motions",
                              description="Generate the transition from the end of START to the beginning of END; "
                                          "writes start context, transition and end context.")
    p.add_argument("start", type=Path)
    p.add_argument("end", type=Path)
    _add_motion_output(p)
    _add_model_options(p, sampling=True)
    p.set_defaults(func=run_inbetween)

    add_export_parser(subparsers)


def add_export_parser(subparsers) -> None:
    export = subparsers.add_parser("export", help="export a model for deployment",
                                   description="Write a trained model in a standalone form for other runtimes.")
    sub = export.add_subparsers(dest="target", metavar="TARGET", required=True)
    p = sub.add_parser("llm", help="merge the LoRA adapter into a standalone Hugging Face model",
                       description="Merge the adapter into the base weights and write a Hugging Face causal LM whose "
                                   "vocabulary includes the motion tokens (untied output head with the trained motion "
                                   "rows), plus motionllm.json with the token ids, and motion_reader.safetensors for "
                                   "a model with a motion reader (a runtime adds its states to the input embeddings "
                                   "of shown motion codes). Loadable with AutoModelForCausalLM.from_pretrained; the "
                                   "input for ONNX/TensorRT export.")
    p.add_argument("out", type=Path, help="output folder")
    _add_model_options(p)
    p.set_defaults(func=run_export_llm)

    p = sub.add_parser("llm-engine", help="build the ONNX Runtime engine for the LLM's decode steps (~30 s)",
                       description="Export the decoder (LoRA merged) as a one-token decode-step ONNX graph, quantise "
                                   "its linear layers to 8-bit weights (ONNX Runtime MatMulNBits) and check it against "
                                   "torch, into the model's onnx/ folder. Commands then decode through it "
                                   "(--engine auto): about 3x faster steps on a CPU. Prints the folder.")
    p.add_argument("--model", type=Path, default=None, help="trained motion LLM folder (default: the shipped one)")
    p.add_argument("--base-model", default=None, help="base HF model directory (default: as recorded)")
    p.add_argument("--weights", choices=("int8", "float32"), default="int8",
                   help="int8: 8-bit weight-only linear layers (default); float32: the weights as they are")
    p.set_defaults(func=run_export_llm_engine)


def run_export_llm(args: argparse.Namespace) -> int:
    from motionllm.models.llm import merge_to_hf

    lm = _load(args, engine="torch")  # float32 layers, as trained: the export carries no engine
    merge_to_hf(lm.model, lm.tokenizer, args.out)
    print(args.out)
    return 0


def run_export_llm_engine(args: argparse.Namespace) -> int:
    from motionllm.engines.llm_steps import ENGINE_DIR, EngineConfig, build_engine, fingerprint
    from motionllm.models.paths import shipped

    directory = args.model if args.model is not None else shipped("llm")
    lm = _load(args, engine="torch")
    log = lambda line: print(f"llm-engine: {line}", file=sys.stderr)  # noqa: E731
    info = build_engine(lm.model, directory / ENGINE_DIR, fingerprint(directory, args.base_model),
                        EngineConfig(weights=args.weights), log=log)
    log(f"{info['weights']} decode steps, {info['graph_mb']} MB, cosine to torch >= {info['check_cosine']}")
    print(directory / ENGINE_DIR)
    return 0


def _load(args, engine: str | None = None):
    from motionllm.models.motion_llm import MotionLanguageModel, default_threads

    default_threads()
    return MotionLanguageModel.load(args.model, args.base_model, engine=engine or args.engine,
                                    prompt_precision=getattr(args, "prompt_precision", "auto"))


def _sampling(args, task_default=None):
    """The task's default sampling (greedy if none) with the options given on the command line."""
    from dataclasses import replace

    from motionllm.models.llm import Sampling

    given = {name: getattr(args, name) for name in ("temperature", "top_k", "top_p", "seed")
             if getattr(args, name) is not None}
    sampling = replace(task_default or Sampling(), **given)
    if sampling.temperature < 0 or sampling.top_k < 0 or not (0 < sampling.top_p <= 1):
        raise MotionLLMError("sampling: temperature >= 0, top-k >= 0 and 0 < top-p <= 1")
    return sampling


def _read(path: Path):
    from motionllm.motion.formats import read_motion

    return read_motion(path)


def _check_outputs(args) -> None:
    from motionllm.fileio import check_output_path
    from motionllm.motion.formats import detect_output_format
    from motionllm.motion.render import check_output_suffix

    detect_output_format(args.out)
    check_output_path(args.out, "--out")
    if args.render is not None:
        check_output_suffix(args.render)
        check_output_path(args.render, "--render")


def _write(args, joints, title: str) -> None:
    """The motion, and its render when asked: both or neither."""
    from motionllm.fileio import command_outputs
    from motionllm.motion.formats import write_motion

    with command_outputs(args.out, args.render) as (out, render):
        write_motion(out, joints)
        if render is not None:
            from motionllm.motion.render import render_motion

            render_motion(joints, render, title=title)
    print(f"wrote {args.out} ({len(joints)} frames, {len(joints) / 20:.1f} s)", file=sys.stderr)
    if args.render is not None:
        print(f"wrote {args.render}", file=sys.stderr)


def _check_seconds(args) -> None:
    from motionllm.commands import seconds_refusal

    refusal = seconds_refusal(args.seconds)
    if refusal:
        raise MotionLLMError(f"--seconds: {refusal}")


def run_generate(args: argparse.Namespace) -> int:
    # Everything that can be wrong with the arguments is found before the 10-20 s model load.
    from motionllm.commands import MotionCommander

    _check_outputs(args)
    _check_seconds(args)
    from motionllm.models.llm import T2M_SAMPLING

    sampling = _sampling(args, T2M_SAMPLING)
    verdict = MotionCommander().check(args.text, args.seconds)  # the ROS commander's check (loads MiniLM only)
    if not verdict.ok:
        raise MotionLLMError(verdict.message)
    lm = _load(args)
    joints = lm.generate(args.text, seconds=args.seconds, sampling=sampling)
    _write(args, joints, args.text)
    return 0


def run_caption(args: argparse.Namespace) -> int:
    from motionllm.models.motion_llm import MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS

    if args.window is not None and not MIN_WINDOW_SECONDS <= args.window <= MAX_WINDOW_SECONDS:
        raise MotionLLMError(f"--window must be in [{MIN_WINDOW_SECONDS:g}, {MAX_WINDOW_SECONDS:g}] seconds, "
                             f"got {args.window:g}")
    motion = _read(args.motion)
    lm = _load(args)
    for start, end, caption in lm.describe(motion, window_seconds=args.window):
        if args.json:
            print(json.dumps({"start": round(start, 2), "end": round(end, 2), "caption": caption}))
        else:
            print(f"[{start:6.1f} - {end:6.1f} s] {caption}")
    return 0


def run_ask(args: argparse.Namespace) -> int:
    from motionllm.commands import QuestionChecker

    check = QuestionChecker().check(args.question)  # about the motion at all? (MiniLM, before the LLM loads)
    if not check.ok:
        raise MotionLLMError(check.reason)
    motion = _read(args.motion)
    lm = _load(args)
    limit = int(lm.config.max_motion_tokens / lm.config.tokens_per_second * lm.fps)
    print(lm.ask(motion[-limit:], args.question))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    _check_outputs(args)
    _check_seconds(args)
    sampling = _sampling(args)
    motion = _read(args.motion)
    lm = _load(args)
    _write(args, lm.predict(motion, seconds=args.seconds, sampling=sampling), "prediction")
    return 0


def run_inbetween(args: argparse.Namespace) -> int:
    _check_outputs(args)
    _check_seconds(args)
    sampling = _sampling(args)
    start, end = _read(args.start), _read(args.end)
    lm = _load(args)
    joints = lm.inbetween(start, end, seconds=args.seconds, sampling=sampling)
    _write(args, joints, "in-between")
    return 0
