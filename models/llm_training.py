"""Training and evaluation of the motion LLM (`motionllm train llm`, `motionllm eval llm`).

Every clip is tokenised once with the motion tokenizer (cached beside the output, keyed by the tokenizer's
weights). Each step draws a batch of instructions from the task mix, each task from a random train clip.
A checkpoint (adapter, motion embeddings, optimiser, step, history) is written every `checkpoint_every`
steps and on Ctrl-C; training resumes from it. Every `eval_every` steps a quick held-out evaluation (val
split) runs: text-to-motion R-precision / FID through the evaluator, caption R-precision, Q&A accuracy.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_path
from motionllm.models.checkpoint import load_train_state, save_train_state
from motionllm.models.llm import (T2M_SAMPLING, MotionLLMConfig, build_model, init_from_trained, load_saved_reader,
                                  read_config, save_model)
from motionllm.models.llm_tasks import DEFAULT_TASK_WEIGHTS, TASKS, ChatFormat, Clip, Example, make_example
from motionllm.models.motion_reader import MotionReader, require_codebook
from motionllm.models.vqvae import MotionTokenizer

TRAIN_STATE = "train_state.safetensors"


@dataclass
class LLMTrainConfig:
    steps: int = 1100
    batch_size: int = 16
    lr: float = 5e-4
    head_lr_scale: float = 2.0     # the motion head starts from zero and has further to go than the adapters
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    checkpoint_every: int = 50
    eval_every: int = 275
    eval_clips: int = 64
    task_weights: dict = field(default_factory=lambda: dict(DEFAULT_TASK_WEIGHTS))
    qa_follow_ups: int = 0         # further questions about the same motion in a Q&A example (see Example)
    seed: int = 0
    threads: int = 0
    init_from: str | None = None   # a trained model folder to start from (its LoRA layout is used)
    motion_reader: str | None = None  # a pretrained motion reader folder (`motionllm train reader`) to add
    model: MotionLLMConfig = field(default_factory=MotionLLMConfig)


# ---------------------------------------------------------------- data

def tokenizer_key(tokenizer_dir: Path) -> str:
    digest = hashlib.sha1()
    for name in (MotionTokenizer.WEIGHTS, MotionTokenizer.STATS):
        digest.update((Path(tokenizer_dir) / name).read_bytes())
    return digest.hexdigest()[:12]


def load_clips(data: Path, split: str, motion_tokenizer: MotionTokenizer, tokenizer_dir: Path, cache_dir: Path,
               max_tokens: int, progress: bool = True) -> list[Clip]:
    """The split's clips with their motion codes (tokenised once, then read from the cache)."""
    from motionllm.console import progress_bar

    from motionllm.motion.dataset import HumanML3DDataset

    dataset = HumanML3DDataset(data, split, with_labels=True)
    cache = cache_dir / f"codes_{split}_{tokenizer_key(tokenizer_dir)}.npz"
    codes: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as f:
            names, flat, offsets = list(f["names"]), f["codes"], f["offsets"]
        codes = {str(n): flat[offsets[i]:offsets[i + 1]] for i, n in enumerate(names)}
    missing = [s for s in dataset if s.name not in codes]
    for sample in progress_bar(missing, desc=f"tokenise {split}", unit="clip", enabled=progress and bool(missing)):
        codes[sample.name] = motion_tokenizer.encode(sample.features).astype(np.int16)
    if missing:
        names = sorted(codes)
        offsets = np.cumsum([0] + [len(codes[n]) for n in names])
        with atomic_path(cache) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, names=np.array(names), codes=np.concatenate([codes[n] for n in names]), offsets=offsets)
    clips = [Clip(s.name, codes[s.name].astype(np.int64), [c.text for c in s.captions], s.labels)
             for s in dataset if 2 <= len(codes[s.name]) <= max_tokens]
    if not clips:
        raise MotionLLMError(f"{data}: no usable {split} clips")
    return clips


