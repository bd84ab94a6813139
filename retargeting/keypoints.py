"""Human motion -> IK targets in the robot's world: pure functions over numpy arrays.

    human (T, 22, 3), Y up, fps  ->  at the robot's control rate:
        positions (N, K, 3) and orientations (N, K, 3, 3) for the profile's K keypoints,
        foot contacts (N, F)

Steps: resample in time (shape-preserving cubic, so feet never dip below where the human put them);
turn the axes (human Y up / +Z forward / +X left -> robot Z up / +X forward / +Y left); scale the
body by robot leg / human leg, except the bones of the profile's limbs (arms, spine), which get their
own robot / human length ratio; lift so that a human ankle at standing height becomes a robot ankle
with its sole on the ground; pin each foot's position while the human foot is in contact (low and slow),
so the stance foot cannot slide, and let its heading follow the human's (low-passed), so it turns as the
human pivots on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionllm.motion.skeleton import JOINT_INDEX, PARENTS
from motionllm.retargeting.profile import ContactRule, RobotProfile

UP = np.array([0.0, 0.0, 1.0])
BLEND_SECONDS = 0.1  # a foot eases into and out of its pinned position over this long
MIN_SWING_SECONDS = 0.2  # a shorter gap between two contacts is not a step (a walking step's swing: ~0.4 s)...
STANCE_FRACTION = 0.8  # the knees' and ankles' targets stay at least this much of the robot's own stance apart
MAX_SHUFFLE = 0.03  # m (human) ... if the foot lands within this of where it left (else the two pins differ)
HEADING_SMOOTHING = 0.3  # s (Gaussian sigma): a foot's heading follows the human's, low-passed


@dataclass(frozen=True)
class Proportions:
    """The robot's sizes the targets need (measured once by `Robot.proportions`)."""

    body_length: float  # length of the profile's body_scale chain (m)
    limb_lengths: tuple[float, ...]  # one per profile limb (m)
    ankle_heights: tuple[float, ...]  # per foot: ankle frame above the flat sole (m)
    rest_rotations: np.ndarray  # (K, 3, 3) each keypoint frame's orientation at the neutral posture
    # (joint, m): how far apart sideways the robot's left and right knees and ankles stand at the neutral posture
    leg_separations: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class KeypointTargets:
    times: np.ndarray  # (N,) seconds
    positions: np.ndarray  # (N, K, 3) robot world
    rotations: np.ndarray  # (N, K, 3, 3) robot world (meaningful where orientation_cost > 0)
    contacts: np.ndarray  # (N, F) bool, one column per profile foot
    scale: float  # body scale robot / human
    human: np.ndarray  # (N, 22, 3) the resampled human, still Y up and unscaled (after any adaptation)
    adaptations: tuple[str, ...] = ()  # what adapt_to_capabilities changed, one line each


def to_robot_axes(points: np.ndarray) -> np.ndarray:
    """Human Y-up (x left, y up, z forward) -> robot Z-up (x forward, y left, z up); a rotation."""
    return points[..., [2, 0, 1]]


