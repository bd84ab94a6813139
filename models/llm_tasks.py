"""Instruction data for the motion LLM: five tasks, several phrasings each, built from a corpus clip.

A clip gives its motion codes, its captions and (for our corpus) its structured labels. From those:
  t2m        caption -> motion            ("Generate a 4.2-second motion: a person waves.")
  m2t        motion -> caption
  qa         motion + question -> short answer; questions and answers come from the labels only
  predict    first 20% of the motion -> the rest
  inbetween  first and last 20% -> the middle
Instructions hold motion spans as MOTION_SLOT placeholders; `ChatFormat` turns an Example into token ids.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from motionllm.models.llm import MOTION_SLOT, SYSTEM_PROMPT, MotionVocabulary

TASKS = ("t2m", "m2t", "qa", "predict", "inbetween")
MOTION_TASKS = ("t2m", "predict", "inbetween")  # answered with a motion span
DEFAULT_TASK_WEIGHTS = {"t2m": 0.35, "m2t": 0.25, "qa": 0.2, "predict": 0.1, "inbetween": 0.1}
CONTEXT_FRACTION = 0.2  # predict continues from the first 20%; inbetween is given the first and last 20%

M = MOTION_SLOT.format(0)
M2 = MOTION_SLOT.format(1)
T2M_PROMPTS = ("Generate a motion: {caption}", "Show me this motion: {caption}", "Animate a person: {caption}",
               "Create the motion of this description: {caption}", "{caption}")
T2M_TIMED_PROMPTS = ("Generate a {seconds}-second motion: {caption}", "Animate {seconds} seconds of this: {caption}",
                     "Show me this motion, {seconds} seconds long: {caption}")
M2T_PROMPTS = (f"Describe the motion: {M}", f"What is the person doing? {M}", f"{M} Describe this movement.",
               f"Caption this motion: {M}", f"Explain what happens in {M}")
QA_PROMPTS = (f"{M} {{question}}", f"Motion: {M} Question: {{question}}", f"Watch {M} and answer: {{question}}")
PREDICT_PROMPTS = (f"Continue this motion: {M}", f"Predict what the person does next: {M}",
                   f"{M} How does this motion go on?")
PREDICT_TIMED_PROMPTS = (f"Continue this motion for {{seconds}} seconds: {M}",
                         f"Predict the next {{seconds}} seconds of {M}")
INBETWEEN_PROMPTS = (f"Fill in the motion between {M} and {M2}.", f"Connect {M} to {M2} with a natural motion.",
                     f"Generate the motion that leads from {M} to {M2}.")
INBETWEEN_TIMED_PROMPTS = (f"Fill in {{seconds}} seconds of motion between {M} and {M2}.",
                           f"Connect {M} to {M2} in {{seconds}} seconds.")

# How questions name an action (base-form verb phrase); others read as their type with spaces.
ACTION_PHRASES = {
    "arm_circles": "do arm circles", "balance_one_leg": "balance on one leg", "check_watch": "check the watch",
    "climb_stairs": "climb stairs", "cross": "throw a cross", "cross_arms": "cross the arms",
    "descend_stairs": "go down stairs", "hands_on_hips": "put the hands on the hips", "hop_one_leg": "hop on one leg",
    "jab": "throw a jab", "jumping_jacks": "do jumping jacks", "kick_front": "kick to the front",
    "kick_side": "kick to the side", "pick_up": "pick something up", "raise_arm": "raise an arm",
    "scratch_head": "scratch the head", "shift_weight": "shift weight", "sit_down": "sit down",
    "stand_idle": "stand still", "stand_up": "stand up", "step_touch": "step touch", "stretch_arms": "stretch the arms",
    "stretch_neck": "stretch the neck", "talk_on_phone": "talk on the phone", "throw": "throw something",
    "tiptoe": "walk on tiptoe", "turn_in_place": "turn in place", "walk_backward": "walk backward",
    "walk_circle": "walk in a circle", "walk_curve": "walk along a curve", "walk_turn": "walk and turn",
    "walk_zigzag": "walk in a zigzag", "look_around": "look around", "bend_forward": "bend forward",
    "jump_forward": "jump forward", "jump_in_place": "jump in place",
    # actions of the real mocap datasets (motionllm.realdata)
    "walk_diagonal": "walk diagonally", "guide": "show the way", "respond": "raise a hand to respond",
    "call": "call out", "referee_signals": "make referee signals", "direct_traffic": "direct traffic",
    "play_basketball": "play basketball", "play_soccer": "play soccer", "wash_window": "wash a window",
}
GAITS = {"walk": "walking", "walk_backward": "walking", "walk_circle": "walking", "walk_curve": "walking",
         "walk_turn": "walking", "walk_zigzag": "walking", "march": "walking", "jog": "jogging", "run": "running",
         "walk_diagonal": "walking"}
ARM_SIDED = {"wave", "raise_arm", "point", "reach", "salute", "throw", "drink", "check_watch", "scratch_head",
             "talk_on_phone", "jab", "cross", "guide", "respond", "call"}
LEG_SIDED = {"kick_front", "kick_side", "hop_one_leg", "balance_one_leg", "lunge", "stomp", "sidestep"}


def action_phrase(kind: str) -> str:
    return ACTION_PHRASES.get(kind, kind.replace("_", " "))


@dataclass
class Clip:
    """What the tasks need of one corpus clip."""
    name: str
    codes: np.ndarray                 # motion token ids (T / 4,)
    captions: list[str]
    labels: dict | None = None


@dataclass
class Example:
    task: str
    instruction: str                  # with MOTION_SLOT placeholders for `motions`
    motions: list[np.ndarray]
    answer_text: str | None = None    # a text answer, or
    answer_codes: np.ndarray | None = None  # a motion answer
    kind: str = ""                    # the question type for qa
    meta: dict = field(default_factory=dict)
    # Further (question, answer) turns about the same motion, for training only: the motion span is paid for once
    # and supervises several answers (LLaVA-style multi-turn), so reading motion gets more signal per step.
    follow_ups: list[tuple[str, str]] = field(default_factory=list)


def seconds_text(tokens: int, tokens_per_second: float) -> str:
    return f"{tokens / tokens_per_second:.1f}".rstrip("0").rstrip(".")


def sequence(labels: dict) -> list[dict]:
    """The clip's actions in time order, without those performed concurrently with another."""
    return sorted((a for a in labels.get("actions", []) if not a.get("concurrent")), key=lambda a: a["start_frame"])


