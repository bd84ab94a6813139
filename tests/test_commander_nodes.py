"""retargeter and motion_commander end to end: nodes in their own processes, over real rclpy / Fast DDS.

Motions are real: the shared HumanML3D clip. The retargeter's output is checked against the G1 model's own
URDF limits here (Robot("g1")), not against what the node reports. Commands go to motion_commander through
its topic, service and action; a scripted generator (ClipGenerator, below) stands in for the motion LLM so
that the ROS side is tested without LLM weights; the node loads it by import path, as it would a plug-in.
The last test runs the real motion LLM, and is skipped while its shipped weights are missing.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed in this environment")
pytest.importorskip("motionllm_ros", reason="motionllm_ros is not installed: pip install -e ros2_ws/src/motionllm_ros")
pytest.importorskip("pinocchio", reason="Pinocchio (pin) is not installed")

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float32MultiArray, MultiArrayDimension, String  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402
from action_msgs.msg import GoalStatus  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from motionllm_interfaces.action import CommandMotion as CommandMotionAction  # noqa: E402
from motionllm_interfaces.msg import CommandStatus  # noqa: E402
from motionllm_interfaces.srv import CommandMotion  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from motionllm.errors import MotionLLMError  # noqa: E402
from motionllm_ros.conversions import (CLIP_QOS, motion_to_multiarray, multiarray_motion_id,  # noqa: E402
                                       multiarray_to_motion)
from motionllm_ros.diagnostics import status_values  # noqa: E402
from ros_helpers import (assert_within_limits, call, collect, last_status, spin_until, stamp_ns, stamp_s,  # noqa: E402
                         start, statuses, wait_for_subscriber)

RETARGETER = "motionllm_ros.retargeter"
COMMANDER = "motionllm_ros.motion_commander"
TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
SHARED_CLIP = TESTS_DIR.parent.parent / "shared" / "data" / "humanml3d_sample" / "new_joints_012314.npy"
LLM_WEIGHTS = REPO_ROOT / "models" / "weights" / "llm"
LAUNCH_DIR = REPO_ROOT / "launch"
RECEIVE_ALL = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
PLUGIN_ENV = {"PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])}


class ClipGenerator:
    """Scripted motion generator for motion_commander: every command gives the first seconds of the shared
    HumanML3D clip (2 s unless told), except commands mentioning a backflip, which it refuses."""

    fps = 20.0

    def __init__(self) -> None:
        self.motion = np.load(SHARED_CLIP).astype(np.float32)

    def generate(self, text: str, seconds: float | None = None) -> np.ndarray:
        if "backflip" in text:
            raise MotionLLMError("this generator cannot make a backflip")
        time.sleep(0.6)  # long enough for progress feedback to be sent
        return self.motion[:int(round((seconds or 2.0) * self.fps))]


class RecordedGenerator:
    """motion_commander generator plug-in: the motions the shipped motion LLM wrote for these commands
    (`motionllm generate "<command>" --seed 0`, kept in tests/data), so that the test needs no LLM weights."""

    fps = 20.0
    CLIPS = {"jumps": "generated_jump_forward_twice.npy", "squat": "generated_deep_squat.npy",
             "behind the back": "generated_hands_behind_back.npy"}

    def generate(self, text: str, seconds: float | None = None) -> np.ndarray:
        clip = next((name for key, name in self.CLIPS.items() if key in text), None)
        if clip is None:
            raise MotionLLMError(f"no recorded motion for '{text}'")
        return np.load(TESTS_DIR / "data" / clip)


@pytest.fixture(scope="module")
def clip(shared_data) -> np.ndarray:
    path = shared_data / "humanml3d_sample" / "new_joints_012314.npy"
    if not path.is_file():
        pytest.skip(f"{path} is missing from the shared data")
    return np.load(path).astype(np.float32)


@pytest.fixture(scope="module")
def g1():
    from motionllm.retargeting import Robot

    return Robot("g1")


# --- retargeter -----------------------------------------------------------------------------------------

@pytest.fixture
def retargeter(ros_process, ros_probe):
    """A running retargeter (G1) and the probe's publisher of motions, already matched to it."""
    node = ros_process(RETARGETER, "--ros-args", "--params-file", str(LAUNCH_DIR / "retargeter.yaml"),
                       "-p", "diagnostics_period:=0.3")
    assert node.wait_for_output(r"ready: g1", timeout=60), node.output()
    publisher = ros_probe.node.create_publisher(Float32MultiArray, "motion/clip", CLIP_QOS)
    wait_for_subscriber(ros_probe, publisher)
    return node, publisher


