"""The kinematic rig: per-frame controls -> SMPL-22 joint positions (T, 22, 3).

Controls are what actions write (see `Controls`): the pelvis trajectory and heading, trunk and neck
angles, the toe targets of both feet (planted feet are constant in world coordinates), wrist targets
of both arms. The rig places the rigid parts from their neutral offsets and solves legs and arms with
analytic two-bone IK and pole vectors, so every bone keeps its exact length. Where a foot target is
out of reach, the pelvis is lowered (smoothly) rather than letting the foot slide.

Angles are radians. Body-frame axes: x = left, y = up, z = forward; yaw > 0 turns to the left,
pitch > 0 bends forward (or nods down), lean > 0 tilts to the person's left.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from motionllm.corpus.body import FOOT_PITCH, LEFT, RIGHT, SIDE_SIGN, Body
from motionllm.motion.skeleton import JOINT_INDEX as J
from motionllm.motion.skeleton import NUM_JOINTS

LEG_JOINTS = ((J["left_hip"], J["left_knee"], J["left_ankle"], J["left_foot"]),
              (J["right_hip"], J["right_knee"], J["right_ankle"], J["right_foot"]))
ARM_JOINTS = ((J["left_collar"], J["left_shoulder"], J["left_elbow"], J["left_wrist"]),
              (J["right_collar"], J["right_shoulder"], J["right_elbow"], J["right_wrist"]))
SPINE_SHARE = (0.35, 0.35, 0.30)  # how trunk angles are spread over spine1, spine2, spine3
MAX_REACH = 0.995                 # legs never straighten fully (a locked knee has no defined pole)
# The pelvis is lowered so that ankle targets stay within this fraction of the leg: near full extension
# the knee moves very fast for small changes in reach, which would show as jerk.
PELVIS_REACH = 0.975
SOFT_REACH = 0.975  # beyond this fraction of the limb, reach saturates smoothly towards MAX_REACH


@dataclass
class Controls:
    """Per-frame controls of one motion (world frame unless noted). Index 0 of a (2, ...) array is the
    left side, 1 the right side."""

    pelvis: np.ndarray          # (T, 3) pelvis joint; y is an upper bound the leg reach may lower
    heading: np.ndarray         # (T,) facing yaw; 0 = +Z, > 0 turned to the left
    pelvis_rot: np.ndarray      # (T, 3) pelvis yaw (relative to heading), pitch, lean
    spine: np.ndarray           # (T, 3) trunk twist, pitch, lean above the pelvis
    neck: np.ndarray            # (T, 3) head yaw, pitch (nod down), lean relative to the chest
    shrug: np.ndarray           # (2, T) collar elevation
    toe: np.ndarray             # (2, T, 3) toe-joint targets
    foot_yaw: np.ndarray        # (2, T) foot direction (absolute yaw)
    foot_pitch: np.ndarray      # (2, T) ankle->toe pitch below horizontal (neutral FOOT_PITCH)
    wrist: np.ndarray           # (2, T, 3) wrist targets relative to the shoulder, heading frame
    elbow_pole: np.ndarray      # (2, T, 3) where elbows point, heading frame
    knee_pole: np.ndarray       # (2, T, 3) where knees point relative to the foot frame (x out, y up, z fwd)
    contact: np.ndarray         # (2, T) bool: the foot is planted (for labels and checks)
    wrist_world: np.ndarray = field(default=None)    # (2, T, 3) optional absolute wrist targets
    wrist_world_w: np.ndarray = field(default=None)  # (2, T) blend weight of wrist_world (0..1)

    @property
    def n(self) -> int:
        return len(self.heading)

    def head(self, n: int) -> "Controls":
        """The first n frames."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = None if v is None else (v[:, :n] if f.name in _SIDED else v[:n]).copy()
        return Controls(**out)

    def copy(self) -> "Controls":
        return Controls(**{f.name: (None if getattr(self, f.name) is None else getattr(self, f.name).copy())
                           for f in fields(self)})


