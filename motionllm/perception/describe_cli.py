"""`motionllm describe-video VIDEO [--json]`: what people do in a video, in time-stamped sentences, without ROS.

The pipeline of the live graph (camera_source -> pose_estimator -> behavior_describer), run offline: every
frame goes through the pose stage (BlazePose, root and gravity, tracking, One-Euro smoothing; the camera
options as for `motionllm pose`) at its time in the recording
(frame index / rate), each tracked person's skeletons are cut into windows of `--window` seconds every
`--step` seconds, and the motion LLM captions each window (motionllm.perception.behavior). The last,
shorter part of a track is captioned too when it is long enough. Times are seconds from the start of
the video; confidence is the fraction of the window with a tracked pose.
"""
from __future__ import annotations

import argparse
import json
import sys

from motionllm.errors import MotionLLMError


def add_parser(subparsers) -> None:
    from motionllm.perception.behavior import MAX_GAP, WINDOW_SECONDS
    from motionllm.perception.cli import add_frame_source_arguments

    p = subparsers.add_parser(
        "describe-video",
        help="describe what the people in a video do, with times (pose stage + motion LLM, no ROS)",
        description="Run the perception pipeline offline over a video file or an image folder: pose stage "
                    "(BlazePose 3D, tracking, smoothing) -> per-person windows at 20 fps -> motion LLM captions. "
                    "Prints one line per window: [start - end s] person N: caption (tracked fraction). "
                    "See docs/perception.md.",
    )
    add_frame_source_arguments(p)
    p.add_argument("--json", action="store_true",
                   help="print JSON lines {person, start, end, caption, confidence, confidence_kind, frames}")
    p.add_argument("--window", type=float, default=WINDOW_SECONDS, metavar="S",
                   help=f"seconds of motion per caption (default {WINDOW_SECONDS:g}; 0.4..10, the LLM's range)")
    p.add_argument("--step", type=float, metavar="S", help="seconds between windows (default: --window, no overlap)")
    p.add_argument("--model", default="", help="motion LLM weights folder (default: the shipped models/weights/llm)")
    p.add_argument("--captioner", default="llm",
                   help="llm (default), or package.module:Name of a plug-in with caption(joints) and ask(joints, q)")
    p.add_argument("--max-gap", type=float, default=MAX_GAP, metavar="S",
                   help=f"a window sample further than this from a tracked pose is untracked (default {MAX_GAP:g})")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for the LLM (default 1: fastest on a busy 2-core machine)")
    p.set_defaults(func=run)


def format_line(d) -> str:
    return f"[{d.start:7.2f} - {d.end:7.2f} s] person {d.person}: {d.caption} (tracked {100 * d.confidence:.0f} %)"


def run(args: argparse.Namespace) -> int:
    from motionllm.perception.behavior import CONFIDENCE_KIND, BehaviorDescriber, describe_frames, load_captioner
    from motionllm.perception.cli import estimator_from_args, open_frame_source, root_from_args
    from motionllm.perception.smoothing import SkeletonSmoother
    from motionllm.perception.stage import PoseStage

    from motionllm.perception.behavior import MAX_QUESTION_SECONDS, MIN_SECONDS

    # each option checked here under its own name, before the video is opened or the model loads
    if not MIN_SECONDS <= args.window <= MAX_QUESTION_SECONDS:
        raise MotionLLMError(f"--window must be in {MIN_SECONDS:g}..{MAX_QUESTION_SECONDS:g} s, got {args.window:g}")
    if args.step is not None and not 0 < args.step <= 3600:
        raise MotionLLMError(f"--step must be in (0, 3600] s, got {args.step:g}")
    if not 0 <= args.max_gap <= 10:
        raise MotionLLMError(f"--max-gap must be in 0..10 s, got {args.max_gap:g}")
    step = args.window if args.step is None else args.step
    if args.threads < 1:
        raise MotionLLMError(f"--threads must be at least 1, got {args.threads}")
    root = root_from_args(args)
    source, fps = open_frame_source(args)

    import torch

    torch.set_num_threads(args.threads)
    captioner = load_captioner(args.captioner, args.model)
    describer = BehaviorDescriber(captioner, window_seconds=args.window, caption_period=step,
                                  first_after=args.window, max_gap=args.max_gap)
    count = 0
    with source:
        stage = PoseStage(estimator_from_args(args), smoother=SkeletonSmoother(), root=root)
        try:
            frames = ((rgb, k / fps) for k, (rgb, _) in enumerate(source))
            for d in describe_frames(frames, stage, describer):
                count += 1
                if args.json:
                    print(json.dumps({"person": d.person, "start": round(d.start, 3), "end": round(d.end, 3),
                                      "caption": d.caption, "confidence": d.confidence,
                                      "confidence_kind": CONFIDENCE_KIND, "frames": d.frames}), flush=True)
                else:
                    print(format_line(d), flush=True)
        finally:
            stage.close()
    if count == 0:
        print(f"describe-video: nobody was tracked for at least 0.4 s in {args.input}", file=sys.stderr)
        return 1
    return 0
