"""NumPy arrays on disk: joints (T, 22, 3) and HumanML3D features (T, 263) as .npy files."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.fileio import save_npy
from motionllm.motion.skeleton import FPS


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """np.load without pickles, with one-line errors for unreadable files."""
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise MotionFormatError(f"file not found: {path}") from None
    except (ValueError, OSError, EOFError) as exc:
        raise MotionFormatError(f"{path.name}: not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise MotionFormatError(f"{path.name}: expected a single array (.npy), found an archive")
    if not np.issubdtype(array.dtype, np.number):
        raise MotionFormatError(f"{path.name}: array has non-numeric dtype {array.dtype}")
    return array


def npy_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """The shape stored in a .npy header, without reading the data."""
    path = Path(path)
    try:
        return tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape)
    except FileNotFoundError:
        raise MotionFormatError(f"file not found: {path}") from None
    except (ValueError, OSError, EOFError) as exc:
        raise MotionFormatError(f"{path.name}: not a readable .npy array ({exc})") from None


def read_joints(path: str | os.PathLike, fps: float | None = None) -> tuple[np.ndarray, float]:
    """(T, 22, 3) joints in metres, Y up; the file stores no rate, so `fps` (default 20)."""
    return load_npy(path), float(fps or FPS)


def read_features(path: str | os.PathLike, fps: float | None = None) -> tuple[np.ndarray, float]:
    """(T, 263) HumanML3D features -> (T, 22, 3) joints at 20 fps (the representation's rate)."""
    from motionllm.motion.features import check_features, features_to_joints

    if fps is not None and abs(fps - FPS) > 1e-9:
        raise MotionFormatError(f"HumanML3D features are {FPS:g} fps by definition; --fps {fps:g} does not apply")
    features = load_npy(path)
    check_features(features, Path(path).name)
    return features_to_joints(features), FPS


def write_joints(path: str | os.PathLike, joints: np.ndarray) -> None:
    save_npy(path, np.asarray(joints, dtype=np.float32))


def write_features(path: str | os.PathLike, joints: np.ndarray) -> None:
    """Canonical joints (T, 22, 3) at 20 fps -> (T-1, 263) HumanML3D features."""
    from motionllm.motion.features import joints_to_features

    save_npy(path, joints_to_features(joints))
