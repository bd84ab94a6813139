"""retargeter: SMPL-22 human motion -> joint trajectories for a humanoid robot, checked against its limits.

Subscribes
  motion/clip            std_msgs/Float32MultiArray  whole motions (T, 22, 3) with their fps, as motion_player
                                                     and motion_commander publish them (docs/ros.md)
Publishes
  robot/joint_trajectory trajectory_msgs/JointTrajectory  one per accepted motion: the robot's actuated
                                                     joints, a point per control period (time_from_start =
                                                     k / control_rate), positions and velocities; first a
                                                     lead-in from the last command. Empty (no points) on an
                                                     emergency stop: "stop and hold" for trajectory controllers
  robot/joint_states     sensor_msgs/JointState      the same points streamed at the control rate while a
                                                     trajectory plays
  robot/status           std_msgs/String             JSON per event: {"state": playing|finished|refused|
                                                     bad_input|stopped|reset, "message", "robot", ...}
  /diagnostics           diagnostic_msgs/DiagnosticArray  "retargeter: <robot>" every `diagnostics_period` s
Services
  ~/emergency_stop       std_srvs/Trigger  halts the JointState stream at once and refuses new motions
  ~/reset                std_srvs/Trigger  accepts motions again (nothing resumes by itself)
Parameters (read at start-up)
  robot                 profile name (g1, talos) or a profile .yaml; unknown: one error line, exit 2
  lead_in_speed         rad/s, peak joint speed of the move from the last command to a motion's start
  accept_latched        also retarget the motion published before this node started (default false: a
                        robot should not replay an old command when its node restarts)
  frame_id              header frame of the trajectories and joint states (default "")
  diagnostics_period    seconds between /diagnostics messages

Before anything is published, the whole trajectory (lead-in included) is checked against the robot's URDF
position and velocity limits (motionllm.retargeting.playback); a failing one is never published, nor
altered: it is logged, counted on /diagnostics and reported on robot/status. Malformed motions (NaN,
wrong layout) are handled the same way and the node keeps running. Retargeting runs on a worker thread,
so the stream, the services and the diagnostics never wait for it; a motion that arrives while another is
being retargeted replaces any motion still waiting. A new trajectory replaces the one playing, starting
from the last point streamed. Before the first trajectory the robot is assumed to stand in the profile's
reference posture.

Run: `ros2 run motionllm_ros retargeter --ros-args -p robot:=g1`
  or `python -m motionllm_ros.retargeter --ros-args --params-file launch/retargeter.yaml`
"""
from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor, ParameterType
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import Float32MultiArray, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from motionllm.errors import MotionLLMError
from motionllm.motion.canonical import check_joints
from motionllm.retargeting import DEFAULT_ROBOT, Retargeter, TrajectoryRefused, command_trajectory
from motionllm.retargeting.playback import DEFAULT_LEAD_IN_SPEED, CommandTrajectory
from motionllm.retargeting.robot import BASE_NQ
from motionllm_ros.conversions import (CLIP_QOS, joint_state_msg, joint_trajectory_msg, make_header,
                                       multiarray_to_motion)
from motionllm_ros.diagnostics import DIAGNOSTICS_TOPIC, ERROR, OK, WARN, diagnostic_array, shutdown_logger
from motionllm_ros.node_main import run_node

CLIP_TOPIC = "motion/clip"
TRAJECTORY_TOPIC = "robot/joint_trajectory"
JOINT_STATES_TOPIC = "robot/joint_states"
STATUS_TOPIC = "robot/status"
OUTPUT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
VOLATILE_CLIP_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
LATENCY_WINDOW = 100


class RetargeterNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__("retargeter", **node_options)
        self._declare_parameters()
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        self._retargeter = Retargeter(value("robot"))  # ProfileError (unknown robot...): exit 2 in main()
        self._robot = self._retargeter.robot
        self._rate = self._robot.control_rate
        self._frame_id = value("frame_id")
        self._lead_in_speed = value("lead_in_speed")

        self._trajectory_pub = self.create_publisher(JointTrajectory, TRAJECTORY_TOPIC, OUTPUT_QOS)
        self._joint_state_pub = self.create_publisher(JointState, JOINT_STATES_TOPIC, OUTPUT_QOS)
        self._status_pub = self.create_publisher(String, STATUS_TOPIC, OUTPUT_QOS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, OUTPUT_QOS)

        # Shared with the worker thread (under the lock): the motion waiting to be retargeted, the result
        # waiting to be played, and the counters.
        self._lock = threading.Condition()
        self._waiting: tuple | None = None  # (joints, fps, receive time, epoch)
        self._result: tuple | None = None  # (RobotMotion or error, receive time, epoch, retarget seconds, repaired)
        self._stopping = False
        self._counts = {"motions_received": 0, "trajectories_published": 0, "refused_limits": 0,
                        "refused_stopped": 0, "bad_input": 0, "replaced": 0}
        self._retarget_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._latency_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._last_problem = ""
        # Owned by the executor thread: the stream.
        self._stopped = False  # emergency stop
        self._epoch = 0  # emergency stops so far: a motion received before the last one is never played
        self._playing: CommandTrajectory | None = None
        self._next_point = 0
        self._last_command = self._robot.reference_q[BASE_NQ:].copy()

        self._worker = threading.Thread(target=self._work, name="retargeter_worker", daemon=True)
        self._worker.start()
        clip_qos = CLIP_QOS if value("accept_latched") else VOLATILE_CLIP_QOS
        self.create_subscription(Float32MultiArray, CLIP_TOPIC, self._on_clip, clip_qos)
        self.create_service(Trigger, "~/emergency_stop", self._on_emergency_stop)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_timer(1.0 / self._rate, self._tick)
        self.create_timer(value("diagnostics_period"), self._publish_diagnostics)
        self.get_logger().info(f"ready: {self._robot.name}, {len(self._robot.joint_names)} joints at "
                               f"{self._rate:g} Hz; motions from {CLIP_TOPIC}")

    def _declare_parameters(self) -> None:
        def parameter(name, default, kind, text, **extra):
            self.declare_parameter(name, default, ParameterDescriptor(type=kind, description=text, read_only=True,
                                                                      **extra))

        parameter("robot", DEFAULT_ROBOT, ParameterType.PARAMETER_STRING,
                  "Robot profile: g1, talos, or a profile .yaml (docs/retargeting.md)")
        parameter("lead_in_speed", DEFAULT_LEAD_IN_SPEED, ParameterType.PARAMETER_DOUBLE,
                  "Peak joint speed (rad/s) of the move from the last command to a motion's first frame",
                  floating_point_range=[FloatingPointRange(from_value=0.05, to_value=20.0)])
        parameter("accept_latched", False, ParameterType.PARAMETER_BOOL,
                  "Also retarget the motion published before this node started (transient-local)")
        parameter("frame_id", "", ParameterType.PARAMETER_STRING, "Header frame of trajectories and joint states")
        parameter("diagnostics_period", 1.0, ParameterType.PARAMETER_DOUBLE, "Seconds between /diagnostics messages",
                  floating_point_range=[FloatingPointRange(from_value=0.05, to_value=60.0)])

    # --- motions in (executor thread), retargeted on the worker -------------------------------------------

    def _on_clip(self, msg: Float32MultiArray) -> None:
        received = time.monotonic()
        with self._lock:
            self._counts["motions_received"] += 1
        if self._stopped:
            self._refuse("refused_stopped", "emergency stop is active: motion refused (call ~/reset first)")
            return
        try:
            joints, fps = multiarray_to_motion(msg)
            check_joints(joints, "motion")
        except MotionLLMError as exc:
            self._refuse("bad_input", f"bad motion: {exc}", state="bad_input")
            return
        with self._lock:
            if self._waiting is not None:
                self._counts["replaced"] += 1
            self._waiting = (joints, fps, received, self._epoch)
            self._lock.notify()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._waiting is not None or self._stopping)
                if self._stopping:
                    return
                (joints, fps, received, epoch), self._waiting = self._waiting, None
            start = time.perf_counter()
            try:
                outcome = self._retargeter.retarget(joints, fps)
                repaired = self._retargeter.last_repaired
            except MotionLLMError as exc:
                outcome, repaired = exc, False
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any one motion
                if not self.context.ok():
                    return
                outcome, repaired = MotionLLMError(f"{type(exc).__name__}: {exc}"), False
            elapsed = time.perf_counter() - start
            with self._lock:
                self._result = (outcome, received, epoch, elapsed, repaired)

    # --- the stream (executor thread, at the control rate) ----------------------------------------------

    def _tick(self) -> None:
        with self._lock:
            result, self._result = self._result, None
        if result is not None:
            self._start(*result)
        if self._playing is None or self._stopped:
            return
        plan, k = self._playing, self._next_point
        stamp = self.get_clock().now().to_msg()
        self._joint_state_pub.publish(joint_state_msg(plan.joint_names, plan.positions[k], plan.velocities[k],
                                                      stamp, self._frame_id))
        self._last_command = plan.positions[k]
        self._next_point += 1
        if self._next_point >= len(plan):
            self._playing = None
            self._status("finished", f"trajectory finished ({len(plan)} points, {plan.duration_s:.2f} s)")

    def _start(self, outcome, received: float, epoch: int, retarget_s: float, repaired: bool) -> None:
        if isinstance(outcome, Exception):
            self._refuse("bad_input", f"cannot retarget the motion: {outcome}", state="bad_input")
            return
        if self._stopped or epoch != self._epoch:
            self._refuse("refused_stopped", "emergency stop is active: retargeted motion discarded")
            return
        try:
            plan = command_trajectory(outcome, self._robot, self._last_command, self._lead_in_speed, repaired)
        except TrajectoryRefused as exc:
            self._refuse("refused_limits", str(exc))
            return
        stamp = self.get_clock().now().to_msg()
        self._trajectory_pub.publish(joint_trajectory_msg(plan.joint_names, plan.positions, plan.velocities,
                                                          plan.rate, stamp, self._frame_id))
        replaced = self._playing is not None
        self._playing, self._next_point = plan, 0
        latency_ms = (time.monotonic() - received) * 1e3
        with self._lock:
            self._counts["trajectories_published"] += 1
            self._retarget_ms.append(retarget_s * 1e3)
            self._latency_ms.append(latency_ms)
        message = (f"trajectory of {len(plan)} points ({plan.duration_s:.2f} s, lead-in {plan.lead_in_frames}) "
                   f"published{' (replacing the one playing)' if replaced else ''}; retargeted in "
                   f"{retarget_s * 1e3:.0f} ms; {plan.check.describe()}")
        self.get_logger().info(message)
        self._status("playing", message, points=len(plan), duration_s=round(plan.duration_s, 3),
                     lead_in_points=plan.lead_in_frames, retarget_ms=round(retarget_s * 1e3, 1),
                     latency_ms=round(latency_ms, 1), max_velocity_ratio=round(plan.check.max_velocity_ratio, 4))

    # --- emergency stop -----------------------------------------------------------------------------------

    def _on_emergency_stop(self, request, response):
        was_playing = self._playing is not None
        self._stopped = True  # the next tick publishes nothing
        self._playing = None
        with self._lock:
            self._waiting = self._result = None
        self._epoch += 1  # motions received before the stop are never played, even after a reset
        # An empty trajectory tells a trajectory controller to stop and hold where it is.
        header = make_header(self.get_clock().now().to_msg(), self._frame_id)
        self._trajectory_pub.publish(JointTrajectory(header=header, joint_names=list(self._robot.joint_names)))
        response.success = True
        response.message = ("emergency stop: output halted" + (" mid-trajectory" if was_playing else "") +
                            "; motions are refused until ~/reset")
        self.get_logger().warning(response.message)
        self._status("stopped", response.message)
        return response

    def _on_reset(self, request, response):
        was_stopped, self._stopped = self._stopped, False
        response.success = True
        response.message = ("emergency stop cleared: motions are accepted again" if was_stopped else
                            "not stopped: nothing to reset")
        self.get_logger().info(response.message)
        self._status("reset", response.message)
        return response

    # --- reporting ----------------------------------------------------------------------------------------

    def _refuse(self, counter: str, message: str, state: str = "refused") -> None:
        with self._lock:
            self._counts[counter] += 1
            self._last_problem = message
        if counter == "refused_limits":  # rclpy loggers want one severity per call site
            self.get_logger().error(message)
        else:
            self.get_logger().warning(message)
        self._status(state, message)

    def _status(self, state: str, message: str, **values) -> None:
        self._status_pub.publish(String(data=json.dumps(
            {"state": state, "message": message, "robot": self._robot.name, **values})))

    def _snapshot(self) -> dict[str, object]:
        def p50(values):
            return float(np.median(values)) if values else float("nan")

        with self._lock:
            return {**self._counts, "emergency_stop": self._stopped, "playing": self._playing is not None,
                    "control_rate_hz": float(self._rate), "retarget_ms_p50": p50(self._retarget_ms),
                    "motion_to_trajectory_ms_p50": p50(self._latency_ms)}

    def _publish_diagnostics(self) -> None:
        values = self._snapshot()
        if self._stopped:
            level, message = ERROR, "emergency stop: output halted until ~/reset"
        elif self._last_problem:
            level, message = WARN, f"last problem: {self._last_problem}"
        else:
            level, message = OK, "playing" if values["playing"] else "idle"
        with self._lock:
            self._last_problem = ""
        self._diagnostics_pub.publish(diagnostic_array(self.get_clock().now().to_msg(),
                                                       f"retargeter: {self._robot.name}", level, message, values,
                                                       hardware_id=self._robot.name))

    def shutdown(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._worker.join(timeout=5.0)
        values = self._snapshot()
        shutdown_logger(self).info(
            f"stopped: {values['motions_received']} motions received, {values['trajectories_published']} "
            f"trajectories published, {values['refused_limits']} refused (limits), {values['refused_stopped']} "
            f"refused (emergency stop), {values['bad_input']} bad; retarget p50 {values['retarget_ms_p50']:.0f} ms")


def main(args: list[str] | None = None) -> int:
    return run_node(RetargeterNode, "retargeter", args)


if __name__ == "__main__":
    sys.exit(main())
