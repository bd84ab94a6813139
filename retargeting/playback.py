"""From a retargeted motion to the joint commands a robot is sent, checked; never repaired here.

    plan = command_trajectory(motion, robot, start=last_commanded_positions)
    plan.positions, plan.velocities     # (N, J) at plan.rate, lead-in first

A robot that is sent a new motion is wherever the last command left it (`start`; before any command,
the profile's reference posture). The motion's first frame is usually elsewhere, so the plan begins
with a lead-in: a half-cosine move from `start` to that frame whose peak joint speed is at most
`lead_in_speed` rad/s (and at most the IK's share of each velocity limit), at the control rate.

The motion must be feasible for the robot (feasibility.py: limits, self-collision, balance, no flight,
feet flat), and the whole plan (lead-in included, and the step from `start` to its first point) is
checked before anything may be sent: finite numbers, every position within the URDF bounds, every velocity and every
finite-difference step within the URDF velocity limits. A plan that fails, or a motion that the
retargeter's final pass had to clamp (`repaired`), raises `TrajectoryRefused` with the reason: it is
for the caller to refuse it (log, report), never to fix it silently.

Live imitation (imitation.py) sends a motion in consecutive chunks, and the robot must keep the body's pace:
a lead-in that delays every chunk would leave it further behind with each one. So:

    plan = command_trajectory(chunk, robot, start, keep_time=True)     # the first chunk of a timeline
    plan = continue_trajectory(chunk, robot, start, pending)             # each next one

`keep_time`: the lead-in goes to the chunk's last frame and takes the chunk's own duration (longer only if
`lead_in_speed` needs it); the chunk's other frames are not played. The robot joins the body where it is at
the end of the chunk, on time. `continue_trajectory`: the points of the current plan not yet sent
(`pending`), then the chunk, whose first frame is the instant that plan ends on and is not played again;
where the two disagree (a retargeter solves each chunk on its own), the difference is faded out over
`blend_seconds` with a half-cosine. No lead-in, so no delay. Both are checked like any plan.

Streaming imitation (streaming.py) solves the next control frames from the last one, so they only follow:

    plan = append_trajectory(frames, robot, start, pending, catch_up_to=3)  # the pending points, then the frames;
                                                                          # more than 3: some dropped to catch up
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from motionllm.errors import MotionLLMError
from motionllm.retargeting.feasibility import Feasibility, feasibility
from motionllm.retargeting.motion import RobotMotion
from motionllm.retargeting.robot import BASE_NQ, Robot

DEFAULT_LEAD_IN_SPEED = 1.0  # rad/s: peak joint speed of the move to a motion's first frame
LEAD_IN_TOLERANCE = 1e-6  # rad: a start this close to the first frame needs no lead-in
JOIN_BLEND_SECONDS = 0.2  # a chunk's disagreement with the plan it continues is faded out over this long


class TrajectoryRefused(MotionLLMError):
    """A joint trajectory that must not be sent (outside limits, not finite); the message says why."""


@dataclass(frozen=True)
class CommandCheck:
    nonfinite: int  # samples (frame, joint) that are NaN or infinite
    position_violations: int  # samples outside [lower, upper]
    max_velocity_ratio: float  # max |velocity| / limit, over the velocities and the finite-difference steps
    worst_joint: str  # where that maximum is

    @property
    def ok(self) -> bool:
        return self.nonfinite == 0 and self.position_violations == 0 and self.max_velocity_ratio <= 1.0

    def describe(self) -> str:
        if self.ok:
            return f"within limits (max |velocity|/limit {self.max_velocity_ratio:.3f} at {self.worst_joint})"
        problems = []
        if self.nonfinite:
            problems.append(f"{self.nonfinite} NaN or infinite value(s)")
        if self.position_violations:
            problems.append(f"{self.position_violations} joint position(s) outside limits")
        if self.max_velocity_ratio > 1.0:
            problems.append(f"|velocity| {self.max_velocity_ratio:.2f} x the limit at {self.worst_joint}")
        return "; ".join(problems)


@dataclass(frozen=True)
class CommandTrajectory:
    robot: str
    joint_names: tuple[str, ...]
    rate: float  # Hz
    positions: np.ndarray  # (N, J) rad: the lead-in, then the motion
    velocities: np.ndarray  # (N, J) rad/s
    lead_in_frames: int  # how many of the N points are the lead-in
    check: CommandCheck
    motion: RobotMotion | None = None
    carried_frames: int = 0  # continue_trajectory: how many of the N points are the previous plan's, carried over
    base_poses: np.ndarray | None = None  # (N, 7) x y z qx qy qz qw: where the floating base is at each point
    feasibility: Feasibility | None = None  # of the motion, when it was checked (it held, or this was refused)

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def times(self) -> np.ndarray:
        """time_from_start of each point, s."""
        return np.arange(len(self.positions)) / self.rate

    @property
    def duration_s(self) -> float:
        return (len(self.positions) - 1) / self.rate if len(self.positions) else 0.0

    @cached_property
    def base_twists(self) -> np.ndarray:
        """(N, 6) the floating base's velocity at each point, in its own frame (`base_velocities`)."""
        return base_velocities(self.base_poses, self.rate)


