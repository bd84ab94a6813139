"""The ONNX Runtime decode-step engine (engines/llm_steps.py) against the torch decoder it stands in for: on a tiny
random base model (exact tokens with float32 weights, a smaller graph with int8), its refusals (stale, corrupt,
missing, failed check), and on the shipped model through `motionllm export llm-engine`."""
from __future__ import annotations

import shutil
import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch

from motionllm.engines.llm_steps import (ENGINE_DIR, GRAPH_FILE, DecodeStepEngine, EngineConfig, build_engine,
                                         engine_is_current, fingerprint)
from motionllm.errors import MotionLLMError
from motionllm.models.llm import T2M_SAMPLING, MotionLLMConfig, build_model, load_model, save_model
from motionllm.models.llm_tasks import ChatFormat, Example
from motionllm.models.paths import DEFAULT_CORPUS, shipped

NUM_CODES = 512  # the shipped motion tokenizer's: MotionLanguageModel.load pairs the LLM with it


@pytest.fixture(scope="module")
def tiny_dir(tiny_base, tmp_path_factory):
    """A saved tiny motion LLM whose LoRA, motion head and motion rows are not zero (random, not trained)."""
    config = MotionLLMConfig(base_model=str(tiny_base), lora_layers=1, lora_rank=4, lora_alpha=8)
    model, _ = build_model(config, torch.randn(NUM_CODES, 32, generator=torch.Generator().manual_seed(0)))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name or name == "motion_head":
                p.normal_(0, 0.5)
    out = tmp_path_factory.mktemp("tiny_llm") / "llm"
    save_model(model, out)
    return out


def _prompts(tokenizer, model):
    chat = ChatFormat(tokenizer, model.vocab)
    text = [chat.generation_prompt(Example("m2t", "Describe the motion: \x00motion0\x00", [np.arange(n)]))
            for n in (6, 15)]  # two lengths: the batch is left-padded
    motion = [chat.generation_prompt(Example("t2m", f"Generate a motion: {t}", []))
              for t in ("a person waves.", "someone sits down on the floor and stands up again.")]
    return chat, text, motion


def _decode_both(model, engine, tokenizer):
    chat, text, motion = _prompts(tokenizer, model)
    out = {}
    for name, steps in (("torch", None), ("onnx", engine)):
        model.step_engine = steps
        out[name] = (model.decode(text, "text", stop_id=chat.eos_id, max_new=12),
                     model.decode(motion, "motion", lengths=[9, None]))
    model.step_engine = None
    return out["torch"], out["onnx"]


def test_float32_engine_decodes_exactly_the_tokens_of_torch(tiny_dir, tmp_path):
    model, tokenizer = load_model(tiny_dir, merge_lora=True)
    info = build_engine(model, tmp_path / ENGINE_DIR, fingerprint(tiny_dir), EngineConfig(weights="float32"))
    assert info["layers"] == 2 and info["check_cosine"] > 0.9999
    want, got = _decode_both(model, DecodeStepEngine.load(tmp_path / ENGINE_DIR, fingerprint(tiny_dir)), tokenizer)
    assert got == want
    (text, motion) = got
    assert all(len(t) > 3 for t in text) and len(motion[0]) == 9  # real continuations, the length honoured


def test_int8_engine_is_smaller_and_still_decodes_valid_output(tiny_dir, tmp_path):
    model, tokenizer = load_model(tiny_dir, merge_lora=True)
    full = build_engine(model, tmp_path / "float32", "x", EngineConfig(weights="float32"))
    small = build_engine(model, tmp_path / "int8", "x")
    assert small["weights"] == "int8" and small["graph_mb"] < 0.4 * full["graph_mb"]
    assert small["check_cosine"] >= EngineConfig().min_cosine
    (text, motion), _ = _decode_both(model, DecodeStepEngine.load(tmp_path / "int8"), tokenizer)
    assert all(0 <= t < model.vocab.base for row in text for t in row)
    assert len(motion[0]) == 9 and all(0 <= c < NUM_CODES for row in motion for c in row)