def concat(parts: list[Controls]) -> Controls:
    """Join controls in time (frame axis is 0 for per-frame arrays and 1 for per-side arrays)."""
    out = {}
    for f in fields(Controls):
        values = [getattr(p, f.name) for p in parts]
        if f.name in ("wrist_world", "wrist_world_w"):
            if all(v is None for v in values):
                out[f.name] = None
                continue
            fill = [np.zeros((2, p.n, 3)) if f.name == "wrist_world" else np.zeros((2, p.n)) for p in parts]
            values = [v if v is not None else z for v, z in zip(values, fill)]
        axis = 1 if f.name in _SIDED else 0
        out[f.name] = np.concatenate(values, axis=axis)
    return Controls(**out)


_SIDED = {"shrug", "toe", "foot_yaw", "foot_pitch", "wrist", "elbow_pole", "knee_pole", "contact",
          "wrist_world", "wrist_world_w"}


# --- rotations over frames -------------------------------------------------------------------------

def rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def body_rotation(yaw: np.ndarray, pitch: np.ndarray, lean: np.ndarray) -> np.ndarray:
    """Yaw (left), then pitch (forward), then lean (to the left) in the turned frame."""
    return rot_y(yaw) @ rot_x(pitch) @ rot_z(-lean)


def apply(rotation: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Rotate (3,) or (T, 3) vectors by (T, 3, 3) matrices."""
    return np.einsum("tij,tj->ti", rotation, np.broadcast_to(vector, rotation.shape[:-1]))


def yaw_dir(yaw: np.ndarray) -> np.ndarray:
    """Unit forward vector (T, 3) of a yaw angle."""
    return np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], -1)


def left_dir(yaw: np.ndarray) -> np.ndarray:
    """Unit vector (T, 3) to the person's left for a yaw angle."""
    return np.stack([np.cos(yaw), np.zeros_like(yaw), -np.sin(yaw)], -1)


def foot_vector(yaw: np.ndarray, pitch: np.ndarray, length: float) -> np.ndarray:
    """Ankle -> toe vector for a foot direction and downward pitch."""
    c = np.cos(pitch)
    return length * np.stack([np.sin(yaw) * c, -np.sin(pitch), np.cos(yaw) * c], -1)


# --- two-bone IK -----------------------------------------------------------------------------------

def two_bone_ik(root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray,
                max_reach: float = MAX_REACH) -> tuple[np.ndarray, np.ndarray]:
    """Middle and end joint (T, 3) each of a two-bone chain from `root` towards `target`.

    The chain bends in the plane of root, target and `pole` (a direction from the root where the middle
    joint should go). Out-of-reach targets are pulled in along the root-target line. Bone lengths are
    exact by construction.
    """
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(dist, 1e-9)
    # Saturate smoothly instead of clipping: a clipped chain would kink, and the knee or elbow moves
    # fastest of all near full extension, so any kink there shows as a jerk spike.
    soft, hard = (l1 + l2) * min(SOFT_REACH, max_reach), (l1 + l2) * max_reach
    width = hard - soft
    reach = np.where(dist > soft, soft + width * np.tanh((dist - soft) / width), dist)
    reach = np.maximum(reach, abs(l1 - l2) + 1e-4)
    end = root + u * reach
    cos_a = np.clip((l1 * l1 + reach * reach - l2 * l2) / (2 * l1 * reach), -1.0, 1.0)
    v = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    vn = np.linalg.norm(v, axis=-1, keepdims=True)
    # A pole parallel to the chain gives no bending plane: fall back to any perpendicular.
    fallback = np.cross(u, np.array([1.0, 0.0, 0.0]))
    fallback = fallback / np.maximum(np.linalg.norm(fallback, axis=-1, keepdims=True), 1e-9)
    v = np.where(vn > 1e-6, v / np.maximum(vn, 1e-9), fallback)
    mid = root + l1 * (cos_a * u + np.sqrt(1 - cos_a * cos_a) * v)
    return mid, end


# --- the solver ------------------------------------------------------------------------------------

def _pelvis_height_limit(body: Body, c: Controls, pelvis_rot: np.ndarray, ankles: np.ndarray) -> np.ndarray:
    """Highest pelvis y (T,) at which the ankles of the planted feet are within reach. (A swinging foot
    out of reach is pulled in by the IK instead: lowering the body for it would be the wrong fix.)"""
    limit = np.full(c.n, np.inf)
    for side, name in ((LEFT, "left_hip"), (RIGHT, "right_hip")):
        hip_rel = apply(pelvis_rot, body.offset(name))  # hip - pelvis
        hip_xz = c.pelvis[:, [0, 2]] + hip_rel[:, [0, 2]]
        horizontal = np.linalg.norm(ankles[side][:, [0, 2]] - hip_xz, axis=-1)
        reach = body.leg(side) * PELVIS_REACH
        vertical = np.sqrt(np.maximum(reach * reach - horizontal * horizontal, 0.0))
        side_limit = ankles[side][:, 1] + vertical - hip_rel[:, 1]
        limit = np.minimum(limit, np.where(c.contact[side], side_limit, np.inf))
    return limit


def lower_to_reach(desired: np.ndarray, limit: np.ndarray, radius: int = 3) -> np.ndarray:
    """desired - a smooth drop that keeps the result <= limit everywhere.

    A running maximum over +-radius frames followed by a Gaussian truncated at the same radius
    only ever raises the drop, so the constraint holds while the drop stays smooth."""
    drop = np.maximum(desired - limit, 0.0)
    if not np.any(drop > 0):
        return desired
    drop = maximum_filter1d(drop, 2 * radius + 1, mode="nearest")
    sigma = radius / 2.0
    drop = gaussian_filter1d(drop, sigma, mode="nearest", truncate=radius / sigma)
    return desired - drop


def solve(body: Body, c: Controls) -> np.ndarray:
    """Joint positions (T, 22, 3) float64 for the controls."""
    n = c.n
    joints = np.zeros((n, NUM_JOINTS, 3))
    heading = c.heading
    pelvis_rot = body_rotation(heading + c.pelvis_rot[:, 0], c.pelvis_rot[:, 1], c.pelvis_rot[:, 2])

    ankles = [c.toe[s] - foot_vector(c.foot_yaw[s], c.foot_pitch[s], body.foot(s)) for s in (LEFT, RIGHT)]
    pelvis = c.pelvis.copy()
    pelvis[:, 1] = lower_to_reach(pelvis[:, 1], _pelvis_height_limit(body, c, pelvis_rot, ankles))
    joints[:, J["pelvis"]] = pelvis

    # Trunk: spine1 rides on the pelvis, each spine segment takes its share of the trunk angles.
    segment = pelvis_rot
    joints[:, J["spine1"]] = pelvis + apply(segment, body.offset("spine1"))
    parent = J["spine1"]
    for share, name in zip(SPINE_SHARE, ("spine2", "spine3", None)):
        segment = segment @ body_rotation(share * c.spine[:, 0], share * c.spine[:, 1], share * c.spine[:, 2])
        if name is not None:
            joints[:, J[name]] = joints[:, parent] + apply(segment, body.offset(name))
            parent = J[name]
    chest = segment
    spine3 = joints[:, J["spine3"]]
    joints[:, J["neck"]] = spine3 + apply(chest, body.offset("neck"))
    head_rot = chest @ body_rotation(c.neck[:, 0], c.neck[:, 1], c.neck[:, 2])
    joints[:, J["head"]] = joints[:, J["neck"]] + apply(head_rot, body.offset("head"))

    # Arms: collar fixed to the chest, shoulder on the (shrugging) collar, elbow/wrist by IK.
    heading_rot = rot_y(heading)
    for side, name in ((LEFT, "left"), (RIGHT, "right")):
        collar_j, shoulder_j, elbow_j, wrist_j = ARM_JOINTS[side]
        joints[:, collar_j] = spine3 + apply(chest, body.offset(f"{name}_collar"))
        collar_rot = chest @ rot_z(SIDE_SIGN[side] * c.shrug[side])
        shoulder = joints[:, collar_j] + apply(collar_rot, body.offset(f"{name}_shoulder"))
        joints[:, shoulder_j] = shoulder
        target = shoulder + apply(heading_rot, c.wrist[side])
        if c.wrist_world is not None:
            w = c.wrist_world_w[side][:, None]
            target = (1 - w) * target + w * c.wrist_world[side]
        pole = apply(heading_rot, c.elbow_pole[side])
        joints[:, elbow_j], joints[:, wrist_j] = two_bone_ik(
            shoulder, target, body.upper_arm(side), body.forearm(side), pole)

    # Legs: hip on the pelvis, knee/ankle by IK towards the ankle target, toe from the foot direction.
    for side, name in ((LEFT, "left_hip"), (RIGHT, "right_hip")):
        hip_j, knee_j, ankle_j, toe_j = LEG_JOINTS[side]
        hip = pelvis + apply(pelvis_rot, body.offset(name))
        joints[:, hip_j] = hip
        foot_frame = rot_y(c.foot_yaw[side])
        pole_local = c.knee_pole[side] * np.array([SIDE_SIGN[side], 1.0, 1.0])
        pole = apply(foot_frame, pole_local)
        knee, ankle = two_bone_ik(hip, ankles[side], body.thigh(side), body.shin(side), pole)
        joints[:, knee_j] = knee
        joints[:, ankle_j] = ankle
        joints[:, toe_j] = ankle + foot_vector(c.foot_yaw[side], c.foot_pitch[side], body.foot(side))
    return joints


def neutral_controls(body: Body, n: int, root_xz=(0.0, 0.0), heading: float = 0.0, ground: float = 0.0,
                     style: dict | None = None) -> Controls:
    """Standing still for n frames: feet planted under the hips, arms hanging, looking ahead."""
    style = style or {}
    yaw = np.full(n, float(heading))
    pelvis = np.zeros((n, 3))
    pelvis[:, 0], pelvis[:, 2] = root_xz
    pelvis[:, 1] = ground + body.stand_height()
    toe = np.zeros((2, n, 3))
    foot_yaw = np.zeros((2, n))
    for side in (LEFT, RIGHT):
        toe[side] = stance_toe(body, np.asarray(root_xz, dtype=np.float64), yaw, side, ground, style)
        foot_yaw[side] = yaw + SIDE_SIGN[side] * style.get("toe_out", 0.12)
    wrist = np.zeros((2, n, 3))
    elbow_pole = np.zeros((2, n, 3))
    for side in (LEFT, RIGHT):
        wrist[side] = hang_wrist(body, side, style)
        elbow_pole[side] = (SIDE_SIGN[side] * 0.3, -0.2, -1.0)
    knee_pole = np.zeros((2, n, 3))
    knee_pole[..., :] = (0.1, 0.0, 1.0)
    return Controls(
        pelvis=pelvis, heading=yaw, pelvis_rot=np.zeros((n, 3)),
        spine=np.tile([0.0, style.get("slouch", 0.0), 0.0], (n, 1)),
        neck=np.tile([0.0, style.get("head_pitch", 0.0), 0.0], (n, 1)),
        shrug=np.zeros((2, n)), toe=toe, foot_yaw=foot_yaw,
        foot_pitch=np.full((2, n), FOOT_PITCH), wrist=wrist, elbow_pole=elbow_pole, knee_pole=knee_pole,
        contact=np.ones((2, n), dtype=bool),
    )


def stance_toe(body: Body, root_xz: np.ndarray, yaw: np.ndarray, side: int, ground: float, style: dict,
               width_scale: float = 1.0) -> np.ndarray:
    """Toe position (T, 3) of a foot standing naturally under its hip for a pelvis at root_xz (T, 2)."""
    yaw = np.asarray(yaw, dtype=np.float64)
    half_width = (0.5 * body.hip_width() + 0.035) * width_scale * style.get("stance", 1.0)
    root = np.zeros(yaw.shape + (3,))
    root[..., 0], root[..., 2] = np.asarray(root_xz)[..., 0], np.asarray(root_xz)[..., 1]
    out = root + SIDE_SIGN[side] * half_width * left_dir(yaw) + body.toe_forward() * yaw_dir(yaw)
    out[..., 1] = ground
    return out


def hang_wrist(body: Body, side: int, style: dict) -> np.ndarray:
    """Wrist of a relaxed hanging arm relative to the shoulder (heading frame): elbow slightly bent."""
    arm = body.arm(side)
    return np.array([SIDE_SIGN[side] * 0.02, -0.95 * arm, 0.03 + style.get("arm_forward", 0.0)])
