"""Import a real mocap dataset (an archive or its unpacked folder) as a HumanML3D-format dataset.

    from motionllm.realdata.importer import import_dataset
    summary = import_dataset("bandai", "../shared/data/real_mocap/bandai_namco_motion.tar.xz", "data/real/bandai")

Each source file is read into canonical SMPL-22 (`motionllm.motion.formats`), cut into windows HumanML3D can
hold (2 to 9.95 s at 20 fps: a longer take becomes equal windows; a gesture of 1 to 2 s is held still at both
ends up to 2 s; shorter takes, and locomotion under 2 s, are left out), and put through
HumanML3D's processing as the corpus is (joints -> 263-d features -> joints), so real and generated clips are
in the same coordinates. Per window: new_joints/, new_joint_vecs/, texts/ (captions from the labels, several
paraphrases, `motionllm.corpus.captions`), labels/ID.json (the corpus's label format plus `manner`, `source`,
`file`, `content`, `style` and `licence`), then train/val/test/all.txt, Mean/Std over train, meta.json.

Held-out splits (docs/formats.md, "Real motion datasets"), chosen to test generalisation, not memory:
- Bandai-Namco: for each content performed in every style, some (content, style) pairs are held out whole
  for test in a Latin square (content i holds out style i mod n, and for set 1 also (i + 7) mod n): the test
  set asks for a content in a style no training clip combines it with, though each was seen apart. The
  second take of the two-take set-1 contents (call, punch, slash) is test too. Val: every 10th take of the
  remaining set-2 pairs.
- CMU: the dataset's own test folder (one trial per action) plus one whole trial each of
  basketball_signal and directing_traffic, which the test folder lacks. No val split (too few trials).

The output folder is written whole or not at all (`fileio.atomic_dir`).
"""
from __future__ import annotations

import json
import os
import re
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionllm.corpus.captions import captions_for
from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_dir, atomic_path, save_npy
from motionllm.motion.dataset import MAX_FRAMES, MIN_FRAMES, statistics_from_moments, write_split, write_texts
from motionllm.motion.features import FEATURE_DIM, features_to_joints, joints_to_features
from motionllm.motion.formats import read_motion
from motionllm.motion.skeleton import FPS
from motionllm.realdata import labels as L

SOURCES = ("bandai", "cmu-prediction")
LICENCES = {
    "bandai": "CC BY-NC 4.0 (Bandai Namco Research Inc.): non-commercial use only, also for weights trained on it",
    "cmu-prediction": "CMU Graphics Lab Motion Capture Database: free for research and commercial use",
}
WINDOW = MAX_FRAMES - 1        # joints_to_features drops one frame: windows of <= 200 joint frames
CAPTIONS_PER_CLIP = 4
PAD_FROM = 20                  # gesture takes of 1-2 s are held still at both ends up to 2 s (MIN_FRAMES)
BANDAI_NAME = re.compile(r"dataset-(?P<set>\d)_(?P<content>[a-z-]+?)_(?P<style>[a-z-]+)_(?P<take>\d+)\.bvh$")
BANDAI_SECOND_STYLE_OFFSET = 7
TWO_TAKE_TEST = frozenset({"call", "punch", "slash"})
HELD_OUT = {
    "bandai": "test: (content, style) pairs held out whole in a Latin square (content i of those performed in "
              "every style: style i mod n, set 1 also (i + 7) mod n) and take 2 of call/punch/slash; val: every "
              "10th take of the other set-2 pairs",
    "cmu-prediction": "test: the dataset's test folder plus basketball_signal_5 and directing_traffic_4; no val",
}
CMU_EXTRA_TEST = {"basketball_signal": "basketball_signal_5.txt", "directing_traffic": "directing_traffic_4.txt"}


@dataclass(frozen=True)
class SourceFile:
    path: Path
    name: str           # clip id stem, unique in the dataset
    split: str
    kind: str
    category: str
    side: str | None
    direction: str | None
    manner: str | None
    content: str
    style: str | None


# The datasets' own content and style lists (cfg/*.txt): the held-out pairs depend on them, not on which
# files an import finds, so a partial import splits its files as the full one does.
BANDAI_STYLES = {
    "1": ("active", "angry", "childish", "chimpira", "feminine", "giant", "happy", "masculinity", "musical",
          "normal", "not-confident", "old", "proud", "sad", "tired"),
    "2": ("active", "elderly", "exhausted", "feminine", "masculine", "normal", "youthful"),
}
BANDAI_EVERY_STYLE = {  # the contents performed in every style of their set
    "1": ("bow", "bye", "byebye", "dash", "guide", "run", "walk", "walk-back", "walk-left", "walk-right"),
    "2": ("raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand", "run", "walk", "walk-turn-left",
          "walk-turn-right", "wave-both-hands", "wave-left-hand", "wave-right-hand"),
}


