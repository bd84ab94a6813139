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
    """lower <= q + dq <= upper, and |q + dq - q_previous| <= dt * max_velocity, for actuated joints; and the
    floating base's step from the previous frame within dt^2 * base_acceleration (m/s^2, rad/s^2, each axis) of
    the step before (`set_previous`): free, the base jumped 8 cm in one control frame when a foot lifted and the
    balance constraint let go of the centre of mass."""

    def __init__(self, robot: Robot, base_acceleration: float = np.inf):
        import pinocchio as pin

        self.model = robot.model
        self.lower, self.upper = robot.ik_bounds()
        self.max_velocity = robot.ik_velocity_limit()
        self.base_acceleration = float(base_acceleration)
        nv, n = robot.model.nv, len(robot.joint_names)
        select = np.eye(nv)[nv - n:]  # actuated joints follow the 6 base velocities
        self.G = np.vstack([select, -select])
        self.G_base = np.vstack([np.eye(nv)[:6], -np.eye(nv)[:6]])
        self._difference = pin.difference
        self.q_previous: np.ndarray | None = None  # the previous control frame's configuration; None: no speed bound
        self.base_step: np.ndarray | None = None  # (6,) the base's step into the previous frame; None: no bound

    def set_previous(self, q: np.ndarray | None) -> None:
        """The configuration of the control frame just solved (None: none, a first frame follows)."""
        if q is None or self.q_previous is None:
            self.base_step = None
        else:
            self.base_step = self._difference(self.model, self.q_previous, q)[:6]
        self.q_previous = None if q is None else np.array(q, dtype=np.float64)

    def compute_qp_inequalities(self, configuration, dt: float):
        angles = configuration.q[BASE_NQ:]
        upper = self.upper - angles
        lower = self.lower - angles
        if self.q_previous is not None:
            step = dt * self.max_velocity
            upper = np.minimum(upper, self.q_previous[BASE_NQ:] + step - angles)
            lower = np.maximum(lower, self.q_previous[BASE_NQ:] - step - angles)
        # dq = 0 is always allowed: it keeps the last (feasible) configuration, even after rounding.
        h = np.concatenate([np.maximum(upper, 0.0), -np.minimum(lower, 0.0)])
        if self.base_step is None or not np.isfinite(self.base_acceleration):
            return self.G, h
        change = self._difference(self.model, self.q_previous, configuration.q)[:6] - self.base_step
        allowed = dt * dt * self.base_acceleration
        h_base = np.concatenate([np.maximum(allowed - change, 0.0), np.maximum(allowed + change, 0.0)])
        return np.vstack([self.G, self.G_base]), np.concatenate([h, h_base])


class GroundLimit(Limit):
    """z(point) + J_z(point) dq >= 0 for each sole point: the foot's corners stay above the floor; and for
    the feet `set_stance` marks (in contact), z(point) + J_z(point) dq <= flat_height: a loaded foot stays
    flat instead of rising onto an edge (TALOS's ankles cannot follow a deep squat: its heels came up 2.4 cm
    and the centre of mass left the toes' support). A corner higher than that must come down by `recovery`
    m per QP step; `relaxed` (the solver's fallback step): only not rise.

    Points are grouped by the frame they are fixed on, so one Jacobian per foot serves all its corners:
    a point at r from its frame origin (world axes) moves at v_z = v_origin_z + (w x r)_z.
    """

    def __init__(self, robot: Robot, frames, min_height: float = 0.0, flat_height: float = 0.005,
                 recovery: float = 0.003):
        self.model = robot.model
        self.min_height, self.flat_height, self.recovery = min_height, flat_height, recovery
        foot_of = {name: f for f, names in enumerate(robot.sole_frames) for name in names}
        groups: dict[tuple[int, int], list] = {}
        for name in frames:
            frame = robot.model.frames[robot.frame_id(name)]
            parent = robot.model.frames[frame.parentFrame]
            groups.setdefault((frame.parentFrame, foot_of.get(name, -1)), []).append(
                parent.placement.actInv(frame.placement).translation)
        self.groups = [(parent, foot, np.array(offsets)) for (parent, foot), offsets in groups.items()]
        self.count = sum(len(offsets) for _, _, offsets in self.groups)
        self.stance = np.zeros(len(robot.sole_frames), dtype=bool)
        self.relaxed = False

    def set_stance(self, feet: np.ndarray) -> None:
        """(F,) bool: the profile feet in contact this control frame, held flat."""
        self.stance[:] = feet

    def compute_qp_inequalities(self, configuration, dt: float):
        import pinocchio as pin

        data = configuration.data
        G = np.empty((self.count, self.model.nv))
        h = np.empty(self.count)
        flat = np.zeros(self.count, dtype=bool)
        row = 0
        for parent, foot, offsets in self.groups:
            placement = data.oMf[parent]
            jacobian = pin.getFrameJacobian(self.model, data, parent, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED)
            r = offsets @ placement.rotation.T  # (P, 3) world axes
            rows = slice(row, row + len(offsets))
            G[rows] = -(jacobian[2] + r[:, 1:2] * jacobian[3] - r[:, 0:1] * jacobian[4])
            h[rows] = placement.translation[2] + r[:, 2] - self.min_height
            flat[rows] = foot >= 0 and self.stance[foot]
            row += len(offsets)
        # a point below the floor must rise: the free base can always lift it
        if not flat.any():
            return G, h
        height = h[flat] + self.min_height
        ceiling = self.flat_height - height
        ceiling = np.maximum(ceiling, 0.0 if self.relaxed else -self.recovery)
        return np.vstack([G, -G[flat]]), np.concatenate([h, ceiling])


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


