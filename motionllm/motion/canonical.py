"""Canonical motion: (T, 22, 3) float32 metres, Y up, 20 fps, on the floor, root at the XZ origin and
facing +Z at frame 0. Every reader ends here, every model starts here.
"""
from __future__ import annotations

import numpy as np

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.motion.quaternion import qbetween, qrot, quat_about_y
from motionllm.motion.skeleton import FPS, NUM_JOINTS, Skeleton, facing_directions


def check_joints(joints: np.ndarray, what: str = "motion") -> np.ndarray:
    """Validate a (T, 22, 3) joint array; return it as float64. Raises MotionFormatError."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise MotionFormatError(f"{what}: expected joints of shape (T, 22, 3), got {joints.shape}")
    if joints.shape[0] < 2:
        raise MotionFormatError(f"{what}: needs at least 2 frames, got {joints.shape[0]}")
    if not np.issubdtype(joints.dtype, np.number):
        raise MotionFormatError(f"{what}: joint array has non-numeric dtype {joints.dtype}")
    if not np.all(np.isfinite(joints)):
        bad = int((~np.isfinite(joints)).any(axis=(1, 2)).sum())
        raise MotionFormatError(f"{what}: {bad} frame(s) contain NaN or infinite joint coordinates")
    if leg_length(joints) < MIN_LEG_METRES:
        raise MotionFormatError(f"{what}: the legs have no length (every joint at one point, e.g. an all-zero "
                                "skeleton)")
    return joints.astype(np.float64)


MIN_LEG_METRES = 1e-3
PLAUSIBLE_HEIGHT_METRES = (0.5, 2.6)  # a small child to a very tall adult, also most humanoid robots
_LEG = ((1, 4), (4, 7), (2, 5), (5, 8))  # hip-knee, knee-ankle, each side (SMPL-22 indices)


def leg_length(joints: np.ndarray) -> float:
    """Median over frames of the mean hip-to-ankle length of the two legs, in the motion's units."""
    bones = [np.linalg.norm(joints[:, a] - joints[:, b], axis=-1) for a, b in _LEG]
    return float(np.median((bones[0] + bones[1] + bones[2] + bones[3]) / 2))


def implausible_size(joints: np.ndarray, what: str = "motion") -> str | None:
    """A warning when the person is not of human size in metres (mm or cm given as m, say); None if they are.
    Height is estimated from the legs (hip to ankle is about 0.47 of a standing adult's height)."""
    height = leg_length(np.asarray(joints, dtype=np.float64)) / 0.47
    low, high = PLAUSIBLE_HEIGHT_METRES
    if low <= height <= high:
        return None
    hint = ("millimetres or centimetres given as metres? (convert --units)" if height > high else
            "metres expected; feet or a scaled model? (convert --units)")
    return f"{what}: the person would be {height:.3g} m tall: {hint}"


def resample(joints: np.ndarray, src_fps: float, dst_fps: float = FPS) -> np.ndarray:
    """Linearly resample a motion in time (positions interpolate well at mocap rates)."""
    if src_fps <= 0 or dst_fps <= 0:
        raise MotionFormatError(f"frame rates must be positive, got {src_fps} -> {dst_fps}")
    if abs(src_fps - dst_fps) < 1e-9:
        return joints.copy()
    duration = (len(joints) - 1) / src_fps
    n_out = max(int(np.floor(duration * dst_fps + 1e-6)) + 1, 1)
    t_out = np.arange(n_out) / dst_fps
    pos = t_out * src_fps
    i0 = np.clip(np.floor(pos).astype(int), 0, len(joints) - 1)
    i1 = np.clip(i0 + 1, 0, len(joints) - 1)
    w = (pos - i0)[:, None, None]
    return (1 - w) * joints[i0] + w * joints[i1]


def put_on_floor(joints: np.ndarray) -> np.ndarray:
    out = joints.copy()
    out[..., 1] -= out[..., 1].min()
    return out


def face_z(joints: np.ndarray) -> np.ndarray:
    """Move the root to the XZ origin and turn about Y so the body faces +Z at frame 0."""
    out = joints - joints[0, 0] * np.array([1.0, 0.0, 1.0])
    forward = facing_directions(out[:1])
    quat = qbetween(forward, np.array([[0.0, 0.0, 1.0]]))
    return qrot(np.broadcast_to(quat, out.shape[:-1] + (4,)), out)


def _turn_between(body: np.ndarray, toward: np.ndarray) -> float:
    """Signed turn about +Y, in (-pi, pi], that takes the facing of pose `body` (22, 3) to that of `toward`.

    atan2 of the two horizontal facings rather than qbetween: the angle is scaled below, and qbetween has no
    answer for bodies facing opposite ways."""
    f, t = facing_directions(np.stack([body, toward]))
    turn = float(np.arctan2(f[2] * t[0] - f[0] * t[2], f[0] * t[0] + f[2] * t[2]))
    if not np.isfinite(turn):
        raise MotionFormatError("cannot tell which way the body faces (hips and shoulders are degenerate)")
    return turn


