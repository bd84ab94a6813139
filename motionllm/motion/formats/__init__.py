"""Motion file formats: read any supported file into canonical SMPL-22 joints; write joints, features, BVH.

    joints = read_motion("walk.bvh")                       # (T, 22, 3) float32, canonical, 20 fps
    write_motion("walk_features.npy", joints, features=True)

Input formats (format name: files; see docs/formats.md for each one's joint mapping, units and axes):
    joints     .npy of shape (T, 22, 3): metres, Y up; rate from `fps` (default 20)
    features   .npy of shape (T, 263): HumanML3D features, 20 fps
    mediapipe  .npy of shape (T, 33, 3|4|5), or .json: MediaPipe Pose world landmarks; needs `fps`
               unless the JSON stores it
    bvh        .bvh, any skeleton with known joint names
    amc        .amc CMU/Acclaim motion, with `asf` = its .asf skeleton; 120 Hz unless `fps`
    deepmimic  .txt/.json DeepMimic humanoid3d motion ({"Loop": ..., "Frames": [...]})
    cmu-expmap .txt CMU motion-prediction exponential maps (rows of 117 numbers); 120 fps unless `fps`
    smpl       .npz SMPL/SMPL-H/SMPL-X parameters (AMASS), with `body_model` = the body-model files
A .npy is told apart by its shape, a .json/.txt by its content. `fps` overrides the rate a file stores.

Output formats: joints (.npy), features (.npy; only when asked for), bvh (.bvh).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.console import warn
from motionllm.motion.canonical import canonicalize, check_joints, implausible_size
from motionllm.motion.formats import amc, arrays, bvh, cmu_expmap, deepmimic, mediapipe_landmarks, smpl
from motionllm.motion.skeleton import FPS, NUM_JOINTS

INPUT_FORMATS: dict[str, tuple[Callable, frozenset[str]]] = {
    # name: (reader(path, **options) -> (joints (T, 22, 3) metres Y up, fps), the options it takes)
    "joints": (arrays.read_joints, frozenset({"fps"})),
    "features": (arrays.read_features, frozenset({"fps"})),
    "mediapipe": (mediapipe_landmarks.read, frozenset({"fps"})),
    "bvh": (bvh.read, frozenset({"fps", "units"})),
    "amc": (amc.read, frozenset({"asf", "fps"})),
    "deepmimic": (deepmimic.read, frozenset({"fps"})),
    "cmu-expmap": (cmu_expmap.read, frozenset({"fps"})),
    "smpl": (smpl.read, frozenset({"body_model", "trust_pickle", "fps"})),
}
OUTPUT_FORMATS: dict[str, Callable] = {
    # name: writer(path, canonical joints)
    "joints": arrays.write_joints,
    "features": arrays.write_features,
    "bvh": bvh.write,
}
OPTION_FLAGS = {"fps": "--fps", "asf": "--asf", "body_model": "--body-model", "trust_pickle": "--trust-pickle",
                "units": "--units"}


def _npy_format(path: Path) -> str:
    shape = arrays.npy_shape(path)
    if len(shape) == 3 and shape[1:] == (NUM_JOINTS, 3):
        return "joints"
    if len(shape) == 2 and shape[1] == 263:
        return "features"
    if len(shape) == 3 and shape[1] == mediapipe_landmarks.NUM_LANDMARKS and shape[2] in (3, 4, 5):
        return "mediapipe"
    raise MotionFormatError(
        f"{path.name}: array of shape {shape} is none of joints (T, 22, 3), features (T, 263) or "
        f"MediaPipe landmarks (T, 33, 3|4|5)"
    )


def _json_format(path: Path) -> str:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise MotionFormatError(f"file not found: {path}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MotionFormatError(f"{path.name}: not valid JSON ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict) and "Frames" in data:
        return "deepmimic"
    if isinstance(data, list) or (isinstance(data, dict) and "frames" in data):
        return "mediapipe"
    raise MotionFormatError(
        f"{path.name}: JSON is neither a DeepMimic motion ({{\"Frames\": ...}}) nor MediaPipe landmarks "
        f"(a list of frames, or {{\"frames\": ...}})"
    )


def _starts_like_expmap(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            start = f.read(8192).decode("utf-8", errors="replace")
    except OSError:
        return False
    return cmu_expmap.looks_like(start)


def detect_input_format(path: str | os.PathLike) -> str:
    """The input format of `path`, from its extension (and shape or content for .npy/.json/.txt)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise MotionFormatError(f"file not found: {path}")
    if suffix == ".npy":
        return _npy_format(path)
    if suffix == ".txt" and _starts_like_expmap(path):
        return "cmu-expmap"
    if suffix in (".json", ".txt"):
        return _json_format(path)
    if suffix == ".asf":
        raise MotionFormatError(f"{path.name} is an ASF skeleton: convert the .amc motion and pass --asf {path.name}")
    by_suffix = {".bvh": "bvh", ".amc": "amc", ".npz": "smpl"}
    if suffix not in by_suffix:
        raise MotionFormatError(
            f"{path.name}: cannot tell the format from the extension '{suffix}' "
            f"(known: .npy .bvh .amc .json .txt .npz; or name one with --in-format)"
        )
    return by_suffix[suffix]