def questions(labels: dict, rng: np.random.Generator, all_kinds: list[str]) -> list[tuple[str, str, str]]:
    """(kind, question, answer) triples a clip's labels can answer. `all_kinds`: action types for negatives."""
    acts = labels.get("actions", [])
    order = sequence(labels)
    kinds_present = {a["type"] for a in acts}
    out = []
    if len(order) >= 2:
        out.append(("first", "What does the person do first?", action_phrase(order[0]["type"])))
        out.append(("last", "What does the person do last?", action_phrase(order[-1]["type"])))
        i = int(rng.integers(len(order) - 1))
        if order[i]["type"] != order[i + 1]["type"]:
            out.append(("after", f"What does the person do after they {action_phrase(order[i]['type'])}?",
                        action_phrase(order[i + 1]["type"])))
    out.append(("how_many_actions", "How many different actions does the person perform?", str(len(kinds_present))))
    present = sorted(kinds_present)[int(rng.integers(len(kinds_present)))] if kinds_present else None
    absent = [k for k in all_kinds if k not in kinds_present]
    if present is not None:
        out.append(("yes_no", f"Does the person {action_phrase(present)}?", "yes"))
    if absent:
        out.append(("yes_no", f"Does the person {action_phrase(absent[int(rng.integers(len(absent)))])}?", "no"))
    by_kind: dict[str, list[dict]] = {}
    for a in acts:
        by_kind.setdefault(a["type"], []).append(a)
    for kind, group in by_kind.items():
        if len(group) != 1:  # a question about an action performed twice has no single answer
            continue
        a, phrase = group[0], action_phrase(kind)
        if a.get("side") in ("left", "right", "both"):
            limb = "hand" if kind in ARM_SIDED else "leg" if kind in LEG_SIDED else "side"
            out.append(("side", f"Which {limb} does the person use to {phrase}?", a["side"]))
        if a.get("direction"):
            out.append(("direction", f"In which direction does the person {phrase}?", a["direction"].replace("_", " ")))
        if a.get("count"):
            out.append(("count", f"How many times does the person {phrase}?", str(a["count"])))
        if a.get("speed"):
            out.append(("speed", f"How fast does the person {phrase}?", a["speed"]))
    gaits = {GAITS[k] for k in kinds_present if k in GAITS}
    if len(gaits) == 1:
        out.append(("gait", "Is the person walking, jogging or running?", gaits.pop()))
    if "manner" in labels:  # real mocap performed in a style ("exhausted", "elderly"; None: a neutral style)
        out.append(("manner", "In what manner does the person move?",
                    (labels["manner"] or "normal").replace("_", " ")))
    return out


