"""pose_estimator: camera images -> tracked, smoothed 3D skeletons, named as in ROS4HRI (REP-155).

Subscribes
  camera/image_raw  sensor_msgs/Image  rgb8, bgr8 or mono8; keep last 1, reliable (or best effort: `image_qos`)
Publishes (every message's header.stamp is the stamp of the image it came from)
  /humans/bodies/tracked             hri_msgs/IdsList  the ids of the bodies tracked ("b1", ...), once per
                                     processed frame (our hri_msgs package: ROS4HRI's layout)
  /humans/bodies/<id>/skeleton3d     geometry_msgs/PoseArray  22 SMPL joints, T2M order, metres, in the
                                     camera's world frame (motionllm.perception.root): origin on the floor
                                     below the camera, Y up, Z horizontal towards the camera, X to the
                                     image's right; each body where it is, feet on the floor. frame_id =
                                     `frame_id` ("<image frame_id>_floor" by default). With root:=false the
                                     old body frame: pelvis at the origin, axes tilted with the camera
                                     ("body_<id>")
  /humans/bodies/<id>/skeleton2d     hri_msgs/Skeleton2D  ROS4HRI's 18 keypoints, normalised image
                                     coordinates (x right, y down, 0..1) and confidence; frame_id = the image's
  /humans/bodies/<id>/keypoints2d    geometry_msgs/PolygonStamped  all 33 MediaPipe landmarks in image
                                     pixels: x right, y down, z = confidence in [0, 1] (not depth)
  /humans/bodies/<id>/joint_states   sensor_msgs/JointState  the person as a human model: each SMPL joint but
                                     the pelvis a ball joint, three angles <joint>_z, _y, _x (rad; about the
                                     parent's axes in that order) on the rest skeleton (hri.joint_angles);
                                     the pelvis is body_<id> on /tf
  /humans/bodies/<id>/posture        hri_msgs/BodyPosture  standing, sitting, crouching, laying or other
                                     (motionllm.perception.hri.posture; world-frame skeletons only)
  /humans/bodies/<id>/gesture        hri_msgs/Gesture  a hand raised, both, hands on face, arms crossed or
                                     other (motionllm.perception.hri.gesture)
  /tf                                tf2_msgs/TFMessage  with root: <camera> -> <camera>_floor (the camera's
                                     estimated height and tilt), <camera>_floor -> body_<id> (pelvis, facing
                                     along +Z, Y up) and body_<id> -> <joint>_<id> for the 21 other SMPL joints
                                     (publish_tf, default true); tf2_ros's QoS
  /humans/bodies/markers             visualization_msgs/MarkerArray  every body's skeleton (ns = its id);
                                     a body that is lost gets DELETE markers
  /diagnostics                       diagnostic_msgs/DiagnosticArray  "pose_estimator: bodies" every
                                     `diagnostics_period` s: frames received/processed/dropped, bad input,
                                     camera-to-skeleton latency and inference time (p50, p95)
Parameters (read at start-up; track_timeout and max_jump also live: `ros2 param set`)
  estimator            "blazepose" (default: up to max_people per image), "blazepose_single" (MediaPipe's legacy
                       one-person solution) or "package.module:Class" of a motionllm PoseEstimator
  max_people           most people per image (default 4); each is tracked with its own id
  image_qos            "reliable" (default) or "best_effort"; the queue is keep-last 1 either way
  min_detection_confidence, min_tracking_confidence   BlazePose thresholds, 0..1 (default 0.5)
  smoothing            One-Euro filter per body (default true); min_cutoff (Hz), beta, d_cutoff (Hz)
  track_timeout        seconds a body may be unseen before it ends; it then comes back with a new id
  max_jump             largest move between frames, in box diagonals, for a person to keep their id
  root                 world-frame skeletons with root and gravity (default true); false: the body frame
  horizontal_fov_deg   the camera's horizontal field of view (default 60), unless focal_px > 0
  focal_px, focal_width_px   focal length in pixels, for images focal_width_px wide (0: as received)
  camera_tilt_known    false (default): pitch and roll estimated from standing people; true: use
  camera_pitch_deg, camera_roll_deg   (pitch positive looking down; roll positive counter-clockwise)
  camera_height_m      height of the camera above the floor; 0 (default): estimated from the feet
  frame_id             frame of the skeletons; "{camera}" is replaced by the image's frame_id and "{id}"
                       by the body id (default "": "{camera}_floor", or "body_{id}" with root:=false)
  publish_tf           the transforms above on /tf (default true)
  diagnostics_period   seconds between /diagnostics messages

Never a backlog: the subscription keeps the newest image only, and a worker thread always processes
the newest one received; an image replaced before the worker took it is dropped and counted
(frames_dropped). Images the publisher sent that never reached the node (gaps in the publication
sequence numbers: lost in transport, or replaced in the middleware's one-image queue) are counted as
frames_lost; this count assumes a single image publisher. Why reliable by default: on this project's
test machine a best-effort keep-last-1 reader lost 30-40 % of 360x640 frames sent at 20 fps even while
idle (UDP and LARGE_DATA transports alike), a reliable one none; with keep-last 1 a reliable reader
still never builds a backlog (the writer replaces, it does not block). Bad input
(encodings other than rgb8/bgr8/mono8, empty or truncated images, NaN landmarks) is logged (throttled),
counted and reported on /diagnostics; the node keeps going. A summary is logged on shutdown.

Run: `ros2 run motionllm_ros pose_estimator --ros-args --params-file launch/pose_estimator.yaml`
  or `python -m motionllm_ros.pose_estimator`
"""
from __future__ import annotations