def bandai_held_out() -> set[tuple[str, str, str]]:
    """(set, content, style) triples of the test split: a Latin square over contents and styles."""
    out = set()
    for s, contents in BANDAI_EVERY_STYLE.items():
        styles = BANDAI_STYLES[s]
        for i, content in enumerate(contents):
            out.add((s, content, styles[i % len(styles)]))
            if s == "1":
                out.add((s, content, styles[(i + BANDAI_SECOND_STYLE_OFFSET) % len(styles)]))
    return out


# --- finding the files and their labels --------------------------------------------------------------

def _bandai_files(root: Path) -> list[SourceFile]:
    found = []
    for path in sorted(root.rglob("dataset-*_*.bvh")):
        m = BANDAI_NAME.match(path.name)
        if m is None or m["content"] not in L.BANDAI_CONTENTS:
            continue
        found.append((path, m["set"], m["content"], m["style"], int(m["take"])))
    if not found:
        raise MotionLLMError(f"no Bandai-Namco BVH files (dataset-N_CONTENT_STYLE_NNN.bvh) under {root}")
    held_out = bandai_held_out()
    files = []
    for path, s, content, style, take in found:
        if style not in L.MANNER_OF_STYLE:
            raise MotionLLMError(f"{path.name}: unknown Bandai-Namco style {style!r}")
        if (s, content, style) in held_out or (content in TWO_TAKE_TEST and take == 2):
            split = "test"
        elif s == "2" and take % 10 == 0:
            split = "val"
        else:
            split = "train"
        kind, category, side, direction = L.BANDAI_CONTENTS[content]
        files.append(SourceFile(path, f"bandai{s}_{content}_{style}_{take:03d}", split, kind, category, side,
                                direction, L.MANNER_OF_STYLE[style], content, style))
    return files


def _cmu_files(root: Path) -> list[SourceFile]:
    files = []
    for path in sorted(root.rglob("*.txt")):
        folder, action = path.parent.parent.name, path.parent.name
        if folder not in ("train", "test") or action not in L.CMU_ACTIONS:
            continue
        split = "test" if folder == "test" or CMU_EXTRA_TEST.get(action) == path.name else "train"
        kind, category = L.CMU_ACTIONS[action]
        files.append(SourceFile(path, f"cmu_{folder}_{path.stem}", split, kind, category, None,
                                "forward" if category == "locomotion" else None, None, action, None))
    if not files:
        raise MotionLLMError(f"no CMU motion-prediction files (cmu_mocap/train|test/ACTION/*.txt) under {root}")
    return files


FINDERS = {"bandai": _bandai_files, "cmu-prediction": _cmu_files}


# --- one source file -> clips ------------------------------------------------------------------------