def lead_in(start: np.ndarray, end: np.ndarray, speed: np.ndarray | float, rate: float,
            min_frames: int = 0) -> np.ndarray:
    """Positions (K, J) after `start`, the last one `end`, on a half-cosine profile whose peak joint speed
    is at most `speed` (rad/s, per joint or one number), over at least `min_frames` frames; K = 0 when
    start and end (nearly) agree and no minimum is asked for."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    delta = end - start
    if not np.all(np.isfinite(delta)) or np.max(np.abs(delta), initial=0.0) <= LEAD_IN_TOLERANCE:
        return np.repeat(end[None], min_frames, axis=0) if min_frames > 0 else np.zeros((0, len(start)))
    # q(s) = start + delta * (1 - cos(pi s)) / 2 over D seconds peaks at pi |delta| / (2 D).
    duration = float(np.max(np.pi * np.abs(delta) / (2.0 * np.asarray(speed, dtype=np.float64))))
    frames = max(int(np.ceil(duration * rate)), 1, min_frames)
    s = np.arange(1, frames + 1) / frames
    return start + delta * ((1.0 - np.cos(np.pi * s)) / 2.0)[:, None]


def command_velocities(positions: np.ndarray, rate: float) -> np.ndarray:
    """Velocities for trajectory points: central differences inside, one-sided at the first point, zero
    at the last (the robot holds the final pose). Each is an average of steps, so within the same limits."""
    positions = np.asarray(positions, dtype=np.float64)
    if len(positions) < 2:
        return np.zeros_like(positions)
    velocities = np.gradient(positions, 1.0 / rate, axis=0)
    velocities[-1] = 0.0
    return velocities


def check_command(positions: np.ndarray, velocities: np.ndarray, robot: Robot, rate: float,
                  start: np.ndarray | None = None) -> CommandCheck:
    """Check trajectory points against the robot's URDF limits; `start` (where the robot was last
    commanded) is included in the finite-difference steps."""
    positions, velocities = np.asarray(positions, dtype=np.float64), np.asarray(velocities, dtype=np.float64)
    joints = len(robot.joint_names)
    if positions.ndim != 2 or positions.shape[1] != joints or velocities.shape != positions.shape:
        raise TrajectoryRefused(f"trajectory for {robot.name}: expected ({joints},) joints per point, "
                                f"got positions {positions.shape} and velocities {velocities.shape}")
    nonfinite = int((~np.isfinite(positions)).sum() + (~np.isfinite(velocities)).sum())
    if start is not None:
        nonfinite += int((~np.isfinite(np.asarray(start, dtype=np.float64))).sum())
    with np.errstate(invalid="ignore"):
        violations = int(((positions < robot.lower) | (positions > robot.upper)).sum())
        path = positions if start is None else np.vstack([np.asarray(start, dtype=np.float64)[None], positions])
        ratios = [np.abs(velocities) / robot.velocity_limit]
        if len(path) > 1:
            ratios.append(np.abs(np.diff(path, axis=0)) * rate / robot.velocity_limit)
        worst_ratio, worst_joint = 0.0, robot.joint_names[0]
        for ratio in ratios:
            ratio = np.nan_to_num(ratio, nan=0.0, posinf=np.inf)
            if ratio.size and ratio.max() > worst_ratio:
                worst_ratio = float(ratio.max())
                worst_joint = robot.joint_names[int(np.unravel_index(np.argmax(ratio), ratio.shape)[1])]
    return CommandCheck(nonfinite, violations, worst_ratio, worst_joint)


def _check_motion(motion: RobotMotion, robot: Robot, repaired: bool, check_feasibility: bool) -> Feasibility | None:
    if tuple(motion.joint_names) != tuple(robot.joint_names) or motion.control_rate != robot.control_rate:
        raise TrajectoryRefused(f"motion for '{motion.robot}' at {motion.control_rate:g} Hz does not fit "
                                f"{robot.name} at {robot.control_rate:g} Hz")
    if repaired:
        raise TrajectoryRefused("the retargeted trajectory left the joint limits and needed the final clamping "
                                "pass; refused rather than sent altered")
    if len(motion) == 0:
        raise TrajectoryRefused("the motion has no frames")
    if check_feasibility:
        result = feasibility(motion, robot)
        if not result.ok:
            raise TrajectoryRefused(f"not feasible for {robot.name}: {result.reason}")
        return result
    return None


def _checked(motion: RobotMotion, robot: Robot, positions: np.ndarray, start: np.ndarray, lead_in_frames: int,
             base_poses: np.ndarray, carried_frames: int = 0, feasible: Feasibility | None = None) -> CommandTrajectory:
    rate = robot.control_rate
    assert len(base_poses) == len(positions), (len(base_poses), len(positions))
    velocities = command_velocities(positions, rate)
    check = check_command(positions, velocities, robot, rate, start)
    if not check.ok:
        raise TrajectoryRefused(f"trajectory for {robot.name} refused: {check.describe()}")
    return CommandTrajectory(robot.name, tuple(robot.joint_names), rate, positions, velocities, lead_in_frames, check,
                             motion, carried_frames, np.asarray(base_poses, dtype=np.float64), feasible)


def _ending_with(poses: np.ndarray, n: int) -> np.ndarray:
    """n poses that end with the last of `poses`: its last n, or all of them after its first repeated."""
    tail = poses[max(len(poses) - n, 0):]
    return np.vstack([np.repeat(tail[:1], n - len(tail), axis=0), tail])


def base_velocities(poses: np.ndarray, rate: float) -> np.ndarray:
    """(N, 6) linear and angular velocity of the floating base at each of `poses` (N, 7: x y z qx qy qz qw), in
    the base's own frame (as nav_msgs/Odometry's twist is, REP-105): forward differences, the last repeating the
    one before it (zero for a single pose)."""
    from scipy.spatial.transform import Rotation

    poses = np.asarray(poses, dtype=np.float64)
    out = np.zeros((len(poses), 6))
    if len(poses) < 2:
        return out
    rotations = Rotation.from_quat(poses[:, 3:])
    out[:-1, :3] = rotations[:-1].inv().apply(np.diff(poses[:, :3], axis=0)) * rate
    out[:-1, 3:] = (rotations[:-1].inv() * rotations[1:]).as_rotvec() * rate
    out[-1] = out[-2]
    return out


def command_trajectory(motion: RobotMotion, robot: Robot, start: np.ndarray | None = None,
                       lead_in_speed: float = DEFAULT_LEAD_IN_SPEED, repaired: bool = False,
                       keep_time: bool = False, check_feasibility: bool = True,
                       start_base: np.ndarray | None = None) -> CommandTrajectory:
    """The checked command trajectory for `motion`, starting from `start` (default: the reference
    posture). `start_base` (7,): where the floating base is at `start` (the last point sent); the motion is then
    moved across the floor to start where the robot stands (`anchored`), and the lead-in's base keeps the feet
    down (`planted_bases`). `keep_time`: a lead-in to the motion's last frame over the motion's duration instead
    (live imitation; see the module's docstring). Raises TrajectoryRefused rather than return anything outside
    the limits, or a motion that is not feasible (`check_feasibility=False` only for analysing timing)."""
    feasible = _check_motion(motion, robot, repaired, check_feasibility)
    if not lead_in_speed > 0:
        raise TrajectoryRefused(f"lead_in_speed must be positive, got {lead_in_speed}")
    start = robot.reference_q[BASE_NQ:] if start is None else np.asarray(start, dtype=np.float64)
    frames = np.asarray(motion.joint_positions, dtype=np.float64)
    speed = np.minimum(lead_in_speed, robot.ik_velocity_limit())
    bases = np.asarray(motion.root_pose, dtype=np.float64)
    if keep_time:  # the joints ease to the last frame over the motion's time; the base moves as the motion's does
        positions = lead_in(start, frames[-1], speed, robot.control_rate, min_frames=max(len(frames) - 1, 1))
        return _checked(motion, robot, positions, start, len(positions), _ending_with(bases, len(positions)),
                        feasible=feasible)
    start_q = None if start_base is None else np.concatenate([np.asarray(start_base, dtype=np.float64), start])
    if start_q is not None:
        motion = anchored(motion, robot, start_q)
        bases = motion.root_pose
    ramp = lead_in(start, frames[0], speed, robot.control_rate)
    return _checked(motion, robot, np.vstack([ramp, frames]), start, len(ramp),
                    np.vstack([planted_bases(robot, ramp, motion.q[0], start_q), bases]), feasible=feasible)


def _foot_frames(robot: Robot) -> list[int]:
    """A frame fixed on each profile foot: its first sole point's."""
    return [robot.frame_id(points[0]) for points in robot.sole_frames]


def _foot_placements(robot: Robot, q: np.ndarray) -> list:
    """World placements (pin.SE3) of each foot's frame (_foot_frames) at q (nq,)."""
    import pinocchio as pin

    data = robot.model.createData()
    pin.framesForwardKinematics(robot.model, data, np.asarray(q, dtype=np.float64))
    return [data.oMf[f].copy() for f in _foot_frames(robot)]


def anchored(motion: RobotMotion, robot: Robot, start_q: np.ndarray) -> RobotMotion:
    """`motion` moved across the floor (x, y and heading; a rigid motion of the floor keeps every feasibility
    check) so that its first frame's feet stand where the robot's stand at `start_q` (nq,): their midpoint and
    mean heading. Each generated motion starts at its own origin; sent as it is, the base on robot/odom jumped
    from where the last motion ended to where the next began."""
    from scipy.spatial.transform import Rotation

    if not robot.sole_frames or not len(motion):
        return motion

    def midpoint_and_heading(placements):
        forward = np.mean([p.rotation[:, 0] for p in placements], axis=0)
        return np.mean([p.translation for p in placements], axis=0), np.arctan2(forward[1], forward[0])

    (here, heading), (there, motion_heading) = (midpoint_and_heading(_foot_placements(robot, start_q)),
                                                midpoint_and_heading(_foot_placements(robot, motion.q[0])))
    turn = Rotation.from_euler("z", heading - motion_heading)
    root = np.array(motion.root_pose, dtype=np.float64)
    root[:, :3] = turn.apply(root[:, :3] - [there[0], there[1], 0.0]) + [here[0], here[1], 0.0]
    root[:, 3:] = (turn * Rotation.from_quat(root[:, 3:])).as_quat()
    return replace(motion, root_pose=root)


def planted_bases(robot: Robot, positions: np.ndarray, first: np.ndarray, start_q: np.ndarray | None = None
                  ) -> np.ndarray:
    """(N, 7): the floating base for joint positions (N, J) that move into a motion whose first configuration is
    `first` (nq,): where it keeps the feet where they are at the motion's start (each foot's placement gives a
    base; their mean). With `start_q`, where the robot stands as the move begins, the feet ease from there to
    there as the joints do (a base planted on the motion's feet jumped at the start by half the difference
    between the two stances, and put TALOS's centre of mass 1 mm outside). Held at the motion's first base
    instead, TALOS stood on its toes and in the air (4 cm): that base is pitched for the motion's own legs."""
    import pinocchio as pin
    from scipy.spatial.transform import Rotation

    if not len(positions) or not robot.sole_frames:
        return np.repeat(np.asarray(first[:BASE_NQ], dtype=np.float64)[None], len(positions), axis=0)
    model, data = robot.model, robot.model.createData()
    feet = _foot_frames(robot)
    placed = _foot_placements(robot, first)
    if start_q is None:
        starting, progress = placed, np.ones(len(positions))
    else:
        starting = _foot_placements(robot, start_q)
        delta = positions[-1] - start_q[BASE_NQ:]
        progress = np.clip((positions - start_q[BASE_NQ:]) @ delta / max(float(delta @ delta), 1e-12), 0.0, 1.0)
    out = np.empty((len(positions), BASE_NQ))
    upright = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    for n, angles in enumerate(positions):
        pin.framesForwardKinematics(model, data, np.concatenate([upright, angles]))
        targets = [a * pin.exp6(progress[n] * pin.log6(a.actInv(b))) for a, b in zip(starting, placed)]
        bases = [target * data.oMf[f].inverse() for target, f in zip(targets, feet)]
        out[n, :3] = np.mean([base.translation for base in bases], axis=0)
        out[n, 3:] = Rotation.from_matrix(np.array([base.rotation for base in bases])).mean().as_quat()
    return out


def continue_trajectory(motion: RobotMotion, robot: Robot, start: np.ndarray, pending: np.ndarray | None = None,
                        repaired: bool = False, blend_seconds: float = JOIN_BLEND_SECONDS,
                        check_feasibility: bool = True, pending_base: np.ndarray | None = None) -> CommandTrajectory:
    """The checked trajectory that plays `pending` (K, J), the points of the current plan not yet sent (none:
    it has ended), then `motion`, which continues that plan: its first frame is the instant the plan ends on
    (the last pending point, else `start`, the last point sent), so it is not played again; the difference
    between them is faded out over `blend_seconds`. Raises TrajectoryRefused rather than return anything outside
    the limits (the step from `start` included), or a motion that is not feasible. `pending_base` (K, 7): the
    base poses of the pending points (default: where the motion's base starts)."""
    feasible = _check_motion(motion, robot, repaired, check_feasibility)
    if len(motion) < 2:
        raise TrajectoryRefused("a motion that continues a plan needs at least 2 frames")
    start = np.asarray(start, dtype=np.float64)
    pending = _pending(pending, len(start))
    frames = np.asarray(motion.joint_positions, dtype=np.float64)
    offset = (pending[-1] if len(pending) else start) - frames[0]
    blend = max(int(round(blend_seconds * robot.control_rate)), 1)
    k = np.minimum(np.arange(1, len(frames)), blend)
    fade = 0.5 * (1.0 + np.cos(np.pi * k / blend))  # 1 at the join (not played), 0 from `blend` frames on
    positions = np.vstack([pending, frames[1:] + fade[:, None] * offset])
    return _checked(motion, robot, positions, start, 0, _after_pending(motion, pending, pending_base, first=1),
                    len(pending), feasible)


def append_trajectory(motion: RobotMotion, robot: Robot, start: np.ndarray, pending: np.ndarray | None = None,
                      repaired: bool = False, check_feasibility: bool = True,
                      pending_base: np.ndarray | None = None, catch_up_to: int | None = None) -> CommandTrajectory:
    """The checked trajectory that plays `pending` (K, J), the points of the current plan not yet sent, then
    every frame of `motion`, the control frames that come after them (streaming: solved from the last one,
    so nothing is faded). `catch_up_to`: a plan longer than this many points drops some to catch up
    (`catch_up`). Refused as continue_trajectory refuses (the step from the last pending point, or from
    `start`, included)."""
    feasible = _check_motion(motion, robot, repaired, check_feasibility)
    start = np.asarray(start, dtype=np.float64)
    pending = _pending(pending, len(start))
    positions = np.vstack([pending, np.asarray(motion.joint_positions, dtype=np.float64)])
    bases = _after_pending(motion, pending, pending_base, first=0)
    carried = len(pending)
    if catch_up_to is not None and len(positions) > catch_up_to:
        keep = catch_up(positions, start, len(positions) - catch_up_to, robot.ik_velocity_limit() / robot.control_rate)
        positions, bases, carried = positions[keep], bases[keep], int((keep < len(pending)).sum())
    return _checked(motion, robot, positions, start, 0, bases, carried, feasible)


def catch_up(positions: np.ndarray, start: np.ndarray, count: int, max_step: np.ndarray) -> np.ndarray:
    """Indices of the points (N, J) to keep when up to `count` are dropped so that the robot, a point per control
    period, catches up with the person: never the last point, never two in a row, and only where the step that
    replaces the two around a point stays within `max_step` (J,) (the first from `start`, the last point sent).
    At most every other point goes: the motion plays up to twice as fast meanwhile, within the limits."""
    keep = np.ones(len(positions), dtype=bool)
    dropped, k = 0, 0
    while k < len(positions) - 1 and dropped < count:
        before = start if k == 0 else positions[k - 1]  # kept: no two in a row are dropped
        if np.all(np.abs(positions[k + 1] - before) <= max_step):
            keep[k] = False
            dropped += 1
            k += 2
        else:
            k += 1
    return np.flatnonzero(keep)


def _pending(pending: np.ndarray | None, joints: int) -> np.ndarray:
    return np.zeros((0, joints)) if pending is None else np.asarray(pending, dtype=np.float64).reshape(-1, joints)


def _after_pending(motion: RobotMotion, pending: np.ndarray, pending_base: np.ndarray | None, first: int) -> np.ndarray:
    """Base poses: the pending points' (default: where the motion's base starts), then the motion's from `first`."""
    bases = np.asarray(motion.root_pose, dtype=np.float64)
    carried = (np.repeat(bases[:1], len(pending), axis=0) if pending_base is None
               else np.asarray(pending_base, dtype=np.float64).reshape(len(pending), 7))
    return np.vstack([carried, bases[first:]])
