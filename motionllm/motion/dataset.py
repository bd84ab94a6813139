"""HumanML3D-format motion-language datasets: reading and writing.

A dataset folder holds (the layout of HumanML3D and KIT-ML, and of our generated corpus):
    new_joint_vecs/ID.npy   (T, 263) features (KIT-ML: 251)
    new_joints/ID.npy       (T, 22, 3) joints recovered from the features (KIT-ML: 21 joints)
    texts/ID.txt            one caption per line: `caption#word/POS word/POS ...#start#end`
    train.txt val.txt test.txt (all.txt)   ids, one per line
    Mean.npy Std.npy        feature statistics of the training split
    labels/ID.json          (our corpus only) the structured labels the captions were generated from

A caption with start/end other than 0 describes only that span of the motion (seconds); the reader turns
it into its own sub-clip, as T2M's loaders do.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.fileio import atomic_path
from motionllm.motion.skeleton import FPS

SPLITS = ("train", "val", "test")
# The T2M protocol keeps clips of 40..199 frames (2 s to ~10 s at 20 fps).
MIN_FRAMES, MAX_FRAMES = 40, 200
FEATURE_DIMS = {263: 22, 251: 21}  # HumanML3D, KIT-ML


@dataclass(frozen=True)
class Caption:
    text: str
    tokens: tuple[str, ...] = ()
    start: float = 0.0
    end: float = 0.0

    def to_line(self) -> str:
        if "#" in self.text or "\n" in self.text:
            raise ValueError(f"caption may not contain '#' or newlines: {self.text!r}")
        return f"{self.text}#{' '.join(self.tokens)}#{self.start:.1f}#{self.end:.1f}"

    @classmethod
    def from_line(cls, line: str) -> "Caption":
        parts = line.rstrip("\n").split("#")
        if len(parts) != 4:
            raise MotionFormatError(f"caption line must have 4 '#'-separated fields, got {len(parts)}: {line[:80]!r}")
        text, tokens, start, end = parts
        try:
            start_s, end_s = float(start or 0.0), float(end or 0.0)
        except ValueError:
            raise MotionFormatError(f"caption line has non-numeric start/end: {line[:80]!r}") from None
        start_s = 0.0 if np.isnan(start_s) else start_s
        end_s = 0.0 if np.isnan(end_s) else end_s
        return cls(text.strip(), tuple(tokens.split()), start_s, end_s)

    @property
    def whole_motion(self) -> bool:
        return self.start == 0.0 and self.end == 0.0


def write_texts(path: str | os.PathLike, captions: list[Caption]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("".join(c.to_line() + "\n" for c in captions), encoding="utf-8")


def read_texts(path: str | os.PathLike) -> list[Caption]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [Caption.from_line(line) for line in lines if line.strip()]


def write_split(path: str | os.PathLike, ids: list[str]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")


def read_split(path: str | os.PathLike) -> list[str]:
    return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class MotionSample:
    """One (motion, captions) item. `name` is unique even for span sub-clips (`<span>_<id>`)."""

    name: str
    source_id: str
    features: np.ndarray
    captions: list[Caption]
    labels: dict | None = field(default=None, repr=False)

    @property
    def length(self) -> int:
        return len(self.features)


class HumanML3DDataset:
    """Reads a HumanML3D-format folder split into MotionSamples (features kept in memory, ~1 KB/frame).

    Motions outside [min_frames, max_frames) are skipped, like the T2M loaders; skipped ids and the reason
    are kept in `self.skipped` so nothing is dropped silently.
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", min_frames: int = MIN_FRAMES,
                 max_frames: int = MAX_FRAMES, with_labels: bool = True):
        self.root = Path(root)
        if not (self.root / "new_joint_vecs").is_dir():
            raise MotionFormatError(f"{self.root}: not a HumanML3D-format dataset (no new_joint_vecs/ folder)")
        split_file = self.root / f"{split}.txt"
        if not split_file.is_file():
            raise MotionFormatError(f"{self.root}: no split file {split_file.name}")
        self.split = split
        self.samples: list[MotionSample] = []
        self.skipped: list[tuple[str, str]] = []
        for motion_id in read_split(split_file):
            self._load(motion_id, min_frames, max_frames, with_labels)
        dims = {s.features.shape[1] for s in self.samples}
        if len(dims) > 1:
            raise MotionFormatError(f"{self.root}: mixed feature dimensions {sorted(dims)}")
        self.feature_dim = dims.pop() if dims else 263
        self.num_joints = FEATURE_DIMS.get(self.feature_dim)

    def _load(self, motion_id: str, min_frames: int, max_frames: int, with_labels: bool) -> None:
        vec_path = self.root / "new_joint_vecs" / f"{motion_id}.npy"
        text_path = self.root / "texts" / f"{motion_id}.txt"
        if not vec_path.is_file() or not text_path.is_file():
            self.skipped.append((motion_id, "missing features or texts"))
            return
        features = np.load(vec_path, allow_pickle=False)
        if features.ndim != 2 or not np.all(np.isfinite(features)):
            self.skipped.append((motion_id, f"bad feature array {features.shape}"))
            return
        labels = None
        label_path = self.root / "labels" / f"{motion_id}.json"
        if with_labels and label_path.is_file():
            labels = json.loads(label_path.read_text(encoding="utf-8"))
        whole, spans = [], []
        for caption in read_texts(text_path):
            (whole if caption.whole_motion else spans).append(caption)
        for caption in spans:
            clip = features[int(caption.start * FPS): int(caption.end * FPS)]
            if min_frames <= len(clip) < max_frames:
                name = f"{caption.start:.1f}-{caption.end:.1f}_{motion_id}"
                self.samples.append(MotionSample(name, motion_id, clip, [caption], None))
        if whole:
            if min_frames <= len(features) < max_frames:
                self.samples.append(MotionSample(motion_id, motion_id, features, whole, labels))
            else:
                self.skipped.append((motion_id, f"length {len(features)} outside [{min_frames}, {max_frames})"))

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> MotionSample:
        return self.samples[index]

    def __iter__(self) -> Iterator[MotionSample]:
        return iter(self.samples)

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """The dataset's own Mean.npy/Std.npy if present, else computed over this split."""
        mean_path, std_path = self.root / "Mean.npy", self.root / "Std.npy"
        if mean_path.is_file() and std_path.is_file():
            return np.load(mean_path), np.load(std_path)
        return feature_statistics([s.features for s in self.samples])


def feature_statistics(feature_list: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean.npy/Std.npy of a list of (T, D) feature arrays (see `statistics_from_moments`)."""
    stacked = np.concatenate(feature_list, axis=0).astype(np.float64)
    return statistics_from_moments(stacked.sum(axis=0), (stacked**2).sum(axis=0), len(stacked))


def statistics_from_moments(total: np.ndarray, total_sq: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std as HumanML3D's Mean.npy/Std.npy define them, from running sums over n frames:
    per-dimension mean; std averaged within each feature group (root yaw, root XZ velocity, root height,
    positions, rotations, velocities, contacts) so that normalisation keeps the geometry within a group.
    Floored so normalisation never divides by ~0.
    """
    from motionllm.motion.features import CONTACT, FEATURE_DIM, RIC, ROT, VEL

    mean = total / n
    std = np.sqrt(np.maximum(total_sq / n - mean * mean, 0.0))
    if len(std) == FEATURE_DIM:
        for group in (slice(0, 1), slice(1, 3), slice(3, 4), RIC, ROT, VEL, CONTACT):
            std[group] = std[group].mean()
    return mean.astype(np.float32), np.maximum(std, 1e-4).astype(np.float32)
