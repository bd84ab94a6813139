"""The motion core against real HumanML3D data: skeleton, canonical form, the 263-d representation,
the dataset reader and the renderer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motionllm.errors import MotionFormatError
from motionllm.motion import features as F
from motionllm.motion.canonical import canonicalize, check_joints, resample
from motionllm.motion.dataset import Caption, HumanML3DDataset, feature_statistics, read_texts, write_split, write_texts
from motionllm.motion.quaternion import qrot, qinv, quat_about_y
from motionllm.motion.skeleton import (
    LEFT_RIGHT_MIRROR, PARENTS, REFERENCE_BONE_LENGTHS, Skeleton, bone_lengths, forward_kinematics,
    inverse_kinematics,
)

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "humanml3d_sample"


@pytest.fixture(scope="module")
def hml():
    if not (SAMPLE / "new_joints_012314.npy").is_file():
        pytest.skip(f"real HumanML3D sample not found at {SAMPLE.resolve()} (../shared/data)")
    joints = np.load(SAMPLE / "new_joints_012314.npy")
    vecs = np.load(SAMPLE / "new_joint_vecs_012314.npy")
    return joints, vecs


def test_skeleton_tables_are_consistent():
    assert len(PARENTS) == 22 and PARENTS[0] == -1
    assert all(PARENTS[i] < i for i in range(1, 22))
    assert sorted(LEFT_RIGHT_MIRROR) == list(range(22))
    rest = Skeleton().rest_pose()
    np.testing.assert_allclose(bone_lengths(rest)[1:], REFERENCE_BONE_LENGTHS[1:], atol=1e-9)
    assert rest[1, 0] > 0 > rest[2, 0], "left hip must be on +X, right hip on -X"


def test_ik_fk_round_trip_on_real_motion(hml):
    joints, _ = hml
    quats = inverse_kinematics(joints.astype(np.float64))
    rebuilt = forward_kinematics(quats, joints[:, 0], Skeleton.from_joints(joints))
    assert np.abs(rebuilt - joints).max() < 1e-5


def test_recover_joints_from_real_features(hml):
    """Acceptance: features -> joints reproduces HumanML3D's new_joints within 1e-3 m everywhere."""
    joints, vecs = hml
    recovered = F.features_to_joints(vecs)
    assert recovered.shape == joints.shape
    assert np.abs(recovered - joints).max() < 1e-4


def _with_last_frame(joints, vecs):
    """HumanML3D computed T feature frames from T+1 joint frames; rebuild the (T+1)-th from the last
    frame's joint velocities so that the facing smoother sees the same sequence."""
    r_rot, _ = F.recover_root(vecs.astype(np.float64))
    step = qrot(np.repeat(qinv(r_rot[-1])[None], 22, axis=0), vecs[-1, F.VEL].reshape(22, 3))
    return np.concatenate([joints, (joints[-1] + step)[None]])


@pytest.mark.parametrize("uniform", [False, True])
def test_features_from_real_joints(hml, uniform):
    """Acceptance: joints -> features reproduces the root, ric, velocity and contact parts (and rotations)."""
    joints, vecs = hml
    ours = F.joints_to_features(_with_last_frame(joints, vecs), uniform=uniform)
    assert ours.shape == vecs.shape
    tolerance = {"root": 1e-5, "ric": 1e-5, "vel": 1e-5, "rot": 1e-4, "contact": 0.0}
    for name, part in [("root", F.ROOT), ("ric", F.RIC), ("vel", F.VEL), ("rot", F.ROT), ("contact", F.CONTACT)]:
        err = np.abs(ours[:, part] - vecs[:, part]).max()
        assert err <= tolerance[name], f"{name} part differs by {err}"


def test_features_without_the_extra_frame_are_still_close(hml):
    joints, vecs = hml
    ours = F.joints_to_features(joints)
    body = slice(0, len(ours) - 40)  # away from the end, where the facing smoother lacks one frame
    assert np.abs(ours[body, F.RIC] - vecs[body, F.RIC]).max() < 1e-3
    assert np.array_equal(ours[:, F.CONTACT], vecs[: len(ours), F.CONTACT])


def test_features_are_invariant_to_heading_and_position(hml):
    joints, _ = hml
    turned = qrot(quat_about_y(np.full(joints.shape[:2], 1.1)), joints.astype(np.float64)) + [3.0, 0.2, -1.0]
    np.testing.assert_allclose(F.joints_to_features(turned), F.joints_to_features(joints), atol=2e-4)