OUTPUTS = {"robot/joint_trajectory": (JointTrajectory, RECEIVE_ALL), "robot/joint_states": (JointState, RECEIVE_ALL),
           "robot/odom": (Odometry, RECEIVE_ALL), "robot/status": (String, RECEIVE_ALL),
           "/diagnostics": (DiagnosticArray, RECEIVE_ALL), "/tf": (TFMessage, RECEIVE_ALL)}


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_retargeter_publishes_a_real_motion_within_limits_and_streams_it(retargeter, ros_probe, clip, g1):
    node, publisher = retargeter
    received = collect(ros_probe, OUTPUTS)
    sent = time.monotonic()
    publisher.publish(motion_to_multiarray(clip, 20.0))
    assert spin_until(ros_probe, lambda: received["robot/joint_trajectory"], 30), node.output()
    latency_s = time.monotonic() - sent
    (trajectory,) = received["robot/joint_trajectory"]
    times, positions, velocities = assert_within_limits(trajectory, g1)
    playing = lambda: [s for s in statuses(received["robot/status"]) if s["state"] == "playing"]  # noqa: E731
    assert spin_until(ros_probe, playing, 5), node.output()
    (playing,) = playing()
    # 170 frames at 20 fps -> 423 control frames at 50 Hz, after a lead-in from the reference posture
    assert playing["points"] == len(times) == 423 + playing["lead_in_points"] and playing["lead_in_points"] > 0
    assert playing["max_velocity_ratio"] <= 1.0 and playing["robot"] == "g1"
    print(f"\nretargeter: {len(clip)} frames -> {len(times)} points; retargeted in {playing['retarget_ms']:.0f} ms, "
          f"motion to trajectory {playing['latency_ms']:.0f} ms in the node, {latency_s * 1e3:.0f} ms seen here")

    # The stream: the trajectory's points, in order, at the control rate.
    assert spin_until(ros_probe, lambda: len(received["robot/joint_states"]) >= 60, 10), node.output()
    states = received["robot/joint_states"][:60]
    assert tuple(states[0].name) == g1.joint_names
    streamed = np.array([s.position for s in states])
    np.testing.assert_allclose(streamed, positions[:60], atol=1e-12)
    np.testing.assert_allclose(np.array([s.velocity for s in states]), velocities[:60], atol=1e-12)
    period = np.diff([stamp_s(s) for s in states]).mean()
    assert 0.015 <= period <= 0.03, f"mean joint state period {period * 1e3:.1f} ms, expected 20 ms"

    # The floating base goes with each point: the retargeted root, stamped like the joint state it belongs to,
    # during the lead-in where the joints put it with the feet where the motion starts (playback.planted_bases),
    # then moving as the motion does, without a jump between; its twist (in the pelvis frame) as fast as the
    # pose steps.
    lead = playing["lead_in_points"]
    assert spin_until(ros_probe, lambda: len(received["robot/odom"]) >= lead + 40, 10), node.output()
    odoms = received["robot/odom"][:lead + 40]
    assert [stamp_s(o) for o in odoms[:60]] == [stamp_s(s) for s in states]
    assert {(o.header.frame_id, o.child_frame_id) for o in odoms} == {("odom", "pelvis")}
    base = np.array([[o.pose.pose.position.x, o.pose.pose.position.y, o.pose.pose.position.z] for o in odoms])
    assert np.ptp(base[lead:], axis=0).max() > 1e-9
    assert 0.5 < base[lead, 2] < 1.0  # a pelvis height
    steps = np.linalg.norm(np.diff(base, axis=0), axis=1) * g1.control_rate
    assert steps.max() < 3.0, steps.max()  # m/s: the base never jumps (the IK bounds its acceleration)
    assert abs(steps[lead] - steps[lead - 1]) < 0.5  # nor at the join
    speed = np.linalg.norm([[o.twist.twist.linear.x, o.twist.twist.linear.y, o.twist.twist.linear.z]
                            for o in odoms[:-1]], axis=1)
    np.testing.assert_allclose(speed, steps, atol=1e-6)
    # ... and on /tf, odom -> pelvis, the same pose with the same stamp (tf2_msgs: our package in ros2_ws/src)
    assert spin_until(ros_probe, lambda: len(received["/tf"]) >= lead + 40, 10), node.output()
    transforms = [m.transforms[0] for m in received["/tf"][:lead + 40]]
    assert all(len(m.transforms) == 1 for m in received["/tf"][:lead + 40])
    assert {(t.header.frame_id, t.child_frame_id) for t in transforms} == {("odom", "pelvis")}
    assert [stamp_s(t) for t in transforms] == [stamp_s(o) for o in odoms]
    np.testing.assert_allclose([[t.transform.translation.x, t.transform.translation.y, t.transform.translation.z]
                                for t in transforms], base)

    values = status_values(last_status(received["/diagnostics"], "retargeter: g1"))
    assert values["trajectories_published"] == "1" and values["refused_limits"] == "0", values
    assert node.stop() == 0, node.output()[-3000:]
    assert node.wait_for_output(r"stopped: 1 motions received, 1 trajectories published", timeout=1), node.output()


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_retargeter_finishes_a_short_motion_and_continues_smoothly(retargeter, ros_probe, clip, g1):
    node, publisher = retargeter
    received = collect(ros_probe, OUTPUTS)
    short = clip[:30]  # 1.5 s
    publisher.publish(motion_to_multiarray(short, 20.0))
    finished = lambda: [s for s in statuses(received["robot/status"]) if s["state"] == "finished"]  # noqa: E731
    assert spin_until(ros_probe, finished, 30), node.output()
    (first,) = received["robot/joint_trajectory"]
    assert len(received["robot/joint_states"]) == len(first.points)
    last = np.array(received["robot/joint_states"][-1].position)
    assert np.all(np.array(received["robot/joint_states"][-1].velocity) == 0.0)  # ends at rest

    publisher.publish(motion_to_multiarray(short, 20.0))
    assert spin_until(ros_probe, lambda: len(received["robot/joint_trajectory"]) == 2, 30), node.output()
    second = received["robot/joint_trajectory"][1]
    _, positions, _ = assert_within_limits(second, g1)
    # It starts from where the first one left the robot: the step from there is within the limits too.
    step = np.abs(positions[0] - last) * g1.control_rate / g1.velocity_limit
    assert step.max() <= 1.0


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_emergency_stop_halts_the_stream_at_once_and_refuses_until_reset(retargeter, ros_probe, clip, g1):
    node, publisher = retargeter
    received = collect(ros_probe, OUTPUTS)
    publisher.publish(motion_to_multiarray(clip, 20.0))
    assert spin_until(ros_probe, lambda: len(received["robot/joint_states"]) >= 10, 30), node.output()

    response = call(ros_probe, Trigger, "/retargeter/emergency_stop")
    answered = time.time()
    assert response.success and "halted mid-trajectory" in response.message
    ros_probe.spin_for(1.0)
    states = list(received["robot/joint_states"])
    assert all(stamp_s(s) <= answered for s in states), "a joint state was published after the stop"
    assert len(states) < 60, "the stream went on"
    stop = received["robot/joint_trajectory"][-1]
    assert len(received["robot/joint_trajectory"]) == 2 and stop.points == []
    assert tuple(stop.joint_names) == g1.joint_names

    # Refused while stopped: nothing is retargeted or published.
    publisher.publish(motion_to_multiarray(clip[:40], 20.0))
    refused = lambda: [s for s in statuses(received["robot/status"]) if s["state"] == "refused"]  # noqa: E731
    assert spin_until(ros_probe, refused, 10), node.output()
    assert "emergency stop is active" in refused()[0]["message"]
    ros_probe.spin_for(0.5)
    assert len(received["robot/joint_trajectory"]) == 2 and len(received["robot/joint_states"]) == len(states)
    diagnostics = status_values(last_status(received["/diagnostics"], "retargeter: g1"))
    assert diagnostics["emergency_stop"] == "True" and diagnostics["refused_stopped"] == "1", diagnostics

    reset = call(ros_probe, Trigger, "/retargeter/reset")
    assert reset.success and "accepted again" in reset.message
    ros_probe.spin_for(0.5)
    assert len(received["robot/joint_states"]) == len(states), "the stopped trajectory must not resume by itself"
    publisher.publish(motion_to_multiarray(clip[:40], 20.0))
    assert spin_until(ros_probe, lambda: len(received["robot/joint_trajectory"]) == 3, 30), node.output()
    assert_within_limits(received["robot/joint_trajectory"][2], g1)
    assert spin_until(ros_probe, lambda: len(received["robot/joint_states"]) > len(states), 5)


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_bad_motions_are_reported_and_the_node_keeps_going(retargeter, ros_probe, clip, g1):
    node, publisher = retargeter
    received = collect(ros_probe, OUTPUTS, matched=("robot/status",))  # the first refusal is reported at once
    nan = clip[:40].copy()
    nan[5, 3] = np.nan
    wrong_joints = motion_to_multiarray(clip[:40], 20.0)
    wrong_joints.layout.dim[1].size = 21
    truncated = motion_to_multiarray(clip[:40], 20.0)
    truncated.data = truncated.data[:-5]
    no_layout = Float32MultiArray(data=np.zeros(66 * 4, np.float32).tolist())
    no_fps = motion_to_multiarray(clip[:40], 20.0)
    no_fps.layout.dim[3] = MultiArrayDimension(label="fps=fast", size=1, stride=1)
    all_zero = np.zeros((40, 22, 3), np.float32)  # a finite array, but no body: the retargeter refuses it
    bad = [motion_to_multiarray(nan, 20.0), wrong_joints, truncated, no_layout, no_fps,
           motion_to_multiarray(all_zero, 20.0)]
    for msg in bad:
        publisher.publish(msg)
        ros_probe.spin_for(0.1)
    bad_input = lambda: [s for s in statuses(received["robot/status"]) if s["state"] == "bad_input"]  # noqa: E731
    assert spin_until(ros_probe, lambda: len(bad_input()) == len(bad), 20), (bad_input(), node.output())
    messages = " | ".join(s["message"] for s in bad_input())
    for expected in ("NaN", "22 joints", "floats", "expected dims", "frame rate", "legs have no length"):
        assert expected in messages, messages

    publisher.publish(motion_to_multiarray(clip[:40], 20.0))
    assert spin_until(ros_probe, lambda: received["robot/joint_trajectory"], 30), node.output()
    assert len(received["robot/joint_trajectory"]) == 1, received["robot/status"]
    assert_within_limits(received["robot/joint_trajectory"][0], g1)
    assert spin_until(ros_probe, lambda: (last_status(received["/diagnostics"], "retargeter") is not None and
                                          status_values(last_status(received["/diagnostics"], "retargeter"))
                                          ["trajectories_published"] == "1"), 5), received["/diagnostics"][-1:]
    values = status_values(last_status(received["/diagnostics"], "retargeter"))
    assert values["bad_input"] == str(len(bad)) and values["motions_received"] == str(len(bad) + 1), values
    warnings = [s for a in received["/diagnostics"] for s in a.status if s.level == DiagnosticStatus.WARN]
    assert warnings and warnings[0].message.startswith("last problem: "), received["/diagnostics"][:3]
    assert node.alive() and "Traceback" not in node.output(), node.output()


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_retargeter_parameters_change_live_and_refuse_with_the_reason(retargeter, ros_probe, clip):
    node, publisher = retargeter
    received = collect(ros_probe, OUTPUTS)
    (negative,) = ros_probe.set_parameters("retargeter", lead_in_speed=-3)  # an integer: still a number
    assert not negative.successful and "out of range" in negative.reason and "-3" in negative.reason, negative.reason
    (read_only,) = ros_probe.set_parameters("retargeter", robot="talos")
    assert not read_only.successful and "read-only" in read_only.reason

    def lead_in_at(speed) -> int:
        (result,) = ros_probe.set_parameters("retargeter", lead_in_speed=speed)
        assert result.successful, result.reason
        before = len(received["robot/status"])
        publisher.publish(motion_to_multiarray(clip[:30], 20.0))
        done = lambda: [s for s in statuses(received["robot/status"][before:]) if s["state"] == "finished"]  # noqa: E731
        assert spin_until(ros_probe, done, 30), node.output()
        (playing,) = [s for s in statuses(received["robot/status"][before:]) if s["state"] == "playing"]
        return playing["lead_in_points"]

    lead_in_at(1)  # the robot ends at the clip's last frame: every next lead-in covers the same way back
    slow, fast = lead_in_at(0.25), lead_in_at(4)  # integers and doubles alike
    assert slow > 2 * fast > 0, (slow, fast)
    assert node.wait_for_output(r"parameter lead_in_speed is now 4\.0", timeout=1), node.output()


