"""Motion VQ-VAE: HumanML3D features <-> discrete motion tokens (the vocabulary the LLM speaks).

Architecture of T2M-GPT / MotionGPT: a 1-D convolutional encoder with dilated residual blocks and
temporal downsampling by 2**down_t (4 by default), a codebook with EMA updates and dead-code reset, and
a mirror-image decoder. Sizes are smaller than T2M-GPT's (width 512) so it trains on a laptop CPU.
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


@dataclass
class VQVAEConfig:
    feature_dim: int = 263
    width: int = 256          # channels of the convolutional trunk
    code_dim: int = 256       # dimension of each codebook vector
    num_codes: int = 512      # codebook size = motion vocabulary size
    down_t: int = 2           # temporal downsampling by 2**down_t (4 frames per token)
    depth: int = 3            # residual blocks per resolution
    dilation_growth: int = 3  # dilations 1, 3, 9: receptive field grows without more layers
    ema_decay: float = 0.99
    commit_weight: float = 0.02

    @property
    def frames_per_token(self) -> int:
        return 2**self.down_t


class ResBlock(nn.Module):
    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.proj = nn.Conv1d(width, width, 1)

    def forward(self, x):
        return x + self.proj(F.relu(self.conv(F.relu(x))))


def residual_stack(width: int, depth: int, growth: int, reverse: bool) -> nn.Sequential:
    dilations = [growth**i for i in range(depth)]
    return nn.Sequential(*[ResBlock(width, d) for d in (dilations[::-1] if reverse else dilations)])


class Encoder(nn.Module):
    def __init__(self, c: VQVAEConfig):
        super().__init__()
        layers = [nn.Conv1d(c.feature_dim, c.width, 3, padding=1), nn.ReLU()]
        for _ in range(c.down_t):
            layers += [nn.Conv1d(c.width, c.width, 4, stride=2, padding=1),
                       residual_stack(c.width, c.depth, c.dilation_growth, reverse=False)]
        layers += [nn.Conv1d(c.width, c.code_dim, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):  # (B, D, T) -> (B, code_dim, T / 2**down_t)
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, c: VQVAEConfig):
        super().__init__()
        layers = [nn.Conv1d(c.code_dim, c.width, 3, padding=1), nn.ReLU()]
        for _ in range(c.down_t):
            layers += [residual_stack(c.width, c.depth, c.dilation_growth, reverse=True),
                       nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv1d(c.width, c.width, 3, padding=1)]
        layers += [nn.Conv1d(c.width, c.width, 3, padding=1), nn.ReLU(),
                   nn.Conv1d(c.width, c.feature_dim, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class EMAQuantizer(nn.Module):
    """Nearest-neighbour codebook, updated by exponential moving averages (no codebook gradient), with
    codes unused in a batch re-initialised from random encoder outputs (T2M-GPT's `QuantizeEMAReset`)."""

    def __init__(self, num_codes: int, code_dim: int, decay: float):
        super().__init__()
        self.num_codes, self.code_dim, self.decay = num_codes, code_dim, decay
        self.register_buffer("codebook", torch.zeros(num_codes, code_dim))
        self.register_buffer("code_sum", torch.zeros(num_codes, code_dim))
        self.register_buffer("code_count", torch.ones(num_codes))
        self.register_buffer("initialised", torch.tensor(False))
        # A frozen codebook stays as it is in training: an encoder and decoder fine-tuned around it keep what
        # each code means, so a motion LLM trained on these codes still reads and writes them.
        self.frozen = False

    def _random_rows(self, x: torch.Tensor, n: int) -> torch.Tensor:
        if len(x) < n:  # repeat with a little noise so duplicates separate
            x = x.repeat((n + len(x) - 1) // len(x), 1)
            x = x + torch.randn_like(x) * 0.01 / np.sqrt(x.shape[1])
        return x[torch.randperm(len(x), device=x.device)[:n]]

    def indices(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, code_dim) -> nearest code index (N,)."""
        distance = (x.pow(2).sum(1, keepdim=True) - 2 * x @ self.codebook.t()
                    + self.codebook.pow(2).sum(1)[None])
        return distance.argmin(dim=1)

    @torch.no_grad()
    def _ema_update(self, x: torch.Tensor, idx: torch.Tensor) -> None:
        onehot = F.one_hot(idx, self.num_codes).type(x.dtype)  # (N, K)
        count = onehot.sum(0)
        self.code_sum.mul_(self.decay).add_(onehot.t() @ x, alpha=1 - self.decay)
        self.code_count.mul_(self.decay).add_(count, alpha=1 - self.decay)
        used = (self.code_count >= 1.0).float()[:, None]
        fresh = self._random_rows(x, self.num_codes)
        self.codebook.copy_(used * self.code_sum / self.code_count[:, None].clamp(min=1e-6) + (1 - used) * fresh)
        # Reset codes keep their new vectors' statistics so they are not immediately averaged away.
        self.code_sum.copy_(used * self.code_sum + (1 - used) * fresh)
        self.code_count.copy_(used[:, 0] * self.code_count + (1 - used[:, 0]))

    def forward(self, z: torch.Tensor):
        """z (B, C, T') -> quantised z (straight-through), commitment loss, indices (B, T'), perplexity."""
        b, c, t = z.shape
        x = z.permute(0, 2, 1).reshape(-1, c)
        if self.training and not self.frozen and not bool(self.initialised):
            self.codebook.copy_(self._random_rows(x.detach(), self.num_codes))
            self.code_sum.copy_(self.codebook)
            self.code_count.fill_(1.0)
            self.initialised.fill_(True)
        idx = self.indices(x.detach())
        if self.training and not self.frozen:
            self._ema_update(x.detach(), idx)
        q = self.codebook[idx]
        commit = F.mse_loss(x, q.detach())
        q = x + (q - x).detach()
        probs = torch.bincount(idx, minlength=self.num_codes).float() / len(idx)
        perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
        return q.reshape(b, t, c).permute(0, 2, 1), commit, idx.reshape(b, t), perplexity


class MotionVQVAE(nn.Module):
    def __init__(self, config: VQVAEConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.quantizer = EMAQuantizer(config.num_codes, config.code_dim, config.ema_decay)
        self.decoder = Decoder(config)

    def forward(self, x: torch.Tensor):
        """x (B, T, D) normalised features, T a multiple of frames_per_token."""
        z = self.encoder(x.permute(0, 2, 1))
        q, commit, idx, perplexity = self.quantizer(z)
        return self.decoder(q).permute(0, 2, 1), commit, idx, perplexity

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x.permute(0, 2, 1))
        b, c, t = z.shape
        return self.quantizer.indices(z.permute(0, 2, 1).reshape(-1, c)).reshape(b, t)

    @torch.no_grad()
    def decode(self, idx: torch.Tensor) -> torch.Tensor:
        q = self.quantizer.codebook[idx].permute(0, 2, 1)
        return self.decoder(q).permute(0, 2, 1)


class MotionTokenizer:
    """A trained VQ-VAE with its normalisation: numpy features (T, 263) <-> token ids (T / 4,)."""

    WEIGHTS, CONFIG, STATS = "model.safetensors", "config.json", "stats.npz"

    def __init__(self, model: MotionVQVAE, mean: np.ndarray, std: np.ndarray):
        self.model = model.eval()
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)

    @property
    def config(self) -> VQVAEConfig:
        return self.model.config

    def _crop(self, features: np.ndarray) -> np.ndarray:
        n = len(features) - len(features) % self.config.frames_per_token
        if n <= 0:
            raise MotionLLMError(f"motion too short to tokenise: {len(features)} frames "
                                 f"(needs at least {self.config.frames_per_token})")
        return features[:n]

    def encode(self, features: np.ndarray) -> np.ndarray:
        x = (self._crop(np.asarray(features, dtype=np.float32)) - self.mean) / self.std
        return self.model.encode(torch.from_numpy(x)[None])[0].numpy()

    def decode(self, tokens) -> np.ndarray:
        idx = torch.as_tensor(np.asarray(tokens, dtype=np.int64))[None]
        if idx.numel() == 0 or int(idx.min()) < 0 or int(idx.max()) >= self.config.num_codes:
            raise MotionLLMError(f"token ids must be non-empty and in [0, {self.config.num_codes})")
        return self.model.decode(idx)[0].numpy() * self.std + self.mean

    def reconstruct(self, features: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(features))

    def save(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        from motionllm.fileio import atomic_path

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(directory / self.WEIGHTS) as tmp:
            save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(tmp))
        with atomic_path(directory / self.CONFIG) as tmp:
            tmp.write_text(json.dumps(asdict(self.config), indent=2))
        with atomic_path(directory / self.STATS) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, mean=self.mean, std=self.std)

    @classmethod
    def load(cls, directory: str | Path) -> "MotionTokenizer":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        directory = Path(directory)
        try:
            config = VQVAEConfig(**json.loads((directory / cls.CONFIG).read_text()))
            model = MotionVQVAE(config)
            model.load_state_dict(load_file(str(directory / cls.WEIGHTS)))
            stats = np.load(directory / cls.STATS, allow_pickle=False)
            return cls(model, stats["mean"], stats["std"])
        except (OSError, ValueError, KeyError, RuntimeError, TypeError, SafetensorError) as exc:
            raise MotionLLMError(f"cannot load motion tokenizer from {directory}: {exc}") from None
