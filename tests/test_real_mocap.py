"""Real mocap: the Bandai-Namco and CMU motion-prediction readers read people as they moved, and
`motionllm data import` turns them into held-out, captioned HumanML3D-format datasets.

The archives are in ../shared/data/real_mocap; the tests skip without them. Checks are physical, so that a
reader that swaps axes, sides or the frame rate fails: walks go the way the body faces at a human speed and
cadence, the hand a file names is the hand that moves, the person is upright with the feet on the floor.
"""
from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from motionllm.errors import MotionLLMError
from motionllm.motion.dataset import HumanML3DDataset, read_split, read_texts
from motionllm.motion.formats import detect_input_format, read_motion
from motionllm.motion.skeleton import FPS, JOINT_INDEX as J, facing_directions
from motionllm.realdata import labels as L
from motionllm.realdata.importer import import_dataset, windows

BANDAI_FILES = [f"dataset-2_{c}_{s}_{t:03d}.bvh" for c, s, t in [
    ("wave-left-hand", "normal", 1), ("wave-right-hand", "normal", 1), ("wave-both-hands", "active", 1),
    ("raise-up-left-hand", "elderly", 1), ("raise-up-right-hand", "active", 1), ("walk", "normal", 1),
    ("walk", "masculine", 1), ("walk-turn-left", "normal", 1), ("walk-turn-right", "youthful", 1),
    ("run", "active", 1), ("walk", "elderly", 1), ("walk", "elderly", 10)]] + [
    "dataset-1_bye_sad_001.bvh", "dataset-1_walk-left_happy_001.bvh", "dataset-1_punch_normal_002.bvh"]


@pytest.fixture(scope="session")
def real_mocap(shared_data, tmp_path_factory) -> Path:
    """Both archives, unpacked once per run (~12 s)."""
    archives = sorted((shared_data / "real_mocap").glob("*.tar.xz"))
    if len(archives) < 2:
        pytest.skip("real mocap archives not found in ../shared/data/real_mocap")
    root = tmp_path_factory.mktemp("real_mocap")
    for archive in archives:
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
    return root


def bandai(root: Path, name: str) -> Path:
    return next(root.glob(f"dataset/Bandai-Namco-Research-Motiondataset-*/data/{name}"))


def walk_figures(joints: np.ndarray) -> tuple[float, float, float]:
    """(speed m/s, fraction of the travel along the initial facing, steps per second)."""
    travel = joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]
    seconds = (len(joints) - 1) / FPS
    facing = facing_directions(joints[:10].astype(np.float64)).mean(0)[[0, 2]]
    along = float(travel @ facing / np.linalg.norm(travel))
    # a step is a change of which ankle is ahead along the walk
    ahead = (joints[:, J["left_ankle"]] - joints[:, J["right_ankle"]])[:, [0, 2]] @ (travel / np.linalg.norm(travel))
    ahead = np.convolve(ahead, np.ones(3) / 3, mode="valid")
    crossings = np.count_nonzero(np.diff(np.sign(ahead[np.abs(ahead) > 0.05])) != 0)
    return float(np.linalg.norm(travel) / seconds), along, crossings / seconds


def assert_person(joints: np.ndarray) -> None:
    assert abs(joints[..., 1].min()) < 1e-4, "feet on the floor"
    head = joints[:, J["head"], 1]
    assert 1.2 < np.median(head) < 1.8, f"head joint at {np.median(head):.2f} m: a standing adult (SMPL: ~1.4)"
    assert (head > joints[:, J["pelvis"], 1]).all(), "upright"
    assert joints[0, J["left_hip"], 0] > joints[0, J["right_hip"], 0], "left is +X at frame 0 (facing +Z)"


def test_cmu_expmap_walk_is_a_walk_at_120_hz(real_mocap):
    path = real_mocap / "data/cmu_mocap/train/walking/walking_1.txt"
    assert detect_input_format(path) == "cmu-expmap"
    rows = sum(1 for line in path.read_text().splitlines() if line.strip())
    joints = read_motion(path)
    # 120 Hz, the rest-pose first row dropped, resampled to 20 fps
    assert len(joints) == int(np.floor((rows - 2) / 120 * FPS + 1e-6)) + 1
    assert_person(joints)
    speed, along, cadence = walk_figures(joints)
    assert 0.9 < speed < 1.6, f"walking speed {speed:.2f} m/s"
    assert along > 0.9, f"only {along:.2f} of the travel goes the way the body faces (root axes swapped?)"
    assert 1.4 < cadence < 2.2, f"{cadence:.2f} steps/s (a wrong frame rate scales this)"


def test_bandai_bvh_reads_a_person_walking_forward(real_mocap):
    joints = read_motion(bandai(real_mocap, "dataset-2_walk_normal_001.bvh"))
    assert_person(joints)
    speed, along, cadence = walk_figures(joints)
    assert 0.8 < speed < 1.7 and along > 0.9 and 1.4 < cadence < 2.3, (speed, along, cadence)


@pytest.mark.parametrize("content,side", [("wave-left-hand", "left"), ("wave-right-hand", "right"),
                                          ("wave-both-hands", "both"), ("raise-up-left-hand", "left"),
                                          ("raise-up-right-hand", "right")])
