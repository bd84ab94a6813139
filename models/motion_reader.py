"""The motion reader: what the LLM sees of a motion it is shown, besides the motion tokens themselves.

A motion span reaches the LLM as one embedding row per VQ code. To say what a person does, the LLM must compose
those rows into actions inside its own layers, and that is slow to learn with a few hundred CPU steps of LoRA
(measured: the Q&A loss hardly changes when the model is shown another clip's motion). MotionLLM instead feeds
the LLM the states of a motion encoder through a projection. The reader does that over our tokens:

- a bidirectional GRU over the dequantised codebook vectors of a span gives one state per token that knows the
  whole span (what action this is, what came before and after);
- it is pretrained contrastively against caption sentence embeddings (MiniLM, as the evaluator's text side), so
  its states carry the actions before the LLM ever sees them (`motionllm train reader`, minutes on a CPU);
- inside the LLM (MotionLLM.read), each state goes through a trained linear projection, initialised at zero,
  and is added to the code's input row. A model with a fresh reader therefore starts exactly where it was.

It reads only spans the model is *shown* (closed in its input); spans it writes get no reader states, so text-to-
motion decoding stays causal. The reader is a separate network from the evaluator (its own weights and training
run, over codes rather than features), so the evaluator still judges it from outside.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_path
from motionllm.models.evaluator import TextProjection, contrastive_loss

WEIGHTS, CONFIG = "reader.safetensors", "reader_config.json"


@dataclass
class MotionReaderConfig:
    num_codes: int = 512
    code_dim: int = 256        # the motion tokenizer's codebook vectors
    hidden: int = 256          # per direction: states are 2 x hidden
    text_dim: int = 384        # MiniLM sentence embeddings
    embed_dim: int = 512
    temperature: float = 0.07

    @property
    def state_dim(self) -> int:
        return 2 * self.hidden


class MotionReader(nn.Module):
    def __init__(self, config: MotionReaderConfig, codebook: torch.Tensor):
        super().__init__()
        self.config = config
        if tuple(codebook.shape) != (config.num_codes, config.code_dim):
            raise MotionLLMError(f"codebook of shape {tuple(codebook.shape)}, the reader expects "
                                 f"({config.num_codes}, {config.code_dim})")
        self.register_buffer("codebook", codebook.detach().clone().float())
        self.input = nn.Sequential(nn.Linear(config.code_dim, config.hidden), nn.GELU())
        self.gru = nn.GRU(config.hidden, config.hidden, batch_first=True, bidirectional=True)
        self.pool = nn.Linear(config.state_dim, config.embed_dim)   # contrastive pretraining only
        self.text = TextProjection(_text_side(config))               # contrastive pretraining only

    def states(self, codes: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """codes (B, L) code indices, zero-padded; lengths (B,) -> (B, L, state_dim), zero past each length."""
        x = self.input(self.codebook[codes])
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=codes.shape[1])
        return out

    def embed(self, codes: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """One unit vector per span (mean of its states), in the caption embeddings' space."""
        s = self.states(codes, lengths)
        mean = s.sum(1) / lengths[:, None].to(s.dtype)
        return F.normalize(self.pool(mean), dim=-1)

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(directory / WEIGHTS) as tmp:
            save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(tmp))
        with atomic_path(directory / CONFIG) as tmp:
            tmp.write_text(json.dumps(asdict(self.config), indent=2))

    @classmethod
    def load(cls, directory: Path) -> "MotionReader":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        directory = Path(directory)
        try:
            config = MotionReaderConfig(**json.loads((directory / CONFIG).read_text()))
            tensors = load_file(str(directory / WEIGHTS))
            reader = cls(config, tensors["codebook"])
            reader.load_state_dict(tensors)
        except (OSError, ValueError, TypeError, KeyError, RuntimeError, SafetensorError) as exc:
            raise MotionLLMError(f"cannot load the motion reader from {directory}: {exc}") from None
        return reader.eval()


def _text_side(config: MotionReaderConfig):
    from motionllm.models.evaluator import EvaluatorConfig

    return EvaluatorConfig(text_dim=config.text_dim, hidden=config.hidden, embed_dim=config.embed_dim)


def pad_codes(spans: list[np.ndarray | torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(s) for s in spans], dtype=torch.long)
    codes = torch.zeros(len(spans), int(lengths.max()), dtype=torch.long)
    for i, s in enumerate(spans):
        codes[i, : len(s)] = torch.as_tensor(np.asarray(s), dtype=torch.long)
    return codes, lengths


# ---------------------------------------------------------------- contrastive pretraining

@dataclass
class ReaderTrainConfig:
    steps: int = 600
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    model: MotionReaderConfig = field(default_factory=MotionReaderConfig)


def train_reader(data: Path, out: Path, cfg: ReaderTrainConfig, tokenizer_dir: Path, progress: bool = True) -> dict:
    """Pretrain a reader on the train split's codes and captions; keep the best val R@3 (then R@1)."""
    from tqdm import tqdm

    from motionllm.models.evaluator_training import caption_embeddings
    from motionllm.models.llm_training import load_clips
    from motionllm.models.metrics import r_precision
    from motionllm.models.vqvae import MotionTokenizer

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    tokenizer = MotionTokenizer.load(tokenizer_dir)
    cfg.model.num_codes, cfg.model.code_dim = tokenizer.model.quantizer.codebook.shape
    cache = Path(out) / "cache"
    splits = {}
    for split in ("train", "val"):
        clips = load_clips(data, split, tokenizer, tokenizer_dir, cache, max_tokens=10**6, progress=progress)
        splits[split] = (clips, caption_embeddings([c.captions for c in clips], split, cache, progress))
    train, train_text = splits["train"]
    val, val_text = splits["val"]
    if len(train) < cfg.batch_size or len(val) < 32:
        raise MotionLLMError(f"{data}: too few clips to train the reader ({len(train)} train, {len(val)} val)")
    reader = MotionReader(cfg.model, tokenizer.model.quantizer.codebook)
    optimiser = torch.optim.AdamW([p for p in reader.parameters() if p.requires_grad], lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, cfg.lr, total_steps=cfg.steps)

    def batch(clips, texts, idx, r):
        picks = [int(r.integers(len(texts[i]))) for i in idx]
        same = torch.tensor([[clips[a].captions[pa] == clips[b].captions[pb] for b, pb in zip(idx, picks)]
                             for a, pa in zip(idx, picks)])
        text = torch.from_numpy(np.stack([texts[i][k] for i, k in zip(idx, picks)]))
        return pad_codes([clips[i].codes for i in idx]), text, same

    @torch.no_grad()
    def validate(seed: int) -> dict:
        reader.eval()
        (codes, lengths), text, _ = batch(val, val_text, np.arange(len(val)), np.random.default_rng(seed))
        r = r_precision(reader.text(text).numpy(), reader.embed(codes, lengths).numpy(), np.random.default_rng(seed))
        reader.train()
        return {"val_R@1": float(r[0]), "val_R@3": float(r[2])}

    history, best, losses, started = [], (-1.0, -1.0), [], time.time()
    eval_every = max(1, cfg.steps // 4)
    bar = tqdm(range(cfg.steps), desc="train reader", unit="step", disable=not progress)
    reader.train()
    for step in bar:
        idx = rng.choice(len(train), cfg.batch_size, replace=False)
        (codes, lengths), text, same = batch(train, train_text, idx, rng)
        loss = contrastive_loss(reader.text(text), reader.embed(codes, lengths), cfg.model.temperature, same)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        if (step + 1) % eval_every == 0 or step + 1 == cfg.steps:
            record = {"step": step + 1, "train_loss": float(np.mean(losses)), "seconds": time.time() - started,
                      **validate(step)}
            losses = []
            history.append(record)
            bar.write(json.dumps(record))
            if (record["val_R@3"], record["val_R@1"]) > best:
                best = (record["val_R@3"], record["val_R@1"])
                reader.save(out)
    with atomic_path(Path(out) / "reader_history.json") as tmp:
        tmp.write_text(json.dumps({"config": asdict(cfg), "history": history}, indent=2))
    return max(history, key=lambda r: (r["val_R@3"], r["val_R@1"]))
