"""`RobotMotion`: a retargeted trajectory at the robot's control rate, and its .npz file.

The .npz holds plain arrays (no pickles), readable without this library:
    times (N,) s; control_rate, fps () Hz (the same number); robot () name
    joint_names (J,); joint_positions (N, J) rad; joint_velocities (N, J) rad/s (finite differences)
    root_pose (N, 7): base position x, y, z (m) and quaternion qx, qy, qz, qw, world Z up, X forward
    q (N, 7 + J): Pinocchio configurations = root_pose then joint_positions
    foot_names (F,); contacts (N, F) bool; keypoint_frames (K,); keypoint_targets (N, K, 3) m; scale ()
    adaptations (A,): what the retargeter changed to make the motion feasible (feasibility.py), one line each
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_path

ROOT_POSE_FORMAT = "x y z qx qy qz qw"


@dataclass(frozen=True)
class RobotMotion:
    robot: str
    control_rate: float  # Hz
    times: np.ndarray  # (N,)
    joint_names: tuple[str, ...]
    joint_positions: np.ndarray  # (N, J) rad
    root_pose: np.ndarray  # (N, 7) x y z qx qy qz qw
    foot_names: tuple[str, ...] = ()
    contacts: np.ndarray | None = None  # (N, F) bool: the human foot was in contact
    keypoint_frames: tuple[str, ...] = ()
    keypoint_targets: np.ndarray | None = None  # (N, K, 3) where the IK asked each keypoint frame to be
    scale: float = 1.0  # body scale robot / human
    adaptations: tuple[str, ...] = ()  # e.g. "jump at 1.20-1.85 s: a squat-and-rise in place (no flight phase)"

    @property
    def q(self) -> np.ndarray:
        """Pinocchio configurations (N, 7 + J)."""
        return np.concatenate([self.root_pose, self.joint_positions], axis=1)

    @property
    def joint_velocities(self) -> np.ndarray:
        """Finite differences at the control rate (N, J); the first row repeats the second."""
        v = np.diff(self.joint_positions, axis=0) * self.control_rate
        return np.concatenate([v[:1], v], axis=0) if len(v) else np.zeros_like(self.joint_positions)

    def __len__(self) -> int:
        return len(self.times)

    def part(self, start: int, stop: int) -> "RobotMotion":
        """Control frames [start, stop) as a motion of their own, times from 0."""
        cut = slice(start, stop)
        return replace(self, times=self.times[cut] - self.times[start], joint_positions=self.joint_positions[cut],
                       root_pose=self.root_pose[cut],
                       contacts=None if self.contacts is None else self.contacts[cut],
                       keypoint_targets=None if self.keypoint_targets is None else self.keypoint_targets[cut])

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        if path.suffix.lower() != ".npz":
            raise MotionLLMError(f"robot motions are saved as .npz, got '{path.name}'")
        arrays = {
            "times": self.times, "control_rate": np.float64(self.control_rate),
            "fps": np.float64(self.control_rate), "robot": np.str_(self.robot),
            "joint_names": np.array(self.joint_names, dtype=str), "joint_positions": self.joint_positions,
            "joint_velocities": self.joint_velocities, "root_pose": self.root_pose,
            "root_pose_format": np.str_(ROOT_POSE_FORMAT), "q": self.q,
            "foot_names": np.array(self.foot_names, dtype=str),
            "contacts": self.contacts if self.contacts is not None else np.zeros((len(self), 0), dtype=bool),
            "keypoint_frames": np.array(self.keypoint_frames, dtype=str),
            "keypoint_targets": (self.keypoint_targets if self.keypoint_targets is not None
                                 else np.zeros((len(self), 0, 3))),
            "scale": np.float64(self.scale), "adaptations": np.array(self.adaptations, dtype=str),
        }
        with atomic_path(path) as tmp:
            np.savez(tmp, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "RobotMotion":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as f:
                return cls(
                    robot=str(f["robot"]), control_rate=float(f["control_rate"]), times=f["times"],
                    joint_names=tuple(str(n) for n in f["joint_names"]), joint_positions=f["joint_positions"],
                    root_pose=f["root_pose"], foot_names=tuple(str(n) for n in f["foot_names"]),
                    contacts=f["contacts"], keypoint_frames=tuple(str(n) for n in f["keypoint_frames"]),
                    keypoint_targets=f["keypoint_targets"], scale=float(f["scale"]),
                    adaptations=tuple(str(a) for a in f["adaptations"]) if "adaptations" in f else (),
                )
        except FileNotFoundError:
            raise MotionLLMError(f"file not found: {path}") from None
        except (KeyError, ValueError, OSError) as exc:
            raise MotionLLMError(f"{path.name}: not a robot motion .npz ({exc})") from None
