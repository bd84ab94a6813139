"""The command check and MotionCommander (motionllm.commands), without ROS and without the motion LLM.

The check uses the real MiniLM sentence encoder and the reference commands rendered from the corpus
caption templates. The commands below were written for these tests, after the threshold was calibrated
on a different set (docs/ros.md): paraphrases that are not in the reference set, and requests a voice
assistant gets that are not motions.
"""
from __future__ import annotations

import numpy as np
import pytest

from motionllm.commands import (MAX_COMMAND_CHARS, CommandChecker, CommandResult, MotionCommander,
                                check_command, load_generator, reference_commands)
from motionllm.errors import MotionLLMError

pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed")

MOTION_COMMANDS = [
    "Wave with your right hand", "please wave your left hand", "could you please wave at the camera",
    "walk three steps forward", "turn to your right", "jump up and down three times", "sit down please",
    "stand up from the chair", "take two steps backwards", "kick forward with your right foot",
    "raise your left arm above your head", "clap your hands two times", "bow politely to the guests", "crouch down low",
    "give a little shrug", "look around the room", "point at the floor", "spin around", "march in place for a while",
    "hop on your right leg", "stretch your arms up high", "cross your arms over your chest", "salute",
    "throw something with your left hand", "pick up the box from the floor", "go up the staircase",
    "go for a jog", "take a few steps to the left", "lean forward", "check your watch",
    "lunge forward with your left leg", "balance on your left leg", "do some jumping jacks",
    # HumanML3D-style captions, the form the motion LLM was trained on
    "a person waves with both hands", "someone sits down on a chair",
]
NOT_MOTIONS = [
    "what is the weather", "what's the weather like today", "tell me a joke", "tell me a funny joke",
    "what day is it today", "who won the football game", "please play my favourite song",
    "how much is a coffee", "explain how a computer works", "what is the meaning of life",
    "can you recommend a book", "schedule a meeting for Monday", "what is 7 times 8", "how do I bake bread",
    "open my calendar", "convert ten dollars to euros", "who is the president", "turn off the television",
    "what's your favourite colour", "how far is the moon", "write an essay about dogs", "check my email",
    "what is the temperature outside", "I love you", "find a hotel nearby", "blah blah",
]
GIBBERISH = ["asdfgh", "lkjhgf", "xyzzy plugh", "qwerty uiop", "zxcvbnm"]


@pytest.fixture(scope="module")
def checker() -> CommandChecker:
    return CommandChecker()


def test_reference_commands_come_from_every_corpus_action():
    from motionllm.corpus.actions import REGISTRY

    references = reference_commands()
    assert 300 < len(references) < 1000 and len(set(references)) == len(references)
    assert "wave with the right hand" in references and "a person waves with the right hand" in references
    assert all("None" not in r and "  " not in r for r in references)
    verbs = {r.split()[0] for r in references}
    assert {"wave", "walk", "jump", "kick", "squat", "clap", "bow", "sit"} <= verbs
    assert len(references) >= 4 * len(REGISTRY)


@pytest.mark.parametrize("text", MOTION_COMMANDS)
def test_motion_commands_are_accepted(checker, text):
    result = checker.check(text)
    assert result.ok, result.reason
    assert result.reason == "" and result.score >= checker.threshold and result.nearest in checker.references
    assert text not in checker.references  # paraphrases, not the references themselves


@pytest.mark.parametrize("text", NOT_MOTIONS)
def test_requests_that_are_not_motions_are_refused(checker, text):
    result = checker.check(text)
    assert not result.ok and result.score < checker.threshold
    assert result.reason.startswith("not a motion command: ") and text in result.reason


@pytest.mark.parametrize("text", GIBBERISH)
def test_gibberish_is_refused_as_not_understood(checker, text):
    result = checker.check(text)
    assert not result.ok and "not understood" in result.reason, result