def resample(joints: np.ndarray, fps: float, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Times (N,) at `rate` over the clip's duration and the joints (N, 22, 3) there.

    PCHIP (monotone cubic) is smooth like a spline but never overshoots between samples, so a foot
    resting on the floor stays on it."""
    from scipy.interpolate import PchipInterpolator

    duration = (len(joints) - 1) / fps
    times = np.arange(int(np.floor(duration * rate + 1e-6)) + 1) / rate
    source_times = np.arange(len(joints)) / fps
    return times, PchipInterpolator(source_times, joints, axis=0)(times)


def chain_length(joints: np.ndarray, names) -> float:
    """Mean over frames of the summed bone lengths along a chain of SMPL joints (m)."""
    p = joints[:, [JOINT_INDEX[n] for n in names]]
    return float(np.linalg.norm(np.diff(p, axis=1), axis=-1).sum(axis=1).mean())


def standing_ankle_height(joints: np.ndarray, ankles) -> float:
    """The clip's ankle height when standing: a low percentile of the lower ankle's height (Y up)."""
    heights = joints[:, [JOINT_INDEX[a] for a in ankles], 1].min(axis=1)
    return float(np.percentile(heights, 5))


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def detect_contacts(ankle: np.ndarray, rate: float, rest_height: float, rule: ContactRule) -> np.ndarray:
    """(N,) bool: the ankle (N, 3, Y up, human metres) is low and slow, for at least rule.min_duration."""
    speed = np.linalg.norm(np.gradient(ankle, 1.0 / rate, axis=0), axis=-1) if len(ankle) > 1 else np.zeros(1)
    if len(speed) > 2:  # the ends' one-sided differences pick up the decoder's first-frame jitter: a foot
        speed[0], speed[-1] = speed[1], speed[-2]  # planted from the start was left unpinned and unbalanced
    low = ankle[:, 1] - rest_height <= rule.max_height
    contact = low & (speed <= rule.max_speed)
    # A foot that stays low but moves for less than MIN_SWING_SECONDS before a contact stays in contact: it
    # shuffles in place, it does not step, and the robot would put its weight on the other foot meanwhile (a squat's 0.1 s
    # shuffle put the centre of mass 4 cm outside TALOS's other foot). At the start too: the robot starts
    # standing (G1: 3 cm outside at frame 0). A foot that lifts or lands elsewhere is let go (held, CMU's
    # playground steps were dragged 2-4 cm).
    shortest_swing = max(1, int(round(MIN_SWING_SECONDS * rate)))
    for start, stop in runs(~contact):
        before = ankle[max(start - 1, 0), [0, 2]]
        if (stop - start < shortest_swing and stop < len(contact) and low[start:stop].all()
                and np.linalg.norm(ankle[stop, [0, 2]] - before) <= MAX_SHUFFLE):
            contact[start:stop] = True
    shortest = max(1, int(round(rule.min_duration * rate)))
    for start, stop in runs(contact):
        if stop - start < shortest:
            contact[start:stop] = False
    return contact


def contact_weight(contact: np.ndarray, before: int, after: int) -> np.ndarray:
    """(N,) 1 during contact, rising linearly from 0 over the `before` frames ahead of each contact and
    falling to 0 over the `after` frames behind it; 0 far from any."""
    n = len(contact)
    weight = contact.astype(float)
    for start, stop in runs(contact):
        for step in range(1, max(before, after) + 1):
            if step <= before and start - step >= 0:
                weight[start - step] = max(weight[start - step], 1.0 - step / (before + 1))
            if step <= after and stop - 1 + step < n:
                weight[stop - 1 + step] = max(weight[stop - 1 + step], 1.0 - step / (after + 1))
    return weight


def pin_during_contact(values: np.ndarray, contact: np.ndarray, blend: int,
                       pinned_z: float | None = None) -> np.ndarray:
    """Hold `values` (N, D) at their mean during each contact run (z at `pinned_z` if given), easing in
    and out over `blend` frames on each side, so the target never jumps."""
    correction = np.zeros_like(values)
    weight = np.zeros(len(values))
    for start, stop in runs(contact):
        pinned = values[start:stop].mean(axis=0)
        if pinned_z is not None:
            pinned[2] = pinned_z
        correction[start:stop] = pinned - values[start:stop]
        weight[start:stop] = 1.0
    for start, stop in runs(contact):
        for step in range(1, blend + 1):
            w = 1.0 - step / (blend + 1)
            for frame, edge in ((start - step, start), (stop - 1 + step, stop - 1)):
                if 0 <= frame < len(values) and w > weight[frame]:
                    weight[frame] = w  # the nearer run wins where two runs' blends overlap
                    correction[frame] = w * correction[edge]
    return values + correction


def frame_from_left_up(left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) with columns (forward, left, up): `left` kept exactly, `up` made orthogonal."""
    y = left / np.linalg.norm(left, axis=-1, keepdims=True)
    z = up - (up * y).sum(-1, keepdims=True) * y
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    return np.stack([np.cross(y, z), y, z], axis=-1)


def flat_frame(forward: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) of a flat sole heading along the horizontal part of `forward` (N, 3)."""
    x = forward * np.array([1.0, 1.0, 0.0])
    x /= np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)
    z = np.broadcast_to(UP, x.shape)
    return np.stack([x, np.cross(z, x), z], axis=-1)


ORIENTED = ("pelvis", "spine3", "left_ankle", "right_ankle")  # the joints human_orientations gives


def foot_heading(rotations: np.ndarray, rest_rotation: np.ndarray) -> np.ndarray:
    """(N, 3) the heading of a foot keypoint's target rotations (N, 3, 3) (the flat_frame it was made from)."""
    return (rotations @ rest_rotation.T)[:, :, 0]


def human_orientations(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Body-part orientations (N, 3, 3) derivable from robot-axes joint positions (N, 22, 3)."""
    j = {name: joints[:, i] for name, i in JOINT_INDEX.items()}
    return {
        "pelvis": frame_from_left_up(j["left_hip"] - j["right_hip"], j["spine3"] - j["pelvis"]),
        "spine3": frame_from_left_up(j["left_shoulder"] - j["right_shoulder"], j["neck"] - j["spine1"]),
        "left_ankle": flat_frame(j["left_foot"] - j["left_ankle"]),
        "right_ankle": flat_frame(j["right_foot"] - j["right_ankle"]),
    }


def limb_directions(human: np.ndarray, directions) -> np.ndarray:
    """Unit vectors (N, D, 3) in robot axes along the human bones (N, 22, 3, Y up) of the profile's
    `directions` (each from its first joint to its second)."""
    joints = to_robot_axes(human)
    bones = np.stack([joints[:, JOINT_INDEX[d.human[1]]] - joints[:, JOINT_INDEX[d.human[0]]] for d in directions],
                     axis=1) if directions else np.zeros((len(human), 0, 3))
    return bones / np.maximum(np.linalg.norm(bones, axis=-1, keepdims=True), 1e-9)


@dataclass(frozen=True)
class Calibration:
    """How one human's body maps onto the robot's: measured on a whole clip, or on the first second of a live
    body (streaming.py) and then kept, so the targets do not breathe with the person's pose."""

    scale: float  # body scale: robot / human length of the profile's body_scale chain (the legs)
    bone_scale: np.ndarray  # (22,) per bone (indexed by its child joint): its limb's ratio, else `scale`
    rest_height: float  # the human's standing ankle height (m, Y up)


def calibrate(human: np.ndarray, profile: RobotProfile, proportions: Proportions) -> Calibration:
    """The calibration of a human motion (N, 22, 3), Y up."""
    scale = proportions.body_length / chain_length(human, profile.body_scale.human)
    bone_scale = np.full(len(PARENTS), scale)
    for limb, length in zip(profile.limbs, proportions.limb_lengths):
        bone_scale[list(limb.bones)] = length / chain_length(human, limb.human)
    ankles = [foot.ankle for foot in profile.feet]
    rest = standing_ankle_height(human, ankles) if ankles else 0.0
    return Calibration(scale=scale, bone_scale=bone_scale, rest_height=rest)


def scaled_keypoints(joints: np.ndarray, calibration: Calibration) -> np.ndarray:
    """All 22 joints (N, 22, 3) in robot axes, rebuilt bone by bone from the root with each bone scaled:
    by its limb's robot / human length if it lies on a profile limb, otherwise by the body scale
    (robot / human leg). Legs use the body scale, so a foot the human holds still stays still (its
    position is exactly the body scale times the human's)."""
    human = to_robot_axes(joints)
    scaled = np.empty_like(human)
    scaled[:, 0] = calibration.scale * human[:, 0]
    for joint in range(1, len(PARENTS)):  # SMPL order lists parents before children
        parent = PARENTS[joint]
        scaled[:, joint] = scaled[:, parent] + calibration.bone_scale[joint] * (human[:, joint] - human[:, parent])
    return scaled


def body_targets(human: np.ndarray, profile: RobotProfile, proportions: Proportions,
                 calibration: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """Keypoint positions (N, K, 3) and rotations (N, K, 3, 3), robot world, for a human (N, 22, 3, Y up)
    frame by frame: scaled, lifted so that a standing human ankle is a robot ankle with its sole on the
    floor, soles never aimed below it; the feet not yet pinned, their headings the human's, unsmoothed."""
    scaled = scaled_keypoints(human, calibration)
    robot_rest = float(np.mean(proportions.ankle_heights)) if profile.feet else 0.0
    scaled[..., 2] += robot_rest - calibration.scale * calibration.rest_height
    orientations = human_orientations(to_robot_axes(human))
    n, k = len(human), len(profile.keypoints)
    positions = np.empty((n, k, 3))
    rotations = np.broadcast_to(np.eye(3), (n, k, 3, 3)).copy()
    for index, keypoint in enumerate(profile.keypoints):
        positions[:, index] = scaled[:, JOINT_INDEX[keypoint.human]]
        if keypoint.human in orientations:
            rotations[:, index] = orientations[keypoint.human] @ proportions.rest_rotations[index]
    names = [kp.human for kp in profile.keypoints]
    keep_legs_apart(positions, names, scaled, proportions.leg_separations)
    for foot, ankle_height in zip(profile.feet, proportions.ankle_heights):
        ankle = positions[:, names.index(foot.ankle)]
        ankle[:, 2] = np.maximum(ankle[:, 2], ankle_height)
    return positions, rotations


def keep_legs_apart(positions: np.ndarray, names: list[str], scaled: np.ndarray,
                    separations: tuple[tuple[str, float], ...], fraction: float = STANCE_FRACTION) -> None:
    """Push each pair of left/right knee and ankle targets (in `positions` (N, K, 3), in place) apart sideways
    until they are `fraction` of the robot's own separation apart; the body's sideways axis is the scaled human's
    hips' (`scaled` (N, 22, 3), robot axes, Z up). People walk with their knees and feet closer than a
    humanoid's legs can come: on CMU's walks the IK kept G1's leg hulls 1 cm apart by turning its ankles at up to
    27 rad/s (40 frames in 1000 over 10 rad/s). With the targets this far apart: 3.4, and the legs follow the
    human's better (limb error 7.7 -> 6.9 degrees; benchmarks/retarget_fidelity.py)."""
    if not separations:
        return
    lateral = scaled[:, JOINT_INDEX["left_hip"]] - scaled[:, JOINT_INDEX["right_hip"]]
    lateral[:, 2] = 0.0
    lateral /= np.maximum(np.linalg.norm(lateral, axis=1, keepdims=True), 1e-9)
    for joint, separation in separations:
        left, right = names.index(f"left_{joint}"), names.index(f"right_{joint}")
        gap = np.einsum("ni,ni->n", positions[:, left] - positions[:, right], lateral)
        push = 0.5 * np.maximum(fraction * separation - gap, 0.0)[:, None] * lateral
        positions[:, left] += push
        positions[:, right] -= push


FOOT_CHAINS = {"left": ("left_ankle", "left_foot"), "right": ("right_ankle", "right_foot")}
LEG_JOINTS = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_foot",
              "right_foot")
JUMP_SYNC_SECONDS = 0.2  # both feet leave (and land) within this long of each other: a jump, not a stride
MAX_SQUAT = 0.25  # m (human): the deepest dip a jump's rise is turned into


def foot_contacts(human: np.ndarray, rate: float, profile: RobotProfile) -> np.ndarray:
    """(N, F) human foot contacts at the control rate, one column per profile foot (ankles low and slow
    relative to the clip's standing ankle height)."""
    ankles = [foot.ankle for foot in profile.feet]
    rest = standing_ankle_height(human, ankles) if ankles else 0.0
    columns = [detect_contacts(human[:, JOINT_INDEX[a]], rate, rest, profile.contact) for a in ankles]
    return np.stack(columns, axis=1) if columns else np.zeros((len(human), 0), dtype=bool)


def jumps(contacts: np.ndarray, rate: float) -> list[tuple[int, int]]:
    """[takeoff, landing) frames of each jump: a flight phase (no foot in contact) that both feet enter
    within JUMP_SYNC_SECONDS of each other. A stride's flight phase (running: one foot leaves well before
    the other lands) is not a jump; takeoff is the first foot's lift-off, landing the last foot's touch-down."""
    sync = JUMP_SYNC_SECONDS * rate
    out = []
    for start, stop in runs(~contacts.any(axis=1)):
        if start == 0 or stop == len(contacts):
            continue  # a clip that starts or ends in the air: nothing to stand on either side
        lift_offs, landings = [], []
        for foot in contacts.T:
            before, after = np.flatnonzero(foot[:start]), np.flatnonzero(foot[stop:])
            lift_offs.append(before[-1] + 1 if len(before) else 0)
            landings.append(stop + after[0] if len(after) else len(contacts))
        if start - min(lift_offs) <= sync and max(landings) - stop <= sync:
            out.append((min(lift_offs), max(landings)))
    return out


def squat_in_place(human: np.ndarray, takeoff: int, landing: int) -> np.ndarray:
    """The human (N, 22, 3), Y up, with the jump [takeoff, landing) done in place: the feet stay where they
    took off, the body does not travel (the rest of the clip moves back by the distance jumped) and its rise
    becomes a dip of the same depth (at most MAX_SQUAT): a squat-and-rise."""
    out = human.copy()
    pelvis = human[:, JOINT_INDEX["pelvis"]]
    travel = np.zeros((len(human), 3))
    travel[takeoff:landing, [0, 2]] = pelvis[takeoff:landing, [0, 2]] - pelvis[takeoff, [0, 2]]
    landed = min(landing, len(human) - 1)  # a clip may end before the last foot is down again
    travel[landing:, [0, 2]] = pelvis[landed, [0, 2]] - pelvis[takeoff, [0, 2]]
    rise = np.clip(pelvis[takeoff:landing, 1] - pelvis[takeoff, 1], 0.0, MAX_SQUAT / 2)
    body = np.ones(len(PARENTS), dtype=bool)
    for chain in FOOT_CHAINS.values():
        body[[JOINT_INDEX[j] for j in chain]] = False
    out -= travel[:, None]
    out[takeoff:landing, body, 1] -= 2 * rise[:, None]
    for chain in FOOT_CHAINS.values():
        index = [JOINT_INDEX[j] for j in chain]
        out[takeoff:landing, index] = human[takeoff - 1 if takeoff else 0, index]
    return out


def held_in_place(human: np.ndarray, upper_body_only: bool, reference: np.ndarray | None = None) -> np.ndarray:
    """The human (N, 22, 3) with its pelvis kept over where it starts (feet where they stand); with
    `upper_body_only` also the legs and the pelvis height of the clip's most upright frame, every frame.
    `reference` (22, 3): the frame to keep instead of both (streaming: one from the calibration)."""
    pelvis = JOINT_INDEX["pelvis"]
    origin = human[0] if reference is None else reference
    out = human.copy()
    out[..., [0, 2]] -= human[:, pelvis:pelvis + 1, [0, 2]] - origin[pelvis, [0, 2]]
    if upper_body_only:
        upright = human[int(np.argmax(human[:, pelvis, 1]))] if reference is None else reference
        legs = [JOINT_INDEX[j] for j in LEG_JOINTS]
        out[..., 1] += (upright[pelvis, 1] - out[:, pelvis, 1])[:, None]
        shift = np.zeros(3)
        shift[[0, 2]] = origin[pelvis, [0, 2]] - upright[pelvis, [0, 2]]
        out[:, legs] = upright[legs] + shift  # the pelvis is over the same spot in every frame now
    return out


def adapt_to_capabilities(human: np.ndarray, rate: float, profile: RobotProfile) -> tuple[np.ndarray, list[str]]:
    """The human motion (N, 22, 3) at the control rate changed to what the robot may do, and one line per
    change: jumps done as a squat-and-rise in place (capabilities.jump = adapt; 'never' leaves them, and the
    feasibility check refuses the flight phase), no travel for a robot that may not walk, legs held for an
    upper-body-only robot."""
    capabilities = profile.capabilities
    notes = []
    if capabilities.in_place:
        human = held_in_place(human, capabilities.upper_body_only)
        notes.append("upper body only: legs and base held still" if capabilities.upper_body_only
                     else "this robot may not walk: the motion is done in place, feet where they stand")
    elif capabilities.jump == "adapt" and profile.feet:
        for takeoff, landing in jumps(foot_contacts(human, rate, profile), rate):
            human = squat_in_place(human, takeoff, landing)
            notes.append(f"jump at {takeoff / rate:.2f}-{landing / rate:.2f} s: a squat-and-rise in place "
                         "(no flight phase)")
    return human, notes


def keypoint_targets(joints: np.ndarray, fps: float, profile: RobotProfile,
                     proportions: Proportions) -> KeypointTargets:
    """IK targets at the profile's control rate for a human motion (T, 22, 3), metres, Y up."""
    from scipy.ndimage import gaussian_filter1d

    rate = profile.control_rate
    times, human = resample(np.asarray(joints, dtype=np.float64), fps, rate)
    human, adaptations = adapt_to_capabilities(human, rate, profile)
    calibration = calibrate(human, profile, proportions)
    positions, rotations = body_targets(human, profile, proportions, calibration)

    blend = int(round(BLEND_SECONDS * rate))
    contacts = foot_contacts(human, rate, profile)
    if profile.capabilities.in_place:
        contacts[:] = True  # the feet stay where they stand
    names = [kp.human for kp in profile.keypoints]
    for f, (foot, ankle_height) in enumerate(zip(profile.feet, proportions.ankle_heights)):
        index = names.index(foot.ankle)
        positions[:, index] = pin_during_contact(positions[:, index], contacts[:, f], blend, pinned_z=ankle_height)
        if foot.ankle in ORIENTED:
            # the heading is not pinned: a foot held at one heading while the human pivots on it twisted the
            # hip yaw, which snapped back at lift-off (LaFAN1: 30 frames per 1000 over 10 rad/s)
            rest = proportions.rest_rotations[index]
            heading = gaussian_filter1d(foot_heading(rotations[:, index], rest), HEADING_SMOOTHING * rate, axis=0,
                                        mode="nearest")
            rotations[:, index] = flat_frame(heading) @ rest
    return KeypointTargets(times=times, positions=positions, rotations=rotations, contacts=contacts,
                           scale=calibration.scale, human=human, adaptations=tuple(adaptations))
