"""`Retargeter`: human joints (T, 22, 3) -> a `RobotMotion` the robot can execute within its limits.

    retargeter = Retargeter("g1")
    motion = retargeter.retarget(joints, fps=20)      # at the robot's control rate (50 Hz for G1)

Per control frame, differential IK with pink: the profile's keypoint frame tasks (positions from the
scaled human, orientations for pelvis, torso and feet; tasks.py), a posture task towards the reference
posture, and QP constraints (limits.py) for joint position bounds, joint velocity (as the step from
the previous control frame), sole points above the floor and point pairs kept apart. A foot in
contact is pinned in place (keypoints.py), weighted `stance_cost_factor` times harder and held flat.
Each frame starts from the previous solution and takes a few QP steps; the first frame starts from
the reference posture and takes more. The finished trajectory is checked against the URDF limits
again (safety.py).
"""
from __future__ import annotations

import os

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.canonical import check_joints
from motionllm.retargeting.keypoints import (BLEND_SECONDS, KeypointTargets, chain_length, contact_weight,
                                             keypoint_targets, limb_directions, runs)
from motionllm.retargeting.motion import RobotMotion
from motionllm.retargeting.profile import ProfileError, RobotProfile
from motionllm.retargeting.feasibility import convex_hull
from motionllm.retargeting.robot import BASE_NQ, Robot
from motionllm.retargeting.safety import LimitCheck, make_safe

STANCE_EASE_IN = 0.3  # s before touch-down over which a foot's stance costs rise (they fall over BLEND_SECONDS)


