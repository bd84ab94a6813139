"""Bodies of the corpus: SMPL-22 bone lengths for people 1.5-1.95 m tall, and the neutral geometry
of the rigid parts (pelvis, spine, collars) that the rig (`rig.py`) poses.

Coordinates of the body frame: x = the person's left, y = up, z = forward (the world frame of a person
facing +Z). The rigid offsets are the directions of an SMPL neutral body's bones (approximate template
joint locations, symmetrised), with the lengths of HumanML3D's reference body (`REFERENCE_BONE_LENGTHS`)
scaled per body part.

Each generated clip is stored after HumanML3D's processing, which retargets it onto the reference body
(rotations kept, root scaled by the leg-length ratio). The leg chain (hip offset, thigh, shin, foot) is
therefore scaled by ONE factor: retargeting then maps every leg point by exactly that ratio, so planted
feet stay planted and on the floor. Torso, arm and shoulder-width factors vary on their own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionllm.motion.skeleton import JOINT_INDEX as J
from motionllm.motion.skeleton import NUM_JOINTS, REFERENCE_BONE_LENGTHS

LEFT, RIGHT = 0, 1
SIDES = ("left", "right")
SIDE_SIGN = (1.0, -1.0)  # the person's left is +x

# Bone directions of the neutral body (x left, y up, z forward), index = child joint. Only the rigid
# parts are used as offsets; limbs are solved by inverse kinematics.
_DIRECTIONS = {
    "left_hip": (0.0686, -0.0913, -0.0109), "right_hip": (-0.0686, -0.0913, -0.0109),
    "spine1": (0.0, 0.1089, -0.0267), "spine2": (0.0, 0.1352, 0.0011), "spine3": (0.0, 0.0529, 0.0254),
    "neck": (0.0, 0.2139, -0.0428), "head": (0.0, 0.0650, 0.0513),
    "left_collar": (0.0799, 0.1223, -0.0385), "right_collar": (-0.0799, 0.1223, -0.0385),
    "left_shoulder": (0.0908, 0.0245, -0.0085), "right_shoulder": (-0.0908, 0.0245, -0.0085),
}

# Body parts scaled together (bone = child joint index).
LEG_BONES = tuple(J[n] for n in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                                 "right_ankle", "left_foot", "right_foot"))
TORSO_BONES = tuple(J[n] for n in ("spine1", "spine2", "spine3", "neck", "head"))
WIDTH_BONES = tuple(J[n] for n in ("left_collar", "right_collar", "left_shoulder", "right_shoulder"))
ARM_BONES = tuple(J[n] for n in ("left_elbow", "right_elbow", "left_wrist", "right_wrist"))

# Neutral foot: the ankle->toe bone points down by this pitch (HumanML3D bodies stand with the ankle
# joint ~5 cm and the toe joint ~0.5 cm above the floor).
FOOT_PITCH = np.radians(20.0)
STAND_REACH = 0.965       # standing knees are slightly bent: hip-ankle distance / (thigh + shin)
CROWN_ABOVE_HEAD = 0.12   # top of the skull above the SMPL head joint, metres at reference scale
HEIGHT_RANGE = (1.5, 1.95)


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


@dataclass(frozen=True)
class Body:
    """Bone lengths (22,) plus what the rig needs: rigid offsets and neutral standing quantities."""

    lengths: np.ndarray
    height: float
    factors: dict

    def offset(self, name: str) -> np.ndarray:
        """Rigid offset (3,) of joint `name` from its parent in the neutral body frame."""
        return _unit(_DIRECTIONS[name]) * self.lengths[J[name]]

    def bone(self, name: str) -> float:
        return float(self.lengths[J[name]])

    def thigh(self, side: int) -> float:
        return self.bone(("left_knee", "right_knee")[side])

    def shin(self, side: int) -> float:
        return self.bone(("left_ankle", "right_ankle")[side])

    def foot(self, side: int) -> float:
        return self.bone(("left_foot", "right_foot")[side])

    def leg(self, side: int) -> float:
        return self.thigh(side) + self.shin(side)

    def upper_arm(self, side: int) -> float:
        return self.bone(("left_elbow", "right_elbow")[side])

    def forearm(self, side: int) -> float:
        return self.bone(("left_wrist", "right_wrist")[side])

    def arm(self, side: int) -> float:
        return self.upper_arm(side) + self.forearm(side)

    @property
    def scale(self) -> float:
        """Leg scale relative to the reference body: distances of locomotion scale with it."""
        return self.factors["leg"]

    def ankle_height(self, side: int = LEFT) -> float:
        """Ankle joint above the floor when the foot is flat (toe joint on the floor)."""
        return self.foot(side) * np.sin(FOOT_PITCH)

    def hip_drop(self) -> float:
        """How far the hip joints sit below the pelvis joint."""
        return -self.offset("left_hip")[1]

    def stand_height(self) -> float:
        """Pelvis height of the neutral standing pose (slightly bent knees)."""
        side = LEFT if self.leg(LEFT) < self.leg(RIGHT) else RIGHT
        return self.ankle_height(side) + STAND_REACH * self.leg(side) + self.hip_drop()

    def hip_width(self) -> float:
        return 2 * self.offset("left_hip")[0]

    def toe_forward(self) -> float:
        """Neutral horizontal distance from the hip joint line to the toe joint (the ankle sits under
        the hip)."""
        return self.foot(LEFT) * np.cos(FOOT_PITCH) + self.offset("left_hip")[2]

    def shoulder_height(self) -> float:
        """Shoulder joint above the pelvis joint in the neutral pose."""
        chain = sum(self.offset(n)[1] for n in ("spine1", "spine2", "spine3", "left_collar", "left_shoulder"))
        return float(chain)

    def summary(self) -> dict:
        """The proportions recorded in the labels."""
        return {
            "height_m": round(self.height, 3),
            "leg_length_m": round(0.5 * (self.leg(LEFT) + self.leg(RIGHT)), 3),
            "arm_length_m": round(0.5 * (self.arm(LEFT) + self.arm(RIGHT)), 3),
            "shoulder_width_m": round(float(2 * (self.offset("left_collar")[0] + self.offset("left_shoulder")[0])), 3),
            "hip_width_m": round(float(self.hip_width()), 3),
            "torso_length_m": round(float(sum(self.lengths[i] for i in TORSO_BONES)), 3),
            "scale": {k: round(float(v), 4) for k, v in self.factors.items()},
        }


def _height_of(lengths: np.ndarray) -> float:
    """Standing height (floor to crown) of a body with these bone lengths."""
    body = Body(lengths, 0.0, {"leg": 1.0})
    head = body.stand_height() + sum(body.offset(n)[1] for n in ("spine1", "spine2", "spine3", "neck", "head"))
    return float(head + CROWN_ABOVE_HEAD * lengths[J["head"]] / REFERENCE_BONE_LENGTHS[J["head"]])


REFERENCE_HEIGHT = _height_of(REFERENCE_BONE_LENGTHS)


def make_body(height: float, leg: float = 0.0, arm: float = 0.0, width: float = 0.0) -> Body:
    """A body `height` metres tall; `leg`, `arm`, `width` are relative deviations of the leg length,
    arm length and shoulder width from the reference proportions (e.g. +0.04 = 4 % longer legs). The
    torso absorbs the difference so that the height is exact."""
    s = height / REFERENCE_HEIGHT
    factors = np.ones(NUM_JOINTS)
    factors[list(LEG_BONES)] = s * (1 + leg)
    factors[list(ARM_BONES)] = s * (1 + arm)
    factors[list(WIDTH_BONES)] = s * (1 + width)
    # Height is linear in the torso factor: solve for it.
    factors[list(TORSO_BONES)] = s
    h1 = _height_of(REFERENCE_BONE_LENGTHS * factors)
    factors[list(TORSO_BONES)] = 2 * s
    h2 = _height_of(REFERENCE_BONE_LENGTHS * factors)
    torso = s + s * (height - h1) / (h2 - h1)
    factors[list(TORSO_BONES)] = torso
    lengths = REFERENCE_BONE_LENGTHS * factors
    named = {"overall": s, "leg": s * (1 + leg), "arm": s * (1 + arm), "width": s * (1 + width), "torso": torso}
    return Body(lengths, float(height), named)


def sample_body(rng: np.random.Generator) -> Body:
    """A random adult: height uniform in 1.5-1.95 m, limb proportions within a few percent."""
    height = rng.uniform(*HEIGHT_RANGE)
    return make_body(height, leg=rng.uniform(-0.04, 0.04), arm=rng.uniform(-0.05, 0.05),
                     width=rng.uniform(-0.06, 0.06))