def _turn_about_y(joints: np.ndarray, angles: np.ndarray, pivots: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per frame: turn joints (T, J, 3) by angles (T,) about the vertical through pivots (T, 3), then move the
    pivot's x/z onto targets (T, 3). Heights are never touched (a turn about Y keeps y exactly)."""
    xz = np.array([1.0, 0.0, 1.0])
    local = joints - (pivots * xz)[:, None]
    turns = np.broadcast_to(quat_about_y(angles)[:, None], local.shape[:-1] + (4,))
    return qrot(turns, local) + (targets * xz)[:, None]


def _per_frame(value, frames: int) -> np.ndarray:
    """The same value (a scalar or an array) for every one of `frames` frames, without copying."""
    return np.broadcast_to(value, (frames,) + np.shape(value))


def place_on(motion: np.ndarray, frame: int, pose: np.ndarray) -> np.ndarray:
    """`motion` (T, 22, 3) moved rigidly (a turn about Y and an x/z shift; heights kept) so that its frame `frame`
    has the root x/z and the facing of `pose` (22, 3): a decoded motion put where the given one is."""
    frames = len(motion)
    turn = _turn_between(motion[frame], pose)
    return _turn_about_y(motion, _per_frame(turn, frames), _per_frame(motion[frame, 0], frames),
                         _per_frame(pose[0], frames))


def anchor_transition(generated: np.ndarray, start: np.ndarray, end: np.ndarray, gap_start: int,
                      gap_end: int) -> np.ndarray:
    """A generated in-between motion joined to its given segments: (T, 22, 3) float32, the last gap_start frames
    of `start`, the generated transition (frames [gap_start, gap_end)), then the first T - gap_end frames of `end`.

    `generated` holds [start segment | transition | end segment] as decoded; its frame gap_start - 1 stands for
    start[-1] and its frame gap_end for end[0] (start and end in one world frame). A decoder that integrates root
    velocities knows where neither segment is, so its end lands wherever the transition drifted to. Here:
      1. the whole motion moves rigidly (a turn about Y and an x/z shift) so frame gap_start - 1 has the root x/z
         and the facing of start[-1];
      2. the rigid correction C (turn d, x/z shift) that puts frame gap_end on end[0] is spread over the
         transition: frame k, at w = (k - gap_start + 1) / (gap_end - gap_start + 1), turns by w * d about its
         own root r_k, and that root moves to (1 - w) r_k + w C(r_k);
      3. what still differs at the seams (the decoded pose against the given one, heights included) is blended
         out the same way: frame k moves by (1 - w) (start[-1] - frame gap_start - 1) + w (end[0] - frame gap_end),
         so the transition leaves the given start and reaches the given end without a jump;
      4. the transition is projected onto the start's body (`project_to_body`: bone lengths, planted feet, floor),
         since step 3 moves each joint on its own.
    """
    generated = check_joints(generated, "generated motion")
    start = check_joints(start, "in-between start")
    end = check_joints(end, "in-between end")
    frames = len(generated)
    if not 0 < gap_start <= gap_end < frames:
        raise MotionLLMError(f"the transition must lie inside the generated motion with a frame on each side: "
                             f"need 0 < gap_start <= gap_end < {frames}, got {gap_start} and {gap_end}")
    if len(start) < gap_start or len(end) < frames - gap_end:
        raise MotionLLMError(f"the given segments are shorter than the generated ones: start {len(start)} frames "
                             f"for {gap_start}, end {len(end)} for {frames - gap_end}")

    aligned = place_on(generated, gap_start - 1, start[-1])

    # C(p) = R(d) (p - a) + e on x/z, with a the root at gap_end and e the root of end[0].
    roots = aligned[:, 0]
    d = _turn_between(aligned[gap_end], end[0])
    corrected_roots = _turn_about_y(roots[:, None], _per_frame(d, frames), _per_frame(roots[gap_end], frames),
                                    _per_frame(end[0, 0], frames))[:, 0]
    # 0 up to frame gap_start - 1, rising by 1 / (gap_end - gap_start + 1) per frame, 1 from gap_end on.
    weights = np.clip((np.arange(frames) - gap_start + 1) / (gap_end - gap_start + 1), 0.0, 1.0)
    targets = (1 - weights)[:, None] * roots + weights[:, None] * corrected_roots
    # Frame k becomes p -> R(w d)(p - r_k) + (1 - w) r_k + w C(r_k): the identity at w = 0, and moving by at most
    # 1 / (gap_end - gap_start + 1) of the correction per frame, so no jump appears. At w = 1 it is C itself:
    # R(d)(p - r_k) + C(r_k) = R(d)(p - r_k) + R(d)(r_k - a) + e = R(d)(p - a) + e = C(p).
    placed = _turn_about_y(aligned, weights * d, roots, targets)
    w = weights[gap_start:gap_end, None, None]
    transition = (placed[gap_start:gap_end] + (1 - w) * (start[-1] - placed[gap_start - 1])
                  + w * (end[0] - placed[gap_end]))
    if len(transition):
        from motionllm.motion.projection import project_to_body  # it builds on this module

        transition = project_to_body(transition, Skeleton.from_joints(start), settle=False)
    return np.concatenate([start[len(start) - gap_start:], transition, end[: frames - gap_end]]).astype(np.float32)


def canonicalize(joints: np.ndarray, fps: float = FPS, what: str = "motion") -> np.ndarray:
    """Any (T, 22, 3) Y-up metre motion at `fps` -> canonical float32 motion at 20 fps."""
    joints = check_joints(joints, what)
    joints = resample(joints, fps, FPS)
    return put_on_floor(face_z(joints)).astype(np.float32)


def z_up_to_y_up(points: np.ndarray) -> np.ndarray:
    """Convert Z-up coordinates (AMASS, C3D, most robotics) to Y-up, keeping a right-handed frame."""
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)
