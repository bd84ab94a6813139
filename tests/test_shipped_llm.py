"""The shipped motion LLM (models/weights/llm) on motions and prompts it never trained on, through the
Python API and the command line. Held-out bars are measured by `motionllm eval llm` (docs/models.md); these
tests check that the shipped model does the tasks at all, offline, from a fresh clone."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from motionllm.models.llm import T2M_SAMPLING
from motionllm.models.paths import shipped

FRESH_SEED = 424242  # a corpus seed training never used


@pytest.fixture(scope="module")
def lm():
    from motionllm.models.motion_llm import MotionLanguageModel

    if not (shipped("llm") / "config.json").is_file():
        pytest.fail(f"shipped motion LLM missing at {shipped('llm')}: run `motionllm train llm` (docs/models.md)")
    return MotionLanguageModel.load()


@pytest.fixture(scope="module")
def evaluator():
    from motionllm.models.evaluator import Evaluator

    return Evaluator.load(shipped("evaluator"))


@pytest.fixture(scope="module")
def fresh_clips(tmp_path_factory):
    from motionllm.corpus.generate import generate
    from motionllm.motion.dataset import HumanML3DDataset

    out = tmp_path_factory.mktemp("fresh_llm") / "corpus"
    generate(out, 40, FRESH_SEED, workers=1, progress=False)
    return [s for split in ("train", "val", "test") for s in HumanML3DDataset(out, split)]


def test_generated_motions_match_their_prompts_above_chance(lm, evaluator, fresh_clips):
    """R@3 of generated motions among 32 prompts of unseen clips, in the evaluator's space (chance: 3/32).

    The issue's bar (>= 0.9 x real) is measured by `motionllm eval llm` on the 3000 test clips (the shipped
    model: 0.91, docs/models.md); 32 clips are too few for it, so this test guards clearly better than chance."""
    from motionllm.models.metrics import r_precision

    clips = fresh_clips[:32]
    texts = [c.captions[0].text for c in clips]
    sampling = replace(T2M_SAMPLING, seed=0)  # sampled, as `generate` does, and repeatable
    motions = [lm.motion_tokenizer.decode(codes) for codes in lm.generate_codes(texts, sampling=sampling)]
    assert all(2 * 4 <= len(m) <= 50 * 4 for m in motions)
    top = r_precision(evaluator.embed_texts(texts), evaluator.embed_motions(motions), np.random.default_rng(0))
    assert top[2] >= 0.2, top


def test_generated_predicted_and_inbetween_motions_pass_the_validator(lm, fresh_clips):
    """`corpus --validate` on what users get: constant bones, nothing in the floor, planted feet that stay, no
    spikes (the decoder alone fails it on every clip; `joints_of` projects onto a body)."""
    from motionllm.corpus.validate import check_clip
    from motionllm.motion.features import features_to_joints

    texts = ["a person jumps forward twice", "a person walks forward", "a person runs in a circle",
             "a person does a deep squat", "a person steps to the left", "a person kicks with the left leg"]
    codes = lm.generate_codes(texts, sampling=replace(T2M_SAMPLING, seed=0))
    raw = [features_to_joints(lm.motion_tokenizer.decode(c)) for c in codes]
    assert not any(check_clip(m)["passed"] for m in raw)  # what projection is for
    joints = features_to_joints(fresh_clips[1].features)
    motions = [lm.joints_of(c) for c in codes] + [lm.predict(joints[:40], seconds=2.0),
                                                  lm.inbetween(joints[:20], joints[-20:], seconds=2.0)]
    results = [check_clip(m) for m in motions]
    assert all(r["passed"] for r in results), [(i, r["failed"]) for i, r in enumerate(results) if not r["passed"]]


def test_captions_describe_unseen_motions(lm, fresh_clips):
    from motionllm.models.text_embedding import semantic_similarity

    clips = fresh_clips[:12]
    captions = [lm.caption(c.features) for c in clips]
    assert all(c and c[0].isalpha() for c in captions)
    references = [[r.text for r in c.captions] for c in clips]
    similarity = semantic_similarity(captions, references)
    shuffled = semantic_similarity(captions, references[1:] + references[:1])  # the same captions, wrong motions
    assert similarity > shuffled + 0.03, (similarity, shuffled, captions)


def test_questions_get_answers_of_the_right_kind(lm, fresh_clips):
    """Answers are well-formed for their question type. (Accuracy is measured by `motionllm eval llm`: the
    shipped model is above the issue's 80 % bar, see docs/models.md.)"""
    from motionllm.models.llm_tasks import ACTION_PHRASES, GAITS, questions
    from motionllm.models.llm_training import normalise_answer

    phrases = {normalise_answer(p) for p in ACTION_PHRASES.values()}
    rng = np.random.default_rng(0)
    kinds = {"yes_no": {"yes", "no"}, "gait": set(GAITS.values()), "side": {"left", "right", "both"},
             "speed": {"slow", "normal", "fast"}}
    checked = 0
    for clip in fresh_clips[:8]:
        for kind, question, _ in questions(clip.labels, rng, ["clap", "wave", "walk", "squat", "bow"]):
            answer = normalise_answer(lm.ask(clip.features, question))
            assert answer, question
            if kind in kinds:
                assert answer in kinds[kind], (question, answer)
            elif kind in ("count", "how_many_actions"):
                assert answer.isdigit(), (question, answer)
            elif kind in ("first", "last"):
                assert answer in phrases or len(answer.split()) <= 4, (question, answer)
            checked += 1
    assert checked >= 20


def test_prediction_and_inbetween_keep_their_context(lm, fresh_clips):
    clip = fresh_clips[0].features
    from motionllm.motion.features import features_to_joints

    joints = features_to_joints(clip)
    fpt = lm.config.frames_per_token
    context = len(lm.codes_of(joints[:40])) * fpt
    predicted = lm.predict(joints[:40], seconds=2.0)
    assert len(predicted) == context + 40 and np.all(np.isfinite(predicted))
    # the context is reproduced (through the tokenizer) before the prediction starts
    assert np.linalg.norm(predicted[:context] - joints[:context], axis=-1).mean() < 0.1
    # ... where the given motion is: the same motion turned and moved elsewhere is continued there
    from motionllm.motion.quaternion import qrot, quat_about_y

    elsewhere = qrot(quat_about_y(np.full(joints.shape[:2], 2.0)), joints) + [3.0, 0.0, -2.0]
    continued = lm.predict(elsewhere[:40], seconds=2.0)
    assert np.linalg.norm(continued[:context] - elsewhere[:context], axis=-1).mean() < 0.1
    shown_start, shown_end = len(lm.codes_of(joints[:20])) * fpt, len(lm.codes_of(joints[-20:])) * fpt
    between = lm.inbetween(joints[:20], joints[-20:], seconds=3.0)
    assert len(between) == shown_start + 60 + shown_end and np.all(np.isfinite(between))
    # the given frames come back where they were, and the transition joins them without a jump
    np.testing.assert_allclose(between[:shown_start], joints[:shown_start], atol=1e-5)
    np.testing.assert_allclose(between[-shown_end:], joints[-20:][:shown_end], atol=1e-5)
    steps = np.linalg.norm(np.diff(between, axis=0), axis=-1).mean(-1)
    assert steps[shown_start - 1] < 0.1 and steps[-shown_end - 1] < 0.1  # metres per frame, mean over joints


def test_long_motions_are_described_in_windows(lm, fresh_clips):
    joints = np.concatenate([fresh_clips[i].features for i in range(4)])  # 20-40 s of features
    from motionllm.motion.features import features_to_joints

    windows = lm.describe(features_to_joints(joints), window_seconds=6.0)
    assert windows[0][0] == 0.0 and windows[-1][1] == pytest.approx(len(joints) // 4 * 4 / 20, abs=0.3)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(windows, windows[1:]))  # contiguous, in order
    # a window asked for is a window given, however short the motion (--window was ignored under 10 s)
    short = features_to_joints(fresh_clips[0].features)[:120]  # 6 s
    assert len(lm.describe(short)) == 1
    two_second = lm.describe(short, window_seconds=2.0)
    assert [round(end - start, 1) for start, end, _ in two_second][:1] == [2.0] and two_second[-1][1] == pytest.approx(6.0, abs=0.3)


def test_commands_from_the_command_line(tmp_path, capsys, shared_data):
    from motionllm.cli import main

    out, gif = tmp_path / "wave.npy", tmp_path / "wave.gif"
    assert main(["generate", "a person waves with the right hand", "-o", str(out), "--seconds", "3",
                 "--render", str(gif)]) == 0
    assert np.load(out).shape == (60, 22, 3) and gif.stat().st_size > 0
    sample = shared_data / "humanml3d_sample" / "new_joints_012314.npy"
    assert main(["caption", str(sample), "--json"]) == 0
    assert '"caption"' in capsys.readouterr().out
    assert main(["ask", str(sample), "What does the person do first?"]) == 0
    assert capsys.readouterr().out.strip()
    assert main(["predict", str(out), "-o", str(tmp_path / "p.npy"), "--seconds", "2"]) == 0
    assert main(["inbetween", str(out), str(out), "-o", str(tmp_path / "b.npy"), "--seconds", "1"]) == 0
    # bad input: one clear line, exit 2, nothing written
    assert main(["generate", "   ", "-o", str(tmp_path / "empty.npy")]) == 2
    assert main(["generate", "a person waves", "-o", str(tmp_path / "x.npy"), "--seconds", "60"]) == 2
    assert not (tmp_path / "empty.npy").exists() and not (tmp_path / "x.npy").exists()
    assert "error:" in capsys.readouterr().err
