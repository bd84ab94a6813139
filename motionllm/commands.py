"""Text commands for a humanoid: is this a motion request, and what motion does it give?

    checker = CommandChecker()
    checker.check("wave with your right hand")   # CommandCheck(ok=True, ...)
    checker.check("what is the weather")         # ok=False, reason "not a motion command: ..."
    ok, reason = check_command("tell me a joke")
    commander.check("fly to the moon", seconds=3)  # CommandResult(ok=False, message="not a motion command: ...")

    commander = MotionCommander()                 # the shipped motion LLM, loaded on first use
    result = commander.handle("wave with your right hand")   # CommandResult: ok, message, joints (T, 22, 3)

A command is refused, with a one-line reason and before any motion is generated, when it is
- empty, or longer than MAX_COMMAND_CHARS characters or MAX_COMMAND_WORDS words; or asks for a length
  outside (0, MAX_COMMAND_SECONDS] s, or for a robot other than the commander's;
- not made of words: more than half its words are neither in the MiniLM vocabulary nor in the corpus
  caption templates ("asdfgh", "zxcvbnm");
- not about motion: its MiniLM sentence embedding is less similar than `threshold` (cosine) to every
  reference command. The references are rendered from the caption templates of the 57 action types of the
  embedded corpus (motionllm.corpus.captions), as imperatives ("wave with the right hand") and as
  HumanML3D-style captions ("a person waves with the right hand"); see `reference_commands`.

The threshold is calibrated on held-out requests (docs/ros.md, "Command check"): real motion commands,
paraphrased, score 0.55-1.0; requests to a voice assistant (weather, jokes, timers, facts, shopping)
score below 0.45. Motions far from the corpus (swim, push-ups, act like a zombie) also score below the
threshold and are refused: the motion LLM was trained on the corpus and would not do them faithfully.

Nothing here imports ROS: the motion_commander node is a thin layer over `MotionCommander`.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import re
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from motionllm.errors import MotionLLMError
from motionllm.models.motion_llm import MAX_COMMAND_CHARS  # the motion LLM's own limit (check_text)
from motionllm.models.motion_llm import load_model_or_plugin

MAX_COMMAND_WORDS = 50
MAX_COMMAND_SECONDS = 10.0  # the longest motion a command may ask for: the motion LLM writes up to 10 s in one span
DEFAULT_THRESHOLD = 0.5  # cosine similarity to the nearest reference command (calibration in docs/ros.md)
REFERENCES_PER_ACTION = 12  # imperative references per action type (evenly spread over its variants)
CAPTIONS_PER_ACTION = 4  # HumanML3D-style caption references per action type
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")

# Label variants the reference commands are rendered for (motionllm.corpus.captions.templates).
_SIDES = ("left", "right")
_BOTH_SIDES = {"wave", "raise_arm", "arm_circles", "pick_up", "stomp", "clap", "shrug"}
_DIRECTIONS = {
    "turn_in_place": ("left", "right"), "walk_turn": ("left", "right"), "walk_curve": ("left", "right"),
    "walk_circle": ("left", "right"), "sidestep": ("left", "right"), "spin": ("left", "right"),
    "raise_arm": ("up", "forward", "side"), "point": ("forward", "up", "side", "down"),
    "reach": ("forward", "up", "side"), "stretch_arms": ("up", "side"), "arm_circles": ("forward", "backward"),
    "hop_one_leg": ("forward", "in_place"),
}
_COUNTS = (None, 2, 3)
_SPEEDS = (None, "slow", "fast")


def normalize_command(text: str) -> str:
    """Whitespace collapsed, ends trimmed (what the checks and the LLM see)."""
    return " ".join(str(text).split())


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


# --- the reference commands ------------------------------------------------------------------------

def _render(template: str, mood: str) -> str | None:
    """A caption template (motionllm.corpus.captions) as an imperative ('wave the right hand') or a
    HumanML3D-style caption ('a person waves the right hand'); None if a slot was left empty."""
    from motionllm.corpus.captions import third_person

    possessive = "your" if mood == "imperative" else "their"
    template = template.replace("{poss}", f"{possessive}/DET").replace("{the}", "the/DET")
    words = [] if mood == "imperative" else ["a", "person"]
    for item in template.split():
        if item == ",":
            words[-1] += ","
        elif item.startswith("V:"):
            lemma = item[2:]
            words.append(lemma if mood == "imperative" else third_person(lemma))
        else:
            word = item.split("/")[0]
            if not word or word == "None":
                return None
            words.append(word)
    return " ".join(words)


@functools.lru_cache(maxsize=1)
def reference_commands() -> tuple[str, ...]:
    """Motion commands rendered from the corpus caption templates of every action type: per type, up to
    REFERENCES_PER_ACTION imperatives and CAPTIONS_PER_ACTION captions, spread over its label variants
    (sides, directions, counts, speeds). Deterministic."""
    from motionllm.corpus.actions import REGISTRY
    from motionllm.corpus.captions import templates

    rng = np.random.default_rng(0)  # only picks among equivalent speed/turn wordings
    out: list[str] = []
    for kind in sorted(REGISTRY):
        sides = _SIDES + (("both",) if kind in _BOTH_SIDES else ())
        found: dict[str, None] = {}
        for side, direction, count, speed in itertools.product(sides, _DIRECTIONS.get(kind, (None,)), _COUNTS,
                                                               _SPEEDS):
            label = {"type": kind, "side": side, "direction": direction, "count": count, "speed": speed,
                     "params": {}}
            try:
                variant_templates = templates(label, rng)
            except (KeyError, TypeError):  # this action has no such variant (e.g. arm circles need a count)
                continue
            for template in variant_templates:
                found.setdefault(template, None)
        variants = sorted(found)
        imperatives = sorted({t for t in (_render(v, "imperative") for v in variants) if t})
        captions = sorted({t for t in (_render(v, "caption") for v in variants) if t})
        out += _spread(imperatives, REFERENCES_PER_ACTION) + _spread(captions, CAPTIONS_PER_ACTION)
    return tuple(dict.fromkeys(out))


def _spread(items: list[str], count: int) -> list[str]:
    if len(items) <= count:
        return items
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count).round()]


def reference_embeddings(references: tuple[str, ...] | None = None, embed: Callable | None = None) -> np.ndarray:
    """(R, 384) unit MiniLM embeddings of the references, cached in <cache>/commands (a few seconds to
    compute on 2 cores, milliseconds to read)."""
    from motionllm.fileio import save_npy
    from motionllm.motion.samples import cache_dir

    references = reference_commands() if references is None else references
    if embed is not None:  # a custom embedding: never cached
        return embed(list(references))
    from motionllm.models.text_embedding import embed_texts, minilm_directory

    key = hashlib.sha256("\n".join((str(minilm_directory()), *references)).encode()).hexdigest()[:16]
    path = cache_dir() / "commands" / f"references-{key}.npy"
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape[0] == len(references):
                return cached
        except (OSError, ValueError):
            pass  # unreadable: compute again
    vectors = embed_texts(list(references))
    save_npy(path, vectors)
    return vectors


# --- the check ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CommandCheck:
    ok: bool
    reason: str  # "" when ok; otherwise one line for the user
    text: str  # the command, whitespace normalised
    score: float = float("nan")  # cosine similarity to the nearest reference (nan: not computed)
    nearest: str = ""  # that reference


class CommandChecker:
    """Refuses empty, overlong, gibberish and non-motion commands (see the module docstring).

    `embed` (list of texts -> (N, D) unit vectors) defaults to MiniLM (motionllm.models.text_embedding);
    the model and the reference embeddings are loaded when the checker is built."""

    what = "command"  # in the reasons: "the command is empty"
    refused_as = "not a motion command"
    unlike = "is not like any motion this robot knows"

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, max_chars: int = MAX_COMMAND_CHARS,
                 max_words: int = MAX_COMMAND_WORDS, embed: Callable | None = None,
                 references: tuple[str, ...] | None = None):
        if not 0.0 < threshold < 1.0:
            raise MotionLLMError(f"the similarity threshold must be in (0, 1), got {threshold}")
        if max_chars < 1 or max_words < 1:
            raise MotionLLMError(f"command limits must be positive, got {max_chars} characters, {max_words} words")
        self.threshold, self.max_chars, self.max_words = float(threshold), int(max_chars), int(max_words)
        if embed is None:
            from motionllm.models.text_embedding import embed_texts

            embed_fn = embed_texts
        else:
            embed_fn = embed
        self._embed = embed_fn
        self.references = self.default_references() if references is None else tuple(references)
        self._reference_vectors = reference_embeddings(self.references, embed)
        self._known_words = self._vocabulary() if embed is None else None

    def default_references(self) -> tuple[str, ...]:
        return reference_commands()

    def _vocabulary(self) -> frozenset[str]:
        from motionllm.models.text_embedding import _model

        vocab = {w for w in _model().tokenizer.vocab if w.isalpha()}
        vocab.update(w for r in self.references for w in _words(r))
        return frozenset(vocab)

    def _known(self, word: str) -> bool:
        if word.isdigit() or word in self._known_words:
            return True
        stem = word.split("'")[0]
        for suffix in ("s", "es", "ed", "d", "ing", "ly"):
            if stem.endswith(suffix) and len(stem) > len(suffix) + 2 and stem[:-len(suffix)] in self._known_words:
                return True
        return False

    def check(self, text: str) -> CommandCheck:
        text = normalize_command(text)
        if not text:
            return CommandCheck(False, f"the {self.what} is empty", text)
        if len(text) > self.max_chars:
            return CommandCheck(False, f"the {self.what} is too long ({len(text)} characters, at most "
                                       f"{self.max_chars})", text)
        words = _words(text)
        if len(words) > self.max_words:
            return CommandCheck(False, f"the {self.what} is too long ({len(words)} words, at most {self.max_words})",
                                text)
        if not words:
            return CommandCheck(False, f"{self.refused_as}: '{text}' has no words", text)
        if self._known_words is not None:
            unknown = [w for w in words if not self._known(w)]
            if 2 * len(unknown) > len(words):
                return CommandCheck(False, f"{self.refused_as}: not understood ({', '.join(unknown[:5])} "
                                           "are not known words)" if len(unknown) > 1 else
                                    f"{self.refused_as}: not understood ('{unknown[0]}' is not a known word)", text)
        with _one_torch_thread():
            vector = np.asarray(self._embed([text]), dtype=np.float32)[0]
        similarity = self._reference_vectors @ vector
        best = int(np.argmax(similarity))
        score, nearest = float(similarity[best]), self.references[best]
        if score < self.threshold:
            return CommandCheck(False, f"{self.refused_as}: '{text}' {self.unlike} "
                                       f"(similarity {score:.2f} < {self.threshold:.2f}; closest: "
                                       f"'{nearest}')", text, score, nearest)
        return CommandCheck(True, "", text, score, nearest)


class QuestionChecker(CommandChecker):
    """Refuses questions that are not about the motion ("what is the capital of France?") before the LLM is
    asked: the same check as commands, against the questions the motion LLM was taught (`reference_questions`).
    On held-out wordings (tests/test_commands.py) questions about the motion score 0.58-1.0, and questions
    for a voice assistant 0.18-0.41."""

    what = "question"
    refused_as = "not a question about the motion"
    unlike = "is not like any question about a motion the model can answer"

    def default_references(self) -> tuple[str, ...]:
        return reference_questions()


@functools.lru_cache(maxsize=1)
def reference_questions() -> tuple[str, ...]:
    """The motion LLM's question templates (llm_tasks.questions) for every action type, plus "What is the
    person doing?". Deterministic."""
    from motionllm.corpus.actions import REGISTRY
    from motionllm.models.llm_tasks import questions

    kinds = sorted(REGISTRY)
    out = ["What is the person doing?"]
    for i, kind in enumerate(kinds):
        following = kinds[(i + 1) % len(kinds)]
        labels = {"actions": [{"type": kind, "side": "left", "direction": "forward", "count": 2, "speed": "fast",
                               "start_frame": 0},
                              {"type": following, "start_frame": 40}], "manner": "tired"}
        out += [question for _, question, _ in questions(labels, np.random.default_rng(i), kinds)]
    return tuple(dict.fromkeys(out))


