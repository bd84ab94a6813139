"""The motion LLM's machinery on a tiny random base model (fast): vocabulary, prompts, task data, constrained
decoding, training, saving and loading, API input checks. The shipped model is tested in test_shipped_llm.py."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from motionllm.errors import MotionLLMError
from motionllm.models.llm import (SYSTEM_PROMPT, T2M_SAMPLING, MotionLLMConfig, Sampling, build_model,
                                  init_from_trained, load_model, save_model)
from motionllm.models.llm_tasks import (MOTION_TASKS, TASKS, ChatFormat, Clip, Example, make_example, questions)

NUM_CODES = 512


def _config(tiny_base, **kw):
    return MotionLLMConfig(base_model=str(tiny_base), lora_layers=1, lora_rank=4, lora_alpha=8, **kw)


@pytest.fixture
def tiny_model(tiny_base):
    codebook = torch.randn(NUM_CODES, 32, generator=torch.Generator().manual_seed(0))
    return build_model(_config(tiny_base), codebook)


def _clip(n=20, seed=0):
    labels = {"actions": [
        {"type": "wave", "side": "right", "count": 3, "direction": None, "speed": None, "concurrent": False,
         "start_frame": 0, "end_frame": 40},
        {"type": "walk", "side": None, "count": 6, "direction": "forward", "speed": "slow", "concurrent": False,
         "start_frame": 40, "end_frame": 80}]}
    codes = np.random.default_rng(seed).integers(0, NUM_CODES, n)
    return Clip("000001", codes, ["a person waves the right hand three times, then walks forward slowly."], labels)


def test_motion_vocabulary_is_added_after_the_text_vocabulary(tiny_model):
    model, tokenizer = tiny_model
    vocab = model.vocab
    assert vocab.base == 49152 and vocab.size == NUM_CODES + 2
    assert tokenizer.convert_tokens_to_ids("<motion_000>") == vocab.base
    assert tokenizer.convert_tokens_to_ids("<motion_511>") == vocab.base + 511
    assert tokenizer.convert_tokens_to_ids("</motion>") == vocab.end_id
    assert model.lm.get_input_embeddings().weight.shape[0] == vocab.base + vocab.size
    # Only the adapters (top layer), the motion input rows and the motion head train; the text embeddings and
    # the lower layers are frozen.
    trainable = model.trainable()
    ours = {"motion_head", "motion_input"}
    assert ours <= set(trainable) and trainable["motion_input"].shape == (vocab.size, model.lm.config.hidden_size)
    assert all("lora_" in n for n in trainable if n not in ours)
    assert all(".layers.1." in n for n in trainable if n not in ours)


def test_prompts_splice_motion_spans_into_the_chat_template(tiny_model):
    model, tokenizer = tiny_model
    chat = ChatFormat(tokenizer, model.vocab)
    a, b = np.array([5, 6, 7]), np.array([9])
    ids = chat.prompt_ids("between \x00motion0\x00 and \x00motion1\x00.", [a, b])
    vocab = model.vocab
    start = ids.index(vocab.start_id)
    assert ids[start:start + 5] == [vocab.start_id, vocab.base + 5, vocab.base + 6, vocab.base + 7, vocab.end_id]
    second = ids.index(vocab.start_id, start + 1)
    assert ids[second:second + 3] == [vocab.start_id, vocab.base + 9, vocab.end_id]
    text = tokenizer.decode(ids)
    assert text.startswith("<|im_start|>system") and text.rstrip().endswith("assistant")


@pytest.mark.parametrize("task", TASKS)
def test_training_ids_score_exactly_the_answer(tiny_model, task):
    model, tokenizer = tiny_model
    chat = ChatFormat(tokenizer, model.vocab)
    rng = np.random.default_rng(0)
    example = make_example(task, _clip(), rng, 5.0, ["wave", "walk", "jump_in_place"])
    ids, targets, is_motion = chat.training_ids(example)
    assert len(ids) == len(targets) and is_motion == (task in MOTION_TASKS)
    scored = [(i, t) for i, t in enumerate(targets) if t != -100]
    answer, _ = chat.answer_ids(example)
    assert [t for _, t in scored] == answer
    # each scored target is the token that follows its position in the full sequence
    full = ids + [answer[-1]]
    assert all(full[i + 1] == t for i, t in scored)
    if is_motion:
        assert ids[scored[0][0]] == model.vocab.start_id  # the span's opening marker is given, not predicted


def test_follow_up_questions_continue_the_conversation_and_are_scored(tiny_model):
    model, tokenizer = tiny_model
    chat = ChatFormat(tokenizer, model.vocab)
    clip = _clip()
    example = make_example("qa", clip, np.random.default_rng(3), 5.0, ["wave", "walk", "jump_in_place"],
                           qa_follow_ups=3)
    assert len(example.follow_ups) == 3
    asked = [example.instruction] + [q for q, _ in example.follow_ups]
    assert len(set(asked)) == 4  # different questions, all answerable from the labels
    known = {(q, a) for _, q, a in questions(clip.labels, np.random.default_rng(3), ["wave", "walk", "jump_in_place"])}
    assert all(turn in known or turn[0].startswith("Does the person") for turn in example.follow_ups)
    ids, targets, _ = chat.training_ids(example)
    # The sequence is the base model's own chat template for that conversation, motion span spliced in.
    motion = tokenizer.decode(model.vocab.span(clip.codes))
    user = example.instruction.replace("\x00motion0\x00", motion)
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user},
                {"role": "assistant", "content": example.answer_text}]
    for question, answer in example.follow_ups:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    assert tokenizer.decode(ids + [targets[-1]]) == rendered.rstrip("\n")
    # Exactly the four answers (each with its stop token) are scored.
    scored = [t for t in targets if t != -100]
    answers = [example.answer_text] + [a for _, a in example.follow_ups]
    assert scored == [i for a in answers for i in chat.text_ids(a) + [chat.eos_id]]
    # Without follow-ups an example is the single-turn one inference sees.
    single = make_example("qa", clip, np.random.default_rng(3), 5.0, ["wave", "walk"])
    assert single.follow_ups == []
    assert [t for t in chat.training_ids(single)[1] if t != -100] == chat.text_ids(single.answer_text) + [chat.eos_id]


def test_answer_losses_tell_whether_answers_depend_on_the_motion(tiny_model):
    from types import SimpleNamespace

    from motionllm.models.llm_tasks import M2T_PROMPTS
    from motionllm.models.llm_training import answer_losses, collate

    model, tokenizer = tiny_model
    lm = SimpleNamespace(model=model.eval(), chat=ChatFormat(tokenizer, model.vocab))
    rng = np.random.default_rng(0)
    captions = ["a person waves.", "a person jumps twice.", "someone walks in a circle.", "a man sits down."]
    motions = [rng.integers(0, NUM_CODES, 12) for _ in captions]
    examples = [Example("m2t", M2T_PROMPTS[0], [m], answer_text=c) for m, c in zip(motions, captions)]
    own, other = answer_losses(lm, examples, batch_size=3)
    # the own-motion figure is the model's loss over all answer tokens, however the examples are batched
    with torch.no_grad():
        assert own == pytest.approx(model.loss(**collate(lm.chat, examples)).item(), rel=1e-5)
    assert other != pytest.approx(own, rel=1e-6)  # a random model's answers still depend on the motion a bit
    same = [Example("m2t", M2T_PROMPTS[0], [motions[0]], answer_text=c) for c in captions]
    own, other = answer_losses(lm, same)
    assert other == pytest.approx(own, rel=1e-6)  # identical motions: swapping them changes nothing


def test_completion_tasks_partition_the_clip():
    clip = _clip(20)
    rng = np.random.default_rng(0)
    p = make_example("predict", clip, rng, 5.0)
    assert np.array_equal(np.concatenate([p.motions[0], p.answer_codes]), clip.codes)
    assert len(p.motions[0]) == 4  # the first 20%
    m = make_example("inbetween", clip, rng, 5.0)
    assert np.array_equal(np.concatenate([m.motions[0], m.answer_codes, m.motions[1]]), clip.codes)
    t = make_example("t2m", clip, rng, 5.0)
    assert np.array_equal(t.answer_codes, clip.codes) and clip.captions[0] in t.instruction


def test_questions_come_from_the_labels():
    qa = {q: (k, a) for k, q, a in questions(_clip().labels, np.random.default_rng(0), ["wave", "walk", "clap"])}
    assert qa["What does the person do first?"] == ("first", "wave")
    assert qa["What does the person do last?"] == ("last", "walk")
    assert qa["Which hand does the person use to wave?"] == ("side", "right")
    assert qa["How many times does the person wave?"] == ("count", "3")
    assert qa["In which direction does the person walk?"] == ("direction", "forward")
    assert qa["How fast does the person walk?"] == ("speed", "slow")
    assert qa["Is the person walking, jogging or running?"] == ("gait", "walking")
    assert qa["Does the person clap?"] == ("yes_no", "no")
    assert qa["How many different actions does the person perform?"] == ("how_many_actions", "2")


def test_motion_decoding_is_valid_and_honours_the_length(tiny_model):
    model, tokenizer = tiny_model
    chat = ChatFormat(tokenizer, model.vocab)
    prompt = chat.generation_prompt(Example("t2m", "Generate a motion: a person jumps.", []))
    with torch.no_grad():
        model.motion_head.normal_(0, 1.0)  # a random head: any token may come out, markers included
    fixed = model.decode([prompt, prompt[3:]], "motion", lengths=[7, 13])
    assert [len(c) for c in fixed] == [7, 13]
    free = model.decode([prompt] * 4, "motion", sampling=Sampling(temperature=1.5, seed=1))
    for codes in fixed + free:
        assert 2 <= len(codes) <= model.config.max_motion_tokens
        assert all(0 <= c < NUM_CODES for c in codes)
    again = model.decode([prompt] * 4, "motion", sampling=Sampling(temperature=1.5, seed=1))
    assert again == free  # seeded sampling is reproducible


def test_text_to_motion_samples_by_default_and_a_seed_repeats_it(tiny_model):
    from motionllm.models.motion_llm import MotionLanguageModel
    from motionllm.models.paths import shipped
    from motionllm.models.vqvae import MotionTokenizer

    model, tokenizer = tiny_model
    with torch.no_grad():
        model.motion_head.normal_(0, 1.0)  # a random head: many codes are likely, so samples differ
    lm = MotionLanguageModel(model, tokenizer, MotionTokenizer.load(shipped("tokenizer")))
    texts = ["a person jumps."] * 4
    sampled = [c.tolist() for c in lm.generate_codes(texts, seconds=2)]
    assert len({tuple(c) for c in sampled}) > 1, "the default (T2M_SAMPLING) samples"
    seeded = replace(T2M_SAMPLING, seed=3)
    assert ([c.tolist() for c in lm.generate_codes(texts, seconds=2, sampling=seeded)]
            == [c.tolist() for c in lm.generate_codes(texts, seconds=2, sampling=seeded)])
    greedy = [c.tolist() for c in lm.generate_codes(texts, seconds=2, sampling=Sampling())]
    assert all(c == greedy[0] for c in greedy)


@pytest.mark.parametrize("command, options, expected", [
    ("generate", [], T2M_SAMPLING),
    ("generate", ["--temperature", "0"], replace(T2M_SAMPLING, temperature=0.0)),
    ("generate", ["--seed", "5", "--top-k", "0"], replace(T2M_SAMPLING, top_k=0, seed=5)),
    ("predict", [], Sampling()),
    ("inbetween", ["--temperature", "0.9", "--top-p", "0.8"], Sampling(temperature=0.9, top_p=0.8)),
])
def test_command_line_sampling_starts_from_the_task_default(command, options, expected):
    import argparse

    from motionllm.models.llm_cli import _sampling, add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    positional = {"generate": ["a person waves", "-o", "x.npy"], "predict": ["m.npy", "-o", "x.npy"],
                  "inbetween": ["a.npy", "b.npy", "-o", "x.npy"]}[command]
    args = parser.parse_args([command, *positional, *options])
    assert _sampling(args, T2M_SAMPLING if command == "generate" else None) == expected
    args.top_p = 1.5
    with pytest.raises(MotionLLMError, match="top-p"):
        _sampling(args)


def test_batched_decoding_matches_one_at_a_time(tiny_model):
    model, tokenizer = tiny_model
    chat = ChatFormat(tokenizer, model.vocab)
    with torch.no_grad():
        model.motion_head.normal_(0, 1.0)
    prompts = [chat.generation_prompt(Example("t2m", f"Generate a motion: {t}", []))
               for t in ("a person waves.", "someone sits down on the floor and stands up again.")]
    together = model.decode(prompts, "motion", lengths=[6, 6])
    alone = [model.decode([p], "motion", lengths=[6])[0] for p in prompts]
    assert together == alone  # left padding + positions + mask keep rows independent


def test_text_decoding_stays_in_the_text_vocabulary(tiny_model):
    model, tokenizer = tiny_model
    chat = ChatFormat(tokenizer, model.vocab)
    prompt = chat.generation_prompt(Example("m2t", "Describe the motion: \x00motion0\x00", [np.arange(10)]))
    out = model.decode([prompt], "text", stop_id=chat.eos_id, max_new=8)[0]
    assert len(out) <= 7 and all(0 <= t < model.vocab.base for t in out)


def test_training_steps_reduce_the_loss_and_the_model_round_trips(tiny_model, tiny_base, tmp_path):
    from motionllm.models.llm_training import TrainableView, collate

    model, tokenizer = tiny_model
    chat = ChatFormat(tokenizer, model.vocab)
    rng = np.random.default_rng(0)
    examples = [make_example(t, _clip(seed=i), rng, 5.0, ["wave", "walk"]) for i, t in enumerate(TASKS * 2)]
    batch = collate(chat, examples)
    view = TrainableView(model.trainable())
    optimiser = torch.optim.AdamW(view.parameters(), lr=1e-2)
    model.train()
    first = model.loss(**batch).item()
    for _ in range(30):
        loss = model.loss(**batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.5 * first
    model.eval()
    prompt = chat.generation_prompt(examples[0])
    before = model.decode([prompt], "motion", lengths=[5])
    save_model(model, tmp_path / "llm")
    files = {p.name for p in (tmp_path / "llm").rglob("*") if p.is_file()}
    assert {"config.json", "motion_embeddings.safetensors", "adapter_model.safetensors"} <= files
    adapter_bytes = (tmp_path / "llm" / "adapter" / "adapter_model.safetensors").stat().st_size
    assert adapter_bytes < 1_000_000  # the adapter only, not the resized embedding matrix
    loaded, _ = load_model(tmp_path / "llm")
    assert loaded.decode([prompt], "motion", lengths=[5]) == before
    assert torch.equal(loaded.motion_head, model.motion_head)
    merged, _ = load_model(tmp_path / "llm", merge_lora=True)  # what MotionLanguageModel serves
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    assert merged.decode([prompt], "motion", lengths=[5]) == before


def test_training_can_start_from_a_trained_model(tiny_base, tiny_model, tmp_path):
    trained, _ = tiny_model
    with torch.no_grad():  # stand-ins for trained values: LoRA B starts at zero, the head too
        for p in trained.trainable().values():
            p.add_(torch.randn_like(p) * 0.1)
    save_model(trained, tmp_path / "llm")
    codebook = torch.randn(NUM_CODES, 32, generator=torch.Generator().manual_seed(1))
    fresh, _ = build_model(_config(tiny_base), codebook)
    ids = torch.tensor([[1, 2, 3, fresh.vocab.base + 7, fresh.vocab.start_id]])
    assert not torch.allclose(fresh.hidden(ids).last_hidden_state, trained.hidden(ids).last_hidden_state)
    init_from_trained(fresh, tmp_path / "llm")
    fresh.eval(), trained.eval()
    assert torch.allclose(fresh.hidden(ids).last_hidden_state, trained.hidden(ids).last_hidden_state, atol=1e-6)
    assert torch.equal(fresh.motion_head, trained.motion_head)
    assert all(p.requires_grad for p in fresh.trainable().values())  # it goes on training
    other, _ = build_model(MotionLLMConfig(base_model=str(tiny_base), lora_layers=1, lora_rank=2), codebook)
    with pytest.raises(MotionLLMError):  # another LoRA layout
        init_from_trained(other, tmp_path / "llm")


def test_loading_refuses_a_mismatched_or_corrupt_model(tiny_model, tmp_path):
    model, _ = tiny_model
    save_model(model, tmp_path / "llm")
    config = json.loads((tmp_path / "llm" / "config.json").read_text())
    config["base_vocab_size"] = 32000
    (tmp_path / "llm" / "config.json").write_text(json.dumps(config))
    with pytest.raises(MotionLLMError, match="base vocabulary"):
        load_model(tmp_path / "llm")
    (tmp_path / "llm" / "motion_embeddings.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(MotionLLMError, match="cannot load"):
        load_model(tmp_path / "llm")
    with pytest.raises(MotionLLMError, match="cannot load"):
        load_model(tmp_path / "nowhere", base_model=str(tmp_path))


def test_api_rejects_bad_input(tiny_model):
    from motionllm.models.motion_llm import MotionLanguageModel
    from motionllm.models.paths import shipped
    from motionllm.models.vqvae import MotionTokenizer

    model, tokenizer = tiny_model
    lm = MotionLanguageModel(model, tokenizer, MotionTokenizer.load(shipped("tokenizer")))
    for text in ("", "   ", "x" * 301):
        with pytest.raises(MotionLLMError):
            lm.generate(text)
    for seconds in (0, -1, 11, float("nan")):
        with pytest.raises(MotionLLMError, match="seconds"):
            lm.generate("a person waves", seconds=seconds)
    joints = np.zeros((40, 22, 3), np.float32)
    joints[5, 3] = np.nan
    with pytest.raises(MotionLLMError, match="NaN"):
        lm.caption(joints)
    with pytest.raises(MotionLLMError, match="expected SMPL-22"):
        lm.caption(np.zeros((40, 17, 3)))
    with pytest.raises(MotionLLMError, match="too short"):
        lm.caption(np.zeros((3, 22, 3)))


def test_merged_export_is_a_plain_hf_model_with_the_same_logits(tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from motionllm.models.llm import merge_to_hf

    model, tokenizer = tiny_model
    with torch.no_grad():
        model.motion_head.normal_(0, 1.0)
        for name, p in model.lm.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)  # a non-trivial adapter, so merging has something to do
    model.eval()
    merge_to_hf(model, tokenizer, tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()
    assert len(AutoTokenizer.from_pretrained(tmp_path / "merged")) == model.vocab.base + model.vocab.size
    chat = ChatFormat(tokenizer, model.vocab)
    ids = torch.tensor([chat.generation_prompt(Example("t2m", "Generate a motion: a person bows.", []))])
    with torch.no_grad():
        logits = merged(input_ids=ids).logits[0, -1]
        h = model.hidden(ids).last_hidden_state[0, -1]
        assert torch.allclose(logits[model.vocab.base:], model.motion_logits(h), atol=1e-3)
        assert torch.allclose(logits[:model.vocab.base], model.text_logits(h), atol=1e-3)


@pytest.mark.parametrize("arguments, message", [
    (["--tasks", "dance"], "unknown task 'dance'"), (["--tasks", "qa=x"], "must be a number"),
    (["--tasks", "t2m", "qa=-1"], "must be positive"), (["--tasks", "qa=nan"], "must be positive"),
    (["--qa-follow-ups", "-1"], "0 or more")])
def test_train_llm_refuses_bad_task_options(arguments, message, tmp_path, capsys):
    from motionllm.cli import main

    assert main(["train", "llm", "--out", str(tmp_path / "out"), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- the motion reader

def _tiny_reader(codebook):
    from motionllm.models.motion_reader import MotionReader, MotionReaderConfig

    torch.manual_seed(0)
    return MotionReader(MotionReaderConfig(num_codes=NUM_CODES, code_dim=codebook.shape[1], hidden=8, embed_dim=16),
                        codebook)


@pytest.fixture
def read_model(tiny_base):
    codebook = torch.randn(NUM_CODES, 32, generator=torch.Generator().manual_seed(0))
    model, tokenizer = build_model(_config(tiny_base), codebook, _tiny_reader(codebook))
    with torch.no_grad():
        model.reader_projection.normal_(0, 1.0)  # a trained projection is not zero
    return model, tokenizer


def test_the_reader_reads_the_motions_shown_and_never_the_one_being_written(read_model):
    model, tokenizer = read_model
    chat = ChatFormat(tokenizer, model.vocab)
    example = make_example("inbetween", _clip(20), np.random.default_rng(0), 5.0)
    ids, targets, _ = chat.training_ids(example)
    ids = torch.tensor([ids])
    read = model.read(ids)[0].norm(dim=-1) > 0
    vocab = model.vocab
    starts = (ids[0] == vocab.start_id).nonzero().flatten().tolist()
    ends = (ids[0] == vocab.end_id).nonzero().flatten().tolist()
    assert len(starts) == 3 and len(ends) == 2  # two given spans, closed; the answer's span open
    shown = torch.zeros_like(read)
    for s, e in zip(starts, ends):
        shown[s + 1: e] = True
    assert torch.equal(read, shown)  # exactly the codes of the shown spans: not markers, text or the answer
    # Causality: what the model reads does not depend on the answer it is trained to write.
    changed = ids.clone()
    changed[0, starts[2] + 1:] = vocab.base + (changed[0, starts[2] + 1:] - vocab.base + 1) % NUM_CODES
    assert torch.equal(model.embed(ids)[0, : starts[2] + 1], model.embed(changed)[0, : starts[2] + 1])
    # ... and it does depend on the motions shown, through the whole span (bidirectional).
    other = ids.clone()
    other[0, ends[0] - 1] = vocab.base + (int(ids[0, ends[0] - 1]) - vocab.base + 1) % NUM_CODES
    assert not torch.allclose(model.read(ids)[0, starts[0] + 1], model.read(other)[0, starts[0] + 1])


def test_a_model_given_a_fresh_reader_starts_where_it_was(tiny_model, tiny_base, tmp_path):
    trained, _ = tiny_model
    with torch.no_grad():
        for p in trained.trainable().values():
            p.add_(torch.randn_like(p) * 0.1)
    save_model(trained, tmp_path / "llm")
    codebook = torch.randn(NUM_CODES, 32, generator=torch.Generator().manual_seed(0))
    with_reader, _ = build_model(_config(tiny_base), codebook, _tiny_reader(codebook))
    init_from_trained(with_reader, tmp_path / "llm")
    ids = torch.tensor([[1, 2, with_reader.vocab.start_id, with_reader.vocab.base + 7, with_reader.vocab.base + 9,
                         with_reader.vocab.end_id, 3]])
    trained.eval(), with_reader.eval()
    assert torch.allclose(with_reader.hidden(ids).last_hidden_state, trained.hidden(ids).last_hidden_state, atol=1e-6)
    trainable = with_reader.trainable()
    assert "reader_projection" in trainable and not any(n.startswith("reader.") for n in trainable)


def test_training_from_a_model_with_a_reader_keeps_it(read_model, tiny_base, tmp_path):
    from motionllm.models.llm import load_saved_reader

    model, _ = read_model
    save_model(model, tmp_path / "llm")
    codebook = model.reader.codebook
    with pytest.raises(MotionLLMError, match="motion reader"):  # it would be dropped without a word
        init_from_trained(build_model(_config(tiny_base), codebook)[0], tmp_path / "llm")
    reader = load_saved_reader(tmp_path / "llm")
    fresh, _ = build_model(_config(tiny_base), codebook, reader)
    init_from_trained(fresh, tmp_path / "llm")
    assert torch.equal(fresh.reader_projection, model.reader_projection)
    ids = torch.tensor([[1, fresh.vocab.start_id, fresh.vocab.base + 7, fresh.vocab.base + 9, fresh.vocab.end_id]])
    fresh.eval(), model.eval()
    assert torch.allclose(fresh.hidden(ids).last_hidden_state, model.hidden(ids).last_hidden_state, atol=1e-6)


def test_a_model_with_a_reader_round_trips_and_exports_it_beside_the_hf_model(read_model, tmp_path):
    from motionllm.models.llm import merge_to_hf

    model, tokenizer = read_model
    chat = ChatFormat(tokenizer, model.vocab)
    model.eval()
    with torch.no_grad():
        model.motion_head.normal_(0, 1.0)
    prompts = [chat.generation_prompt(Example("predict", "Continue: \x00motion0\x00", [np.arange(n) * 7 % NUM_CODES]))
               for n in (6, 11)]
    before = model.decode(prompts, "motion", lengths=[5, 5])
    assert before == [model.decode([p], "motion", lengths=[5])[0] for p in prompts]  # batching keeps rows apart
    save_model(model, tmp_path / "llm")
    loaded, _ = load_model(tmp_path / "llm", merge_lora=True)
    assert loaded.config.reader == model.config.reader
    assert torch.equal(loaded.reader_projection, model.reader_projection)
    assert loaded.decode(prompts, "motion", lengths=[5, 5]) == before
    merge_to_hf(model, tokenizer, tmp_path / "merged")
    info = json.loads((tmp_path / "merged" / "motionllm.json").read_text())
    from safetensors.torch import load_file

    sidecar = load_file(str(tmp_path / "merged" / info["reader_file"]))
    assert torch.equal(sidecar["reader_projection"], model.reader_projection)
    assert torch.equal(sidecar["reader.gru.weight_hh_l0"], model.reader.gru.weight_hh_l0)


# ---------------------------------------------------------------- the reader's label tagger

def _tagged(reader):
    """`reader` with a (random) label tagger added, its own weights kept, as `train_tagger` builds it."""
    from motionllm.models.motion_reader import tag_classes, with_tagger

    return with_tagger(reader, tag_classes([_clip().labels]), hidden=8)


def test_token_tags_come_from_the_action_each_token_lies_in():
    from motionllm.models.motion_reader import TAG_FIELDS, action_tokens, tag_classes, token_tags

    labels = _clip().labels  # wave frames 0-40, walk 40-80
    labels["actions"].append({"type": "clap", "side": "both", "count": 12, "direction": None, "speed": None,
                              "concurrent": True, "start_frame": 0, "end_frame": 80})
    classes = tag_classes([labels])
    assert classes["count"] == ["none", "3", "6", "12"]  # numeric order, "none" first
    assert classes["speed"] == ["none", "slow"] and "clap" in classes["action"]
    tags = token_tags(labels, 25, classes, frames_per_token=4)
    assert tags.shape == (25, len(TAG_FIELDS))
    named = [{f: classes[f][i] for f, i in zip(TAG_FIELDS, row)} for row in tags]
    assert named[0] == named[9] == {"action": "wave", "count": "3", "speed": "none", "side": "right",
                                    "direction": "none"}  # the concurrent clap is not tagged over it
    assert named[10] == named[19] == {"action": "walk", "count": "6", "speed": "slow", "side": "none",
                                      "direction": "forward"}
    assert all(row == {f: "none" for f in TAG_FIELDS} for row in named[20:])  # after the last action
    assert action_tokens(labels["actions"][0], 25, 4) == slice(0, 10)
    assert action_tokens({"start_frame": 41, "end_frame": 200}, 25, 4) == slice(10, 25)  # middles 42, ... in
    other = tag_classes([{"actions": [{"type": "wave", "count": 3}]}])
    assert token_tags(labels, 25, other, 4)[10].tolist() == [0] * len(TAG_FIELDS)  # unknown classes: "none"


def test_tagged_reader_states_carry_the_tag_probabilities(read_model):
    from motionllm.models.motion_reader import pad_codes

    model, _ = read_model
    tagged = _tagged(model.reader).eval()
    codes, lengths = pad_codes([np.array([1, 2, 3]), np.array([4, 5])])
    with torch.no_grad():
        plain, states = model.reader.states(codes, lengths), tagged.states(codes, lengths)
    width = 2 * tagged.config.hidden
    assert states.shape == (2, 3, tagged.config.state_dim) and tagged.config.state_dim > width
    assert torch.equal(states[..., :width], plain)  # the reader's own states, unchanged
    offset = width
    for classes in tagged.config.tags.values():  # then one probability distribution per field
        probs = states[..., offset: offset + len(classes)]
        assert torch.allclose(probs[0].sum(-1), torch.ones(3)) and float(probs[1, 2].abs().max()) == 0.0
        offset += len(classes)


def test_a_model_given_its_reader_with_a_tagger_starts_where_it_was(read_model, tiny_base, tmp_path):
    model, _ = read_model
    save_model(model, tmp_path / "llm")
    tagged = _tagged(model.reader)
    with_tags, _ = build_model(_config(tiny_base), model.reader.codebook, tagged)
    init_from_trained(with_tags, tmp_path / "llm")
    width = model.reader_projection.shape[1]
    assert torch.equal(with_tags.reader_projection[:, :width], model.reader_projection)
    assert float(with_tags.reader_projection.detach()[:, width:].abs().max()) == 0.0  # the tags start unread
    ids = torch.tensor([[1, model.vocab.start_id, model.vocab.base + 7, model.vocab.base + 9, model.vocab.end_id]])
    with_tags.eval(), model.eval()
    assert torch.allclose(with_tags.hidden(ids).last_hidden_state, model.hidden(ids).last_hidden_state, atol=1e-6)
    save_model(with_tags, tmp_path / "tagged")  # and it round-trips, tagger included
    loaded, _ = load_model(tmp_path / "tagged")
    assert loaded.reader.config.tags == tagged.config.tags
    assert torch.equal(loaded.reader.tagger.heads["count"].weight, tagged.tagger.heads["count"].weight)
    # A tagged reader built on another reader is refused: the source's projection would read the wrong states.
    stranger = _tagged(_tiny_reader(model.reader.codebook))
    with torch.no_grad():
        stranger.gru.weight_hh_l0.add_(1.0)
    with pytest.raises(MotionLLMError, match="nor that reader with a tagger"):
        init_from_trained(build_model(_config(tiny_base), model.reader.codebook, stranger)[0], tmp_path / "llm")


def _probs(indices, classes):
    """One-hot-ish (num_tokens, classes) probabilities putting 0.7 on each token's class."""
    out = np.full((len(indices), len(classes)), 0.3 / (len(classes) - 1))
    out[np.arange(len(indices)), indices] = 0.7
    return out


