"""motion_player: plays a motion file as a live skeleton.

Publishes
  motion/skeleton  geometry_msgs/PoseArray        one frame per tick: 22 joints in T2M order
  motion/markers   visualization_msgs/MarkerArray the same frame as bones and joints, for RViz
  motion/clip      std_msgs/Float32MultiArray     the whole motion, once per load; transient-local,
                                                  so late subscribers still receive it
Parameters (all may be changed at run time; `file` reloads)
  file      path of a .npy motion: (T, 22, 3) joints or (T, 263) HumanML3D features
  rate      playback speed, 1.0 = the motion's 20 fps
  loop      start again after the last frame
  frame_id  header frame of everything published

A file that cannot be read is logged as an error and nothing is published; the node keeps running
so that a good `file` can be set.

Run: `ros2 run motionllm_ros motion_player --ros-args -p file:=clip.npy`
  or `python -m motionllm_ros.motion_player --ros-args -p file:=clip.npy`
"""
from __future__ import annotations

import sys

import numpy as np
from geometry_msgs.msg import PoseArray
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor, ParameterType
from rclpy.node import Node
from std_msgs.msg import Float32MultiArray
from visualization_msgs.msg import MarkerArray

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.motion.canonical import check_joints
from motionllm.motion.skeleton import FPS
from motionllm_ros.conversions import (
    CLIP_QOS,
    DEFAULT_FRAME_ID,
    joints_to_pose_array,
    motion_to_multiarray,
    skeleton_markers,
)
from motionllm_ros.node_main import run_node

FRAME_QUEUE_DEPTH = 10


def read_motion_file(path: str) -> np.ndarray:
    """(T, 22, 3) float32 joints from a .npy of joints or of (T, 263) HumanML3D features.

    Raises OSError (cannot open) or MotionLLMError (not a motion) with a one-line reason.
    When motionllm.motion.formats grows a `read_motion`, this should delegate to it.
    """
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError:  # neither .npy nor .npz: numpy would try (and refuse) to unpickle it
        raise MotionFormatError("not a NumPy .npy file") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise MotionFormatError("expected one .npy array, got an .npz archive")
    if array.ndim == 2:
        from motionllm.motion.features import features_to_joints

        return features_to_joints(array)
    return check_joints(array).astype(np.float32)


class MotionPlayer(Node):
    def __init__(self) -> None:
        super().__init__("motion_player")
        self.declare_parameter("file", "", ParameterDescriptor(
            type=ParameterType.PARAMETER_STRING,
            description="Motion .npy to play: (T, 22, 3) joints or (T, 263) HumanML3D features"))
        self.declare_parameter("rate", 1.0, ParameterDescriptor(
            type=ParameterType.PARAMETER_DOUBLE, description="Playback speed; 1.0 plays at 20 fps",
            floating_point_range=[FloatingPointRange(from_value=0.05, to_value=20.0)]))
        self.declare_parameter("loop", True, ParameterDescriptor(
            type=ParameterType.PARAMETER_BOOL, description="Start again after the last frame"))
        self.declare_parameter("frame_id", DEFAULT_FRAME_ID, ParameterDescriptor(
            type=ParameterType.PARAMETER_STRING, description="Header frame (Y up, metres)"))

        self._skeleton_pub = self.create_publisher(PoseArray, "motion/skeleton", FRAME_QUEUE_DEPTH)
        self._markers_pub = self.create_publisher(MarkerArray, "motion/markers", FRAME_QUEUE_DEPTH)
        self._clip_pub = self.create_publisher(Float32MultiArray, "motion/clip", CLIP_QOS)
        self._motion: np.ndarray | None = None
        self._frame = 0
        self._timer = self.create_timer(self._period_s(), self._publish_frame, autostart=False)
        self.add_post_set_parameters_callback(self._on_parameters_set)
        self._load(self.get_parameter("file").value)

    def _period_s(self) -> float:
        return 1.0 / (FPS * self.get_parameter("rate").value)

    def _load(self, path: str) -> None:
        self._timer.cancel()
        self._motion = None
        if not path:
            self.get_logger().warning("no motion file: set the 'file' parameter")
            return
        try:
            motion = read_motion_file(path)
        except (OSError, MotionLLMError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.get_logger().error(f"cannot play '{path}': {reason}")
            return
        self._motion, self._frame = motion, 0
        self._clip_pub.publish(motion_to_multiarray(motion, FPS))
        self._timer.reset()
        self.get_logger().info(f"playing '{path}': {len(motion)} frames at {1.0 / self._period_s():g} Hz")

    def _on_parameters_set(self, parameters) -> None:
        names = {p.name for p in parameters}
        if "file" in names:
            self._load(self.get_parameter("file").value)
        if "rate" in names:
            self._timer.timer_period_ns = int(self._period_s() * 1e9)
        if "loop" in names and self._motion is not None and self._timer.is_canceled():
            self._frame = 0
            self._timer.reset()

    def _publish_frame(self) -> None:
        if self._frame >= len(self._motion):
            if not self.get_parameter("loop").value:
                self._timer.cancel()
                self.get_logger().info("reached the last frame")
                return
            self._frame = 0
        joints = self._motion[self._frame]
        stamp = self.get_clock().now().to_msg()
        frame_id = self.get_parameter("frame_id").value
        self._skeleton_pub.publish(joints_to_pose_array(joints, stamp, frame_id))
        self._markers_pub.publish(skeleton_markers(joints, stamp, frame_id))
        self._frame += 1


def main(args: list[str] | None = None) -> int:
    return run_node(MotionPlayer, "motion_player", args)


if __name__ == "__main__":
    sys.exit(main())
