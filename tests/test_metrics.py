"""The evaluation protocol's metrics on controlled embeddings and captions."""
from __future__ import annotations

import numpy as np
import pytest

from motionllm.models import metrics as M
from motionllm.models.motion_metrics import acceleration_error, codebook_usage, mpjpe, pa_mpjpe
from motionllm.motion.quaternion import qrot, quat_about_y


@pytest.fixture(scope="module")
def paired():
    rng = np.random.default_rng(0)
    text = rng.normal(size=(640, 32))
    return text, text + 0.25 * rng.normal(size=text.shape)


def test_r_precision_orders_matched_above_shuffled(paired):
    text, motion = paired
    good = M.r_precision(text, motion, np.random.default_rng(1))
    bad = M.r_precision(text, np.random.default_rng(2).permutation(motion), np.random.default_rng(1))
    assert good[0] > 0.95 and np.all(np.diff(good) >= 0)
    assert bad[2] < 0.2  # chance level for top-3 of 32 is 3/32


def test_fid_is_zero_for_identical_and_grows_with_shift(paired):
    _, motion = paired
    assert M.fid(motion, motion) == pytest.approx(0.0, abs=1e-6)
    assert M.fid(motion, motion + 0.5) > M.fid(motion, motion + 0.1) > 0.01


def test_repeated_reports_interval(paired):
    text, motion = paired
    mean, ci = M.repeated(lambda g: M.diversity(motion, g))
    assert mean > 0 and 0 < ci < mean / 5


def test_multimodality_counts_spread_between_samples():
    rng = np.random.default_rng(0)
    tight = rng.normal(size=(10, 1, 8)) + 0.01 * rng.normal(size=(10, 30, 8))
    loose = rng.normal(size=(10, 1, 8)) + 1.0 * rng.normal(size=(10, 30, 8))
    assert M.multimodality(loose, rng) > 10 * M.multimodality(tight, rng)


def test_caption_scores_rank_paraphrase_above_unrelated():
    refs = [["a person walks forward slowly.", "someone walks ahead at a slow pace."],
            ["a man jumps up and down twice.", "the person hops in place two times."]]
    exact = M.caption_scores(["a person walks forward slowly.", "a man jumps up and down twice."], refs, semantic=False)
    wrong = M.caption_scores(["the cat sleeps on a mat.", "it is raining outside today."], refs, semantic=False)
    assert exact["BLEU@4"] > 90 and exact["ROUGE-L"] > 90
    assert wrong["BLEU@1"] < 20 and wrong["CIDEr"] < exact["CIDEr"]


def test_reconstruction_metrics():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(20, 22, 3))
    assert mpjpe(joints, joints) == 0.0
    moved = qrot(quat_about_y(np.full((20, 22), 0.7)), joints) * 1.2 + 3.0
    assert pa_mpjpe(moved, joints) < 1e-6 < mpjpe(moved, joints)
    assert acceleration_error(joints + 1.0, joints) < 1e-9
    usage = codebook_usage(np.array([0, 1, 2, 3] * 5), 8)
    assert usage["perplexity"] == pytest.approx(4.0) and usage["used_percent"] == 50.0
