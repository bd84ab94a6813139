"""BVH (Biovision Hierarchy): a generic reader, and a writer for SMPL-22 motions.

Reading. Any HIERARCHY/MOTION file: channels in any order, position channels on any joint (they replace
the joint's OFFSET, as Blender and MotionBuilder read them), Euler angles composed in the order the
rotation channels are listed (CHANNELS ... Zrotation Yrotation Xrotation means R = Rz @ Ry @ Rx). Joint
positions come from forward kinematics; the SMPL-22 joints are then picked by name (see skeleton_map).
BVH is Y up by convention; the unit (m, cm, mm, inch, or CMU's 1/0.45 inch) is recognised from the
body's size.

Writing. An SMPL-22 hierarchy (joint names as in skeleton.JOINT_NAMES) whose rest pose is T2M's
(legs down, arms down, collars sideways) with this motion's mean bone lengths, in centimetres.
Rotations are solved from the positions: shortest-arc per bone relative to the parent, and a best-fit
(Kabsch) rotation at the two joints with several children (pelvis, spine3). Positions survive
joints -> BVH -> joints to well under a millimetre whenever those two branchings are rigid, as they are
in SMPL-derived data (HumanML3D, AMASS).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.fileio import atomic_path
from motionllm.motion.formats import resampling, skeleton_map
from motionllm.motion.quaternion import qmul, qrot
from motionllm.motion.skeleton import (
    FPS,
    JOINT_INDEX,
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    REST_DIRECTIONS,
    Skeleton,
    bone_lengths,
)

# Metres per file unit, for recognising the unit by the body's size. CMU's ASF unit is 1/0.45 inch;
# the cgspeed BVH conversions of the CMU database kept it.
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}
# Sum of the mean leg (hip-knee-ankle) and pelvis-spine-neck-head bone lengths of the reference body.
REFERENCE_BODY_CHAIN = 1.48  # metres

POSITION_CHANNELS = ("xposition", "yposition", "zposition")
ROTATION_CHANNELS = ("xrotation", "yrotation", "zrotation")


@dataclass
class BvhJoint:
    name: str
    parent: int  # index into BvhFile.joints, -1 for the root
    offset: np.ndarray
    channels: list[str] = field(default_factory=list)  # lower-case channel names
    end_site: bool = False


@dataclass
class BvhFile:
    joints: list[BvhJoint]
    frame_time: float
    motion: np.ndarray  # (T, total channels)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time


# --- parsing ---------------------------------------------------------------------------------------

class _Tokens:
    def __init__(self, text: str, what: str):
        self.items = text.split()
        self.pos = 0
        self.what = what

    def next(self, expected: str | None = None) -> str:
        if self.pos >= len(self.items):
            raise MotionFormatError(f"{self.what}: HIERARCHY ends early (truncated file?)")
        token = self.items[self.pos]
        self.pos += 1
        if expected is not None and token.upper() != expected.upper():
            raise MotionFormatError(f"{self.what}: expected '{expected}' in HIERARCHY, found '{token}'")
        return token

    def floats(self, n: int) -> np.ndarray:
        values = [self.next() for _ in range(n)]
        try:
            return np.array(values, dtype=np.float64)
        except ValueError:
            raise MotionFormatError(f"{self.what}: expected {n} numbers in HIERARCHY, found {values}") from None


def _parse_joint(tokens: _Tokens, name: str, parent: int, joints: list[BvhJoint]) -> None:
    index = len(joints)
    tokens.next("{")
    tokens.next("OFFSET")
    joint = BvhJoint(name, parent, tokens.floats(3))
    joints.append(joint)
    while True:
        token = tokens.next()
        key = token.upper()
        if key == "CHANNELS":
            count = tokens.next()
            if not count.isdigit():
                raise MotionFormatError(f"{tokens.what}: bad channel count '{count}' for joint '{name}'")
            joint.channels = [tokens.next().lower() for _ in range(int(count))]
            unknown = [c for c in joint.channels if c not in POSITION_CHANNELS + ROTATION_CHANNELS]
            if unknown:
                raise MotionFormatError(f"{tokens.what}: unknown channel(s) {unknown} on joint '{name}'")
        elif key == "JOINT":
            _parse_joint(tokens, tokens.next(), index, joints)
        elif key == "END":
            tokens.next("Site")
            tokens.next("{")
            tokens.next("OFFSET")
            joints.append(BvhJoint(f"{name}/end", index, tokens.floats(3), end_site=True))
            tokens.next("}")
        elif key == "}":
            return
        else:
            raise MotionFormatError(f"{tokens.what}: unexpected '{token}' in joint '{name}'")


def parse_bvh(text: str, what: str = "BVH") -> BvhFile:
    """Parse BVH text into its joints (End Sites included, named '<joint>/end') and channel values."""
    head, sep, motion_text = text.partition("MOTION")
    if not sep:
        raise MotionFormatError(f"{what}: no MOTION section (not a BVH file, or truncated)")
    tokens = _Tokens(head, what)
    tokens.next("HIERARCHY")
    tokens.next("ROOT")
    joints: list[BvhJoint] = []
    _parse_joint(tokens, tokens.next(), -1, joints)
    if tokens.pos != len(tokens.items):
        raise MotionFormatError(f"{what}: unexpected '{tokens.items[tokens.pos]}' after the ROOT joint")

    match = re.match(r"\s*Frames:\s*(\d+)\s*Frame\s+Time:\s*(\S+)", motion_text, re.IGNORECASE)
    if not match:
        raise MotionFormatError(f"{what}: MOTION must start with 'Frames: N' and 'Frame Time: T'")
    n_frames = int(match.group(1))
    try:
        frame_time = float(match.group(2))
    except ValueError:
        raise MotionFormatError(f"{what}: bad Frame Time '{match.group(2)}'") from None
    if not frame_time > 0:
        raise MotionFormatError(f"{what}: Frame Time must be positive, got {frame_time}")
    n_channels = sum(len(j.channels) for j in joints)
    try:
        values = np.array(motion_text[match.end():].split(), dtype=np.float64)
    except ValueError as exc:
        raise MotionFormatError(f"{what}: non-numeric motion data ({exc})") from None
    if values.size != n_frames * n_channels:
        found = values.size / n_channels if n_channels else 0
        raise MotionFormatError(
            f"{what}: header says {n_frames} frames of {n_channels} channels, but the data holds "
            f"{values.size} values ({found:.1f} frames): truncated or corrupt file"
        )
    if not np.all(np.isfinite(values)):
        raise MotionFormatError(f"{what}: motion data contains NaN or infinite values")
    return BvhFile(joints, frame_time, values.reshape(n_frames, n_channels))


# --- kinematics ------------------------------------------------------------------------------------

def euler_quaternions(angles_deg: np.ndarray, axes: str) -> np.ndarray:
    """(T, 4) quaternions (w, x, y, z) of R = R_axes[0] @ R_axes[1] @ ... for angles (T, len(axes))."""
    from scipy.spatial.transform import Rotation

    xyzw = Rotation.from_euler(axes.upper(), angles_deg, degrees=True).as_quat()
    return np.concatenate([xyzw[:, 3:], xyzw[:, :3]], axis=-1)


def local_transforms(bvh: BvhFile) -> tuple[np.ndarray, np.ndarray]:
    """Each joint's translation from its parent (T, J, 3) and local rotation (T, J, 4) per frame."""
    n_frames = len(bvh.motion)
    translations = np.zeros((n_frames, len(bvh.joints), 3))
    rotations = np.zeros((n_frames, len(bvh.joints), 4))
    rotations[..., 0] = 1.0
    column = 0
    for i, joint in enumerate(bvh.joints):
        translations[:, i] = joint.offset
        rot_axes, rot_columns = "", []
        for channel in joint.channels:
            if channel in POSITION_CHANNELS:
                translations[:, i, POSITION_CHANNELS.index(channel)] = bvh.motion[:, column]
            else:
                rot_axes += channel[0]
                rot_columns.append(column)
            column += 1
        if rot_axes:
            rotations[:, i] = euler_quaternions(bvh.motion[:, rot_columns], rot_axes)
    return translations, rotations