@contextlib.contextmanager
def _one_torch_thread():
    """One short sentence is embedded fastest on one thread: 10 ms, against 40-490 ms on two threads of a
    2-core machine that is busy with something else (OpenMP threads waiting for each other)."""
    try:
        import torch
    except ImportError:  # a custom embedding without torch
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@functools.lru_cache(maxsize=1)
def _default_checker() -> CommandChecker:
    return CommandChecker()


def check_command(text: str) -> tuple[bool, str]:
    """(ok, reason) with the default CommandChecker; reason is "" when ok."""
    result = _default_checker().check(text)
    return result.ok, result.reason


# --- commands to motion ------------------------------------------------------------------------------

class MotionGenerator(Protocol):
    """What MotionCommander needs from a text-to-motion model (MotionLanguageModel is one)."""

    fps: float

    def generate(self, text: str, seconds: float | None = None) -> np.ndarray:
        """(T, 22, 3) joints at `fps`; raises MotionLLMError with a clear message for text it refuses."""


def load_generator(spec: str = "llm", model: str = "") -> MotionGenerator:
    """'llm': the motion LLM (weights from `model`, default the shipped ones); 'package.module:Name': a
    plug-in, called with no arguments (a class or a factory). Raises MotionLLMError."""
    return load_model_or_plugin(spec, model, "motion generator")


