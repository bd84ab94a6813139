"""numpy <-> standard ROS 2 messages, shared by every node. Pure functions: no node, no DDS.

Conventions (see docs/ros.md):
- Motion coordinates are the library's canonical ones, unchanged: metres, Y up, the person facing +Z
  at frame 0. Messages carry them in `frame_id` (default "motion"); a viewer with a Z-up fixed frame
  needs a static transform rotating +90 degrees about X (quaternion x=w=sqrt(1/2)).
- A skeleton frame is a geometry_msgs/PoseArray of 22 poses in T2M joint order
  (motionllm.motion.skeleton.JOINT_NAMES) with identity orientations: positions are all we know.
- A whole motion is a std_msgs/Float32MultiArray, row-major (T, 22, 3), with layout dims
  ("time", T), ("joint", 22), ("xyz", 3) and a fourth dim of size 1 labelled "fps=<rate>" that
  carries the frame rate; data_offset is 0. A size-1 dim does not change the indexing, so generic
  tools still read the array correctly.
- Images are sensor_msgs/Image in rgb8, bgr8 or mono8, uint8, rows packed or padded per `step`.
- Robot joint trajectories are trajectory_msgs/JointTrajectory, one point per control period
  (time_from_start = k / rate) with positions and velocities; a streamed command is a
  sensor_msgs/JointState with the same joint names, positions and velocities (no efforts). The floating base
  goes with it as nav_msgs/Odometry (the robot's world frame, Z up; twist in the base link's frame).

Big arrays go through bytes (array.array from a buffer, np.frombuffer back), never per-element
Python loops. Malformed messages raise MotionFormatError with a one-line reason.
"""
from __future__ import annotations

import array

import numpy as np
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Pose, PoseArray
from nav_msgs.msg import Odometry
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import ColorRGBA, Float32MultiArray, Header, MultiArrayDimension
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import Marker, MarkerArray

from motionllm.errors import MotionFormatError
from motionllm.motion.skeleton import NUM_JOINTS, PARENTS

DEFAULT_FRAME_ID = "motion"
MOTION_DIM_LABELS = ("time", "joint", "xyz")
FPS_LABEL_PREFIX = "fps="
MOTION_ID_LABEL_PREFIX = "id="  # an optional fifth dim: the motion's id (motion_commander's motion_id)
IMAGE_CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}

# QoS of whole motions (`motion/clip`): published once per motion; transient-local keeps the last one for
# subscribers that join later (they must use this QoS too to receive it).
CLIP_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
# The graph's one emergency stop (retargeter and motion_commander): its state, latched for late joiners.
EMERGENCY_STOP_TOPIC = "/emergency_stop"
EMERGENCY_STOP_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                durability=DurabilityPolicy.TRANSIENT_LOCAL)

# (parent, child) for the 21 bones, in joint order.
BONES = tuple((parent, child) for child, parent in enumerate(PARENTS) if parent >= 0)


def make_header(stamp: Time | None = None, frame_id: str = DEFAULT_FRAME_ID) -> Header:
    return Header(stamp=stamp if stamp is not None else Time(), frame_id=frame_id)


def _check_frame(joints: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints)
    if joints.shape != (NUM_JOINTS, 3):
        raise MotionFormatError(f"skeleton frame: expected shape (22, 3), got {joints.shape}")
    return joints


# --- one skeleton frame <-> geometry_msgs/PoseArray ---------------------------------------------

def joints_to_pose_array(joints: np.ndarray, stamp: Time | None = None,
                         frame_id: str = DEFAULT_FRAME_ID) -> PoseArray:
    """(22, 3) joint positions -> PoseArray with 22 identity-oriented poses in T2M order."""
    joints = _check_frame(joints).astype(np.float64)
    msg = PoseArray(header=make_header(stamp, frame_id))
    msg.poses = [Pose() for _ in range(NUM_JOINTS)]  # Pose() has the identity orientation
    for pose, (x, y, z) in zip(msg.poses, joints.tolist()):
        pose.position.x, pose.position.y, pose.position.z = x, y, z
    return msg


def pose_array_to_joints(msg: PoseArray) -> np.ndarray:
    """PoseArray of 22 poses -> (22, 3) float32 positions (orientations are ignored)."""
    if len(msg.poses) != NUM_JOINTS:
        raise MotionFormatError(f"skeleton PoseArray: expected 22 poses, got {len(msg.poses)}")
    return np.array([(p.position.x, p.position.y, p.position.z) for p in msg.poses], dtype=np.float32)


