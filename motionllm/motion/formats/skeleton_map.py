"""Picking the 22 SMPL joints out of another skeleton's bones (BVH, ASF/AMC).

A source skeleton is given as its bones: name -> (start, end) world positions over time, each (T, 3).
A bone ends at the joint it is named after (BVH convention: bone "LeftLeg" runs from LeftUpLeg to
LeftLeg); the root bone has start == end; a BVH End Site is the bone "<joint>/end".

Each SMPL joint is a `BonePoint` (bone, t): the point start + t * (end - start). t = 1 is the joint
itself; t < 1 places an SMPL joint the source skeleton lacks (SMPL's three spine joints, the collars)
on a source bone. A point on a bone is rigid in that bone's frame, so when an SMPL bone joins two points
on the same source bone, or a point and a joint of the same rigid link, its length stays constant.

Names are compared normalised (`normalize_name`): namespace prefixes such as "mixamorig:" dropped, lower
case, separators removed, so "mixamorig:LeftUpLeg", "Left_Up_Leg" and "leftupleg" are the same name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.skeleton import JOINT_NAMES, NUM_JOINTS

Bones = dict[str, tuple[np.ndarray, np.ndarray]]
BonePoint = tuple[str, float]

# Where SMPL's spine joints sit between the pelvis and the neck, as fractions of the path length,
# from the reference body's bones (pelvis-spine1 0.13 m, -spine2 0.14, -spine3 0.06, -neck 0.22).
SMPL_SPINE_FRACTIONS = (0.24, 0.50, 0.60)
# A bone shorter than this fraction of the skeleton's longest bone counts as zero length (an alias of
# its parent joint, like CMU's LowerBack or LHipJoint).
ZERO_LENGTH_FRACTION = 1e-3


def normalize_name(name: str) -> str:
    """'mixamorig:Left_Up.Leg' -> 'leftupleg'; an End Site keeps its '/end' suffix."""
    base, slash, rest = name.partition("/")
    base = base.rsplit(":", 1)[-1].lower()
    base = re.sub(r"[\s_.\-]", "", base)
    base = re.sub(r"^mixamorig\d*", "", base)
    return base + slash + rest


@dataclass(frozen=True)
class SkeletonFamily:
    """A naming convention: for each SMPL joint, candidate bone points in order of preference.

    Joints left out of `points` (the spine, when `spine_from_chain`) are placed along the bones between
    the pelvis and the neck by `spine_points`.
    """

    name: str
    points: dict[str, tuple[BonePoint, ...]]
    spine_from_chain: bool = False


def _sides(template: dict[str, tuple[BonePoint, ...]]) -> dict[str, tuple[BonePoint, ...]]:
    """Expand '{side}' joint names and '{s}'/'{S}'/'{Side}' bone names into left and right entries;
    normalise every bone name."""
    out = {}
    for joint, candidates in template.items():
        if "{side}" not in joint:
            out[joint] = tuple((normalize_name(bone), t) for bone, t in candidates)
            continue
        for side, s, big_s in (("left", "l", "L"), ("right", "r", "R")):
            out[joint.format(side=side)] = tuple(
                (normalize_name(bone.format(s=s, S=big_s, Side=side.capitalize(), side=side)), t)
                for bone, t in candidates
            )
    return out


# LaFAN1 (Ubisoft), Mixamo, CMU BVH (cgspeed), MotionBuilder/HumanIK-style names.
HIPS_FAMILY = SkeletonFamily(
    "Hips/LeftUpLeg (LaFAN1, Mixamo, CMU BVH)",
    _sides({
        "pelvis": (("hips", 1.0),),
        "{side}_hip": (("{Side}UpLeg", 1.0),),
        "{side}_knee": (("{Side}Leg", 1.0),),
        "{side}_ankle": (("{Side}Foot", 1.0),),
        # The ball of the foot: the toe joint when there is one, else most of the way to the foot's end.
        "{side}_foot": (("{Side}ToeBase", 1.0), ("{Side}Toe", 1.0), ("{Side}Foot/end", 0.7)),
        "neck": (("Neck", 1.0),),
        "head": (("Head", 1.0),),
        # The clavicle's inner joint (LaFAN1, Mixamo); where that coincides with the spine joint (CMU),
        # half-way along the clavicle, the bone ending at the upper arm.
        "{side}_collar": (("{Side}Shoulder", 1.0), ("{Side}Arm", 0.5)),
        "{side}_shoulder": (("{Side}Arm", 1.0),),
        "{side}_elbow": (("{Side}ForeArm", 1.0),),
        "{side}_wrist": (("{Side}Hand", 1.0),),
    }),
    spine_from_chain=True,
)

# Files that already use SMPL's joint names (ours, SMPL-to-BVH exporters): L_Hip or left_hip style.
SMPL_FAMILY = SkeletonFamily(
    "SMPL joint names",
    _sides({
        "{side}_hip": (("{side}_hip", 1.0), ("{S}_Hip", 1.0)),
        "{side}_knee": (("{side}_knee", 1.0), ("{S}_Knee", 1.0)),
        "{side}_ankle": (("{side}_ankle", 1.0), ("{S}_Ankle", 1.0)),
        "{side}_foot": (("{side}_foot", 1.0), ("{S}_Foot", 1.0)),
        "{side}_collar": (("{side}_collar", 1.0), ("{S}_Collar", 1.0)),
        "{side}_shoulder": (("{side}_shoulder", 1.0), ("{S}_Shoulder", 1.0)),
        "{side}_elbow": (("{side}_elbow", 1.0), ("{S}_Elbow", 1.0)),
        "{side}_wrist": (("{side}_wrist", 1.0), ("{S}_Wrist", 1.0)),
        "pelvis": (("pelvis", 1.0),),
        "spine1": (("spine1", 1.0),),
        "spine2": (("spine2", 1.0),),
        "spine3": (("spine3", 1.0),),
        "neck": (("neck", 1.0),),
        "head": (("head", 1.0),),
    }),
)

# Blender metarig-style names (thigh.L, shin.L, upper_arm.L), e.g. bvhTools' test3.bvh.
BLENDER_FAMILY = SkeletonFamily(
    "Blender metarig (thigh.L, upper_arm.L)",
    _sides({
        "pelvis": (("pelvis", 1.0), ("hips", 1.0)),
        "{side}_hip": (("thigh.{S}", 1.0),),
        "{side}_knee": (("shin.{S}", 1.0),),
        "{side}_ankle": (("foot.{S}", 1.0),),
        "{side}_foot": (("toe.{S}", 1.0), ("foot.{S}/end", 0.7)),
        "neck": (("neck", 1.0),),
        # SMPL's head joint is about 0.1 m above the neck: part-way up to a face/head joint.
        "head": (("head", 1.0), ("face", 0.6)),
        "{side}_collar": (("upper_arm.{S}", 0.5),),
        "{side}_shoulder": (("upper_arm.{S}", 1.0),),
        "{side}_elbow": (("forearm.{S}", 1.0),),
        "{side}_wrist": (("hand.{S}", 1.0), ("forearm.{S}/end", 1.0)),
    }),
    spine_from_chain=True,
)

# Bandai-Namco Research Motion datasets (UpperLeg_L, LowerArm_R; Shoulder_L is the clavicle's inner joint).
BANDAI_FAMILY = SkeletonFamily(
    "Bandai-Namco (UpperLeg_L, LowerArm_L)",
    _sides({
        "pelvis": (("Hips", 1.0),),
        "{side}_hip": (("UpperLeg_{S}", 1.0),),
        "{side}_knee": (("LowerLeg_{S}", 1.0),),
        "{side}_ankle": (("Foot_{S}", 1.0),),
        "{side}_foot": (("Toes_{S}", 1.0),),
        "neck": (("Neck", 1.0),),
        "head": (("Head", 1.0),),
        "{side}_collar": (("Shoulder_{S}", 1.0),),
        "{side}_shoulder": (("UpperArm_{S}", 1.0),),
        "{side}_elbow": (("LowerArm_{S}", 1.0),),
        "{side}_wrist": (("Hand_{S}", 1.0),),
    }),
    spine_from_chain=True,
)

FAMILIES = (SMPL_FAMILY, HIPS_FAMILY, BLENDER_FAMILY, BANDAI_FAMILY)


def bone_length(bones: Bones, name: str) -> float:
    start, end = bones[name]
    return float(np.linalg.norm(end - start, axis=-1).mean())


def is_zero_length(bones: Bones, name: str) -> bool:
    longest = max(bone_length(bones, b) for b in bones)
    return bone_length(bones, name) <= ZERO_LENGTH_FRACTION * longest


def resolve(family: SkeletonFamily, bones: Bones) -> dict[str, BonePoint] | None:
    """The first available candidate for each of the family's joints, or None if one has none.

    A zero-length bone's joint is only an alias of its parent, so it is passed over when a later
    candidate exists (CMU's LeftShoulder sits on the spine; its clavicle is the LeftArm bone)."""
    chosen = {}
    for joint, candidates in family.points.items():
        present = [c for c in candidates if c[0] in bones]
        if not present:
            return None
        chosen[joint] = next((c for c in present[:-1] if not is_zero_length(bones, c[0])), present[-1])
    return chosen


def chain_between(parents: dict[str, str | None], ancestor: str, descendant: str) -> list[str]:
    """Bones from `ancestor` (exclusive) down to `descendant` (inclusive), in order."""
    chain = [descendant]
    while chain[-1] != ancestor:
        parent = parents.get(chain[-1])
        if parent is None:
            raise MotionFormatError(f"skeleton: '{descendant}' is not below '{ancestor}' in the hierarchy")
        chain.append(parent)
    return chain[-2::-1]


def spine_points(bones: Bones, chain: list[str]) -> dict[str, BonePoint]:
    """Place spine1..3 on the bones from the pelvis up to the neck (`chain`, ending with the neck's bone).

    Real joints are used when there are enough of them (LaFAN1/Mixamo: Spine, Spine1, Spine2); missing
    ones go part-way along a bone, so every SMPL spine bone still has a constant length.
    """
    segments = [b for b in chain if not is_zero_length(bones, b)]
    if not segments:
        raise MotionFormatError("skeleton: the neck coincides with the pelvis")
    inner = segments[:-1]  # bones ending at a joint strictly between pelvis and neck
    if len(inner) >= 3:
        picks = [(inner[0], 1.0), (inner[1], 1.0), (inner[-1], 1.0)]
    elif len(inner) == 2:
        picks = [(inner[0], 1.0), (inner[1], 1.0), (segments[-1], 0.25)]
    elif len(inner) == 1:
        picks = [(inner[0], 0.5), (inner[0], 1.0), (segments[-1], 0.25)]
    else:
        picks = [(segments[0], f) for f in SMPL_SPINE_FRACTIONS]
    return dict(zip(("spine1", "spine2", "spine3"), picks))


def smpl_points(bones: Bones, parents: dict[str, str | None], what: str) -> dict[str, BonePoint]:
    """Choose a BonePoint for every SMPL joint, trying each known naming family in turn.

    `bones` and `parents` are keyed by normalised names. Raises MotionFormatError naming the skeleton's
    joints when no family fits.
    """
    for family in FAMILIES:
        chosen = resolve(family, bones)
        if chosen is None:
            continue
        if family.spine_from_chain:
            chosen.update(spine_points(bones, chain_between(parents, chosen["pelvis"][0], chosen["neck"][0])))
        return chosen
    names = ", ".join(sorted(b for b in bones if "/" not in b))
    raise MotionFormatError(
        f"{what}: cannot map this skeleton to SMPL-22 (known: SMPL names, Hips/LeftUpLeg as in LaFAN1, "
        f"Mixamo and CMU BVH, Blender thigh.L, Bandai-Namco UpperLeg_L); its joints are: {names}"
    )


def gather(bones: Bones, points: dict[str, BonePoint]) -> np.ndarray:
    """(T, 22, 3) positions of the chosen points, in SMPL-22 (T2M) order."""
    first = next(iter(bones.values()))[0]
    out = np.zeros((len(first), NUM_JOINTS, 3))
    for i, joint in enumerate(JOINT_NAMES):
        bone, t = points[joint]
        start, end = bones[bone]
        out[:, i] = start + t * (end - start)
    return out
