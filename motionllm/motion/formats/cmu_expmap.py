"""The CMU motion-prediction exponential-map format (Li et al., CVPR 2018; `cmu_mocap/{train,test}/ACTION/ACTION_N.txt`):
input only.

One frame per line, 117 comma-separated numbers: the root position (3, CMU ASF length units) followed by
one exponential map (axis * angle, radians) for each of the 38 joints of the CMU skeleton, the root's
first. The skeleton (parents and bone offsets, in ASF units, Y up) and the forward kinematics are those
of the dataset's own `src/forward_kinematics_cmu.py` (after exp2xyz.m of the H3.6M RNN code), which
works with row vectors:

    R_joint  = expmap_to_matrix(r_joint) @ R_parent
    p_joint  = offset_joint @ R_parent + p_parent            (p_root = offset_root + root position)

The root position is x, y, z. (That visualiser reads it as z, y, x, which only its plots see: it walks
every walker sideways, and the feet slide while planted; read as x, y, z, walks go the way the body faces
and planted feet stay put, `tests/test_real_mocap.py`.) Its 38 joints are CMU's ASF bones, with zero-length
joints where bones branch; `POINTS` places SMPL-22 on them (docs/formats.md).

The first line of every file is a rest pose, not motion: it is dropped.

Units: ASF length units (1/0.45 inch, as in CMU's ASF files); the dataset's visualiser scales the
offsets by 70 only for its plots. Rate: the files do not store one. They are at CMU's own 120 Hz: read so, walks
take 1.7 steps a second at 1.2 m/s and runs 2.9 steps at 3.2 m/s (at 30 Hz they would be 0.4 steps at
0.3 m/s), so 120 fps unless `fps`.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.formats import skeleton_map

FPS = 120.0
NUM_VALUES = 117
ASF_UNIT = 0.0254 / 0.45  # metres per CMU ASF length unit

# The 38 joints of forward_kinematics_cmu.py, in its order, each named after the ASF bone that ends at it.
# Seven have a zero offset from their parent: the starts of the branches at the root, the thorax and the
# wrists ("<bone>/start"); "thorax" itself has zero length in this skeleton.
JOINTS = (
    "root", "lhipjoint/start", "lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes",
    "rhipjoint/start", "rhipjoint", "rfemur", "rtibia", "rfoot", "rtoes",
    "lowerback/start", "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head",
    "lclavicle/start", "lclavicle", "lhumerus", "lradius", "lwrist", "lhand", "lfingers", "lthumb/start", "lthumb",
    "rclavicle/start", "rclavicle", "rhumerus", "rradius", "rwrist", "rhand", "rfingers", "rthumb/start", "rthumb",
)
# SMPL-22 joints as points on those bones (a bone's end is t = 1). The upper back ends where the clavicles
# start, like SMPL's spine3; SMPL's neck joint is just above the shoulders: the lower neck's end.
POINTS: dict[str, skeleton_map.BonePoint] = {
    "pelvis": ("root", 1.0),
    "spine1": ("lowerback", 1.0),
    "spine2": ("upperback", 0.6),
    "spine3": ("upperback", 1.0),
    "neck": ("lowerneck", 1.0),
    "head": ("upperneck", 1.0),
    **{f"{side}_{joint}": (f"{s}{bone}", t)
       for side, s in (("left", "l"), ("right", "r"))
       for joint, bone, t in (("hip", "hipjoint", 1.0), ("knee", "femur", 1.0), ("ankle", "tibia", 1.0),
                              ("foot", "foot", 1.0), ("collar", "clavicle", 0.5), ("shoulder", "clavicle", 1.0),
                              ("elbow", "humerus", 1.0), ("wrist", "radius", 1.0))},
}
PARENTS = np.array([0, 1, 2, 3, 4, 5, 6, 1, 8, 9, 10, 11, 12, 1, 14, 15, 16, 17, 18, 19, 16,
                    21, 22, 23, 24, 25, 26, 24, 28, 16, 30, 31, 32, 33, 34, 35, 33, 37]) - 1
OFFSETS = np.array([
    0, 0, 0, 0, 0, 0, 1.65674, -1.80282, 0.62477, 2.5972, -7.13576, 0, 2.49236, -6.8477, 0,
    0.19704, -0.54136, 2.14581, 0, 0, 1.11249, 0, 0, 0, -1.6107, -1.80282, 0.62476, -2.59502, -7.12977, 0,
    -2.4678, -6.78024, 0, -0.23024, -0.63258, 2.13368, 0, 0, 1.11569, 0, 0, 0, 0.01961, 2.0545, -0.14112,
    0.01021, 2.06436, -0.05921, 0, 0, 0, 0.00713, 1.56711, 0.14968, 0.03429, 1.56041, -0.10006, 0.01305,
    1.6256, -0.05265, 0, 0, 0, 3.54205, 0.90436, -0.17364, 4.86513, 0, 0, 3.35554, 0, 0, 0, 0, 0, 0.66117,
    0, 0, 0.53306, 0, 0, 0, 0, 0, 0.5412, 0, 0.5412, 0, 0, 0, -3.49802, 0.75994, -0.32616, -5.02649, 0, 0,
    -3.36431, 0, 0, 0, 0, 0, -0.73041, 0, 0, -0.58887, 0, 0, 0, 0, 0, -0.59786, 0, 0.59786,
]).reshape(-1, 3)


def expmap_to_matrix(r: np.ndarray) -> np.ndarray:
    """Rodrigues' formula for exponential maps (..., 3) -> (..., 3, 3), exactly as data_utils.expmap2rotmat."""
    theta = np.linalg.norm(r, axis=-1, keepdims=True)
    axis = r / (theta + np.finfo(np.float32).eps)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(r.shape[:-1] + (3, 3))
    theta = theta[..., None]
    return np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * (k @ k)