def test_tag_segments_read_runs_of_one_action_and_drop_flicker():
    from motionllm.models.motion_reader import tag_classes, tag_segments

    classes = tag_classes([_clip().labels])
    index = {name: {c: i for i, c in enumerate(values)} for name, values in classes.items()}
    # wave x4, nothing, walk flickering for one token, wave x2 (the same wave), walk x5, nothing x2, a lone walk
    actions = ["wave"] * 4 + ["none", "walk"] + ["wave"] * 2 + ["walk"] * 5 + ["none"] * 2 + ["walk"]
    counts = ["3", "3", "6", "3", "none", "6", "3", "3", "6", "6", "6", "3", "6", "none", "none", "3"]
    probs = {"action": _probs([index["action"][a] for a in actions], classes["action"]),
             "count": _probs([index["count"][c] for c in counts], classes["count"])}
    for name, value in (("speed", "slow"), ("side", "right"), ("direction", "forward")):
        tokens = [value if a == ("wave" if name == "side" else "walk") else "none" for a in actions]
        probs[name] = _probs([index[name][v] for v in tokens], classes[name])
    segments = tag_segments(probs, classes)
    assert segments == [
        {"action": "wave", "start": 0, "end": 8, "count": "3", "side": "right"},  # fields tagged "none" left out
        {"action": "walk", "start": 8, "end": 13, "count": "6", "speed": "slow", "direction": "forward"}]
    assert tag_segments({k: v[:1] for k, v in probs.items()}, classes) == []  # one token: flicker only