import sys
import threading
import time
from collections import deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point32, PolygonStamped, PoseArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from hri_msgs.msg import BodyPosture, Gesture, IdsList, NormalizedPointOfInterest2D, Skeleton2D
from tf2_msgs.msg import TFMessage
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.perception import hri
from motionllm.perception.pose import InvalidLandmarksError, accepted_options, make_estimator
from motionllm.perception.root import DEFAULT_HFOV_DEG, RootConfig, RootEstimator
from motionllm.perception.smoothing import BETA, D_CUTOFF_HZ, MIN_CUTOFF_HZ, SkeletonSmoother
from motionllm.perception.stage import WORLD, PoseStage, TrackedBody
from motionllm.perception.tracking import Tracker
from motionllm_ros.conversions import TF_QOS, TF_TOPIC, joints_to_pose_array, msg_to_image, skeleton_markers, tf_message
from motionllm_ros.diagnostics import DIAGNOSTICS_TOPIC, OK, WARN, diagnostic_array, shutdown_logger
from motionllm_ros.node_main import run_node
from motionllm_ros.parameters import Parameters

IMAGE_TOPIC = "camera/image_raw"
BODIES = "/humans/bodies"
# Keep last 1: the middleware holds only the newest image for us. Reliability is the `image_qos` parameter.
IMAGE_RELIABILITY = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}


def image_qos(reliability: str = "reliable") -> QoSProfile:
    return QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=IMAGE_RELIABILITY[reliability],
                      durability=DurabilityPolicy.VOLATILE)

OUTPUT_DEPTH = 10
LATENCY_WINDOW = 300  # frames over which the latency percentiles are taken
LOG_THROTTLE_S = 5.0
BAD_INPUT = ("bad_images", "invalid_landmarks", "failed_frames")
WORLD_FRAME_ID = "{camera}_floor"  # the default skeleton frame with a root: one world frame per camera
BODY_FRAME_ID = "body_{id}"        # ... and without (root:=false): one frame per body, pelvis at the origin


def body_name(track_id: int) -> str:
    """The REP-155 body id of a track: a valid ROS name token (letters first), unique for the node's life."""
    return f"b{track_id}"


def image_to_rgb(msg: Image) -> np.ndarray:
    """rgb8 / bgr8 / mono8 Image -> RGB uint8 (H, W, 3). Raises MotionFormatError (encoding, size)."""
    image = msg_to_image(msg)
    if msg.encoding == "bgr8":
        return image[:, :, ::-1]
    if msg.encoding == "mono8":
        return np.repeat(image[:, :, None], 3, axis=2)
    return image


def keypoints_message(body: TrackedBody, header: Header) -> PolygonStamped:
    msg = PolygonStamped(header=header)
    points = np.column_stack([body.pose.keypoints, body.pose.confidences]).astype(np.float64).tolist()
    msg.polygon.points = [Point32(x=x, y=y, z=c) for x, y, c in points]
    return msg


