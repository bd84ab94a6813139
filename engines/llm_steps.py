"""ONNX Runtime decode steps for the motion LLM: the fast CPU path for generating tokens one at a time.

On a 2-core CPU a decode step of SmolLM2-135M through transformers costs ~35-40 ms: it reads all 425 MB of fp32
decoder weights for one token, plus Python overhead in 30 layers. This engine runs the same step, and the text
head, as one ONNX graph whose linear layers are 8-bit weight-only quantised (ONNX Runtime's MatMulNBits, int8
compute): 12-15 ms.

    build_engine(model, model_dir / ENGINE_DIR, fingerprint(model_dir))   # once: export, quantise, check (~30 s)
    engine = DecodeStepEngine.load(model_dir / ENGINE_DIR, fingerprint(model_dir))
    steps = engine.start(prefill_cache, model.text_logits, text=True)      # after a torch prefill of the prompt
    logits = steps(embeds, mask, positions)            # (B, 1, H) embeddings of one new token -> (B, vocab)

Only the one-token steps run here. The prompt (prefill) stays in torch, where a batch of tokens is compute-bound
and fast (in bfloat16 on CPUs with bfloat16 instructions: MotionLLM.hold_layers_in), and so do the embeddings,
the motion reader and the (small) motion head: the graph goes from input embeddings to the last hidden state
and the text logits. The export is traced for one-token steps (HF's code takes other
branches for longer inputs), so a step takes exactly one new token whose mask covers the past and itself.

`build_engine` checks the graph against torch on a real prompt before writing anything: an architecture whose
trace does not generalise fails that check instead of producing wrong tokens. Verified here (CPU, ORT 1.31) for
SmolLM2-135M; TensorRT is not used for this path.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from motionllm.errors import MotionLLMError

ENGINE_DIR = "onnx"              # beside the model it was built from
GRAPH_FILE, INFO_FILE = "decode_step.onnx", "engine.json"
WEIGHTS = ("int8", "float32")


@dataclass
class EngineConfig:
    weights: str = "int8"        # "int8": 8-bit weight-only linear layers (block-wise scales); "float32": as is
    block_size: int = 32         # int8: weights per quantisation scale
    opset: int = 17
    min_cosine: float = 0.99     # self-check: text logits of the graph vs torch, per token


def fingerprint(model_dir: Path, base_model: str | None = None) -> str:
    """What an engine was built from: the trained files of the model and the base model it sits on."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    files = [model_dir / "config.json", model_dir / "motion_embeddings.safetensors",
             *sorted((model_dir / "adapter").glob("*"))]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(str(base_model or "").encode())
    return digest.hexdigest()[:16]


class _DecoderStep(torch.nn.Module):
    """(embeds, mask, positions, past...) -> (last hidden state, text logits, present...), KV as flat tensors."""

    def __init__(self, decoder: torch.nn.Module, text_weight: torch.Tensor):
        super().__init__()
        self.decoder = decoder
        self.layers = len(decoder.layers)
        # The text head is the largest matrix (49k x 576): in the graph it is quantised too, and no torch work
        # runs between two steps, whose thread pool would otherwise spin against ONNX Runtime's on a small CPU.
        self.text_head = torch.nn.Linear(text_weight.shape[1], text_weight.shape[0], bias=False)
        self.text_head.weight = torch.nn.Parameter(text_weight.detach(), requires_grad=False)

    def forward(self, embeds, mask, positions, *past):
        from transformers.cache_utils import DynamicCache

        cache = DynamicCache(config=self.decoder.config)
        for i in range(self.layers):
            cache.update(past[2 * i], past[2 * i + 1], i)
        out = self.decoder(inputs_embeds=embeds, attention_mask=mask, position_ids=positions,
                           past_key_values=cache, use_cache=True)
        present = [t for layer in out.past_key_values.layers for t in (layer.keys, layer.values)]
        return (out.last_hidden_state, self.text_head(out.last_hidden_state), *present)


def _kv_names(layers: int, prefix: str) -> list[str]:
    return [f"{prefix}_{kind}_{i}" for i in range(layers) for kind in ("key", "value")]


def _kv_shape(decoder: torch.nn.Module) -> tuple[int, int]:
    cfg = decoder.config
    return cfg.num_key_value_heads, getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads


def _export(decoder: torch.nn.Module, text_weight: torch.Tensor, path: Path, opset: int) -> None:
    import warnings

    layers, (heads, head_dim) = len(decoder.layers), _kv_shape(decoder)
    past = [torch.zeros(2, heads, 3, head_dim) for _ in range(2 * layers)]
    example = (torch.zeros(2, 1, decoder.config.hidden_size), torch.ones(2, 4, dtype=torch.long),
               torch.full((2, 1), 3, dtype=torch.long), *past)
    past_names = _kv_names(layers, "past")
    axes = {"embeds": {0: "batch"}, "mask": {0: "batch", 1: "total"}, "positions": {0: "batch"},
            "hidden": {0: "batch"}, "text_logits": {0: "batch"}}
    axes.update({name: {0: "batch", 2: "past"} for name in past_names})
    axes.update({name: {0: "batch", 2: "total"} for name in _kv_names(layers, "present")})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on the one-token branches it fixes, by design
        torch.onnx.export(_DecoderStep(decoder, text_weight).eval(), example, str(path),
                          input_names=["embeds", "mask", "positions", *past_names],
                          output_names=["hidden", "text_logits", *_kv_names(layers, "present")], dynamic_axes=axes,
                          opset_version=opset, dynamo=False)


def _quantise(source: Path, target: Path, block_size: int) -> None:
    import logging

    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)  # one INFO line per skipped node
    # accuracy_level 4: activations are quantised to int8 per block at run time, so the matmuls use int8 compute.
    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, bits=8, accuracy_level=4)
    quantiser = MatMulNBitsQuantizer(onnx.load(str(source)), algo_config=config)
    quantiser.process()
    quantiser.model.save_model_to_file(str(target), use_external_data_format=False)


def _session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, len(os.sched_getaffinity(0)))  # every core, no more (as for torch)
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types for unreadable or corrupt files
        raise MotionLLMError(f"cannot load the decode-step engine {path}: {exc}") from None


