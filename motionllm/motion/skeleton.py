"""The SMPL-22 skeleton in T2M (HumanML3D) joint order, and kinematics over it.

Canonical motion in this project is a float32 array of shape (T, 22, 3): joint positions in metres,
Y up, 20 frames per second, the person facing +Z at frame 0 (the person's left is +X).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motionllm.motion.quaternion import qbetween, qinv, qmul, qrot

FPS = 20.0
NUM_JOINTS = 22

JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

# Kinematic chains as in T2M: right leg, left leg, spine+head, right arm, left arm.
KINEMATIC_CHAINS = (
    (0, 2, 5, 8, 11),
    (0, 1, 4, 7, 10),
    (0, 3, 6, 9, 12, 15),
    (9, 14, 17, 19, 21),
    (9, 13, 16, 18, 20),
)

# Rest-pose bone directions (T2M's `t2m_raw_offsets`): the direction from parent to child in a T-pose.
REST_DIRECTIONS = np.array(
    [
        [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
        [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
        [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
    ],
    dtype=np.float64,
)

# Bone lengths (m) of HumanML3D's reference body: every HumanML3D clip is retargeted to it
# (measured on new_joints_012314.npy, constant to 1e-6 m). Index i is the bone from PARENTS[i] to i.
REFERENCE_BONE_LENGTHS = np.array(
    [0.000000, 0.103074, 0.109883, 0.131568, 0.393623, 0.390188, 0.143190, 0.432433, 0.425643, 0.057365,
     0.143382, 0.149419, 0.219360, 0.137487, 0.143383, 0.103039, 0.131614, 0.122984, 0.256840, 0.263092,
     0.266012, 0.269876],
    dtype=np.float64,
)

# Indices used by the HumanML3D representation.
FOOT_RIGHT = (JOINT_INDEX["right_ankle"], JOINT_INDEX["right_foot"])
FOOT_LEFT = (JOINT_INDEX["left_ankle"], JOINT_INDEX["left_foot"])
# HumanML3D passes (right hip, left hip, right shoulder, left shoulder) to both facing computations
# but unpacks them in different orders; we keep both exactly, since the features depend on them.
FACE_JOINTS = (JOINT_INDEX["right_hip"], JOINT_INDEX["left_hip"],
               JOINT_INDEX["right_shoulder"], JOINT_INDEX["left_shoulder"])
LEFT_RIGHT_MIRROR = tuple(
    JOINT_INDEX[n.replace("left_", "TMP_").replace("right_", "left_").replace("TMP_", "right_")]
    for n in JOINT_NAMES
)


@dataclass(frozen=True)
class Skeleton:
    """A body: SMPL-22 topology with its own bone lengths (metres)."""

    bone_lengths: np.ndarray = field(default_factory=REFERENCE_BONE_LENGTHS.copy)

    @property
    def offsets(self) -> np.ndarray:
        """(22, 3) rest offsets of each joint from its parent."""
        return REST_DIRECTIONS * self.bone_lengths[:, None]

    @classmethod
    def from_joints(cls, joints: np.ndarray) -> "Skeleton":
        """Bone lengths measured from positions (22, 3) or a motion (T, 22, 3), averaged over time."""
        return cls(bone_lengths(joints).reshape(-1, NUM_JOINTS).mean(axis=0))

    def leg_length(self) -> float:
        """Thigh + shin, as HumanML3D measures it to scale root motion between bodies."""
        lengths = self.bone_lengths
        return float(lengths[JOINT_INDEX["right_knee"]] + lengths[JOINT_INDEX["right_ankle"]])

    def rest_pose(self) -> np.ndarray:
        """(22, 3) T-pose positions with the pelvis at the origin."""
        return forward_kinematics(np.tile([1.0, 0, 0, 0], (1, NUM_JOINTS, 1)), np.zeros((1, 3)), self)[0]


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Length of each bone (parent to joint), shape (..., 22); the root's entry is 0."""
    parents = np.array(PARENTS[1:])
    lengths = np.zeros(joints.shape[:-1], dtype=np.float64)
    lengths[..., 1:] = np.linalg.norm(joints[..., 1:, :] - joints[..., parents, :], axis=-1)
    return lengths


