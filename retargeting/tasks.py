"""`KeypointTask`: every keypoint frame task and limb direction of a profile as one pink `Task`.

It is what K pink FrameTasks would contribute to the QP, built in one pass: pink sums a (nv x nv)
Hessian per task, allocating as it goes, which is most of the IK's time at 11 keypoints. Three kinds
of rows:
  - position only (orientation cost 0): e = p - p_target in world axes, J = the frame's
    LOCAL_WORLD_ALIGNED linear Jacobian;
  - pose: e = log6(T^-1 T_target), J = -Jlog6(T_target^-1 T) J_local, exactly as pink's FrameTask
    (position error in the frame's axes, then orientation);
  - direction (the profile's `directions`): the vector v = p_b - p_a between two frames points along a
    unit target d (the human bone's): e = v - |v| d, the segment's end off that line at its current
    length (so only the direction is asked for), J = (I - d u^T)(J_b - J_a), u = v / |v|, world axes.
    The frames' Jacobians are shared with the keypoint rows (elbows, wrists, knees, ankles are both).
Costs are pink's: cost per metre and per radian, so 1 cm off at cost 1 weighs as 0.2 rad off at 0.05.
"""
from __future__ import annotations

import numpy as np
from pink.tasks import Task


class KeypointTask(Task):
    def __init__(self, model, frame_ids, position_costs, orientation_costs, direction_frames=(),
                 direction_costs=()):
        super().__init__(cost=None)
        self.model = model
        self.frame_ids = list(frame_ids)
        self.oriented = np.asarray(orientation_costs, dtype=float) > 0  # fixes each keypoint's rows
        self.rows = np.cumsum([0] + [6 if o else 3 for o in self.oriented])
        self.point_keypoints = np.flatnonzero(~self.oriented)  # position-only keypoints, and their rows
        self.point_rows = np.concatenate([np.arange(self.rows[k], self.rows[k] + 3) for k in self.point_keypoints]
                                         ) if len(self.point_keypoints) else np.zeros(0, dtype=int)
        # every frame whose world linear Jacobian the rows need: the keypoints', then the direction-only ones
        self.linear_ids = self.frame_ids + sorted({f for pair in direction_frames for f in pair} - set(frame_ids))
        slot = {f: n for n, f in enumerate(self.linear_ids)}
        self.direction_starts = np.array([slot[a] for a, _ in direction_frames], dtype=int)
        self.direction_ends = np.array([slot[b] for _, b in direction_frames], dtype=int)
        self.direction_costs = np.asarray(direction_costs, dtype=float)
        self.set_costs(position_costs, orientation_costs)
        self.target_positions = np.zeros((len(self.frame_ids), 3))
        self.target_rotations = np.broadcast_to(np.eye(3), (len(self.frame_ids), 3, 3)).copy()
        self.target_directions = np.tile([0.0, 0.0, -1.0], (len(self.direction_starts), 1))

    def set_targets(self, positions: np.ndarray, rotations: np.ndarray, directions: np.ndarray | None = None) -> None:
        """Targets for every keypoint: positions (K, 3) and rotations (K, 3, 3), and unit directions (D, 3)
        for the direction pairs, world frame."""
        self.target_positions[:] = positions
        self.target_rotations[:] = rotations
        if directions is not None:
            self.target_directions[:] = directions

    def set_costs(self, position_costs, orientation_costs) -> None:
        """Costs per keypoint (K,), and (K,) or (K, 3) for orientation: then one per axis of the frame's
        own (roll x, pitch y, yaw z), e.g. a swinging foot that keeps its heading but not its tilt. An
        orientation cost can drop to 0 but not appear where there was none (those rows do not exist).
        Direction costs are fixed."""
        count = len(self.frame_ids)
        self.position_costs = np.array(position_costs, dtype=float)
        self.orientation_costs = np.broadcast_to(
            np.asarray(orientation_costs, dtype=float).reshape(count, -1), (count, 3))
        weights = np.empty(self.rows[-1] + 3 * len(self.direction_costs))
        for k, start in enumerate(self.rows[:-1]):
            weights[start:start + 3] = self.position_costs[k]
            if self.oriented[k]:
                weights[start + 3:start + 6] = self.orientation_costs[k]
        weights[self.rows[-1]:] = np.repeat(self.direction_costs, 3)
        self.weights = weights

    def _error_and_jacobian(self, configuration) -> tuple[np.ndarray, np.ndarray]:
        import pinocchio as pin

        model, data = self.model, configuration.data
        world = pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
        error = np.empty(len(self.weights))
        jacobian = np.empty((len(self.weights), model.nv))
        # world positions and linear Jacobians of every frame the rows use (pose rows' frames included)
        positions = np.array([data.oMf[f].translation for f in self.linear_ids])
        linear = np.array([pin.getFrameJacobian(model, data, f, world)[:3] for f in self.linear_ids])
        # the sign makes J dq = -e drive the frame onto the target, as pink's convention does
        point = self.point_keypoints
        error[self.point_rows] = (positions[point] - self.target_positions[point]).ravel()
        jacobian[self.point_rows] = linear[point].reshape(-1, model.nv)
        for k in np.flatnonzero(self.oriented):
            start, frame = self.rows[k], data.oMf[self.frame_ids[k]]
            target = pin.SE3(self.target_rotations[k], self.target_positions[k])
            error[start:start + 6] = pin.log6(frame.actInv(target)).vector
            local = pin.getFrameJacobian(model, data, self.frame_ids[k], pin.ReferenceFrame.LOCAL)
            jacobian[start:start + 6] = -pin.Jlog6(target.actInv(frame)) @ local
        if len(self.direction_starts):
            v = positions[self.direction_ends] - positions[self.direction_starts]  # (D, 3)
            dv = linear[self.direction_ends] - linear[self.direction_starts]  # (D, 3, nv)
            length = np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
            d = self.target_directions
            error[self.rows[-1]:] = (v - length * d).ravel()
            jacobian[self.rows[-1]:] = (dv - d[:, :, None] * np.einsum("di,div->dv", v / length, dv)[:, None, :]
                                        ).reshape(-1, model.nv)
        return error, jacobian

    def compute_error(self, configuration) -> np.ndarray:
        return self._error_and_jacobian(configuration)[0]

    def compute_jacobian(self, configuration) -> np.ndarray:
        return self._error_and_jacobian(configuration)[1]

    def compute_qp_objective(self, configuration) -> tuple[np.ndarray, np.ndarray]:
        """(H, c) of 1/2 |W (J dq + gain e)|^2 (no Levenberg-Marquardt term: the QP is damped globally)."""
        error, jacobian = self._error_and_jacobian(configuration)
        weighted_jacobian = self.weights[:, None] * jacobian
        weighted_error = self.gain * self.weights * error
        return weighted_jacobian.T @ weighted_jacobian, weighted_jacobian.T @ weighted_error

    def __repr__(self) -> str:
        return (f"KeypointTask({len(self.frame_ids)} frames, {int(self.oriented.sum())} with orientation, "
                f"{len(self.direction_starts)} directions)")