def test_empty_and_overlong_commands_are_refused(checker):
    for text in ("", "   ", "\n\t"):
        assert checker.check(text).reason == "the command is empty"
    long_text = "walk forward and " * 40
    result = checker.check(long_text)
    assert not result.ok and "too long" in result.reason and f"at most {MAX_COMMAND_CHARS}" in result.reason
    many_words = " ".join(["jump"] * 60)
    assert "60 words, at most 50" in checker.check(many_words).reason
    assert checker.check("??!").reason == "not a motion command: '??!' has no words"


def test_check_command_returns_ok_and_reason():
    assert check_command("  wave   with your right hand ") == (True, "")
    ok, reason = check_command("tell me a joke")
    assert not ok and "not a motion command" in reason


def test_checker_refuses_a_bad_threshold():
    with pytest.raises(MotionLLMError, match="threshold"):
        CommandChecker(threshold=1.5)


# --- MotionCommander with an injected generator --------------------------------------------------------

class FakeGenerator:
    fps = 20.0

    def __init__(self) -> None:
        self.calls: list[tuple[str, float | None]] = []

    def generate(self, text: str, seconds: float | None = None) -> np.ndarray:
        self.calls.append((text, seconds))
        if "backflip" in text:
            raise MotionLLMError("the model cannot make this motion")
        frames = int((seconds or 2.0) * self.fps)
        joints = np.zeros((frames, 22, 3), dtype=np.float32)
        joints[:, :, 1] = np.linspace(0.0, 1.7, 22)
        return joints


def test_commander_generates_checked_commands_only(checker):
    generator = FakeGenerator()
    commander = MotionCommander(generator, checker)
    stages = []
    result = commander.handle("  wave with your   right hand", 3.0, progress=lambda stage, f: stages.append((stage, f)))
    assert result.ok and result.joints.shape == (60, 22, 3) and result.joints.dtype == np.float32
    assert result.fps == 20.0 and result.seconds == 3.0 and "60 frames" in result.message
    assert generator.calls == [("wave with your right hand", 3.0)]
    assert [s for s, _ in stages] == ["checking", "generating", "generated"]

    for text in ("", "tell me a joke", "asdfgh"):
        refused = commander.handle(text)
        assert not refused.ok and refused.joints is None and refused.message
    assert len(generator.calls) == 1, "a refused command must never reach the generator"
    assert not commander.handle("wave", seconds=-1.0).ok and len(generator.calls) == 1


def test_one_check_refuses_before_generating_for_the_cli_and_the_ros_commander(checker):
    """MotionCommander.check is what `motionllm generate` and motion_commander both ask, before any model."""
    from motionllm.retargeting.profile import load_profile

    generator = FakeGenerator()
    commander = MotionCommander(generator, checker, load_profile("g1"))
    refusals = {("fly to the moon", None, ""): "not a motion command",
                ("wave with your right hand", -1.0, ""): "seconds must be in (0, 10], got -1",
                ("wave with your right hand", 0.0, ""): "seconds must be in (0, 10], got 0",
                ("wave with your right hand", float("nan"), ""): "got nan",
                ("wave with your right hand", 30.0, ""): "got 30",
                ("wave with your right hand", 3.0, "nao"): "robot 'nao': this commander serves g1",
                ("do a backflip and then jump forward", 3.0, ""): "'backflip' cannot be made feasible for g1"}
    for (text, seconds, robot), reason in refusals.items():
        verdict = commander.check(text, seconds, robot)
        assert not verdict.ok and reason in verdict.message, (text, verdict.message)
        assert not commander.handle(text, seconds, robot=robot).ok
    assert generator.calls == [], "a refused command must never reach the generator"
    assert commander.check("wave with your right hand", 10.0, "g1").ok
    assert commander.check("wave with your right hand").ok and commander.check("wave", None).joints is None
    assert "has no robot profile" in MotionCommander(generator, checker).check("wave", robot="g1").message


