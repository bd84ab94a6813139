"""retargeter: SMPL-22 human motion -> joint trajectories for a humanoid robot, checked against its limits.

Motions come from the commander (whole clips) or, with `imitate` set, live from perception (imitation).

Subscribes
  motion/clip            std_msgs/Float32MultiArray  whole motions (T, 22, 3) with their fps, as motion_player
                                                     and motion_commander publish them (docs/ros.md); not
                                                     subscribed while imitating
  /humans/bodies/<id>/skeleton3d  geometry_msgs/PoseArray  imitation: the followed body's skeletons (22 SMPL
                                                     joints, Y up, header.stamp = capture time), as
                                                     pose_estimator publishes them
  /humans/bodies/tracked hri_msgs/IdsList            imitation with imitate:=auto: the tracked ids; the
                                                     first body named is followed until it is no longer named
Publishes
  robot/joint_trajectory trajectory_msgs/JointTrajectory  one per accepted motion: the robot's actuated
                                                     joints, a point per control period (time_from_start =
                                                     k / control_rate), positions and velocities; first a
                                                     lead-in from the last command (imitation: see below).
                                                     Empty (no points) on an emergency stop: "stop and hold"
                                                     for trajectory controllers
  robot/joint_states     sensor_msgs/JointState      the same points streamed at the control rate while a
                                                     trajectory plays
  robot/odom             nav_msgs/Odometry           with each streamed point, where the floating base is then
                                                     (the retargeted motion's root: the robot's world frame
                                                     `odom_frame`, Z up, child frame the URDF's root link;
                                                     twist in that link's frame), for whole-body controllers
  /tf                    tf2_msgs/TFMessage          the same pose as a transform odom_frame -> root link
                                                     (publish_tf, default true)
  robot/status           std_msgs/String             JSON per event: {"state": playing|finished|refused|
                                                     bad_input|stopped|reset, "message", "robot", ...};
                                                     "playing" says "source": clip (with "motion_id" when
                                                     the clip had one, also on "finished") or imitation,
                                                     and for imitation its body, mode, latency and lag (a
                                                     chunk: its index and capture span; streaming: once a
                                                     second)
  /diagnostics           diagnostic_msgs/DiagnosticArray  "retargeter: <robot>" every `diagnostics_period` s
Services
  ~/emergency_stop       std_srvs/Trigger  halts the JointState stream at once and refuses new motions
  ~/reset                std_srvs/Trigger  accepts motions again (nothing resumes by itself)
The graph's one emergency stop
  /emergency_stop        std_msgs/Bool (reliable, transient local)  the stop's state: the services above publish
                         it (true on a stop, false on a reset), and anyone may publish it (a stop button); this
                         node halts on true and resumes accepting on false, and motion_commander refuses
                         commands while it is true. The stop reaches the joint output at the next control tick.
Parameters (read at start-up, except those marked live: `ros2 param set` changes them while it runs)
  robot                 profile name (g1, talos) or a profile .yaml; unknown: one error line, exit 2
  require_feasible      (live) refuse motions that fail motionllm.retargeting.feasibility (self-collision, balance, no
                        flight, loaded feet flat) with the failing checks as the reason (default false for now:
                        on the G1 a hand hanging by the hip motors touches them, so nearly every motion fails)
  lead_in_speed         (live) rad/s, peak joint speed of the move from the last command to a motion's start
  accept_latched        also retarget the motion published before this node started (default false: a
                        robot should not replay an old command when its node restarts)
  frame_id              header frame of the trajectories and joint states (default "")
  odom_frame            header frame of robot/odom: the world the base moves in (default "odom")
  publish_tf            also publish the base's pose on /tf (default true)
  diagnostics_period    seconds between /diagnostics messages
  imitate               "" (default): whole motions from motion/clip. A body id ("b1"): imitate that body live.
                        "auto": imitate the first body on /humans/bodies/tracked, and the next when it is lost
  imitation_mode        "stream" (default): every skeleton's control frames at once; "chunks": 1 s at a time
  imitation_chunk       chunks: seconds of capture time per imitated chunk (1.0; 0.25-5): the robot follows the
                        body this much plus imitation_lookahead plus the processing time behind
  imitation_context     chunks: seconds of motion before a chunk retargeted with it, not played (0.5)
  imitation_lookahead   chunks: seconds of motion after a chunk retargeted with it, not played (0.25)
  imitation_max_gap     a body unseen for longer than this (s of capture time) starts a new timeline (0.5)

Before anything is published, the whole trajectory (lead-in included) is checked against the robot's URDF
position and velocity limits (motionllm.retargeting.playback); a failing one is never published, nor
altered: it is logged, counted on /diagnostics and reported on robot/status. Malformed motions (NaN,
wrong layout) are handled the same way and the node keeps running. Retargeting runs on a worker thread,
so the stream, the services and the diagnostics never wait for it; a motion that arrives while another is
being retargeted replaces any motion still waiting. A new trajectory replaces the one playing, starting
from the last point streamed, and the motion is moved across the floor to begin where the robot stands (its
feet at the last point; playback.anchored), so the base on robot/odom goes on from there instead of jumping to
the next motion's origin; during the lead-in the base keeps the feet down. Before the first trajectory the
robot is assumed to stand in the profile's reference posture at the origin of robot/odom.

Streamed imitation (imitation_mode stream; motionllm.retargeting.streaming.StreamingRetargeter): the callback
queues each skeleton of the followed body; the worker gives it to the stream, which after 0.5 s of calibration
solves the control frames up to its capture time from the last one (the clips' IK, targets from the past only);
the next tick appends them to the points not yet sent (playback.append_trajectory: checked like any plan, the
step from the last point sent included) and publishes the trajectory. The robot is behind the person by the
processing time plus the few points still to be sent (robot_lag_ms). A plan that would hold more than
STREAM_PLAN_POINTS catches up: points are dropped, never two in a row and only where the step that replaces
them stays within the IK's velocity limits (append_trajectory catch_up_to); without it one slow frame at a
timeline's start (or a busy executor) left the robot that much behind for the rest of the timeline. A timeline starts from where the robot
was last commanded, its joint speed rising from 1 rad/s to the full limit over 2 s. An emergency stop
refuses skeletons and drops what was not yet sent; after ~/reset the stream starts again from where the robot
stopped. A refused frame (limits; feasibility with require_feasible) restarts the stream from where the plan
playing ends.

Imitation in chunks (imitation_mode chunks; motionllm.retargeting.imitation.LiveImitation): the followed body's
skeletons are cut, on their capture stamps, into contiguous chunks of `imitation_chunk` seconds resampled to 20
fps; each due chunk goes to the worker like a clip (retargeted with its context and lookahead, then cut back to
the chunk) and its plan gets the same limit check; nothing is published during an emergency stop (chunks are
refused and counted; after ~/reset the next chunk is played). To keep the body's pace, a chunk that continues
the one just planned is appended to the points still to be sent (playback.continue_trajectory: no lead-in, the
join faded out over 0.2 s), and the trajectory published holds both. Otherwise (the first chunk of a timeline;
the first after a stop, a refusal or a dropped chunk; more than 0.5 s of the previous plan still to be played,
i.e. the robot is behind; a faded join that would leave the limits) the chunk rejoins the body on time: a
lead-in from the last point streamed to the chunk's last frame over the chunk's duration (command_trajectory
keep_time). The robot follows the body about imitation_chunk + imitation_lookahead + the processing time behind
("robot_lag_ms" on robot/status). The skeleton callback only stores and, once per chunk, resamples. In both
modes malformed skeletons are logged (throttled), counted and skipped.

Run: `ros2 run motionllm_ros retargeter --ros-args -p robot:=g1`
  or `python -m motionllm_ros.retargeter --ros-args --params-file launch/retargeter.yaml`
  imitation: `python -m motionllm_ros.retargeter --ros-args --params-file launch/retargeter.yaml -p imitate:=auto`
"""
from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseArray
from hri_msgs.msg import IdsList
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Float32MultiArray, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from motionllm.console import bounded
from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.motion.canonical import check_joints
from motionllm.motion.window import check_skeleton
from motionllm.retargeting import (DEFAULT_ROBOT, Retargeter, TrajectoryRefused, command_trajectory,
                                   continue_trajectory)
