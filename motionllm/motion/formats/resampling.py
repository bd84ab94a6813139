"""Resampling keyframed skeletons in rotation space, before forward kinematics.

Interpolating joint positions (canonical.resample) shortens bones while a limb turns fast between two
frames; interpolating each joint's local rotation (slerp) and translation (lerp) and then running forward
kinematics keeps every bone its length. Readers that have rotations (BVH, DeepMimic) resample this way.
"""
from __future__ import annotations

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.quaternion import qnormalize


def output_times(duration: float, fps: float) -> np.ndarray:
    """Times k / fps covering [0, duration], as canonical.resample counts them."""
    return np.arange(int(np.floor(duration * fps + 1e-6)) + 1) / fps


def interpolation_grid(times: np.ndarray, out_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each output time: the keyframe k before it and the weight w towards keyframe k + 1."""
    if len(times) < 2 or np.any(np.diff(times) <= 0):
        raise MotionFormatError("keyframe times must increase")
    k = np.clip(np.searchsorted(times, out_times, side="right") - 1, 0, len(times) - 2)
    w = np.clip((out_times - times[k]) / (times[k + 1] - times[k]), 0.0, 1.0)
    return k, w


def lerp(values: np.ndarray, k: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Linear interpolation of values (T, ...) at grid (k, w)."""
    w = w.reshape((-1,) + (1,) * (values.ndim - 1))
    return values[k] + w * (values[k + 1] - values[k])


def slerp(q0: np.ndarray, q1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions (..., 4) with weights broadcasting to (...)."""
    dot = (q0 * q1).sum(-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)  # take the short way round
    theta = np.arccos(np.clip(np.abs(dot), 0.0, 1.0))
    sin = np.sin(theta)
    w = np.asarray(w)[..., None]
    near = sin < 1e-6  # (almost) the same rotation: linear is exact enough
    safe = np.where(near, 1.0, sin)
    a = np.where(near, 1 - w, np.sin((1 - w) * theta) / safe)
    b = np.where(near, w, np.sin(w * theta) / safe)
    return qnormalize(a * q0 + b * q1)


def slerp_sequence(quats: np.ndarray, k: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Slerp of quaternions (T, ..., 4) at grid (k, w)."""
    w = w.reshape((-1,) + (1,) * (quats.ndim - 2))
    return slerp(quats[k], quats[k + 1], w)
