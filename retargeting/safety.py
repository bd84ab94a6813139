"""The last word on joint limits: check a finished trajectory, and repair it only in a verified way.

The IK's QP constraints already keep every control frame inside the position bounds and every
frame-to-frame step under the velocity limit. `make_safe` re-checks the whole trajectory against the
full URDF limits (finite differences at the control rate) and, should anything still be outside
(solver tolerance), clamps positions and then steps, which can only shrink both; the result is
checked again and an error is raised rather than returning an unsafe trajectory.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Steps are clamped a hair under the limit so that rounding in the cumulative sum cannot exceed it.
STEP_SHRINK = 1.0 - 1e-9


@dataclass(frozen=True)
class LimitCheck:
    position_violations: int  # samples (frame, joint) outside [lower, upper]
    max_velocity_ratio: float  # max over frames and joints of |finite-difference velocity| / limit
    worst_joint: str  # where that maximum is

    @property
    def ok(self) -> bool:
        return self.position_violations == 0 and self.max_velocity_ratio <= 1.0


class UnsafeTrajectory(RuntimeError):
    """Raised if a trajectory still breaks limits after repair (a bug, never expected)."""


def check_limits(positions: np.ndarray, lower: np.ndarray, upper: np.ndarray, velocity_limit: np.ndarray,
                 rate: float, joint_names) -> LimitCheck:
    violations = int(((positions < lower) | (positions > upper)).sum())
    if len(positions) < 2:
        return LimitCheck(violations, 0.0, joint_names[0] if len(joint_names) else "")
    ratio = np.abs(np.diff(positions, axis=0)) * rate / velocity_limit
    worst = np.unravel_index(np.argmax(ratio), ratio.shape)
    return LimitCheck(violations, float(ratio[worst]), joint_names[worst[1]])


def clamp_trajectory(positions: np.ndarray, lower: np.ndarray, upper: np.ndarray, velocity_limit: np.ndarray,
                     rate: float) -> np.ndarray:
    """Clip into [lower, upper], then limit each step to velocity_limit / rate. A clamped step lands
    between two in-bounds points, so positions stay in bounds."""
    clipped = np.clip(positions, lower, upper)
    max_step = velocity_limit / rate * STEP_SHRINK
    out = np.empty_like(clipped)
    out[0] = clipped[0]
    for k in range(1, len(out)):
        out[k] = out[k - 1] + np.clip(clipped[k] - out[k - 1], -max_step, max_step)
    return out


def make_safe(positions: np.ndarray, lower: np.ndarray, upper: np.ndarray, velocity_limit: np.ndarray,
              rate: float, joint_names) -> tuple[np.ndarray, LimitCheck, bool]:
    """(positions within limits, their check, whether a repair was needed)."""
    check = check_limits(positions, lower, upper, velocity_limit, rate, joint_names)
    if check.ok:
        return positions, check, False
    repaired = clamp_trajectory(positions, lower, upper, velocity_limit, rate)
    check = check_limits(repaired, lower, upper, velocity_limit, rate, joint_names)
    if not check.ok:
        raise UnsafeTrajectory(f"trajectory still outside limits after repair: {check}")
    return repaired, check, True
