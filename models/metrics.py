"""The standard text-motion evaluation protocol (T2M / TM2T), on evaluator embeddings.

R-precision (batches of 32, top-1/2/3), MM-Dist, FID, Diversity (300 pairs) and MultiModality
(10 pairs per prompt), each repeated 20 times and reported as mean +- 1.96 sigma / sqrt(20); and the
caption metrics BLEU@1/@4, ROUGE-L, CIDEr from pycocoevalcap (the scorers the papers use).
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
from scipy import linalg

R_PRECISION_BATCH = 32
TOP_K = 3
DIVERSITY_PAIRS = 300
MULTIMODALITY_PAIRS = 10
REPEATS = 20


def distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between rows of a (N, D) and b (M, D)."""
    d2 = (a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None]
    return np.sqrt(np.maximum(d2, 0.0))


def r_precision(text: np.ndarray, motion: np.ndarray, rng: np.random.Generator,
                batch: int = R_PRECISION_BATCH, top_k: int = TOP_K) -> np.ndarray:
    """Top-1..k retrieval accuracy of the matched motion among `batch` motions, over shuffled batches."""
    order = rng.permutation(len(text))
    hits, counted = np.zeros(top_k), 0
    for start in range(0, len(order) - batch + 1, batch):
        idx = order[start:start + batch]
        dist = distance_matrix(text[idx], motion[idx])
        rank = (dist < np.diag(dist)[:, None]).sum(axis=1)  # how many motions beat the matched one
        hits += np.array([(rank < k).sum() for k in range(1, top_k + 1)])
        counted += batch
    return hits / max(counted, 1)


def mm_dist(text: np.ndarray, motion: np.ndarray) -> float:
    return float(np.linalg.norm(text - motion, axis=1).mean())


def gaussian(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return emb.mean(axis=0), np.cov(emb, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * 1e-6
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = covmean.real
    value = ((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)
    return float(max(value, 0.0))  # tiny negatives are round-off


def fid(real: np.ndarray, generated: np.ndarray) -> float:
    return frechet_distance(*gaussian(real), *gaussian(generated))


def diversity(emb: np.ndarray, rng: np.random.Generator, pairs: int = DIVERSITY_PAIRS) -> float:
    pairs = min(pairs, len(emb))
    a, b = rng.choice(len(emb), pairs, replace=False), rng.choice(len(emb), pairs, replace=False)
    return float(np.linalg.norm(emb[a] - emb[b], axis=1).mean())


def multimodality(per_prompt: np.ndarray, rng: np.random.Generator, pairs: int = MULTIMODALITY_PAIRS) -> float:
    """per_prompt (P, S, D): S generated samples for each of P prompts."""
    s = per_prompt.shape[1]
    a, b = rng.integers(0, s, pairs), rng.integers(0, s, pairs)
    return float(np.linalg.norm(per_prompt[:, a] - per_prompt[:, b], axis=-1).mean())


def repeated(fn: Callable[[np.random.Generator], float | np.ndarray], repeats: int = REPEATS, seed: int = 0):
    """Run fn with `repeats` generators; return (mean, 95% interval half-width) as in the papers."""
    values = np.array([fn(np.random.default_rng([seed, r])) for r in range(repeats)], dtype=np.float64)
    return values.mean(axis=0), 1.96 * values.std(axis=0) / np.sqrt(repeats)


def text_motion_scores(text_emb: np.ndarray, motion_emb: np.ndarray, real_motion_emb: np.ndarray,
                       per_prompt: np.ndarray | None = None, repeats: int = REPEATS) -> dict:
    """The T2M table row for (caption, motion) pairs; real_motion_emb is the reference distribution for FID."""
    scores = {}
    r, r_ci = repeated(lambda g: r_precision(text_emb, motion_emb, g), repeats)
    for k in range(TOP_K):
        scores[f"R@{k + 1}"] = (float(r[k]), float(r_ci[k]))
    scores["FID"] = (fid(real_motion_emb, motion_emb), 0.0)
    scores["MM-Dist"] = (mm_dist(text_emb, motion_emb), 0.0)
    scores["Diversity"] = tuple(map(float, repeated(lambda g: diversity(motion_emb, g), repeats)))
    if per_prompt is not None and per_prompt.shape[1] > 1:
        scores["MultiModality"] = tuple(map(float, repeated(lambda g: multimodality(per_prompt, g), repeats)))
    return scores


_PUNCT = re.compile(r"[^a-z0-9' ]+")


def tokenize_caption(text: str) -> str:
    """Lower-case, punctuation split off — what the PTB tokenizer does for these plain captions."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def caption_scores(candidates: list[str], references: list[list[str]], semantic: bool = True) -> dict:
    """Corpus-level BLEU@1/@4, ROUGE-L, CIDEr (x100, like TM2T/MotionGPT tables) and MiniLM similarity."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    res = {i: [tokenize_caption(c)] for i, c in enumerate(candidates)}
    gts = {i: [tokenize_caption(r) for r in refs] for i, refs in enumerate(references)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    rouge, _ = Rouge().compute_score(gts, res)
    cider, _ = Cider().compute_score(gts, res)
    scores = {"BLEU@1": 100 * bleu[0], "BLEU@4": 100 * bleu[3], "ROUGE-L": 100 * rouge, "CIDEr": 100 * cider}
    if semantic:
        from motionllm.models.text_embedding import semantic_similarity

        scores["SemSim"] = 100 * semantic_similarity(candidates, references)
    return {k: float(v) for k, v in scores.items()}