def action_kinds(clips: list[Clip]) -> list[str]:
    return sorted({a["type"] for c in clips if c.labels for a in c.labels.get("actions", [])})


def draw_examples(clips: list[Clip], tasks: dict[str, float], count: int, rng: np.random.Generator,
                  tokens_per_second: float, kinds: list[str], qa_follow_ups: int = 0) -> list[Example]:
    names = list(tasks)
    p = np.array([tasks[n] for n in names], dtype=np.float64)
    p /= p.sum()
    out = []
    while len(out) < count:
        example = make_example(names[rng.choice(len(names), p=p)], clips[int(rng.integers(len(clips)))], rng,
                               tokens_per_second, kinds, qa_follow_ups)
        if example is not None:
            out.append(example)
    return out


def collate(chat: ChatFormat, examples: list[Example]) -> dict[str, torch.Tensor]:
    rows = [chat.training_ids(e) for e in examples]
    width = max(len(ids) for ids, _, _ in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    targets = torch.full_like(ids, -100)
    motion = torch.zeros(len(rows), width, dtype=torch.bool)
    for b, (row_ids, row_targets, is_motion) in enumerate(rows):
        n = len(row_ids)
        ids[b, :n], mask[b, :n], targets[b, :n] = torch.tensor(row_ids), 1, torch.tensor(row_targets)
        motion[b, :n] = is_motion
    return {"input_ids": ids, "attention_mask": mask, "targets": targets, "motion_mask": motion}


class TrainableView(nn.Module):
    """The trained parameters only (same tensors), so checkpoints hold MBs, not the whole base model."""

    def __init__(self, trainable: dict[str, nn.Parameter]):
        super().__init__()
        self.params = nn.ParameterDict({name.replace(".", "/"): p for name, p in trainable.items()})


# ---------------------------------------------------------------- evaluation

def _real_features(clips: list[Clip], data: Path, split: str) -> dict[str, np.ndarray]:
    from motionllm.motion.dataset import HumanML3DDataset

    wanted = {c.name for c in clips}
    return {s.name: s.features for s in HumanML3DDataset(data, split, with_labels=False) if s.name in wanted}


def evaluate(lm, clips: list[Clip], real: dict[str, np.ndarray], evaluator, tasks: list[str], rng_seed: int = 0,
             kinds: list[str] | None = None, batch_size: int = 32, questions_per_clip: int | None = None,
             progress: bool = False) -> dict:
    """Held-out scores of the model on `clips` (lm: a MotionLanguageModel). Returns a flat dict of figures.
    progress: a progress bar for each task's answers (`motionllm eval llm`)."""
    from motionllm.models.metrics import caption_scores, r_precision, repeated, text_motion_scores

    from motionllm.models.llm_tasks import M2T_PROMPTS, QA_PROMPTS, T2M_PROMPTS, questions

    rng = np.random.default_rng(rng_seed)
    out: dict = {"clips": len(clips)}
    real_feats = [real[c.name] for c in clips]
    real_emb = evaluator.embed_motions(real_feats)
    started = time.time()
    if "t2m" in tasks:
        texts = [c.captions[int(rng.integers(len(c.captions)))] for c in clips]
        examples = [Example("t2m", T2M_PROMPTS[0].format(caption=t), []) for t in texts]
        # Sampled as `generate` samples, with a fixed seed: the figures are repeatable.
        codes = lm.answer(examples, replace(T2M_SAMPLING, seed=rng_seed), batch_size=batch_size,
                          progress=_label("t2m", progress))
        generated = [lm.motion_tokenizer.decode(c) for c in codes]
        scores = text_motion_scores(evaluator.embed_texts(texts), evaluator.embed_motions(generated), real_emb)
        out.update({f"t2m_{k}": v[0] for k, v in scores.items()})
        recon = [lm.motion_tokenizer.decode(c.codes) for c in clips]  # the tokenizer's ceiling, for reference
        scores = text_motion_scores(evaluator.embed_texts(texts), evaluator.embed_motions(recon), real_emb)
        out.update({f"t2m_tokenizer_{k}": v[0] for k, v in scores.items() if k in ("R@3", "FID")})
        out.update(motion_validity([lm.joints_of(c) for c in codes], "t2m"))
        out["t2m_seconds"] = time.time() - started
    if "m2t" in tasks:
        started = time.time()
        captions = lm.answer([Example("m2t", M2T_PROMPTS[0], [c.codes]) for c in clips], batch_size=batch_size,
                             progress=_label("m2t", progress))
        text_emb = evaluator.embed_texts(captions)
        if len(clips) >= 32:
            r, _ = repeated(lambda g: r_precision(text_emb, real_emb, g))
            out.update({"m2t_R@1": float(r[0]), "m2t_R@3": float(r[2])})
        out.update({f"m2t_{k}": v for k, v in caption_scores(captions, [c.captions for c in clips]).items()})
        out["m2t_examples"] = [{"id": c.name, "caption": s, "reference": c.captions[0]} for c, s in zip(clips[:5], captions)]
        examples = [Example("m2t", M2T_PROMPTS[0], [c.codes], answer_text=c.captions[0]) for c in clips]
        out["m2t_loss"], out["m2t_loss_other_motion"] = answer_losses(lm, examples)
        out["m2t_seconds"] = time.time() - started
    if "qa" in tasks:
        started = time.time()
        items = []
        for c in clips:
            if c.labels:
                asked = questions(c.labels, rng, kinds or [])
                if questions_per_clip is not None:
                    asked = [asked[i] for i in rng.permutation(len(asked))[:questions_per_clip]]
                items += [(c, kind, q, a) for kind, q, a in asked]
        answers = lm.answer([Example("qa", QA_PROMPTS[0].format(question=q), [c.codes], kind=k)
                             for c, k, q, _ in items], batch_size=batch_size, progress=_label("qa", progress))
        right = [normalise_answer(p) == normalise_answer(a) for (_, _, _, a), p in zip(items, answers)]
        out["qa_questions"] = len(items)
        out["qa_loss"], out["qa_loss_other_motion"] = answer_losses(lm, [
            Example("qa", QA_PROMPTS[0].format(question=q), [c.codes], answer_text=a) for c, _, q, a in items])
        out["qa_accuracy"] = float(np.mean(right)) if right else float("nan")
        for kind in sorted({k for _, k, _, _ in items}):
            picks = [r for (_, k, _, _), r in zip(items, right) if k == kind]
            out[f"qa_accuracy_{kind}"] = float(np.mean(picks))
        out["qa_seconds"] = time.time() - started
    if "predict" in tasks or "inbetween" in tasks:
        out.update(completion_scores(lm, clips, real, tasks, batch_size, progress))
    return out


def motion_validity(motions: list[np.ndarray], prefix: str) -> dict:
    """`corpus --validate` over what users get (joints as `joints_of` returns them): the share of motions that
    pass, the worst of each physical figure, and how many fail each check."""
    from motionllm.corpus.validate import check_clip

    results = [check_clip(m) for m in motions]
    out = {f"{prefix}_valid": float(np.mean([r["passed"] for r in results])) if results else float("nan")}
    measured = [r for r in results if "bone_rel_std" in r]
    if measured:
        out.update({f"{prefix}_worst_bone_rel_std": max(r["bone_rel_std"] for r in measured),
                    f"{prefix}_worst_min_height_cm": min(r["min_height_cm"] for r in measured),
                    f"{prefix}_median_sliding_cm_s": float(np.median([r["sliding_cm_s"] for r in measured]))})
    for check in sorted({f for r in results for f in r["failed"]}):
        out[f"{prefix}_failed_{check}"] = sum(check in r["failed"] for r in results)
    return out


def _label(task: str, progress: bool) -> str | None:
    return f"eval {task}" if progress else None


def answer_losses(lm, examples: list[Example], batch_size: int = 16) -> tuple[float, float]:
    """Teacher-forced loss (nats per answer token) of the reference answers given each example's own motion,
    and given the next example's motion instead. Equal losses mean the answers ignore the motion: this shows
    whether a model starts to read motion long before its generated captions get better."""
    others = [Example(e.task, e.instruction, examples[(i + 1) % len(examples)].motions, answer_text=e.answer_text)
              for i, e in enumerate(examples)]
    means = []
    for rows in (examples, others):
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(rows), batch_size):
                batch = collate(lm.chat, rows[i: i + batch_size])
                n = int((batch["targets"] >= 0).sum())
                total, count = total + lm.model.loss(**batch).item() * n, count + n
        means.append(total / max(count, 1))
    return means[0], means[1]


