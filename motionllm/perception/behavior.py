"""Behaviour descriptions: each tracked person's recent skeletons -> a caption from the motion LLM.

    describer = BehaviorDescriber(load_captioner("llm"), window_seconds=3.0, caption_period=2.0)
    describer.add(person, t, joints)      # every tracked skeleton: (22, 3) SMPL-22, Y up; t = capture time, s
    for person in describer.due():        # whose window should be captioned now (capture-time schedule)
        d = describer.describe(person)    # Description; d.publish: new, changed, or the republish period passed
    describer.ask("is the person walking?", person=None, seconds=5.0)   # Answer about the last 5 s

Used by the behavior_describer ROS node and by `motionllm describe-video` (`describe_frames`). ROS-free.

- **Windows.** Each person keeps the skeletons of the last `max(window_seconds, MAX_QUESTION_SECONDS)`
  seconds with their capture times (`motionllm.motion.window.PersonWindow`). A window is the last
  `window_seconds` (2-4 s is what the LLM captions best; default 3) ending on the newest skeleton, resampled
  to 20 fps on the capture times (linear interpolation; the ends are held), then made canonical (on the
  floor, facing +Z at its first frame) as the LLM was trained. A person seen for less than the window is
  captioned on what there is, once that is at least `first_after` seconds.
- **Schedule.** A person is due when `caption_period` seconds of capture time have passed since the end
  of their last captioned window. Time is the data's, not the wall clock's, so a recording gives the same
  windows at any processing speed. The caller captions due people one at a time, always on the newest
  window: a slow model skips windows, it never builds a backlog.
- **Confidence** is the fraction of the nominal window (`window_seconds` at 20 fps) with a tracked pose:
  samples within `max_gap` seconds of a real skeleton. It says how much of the window was observed
  (short tracks, gaps, dropped frames lower it), not how sure the language model is of its words.
- **Publish only on change.** A caption is published when it is the person's first, when it differs from
  their last published one (compared lower-case, punctuation ignored), or when `republish_period`
  seconds (capture time) have passed since the last published one (0: never republish unchanged).
- **Questions** (`ask`) are answered by the LLM about a person's last `seconds` (at most 10 s, the LLM's
  limit); by default the person seen most recently.

Bad skeletons (wrong shape, NaN or infinite values) raise `MotionFormatError` and are not added.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Iterator, Protocol

import numpy as np

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.motion.skeleton import FPS
from motionllm.motion.window import PersonWindow, check_skeleton

WINDOW_SECONDS = 3.0
CAPTION_PERIOD = 2.0
FIRST_AFTER = 1.0       # seconds of a new person before their first caption
MIN_SECONDS = 0.4       # the shortest window the LLM takes (2 motion tokens of 4 frames at 20 fps)
MAX_GAP = 0.25          # a window sample further than this from any skeleton is not "tracked"
QUESTION_SECONDS = 5.0
MAX_QUESTION_SECONDS = 10.0  # the motion LLM reads at most 10 s of motion
CONFIDENCE_KIND = "tracked_fraction"
_WORD = re.compile(r"[a-z0-9']+")


class Captioner(Protocol):
    """What the describer needs of a model: the motion LLM (`MotionLanguageModel`) or a plug-in."""

    def caption(self, joints: np.ndarray) -> str: ...

    def ask(self, joints: np.ndarray, question: str) -> str: ...


class BehaviorError(MotionLLMError):
    """A question or description that cannot be answered now (nobody tracked, too little seen)."""


def load_captioner(spec: str = "llm", model: str = "") -> Captioner:
    """'llm': the motion LLM (weights from `model`, default the shipped ones); 'package.module:Name': a plug-in
    with caption(joints) and ask(joints, question), called with no arguments. Raises MotionLLMError."""
    from motionllm.models.motion_llm import load_model_or_plugin

    return load_model_or_plugin(spec, model, "captioner")


def same_caption(a: str, b: str) -> bool:
    """Equal up to case, punctuation and spacing."""
    return _WORD.findall(a.lower()) == _WORD.findall(b.lower())


@dataclass(frozen=True)
class Description:
    person: int
    start: float        # capture time (s) of the window's first sample
    end: float          # capture time (s) of the skeleton the window ended on
    caption: str
    confidence: float   # fraction of the nominal window with a tracked pose (CONFIDENCE_KIND)
    frames: int         # 20 fps frames captioned
    changed: bool       # differs from the person's last published caption (True for the first)
    publish: bool       # changed, or republish_period passed since the last published one
    caption_s: float    # time the model took

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    person: int
    start: float
    end: float
    question: str
    answer: str
    confidence: float
    seconds: float      # length of motion the answer is about

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Person:
    window: PersonWindow
    captioned_end: float | None = None   # end of the last captioned window
    published: str | None = None          # last published caption
    published_end: float | None = None


class BehaviorDescriber:
    """Per-person sliding windows and the captioning schedule. Thread-safe: skeletons may be added from one
    thread while another captions; the model is used by one call at a time."""

    def __init__(self, captioner: Captioner, window_seconds: float = WINDOW_SECONDS,
                 caption_period: float = CAPTION_PERIOD, first_after: float = FIRST_AFTER,
                 republish_period: float = 0.0, max_gap: float = MAX_GAP,
                 question_seconds: float = QUESTION_SECONDS,
                 question_check: Callable[[str], object] | None = None) -> None:
        checks = {"window_seconds": (window_seconds, MIN_SECONDS, MAX_QUESTION_SECONDS),
                  "caption_period": (caption_period, 0.0, 3600.0),
                  "first_after": (first_after, MIN_SECONDS, MAX_QUESTION_SECONDS),
                  "republish_period": (republish_period, 0.0, 1e9),
                  "max_gap": (max_gap, 0.0, 10.0),
                  "question_seconds": (question_seconds, MIN_SECONDS, MAX_QUESTION_SECONDS)}
        for name, (value, low, high) in checks.items():
            if not (np.isfinite(value) and low <= value <= high):
                raise MotionLLMError(f"{name} must be in {low:g}..{high:g}, got {value}")
        self.captioner = captioner
        self.question_check = question_check  # e.g. commands.QuestionChecker().check: refuse off-topic questions
        self.window_seconds, self.caption_period = window_seconds, caption_period
        self.first_after = min(first_after, window_seconds)
        self.republish_period, self.max_gap, self.question_seconds = republish_period, max_gap, question_seconds
        self.keep_seconds = max(window_seconds, MAX_QUESTION_SECONDS)
        self._people: dict[int, _Person] = {}
        self._lock = threading.Lock()        # the people
        self._model_lock = threading.Lock()  # one model call at a time

    # --- skeletons in -----------------------------------------------------------------------------

    def add(self, person: int, t: float, joints: np.ndarray) -> None:
        """A skeleton of `person` captured at `t` s. Raises MotionFormatError for a malformed skeleton."""
        joints = check_skeleton(joints)
        if not np.isfinite(t):
            raise MotionFormatError(f"skeleton: capture time must be finite, got {t}")
        with self._lock:
            entry = self._people.get(person)
            if entry is None:
                entry = self._people[person] = _Person(PersonWindow(self.keep_seconds))
            elif entry.window.times and t < entry.window.last:  # a new timeline: schedule from scratch
                entry.captioned_end = entry.published_end = entry.published = None
            entry.window.add(t, joints)

    def end(self, person: int) -> None:
        """Forget a person (their track ended)."""
        with self._lock:
            self._people.pop(person, None)

    @property
    def people(self) -> list[int]:
        with self._lock:
            return sorted(self._people)

    # --- the schedule -------------------------------------------------------------------------------

    def due(self) -> list[int]:
        """People whose window should be captioned now, the longest-waiting first."""
        waiting = []
        with self._lock:
            for person, entry in self._people.items():
                window = entry.window
                if entry.captioned_end is None:
                    if window.span >= self.first_after - 1e-9:
                        waiting.append((-np.inf, person))
                elif window.last - entry.captioned_end >= self.caption_period - 1e-9 and \
                        window.span >= MIN_SECONDS - 1e-9:
                    waiting.append((entry.captioned_end, person))
        return [person for _, person in sorted(waiting)]

    def _tracked(self, person: int) -> _Person:
        """`person`'s entry, seen for at least MIN_SECONDS, else BehaviorError. Call with the lock held."""
        entry = self._people.get(person)
        if entry is None:
            raise BehaviorError(f"person {person} is not tracked")
        if entry.window.span < MIN_SECONDS - 1e-9:
            raise BehaviorError(f"person {person} has been seen for {entry.window.span:.2f} s, "
                                f"less than {MIN_SECONDS:g} s")
        return entry

    def describe(self, person: int) -> Description:
        """Caption `person`'s newest window and update their schedule. Raises BehaviorError when the person
        is unknown or seen for less than MIN_SECONDS; errors of the model pass through."""
        with self._lock:
            entry = self._tracked(person)
            joints, start, end, confidence = entry.window.sample(self.window_seconds, self.window_seconds,
                                                                 self.max_gap)
            entry.captioned_end = end  # also when the model fails: do not retry the same window at once
        caption, caption_s = self._run(lambda motion: self.captioner.caption(motion), joints)
        caption = " ".join(str(caption).split())
        with self._lock:
            changed = entry.published is None or not same_caption(caption, entry.published)
            publish = bool(caption) and (changed or (
                self.republish_period > 0 and end - entry.published_end >= self.republish_period - 1e-9))
            if publish:
                entry.published, entry.published_end = caption, end
        return Description(person, start, end, caption, round(confidence, 3), len(joints), changed, publish,
                           caption_s)

    def finish(self, person: int) -> list[Description]:
        """End a person (offline use): if at least MIN_SECONDS were seen since their last window (or at all), caption
        the window ending on their last skeleton, then forget them."""
        with self._lock:
            entry = self._people.get(person)
            if entry is None:
                return []
            window = entry.window
            if entry.captioned_end is None:
                pending = window.span >= MIN_SECONDS - 1e-9
            else:
                pending = window.last - entry.captioned_end >= MIN_SECONDS - 1e-9
        out = [self.describe(person)] if pending else []
        self.end(person)
        return out

    # --- questions ----------------------------------------------------------------------------------

    def ask(self, question: str, person: int | None = None, seconds: float | None = None) -> Answer:
        """The model's answer about `person`'s last `seconds` (default question_seconds, at most 10);
        `person` None: the person seen most recently. Raises BehaviorError when there is nobody to ask about."""
        seconds = self.question_seconds if seconds is None or seconds <= 0 else float(seconds)
        if not (MIN_SECONDS <= seconds <= MAX_QUESTION_SECONDS):
            raise BehaviorError(f"seconds must be in {MIN_SECONDS:g}..{MAX_QUESTION_SECONDS:g}, got {seconds:g}")
        if not str(question).strip():
            raise BehaviorError("the question is empty")
        with self._lock:
            if person is None:
                if not self._people:
                    raise BehaviorError("nobody is tracked")
                person = max(self._people, key=lambda p: (self._people[p].window.last, p))
            entry = self._tracked(person)
            joints, start, end, confidence = entry.window.sample(seconds, seconds, self.max_gap)
        if self.question_check is not None:  # after the cheap checks: a sentence embedding, some ms
            check = self.question_check(question)
            if not check.ok:
                raise BehaviorError(check.reason)
        answer, _ = self._run(lambda motion: self.captioner.ask(motion, question), joints)
        return Answer(person, start, end, " ".join(str(question).split()), " ".join(str(answer).split()),
                      round(confidence, 3), round(end - start, 3))

    def _run(self, call, joints: np.ndarray) -> tuple[str, float]:
        from motionllm.motion.canonical import canonicalize

        motion = canonicalize(joints, FPS, what="window")
        with self._model_lock:
            started = time.perf_counter()
            result = call(motion)
            return result, time.perf_counter() - started


def describe_frames(frames: Iterable[tuple[np.ndarray, float]], stage, describer: BehaviorDescriber
                    ) -> Iterator[Description]:
    """The whole pipeline without ROS: (RGB frame, capture time s) -> pose stage -> windows -> captions.

    Every frame is processed in order; each due window is captioned at once (offline, nothing is skipped),
    and at the end (or when a track ends) what was seen since a person's last window is captioned too.
    `stage` is a motionllm.perception.stage.PoseStage."""
    for rgb, t in frames:
        bodies, ended = stage.process(rgb, t)
        for person in ended:
            yield from describer.finish(person)
        for body in bodies:
            describer.add(body.id, t, body.joints)
        for person in describer.due():
            yield describer.describe(person)
    for person in describer.people:
        yield from describer.finish(person)
