"""Training and evaluation commands end to end on a tiny HumanML3D-format dataset (a few steps each):
they run, write what they promise, resume, and score. Quality is measured on the real corpus, not here."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from motionllm.cli import main
from motionllm.errors import MotionLLMError
from motionllm.motion.dataset import Caption, feature_statistics, write_split, write_texts
from motionllm.motion.features import features_to_joints, joints_to_features
from motionllm.motion.quaternion import qrot, quat_about_y

VERBS = ["walks", "jogs", "turns", "waves", "jumps", "kicks", "bends", "squats"]


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory, shared_data):
    """40 clips cut from the real HumanML3D sample, turned and sped up, with distinct captions."""
    root = tmp_path_factory.mktemp("tiny")
    joints = np.load(shared_data / "humanml3d_sample" / "new_joints_012314.npy").astype(np.float64)
    for folder in ("new_joints", "new_joint_vecs", "texts"):
        (root / folder).mkdir()
    rng = np.random.default_rng(0)
    ids, feats = [], []
    for i in range(40):
        start = rng.integers(0, 60)
        clip = joints[start:start + 100]
        clip = qrot(quat_about_y(np.full(clip.shape[:2], rng.uniform(-3, 3))), clip)
        vecs = joints_to_features(clip)
        motion_id = f"{i:06d}"
        np.save(root / "new_joint_vecs" / f"{motion_id}.npy", vecs)
        np.save(root / "new_joints" / f"{motion_id}.npy", features_to_joints(vecs))
        verb = VERBS[i % len(VERBS)]
        write_texts(root / "texts" / f"{motion_id}.txt",
                    [Caption(f"a person {verb} number {i}."), Caption(f"someone {verb} ({i}).")])
        ids.append(motion_id)
        feats.append(vecs)
    mean, std = feature_statistics(feats)
    np.save(root / "Mean.npy", mean)
    np.save(root / "Std.npy", std)
    write_split(root / "train.txt", ids[:32])
    write_split(root / "val.txt", ids[32:36] + ids[:28])  # val must hold >= 32 clips for R-precision batches
    write_split(root / "test.txt", ids[4:40])
    return root


def test_train_and_eval_tokenizer(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "tok"
    args = ["train", "tokenizer", "--data", str(tiny_dataset), "--out", str(out), "--steps", "4",
            "--batch-size", "8", "--width", "32"]
    assert main(args) == 0
    for name in ("model.safetensors", "config.json", "stats.npz", "loss.png", "history.json", "train_state.safetensors"):
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    assert history[-1]["step"] == 4
    # resuming to a later step continues from the checkpoint instead of starting over
    assert main(args[:6] + ["--steps", "6", "--batch-size", "8", "--width", "32"]) == 0
    history = json.loads((out / "history.json").read_text())
    assert [h["step"] for h in history] == [4, 6]
    capsys.readouterr()
    assert main(["eval", "tokenizer", "--data", str(tiny_dataset), "--tokenizer", str(out), "--no-real", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["held_out"]
    assert report["clips"] == 36 and report["mpjpe_mm"] > 0 and 0 < report["used_percent"] <= 100


def test_train_evaluator_and_score_real_split(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "eval"
    base = ["train", "evaluator", "--data", str(tiny_dataset), "--out", str(out), "--epochs", "2",
            "--steps-per-epoch", "5"]
    assert main(base) == 2  # 32 train clips cannot fill the default batch of 128: refused, not crashed
    assert "too few clips" in capsys.readouterr().err
    assert main(base + ["--batch-size", "16"]) == 0
    assert {"model.safetensors", "config.json", "stats.npz", "history.json"} <= {p.name for p in out.iterdir()}
    capsys.readouterr()
    assert main(["eval", "t2m", "--real", "--data", str(tiny_dataset), "--evaluator", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert set(rows) == {"Real motion", "Shuffled pairs", "Noisy motion (1 std)"}
    real = rows["Real motion"]
    assert {"R@1", "R@2", "R@3", "FID", "MM-Dist", "Diversity"} <= set(real)
    assert real["FID"]["mean"] < 1e-3 < rows["Noisy motion (1 std)"]["FID"]["mean"]
    assert real["R@1"]["mean"] <= real["R@2"]["mean"] <= real["R@3"]["mean"]


def test_train_reader_on_motion_tokens(tiny_dataset, tmp_path, capsys):
    from motionllm.models.motion_reader import MotionReader, pad_codes

    tokenizer = tmp_path / "tok"
    assert main(["train", "tokenizer", "--data", str(tiny_dataset), "--out", str(tokenizer), "--steps", "2",
                 "--batch-size", "8", "--width", "32"]) == 0
    out = tmp_path / "reader"
    base = ["train", "reader", "--data", str(tiny_dataset), "--out", str(out), "--tokenizer", str(tokenizer),
            "--steps", "4"]
    capsys.readouterr()
    assert main(base) == 2  # 32 train clips cannot fill the default batch of 128: refused, nothing written
    assert "too few clips" in capsys.readouterr().err and not (out / "reader.safetensors").exists()
    assert main(base[:-1] + ["0"]) == 2
    assert main(base + ["--batch-size", "16"]) == 0
    history = json.loads((out / "reader_history.json").read_text())["history"]
    assert history[-1]["step"] == 4 and 0 <= history[-1]["val_R@3"] <= 1
    reader = MotionReader.load(out)
    codes, lengths = pad_codes([np.array([1, 2, 3]), np.array([4, 5])])
    with torch.no_grad():
        states = reader.states(codes, lengths)
    assert states.shape == (2, 3, reader.config.state_dim) and float(states[1, 2].abs().max()) == 0.0  # padding
    (out / "reader.safetensors").write_bytes(b"corrupt")
    with pytest.raises(MotionLLMError, match="cannot load the motion reader"):
        MotionReader.load(out)


def test_eval_m2t_scores_a_results_file(tiny_dataset, tmp_path, capsys):
    from motionllm.models.evaluator import Evaluator, EvaluatorConfig

    evaluator_dir = tmp_path / "ev"
    Evaluator(EvaluatorConfig(), np.load(tiny_dataset / "Mean.npy"), np.load(tiny_dataset / "Std.npy")).save(evaluator_dir)
    results = tmp_path / "captions.jsonl"
    ids = (tiny_dataset / "test.txt").read_text().split()
    lines = [{"id": i, "caption": f"a person {VERBS[int(i) % len(VERBS)]} number {int(i)}."} for i in ids]
    results.write_text("\n".join(json.dumps(line) for line in lines))
    assert main(["eval", "m2t", str(results), "--data", str(tiny_dataset), "--evaluator", str(evaluator_dir),
                 "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)[results.name]
    assert scores["BLEU@4"]["mean"] > 90 and scores["ROUGE-L"]["mean"] > 90  # captions equal a reference
    results.write_text("{not json")
    assert main(["eval", "m2t", str(results), "--data", str(tiny_dataset), "--evaluator", str(evaluator_dir)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_eval_requires_a_dataset(tmp_path, capsys):
    assert main(["eval", "tokenizer", "--data", str(tmp_path), "--tokenizer", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no HumanML3D-format dataset" in err and "Traceback" not in err


def test_train_tagger_adds_label_tags_to_the_shipped_reader(tmp_path, capsys):
    from dataclasses import replace

    from motionllm.corpus.generate import generate
    from motionllm.models.llm import load_saved_reader
    from motionllm.models.motion_reader import TAG_FIELDS, MotionReader
    from motionllm.models.paths import shipped

    corpus = tmp_path / "corpus"
    generate(corpus, 48, 31337, workers=1, progress=False)  # labelled clips, as the tagger needs
    out = tmp_path / "tagged"
    base = ["train", "tagger", "--data", str(corpus), "--out", str(out), "--steps", "6", "--batch-size", "8"]
    capsys.readouterr()
    assert main(base + ["--reader", str(corpus)]) == 2  # no reader there: refused, nothing written
    assert "neither a motion reader" in capsys.readouterr().err and not (out / "reader.safetensors").exists()
    assert main(base) == 0  # from the shipped model's reader
    history = json.loads((out / "tagger_history.json").read_text())["history"]
    assert history[-1]["step"] == 6 and all(0 <= history[-1][f"val_{f}"] <= 1 for f in TAG_FIELDS)
    reader, source = MotionReader.load(out), load_saved_reader(shipped("llm"))
    assert reader.tagger is not None and list(reader.config.tags) == list(TAG_FIELDS)
    assert "walk" in reader.config.tags["action"] and reader.config.tags["side"][0] == "none"
    own = reader.state_dict()
    kept = {k: v for k, v in source.state_dict().items() if not k.startswith("tagger.")}  # a tagger is replaced
    assert all(torch.equal(own[k], v) for k, v in kept.items())  # the reader's own weights kept
    capsys.readouterr()
    assert main(["eval", "tagger", "--reader", str(out), "--data", str(corpus), "--split", "train", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["clips"] > 30 and all(0 <= scores[f] <= 1 for f in TAG_FIELDS)
    assert all(0 <= scores[f"read_{f}"] <= 1 for f in (*TAG_FIELDS, "order"))
    plain = MotionReader(replace(reader.config, tags=None), reader.codebook)
    plain.load_state_dict(kept)
    plain.save(tmp_path / "plain")
    assert main(["eval", "tagger", "--reader", str(tmp_path / "plain"), "--data", str(corpus)]) == 2
    assert "no label tagger" in capsys.readouterr().err