@pytest.mark.ros
@pytest.mark.timeout(60)
@pytest.mark.parametrize("parameter, message", [
    ("lead_in_speed:=2", None),  # an integer for a double parameter is that number
    ("robot:=atlas", "unknown robot 'atlas'"),
    ("lead_in_speed:=0.0", "out of range"),
    ("imitate:=b-1", "is not a body id"),
    ("imitation_chunk:=0.1", "out of range"),
])
def test_retargeter_refuses_bad_parameters_in_one_line(ros_process, parameter, message):
    node = start(ros_process, RETARGETER, parameter)
    if message is None:  # accepted
        assert node.wait_for_output(r"ready: g1", timeout=60) and node.alive(), node.output()
        return
    assert node.popen.wait(timeout=60) == 2
    lines = node.output().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("retargeter: error:") and message in lines[0], lines


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_a_trajectory_outside_the_limits_is_never_published(ros_env, ros_probe, clip, monkeypatch):
    """The node in this process, with a retargeter that returns a motion with a velocity spike: the node's
    final check must refuse it (nothing on the trajectory or joint state topics), report it and go on."""
    from dataclasses import replace

    from motionllm_ros.retargeter import RetargeterNode

    node = RetargeterNode(context=ros_probe.context)
    ros_probe.executor.add_node(node)
    try:
        real = node._retargeter.retarget
        robot = node._retargeter.robot

        def spiky(joints, fps):
            motion = real(joints, fps)
            positions = motion.joint_positions.copy()
            positions[len(positions) // 2:, 7] += 2.0 * robot.velocity_limit[7] / robot.control_rate
            return replace(motion, joint_positions=positions)

        monkeypatch.setattr(node._retargeter, "retarget", spiky)
        received = collect(ros_probe, OUTPUTS)
        publisher = ros_probe.node.create_publisher(Float32MultiArray, "motion/clip", CLIP_QOS)
        wait_for_subscriber(ros_probe, publisher)
        publisher.publish(motion_to_multiarray(clip[:40], 20.0))
        refused = lambda: [s for s in statuses(received["robot/status"]) if s["state"] == "refused"]  # noqa: E731
        assert spin_until(ros_probe, refused, 30)
        assert f"x the limit at {robot.joint_names[7]}" in refused()[0]["message"]
        ros_probe.spin_for(0.5)
        assert received["robot/joint_trajectory"] == [] and received["robot/joint_states"] == []
        assert spin_until(ros_probe, lambda: last_status(received["/diagnostics"], "retargeter") is not None, 3)
        values = status_values(last_status(received["/diagnostics"], "retargeter"))
        assert values["refused_limits"] == "1" and values["trajectories_published"] == "0", values

        monkeypatch.setattr(node._retargeter, "retarget", real)  # a good motion still goes through
        publisher.publish(motion_to_multiarray(clip[:40], 20.0))
        assert spin_until(ros_probe, lambda: received["robot/joint_trajectory"], 30)
        assert_within_limits(received["robot/joint_trajectory"][0], robot)
    finally:
        ros_probe.executor.remove_node(node)
        node.shutdown()
        node.destroy_node()


# --- motion_commander -------------------------------------------------------------------------------------

def start_commander(ros_process):
    node = ros_process(COMMANDER, "--ros-args", "--params-file", str(LAUNCH_DIR / "motion_commander.yaml"),
                       "-p", f"generator:={__name__}:ClipGenerator", "-p", "diagnostics_period:=0.3", env=PLUGIN_ENV)
    assert node.wait_for_output(r"ready: generator", timeout=90), node.output()
    return node


COMMANDER_OUTPUTS = {"motion/clip": (Float32MultiArray, CLIP_QOS), "motion/markers": (MarkerArray, RECEIVE_ALL),
                     "motion/command_status": (CommandStatus, RECEIVE_ALL),
                     "/diagnostics": (DiagnosticArray, RECEIVE_ALL)}


def command_statuses(messages: list[CommandStatus]) -> list[dict]:
    fields = ("command", "source", "accepted", "message", "frames", "seconds", "motion_id")
    assert all(m.header.stamp.sec > 0 for m in messages)
    return [{name: getattr(m, name) for name in fields} for m in messages]


def command_request(text: str, seconds: float = 0.0, robot: str = "") -> CommandMotion.Request:
    return CommandMotion.Request(command=text, seconds=seconds, robot=robot)


@pytest.mark.ros
@pytest.mark.timeout(180)
def test_commander_service_generates_motion_and_refuses_what_is_not_a_motion(ros_process, ros_probe, clip):
    node = start_commander(ros_process)
    received = collect(ros_probe, COMMANDER_OUTPUTS)

    response = call(ros_probe, CommandMotion, "/motion_commander/command",
                    command_request("Wave with your right hand", seconds=3.0))
    assert response.accepted, response.reason
    assert response.reason.startswith("generated 'Wave with your right hand': 60 frames (3.0 s)")
    assert response.motion_id == "motion_commander/1"
    assert spin_until(ros_probe, lambda: received["motion/clip"] and len(received["motion/markers"]) >= 20, 10)
    motion, fps = multiarray_to_motion(received["motion/clip"][0])
    assert fps == 20.0 and multiarray_motion_id(received["motion/clip"][0]) == response.motion_id
    np.testing.assert_array_equal(motion, clip[:60])
    first_frame = np.array([(p.x, p.y, p.z) for p in received["motion/markers"][0].markers[1].points])
    np.testing.assert_allclose(first_frame, clip[0], atol=1e-6)

    refusals = {
        "": "the command is empty",
        "tell me a joke": "not a motion command: 'tell me a joke'",
        "what is the weather": "not a motion command: 'what is the weather'",
        "asdfgh": "not understood",
        "jump " * 80: "too long",
        "do a backflip and then jump forward": "'backflip' cannot be made feasible for g1",  # the profile, first
    }
    requests = [command_request(text) for text in refusals]
    # the CLI's limits (motionllm generate), the same check: a length out of range, another robot
    refusals.update({"wave -1 s": "seconds must be in (0, 10]", "wave 11 s": "seconds must be in (0, 10]",
                     "wave for talos": "robot 'talos': this commander serves g1"})
    requests += [command_request("wave with your right hand", seconds=-1.0),
                 command_request("wave with your right hand", seconds=11.0),
                 command_request("wave with your right hand", robot="talos")]
    for (text, reason), request in zip(refusals.items(), requests):
        response = call(ros_probe, CommandMotion, "/motion_commander/command", request)
        assert not response.accepted and reason in response.reason, (text, response.reason)
        assert response.motion_id == ""
    ros_probe.spin_for(0.5)
    assert len(received["motion/clip"]) == 1, "a refused command published a motion"
    reports = command_statuses(received["motion/command_status"])
    assert [r["accepted"] for r in reports] == [True] + [False] * len(refusals)
    assert {r["source"] for r in reports} == {"service"} and reports[0]["frames"] == 60
    assert reports[0]["motion_id"] == "motion_commander/1" and all(r["motion_id"] == "" for r in reports[1:])
    assert spin_until(ros_probe, lambda: status_values(last_status(received["/diagnostics"], "motion_commander"))
                      ["commands"] == "10", 5)
    values = status_values(last_status(received["/diagnostics"], "motion_commander"))
    assert (values["accepted"], values["refused"], values["failed"]) == ("1", "9", "0"), values
    assert node.alive() and "Traceback" not in node.output()
    longest = max(node.output().splitlines(), key=len)
    assert len(longest) < 400, longest  # a 400-character command is logged once, bounded


@pytest.mark.ros
@pytest.mark.timeout(180)
def test_commander_topic_and_action_with_feedback(ros_process, ros_probe, clip):
    node = start_commander(ros_process)
    received = collect(ros_probe, COMMANDER_OUTPUTS)

    # Topic: the outcome comes back on motion/command_status.
    publisher = ros_probe.node.create_publisher(String, "motion/command", 10)
    wait_for_subscriber(ros_probe, publisher)
    publisher.publish(String(data="walk forward three steps"))
    assert spin_until(ros_probe, lambda: received["motion/command_status"], 20), node.output()
    publisher.publish(String(data="what time is it"))
    assert spin_until(ros_probe, lambda: len(received["motion/command_status"]) == 2, 20), node.output()
    accepted, refused = command_statuses(received["motion/command_status"])
    assert accepted["accepted"] and accepted["source"] == "topic" and accepted["frames"] == 40
    assert not refused["accepted"] and "not a motion command" in refused["message"]
    assert len(received["motion/clip"]) == 1

    # Action: the command as a goal, with feedback through the stages and the motion's id in the result.
    client = ActionClient(ros_probe.node, CommandMotionAction, "/motion_commander/command_motion")
    assert client.wait_for_server(timeout_sec=20)
    # Feedback is read off the action's feedback topic itself: the client drops feedback that lands after the
    # result (rclpy forgets a goal's feedback callback once its result is in), and the last stage often does.
    feedback_topic = "/motion_commander/command_motion/_action/feedback"
    feedback_messages = collect(ros_probe, {feedback_topic: (CommandMotionAction.Impl.FeedbackMessage, RECEIVE_ALL)},
                                matched=(feedback_topic,))[feedback_topic]

    def run_goal(text: str, seconds: float = 0.0):
        sent = client.send_goal_async(CommandMotionAction.Goal(command=text, seconds=seconds))
        ros_probe.executor.spin_until_future_complete(sent, timeout_sec=20)
        assert sent.done() and sent.result().accepted  # every goal is taken; a refusal aborts it with the reason
        result = sent.result().get_result_async()
        ros_probe.executor.spin_until_future_complete(result, timeout_sec=30)
        assert result.done()
        return result.result()

    done = run_goal("jump twice in place")
    assert done.status == GoalStatus.STATUS_SUCCEEDED and done.result.accepted, done.result.reason
    assert done.result.motion_id == "motion_commander/2" and "generated 'jump twice in place'" in done.result.reason
    # feedback and result travel on different topics: the last feedback may land after the result
    spin_until(ros_probe, lambda: feedback_messages and feedback_messages[-1].feedback.stage == "published", 10)
    stages = [m.feedback.stage for m in feedback_messages]
    assert stages[0] == "checking" and stages[-1] == "published" and "generating" in stages, stages
    assert set(stages) <= {"checking", "generating", "generated", "published"}, stages
    progress = [m.feedback.progress for m in feedback_messages]
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 1.0, progress
    assert spin_until(ros_probe, lambda: len(received["motion/clip"]) == 2, 5)
    assert multiarray_motion_id(received["motion/clip"][1]) == "motion_commander/2"

    refused = run_goal("tell me about the history of Rome")
    assert refused.status == GoalStatus.STATUS_ABORTED and not refused.result.accepted
    assert "not a motion command" in refused.result.reason and refused.result.motion_id == ""
    refused = run_goal("wave with your right hand", seconds=-3.0)
    assert refused.status == GoalStatus.STATUS_ABORTED and "seconds must be in (0, 10]" in refused.result.reason
    ros_probe.spin_for(0.3)
    reports = command_statuses(received["motion/command_status"])
    assert [(r["source"], r["accepted"]) for r in reports[-3:]] == [("action", True), ("action", False),
                                                                    ("action", False)]
    assert reports[-3]["motion_id"] == "motion_commander/2"
    assert len(received["motion/clip"]) == 2, "a refused goal published a motion"
    assert node.stop() == 0, node.output()[-3000:]
    assert node.wait_for_output(r"stopped: 5 commands, 2 accepted, 3 refused", timeout=1), node.output()


@pytest.mark.ros
@pytest.mark.timeout(180)
def test_command_over_ros_comes_back_as_a_trajectory_within_limits(ros_process, ros_probe, g1):
    """commander (scripted generator) -> motion/clip -> retargeter -> robot/joint_trajectory within G1's limits."""
    retargeter = start(ros_process, RETARGETER)
    commander = start_commander(ros_process)
    assert retargeter.wait_for_output(r"ready: g1", timeout=60), retargeter.output()
    received = collect(ros_probe, OUTPUTS)
    response = call(ros_probe, CommandMotion, "/motion_commander/command", command_request("kick with your left foot"))
    assert response.accepted, response.reason
    assert spin_until(ros_probe, lambda: received["robot/joint_trajectory"], 30), retargeter.output()
    times, _, _ = assert_within_limits(received["robot/joint_trajectory"][0], g1)
    assert times[-1] > 1.9  # 2 s of motion at least
    # the motion's id names it on the robot's status, from playing to finished
    assert spin_until(ros_probe, lambda: any(s["state"] == "finished" for s in statuses(received["robot/status"])), 30)
    played = [s for s in statuses(received["robot/status"]) if s["state"] in ("playing", "finished")]
    assert [s.get("motion_id") for s in played] == [response.motion_id] * 2, played
    assert commander.alive() and retargeter.alive()


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_commander_without_a_generator_exits_in_one_line(ros_process, tmp_path):
    node = start(ros_process, COMMANDER, f"model:={tmp_path}")
    assert node.popen.wait(timeout=60) == 2
    lines = node.output().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("motion_commander: error: no trained motion LLM in"), lines


@pytest.mark.ros
@pytest.mark.timeout(600)
@pytest.mark.skipif(not (LLM_WEIGHTS / "config.json").is_file(),
                    reason=f"the shipped motion LLM weights are not there yet ({LLM_WEIGHTS}/config.json)")
def test_text_command_through_the_motion_llm_comes_back_as_a_trajectory_within_limits(ros_process, ros_probe, g1):
    """The real thing: the shipped motion LLM generates the motion for a command sent over ROS."""
    retargeter = start(ros_process, RETARGETER)
    commander = start(ros_process, COMMANDER)
    assert commander.wait_for_output(r"ready: generator llm", timeout=300), commander.output()
    assert retargeter.wait_for_output(r"ready: g1", timeout=60), retargeter.output()
    received = collect(ros_probe, OUTPUTS)
    response = call(ros_probe, CommandMotion, "/motion_commander/command",
                    command_request("wave with your right hand"), timeout=240)
    assert response.accepted, response.reason
    assert spin_until(ros_probe, lambda: received["robot/joint_trajectory"], 60), retargeter.output()
    times, _, _ = assert_within_limits(received["robot/joint_trajectory"][0], g1)
    assert times[-1] >= 1.0
    print(f"\nmotion LLM over ROS: {response.reason}; trajectory of {len(times)} points ({times[-1]:.2f} s)")
    refused = call(ros_probe, CommandMotion, "/motion_commander/command", command_request("tell me a joke"))
    assert not refused.accepted and "not a motion command" in refused.reason


def test_launch_file_starts_both_nodes_with_their_parameter_files():
    """`ros2 launch` is not installed here: check the launch file's syntax and what it names."""
    import ast

    import yaml

    source = (LAUNCH_DIR / "commander.launch.py").read_text()
    tree = ast.parse(source)
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
    for executable, name in (("motion_commander", "motion_commander.yaml"), ("retargeter", "retargeter.yaml")):
        assert f'executable="{executable}"' in source and f'"{name}"' in source
        parameters = yaml.safe_load((LAUNCH_DIR / name).read_text())[executable]["ros__parameters"]
        assert parameters, name
    retargeter = yaml.safe_load((LAUNCH_DIR / "retargeter.yaml").read_text())["retargeter"]["ros__parameters"]
    assert retargeter["robot"] == "g1"


def test_launch_description_builds_where_launch_ros_is_installed():
    launch_ros = pytest.importorskip("launch_ros", reason="launch_ros is not installed (no ros2 launch here)")
    import importlib.util

    spec = importlib.util.spec_from_file_location("commander_launch", LAUNCH_DIR / "commander.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    nodes = [e for e in module.generate_launch_description().entities if isinstance(e, launch_ros.actions.Node)]
    assert len(nodes) == 2


@pytest.mark.ros
@pytest.mark.timeout(300)
@pytest.mark.parametrize("robot_name", ["g1", "talos"])
def test_commands_that_would_jump_collide_or_tip_reach_the_robot_feasible_or_not_at_all(ros_process, ros_probe,
                                                                                          robot_name):
    """Issue 18's commands, over ROS to a retargeter that requires feasibility: a cartwheel is refused before
    anything is generated; a jump arrives as a squat-and-rise in place, said so in the status; hands behind the
    back and a deep squat (self-collision and balance before the IK prevented them) arrive feasible. What the
    robot is sent (robot/joint_states with robot/odom, a point per control period) is checked here, against the
    robot's own model: limits, no self-collision, no flight, the centre of mass over the feet on the ground."""
    from motionllm.retargeting import Robot
    from motionllm.retargeting.feasibility import feasibility
    from motionllm.retargeting.motion import RobotMotion

    robot = Robot(robot_name)
    retargeter = start(ros_process, RETARGETER, f"robot:={robot_name}", "require_feasible:=true", "lead_in_speed:=2.0")
    commander = ros_process(COMMANDER, "--ros-args", "--params-file", str(LAUNCH_DIR / "motion_commander.yaml"),
                            "-p", f"generator:={__name__}:RecordedGenerator", "-p", f"robot:={robot_name}",
                            env=PLUGIN_ENV)
    assert commander.wait_for_output(r"ready: generator", timeout=90), commander.output()
    assert retargeter.wait_for_output(rf"ready: {robot_name}", timeout=60), retargeter.output()
    received = collect(ros_probe, OUTPUTS)

    cartwheel = call(ros_probe, CommandMotion, "/motion_commander/command", command_request("a person does a cartwheel"))
    assert not cartwheel.accepted and "cannot be made feasible" in cartwheel.reason, cartwheel.reason

    for command in ("a person jumps forward twice", "a person puts both hands behind the back",
                    "a person does a deep squat"):
        before = len(received["robot/status"])
        response = call(ros_probe, CommandMotion, "/motion_commander/command", command_request(command))
        assert response.accepted, response.reason
        done = lambda: [s for s in statuses(received["robot/status"][before:])  # noqa: E731
                        if s["state"] in ("finished", "refused")]
        assert spin_until(ros_probe, done, 120), retargeter.output()
        published = [s for s in statuses(received["robot/status"][before:]) if s["state"] == "playing"]
        if done()[0]["state"] == "refused" and "squat" in command:  # TALOS: a quick 10 cm foot shuffle
            assert "not feasible" in done()[0]["message"] and not published, done()[0]
            continue
        assert done()[0]["state"] == "finished" and published, f"{command}: {done()[0]['message']}"
        report = published[0]
        assert report["feasibility"]["ok"], report["feasibility"]
        if "jumps" in command:
            assert any("squat-and-rise in place" in note for note in report["adaptations"]), report
            assert "adapted: jump" in report["message"]

    # what was sent, point by point: joint states and the base at the same stamps
    states = {stamp_ns(m): m for m in received["robot/joint_states"]}
    odometry = [m for m in received["robot/odom"] if stamp_ns(m) in states]
    assert len(odometry) > 300, (len(odometry), len(states))
    order = [robot.joint_names.index(n) for n in states[stamp_ns(odometry[0])].name]
    positions = np.zeros((len(odometry), len(robot.joint_names)))
    for row, m in enumerate(odometry):
        positions[row, order] = states[stamp_ns(m)].position
    pose = [(m.pose.pose.position, m.pose.pose.orientation) for m in odometry]
    base = np.array([[p.x, p.y, p.z, o.x, o.y, o.z, o.w] for p, o in pose])
    sent = RobotMotion(robot=robot.name, control_rate=robot.control_rate, times=np.arange(len(base)) / robot.control_rate,
                       joint_names=robot.joint_names, joint_positions=positions, root_pose=base)
    result = feasibility(sent, robot)
    for check in ("joint_limits", "self_collision", "flight", "balance"):
        assert result.check(check).ok, f"{robot_name}, what was sent: {result.reason}"
    assert commander.alive() and retargeter.alive()
