"""The HumanML3D 263-d motion representation, both ways.

Per frame (T2M, Guo et al. 2022):
    [0]       root angular velocity about Y (stored as half the per-frame yaw change, as in T2M)
    [1:3]     root linear velocity in the XZ plane, in the body's facing frame
    [3]       root height
    [4:67]    21 root-relative joint positions in the facing frame ("ric")
    [67:193]  21 local joint rotations, continuous 6-D
    [193:259] 22 joint velocities in the facing frame
    [259:263] foot contacts (left ankle, left foot, right ankle, right foot)

`joints_to_features` follows HumanML3D's `process_file` step by step; `features_to_joints` is its
`recover_from_ric`. T frames of joints give T-1 frames of features (velocities need two frames).
"""
from __future__ import annotations

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.canonical import check_joints, face_z, put_on_floor
from motionllm.motion.quaternion import qinv, qmul, qrot, quat_to_cont6d
from motionllm.motion.skeleton import (
    FOOT_LEFT,
    FOOT_RIGHT,
    NUM_JOINTS,
    Skeleton,
    forward_kinematics,
    inverse_kinematics,
)

FEATURE_DIM = 263
ROOT = slice(0, 4)
RIC = slice(4, 4 + (NUM_JOINTS - 1) * 3)
ROT = slice(RIC.stop, RIC.stop + (NUM_JOINTS - 1) * 6)
VEL = slice(ROT.stop, ROT.stop + NUM_JOINTS * 3)
CONTACT = slice(VEL.stop, VEL.stop + 4)
assert CONTACT.stop == FEATURE_DIM

# Squared per-frame displacement under which a foot joint counts as in contact (HumanML3D's 0.002).
FOOT_CONTACT_THRESHOLD = 0.002


def uniform_skeleton(joints: np.ndarray, target: Skeleton | None = None) -> np.ndarray:
    """Retarget a motion onto the reference body (HumanML3D does this to every clip).

    Rotations are kept, bone lengths replaced, and the root trajectory scaled by the leg-length ratio.
    """
    target = target or Skeleton()
    source = Skeleton.from_joints(joints[:1])
    scale = target.leg_length() / source.leg_length()
    quats = inverse_kinematics(joints)
    return forward_kinematics(quats, joints[:, 0] * scale, target)


def foot_contacts(joints: np.ndarray, threshold: float = FOOT_CONTACT_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """(T-1, 2) left and right contact flags: the foot joints barely move between frames."""
    def still(idx):
        step = joints[1:, list(idx)] - joints[:-1, list(idx)]
        return ((step**2).sum(-1) < threshold).astype(np.float64)

    return still(FOOT_LEFT), still(FOOT_RIGHT)


def joints_to_features(joints: np.ndarray, uniform: bool = True, contact_threshold: float = FOOT_CONTACT_THRESHOLD) -> np.ndarray:
    """(T, 22, 3) joints (Y up, metres, 20 fps) -> (T-1, 263) float32 features."""
    joints = check_joints(joints)
    if uniform:
        joints = uniform_skeleton(joints)
    positions = face_z(put_on_floor(joints))
    # put_on_floor before face_z mirrors HumanML3D's order; both commute with the Y-only rotation.
    feet_l, feet_r = foot_contacts(positions, contact_threshold)

    quats = inverse_kinematics(positions, smooth_forward=True, identity_first_root=True)
    r_rot = quats[:, 0].copy()  # world -> facing frame, per frame
    root_velocity = qrot(r_rot[1:], positions[1:, 0] - positions[:-1, 0])
    root_yaw_velocity = qmul(r_rot[1:], qinv(r_rot[:-1]))
    # Keep w >= 0: when the heading crosses 180 degrees the product can come out as -q, and arcsin of
    # its y component would then flip the turn (T2M's code has this bug; it never occurs in its sample).
    root_yaw_velocity *= np.where(root_yaw_velocity[:, :1] < 0, -1.0, 1.0)

    local = positions.copy()
    local[..., 0] -= local[:, :1, 0]
    local[..., 2] -= local[:, :1, 2]
    local = qrot(np.repeat(r_rot[:, None], NUM_JOINTS, axis=1), local)

    root_data = np.concatenate(
        [np.arcsin(np.clip(root_yaw_velocity[:, 2:3], -1, 1)), root_velocity[:, [0, 2]], local[:-1, 0, 1:2]], axis=-1
    )
    ric = local[:-1, 1:].reshape(len(local) - 1, -1)
    rot = quat_to_cont6d(quats[:-1, 1:]).reshape(len(quats) - 1, -1)
    velocity = qrot(np.repeat(r_rot[:-1, None], NUM_JOINTS, axis=1), positions[1:] - positions[:-1])
    velocity = velocity.reshape(len(velocity), -1)
    return np.concatenate([root_data, ric, rot, velocity, feet_l, feet_r], axis=-1).astype(np.float32)


def check_features(features: np.ndarray, what: str = "features") -> np.ndarray:
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
        raise MotionFormatError(f"{what}: expected HumanML3D features of shape (T, {FEATURE_DIM}), got {features.shape}")
    if len(features) < 1:
        raise MotionFormatError(f"{what}: empty feature sequence")
    if not np.all(np.isfinite(features)):
        raise MotionFormatError(f"{what}: contains NaN or infinite values")
    return features.astype(np.float64)


def recover_root(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integrate root yaw and velocity: (T, 4) quaternions (world -> facing) and (T, 3) root positions."""
    yaw = np.zeros(len(features))
    yaw[1:] = np.cumsum(features[:-1, 0])
    r_rot = np.stack([np.cos(yaw), np.zeros_like(yaw), np.sin(yaw), np.zeros_like(yaw)], axis=-1)
    step = np.zeros((len(features), 3))
    step[1:, [0, 2]] = features[:-1, 1:3]
    root = np.cumsum(qrot(qinv(r_rot), step), axis=0)
    root[:, 1] = features[:, 3]
    return r_rot, root


def features_to_joints(features: np.ndarray) -> np.ndarray:
    """(T, 263) features -> (T, 22, 3) float32 joints (HumanML3D's recover_from_ric)."""
    features = check_features(features)
    r_rot, root = recover_root(features)
    local = features[:, RIC].reshape(len(features), NUM_JOINTS - 1, 3)
    world = qrot(np.repeat(qinv(r_rot)[:, None], NUM_JOINTS - 1, axis=1), local)
    world[..., 0] += root[:, None, 0]
    world[..., 2] += root[:, None, 2]
    return np.concatenate([root[:, None], world], axis=1).astype(np.float32)