@dataclass(frozen=True)
class CommandResult:
    ok: bool
    message: str  # what was done, or why not (one line)
    text: str  # the command, whitespace normalised
    joints: np.ndarray | None = field(default=None, repr=False)  # (T, 22, 3) float32 when ok
    fps: float = 0.0
    check: CommandCheck | None = None
    generate_s: float = 0.0  # time spent generating
    refused: bool = False  # by MotionCommander.check, before anything was generated

    @property
    def seconds(self) -> float:
        return len(self.joints) / self.fps if self.joints is not None and self.fps else 0.0


# What a command asks of the robot's body, by its words (an inflected form counts: "jumps", "jumping").
NEVER_FEASIBLE = ("cartwheel", "flip", "backflip", "somersault", "handstand", "handspring", "flips")
JUMP_WORDS = ("jump", "hop", "leap", "bounce")
LOCOMOTION_WORDS = ("walk", "run", "jog", "sprint", "dash", "march", "stroll", "step", "sidestep", "stride",
                    "wander", "pace", "shuffle", "travel", "circle")
LEG_WORDS = ("kick", "squat", "sit", "kneel", "lunge", "stomp", "crouch", "dance", "spin", "turn", "bend")
INFLECTIONS = ("s", "es", "d", "ed", "ing", "ped", "ping", "ning", "ps")