def parse(text: str, what: str = "CMU expmap") -> np.ndarray:
    """(T, 117) float64 values; raises MotionFormatError for anything but rows of 117 finite numbers."""
    rows = [line for line in text.splitlines() if line.strip()]
    if not rows:
        raise MotionFormatError(f"{what}: empty file")
    values = []
    for number, line in enumerate(rows, 1):
        fields = line.replace(",", " ").split()
        if len(fields) != NUM_VALUES:
            raise MotionFormatError(f"{what}: line {number} has {len(fields)} values, expected {NUM_VALUES} "
                                    "(root position + 38 exponential maps)")
        try:
            values.append([float(v) for v in fields])
        except ValueError:
            raise MotionFormatError(f"{what}: line {number} holds a value that is not a number") from None
    values = np.asarray(values)
    if not np.all(np.isfinite(values)):
        raise MotionFormatError(f"{what}: NaN or infinite values")
    return values


def joint_positions(values: np.ndarray) -> np.ndarray:
    """(T, 38, 3) joint positions in ASF units (Y up) from rows of 117 values."""
    frames = len(values)
    rotations = expmap_to_matrix(values[:, 3:].reshape(frames, 38, 3))
    world_rot = np.empty_like(rotations)
    positions = np.empty((frames, 38, 3))
    for j, parent in enumerate(PARENTS):
        if parent < 0:
            world_rot[:, j] = rotations[:, j]
            positions[:, j] = OFFSETS[j] + values[:, :3]
        else:
            world_rot[:, j] = rotations[:, j] @ world_rot[:, parent]
            positions[:, j] = np.einsum("i,tij->tj", OFFSETS[j], world_rot[:, parent]) + positions[:, parent]
    return positions


def bones_of(positions: np.ndarray) -> skeleton_map.Bones:
    """Each joint as the end of the bone named after it, from its parent (the root bone has zero length)."""
    return {name: (positions[:, max(parent, 0)], positions[:, j])
            for j, (name, parent) in enumerate(zip(JOINTS, PARENTS))}


def read(path: str | os.PathLike, fps: float | None = None) -> tuple[np.ndarray, float]:
    """A CMU motion-prediction .txt -> (SMPL-22 joints (T, 22, 3) in metres, Y up; frames per second)."""
    path = Path(path)
    try:
        values = parse(path.read_text(), path.name)
    except UnicodeDecodeError:
        raise MotionFormatError(f"{path.name}: not a text file") from None
    if len(values) < 3:
        raise MotionFormatError(f"{path.name}: needs at least 3 frames, got {len(values)}")
    # Every file of the dataset starts with a rest pose that the next frame jumps away from (by 20-230x
    # the clip's median frame-to-frame motion): it is not part of the motion.
    joints = skeleton_map.gather(bones_of(joint_positions(values[1:])), POINTS) * ASF_UNIT
    return joints, float(fps or FPS)


def looks_like(text_start: str) -> bool:
    """Whether the start of a .txt file reads as rows of 117 comma-separated numbers."""
    first = text_start.lstrip().split("\n", 1)[0]
    fields = first.split(",")
    if len(fields) != NUM_VALUES:
        return False
    try:
        [float(v) for v in fields]
    except ValueError:
        return False
    return True
