"""Camera bags from videos: what a camera node would have recorded, for replaying through the graph.

    summary = camera_bag("clip.mp4", "clip_bag", width=640)   # {"frames", "fps", "seconds", "topics", ...}

A bag is a rosbag2 folder (metadata.yaml + one .mcap file), written with `rosbags`: `sensor_msgs/Image` (rgb8)
on IMAGE_TOPIC and a `sensor_msgs/CameraInfo` with each frame on INFO_TOPIC (a pinhole camera of
`horizontal_fov_deg`, motionllm.perception.root's default model), both with the frame's capture stamp:
`start_ns` plus the frame's time in the video (k / the video's frame rate). The folder appears whole or not at
all.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from motionllm.errors import MotionLLMError

IMAGE_TOPIC = "/camera/image_raw"
INFO_TOPIC = "/camera/camera_info"
DISTRO = "ROS2_KILTED"  # the message definitions written into the bag: those of the ROS 2 this project runs


def _typestore():
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(getattr(Stores, DISTRO))


def camera_bag(video: str | os.PathLike, out: str | os.PathLike, width: int = 0, height: int = 0,
               frame_id: str = "camera", start_ns: int | None = None, max_seconds: float | None = None,
               horizontal_fov_deg: float | None = None, progress: bool = False) -> dict:
    """Write the frames of `video` (resized like camera_source's width/height: letterboxed when both are given)
    as a camera bag at `out` (a folder that must not exist). Returns a summary. Raises MotionLLMError."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    from motionllm.console import progress_bar
    from motionllm.perception.root import DEFAULT_HFOV_DEG, focal_length
    from motionllm.perception.sources import VideoFileSource

    out = Path(out)
    if out.exists():
        raise MotionLLMError(f"{out} already exists: a bag is written to a new folder")
    if not out.parent.is_dir():
        raise MotionLLMError(f"{out}: the folder '{out.parent}' does not exist (create it first)")
    if max_seconds is not None and not max_seconds > 0:
        raise MotionLLMError(f"--seconds must be positive, got {max_seconds:g}")
    fov = DEFAULT_HFOV_DEG if horizontal_fov_deg is None else float(horizontal_fov_deg)
    if not 1.0 <= fov <= 179.0:
        raise MotionLLMError(f"--fov must be in 1..179 degrees, got {fov:g}")
    start_ns = time.time_ns() if start_ns is None else int(start_ns)
    store = _typestore()
    types = store.types
    Header, Time = types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"]
    Image, CameraInfo = types["sensor_msgs/msg/Image"], types["sensor_msgs/msg/CameraInfo"]
    RegionOfInterest = types["sensor_msgs/msg/RegionOfInterest"]

    staging = out.parent / f".{out.name}.part"  # the bag is written here, then moved into place
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    partial = staging / out.name  # rosbag2 names the .mcap after its folder
    frames = 0
    try:
        with VideoFileSource(video, fps=None, width=width, height=height) as source:
            fps = source.native_fps
            limit = None if max_seconds is None else int(round(max_seconds * fps))
            with Writer(partial, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
                images = writer.add_connection(IMAGE_TOPIC, Image.__msgtype__, typestore=store)
                infos = writer.add_connection(INFO_TOPIC, CameraInfo.__msgtype__, typestore=store)
                bar = progress_bar(total=limit, desc="bag", unit="frame", enabled=progress)
                for rgb, _ in source:
                    if limit is not None and frames >= limit:
                        break
                    stamp_ns = start_ns + int(round(frames * 1e9 / fps))
                    sec, nanosec = divmod(stamp_ns, 1_000_000_000)
                    header = Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=frame_id)
                    h, w = rgb.shape[:2]
                    image = Image(header=header, height=h, width=w, encoding="rgb8", is_bigendian=0, step=3 * w,
                                  data=np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1))
                    f = focal_length(w, fov)
                    k = np.array([f, 0.0, w / 2.0, 0.0, f, h / 2.0, 0.0, 0.0, 1.0])
                    p = np.array([f, 0.0, w / 2.0, 0.0, 0.0, f, h / 2.0, 0.0, 0.0, 0.0, 1.0, 0.0])
                    info = CameraInfo(header=header, height=h, width=w, distortion_model="plumb_bob", d=np.zeros(5),
                                      k=k, r=np.eye(3).reshape(-1), p=p, binning_x=0, binning_y=0,
                                      roi=RegionOfInterest(x_offset=0, y_offset=0, height=0, width=0,
                                                           do_rectify=False))
                    writer.write(images, stamp_ns, store.serialize_cdr(image, Image.__msgtype__))
                    writer.write(infos, stamp_ns, store.serialize_cdr(info, CameraInfo.__msgtype__))
                    frames += 1
                    bar.update()
                bar.close()
        if frames == 0:
            raise MotionLLMError(f"{video}: no frame could be decoded")
        partial.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"bag": str(out), "frames": frames, "fps": fps, "seconds": frames / fps, "size": f"{w}x{h}",
            "topics": [IMAGE_TOPIC, INFO_TOPIC], "start_ns": start_ns}
