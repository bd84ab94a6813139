"""`motionllm retarget`: a human motion file -> a robot joint trajectory (.npz), with a quality report
and an optional side-by-side rendering."""
from __future__ import annotations

import argparse
from pathlib import Path

from motionllm.errors import MotionLLMError
from motionllm.fileio import check_output_path, command_outputs
from motionllm.motion.render import SUFFIXES as RENDER_SUFFIXES


def add_parser(subparsers) -> None:
    from motionllm.retargeting.profile import DEFAULT_ROBOT, available_robots

    p = subparsers.add_parser(
        "retarget",
        help="retarget a human motion onto a humanoid robot (joint trajectory .npz within its limits)",
        description="Retarget a human motion (any format `motionllm convert` reads) onto a humanoid robot "
                    "with whole-body IK (Pinocchio + pink). The output .npz holds times, joint names, joint "
                    "positions, the root pose and the control rate; every frame is within the URDF's joint "
                    "position and velocity limits. Prints a quality report.",
    )
    p.add_argument("input", help="motion file (joints/features .npy, BVH, AMC, DeepMimic, ...)")
    p.add_argument("-o", "--output", required=True, help="output trajectory .npz")
    p.add_argument("--robot", default=DEFAULT_ROBOT,
                   help=f"built-in robot ({', '.join(available_robots())}) or a profile .yaml "
                        f"(default {DEFAULT_ROBOT})")
    p.add_argument("--report", default=None, metavar="JSON", help="also write the quality report as JSON")
    p.add_argument("--render", default=None, metavar="FILE", help="also draw robot and human side by side "
                                                                  "(.gif, .mp4, or .png contact sheet)")
    p.add_argument("--no-collisions", action="store_true", help="skip the self-collision check (the slowest part "
                                                                "of the report)")
    p.add_argument("--fps", type=float, default=None, help="frame rate of a joints .npy input (default 20)")
    p.add_argument("--asf", default=None, help="ASF skeleton for an AMC input")
    p.set_defaults(func=run)


def check_output_names(args: argparse.Namespace) -> None:
    """Refuse bad output names before any work, so a mistake costs nothing and writes nothing."""
    if Path(args.output).suffix.lower() != ".npz":
        raise MotionLLMError(f"--output must end in .npz, got '{Path(args.output).name}'")
    if args.report and Path(args.report).suffix.lower() != ".json":
        raise MotionLLMError(f"--report must end in .json, got '{Path(args.report).name}'")
    if args.render and Path(args.render).suffix.lower() not in RENDER_SUFFIXES:
        raise MotionLLMError(f"--render must end in one of {', '.join(RENDER_SUFFIXES)}, "
                             f"got '{Path(args.render).name}'")
    for option in ("output", "report", "render"):
        if getattr(args, option):
            check_output_path(getattr(args, option), f"--{option}")


def read_human_motion(args: argparse.Namespace):
    """Canonical joints (T, 22, 3) at 20 fps from any motion file `read_motion` knows."""
    from motionllm.motion.formats import read_motion

    return read_motion(args.input, fps=args.fps, asf=args.asf)


def run(args: argparse.Namespace) -> int:
    from motionllm.motion.skeleton import FPS
    from motionllm.retargeting.quality import evaluate
    from motionllm.retargeting.retargeter import Retargeter

    check_output_names(args)
    joints = read_human_motion(args)
    retargeter = Retargeter(args.robot)
    motion = retargeter.retarget(joints, FPS, what=Path(args.input).name)
    report = evaluate(motion, retargeter.robot, collisions=not args.no_collisions)
    if not report.within_limits:  # make_safe guarantees this
        raise MotionLLMError(f"internal error: trajectory outside limits ({report.summary()})")
    # Written even when not feasible (an analysis of what the robot would do); the report says so, and
    # nothing that sends trajectories to a robot (playback.py, the retargeter node) would send it.
    # The trajectory, report and render are written together: a failed render leaves none of them.
    with command_outputs(args.output, args.report, args.render) as (output, report_path, render):
        motion.save(output)
        if report_path is not None:
            report.save(report_path)
        if render is not None:
            from motionllm.retargeting.render import render_retarget

            render_retarget(joints, FPS, motion, retargeter.robot, render,
                            title=f"{Path(args.input).name} -> {retargeter.robot.name}", progress=True)
    print(f"{args.output}: {len(motion)} frames at {motion.control_rate:g} Hz for {retargeter.robot.name}")
    if retargeter.failed_steps:
        print(f"note: {retargeter.failed_steps} IK steps found no QP solution and kept the previous posture")
    print(report.summary())
    if args.report:
        print(f"report: {args.report}")
    if args.render:
        print(f"render: {args.render}")
    return 0
