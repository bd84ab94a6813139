"""Writing the corpus as a HumanML3D-format dataset.

Each clip is a pure function of (seed, index): compose -> HumanML3D processing (features from the
joints with `joints_to_features(uniform=True)`, then the joints recovered from those features, exactly
how HumanML3D made new_joints) -> plausibility check (a clip that fails is drawn again from
(seed, index, attempt)) -> files. Workers write their clips' files themselves (each file atomically);
the parent gathers train-split feature sums in index order for Mean/Std and writes splits and
meta.json last, so the output is byte-identical for any number of workers.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionllm.corpus import GENERATOR_VERSION
from motionllm.corpus.captions import captions_for
from motionllm.corpus.sequence import MAX_FRAMES, MIN_FRAMES, compose
from motionllm.corpus.terrain import transform
from motionllm.corpus.validate import check_clip
from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_path, save_npy
from motionllm.motion.dataset import Caption, statistics_from_moments, write_split, write_texts
from motionllm.motion.features import FEATURE_DIM, features_to_joints, joints_to_features
from motionllm.motion.skeleton import FPS, JOINT_INDEX, Skeleton

SPLIT_FRACTIONS = (("train", 0.80), ("val", 0.05), ("test", 0.15))
MAX_ATTEMPTS = 20
LEG_CHAIN = [JOINT_INDEX[n] for n in ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                                      "right_ankle", "left_foot", "right_foot")]
COORDINATES_NOTE = ("new_joints coordinates (HumanML3D): metres, Y up, 20 fps, the reference skeleton, the root "
                    "at the XZ origin facing +Z at frame 0, the lowest joint on y = 0; distances and speeds in "
                    "the action labels are in these coordinates; 'body' is the body the motion was generated "
                    "with before HumanML3D's retargeting onto the reference skeleton")


@dataclass
class GeneratedClip:
    index: int
    attempt: int
    joints: np.ndarray          # (T, 22, 3) float32, recovered from the features
    features: np.ndarray        # (T, 263) float32
    captions: list[Caption]
    labels: dict
    metrics: dict


def clip_id(index: int, count: int) -> str:
    return f"{index:0{max(6, len(str(count - 1)))}d}"


def split_of(count: int, seed: int) -> dict[int, str]:
    """Deterministic 80/5/15 split of clip indices (a seeded permutation)."""
    order = np.random.default_rng([seed, 0x5EED]).permutation(count)
    bounds = np.round(np.cumsum([f for _, f in SPLIT_FRACTIONS]) * count).astype(int)
    out, start = {}, 0
    for (name, _), stop in zip(SPLIT_FRACTIONS, bounds):
        for i in order[start:stop]:
            out[int(i)] = name
        start = stop
    return out


def fit_similarity(src: np.ndarray, dst: np.ndarray, scale: float) -> tuple[float, np.ndarray, float]:
    """Yaw and translation (3,) with dst ~ scale * R_y(yaw) src + t for point sets (N, 3); also the
    largest residual (m). HumanML3D's processing moves the leg chain exactly this way."""
    ws = src[:, 2] + 1j * src[:, 0]
    wd = dst[:, 2] + 1j * dst[:, 0]
    cs, cd = ws.mean(), wd.mean()
    yaw = float(np.angle(np.sum(np.conj(ws - cs) * (wd - cd))))
    rot = np.exp(1j * yaw)
    t = cd - scale * rot * cs
    ty = float(np.mean(dst[:, 1] - scale * src[:, 1]))
    pred = scale * rot * ws + t
    residual = max(float(np.abs(pred - wd).max()), float(np.abs(scale * src[:, 1] + ty - dst[:, 1]).max()))
    return yaw, np.array([t.imag, ty, t.real]), residual


def _labels(clip, stored_len: int, seed: int, index: int, attempt: int, terrain: dict | None) -> dict:
    actions = []
    for a in clip.actions:
        a = dict(a)
        a["start_frame"] = int(np.clip(a["start_frame"], 0, stored_len - 1))
        a["end_frame"] = int(np.clip(a["end_frame"], 0, stored_len - 1))
        a["concurrent"] = bool(a.get("concurrent", False))
        actions.append(a)
    return {
        "generator": f"motionllm-corpus {GENERATOR_VERSION}", "seed": seed, "index": index, "attempt": attempt,
        "fps": int(FPS), "num_frames": stored_len, "actions": actions, "terrain": terrain,
        "body": clip.body.summary(), "style": {k: round(float(v), 4) for k, v in clip.style.items()},
        "coordinates": COORDINATES_NOTE,
    }


