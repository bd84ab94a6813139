"""`motionllm corpus`: generate the embedded motion-language corpus, or check clips for plausibility."""
from __future__ import annotations

import argparse
import json
import os

from motionllm.errors import MotionLLMError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "corpus",
        help="generate the motion-language corpus (HumanML3D format) or validate motion clips",
        description="Generate N captioned motion clips into a HumanML3D-format dataset folder "
                    "(--out/--count/--seed), or check the physical plausibility of clips (--validate PATH: "
                    "a corpus folder, a folder of joint .npy files, or one .npy file). Validation exits 0 "
                    "when every clip passes, 1 otherwise.",
    )
    p.add_argument("--out", help="output dataset folder (must be empty unless --overwrite)")
    p.add_argument("--count", type=int, default=None, help="number of clips to generate")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed: byte-identical output)")
    p.add_argument("--workers", type=int, default=None, help=f"worker processes (default: CPU count, {os.cpu_count()})")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --out folder")
    p.add_argument("--validate", metavar="PATH", help="check clips instead of generating")
    p.add_argument("--json", action="store_true", help="with --validate: print machine-readable results")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.validate:
        if args.out or args.count is not None:
            raise MotionLLMError("use either --validate PATH or --out DIR --count N, not both")
        return _validate(args)
    if not args.out or args.count is None:
        raise MotionLLMError("generating needs --out DIR and --count N (or use --validate PATH)")
    if args.workers is not None and args.workers < 1:
        raise MotionLLMError(f"--workers must be at least 1, got {args.workers}")
    from motionllm.corpus.generate import generate

    summary = generate(args.out, args.count, args.seed, args.workers, progress=not args.no_progress,
                       overwrite=args.overwrite)
    print(f"wrote {summary['count']} clips ({summary['frames']} frames, splits {summary['splits']}) to "
          f"{args.out} in {summary['seconds']:.1f} s with {summary['workers']} workers "
          f"({1000 * summary['seconds'] / summary['count']:.1f} ms/clip); "
          f"{summary['redrawn_clips']} clips were redrawn after failing the checks")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from motionllm.corpus.validate import THRESHOLDS, summary_table, validate_path

    results = validate_path(args.validate, progress=not args.no_progress and not args.json)
    ok = all(r["passed"] for r in results)
    if args.json:
        print(json.dumps({"path": str(args.validate), "passed": ok, "thresholds": THRESHOLDS.__dict__,
                          "clips": results}, indent=1))
    else:
        print(summary_table(results))
    return 0 if ok else 1
