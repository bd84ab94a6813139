"""`QualityReport`: how safe and how faithful one retargeted clip is.

Safety: every check of feasibility.py (joint limits, self-collision, no flight phase, loaded feet
flat, the centre of mass over the support polygon), each listed with its failing frames; `safe` means
all of them hold, and only then is a trajectory sent to a robot (playback.py). Faithfulness: foot sliding while
the human foot was in contact, sole points below the floor, distance of each keypoint frame from its
IK target (the scaled human keypoint; pinned during contact), and frames where the robot's URDF
collision geometry touches itself (pairs filtered as `Robot.collision_model` says).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from motionllm.fileio import atomic_path
from motionllm.retargeting.feasibility import Check, Feasibility, feasibility
from motionllm.retargeting.keypoints import limb_directions, runs
from motionllm.retargeting.motion import RobotMotion
from motionllm.retargeting.robot import Robot
from motionllm.retargeting.safety import check_limits

CM = 100.0


@dataclass(frozen=True)
class QualityReport:
    robot: str
    frames: int
    duration_s: float
    control_rate: float
    position_limit_violations: int
    max_velocity_ratio: float
    worst_velocity_joint: str
    foot_sliding_cm_max: float  # largest horizontal drift of a robot foot within one human contact
    foot_sliding_cm_mean: float  # mean over contacts of that drift
    contact_fraction: float  # share of frames with at least one foot in contact
    ground_penetration_cm: float  # deepest sole point below z = 0 (0 if none)
    tracking_error_cm_mean: float  # over frames and position-tracked keypoints
    tracking_error_cm_max: float
    tracking_error_cm_by_keypoint: dict[str, float] = field(default_factory=dict)  # mean per keypoint
    self_collision_frames: int | None = None  # None: not checked
    self_collision_depth_cm_max: float | None = None  # deepest self-contact (coal's estimate)
    collision_pairs: dict[str, int] = field(default_factory=dict)  # geometry pair -> frames touching
    feasibility: dict = field(default_factory=dict)  # Feasibility.to_dict(): each check, adaptations, ZMP

    @property
    def within_limits(self) -> bool:
        return self.position_limit_violations == 0 and self.max_velocity_ratio <= 1.0

    @property
    def safe(self) -> bool:
        return self.within_limits and bool(self.feasibility.get("ok", False))

    def to_dict(self) -> dict:
        out = asdict(self)
        out["safe"] = self.safe
        out["within_limits"] = self.within_limits
        return out

    def save(self, path: str | os.PathLike) -> Path:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return Path(path)

    def summary(self) -> str:
        collisions = ("not checked" if self.self_collision_frames is None
                      else f"{self.self_collision_frames}/{self.frames} frames, deepest "
                           f"{self.self_collision_depth_cm_max:.2f} cm")
        return "\n".join([
            f"{self.robot}: {self.frames} frames at {self.control_rate:g} Hz ({self.duration_s:.2f} s)",
            f"  position limit violations  {self.position_limit_violations}",
            f"  max |velocity| / limit     {self.max_velocity_ratio:.3f} ({self.worst_velocity_joint})",
            f"  foot sliding in contact    max {self.foot_sliding_cm_max:.2f} cm, "
            f"mean {self.foot_sliding_cm_mean:.2f} cm"
            f" (contact in {100 * self.contact_fraction:.0f}% of frames)",
            f"  ground penetration         {self.ground_penetration_cm:.2f} cm",
            f"  keypoint tracking error    mean {self.tracking_error_cm_mean:.1f} cm, "
            f"max {self.tracking_error_cm_max:.1f} cm",
            f"  self-collision             {collisions}",
            *self.feasibility_lines(),
        ])

    def feasibility_lines(self) -> list[str]:
        checks = self.feasibility.get("checks", {})
        lines = [f"  feasible                   {'yes' if self.safe else 'NO: a robot must not be sent this'}"]
        lines += [f"    {'ok  ' if c['ok'] else 'FAIL'} {name:<15} {c['detail']}" for name, c in checks.items()]
        lines += [f"  adapted: {a}" for a in self.feasibility.get("adaptations", [])]
        return lines


def foot_drift(positions: np.ndarray, contact: np.ndarray) -> list[float]:
    """For each contact run, the largest horizontal distance (m) of the foot from where the run began."""
    drifts = []
    for start, stop in runs(contact):
        horizontal = positions[start:stop, :2] - positions[start, :2]
        drifts.append(float(np.linalg.norm(horizontal, axis=-1).max()))
    return drifts


def evaluate(motion: RobotMotion, robot: Robot, collisions: bool = True) -> QualityReport:
    """The quality report of `motion` (made for `robot`); `collisions=False` skips the slowest check."""
    profile = robot.profile
    q = motion.q
    limits = check_limits(motion.joint_positions, robot.lower, robot.upper, robot.velocity_limit,
                          motion.control_rate, motion.joint_names)

    ankle_frames = [profile.keypoint(f.ankle).frame for f in profile.feet]
    frames = list(motion.keypoint_frames) + ankle_frames + list(robot.contact_frames)
    positions = robot.frame_positions(q, frames)
    k, f = len(motion.keypoint_frames), len(ankle_frames)
    keypoints, ankles, soles = positions[:, :k], positions[:, k:k + f], positions[:, k + f:]

    drifts = [d for i in range(f) for d in foot_drift(ankles[:, i], motion.contacts[:, i])]
    tracked = [i for i, kp in enumerate(profile.keypoints) if kp.position_cost > 0]
    errors = np.linalg.norm(keypoints - motion.keypoint_targets, axis=-1)[:, tracked]
    depth, pairs = robot.self_collisions(q) if collisions else (None, {})
    feasible = feasibility(motion, robot, (depth, pairs) if collisions else (np.zeros(len(q)), {}))
    if not collisions:  # unchecked is not collision-free
        checks = tuple(Check("self_collision", False, 0, "not checked") if c.name == "self_collision" else c
                       for c in feasible.checks)
        feasible = Feasibility(checks, feasible.adaptations, feasible.zmp_outside_frames)
    return QualityReport(
        robot=robot.name, frames=len(motion), duration_s=float(motion.times[-1] - motion.times[0]),
        control_rate=motion.control_rate,
        position_limit_violations=limits.position_violations, max_velocity_ratio=limits.max_velocity_ratio,
        worst_velocity_joint=limits.worst_joint,
        foot_sliding_cm_max=CM * max(drifts, default=0.0), foot_sliding_cm_mean=CM * float(np.mean(drifts or [0.0])),
        contact_fraction=float(motion.contacts.any(axis=1).mean()) if motion.contacts.size else 0.0,
        ground_penetration_cm=CM * max(0.0, -float(soles[..., 2].min())),
        tracking_error_cm_mean=CM * float(errors.mean()), tracking_error_cm_max=CM * float(errors.max()),
        tracking_error_cm_by_keypoint={profile.keypoints[i].human: round(CM * float(errors[:, n].mean()), 2)
                                       for n, i in enumerate(tracked)},
        self_collision_frames=None if depth is None else int((depth > 0).sum()),
        self_collision_depth_cm_max=None if depth is None else CM * float(depth.max(initial=0.0)),
        collision_pairs=dict(sorted(pairs.items(), key=lambda kv: -kv[1])),
        feasibility=feasible.to_dict(),
    )


def limb_direction_errors(q: np.ndarray, robot: Robot, human: np.ndarray) -> np.ndarray:
    """Angles (N, D) in degrees between each of the profile's `directions` on the robot (configurations
    q (N, nq)) and on the human (N, 22, 3), Y up, at the same frames (e.g. `KeypointTargets.human`)."""
    directions = robot.profile.directions
    if not directions:
        return np.zeros((len(q), 0))
    ends = robot.frame_positions(q, [name for d in directions for name in d.robot]).reshape(len(q), -1, 2, 3)
    on_robot = ends[:, :, 1] - ends[:, :, 0]
    on_robot /= np.maximum(np.linalg.norm(on_robot, axis=-1, keepdims=True), 1e-12)
    cosine = (on_robot * limb_directions(human, directions)).sum(-1)
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def fast_joint_frames(motion: RobotMotion, limit: float = 10.0) -> np.ndarray:
    """(N,) bool: control frames in which some joint moves faster than `limit` rad/s (a snap, whatever the
    URDF allows)."""
    return (np.abs(motion.joint_velocities) > limit).any(axis=1)


def fast_bone_frames(human: np.ndarray, rate: float, directions, limit: float = 10.0) -> np.ndarray:
    """(N,) bool: frames in which the human (N, 22, 3) moves a limb faster than `limit` rad/s: a bone of
    `directions` turns that fast, or the angle between two of them that meet at a joint (elbow, knee
    flexion) changes that fast. There a robot joint that fast follows the person; elsewhere it snaps."""
    bones = limb_directions(human, directions)
    if len(bones) < 2 or not directions:
        return np.zeros(len(bones), dtype=bool)
    turn = np.arccos(np.clip((bones[1:] * bones[:-1]).sum(-1), -1.0, 1.0))  # (N-1, D)
    meeting = [(i, k) for i, a in enumerate(directions) for k, b in enumerate(directions) if a.human[1] == b.human[0]]
    if meeting:
        inner = np.arccos(np.clip(np.stack([(bones[:, i] * bones[:, k]).sum(-1) for i, k in meeting], 1), -1, 1))
        turn = np.concatenate([turn, np.abs(np.diff(inner, axis=0))], axis=1)
    speed = turn.max(axis=1) * rate
    return np.concatenate([speed[:1], speed]) > limit