def test_an_engine_that_fails_its_check_or_is_built_from_an_unmerged_model_leaves_nothing(tiny_dir, tmp_path):
    model, _ = load_model(tiny_dir, merge_lora=True)
    with pytest.raises(MotionLLMError, match="does not match the model"):
        build_engine(model, tmp_path / ENGINE_DIR, "x", EngineConfig(weights="float32", min_cosine=1.01))
    unmerged, _ = load_model(tiny_dir)
    with pytest.raises(MotionLLMError, match="LoRA merged"):
        build_engine(unmerged, tmp_path / ENGINE_DIR, "x")
    with pytest.raises(MotionLLMError, match="weights must be"):
        build_engine(model, tmp_path / ENGINE_DIR, "x", EngineConfig(weights="int4"))
    assert list(tmp_path.iterdir()) == []  # no engine, no temporary folder


def test_a_stale_corrupt_or_missing_engine_is_refused_or_skipped(tiny_dir, tmp_path):
    from motionllm.models.motion_llm import MotionLanguageModel

    model_dir = tmp_path / "llm"
    shutil.copytree(tiny_dir, model_dir)
    with pytest.raises(MotionLLMError, match="no usable decode-step engine"):
        MotionLanguageModel.load(model_dir, engine="onnx")
    assert MotionLanguageModel.load(model_dir).model.step_engine is None  # auto: none built, torch, no warning
    with pytest.raises(MotionLLMError, match="unknown engine"):
        MotionLanguageModel.load(model_dir, engine="tensorrt")

    assert not engine_is_current(model_dir)
    model, _ = load_model(model_dir, merge_lora=True)
    build_engine(model, model_dir / ENGINE_DIR, fingerprint(model_dir), EngineConfig(weights="float32"))
    assert engine_is_current(model_dir)
    assert MotionLanguageModel.load(model_dir, engine="onnx").model.step_engine is not None
    assert MotionLanguageModel.load(model_dir, engine="torch").model.step_engine is None

    # The model changes after the engine was built (retrained, fine-tuned): the engine no longer fits it.
    config = model_dir / "config.json"
    config.write_text(config.read_text().replace('"seed": 0', '"seed": 7'))
    assert not engine_is_current(model_dir)
    with pytest.raises(MotionLLMError, match="built from another model"):
        MotionLanguageModel.load(model_dir, engine="onnx")
    with pytest.warns(UserWarning, match="decoding with torch instead"):
        assert MotionLanguageModel.load(model_dir).model.step_engine is None

    (model_dir / ENGINE_DIR / GRAPH_FILE).write_bytes(b"not an onnx graph")
    with pytest.raises(MotionLLMError, match="cannot load the decode-step engine"):
        DecodeStepEngine.load(model_dir / ENGINE_DIR)


