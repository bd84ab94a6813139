"""The embedded motion-language corpus: format, determinism, captions that match the motion, and the
plausibility checks (which must pass on real mocap and on generated clips, and fail on broken ones)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from motionllm.cli import main as cli_main
from motionllm.corpus.actions import REGISTRY, Ctx, State
from motionllm.corpus.actions.whole_body import _sit_motion
from motionllm.corpus.body import make_body, sample_body
from motionllm.corpus.captions import captions_for, gerund, third_person
from motionllm.corpus.generate import make_clip, split_of
from motionllm.corpus.rig import neutral_controls, solve, two_bone_ik
from motionllm.corpus.sequence import sample_style
from motionllm.corpus.validate import check_clip
from motionllm.motion.dataset import HumanML3DDataset, feature_statistics, read_split, read_texts
from motionllm.motion.features import features_to_joints
from motionllm.motion.skeleton import JOINT_INDEX as J
from motionllm.motion.skeleton import bone_lengths, facing_directions

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "humanml3d_sample" / "new_joints_012314.npy"
UPOS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "SCONJ", "VERB"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "c"
    assert cli_main(["corpus", "--out", str(out), "--count", "12", "--seed", "3", "--workers", "1",
                     "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def real_clip():
    if not SAMPLE.is_file():
        pytest.skip(f"real HumanML3D sample not found at {SAMPLE.resolve()} (../shared/data)")
    return np.load(SAMPLE).astype(np.float64)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- dataset format and determinism ------------------------------------------------------------------

def test_dataset_format(corpus):
    ids = read_split(corpus / "all.txt")
    assert len(ids) == 12
    for name in ids:
        joints = np.load(corpus / "new_joints" / f"{name}.npy")
        vecs = np.load(corpus / "new_joint_vecs" / f"{name}.npy")
        assert joints.dtype == np.float32 and vecs.dtype == np.float32
        assert joints.shape[1:] == (22, 3) and vecs.shape == (len(joints), 263)
        assert 40 <= len(joints) <= 196
        # HumanML3D's new_joints are the joints recovered from new_joint_vecs.
        assert np.abs(features_to_joints(vecs) - joints).max() < 1e-5
        captions = read_texts(corpus / "texts" / f"{name}.txt")
        assert len(captions) >= 3 and len({c.text for c in captions}) == len(captions)
        for c in captions:
            assert c.start == 0.0 and c.end == 0.0 and c.text.endswith(".")
            assert all(re.fullmatch(r"[a-z]+/[A-Z]+", tok) for tok in c.tokens), c.tokens
            assert {tok.split("/")[1] for tok in c.tokens} <= UPOS
        labels = json.loads((corpus / "labels" / f"{name}.json").read_text())
        assert labels["num_frames"] == len(joints) and labels["fps"] == 20
        assert {"height_m", "leg_length_m", "arm_length_m"} <= set(labels["body"])
        for a in labels["actions"]:
            assert a["type"] in REGISTRY
            assert 0 <= a["start_frame"] <= a["end_frame"] < len(joints)
            assert {"side", "direction", "speed", "count", "params"} <= set(a)
    meta = json.loads((corpus / "meta.json").read_text())
    assert meta["count"] == 12 and meta["seed"] == 3 and meta["fps"] == 20


def test_splits_disjoint_and_statistics_from_train(corpus):
    splits = {s: set(read_split(corpus / f"{s}.txt")) for s in ("train", "val", "test")}
    assert not (splits["train"] & splits["val"]) and not (splits["train"] & splits["test"])
    assert not (splits["val"] & splits["test"])
    assert set.union(*splits.values()) == set(read_split(corpus / "all.txt"))
    train = [np.load(corpus / "new_joint_vecs" / f"{i}.npy") for i in sorted(splits["train"])]
    mean, std = feature_statistics(train)
    np.testing.assert_allclose(np.load(corpus / "Mean.npy"), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.load(corpus / "Std.npy"), std, rtol=1e-4, atol=1e-6)
    assert len(HumanML3DDataset(corpus, "train")) == len(splits["train"])


def test_split_fractions():
    splits = split_of(1000, 5)
    counts = {s: sum(v == s for v in splits.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 800, "val": 50, "test": 150}
    assert split_of(1000, 5) == splits and split_of(1000, 6) != splits


def test_statistics_from_running_sums_match_a_direct_computation():
    """The corpus accumulates sums clip by clip; the result must equal the HumanML3D definition computed
    directly: per-dimension mean, std averaged within each feature group."""
    from motionllm.motion.dataset import statistics_from_moments
    from motionllm.motion.features import CONTACT, RIC, ROT, VEL

    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(n, 263)) * rng.uniform(0.1, 3, 263) for n in (40, 70, 55)]
    total = sum(p.sum(0) for p in parts)
    total_sq = sum((p * p).sum(0) for p in parts)
    mean, std = statistics_from_moments(total, total_sq, sum(len(p) for p in parts))
    stacked = np.concatenate(parts)
    direct = stacked.std(0)
    for group in (slice(0, 1), slice(1, 3), slice(3, 4), RIC, ROT, VEL, CONTACT):
        np.testing.assert_allclose(std[group], direct[group].mean(), rtol=1e-5)
    np.testing.assert_allclose(mean, stacked.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(feature_statistics(parts)[1], std, rtol=1e-6)


def test_same_seed_same_bytes_for_any_worker_count(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert cli_main(["corpus", "--out", str(a), "--count", "6", "--seed", "9", "--workers", "1", "--no-progress"]) == 0
    assert cli_main(["corpus", "--out", str(b), "--count", "6", "--seed", "9", "--workers", "2", "--no-progress"]) == 0
    assert cli_main(["corpus", "--out", str(c), "--count", "6", "--seed", "10", "--workers", "1", "--no-progress"]) == 0
    assert _files(a) == _files(b)
    assert _files(a)["new_joints/000000.npy"] != _files(c)["new_joints/000000.npy"]


def test_refuses_non_empty_output_and_bad_arguments(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("precious")
    assert cli_main(["corpus", "--out", str(tmp_path), "--count", "2", "--no-progress"]) == 2
    assert (tmp_path / "keep.txt").read_text() == "precious"
    assert cli_main(["corpus", "--out", str(tmp_path / "x")]) == 2
    assert cli_main(["corpus", "--out", str(tmp_path / "y"), "--count", "0"]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "Traceback" not in err


# --- the library and the motion machinery --------------------------------------------------------------

def test_at_least_forty_action_types_with_captions():
    assert len(REGISTRY) >= 40
    categories = {a.category for a in REGISTRY.values()}
    assert {"locomotion", "arm", "fight", "jump", "exercise", "posture", "dance", "idle"} <= categories


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_action_starts_and_ends_in_the_neutral_pose(name):
    """Actions join without jumps: each begins and ends exactly in its state's neutral pose, and every
    action type has caption templates."""
    for seed in range(4):
        rng = np.random.default_rng(seed)
        style = sample_style(rng)
        style["while_rate"] = float(seed % 2)  # walks with and without a gesture on top
        ctx = Ctx(sample_body(rng), style, rng)
        start = State(root=(0.3, -0.2), heading=0.4, posture=REGISTRY[name].starts)
        segment = REGISTRY[name].build(ctx, start, 9.5)
        if segment is None:
            continue
        joints = solve(ctx.body, segment.controls)

        def rest(state):
            if state.posture == "sit":
                c, _ = _sit_motion(ctx, state, True)
                return solve(ctx.body, c)[-1]
            c = neutral_controls(ctx.body, 2, state.root, state.heading, state.ground, ctx.style)
            return solve(ctx.body, c)[0]

        # Within a millimetre (the pelvis's sway over the support foot feels the first step coming).
        assert np.abs(joints[0] - rest(start)).max() < 1e-3
        assert np.abs(joints[-1] - rest(segment.end)).max() < 1e-3
        np.testing.assert_allclose(bone_lengths(joints)[:, 1:], np.tile(ctx.body.lengths[1:], (len(joints), 1)),
                                   atol=1e-9)
        assert captions_for(segment.labels, rng, 3)


def test_two_bone_ik_keeps_lengths_and_reaches():
    rng = np.random.default_rng(1)
    root = rng.normal(size=(50, 3))
    target = root + rng.normal(size=(50, 3)) * 0.4
    mid, end = two_bone_ik(root, target, 0.4, 0.43, rng.normal(size=(50, 3)))
    np.testing.assert_allclose(np.linalg.norm(mid - root, axis=-1), 0.4, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(end - mid, axis=-1), 0.43, atol=1e-9)
    reachable = np.linalg.norm(target - root, axis=-1) < 0.75
    np.testing.assert_allclose(end[reachable], target[reachable], atol=1e-9)


def test_body_heights_and_inflections():
    for h in (1.5, 1.72, 1.95):
        assert make_body(h, leg=0.03, arm=-0.04).height == pytest.approx(h)
    assert [third_person(v) for v in ("walk", "reach", "carry", "go")] == ["walks", "reaches", "carries", "goes"]
    assert [gerund(v) for v in ("run", "wave", "tiptoe", "lie", "kick")] == ["running", "waving", "tiptoeing",
                                                                            "lying", "kicking"]


# --- captions agree with the joints ---------------------------------------------------------------------

def _clip(action: str, want: dict | None = None, seeds=range(40)):
    """A stored (HumanML3D-processed) clip of one action whose label matches `want`."""
    for seed in seeds:
        clip = make_clip(seed, 0, [action])
        label = clip.labels["actions"][0]
        if all(label.get(k) == v for k, v in (want or {}).items()):
            return clip, label
    raise AssertionError(f"no {action} clip with {want}")


def _frame_body_axes(joints, frame=0):
    forward = facing_directions(joints[frame:frame + 1])[0]
    left = np.cross([0.0, 1.0, 0.0], forward)
    return forward, left


@pytest.mark.parametrize("side", ["left", "right"])
def test_raised_arm_is_on_the_captioned_side(side):
    clip, label = _clip("raise_arm", {"side": side, "direction": "up"})
    j = clip.joints.astype(np.float64)
    forward, left = _frame_body_axes(j)
    assert abs(forward[2] - 1) < 0.05, "clips start facing +Z"
    wrist = J[f"{side}_wrist"]
    other = J[f"{'right' if side == 'left' else 'left'}_wrist"]
    peak = int(np.argmax(j[:, wrist, 1]))
    assert j[peak, wrist, 1] > j[peak, J["head"], 1] and j[peak, other, 1] < j[peak, J["pelvis"], 1]
    # The person's left is +X at frame 0.
    assert np.sign(j[peak, wrist, 0] - j[peak, J["pelvis"], 0]) == (1 if side == "left" else -1)
    assert all(side in c.text for c in clip.captions) and all("arm" in c.text for c in clip.captions)


@pytest.mark.parametrize("action,want,axis,sign", [
    ("walk", {}, 2, 1), ("walk_backward", {}, 2, -1),
    ("sidestep", {"direction": "left"}, 0, 1), ("sidestep", {"direction": "right"}, 0, -1),
])
def test_walking_direction_matches_label(action, want, axis, sign):
    clip, label = _clip(action, want)
    j = clip.joints
    travel = j[-1, 0] - j[0, 0]
    assert sign * travel[axis] > 0.4 and abs(travel[2 - axis]) < 0.5 * abs(travel[axis])
    word = {"walk": "forward|ahead|steps", "walk_backward": "back", "sidestep": label["direction"] or ""}[action]
    assert all(re.search(word, c.text) for c in clip.captions)


@pytest.mark.parametrize("direction", ["left", "right"])
def test_turn_direction_matches_label(direction):
    clip, label = _clip("turn_in_place", {"direction": direction})
    j = clip.joints.astype(np.float64)
    end = facing_directions(j[-1:])[0]
    angle = np.degrees(np.arctan2(end[0], end[2]))  # > 0: turned towards +X, the person's initial left
    degrees = label["params"]["degrees"]
    if degrees < 170:
        assert np.sign(angle) == (1 if direction == "left" else -1)
        assert abs(abs(angle) - degrees) < 20
    else:
        assert abs(abs(angle) - 180) < 20
    assert np.linalg.norm(j[-1, 0, [0, 2]] - j[0, 0, [0, 2]]) < 0.2  # on the spot
    assert all(direction in c.text or "around" in c.text for c in clip.captions)


def test_circle_direction_matches_label():
    from motionllm.corpus.sequence import compose

    seen = set()
    for seed in range(40):
        clip = compose(np.random.default_rng(seed), ["walk_circle"])
        if clip is None:
            continue
        direction = clip.actions[0]["direction"]
        root = clip.joints[:, 0, [0, 2]]
        # Signed area swept in (z, x): counter-clockwise seen from above (+Y), i.e. turning towards +X,
        # the person's initial left, is positive.
        z, x = root[:, 1], root[:, 0]
        area = 0.5 * np.sum(z[:-1] * x[1:] - z[1:] * x[:-1])
        assert np.sign(area) == (1 if direction == "left" else -1) and abs(area) > 1.0
        seen.add(direction)
    assert seen == {"left", "right"}


def test_walk_circle_survives_humanml3d_processing():
    make_clip(0, 0, ["walk_circle"])


def _count_events(signal, threshold, min_gap=3):
    """Number of separate runs of frames where signal < threshold."""
    below = signal < threshold
    starts = np.flatnonzero(below[1:] & ~below[:-1]) + 1
    return int(below[0]) + len(starts)


def test_clap_count_matches_label():
    for seed in range(6):
        clip, label = _clip("clap", seeds=range(seed, seed + 1))
        j = clip.joints
        gap = np.linalg.norm(j[:, J["left_wrist"]] - j[:, J["right_wrist"]], axis=-1)
        assert _count_events(gap, 0.16) == label["count"]
        word = {2: "two|twice", 3: "three", 4: "four", 5: "five", 6: "six"}[label["count"]]
        assert sum(bool(re.search(word, c.text)) for c in clip.captions) >= 2


def test_jump_count_matches_label():
    for seed in range(4):
        clip, label = _clip("jump_in_place", seeds=range(seed, seed + 1))
        j = clip.joints
        lowest_foot = j[:, [J["left_foot"], J["right_foot"]], 1].min(axis=1)
        assert _count_events(-lowest_foot, -0.04) == label["count"]


# --- plausibility checks ---------------------------------------------------------------------------------

def test_checks_pass_on_real_mocap(real_clip):
    result = check_clip(real_clip)
    assert result["passed"], result
    assert result["sliding_cm_s"] > 1.0  # real mocap does slide a little: the metric sees it


def test_checks_pass_on_generated_clips(corpus):
    for path in sorted((corpus / "new_joints").glob("*.npy")):
        labels = json.loads((corpus / "labels" / f"{path.stem}.json").read_text())
        assert check_clip(np.load(path), labels["terrain"])["passed"]


def _corruptions(base: np.ndarray) -> dict[str, np.ndarray]:
    t = len(base)
    out = {}
    sunk = base.copy()
    sunk[t // 3: t // 2, J["left_foot"], 1] -= 0.05          # a toe 5 cm into the floor
    out["floor"] = sunk
    stretched = base.copy()
    stretched[t // 2:, J["left_wrist"]] += (stretched[t // 2:, J["left_wrist"]] - stretched[t // 2:, J["left_elbow"]]) * 0.2
    out["bones"] = stretched                                 # forearm 20 % longer for half the clip
    sliding = base.copy()
    drift = np.zeros((t, 1, 3))
    drift[:, 0, 0] = np.arange(t) * 0.4 / 20                 # the whole body glides at 0.4 m/s
    out["sliding"] = sliding + drift
    spiked = base.copy()
    spiked[t // 2, J["right_wrist"]] += [0.0, 0.3, 0.0]       # one frame, one joint, 30 cm off
    out["jerk"] = spiked
    jitter = base + np.random.default_rng(0).normal(scale=0.02, size=base.shape)  # 2 cm noise
    out["jitter"] = jitter
    broken = base.copy()
    broken[5, 3, 1] = np.nan
    out["nan"] = broken
    return out


def test_checks_fail_on_corrupted_clips(real_clip, corpus):
    generated = np.load(sorted((corpus / "new_joints").glob("*.npy"))[0]).astype(np.float64)
    for base in (real_clip, generated):
        assert check_clip(base)["passed"] or base is generated
        for expected, clip in _corruptions(base).items():
            failed = check_clip(clip)["failed"]
            want = "jerk" if expected == "jitter" else expected
            assert want in failed, (expected, failed)
    # Sliding on its own (bones, floor and jerk intact): a drift bends nothing.
    still = real_clip[120:].copy()
    still[:, :, 0] += (np.arange(len(still)) * 0.4 / 20)[:, None]
    assert check_clip(still)["failed"] == ["sliding"]


def test_validate_cli_exit_codes(tmp_path, real_clip, capsys):
    good = tmp_path / "good.npy"
    np.save(good, real_clip.astype(np.float32))
    bad = tmp_path / "bad.npy"
    np.save(bad, _corruptions(real_clip)["floor"].astype(np.float32))
    assert cli_main(["corpus", "--validate", str(good), "--no-progress"]) == 0
    assert "1/1 clips pass" in capsys.readouterr().out
    assert cli_main(["corpus", "--validate", str(bad), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False and "floor" in report["clips"][0]["failed"]
    np.save(tmp_path / "feat.npy", np.zeros((10, 263), np.float32))
    assert cli_main(["corpus", "--validate", str(tmp_path / "feat.npy")]) == 2
    assert "not a joints file" in capsys.readouterr().err