from motionllm.retargeting.playback import append_trajectory
from motionllm.retargeting.streaming import StreamingRetargeter
from motionllm.retargeting import imitation
from motionllm.retargeting.imitation import ImitationChunk, LiveImitation
from motionllm.retargeting.playback import DEFAULT_LEAD_IN_SPEED, CommandTrajectory
from motionllm.retargeting.robot import BASE_NQ
from motionllm_ros.conversions import (CLIP_QOS, EMERGENCY_STOP_QOS, EMERGENCY_STOP_TOPIC, TF_QOS, TF_TOPIC,
                                       joint_state_msg,
                                       joint_trajectory_msg, make_header, multiarray_motion_id, multiarray_to_motion,
                                       odometry_msg, pose_array_to_joints, transform_msg)
from motionllm_ros.diagnostics import DIAGNOSTICS_TOPIC, ERROR, OK, WARN, diagnostic_array, shutdown_logger
from motionllm_ros.node_main import run_node
from motionllm_ros.parameters import Parameters

CLIP_TOPIC = "motion/clip"
TRAJECTORY_TOPIC = "robot/joint_trajectory"
JOINT_STATES_TOPIC = "robot/joint_states"
ODOMETRY_TOPIC = "robot/odom"
STATUS_TOPIC = "robot/status"
OUTPUT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
VOLATILE_CLIP_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
LATENCY_WINDOW = 100
BODIES = "/humans/bodies"
TRACKED_TOPIC = f"{BODIES}/tracked"
SKELETON_QOS = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)  # the callback only stores
IMITATE_AUTO = "auto"
IMITATION_MODES = ("stream", "chunks")
STREAM_STATUS_PERIOD_S = 1.0  # streaming: one "playing" status a second, not one per skeleton
# streaming: a plan longer than this (points still to send + the new frames) drops points to catch up (60 ms at
# 50 Hz): a late start or a busy executor would otherwise leave the robot behind for the rest of the timeline
STREAM_PLAN_POINTS = 3
STARVED_S = 0.25  # streaming: a tick with nothing to send this soon after frames came counts as starved
BODY_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*$")  # a valid ROS name token, like pose_estimator's b1, b2...
LOG_THROTTLE_S = 5.0


def clip_source(motion_id: str) -> dict[str, str]:
    """robot/status's "source" of a clip, with the id it came with (motion_commander's motion_id)."""
    return {"source": "clip", **({"motion_id": motion_id} if motion_id else {})}


class RetargeterNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__("retargeter", **node_options)
        self._declare_parameters()
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        self._imitate = value("imitate").strip()
        if self._imitate and self._imitate != IMITATE_AUTO and not BODY_ID.match(self._imitate):
            raise MotionLLMError(f"imitate: {self._imitate!r} is not a body id (like b1), '{IMITATE_AUTO}' or empty")
        self._mode = value("imitation_mode")
        if self._mode not in IMITATION_MODES:
            raise MotionLLMError(f"imitation_mode must be one of {', '.join(IMITATION_MODES)}, got {self._mode!r}")
        self._imitation = LiveImitation(value("imitation_chunk"), value("imitation_context"),
                                        value("imitation_lookahead"), value("imitation_max_gap")) \
            if self._imitate and self._mode == "chunks" else None
        self._retargeter = Retargeter(value("robot"))  # ProfileError (unknown robot...): exit 2 in main()
        # streaming imitation: owned by the worker thread; the executor hands it skeletons and reset requests
        self._stream = StreamingRetargeter(self._retargeter, max_gap=value("imitation_max_gap")) \
            if self._imitate and self._mode == "stream" else None
        self._robot = self._retargeter.robot
        self._rate = self._robot.control_rate
        self._frame_id = value("frame_id")
        self._odom_frame = value("odom_frame")
        self._lead_in_speed = value("lead_in_speed")
        self._require_feasible = value("require_feasible")

        self._trajectory_pub = self.create_publisher(JointTrajectory, TRAJECTORY_TOPIC, OUTPUT_QOS)
        self._joint_state_pub = self.create_publisher(JointState, JOINT_STATES_TOPIC, OUTPUT_QOS)
        self._odometry_pub = self.create_publisher(Odometry, ODOMETRY_TOPIC, OUTPUT_QOS)
        self._tf_pub = None
        if value("publish_tf"):
            from tf2_msgs.msg import TFMessage  # our tf2_msgs package (ros2_ws/src) where ROS 2's is not installed

            self._tf_pub = self.create_publisher(TFMessage, TF_TOPIC, TF_QOS)
        self._status_pub = self.create_publisher(String, STATUS_TOPIC, OUTPUT_QOS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, OUTPUT_QOS)

        # Shared with the worker thread (under the lock): the motion waiting to be retargeted, the result
        # waiting to be played, and the counters.
        self._lock = threading.Condition()
        self._waiting: tuple | None = None  # (joints, fps, receive time, epoch, chunk or None, motion id)
        # (RobotMotion or error, receive time, epoch, retarget seconds, repaired, chunk or None)
        self._result: tuple | None = None
        self._skeletons: deque = deque()  # streaming: (capture s, joints, receive time, epoch) for the worker
        self._stream_reset: np.ndarray | None = None  # streaming: restart the stream from this configuration
        self._streamed: list[tuple] = []  # streaming: (frames or error, receive time, epoch, seconds, newest capture)
        self._stream_status_at = 0.0
        self._streaming = False  # streaming: a timeline's frames are being played (executor thread)
        self._appended_at = 0.0  # streaming: when frames were last appended (monotonic s)
        self._stopping = False
        self._counts = {"motions_received": 0, "trajectories_published": 0, "refused_limits": 0,
                        "refused_stopped": 0, "bad_input": 0, "replaced": 0}
        if self._imitate:
            self._counts.update(skeletons_received=0, bad_skeletons=0, body_switches=0)
            if self._stream is not None:
                self._counts.update(streamed_frames=0, starved_ticks=0)
            else:
                self._counts.update(chunks=0, joins_refused=0)
        self._retarget_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._latency_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._capture_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)  # imitation: capture -> trajectory
        self._lag_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)  # imitation: body does it -> robot does it
        self._last_problem = ""
        # Owned by the executor thread: the stream.
        self._stopped = False  # emergency stop
        self._epoch = 0  # emergency stops so far: a motion received before the last one is never played
        self._playing: CommandTrajectory | None = None
        self._playing_id = ""  # the motion id of the clip playing (motion_commander's; "" for none)
        self._next_point = 0
        self._last_command = self._robot.reference_q[BASE_NQ:].copy()
        self._last_base: np.ndarray | None = None  # the floating base at the last point streamed
        # Imitation, owned by the executor thread: the body followed and its skeleton subscription.
        self._following: str | None = None
        self._skeleton_sub = None
        self._epoch_ns: int | None = None  # capture times given to LiveImitation are seconds since this stamp
        self._planned: tuple[int, int] | None = None  # (timeline, index) of the chunk the current plan ends with

        self._frames_ready = self.create_guard_condition(self._take_streamed)  # the worker's, for the executor
        self._worker = threading.Thread(target=self._work, name="retargeter_worker", daemon=True)
        self._worker.start()
        if not self._imitate:
            clip_qos = CLIP_QOS if value("accept_latched") else VOLATILE_CLIP_QOS
            self.create_subscription(Float32MultiArray, CLIP_TOPIC, self._on_clip, clip_qos)
            source = f"motions from {CLIP_TOPIC}"
        elif self._imitate == IMITATE_AUTO:
            self.create_subscription(IdsList, TRACKED_TOPIC, self._on_tracked, OUTPUT_QOS)
            source = f"imitating the first body on {TRACKED_TOPIC}"
        else:
            self._follow(self._imitate)
            source = f"imitating body {self._imitate}"
        if self._stream is not None:
            source += ", streamed a control period at a time"
        if self._imitation is not None:
            source += (f" in chunks of {self._imitation.chunk_seconds:g} s (context {value('imitation_context'):g} s, "
                       f"lookahead {value('imitation_lookahead'):g} s)")
        self._stop_pub = self.create_publisher(Bool, EMERGENCY_STOP_TOPIC, EMERGENCY_STOP_QOS)
        # Nothing is published at start-up: a restarting node must not clear a stop someone else engaged
        # (it receives that latched stop and engages it too).
        self.create_subscription(Bool, EMERGENCY_STOP_TOPIC, self._on_stop_topic, EMERGENCY_STOP_QOS)
        self.create_service(Trigger, "~/emergency_stop", self._on_emergency_stop)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_timer(1.0 / self._rate, self._tick)
        self.create_timer(value("diagnostics_period"), self._publish_diagnostics)
        self.get_logger().info(f"ready: {self._robot.name}, {len(self._robot.joint_names)} joints at "
                               f"{self._rate:g} Hz; {source}")

    def _declare_parameters(self) -> None:
        declare = Parameters(self).declare
        declare("robot", DEFAULT_ROBOT, "Robot profile: g1, talos, or a profile .yaml (docs/retargeting.md)")
        declare("require_feasible", False,
                "Refuse motions that fail the feasibility check (self-collision, balance, flight, flat feet); "
                "off by default: human-speed walks and kicks fail the quasi-static balance check (issue 18)",
                live=lambda on: setattr(self, "_require_feasible", on))
        declare("lead_in_speed", DEFAULT_LEAD_IN_SPEED,
                "Peak joint speed (rad/s) of the move from the last command to a motion's first frame", (0.05, 20.0),
                live=lambda speed: setattr(self, "_lead_in_speed", speed))
        declare("accept_latched", False,
                "Also retarget the motion published before this node started (transient-local)")
        declare("frame_id", "", "Header frame of trajectories and joint states")
        declare("odom_frame", "odom", "Header frame of robot/odom: the world frame the floating base moves in")
        declare("publish_tf", True, "Also publish the floating base on /tf (odom_frame -> the URDF's root link) with "
                                    "each point")
        declare("diagnostics_period", 1.0, "Seconds between /diagnostics messages", (0.05, 60.0))
        declare("imitate", "", "Imitate a body live: its id (b1), 'auto' (the first body tracked), or '' (motions "
                               "from motion/clip)")
        declare("imitation_mode", "stream", "stream: each skeleton's control frames at once "
                                            "(motionllm.retargeting.streaming); chunks: imitation_chunk seconds at a "
                                            "time, retargeted like clips")
        for name, default, bounds, text in (
                ("imitation_chunk", imitation.CHUNK_SECONDS, imitation.CHUNK_RANGE,
                 "Seconds of capture time per imitated chunk"),
                ("imitation_context", imitation.CONTEXT_SECONDS, imitation.CONTEXT_RANGE,
                 "Seconds of motion before a chunk that are retargeted with it (not played)"),
                ("imitation_lookahead", imitation.LOOKAHEAD_SECONDS, imitation.LOOKAHEAD_RANGE,
                 "Seconds of motion after a chunk that are retargeted with it (not played)"),
                ("imitation_max_gap", imitation.MAX_GAP, imitation.MAX_GAP_RANGE,
                 "Seconds without a skeleton after which imitation starts a new timeline")):
            declare(name, float(default), text, bounds)

    # --- motions in (executor thread), retargeted on the worker -------------------------------------------

    def _on_clip(self, msg: Float32MultiArray) -> None:
        received = time.monotonic()
        motion_id = multiarray_motion_id(msg)
        with self._lock:
            self._counts["motions_received"] += 1
        if self._stopped:
            self._refuse("refused_stopped", "emergency stop is active: motion refused (call ~/reset first)",
                         **clip_source(motion_id))
            return
        try:
            joints, fps = multiarray_to_motion(msg)
            check_joints(joints, "motion")
        except MotionLLMError as exc:
            self._refuse("bad_input", f"bad motion: {exc}", state="bad_input", **clip_source(motion_id))
            return
        self._submit(joints, fps, received, motion_id=motion_id)

    def _submit(self, joints: np.ndarray, fps: float, received: float, chunk: ImitationChunk | None = None,
                motion_id: str = "") -> None:
        with self._lock:
            if self._waiting is not None:
                self._counts["replaced"] += 1
            self._waiting = (joints, fps, received, self._epoch, chunk, motion_id)
            self._lock.notify()

    # --- imitation: skeletons in (executor thread), due chunks to the worker --------------------------------

    def _on_tracked(self, msg: IdsList) -> None:
        ids = list(msg.ids)
        if self._following not in ids:
            self._follow(next((i for i in ids if BODY_ID.match(i)), None))

    def _follow(self, body: str | None) -> None:
        """Imitate `body` from now on (None: nobody); the timeline starts again."""
        if self._skeleton_sub is not None:
            self.destroy_subscription(self._skeleton_sub)
            self._skeleton_sub = None
        self._restart_imitation()
        previous, self._following = self._following, body
        if body is None:
            if previous is not None:
                self.get_logger().info(f"body {previous} is gone: nobody to imitate")
            return
        topic = f"{BODIES}/{body}/skeleton3d"
        self._skeleton_sub = self.create_subscription(PoseArray, topic, lambda m, b=body: self._on_skeleton(b, m),
                                                      SKELETON_QOS)
        if previous is not None:
            with self._lock:
                self._counts["body_switches"] += 1
        self.get_logger().info(f"imitating body {body} ({topic})")

    def _on_skeleton(self, body: str, msg: PoseArray) -> None:
        if body != self._following:  # a message of the body just left
            return
        received = time.monotonic()
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        with self._lock:
            self._counts["skeletons_received"] += 1
        if self._epoch_ns is None:
            self._epoch_ns = stamp_ns
        try:
            joints = pose_array_to_joints(msg)
            t = (stamp_ns - self._epoch_ns) * 1e-9
            if self._stream is not None:
                self._stream_skeleton(body, t, check_skeleton(joints), received)
                return
            self._imitation.add(t, joints)
        except MotionFormatError as exc:
            self._bad_skeleton(f"{body}: {exc}")
            return
        while (chunk := self._imitation.next_chunk()) is not None:
            with self._lock:
                self._counts["chunks"] += 1
            if self._stopped:
                self._refuse_stopped_imitation(body, chunk=chunk.index)
                continue
            self._submit(chunk.joints, chunk.fps, received, chunk)

    def _stream_skeleton(self, body: str, t: float, joints: np.ndarray, received: float) -> None:
        if self._stopped:
            self._refuse_stopped_imitation(body)
            return
        with self._lock:
            self._skeletons.append((t, joints, received, self._epoch))
            self._lock.notify()

    def _refuse_stopped_imitation(self, body: str, **values) -> None:
        with self._lock:
            self._counts["refused_stopped"] += 1
        self.get_logger().warning("emergency stop is active: imitation refused (call ~/reset)",
                                  throttle_duration_sec=LOG_THROTTLE_S)
        now = time.monotonic()
        if self._stream is None or now - self._stream_status_at >= STREAM_STATUS_PERIOD_S:
            self._stream_status_at = now
            self._status("refused", "emergency stop is active: imitation refused (call ~/reset first)",
                         source="imitation", body=body, **values)

    def _restart_imitation(self, q: np.ndarray | None = None) -> None:
        """Imitation starts a new timeline (another body, a stop, a refusal): chunks from the next skeleton; the
        stream from `q` (default: where the robot was last commanded), skeletons not yet solved dropped."""
        if self._imitation is not None:
            self._imitation.reset()
        if self._stream is not None:
            if q is None:
                base = self._standing_base()
                q = np.concatenate([base, self._last_command])
            self._streaming = False
            with self._lock:
                self._skeletons.clear()
                self._streamed.clear()
                self._stream_reset = q
                self._lock.notify()

    def _bad_skeleton(self, message: str) -> None:
        with self._lock:
            self._counts["bad_skeletons"] += 1
            self._last_problem = f"bad skeleton: {message}"
        self.get_logger().warning(bounded(f"skipped: {message}"), throttle_duration_sec=LOG_THROTTLE_S)

    def _stamp_ns(self, t: float) -> int:
        """A LiveImitation time (s since the first stamp) as a stamp in ns."""
        return self._epoch_ns + int(round(t * 1e9))

    def _stamp(self, t: float) -> dict[str, int]:
        ns = self._stamp_ns(t)
        return {"sec": ns // 1_000_000_000, "nanosec": ns % 1_000_000_000}

    # --- the worker ----------------------------------------------------------------------------------------

    def _work(self) -> None:
        if self._stream is not None:
            self._work_stream()
            return
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._waiting is not None or self._stopping)
                if self._stopping:
                    return
                (joints, fps, received, epoch, chunk, motion_id), self._waiting = self._waiting, None
            start = time.perf_counter()
            try:
                outcome = self._retargeter.retarget(joints, fps)
                repaired = self._retargeter.last_repaired
                if chunk is not None:  # retargeted with its context and lookahead; only the chunk is played
                    outcome = chunk.played(outcome)
            except MotionLLMError as exc:
                outcome, repaired = exc, False
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any one motion
                if not self.context.ok():
                    return
                outcome, repaired = MotionLLMError(f"{type(exc).__name__}: {exc}"), False
            elapsed = time.perf_counter() - start
            with self._lock:
                self._result = (outcome, received, epoch, elapsed, repaired, chunk, motion_id)

    def _work_stream(self) -> None:
        """Streaming imitation: every skeleton queued, in order, through the StreamingRetargeter; the frames it
        gives are queued for the executor (nothing is dropped: the stream's frames follow one another)."""
        stream = self._stream
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._skeletons or self._stream_reset is not None or self._stopping)
                if self._stopping:
                    return
                reset, self._stream_reset = self._stream_reset, None
                skeletons = list(self._skeletons)
                self._skeletons.clear()
            if reset is not None:
                stream.reset(reset)
            for t, joints, received, epoch in skeletons:
                start = time.perf_counter()
                try:
                    outcome = stream.add(t, joints)
                    repaired = stream.last_repaired
                except MotionLLMError as exc:
                    outcome, repaired = exc, False
                except Exception as exc:  # noqa: BLE001 - the worker must outlive any one skeleton
                    if not self.context.ok():
                        return
                    outcome, repaired = MotionLLMError(f"{type(exc).__name__}: {exc}"), False
                if outcome is None:  # calibrating, or no control frame due yet
                    continue
                with self._lock:
                    if self._stream_reset is not None:  # a stop or a refusal meanwhile: these frames are void
                        break
                    self._streamed.append((outcome, received, epoch, time.perf_counter() - start, repaired, t))
                self._frames_ready.trigger()

    # --- the stream (executor thread, at the control rate) ----------------------------------------------

    def _standing_base(self) -> np.ndarray:
        """Where the floating base is: at the last point sent, or before any the reference posture's."""
        return self._robot.reference_q[:BASE_NQ] if self._last_base is None else self._last_base

    def _take_streamed(self) -> None:
        """The stream's new frames into the plan, published: at once when the worker has them (its guard
        condition wakes the executor; waiting for the next tick added up to a control period), else at a tick."""
        with self._lock:
            streamed, self._streamed = self._streamed, []
        for frames in streamed:
            if not self._append_streamed(*frames):
                break  # refused: the stream restarts from where the robot is; the rest continued the refused ones

    def _tick(self) -> None:
        with self._lock:
            result, self._result = self._result, None
        if result is not None:
            self._start(*result)
        self._take_streamed()
        if self._playing is None or self._stopped:
            if self._streaming and not self._stopped and time.monotonic() - self._appended_at < STARVED_S:
                with self._lock:
                    self._counts["starved_ticks"] += 1  # the robot holds: the next frames are late
            return
        plan, k = self._playing, self._next_point
        stamp = self.get_clock().now().to_msg()
        self._joint_state_pub.publish(joint_state_msg(plan.joint_names, plan.positions[k], plan.velocities[k],
                                                      stamp, self._frame_id))
        odometry = odometry_msg(plan.base_poses[k], plan.base_twists[k], stamp, self._odom_frame, self._robot.base_link)
        self._odometry_pub.publish(odometry)
        if self._tf_pub is not None:
            self._tf_pub.publish(transform_msg(odometry))
        self._last_command = plan.positions[k]
        self._last_base = plan.base_poses[k]
        self._next_point += 1
        if self._next_point >= len(plan):
            self._playing = None
            if self._stream is None:  # a stream's plan ends every few ticks, until its next frames
                self._status("finished", f"trajectory finished ({len(plan)} points, {plan.duration_s:.2f} s)",
                             **clip_source(self._playing_id))

    def _start(self, outcome, received: float, epoch: int, retarget_s: float, repaired: bool,
               chunk: ImitationChunk | None, motion_id: str = "") -> None:
        pending = self._playing.positions[self._next_point:] if self._playing is not None else None
        pending_base = self._playing.base_poses[self._next_point:] if self._playing is not None else None
        backlog_s = 0.0 if pending is None else len(pending) / self._rate
        joins = (chunk is not None and self._planned == (chunk.timeline, chunk.index - 1)
                 and backlog_s <= imitation.MAX_BACKLOG_SECONDS)
        self._planned = None  # set again below if this chunk's plan is accepted
        source = clip_source(motion_id) if chunk is None else {"source": "imitation", "body": self._following,
                                                                "chunk": chunk.index}
        if isinstance(outcome, Exception):
            self._refuse("bad_input", f"cannot retarget the {'chunk' if chunk else 'motion'}: {outcome}",
                         state="bad_input", **source)
            return
        if self._stopped or epoch != self._epoch:
            self._refuse("refused_stopped", "emergency stop is active: retargeted motion discarded", **source)
            return
        plan = None
        try:
            if chunk is None:
                plan = command_trajectory(outcome, self._robot, self._last_command, self._lead_in_speed, repaired,
                                          check_feasibility=self._require_feasible, start_base=self._standing_base())
            elif joins:  # the next chunk of the plan playing (or just ended): after it, without a lead-in
                try:
                    plan = continue_trajectory(outcome, self._robot, self._last_command, pending, repaired,
                                               check_feasibility=self._require_feasible, pending_base=pending_base)
                except TrajectoryRefused as exc:  # the faded join leaves the limits: rejoin instead (checked too)
                    joins = False
                    with self._lock:
                        self._counts["joins_refused"] += 1
                    self.get_logger().info(f"imitation chunk {chunk.index} not appended ({exc}); rejoining on time",
                                           throttle_duration_sec=LOG_THROTTLE_S)
            if plan is None:  # a new timeline; after a stop, a refusal, a dropped chunk; behind: rejoin on time
                plan = command_trajectory(outcome, self._robot, self._last_command, self._lead_in_speed, repaired,
                                          keep_time=True, check_feasibility=self._require_feasible)
        except TrajectoryRefused as exc:
            self._refuse("refused_limits", str(exc), **source)
            return
        if chunk is not None:
            self._planned = (chunk.timeline, chunk.index)
        stamp = self.get_clock().now().to_msg()
        self._trajectory_pub.publish(joint_trajectory_msg(plan.joint_names, plan.positions, plan.velocities,
                                                          plan.rate, stamp, self._frame_id))
        replaced = self._playing is not None
        self._playing, self._next_point, self._playing_id = plan, 0, motion_id
        latency_ms = (time.monotonic() - received) * 1e3
        # what the retargeter changed so that the robot may do it (a jump done in place), and each check
        extra: dict[str, object] = {**source, "adaptations": list(outcome.adaptations),
                                    "feasibility": None if plan.feasibility is None else plan.feasibility.to_dict()}
        if chunk is not None:
            # Clocks: ROS system time, the capture stamps' clock. capture: the skeleton that completed the chunk
            # -> its trajectory published; lag: the body at the chunk's end -> the robot there (its last point).
            now_ns = time.time_ns()
            capture_ms = (now_ns - self._stamp_ns(chunk.newest)) * 1e-6
            lag_ms = (now_ns - self._stamp_ns(chunk.end)) * 1e-6 + plan.duration_s * 1e3
            extra = {"source": "imitation", "body": self._following, "chunk": chunk.index,
                     "continues": chunk.continues, "joined": joins, "carried_points": plan.carried_frames,
                     "backlog_ms": round(backlog_s * 1e3, 1),
                     "chunk_start": self._stamp(chunk.start), "chunk_end": self._stamp(chunk.end),
                     "capture_to_trajectory_ms": round(capture_ms, 1), "robot_lag_ms": round(lag_ms, 1)}
        with self._lock:
            self._counts["trajectories_published"] += 1
            self._retarget_ms.append(retarget_s * 1e3)
            self._latency_ms.append(latency_ms)
            if chunk is not None:
                self._capture_ms.append(capture_ms)
                self._lag_ms.append(lag_ms)
        what = "trajectory" if chunk is None else f"imitation chunk {chunk.index} of {self._following}:"
        carried = f", {plan.carried_frames} carried over" if plan.carried_frames else ""
        adapted = "".join(f"; adapted: {note}" for note in outcome.adaptations)
        checked = "" if plan.feasibility is None else "; feasible (limits, self-collision, flight, flat feet, balance)"
        message = (f"{what} {len(plan)} points ({plan.duration_s:.2f} s, lead-in {plan.lead_in_frames}{carried}) "
                   f"published{' (replacing the one playing)' if replaced else ''}; retargeted in "
                   f"{retarget_s * 1e3:.0f} ms; {plan.check.describe()}{checked}{adapted}")
        if chunk is None or chunk.index == 0:
            self.get_logger().info(message)
        else:  # a chunk a second while imitating: the log gets one in ten
            self.get_logger().info(message, throttle_duration_sec=10.0)
        self._status("playing", message, points=len(plan), duration_s=round(plan.duration_s, 3),
                     lead_in_points=plan.lead_in_frames, retarget_ms=round(retarget_s * 1e3, 1),
                     latency_ms=round(latency_ms, 1), max_velocity_ratio=round(plan.check.max_velocity_ratio, 4),
                     **extra)

    def _append_streamed(self, outcome, received: float, epoch: int, retarget_s: float, repaired: bool,
                         newest: float) -> bool:
        """Streaming: the stream's next control frames after the points still to be sent, checked and published;
        False if refused (the stream then restarts from where the plan playing ends)."""
        source = {"source": "imitation", "body": self._following}
        if self._stopped or epoch != self._epoch:
            return False  # solved before the stop: never played
        playing, k = self._playing, self._next_point
        pending = playing.positions[k:] if playing is not None else None
        pending_base = playing.base_poses[k:] if playing is not None else None
        try:
            if isinstance(outcome, Exception):
                raise TrajectoryRefused(f"cannot retarget the skeleton: {outcome}")
            plan = append_trajectory(outcome, self._robot, self._last_command, pending, repaired,
                                     check_feasibility=self._require_feasible, pending_base=pending_base,
                                     catch_up_to=STREAM_PLAN_POINTS)
        except TrajectoryRefused as exc:
            self._refuse("refused_limits", f"streamed imitation refused: {exc}; restarting from the robot's "
                         "pose", **source)
            if pending is not None and len(pending):
                self._restart_imitation(np.concatenate([pending_base[-1], pending[-1]]))
            else:
                self._restart_imitation()
            return False
        stamp = self.get_clock().now().to_msg()
        self._trajectory_pub.publish(joint_trajectory_msg(plan.joint_names, plan.positions, plan.velocities,
                                                          plan.rate, stamp, self._frame_id))
        first = not self._streaming
        self._streaming, self._appended_at = True, time.monotonic()
        self._playing, self._next_point = plan, 0
        # capture: the newest skeleton -> its frames published; lag: the body at the newest frame -> the robot
        # there (the plan's last point), as for chunks
        now_ns = time.time_ns()
        capture_ms = (now_ns - self._stamp_ns(newest)) * 1e-6
        lag_ms = (now_ns - self._stamp_ns(float(outcome.times[-1]))) * 1e-6 + plan.duration_s * 1e3
        latency_ms = (time.monotonic() - received) * 1e3
        with self._lock:
            self._counts["trajectories_published"] += 1
            self._counts["streamed_frames"] += len(outcome)
            self._retarget_ms.append(retarget_s * 1e3)
            self._latency_ms.append(latency_ms)
            self._capture_ms.append(capture_ms)
            self._lag_ms.append(lag_ms)
        for note in outcome.adaptations:
            self.get_logger().info(f"imitation of {self._following}: {note}", throttle_duration_sec=LOG_THROTTLE_S)
        now = time.monotonic()
        if first or outcome.adaptations or now - self._stream_status_at >= STREAM_STATUS_PERIOD_S:
            self._stream_status_at = now
            message = (f"streaming {self._following}: {len(outcome)} frame(s) after {plan.carried_frames} pending, "
                       f"retargeted in {retarget_s * 1e3:.1f} ms; {plan.check.describe()}")
            if first:
                self.get_logger().info(message)
            self._status("playing", message, points=len(plan), duration_s=round(plan.duration_s, 3),
                         lead_in_points=0, retarget_ms=round(retarget_s * 1e3, 2), latency_ms=round(latency_ms, 1),
                         max_velocity_ratio=round(plan.check.max_velocity_ratio, 4), source="imitation",
                         mode="stream", body=self._following, carried_points=plan.carried_frames,
                         backlog_ms=round(plan.carried_frames / self._rate * 1e3, 1),
                         frame_time=self._stamp(float(outcome.times[-1])), capture_to_trajectory_ms=round(capture_ms, 1),
                         robot_lag_ms=round(lag_ms, 1), adaptations=list(outcome.adaptations))
        return True

    # --- emergency stop -----------------------------------------------------------------------------------

    def _on_emergency_stop(self, request, response):
        response.success, response.message = True, self._engage("~/emergency_stop")
        return response

    def _on_reset(self, request, response):
        response.success, response.message = True, self._release("~/reset")
        return response

    def _on_stop_topic(self, msg: Bool) -> None:
        """The graph's stop, from anyone (a stop button node, the commander's user, this node's services)."""
        if msg.data and not self._stopped:
            self._engage(EMERGENCY_STOP_TOPIC)
        elif not msg.data and self._stopped:
            self._release(EMERGENCY_STOP_TOPIC)

    def _engage(self, via: str) -> str:
        was_playing = self._playing is not None
        self._stopped = True  # the next tick publishes nothing
        self._playing = None
        self._planned = None  # imitation starts again on time after the reset, not where it stopped
        if self._stream is not None:
            self._restart_imitation()  # from where the robot stopped, after the reset
        with self._lock:
            self._waiting = self._result = None
        self._epoch += 1  # motions received before the stop are never played, even after a reset
        # An empty trajectory tells a trajectory controller to stop and hold where it is.
        header = make_header(self.get_clock().now().to_msg(), self._frame_id)
        self._trajectory_pub.publish(JointTrajectory(header=header, joint_names=list(self._robot.joint_names)))
        self._stop_pub.publish(Bool(data=True))  # the commander refuses commands while this holds
        message = (f"emergency stop ({via}): output halted" + (" mid-trajectory" if was_playing else "") +
                   "; motions are refused until ~/reset")
        self.get_logger().warning(message)
        self._status("stopped", message)
        return message

    def _release(self, via: str) -> str:
        was_stopped, self._stopped = self._stopped, False
        self._stop_pub.publish(Bool(data=False))
        message = (f"emergency stop cleared ({via}): motions and commands are accepted again" if was_stopped else
                   "not stopped: nothing to reset")
        self.get_logger().info(message)
        self._status("reset", message)
        return message

    # --- reporting ----------------------------------------------------------------------------------------

    def _refuse(self, counter: str, message: str, state: str = "refused", **values) -> None:
        with self._lock:
            self._counts[counter] += 1
            self._last_problem = message
        if counter == "refused_limits":  # rclpy loggers want one severity per call site
            self.get_logger().error(bounded(message))
        else:
            self.get_logger().warning(bounded(message))
        self._status(state, message, **values)

    def _status(self, state: str, message: str, **values) -> None:
        self._status_pub.publish(String(data=json.dumps(
            {"state": state, "message": message, "robot": self._robot.name, **values})))

    def _snapshot(self) -> dict[str, object]:
        def p50(values):
            return float(np.median(values)) if values else float("nan")

        with self._lock:
            values = {**self._counts, "emergency_stop": self._stopped, "playing": self._playing is not None,
                      "control_rate_hz": float(self._rate), "retarget_ms_p50": p50(self._retarget_ms),
                      "motion_to_trajectory_ms_p50": p50(self._latency_ms)}
            if self._imitate:
                values.update(imitate=self._imitate, following=self._following or "",
                              imitation_mode=self._mode,
                              imitation_restarts=(self._stream or self._imitation).restarts,
                              capture_to_trajectory_ms_p50=p50(self._capture_ms), robot_lag_ms_p50=p50(self._lag_ms))
        return values

    def _publish_diagnostics(self) -> None:
        values = self._snapshot()
        if self._stopped:
            level, message = ERROR, "emergency stop: output halted until ~/reset"
        elif self._last_problem:
            level, message = WARN, f"last problem: {self._last_problem}"
        else:
            level, message = OK, "playing" if values["playing"] else "idle"
            if self._imitate:
                message += f", imitating {self._following}" if self._following else ", no body to imitate"
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
        received = (f"{values['motions_received']} motions received" if not self._imitate else
                    f"{values['skeletons_received']} skeletons received ({values['bad_skeletons']} bad), "
                    + (f"{values['streamed_frames']} frames streamed" if self._stream is not None
                       else f"{values['chunks']} chunks"))
        shutdown_logger(self).info(
            f"stopped: {received}, {values['trajectories_published']} "
            f"trajectories published, {values['refused_limits']} refused (limits), {values['refused_stopped']} "
            f"refused (emergency stop), {values['bad_input']} bad; retarget p50 {values['retarget_ms_p50']:.0f} ms")


def main(args: list[str] | None = None) -> int:
    return run_node(RetargeterNode, "retargeter", args)


if __name__ == "__main__":
    sys.exit(main())
