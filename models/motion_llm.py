"""The Python API of the motion LLM: generate, caption, describe, ask, predict, inbetween.

    lm = MotionLanguageModel.load()                      # shipped weights, CPU
    joints = lm.generate("a person waves with the right hand", seconds=4)   # (T, 22, 3) at 20 fps
    lm.caption(joints)  ->  "a person waves their right hand."
    lm.ask(joints, "Which hand does the person use to wave?")  ->  "right"

Motions in and out are SMPL-22 joint positions (T, 22, 3), y up, 20 fps; inputs may also be HumanML3D 263-d
features (T, 263). The CLI commands and the ROS nodes are thin layers over this class.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from motionllm.engines import ENGINE_CHOICES, PROMPT_PRECISIONS
from motionllm.errors import MotionLLMError
from motionllm.models.llm import T2M_SAMPLING, MotionLLM, Sampling, load_model
from motionllm.models.llm_tasks import (CONTEXT_FRACTION, INBETWEEN_PROMPTS, INBETWEEN_TIMED_PROMPTS, M2T_PROMPTS,
                                        MOTION_TASKS, PREDICT_PROMPTS, PREDICT_TIMED_PROMPTS, QA_PROMPTS,
                                        T2M_PROMPTS, T2M_TIMED_PROMPTS, ChatFormat, Example, seconds_text, tag_note)
from motionllm.models.paths import shipped
from motionllm.models.vqvae import MotionTokenizer

MAX_COMMAND_CHARS = 300
CAPTION_WINDOW_SECONDS = 6.0  # windows of a motion longer than the model reads at once (10 s)
MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS = 0.2, 10.0  # a window of 2 motion tokens .. the most the model reads
MAX_ANSWER_TOKENS = 12  # Q&A answers are a word or a short phrase


class MotionLanguageModel:
    def __init__(self, model: MotionLLM, tokenizer, motion_tokenizer: MotionTokenizer):
        self.model, self.tokenizer, self.motion_tokenizer = model, tokenizer, motion_tokenizer
        self.config = model.config
        self.chat = ChatFormat(tokenizer, model.vocab, self._tag_note if self.config.tag_notes else None)
        if motion_tokenizer.config.num_codes != self.config.num_codes:
            raise MotionLLMError(f"the motion tokenizer has {motion_tokenizer.config.num_codes} codes, the LLM was "
                                 f"trained for {self.config.num_codes}")

    @classmethod
    def load(cls, directory: str | Path | None = None, base_model: str | Path | None = None,
             tokenizer: str | Path | None = None, engine: str = "auto",
             prompt_precision: str = "auto") -> "MotionLanguageModel":
        """engine: "auto" runs decode steps through the ONNX Runtime engine built beside the model
        (`motionllm export llm-engine`) when there is one for it, "onnx" requires it, "torch" never uses it.
        prompt_precision: what the torch layers read prompts in; "auto" = bfloat16 when the decode steps run in the
        engine and the CPU computes bfloat16 natively (native_bfloat16), else float32."""
        directory = Path(directory) if directory is not None else shipped("llm")
        if engine not in ENGINE_CHOICES:
            raise MotionLLMError(f"unknown engine '{engine}' (one of {', '.join(ENGINE_CHOICES)})")
        if prompt_precision not in PROMPT_PRECISIONS:
            raise MotionLLMError(f"unknown prompt precision '{prompt_precision}' "
                                 f"(one of {', '.join(PROMPT_PRECISIONS)})")
        if not (directory / "config.json").is_file():
            raise MotionLLMError(f"no trained motion LLM in {directory} (train one with `motionllm train llm`)")
        model, hf_tokenizer = load_model(directory, base_model, merge_lora=True)
        if engine != "torch":
            model.step_engine = _load_step_engine(directory, base_model, required=engine == "onnx")
        if prompt_precision == "auto":
            prompt_precision = "bfloat16" if model.step_engine is not None and native_bfloat16() else "float32"
        if prompt_precision == "bfloat16":
            model.hold_layers_in(torch.bfloat16)
        motion_tokenizer = MotionTokenizer.load(tokenizer if tokenizer is not None else shipped("tokenizer"))
        return cls(model, hf_tokenizer, motion_tokenizer)

    def _tag_note(self, codes: np.ndarray) -> str:
        return tag_note(self.model.reader.read_actions(codes))

    @property
    def fps(self) -> float:
        return self.config.fps

    # ------------------------------------------------------------ motion <-> codes

    def features_of(self, motion: np.ndarray) -> np.ndarray:
        from motionllm.motion.features import FEATURE_DIM, check_features, joints_to_features

        motion = np.asarray(motion, dtype=np.float32)
        if not np.all(np.isfinite(motion)):
            raise MotionLLMError("the motion contains NaN or infinite values")
        if motion.ndim == 2 and motion.shape[1] == FEATURE_DIM:
            return check_features(motion, "motion")
        if motion.ndim != 3 or motion.shape[1:] != (22, 3):
            raise MotionLLMError(f"expected SMPL-22 joints (T, 22, 3) or features (T, {FEATURE_DIM}), got {motion.shape}")
        if len(motion) < 2 * self.config.frames_per_token:
            raise MotionLLMError(f"the motion is too short: {len(motion)} frames (at least "
                                 f"{2 * self.config.frames_per_token} at {self.fps:g} fps)")
        return joints_to_features(motion)

    def codes_of(self, motion: np.ndarray) -> np.ndarray:
        return self.motion_tokenizer.encode(self.features_of(motion))

    def joints_of(self, codes) -> np.ndarray:
        """The motion of `codes` as joints (T, 22, 3), projected onto a body (`project_to_body`): the decoder alone
        lets bones change length, feet sink into the floor and slide."""
        from motionllm.motion.features import features_to_joints
        from motionllm.motion.projection import project_to_body

        return project_to_body(features_to_joints(self.motion_tokenizer.decode(codes)))

    def _tokens_for(self, seconds: float | None) -> int | None:
        if seconds is None:
            return None
        limit = self.config.max_motion_tokens / self.config.tokens_per_second
        if not np.isfinite(seconds) or not (0 < seconds <= limit):
            raise MotionLLMError(f"seconds must be in (0, {limit:g}], got {seconds}")
        return max(2, int(round(seconds * self.config.tokens_per_second)))

    # ------------------------------------------------------------ batched core (also used by evaluation)

    def answer(self, examples: list[Example], sampling: Sampling | None = None,
               lengths: list[int | None] | None = None, batch_size: int = 32, progress: str | None = None) -> list:
        """Answer each example: code arrays for motion tasks, strings for text tasks. progress: a label for a
        progress bar over the batches (none by default)."""
        from motionllm.console import progress_bar

        out: list = []
        lengths = lengths or [None] * len(examples)
        batches = range(0, len(examples), batch_size)
        for start in progress_bar(batches, desc=progress, unit="batch", enabled=progress is not None, leave=False):
            chunk = examples[start:start + batch_size]
            motion = chunk[0].task in MOTION_TASKS
            if any((e.task in MOTION_TASKS) != motion for e in chunk):
                raise ValueError("a batch mixes motion and text answers")
            prompts = [self.chat.generation_prompt(e) for e in chunk]
            if motion:
                result = self.model.decode(prompts, "motion", lengths[start:start + batch_size], sampling)
                out += [np.asarray(r, dtype=np.int64) for r in result]
            else:
                max_new = MAX_ANSWER_TOKENS if chunk[0].task == "qa" else None
                result = self.model.decode(prompts, "text", sampling=sampling, stop_id=self.chat.eos_id, max_new=max_new)
                out += [self.tokenizer.decode(r, skip_special_tokens=True).strip() for r in result]
        return out

    # ------------------------------------------------------------ the user API

    @staticmethod
    def check_text(text: str, what: str = "command") -> str:
        text = " ".join(str(text).split())
        if not text:
            raise MotionLLMError(f"the {what} is empty")
        if len(text) > MAX_COMMAND_CHARS:
            raise MotionLLMError(f"the {what} is too long ({len(text)} characters, at most {MAX_COMMAND_CHARS})")
        return text

    def generate(self, text: str, seconds: float | None = None, sampling: Sampling | None = None) -> np.ndarray:
        """Joints (T, 22, 3) at 20 fps for a text description. Sampled (T2M_SAMPLING) unless `sampling` is given:
        the same text gives another motion each time; a seed makes it repeatable."""
        return self.joints_of(self.generate_codes([text], seconds, sampling)[0])

    def generate_codes(self, texts: list[str], seconds: float | None = None,
                       sampling: Sampling | None = None) -> list[np.ndarray]:
        n = self._tokens_for(seconds)
        examples = []
        for text in texts:
            text = self.check_text(text)
            if n is None:
                instruction = T2M_PROMPTS[0].format(caption=text)
            else:
                instruction = T2M_TIMED_PROMPTS[0].format(seconds=seconds_text(n, self.config.tokens_per_second),
                                                         caption=text)
            examples.append(Example("t2m", instruction, []))
        return self.answer(examples, sampling or T2M_SAMPLING, [n] * len(examples))

    def _motion_codes(self, motion: np.ndarray) -> np.ndarray:
        codes = self.codes_of(motion)
        if len(codes) > self.config.max_motion_tokens:
            raise MotionLLMError(f"the motion is longer than {self.config.max_motion_tokens / self.config.tokens_per_second:g} s; "
                                 "use describe() for long motions")
        return codes

    def caption(self, motion: np.ndarray) -> str:
        """One sentence for a motion of up to 10 s."""
        return self.answer([Example("m2t", M2T_PROMPTS[0], [self._motion_codes(motion)])])[0]

    def describe(self, motion: np.ndarray, window_seconds: float | None = None) -> list[tuple[float, float, str]]:
        """(start s, end s, caption) for consecutive windows of a motion of any length; repeats are merged.
        window_seconds None: one caption for a motion the model reads at once (10 s), CAPTION_WINDOW_SECONDS
        windows for a longer one; given: windows of that length, whatever the motion's."""
        codes = self.codes_of(motion)
        seconds = CAPTION_WINDOW_SECONDS if window_seconds is None else window_seconds
        per_window = max(2, int(round(seconds * self.config.tokens_per_second)))
        per_window = min(per_window, self.config.max_motion_tokens)
        if window_seconds is None and len(codes) <= self.config.max_motion_tokens:
            per_window = len(codes)
        starts = list(range(0, len(codes), per_window))
        if len(starts) > 1 and len(codes) - starts[-1] < 2:
            starts.pop()
        windows = [codes[s: s + per_window] if s != starts[-1] else codes[s:] for s in starts]
        captions = self.answer([Example("m2t", M2T_PROMPTS[0], [w]) for w in windows])
        spt = 1.0 / self.config.tokens_per_second
        merged: list[tuple[float, float, str]] = []
        for s, w, c in zip(starts, windows, captions):
            if merged and merged[-1][2] == c:
                merged[-1] = (merged[-1][0], (s + len(w)) * spt, c)
            else:
                merged.append((s * spt, (s + len(w)) * spt, c))
        return merged

    def ask(self, motion: np.ndarray, question: str) -> str:
        """A short answer about a motion of up to 10 s."""
        question = self.check_text(question, "question")
        instruction = QA_PROMPTS[0].format(question=question)
        return self.answer([Example("qa", instruction, [self._motion_codes(motion)])])[0]

    def predict(self, motion: np.ndarray, seconds: float | None = None, sampling: Sampling | None = None) -> np.ndarray:
        """The given motion (its last 2 s at most, through the tokenizer) followed by its predicted continuation
        (joints at 20 fps). Given as joints, the result is placed where the motion is (features have no place)."""
        from motionllm.motion.canonical import place_on

        codes = self.codes_of(motion)
        limit = int(round(self.config.max_motion_tokens * CONTEXT_FRACTION))
        context = codes[-limit:]  # trained on up to 2 s of context
        n = self._tokens_for(seconds)
        instruction = (PREDICT_PROMPTS[0] if n is None else
                       PREDICT_TIMED_PROMPTS[0].format(seconds=seconds_text(n, self.config.tokens_per_second)))
        rest = self.answer([Example("predict", instruction, [context])], sampling, [n])[0]
        joints = self.joints_of(np.concatenate([context, rest]))
        if np.ndim(motion) != 3:
            return joints
        # As in inbetween: the codes cover the motion's first len(codes) * fpt frames.
        fpt = self.config.frames_per_token
        last_given = np.asarray(motion, dtype=np.float32)[len(codes) * fpt - 1]
        return place_on(joints, len(context) * fpt - 1, last_given).astype(np.float32)

    def inbetween(self, start: np.ndarray, end: np.ndarray, seconds: float | None = None,
                  sampling: Sampling | None = None) -> np.ndarray:
        """start, the generated transition, end (joints at 20 fps).

        Given as joints, start and end are one world frame, and the result is placed in it: the given frames with
        the generated transition between them, moved onto the start and bent to reach the end (the decoder only
        knows root velocities; `anchor_transition`). Features (T, 263) carry no place in the world, so they get
        the motion as decoded.
        """
        from motionllm.motion.canonical import anchor_transition

        limit = int(round(self.config.max_motion_tokens * CONTEXT_FRACTION))
        start_codes = self.codes_of(start)
        a, b = start_codes[-limit:], self.codes_of(end)[:limit]
        n = self._tokens_for(seconds)
        instruction = (INBETWEEN_PROMPTS[0] if n is None else
                       INBETWEEN_TIMED_PROMPTS[0].format(seconds=seconds_text(n, self.config.tokens_per_second)))
        middle = self.answer([Example("inbetween", instruction, [a, b])], sampling, [n])[0]
        joints = self.joints_of(np.concatenate([a, middle, b]))
        if np.ndim(start) != 3 or np.ndim(end) != 3:
            return joints
        # The tokenizer drops a remainder of frames at the end, so the start's codes stop at its frame
        # len(start_codes) * fpt - 1 (feature frame i is joint frame i); the end's codes begin at its frame 0.
        fpt = self.config.frames_per_token
        covered = np.asarray(start, dtype=np.float32)[: len(start_codes) * fpt]
        return anchor_transition(joints, covered, end, len(a) * fpt, (len(a) + len(middle)) * fpt)


