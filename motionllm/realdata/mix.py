"""Mix HumanML3D-format datasets into one training folder: the corpus and the real mocap side by side.

    motionllm data mix data/mix data/corpus data/real/bandai:3 data/real/cmu:3

Every training command reads one `--data` folder; a mix is that folder. Its files are symbolic links to the
sources' files (nothing is copied; clip ids must not collide), its splits are the sources' splits
concatenated, and a source given as `DIR:N` has its train ids listed N times, so a small real dataset is
drawn as often as N copies of it would be. Mean/Std are recomputed over the mixed train split with those
repeats, from streamed sums (the corpus alone is 2.7 M frames). `meta.json` lists the sources and their
licences: a mix with Bandai-Namco data is for non-commercial use, as are weights trained on it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_dir, atomic_path, save_npy
from motionllm.motion.dataset import SPLITS, read_split, statistics_from_moments, write_split
from motionllm.motion.features import FEATURE_DIM

FOLDERS = ("new_joints", "new_joint_vecs", "texts", "labels")


def parse_source(text: str) -> tuple[Path, int]:
    """"DIR" or "DIR:N" (N >= 1 repeats of its train split)."""
    path, _, repeat = text.rpartition(":") if ":" in text else (text, "", "1")
    try:
        n = int(repeat)
    except ValueError:
        raise MotionLLMError(f"{text!r}: expected DIR or DIR:N with a whole number N") from None
    if n < 1:
        raise MotionLLMError(f"{text!r}: the repeat count must be at least 1")
    return Path(path), n


def mix(out: str | os.PathLike, sources: list[tuple[Path, int]], progress: bool = True,
        overwrite: bool = False) -> dict:
    from motionllm.console import progress_bar

    out = Path(out)
    if not sources:
        raise MotionLLMError("give at least one dataset to mix")
    for folder, _ in sources:
        if not (folder / "new_joint_vecs").is_dir() or not (folder / "train.txt").is_file():
            raise MotionLLMError(f"{folder}: not a HumanML3D-format dataset with splits")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not overwrite)):
        raise MotionLLMError(f"{out} is not an empty folder (use --overwrite to replace it)")
    owner: dict[str, Path] = {}
    splits: dict[str, list[str]] = {s: [] for s in SPLITS}
    for folder, repeat in sources:
        for split in SPLITS:
            path = folder / f"{split}.txt"
            ids = read_split(path) if path.is_file() else []
            for i in ids:
                if owner.setdefault(i, folder) != folder:
                    raise MotionLLMError(f"clip id {i} is in both {owner[i]} and {folder}")
            splits[split] += ids * (repeat if split == "train" else 1)
    total, total_sq, frames = np.zeros(FEATURE_DIM), np.zeros(FEATURE_DIM), 0
    counts = {i: 0 for i in set(splits["train"])}
    for i in splits["train"]:
        counts[i] += 1
    with atomic_dir(out) as dst:
        for sub in FOLDERS:
            (dst / sub).mkdir()
        for i, folder in progress_bar(sorted(owner.items()), desc="mix", unit="clip", enabled=progress):
            for sub, ext in zip(FOLDERS, (".npy", ".npy", ".txt", ".json")):
                src = (folder / sub / f"{i}{ext}").resolve()
                if src.is_file():
                    os.symlink(src, dst / sub / f"{i}{ext}")
            if counts.get(i):
                f = np.load(folder / "new_joint_vecs" / f"{i}.npy", allow_pickle=False).astype(np.float64)
                total += counts[i] * f.sum(0)
                total_sq += counts[i] * (f * f).sum(0)
                frames += counts[i] * len(f)
        for split, ids in splits.items():
            write_split(dst / f"{split}.txt", ids)
        write_split(dst / "all.txt", sorted(owner))
        mean, std = statistics_from_moments(total, total_sq, frames)
        save_npy(dst / "Mean.npy", mean)
        save_npy(dst / "Std.npy", std)
        licences = []
        for folder, _ in sources:
            meta_path = folder / "meta.json"
            meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
            licences.append(meta.get("licence", "see the source"))
        meta = {"format": "HumanML3D mix (symbolic links to the sources)", "feature_dim": FEATURE_DIM,
                "sources": [{"path": str(f.resolve()), "train_repeats": n, "licence": lic}
                            for (f, n), lic in zip(sources, licences)],
                "splits": {k: len(v) for k, v in splits.items()}, "train_frames": frames,
                "non_commercial": any("BY-NC" in lic for lic in licences)}
        with atomic_path(dst / "meta.json") as tmp:
            tmp.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta
