"""Training and evaluation of the motion VQ-VAE (`motionllm train tokenizer`, `motionllm eval tokenizer`).

Training samples random 64-frame windows of normalised features from the train split; each "epoch" is a
fixed number of steps followed by validation on the val split. A checkpoint (weights, optimiser, step,
loss history) is written after every epoch, and training resumes from it.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_path
from motionllm.models.checkpoint import load_train_state, save_train_state
from motionllm.models.motion_metrics import acceleration_error, codebook_usage, mpjpe, pa_mpjpe
from motionllm.models.vqvae import MotionTokenizer, MotionVQVAE, VQVAEConfig
from motionllm.motion.dataset import HumanML3DDataset
from motionllm.motion.features import RIC, features_to_joints


TRAIN_STATE = "train_state.safetensors"


@dataclass
class TokenizerTrainConfig:
    steps: int = 6000
    steps_per_epoch: int = 500
    batch_size: int = 64
    window: int = 64
    lr: float = 2e-4
    warmup_steps: int = 200
    weight_decay: float = 0.0
    velocity_weight: float = 0.5   # T2M-GPT's loss on the time derivative of joint positions
    seed: int = 0
    threads: int = 0               # 0: torch default
    # Fine-tuning: start from a trained tokenizer (its weights and normalisation) and optionally keep its
    # codebook fixed, so the codes keep their meaning for a motion LLM trained on them.
    init_from: str = ""
    freeze_codebook: bool = False
    model: VQVAEConfig = field(default_factory=VQVAEConfig)


def load_split_features(data: Path, split: str, min_frames: int) -> list[np.ndarray]:
    ds = HumanML3DDataset(data, split, min_frames=min_frames, with_labels=False)
    return [s.features.astype(np.float32) for s in ds if len(s.features) >= min_frames]


def sample_windows(clips: list[np.ndarray], batch: int, window: int, rng: np.random.Generator) -> np.ndarray:
    picks = rng.integers(0, len(clips), batch)
    out = np.empty((batch, window, clips[0].shape[1]), dtype=np.float32)
    for row, i in enumerate(picks):
        start = rng.integers(0, len(clips[i]) - window + 1)
        out[row] = clips[i][start:start + window]
    return out


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, velocity_weight: float) -> torch.Tensor:
    loss = F.smooth_l1_loss(pred, target)
    if velocity_weight:
        dp, dt = pred[:, 1:, RIC] - pred[:, :-1, RIC], target[:, 1:, RIC] - target[:, :-1, RIC]
        loss = loss + velocity_weight * F.smooth_l1_loss(dp, dt)
    return loss


def evaluate_tokenizer(tokenizer: MotionTokenizer, clips: list[np.ndarray], max_clips: int | None = None) -> dict:
    """MPJPE, PA-MPJPE, acceleration error (mm) and codebook usage over whole clips."""
    errors = {"mpjpe_mm": [], "pa_mpjpe_mm": [], "accel_error_mm": []}
    tokens = []
    for features in clips[:max_clips]:
        ids = tokenizer.encode(features)
        tokens.append(ids)
        rec = features_to_joints(tokenizer.decode(ids))
        ref = features_to_joints(features[: len(rec)])
        errors["mpjpe_mm"].append(mpjpe(rec, ref))
        errors["pa_mpjpe_mm"].append(pa_mpjpe(rec, ref))
        errors["accel_error_mm"].append(acceleration_error(rec, ref))
    result = {k: float(np.mean(v)) for k, v in errors.items()}
    result.update(codebook_usage(np.concatenate(tokens), tokenizer.config.num_codes))
    result["clips"] = len(tokens)
    return result


def _lr_at(step: int, cfg: TokenizerTrainConfig) -> float:
    warm = min(1.0, (step + 1) / max(cfg.warmup_steps, 1))
    decay = 0.5 * (1 + np.cos(np.pi * min(step / max(cfg.steps, 1), 1.0)))  # cosine to 10% of lr
    return cfg.lr * warm * (0.1 + 0.9 * decay)


def _plot_history(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    steps = [h["step"] for h in history]
    ax1.plot(steps, [h["train_loss"] for h in history], label="train")
    ax1.plot(steps, [h["val_loss"] for h in history], label="val")
    ax1.set_xlabel("step"); ax1.set_ylabel("reconstruction loss"); ax1.set_yscale("log"); ax1.legend()
    ax2.plot(steps, [h["val_mpjpe_mm"] for h in history], color="C2")
    ax2.set_xlabel("step"); ax2.set_ylabel("val MPJPE (mm)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)


def train_tokenizer(data: Path, out: Path, cfg: TokenizerTrainConfig, resume: bool = True, progress: bool = True) -> dict:
    from motionllm.console import progress_bar

    from motionllm.motion.dataset import feature_statistics

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train = load_split_features(data, "train", cfg.window)
    val = load_split_features(data, "val", cfg.window)
    if not train or not val:
        raise MotionLLMError(f"{data}: need train and val clips of at least {cfg.window} frames")
    if cfg.freeze_codebook and not cfg.init_from:
        raise MotionLLMError("--freeze-codebook needs --init-from: a trained tokenizer whose codebook to keep")
    start = MotionTokenizer.load(cfg.init_from) if cfg.init_from else None
    mean_path, std_path = data / "Mean.npy", data / "Std.npy"
    if start is not None:  # its normalisation: the encoder was trained on it
        mean, std = start.mean, start.std
        cfg.model = start.config
    elif mean_path.is_file() and std_path.is_file():
        mean, std = np.load(mean_path), np.load(std_path)
    else:
        mean, std = feature_statistics(train)
    norm = lambda x: (x - mean) / std  # noqa: E731
    train = [norm(c).astype(np.float32) for c in train]
    val_windows = norm(sample_windows(val, 256, cfg.window, np.random.default_rng(1))).astype(np.float32)

    model = MotionVQVAE(cfg.model)
    if start is not None:
        model.load_state_dict(start.model.state_dict())
    model.quantizer.frozen = cfg.freeze_codebook
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state_path = out / TRAIN_STATE
    step, history = 0, []
    if resume and state_path.is_file():
        progress = load_train_state(state_path, model, optimiser)
        step, history = int(progress["step"]), progress["history"]
        rng = np.random.default_rng([cfg.seed, step])
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))

    bar = progress_bar(total=cfg.steps, initial=step, desc="train tokenizer", unit="step", enabled=progress)
    model.train()
    running, started = [], time.time()
    while step < cfg.steps:
        for group in optimiser.param_groups:
            group["lr"] = _lr_at(step, cfg)
        batch = torch.from_numpy(sample_windows(train, cfg.batch_size, cfg.window, rng))
        recon, commit, _, perplexity = model(batch)
        loss = reconstruction_loss(recon, batch, cfg.velocity_weight) + cfg.model.commit_weight * commit
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        running.append(loss.item())
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(running[-50:]):.4f}", ppl=f"{float(perplexity):.0f}")
        if step % cfg.steps_per_epoch == 0 or step == cfg.steps:
            record = _validate(model, val_windows, val, mean, std, cfg)
            record.update(step=step, train_loss=float(np.mean(running)), seconds=time.time() - started)
            history.append(record)
            running = []
            bar.write(f"step {step}: train {record['train_loss']:.4f}  val {record['val_loss']:.4f}  "
                      f"val MPJPE {record['val_mpjpe_mm']:.1f} mm  codes used {record['used_percent']:.0f}%")
            _save_checkpoint(model, optimiser, step, history, mean, std, out)
            model.train()
    bar.close()
    return history[-1] if history else {}


@torch.no_grad()
def _validate(model, val_windows, val_clips, mean, std, cfg) -> dict:
    model.eval()
    x = torch.from_numpy(val_windows)
    recon, _, _, _ = model(x)
    val_loss = float(reconstruction_loss(recon, x, cfg.velocity_weight))
    metrics = evaluate_tokenizer(MotionTokenizer(model, mean, std), val_clips, max_clips=64)
    return {"val_loss": val_loss, "val_mpjpe_mm": metrics["mpjpe_mm"], "used_percent": metrics["used_percent"],
            "perplexity": metrics["perplexity"]}


def _save_checkpoint(model, optimiser, step, history, mean, std, out: Path) -> None:
    MotionTokenizer(model, mean, std).save(out)
    save_train_state(out / TRAIN_STATE, model, optimiser, {"step": step, "history": history})
    with atomic_path(out / "history.json") as tmp:
        tmp.write_text(json.dumps(history, indent=2))
    _plot_history(history, out / "loss.png")
