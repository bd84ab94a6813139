"""`Feasibility`: could this robot execute this trajectory as it stands? Each check, and why not.

    result = feasibility(motion, robot)          # motion: a RobotMotion for robot
    result.ok, result.reason                     # all checks hold / "balance: ...; self_collision: ..."
    for check in result.checks: check.name, check.ok, check.frames, check.detail

The checks (each over every control frame):
  joint_limits    positions inside the URDF bounds, |finite-difference velocity| <= the URDF limit
  self_collision  no pair of the robot's collision meshes touches (`Robot.self_collisions`, coal)
  flight          a floating-base robot always has a sole point on the ground: no flight phase
  feet_flat       a foot the plan puts weight on (in contact) rests on its whole sole, not an edge
  balance         quasi-static: the centre of mass, projected on the ground, is inside the support
                  polygon (the convex hull of the sole points of the feet flat on the ground)
Reported, not enforced: the cart-table ZMP (c_xy - c_z / g * c''_xy) outside the support polygon; its
second derivative of a retargeted motion is noisy, and a position-controlled robot walking slowly is
governed by the quasi-static condition.

A sole point is on the ground within GROUND_TOLERANCE; the IK (limits.GroundLimit) keeps it above z = 0.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from motionllm.retargeting.motion import RobotMotion
from motionllm.retargeting.robot import Robot
from motionllm.retargeting.safety import check_limits

GROUND_TOLERANCE = 0.01  # m: a sole point this close to z = 0 is on the ground
GRAVITY = 9.81


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    frames: int  # control frames that fail it
    detail: str  # one line: the worst case and where, or what was verified

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Feasibility:
    checks: tuple[Check, ...]
    adaptations: tuple[str, ...] = ()  # what the retargeter changed so that the motion could be feasible
    zmp_outside_frames: int = 0  # reported only (see the module docstring)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def reason(self) -> str:
        """The failing checks, one clause each ('' when all hold)."""
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checks": {c.name: {"ok": c.ok, "frames": c.frames, "detail": c.detail}
                                          for c in self.checks},
                "adaptations": list(self.adaptations), "zmp_outside_frames": self.zmp_outside_frames}


# --- support polygons ---------------------------------------------------------------------------------

def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise hull vertices (H, 2) of 2-D points (Andrew's monotone chain)."""
    pts = sorted(set(map(tuple, np.round(np.asarray(points, dtype=float), 9))))
    if len(pts) <= 2:
        return np.array(pts, dtype=float).reshape(-1, 2)

    def half(seq):
        out: list[tuple[float, float]] = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(reversed(pts))
    return np.array(lower[:-1] + upper[:-1], dtype=float)


def half_planes(hull: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A (H, 2), b (H,)) with unit-length rows: x inside the hull <=> A x <= b; the signed distance of x
    outside edge h is A[h] x - b[h]. A hull of fewer than 3 points has no inside: (empty, empty)."""
    if len(hull) < 3:
        return np.zeros((0, 2)), np.zeros(0)
    edges = np.roll(hull, -1, axis=0) - hull
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1)  # outward for a counter-clockwise hull
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return normals, (normals * hull).sum(axis=1)


def outside_distance(point: np.ndarray, hull: np.ndarray) -> float:
    """How far (m) a 2-D point is outside the polygon (<= 0 inside: minus its distance to the nearest
    edge); inf for a polygon with no area (a foot on its edge, one point)."""
    A, b = half_planes(hull)
    if not len(A):
        return float("inf")
    return float(np.max(A @ point - b))


# --- the check ----------------------------------------------------------------------------------------

def centre_of_mass(robot: Robot, q: np.ndarray) -> np.ndarray:
    """World centre of mass (N, 3) for configurations q (N, nq)."""
    import pinocchio as pin

    data = robot.model.createData()
    return np.array([pin.centerOfMass(robot.model, data, qn, False) for qn in q])


def sole_points(robot: Robot, q: np.ndarray) -> np.ndarray:
    """(N, F, P, 3): each profile foot's sole points, world frame; NaN-padded where feet have fewer than P."""
    feet = robot.sole_frames
    points = robot.frame_positions(q, robot.contact_frames)  # one pass: the feet's points one after the other
    out = np.full((len(q), len(feet), max(map(len, feet), default=0), 3), np.nan)
    start = 0
    for f, frames in enumerate(feet):
        out[:, f, :len(frames)] = points[:, start:start + len(frames)]
        start += len(frames)
    return out