def make_example(task: str, clip: Clip, rng: np.random.Generator, tokens_per_second: float,
                 all_kinds: list[str] | None = None, qa_follow_ups: int = 0) -> Example | None:
    """One random instruction of `task` for `clip`, or None when the clip cannot make one (too short, no labels).
    qa_follow_ups: a Q&A example also gets up to this many of the clip's other questions as further turns."""
    codes, n = clip.codes, len(clip.codes)
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    if task == "t2m":
        caption = pick(clip.captions)
        if rng.random() < 0.5:
            text = pick(T2M_TIMED_PROMPTS).format(seconds=seconds_text(n, tokens_per_second), caption=caption)
        else:
            text = pick(T2M_PROMPTS).format(caption=caption)
        return Example(task, text, [], answer_codes=codes)
    if task == "m2t":
        return Example(task, pick(M2T_PROMPTS), [codes], answer_text=pick(clip.captions))
    if task == "qa":
        if not clip.labels:
            return None
        options = questions(clip.labels, rng, all_kinds or [])
        if qa_follow_ups:
            order = rng.permutation(len(options))
            kind, question, answer = options[order[0]]
            follow_ups = [options[i][1:] for i in order[1: 1 + qa_follow_ups]]
        else:  # the same draws as before follow-ups existed (stages 1 and 2 of the shipped model)
            (kind, question, answer), follow_ups = pick(options), []
        return Example(task, pick(QA_PROMPTS).format(question=question), [codes], answer_text=answer, kind=kind,
                       follow_ups=follow_ups)
    context = max(1, int(round(CONTEXT_FRACTION * n)))
    if task == "predict":
        if n - context < 2:
            return None
        rest = codes[context:]
        if rng.random() < 0.5:
            text = pick(PREDICT_TIMED_PROMPTS).format(seconds=seconds_text(len(rest), tokens_per_second))
        else:
            text = pick(PREDICT_PROMPTS)
        return Example(task, text, [codes[:context]], answer_codes=rest)
    if task == "inbetween":
        middle = codes[context: n - context]
        if len(middle) < 2:
            return None
        if rng.random() < 0.5:
            text = pick(INBETWEEN_TIMED_PROMPTS).format(seconds=seconds_text(len(middle), tokens_per_second))
        else:
            text = pick(INBETWEEN_PROMPTS)
        return Example(task, text, [codes[:context], codes[n - context:]], answer_codes=middle)
    raise ValueError(f"unknown task {task!r} (known: {', '.join(TASKS)})")


def tag_note(actions: list[dict]) -> str:
    """What a label tagger read in a shown motion (MotionReader.read_actions), as the text that follows its span:
    e.g. " [tags: walk (8 times, fast, forward); then wave (3 times, right)]". Phrased as the questions and their
    answers are, so reading an answer off it is copying."""
    parts = []
    for a in actions:
        details = [f"{a['count']} time" + ("s" if a["count"] != "1" else "")] if "count" in a else []
        details += [a[name].replace("_", " ") for name in ("speed", "side", "direction") if name in a]
        parts.append(action_phrase(a["action"]) + (f" ({', '.join(details)})" if details else ""))
    return f" [tags: {'; then '.join(parts) or 'none'}]"


class ChatFormat:
    """Token ids of instructions and answers in the base model's chat template, motion spans spliced in.
    note: for a model that reads tag notes (MotionLLMConfig.tag_notes), the text that follows each shown span."""

    def __init__(self, tokenizer, vocab: MotionVocabulary, note: Callable[[np.ndarray], str] | None = None):
        self.tokenizer, self.vocab, self.note = tokenizer, vocab, note
        marker = "\x01INSTRUCTION\x01"
        rendered = tokenizer.apply_chat_template(
            [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": marker}],
            tokenize=False, add_generation_prompt=True)
        self.prefix, self.suffix = rendered.split(marker)
        self.eos_id = tokenizer.eos_token_id
        # What comes between an answer's stop token and the next question in a conversation.
        answer_marker, next_marker = "\x01ANSWER\x01", "\x01NEXT\x01"
        rendered = tokenizer.apply_chat_template(
            [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": marker},
             {"role": "assistant", "content": answer_marker}, {"role": "user", "content": next_marker}],
            tokenize=False, add_generation_prompt=True)
        between = rendered.split(answer_marker)[1].split(next_marker)[0]
        self.next_turn = between.removeprefix(tokenizer.eos_token)
        self._slot = re.compile("\x00motion(\\d+)\x00")

    def text_ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def prompt_ids(self, instruction: str, motions: list) -> list[int]:
        """The whole prompt, ending where the assistant's answer starts."""
        pieces = self._slot.split(self.prefix + instruction + self.suffix)
        ids = []
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                ids += self.text_ids(piece) if piece else []
            else:
                codes = motions[int(piece)]
                ids += self.vocab.span(codes) + (self.text_ids(self.note(codes)) if self.note else [])
        return ids

    def answer_ids(self, example: Example) -> tuple[list[int], bool]:
        """(answer ids ending with the stop token, is_motion). Motion answers start after a forced <motion>."""
        if example.answer_codes is not None:
            return [self.vocab.base + int(c) for c in example.answer_codes] + [self.vocab.end_id], True
        return self.text_ids(example.answer_text) + [self.eos_id], False

    def generation_prompt(self, example: Example) -> list[int]:
        ids = self.prompt_ids(example.instruction, example.motions)
        return ids + [self.vocab.start_id] if example.task in MOTION_TASKS else ids

    def training_ids(self, example: Example) -> tuple[list[int], list[int], bool]:
        """(input ids, targets aligned with them (-100 = unscored), is_motion). Only answers are scored, those of
        the follow-up turns included."""
        answer, is_motion = self.answer_ids(example)
        pieces = [(self.generation_prompt(example), False), (answer, True)]
        for question, reply in example.follow_ups:
            pieces += [(self.text_ids(self.next_turn + question + self.suffix), False),
                       (self.text_ids(reply) + [self.eos_id], True)]
        full = [i for piece, _ in pieces for i in piece]
        scored = [s for piece, s in pieces for _ in piece]
        targets = [t if s else -100 for t, s in zip(full[1:], scored[1:])]
        return full[:-1], targets, is_motion
