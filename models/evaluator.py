"""The text-motion evaluator: a text encoder and a motion encoder trained contrastively into one space.

This plays the role of the T2M evaluator (GloVe + BiGRU / conv + BiGRU, 512-d) for our corpus: the text
side is frozen all-MiniLM-L6-v2 sentence embeddings followed by a trained projection; the motion side a
convolutional + bidirectional GRU encoder over normalised features without foot contacts. Both outputs
are unit vectors (scaled by `embed_scale`, so Euclidean distances have the T2M range of a few units).
Frozen once trained; trained on the train split only, with early stopping on the val split.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_path
from motionllm.motion.features import CONTACT, FEATURE_DIM

MOTION_DIM = FEATURE_DIM - (CONTACT.stop - CONTACT.start)  # contacts are dropped, as in T2M's evaluator


@dataclass
class EvaluatorConfig:
    text_dim: int = 384
    motion_dim: int = MOTION_DIM
    hidden: int = 256
    embed_dim: int = 512
    embed_scale: float = 3.0   # unit embeddings x scale: MM-Dist in the same range as T2M's (~3)
    temperature: float = 0.07
    version: str = "1"


class TextProjection(nn.Module):
    def __init__(self, c: EvaluatorConfig):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(c.text_dim, c.hidden * 2), nn.GELU(), nn.Linear(c.hidden * 2, c.embed_dim))

    def forward(self, sentence_embeddings):
        return F.normalize(self.net(sentence_embeddings), dim=-1)


class MotionEncoder(nn.Module):
    def __init__(self, c: EvaluatorConfig):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(c.motion_dim, c.hidden, 4, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Dropout(0.1),
            nn.Conv1d(c.hidden, c.hidden, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        )
        self.gru = nn.GRU(c.hidden, c.hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(c.hidden * 2, c.embed_dim)

    def forward(self, features, lengths):
        """features (B, T, motion_dim) normalised, zero-padded; lengths (B,) in frames."""
        h = self.conv(features.permute(0, 2, 1)).permute(0, 2, 1)
        steps = torch.clamp(torch.as_tensor(lengths) // 4, min=1, max=h.shape[1])
        packed = nn.utils.rnn.pack_padded_sequence(h, steps.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed)  # (2, B, hidden): final states of both directions
        return F.normalize(self.out(torch.cat([last[0], last[1]], dim=-1)), dim=-1)


class Evaluator(nn.Module):
    WEIGHTS, CONFIG, STATS = "model.safetensors", "config.json", "stats.npz"

    def __init__(self, config: EvaluatorConfig, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.config = config
        self.text = TextProjection(config)
        self.motion = MotionEncoder(config)
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, dtype=np.float32)))
        self.register_buffer("std", torch.as_tensor(np.asarray(std, dtype=np.float32)))

    def normalise(self, features: np.ndarray) -> np.ndarray:
        keep = np.r_[0:CONTACT.start]
        return ((features - self.mean.numpy()) / self.std.numpy())[:, keep].astype(np.float32)

    def motion_batch(self, clips: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = torch.tensor([len(c) for c in clips])
        batch = torch.zeros(len(clips), int(lengths.max()), self.config.motion_dim)
        for i, clip in enumerate(clips):
            batch[i, : len(clip)] = torch.from_numpy(self.normalise(clip))
        return batch, lengths

    @torch.no_grad()
    def embed_motions(self, clips: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """Feature clips (T, 263) -> (N, embed_dim) scaled unit vectors."""
        self.eval()
        out = []
        for start in range(0, len(clips), batch_size):
            x, lengths = self.motion_batch(clips[start:start + batch_size])
            out.append(self.motion(x, lengths).numpy())
        return np.concatenate(out) * self.config.embed_scale

    @torch.no_grad()
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        from motionllm.models.text_embedding import embed_texts

        self.eval()
        return self.text(torch.from_numpy(embed_texts(texts))).numpy() * self.config.embed_scale

    def save(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in self.state_dict().items() if k not in ("mean", "std")}
        with atomic_path(directory / self.WEIGHTS) as tmp:
            save_file(state, str(tmp))
        with atomic_path(directory / self.CONFIG) as tmp:
            tmp.write_text(json.dumps(asdict(self.config), indent=2))
        with atomic_path(directory / self.STATS) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, mean=self.mean.numpy(), std=self.std.numpy())

    @classmethod
    def load(cls, directory: str | Path) -> "Evaluator":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        directory = Path(directory)
        try:
            config = EvaluatorConfig(**json.loads((directory / cls.CONFIG).read_text()))
            stats = np.load(directory / cls.STATS, allow_pickle=False)
            model = cls(config, stats["mean"], stats["std"])
            missing, unexpected = model.load_state_dict(load_file(str(directory / cls.WEIGHTS)), strict=False)
            if unexpected or set(missing) - {"mean", "std"}:
                raise ValueError(f"weights do not match the config (missing {missing}, unexpected {unexpected})")
            return model.eval()
        except (OSError, ValueError, KeyError, RuntimeError, TypeError, SafetensorError) as exc:
            raise MotionLLMError(f"cannot load evaluator from {directory}: {exc}") from None


def contrastive_loss(text: torch.Tensor, motion: torch.Tensor, temperature: float,
                     same_text: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE; pairs whose captions are identical are not treated as negatives."""
    logits = text @ motion.t() / temperature
    if same_text is not None:
        logits = logits.masked_fill(same_text & ~torch.eye(len(text), dtype=torch.bool), float("-inf"))
    target = torch.arange(len(text))
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