def _mentions(words: list[str], stems) -> str | None:
    """The first of `words` that is one of `stems` or an inflection of one ("jumps", "hopping", "stepped")."""
    for word in words:
        for stem in stems:
            if word == stem or (word.startswith(stem) and word[len(stem):] in INFLECTIONS):
                return word
    return None


def capability_refusal(text: str, capabilities, robot: str) -> str | None:
    """Why `robot` (with profile `capabilities`, retargeting.profile.Capabilities) must not be asked for
    `text`, in one line; None when it may. Flips and cartwheels are never feasible for a position-controlled
    humanoid (a flight phase, the weight on the hands); any leg motion for an upper-body-only robot; jumps
    when the profile says `jump: never`; walking when it may not walk."""
    words = _words(normalize_command(text))
    word = _mentions(words, NEVER_FEASIBLE)
    if word:
        return f"'{word}' cannot be made feasible for {robot}: it needs a flight phase or the weight on the hands"
    if capabilities.upper_body_only:
        for stems in (JUMP_WORDS, LOCOMOTION_WORDS, LEG_WORDS):
            word = _mentions(words, stems)
            if word:
                return f"{robot} moves its upper body only; '{word}' needs the legs"
        return None
    if capabilities.jump == "never" and _mentions(words, JUMP_WORDS):
        return f"{robot} may never jump (robot profile: capabilities.jump: never)"
    word = _mentions(words, LOCOMOTION_WORDS)
    if word and not capabilities.walk:
        return f"{robot} may not walk (robot profile: capabilities.walk: false); '{word}' needs steps"
    return None


