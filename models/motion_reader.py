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

A reader may also carry a label tagger (MotionTagger, `motionllm train tagger`): a second GRU trained on the
corpus' structured labels that tags each token with its action and that action's count, speed, side and direction.
Its class probabilities are appended to the reader's states, so what Q&A asks about is explicit in what the LLM
reads; the reader's own states stay as they were, and a model's trained projection of them carries over.
Through the projection alone, the LLM barely learned to read counts and speeds (0.49 and 0.30 on test questions,
where the tagger gets 0.94 and 0.84): so `read_actions` also turns the tags into actions (tag_segments), which a
model with `tag_notes` is shown as a text note after each span (llm_tasks.tag_note).
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
    # The label tagger (optional, `motionllm train tagger`): the classes of each tagged field (TAG_FIELDS), and
    # its GRU's width per direction. A reader with a tagger appends its per-token class probabilities to its states.
    tags: dict[str, list[str]] | None = None
    tag_hidden: int = 192

    @property
    def tag_dim(self) -> int:
        return sum(len(classes) for classes in self.tags.values()) if self.tags else 0

    @property
    def state_dim(self) -> int:
        return 2 * self.hidden + self.tag_dim


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
        self.pool = nn.Linear(2 * config.hidden, config.embed_dim)  # contrastive pretraining only
        self.text = TextProjection(_text_side(config))               # contrastive pretraining only
        self.tagger = MotionTagger(config) if config.tags else None

    def states(self, codes: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """codes (B, L) code indices, zero-padded; lengths (B,) -> (B, L, state_dim), zero past each length."""
        vectors = self.codebook[codes]
        out = _run_gru(self.gru, self.input(vectors), lengths)
        if self.tagger is None:
            return out
        valid = (torch.arange(codes.shape[1])[None, :] < lengths[:, None])[..., None]
        return torch.cat([out, *self.tag_probabilities(codes, lengths).values()], -1) * valid

    def tag_probabilities(self, codes: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """{field: (B, L, classes)} the tagger's per-token class probabilities (a reader with a tagger only)."""
        return {name: logits.softmax(-1) for name, logits in self.tagger(self.codebook[codes], lengths).items()}

    @torch.no_grad()
    def read_actions(self, codes) -> list[dict]:
        """The actions the tagger reads in one span of codes, in time order (tag_segments)."""
        probs = self.tag_probabilities(*pad_codes([codes]))
        return tag_segments({name: p[0].numpy() for name, p in probs.items()}, self.config.tags)

    def embed(self, codes: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """One unit vector per span (mean of its GRU states), in the caption embeddings' space."""
        s = _run_gru(self.gru, self.input(self.codebook[codes]), lengths)
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


class MotionTagger(nn.Module):
    """Per-token labels of a motion span: which action the token is in, and that action's count, speed, side and
    direction (or "none"). Trained supervised on the corpus' structured labels (`train_tagger`), so what Q&A asks
    about (how many times, how fast) is explicit in the states the LLM reads rather than left for LoRA to find."""

    def __init__(self, config: MotionReaderConfig):
        super().__init__()
        self.input = nn.Sequential(nn.Linear(config.code_dim, config.tag_hidden), nn.GELU())
        self.gru = nn.GRU(config.tag_hidden, config.tag_hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.heads = nn.ModuleDict({name: nn.Linear(2 * config.tag_hidden, len(classes))
                                    for name, classes in config.tags.items()})

    def forward(self, vectors: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """vectors (B, L, code_dim) dequantised codes -> {field: logits (B, L, classes)}."""
        h = _run_gru(self.gru, self.input(vectors), lengths)
        return {name: head(h) for name, head in self.heads.items()}


def _run_gru(gru: nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = gru(packed)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out


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

    def batch(clips, texts, idx, r):
        picks = [int(r.integers(len(texts[i]))) for i in idx]
        same = torch.tensor([[clips[a].captions[pa] == clips[b].captions[pb] for b, pb in zip(idx, picks)]
                             for a, pa in zip(idx, picks)])
        text = torch.from_numpy(np.stack([texts[i][k] for i, k in zip(idx, picks)]))
        return pad_codes([clips[i].codes for i in idx]), text, same

    def step_loss(step: int) -> torch.Tensor:
        idx = rng.choice(len(train), cfg.batch_size, replace=False)
        (codes, lengths), text, same = batch(train, train_text, idx, rng)
        return contrastive_loss(reader.text(text), reader.embed(codes, lengths), cfg.model.temperature, same)

    @torch.no_grad()
    def validate(step: int) -> tuple[dict, tuple]:
        (codes, lengths), text, _ = batch(val, val_text, np.arange(len(val)), np.random.default_rng(step))
        r = r_precision(reader.text(text).numpy(), reader.embed(codes, lengths).numpy(), np.random.default_rng(step))
        return {"val_R@1": float(r[0]), "val_R@3": float(r[2])}, (float(r[2]), float(r[0]))

    history = _fit(reader, [p for p in reader.parameters() if p.requires_grad], cfg, step_loss, validate,
                   lambda: reader.save(out), evaluations=4, desc="train reader", progress=progress)
    with atomic_path(Path(out) / "reader_history.json") as tmp:
        tmp.write_text(json.dumps({"config": asdict(cfg), "history": history}, indent=2))
    return max(history, key=lambda r: (r["val_R@3"], r["val_R@1"]))


def _fit(module: nn.Module, parameters: list, cfg, step_loss, validate, save, evaluations: int, desc: str,
         progress: bool) -> list[dict]:
    """AdamW with a one-cycle schedule for cfg.steps; `evaluations` times (and at the end) `validate(step)` gives
    (figures, score) in eval mode, and `save()` runs whenever the score is the best yet. Returns the records."""
    from motionllm.console import progress_bar

    optimiser = torch.optim.AdamW(parameters, lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, cfg.lr, total_steps=cfg.steps)
    history, best, losses, started = [], None, [], time.time()
    eval_every = max(1, cfg.steps // evaluations)
    bar = progress_bar(range(cfg.steps), desc=desc, unit="step", enabled=progress)
    module.train()
    for step in bar:
        loss = step_loss(step)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        if (step + 1) % eval_every == 0 or step + 1 == cfg.steps:
            module.eval()
            figures, score = validate(step)
            module.train()
            record = {"step": step + 1, "train_loss": float(np.mean(losses)), "seconds": time.time() - started,
                      **figures}
            losses = []
            history.append(record)
            bar.write(json.dumps(record))
            if best is None or score > best:
                best = score
                save()
    return history


# ---------------------------------------------------------------- the label tagger

TAG_FIELDS = ("action", "count", "speed", "side", "direction")
NO_TAG = "none"


@dataclass
class TaggerTrainConfig:
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    hidden: int = 192


def tag_classes(labels: list[dict]) -> dict[str, list[str]]:
    """The classes of each tagged field seen in a split's labels, "none" first."""
    seen = {name: set() for name in TAG_FIELDS}
    for clip in labels:
        for action in clip.get("actions", []):
            for name, value in _action_tags(action).items():
                seen[name].add(value)
    order = {"count": lambda v: int(v)}  # counts in numeric order, the rest alphabetical
    return {name: [NO_TAG] + sorted(values, key=order.get(name, str)) for name, values in seen.items()}


def _action_tags(action: dict) -> dict[str, str]:
    value = {"action": action["type"], "count": action.get("count"), "speed": action.get("speed"),
             "side": action.get("side"), "direction": action.get("direction")}
    return {name: str(v) for name, v in value.items() if v is not None}


def action_tokens(action: dict, num_tokens: int, frames_per_token: int) -> slice:
    """The tokens whose middle frame lies in the action."""
    first = -(-(action["start_frame"] - frames_per_token // 2) // frames_per_token)
    last = -(-(action["end_frame"] - frames_per_token // 2) // frames_per_token)
    return slice(max(0, first), min(num_tokens, last))


def tagged_actions(labels: dict, num_tokens: int, frames_per_token: int):
    """(action, its tokens) for each action the tagger tags: not concurrent with another, at least one token long."""
    for action in labels.get("actions", []):
        tokens = action_tokens(action, num_tokens, frames_per_token)
        if not action.get("concurrent") and tokens.start < tokens.stop:
            yield action, tokens


def token_tags(labels: dict, num_tokens: int, classes: dict[str, list[str]], frames_per_token: int) -> np.ndarray:
    """(num_tokens, len(TAG_FIELDS)) class indices: the tags of the (non-concurrent) action each token lies in;
    "none" between actions and for fields an action has no value for (or a value outside `classes`)."""
    out = np.zeros((num_tokens, len(TAG_FIELDS)), dtype=np.int64)
    index = {name: {c: i for i, c in enumerate(classes[name])} for name in TAG_FIELDS}
    for action, tokens in tagged_actions(labels, num_tokens, frames_per_token):
        for f, name in enumerate(TAG_FIELDS):
            out[tokens, f] = index[name].get(_action_tags(action).get(name, NO_TAG), 0)
    return out


def range_tag(probs, classes: list[str]) -> str:
    """The tag of a range of tokens (an action): the class most likely on average over them. probs: (tokens,
    classes), a tensor or an array. One definition for what the notes say and what `tag_accuracy` scores."""
    return classes[int(probs.mean(0).argmax())]


def tag_segments(probs: dict[str, np.ndarray], classes: dict[str, list[str]], min_tokens: int = 2) -> list[dict]:
    """The actions read from one span's tag probabilities ({field: (num_tokens, classes)}), in time order: runs of
    tokens with the same most likely action, each with its most likely count, speed, side and direction over the
    run (a field tagged "none" is left out). Runs shorter than `min_tokens` are flicker at action boundaries: they
    are dropped, and the runs of one action they split are joined."""
    action = probs["action"].argmax(-1)
    runs, start = [], 0
    for t in range(1, len(action) + 1):
        if t == len(action) or action[t] != action[start]:
            if action[start] != 0 and t - start >= min_tokens:
                if runs and runs[-1][0] == action[start] and start - runs[-1][2] <= min_tokens:
                    runs[-1][2] = t
                else:
                    runs.append([action[start], start, t])
            start = t
    out = []
    for index, start, end in runs:
        segment = {"action": classes["action"][index], "start": start, "end": end}
        for name in TAG_FIELDS[1:]:
            value = range_tag(probs[name][start:end], classes[name])
            if value != NO_TAG:
                segment[name] = value
        out.append(segment)
    return out


def require_codebook(reader: MotionReader, codebook: torch.Tensor) -> None:
    if reader.codebook.shape != codebook.shape or not torch.equal(reader.codebook, codebook.float()):
        raise MotionLLMError("the motion reader was trained on another motion tokenizer")


def require_labels(clips: list, data: Path) -> None:
    if any(c.labels is None for c in clips):
        raise MotionLLMError(f"{data}: tagging needs the corpus' structured labels (labels/*.json)")


def load_reader(source: Path) -> MotionReader:
    """A reader folder (`motionllm train reader`/`tagger`), or the reader inside a trained motion LLM folder."""
    from motionllm.models.llm import CONFIG_FILE, load_saved_reader

    source = Path(source)
    if (source / CONFIG).is_file():
        return MotionReader.load(source)
    reader = load_saved_reader(source) if (source / CONFIG_FILE).is_file() else None
    if reader is None:
        raise MotionLLMError(f"{source}: neither a motion reader nor a motion LLM with one")
    return reader


def with_tagger(reader: MotionReader, classes: dict[str, list[str]], hidden: int) -> MotionReader:
    """A copy of `reader` with a new (untrained) label tagger for `classes`; a tagger it had is replaced."""
    from dataclasses import replace

    tagged = MotionReader(replace(reader.config, tags=classes, tag_hidden=hidden), reader.codebook)
    own = {k: v for k, v in reader.state_dict().items() if not k.startswith("tagger.")}
    tagged.load_state_dict(own, strict=False)  # all but the new tagger
    return tagged


def train_tagger(data: Path, source: Path, out: Path, cfg: TaggerTrainConfig, tokenizer_dir: Path,
                 progress: bool = True) -> dict:
    """Add a label tagger to the reader in `source` (its own weights kept as they are) and train it on the train
    split's labels; the best val action-level accuracy is kept. The result is a reader for `train llm`."""
    from motionllm.models.llm_training import load_clips
    from motionllm.models.vqvae import MotionTokenizer

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    base = load_reader(source)
    tokenizer = MotionTokenizer.load(tokenizer_dir)
    require_codebook(base, tokenizer.model.quantizer.codebook)
    fpt = tokenizer.model.config.frames_per_token
    splits = {split: load_clips(data, split, tokenizer, tokenizer_dir, Path(out) / "cache", max_tokens=10**6,
                                progress=progress) for split in ("train", "val")}
    train, val = splits["train"], splits["val"]
    require_labels(train + val, data)
    classes = tag_classes([c.labels for c in train])
    reader = with_tagger(base, classes, cfg.hidden)
    tagger = reader.tagger
    targets = {c.name: torch.from_numpy(token_tags(c.labels, len(c.codes), classes, fpt)) for c in train + val}

    def batch(clips):
        codes, lengths = pad_codes([c.codes for c in clips])
        target = torch.full((*codes.shape, len(TAG_FIELDS)), -100, dtype=torch.long)
        for i, c in enumerate(clips):
            target[i, : len(c.codes)] = targets[c.name]
        return reader.codebook[codes], lengths, target

    def step_loss(step: int) -> torch.Tensor:
        vectors, lengths, target = batch([train[i] for i in rng.choice(len(train), cfg.batch_size, replace=False)])
        logits = tagger(vectors, lengths)
        return sum(F.cross_entropy(logits[name].flatten(0, 1), target[..., f].flatten(), ignore_index=-100)
                   for f, name in enumerate(TAG_FIELDS))

    def validate(step: int) -> tuple[dict, float]:
        accuracy = tag_accuracy(reader, val, fpt)
        return {f"val_{name}": value for name, value in accuracy.items()}, accuracy["mean"]

    history = _fit(tagger, list(tagger.parameters()), cfg, step_loss, validate, lambda: reader.save(out),
                   evaluations=5, desc="train tagger", progress=progress)
    with atomic_path(Path(out) / "tagger_history.json") as tmp:
        tmp.write_text(json.dumps({"config": asdict(cfg), "source": str(source), "history": history}, indent=2))
    return max(history, key=lambda r: r["val_mean"])


@torch.no_grad()
def tag_accuracy(reader: MotionReader, clips: list, frames_per_token: int) -> dict[str, float]:
    """Per field, the share of labelled (non-concurrent) actions whose tag, averaged over the action's tokens, is
    right; "mean" over the fields. Then what `read_actions` makes of the whole span, with no action boundaries
    given: "read_FIELD", the share of actions (of a type performed once in the clip) that are read, with that
    field right; "read_order", the share of clips whose actions are all read, in order, and nothing else.
    `clips`: llm_tasks.Clip with labels."""
    classes = reader.config.tags
    hits = {name: [] for name in TAG_FIELDS}
    read = {f"read_{name}": [] for name in (*TAG_FIELDS, "order")}
    for i in range(0, len(clips), 256):
        chunk = clips[i: i + 256]
        codes, lengths = pad_codes([c.codes for c in chunk])
        probs = reader.tag_probabilities(codes, lengths)
        for b, c in enumerate(chunk):
            actions = sorted(tagged_actions(c.labels, len(c.codes), frames_per_token), key=lambda a: a[1].start)
            segments = tag_segments({name: p[b, : len(c.codes)].numpy() for name, p in probs.items()}, classes)
            performed = [a["type"] for a, _ in actions]
            read["read_order"].append([s["action"] for s in segments] == performed)
            for action, tokens in actions:
                found = [s for s in segments if s["action"] == action["type"]]
                for name, value in _action_tags(action).items():
                    if value not in classes[name]:
                        continue
                    hits[name].append(range_tag(probs[name][b, tokens], classes[name]) == value)
                    if performed.count(action["type"]) == 1:
                        read[f"read_{name}"].append(bool(found) and found[0].get(name, NO_TAG) == value)
    share = lambda h: float(np.mean(h)) if h else float("nan")  # noqa: E731
    accuracy = {name: share(h) for name, h in hits.items()}
    return {**accuracy, "mean": float(np.nanmean(list(accuracy.values()))),
            **{name: share(h) for name, h in read.items()}}
