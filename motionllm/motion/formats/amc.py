"""Acclaim ASF/AMC motion capture (the CMU Graphics Lab Motion Capture Database format): input only.

The ASF file is the skeleton: for each bone a rest direction and length in world axes, an `axis` (the
bone's local frame C, Euler angles with their order, e.g. "axis 0 0 20 XYZ") and its degrees of freedom.
The AMC file gives, per frame, the root's translation and rotation and each bone's dof values.

Forward kinematics, as in the Acclaim specification and CMU's own viewer:
    M_bone = M_parent @ C @ R(dof) @ C^-1        (R composed in the axis order, XYZ -> Rz @ Ry @ Rx)
    end_bone = end_parent + length * M_bone @ direction
with the root's M from its own rotation and its end at the root translation.

Units: `:units length L` means lengths are in inches / L (CMU: L = 0.45), so metres = value / L * 0.0254.
Angles are degrees unless `:units angle rad`. CMU data is Y up and recorded at 120 Hz; AMC files do not
store their rate, so 120 Hz is assumed unless the caller says otherwise.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.formats import skeleton_map

CMU_FPS = 120.0
INCH = 0.0254

# SMPL-22 joints as points on CMU's ASF bones (a bone's end is t = 1). See docs/formats.md.
CMU_POINTS: dict[str, skeleton_map.BonePoint] = {
    "pelvis": ("root", 1.0),
    "spine1": ("lowerback", 1.0),
    "spine2": ("upperback", 1.0),
    "spine3": ("thorax", 0.25),
    "neck": ("thorax", 1.0),        # the base of the neck, where the clavicles start
    "head": ("lowerneck", 1.0),     # ~0.1 m up the neck, like SMPL's head joint
    **{f"{side}_{joint}": (f"{s}{bone}", t)
       for side, s in (("left", "l"), ("right", "r"))
       for joint, bone, t in (("hip", "hipjoint", 1.0), ("knee", "femur", 1.0), ("ankle", "tibia", 1.0),
                              ("foot", "foot", 1.0), ("collar", "clavicle", 0.5), ("shoulder", "clavicle", 1.0),
                              ("elbow", "humerus", 1.0), ("wrist", "radius", 1.0))},
}


@dataclass
class AsfBone:
    name: str
    direction: np.ndarray = field(default_factory=lambda: np.zeros(3))
    length: float = 0.0
    axis: np.ndarray = field(default_factory=lambda: np.zeros(3))  # Euler angles of the local frame C
    axis_order: str = "XYZ"
    dof: list[str] = field(default_factory=list)  # e.g. ["rx", "ry", "rz"]


@dataclass
class AsfSkeleton:
    bones: dict[str, AsfBone]
    parents: dict[str, str]  # bone -> parent bone ("root" for the top ones)
    root_order: list[str]  # AMC root channels, e.g. ["tx", "ty", "tz", "rx", "ry", "rz"]
    root_axis_order: str
    length_unit: float  # metres per ASF length unit
    angles_in_degrees: bool

    def topological(self) -> list[str]:
        """Bone names with every parent before its children."""
        order, pending = [], [c for c, p in self.parents.items() if p == "root"]
        while pending:
            bone = pending.pop(0)
            order.append(bone)
            pending += [c for c, p in self.parents.items() if p == bone]
        return order


def _sections(text: str) -> dict[str, list[list[str]]]:
    """ASF text -> {keyword: [token lines]} for the ':keyword' sections (comments dropped)."""
    sections: dict[str, list[list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):
            key, _, rest = line[1:].partition(" ")
            current = sections.setdefault(key.lower(), [])
            if rest.strip():
                current.append(rest.split())
        elif current is not None:
            current.append(line.split())
    return sections


def _floats(tokens: list[str], what: str) -> np.ndarray:
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        raise MotionFormatError(f"{what}: expected numbers, found {' '.join(tokens)}") from None


def parse_asf(text: str, what: str = "ASF") -> AsfSkeleton:
    sections = _sections(text)
    for key in ("root", "bonedata", "hierarchy"):
        if key not in sections:
            raise MotionFormatError(f"{what}: no ':{key}' section (not an ASF skeleton file?)")
    units = {line[0].lower(): line[1:] for line in sections.get("units", []) if line}
    length = float(_floats(units.get("length", ["1.0"])[:1], what)[0])
    if not length > 0:
        raise MotionFormatError(f"{what}: ':units length' must be positive")
    angles_in_degrees = units.get("angle", ["deg"])[0].lower().startswith("deg")

    root = {line[0].lower(): line[1:] for line in sections["root"] if line}
    root_order = [t.lower() for t in root.get("order", ["TX", "TY", "TZ", "RX", "RY", "RZ"])]
    root_axis_order = root.get("axis", ["XYZ"])[0].upper()

    bones: dict[str, AsfBone] = {}
    bone = None
    for line in sections["bonedata"]:
        key = line[0].lower()
        if key == "begin":
            bone = AsfBone("")
        elif key == "end":
            if bone is None or not bone.name:
                raise MotionFormatError(f"{what}: a bone in ':bonedata' has no name")
            bones[bone.name] = bone
            bone = None
        elif bone is None:
            continue
        elif key == "name":
            bone.name = line[1]
        elif key == "direction":
            bone.direction = _floats(line[1:4], what)
        elif key == "length":
            bone.length = float(_floats(line[1:2], what)[0])
        elif key == "axis":
            bone.axis = _floats(line[1:4], what)
            bone.axis_order = line[4].upper() if len(line) > 4 else "XYZ"
        elif key == "dof":
            bone.dof = [t.lower() for t in line[1:]]
    if not bones:
        raise MotionFormatError(f"{what}: ':bonedata' defines no bones")

    parents: dict[str, str] = {}
    for line in sections["hierarchy"]:
        if line[0].lower() in ("begin", "end"):
            continue
        for child in line[1:]:
            if child not in bones:
                raise MotionFormatError(f"{what}: hierarchy names unknown bone '{child}'")
            parents[child] = line[0]
    return AsfSkeleton(bones, parents, root_order, root_axis_order, INCH / length, angles_in_degrees)


def parse_amc(text: str, skeleton: AsfSkeleton, what: str = "AMC") -> dict[str, np.ndarray]:
    """AMC text -> {bone or 'root': (T, n values)}; every frame must give every bone with dofs."""
    frames: list[dict[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ":")):
            continue
        tokens = line.split()
        if len(tokens) == 1 and tokens[0].isdigit():
            frames.append({})
        elif not frames:
            raise MotionFormatError(f"{what}: data before the first frame number: '{line[:40]}'")
        else:
            frames[-1][tokens[0]] = tokens[1:]
    if len(frames) < 2:
        raise MotionFormatError(f"{what}: needs at least 2 frames, found {len(frames)}")

    expected = {"root": len(skeleton.root_order)}
    expected.update({name: len(b.dof) for name, b in skeleton.bones.items() if b.dof})
    values = {}
    for name, count in expected.items():
        rows = []
        for k, frame in enumerate(frames):
            row = frame.get(name)
            if row is None:
                raise MotionFormatError(f"{what}: frame {k + 1} has no values for '{name}' (truncated file?)")
            if len(row) != count:
                raise MotionFormatError(f"{what}: frame {k + 1}: '{name}' needs {count} values, has {len(row)}")
            rows.append(row)
        values[name] = _floats([v for row in rows for v in row], what).reshape(len(frames), count)
        if not np.all(np.isfinite(values[name])):
            raise MotionFormatError(f"{what}: '{name}' has NaN or infinite values")
    return values


def _euler(angles: np.ndarray, order: str, degrees: bool) -> np.ndarray:
    """Matrices for angles (..., 3) given as (x, y, z), applied in `order` (XYZ -> Rz @ Ry @ Rx)."""
    from scipy.spatial.transform import Rotation

    flat = angles.reshape(-1, 3)
    by_order = flat[:, ["XYZ".index(a) for a in order]]
    # Lower-case axes are extrinsic: rotate about x first, then y, then z -> Rz @ Ry @ Rx.
    matrices = Rotation.from_euler(order.lower(), by_order, degrees=degrees).as_matrix()
    return matrices.reshape(angles.shape[:-1] + (3, 3))


def bone_positions(skeleton: AsfSkeleton, motion: dict[str, np.ndarray]) -> skeleton_map.Bones:
    """Bones (start, end) in metres over time, plus the zero-length 'root' bone."""
    root_values = motion["root"]
    n_frames = len(root_values)
    position = np.zeros((n_frames, 3))
    root_angles = np.zeros((n_frames, 3))
    for k, channel in enumerate(skeleton.root_order):
        axis = "xyz".index(channel[1])
        (position if channel[0] == "t" else root_angles)[:, axis] = root_values[:, k]
    position *= skeleton.length_unit
    matrices = {"root": _euler(root_angles, skeleton.root_axis_order, skeleton.angles_in_degrees)}
    bones: skeleton_map.Bones = {"root": (position, position)}
    for name in skeleton.topological():
        bone = skeleton.bones[name]
        parent = skeleton.parents[name]
        c = _euler(bone.axis, bone.axis_order, skeleton.angles_in_degrees)
        angles = np.zeros((n_frames, 3))
        for k, dof in enumerate(bone.dof):
            if dof in ("rx", "ry", "rz"):
                angles[:, "xyz".index(dof[1])] = motion[name][:, k]
        local = c @ _euler(angles, bone.axis_order, skeleton.angles_in_degrees) @ c.T
        matrices[name] = matrices[parent] @ local
        start = bones[parent][1]
        step = bone.length * skeleton.length_unit * (matrices[name] @ bone.direction)
        bones[name] = (start, start + step)
    return bones


def read(path: str | os.PathLike, asf: str | os.PathLike | None = None,
         fps: float | None = None) -> tuple[np.ndarray, float]:
    """AMC motion + ASF skeleton -> (SMPL-22 joints (T, 22, 3) in metres, Y up; frames per second)."""
    path = Path(path)
    if asf is None:
        raise MotionFormatError(f"{path.name}: an AMC motion needs its ASF skeleton: pass --asf SKELETON.asf")
    asf = Path(asf)
    if not asf.is_file():
        raise MotionFormatError(f"ASF skeleton not found: {asf}")
    try:
        skeleton = parse_asf(asf.read_text(), asf.name)
        motion = parse_amc(path.read_text(), skeleton, path.name)
    except UnicodeDecodeError:
        raise MotionFormatError(f"{path.name}/{asf.name}: not a text file") from None
    missing = sorted({b for b, _ in CMU_POINTS.values()} - set(skeleton.bones) - {"root"})
    if missing:
        raise MotionFormatError(f"{asf.name}: cannot map to SMPL-22, CMU bones missing: {', '.join(missing)}")
    bones = bone_positions(skeleton, motion)
    return skeleton_map.gather(bones, CMU_POINTS), float(fps or CMU_FPS)
