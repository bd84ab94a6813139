"""Projecting a motion onto a body: what every generated or predicted motion goes through before anyone sees it.

A decoder emits joint positions that no body could make: bones change length from frame to frame (about 5 cm),
feet sink into the floor and slide while planted. `project_to_body` mends the three, in this order:
  1. bones: each joint is put at its bone's length from its (already placed) parent, along the decoded bone's
     direction, so the pose is kept and the lengths are one body's in every frame;
  2. feet: while a foot is in contact (low and nearly still, as `corpus --validate` measures it) its x/z stays
     where it was the frame before; after lift-off the offset this built up fades out over a few frames. A foot
     below the floor is raised onto it. The foot moves rigidly and the knee is solved again (two-bone IK in the
     leg's own bending plane), so the leg keeps its lengths;
  3. floor: a frame whose lowest joint is still below the floor is raised, and (`settle`) a clip that floats is
     lowered until its lowest joint touches the floor (HumanML3D's convention). Ground is y = 0.
Plain numpy over (T, 22, 3) arrays: a few milliseconds for a 10 s clip.
"""
from __future__ import annotations

import numpy as np

from motionllm.motion.canonical import check_joints
from motionllm.motion.features import FOOT_CONTACT_THRESHOLD
from motionllm.motion.skeleton import (
    FPS,
    JOINT_INDEX,
    JOINT_NAMES,
    PARENTS,
    REST_DIRECTIONS,
    Skeleton,
    bone_lengths,
    facing_directions,
)

# A foot joint is in contact when it is below this height (m) and moves slower than CONTACT_SPEED: the
# definition `corpus --validate` measures sliding with (HumanML3D's contact threshold, per frame squared, at 20 fps).
CONTACT_HEIGHTS = {"left_ankle": 0.10, "right_ankle": 0.10, "left_foot": 0.05, "right_foot": 0.05}
CONTACT_SPEED = float(np.sqrt(FOOT_CONTACT_THRESHOLD) * FPS)  # m/s
# Per frame after lift-off, the share of the held-foot offset that remains (gone to 1 % in 7 frames, 0.35 s).
RELEASE = 0.5
# A foot that the decoder moves further than this while "in contact" is stepping, not planted (a slow side step
# stays low and slow): it is let go for the rest of that contact.
MAX_HOLD = 0.10  # m
LEGS = {side: tuple(JOINT_INDEX[f"{side}_{part}"] for part in ("hip", "knee", "ankle", "foot"))
        for side in ("left", "right")}


def project_to_body(joints: np.ndarray, skeleton: Skeleton | None = None, settle: bool = True) -> np.ndarray:
    """`joints` (T, 22, 3) made a body's motion: constant bone lengths (the skeleton's; by default the median
    of the clip's own), planted feet that stay planted, nothing below the floor. float32, same shape.
    settle=False leaves a clip above the floor where it is (a piece joined to given frames)."""
    joints = check_joints(joints).astype(np.float64)
    lengths = skeleton.bone_lengths if skeleton is not None else np.median(bone_lengths(joints), axis=0)
    body = with_bone_lengths(joints, lengths)
    for leg in LEGS.values():
        body = _hold_foot(body, leg)
    lowest = body[..., 1].min(axis=1)
    body[..., 1] -= np.minimum(lowest, 0.0)[:, None]  # frames still below the floor (a hand, a knee)
    if settle:
        body[..., 1] -= body[..., 1].min()
    return body.astype(np.float32)


