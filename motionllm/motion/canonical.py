"""Canonical motion: (T, 22, 3) float32 metres, Y up, 20 fps, on the floor, root at the XZ origin and
facing +Z at frame 0. Every reader ends here, every model starts here.
"""
from __future__ import annotations

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.quaternion import qbetween, qrot
from motionllm.motion.skeleton import FPS, NUM_JOINTS, facing_directions


def check_joints(joints: np.ndarray, what: str = "motion") -> np.ndarray:
    """Validate a (T, 22, 3) joint array; return it as float64. Raises MotionFormatError."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise MotionFormatError(f"{what}: expected joints of shape (T, 22, 3), got {joints.shape}")
    if joints.shape[0] < 2:
        raise MotionFormatError(f"{what}: needs at least 2 frames, got {joints.shape[0]}")
    if not np.issubdtype(joints.dtype, np.number):
        raise MotionFormatError(f"{what}: joint array has non-numeric dtype {joints.dtype}")
    if not np.all(np.isfinite(joints)):
        bad = int((~np.isfinite(joints)).any(axis=(1, 2)).sum())
        raise MotionFormatError(f"{what}: {bad} frame(s) contain NaN or infinite joint coordinates")
    return joints.astype(np.float64)


def resample(joints: np.ndarray, src_fps: float, dst_fps: float = FPS) -> np.ndarray:
    """Linearly resample a motion in time (positions interpolate well at mocap rates)."""
    if src_fps <= 0 or dst_fps <= 0:
        raise MotionFormatError(f"frame rates must be positive, got {src_fps} -> {dst_fps}")
    if abs(src_fps - dst_fps) < 1e-9:
        return joints.copy()
    duration = (len(joints) - 1) / src_fps
    n_out = max(int(np.floor(duration * dst_fps + 1e-6)) + 1, 1)
    t_out = np.arange(n_out) / dst_fps
    pos = t_out * src_fps
    i0 = np.clip(np.floor(pos).astype(int), 0, len(joints) - 1)
    i1 = np.clip(i0 + 1, 0, len(joints) - 1)
    w = (pos - i0)[:, None, None]
    return (1 - w) * joints[i0] + w * joints[i1]


def put_on_floor(joints: np.ndarray) -> np.ndarray:
    out = joints.copy()
    out[..., 1] -= out[..., 1].min()
    return out


def face_z(joints: np.ndarray) -> np.ndarray:
    """Move the root to the XZ origin and turn about Y so the body faces +Z at frame 0."""
    out = joints - joints[0, 0] * np.array([1.0, 0.0, 1.0])
    forward = facing_directions(out[:1])
    quat = qbetween(forward, np.array([[0.0, 0.0, 1.0]]))
    return qrot(np.broadcast_to(quat, out.shape[:-1] + (4,)), out)


def canonicalize(joints: np.ndarray, fps: float = FPS, what: str = "motion") -> np.ndarray:
    """Any (T, 22, 3) Y-up metre motion at `fps` -> canonical float32 motion at 20 fps."""
    joints = check_joints(joints, what)
    joints = resample(joints, fps, FPS)
    return put_on_floor(face_z(joints)).astype(np.float32)


def z_up_to_y_up(points: np.ndarray) -> np.ndarray:
    """Convert Z-up coordinates (AMASS, C3D, most robotics) to Y-up, keeping a right-handed frame."""
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)