def test_tag_notes_phrase_the_actions_as_questions_and_answers_do():
    from motionllm.models.llm_tasks import tag_note

    assert tag_note([{"action": "wave", "count": "3", "side": "right"},
                     {"action": "jab", "count": "1", "speed": "fast", "direction": "in_place"},
                     {"action": "bow"}]) == " [tags: wave (3 times, right); then throw a jab (1 time, fast, in place); then bow]"
    assert tag_note([]) == " [tags: none]"
    clip = _clip()  # its questions' answers are what the note says
    answers = {a for kind, _, a in questions(clip.labels, np.random.default_rng(0), ["wave", "walk"])
               if kind in ("count", "side", "speed", "direction")}
    note = tag_note([{"action": "wave", "count": "3", "side": "right"},
                     {"action": "walk", "count": "6", "speed": "slow", "direction": "forward"}])
    assert answers == {"3", "right", "6", "slow", "forward"} and all(a in note for a in answers)


def test_a_model_that_reads_tag_notes_is_shown_one_after_each_span(read_model, tiny_base):
    from motionllm.models.llm_tasks import tag_note
    from motionllm.models.motion_llm import MotionLanguageModel
    from motionllm.models.paths import shipped
    from motionllm.models.vqvae import MotionTokenizer

    model, _ = read_model
    codebook = model.reader.codebook
    for reader in (None, model.reader):  # notes need a tagger to write them
        with pytest.raises(MotionLLMError, match="label tagger"):
            build_model(_config(tiny_base, tag_notes=True), codebook, reader)
    noted, tokenizer = build_model(_config(tiny_base, tag_notes=True), codebook, _tagged(model.reader).eval())
    lm = MotionLanguageModel(noted, tokenizer, MotionTokenizer.load(shipped("tokenizer")))
    a, b = np.arange(12) * 5 % NUM_CODES, np.arange(7) * 3 % NUM_CODES
    ids = lm.chat.prompt_ids("Between \x00motion0\x00 and \x00motion1\x00?", [a, b])
    vocab = noted.vocab
    for codes, end in zip((a, b), [i for i, t in enumerate(ids) if t == vocab.end_id]):
        note = lm.chat.text_ids(tag_note(noted.reader.read_actions(codes)))
        assert ids[end + 1: end + 1 + len(note)] == note
    assert tokenizer.decode(ids).count("[tags: ") == 2
    plain = ChatFormat(tokenizer, vocab)  # a model without notes sees the spans alone
    assert "[tags:" not in tokenizer.decode(plain.prompt_ids("Between \x00motion0\x00?", [a]))