def test_the_shipped_model_gets_an_int8_engine_from_the_command_line(tmp_path, capsys):
    """`motionllm export llm-engine` on (a copy of) the shipped model, then captions through it."""
    from motionllm.cli import main
    from motionllm.models.motion_llm import MotionLanguageModel
    from motionllm.motion.formats import read_motion

    model_dir = tmp_path / "llm"
    shutil.copytree(shipped("llm"), model_dir, ignore=shutil.ignore_patterns(ENGINE_DIR, "cache", "train_state*"))
    assert main(["export", "llm-engine", "--model", str(model_dir)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(model_dir / ENGINE_DIR) and "int8 decode steps" in err
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*decoding with torch instead")  # the engine fits
        fast = MotionLanguageModel.load(model_dir, engine="onnx")
    slow = MotionLanguageModel.load(model_dir, engine="torch")
    assert fast.model.step_engine.info["weights"] == "int8"
    corpus = DEFAULT_CORPUS
    names = (corpus / "test.txt").read_text().split()[:6] if (corpus / "test.txt").is_file() else []
    # Without a corpus (a fresh clone), motions generated with fixed seeds: the same six on every run.
    motions = [read_motion(corpus / "new_joints" / f"{n}.npy")[:120] for n in names] or [
        slow.generate(t, seconds=4.0, sampling=replace(T2M_SAMPLING, seed=seed)) for seed in (0, 1)
        for t in ("a person waves.", "a person jumps twice.", "a person walks forward.")]
    pairs = [(fast.caption(m), slow.caption(m)) for m in motions]
    assert all(len(f.split()) >= 3 for f, _ in pairs), pairs
    # 8-bit weights (cosine >= 0.99, checked at build), and prompts in bfloat16 on CPUs with it, move the logits a
    # little: most greedy captions agree (24 captions of generated motions: 21 agreed with float32 prompts, 18
    # with bfloat16).
    assert sum(f == s for f, s in pairs) >= len(pairs) / 2, pairs


def test_prompts_read_in_bfloat16_hand_the_engine_a_cache_it_continues_like_float32(tiny_dir, tmp_path):
    """hold_layers_in(bfloat16): the layers (not the embeddings, heads or rotary frequencies) in bfloat16, the
    logits of a prompt near float32's, and decoding runs through both the engine and the torch steps."""
    model, tokenizer = load_model(tiny_dir, merge_lora=True)
    build_engine(model, tmp_path / ENGINE_DIR, "x", EngineConfig(weights="float32"))
    engine = DecodeStepEngine.load(tmp_path / ENGINE_DIR)
    chat, text, motion = _prompts(tokenizer, model)
    ids = torch.tensor([text[1]])
    want = model.text_logits(model.hidden(ids).last_hidden_state[:, -1])
    float32_tokens = _decode_both(model, engine, tokenizer)[1]

    model.hold_layers_in(torch.bfloat16)
    decoder = model.decoder
    assert {p.dtype for p in decoder.layers.parameters()} == {torch.bfloat16} == {decoder.norm.weight.dtype}
    assert model.text_weight().dtype == model.motion_head.dtype == torch.float32
    assert decoder.rotary_emb.inv_freq.dtype == torch.float32
    hidden = model.hidden(ids).last_hidden_state
    assert hidden.dtype == torch.float32
    got = model.text_logits(hidden[:, -1])
    assert torch.nn.functional.cosine_similarity(got, want).item() > 0.99

    torch_tokens, onnx_tokens = _decode_both(model, engine, tokenizer)
    for text_rows, motion_rows in (torch_tokens, onnx_tokens):
        assert all(len(row) > 3 and all(0 <= t < model.vocab.base for t in row) for row in text_rows)
        assert len(motion_rows[0]) == 9 and all(0 <= c < NUM_CODES for row in motion_rows for c in row)
    # Random tiny weights give flat logits, so a bfloat16 prompt may tip a greedy choice; most tokens agree.
    same = sum(a == b for rows in zip(onnx_tokens[0], float32_tokens[0]) for a, b in zip(*rows))
    assert same >= 0.5 * sum(len(row) for row in float32_tokens[0]), (onnx_tokens, float32_tokens)


def test_prompt_precision_auto_is_bfloat16_only_beside_an_engine_on_a_cpu_with_bfloat16(tiny_dir, tmp_path,
                                                                                         monkeypatch):
    from motionllm.models import motion_llm
    from motionllm.models.llm import merge_to_hf
    from motionllm.models.motion_llm import MotionLanguageModel

    model_dir = tmp_path / "llm"
    shutil.copytree(tiny_dir, model_dir)
    model, _ = load_model(model_dir, merge_lora=True)
    build_engine(model, model_dir / ENGINE_DIR, fingerprint(model_dir), EngineConfig(weights="float32"))
    for native in (True, False):
        monkeypatch.setattr(motion_llm, "native_bfloat16", lambda: native)
        assert MotionLanguageModel.load(model_dir).model.layer_dtype == (torch.bfloat16 if native else torch.float32)
        assert MotionLanguageModel.load(model_dir, engine="torch").model.layer_dtype == torch.float32
    forced = MotionLanguageModel.load(model_dir, engine="torch", prompt_precision="bfloat16")
    assert forced.model.layer_dtype == torch.bfloat16
    assert len(forced.caption(forced.joints_of(np.arange(10)))) > 0  # the torch steps run in bfloat16 too
    with pytest.raises(MotionLLMError, match="unknown prompt precision"):
        MotionLanguageModel.load(model_dir, prompt_precision="float16")
    with pytest.raises(MotionLLMError, match="layers in float32"):  # an export is the model as trained
        merge_to_hf(forced.model, forced.tokenizer, tmp_path / "export")
    with pytest.raises(MotionLLMError, match="layers in float32"):
        build_engine(forced.model, tmp_path / "engine", "x")
    assert not (tmp_path / "export").exists() and not (tmp_path / "engine").exists()
