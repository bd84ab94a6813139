"""Scoring generated results with the evaluator: `motionllm eval t2m` and `motionllm eval m2t`.

Results files are JSON Lines, so any generator (ours or a baseline) can be scored:

text-to-motion, one generated motion per line:
    {"text": "a person waves.", "motion": "gen/000.npy", "prompt_id": "000123"}
  `motion` is a joints (T, 22, 3) or features (T, 263) .npy path (relative to the results file);
  lines sharing a `prompt_id` (default: the text) are samples of one prompt, for MultiModality.

motion-to-text, one generated caption per line:
    {"caption": "a person waves.", "motion": "m.npy" | "id": "000123", "references": [...]}
  with `id`, the motion and the reference captions come from the dataset (--data); otherwise give both.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import numpy as np

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.models.evaluator import Evaluator
from motionllm.models.metrics import caption_scores, r_precision, repeated, text_motion_scores


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MotionLLMError(f"cannot read results file {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MotionFormatError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise MotionFormatError(f"{path}:{number}: each line must be a JSON object")
        rows.append(row)
    if not rows:
        raise MotionFormatError(f"{path}: no results in file")
    return rows


def load_motion_features(path: Path) -> np.ndarray:
    from motionllm.motion.features import FEATURE_DIM, check_features, joints_to_features

    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MotionFormatError(f"cannot read motion {path}: {exc}") from None
    if array.ndim == 2 and array.shape[1] == FEATURE_DIM:
        return check_features(array, str(path)).astype(np.float32)
    return joints_to_features(array)


def score_text_to_motion(evaluator: Evaluator, texts: list[str], motions: list[np.ndarray],
                         real_motions: list[np.ndarray], prompt_ids: list[str] | None = None) -> dict:
    text_emb = evaluator.embed_texts(texts)
    motion_emb = evaluator.embed_motions(motions)
    real_emb = evaluator.embed_motions(real_motions)
    per_prompt = None
    if prompt_ids is not None:
        groups: OrderedDict[str, list[int]] = OrderedDict()
        for i, pid in enumerate(prompt_ids):
            groups.setdefault(pid, []).append(i)
        sizes = {len(g) for g in groups.values()}
        if len(sizes) == 1 and sizes.pop() > 1:
            per_prompt = np.stack([motion_emb[g] for g in groups.values()])
            first = [g[0] for g in groups.values()]  # retrieval and FID use one sample per prompt
            text_emb, motion_emb = text_emb[first], motion_emb[first]
    return text_motion_scores(text_emb, motion_emb, real_emb, per_prompt)


def score_motion_to_text(evaluator: Evaluator, captions: list[str], references: list[list[str]],
                         motions: list[np.ndarray]) -> dict:
    scores = {k: (v, 0.0) for k, v in caption_scores(captions, references).items()}
    text_emb, motion_emb = evaluator.embed_texts(captions), evaluator.embed_motions(motions)
    if len(captions) >= 32:
        r, ci = repeated(lambda g: r_precision(text_emb, motion_emb, g))
        for k in range(3):
            scores[f"R@{k + 1}"] = (float(r[k]), float(ci[k]))
    scores["MM-Dist"] = (float(np.linalg.norm(text_emb - motion_emb, axis=1).mean()), 0.0)
    return scores


def format_table(title: str, rows: dict[str, dict]) -> str:
    """rows: name -> {metric: (mean, ci)} -> a plain-text table like the papers'."""
    metrics = list(OrderedDict.fromkeys(k for r in rows.values() for k in r))
    width = max(len(n) for n in rows) + 2
    lines = [title, "".join([" " * width] + [f"{m:>18s}" for m in metrics])]
    for name, row in rows.items():
        cells = []
        for m in metrics:
            if m not in row:
                cells.append(f"{'-':>18s}")
                continue
            mean, ci = row[m]
            cells.append(f"{mean:>10.3f} ±{ci:6.3f}" if ci else f"{mean:>18.3f}")
        lines.append(f"{name:<{width}s}" + "".join(cells))
    return "\n".join(lines)