def detect_output_format(path: str | os.PathLike, features: bool = False) -> str:
    """'bvh' for .bvh; for .npy, 'joints' unless `features`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if features and suffix != ".npy":
        raise MotionFormatError(f"features are written as .npy, not '{suffix or path.name}'")
    if suffix == ".npy":
        return "features" if features else "joints"
    if suffix == ".bvh":
        return "bvh"
    raise MotionFormatError(f"{path.name}: cannot write '{suffix}' files (known: .npy, .bvh)")


def read_raw(path: str | os.PathLike, format: str | None = None, **options) -> tuple[np.ndarray, float]:
    """The reader's own output: (joints (T, 22, 3) in metres, Y up, not yet canonical; frames per second).

    Options left at None (or False) are ignored; one the format does not take is an error.
    """
    path = Path(path)
    if not path.exists():
        raise MotionFormatError(f"file not found: {path}")
    format = format or detect_input_format(path)
    if format not in INPUT_FORMATS:
        raise MotionLLMError(f"unknown input format '{format}' (one of {', '.join(INPUT_FORMATS)})")
    reader, accepted = INPUT_FORMATS[format]
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    unused = sorted(set(given) - accepted)
    if unused:
        flags = ", ".join(OPTION_FLAGS.get(k, k) for k in unused)
        raise MotionLLMError(f"{flags} does not apply to {format} input ({path.name})")
    if "fps" in given and not given["fps"] > 0:
        raise MotionLLMError(f"--fps must be positive, got {given['fps']}")
    try:
        return reader(path, **given)
    except OSError as exc:  # unreadable file, a folder given as a file, ...
        raise MotionFormatError(f"{path.name}: cannot read ({exc.strerror or exc})") from None


def read_motion(path: str | os.PathLike, format: str | None = None, **options) -> np.ndarray:
    """Any supported motion file -> canonical joints (T, 22, 3) float32: metres, Y up, 20 fps, on the
    floor, root at the origin and facing +Z at frame 0. Options: fps, asf, body_model, trust_pickle, units."""
    joints, fps = read_raw(path, format, **options)
    motion = canonicalize(joints, fps, what=Path(path).name)
    size = implausible_size(motion, Path(path).name)
    if size:
        warn(size)
    return motion


def write_motion(path: str | os.PathLike, joints: np.ndarray, format: str | None = None,
                 features: bool = False) -> Path:
    """Write canonical joints (T, 22, 3) at 20 fps as joints .npy, features .npy or BVH (atomically)."""
    format = format or detect_output_format(path, features)
    if format not in OUTPUT_FORMATS:
        raise MotionLLMError(f"unknown output format '{format}' (one of {', '.join(OUTPUT_FORMATS)})")
    joints = check_joints(joints, f"motion to write to {Path(path).name}").astype(np.float32)
    OUTPUT_FORMATS[format](path, joints)
    return Path(path)


__all__ = ["INPUT_FORMATS", "OUTPUT_FORMATS", "FPS", "detect_input_format", "detect_output_format",
           "read_motion", "read_raw", "write_motion"]
