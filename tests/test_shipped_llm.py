"""The shipped motion LLM (models/weights/llm) on motions and prompts it never trained on, through the
Python API and the command line. Held-out bars are measured by `motionllm eval llm` (docs/models.md); these
tests check that the shipped model does the tasks at all, offline, from a fresh clone."""
from __future__ import annotations

import numpy as np
import pytest

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


PROMPTS = ["a person walks forward.", "a person jumps in place.", "a person waves with the right hand.",
           "a person sits down.", "a person does jumping jacks.", "someone kicks with the left leg."]


def test_generated_motions_match_their_prompts(lm, evaluator):
    """Each prompt's motion is closer (evaluator space) to its own prompt than to most of the others."""
    from motionllm.motion.features import joints_to_features

    motions = [joints_to_features(lm.generate(p, seconds=4.0)) for p in PROMPTS]
    assert all(len(m) >= 70 for m in motions)  # 4 s at 20 fps (features drop the last frame)
    text = evaluator.embed_texts(PROMPTS)
    motion = evaluator.embed_motions(motions)
    distances = np.linalg.norm(text[:, None] - motion[None], axis=-1)  # prompt x motion
    ranks = [int((distances[:, j] < distances[j, j]).sum()) for j in range(len(PROMPTS))]
    assert sum(r < 2 for r in ranks) >= len(PROMPTS) - 1, ranks  # top-2 of 6 for all but one


def test_captions_describe_unseen_motions(lm, fresh_clips):
    from motionllm.models.text_embedding import semantic_similarity

    clips = fresh_clips[:12]
    captions = [lm.caption(c.features) for c in clips]
    assert all(c and c[0].isalpha() for c in captions)
    similarity = semantic_similarity(captions, [[r.text for r in c.captions] for c in clips])
    assert similarity > 0.6, (similarity, captions)


def test_questions_about_unseen_motions(lm, fresh_clips):
    from motionllm.models.llm_tasks import questions
    from motionllm.models.llm_training import normalise_answer

    rng = np.random.default_rng(0)
    right = []
    for clip in fresh_clips[:15]:
        for kind, question, answer in questions(clip.labels, rng, ["clap", "wave", "walk", "squat", "bow"]):
            if kind in ("first", "last", "yes_no", "gait"):
                right.append(normalise_answer(lm.ask(clip.features, question)) == normalise_answer(answer))
    assert len(right) >= 20 and np.mean(right) >= 0.7, (len(right), np.mean(right))


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
    ends = (len(lm.codes_of(joints[:20])) + len(lm.codes_of(joints[-20:]))) * fpt
    between = lm.inbetween(joints[:20], joints[-20:], seconds=3.0)
    assert len(between) == ends + 60 and np.all(np.isfinite(between))


def test_long_motions_are_described_in_windows(lm, fresh_clips):
    joints = np.concatenate([fresh_clips[i].features for i in range(4)])  # 20-40 s of features
    from motionllm.motion.features import features_to_joints

    windows = lm.describe(features_to_joints(joints), window_seconds=6.0)
    assert windows[0][0] == 0.0 and windows[-1][1] == pytest.approx(len(joints) // 4 * 4 / 20, abs=0.3)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(windows, windows[1:]))  # contiguous, in order


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