# --- a whole motion <-> std_msgs/Float32MultiArray ------------------------------------------------

def motion_to_multiarray(joints: np.ndarray, fps: float, motion_id: str = "") -> Float32MultiArray:
    """(T, 22, 3) motion at `fps` -> Float32MultiArray with dims time/joint/xyz/fps=<fps>, and id=<motion_id>
    when there is one (it names the motion on robot/status)."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise MotionFormatError(f"motion: expected shape (T, 22, 3), got {joints.shape}")
    if not fps > 0:
        raise MotionFormatError(f"motion: fps must be positive, got {fps}")
    frames = joints.shape[0]
    msg = Float32MultiArray()
    sizes = (frames, NUM_JOINTS, 3)
    strides = (frames * NUM_JOINTS * 3, NUM_JOINTS * 3, 3)
    msg.layout.dim = [MultiArrayDimension(label=label, size=size, stride=stride)
                      for label, size, stride in zip(MOTION_DIM_LABELS, sizes, strides)]
    msg.layout.dim.append(MultiArrayDimension(label=f"{FPS_LABEL_PREFIX}{float(fps):g}", size=1, stride=1))
    if motion_id:
        msg.layout.dim.append(MultiArrayDimension(label=f"{MOTION_ID_LABEL_PREFIX}{motion_id}", size=1, stride=1))
    msg.layout.data_offset = 0
    msg.data = array.array("f", np.ascontiguousarray(joints, dtype=np.float32).tobytes())
    return msg


def multiarray_to_motion(msg: Float32MultiArray) -> tuple[np.ndarray, float]:
    """Float32MultiArray written by `motion_to_multiarray` -> ((T, 22, 3) float32 copy, fps)."""
    dims = list(msg.layout.dim)
    labels = tuple(d.label for d in dims[:3])
    if (len(dims) not in (4, 5) or labels != MOTION_DIM_LABELS or not dims[3].label.startswith(FPS_LABEL_PREFIX)
            or (len(dims) == 5 and not dims[4].label.startswith(MOTION_ID_LABEL_PREFIX))):
        got = [d.label for d in dims][:6]
        raise MotionFormatError(f"motion message: expected dims ['time', 'joint', 'xyz', 'fps=<rate>'] and "
                                f"optionally 'id=<motion id>', got {got}")
    try:
        fps = float(dims[3].label[len(FPS_LABEL_PREFIX):])
    except ValueError:
        raise MotionFormatError(f"motion message: cannot read the frame rate from {dims[3].label!r}") from None
    if not fps > 0:
        raise MotionFormatError(f"motion message: fps must be positive, got {fps}")
    frames = dims[0].size
    if (dims[1].size, dims[2].size) != (NUM_JOINTS, 3):
        raise MotionFormatError(f"motion message: expected 22 joints x 3, got {dims[1].size} x {dims[2].size}")
    data = np.frombuffer(msg.data, dtype=np.float32)[msg.layout.data_offset:]
    if data.size != frames * NUM_JOINTS * 3:
        raise MotionFormatError(f"motion message: {frames} frames need {frames * NUM_JOINTS * 3} floats, "
                                f"got {data.size}")
    return data.reshape(frames, NUM_JOINTS, 3).copy(), fps


def multiarray_motion_id(msg: Float32MultiArray) -> str:
    """The id a motion message carries (motion_to_multiarray's motion_id; "" when it has none)."""
    dims = list(msg.layout.dim)
    if len(dims) == 5 and dims[4].label.startswith(MOTION_ID_LABEL_PREFIX):
        return dims[4].label[len(MOTION_ID_LABEL_PREFIX):]
    return ""


# --- a skeleton frame -> visualization_msgs/MarkerArray --------------------------------------------

def skeleton_markers(joints: np.ndarray, stamp: Time | None = None, frame_id: str = DEFAULT_FRAME_ID,
                     ns: str = "skeleton", color: tuple[float, float, float, float] = (0.1, 0.6, 1.0, 1.0),
                     bone_width: float = 0.02, joint_diameter: float = 0.04) -> MarkerArray:
    """(22, 3) joints -> MarkerArray: id 0 = LINE_LIST of the 21 bones, id 1 = SPHERE_LIST of the joints.

    Publishing again with the same ns/ids replaces the previous frame in RViz.
    """
    points = _check_frame(joints).astype(np.float64).tolist()
    header = make_header(stamp, frame_id)
    rgba = ColorRGBA(r=float(color[0]), g=float(color[1]), b=float(color[2]), a=float(color[3]))

    bones = Marker(header=header, ns=ns, id=0, type=Marker.LINE_LIST, action=Marker.ADD, color=rgba)
    bones.pose.orientation.w = 1.0
    bones.scale.x = bone_width  # line width
    bones.points = [Point(x=x, y=y, z=z) for bone in BONES for x, y, z in (points[bone[0]], points[bone[1]])]

    spheres = Marker(header=header, ns=ns, id=1, type=Marker.SPHERE_LIST, action=Marker.ADD, color=rgba)
    spheres.pose.orientation.w = 1.0
    spheres.scale.x = spheres.scale.y = spheres.scale.z = joint_diameter
    spheres.points = [Point(x=x, y=y, z=z) for x, y, z in points]
    return MarkerArray(markers=[bones, spheres])


# --- robot joint commands -> trajectory_msgs/JointTrajectory, sensor_msgs/JointState -------------------

def duration_msg(seconds: float) -> Duration:
    nanoseconds = int(round(seconds * 1e9))
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def _joint_rows(joint_names, positions: np.ndarray, velocities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positions = np.asarray(positions, dtype=np.float64)
    velocities = np.asarray(velocities, dtype=np.float64)
    if positions.shape != velocities.shape or positions.shape[-1] != len(joint_names):
        raise MotionFormatError(f"joint command: {len(joint_names)} joint names, positions {positions.shape}, "
                                f"velocities {velocities.shape}")
    return positions, velocities


def joint_trajectory_msg(joint_names, positions: np.ndarray, velocities: np.ndarray, rate: float,
                         stamp: Time | None = None, frame_id: str = "") -> JointTrajectory:
    """(N, J) positions and velocities at `rate` Hz -> JointTrajectory with point k at k / rate s."""
    positions, velocities = _joint_rows(joint_names, positions, velocities)
    if positions.ndim != 2:
        raise MotionFormatError(f"joint trajectory: expected (N, J) positions, got {positions.shape}")
    msg = JointTrajectory(header=make_header(stamp, frame_id), joint_names=list(joint_names))
    msg.points = [JointTrajectoryPoint(positions=array.array("d", p.tobytes()),
                                       velocities=array.array("d", v.tobytes()),
                                       time_from_start=duration_msg(k / rate))
                  for k, (p, v) in enumerate(zip(positions, velocities))]
    return msg


def joint_state_msg(joint_names, positions: np.ndarray, velocities: np.ndarray, stamp: Time | None = None,
                    frame_id: str = "") -> JointState:
    """(J,) positions and velocities -> JointState (no efforts)."""
    positions, velocities = _joint_rows(joint_names, positions, velocities)
    return JointState(header=make_header(stamp, frame_id), name=list(joint_names),
                      position=array.array("d", positions.tobytes()), velocity=array.array("d", velocities.tobytes()))


def odometry_msg(pose: np.ndarray, twist: np.ndarray, stamp: Time | None = None, frame_id: str = "odom",
                 child_frame_id: str = "base_link") -> Odometry:
    """A floating base's pose (7,: x y z qx qy qz qw, in frame_id) and twist (6,: linear, angular, in
    child_frame_id, as REP-105 has it) -> nav_msgs/Odometry. Covariances stay zero: the pose is commanded, not
    estimated."""
    pose, twist = np.asarray(pose, dtype=np.float64), np.asarray(twist, dtype=np.float64)
    if pose.shape != (7,) or twist.shape != (6,) or not (np.all(np.isfinite(pose)) and np.all(np.isfinite(twist))):
        raise MotionFormatError(f"odometry: expected a finite pose (7,) and twist (6,), got {pose.shape} and "
                                f"{twist.shape}")
    msg = Odometry(header=make_header(stamp, frame_id), child_frame_id=child_frame_id)
    p, q, (vx, vy, vz, wx, wy, wz) = msg.pose.pose.position, msg.pose.pose.orientation, twist.tolist()
    p.x, p.y, p.z = pose[:3].tolist()
    q.x, q.y, q.z, q.w = pose[3:].tolist()
    lin, ang = msg.twist.twist.linear, msg.twist.twist.angular
    lin.x, lin.y, lin.z, ang.x, ang.y, ang.z = vx, vy, vz, wx, wy, wz
    return msg


TF_TOPIC = "/tf"
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)  # as tf2_ros's TransformBroadcaster


def tf_message(stamp: Time, transforms):
    """[(parent, child, translation (3,), rotation as (x, y, z, w))] -> tf2_msgs/TFMessage for /tf."""
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage

    out = []
    for parent, child, translation, rotation in transforms:
        transform = TransformStamped(child_frame_id=child)
        transform.header.stamp, transform.header.frame_id = stamp, parent
        t = transform.transform
        t.translation.x, t.translation.y, t.translation.z = (float(v) for v in translation)
        t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w = (float(v) for v in rotation)
        out.append(transform)
    return TFMessage(transforms=out)


def transform_msg(odometry: Odometry):
    """The pose of an Odometry as tf2_msgs/TFMessage (one transform: header.frame_id -> child_frame_id), for /tf."""
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage

    transform = TransformStamped(header=odometry.header, child_frame_id=odometry.child_frame_id)
    p, q = odometry.pose.pose.position, odometry.pose.pose.orientation
    t = transform.transform
    t.translation.x, t.translation.y, t.translation.z = p.x, p.y, p.z
    t.rotation = q
    return TFMessage(transforms=[transform])


def trajectory_to_arrays(msg: JointTrajectory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """JointTrajectory -> (times (N,), positions (N, J), velocities (N, J)); velocities are zero where absent."""
    joints = len(msg.joint_names)
    times = np.array([p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in msg.points])
    positions = np.array([np.asarray(p.positions, dtype=np.float64) for p in msg.points]).reshape(-1, joints)
    velocities = np.array([np.asarray(p.velocities, dtype=np.float64) if len(p.velocities) else np.zeros(joints)
                           for p in msg.points]).reshape(-1, joints)
    return times, positions, velocities


# --- numpy image <-> sensor_msgs/Image -------------------------------------------------------------

def image_to_msg(image: np.ndarray, encoding: str = "rgb8", stamp: Time | None = None,
                 frame_id: str = "camera") -> Image:
    """uint8 (H, W, 3) for rgb8/bgr8 or (H, W) / (H, W, 1) for mono8 -> Image (rows packed)."""
    channels = _channels(encoding)
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise MotionFormatError(f"image: {encoding} needs uint8 pixels, got {image.dtype}")
    if channels == 1 and image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    expected = "(H, W)" if channels == 1 else "(H, W, 3)"
    if (channels == 1 and image.ndim != 2) or (channels == 3 and (image.ndim != 3 or image.shape[2] != 3)):
        raise MotionFormatError(f"image: {encoding} needs an array of shape {expected}, got {image.shape}")
    height, width = image.shape[:2]
    msg = Image(header=make_header(stamp, frame_id), height=height, width=width, encoding=encoding,
                is_bigendian=0, step=width * channels)
    msg.data = array.array("B", np.ascontiguousarray(image).tobytes())
    return msg


def msg_to_image(msg: Image) -> np.ndarray:
    """Image (rgb8/bgr8/mono8) -> uint8 (H, W, 3) or (H, W).

    For packed rows (the usual case) this is a view of the message's buffer, not a copy.
    """
    channels = _channels(msg.encoding)
    row_bytes = msg.width * channels
    if msg.step < row_bytes:
        raise MotionFormatError(f"image: step {msg.step} is shorter than a row of {msg.width} {msg.encoding} "
                                f"pixels ({row_bytes} bytes)")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size != msg.step * msg.height:
        raise MotionFormatError(f"image: {msg.height} rows of {msg.step} bytes need {msg.step * msg.height} "
                                f"bytes, got {data.size}")
    rows = data.reshape(msg.height, msg.step)[:, :row_bytes]  # drop per-row padding, if any
    shape = (msg.height, msg.width) if channels == 1 else (msg.height, msg.width, channels)
    return rows.reshape(shape)


def _channels(encoding: str) -> int:
    if encoding not in IMAGE_CHANNELS:
        raise MotionFormatError(f"image: unsupported encoding {encoding!r} (supported: rgb8, bgr8, mono8)")
    return IMAGE_CHANNELS[encoding]