class Retargeter:
    def __init__(self, robot: Robot | RobotProfile | str | os.PathLike = "g1"):
        import pink
        import qpsolvers
        from pink.tasks import PostureTask

        from motionllm.retargeting.limits import (DistanceLimit, GroundLimit, JointStepLimit, SelfCollisionLimit,
                                                  SupportLimit)
        from motionllm.retargeting.tasks import KeypointTask

        self.robot = robot if isinstance(robot, Robot) else Robot(robot)
        profile = self.robot.profile
        self.settings = profile.ik
        if self.settings.solver not in qpsolvers.available_solvers:
            raise ProfileError(f"{profile.name}: ik.solver '{self.settings.solver}' is not installed "
                               f"(available: {', '.join(qpsolvers.available_solvers)})")
        driven = tuple(d for d in profile.directions if d.cost > 0)
        self.keypoint_task = KeypointTask(
            self.robot.model, [self.robot.frame_id(k.frame) for k in profile.keypoints],
            [k.position_cost for k in profile.keypoints], [k.orientation_cost for k in profile.keypoints],
            [tuple(self.robot.frame_id(f) for f in d.robot) for d in driven], [d.cost for d in driven])
        self.driven_directions = driven
        self.posture_task = PostureTask(cost=self.settings.posture_cost)
        self.posture_task.set_target(self.robot.reference_q)
        self.tasks = [self.keypoint_task, self.posture_task]
        self.step_limit = JointStepLimit(self.robot, self.settings.base_acceleration)
        self.ground_limit = GroundLimit(self.robot, self.robot.contact_frames)
        self.limits = [self.step_limit, self.ground_limit]
        if profile.keep_apart:
            self.limits.append(DistanceLimit(self.robot, [(k.a, k.b, k.distance) for k in profile.keep_apart]))
        self.collision_limit = None
        if self.settings.collision_distance > 0:
            self.collision_limit = SelfCollisionLimit(self.robot, self.settings.collision_distance)
            self.limits.append(self.collision_limit)
        self.support_limit = SupportLimit(self.robot, self.settings.support_margin)
        if self.settings.support_preview > 0:
            self.limits.append(self.support_limit)
        # limits that ask a violated constraint to recover; the fallback step only keeps it from worsening
        self._recovering_limits = [limit for limit in (self.support_limit, self.ground_limit, self.collision_limit)
                                   if limit is not None]
        self._sole_ids = [[self.robot.frame_id(name) for name in foot] for foot in self.robot.sole_frames]
        names = [k.human for k in profile.keypoints]
        self._ankle_keypoints = [names.index(foot.ankle) for foot in profile.feet]
        self._pink = pink
        self.last_check: LimitCheck | None = None  # of the last retarget's final trajectory
        self.last_repaired = False  # whether that trajectory needed the final clamping pass
        self.failed_steps = 0  # QP steps of the last solve that found no solution (and moved nothing)

    def targets(self, joints: np.ndarray, fps: float) -> KeypointTargets:
        return keypoint_targets(joints, fps, self.robot.profile, self.robot.proportions)

    def retarget(self, joints: np.ndarray, fps: float = 20.0, what: str = "motion") -> RobotMotion:
        """Human joints (T, 22, 3), metres, Y up, at `fps` -> robot motion at the control rate.

        Raises MotionFormatError for malformed joints (NaN, wrong shape)."""
        joints = check_joints(joints, what)
        if not fps > 0:
            raise MotionFormatError(f"{what}: frame rate must be positive, got {fps}")
        if chain_length(joints, self.robot.profile.body_scale.human) < 1e-3:
            raise MotionFormatError(f"{what}: the legs have no length; these are not body joint positions")
        targets = self.targets(joints, fps)
        q = self.solve(targets)
        robot = self.robot
        angles, self.last_check, self.last_repaired = make_safe(
            q[:, BASE_NQ:], robot.lower, robot.upper, robot.velocity_limit, robot.control_rate, robot.joint_names)
        profile = robot.profile
        return RobotMotion(
            robot=robot.name, control_rate=robot.control_rate, times=targets.times,
            joint_names=robot.joint_names, joint_positions=angles, root_pose=q[:, :BASE_NQ],
            foot_names=tuple(f.side for f in profile.feet), contacts=targets.contacts,
            keypoint_frames=tuple(k.frame for k in profile.keypoints), keypoint_targets=targets.positions,
            scale=targets.scale, adaptations=targets.adaptations,
        )

    def solve(self, targets: KeypointTargets) -> np.ndarray:
        """Configurations (N, nq), one per control frame, warm-started frame to frame."""
        configuration = self.start()
        out = np.empty((len(targets.times), self.robot.nq))
        position_costs, orientation_costs = self.frame_costs(self.stance_weights(targets.contacts))
        remaining = contact_remaining(targets.contacts)
        directions = limb_directions(targets.human, self.driven_directions)
        for n in range(len(targets.times)):
            out[n] = self.solve_frame(configuration, targets.positions[n], targets.rotations[n], directions[n],
                                      position_costs[n], orientation_costs[n], remaining[n], first=n == 0)
        return out

    def start(self, q: np.ndarray | None = None):
        """A pink configuration to solve frames from (the reference posture by default); no previous frame."""
        self.step_limit.set_previous(None)
        self.failed_steps = 0
        return self._pink.Configuration(self.robot.model, self.robot.data,
                                        self.robot.reference_q if q is None else q)

    def solve_frame(self, configuration, positions: np.ndarray, rotations: np.ndarray, directions: np.ndarray,
                    position_costs: np.ndarray, orientation_costs: np.ndarray, remaining: np.ndarray,
                    first: bool = False) -> np.ndarray:
        """One control frame: the configuration (nq,) after the IK's steps towards these targets (one frame's
        rows of a KeypointTargets, limb_directions, frame_costs, contact_remaining), from `configuration`,
        which it updates; its joint step from the frame before is within the velocity limits."""
        robot, settings = self.robot, self.settings
        dt = 1.0 / robot.control_rate
        self.keypoint_task.set_targets(positions, rotations, directions)
        self.keypoint_task.set_costs(position_costs, orientation_costs)
        preview = max(settings.support_preview * robot.control_rate, 1.0)
        self.ground_limit.set_stance(remaining > 0)
        if self.collision_limit is not None:
            self.collision_limit.new_frame()
        for _ in range(settings.first_frame_iterations if first else settings.iterations):
            if settings.support_preview > 0:  # from where the feet are now: the first frame moves them far
                self.support_limit.set_polygon(self.support_polygon(configuration.data, remaining, preview))
            velocity = self._step(configuration, dt)
            if velocity is None:
                # dq = 0 satisfies every constraint, so keeping the last configuration is safe
                self.failed_steps += 1
                continue
            configuration.integrate_inplace(velocity, dt)
        self.step_limit.set_previous(configuration.q)
        return configuration.q.copy()

    def _step(self, configuration, dt: float) -> np.ndarray | None:
        """One QP step; if bringing the centre of mass back over the support, colliding hulls apart and
        raised stance corners down has no solution, the step that only keeps them from getting worse
        (each limit's `relaxed`); None if that has none either."""
        from pink.exceptions import NoSolutionFound

        try:
            for relaxed in (False, True):
                for limit in self._recovering_limits:
                    limit.relaxed = relaxed
                try:
                    return self._pink.solve_ik(configuration, self.tasks, dt, solver=self.settings.solver,
                                               damping=self.settings.damping, limits=self.limits,
                                               safety_break=False)
                except NoSolutionFound:
                    continue
            return None
        finally:
            for limit in self._recovering_limits:
                limit.relaxed = False

    def stance_weights(self, contacts: np.ndarray) -> np.ndarray:
        """(N, F) how much each foot is a stance foot, 0..1, for frame_costs: eased in over STANCE_EASE_IN before
        touch-down and out over BLEND_SECONDS after lift-off. Costs that switched in one frame snapped the hip
        yaw by ~0.35 rad at every lift-off (the foot's orientation rows vanish, the posture task pulls) and the
        ankle at touch-down."""
        rate = self.robot.control_rate
        if not contacts.size:
            return contacts.astype(float)
        return np.stack([contact_weight(c, int(round(STANCE_EASE_IN * rate)), int(round(BLEND_SECONDS * rate)))
                         for c in contacts.T], axis=1)

    def frame_costs(self, stance: np.ndarray, orientation_stance: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Keypoint position costs (N, K) and orientation costs (N, K, 3) per control frame from the feet's
        stance weights (N, F) (`orientation_stance` for the orientation costs, if they ease differently): a
        foot in contact is pinned harder and held flat; a swinging foot's roll and pitch are weighted by
        `swing_orientation_factor` (a flat target would fight a human foot pointing down at toe-off and twist
        the leg), its yaw by `swing_heading_factor`; in between, the costs ease from one to the other."""
        keypoints, settings = self.robot.profile.keypoints, self.settings
        position = np.tile([k.position_cost for k in keypoints], (len(stance), 1))
        orientation = np.tile([k.orientation_cost for k in keypoints], (len(stance), 1))
        feet = self._ankle_keypoints
        position[:, feet] *= 1.0 + (settings.stance_cost_factor - 1.0) * stance
        # per axis of the foot's frame (roll, pitch, yaw): a swinging foot keeps some of its heading, so the
        # hip yaw does not wander off and jump back when the foot comes down turned out
        swing = np.array([settings.swing_orientation_factor] * 2 + [settings.swing_heading_factor])
        orientation = np.repeat(orientation[:, :, None], 3, axis=2)
        flat = stance if orientation_stance is None else orientation_stance
        orientation[:, feet] *= swing + (1.0 - swing) * flat[:, :, None]
        return position, orientation

    def support_polygon(self, data, remaining: np.ndarray, preview: float) -> np.ndarray | None:
        """The polygon (H, 2) the centre of mass must stay over this frame: the hull of the sole points of
        the feet in contact (`remaining` (F,): frames of contact left, 0: none), where a foot that lifts
        within `preview` frames is shrunk towards the staying feet in proportion to the time it has left,
        so the weight moves across before the foot lifts, not after. None unless every foot is in contact:
        on one foot of a human-speed step the centre of mass is where dynamics, not statics, put it, and
        pulling it over the stance foot snapped the legs (the built-in profiles say more)."""
        if not remaining.all():
            return None
        staying = remaining >= preview
        if not staying.any():
            staying = remaining == remaining.max()
        soles = [np.array([data.oMf[i].translation[:2] for i in ids]) for ids in self._sole_ids]
        anchor = np.concatenate([soles[f] for f in np.flatnonzero(staying)])
        centre = anchor.mean(axis=0)
        points = [anchor]
        for f in np.flatnonzero((remaining > 0) & ~staying):
            points.append(centre + (remaining[f] / preview) * (soles[f] - centre))
        return convex_hull(np.concatenate(points))


def contact_remaining(contacts: np.ndarray) -> np.ndarray:
    """(N, F) frames of contact left for each foot (0 out of contact); a contact that lasts to the end
    of the clip counts as lasting for ever (inf)."""
    out = np.zeros(contacts.shape)
    for f in range(contacts.shape[1]):
        for start, stop in runs(contacts[:, f]):
            out[start:stop, f] = np.inf if stop == len(contacts) else np.arange(stop - start, 0, -1)
    return out
