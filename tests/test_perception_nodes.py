"""camera_source and pose_estimator end to end: nodes in their own processes, over real rclpy / Fast DDS.

The real video (one person, 100 frames) goes camera_source -> pose_estimator -> this test. Bad input is
published by the test itself. Image processes use Fast DDS's LARGE_DATA transports, and so does the
probe here (the `probe` fixture). A scripted estimator (below) stands in for BlazePose where a test
needs exact control over what the estimator returns: the node loads it by import path, as it would a
user's plug-in.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed in this environment")
pytest.importorskip("motionllm_ros", reason="motionllm_ros is not installed: pip install -e ros2_ws/src/motionllm_ros")
pytest.importorskip("cv2", reason="OpenCV (opencv-contrib-python) is not installed")

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from geometry_msgs.msg import PolygonStamped, PoseArray  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image, JointState  # noqa: E402
from hri_msgs.msg import BodyPosture, Gesture, IdsList, Skeleton2D  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from motionllm.motion.skeleton import JOINT_INDEX, bone_lengths  # noqa: E402
from motionllm.perception.pose import PoseEstimator  # noqa: E402
from motionllm.perception.root import FEET  # noqa: E402
from motionllm_ros.conversions import image_to_msg, pose_array_to_joints  # noqa: E402
from motionllm_ros.diagnostics import status_values  # noqa: E402
from ros_helpers import collect, spin_until, stamp_ns, start  # noqa: E402

CAMERA = "motionllm_ros.camera_source"
POSE = "motionllm_ros.pose_estimator"
VIDEO_FRAMES = 100
TESTS_DIR = Path(__file__).resolve().parent
FEMURS = (JOINT_INDEX["left_knee"], JOINT_INDEX["right_knee"])
# Receive everything that is sent to the test (the nodes' own subscriptions are keep-last 1).
RECEIVE_ALL = QoSProfile(depth=500, reliability=ReliabilityPolicy.RELIABLE)


class BrightnessEstimator(PoseEstimator):
    """Scripted by the image: dark (mean < 64) -> NaN landmarks, bright (mean > 192) -> one fixed valid
    pose (random landmarks, seen through a pinhole), anything else -> nobody."""

    name = "brightness"

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.world = rng.normal(scale=0.3, size=(33, 3))

    def _detect(self, rgb):
        mean = rgb.mean()
        height, width = rgb.shape[:2]
        # The landmarks 3 m in front of a pinhole with a focal length of one image width, so that the root
        # estimate can place them.
        points = self.world + (0.0, 0.0, 3.0)
        keypoints = width * points[:, :2] / points[:, 2:] + (width / 2, height / 2)
        if mean < 64:
            return [(np.full((33, 3), np.nan), keypoints, np.ones(33))]
        if mean > 192:
            return [(self.world, keypoints, np.full(33, 0.9))]
        return []



@pytest.fixture
def probe(ros_env, monkeypatch, request):
    """The test's rclpy node, on LARGE_DATA transports like the image nodes (set before it is created)."""
    monkeypatch.setenv("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    return request.getfixturevalue("ros_probe")










def last_pose_status(diagnostics: list[DiagnosticArray]) -> DiagnosticStatus | None:
    statuses = [s for array in diagnostics for s in array.status if s.name.startswith("pose_estimator")]
    return statuses[-1] if statuses else None


def wait_for_subscriber(probe, publisher, timeout: float = 15.0) -> None:
    assert spin_until(probe, lambda: publisher.get_subscription_count() > 0, timeout), "the node never subscribed"


# --- the real video through both nodes --------------------------------------------------------------

@pytest.mark.ros
@pytest.mark.timeout(90)
def test_video_to_skeletons_through_both_nodes(ros_process, probe, video_path):
    pose = start(ros_process, POSE, "diagnostics_period:=0.5")
    assert pose.wait_for_output(r"ready: blazepose", timeout=30), pose.output()
    received = collect(probe, {
        "camera/image_raw": (Image, RECEIVE_ALL),
        "/humans/bodies/b1/skeleton3d": (PoseArray, RECEIVE_ALL),
        "/humans/bodies/b1/keypoints2d": (PolygonStamped, RECEIVE_ALL),
        "/humans/bodies/b1/skeleton2d": (Skeleton2D, RECEIVE_ALL),
        "/humans/bodies/b1/posture": (BodyPosture, RECEIVE_ALL),
        "/humans/bodies/b1/gesture": (Gesture, RECEIVE_ALL),
        "/humans/bodies/b1/joint_states": (JointState, RECEIVE_ALL),
        "/tf": (TFMessage, RECEIVE_ALL),
        "/humans/bodies/tracked": (IdsList, RECEIVE_ALL),
        "/humans/bodies/markers": (MarkerArray, RECEIVE_ALL),
        "/diagnostics": (DiagnosticArray, RECEIVE_ALL),
    })
    # 12 fps: slower than inference, so every frame should be processed (on an idle machine).
    camera = start(ros_process, CAMERA, f"source:={video_path}", "loop:=false", "rate_mode:=fixed", "fps:=12.0",
                   "width:=360", "frame_id:=cam", "wait_for_subscribers:=2")  # pose_estimator and this probe
    assert spin_until(probe, lambda: "end of" in camera.output(), 40), camera.output()
    probe.spin_for(1.5)  # the last frames' results
    images, skeletons = received["camera/image_raw"], received["/humans/bodies/b1/skeleton3d"]
    keypoints, tracked = received["/humans/bodies/b1/keypoints2d"], received["/humans/bodies/tracked"]
    status = last_pose_status(received["/diagnostics"])
    assert status is not None, pose.output()
    values = status_values(status)
    report = f"diagnostics {values}\npose output:\n{pose.output()}"

    assert len(images) >= VIDEO_FRAMES - 2, f"probe got {len(images)} images"
    assert int(values["frames_processed"]) >= 0.9 * VIDEO_FRAMES, report
    assert int(values["frames_without_person"]) <= 5 and len(skeletons) >= 0.85 * VIDEO_FRAMES, report
    image_stamps = {stamp_ns(m) for m in images}
    assert {stamp_ns(m) for m in skeletons} <= image_stamps, "a skeleton carries a stamp no image had"
    assert {stamp_ns(m) for m in keypoints} <= image_stamps and len(keypoints) == len(skeletons)

    joints = np.stack([pose_array_to_joints(m) for m in skeletons])
    femurs = bone_lengths(joints)[:, FEMURS]
    assert ((0.3 < femurs) & (femurs < 0.55)).all(), f"femur lengths {femurs.min():.3f}..{femurs.max():.3f} m"
    assert (femurs.std(axis=0) < 0.03).all(), f"femur length std {femurs.std(axis=0)} m"
    assert (joints[:, JOINT_INDEX["head"], 1] > 0.25).all()  # Y up
    # The camera's world frame (motionllm.perception.root): the person in front of the camera (-Z), pelvis at
    # hip height, feet on the floor placed under them, and the frame named after the camera's.
    assert {m.header.frame_id for m in skeletons} == {"cam_floor"}
    pelvis, feet = joints[:, JOINT_INDEX["pelvis"]], joints[:, FEET].min(axis=1)[:, 1]
    assert (pelvis[:, 2] < -1.0).all() and (0.5 < np.median(pelvis[:, 1]) < 1.3), pelvis
    assert abs(np.median(feet)) < 0.05, feet
    assert 0.3 < float(values["camera_height_m"]) < 5.0 and int(values["root_failures"]) == 0, report

    points = np.array([[(p.x, p.y, p.z) for p in m.polygon.points] for m in keypoints])
    assert points.shape[1:] == (33, 3) and {m.header.frame_id for m in keypoints} == {"cam"}
    visible = points[..., 2] > 0.5
    assert (points[visible][:, 0] < 360).all() and (points[visible][:, 1] < 640).all() and (points[..., :2] > -50).all()

    # ROS4HRI's own messages: Skeleton2D (18 points, normalised), posture and gesture, one per skeleton
    skeleton2d = received["/humans/bodies/b1/skeleton2d"]
    assert len(skeleton2d) == len(skeletons) and {m.header.frame_id for m in skeleton2d} == {"cam"}
    first = {stamp_ns(m): m for m in keypoints}[stamp_ns(skeleton2d[0])]
    normalised = np.array([[(p.x, p.y, p.c) for p in m.skeleton] for m in skeleton2d])
    assert normalised.shape[1:] == (18, 3) and (normalised >= 0).all() and (normalised <= 1).all()
    nose = first.polygon.points[0]  # Skeleton2D.NOSE = 0 is MediaPipe's landmark 0
    assert normalised[0, Skeleton2D.NOSE, :2] == pytest.approx([nose.x / 360, nose.y / 640], abs=1e-4)
    postures = [m.posture for m in received["/humans/bodies/b1/posture"]]
    assert len(postures) == len(skeletons) and np.mean(np.array(postures) == BodyPosture.STANDING) > 0.8, postures
    assert len(received["/humans/bodies/b1/gesture"]) == len(skeletons)
    human = received["/humans/bodies/b1/joint_states"]  # the person as a human model's joint angles
    assert len(human) == len(skeletons) and {m.header.frame_id for m in human} == {"body_b1"}
    assert len(human[0].name) == 63 and human[0].name[:3] == ["left_hip_z", "left_hip_y", "left_hip_x"]
    angles = np.array([m.position for m in human])
    assert np.isfinite(angles).all() and np.abs(angles).max() <= np.pi + 1e-9 and angles.std(axis=0).max() > 0.1

    # TF: cam -> cam_floor (the estimated camera), cam_floor -> body_b1 (the pelvis) -> head_b1 ...
    from scipy.spatial.transform import Rotation

    by_stamp = {stamp_ns(m): pose_array_to_joints(m) for m in skeletons}
    frames = [t for m in received["/tf"] for t in m.transforms]
    assert {(t.header.frame_id, t.child_frame_id) for t in frames} >= {("cam", "cam_floor"), ("cam_floor", "body_b1"),
                                                                       ("body_b1", "head_b1"), ("body_b1", "left_wrist_b1")}
    checked = 0
    for body in (t for t in frames if t.child_frame_id == "body_b1" and stamp_ns(t) in by_stamp):
        world = by_stamp[stamp_ns(body)]
        head = next(t for t in frames if t.child_frame_id == "head_b1" and stamp_ns(t) == stamp_ns(body))
        v, q, h = body.transform.translation, body.transform.rotation, head.transform.translation
        pelvis = np.array([v.x, v.y, v.z])
        np.testing.assert_allclose(pelvis, world[JOINT_INDEX["pelvis"]], atol=1e-4)
        head_in_floor = pelvis + Rotation.from_quat([q.x, q.y, q.z, q.w]).apply([h.x, h.y, h.z])
        np.testing.assert_allclose(head_in_floor, world[JOINT_INDEX["head"]], atol=1e-4)
        checked += 1
    assert checked >= 0.8 * len(skeletons)
    camera_tf = [t.transform for t in frames if t.child_frame_id == "cam_floor"][-1]
    r = camera_tf.rotation
    floor_to_camera = Rotation.from_quat([r.x, r.y, r.z, r.w]).inv()
    camera_position = -floor_to_camera.apply([camera_tf.translation.x, camera_tf.translation.y, camera_tf.translation.z])
    assert camera_position[1] == pytest.approx(float(values["camera_height_m"]), abs=0.05)  # the camera's height

    assert {tuple(t.ids) for t in tracked} == {("b1",)}  # hri_msgs/IdsList, REP-155
    assert {stamp_ns(t) for t in tracked} <= image_stamps
    markers = received["/humans/bodies/markers"]
    assert markers and {mk.ns for m in markers for mk in m.markers} == {"b1"}
    assert float(values["latency_ms_p50"]) > 0

    assert pose.stop() == 0 and camera.stop() == 0
    assert pose.wait_for_output(r"stopped: \d+ frames received, \d+ processed", timeout=1), pose.output()


# --- bad input ----------------------------------------------------------------------------------------

def raw_image(encoding: str, height: int, width: int, step: int, data: bytes, stamp_s: int) -> Image:
    msg = Image(height=height, width=width, encoding=encoding, step=step)
    msg.header.stamp.sec = stamp_s
    msg.data = data
    return msg


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_bad_images_and_nan_landmarks_do_not_stop_the_node(ros_process, probe):
    pose = start(ros_process, POSE, f"estimator:={__name__}:BrightnessEstimator", "diagnostics_period:=0.3",
                 env={"PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])})
    assert pose.wait_for_output(r"ready: ", timeout=30), pose.output()
    received = collect(probe, {"/humans/bodies/b1/skeleton3d": (PoseArray, RECEIVE_ALL),
                               "/diagnostics": (DiagnosticArray, RECEIVE_ALL)})
    publisher = probe.node.create_publisher(Image, "camera/image_raw", 10)
    wait_for_subscriber(probe, publisher)

    def rgb(value: int, stamp_s: int) -> Image:
        msg = image_to_msg(np.full((48, 32, 3), value, np.uint8), "rgb8")
        msg.header.stamp.sec = stamp_s
        return msg

    bad = [
        raw_image("16UC1", 4, 4, 8, bytes(32), 1),            # depth image: unsupported encoding
        raw_image("yuv422", 4, 4, 8, bytes(32), 2),           # unsupported encoding
        raw_image("rgb8", 0, 0, 0, b"", 3),                   # zero-size
        raw_image("rgb8", 4, 4, 12, bytes(40), 4),            # truncated: 40 bytes, 48 needed
        rgb(10, 5),                                           # dark: the estimator returns NaN landmarks
        rgb(128, 6),                                          # grey: nobody in view
    ]
    for msg in bad + [rgb(250, 7)]:  # then a good frame
        publisher.publish(msg)
        probe.spin_for(0.15)  # one at a time, so that none is replaced before the worker takes it
    assert spin_until(probe, lambda: received["/humans/bodies/b1/skeleton3d"], 10), pose.output()
    (skeleton,) = received["/humans/bodies/b1/skeleton3d"]
    assert skeleton.header.stamp.sec == 7

    def counted() -> bool:
        status = last_pose_status(received["/diagnostics"])
        return status is not None and int(status_values(status)["frames_processed"]) >= 2
    assert spin_until(probe, counted, 5), pose.output()
    values = status_values(last_pose_status(received["/diagnostics"]))
    assert (values["frames_received"], values["bad_images"], values["invalid_landmarks"],
            values["frames_without_person"], values["frames_processed"], values["failed_frames"]) == \
        ("7", "4", "1", "1", "2", "0"), values
    warnings = [s for a in received["/diagnostics"] for s in a.status if s.level == DiagnosticStatus.WARN]
    assert warnings and any("NaN" in s.message or "encoding" in s.message or "bytes" in s.message for s in warnings)
    output = pose.output()
    assert "skipped a frame" in output and "Traceback" not in output
    assert pose.alive() and probe.wait_for_node("pose_estimator", timeout=5)


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_frames_faster_than_inference_are_dropped_and_counted(ros_process, probe, video_path):
    from motionllm.perception.sources import VideoFileSource

    with VideoFileSource(video_path, fps=None, width=360) as source:
        frames = [rgb for rgb, _ in source]
    pose = start(ros_process, POSE, "diagnostics_period:=0.3")
    assert pose.wait_for_output(r"ready: blazepose", timeout=30), pose.output()
    diagnostics = collect(probe, {"/diagnostics": (DiagnosticArray, RECEIVE_ALL)})["/diagnostics"]
    publisher = probe.node.create_publisher(Image, "camera/image_raw", 10)
    wait_for_subscriber(probe, publisher)
    probe.spin_for(0.5)  # the node's reader matches this publisher too (discovery goes both ways)
    for rgb in frames:  # about 200 fps, several times faster than BlazePose
        publisher.publish(image_to_msg(rgb, "rgb8", stamp=probe.node.get_clock().now().to_msg()))
        probe.spin_for(0.005)

    def settled() -> bool:  # the worker has taken the last frame: every frame received is accounted for
        status = last_pose_status(diagnostics)
        if status is None:
            return False
        v = status_values(status)
        return int(v["frames_processed"]) + int(v["frames_dropped"]) == int(v["frames_received"]) > 0
    assert spin_until(probe, settled, 15), f"{last_pose_status(diagnostics)}\n{pose.output()}"
    probe.spin_for(0.7)  # and nothing more arrives
    values = status_values(last_pose_status(diagnostics))
    received, processed, dropped = (int(values[k]) for k in ("frames_received", "frames_processed", "frames_dropped"))
    assert processed + dropped == received and dropped > 0 and processed >= 2, values
    # Frames replaced in the middleware's one-frame queue before the node's callback saw them are
    # counted as lost (from gaps in the sequence numbers): sent = received + lost, up to the frames sent
    # before the node's reader had matched this publisher.
    assert received + int(values["frames_lost"]) <= VIDEO_FRAMES, values
    # No backlog: a frame is processed within about one inference of its arrival, or not at all (a queue
    # of 100 frames would make the later ones wait for all those before them).
    assert float(values["latency_ms_p95"]) < 3 * float(values["inference_ms_p95"]) + 200.0, values
    assert pose.stop() == 0
    assert pose.wait_for_output(rf"stopped: {values['frames_received']} frames received, {processed} processed, "
                                rf"{dropped} dropped", timeout=1), pose.output()


@pytest.mark.ros
@pytest.mark.timeout(60)
@pytest.mark.parametrize("parameter, message", [
    ("estimator:=openpose", "unknown pose estimator 'openpose'"),
    ("image_qos:=fast", "image_qos must be one of reliable, best_effort"),
    ("camera_height_m:=-1.0", "camera_height_m"),
    ("horizontal_fov_deg:=200.0", "horizontal_fov_deg"),
])
def test_pose_estimator_refuses_bad_parameters_in_one_line(ros_process, parameter, message):
    pose = start(ros_process, POSE, parameter)
    assert pose.popen.wait(timeout=30) == 2
    lines = pose.output().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pose_estimator: error:") and message in lines[0], lines


# --- camera_source ------------------------------------------------------------------------------------

@pytest.mark.ros
@pytest.mark.timeout(60)
def test_camera_source_survives_a_bad_source_and_takes_a_good_one(ros_process, probe, tmp_path, video_path):
    received = collect(probe, {"camera/image_raw": (Image, RECEIVE_ALL), "/diagnostics": (DiagnosticArray, RECEIVE_ALL)})
    camera = start(ros_process, CAMERA, f"source:={tmp_path / 'missing.mp4'}")
    assert camera.wait_for_output(r"\[ERROR\].*cannot open source .*no such video file", timeout=30), camera.output()
    errors = lambda: [s for a in received["/diagnostics"] for s in a.status  # noqa: E731
                      if s.name.startswith("camera_source") and s.level == DiagnosticStatus.ERROR]
    assert spin_until(probe, errors, 5), camera.output()
    assert "no such video file" in errors()[0].message
    assert camera.alive() and received["camera/image_raw"] == []

    (refused,) = probe.set_parameters("camera_source", rate_mode="slow")
    assert not refused.successful and "rate_mode must be one of" in refused.reason
    # Set one by one, in this order: the source last, so that no frame goes out at the old size.
    results = probe.set_parameters("camera_source", width=90, rate_mode="max", source=str(video_path))
    assert all(r.successful for r in results), [r.reason for r in results]
    assert spin_until(probe, lambda: len(received["camera/image_raw"]) >= 20, 15), camera.output()
    images = received["camera/image_raw"]
    assert {(m.encoding, m.width, m.height, m.header.frame_id) for m in images} == {("rgb8", 90, 160, "camera")}
    stamps = [stamp_ns(m) for m in images]
    assert stamps == sorted(stamps) and abs(stamps[-1] - time.time_ns()) < 10e9  # capture times, wall clock


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_camera_source_refuses_a_bad_rate_mode_in_one_line(ros_process, video_path):
    camera = start(ros_process, CAMERA, f"source:={video_path}", "rate_mode:=slow")
    assert camera.popen.wait(timeout=30) == 2
    lines = camera.output().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("camera_source: error: rate_mode must be one of"), lines


@pytest.mark.ros
@pytest.mark.timeout(60)
def test_camera_source_with_exit_on_source_error_ends_on_a_source_that_cannot_play(ros_process, tmp_path):
    """What `motionllm ros up` starts: a broken video ends the node (and so the graph) instead of idling."""
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 4096)
    camera = start(ros_process, CAMERA, f"source:={broken}", "exit_on_source_error:=true")
    assert camera.popen.wait(timeout=30) == 2, camera.output()
    lines = camera.output().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("camera_source: error: cannot open source"), lines


@pytest.mark.ros
@pytest.mark.timeout(90)
def test_two_people_are_two_bodies_with_their_own_topics(ros_process, probe, video_path):
    """Two copies of the real video side by side, as camera images: /humans/bodies/tracked lists two ids, each
    with its own skeleton topic."""
    from motionllm.perception.sources import VideoFileSource, resize

    with VideoFileSource(video_path, fps=None, width=360) as source:
        frames = [rgb for rgb, _ in source]
    pose = start(ros_process, POSE, "max_people:=2")
    assert pose.wait_for_output(r"ready: blazepose", timeout=30), pose.output()
    received = collect(probe, {"/humans/bodies/tracked": (IdsList, RECEIVE_ALL),
                               "/humans/bodies/b2/skeleton3d": (PoseArray, RECEIVE_ALL)})
    publisher = probe.node.create_publisher(Image, "camera/image_raw", 10)
    wait_for_subscriber(probe, publisher)
    probe.spin_for(0.5)
    for k in range(40, 70):  # both people in view and standing out in these frames
        left, right = frames[k], np.ascontiguousarray(frames[(k + 30) % len(frames)][:, ::-1])
        rgb = np.ascontiguousarray(np.hstack([resize(left, 320, 480), resize(right, 320, 480)]))
        publisher.publish(image_to_msg(rgb, "rgb8", stamp=probe.node.get_clock().now().to_msg()))
        probe.spin_for(0.1)  # 10 fps: every frame is processed
    assert spin_until(probe, lambda: any(len(m.ids) == 2 for m in received["/humans/bodies/tracked"]), 10), pose.output()
    pairs = [tuple(m.ids) for m in received["/humans/bodies/tracked"] if len(m.ids) == 2]
    assert len(pairs) >= 15 and set(pairs) == {("b1", "b2")}, pairs
    assert received["/humans/bodies/b2/skeleton3d"]
    assert max(len(m.ids) for m in received["/humans/bodies/tracked"]) == 2
    assert pose.stop() == 0