def forward_kinematics(parents: list[int], translations: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """(T, J, 3) world positions from local translations and rotations; parents come before children."""
    positions = np.zeros_like(translations)
    world = np.zeros_like(rotations)
    for i, parent in enumerate(parents):
        if parent < 0:
            positions[:, i] = translations[:, i]
            world[:, i] = rotations[:, i]
        else:
            positions[:, i] = positions[:, parent] + qrot(world[:, parent], translations[:, i])
            world[:, i] = qmul(world[:, parent], rotations[:, i])
    return positions


def world_positions(bvh: BvhFile, fps: float | None = None) -> np.ndarray:
    """(T, J, 3) positions of every joint and End Site, in file units and axes.

    With `fps`, the motion is first resampled to that rate in rotation space (see resampling)."""
    translations, rotations = local_transforms(bvh)
    if fps is not None and abs(fps - bvh.fps) > 1e-6:
        times = np.arange(len(bvh.motion)) * bvh.frame_time
        k, w = resampling.interpolation_grid(times, resampling.output_times(times[-1], fps))
        translations, rotations = resampling.lerp(translations, k, w), resampling.slerp_sequence(rotations, k, w)
    return forward_kinematics([j.parent for j in bvh.joints], translations, rotations)


def bones_of(bvh: BvhFile, positions: np.ndarray) -> tuple[skeleton_map.Bones, dict[str, str | None]]:
    """Bones keyed by normalised joint name (each runs from the parent joint to the joint), and parents."""
    bones, parents = {}, {}
    for i, joint in enumerate(bvh.joints):
        key = skeleton_map.normalize_name(joint.name)
        if key in bones:
            raise MotionFormatError(f"BVH: two joints are both named like '{joint.name}'")
        parent = joint.parent if joint.parent >= 0 else i
        bones[key] = (positions[:, parent], positions[:, i])
        parents[key] = skeleton_map.normalize_name(bvh.joints[joint.parent].name) if joint.parent >= 0 else None
    return bones, parents


def body_chain_length(joints: np.ndarray) -> float:
    """Mean leg length plus pelvis-to-head spine length of SMPL-22 joints, in their own units."""
    lengths = bone_lengths(joints).mean(axis=0)
    idx = JOINT_INDEX
    legs = 0.5 * sum(lengths[idx[f"{s}_knee"]] + lengths[idx[f"{s}_ankle"]] for s in ("left", "right"))
    spine = sum(lengths[idx[n]] for n in ("spine1", "spine2", "spine3", "neck", "head"))
    return float(legs + spine)


def detect_unit(joints: np.ndarray) -> str:
    """The unit in UNITS that makes this body closest in size to the reference body."""
    chain = body_chain_length(joints)
    if not chain > 0:
        raise MotionFormatError("BVH: the skeleton has zero size")
    return min(UNITS, key=lambda u: abs(np.log(chain * UNITS[u] / REFERENCE_BODY_CHAIN)))


def read(path: str | os.PathLike, units: str | None = None, fps: float | None = None) -> tuple[np.ndarray, float]:
    """BVH file -> (SMPL-22 joints (T, 22, 3) in metres, Y up; frames per second).

    `units` (a key of UNITS) skips recognising the unit; `fps` overrides the file's Frame Time. The
    joints come back at the canonical 20 fps."""
    path = Path(path)
    what = path.name
    try:
        text = path.read_text(errors="strict")
    except UnicodeDecodeError:
        raise MotionFormatError(f"{what}: not a text file") from None
    bvh = parse_bvh(text, what)
    if len(bvh.motion) < 2:
        raise MotionFormatError(f"{what}: needs at least 2 frames, has {len(bvh.motion)}")
    if fps is not None:
        bvh.frame_time = 1.0 / fps
    # Resample to the canonical rate here, in rotation space, so bones keep their length.
    bones, parents = bones_of(bvh, world_positions(bvh, FPS))
    joints = skeleton_map.gather(bones, skeleton_map.smpl_points(bones, parents, what))
    if units is None:
        units = detect_unit(joints)
    elif units not in UNITS:
        raise MotionFormatError(f"unknown unit '{units}' (one of {', '.join(UNITS)})")
    return joints * UNITS[units], FPS


# --- writing ---------------------------------------------------------------------------------------

CHILDREN = {j: [c for c in range(NUM_JOINTS) if PARENTS[c] == j] for j in range(NUM_JOINTS)}
# The two SMPL joints with several children: (joint, its left child, its right child, its upward child).
BRANCHES = {
    JOINT_INDEX["pelvis"]: (JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"], JOINT_INDEX["spine1"]),
    JOINT_INDEX["spine3"]: (JOINT_INDEX["left_collar"], JOINT_INDEX["right_collar"], JOINT_INDEX["neck"]),
}
# End Sites of the leaf joints (metres, in the leaf's frame), for viewers that draw the last bone.
END_SITES = {
    JOINT_INDEX["head"]: (0.0, 0.10, 0.0),
    JOINT_INDEX["left_foot"]: (0.0, 0.0, 0.05),
    JOINT_INDEX["right_foot"]: (0.0, 0.0, 0.05),
    JOINT_INDEX["left_wrist"]: (0.0, -0.08, 0.0),
    JOINT_INDEX["right_wrist"]: (0.0, -0.08, 0.0),
}
WRITE_SCALE = 100.0  # centimetres per metre: the unit most BVH tools assume
EULER_AXES = "zyx"  # written as CHANNELS ... Zrotation Yrotation Xrotation


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _body_frames(joints: np.ndarray, joint: int) -> np.ndarray:
    """(T, 3, 3) orthonormal frames at a branching joint: columns = its left, up and forward axes."""
    left, right, up = BRANCHES[joint]
    x = _unit(joints[:, left] - joints[:, right])
    y = joints[:, up] - joints[:, joint]
    y = _unit(y - (y * x).sum(-1, keepdims=True) * x)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def _kabsch(rest: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations R minimising sum |R @ rest_k - actual_k|^2; rest (K, 3), actual (T, K, 3)."""
    h = np.einsum("ki,tkj->tij", rest, actual)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, 1, 2) @ np.swapaxes(u, 1, 2)))
    fix = np.broadcast_to(np.eye(3), h.shape).copy()
    fix[:, 2, 2] = d
    return np.swapaxes(vt, 1, 2) @ fix @ np.swapaxes(u, 1, 2)


def _shortest_arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations taking directions a (T, 3) onto b (T, 3) by the smallest angle."""
    from scipy.spatial.transform import Rotation

    a, b = _unit(a), _unit(b)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    angle = np.arctan2(sin, (a * b).sum(-1))
    # Antiparallel: any axis perpendicular to a will do.
    fallback = np.cross(a, np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]]))
    axis = np.where(sin[:, None] > 1e-9, axis, fallback)
    return Rotation.from_rotvec(_unit(axis) * angle[:, None]).as_matrix()


