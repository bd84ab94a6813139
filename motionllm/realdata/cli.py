"""`motionllm data import SOURCE ARCHIVE --out DIR`: a real mocap dataset as a HumanML3D-format dataset."""
from __future__ import annotations

import argparse
import os

from motionllm.realdata.importer import SOURCES


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("data", help="import real motion datasets (Bandai-Namco, CMU motion prediction)",
                              description="Real motion data for training and evaluation (docs/formats.md).")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="write a HumanML3D-format dataset from a real mocap archive",
                         description="Read every clip of ARCHIVE (a .tar.xz from ../shared/data/real_mocap or "
                                     "its unpacked folder) into canonical SMPL-22, caption it from its labels "
                                     "and write a HumanML3D-format dataset with held-out train/val/test splits.")
    imp.add_argument("source", choices=SOURCES, help="which dataset ARCHIVE holds")
    imp.add_argument("archive", help="the dataset archive (.tar.xz) or its unpacked folder")
    imp.add_argument("--out", required=True, help="output dataset folder (must be empty unless --overwrite)")
    imp.add_argument("--workers", type=int, default=None, help=f"worker processes (default: CPU count, {os.cpu_count()})")
    imp.add_argument("--every", type=int, default=None, metavar="N", help="import only every N-th file (quick look)")
    imp.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.set_defaults(func=run)
    mix = sub.add_parser("mix", help="mix HumanML3D-format datasets into one training folder (symbolic links)",
                         description="Write OUT as the union of the DATASET folders: links to their files, their "
                                     "splits concatenated, DIR:N lists DIR's train split N times; Mean/Std over "
                                     "the mixed train split.")
    mix.add_argument("out", help="output folder (must be empty unless --overwrite)")
    mix.add_argument("datasets", nargs="+", metavar="DATASET", help="a HumanML3D-format folder, or DIR:N")
    mix.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT folder")
    mix.add_argument("--no-progress", action="store_true", help="no progress bar")
    mix.set_defaults(func=run_mix)


def run(args: argparse.Namespace) -> int:
    from motionllm.errors import MotionLLMError
    from motionllm.realdata.importer import import_dataset

    if args.workers is not None and args.workers < 1:
        raise MotionLLMError(f"--workers must be at least 1, got {args.workers}")
    s = import_dataset(args.source, args.archive, args.out, workers=args.workers, progress=not args.no_progress,
                       overwrite=args.overwrite, limit=args.every)
    print(f"wrote {sum(s['splits'].values())} clips from {s['files']} files (splits {s['splits']}) to {args.out} "
          f"in {s['seconds']:.1f} s; {len(s['skipped_short_files'])} files shorter than 2 s left out. "
          f"Licence: {s['licence']}")
    return 0


def run_mix(args: argparse.Namespace) -> int:
    from motionllm.realdata.mix import mix, parse_source

    meta = mix(args.out, [parse_source(d) for d in args.datasets], progress=not args.no_progress,
               overwrite=args.overwrite)
    print(f"wrote {args.out}: splits {meta['splits']} ({meta['train_frames']} train frames)"
          + ("; holds CC BY-NC data: non-commercial use only" if meta["non_commercial"] else ""))
    return 0