class DecodeSteps:
    """One generation's KV-cached steps through the engine, to the text logits of the graph (text=True) or to
    `head` applied to the last hidden state; holds the growing cache as numpy arrays."""

    def __init__(self, engine: "DecodeStepEngine", cache, head: Callable[[torch.Tensor], torch.Tensor], text: bool):
        self.engine, self.head, self.text = engine, head, text
        # float(): a prefill in bfloat16 (MotionLLM.hold_layers_in) hands over a bfloat16 cache.
        self.past = [t.detach().float().numpy() for layer in cache.layers for t in (layer.keys, layer.values)]
        if len(self.past) != len(engine.past_names):
            raise MotionLLMError(f"the engine has {len(engine.past_names) // 2} layers, the model "
                                 f"{len(self.past) // 2}: rebuild it")

    def __call__(self, embeds: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        if embeds.shape[1] != 1 or mask.shape[1] != self.past[0].shape[2] + 1:
            raise ValueError("a decode step takes one new token whose mask covers the past and itself")
        feeds = {"embeds": embeds.detach().float().numpy(), "mask": mask.numpy(), "positions": positions.numpy(),
                 **dict(zip(self.engine.past_names, self.past))}
        hidden, text_logits, *self.past = self.engine.session.run(None, feeds)
        return torch.from_numpy(text_logits[:, -1]) if self.text else self.head(torch.from_numpy(hidden[:, -1]))


def _read_info(directory: Path) -> dict:
    try:
        info = json.loads((directory / INFO_FILE).read_text())
        if not isinstance(info.get("fingerprint"), str) or not isinstance(info.get("layers"), int):
            raise ValueError("no fingerprint or layer count")
        return info
    except (OSError, ValueError, AttributeError) as exc:
        raise MotionLLMError(f"no usable decode-step engine in {directory} ({exc}); build it with "
                             f"`motionllm export llm-engine`") from None


def engine_is_current(model_dir: Path, base_model: str | None = None) -> bool:
    """Whether the engine beside the model was built from it as it is now."""
    try:
        return _read_info(Path(model_dir) / ENGINE_DIR)["fingerprint"] == fingerprint(model_dir, base_model)
    except MotionLLMError:
        return False


class DecodeStepEngine:
    def __init__(self, session, info: dict):
        self.session, self.info = session, info
        self.past_names = _kv_names(int(info["layers"]), "past")

    @classmethod
    def load(cls, directory: Path, expected_fingerprint: str | None = None) -> "DecodeStepEngine":
        """The engine in `directory`; MotionLLMError if it is missing, unreadable, or built from another model."""
        directory = Path(directory)
        info = _read_info(directory)
        if expected_fingerprint is not None and info["fingerprint"] != expected_fingerprint:
            raise MotionLLMError(f"the decode-step engine in {directory} was built from another model; rebuild it "
                                 f"with `motionllm export llm-engine`")
        return cls(_session(directory / GRAPH_FILE), info)

    def start(self, cache, head: Callable[[torch.Tensor], torch.Tensor], text: bool) -> DecodeSteps:
        """Steps on from a torch prefill's cache. text: the graph's text logits (the model's text head, in the
        graph); otherwise `head` of the last hidden state (the motion head is small: it stays in torch)."""
        return DecodeSteps(self, cache, head, text)


def _check(model, engine: DecodeStepEngine, min_cosine: float) -> float:
    """Worst per-row cosine of the text logits, graph vs torch, over a few steps of a padded batch of real
    token embeddings; refuses the engine below min_cosine (or on the wrong shapes)."""
    ids = torch.stack([torch.arange(200, 232), torch.arange(1000, 1032)])
    mask = torch.ones_like(ids)
    mask[1, :5] = 0  # left padding, as batched decoding makes
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        out = model.decoder(inputs_embeds=model.embed(ids[:, :28]), attention_mask=mask[:, :28],
                            position_ids=positions[:, :28], use_cache=True)
        cache = out.past_key_values
        onnx_steps = engine.start(cache, model.text_logits, text=True)
        worst = 1.0
        for k in range(28, ids.shape[1]):
            embeds, m, p = model.embed(ids[:, k:k + 1]), mask[:, :k + 1], positions[:, k:k + 1]
            got = onnx_steps(embeds, m, p)
            out = model.decoder(inputs_embeds=embeds, attention_mask=m, position_ids=p, past_key_values=cache,
                                use_cache=True)
            cache, want = out.past_key_values, model.text_logits(out.last_hidden_state[:, -1])
            worst = min(worst, float(torch.nn.functional.cosine_similarity(got, want, dim=-1).min()))
    if not worst >= min_cosine:
        raise MotionLLMError(f"the exported decode step does not match the model (cosine {worst:.4f} < "
                             f"{min_cosine}); this architecture is not supported by the engine")
    return worst


def build_engine(model, out: Path, model_fingerprint: str, config: EngineConfig | None = None,
                 log: Callable[[str], None] = lambda line: None) -> dict:
    """Export `model`'s decoder (a MotionLLM with its LoRA merged) as a decode-step graph in `out`, quantised
    per config, checked against torch. `out` appears whole or not at all. Returns the engine's info."""
    import onnxruntime

    from motionllm.fileio import atomic_dir

    config = config or EngineConfig()
    if config.weights not in WEIGHTS:
        raise MotionLLMError(f"engine weights must be one of {', '.join(WEIGHTS)}, not '{config.weights}'")
    if hasattr(model.lm, "merge_and_unload"):
        raise MotionLLMError("build the engine from a model loaded with its LoRA merged (load_model(merge_lora=True))")
    model.require_float32_layers("the decode-step engine")
    decoder = model.decoder
    with atomic_dir(out) as tmp:
        graph = tmp / GRAPH_FILE
        log(f"exporting the decode step of {len(decoder.layers)} layers to ONNX")
        if config.weights == "float32":
            _export(decoder, model.text_weight(), graph, config.opset)
        else:
            _export(decoder, model.text_weight(), tmp / "float32.onnx", config.opset)
            log(f"quantising its linear layers to 8 bits (blocks of {config.block_size})")
            _quantise(tmp / "float32.onnx", graph, config.block_size)
            (tmp / "float32.onnx").unlink()
        heads, head_dim = _kv_shape(decoder)
        info = {"fingerprint": model_fingerprint, **asdict(config), "layers": len(decoder.layers),
                "kv_heads": heads, "head_dim": head_dim, "onnxruntime": onnxruntime.__version__,
                "torch": torch.__version__, "graph_mb": round(graph.stat().st_size / 2**20, 1)}
        log("checking it against torch")
        info["check_cosine"] = round(_check(model, DecodeStepEngine(_session(graph), info), config.min_cosine), 5)
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2))
    return info