def with_bone_lengths(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each bone given length lengths[j] along its direction in `joints`, walking out from the root (which stays).
    A bone of zero length in `joints` takes its rest direction."""
    vectors = joints - joints[:, [max(p, 0) for p in PARENTS]]  # the root's is zero
    current = np.linalg.norm(vectors, axis=-1)
    directions = np.where(current[..., None] > 1e-9, vectors / np.maximum(current, 1e-9)[..., None], REST_DIRECTIONS)
    out = joints.copy()
    for j in range(1, len(PARENTS)):  # parents come before their children
        out[:, j] = out[:, PARENTS[j]] + directions[:, j] * lengths[j]
    return out


def foot_contact(joints: np.ndarray, joint: int, height: float) -> np.ndarray:
    """(T,) whether joint `joint` is in contact in each frame (below `height`, slower than CONTACT_SPEED
    between the frame and the one before; frame 0 takes frame 1's speed)."""
    speed = np.linalg.norm(np.diff(joints[:, joint, :][:, [0, 2]], axis=0), axis=-1) * FPS
    speed = np.concatenate([speed[:1], speed])
    return (joints[:, joint, 1] < height) & (speed < CONTACT_SPEED)


def _hold_foot(joints: np.ndarray, leg: tuple[int, int, int, int]) -> np.ndarray:
    hip, knee, ankle, toe = leg
    heel_down = foot_contact(joints, ankle, CONTACT_HEIGHTS[JOINT_NAMES[ankle]])
    toe_down = foot_contact(joints, toe, CONTACT_HEIGHTS[JOINT_NAMES[toe]])
    shift = np.zeros((len(joints), 3))
    offset, stepping = np.zeros(3), False
    for t in range(1, len(joints)):
        down = heel_down[t] or toe_down[t]
        stepping = stepping and down
        if down and (heel_down[t - 1] or toe_down[t - 1]) and not stepping:
            held = toe if toe_down[t] else ankle  # the toe while the heel rolls off
            step = joints[t, held] - joints[t - 1, held]
            offset = offset - np.array([step[0], 0.0, step[2]])
            stepping = bool(np.linalg.norm(offset) > MAX_HOLD)
        if not down or stepping:
            offset = offset * RELEASE
        shift[t] = offset
    shift[:, 1] = np.maximum(0.0, -np.minimum(joints[:, ankle, 1], joints[:, toe, 1]))
    if not np.any(shift):
        return joints
    out = joints.copy()
    target = joints[:, ankle] + shift
    thigh = np.linalg.norm(joints[:, knee] - joints[:, hip], axis=-1)
    shin = np.linalg.norm(joints[:, ankle] - joints[:, knee], axis=-1)
    out[:, knee], reached = _two_bone_ik(joints[:, hip], joints[:, knee], target, thigh, shin,
                                         facing_directions(joints))
    out[:, ankle] = reached
    out[:, toe] = joints[:, toe] + (reached - joints[:, ankle])
    return out


def _two_bone_ik(root: np.ndarray, middle: np.ndarray, target: np.ndarray, upper: np.ndarray, lower: np.ndarray,
                 forward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the middle joint and end point of a two-bone chain from `root` reaching for `target`, the
    middle joint kept in the plane of root, target and the given middle (`forward` where the chain is straight).
    A target out of reach is approached along the same line. Returns (middle, end), each (T, 3)."""
    to_target = target - root
    distance = np.linalg.norm(to_target, axis=-1)
    axis = to_target / np.maximum(distance, 1e-9)[:, None]
    reach = np.clip(distance, np.abs(upper - lower) + 1e-6, (upper + lower) * (1 - 1e-6))
    end = root + axis * reach[:, None]
    pole = middle - root
    pole = pole - (pole * axis).sum(-1, keepdims=True) * axis
    straight = np.linalg.norm(pole, axis=-1) < 1e-6
    pole[straight] = forward[straight] - (forward[straight] * axis[straight]).sum(-1, keepdims=True) * axis[straight]
    pole /= np.maximum(np.linalg.norm(pole, axis=-1), 1e-9)[:, None]
    along = (upper**2 - lower**2 + reach**2) / (2 * reach)
    across = np.sqrt(np.maximum(upper**2 - along**2, 0.0))
    return root + axis * along[:, None] + pole * across[:, None], end
