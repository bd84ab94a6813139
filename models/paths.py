"""Where datasets and trained weights live by default."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Weights our own training commands produce and the repository ships (small, regenerable: see README).
SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "weights"
DEFAULT_CORPUS = REPO / "data" / "corpus"


def shipped(name: str) -> Path:
    return SHIPPED_WEIGHTS / name
