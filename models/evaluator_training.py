"""Contrastive training of the text-motion evaluator (`motionllm train evaluator`).

Caption sentence embeddings are computed once (MiniLM is frozen) and cached beside the output. Each step
draws a batch of motions from the train split with one of their captions at random. Validation on the
val split after every epoch; the best epoch by val R@3 (then R@1) is kept.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_path, save_npy
from motionllm.models.evaluator import Evaluator, EvaluatorConfig, contrastive_loss
from motionllm.models.metrics import r_precision
from motionllm.motion.dataset import HumanML3DDataset


@dataclass
class EvaluatorTrainConfig:
    epochs: int = 3
    steps_per_epoch: int = 200
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    model: EvaluatorConfig = field(default_factory=EvaluatorConfig)


@dataclass
class PairedSplit:
    clips: list[np.ndarray]
    texts: list[list[str]]          # captions per clip
    text_embeddings: list[np.ndarray]  # (n_captions, 384) per clip


def load_paired_split(data: Path, split: str, cache_dir: Path, progress: bool = True) -> PairedSplit:
    ds = HumanML3DDataset(data, split, with_labels=False)
    clips = [s.features.astype(np.float32) for s in ds]
    texts = [[c.text for c in s.captions] for s in ds]
    return PairedSplit(clips, texts, caption_embeddings(texts, split, cache_dir, progress))


def caption_embeddings(texts: list[list[str]], split: str, cache_dir: Path, progress: bool = True) -> list[np.ndarray]:
    """MiniLM embeddings (n_captions, 384) of each clip's captions, cached by the captions' hash."""
    from motionllm.models.text_embedding import embed_texts

    flat = [t for group in texts for t in group]
    key = hashlib.sha256("\n".join(flat).encode()).hexdigest()[:16]
    cache = Path(cache_dir) / f"minilm_{split}_{key}.npy"
    if cache.is_file():
        vectors = np.load(cache)
    else:
        vectors = embed_texts(flat, progress=progress)
        save_npy(cache, vectors)
    return np.split(vectors, np.cumsum([len(g) for g in texts])[:-1])


def _batch(split: PairedSplit, idx: np.ndarray, rng: np.random.Generator):
    picks = [rng.integers(len(split.texts[i])) for i in idx]
    text = np.stack([split.text_embeddings[i][k] for i, k in zip(idx, picks)])
    captions = [split.texts[i][k] for i, k in zip(idx, picks)]
    return [split.clips[i] for i in idx], torch.from_numpy(text), captions


@torch.no_grad()
def validate(model: Evaluator, split: PairedSplit, rng: np.random.Generator) -> dict:
    model.eval()
    idx = np.arange(len(split.clips))
    clips, text, _ = _batch(split, idx, rng)
    motion_emb = model.embed_motions(clips)
    text_emb = model.text(text).numpy() * model.config.embed_scale
    r = r_precision(text_emb, motion_emb, rng)
    return {"val_R@1": float(r[0]), "val_R@3": float(r[2])}


def train_evaluator(data: Path, out: Path, cfg: EvaluatorTrainConfig, progress: bool = True) -> dict:
    from motionllm.console import progress_bar

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    out.mkdir(parents=True, exist_ok=True)
    train = load_paired_split(data, "train", out / "cache", progress)
    val = load_paired_split(data, "val", out / "cache", progress)
    if len(train.clips) < cfg.batch_size or len(val.clips) < 32:
        raise MotionLLMError(f"{data}: too few clips to train the evaluator "
                             f"({len(train.clips)} train, {len(val.clips)} val)")
    mean_path, std_path = data / "Mean.npy", data / "Std.npy"
    if not (mean_path.is_file() and std_path.is_file()):
        raise MotionLLMError(f"{data}: Mean.npy/Std.npy missing")
    model = Evaluator(cfg.model, np.load(mean_path), np.load(std_path))
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, cfg.lr, total_steps=cfg.epochs * cfg.steps_per_epoch)
    history, best = [], (-1.0, -1.0)
    started = time.time()
    for epoch in range(cfg.epochs):
        model.train()
        losses = []
        bar = progress_bar(range(cfg.steps_per_epoch), desc=f"evaluator epoch {epoch + 1}/{cfg.epochs}",
                           enabled=progress)
        for _ in bar:
            idx = rng.choice(len(train.clips), cfg.batch_size, replace=False)
            clips, text, captions = _batch(train, idx, rng)
            x, lengths = model.motion_batch(clips)
            same = torch.tensor([[a == b for b in captions] for a in captions])
            loss = contrastive_loss(model.text(text), model.motion(x, lengths), cfg.model.temperature, same)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "seconds": time.time() - started}
        record.update(validate(model, val, np.random.default_rng(epoch)))
        history.append(record)
        print(json.dumps(record), flush=True)
        score = (record["val_R@3"], record["val_R@1"])  # R@3 saturates on our corpus: R@1 breaks ties
        if score > best:
            best = score
            model.save(out)
    with atomic_path(out / "history.json") as tmp:
        tmp.write_text(json.dumps({"config": asdict(cfg), "history": history}, indent=2))
    return max(history, key=lambda r: (r["val_R@3"], r["val_R@1"]))