def test_round_trip_of_a_synthetic_motion_preserves_positions():
    rng = np.random.default_rng(0)
    rest = Skeleton().rest_pose() + [0, 0.9, 0]
    t = np.arange(60) / 20.0
    motion = np.repeat(rest[None], 60, axis=0)
    motion[:, :, 2] += 1.2 * t[:, None]  # walk forward
    motion[:, 20:22, 1] += 0.1 * np.sin(2 * np.pi * t)[:, None] + rng.normal(0, 0.002, (60, 2))
    back = F.features_to_joints(F.joints_to_features(motion, uniform=False))
    np.testing.assert_allclose(back, canonicalize(motion)[:-1], atol=2e-3)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(MotionFormatError, match="shape"):
        check_joints(np.zeros((10, 21, 3)))
    bad = np.zeros((10, 22, 3))
    bad[3, 4, 1] = np.nan
    with pytest.raises(MotionFormatError, match="NaN"):
        F.joints_to_features(bad)
    with pytest.raises(MotionFormatError, match="263"):
        F.features_to_joints(np.zeros((10, 262)))


def test_canonicalize_faces_z_on_floor_and_resamples(hml):
    joints, _ = hml
    turned = qrot(quat_about_y(np.full(joints.shape[:2], -0.7)), joints.astype(np.float64)) + [1, 0.3, 2]
    at_60 = resample(turned, 20, 60)
    canon = canonicalize(at_60, fps=60)
    assert canon.dtype == np.float32 and abs(len(canon) - len(joints)) <= 1
    np.testing.assert_allclose(canon, joints[: len(canon)], atol=1e-4)
    assert canon[..., 1].min() == pytest.approx(0.0, abs=1e-6)


def test_dataset_round_trip(tmp_path, hml):
    joints, vecs = hml
    for folder in ("new_joints", "new_joint_vecs", "texts"):
        (tmp_path / folder).mkdir()
    np.save(tmp_path / "new_joints" / "a.npy", joints)
    np.save(tmp_path / "new_joint_vecs" / "a.npy", vecs)
    captions = [Caption("a person walks forward.", ("a/DET", "person/NOUN", "walk/VERB", "forward/ADV")),
                Caption("someone walks.", ("someone/PRON", "walk/VERB"), 0.0, 3.0)]
    write_texts(tmp_path / "texts" / "a.txt", captions)
    write_split(tmp_path / "train.txt", ["a", "missing"])
    assert read_texts(tmp_path / "texts" / "a.txt") == captions
    ds = HumanML3DDataset(tmp_path, "train")
    names = sorted(s.name for s in ds)
    assert names == ["0.0-3.0_a", "a"] and ds.num_joints == 22
    assert [s.length for s in sorted(ds, key=lambda s: s.name)] == [60, 170]
    assert ("missing", "missing features or texts") in ds.skipped
    mean, std = feature_statistics([vecs])
    assert mean.shape == std.shape == (263,) and np.all(std > 0)
    assert np.ptp(std[F.RIC]) == 0.0  # grouped like HumanML3D's Std.npy


def test_caption_line_errors():
    with pytest.raises(MotionFormatError):
        Caption.from_line("no separators here")
    with pytest.raises(ValueError):
        Caption("bad # text").to_line()


def test_render_png_and_gif(tmp_path, hml):
    from motionllm.motion.render import render_motion

    joints, _ = hml
    png = render_motion(joints[:40], tmp_path / "sheet.png", title="sample", sheet_frames=4)
    gif = render_motion([joints[:12], joints[:12] + [0.2, 0, 0]], tmp_path / "clip.gif", labels=["a", "b"])
    import imageio.v3 as iio

    sheet = iio.imread(png)
    assert sheet.ndim == 3 and sheet.shape[0] > 200 and sheet.std() > 10  # something was drawn
    frames = iio.imread(gif, index=None)
    assert len(frames) == 12
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir()), "temporary files left behind"


def test_render_rejects_bad_output(tmp_path):
    from motionllm.errors import MotionLLMError
    from motionllm.motion.render import render_motion

    with pytest.raises(MotionLLMError, match="gif"):
        render_motion(np.zeros((5, 22, 3)), tmp_path / "x.avi")
    assert list(tmp_path.iterdir()) == []
