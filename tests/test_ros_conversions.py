"""numpy <-> ROS message conversions (motionllm_ros.conversions), without DDS: messages are built
and read back in this process."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("geometry_msgs", reason="ROS 2 message packages are not installed in this environment")
pytest.importorskip("motionllm_ros", reason="motionllm_ros is not installed: pip install -e ros2_ws/src/motionllm_ros")

from builtin_interfaces.msg import Time  # noqa: E402
from std_msgs.msg import MultiArrayDimension  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from motionllm.errors import MotionFormatError  # noqa: E402
from motionllm.motion.skeleton import PARENTS  # noqa: E402
from motionllm_ros.conversions import (  # noqa: E402
    image_to_msg,
    joints_to_pose_array,
    motion_to_multiarray,
    msg_to_image,
    multiarray_motion_id,
    multiarray_to_motion,
    pose_array_to_joints,
    skeleton_markers,
)


@pytest.fixture
def motion() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(7, 22, 3)).astype(np.float32)


# --- PoseArray ---------------------------------------------------------------------------------------

def test_pose_array_round_trip_is_exact(motion):
    msg = joints_to_pose_array(motion[3], stamp=Time(sec=12, nanosec=5), frame_id="mocap")
    assert (msg.header.frame_id, msg.header.stamp.sec, msg.header.stamp.nanosec) == ("mocap", 12, 5)
    assert len(msg.poses) == 22
    assert msg.poses[4].position.y == float(motion[3, 4, 1])  # joint order kept
    assert all((p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w) == (0, 0, 0, 1)
               for p in msg.poses)
    back = pose_array_to_joints(msg)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, motion[3])


def test_pose_array_rejects_wrong_sizes(motion):
    with pytest.raises(MotionFormatError, match=r"\(22, 3\)"):
        joints_to_pose_array(motion[0, :21])
    msg = joints_to_pose_array(motion[0])
    msg.poses = msg.poses[:-1]
    with pytest.raises(MotionFormatError, match="22 poses, got 21"):
        pose_array_to_joints(msg)


# --- Float32MultiArray ----------------------------------------------------------------------------

def test_motion_multiarray_round_trip_keeps_frames_and_fps(motion):
    joints, fps = multiarray_to_motion(motion_to_multiarray(motion, fps=30.0))
    assert fps == 30.0
    np.testing.assert_array_equal(joints, motion)
    joints, fps = multiarray_to_motion(motion_to_multiarray(motion, fps=12.5))
    assert fps == 12.5


def test_motion_multiarray_layout_follows_the_ros_stride_rule(motion):
    msg = motion_to_multiarray(motion, fps=20.0)
    dims = msg.layout.dim
    assert [(d.label, d.size, d.stride) for d in dims] == [
        ("time", 7, 7 * 66), ("joint", 22, 66), ("xyz", 3, 3), ("fps=20", 1, 1)]
    assert msg.layout.data_offset == 0
    # A reader that knows only MultiArrayLayout finds element (t, j, k) at
    # data_offset + dim[1].stride * t + dim[2].stride * j + dim[3].stride * k.
    data = np.asarray(msg.data)
    for t, j, k in [(0, 0, 0), (6, 21, 2), (3, 10, 1)]:
        assert data[dims[1].stride * t + dims[2].stride * j + dims[3].stride * k] == motion[t, j, k]


def test_a_motion_carries_its_id(motion):
    msg = motion_to_multiarray(motion, fps=20.0, motion_id="motion_commander/7")
    assert [d.label for d in msg.layout.dim][-1] == "id=motion_commander/7"
    joints, fps = multiarray_to_motion(msg)
    np.testing.assert_array_equal(joints, motion.astype(np.float32))
    assert fps == 20.0 and multiarray_motion_id(msg) == "motion_commander/7"
    assert multiarray_motion_id(motion_to_multiarray(motion, fps=20.0)) == ""
    msg.layout.dim[4] = MultiArrayDimension(label="colour=red", size=1, stride=1)
    with pytest.raises(MotionFormatError, match="expected dims"):
        multiarray_to_motion(msg)


def test_motion_multiarray_rejects_malformed_messages(motion):
    with pytest.raises(MotionFormatError, match=r"\(T, 22, 3\)"):
        motion_to_multiarray(motion[:, :, :2], fps=20.0)
    with pytest.raises(MotionFormatError, match="fps must be positive"):
        motion_to_multiarray(motion, fps=0.0)

    msg = motion_to_multiarray(motion, fps=20.0)
    msg.data = msg.data[:-3]
    with pytest.raises(MotionFormatError, match="7 frames need 462 floats, got 459"):
        multiarray_to_motion(msg)

    msg = motion_to_multiarray(motion, fps=20.0)
    msg.layout.dim = msg.layout.dim[:3]
    with pytest.raises(MotionFormatError, match="expected dims"):
        multiarray_to_motion(msg)

    msg = motion_to_multiarray(motion, fps=20.0)
    msg.layout.dim[3] = MultiArrayDimension(label="fps=fast", size=1, stride=1)
    with pytest.raises(MotionFormatError, match="frame rate"):
        multiarray_to_motion(msg)


# --- MarkerArray -----------------------------------------------------------------------------------

def test_skeleton_markers_draw_every_bone_and_joint(motion):
    frame = motion[2]
    markers = skeleton_markers(frame, stamp=Time(sec=1), frame_id="mocap", ns="player")
    bones, joints = markers.markers
    assert (bones.type, bones.id, joints.type, joints.id) == (Marker.LINE_LIST, 0, Marker.SPHERE_LIST, 1)
    assert {m.ns for m in markers.markers} == {"player"}
    assert {m.header.frame_id for m in markers.markers} == {"mocap"}

    line_ends = np.array([(p.x, p.y, p.z) for p in bones.points], dtype=np.float32).reshape(-1, 2, 3)
    expected = np.array([(frame[parent], frame[child]) for child, parent in enumerate(PARENTS) if parent >= 0])
    assert line_ends.shape == (21, 2, 3)
    np.testing.assert_array_equal(line_ends, expected)
    spheres = np.array([(p.x, p.y, p.z) for p in joints.points], dtype=np.float32)
    np.testing.assert_array_equal(spheres, frame)
    assert bones.color.a > 0 and bones.scale.x > 0 and joints.scale.z > 0  # invisible otherwise


# --- Image -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding, shape", [("rgb8", (4, 5, 3)), ("bgr8", (4, 5, 3)), ("mono8", (4, 5))])
def test_image_round_trip(encoding, shape):
    image = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    msg = image_to_msg(image, encoding, frame_id="cam")
    assert (msg.height, msg.width, msg.encoding, msg.step) == (4, 5, encoding, 5 * (3 if len(shape) == 3 else 1))
    np.testing.assert_array_equal(msg_to_image(msg), image)


def test_mono_image_accepts_a_channel_axis():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    np.testing.assert_array_equal(msg_to_image(image_to_msg(image, "mono8")), image[:, :, 0])


def test_image_with_padded_rows_is_read_by_step():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    msg = image_to_msg(image, "rgb8")
    padded = np.zeros((2, 12), dtype=np.uint8)  # 9 bytes of pixels + 3 bytes of padding per row
    padded[:, :9] = image.reshape(2, 9)
    msg.step, msg.data = 12, padded.tobytes()
    np.testing.assert_array_equal(msg_to_image(msg), image)


def test_image_errors_are_one_line_and_clear():
    rgb = np.zeros((2, 3, 3), dtype=np.uint8)
    with pytest.raises(MotionFormatError, match="unsupported encoding 'rgba8'"):
        image_to_msg(rgb, "rgba8")
    with pytest.raises(MotionFormatError, match="uint8"):
        image_to_msg(rgb.astype(np.float32), "rgb8")
    with pytest.raises(MotionFormatError, match=r"\(H, W, 3\)"):
        image_to_msg(rgb[:, :, 0], "rgb8")
    with pytest.raises(MotionFormatError, match=r"\(H, W\)"):
        image_to_msg(rgb, "mono8")

    msg = image_to_msg(rgb, "rgb8")
    msg.encoding = "16UC1"
    with pytest.raises(MotionFormatError, match="unsupported encoding '16UC1'"):
        msg_to_image(msg)
    msg = image_to_msg(rgb, "rgb8")
    msg.data = msg.data[:-1]
    with pytest.raises(MotionFormatError, match="need 18 bytes, got 17"):
        msg_to_image(msg)
    msg = image_to_msg(rgb, "rgb8")
    msg.step = 8
    with pytest.raises(MotionFormatError, match="shorter than a row"):
        msg_to_image(msg)
