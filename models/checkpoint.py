"""Resumable training state (model + optimiser + progress) in one safetensors file.

Tensors go in as tensors, everything else (optimiser hyper-parameters, step, history) as JSON in the
file's metadata, so loading a checkpoint never unpickles anything.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_path


def save_train_state(path: Path, model: torch.nn.Module, optimiser: torch.optim.Optimizer, progress: dict) -> None:
    from safetensors.torch import save_file

    tensors = {f"model/{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    optim = optimiser.state_dict()
    scalars = {}
    for index, state in optim["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim/{index}/{key}"] = value.detach().contiguous()
            else:
                scalars[f"{index}/{key}"] = value
    meta = {"param_groups": json.dumps(optim["param_groups"]), "scalars": json.dumps(scalars),
            "progress": json.dumps(progress)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_train_state(path: Path, model: torch.nn.Module, optimiser: torch.optim.Optimizer) -> dict:
    """Restore model and optimiser in place; return the saved progress dict."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata()
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        model.load_state_dict({k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")})
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith("optim/"):
                _, index, name = key.split("/", 2)
                state.setdefault(int(index), {})[name] = value
        for key, value in json.loads(meta["scalars"]).items():
            index, name = key.split("/", 1)
            state.setdefault(int(index), {})[name] = value
        optimiser.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
        return json.loads(meta["progress"])
    except (OSError, KeyError, ValueError, RuntimeError, SafetensorError) as exc:
        raise MotionLLMError(f"cannot resume from {path}: {exc}") from None