REMEASURE_STEP = 0.05  # rad (or m): further from where distances were measured, measure again


class SelfCollisionLimit(Limit):
    """d + n.(J_b(p_b) - J_a(p_a)) dq >= d_min for each pair of the robot's convex collision hulls
    (Robot.convex_collision_model) nearer than `activation`: p_a, p_b are coal's witness points, n the unit
    vector from p_a to p_b and d their signed distance (negative in penetration). A pair nearer than d_min
    must back out by `recovery` m per QP step (only "no nearer" in the solver's relaxed fallback): a steady
    pull towards contact lets the linearisation creep inside, and with "no nearer" alone TALOS's feet crept
    into each other through a deep squat (hulls 1 cm inside, 428 of 498 frames touching). Pairs whose
    bounding spheres are further apart than `activation` are skipped with one numpy pass over all pairs,
    before any GJK; the few left (arms near the torso, knees near each other) cost microseconds each."""

    def __init__(self, robot: Robot, min_distance: float = 0.005, activation: float = 0.04, recovery: float = 0.003):
        import pinocchio as pin

        self.model = robot.model
        self.geom = robot.convex_collision_model
        self.geom_data = pin.GeometryData(self.geom)
        self.min_distance, self.activation, self.recovery = float(min_distance), float(activation), float(recovery)
        objects = self.geom.geometryObjects
        self.parent = np.array([obj.parentJoint for obj in objects])
        centres, radii = [], []
        for obj in objects:
            obj.geometry.computeLocalAABB()
            centres.append(obj.placement.act(np.asarray(obj.geometry.aabb_center)))  # in the parent joint's frame
            radii.append(obj.geometry.aabb_radius)
        self.centres, self.radii = np.array(centres), np.array(radii)
        self.first = np.array([pair.first for pair in self.geom.collisionPairs], dtype=int)
        self.second = np.array([pair.second for pair in self.geom.collisionPairs], dtype=int)
        self.joints = [int(j) for j in np.unique(self.parent)]
        self.moves = np.zeros((self.model.njoints, self.model.nv))  # 1 where a velocity moves the joint's body
        for joint in range(self.model.njoints):
            for support in self.model.supports[joint]:
                if support > 0:
                    start = self.model.idx_vs[support]
                    self.moves[joint, start:start + self.model.nvs[support]] = 1.0
        # Hulls nearer than d_min at the reference posture (an elbow's and its wrist's) keep half that distance.
        data = self.model.createData()
        pin.forwardKinematics(self.model, data, robot.reference_q)
        pin.updateGeometryPlacements(self.model, data, self.geom, self.geom_data)
        reference = np.array([pin.computeDistance(self.geom, self.geom_data, k).min_distance
                              for k in range(len(self.first))])
        self.pair_min = np.minimum(self.min_distance, np.maximum(0.5 * reference, 0.0))
        self.relaxed = False  # True: no backing out, only no nearer (the solver's fallback step)
        self.active_pairs = 0  # rows of the last measurement, for profiling
        self._measured = None  # (q, G, h) of this control frame

    def near_pairs(self, data) -> np.ndarray:
        """Indices of the collision pairs whose bounding spheres are within `activation` of each other."""
        rotations = np.empty((self.model.njoints, 3, 3))
        translations = np.empty((self.model.njoints, 3))
        for j in self.joints:
            rotations[j] = data.oMi[j].rotation
            translations[j] = data.oMi[j].translation
        world = np.einsum("nij,nj->ni", rotations[self.parent], self.centres) + translations[self.parent]
        gap = (np.linalg.norm(world[self.first] - world[self.second], axis=1)
               - self.radii[self.first] - self.radii[self.second])
        return np.flatnonzero(gap < self.activation)

    def new_frame(self) -> None:
        """Distances are measured once per control frame (the solver calls this first); its later QP steps
        move the linearised distances by the step taken, h - G (q - q_measured)."""
        self._measured = None

    def compute_qp_inequalities(self, configuration, dt: float):
        import pinocchio as pin

        if self._measured is not None:
            q0, G, h = self._measured
            step = pin.difference(self.model, q0, configuration.q)
            if np.abs(step).max() <= REMEASURE_STEP:  # the linearisation still holds (the usual 2nd QP step)
                return None if G is None else self._relax(G, h - G @ step)
        out = self._measure(configuration)
        self._measured = (configuration.q.copy(), *(out if out is not None else (None, None)))
        return None if out is None else self._relax(*out)

    def _relax(self, G, h):
        return (G, np.maximum(h, 0.0)) if self.relaxed else (G, h)

    def _measure(self, configuration):
        import pinocchio as pin

        data, geom, geom_data = configuration.data, self.geom, self.geom_data
        pin.updateGeometryPlacements(self.model, data, geom, geom_data)  # all hulls: a microsecond
        pairs, distances, points_a, points_b, normals = [], [], [], [], []
        for k in self.near_pairs(data):
            result = pin.computeDistance(geom, geom_data, int(k))
            if result.min_distance < self.activation:
                pairs.append(k)
                distances.append(result.min_distance)
                points_a.append(result.getNearestPoint1())
                points_b.append(result.getNearestPoint2())
                normals.append(result.normal)  # from a towards b
        self.active_pairs = len(pairs)
        if not pairs:
            return None
        pairs, normal = np.array(pairs), np.array(normals)
        rows = (self._normal_velocity(data, self.parent[self.second[pairs]], np.array(points_b), normal)
                - self._normal_velocity(data, self.parent[self.first[pairs]], np.array(points_a), normal))
        return -rows, np.maximum(np.array(distances) - self.pair_min[pairs], -self.recovery)

    def _normal_velocity(self, data, joints: np.ndarray, points: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """(K, nv): n . (the world velocity of each point, fixed on its joint's body). With pinocchio's world
        Jacobian data.J (the velocity of the body point at the world origin, and the angular velocity; pink's
        Configuration has computed it), v_p = v_o + w x p, so n . v_p = n . v_o + (p x n) . w, masked to the
        joints that move the body."""
        jacobian = data.J
        return (normals @ jacobian[:3] + np.cross(points, normals) @ jacobian[3:]) * self.moves[joints]


class SupportLimit(Limit):
    """A . (c + J_c dq)_xy <= b - margin: the centre of mass c stays over the support polygon {x : A x <= b}
    that the solver sets for each control frame (`set_polygon`; None: no constraint, e.g. in flight). A
    centre of mass outside an edge (the polygon shrinks as a foot is about to lift) must come back in by
    `recovery` m per QP step; `relaxed`, it may just not move further out, so dq = 0 is feasible (the solver
    falls back to that when the recovering QP has no solution)."""

    def __init__(self, robot: Robot, margin: float = 0.015, recovery: float = 0.002):
        self.model = robot.model
        self.margin = float(margin)
        self.recovery = float(recovery)
        self.A: np.ndarray | None = None
        self.b: np.ndarray | None = None
        self.relaxed = False  # True: a centre of mass outside may not move further out, need not come back

    def set_polygon(self, hull: np.ndarray | None) -> None:
        from motionllm.retargeting.feasibility import half_planes

        if hull is None or len(hull) < 3:
            self.A = self.b = None
        else:
            self.A, self.b = half_planes(hull)

    def compute_qp_inequalities(self, configuration, dt: float):
        import pinocchio as pin

        if self.A is None:
            return None
        jacobian = pin.jacobianCenterOfMass(self.model, configuration.data, configuration.q, False)
        com = configuration.data.com[0]
        h = self.b - self.margin - self.A @ com[:2]
        return self.A @ jacobian[:2], np.maximum(h, 0.0 if self.relaxed else -self.recovery)