def normalise_answer(text: str) -> str:
    return " ".join(text.lower().strip().rstrip(".!").split())


def completion_scores(lm, clips: list[Clip], real: dict[str, np.ndarray], tasks: list[str], batch_size: int = 32,
                      progress: bool = False) -> dict:
    """Prediction and in-betweening: ADE / FDE (mm, joints) against the real motion, with baselines.

    Prediction continues from the first 20% (the true length is requested, so the frames line up); the baseline
    extrapolates every joint at its last velocity. In-betweening fills the middle 60%; the baseline interpolates
    linearly between the last given frame and the first frame after the gap; the model's transition is anchored to
    the given segments likewise (`anchor_transition`: placed on the start, bent to reach the end). Errors are over
    the generated frames only, in the global frame of the real motion (root trajectory included).
    """
    from motionllm.models.llm_tasks import CONTEXT_FRACTION, INBETWEEN_PROMPTS, PREDICT_PROMPTS
    from motionllm.motion.canonical import anchor_transition
    from motionllm.motion.features import features_to_joints

    fpt = lm.config.frames_per_token
    out = {}
    usable = [c for c in clips if len(c.codes) >= 5]
    truth = [features_to_joints(real[c.name][: len(c.codes) * fpt]) for c in usable]
    contexts = [max(1, int(round(CONTEXT_FRACTION * len(c.codes)))) for c in usable]
    for task in ("predict", "inbetween"):
        if task not in tasks:
            continue
        if task == "predict":
            examples = [Example(task, PREDICT_PROMPTS[0], [c.codes[:k]]) for c, k in zip(usable, contexts)]
            lengths = [len(c.codes) - k for c, k in zip(usable, contexts)]
        else:
            examples = [Example(task, INBETWEEN_PROMPTS[0], [c.codes[:k], c.codes[len(c.codes) - k:]])
                        for c, k in zip(usable, contexts)]
            lengths = [len(c.codes) - 2 * k for c, k in zip(usable, contexts)]
        answers = lm.answer(examples, lengths=lengths, batch_size=batch_size, progress=_label(task, progress))
        model_ade, model_fde, base_ade, base_fde = [], [], [], []
        for c, k, answer, joints in zip(usable, contexts, answers, truth):
            codes = (np.concatenate([c.codes[:k], answer]) if task == "predict"
                     else np.concatenate([c.codes[:k], answer, c.codes[len(c.codes) - k:]]))
            generated = lm.joints_of(codes)
            a, b = k * fpt, (len(c.codes) if task == "predict" else len(c.codes) - k) * fpt
            n = min(len(generated), len(joints))
            b = min(b, n)
            if task == "inbetween":  # the same given segments as the linear baseline, real start and end
                generated = anchor_transition(generated[: len(joints)], joints[:a], joints[b:], a, b)
            err = np.linalg.norm(generated[a:b] - joints[a:b], axis=-1).mean(-1) * 1000
            baseline = (constant_velocity(joints[:a], b - a) if task == "predict"
                        else linear_bridge(joints[a - 1], joints[b] if b < len(joints) else joints[-1], b - a))
            base_err = np.linalg.norm(baseline - joints[a:b], axis=-1).mean(-1) * 1000
            model_ade.append(err.mean()); model_fde.append(err[-1])
            base_ade.append(base_err.mean()); base_fde.append(base_err[-1])
        name = "constant_velocity" if task == "predict" else "linear"
        out.update({f"{task}_ADE_mm": float(np.mean(model_ade)), f"{task}_FDE_mm": float(np.mean(model_fde)),
                    f"{task}_{name}_ADE_mm": float(np.mean(base_ade)), f"{task}_{name}_FDE_mm": float(np.mean(base_fde)),
                    f"{task}_clips": len(usable)})
    return out