def test_tag_accuracy_scores_tags_and_the_actions_read_from_whole_spans(read_model, monkeypatch):
    from motionllm.models.motion_reader import TAG_FIELDS, tag_accuracy, token_tags

    tagged = _tagged(read_model[0].reader)
    classes = tagged.config.tags
    clips = [_clip(20, seed) for seed in range(3)]
    truth = token_tags(clips[0].labels, 20, classes, 4)  # wave over tokens 0-9, walk over 10-19

    def perfect(shift_count):
        def tag_probabilities(codes, lengths):
            out = {}
            for f, name in enumerate(TAG_FIELDS):
                index = truth[:, f] + (truth[:, f] > 0) * (shift_count and name == "count")
                out[name] = torch.from_numpy(_probs(index % len(classes[name]), classes[name])).float()[None].repeat(
                    len(codes), 1, 1)
            return out
        return tag_probabilities

    monkeypatch.setattr(tagged, "tag_probabilities", perfect(False))
    scores = tag_accuracy(tagged, clips, 4)
    assert all(scores[name] == 1.0 for name in (*TAG_FIELDS, "mean", "read_action", "read_order", "read_count"))
    monkeypatch.setattr(tagged, "tag_probabilities", perfect(True))  # every count read one class too high
    scores = tag_accuracy(tagged, clips, 4)
    assert scores["count"] == scores["read_count"] == 0.0
    assert scores["read_action"] == scores["read_order"] == scores["read_side"] == 1.0
