"""The pose-stage degradation model (motionllm.perception.degrade): no ROS, no video, ~2 s.

Each kind of error is switched on alone, on a long still or real motion, and its measured statistics must
match the config; the whole model must keep a valid canonical motion, repeat with a seed, and do nothing but
the stage's smoothing when switched off.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.motion.canonical import canonicalize
from motionllm.motion.skeleton import JOINT_INDEX, NUM_JOINTS, Skeleton, bone_lengths
from motionllm.perception.degrade import Degradation, DegradationError, ar1, degrade, dropout_mask
from motionllm.perception.smoothing import OneEuroFilter

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "humanml3d_sample" / "new_joints_012314.npy"
ZERO = (0.0,) * NUM_JOINTS


def still(frames: int = 3000) -> np.ndarray:
    """A canonical motion: the reference body standing still (rest pose, on the floor), (frames, 22, 3)."""
    pose = Skeleton().rest_pose()
    return canonicalize(np.repeat(pose[None], frames, axis=0))


def walk(frames: int = 200) -> np.ndarray:
    """A canonical motion that moves: the rest pose travelling forward with swinging arms and legs."""
    pose = Skeleton().rest_pose()
    t = np.arange(frames) / 20.0
    out = np.repeat(pose[None], frames, axis=0).astype(np.float64)
    for name, sign in (("left_wrist", 1), ("right_wrist", -1), ("left_ankle", -1), ("right_ankle", 1)):
        out[:, JOINT_INDEX[name], 2] += sign * 0.2 * np.sin(2 * math.pi * t)
    out[:, :, 2] += 1.2 * t[:, None]
    return canonicalize(out)


def only(**fields) -> Degradation:
    return replace(Degradation.none(smoothing=False), **fields)


def test_defaults_are_the_measured_model():
    config = Degradation()
    assert len(config.noise_depth) == NUM_JOINTS and max(config.noise_depth) > 0.05
    # depth is worse than lateral for the limbs BlazePose reads from one image
    wrist = JOINT_INDEX["left_wrist"]
    assert config.noise_depth[wrist] > config.noise_lateral[wrist]
    assert config.root_depth > 2 * config.root_lateral
    assert config.tilt_deg > 0 and config.smoothing


def test_output_is_canonical_and_finite():
    x = walk()
    y = degrade(x, np.random.default_rng(1))
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert y[..., 1].min() == pytest.approx(0.0, abs=1e-6)          # on the floor
    assert np.abs(y[0, 0, [0, 2]]).max() < 1e-5                    # root at the XZ origin at frame 0
    err = np.linalg.norm((y - y[:, :1]) - (x - x[:, :1]), axis=-1)[:, 1:].mean()
    assert 0.03 < err < 0.4  # the default model does something, and not something absurd


def test_deterministic_with_a_seed():
    x = walk()
    a = degrade(x, np.random.default_rng(7))
    b = degrade(x, np.random.default_rng(7))
    c = degrade(x, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_zero_config_is_identity_up_to_smoothing():
    x = walk()
    assert np.abs(degrade(x, np.random.default_rng(0), Degradation.none(smoothing=False)) - x).max() < 1e-5
    smoothed = degrade(x, np.random.default_rng(0), Degradation.none())
    f = OneEuroFilter()
    expected = canonicalize(np.stack([f(p, k / 20.0) for k, p in enumerate(x)]))
    assert np.abs(smoothed - expected).max() < 1e-5
    assert np.abs(smoothed - x).max() > 1e-3  # the smoothing itself is there (a moving body lags)


def test_nan_and_bad_config_refused_in_one_line():
    x = walk(40)
    x[5, 3, 1] = np.nan
    with pytest.raises(MotionFormatError) as err:
        degrade(x, np.random.default_rng(0))
    assert "NaN" in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, MotionLLMError)
    for bad in (dict(tilt_deg=-1.0), dict(dropout_rate=1.0), dict(noise_depth=(0.1,) * 5),
                dict(camera_distance=(3.0, 2.0)), dict(root_time=0.0)):
        with pytest.raises(DegradationError) as err:
            replace(Degradation(), **bad)
        assert "\n" not in str(err.value)


def test_ar1_has_unit_variance_and_the_correlation_time():
    x = ar1(np.random.default_rng(0), 40000, (4,), 0.2, 20.0)
    assert x.var() == pytest.approx(1.0, rel=0.05)
    rho = (x[1:] * x[:-1]).mean() / x.var()
    assert rho == pytest.approx(math.exp(-1 / (20 * 0.2)), abs=0.02)


def test_bone_wobble_matches_the_config():
    wobble = tuple(0.0 if j == 0 else 0.06 for j in range(NUM_JOINTS))
    y = degrade(still(), np.random.default_rng(2), only(bone_wobble=wobble))
    lengths = bone_lengths(y)[:, 1:]
    cv = lengths.std(axis=0) / lengths.mean(axis=0)
    assert np.median(cv) == pytest.approx(0.06, rel=0.15)


def test_bone_bias_scales_the_bones():
    bias = tuple(0.0 if j == 0 else 0.2 for j in range(NUM_JOINTS))
    x = still(10)
    y = degrade(x, np.random.default_rng(0), only(bone_bias=bias))
    ratio = bone_lengths(y)[0, 1:] / bone_lengths(x)[0, 1:]
    assert np.allclose(ratio, 1.2, atol=1e-4)


def test_joint_noise_is_deeper_along_the_line_of_sight():
    # noise on the forearms only (the facing, from hips and shoulders, stays put): the wrist's error about its
    # mean is largest along the line of sight (nearly horizontal) and smallest across it horizontally
    lateral = np.zeros(NUM_JOINTS)
    depth = np.zeros(NUM_JOINTS)
    for side in ("left", "right"):
        lateral[JOINT_INDEX[f"{side}_wrist"]], depth[JOINT_INDEX[f"{side}_wrist"]] = 0.01, 0.04
    x = still()
    y = degrade(x, np.random.default_rng(3), only(noise_lateral=tuple(lateral), noise_depth=tuple(depth)))
    w = JOINT_INDEX["left_wrist"]
    err = (y[:, w] - y[:, JOINT_INDEX["left_elbow"]]) - (x[:, w] - x[:, JOINT_INDEX["left_elbow"]])
    sd = np.sqrt(np.linalg.eigvalsh(np.cov((err - err.mean(axis=0)).T)))
    assert sd[-1] == pytest.approx(0.04, rel=0.2)
    assert sd[0] < 0.015


def test_root_error_matches_the_config():
    y = degrade(still(), np.random.default_rng(4), only(root_lateral=0.02, root_depth=0.08))
    pelvis = y[:, 0, [0, 2]]
    sd = np.sqrt(np.linalg.eigvalsh(np.cov(pelvis.T)))
    assert sd[1] == pytest.approx(0.08, rel=0.2)   # along the (nearly horizontal) line of sight
    assert sd[0] == pytest.approx(0.02, rel=0.2)   # across it


def test_tilt_leans_the_body_by_the_config():
    leans = []
    for seed in range(200):
        y = degrade(still(4), np.random.default_rng(seed), only(tilt_deg=5.0))
        axis = y[0, JOINT_INDEX["neck"]] - y[0, 0]
        leans.append(math.degrees(math.acos(axis[1] / np.linalg.norm(axis))))
        assert y[..., 1].min() == pytest.approx(0.0, abs=1e-6)
    # the lean of two independent N(0, 5 deg) tilts is Rayleigh: RMS = 5 * sqrt(2)
    assert math.sqrt(np.mean(np.square(leans))) == pytest.approx(5.0 * math.sqrt(2), rel=0.15)


def test_dropouts_have_the_rate_and_run_length_and_are_filled():
    mask = dropout_mask(np.random.default_rng(5), 40000, 0.3, 3.0)
    assert mask.mean() == pytest.approx(0.3, abs=0.03)
    starts = np.flatnonzero(mask[1:] & ~mask[:-1])
    assert mask.sum() / len(starts) == pytest.approx(3.0, rel=0.15)
    x = walk()
    y = degrade(x, np.random.default_rng(5), only(dropout_rate=0.3, dropout_frames=3.0))
    # without noise, a dropped frame is interpolated between its neighbours: close to the clean motion (at the
    # ends a dropped run is held at the last frame seen, as the stage does, so those frames are left out here)
    # (root-relative: a held first frame moves the whole canonical clip)
    diff = np.abs((y - y[:, :1]) - (x - x[:, :1]))[15:-15]
    assert np.isfinite(y).all() and diff.mean() < 0.02 and diff.max() < 0.25  # long runs cut the swing
    assert diff.max() > 1e-4  # and something was dropped


def test_smoothing_reduces_the_jitter_of_the_noise():
    x = walk(400)
    config = Degradation(tilt_deg=0.0)
    raw = degrade(x, np.random.default_rng(6), replace(config, smoothing=False))
    smooth = degrade(x, np.random.default_rng(6), config)
    jitter = lambda m: np.linalg.norm(m[2:] - 2 * m[1:-1] + m[:-2], axis=-1).mean()  # noqa: E731
    assert jitter(smooth) < 0.8 * jitter(raw)


@pytest.mark.skipif(not SAMPLE.is_file(), reason="../shared/data/humanml3d_sample is absent")
def test_real_clip_degrades_to_a_valid_motion():
    x = np.load(SAMPLE).astype(np.float32)
    y = degrade(x, np.random.default_rng(0))
    assert y.shape == x.shape and np.isfinite(y).all() and y[..., 1].min() == pytest.approx(0.0, abs=1e-6)
