"""`KeypointTask`: every keypoint frame task of a profile as one pink `Task`.

It is what K pink FrameTasks would contribute to the QP, built in one pass: pink sums a (nv x nv)
Hessian per task, allocating as it goes, which is most of the IK's time at 11 keypoints. Two kinds of
rows per keypoint:
  - position only (orientation cost 0): e = p - p_target in world axes, J = the frame's
    LOCAL_WORLD_ALIGNED linear Jacobian;
  - pose: e = log6(T^-1 T_target), J = -Jlog6(T_target^-1 T) J_local, exactly as pink's FrameTask
    (position error in the frame's axes, then orientation).
Costs are pink's: cost per metre and per radian, so 1 cm off at cost 1 weighs as 0.2 rad off at 0.05.
"""
from __future__ import annotations

import numpy as np
from pink.tasks import Task


class KeypointTask(Task):
    def __init__(self, model, frame_ids, position_costs, orientation_costs):
        super().__init__(cost=None)
        self.model = model
        self.frame_ids = list(frame_ids)
        self.oriented = np.asarray(orientation_costs, dtype=float) > 0  # fixes each keypoint's rows
        self.rows = np.cumsum([0] + [6 if o else 3 for o in self.oriented])
        self.set_costs(position_costs, orientation_costs)
        self.target_positions = np.zeros((len(self.frame_ids), 3))
        self.target_rotations = np.broadcast_to(np.eye(3), (len(self.frame_ids), 3, 3)).copy()

    def set_targets(self, positions: np.ndarray, rotations: np.ndarray) -> None:
        """Targets for every keypoint: positions (K, 3) and rotations (K, 3, 3), world frame."""
        self.target_positions[:] = positions
        self.target_rotations[:] = rotations

    def set_costs(self, position_costs, orientation_costs) -> None:
        """Costs per keypoint (K,) and (K,), e.g. raised for a stance foot. An orientation cost can drop to
        0 but not appear where there was none (those rows do not exist)."""
        self.position_costs = np.array(position_costs, dtype=float)
        self.orientation_costs = np.array(orientation_costs, dtype=float)
        weights = np.empty(self.rows[-1])
        for k, start in enumerate(self.rows[:-1]):
            weights[start:start + 3] = self.position_costs[k]
            if self.oriented[k]:
                weights[start + 3:start + 6] = self.orientation_costs[k]
        self.weights = weights

    def _error_and_jacobian(self, configuration) -> tuple[np.ndarray, np.ndarray]:
        import pinocchio as pin

        model, data = self.model, configuration.data
        error = np.empty(self.rows[-1])
        jacobian = np.empty((self.rows[-1], model.nv))
        for k, fid in enumerate(self.frame_ids):
            start = self.rows[k]
            if self.oriented[k]:
                frame = data.oMf[fid]
                target = pin.SE3(self.target_rotations[k], self.target_positions[k])
                error[start:start + 6] = pin.log6(frame.actInv(target)).vector
                local = pin.getFrameJacobian(model, data, fid, pin.ReferenceFrame.LOCAL)
                jacobian[start:start + 6] = -pin.Jlog6(target.actInv(frame)) @ local
            else:
                # the sign makes J dq = -e drive the frame onto the target, as pink's convention does
                error[start:start + 3] = data.oMf[fid].translation - self.target_positions[k]
                jacobian[start:start + 3] = pin.getFrameJacobian(
                    model, data, fid, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED)[:3]
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
        return f"KeypointTask({len(self.frame_ids)} frames, {int(self.oriented.sum())} with orientation)"