def rest_offsets(joints: np.ndarray) -> np.ndarray:
    """(22, 3) rest offsets (metres) of each joint from its parent: T2M directions, mean bone lengths;
    around the two branchings, the children's mean arrangement in the branching joint's own frame."""
    lengths = Skeleton.from_joints(joints).bone_lengths
    offsets = REST_DIRECTIONS * lengths[:, None]
    for joint, children in BRANCHES.items():
        frames = _body_frames(joints, joint)
        for child in children:
            local = np.einsum("tji,tj->ti", frames, joints[:, child] - joints[:, joint]).mean(axis=0)
            offsets[child] = _unit(local) * lengths[child]
    return offsets


def solve_rotations(joints: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(T, 22, 3, 3) local rotations that put the `offsets` skeleton onto `joints` (BVH convention:
    a joint's rotation turns its children's offsets; the root's is its world rotation).

    Each bone is aimed from where the BVH skeleton has put its parent joint (not from where that joint
    really is), so a misfit at one joint (fixed bone lengths, a non-rigid branching) is not carried up
    the chain: only its component along the next bone remains."""
    world = np.zeros((len(joints), NUM_JOINTS, 3, 3))
    local = np.zeros_like(world)
    placed = joints.astype(np.float64).copy()  # joint positions as the BVH skeleton will have them
    for j in range(NUM_JOINTS):
        parent_world = world[:, PARENTS[j]] if PARENTS[j] >= 0 else np.broadcast_to(np.eye(3), world[:, 0].shape)
        children = CHILDREN[j]
        if j in BRANCHES:
            rest = offsets[list(children)]
            world[:, j] = _kabsch(rest, joints[:, children] - placed[:, j:j + 1])
        elif children:
            (child,) = children
            posed_rest = np.einsum("tij,j->ti", parent_world, offsets[child])
            world[:, j] = _shortest_arc(posed_rest, joints[:, child] - placed[:, j]) @ parent_world
        else:
            world[:, j] = parent_world
        for child in children:
            placed[:, child] = placed[:, j] + np.einsum("tij,j->ti", world[:, j], offsets[child])
        local[:, j] = np.swapaxes(parent_world, 1, 2) @ world[:, j]
    return local


def _depth_first(j: int):
    yield j
    for child in CHILDREN[j]:
        yield from _depth_first(child)


def _hierarchy_lines(offsets_cm: np.ndarray) -> list[str]:
    lines = ["HIERARCHY"]
    rot_channels = " ".join(f"{a.upper()}rotation" for a in EULER_AXES)

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        keyword = "ROOT" if PARENTS[j] < 0 else "JOINT"
        lines.append(f"{pad}{keyword} {JOINT_NAMES[j]}")
        lines.append(f"{pad}{{")
        offset = np.zeros(3) if PARENTS[j] < 0 else offsets_cm[j]
        lines.append(f"{pad}  OFFSET {offset[0]:.6f} {offset[1]:.6f} {offset[2]:.6f}")
        position = "Xposition Yposition Zposition " if PARENTS[j] < 0 else ""
        count = 6 if PARENTS[j] < 0 else 3
        lines.append(f"{pad}  CHANNELS {count} {position}{rot_channels}")
        for child in CHILDREN[j]:
            emit(child, depth + 1)
        if not CHILDREN[j]:
            end = np.array(END_SITES[j]) * WRITE_SCALE
            lines.extend([f"{pad}  End Site", f"{pad}  {{",
                          f"{pad}    OFFSET {end[0]:.6f} {end[1]:.6f} {end[2]:.6f}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(0, 0)
    return lines


def write(path: str | os.PathLike, joints: np.ndarray, fps: float = FPS) -> None:
    """Write SMPL-22 joints (T, 22, 3) in metres, Y up, as a BVH file (centimetres)."""
    from scipy.spatial.transform import Rotation

    joints = np.asarray(joints, dtype=np.float64)
    offsets = rest_offsets(joints)
    local = solve_rotations(joints, offsets)
    # Channels are written in hierarchy (depth-first) order, which for SMPL-22 is not index order.
    order = list(_depth_first(0))
    euler = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_euler(EULER_AXES.upper(), degrees=True)
    euler = euler.reshape(len(joints), NUM_JOINTS, 3)
    columns = [joints[:, 0] * WRITE_SCALE] + [euler[:, j] for j in order]
    motion = np.concatenate(columns, axis=1)

    lines = _hierarchy_lines(offsets * WRITE_SCALE)
    lines += ["MOTION", f"Frames: {len(joints)}", f"Frame Time: {1.0 / fps:.8f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in motion]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
