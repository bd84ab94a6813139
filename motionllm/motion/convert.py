"""`motionllm convert IN OUT`: any supported motion file -> canonical joints .npy, features .npy or BVH.

Rule for .npy files: an input .npy is read by its shape ((T, 22, 3) joints, (T, 263) HumanML3D features,
(T, 33, 3|4|5) MediaPipe landmarks); an output .npy holds joints unless --features (or
--out-format features) is given. The output is written whole or not at all.
"""
from __future__ import annotations

import argparse

from motionllm.errors import MotionLLMError

IN_FORMATS = ("joints", "features", "mediapipe", "bvh", "amc", "deepmimic", "smpl")
OUT_FORMATS = ("joints", "features", "bvh")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "convert",
        help="convert motion files (BVH, CMU ASF/AMC, DeepMimic, MediaPipe, AMASS/SMPL, joints/features .npy)",
        description="Read a motion file into canonical SMPL-22 joints (metres, Y up, 20 fps, on the floor, "
                    "facing +Z at frame 0) and write it as joints .npy (T, 22, 3), HumanML3D features .npy "
                    "(T-1, 263) or BVH. An input .npy is recognised by its shape: (T, 22, 3) joints, (T, 263) "
                    "features, (T, 33, 3|4|5) MediaPipe landmarks. An output .npy holds joints unless "
                    "--features. See docs/formats.md for each format's joint mapping, units and axes.",
    )
    p.add_argument("input", help="motion file: .npy, .bvh, .amc (with --asf), .json/.txt, .npz (with --body-model)")
    p.add_argument("output", help="output file: .npy (joints, or features with --features) or .bvh")
    p.add_argument("--features", action="store_true",
                   help="write HumanML3D 263-d features instead of joints (output must be .npy)")
    p.add_argument("--asf", metavar="SKELETON.asf", help="the ASF skeleton of an AMC input")
    p.add_argument("--in-format", choices=IN_FORMATS, help="input format, when the file name does not tell")
    p.add_argument("--out-format", choices=OUT_FORMATS, help="output format, when the file name does not tell")
    p.add_argument("--fps", type=float, metavar="F",
                   help="input frame rate: needed for MediaPipe landmarks, default 20 for joints .npy and "
                        "120 for AMC; for BVH, DeepMimic and AMASS it overrides the rate in the file")
    p.add_argument("--body-model", metavar="DIR",
                   help="SMPL/SMPL-H/SMPL-X body-model files (a folder or one .npz) for an AMASS .npz input")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow a .pkl body model (loading a pickle can run code: only for files you trust)")
    p.add_argument("--units", choices=("m", "cm", "mm", "inch", "cmu"),
                   help="length unit of a BVH input (default: recognised from the body's size)")
    p.set_defaults(func=run)


def output_format(args: argparse.Namespace) -> str | None:
    """The output format asked for, or None to go by the output's extension."""
    if args.out_format and args.features and args.out_format != "features":
        raise MotionLLMError(f"--features contradicts --out-format {args.out_format}")
    if args.features and not args.out_format:
        return None  # detect_output_format checks the extension is .npy
    return args.out_format


def run(args: argparse.Namespace) -> int:
    from motionllm.motion.formats import detect_output_format, read_motion, write_motion
    from motionllm.motion.skeleton import FPS

    from motionllm.fileio import command_outputs

    out_format = output_format(args) or detect_output_format(args.output, args.features)
    with command_outputs(args.output) as (output,):  # checked before the input is read
        joints = read_motion(args.input, format=args.in_format, fps=args.fps, asf=args.asf,
                             body_model=args.body_model, trust_pickle=args.trust_pickle, units=args.units)
        write_motion(output, joints, format=out_format)
    path = args.output
    print(f"{path}: {out_format} from {len(joints)} frames of motion ({(len(joints) - 1) / FPS:.2f} s at {FPS:g} fps)")
    return 0
