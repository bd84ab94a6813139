"""motion_player end to end: a node in its own process, received here over real rclpy / Fast DDS.

Uses the real HumanML3D clip from the shared data. Each test starts its own player and stops it at
teardown (see conftest.ros_process); all of them share this process's private ROS domain.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed in this environment")
pytest.importorskip("motionllm_ros", reason="motionllm_ros is not installed: pip install -e ros2_ws/src/motionllm_ros")

from geometry_msgs.msg import PoseArray  # noqa: E402
from std_msgs.msg import Float32MultiArray  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from motionllm.errors import MotionFormatError  # noqa: E402
from motionllm_ros.conversions import multiarray_to_motion, pose_array_to_joints  # noqa: E402
from motionllm_ros.motion_player import CLIP_QOS, read_motion_file  # noqa: E402

PLAYER = "motionllm_ros.motion_player"
JOINTS_FILE = "humanml3d_sample/new_joints_012314.npy"
FEATURES_FILE = "humanml3d_sample/new_joint_vecs_012314.npy"


@pytest.fixture(scope="module")
def joints_path(shared_data):
    path = shared_data / JOINTS_FILE
    if not path.is_file():
        pytest.skip(f"{path} is missing from the shared data")
    return path


def frame_indices(frames: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """Index in `motion` of each of `frames`, matched exactly; -1 where a frame is not in the motion."""
    equal = np.all(frames[:, None] == motion[None], axis=(2, 3))  # (received, T)
    return np.where(equal.any(axis=1), equal.argmax(axis=1), -1)


def start_player(ros_process, *parameters: str):
    args = ["--ros-args"]
    for parameter in parameters:
        args += ["-p", parameter]
    return ros_process(PLAYER, *args)


# --- over DDS --------------------------------------------------------------------------------------

@pytest.mark.ros
@pytest.mark.timeout(60)
def test_player_streams_the_file_frames_in_order(ros_process, ros_probe, joints_path):
    motion = np.load(joints_path)
    player = start_player(ros_process, f"file:={joints_path}", "rate:=2.0", "frame_id:=mocap")

    messages = ros_probe.wait_for_messages(PoseArray, "motion/skeleton", count=30, timeout=20)
    assert len(messages) == 30, f"got {len(messages)} of 30 frames; node output:\n{player.output()}"

    frames = np.stack([pose_array_to_joints(m) for m in messages])
    indices = frame_indices(frames, motion)
    assert (indices >= 0).all(), "received frames that are not frames of the file"
    # File frames in order, wrapping around at the end (loop defaults to true). The stream keeps only the latest
    # frames for a slow subscriber (keep-last QoS), so a loaded machine may skip some, never repeat or reorder.
    steps = np.diff(indices) % len(motion)
    assert (steps >= 1).all() and steps.sum() <= 2 * len(steps), f"frames out of order: {indices}"
    np.testing.assert_array_equal(frames, motion[indices])
    assert {m.header.frame_id for m in messages} == {"mocap"}
    assert all(p.orientation.w == 1.0 for p in messages[0].poses)

    # rate:=2.0 means 40 frames per second: the header stamps are 25 ms apart on average.
    stamps = np.array([m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in messages])
    mean_period = np.diff(stamps).sum() / steps.sum()  # per file frame, skipped ones included
    assert 0.02 <= mean_period <= 0.045, f"mean period {mean_period * 1e3:.1f} ms, expected 25 ms"

    (markers,) = ros_probe.wait_for_messages(MarkerArray, "motion/markers", count=1, timeout=10)
    bones, joints = markers.markers
    assert (bones.type, joints.type) == (Marker.LINE_LIST, Marker.SPHERE_LIST)
    sphere_frame = np.array([(p.x, p.y, p.z) for p in joints.points], dtype=np.float32)
    assert frame_indices(sphere_frame[None], motion)[0] >= 0

    assert player.stop() == 0, f"node did not exit cleanly on SIGINT:\n{player.output()}"


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_player_latches_the_whole_clip(ros_process, ros_probe, joints_path):
    motion = np.load(joints_path)
    player = start_player(ros_process, f"file:={joints_path}")
    # Subscribe only after the clip went out: transient-local QoS must still deliver it.
    assert player.wait_for_output(r"playing .*170 frames", timeout=20), player.output()

    messages = ros_probe.wait_for_messages(Float32MultiArray, "motion/clip", count=1, timeout=15, qos=CLIP_QOS)
    assert len(messages) == 1, f"no clip received; node output:\n{player.output()}"
    clip, fps = multiarray_to_motion(messages[0])
    assert fps == 20.0
    np.testing.assert_array_equal(clip, motion)
    assert [(d.label, d.size) for d in messages[0].layout.dim] == [
        ("time", 170), ("joint", 22), ("xyz", 3), ("fps=20", 1)]


@pytest.mark.ros
@pytest.mark.timeout(60)
@pytest.mark.parametrize("bad_file", ["missing", "wrong_shape", "not_numpy"])
def test_player_survives_a_bad_file(ros_process, ros_probe, tmp_path, bad_file):
    path = tmp_path / f"{bad_file}.npy"
    if bad_file == "wrong_shape":
        np.save(path, np.zeros((10, 21, 3), dtype=np.float32))
    elif bad_file == "not_numpy":
        path.write_text("these are not joints\n")

    player = start_player(ros_process, f"file:={path}")
    assert player.wait_for_output(r"\[ERROR\].*cannot play", timeout=20), player.output()
    assert ros_probe.wait_for_node("motion_player", timeout=10), "node left the ROS graph"
    assert ros_probe.wait_for_messages(PoseArray, "motion/skeleton", count=1, timeout=1.0) == []
    assert player.alive(), f"node exited:\n{player.output()}"
    assert "Traceback" not in player.output()


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_player_recovers_when_given_a_good_file(ros_process, ros_probe, tmp_path, joints_path):
    player = start_player(ros_process, f"file:={tmp_path / 'missing.npy'}")
    assert player.wait_for_output(r"cannot play", timeout=20), player.output()

    (result,) = ros_probe.set_parameters("motion_player", file=str(joints_path))
    assert result.successful, result.reason
    messages = ros_probe.wait_for_messages(PoseArray, "motion/skeleton", count=3, timeout=15)
    assert len(messages) == 3, player.output()
    assert (frame_indices(np.stack([pose_array_to_joints(m) for m in messages]), np.load(joints_path)) >= 0).all()


@pytest.mark.ros
@pytest.mark.timeout(60)
@pytest.mark.parametrize("rate, reason", [("0.0", "out of range"), ("2", "expecting type 'DOUBLE'")])
def test_player_refuses_a_bad_rate_in_one_line(ros_process, joints_path, rate, reason):
    player = start_player(ros_process, f"file:={joints_path}", f"rate:={rate}")
    assert player.popen.wait(timeout=20) == 2
    lines = player.output().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("motion_player: error:") and reason in lines[0], lines


# --- the player's file reader, without DDS ---------------------------------------------------------

def test_read_motion_file_reads_joints_and_features(shared_data, joints_path):
    joints = read_motion_file(str(joints_path))
    assert joints.dtype == np.float32 and joints.shape == (170, 22, 3)
    from_features = read_motion_file(str(shared_data / FEATURES_FILE))
    # HumanML3D's new_joints were recovered from new_joint_vecs: same motion to ~1e-4 m.
    np.testing.assert_allclose(from_features, joints, atol=1e-4)


def test_read_motion_file_rejects_bad_arrays(tmp_path):
    path = tmp_path / "flat.npy"
    np.save(path, np.zeros((5, 100), dtype=np.float32))
    with pytest.raises(MotionFormatError, match="263"):
        read_motion_file(str(path))
    np.save(path, np.full((5, 22, 3), np.nan, dtype=np.float32))
    with pytest.raises(MotionFormatError, match="NaN"):
        read_motion_file(str(path))
    path.write_text("these are not joints\n")
    with pytest.raises(MotionFormatError, match="not a NumPy .npy file"):
        read_motion_file(str(path))
    archive = tmp_path / "two.npz"
    np.savez(archive, a=np.zeros((5, 22, 3)), b=np.zeros(3))
    with pytest.raises(MotionFormatError, match="npz"):
        read_motion_file(str(archive))
    with pytest.raises(OSError):
        read_motion_file(str(tmp_path / "missing.npy"))
