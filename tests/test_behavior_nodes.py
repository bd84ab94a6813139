"""behavior_describer and `motionllm ros up`, over real rclpy / Fast DDS, each node in its own process.

The real video goes camera_source -> pose_estimator -> behavior_describer (the real motion LLM) -> this test.
Bad input is published by the test itself to a describer running a plug-in captioner (below, loaded by
import path as a user's would be), which answers at once. No test depends on what the LLM says (its weights
are still being trained): only that it says something, about the right body, with the right stamps.
"""
from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed in this environment")
pytest.importorskip("motionllm_ros", reason="motionllm_ros is not installed: pip install -e ros2_ws/src/motionllm_ros")
pytest.importorskip("cv2", reason="OpenCV (opencv-contrib-python) is not installed")

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from geometry_msgs.msg import PoseArray  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from hri_msgs.msg import IdsList  # noqa: E402
from motionllm_interfaces.msg import BehaviorDescription  # noqa: E402
from motionllm_interfaces.srv import AskAboutMotion  # noqa: E402

from motionllm_ros.conversions import joints_to_pose_array  # noqa: E402
from motionllm_ros.diagnostics import status_values  # noqa: E402
from ros_helpers import collect, spin_until, start, stamp_ns  # noqa: E402

CAMERA = "motionllm_ros.camera_source"
POSE = "motionllm_ros.pose_estimator"
DESCRIBER = "motionllm_ros.behavior_describer"
TESTS_DIR = Path(__file__).resolve().parent
RECEIVE_ALL = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
PLUGIN_ENV = {"PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])}


class CountingCaptioner:
    """Answers at once: the caption says how many 20 fps frames it was given, the answer echoes the question."""

    def caption(self, joints):
        return f"a window of {len(joints)} frames."

    def ask(self, joints, question):
        return f"{len(joints)} frames: {question}"



@pytest.fixture
def probe(ros_env, monkeypatch, request):
    """The test's rclpy node, on the LARGE_DATA transports of the perception graph."""
    monkeypatch.setenv("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    return request.getfixturevalue("ros_probe")


def ask(probe, question: str, seconds: float = 0.0, body: str = "", timeout: float = 30.0):
    client = probe.node.create_client(AskAboutMotion, "/behavior_describer/ask")
    assert client.wait_for_service(timeout_sec=15), "the ask service did not appear"
    request = AskAboutMotion.Request(question=question, seconds=seconds, body_id=body)
    future = client.call_async(request)
    probe.executor.spin_until_future_complete(future, timeout_sec=timeout)
    assert future.done(), f"no answer to {question!r} within {timeout} s"
    probe.node.destroy_client(client)
    return future.result()


def describer_status(diagnostics: list[DiagnosticArray]) -> DiagnosticStatus | None:
    statuses = [s for a in diagnostics for s in a.status if s.name.startswith("behavior_describer")]
    return statuses[-1] if statuses else None


def ns_of(stamp) -> int:
    """A builtin_interfaces/Time in nanoseconds."""
    return stamp.sec * 1_000_000_000 + stamp.nanosec


# --- the real video through the three nodes ----------------------------------------------------------------

@pytest.mark.ros
@pytest.mark.timeout(120)
def test_video_to_descriptions_and_answers_through_three_nodes(ros_process, probe, video_path):
    # republish_period 1 s: the LLM may well say the same thing about every window of this video, and with
    # the default (publish on change only, unit-tested in test_behavior.py) the second record would never come
    describer = start(ros_process, DESCRIBER, "window_seconds:=2.0", "caption_period:=1.0", "first_after:=1.0",
                      "republish_period:=1.0", "diagnostics_period:=0.5",
                      env={"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"})
    pose = start(ros_process, POSE)
    assert describer.wait_for_output(r"ready: captioner llm", timeout=60), describer.output()
    assert pose.wait_for_output(r"ready: blazepose", timeout=30), pose.output()
    received = collect(probe, {
        "/humans/bodies/b1/skeleton3d": (PoseArray, RECEIVE_ALL),
        "/humans/bodies/b1/description": (String, RECEIVE_ALL),
        "/humans/bodies/descriptions": (BehaviorDescription, RECEIVE_ALL),
        "/diagnostics": (DiagnosticArray, RECEIVE_ALL),
    })
    camera = start(ros_process, CAMERA, f"source:={video_path}", "loop:=true", "rate_mode:=fixed", "fps:=15.0",
                   "width:=360", "wait_for_subscribers:=1")
    assert spin_until(probe, lambda: len(received["/humans/bodies/descriptions"]) >= 2, 45), \
        f"{describer.output()}\n{pose.output()}"
    probe.spin_for(0.3)  # the text variant is published just after the message
    records = received["/humans/bodies/descriptions"]
    texts = [m.data for m in received["/humans/bodies/b1/description"]]
    skeleton_stamps = {stamp_ns(m) for m in received["/humans/bodies/b1/skeleton3d"]}
    report = f"{records}\n{describer.output()}"
    for record in records:
        assert record.body_id == "b1" and record.caption.strip() and record.header.frame_id == "camera_floor"
        end = ns_of(record.end)
        assert stamp_ns(record) == end and end in skeleton_stamps, report  # the frame it ended on
        assert 0 < (end - ns_of(record.start)) * 1e-9 <= 2.0 + 1e-6
        assert 0 < record.confidence <= 1 and record.frames > 0
        assert record.latency_ms > 0 and record.caption_ms > 0
    assert texts and set(texts) <= {r.caption for r in records}, report
    ends = [ns_of(r.end) for r in records]
    assert ends == sorted(ends) and len(set(ends)) == len(ends), report  # one record per window, in order

    answer = ask(probe, "what is the person doing?", seconds=2.0)
    assert answer.answered and answer.answer.strip(), answer
    assert answer.body_id == "b1" and answer.seconds == pytest.approx(2.0, abs=0.1)
    assert 0 < answer.confidence <= 1
    assert answer.stamp.sec * 1_000_000_000 + answer.stamp.nanosec in {stamp_ns(m) for m in received["/humans/bodies/b1/skeleton3d"]}
    refused = ask(probe, "and body 7?", body="b7")
    assert not refused.answered and "b7 is not tracked" in refused.answer

    assert spin_until(probe, lambda: (s := describer_status(received["/diagnostics"])) is not None
                      and int(status_values(s)["questions"]) == 2, 5)
    values = status_values(describer_status(received["/diagnostics"]))
    assert int(values["descriptions_published"]) >= 2 and values["bad_skeletons"] == "0", values
    assert values["questions_answered"] == "1" and float(values["latency_ms_p50"]) > 0, values
    assert camera.stop() == 0 and pose.stop() == 0 and describer.stop() == 0
    assert re.search(r"stopped: \d+ skeletons, 0 bad, \d+ captions, \d+ published, 1/2 questions answered",
                     describer.output()), describer.output()
    assert "Traceback" not in describer.output()


# --- bad input -----------------------------------------------------------------------------------------------

def skeleton_msg(joints: np.ndarray, stamp: int) -> PoseArray:
    msg = joints_to_pose_array(joints, frame_id="body_b1")
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
    return msg


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_nan_and_malformed_skeletons_keep_the_describer_alive(ros_process, probe):
    describer = start(ros_process, DESCRIBER, f"captioner:={__name__}:CountingCaptioner", "first_after:=1.0",
                      "caption_period:=1.0", "diagnostics_period:=0.3", env=PLUGIN_ENV)
    assert describer.wait_for_output(r"ready: captioner", timeout=30), describer.output()
    received = collect(probe, {"/humans/bodies/descriptions": (BehaviorDescription, RECEIVE_ALL),
                               "/diagnostics": (DiagnosticArray, RECEIVE_ALL)})
    tracked = probe.node.create_publisher(IdsList, "/humans/bodies/tracked", 10)
    skeletons = probe.node.create_publisher(PoseArray, "/humans/bodies/b1/skeleton3d", 100)
    assert spin_until(probe, lambda: tracked.get_subscription_count() > 0, 15), describer.output()
    tracked.publish(IdsList(ids=["b-1"]))  # not a ROS name: refused, counted as bad input
    tracked.publish(IdsList(ids=["b1"]))
    assert spin_until(probe, lambda: skeletons.get_subscription_count() > 0, 15), describer.output()
    probe.spin_for(0.3)

    rng = np.random.default_rng(0)
    start_ns = 1_700_000_000_123_456_789  # nanoseconds that a float of seconds since 1970 cannot hold exactly
    stamp_of = lambda k: start_ns + k * 50_000_000  # noqa: E731 - 20 fps

    def publish(frames) -> None:
        for k in frames:
            joints = rng.normal(scale=0.3, size=(22, 3))
            if k in (5, 6):
                joints[3] = np.nan
            skeletons.publish(skeleton_msg(joints, stamp_of(k)))
            if k == 10:
                short = skeleton_msg(joints, stamp_of(k) + 1)
                short.poses = short.poses[:21]
                skeletons.publish(short)
            tracked.publish(IdsList(ids=["b1"]))
            probe.spin_for(0.02)

    publish(range(21))  # 1 s (first_after), two of them NaN
    assert spin_until(probe, lambda: received["/humans/bodies/descriptions"], 10), describer.output()
    record = received["/humans/bodies/descriptions"][0]
    assert record.body_id == "b1" and record.caption == "a window of 21 frames."
    assert ns_of(record.end) == stamp_of(20) and stamp_ns(record) == stamp_of(20)
    assert ns_of(record.start) == start_ns and record.frames == 21
    assert record.confidence == pytest.approx(21 / 61, abs=1e-3)  # 1 s of a 3 s window; the NaN gap is short

    publish(range(21, 41))
    off_topic = ask(probe, "what is the capital of France?", seconds=1.0)
    assert not off_topic.answered and off_topic.answer.startswith("not a question about the motion"), off_topic
    answer = ask(probe, "how fast does the person walk?", seconds=1.0)
    assert answer.answered and answer.answer == "21 frames: how fast does the person walk?" and answer.body_id == "b1"
    assert answer.stamp.sec * 1_000_000_000 + answer.stamp.nanosec == stamp_of(40) and answer.seconds == pytest.approx(1.0)

    def counted() -> bool:
        status = describer_status(received["/diagnostics"])
        return status is not None and status_values(status)["bad_skeletons"] == "4"
    assert spin_until(probe, counted, 5), (describer_status(received["/diagnostics"]), describer.output())
    warnings = [s for a in received["/diagnostics"] for s in a.status
                if s.name.startswith("behavior_describer") and s.level == DiagnosticStatus.WARN]
    assert warnings and any("NaN" in s.message or "22 poses" in s.message for s in warnings)
    assert describer.alive() and probe.wait_for_node("behavior_describer", timeout=5)
    assert "skipped:" in describer.output() and "Traceback" not in describer.output()

    tracked.publish(IdsList(ids=[]))  # b1 is gone
    assert describer.wait_for_output(r"body b1 is gone", timeout=5), describer.output()
    assert not ask(probe, "anyone?").answered
    assert describer.stop() == 0


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_describer_refuses_an_unknown_captioner_in_one_line(ros_process):
    describer = start(ros_process, DESCRIBER, "captioner:=nowhere")
    assert describer.popen.wait(timeout=30) == 2
    lines = describer.output().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("behavior_describer: error: unknown captioner"), lines


# --- motionllm ros up -------------------------------------------------------------------------------------------

def started_pids(output: str) -> dict[str, int]:
    return {name: int(pid) for name, pid in re.findall(r"(\w+) \(pid (\d+)\)", output)}


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_ros_up_perception_publishes_descriptions_and_stops_on_sigint(ros_process, probe, video_path):
    up = ros_process("motionllm.cli", "ros", "up", "perception", "--video", str(video_path),
                     "--param", "camera_source.width=360", "--param", "camera_source.rate_mode=fixed",
                     "--param", "camera_source.fps=15.0", "--param", "behavior_describer.first_after=1.0")
    assert up.wait_for_output(r"started .*Ctrl-C stops", timeout=10), up.output()
    pids = started_pids(up.output())
    assert set(pids) == {"camera_source", "pose_estimator", "behavior_describer"}, up.output()
    descriptions = probe.wait_for_messages(BehaviorDescription, "/humans/bodies/descriptions", count=1, timeout=60,
                                           qos=RECEIVE_ALL)
    assert descriptions, up.output()
    assert descriptions[0].body_id == "b1" and descriptions[0].caption.strip()
    assert "[behavior_describer]" in up.output() and "[pose_estimator]" in up.output()

    assert up.stop(timeout=30) == 0, up.output()  # SIGINT, as Ctrl-C
    output = up.output()
    assert "SIGINT received, stopping" in output and output.rstrip().endswith("ros up perception: stopped"), output
    for name in pids:
        assert re.search(rf"\[{name}\] .*\[{name}\.shutdown\]: stopped", output), output
    assert all(gone(pid) for pid in pids.values())


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_ros_up_stops_the_graph_and_fails_when_a_node_dies(ros_process, video_path):
    up = ros_process("motionllm.cli", "ros", "up", "perception", "--video", str(video_path),
                     "--param", "behavior_describer.captioner=nowhere")
    assert up.popen.wait(timeout=45) == 2, up.output()
    output = up.output()
    assert "behavior_describer exited with status 2; stopping the others" in output, output
    assert "[behavior_describer] behavior_describer: error: unknown captioner" in output
    assert all(gone(pid) for pid in started_pids(output).values())


@pytest.mark.ros
@pytest.mark.timeout(30)
def test_ros_up_refuses_bad_arguments(ros_process, tmp_path, capsys, monkeypatch):
    from motionllm.cli import main

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 4096)
    refusals = {("perception", "--param", "camera.fps=1.0", "--dry-run"): "camera",
                ("perception", "--video", str(tmp_path / "none.mp4")): "no such file",
                ("imitation", "--video", str(broken), "--dry-run"): "broken.mp4",  # a video that cannot play
                ("commander", "--camera", "0"): "--video and --camera are for",
                ("commander", "--robot", "nao", "--dry-run"): "nao",  # before any node starts
                ("perception", "--params-dir", str(tmp_path)): "camera_source.yaml"}
    for args, message in refusals.items():
        assert main(["ros", "up", *args]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (args, err)

    # the default video resolves from the repository, whatever the current folder
    monkeypatch.chdir(tmp_path)
    assert main(["ros", "up", "perception", "--dry-run"]) == 0
    camera = next(line for line in capsys.readouterr().out.splitlines() if "camera_source" in line)
    source = re.search(r"source:=(\S+)", camera).group(1)
    assert Path(source).is_absolute() and Path(source).is_file() and "exit_on_source_error:=true" in camera


@pytest.mark.ros
@pytest.mark.timeout(180)
def test_ros_up_commander_starts_both_nodes_and_stops_on_sigterm(ros_process):
    up = ros_process("motionllm.cli", "ros", "up", "commander", "--robot", "g1")
    for name in ("motion_commander", "retargeter"):
        assert up.wait_for_output(rf"\[{name}\] .*\[{name}\]: ready", timeout=120), up.output()
    up.popen.send_signal(signal.SIGTERM)
    assert up.popen.wait(timeout=30) == 0, up.output()
    assert "SIGTERM received, stopping" in up.output()
    assert all(gone(pid) for pid in started_pids(up.output()).values())