def zmp(com: np.ndarray, rate: float) -> np.ndarray:
    """Cart-table ZMP (N, 2) from a centre-of-mass path (N, 3) at `rate`, lightly smoothed (5 frames)."""
    if len(com) < 5:
        return com[:, :2].copy()
    kernel = np.ones(5) / 5
    smooth = np.stack([np.convolve(np.pad(com[:, i], 2, mode="edge"), kernel, mode="valid") for i in range(3)], 1)
    acceleration = np.gradient(np.gradient(smooth, 1.0 / rate, axis=0), 1.0 / rate, axis=0)
    return smooth[:, :2] - smooth[:, 2:3] / GRAVITY * acceleration[:, :2]


def frames_text(frames: np.ndarray, rate: float) -> str:
    """'12 frames (0.24-0.46 s)' for a boolean mask."""
    index = np.flatnonzero(frames)
    return f"{len(index)} frame(s) ({index[0] / rate:.2f}-{index[-1] / rate:.2f} s)" if len(index) else "0 frames"


def feasibility(motion: RobotMotion, robot: Robot, collisions: tuple[np.ndarray, dict] | None = None) -> Feasibility:
    """Every check of the module docstring on `motion` (made for `robot`). `collisions`: the result of
    `robot.self_collisions(motion.q)` if already computed (it is the slowest part)."""
    rate, q = motion.control_rate, motion.q
    checks = []

    limits = check_limits(motion.joint_positions, robot.lower, robot.upper, robot.velocity_limit, rate,
                          motion.joint_names)
    checks.append(Check("joint_limits", limits.ok, limits.position_violations,
                        f"{limits.position_violations} position(s) outside the URDF bounds, max |velocity|/limit "
                        f"{limits.max_velocity_ratio:.2f} ({limits.worst_joint})"))

    depth, pairs = collisions if collisions is not None else robot.self_collisions(q)
    touching = depth > 0
    worst_pair = max(pairs, key=pairs.get) if pairs else ""
    checks.append(Check("self_collision", not touching.any(), int(touching.sum()),
                        f"{frames_text(touching, rate)} self-collide, deepest {100 * depth.max(initial=0):.1f} cm"
                        + (f" ({worst_pair})" if worst_pair else "")))

    soles = sole_points(robot, q)  # (N, F, P, 3)
    height = soles[..., 2]
    on_ground = height <= GROUND_TOLERANCE
    flight = ~np.nan_to_num(on_ground, nan=False).any(axis=(1, 2))
    checks.append(Check("flight", not flight.any(), int(flight.sum()),
                        f"no sole point on the ground in {frames_text(flight, rate)}"
                        + (f"; highest lowest point {100 * np.nanmin(height[flight], axis=(1, 2)).max():.1f} cm"
                           if flight.any() else "")))

    flat = np.all(on_ground | np.isnan(height), axis=2)  # (N, F) the whole sole on the ground
    contacts = motion.contacts if motion.contacts is not None and motion.contacts.size else np.zeros_like(flat)
    tilted = (contacts & ~flat).any(axis=1)
    corner = float(np.nanmax(np.where((contacts & ~flat)[..., None], height, -np.inf))) if tilted.any() else 0.0
    checks.append(Check("feet_flat", not tilted.any(), int(tilted.sum()),
                        f"a loaded foot stands on an edge in {frames_text(tilted, rate)}"
                        + (f", a corner up to {100 * corner:.1f} cm high" if tilted.any() else "")))

    com = centre_of_mass(robot, q)
    zmps = zmp(com, rate)
    outside = np.zeros(len(q))
    zmp_outside = 0
    for n in range(len(q)):
        support = soles[n][flat[n]].reshape(-1, 3)
        support = support[~np.isnan(support[:, 0]), :2]
        hull = convex_hull(support) if len(support) else np.zeros((0, 2))
        outside[n] = outside_distance(com[n, :2], hull) if len(support) else -np.inf  # flight: its own check
        zmp_outside += int(len(support) > 0 and outside_distance(zmps[n], hull) > 0)
    unbalanced = outside > 0
    worst = float(np.max(outside[np.isfinite(outside)], initial=0.0))
    checks.append(Check("balance", not unbalanced.any(), int(unbalanced.sum()),
                        f"the centre of mass is outside the support polygon in {frames_text(unbalanced, rate)}"
                        + (f", by up to {100 * worst:.1f} cm" if np.isfinite(outside).any() and worst > 0 else "")
                        + ("" if np.isfinite(outside[unbalanced]).all() else "; no foot flat on the ground")))
    return Feasibility(tuple(checks), tuple(motion.adaptations), zmp_outside)
