"""`motionllm convert`: real files each way, and bad input that must fail in one line, exit 2 and leave no
output behind (nor touch an existing output)."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from motionllm import cli
from motionllm.motion.canonical import canonicalize
from motionllm.motion.features import FEATURE_DIM
from motionllm.motion.skeleton import Skeleton

HML = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "humanml3d_sample"


@pytest.fixture(scope="module")
def hml() -> Path:
    if not (HML / "new_joints_012314.npy").is_file():
        pytest.skip(f"real HumanML3D sample not found at {HML.resolve()} (../shared/data)")
    return HML


def convert(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["convert", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_bvh_to_joints(capsys, registry_sample, tmp_path):
    code, out, err = convert(capsys, registry_sample("lafan1_test2.bvh"), tmp_path / "walk.npy")
    assert code == 0, err
    joints = np.load(tmp_path / "walk.npy")
    assert joints.dtype == np.float32 and joints.shape == (2630, 22, 3)
    assert "walk.npy: joints from 2630 frames" in out


def test_amc_to_bvh_and_back(capsys, registry_sample, tmp_path):
    amc, asf = registry_sample("cmu_01.amc"), registry_sample("cmu_01.asf")
    assert convert(capsys, amc, tmp_path / "direct.npy", "--asf", asf)[0] == 0
    assert convert(capsys, amc, tmp_path / "cmu.bvh", "--asf", asf)[0] == 0
    assert convert(capsys, tmp_path / "cmu.bvh", tmp_path / "via_bvh.npy")[0] == 0
    direct, via_bvh = np.load(tmp_path / "direct.npy"), np.load(tmp_path / "via_bvh.npy")
    # CMU's spine pivots at the root (lowerback dofs), so the pelvis-hips-spine1 triangle, one rigid
    # BVH joint, bends in this data: spine1 is off by up to ~2 cm, most joints by far less.
    error = np.linalg.norm(direct - via_bvh, axis=-1)
    assert error.max() < 0.03 and np.median(error) < 3e-3


def test_deepmimic_to_features_and_features_to_joints(capsys, registry_sample, hml, tmp_path):
    code, out, err = convert(capsys, registry_sample("deepmimic_walk.txt"), tmp_path / "f.npy", "--features")
    assert code == 0, err
    assert np.load(tmp_path / "f.npy").shape == (25, FEATURE_DIM)
    # A (T, 263) input is features by its shape; the output .npy holds joints unless --features.
    code, out, err = convert(capsys, hml / "new_joint_vecs_012314.npy", tmp_path / "j.npy")
    assert code == 0, err
    expected = canonicalize(np.load(hml / "new_joints_012314.npy"))
    np.testing.assert_allclose(np.load(tmp_path / "j.npy"), expected, atol=1e-3)


def test_joints_at_another_rate(capsys, hml, tmp_path):
    assert convert(capsys, hml / "new_joints_012314.npy", tmp_path / "slow.npy", "--fps", "10")[0] == 0
    assert len(np.load(tmp_path / "slow.npy")) == 2 * 169 + 1


# --- failures ------------------------------------------------------------------------------------------

def _bvh_text(tmp_path: Path) -> str:
    from motionllm.motion.formats import write_motion

    joints = np.repeat(Skeleton().rest_pose()[None], 3, axis=0).astype(np.float32)
    write_motion(tmp_path / "ok.bvh", joints)
    return (tmp_path / "ok.bvh").read_text()


def _truncated_bvh(d: Path) -> list:
    text = _bvh_text(d)
    (d / "cut.bvh").write_text(text[: len(text) - 100])
    return [d / "cut.bvh"]


def _garbage_json(d: Path) -> list:
    (d / "garbage.json").write_text("{'Frames': [1, 2,")
    return [d / "garbage.json"]


def _wrong_shape(d: Path) -> list:
    np.save(d / "shape.npy", np.zeros((10, 24, 3)))
    return [d / "shape.npy"]


def _nan_joints(d: Path) -> list:
    joints = np.repeat(Skeleton().rest_pose()[None], 5, axis=0)
    joints[2, 7] = np.nan
    np.save(d / "nan.npy", joints)
    return [d / "nan.npy"]


def _amc_without_asf(d: Path) -> list:
    (d / "motion.amc").write_text(":FULLY-SPECIFIED\n:DEGREES\n1\nroot 0 0 0 0 0 0\n")
    return [d / "motion.amc"]


def _unknown_extension(d: Path) -> list:
    (d / "motion.fbx").write_bytes(b"Kaydara FBX Binary")
    return [d / "motion.fbx"]


def _pickle_body_model(d: Path) -> list:
    poses = np.zeros((4, 72))
    np.savez(d / "amass.npz", poses=poses, trans=np.zeros((4, 3)), betas=np.zeros(10),
             gender=np.array("neutral"), mocap_framerate=np.array(60.0))
    (d / "models").mkdir()
    (d / "models" / "SMPL_NEUTRAL.pkl").write_bytes(pickle.dumps({"v_template": np.zeros((3, 3))}))
    return [d / "amass.npz", "--body-model", d / "models"]


def _mediapipe_without_rate(d: Path) -> list:
    (d / "landmarks.json").write_text(json.dumps([[[0.0, 0.0, 0.0]] * 33] * 3))
    return [d / "landmarks.json"]


def _option_for_another_format(d: Path) -> list:
    _bvh_text(d)  # writes a good ok.bvh
    return [d / "ok.bvh", "--asf", d / "x.asf"]


def _missing_input(d: Path) -> list:
    return [d / "nowhere.bvh"]


BAD_INPUTS = {
    "truncated BVH": (_truncated_bvh, "truncated"),
    "garbage JSON": (_garbage_json, "not valid JSON"),
    "wrong shape": (_wrong_shape, "shape"),
    "NaN joints": (_nan_joints, "NaN"),
    "AMC without --asf": (_amc_without_asf, "--asf"),
    "unknown extension": (_unknown_extension, "extension"),
    "pickle body model": (_pickle_body_model, "--trust-pickle"),
    "MediaPipe without --fps": (_mediapipe_without_rate, "--fps"),
    "option for another format": (_option_for_another_format, "does not apply"),
    "missing input": (_missing_input, "not found"),
}


@pytest.mark.parametrize("output", ["out.npy", "out.bvh"])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_cleanly(capsys, tmp_path, case, output):
    make, message = BAD_INPUTS[case]
    inputs = tmp_path / "in"
    inputs.mkdir()
    args = make(inputs)
    outputs = tmp_path / "out"
    outputs.mkdir()
    code, out, err = convert(capsys, args[0], outputs / output, *args[1:])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("motionllm convert: error: ") and message in err, err
    assert list(outputs.iterdir()) == [], "no output (or temporary file) left behind"


@pytest.mark.parametrize("output, extra, message", [
    ("out.bvh", ["--features"], "features are written as .npy"),
    ("out.csv", [], "cannot write"),
    ("out.npy", ["--features", "--out-format", "bvh"], "contradicts"),
])
def test_bad_output_request_fails_cleanly(capsys, tmp_path, hml, output, extra, message):
    (tmp_path / "out").mkdir()
    code, out, err = convert(capsys, hml / "new_joints_012314.npy", tmp_path / "out" / output, *extra)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert list((tmp_path / "out").iterdir()) == []


def test_failure_keeps_an_existing_output(capsys, tmp_path):
    _truncated_bvh(tmp_path)
    (tmp_path / "out.npy").write_bytes(b"previous result")
    code, _, _ = convert(capsys, tmp_path / "cut.bvh", tmp_path / "out.npy")
    assert code == 2 and (tmp_path / "out.npy").read_bytes() == b"previous result"


def test_entry_point_reports_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "motionllm.cli", "convert", str(tmp_path / "missing.bvh"),
                             str(tmp_path / "out.npy")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert not (tmp_path / "out.npy").exists()
