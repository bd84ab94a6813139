"""Behaviour descriptions without ROS (motionllm.perception.behavior) and `motionllm describe-video`.

Windows, schedule, confidence, change detection and questions are checked with a scripted captioner (it
records what it was given and says "moving" or "still" from the motion's speed); the real motion LLM and
BlazePose run over the shared video in the pipeline and CLI tests. No test depends on a particular caption
of the LLM (its weights are still being trained).
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from motionllm.errors import MotionFormatError
from motionllm.perception.behavior import (MAX_QUESTION_SECONDS, BehaviorDescriber, BehaviorError, PersonWindow,
                                           describe_frames, same_caption)



class ScriptedCaptioner:
    """'a person moves.' when the mean joint speed exceeds 0.2 m/s, else 'a person stands still.'"""

    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []
        self.questions: list[tuple[np.ndarray, str]] = []

    def caption(self, joints: np.ndarray) -> str:
        self.calls.append(joints)
        speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean() * 20.0
        return "a person moves." if speed > 0.2 else "a person stands still."

    def ask(self, joints: np.ndarray, question: str) -> str:
        self.questions.append((joints, question))
        return f"{len(joints)} frames"


def pose(value: float = 0.0, rng=None) -> np.ndarray:
    base = np.linspace(0, 1, 66).reshape(22, 3).astype(np.float32)
    if rng is not None:
        base = base + rng.normal(scale=0.05, size=(22, 3)).astype(np.float32)
    return base + np.float32(value)


def feed(describer, person, times, moving=False, seed=0):
    rng = np.random.default_rng(seed)
    for t in times:
        describer.add(person, float(t), pose(rng=rng if moving else None))


# --- windows ---------------------------------------------------------------------------------------------

def test_window_is_resampled_to_20_fps_on_the_capture_stamps():
    window = PersonWindow(keep_seconds=10.0)
    times = np.arange(0, 5.0 + 1e-9, 1 / 30) + 1_700_000_000.0  # 30 fps, absolute stamps
    for t in times:
        window.add(t, pose(t - times[0]))  # every coordinate grows linearly with time
    joints, start, end, confidence = window.sample(3.0, 3.0, max_gap=0.25)
    assert joints.shape == (61, 22, 3) and joints.dtype == np.float32
    assert end == times[-1] and start == pytest.approx(end - 3.0)
    expected = np.arange(61) / 20.0 + 2.0  # the last 3 s of 5, at 20 fps, ending on the newest skeleton
    np.testing.assert_allclose(joints[:, 0, 0], expected, atol=1e-4)
    assert confidence == 1.0


def test_confidence_is_the_fraction_of_the_window_with_a_tracked_pose():
    window = PersonWindow(keep_seconds=10.0)
    times = [t for t in np.arange(0, 3.0 + 1e-9, 0.05) if not 1.0 < t < 2.0]  # nobody seen for 1 s
    for t in times:
        window.add(t, pose(t))
    joints, _, _, confidence = window.sample(3.0, 3.0, max_gap=0.25)
    # samples 1.30 .. 1.70 are more than 0.25 s from any skeleton: 9 of 61
    assert confidence == pytest.approx(52 / 61)
    np.testing.assert_allclose(joints[30, 0, 0], 1.5, atol=1e-5)  # the gap is interpolated

    short = PersonWindow(keep_seconds=10.0)
    for t in np.arange(0, 1.5 + 1e-9, 0.05):
        short.add(t, pose(t))
    joints, start, end, confidence = short.sample(3.0, 3.0, max_gap=0.25)
    assert len(joints) == 31 and start == 0.0 and confidence == pytest.approx(31 / 61)


def test_window_keeps_only_recent_skeletons_and_restarts_when_time_goes_back():
    window = PersonWindow(keep_seconds=2.0)
    for t in np.arange(0, 10, 0.1):
        window.add(t, pose(t))
    assert window.span <= 2.0 + 1e-9 and len(window.times) <= 21
    window.add(3.0, pose())
    assert list(window.times) == [3.0]


def test_bad_skeletons_are_refused_and_leave_the_window_as_it_was():
    describer = BehaviorDescriber(ScriptedCaptioner())
    feed(describer, 1, np.arange(0, 1, 0.05))
    bad = pose()
    bad[3, 1] = np.nan
    with pytest.raises(MotionFormatError, match="NaN"):
        describer.add(1, 1.0, bad)
    with pytest.raises(MotionFormatError, match=r"\(22, 3\)"):
        describer.add(1, 1.0, np.zeros((33, 3)))
    with pytest.raises(MotionFormatError, match="finite"):
        describer.add(1, float("nan"), pose())
    feed(describer, 1, [1.0])
    assert describer.describe(1).frames == 21


# --- schedule, change detection ----------------------------------------------------------------------------

def test_captions_follow_the_capture_time_schedule_and_publish_only_changes():
    captioner = ScriptedCaptioner()
    describer = BehaviorDescriber(captioner, window_seconds=3.0, caption_period=2.0, first_after=1.0)
    feed(describer, 1, np.arange(0, 0.96, 0.05))
    assert describer.due() == []  # seen for 0.95 s
    feed(describer, 1, [1.0])
    assert describer.due() == [1]
    first = describer.describe(1)
    assert (first.publish, first.changed, first.caption, first.frames) == (True, True, "a person stands still.", 21)
    assert first.start == 0.0 and first.end == 1.0 and first.confidence == pytest.approx(21 / 61, abs=1e-3)
    feed(describer, 1, np.arange(1.05, 2.96, 0.05))
    assert describer.due() == []  # 1.95 s of capture time since the last window
    feed(describer, 1, [3.0])
    again = describer.describe(1)
    assert (again.publish, again.changed, again.frames, again.confidence) == (False, False, 61, 1.0)
    feed(describer, 1, np.arange(3.05, 5.01, 0.05), moving=True)
    moving = describer.describe(1)
    assert (moving.publish, moving.changed, moving.caption) == (True, True, "a person moves.")
    assert [len(j) for j in captioner.calls] == [21, 61, 61]


def test_unchanged_captions_are_republished_at_the_set_period():
    describer = BehaviorDescriber(ScriptedCaptioner(), caption_period=1.0, first_after=1.0, republish_period=3.0)
    published = []
    for t in np.arange(0, 10.01, 0.05):
        feed(describer, 1, [t])
        for person in describer.due():
            d = describer.describe(person)
            if d.publish:
                published.append(round(d.end, 2))
    assert published == [1.0, 4.0, 7.0, 10.0]


def test_several_people_are_served_longest_waiting_first_and_forgotten_when_they_end():
    describer = BehaviorDescriber(ScriptedCaptioner(), caption_period=1.0, first_after=1.0)
    feed(describer, 1, np.arange(0, 1.01, 0.05))
    feed(describer, 2, np.arange(0, 1.01, 0.05))
    assert describer.due() == [1, 2]
    describer.describe(1)
    assert describer.due() == [2]
    feed(describer, 1, np.arange(1.05, 2.01, 0.05))
    describer.describe(2)
    feed(describer, 2, np.arange(1.05, 2.01, 0.05))
    assert describer.due() == [1, 2]  # both waited 1 s; 1 was captioned earlier
    describer.end(1)
    assert describer.people == [2] and describer.due() == [2]
    with pytest.raises(BehaviorError, match="not tracked"):
        describer.describe(1)


def test_same_caption_ignores_case_and_punctuation():
    assert same_caption("A person walks forward.", "a person walks  forward")
    assert not same_caption("a person walks forward.", "a person walks backward.")


def test_settings_out_of_range_are_refused():
    with pytest.raises(Exception, match="window_seconds must be in 0.4..10"):
        BehaviorDescriber(ScriptedCaptioner(), window_seconds=12.0)


# --- questions --------------------------------------------------------------------------------------------

def test_questions_are_about_the_last_seconds_of_the_most_recent_person():
    captioner = ScriptedCaptioner()
    describer = BehaviorDescriber(captioner, question_seconds=5.0)
    with pytest.raises(BehaviorError, match="nobody"):
        describer.ask("what is the person doing?")
    feed(describer, 1, np.arange(0, 12.01, 0.05))
    feed(describer, 2, np.arange(10, 11.01, 0.05))
    answer = describer.ask("  what is the person   doing? ")
    assert (answer.person, answer.answer, answer.seconds) == (1, "101 frames", 5.0)
    assert answer.question == "what is the person doing?" and answer.end == pytest.approx(12.0)
    assert describer.ask("and now?", person=1, seconds=MAX_QUESTION_SECONDS).answer == "201 frames"
    assert describer.ask("and 2?", person=2, seconds=3.0).seconds == pytest.approx(1.0)  # all there is of person 2
    with pytest.raises(BehaviorError, match="seconds must be in"):
        describer.ask("too long?", seconds=11.0)
    with pytest.raises(BehaviorError, match="empty"):
        describer.ask("   ")
    with pytest.raises(BehaviorError, match="person 7 is not tracked"):
        describer.ask("who?", person=7)


# --- the pipeline over the real video ----------------------------------------------------------------------


def test_describe_frames_over_the_real_video(video_path):
    pytest.importorskip("mediapipe")
    from motionllm.perception.pose import make_estimator
    from motionllm.perception.smoothing import SkeletonSmoother
    from motionllm.perception.sources import VideoFileSource
    from motionllm.perception.stage import PoseStage

    captioner = ScriptedCaptioner()
    describer = BehaviorDescriber(captioner, window_seconds=1.0, caption_period=1.0, first_after=1.0)
    with VideoFileSource(video_path, fps=None, width=360) as source:
        fps = source.native_fps
        frames = [(rgb, k / fps) for k, (rgb, _) in enumerate(source)]
    stage = PoseStage(make_estimator("blazepose"), smoother=SkeletonSmoother())
    try:
        descriptions = list(describe_frames(frames, stage, describer))
    finally:
        stage.close()
    # 100 frames at 60 fps = 1.65 s of one person: a 1 s window, then the last 0.65 s at the end
    assert [d.person for d in descriptions] == [1, 1], descriptions
    first, last = descriptions
    assert (first.start, first.end) == pytest.approx((0.0, 1.0)) and first.confidence == 1.0
    assert last.end == pytest.approx(99 / 60) and last.frames == 21
    heights = [j[:, 15, 1].mean() for j in captioner.calls]  # the head, in canonical (floor-standing) windows
    assert all(1.2 < h < 2.0 for h in heights), heights
    assert describer.people == []


@pytest.mark.timeout(120)
def test_describe_video_prints_time_stamped_descriptions(video_path, capsys):
    pytest.importorskip("mediapipe")
    from motionllm.cli import main

    assert main(["describe-video", str(video_path), "--width", "360"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines  # the video is shorter than one window
    match = re.fullmatch(r"\[\s*(\d+\.\d\d) -\s*(\d+\.\d\d) s\] person 1: (.+) \(tracked (\d+) %\)", lines[0])
    assert match, lines
    assert float(match[1]) == 0.0 and float(match[2]) == pytest.approx(1.65) and match[3].strip()
    assert 50 <= int(match[4]) <= 60  # 1.65 s of a 3 s window

    assert main(["describe-video", str(video_path), "--width", "360", "--json", "--window", "1.0"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [(r["person"], r["start"], r["end"]) for r in records] == [(1, 0.0, 1.0), (1, 0.65, 1.65)]
    assert all(r["caption"] and r["confidence_kind"] == "tracked_fraction" for r in records)


def test_describe_video_refuses_bad_options(tmp_path, capsys):
    from motionllm.cli import main

    assert main(["describe-video", str(tmp_path / "missing.mp4")]) == 2
    assert "missing.mp4" in capsys.readouterr().err
    assert main(["describe-video", str(tmp_path), "--step", "0"]) == 2


def test_perception_launch_file_compiles_and_names_existing_parameter_files():
    """`ros2 launch` is not installed here: the launch file is compiled, and run where launch_ros exists."""
    import importlib.util
    import py_compile
    from pathlib import Path

    launch_dir = Path(__file__).resolve().parents[1] / "launch"
    path = launch_dir / "perception.launch.py"
    py_compile.compile(str(path), doraise=True)
    text = path.read_text()
    for node in ("camera_source", "pose_estimator", "behavior_describer"):
        assert f'executable="{node}"' in text and (launch_dir / f"{node}.yaml").is_file()
    if importlib.util.find_spec("launch_ros") is not None:
        spec = importlib.util.spec_from_file_location("perception_launch", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert len(module.generate_launch_description().entities) == 5