def make_clip(seed: int, index: int, forced: list[str] | None = None) -> GeneratedClip:
    """Clip `index` of the corpus for `seed` (deterministic), already through HumanML3D processing and
    the plausibility checks. `forced` fixes the action types (for tests and previews)."""
    last_failure = ""
    for attempt in range(MAX_ATTEMPTS):
        rng = np.random.default_rng([seed, index, attempt])
        clip = compose(rng, forced)
        if clip is None:
            last_failure = "too short"
            continue
        features = joints_to_features(clip.joints.astype(np.float32), uniform=True)
        joints = features_to_joints(features)
        if not MIN_FRAMES <= len(joints) <= MAX_FRAMES:
            last_failure = f"{len(joints)} frames"
            continue
        scale = Skeleton().leg_length() / (clip.body.thigh(1) + clip.body.shin(1))
        yaw, shift, residual = fit_similarity(clip.joints[:len(joints), LEG_CHAIN].reshape(-1, 3),
                                              joints[:, LEG_CHAIN].reshape(-1, 3).astype(np.float64), scale)
        terrain = transform(clip.terrain, yaw, shift, scale) if clip.terrain else None
        metrics = check_clip(joints, terrain)
        if residual > 2e-3:
            metrics["failed"].append("retarget")
            metrics["passed"] = False
        if not metrics["passed"]:
            last_failure = ",".join(metrics["failed"])
            continue
        labels = _labels(clip, len(joints), seed, index, attempt, terrain)
        captions = captions_for(labels["actions"], rng, count=int(rng.integers(3, 5)))
        return GeneratedClip(index, attempt, joints.astype(np.float32), features.astype(np.float32), captions,
                             labels, metrics)
    raise MotionLLMError(f"clip {index} (seed {seed}) failed {MAX_ATTEMPTS} attempts, last: {last_failure}")


def write_clip(out: Path, name: str, clip: GeneratedClip) -> None:
    save_npy(out / "new_joints" / f"{name}.npy", clip.joints)
    save_npy(out / "new_joint_vecs" / f"{name}.npy", clip.features)
    write_texts(out / "texts" / f"{name}.txt", clip.captions)
    labels = dict(clip.labels, id=name, captions=[c.text for c in clip.captions])
    with atomic_path(out / "labels" / f"{name}.json") as tmp:
        tmp.write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _work(job: tuple) -> dict:
    out, seed, index, count, want_sums = job
    clip = make_clip(seed, index)
    write_clip(Path(out), clip_id(index, count), clip)
    f = clip.features.astype(np.float64)
    return {"index": index, "frames": len(f), "attempt": clip.attempt,
            "types": [a["type"] for a in clip.labels["actions"]],
            "sums": (f.sum(0), (f * f).sum(0), len(f)) if want_sums else None}


def generate(out: str | os.PathLike, count: int, seed: int, workers: int | None = None,
             progress: bool = True, overwrite: bool = False) -> dict:
    """Write `count` clips to `out`; returns a summary (time, frames, retries, action counts)."""
    from motionllm.console import progress_bar

    out = Path(out)
    if count < 1:
        raise MotionLLMError(f"--count must be at least 1, got {count}")
    if out.exists() and not out.is_dir():
        raise MotionLLMError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise MotionLLMError(f"{out} is not empty (use --overwrite to write into it anyway)")
    workers = max(1, workers or os.cpu_count() or 1)
    splits = split_of(count, seed)
    jobs = [(str(out), seed, i, count, splits[i] == "train") for i in range(count)]
    start = time.perf_counter()
    total = np.zeros(FEATURE_DIM)
    total_sq = np.zeros(FEATURE_DIM)
    n_frames, retries, types = 0, 0, {}
    bar = progress_bar(total=count, desc="corpus", unit="clip", enabled=progress, smoothing=0.05)

    def consume(result):
        nonlocal n_frames, retries, total, total_sq
        n_frames += result["frames"]
        retries += result["attempt"]
        for t in result["types"]:
            types[t] = types.get(t, 0) + 1
        if result["sums"] is not None:
            s, sq, n = result["sums"]
            total += s
            total_sq += sq
            train_frames[0] += n
        bar.update(1)

    train_frames = [0]
    try:
        if workers == 1:
            for job in jobs:
                consume(_work(job))
        else:
            import multiprocessing as mp

            with mp.get_context("fork").Pool(workers) as pool:
                for result in pool.imap(_work, jobs, chunksize=4):  # in index order: sums are deterministic
                    consume(result)
    finally:
        bar.close()
    ids = {name: [clip_id(i, count) for i in range(count) if splits[i] == name] for name, _ in SPLIT_FRACTIONS}
    for name, members in ids.items():
        write_split(out / f"{name}.txt", members)
    write_split(out / "all.txt", [clip_id(i, count) for i in range(count)])
    if train_frames[0] == 0:  # tiny corpora: statistics over everything rather than nothing
        raise MotionLLMError("the train split is empty; use --count 2 or more")
    mean, std = statistics_from_moments(total, total_sq, train_frames[0])
    save_npy(out / "Mean.npy", mean)
    save_npy(out / "Std.npy", std)
    meta = {"generator": f"motionllm-corpus {GENERATOR_VERSION}", "seed": seed, "count": count, "fps": int(FPS),
            "feature_dim": FEATURE_DIM, "splits": {k: len(v) for k, v in ids.items()}, "frames": n_frames,
            "redrawn_clips": retries, "action_counts": dict(sorted(types.items())),
            "format": "HumanML3D (new_joints, new_joint_vecs, texts, splits, Mean/Std) + labels/*.json"}
    with atomic_path(out / "meta.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return dict(meta, seconds=time.perf_counter() - start, workers=workers)