def test_commander_reports_generator_errors_and_bad_motion(checker):
    class BadGenerator(FakeGenerator):
        def generate(self, text, seconds=None):
            return np.full((10, 22, 3), np.nan)

    result = MotionCommander(FakeGenerator(), checker).handle("do a backflip and jump forward")
    assert not result.ok and "cannot make this motion" in result.message and result.joints is None
    result = MotionCommander(BadGenerator(), checker).handle("jump forward")
    assert not result.ok and "NaN" in result.message


def test_commander_loads_a_factory_on_first_use(checker):
    made = []

    def factory():
        made.append(1)
        return FakeGenerator()

    commander = MotionCommander(factory, checker)
    assert not made
    assert not commander.handle("tell me a joke").ok and not made  # refused before the model is needed
    assert commander.handle("jump twice").ok and made == [1]


def test_load_generator_errors_are_one_line():
    with pytest.raises(MotionLLMError, match="unknown motion generator 'gpt'"):
        load_generator("gpt")
    with pytest.raises(MotionLLMError, match="cannot load motion generator 'no_such_module:X'"):
        load_generator("no_such_module:X")
    generator = load_generator(f"{__name__}:FakeGenerator")
    assert isinstance(generator, FakeGenerator)
    assert isinstance(CommandResult(False, "x", "y").seconds, float)


# --- questions about a motion (motionllm ask, behavior_describer ~/ask) ---------------------------------------

MOTION_QUESTIONS = ["which hand does the person raise?", "is the person walking?", "what is the person doing?",
                    "how many times do they jump?", "does he wave?", "what happens first?", "is she running or walking?",
                    "which leg kicks?", "how fast do they walk?", "what does the man do?", "is the person sitting down?",
                    "what direction are they turning?", "did the person squat?", "which arm is lifted",
                    "how many steps does the person take?", "is the person dancing?",
                    "what is he doing with his hands?"]
OFF_TOPIC_QUESTIONS = ["what is the capital of France?", "what is the weather today?", "tell me a joke",
                       "who won the world cup?", "what time is it?", "how do I cook pasta?", "what's 2 plus 2?",
                       "who is the president?", "play some music", "how far is the moon?", "what is your name?",
                       "translate hello to spanish", "write a poem about dogs", "what is the meaning of life?",
                       "how much does a car cost?", "set a timer for 5 minutes"]


@pytest.fixture(scope="module")
def question_checker():
    from motionllm.commands import QuestionChecker

    return QuestionChecker()


def test_questions_about_the_motion_pass_and_others_are_refused(question_checker):
    """Held-out wordings (none is a reference question verbatim, except the first template's)."""
    for question in MOTION_QUESTIONS:
        check = question_checker.check(question)
        assert check.ok, (question, check.score, check.nearest)
    for question in OFF_TOPIC_QUESTIONS:
        check = question_checker.check(question)
        assert not check.ok and check.reason.startswith("not a question about the motion"), (question, check.score)
    assert question_checker.check("  ").reason == "the question is empty"


def test_the_describer_refuses_an_off_topic_question_before_the_model(question_checker):
    from motionllm.perception.behavior import BehaviorDescriber, BehaviorError

    class Captioner:
        asked: list[str] = []

        def caption(self, joints):
            return "a person stands."

        def ask(self, joints, question):
            self.asked.append(question)
            return "yes"

    describer = BehaviorDescriber(Captioner(), question_check=question_checker.check)
    clip = np.zeros((40, 22, 3))
    clip[:, :, 1] = np.linspace(0.0, 1.7, 22)
    for t, frame in enumerate(clip):
        describer.add(1, t / 20, frame)
    with pytest.raises(BehaviorError, match="not a question about the motion"):
        describer.ask("what is the capital of France?", 1, 1.0)
    assert describer.ask("is the person walking?", 1, 1.0).answer == "yes"
    assert Captioner.asked == ["is the person walking?"]