def _load_step_engine(directory: Path, base_model, required: bool):
    """The decode-step engine built for this model, or None (auto: none built, or not usable: with a warning)."""
    import warnings

    from motionllm.engines.llm_steps import ENGINE_DIR, DecodeStepEngine, fingerprint

    if not required and not (directory / ENGINE_DIR).exists():
        return None
    try:
        return DecodeStepEngine.load(directory / ENGINE_DIR, fingerprint(directory, base_model))
    except MotionLLMError as exc:
        if required:
            raise
        warnings.warn(f"{exc}; decoding with torch instead", stacklevel=3)
        return None


def native_bfloat16() -> bool:
    """Whether this CPU has bfloat16 matmul instructions (AMX or AVX512-BF16). Without them bfloat16 is emulated
    and slower than float32."""
    capabilities = torch.cpu.get_capabilities()
    return bool(capabilities.get("amx_bf16") or capabilities.get("avx512_bf16"))


def default_threads() -> None:
    """Use every core but no more: oversubscribed torch threads slow a 2-core machine down badly."""
    import os

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))


def load_model_or_plugin(spec: str, model: str, what: str):
    """'llm': the motion LLM (weights from `model`, default the shipped ones); 'package.module:Name': a plug-in
    standing in for it (a class or a factory, called with no arguments). `what` names it in errors, which are
    MotionLLMError. The motion generator of the commander and the behaviour describer's captioner load here."""
    import importlib

    if spec == "llm":
        return MotionLanguageModel.load(model or None)
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise MotionLLMError(f"unknown {what} '{spec}' (use 'llm' or 'package.module:Name')")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise MotionLLMError(f"cannot load {what} '{spec}': {exc}") from None
    return factory()