def seconds_refusal(seconds: float | None) -> str | None:
    """Why a motion of `seconds` cannot be asked for (None: it can; None seconds: the model decides)."""
    if seconds is None or (np.isfinite(seconds) and 0 < seconds <= MAX_COMMAND_SECONDS):
        return None
    return f"seconds must be in (0, {MAX_COMMAND_SECONDS:g}], got {seconds:g}"


class MotionCommander:
    """Command text -> checked -> generated motion. The generator is injectable (anything with
    `generate(text, seconds)` and `fps`, or a zero-argument factory of one, called on first use).
    `profile` (retargeting.profile.RobotProfile): refuse, before generating, what that robot may not do."""

    def __init__(self, generator: MotionGenerator | Callable[[], MotionGenerator] | None = None,
                 checker: CommandChecker | None = None, profile=None):
        self.checker = checker if checker is not None else CommandChecker()
        self.profile = profile
        if generator is None:
            generator = load_generator
        self._generator = generator if hasattr(generator, "generate") else None
        self._factory = None if self._generator is not None else generator

    @property
    def generator(self) -> MotionGenerator:
        if self._generator is None:
            self._generator = self._factory()
        return self._generator

    def check(self, text: str, seconds: float | None = None, robot: str = "") -> CommandResult:
        """Everything that refuses a command before it is generated, for the CLI and the ROS commander alike:
        ok=False with the reason, or ok=True (no joints) when it may be generated. `seconds` None: the model
        decides; `robot` "": this commander's robot."""
        check = self.checker.check(text)
        mine = self.profile.name if self.profile is not None else ""
        if not check.ok:
            refusal = check.reason
        elif robot and robot != mine:
            serves = f"serves {mine}" if mine else "has no robot profile"
            refusal = f"robot '{robot}': this commander {serves}; send the command to that robot's commander"
        else:
            refusal = self.refusal(check.text) or seconds_refusal(seconds)
        if refusal:
            return CommandResult(False, refusal, check.text, check=check, refused=True)
        return CommandResult(True, "", check.text, check=check)

    def handle(self, text: str, seconds: float | None = None,
               progress: Callable[[str, float], None] | None = None, robot: str = "") -> CommandResult:
        """Check (`check`), then generate. Refusals and generator errors come back as ok=False with the reason;
        anything else raised by the generator propagates (a bug, not bad input)."""
        import time

        from motionllm.motion.canonical import check_joints

        report = progress or (lambda stage, fraction: None)
        report("checking", 0.0)
        verdict = self.check(text, seconds, robot)
        if not verdict.ok:
            return verdict
        check = verdict.check
        report("generating", 0.1)
        start = time.perf_counter()
        try:
            generator = self.generator
            joints = check_joints(generator.generate(check.text, seconds), "generated motion").astype(np.float32)
        except MotionLLMError as exc:
            return CommandResult(False, f"cannot generate '{check.text}': {exc}", check.text, check=check,
                                 generate_s=time.perf_counter() - start)
        elapsed = time.perf_counter() - start
        fps = float(getattr(generator, "fps", 20.0))
        report("generated", 0.9)
        note = ""
        if self.profile is not None and _mentions(_words(check.text), JUMP_WORDS):
            note = f"; {self.profile.name} does a jump as a squat-and-rise in place (capabilities.jump: adapt)"
        return CommandResult(True, f"generated '{check.text}': {len(joints)} frames ({len(joints) / fps:.1f} s) "
                                   f"in {elapsed:.1f} s{note}", check.text, joints, fps, check, elapsed)

    def refusal(self, text: str) -> str | None:
        """Why the robot's profile forbids `text` (None: it does not, or there is no profile)."""
        if self.profile is None:
            return None
        return capability_refusal(text, self.profile.capabilities, self.profile.name)