def skeleton2d_message(body: TrackedBody, header: Header, width: int, height: int) -> Skeleton2D:
    points = hri.skeleton2d(body.pose.keypoints, body.pose.confidences, width, height).tolist()
    return Skeleton2D(header=header, skeleton=[NormalizedPointOfInterest2D(x=x, y=y, c=c) for x, y, c in points])


def body_transforms(name: str, joints: np.ndarray, floor_frame: str) -> list[tuple]:
    """TF of one world-frame body: floor -> body_<id>, and body_<id> -> <joint>_<id> (positions only)."""
    pelvis, facing, offsets = hri.body_frames(joints)
    body = f"body_{name}"
    identity = (0.0, 0.0, 0.0, 1.0)
    return [(floor_frame, body, pelvis, facing)] + [(body, f"{joint}_{name}", offset, identity)
                                                    for joint, offset in offsets.items()]


def inverse_transform(parent: str, child: str, position: np.ndarray, orientation: np.ndarray) -> tuple:
    """`parent`'s pose (position, x y z w) in `child`'s frame, as the transform parent -> child."""
    from scipy.spatial.transform import Rotation

    inverse = Rotation.from_quat(orientation).inv()
    return parent, child, -inverse.apply(position), inverse.as_quat()


def tracked_message(ids: list[str], header: Header) -> IdsList:
    return IdsList(header=header, ids=list(ids))


def delete_markers(ns: str, header: Header) -> list[Marker]:
    return [Marker(header=header, ns=ns, id=marker_id, action=Marker.DELETE) for marker_id in (0, 1)]


def stamp_seconds(header: Header) -> float:
    return header.stamp.sec + header.stamp.nanosec * 1e-9


class Counters:
    """What the worker did, read by the diagnostics timer (guarded by the node's lock)."""

    def __init__(self) -> None:
        self.received = self.processed = self.dropped = self.lost = self.no_person = 0
        self.last_sequence: int | None = None  # publication sequence number of the last image received
        self.bad = {kind: 0 for kind in BAD_INPUT}
        self.latency_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)    # capture stamp -> skeletons published
        self.inference_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)  # the pose stage alone
        self.last_error = ""
        self.errors_since_report = 0
        # The camera as the root estimate sees it after the last frame: (pitch, roll, height or nan, standing frames)
        self.camera = (float("nan"), float("nan"), float("nan"), 0)

    def percentiles(self, values: deque) -> tuple[float, float]:
        if not values:
            return float("nan"), float("nan")
        p50, p95 = np.percentile(np.array(values), [50, 95])
        return float(p50), float(p95)


