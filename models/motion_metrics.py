"""Reconstruction metrics between two joint motions (T, 22, 3) in metres, reported in millimetres."""
from __future__ import annotations

import numpy as np


def root_aligned(joints: np.ndarray) -> np.ndarray:
    return joints - joints[:, :1]


def mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint position error after aligning the roots, in mm."""
    return float(np.linalg.norm(root_aligned(pred) - root_aligned(target), axis=-1).mean() * 1000)


def procrustes_align(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per frame, the similarity transform (rotation, scale, translation) of pred that best fits target."""
    mu_p, mu_t = pred.mean(axis=1, keepdims=True), target.mean(axis=1, keepdims=True)
    p, t = pred - mu_p, target - mu_t
    u, s, vt = np.linalg.svd(np.einsum("fji,fjk->fik", p, t))
    d = np.sign(np.linalg.det(np.einsum("fij,fjk->fik", u, vt)))
    s[:, -1] *= d
    u[:, :, -1] *= d[:, None]
    rotation = np.einsum("fij,fjk->fik", u, vt)
    scale = s.sum(axis=1) / (p**2).sum(axis=(1, 2))
    return scale[:, None, None] * np.einsum("fji,fik->fjk", p, rotation) + mu_t


def pa_mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """MPJPE after per-frame Procrustes alignment, in mm."""
    return float(np.linalg.norm(procrustes_align(pred, target) - target, axis=-1).mean() * 1000)


def acceleration_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean error of joint accelerations (second differences, per frame^2), in mm."""
    accel = lambda j: j[2:] - 2 * j[1:-1] + j[:-2]  # noqa: E731
    return float(np.linalg.norm(accel(pred) - accel(target), axis=-1).mean() * 1000)


def codebook_usage(tokens: np.ndarray, num_codes: int) -> dict:
    counts = np.bincount(np.asarray(tokens).ravel(), minlength=num_codes).astype(np.float64)
    probs = counts / max(counts.sum(), 1)
    nonzero = probs[probs > 0]
    return {"perplexity": float(np.exp(-(nonzero * np.log(nonzero)).sum())),
            "used_percent": float(100 * (counts > 0).mean())}
