"""One person's recent skeletons with their capture times, resampled on demand: the buffer that live consumers
of tracked skeletons share (behaviour descriptions, live imitation). ROS-free.

    window = PersonWindow(keep_seconds=10.0)
    window.add(t, check_skeleton(joints))            # t = capture time, s; (22, 3) SMPL-22, Y up
    joints, start, end, confidence = window.sample(3.0, 3.0, max_gap=0.25)   # the last 3 s at 20 fps
    joints, gaps = window.resample(times)            # at any capture times: linear, the ends held

Time going backwards starts a new timeline (the old skeletons are dropped); the same stamp again keeps
the newer skeleton.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.skeleton import FPS, NUM_JOINTS


def check_skeleton(joints: np.ndarray) -> np.ndarray:
    """(22, 3) finite float32 joints, or MotionFormatError with a one-line reason."""
    joints = np.asarray(joints, dtype=np.float32)
    if joints.shape != (NUM_JOINTS, 3):
        raise MotionFormatError(f"skeleton: expected shape (22, 3), got {joints.shape}")
    if not np.all(np.isfinite(joints)):
        raise MotionFormatError("skeleton: NaN or infinite joint coordinates")
    return joints


class PersonWindow:
    """One person's recent skeletons with their capture times (seconds), oldest first."""

    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self.times: deque[float] = deque()
        self.joints: deque[np.ndarray] = deque()

    def add(self, t: float, joints: np.ndarray) -> None:
        if self.times and t <= self.times[-1]:
            if t < self.times[-1]:  # time went backwards: a new timeline, the old one means nothing now
                self.clear()
            else:  # the same stamp again: keep the newer skeleton
                self.times.pop()
                self.joints.pop()
        self.times.append(float(t))
        self.joints.append(joints)
        while self.times[0] < t - self.keep_seconds:
            self.times.popleft()
            self.joints.popleft()

    def clear(self) -> None:
        self.times.clear()
        self.joints.clear()

    @property
    def first(self) -> float:
        return self.times[0]

    @property
    def last(self) -> float:
        return self.times[-1]

    @property
    def span(self) -> float:
        return self.times[-1] - self.times[0] if self.times else 0.0

    def resample(self, sample_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The skeletons at capture times `sample_t` (M,): linear interpolation between the two nearest
        skeletons, the first and last held outside the window. Returns ((M, 22, 3) float32 joints, (M,)
        seconds from each sample to the nearest real skeleton)."""
        sample_t = np.asarray(sample_t, dtype=np.float64)
        count = len(sample_t)
        times = np.fromiter(self.times, dtype=np.float64, count=len(self.times))
        flat = np.stack(self.joints).reshape(len(times), -1)
        right = np.clip(np.searchsorted(times, sample_t), 1, len(times) - 1) if len(times) > 1 else np.zeros(count, int)
        left = np.maximum(right - 1, 0)
        span = times[right] - times[left]
        w = np.clip(np.divide(sample_t - times[left], span, out=np.zeros(count), where=span > 0), 0.0, 1.0)
        joints = (1 - w)[:, None] * flat[left] + w[:, None] * flat[right]
        nearest = np.minimum(np.abs(sample_t - times[left]), np.abs(times[right] - sample_t))
        return joints.reshape(count, NUM_JOINTS, 3).astype(np.float32), nearest

    def sample(self, seconds: float, nominal_seconds: float, max_gap: float,
               fps: float = FPS) -> tuple[np.ndarray, float, float, float]:
        """The last `seconds` (or all there is) at `fps`, ending on the newest skeleton.

        Returns ((N, 22, 3) float32 joints, start time, end time, confidence = the fraction of the
        `nominal_seconds` window's samples that lie within `max_gap` of a real skeleton)."""
        end = self.times[-1]
        start = max(end - seconds, self.times[0])
        count = int(np.floor((end - start) * fps + 1e-6)) + 1
        joints, nearest = self.resample(end - np.arange(count - 1, -1, -1) / fps)
        nominal = int(np.floor(nominal_seconds * fps + 1e-6)) + 1
        confidence = min(float((nearest <= max_gap).sum()) / nominal, 1.0)
        return joints, float(start), float(end), confidence