def facing_directions(joints: np.ndarray, hips_first_as_left: bool = False, normalize: bool = True) -> np.ndarray:
    """Forward direction in the XZ plane for each frame of (T, 22, 3) joints (unit length if `normalize`;
    otherwise as long as the horizontal part of the unit across-body vector, which T2M smooths as is).

    `hips_first_as_left` reproduces the unpacking used inside T2M's inverse kinematics
    (across = left_hip - right_hip + right_shoulder - left_shoulder), which gives the same forward
    direction for bodies whose shoulders are wider than their hips.
    """
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    if hips_first_as_left:
        r_hip, l_hip = l_hip, r_hip
    across = (joints[:, r_hip] - joints[:, l_hip]) + (joints[:, r_sdr] - joints[:, l_sdr])
    across = across / np.linalg.norm(across, axis=-1, keepdims=True)
    forward = np.cross(np.array([[0.0, 1.0, 0.0]]), across)
    if not normalize:
        return forward
    return forward / np.linalg.norm(forward, axis=-1, keepdims=True)


def inverse_kinematics(joints: np.ndarray, smooth_forward: bool = False, identity_first_root: bool = False) -> np.ndarray:
    """Local joint rotations (T, 22, 4) that take the rest directions onto the bones of `joints`.

    The root rotation turns the body's forward direction onto +Z. Twist about each bone is not
    observable from positions, so it is the shortest-arc one, as in T2M. `identity_first_root`
    forces the frame-0 root rotation to identity, as the code that built the released HumanML3D
    features did (their first-frame yaw velocity carries the offset); `joints_to_features` needs it
    to reproduce those files.
    """
    from scipy.ndimage import gaussian_filter1d

    forward = facing_directions(joints, hips_first_as_left=True, normalize=False)
    if smooth_forward:
        forward = gaussian_filter1d(forward, 20, axis=0, mode="nearest")
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    target = np.broadcast_to(np.array([0.0, 0.0, 1.0]), forward.shape)
    root_quat = qbetween(forward, target)
    if identity_first_root:
        root_quat[0] = (1.0, 0.0, 0.0, 0.0)

    quats = np.zeros(joints.shape[:-1] + (4,))
    quats[..., 0] = 1.0
    quats[:, 0] = root_quat
    for chain in KINEMATIC_CHAINS:
        world = root_quat
        for parent, child in zip(chain[:-1], chain[1:]):
            u = np.broadcast_to(REST_DIRECTIONS[child], (len(joints), 3))
            v = joints[:, child] - joints[:, parent]
            v = v / np.linalg.norm(v, axis=-1, keepdims=True)
            local = qmul(qinv(world), qbetween(u, v))
            quats[:, child] = local
            world = qmul(world, local)
    return quats


def forward_kinematics(quats: np.ndarray, root_pos: np.ndarray, skeleton: Skeleton | None = None) -> np.ndarray:
    """Joint positions (T, 22, 3) from local rotations (T, 22, 4) and root positions (T, 3).

    quats[:, 0] is the root rotation as produced by `inverse_kinematics` (world -> body facing),
    so it is applied inverted, exactly like T2M's `forward_kinematics_np`.
    """
    offsets = (skeleton or Skeleton()).offsets
    joints = np.zeros(quats.shape[:-1] + (3,))
    joints[:, 0] = root_pos
    for chain in KINEMATIC_CHAINS:
        world = quats[:, 0]
        for parent, child in zip(chain[:-1], chain[1:]):
            world = qmul(world, quats[:, child])
            joints[:, child] = qrot(world, np.broadcast_to(offsets[child], (len(quats), 3))) + joints[:, parent]
    return joints
