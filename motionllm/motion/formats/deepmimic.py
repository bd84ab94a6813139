"""DeepMimic humanoid3d motions (pybullet_data/data/motions/humanoid3d_*.txt): input only.

A JSON object {"Loop": "wrap" | "none", "Frames": [[...44 numbers...], ...]}. Each frame, as read by
pybullet_envs/deep_mimic/env/humanoid_pose_interpolator.py:
    [0]      duration of this frame (seconds until the next one; the last frame's is 0)
    [1:4]    root position xyz
    [4:8]    root rotation, quaternion w x y z
    [8:12]   chest    [12:16] neck                                   (quaternions w x y z, local)
    [16:20]  right hip  [20] right knee angle  [21:25] right ankle  [25:29] right shoulder  [29] right elbow
    [30:34]  left hip   [34] left knee angle   [35:39] left ankle   [39:43] left shoulder   [43] left elbow
Knees and elbows are revolute joints about their local Z axis (radians).

The skeleton is pybullet_data/humanoid/humanoid.urdf, which pybullet's DeepMimic environment loads with
globalScaling=0.25 (humanoid_stable_pd.py), so the URDF's joint offsets times 0.25 are metres, and so
are the root positions. Y is up; the character faces +X and its right side is +Z.
Each link's world transform is its parent's, times the joint offset, times the joint rotation.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.formats import resampling
from motionllm.motion.quaternion import qmul, qnormalize, qrot, quat_from_axis_angle
from motionllm.motion.skeleton import FPS, JOINT_NAMES

FRAME_SIZE = 44
URDF_SCALE = 0.25  # globalScaling used by pybullet's DeepMimic environment

# Joint origins in the parent link's frame, from humanoid.urdf (URDF units; right side +Z).
URDF_OFFSETS = {
    "chest": ("root", (0.0, 0.944604, 0.0)),
    "neck": ("chest", (0.0, 0.895576, 0.0)),
    "right_hip": ("root", (0.0, 0.0, 0.339548)),
    "right_knee": ("right_hip", (0.0, -1.686184, 0.0)),
    "right_ankle": ("right_knee", (0.0, -1.639480, 0.0)),
    "right_shoulder": ("chest", (-0.096200, 0.974000, 0.732440)),
    "right_elbow": ("right_shoulder", (0.0, -1.099152, 0.0)),
    "right_wrist": ("right_elbow", (0.0, -1.035788, 0.0)),
    "left_hip": ("root", (0.0, 0.0, -0.339548)),
    "left_knee": ("left_hip", (0.0, -1.686184, 0.0)),
    "left_ankle": ("left_knee", (0.0, -1.639480, 0.0)),
    "left_shoulder": ("chest", (-0.096200, 0.974000, -0.732440)),
    "left_elbow": ("left_shoulder", (0.0, -1.099152, 0.0)),
    "left_wrist": ("left_elbow", (0.0, -1.035788, 0.0)),
}
# Where each link's rotation is in a frame: quaternion slice or revolute angle index.
ROTATION_FIELDS = {
    "chest": slice(8, 12), "neck": slice(12, 16),
    "right_hip": slice(16, 20), "right_knee": 20, "right_ankle": slice(21, 25),
    "right_shoulder": slice(25, 29), "right_elbow": 29,
    "left_hip": slice(30, 34), "left_knee": 34, "left_ankle": slice(35, 39),
    "left_shoulder": slice(39, 43), "left_elbow": 43,
}

# SMPL-22 joints as (link, point in that link's frame, URDF units). Joints the humanoid has are link
# origins; the others are fixed points on a link (so every bone length stays constant):
SMPL_POINTS = {
    "pelvis": ("root", (0.0, 0.0, 0.0)),
    "spine1": ("root", (0.0, 0.944604 / 2, 0.0)),       # half-way from the root to the chest joint
    "spine2": ("chest", (0.0, 0.0, 0.0)),
    "spine3": ("chest", (0.0, 0.895576 / 4, 0.0)),      # a quarter of the way up to the neck joint
    "neck": ("neck", (0.0, 0.0, 0.0)),
    "head": ("neck", (0.0, 0.5, 0.0)),                  # 0.125 m up: between chin and head-sphere centre
    # Ball of the foot: 3/4 along the foot box (x from -0.174 to 0.534), at the box's mid height.
    "right_foot": ("right_ankle", (0.357, -0.09, 0.0)),
    "left_foot": ("left_ankle", (0.357, -0.09, 0.0)),
    # Collars: on the chest, at shoulder height, 40% of the way out to each shoulder.
    "right_collar": ("chest", (-0.0962, 0.974, 0.4 * 0.73244)),
    "left_collar": ("chest", (-0.0962, 0.974, -0.4 * 0.73244)),
    **{name: (name, (0.0, 0.0, 0.0)) for name in (
        "right_hip", "right_knee", "right_ankle", "right_shoulder", "right_elbow", "right_wrist",
        "left_hip", "left_knee", "left_ankle", "left_shoulder", "left_elbow", "left_wrist")},
}


def parse_frames(text: str, what: str) -> np.ndarray:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MotionFormatError(f"{what}: not valid JSON ({str(exc).splitlines()[0]})") from None
    frames = data.get("Frames") if isinstance(data, dict) else None
    if not isinstance(frames, list) or len(frames) < 2:
        raise MotionFormatError(f"{what}: a DeepMimic motion needs a 'Frames' list of at least 2 frames")
    try:
        array = np.array(frames, dtype=np.float64)
    except (ValueError, TypeError):
        raise MotionFormatError(f"{what}: 'Frames' must be equal-length lists of numbers") from None
    if array.ndim != 2 or array.shape[1] != FRAME_SIZE:
        raise MotionFormatError(
            f"{what}: each DeepMimic humanoid3d frame has {FRAME_SIZE} numbers, got {array.shape[1:]}")
    if not np.all(np.isfinite(array)):
        raise MotionFormatError(f"{what}: 'Frames' contains NaN or infinite values")
    return array


def link_transforms(frames: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """World (position (T, 3) in metres, rotation (T, 4) wxyz) of every link."""
    links = {"root": (frames[:, 1:4], qnormalize(frames[:, 4:8]))}
    z_axis = np.array([0.0, 0.0, 1.0])
    for link, (parent, offset) in URDF_OFFSETS.items():
        parent_pos, parent_rot = links[parent]
        position = parent_pos + qrot(parent_rot, np.broadcast_to(np.array(offset) * URDF_SCALE, parent_pos.shape))
        field = ROTATION_FIELDS.get(link)
        if field is None:  # the wrists are fixed joints
            local = np.broadcast_to([1.0, 0.0, 0.0, 0.0], parent_rot.shape)
        elif isinstance(field, slice):
            local = qnormalize(frames[:, field])
        else:
            local = quat_from_axis_angle(np.broadcast_to(z_axis, (len(frames), 3)), frames[:, field])
        links[link] = (position, qmul(parent_rot, local))
    return links


def smpl_joints(frames: np.ndarray) -> np.ndarray:
    """(T, 22, 3) SMPL-22 joints in metres (DeepMimic axes: Y up, facing +X)."""
    links = link_transforms(frames)
    joints = np.zeros((len(frames), len(JOINT_NAMES), 3))
    for i, name in enumerate(JOINT_NAMES):
        link, point = SMPL_POINTS[name]
        position, rotation = links[link]
        joints[:, i] = position + qrot(rotation, np.broadcast_to(np.array(point) * URDF_SCALE, position.shape))
    return joints


def sample_frames(frames: np.ndarray, durations: np.ndarray, fps: float) -> np.ndarray:
    """Keyframes -> frames at a uniform `fps`, interpolated as pybullet's DeepMimic environment does:
    positions and revolute angles linearly, quaternions by slerp. Interpolating rotations (rather than
    the resulting joint positions) keeps bones their length through fast moves (backflip: 16 fps)."""
    steps = durations[:-1]
    if np.any(steps <= 0):
        raise MotionFormatError("DeepMimic frame durations must be positive (except the last frame's)")
    times = np.concatenate([[0.0], np.cumsum(steps)])
    k, w = resampling.interpolation_grid(times, resampling.output_times(times[-1], fps))
    out = resampling.lerp(frames, k, w)  # root position and revolute angles
    for field in [slice(4, 8)] + [f for f in ROTATION_FIELDS.values() if isinstance(f, slice)]:
        out[:, field] = resampling.slerp_sequence(qnormalize(frames[:, field]), k, w)
    return out


def read(path: str | os.PathLike, fps: float | None = None) -> tuple[np.ndarray, float]:
    """DeepMimic humanoid3d motion -> (SMPL-22 joints (T, 22, 3) in metres, Y up, at 20 fps; 20).

    `fps` overrides the frame durations stored in the file (every frame then lasts 1/fps s)."""
    path = Path(path)
    try:
        frames = parse_frames(path.read_text(), path.name)
    except UnicodeDecodeError:
        raise MotionFormatError(f"{path.name}: not a text file") from None
    durations = np.full(len(frames), 1.0 / fps) if fps else frames[:, 0]
    try:
        frames = sample_frames(frames, durations, FPS)
    except MotionFormatError as exc:
        raise MotionFormatError(f"{path.name}: {exc}") from None
    return smpl_joints(frames), FPS
