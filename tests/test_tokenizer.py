"""The motion VQ-VAE: shapes, EMA codebook behaviour, save/load, corrupt checkpoints."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from motionllm.errors import MotionLLMError
from motionllm.models.vqvae import EMAQuantizer, MotionTokenizer, MotionVQVAE, VQVAEConfig

SMALL = VQVAEConfig(width=32, code_dim=16, num_codes=32, depth=1)


def test_shapes_and_downsampling():
    model = MotionVQVAE(SMALL)
    x = torch.randn(2, 64, 263)
    recon, commit, idx, perplexity = model(x)
    assert recon.shape == x.shape and idx.shape == (2, 16) and commit.item() >= 0
    assert 1.0 <= perplexity.item() <= SMALL.num_codes + 1e-3


def test_ema_quantizer_learns_clusters_and_resets_dead_codes():
    torch.manual_seed(0)
    centres = torch.randn(8, 4) * 5
    q = EMAQuantizer(16, 4, decay=0.9).train()
    for _ in range(60):
        x = centres[torch.randint(0, 8, (256,))] + 0.05 * torch.randn(256, 4)
        q(x.t()[None])
    q.eval()
    x = centres[torch.arange(8)]
    _, _, idx, _ = q(x.t()[None])
    nearest = q.codebook[idx[0]]
    assert torch.allclose(nearest, x, atol=0.3), "every cluster centre has a code on it"
    assert len(set(idx[0].tolist())) == 8


def test_tokenizer_round_trip_save_load(tmp_path):
    model = MotionVQVAE(SMALL)
    model(torch.randn(4, 32, 263))  # initialises the codebook
    tok = MotionTokenizer(model, np.zeros(263, np.float32), np.ones(263, np.float32))
    feats = np.random.default_rng(0).normal(size=(50, 263)).astype(np.float32)
    ids = tok.encode(feats)
    assert ids.shape == (12,) and ids.dtype == np.int64  # 50 frames cropped to 48
    tok.save(tmp_path)
    again = MotionTokenizer.load(tmp_path)
    np.testing.assert_array_equal(again.encode(feats), ids)
    np.testing.assert_allclose(again.decode(ids), tok.decode(ids), atol=1e-6)
    with pytest.raises(MotionLLMError, match="token ids"):
        tok.decode([0, SMALL.num_codes])
    with pytest.raises(MotionLLMError, match="too short"):
        tok.encode(feats[:3])


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    model = MotionVQVAE(SMALL)
    MotionTokenizer(model, np.zeros(263, np.float32), np.ones(263, np.float32)).save(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(MotionLLMError, match="cannot load motion tokenizer"):
        MotionTokenizer.load(tmp_path)
    with pytest.raises(MotionLLMError):
        MotionTokenizer.load(tmp_path / "missing")


def test_fine_tuning_with_a_frozen_codebook_keeps_the_codes_and_their_normalisation(tmp_path):
    """`train tokenizer --init-from DIR --freeze-codebook`: the encoder and decoder train, the codebook (what a
    motion LLM's motion vocabulary stands for) and the normalisation stay the start's."""
    from motionllm.models.tokenizer_training import TokenizerTrainConfig, train_tokenizer

    data = tmp_path / "data"
    (data / "new_joint_vecs").mkdir(parents=True)
    (data / "texts").mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        np.save(data / "new_joint_vecs" / f"{i}.npy", rng.normal(size=(80, 263)).astype(np.float32))
        (data / "texts" / f"{i}.txt").write_text("a person waves.#a/DET#0.0#0.0\n")
    (data / "train.txt").write_text("0\n1\n2\n3\n")
    (data / "val.txt").write_text("4\n5\n")
    model = MotionVQVAE(SMALL)
    model(torch.randn(4, 32, 263))
    start = MotionTokenizer(model, np.full(263, 0.1, np.float32), np.full(263, 2.0, np.float32))
    start.save(tmp_path / "start")
    cfg = TokenizerTrainConfig(steps=4, steps_per_epoch=2, batch_size=4, window=32, warmup_steps=1,
                               init_from=str(tmp_path / "start"), freeze_codebook=True)
    train_tokenizer(data, tmp_path / "tuned", cfg, progress=False)
    tuned = MotionTokenizer.load(tmp_path / "tuned")
    torch.testing.assert_close(tuned.model.quantizer.codebook, start.model.quantizer.codebook)
    np.testing.assert_array_equal(tuned.std, start.std)
    enc = lambda m: next(m.model.encoder.parameters())  # noqa: E731
    assert not torch.equal(enc(tuned), enc(start)), "the encoder trained"
    with pytest.raises(MotionLLMError, match="needs --init-from"):
        train_tokenizer(data, tmp_path / "x", TokenizerTrainConfig(steps=1, freeze_codebook=True), progress=False)
