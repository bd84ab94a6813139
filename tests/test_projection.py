"""Projecting decoded motion onto a body (motion.projection): constant bones, planted feet, the floor. Pure numpy,
on the real HumanML3D clip (a person running and turning) spoiled the ways a decoder spoils motion."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motionllm.corpus.validate import check_clip
from motionllm.errors import MotionFormatError
from motionllm.motion.projection import CONTACT_SPEED, LEGS, foot_contact, project_to_body
from motionllm.motion.skeleton import FPS, JOINT_INDEX, Skeleton, bone_lengths

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "humanml3d_sample" / "new_joints_012314.npy"


@pytest.fixture(scope="module")
def real() -> np.ndarray:
    return np.load(SAMPLE).astype(np.float64)


def decoded_like(joints: np.ndarray, seed: int = 0) -> np.ndarray:
    """What a decoder does to a motion: every joint off by up to ~2 cm, smoothly in time (bones change length),
    the body 2 cm lower in places (feet in the floor), and the whole body drifting 8 cm/s (planted feet slide)."""
    rng = np.random.default_rng(seed)
    frames = len(joints)
    t = np.arange(frames) / FPS
    wobble = np.sin(2 * np.pi * (0.7 * t[:, None, None] + rng.random((1, 22, 3)))) * rng.uniform(0.005, 0.02, (1, 22, 3))
    out = joints + wobble
    out[..., 1] -= 0.02 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.4 * t))[:, None]
    out[..., 0] += 0.08 * t[:, None]
    return out


def test_a_decoded_looking_motion_fails_validation_and_its_projection_passes(real):
    spoiled = decoded_like(real)
    assert {"bones", "floor"} <= set(check_clip(spoiled)["failed"])

    projected = project_to_body(spoiled)

    result = check_clip(projected)
    assert result["passed"], result
    assert result["bone_rel_std"] < 1e-5
    assert result["min_height_cm"] >= -1e-3
    assert result["sliding_cm_s"] < check_clip(spoiled)["sliding_cm_s"]
    # The pose is kept: joints move a few centimetres on average (most of it the planted feet held still).
    assert np.linalg.norm(projected - spoiled, axis=-1).mean() < 0.03


def test_a_real_motion_is_nearly_unchanged(real):
    projected = project_to_body(real)

    moved = np.linalg.norm(projected - real, axis=-1)
    assert moved.mean() < 0.005
    lengths = bone_lengths(projected.astype(np.float64))[:, 1:]
    np.testing.assert_allclose(lengths, np.broadcast_to(bone_lengths(real)[:, 1:].mean(0), lengths.shape), atol=2e-4)


def test_the_given_skeleton_sets_every_bone_in_every_frame(real):
    body = Skeleton(Skeleton.from_joints(real).bone_lengths * 1.1)

    projected = project_to_body(decoded_like(real), body)

    lengths = bone_lengths(projected.astype(np.float64))
    np.testing.assert_allclose(lengths[:, 1:], np.broadcast_to(body.bone_lengths[1:], lengths[:, 1:].shape), atol=1e-5)


def test_a_planted_foot_stays_where_it_was_put_down(real):
    spoiled = decoded_like(real)
    projected = project_to_body(spoiled).astype(np.float64)

    for hip, knee, ankle, toe in LEGS.values():
        down = foot_contact(spoiled, toe, 0.05) & np.roll(foot_contact(spoiled, toe, 0.05), 1)
        down[0] = False
        speed = np.linalg.norm(np.diff(projected[:, toe, [0, 2]], axis=0), axis=-1) * FPS
        before = np.linalg.norm(np.diff(spoiled[:, toe, [0, 2]], axis=0), axis=-1) * FPS
        assert down.sum() > 10
        assert np.median(speed[down[1:]]) < 0.02 < np.median(before[down[1:]])
        assert np.median(before[down[1:]]) < CONTACT_SPEED


def test_a_clip_in_the_air_settles_on_the_floor_unless_asked_not_to(real):
    lifted = real + [0.0, 0.3, 0.0]

    assert project_to_body(lifted)[..., 1].min() == pytest.approx(0.0, abs=1e-6)
    assert project_to_body(lifted, settle=False)[..., 1].min() == pytest.approx(0.3, abs=1e-4)


def test_a_sunk_hand_raises_its_frame(real):
    sunk = real.copy()
    sunk[50, JOINT_INDEX["right_wrist"], 1] = -0.05  # one frame, a hand through the floor

    projected = project_to_body(sunk)

    assert projected[..., 1].min() >= -1e-6


@pytest.mark.parametrize("bad", [np.zeros((10, 21, 3)), np.full((10, 22, 3), np.nan)])
def test_what_is_not_a_motion_is_refused(bad):
    with pytest.raises(MotionFormatError):
        project_to_body(bad)