def constant_velocity(context: np.ndarray, frames: int) -> np.ndarray:
    velocity = context[-1] - context[-2] if len(context) >= 2 else np.zeros_like(context[-1])
    return context[-1] + velocity * np.arange(1, frames + 1)[:, None, None]


def linear_bridge(start: np.ndarray, end: np.ndarray, frames: int) -> np.ndarray:
    w = (np.arange(1, frames + 1) / (frames + 1))[:, None, None]
    return start * (1 - w) + end * w


# ---------------------------------------------------------------- training

def _lr_at(step: int, cfg: LLMTrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + np.cos(np.pi * min(1.0, t))))


def _plot_history(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evals = [h for h in history if "t2m_R@3" in h]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.plot([h["step"] for h in history], [h["train_loss"] for h in history])
    ax1.set_xlabel("step"); ax1.set_ylabel("train loss")
    for key in ("t2m_R@3", "m2t_R@3", "qa_accuracy"):
        ax2.plot([h["step"] for h in evals], [h.get(key, np.nan) for h in evals], marker="o", label=key)
    ax2.set_xlabel("step"); ax2.set_ylabel("held-out (val)"); ax2.set_ylim(0, 1); ax2.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)


def train_llm(data: Path, out: Path, cfg: LLMTrainConfig, tokenizer_dir: Path, evaluator_dir: Path | None,
              resume: bool = True, progress: bool = True) -> dict:
    from motionllm.console import progress_bar

    from motionllm.models.evaluator import Evaluator
    from motionllm.models.motion_llm import MotionLanguageModel

    unknown = set(cfg.task_weights) - set(TASKS)
    if unknown or not cfg.task_weights:
        raise MotionLLMError(f"unknown tasks {sorted(unknown)} (known: {', '.join(TASKS)})")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    motion_tokenizer = MotionTokenizer.load(tokenizer_dir)
    mcfg = cfg.model
    if cfg.init_from is not None:  # the adapter must fit: take the source's LoRA layout
        source = read_config(Path(cfg.init_from))
        for name in ("lora_rank", "lora_alpha", "lora_layers", "lora_targets"):
            setattr(mcfg, name, getattr(source, name))
        mcfg.tag_notes = mcfg.tag_notes or source.tag_notes  # a model that reads notes goes on being shown them
    mcfg.num_codes, mcfg.frames_per_token = motion_tokenizer.config.num_codes, motion_tokenizer.config.frames_per_token
    cache = out / "cache"
    train = load_clips(data, "train", motion_tokenizer, tokenizer_dir, cache, mcfg.max_motion_tokens, progress)
    val = load_clips(data, "val", motion_tokenizer, tokenizer_dir, cache, mcfg.max_motion_tokens, progress)
    kinds = action_kinds(train)
    val = [val[i] for i in np.random.default_rng(1).permutation(len(val))[: cfg.eval_clips]]
    real_val = _real_features(val, data, "val")
    evaluator = Evaluator.load(evaluator_dir) if evaluator_dir is not None else None

    codebook = motion_tokenizer.model.quantizer.codebook.detach().clone()
    reader = None  # a given reader, else the one of the model training starts from (if it has one)
    if cfg.motion_reader is not None:
        reader = MotionReader.load(Path(cfg.motion_reader))
    elif cfg.init_from is not None:
        reader = load_saved_reader(Path(cfg.init_from))
    if reader is not None:
        require_codebook(reader, codebook)
    model, hf_tokenizer = build_model(mcfg, codebook, reader)
    if cfg.init_from is not None:
        init_from_trained(model, Path(cfg.init_from))
    lm = MotionLanguageModel(model, hf_tokenizer, motion_tokenizer)
    view = TrainableView(model.trainable())
    from_zero = {"motion_head", "reader_projection"}  # these start at zero and have further to go than the adapters
    optimiser = torch.optim.AdamW([
        {"params": [p for n, p in model.trainable().items() if n not in from_zero], "scale": 1.0},
        {"params": [p for n, p in model.trainable().items() if n in from_zero], "scale": cfg.head_lr_scale}],
        lr=cfg.lr, weight_decay=0.0)
    state_path = out / TRAIN_STATE
    step, history = 0, []
    if resume and state_path.is_file():
        saved = load_train_state(state_path, view, optimiser)
        step, history = int(saved["step"]), saved["history"]
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "train_config.json") as tmp:
        tmp.write_text(json.dumps(asdict(cfg), indent=2))
    tps = mcfg.tokens_per_second

    def checkpoint():
        save_model(model, out)
        save_train_state(state_path, view, optimiser, {"step": step, "history": history})
        with atomic_path(out / "history.json") as tmp:
            tmp.write_text(json.dumps(history, indent=2))

    bar = progress_bar(total=cfg.steps, initial=step, desc="train llm", unit="step", enabled=progress)
    running, tokens, started = [], 0, time.time()
    try:
        while step < cfg.steps:
            rng = np.random.default_rng([cfg.seed, step])  # a step's batch depends only on the step: resumable
            for group in optimiser.param_groups:
                group["lr"] = _lr_at(step, cfg) * group["scale"]
            batch = collate(lm.chat, draw_examples(train, cfg.task_weights, cfg.batch_size, rng, tps, kinds,
                                                    cfg.qa_follow_ups))
            model.train()
            loss = model.loss(**batch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(view.parameters(), 1.0)
            optimiser.step()
            running.append(loss.item())
            tokens += int(batch["attention_mask"].sum())
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(running[-20:]):.3f}", tok_s=f"{tokens / (time.time() - started):.0f}")
            if step % cfg.checkpoint_every == 0 or step == cfg.steps or step % cfg.eval_every == 0:
                record = {"step": step, "train_loss": float(np.mean(running)), "lr": _lr_at(step - 1, cfg),
                          "tokens_per_second": tokens / (time.time() - started)}
                running = []
                if evaluator is not None and (step % cfg.eval_every == 0 or step == cfg.steps):
                    model.eval()
                    scores = evaluate(lm, val, real_val, evaluator, [t for t in ("t2m", "m2t", "qa")
                                                                      if t in cfg.task_weights], kinds=kinds,
                                      questions_per_clip=2)
                    record.update({k: v for k, v in scores.items() if not isinstance(v, list)})
                    bar.write(f"step {step}: loss {record['train_loss']:.3f}  " + "  ".join(
                        f"{k} {record[k]:.3f}" for k in ("t2m_R@3", "t2m_FID", "m2t_R@3", "qa_accuracy", "m2t_loss",
                                                       "m2t_loss_other_motion") if k in record))
                history.append(record)
                checkpoint()
                _plot_history(history, out / "history.png")
    except KeyboardInterrupt:
        bar.write(f"interrupted at step {step}: checkpoint saved, run again to resume")
        checkpoint()
        raise
    finally:
        bar.close()
    return history[-1] if history else {}
