"""`motionllm quickstart`: the main job on the embedded defaults, run by scripts/setup.sh.

Builds what the rest of the system stands on, skipping every step whose result is already there:
1. the embedded motion-language corpus (HumanML3D format) under data/corpus;
2. its physical-plausibility validation report;
3. the real mocap datasets (Bandai-Namco, CMU motion prediction) imported under data/real when
   ../shared/data/real_mocap is there (`motionllm data import`; the held-out real test splits);
4. rendered examples (corpus clips with their captions, and the real HumanML3D sample) under outputs/;
5. the shipped motion tokenizer and evaluator scored on the held-out split (`motionllm eval ...`), with
   the tokenizer's reconstruction of the real HumanML3D clip drawn over the original;
6. the shipped motion LLM at work: its ONNX Runtime decode-step engine built (`motionllm export llm-engine`), a
   motion generated from text (rendered), the real HumanML3D clip captioned, a question answered about it.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from motionllm.errors import MotionLLMError

REPO = Path(__file__).resolve().parents[1]
SHARED_SAMPLE = REPO.parent / "shared" / "data" / "humanml3d_sample" / "new_joints_012314.npy"


def _step(message: str) -> None:
    print(f"[quickstart] {message}", file=sys.stderr, flush=True)


def _cli(*argv: str) -> None:
    from motionllm.cli import main

    code = main(list(argv))
    if code != 0:
        raise MotionLLMError(f"step `motionllm {' '.join(argv)}` failed with exit code {code}")


def corpus_is_complete(corpus: Path, count: int, seed: int) -> bool:
    meta_path = corpus / "meta.json"
    if not meta_path.is_file():
        return False
    meta = json.loads(meta_path.read_text())
    return meta.get("count") == count and meta.get("seed") == seed


def build_corpus(corpus: Path, count: int, seed: int) -> None:
    if corpus_is_complete(corpus, count, seed):
        _step(f"corpus: {corpus} already has {count} motions (seed {seed}), skipping")
        return
    partial = corpus.with_name(corpus.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    _step(f"corpus: generating {count} motions into {corpus}")
    _cli("corpus", "--out", str(partial), "--count", str(count), "--seed", str(seed))
    shutil.rmtree(corpus, ignore_errors=True)
    partial.rename(corpus)


def render_examples(corpus: Path, out_dir: Path, n_examples: int) -> list[Path]:
    import numpy as np

    from motionllm.motion.dataset import read_split, read_texts
    from motionllm.motion.render import render_motion

    written = []
    for motion_id in read_split(corpus / "test.txt")[:n_examples]:
        target = out_dir / f"corpus_{motion_id}.gif"
        if not target.exists():
            caption = read_texts(corpus / "texts" / f"{motion_id}.txt")[0].text
            render_motion(np.load(corpus / "new_joints" / f"{motion_id}.npy"), target, title=caption)
        written.append(target)
    if SHARED_SAMPLE.is_file():
        target = out_dir / "humanml3d_sample_012314.gif"
        if not target.exists():
            render_motion(np.load(SHARED_SAMPLE), target, title="real HumanML3D clip 012314")
        written.append(target)
    return written


def show_models(corpus: Path, out_dir: Path) -> None:
    import numpy as np

    from motionllm.models.paths import shipped
    from motionllm.models.vqvae import MotionTokenizer
    from motionllm.motion.features import features_to_joints, joints_to_features
    from motionllm.motion.render import render_motion

    _cli("eval", "tokenizer", "--data", str(corpus), "--max-clips", "300")
    _cli("eval", "t2m", "--real", "--data", str(corpus))
    if SHARED_SAMPLE.is_file():
        target = out_dir / "tokenizer_reconstruction_012314.gif"
        if not target.exists():
            tokenizer = MotionTokenizer.load(shipped("tokenizer"))
            features = joints_to_features(np.load(SHARED_SAMPLE))
            rebuilt = features_to_joints(tokenizer.reconstruct(features))
            render_motion([features_to_joints(features)[: len(rebuilt)], rebuilt], target,
                          title="real HumanML3D clip (colours) and its tokenizer reconstruction (green)",
                          labels=["original", "reconstruction"])
        print(target)


def show_llm(out_dir: Path) -> None:
    from motionllm.models.paths import shipped

    if not (shipped("llm") / "config.json").is_file():
        _step(f"llm: no shipped motion LLM in {shipped('llm')}, skipping (train one with `motionllm train llm`)")
        return
    from motionllm.engines.llm_steps import ENGINE_DIR, engine_is_current

    if engine_is_current(shipped("llm")):
        _step(f"llm: the decode-step engine in {shipped('llm') / ENGINE_DIR} is current, skipping")
    else:
        _step(f"llm: building the ONNX Runtime decode-step engine (int8, ~30 s) into {shipped('llm') / ENGINE_DIR}")
        _cli("export", "llm-engine")
    prompt = "a person waves with the right hand, then walks forward."
    motion, render = out_dir / "generated_wave_walk.npy", out_dir / "generated_wave_walk.gif"
    _step(f"llm: generate \"{prompt}\" -> {render}")
    _cli("generate", prompt, "-o", str(motion), "--render", str(render))
    if SHARED_SAMPLE.is_file():
        _step(f"llm: caption the real HumanML3D clip {SHARED_SAMPLE.name}")
        _cli("caption", str(SHARED_SAMPLE))
        _step("llm: ask \"What does the person do first?\"")
        _cli("ask", str(SHARED_SAMPLE), "What does the person do first?")


def import_real(root: Path) -> None:
    from motionllm.models.real_eval import real_datasets

    _step(f"real data: the real mocap datasets in {root} (imported once)")
    for folder in real_datasets(root, required=False).values():
        _step(f"real data: {folder} ready")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "quickstart",
        help="run the main job on the embedded defaults (what scripts/setup.sh runs)",
        description="Build the embedded corpus, validate it and render examples. Finished steps are skipped.",
    )
    p.add_argument("--data-dir", type=Path, default=REPO / "data", help="where datasets go (default: data/)")
    p.add_argument("--out-dir", type=Path, default=REPO / "outputs", help="reports and renders (default: outputs/)")
    p.add_argument("--count", type=int, default=20000, help="corpus size (default 20000)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    p.add_argument("--examples", type=int, default=3, help="corpus clips to render (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    corpus = args.data_dir / "corpus"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    build_corpus(corpus, args.count, args.seed)

    report = args.out_dir / "corpus_validation.json"
    _step(f"validate: checking every clip, report in {report}")
    from motionllm.corpus.validate import THRESHOLDS, summary_table, validate_path
    from motionllm.fileio import atomic_path

    results = validate_path(corpus, progress=True)
    passed = all(r["passed"] for r in results)
    with atomic_path(report) as tmp:
        tmp.write_text(json.dumps({"path": str(corpus), "passed": passed, "thresholds": THRESHOLDS.__dict__,
                                   "clips": results}, indent=1))
    print(summary_table(results), file=sys.stderr)
    _step("validate: all clips pass" if passed else f"validate: some clips FAIL (see {report})")

    import_real(args.data_dir / "real")

    _step("render: drawing examples")
    for path in render_examples(corpus, args.out_dir, args.examples):
        print(path)
    _step("models: scoring the shipped tokenizer and evaluator on the held-out split")
    show_models(corpus, args.out_dir)
    show_llm(args.out_dir)
    _step(f"done: corpus in {corpus}, renders and reports in {args.out_dir}")
    return 0 if passed else 1