def test_bandai_the_hand_the_file_names_is_the_hand_that_moves(real_mocap, content, side):
    for path in sorted(real_mocap.glob(f"dataset/*-2/data/dataset-2_{content}_*_00[1-3].bvh"))[:6]:
        joints = read_motion(path)
        assert L.measured_side(joints) == side, path.name
        if side != "both":
            lifted = {s: joints[:, L.WRISTS[s], 1].max() - joints[0, L.WRISTS[s], 1] for s in ("left", "right")}
            other = "right" if side == "left" else "left"
            assert lifted[side] > lifted[other] + 0.2, (path.name, lifted)


def test_labels_measure_speed_and_turns(real_mocap):
    elderly = L.action_label("walk", "locomotion", read_motion(bandai(real_mocap, "dataset-2_walk_elderly_001.bvh")))
    active = L.action_label("run", "locomotion", read_motion(bandai(real_mocap, "dataset-2_run_active_001.bvh")))
    assert elderly["params"]["speed_mps"] < active["params"]["speed_mps"] - 1.5
    assert elderly["speed"] == "slow" and active["type"] == "run"
    turn = L.action_label("walk_turn", "locomotion",
                          read_motion(bandai(real_mocap, "dataset-2_walk-turn-right_youthful_001.bvh")),
                          direction="right")
    assert turn["direction"] == "right" and 60 < turn["params"]["degrees"] < 130


def test_windows_cover_long_takes_and_drop_short_ones():
    assert windows(30) == []
    assert windows(150) == [(0, 150)]
    parts = windows(500)
    assert len(parts) == 3 and parts[0][0] == 0 and parts[-1][1] == 500
    assert all(41 <= b - a <= 199 for a, b in parts)


def test_import_writes_a_held_out_captioned_dataset(real_mocap, tmp_path):
    src = tmp_path / "src" / "Bandai-Namco-Research-Motiondataset-x" / "data"
    src.mkdir(parents=True)
    for name in BANDAI_FILES:
        shutil.copy(bandai(real_mocap, name), src / name)
    out = tmp_path / "bandai"
    summary = import_dataset("bandai", tmp_path / "src", out, workers=1, progress=False)
    ds = HumanML3DDataset(out, "train")
    assert len(ds) > 0 and summary["splits"]["test"] > 0
    test = set(read_split(out / "test.txt"))
    # set 2's Latin square holds out walk/masculine and raise-up-right-hand/exhausted ... (index 4 -> style 4)
    assert "bandai2_walk_masculine_001" in test and "bandai2_walk_normal_001" not in test
    assert "bandai1_punch_normal_002" in test  # take 2 of a two-take content
    assert "bandai2_walk_elderly_010_w0" in read_split(out / "val.txt")  # a long take: windows
    for name in read_split(out / "all.txt"):
        labels = json.loads((out / "labels" / f"{name}.json").read_text())
        assert labels["licence"].startswith("CC BY-NC") and labels["source"] == "bandai"
        captions = read_texts(out / "texts" / f"{name}.txt")
        assert len(captions) >= 3
        action = labels["actions"][0]
        if action["type"] in ("wave", "raise_arm") and action["side"] in ("left", "right"):
            assert all(action["side"] in c.text for c in captions), (name, [c.text for c in captions])
        if labels["manner"] == "elderly":
            assert all("old" in c.text or "elderly" in c.text for c in captions), [c.text for c in captions]
    joints = np.load(out / "new_joints" / "bandai2_raise-up-right-hand_active_001.npy")
    assert len(joints) >= 40  # a 1.5 s raise, held still at both ends up to 2 s
    meta = json.loads((out / "meta.json").read_text())
    assert meta["splits"]["train"] == len(ds) and meta["licence"].startswith("CC BY-NC")


def test_import_cmu_holds_out_whole_trials(real_mocap, tmp_path):
    out = tmp_path / "cmu"
    import_dataset("cmu-prediction", real_mocap / "data", out, workers=2, progress=False)
    test, train = set(read_split(out / "test.txt")), set(read_split(out / "train.txt"))
    trial = lambda n: n.split("_w")[0]  # noqa: E731 - windows of one trial
    assert not {trial(n) for n in test} & {trial(n) for n in train}
    assert any(n.startswith("cmu_train_directing_traffic_4") for n in test)
    labels = [json.loads((out / "labels" / f"{n}.json").read_text()) for n in sorted(test)]
    kinds = {lab["actions"][0]["type"] for lab in labels}
    assert {"walk", "jump", "play_basketball", "wash_window", "referee_signals", "direct_traffic"} <= kinds


def test_import_refuses_bad_input_and_leaves_nothing(tmp_path):
    bad = tmp_path / "bad.tar.xz"
    bad.write_bytes(b"not an archive")
    out = tmp_path / "out"
    with pytest.raises(MotionLLMError, match="not a readable tar archive"):
        import_dataset("cmu-prediction", bad, out, progress=False)
    with pytest.raises(MotionLLMError, match="no CMU motion-prediction files"):
        import_dataset("cmu-prediction", tmp_path, out, progress=False)
    with pytest.raises(MotionLLMError, match="unknown source"):
        import_dataset("h36m", tmp_path, out, progress=False)
    assert not out.exists() and not list(tmp_path.glob(".out.*"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    with pytest.raises(MotionLLMError, match="not empty"):
        import_dataset("cmu-prediction", tmp_path, tmp_path / "full", progress=False)
    assert (tmp_path / "full" / "x").read_text() == "keep"