def windows(frames: int, window: int = WINDOW, minimum: int = MIN_FRAMES + 1) -> list[tuple[int, int]]:
    """Equal, non-overlapping windows of at most `window` frames covering a take; [] when it is too short."""
    if frames < minimum:
        return []
    n = -(-frames // window)
    bounds = np.linspace(0, frames, n + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= minimum]


def padded(joints: np.ndarray, frames: int) -> tuple[np.ndarray, int]:
    """`joints` held still at both ends up to `frames` frames (standing before and after the gesture); also
    how many frames were added before it."""
    missing = frames - len(joints)
    before = missing // 2
    return np.concatenate([np.repeat(joints[:1], before, 0), joints,
                           np.repeat(joints[-1:], missing - before, 0)]), before


def clips_of(source: SourceFile, licence: str, source_name: str) -> list[dict]:
    """The clips (joints, features, captions, labels) of one source file."""
    joints = read_motion(source.path)
    pad_before = 0
    if PAD_FROM <= len(joints) <= MIN_FRAMES and source.category != "locomotion":
        # Bandai-Namco's "active" raises all last 1-2 s; a frozen stride would float, so only gestures are held
        joints, pad_before = padded(joints, MIN_FRAMES + 1)
    out = []
    spans = windows(len(joints))
    for k, (a, b) in enumerate(spans):
        features = joints_to_features(joints[a:b].astype(np.float32), uniform=True)
        clip_joints = features_to_joints(features).astype(np.float32)
        action = L.action_label(source.kind, source.category, clip_joints, source.side, source.direction,
                                L.SPEED_OF_CONTENT.get(source.content))
        # str hash is salted per process: seed from the name's bytes so captions are reproducible
        rng = np.random.default_rng(list(source.name.encode()) + [k])
        captions = captions_for([action], rng, count=CAPTIONS_PER_CLIP, manner=source.manner)
        name = source.name if len(spans) == 1 else f"{source.name}_w{k}"
        labels = {
            "source": source_name, "file": source.path.name, "content": source.content, "style": source.style,
            "manner": source.manner, "licence": licence, "fps": int(FPS), "num_frames": int(len(clip_joints)),
            "window": [a, b], "padded_before": pad_before, "actions": [action], "id": name, "captions": [c.text for c in captions],
        }
        out.append({"name": name, "split": source.split, "joints": clip_joints,
                    "features": features.astype(np.float32), "captions": captions, "labels": labels})
    return out


def _work(job: tuple) -> list[dict]:
    source, licence, source_name = job
    try:
        return clips_of(source, licence, source_name)
    except MotionLLMError as exc:
        raise MotionLLMError(f"{source.path.name}: {exc}") from None


# --- the dataset ---------------------------------------------------------------------------------------

def _unpacked(archive: Path, tmp: Path) -> Path:
    if archive.is_dir():
        return archive
    if not archive.is_file():
        raise MotionLLMError(f"{archive}: no such file or folder")
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise MotionLLMError(f"{archive}: not a readable tar archive ({exc})") from None
    return tmp


def import_dataset(source: str, archive: str | os.PathLike, out: str | os.PathLike, workers: int | None = None,
                   progress: bool = True, overwrite: bool = False, limit: int | None = None) -> dict:
    """Write the HumanML3D-format dataset of `source` ("bandai" or "cmu-prediction") from `archive` (a
    .tar.xz or its unpacked folder) to `out`. `limit` imports only every n-th file (for quick tests)."""
    from motionllm.console import progress_bar

    if source not in SOURCES:
        raise MotionLLMError(f"unknown source {source!r} (known: {', '.join(SOURCES)})")
    out, archive = Path(out), Path(archive)
    if out.exists() and not out.is_dir():
        raise MotionLLMError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise MotionLLMError(f"{out} is not empty (use --overwrite to replace it)")
    if limit is not None and limit < 1:
        raise MotionLLMError(f"--every must be at least 1, got {limit}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(out.parent, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        raise MotionLLMError(f"cannot write into {out.parent}")
    start = time.perf_counter()
    licence = LICENCES[source]
    with tempfile.TemporaryDirectory(prefix="motionllm-import-") as tmp:
        files = FINDERS[source](_unpacked(archive, Path(tmp)))
        if limit:
            files = files[::limit]
        jobs = [(f, licence, source) for f in files]
        workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
        ids: dict[str, list[str]] = {"train": [], "val": [], "test": []}
        total, total_sq, train_frames = np.zeros(FEATURE_DIM), np.zeros(FEATURE_DIM), 0
        counts: dict[str, int] = {}
        skipped = []
        bar = progress_bar(total=len(jobs), desc=f"import {source}", unit="file", enabled=progress)
        with atomic_dir(out) as dst:
            def write(clips: list[dict], job) -> None:
                nonlocal total, total_sq, train_frames
                if not clips:
                    skipped.append(job[0].path.name)
                for clip in clips:
                    name = clip["name"]
                    save_npy(dst / "new_joints" / f"{name}.npy", clip["joints"])
                    save_npy(dst / "new_joint_vecs" / f"{name}.npy", clip["features"])
                    write_texts(dst / "texts" / f"{name}.txt", clip["captions"])
                    with atomic_path(dst / "labels" / f"{name}.json") as t:
                        t.write_text(json.dumps(clip["labels"], indent=1, sort_keys=True) + "\n", encoding="utf-8")
                    ids[clip["split"]].append(name)
                    kind = clip["labels"]["actions"][0]["type"]
                    counts[kind] = counts.get(kind, 0) + 1
                    if clip["split"] == "train":
                        f = clip["features"].astype(np.float64)
                        total, total_sq = total + f.sum(0), total_sq + (f * f).sum(0)
                        train_frames += len(f)
                bar.update(1)

            try:
                if workers == 1:
                    for job in jobs:
                        write(_work(job), job)
                else:
                    import multiprocessing as mp

                    with mp.get_context("fork").Pool(workers) as pool:
                        for job, clips in zip(jobs, pool.imap(_work, jobs, chunksize=4)):
                            write(clips, job)
            finally:
                bar.close()
            if train_frames == 0:
                raise MotionLLMError("no training clips were imported")
            for name, members in ids.items():
                write_split(dst / f"{name}.txt", sorted(members))
            write_split(dst / "all.txt", sorted(sum(ids.values(), [])))
            mean, std = statistics_from_moments(total, total_sq, train_frames)
            save_npy(dst / "Mean.npy", mean)
            save_npy(dst / "Std.npy", std)
            meta = {"source": source, "archive": archive.name, "licence": licence, "fps": int(FPS),
                    "feature_dim": FEATURE_DIM, "files": len(files), "skipped_short_files": skipped,
                    "splits": {k: len(v) for k, v in ids.items()}, "action_counts": dict(sorted(counts.items())),
                    "format": "HumanML3D (new_joints, new_joint_vecs, texts, splits, Mean/Std) + labels/*.json",
                    "held_out": HELD_OUT[source]}
            with atomic_path(dst / "meta.json") as t:
                t.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return dict(meta, seconds=time.perf_counter() - start, workers=workers)
