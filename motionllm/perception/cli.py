"""`motionllm pose INPUT -o joints.npy`: the live pose stage run offline over a video or an image folder.

Every frame is processed in order (nothing is dropped), with the frame's time in the recording
(frame index / rate) driving tracking and smoothing, so the result does not depend on the speed of the
machine. The person kept is the track seen in the most frames; frames where they were not found are
filled by linear interpolation between the nearest frames where they were (the first and last known
frames are held at the ends). The motion is then made canonical (20 fps, on the floor, facing +Z at
frame 0) and written whole or not at all.

The skeletons are in the camera's world frame (motionllm.perception.root): the root comes from a pinhole
camera (--fov, or --focal-px), gravity from --camera-pitch/--camera-roll or from the person's standing
frames, the floor from the feet (or --camera-height); so the motion keeps its travel through the room and
a jump leaves the floor. --no-root gives the old per-image estimate: pelvis fixed, axes tilted with the
camera.
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from motionllm.errors import MotionLLMError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "pose",
        help="estimate the 3D skeleton of the person in a video or image folder (BlazePose) -> joints .npy",
        description="Run the pose stage (MediaPipe BlazePose 3D, SMPL-22 mapping, tracking, One-Euro smoothing) "
                    "over every frame of a video file or an image folder, keep the person seen in the most "
                    "frames, fill the frames where they were not found by interpolation, and write their "
                    "canonical motion (T, 22, 3): metres, Y up, 20 fps, on the floor, facing +Z at frame 0, "
                    "with the travel through the room from the camera's pinhole model. See docs/perception.md.",
    )
    add_frame_source_arguments(p)
    p.add_argument("-o", "--output", required=True, help="output joints .npy, (T, 22, 3) at 20 fps")
    p.add_argument("--no-smoothing", action="store_true", help="keep the raw per-frame estimates")
    p.add_argument("--render", metavar="OUT", help="also render the motion to .gif, .mp4 or .png (contact sheet)")
    p.set_defaults(func=run)


def add_frame_source_arguments(p) -> None:
    """The input and pose-estimation options of the commands that run the pose stage over a recording."""
    p.add_argument("input", help="video file (.mp4, .avi, ...) or folder of images (PNG, JPEG, ...)")
    p.add_argument("--fps", type=float, metavar="F",
                   help="frame rate of an image folder (default 30); for a video it overrides the file's rate")
    p.add_argument("--width", type=int, default=640, metavar="PX",
                   help="resize frames to this width before estimation (aspect kept; 0 = full size; default 640)")
    p.add_argument("--estimator", default="blazepose",
                   help="pose estimator: blazepose (default, several people), blazepose_single (MediaPipe's legacy "
                        "one-person solution) or package.module:Class")
    p.add_argument("--max-people", type=int, default=4, metavar="N",
                   help="most people per frame (default 4); each gets its own track")
    add_camera_arguments(p)


def add_camera_arguments(p) -> None:
    """The camera the root and gravity estimate assumes (motionllm.perception.root.RootConfig)."""
    from motionllm.perception.root import DEFAULT_HFOV_DEG

    g = p.add_argument_group("camera (root and gravity; docs/perception.md)")
    g.add_argument("--fov", type=float, default=DEFAULT_HFOV_DEG, metavar="DEG",
                   help=f"horizontal field of view of the camera (default {DEFAULT_HFOV_DEG:g}); ignored with --focal-px")
    g.add_argument("--focal-px", type=float, default=0.0, metavar="PX",
                   help="focal length in pixels, for frames --focal-width wide (default: from --fov)")
    g.add_argument("--focal-width", type=int, default=0, metavar="PX",
                   help="the frame width --focal-px is for, e.g. the video's full width (default: the frames "
                        "as estimated, after --width)")
    g.add_argument("--camera-pitch", type=float, metavar="DEG",
                   help="known camera pitch, positive looking down (with --camera-roll; default: estimated from "
                        "the people's standing frames)")
    g.add_argument("--camera-roll", type=float, metavar="DEG",
                   help="known camera roll, positive turned counter-clockwise about the viewing direction")
    g.add_argument("--camera-height", type=float, metavar="M",
                   help="height of the camera above the floor (default: estimated from the feet)")
    g.add_argument("--no-root", action="store_true",
                   help="no root or gravity: pelvis fixed at the origin, axes tilted with the camera")


def root_from_args(args: argparse.Namespace):
    """The RootEstimator for the options of add_camera_arguments, or None with --no-root. Raises RootError."""
    from motionllm.perception.root import RootConfig, RootEstimator

    config = RootConfig(horizontal_fov_deg=args.fov, focal_px=args.focal_px, focal_width=args.focal_width,
                        pitch_deg=args.camera_pitch, roll_deg=args.camera_roll, camera_height_m=args.camera_height)
    return None if args.no_root else RootEstimator(config)


def open_frame_source(args: argparse.Namespace):
    """(frame source, its frame rate) for the options of add_frame_source_arguments. Raises MotionLLMError."""
    from motionllm.perception.sources import FOLDER_FPS, ImageFolderSource, VideoFileSource

    if args.fps is not None and not args.fps > 0:
        raise MotionLLMError(f"--fps must be positive, got {args.fps}")
    if args.width < 0:
        raise MotionLLMError(f"--width must not be negative, got {args.width}")
    if Path(args.input).is_dir():
        return ImageFolderSource(args.input, fps=None, width=args.width), args.fps or FOLDER_FPS
    source = VideoFileSource(args.input, fps=None, width=args.width)
    return source, args.fps or source.native_fps


def describe_camera(root) -> str:
    """'; camera pitch .., roll .., height ..' as the root estimate ended up, or '' without one."""
    if root is None:
        return ""
    pitch, roll = root.tilt_deg
    how = "given" if root.config.tilt_known else f"estimated from {root.standing_samples} standing frames"
    height = root.camera_height
    return (f"; camera pitch {pitch:.1f}, roll {roll:.1f} deg ({how}), "
            f"{'height ?' if height is None else f'height {height:.2f} m'}")


def fill_gaps(joints: np.ndarray) -> np.ndarray:
    """(T, 22, 3) with NaN frames -> the same with those frames linearly interpolated over time."""
    found = ~np.isnan(joints).any(axis=(1, 2))
    if found.sum() < 2:
        raise MotionLLMError(f"a person was found in {int(found.sum())} frame(s); need at least 2")
    frames = np.arange(len(joints))
    flat = joints.reshape(len(joints), -1)
    filled = np.stack([np.interp(frames, frames[found], flat[found, k]) for k in range(flat.shape[1])], axis=1)
    return filled.reshape(joints.shape)


def estimate_motion(source, stage, fps: float) -> tuple[np.ndarray, int]:
    """Run `stage` over every frame of `source` at times k / fps.

    Returns ((T, 22, 3) joints of the person seen most often, NaN where they were not found;
    the number of frames where they were found).
    """
    per_frame: list[dict[int, np.ndarray]] = []
    for k, (rgb, _) in enumerate(source):
        bodies, _ = stage.process(rgb, k / fps)
        per_frame.append({body.id: body.joints for body in bodies})
    if not per_frame:
        raise MotionLLMError("the input has no frames")
    seen = Counter(track_id for frame in per_frame for track_id in frame)
    if not seen:
        raise MotionLLMError(f"no person found in any of the {len(per_frame)} frames")
    main_id, count = seen.most_common(1)[0]
    nan = np.full((22, 3), np.nan)
    return np.stack([frame.get(main_id, nan) for frame in per_frame]), count


def estimator_from_args(args: argparse.Namespace):
    from motionllm.perception.pose import accepted_options, make_estimator

    return make_estimator(args.estimator, **accepted_options(args.estimator, max_people=args.max_people))


def run(args: argparse.Namespace) -> int:
    from motionllm.fileio import check_output_path, command_outputs, save_npy
    from motionllm.motion.canonical import canonicalize
    from motionllm.motion.skeleton import FPS
    from motionllm.perception.smoothing import SkeletonSmoother
    from motionllm.perception.stage import PoseStage

    if Path(args.output).suffix.lower() != ".npy":
        raise MotionLLMError(f"output must be a .npy file, got {args.output!r}")
    if args.render:
        from motionllm.motion.render import check_output_suffix

        check_output_suffix(Path(args.render))  # fail before the work, not after it
        check_output_path(args.render, "--render")
    check_output_path(args.output, "--output")
    root = root_from_args(args)  # bad camera options fail before the video is opened
    source, fps = open_frame_source(args)
    smoother = None if args.no_smoothing else SkeletonSmoother()
    with source:
        stage = PoseStage(estimator_from_args(args), smoother=smoother, root=root)
        try:
            joints, found = estimate_motion(source, stage, fps)
        finally:
            stage.close()
    motion = canonicalize(fill_gaps(joints), fps, what=args.input)
    with command_outputs(args.output, args.render) as (output, render):  # both or neither
        save_npy(output, motion)
        if render is not None:
            from motionllm.motion.render import render_motion

            render_motion(motion, render, title=Path(args.input).name)
    print(f"{args.output}: {len(motion)} frames at {FPS:g} fps from {len(joints)} frames at {fps:g} fps "
          f"(person found in {found}){describe_camera(stage.root)}")
    if args.render:
        print(f"{args.render}: rendered")
    return 0
