"""`motionllm bag from-video VIDEO -o BAG`: a camera bag (MCAP) from a video file, for replaying."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers) -> None:
    bag = subparsers.add_parser("bag", help="make rosbags (MCAP) to replay through the graph",
                                description="Make rosbag2 bags (MCAP storage, with rosbags; no ROS needed).")
    sub = bag.add_subparsers(dest="bag_command", metavar="KIND", required=True)
    p = sub.add_parser("from-video", help="a camera bag: sensor_msgs/Image + CameraInfo at the video's timing",
                       description="Write every frame of a video as sensor_msgs/Image (rgb8) on /camera/image_raw "
                                   "and sensor_msgs/CameraInfo on /camera/camera_info, stamped at the frame's "
                                   "capture time (start + k / the video's frame rate). docs/ros.md, 'Bags'.")
    p.add_argument("video", type=Path)
    p.add_argument("-o", "--out", type=Path, required=True, help="the bag folder to create (must not exist)")
    p.add_argument("--width", type=int, default=0, help="resize to this width (0: keep; with --height: letterbox)")
    p.add_argument("--height", type=int, default=0, help="resize to this height (0: keep)")
    p.add_argument("--seconds", type=float, default=None, help="only the first S seconds")
    p.add_argument("--frame-id", default="camera", help="header frame of the images (default camera)")
    p.add_argument("--fov", type=float, default=None, help="horizontal field of view for CameraInfo, degrees "
                                                           "(default 60, the pose stage's)")
    p.add_argument("--start-time", type=float, default=None,
                   help="capture time of the first frame, seconds since the Unix epoch (default: now)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from motionllm.console import on_terminal
    from motionllm.errors import MotionLLMError
    from motionllm.replay.bags import camera_bag

    for name in ("width", "height"):
        if not 0 <= getattr(args, name) <= 8192:
            raise MotionLLMError(f"--{name} must be in 0..8192, got {getattr(args, name)}")
    start_ns = None if args.start_time is None else int(round(args.start_time * 1e9))
    summary = camera_bag(args.video, args.out, args.width, args.height, args.frame_id, start_ns, args.seconds,
                         args.fov, progress=on_terminal())
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['bag']}: {summary['frames']} frames ({summary['size']}, {summary['fps']:g} fps, "
              f"{summary['seconds']:.2f} s) on {', '.join(summary['topics'])}", file=sys.stdout)
    return 0