class PoseEstimatorNode(Node):
    def __init__(self) -> None:
        super().__init__("pose_estimator")
        self._declare_parameters()
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        spec = value("estimator")
        if value("image_qos") not in IMAGE_RELIABILITY:
            raise MotionLLMError(f"image_qos must be one of {', '.join(IMAGE_RELIABILITY)}, got {value('image_qos')!r}")
        estimator = self._make_estimator(spec)
        smoother = None
        if value("smoothing"):
            smoother = SkeletonSmoother(value("min_cutoff"), value("beta"), value("d_cutoff"))
        root = RootEstimator(self._root_config()) if value("root") else None
        self._stage = PoseStage(estimator, Tracker(value("track_timeout"), value("max_jump")), smoother, root)
        self._frame_id = value("frame_id") or (WORLD_FRAME_ID if root is not None else BODY_FRAME_ID)

        self._tracked_pub = self.create_publisher(IdsList, f"{BODIES}/tracked", OUTPUT_DEPTH)
        self._markers_pub = self.create_publisher(MarkerArray, f"{BODIES}/markers", OUTPUT_DEPTH)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, OUTPUT_DEPTH)
        self._body_pubs: dict[int, tuple] = {}  # track id -> its publishers (skeleton3d, keypoints2d, ...)
        self._tf_pub = self.create_publisher(TFMessage, TF_TOPIC, TF_QOS) if value("publish_tf") else None

        self._lock = threading.Condition()
        self._counters = Counters()
        self._pending: Image | None = None
        self._stopping = False
        self._worker = threading.Thread(target=self._work, name="pose_estimator_worker", daemon=True)
        self._worker.start()
        self._subscription = self.create_subscription(Image, IMAGE_TOPIC, self._on_image,
                                                      image_qos(value("image_qos")))
        self.create_timer(value("diagnostics_period"), self._publish_diagnostics)
        self.get_logger().info(f"ready: {spec} on {self._subscription.topic_name}, bodies on {BODIES} "
                               f"({self._describe_root()})")

    def _root_config(self) -> RootConfig:
        """The camera as the parameters give it. Raises RootError (one line) for values it cannot use."""
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        known = value("camera_tilt_known")
        return RootConfig(horizontal_fov_deg=value("horizontal_fov_deg"), focal_px=value("focal_px"),
                          focal_width=value("focal_width_px"),
                          pitch_deg=value("camera_pitch_deg") if known else None,
                          roll_deg=value("camera_roll_deg") if known else None,
                          camera_height_m=value("camera_height_m") or None)

    def _describe_root(self) -> str:
        root = self._stage.root
        if root is None:
            return f"body frame {self._frame_id}, pelvis at the origin"
        c = root.config
        lens = (f"focal {c.focal_px:g} px" + (f" at {c.focal_width} px wide" if c.focal_width else "")
                if c.focal_px > 0 else f"horizontal FOV {c.horizontal_fov_deg:g} deg")
        tilt = f"pitch {c.pitch_deg:g}, roll {c.roll_deg:g} deg" if c.tilt_known else "tilt estimated"
        height = f"height {c.camera_height_m:g} m" if c.camera_height_m else "height estimated"
        return f"world frame {self._frame_id}: {lens}, {tilt}, {height}"

    def _declare_parameters(self) -> None:
        declare = Parameters(self).declare

        def live_tracker(attribute):  # the tracker reads these on every frame
            return lambda value: setattr(self._stage.tracker, attribute, value)

        declare("estimator", "blazepose",
                "Pose estimator: blazepose, or package.module:Class of a motionllm PoseEstimator")
        declare("image_qos", "reliable", "Reliability of the keep-last-1 image subscription: reliable or best_effort")
        declare("max_people", 4, "Most people found per image (blazepose: MediaPipe's pose landmarker)", (1, 16))
        declare("min_detection_confidence", 0.5, "BlazePose: person detector threshold", (0.0, 1.0))
        declare("min_tracking_confidence", 0.5, "BlazePose: below this the detector runs again", (0.0, 1.0))
        declare("smoothing", True, "One-Euro filter on each body's joints")
        declare("min_cutoff", MIN_CUTOFF_HZ, "One-Euro cutoff frequency at rest, Hz", (0.001, 100.0))
        declare("beta", BETA, "One-Euro cutoff increase (Hz) per m/s of joint speed", (0.0, 1000.0))
        declare("d_cutoff", D_CUTOFF_HZ, "One-Euro cutoff frequency of the speed estimate, Hz", (0.001, 100.0))
        declare("track_timeout", 1.0, "Seconds unseen before a body ends (it returns with a new id)", (0.0, 60.0),
                live=live_tracker("timeout_s"))
        declare("max_jump", 0.5, "Largest move between frames, in body-box diagonals, to keep an id", (0.01, 10.0),
                live=live_tracker("max_jump"))
        declare("root", True, "Skeletons in the camera's world frame, with root and gravity (false: pelvis at the "
                              "origin)")
        declare("horizontal_fov_deg", DEFAULT_HFOV_DEG,
                "Horizontal field of view of the camera, degrees (used unless focal_px > 0)", (1.0, 179.0))
        declare("focal_px", 0.0, "Focal length in pixels (0: from horizontal_fov_deg)", (0.0, 1e6))
        declare("focal_width_px", 0, "Image width focal_px is given for (0: the images as received)", (0, 100000))
        declare("camera_tilt_known", False, "Use camera_pitch_deg and camera_roll_deg (false: estimated from standing "
                                            "people)")
        declare("camera_pitch_deg", 0.0, "Camera pitch, degrees, positive looking down", (-89.9, 89.9))
        declare("camera_roll_deg", 0.0, "Camera roll, degrees, positive turned counter-clockwise about its viewing "
                                        "direction", (-89.9, 89.9))
        declare("camera_height_m", 0.0, "Camera height above the floor, m (0: estimated from the feet)", (0.0, 100.0))
        declare("frame_id", "", "Frame of the skeletons; {camera} is the image's frame_id, {id} the body id "
                                "(empty: {camera}_floor, or body_{id} with root false)")
        declare("publish_tf", True, "Publish camera -> <camera>_floor -> body_<id> -> <joint>_<id> on /tf (with root)")
        declare("diagnostics_period", 1.0, "Seconds between /diagnostics messages", (0.05, 60.0))

    def _make_estimator(self, spec: str):
        """The estimator, given the options among ours that its constructor takes (a plug-in may take none)."""
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        names = ("max_people", "min_detection_confidence", "min_tracking_confidence")
        return make_estimator(spec, **accepted_options(spec, **{name: value(name) for name in names}))

    # --- newest image in, one at a time -----------------------------------------------------------

    def _on_image(self, msg: Image, info: dict) -> None:
        sequence = info.get("publication_sequence_number")
        with self._lock:
            c = self._counters
            c.received += 1
            if sequence is not None:
                if c.last_sequence is not None and sequence > c.last_sequence:
                    c.lost += sequence - c.last_sequence - 1
                c.last_sequence = sequence  # a smaller number: a new publisher; start counting again
            if self._pending is not None:  # the worker is still busy: the older image is never processed
                self._counters.dropped += 1
            self._pending = msg
            self._lock.notify()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._pending is not None or self._stopping)
                if self._stopping:
                    return
                msg, self._pending = self._pending, None
            try:
                self._process(msg)
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any one frame
                if not self.context.ok():  # shut down under this thread (Ctrl-C): just stop
                    return
                self._bad_input("failed_frames", f"{type(exc).__name__}: {exc}")

    def _process(self, msg: Image) -> None:
        header = msg.header
        try:
            rgb = image_to_rgb(msg)
            start = time.perf_counter()
            bodies, ended = self._stage.process(rgb, stamp_seconds(header))
            inference_ms = (time.perf_counter() - start) * 1e3
        except MotionFormatError as exc:  # ImageError, InvalidLandmarksError, bad encodings and sizes
            kind = "invalid_landmarks" if isinstance(exc, InvalidLandmarksError) else "bad_images"
            self._bad_input(kind, exc)
            return
        self._publish(bodies, ended, header, rgb.shape[1], rgb.shape[0])
        root = self._stage.root
        camera = None
        if root is not None:
            height = root.camera_height
            camera = (*root.tilt_deg, float("nan") if height is None else height, root.standing_samples)
        latency_ms = (time.time_ns() - (header.stamp.sec * 1_000_000_000 + header.stamp.nanosec)) * 1e-6
        with self._lock:
            self._counters.processed += 1
            self._counters.no_person += not bodies
            self._counters.inference_ms.append(inference_ms)
            self._counters.latency_ms.append(latency_ms)
            if camera is not None:
                self._counters.camera = camera

    def _bad_input(self, kind: str, exc: Exception | str) -> None:
        with self._lock:
            self._counters.bad[kind] += 1
            self._counters.last_error = f"{kind.replace('_', ' ')}: {exc}"
            self._counters.errors_since_report += 1
        self.get_logger().warning(f"skipped a frame: {exc}", throttle_duration_sec=LOG_THROTTLE_S)

    def _publish(self, bodies: list[TrackedBody], ended: list[int], header: Header, width: int, height: int) -> None:
        markers, transforms = [], []
        camera = header.frame_id or "camera"
        root = self._stage.root
        if root is not None and root.camera_height is not None:
            position, orientation = hri.camera_pose_in_floor(root.rotation, root.camera_height)
            transforms.append(inverse_transform(camera, f"{camera}_floor", position, orientation))
        for track_id in ended:
            for publisher in self._body_pubs.pop(track_id, ()):
                self.destroy_publisher(publisher)
            markers += delete_markers(body_name(track_id), header)
        for body in bodies:
            name = body_name(body.id)
            if body.id not in self._body_pubs:
                self._body_pubs[body.id] = tuple(
                    self.create_publisher(kind, f"{BODIES}/{name}/{topic}", OUTPUT_DEPTH)
                    for kind, topic in ((PoseArray, "skeleton3d"), (PolygonStamped, "keypoints2d"),
                                        (Skeleton2D, "skeleton2d"), (BodyPosture, "posture"), (Gesture, "gesture"),
                                        (JointState, "joint_states")))
                self.get_logger().info(f"new body {name}")
            skeleton_pub, keypoints_pub, skeleton2d_pub, posture_pub, gesture_pub, joints_pub = self._body_pubs[body.id]
            frame_id = self._frame_id.replace("{id}", name).replace("{camera}", camera)
            skeleton_pub.publish(joints_to_pose_array(body.joints, header.stamp, frame_id))
            keypoints_pub.publish(keypoints_message(body, header))
            skeleton2d_pub.publish(skeleton2d_message(body, header, width, height))
            if body.frame == WORLD:  # posture needs the floor; a gesture only the upright skeleton
                posture_pub.publish(BodyPosture(header=header, posture=hri.POSTURES.index(hri.posture(body.joints))))
                gesture_pub.publish(Gesture(header=header, gesture=hri.GESTURES.index(hri.gesture(body.joints))))
                transforms += body_transforms(name, body.joints, frame_id)
                joints_pub.publish(JointState(header=Header(stamp=header.stamp, frame_id=f"body_{name}"),
                                              name=list(hri.JOINT_ANGLE_NAMES),
                                              position=hri.joint_angles(body.joints).tolist()))
            markers += skeleton_markers(body.joints, header.stamp, frame_id, ns=name).markers
        self._tracked_pub.publish(tracked_message([body_name(i) for i in self._stage.tracker.active_ids], header))
        if markers:
            self._markers_pub.publish(MarkerArray(markers=markers))
        if self._tf_pub is not None and transforms:
            self._tf_pub.publish(tf_message(header.stamp, transforms))

    # --- reporting ------------------------------------------------------------------------------------

    def _snapshot(self) -> tuple[dict[str, object], int, str]:
        """(counters for /diagnostics, errors since the last report, the last error); resets the error count."""
        with self._lock:
            c = self._counters
            latency, inference = c.percentiles(c.latency_ms), c.percentiles(c.inference_ms)
            values = {"frames_received": c.received, "frames_processed": c.processed, "frames_dropped": c.dropped,
                      "frames_lost": c.lost,
                      "frames_without_person": c.no_person, **c.bad,
                      "tracked_bodies": len(self._stage.tracker.tracks),
                      "root_failures": self._stage.root_failures,
                      "camera_pitch_deg": round(c.camera[0], 2), "camera_roll_deg": round(c.camera[1], 2),
                      "camera_height_m": round(c.camera[2], 3), "standing_frames": c.camera[3],
                      "latency_ms_p50": latency[0], "latency_ms_p95": latency[1],
                      "inference_ms_p50": inference[0], "inference_ms_p95": inference[1]}
            errors, last_error = c.errors_since_report, c.last_error
            c.errors_since_report = 0
        return values, errors, last_error

    def _publish_diagnostics(self) -> None:
        values, errors, last_error = self._snapshot()
        if errors:
            level, message = WARN, f"{errors} bad frame(s) since the last report; last: {last_error}"
        else:
            level, message = OK, f"{values['tracked_bodies']} body(ies) tracked"
        self._diagnostics_pub.publish(diagnostic_array(self.get_clock().now().to_msg(), "pose_estimator: bodies",
                                                       level, message, values, hardware_id=self._subscription.topic_name))

    def summary(self) -> str:
        values, _, _ = self._snapshot()
        received = max(int(values["frames_received"]), 1)
        return (f"{values['frames_received']} frames received, {values['frames_processed']} processed, "
                f"{values['frames_dropped']} dropped ({100.0 * int(values['frames_dropped']) / received:.0f}%), "
                f"{values['frames_lost']} lost before reaching the node, "
                f"{values['bad_images']} bad images, {values['invalid_landmarks']} with invalid landmarks, "
                f"{values['failed_frames']} failed, "
                f"{values['frames_without_person']} without a person; camera-to-skeleton latency "
                f"p50 {values['latency_ms_p50']:.1f} ms, p95 {values['latency_ms_p95']:.1f} ms")

    def shutdown(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._worker.join(timeout=5.0)
        self._stage.close()
        shutdown_logger(self).info(f"stopped: {self.summary()}")


def main(args: list[str] | None = None) -> int:
    return run_node(PoseEstimatorNode, "pose_estimator", args, large_data=True)


if __name__ == "__main__":
    sys.exit(main())
