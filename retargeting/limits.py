"""QP constraints of the retargeting IK, as pink `Limit`s: G(q) dq <= h(q) for the step dq.

`JointStepLimit` replaces pink's ConfigurationLimit + VelocityLimit with one box that also counts the
IK iterations already taken in this control frame: pink's VelocityLimit bounds each iteration's dq,
so two iterations could move a joint twice its limit between control frames. Here the bound is on
q + dq - q_previous_frame, which is exactly the finite-difference velocity of the output trajectory.
`GroundLimit` keeps the sole points above the floor (z >= 0), linearised at the current q.
"""
from __future__ import annotations

import numpy as np
from pink.limits import Limit

from motionllm.retargeting.robot import BASE_NQ, Robot


class JointStepLimit(Limit):
    """lower <= q + dq <= upper, and |q + dq - q_previous| <= dt * max_velocity, for actuated joints."""

    def __init__(self, robot: Robot):
        self.lower, self.upper = robot.ik_bounds()
        self.max_velocity = robot.ik_velocity_limit()
        nv, n = robot.model.nv, len(robot.joint_names)
        select = np.eye(nv)[nv - n:]  # actuated joints follow the 6 base velocities
        self.G = np.vstack([select, -select])
        self.q_previous: np.ndarray | None = None  # the previous control frame's angles; None: no speed bound

    def compute_qp_inequalities(self, configuration, dt: float):
        angles = configuration.q[BASE_NQ:]
        upper = self.upper - angles
        lower = self.lower - angles
        if self.q_previous is not None:
            step = dt * self.max_velocity
            upper = np.minimum(upper, self.q_previous + step - angles)
            lower = np.maximum(lower, self.q_previous - step - angles)
        # dq = 0 is always allowed: it keeps the last (feasible) configuration, even after rounding.
        return self.G, np.concatenate([np.maximum(upper, 0.0), -np.minimum(lower, 0.0)])


class GroundLimit(Limit):
    """z(point) + J_z(point) dq >= 0 for each sole point: the foot's corners stay above the floor.

    Points are grouped by the frame they are fixed on, so one Jacobian per foot serves all its corners:
    a point at r from its frame origin (world axes) moves at v_z = v_origin_z + (w x r)_z.
    """

    def __init__(self, robot: Robot, frames, min_height: float = 0.0):
        self.model = robot.model
        self.min_height = min_height
        groups: dict[int, list] = {}
        for name in frames:
            frame = robot.model.frames[robot.frame_id(name)]
            parent = robot.model.frames[frame.parentFrame]
            groups.setdefault(frame.parentFrame, []).append(parent.placement.actInv(frame.placement).translation)
        self.groups = [(parent, np.array(offsets)) for parent, offsets in groups.items()]
        self.count = sum(len(offsets) for _, offsets in self.groups)

    def compute_qp_inequalities(self, configuration, dt: float):
        import pinocchio as pin

        data = configuration.data
        G = np.empty((self.count, self.model.nv))
        h = np.empty(self.count)
        row = 0
        for parent, offsets in self.groups:
            placement = data.oMf[parent]
            jacobian = pin.getFrameJacobian(self.model, data, parent, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED)
            for offset in offsets:
                r = placement.rotation @ offset
                G[row] = -(jacobian[2] + r[1] * jacobian[3] - r[0] * jacobian[4])
                h[row] = placement.translation[2] + r[2] - self.min_height
                row += 1
        return G, h  # a point below the floor must rise: the free base can always lift it


class DistanceLimit(Limit):
    """|p_a - p_b| + n.(J_a - J_b) dq >= d_min for listed frame pairs: spheres around two points that
    must not meet (a hand and a hip), a cheap stand-in for mesh distances (milliseconds per mesh pair).
    A pair already closer than d_min may not get closer, so dq = 0 always stays feasible."""

    def __init__(self, robot: Robot, pairs):
        self.model = robot.model
        self.pairs = [(robot.frame_id(a), robot.frame_id(b), float(d)) for a, b, d in pairs]

    def compute_qp_inequalities(self, configuration, dt: float):
        import pinocchio as pin

        if not self.pairs:
            return None
        data, world = configuration.data, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
        G = np.empty((len(self.pairs), self.model.nv))
        h = np.empty(len(self.pairs))
        for row, (a, b, d_min) in enumerate(self.pairs):
            offset = data.oMf[a].translation - data.oMf[b].translation
            distance = max(float(np.linalg.norm(offset)), 1e-9)
            normal = offset / distance
            ja = pin.getFrameJacobian(self.model, data, a, world)[:3]
            jb = pin.getFrameJacobian(self.model, data, b, world)[:3]
            G[row] = -normal @ (ja - jb)
            h[row] = max(distance - d_min, 0.0)
        return G, h
