"""motion_commander: text commands -> checked -> SMPL-22 motion from the motion LLM.

Commands come three ways; each is checked first (motionllm.commands: empty, too long, gibberish or not a
motion, a length out of range, a robot this commander does not serve, or something the robot's profile
forbids -> refused with the reason, nothing generated), then generated, then published.
  motion/command         std_msgs/String              command text; the outcome goes to motion/command_status
  ~/command              motionllm_interfaces/srv/CommandMotion   request: command, seconds (0: the model
                         (service)                    decides), robot ("": this commander's). response:
                                                      accepted, reason (what was done or why not), motion_id
  ~/command_motion       motionllm_interfaces/action/CommandMotion   the same, as a goal; feedback: stage
                         (action)                     (STAGES: checking, generating, generated, published) and
                                                      progress 0..1; result as the service's response. A refused
                                                      command aborts the goal (reason in the result); a goal
                                                      cancelled before its motion is published publishes nothing
A motion's id (motion_id, e.g. "motion_commander/3") travels with it on motion/clip (conversions, an id=<id>
dim) and names it on motion/command_status and on the retargeter's robot/status.

Subscribes
  motion/command         std_msgs/String              command text (above)
  /emergency_stop        std_msgs/Bool                the graph's emergency stop (retargeter): while true, every
                                                      command is refused with the reason, and a motion being
                                                      generated when it engages is not published
Publishes
  motion/clip            std_msgs/Float32MultiArray  the generated motion, (T, 22, 3) at its fps (docs/ros.md);
                                                     transient-local, as motion_player's: the retargeter's input
  motion/markers         visualization_msgs/MarkerArray  the motion played once at its fps, for RViz
  motion/command_status  motionllm_interfaces/msg/CommandStatus  per command: command, source, accepted,
                                                     message, frames, seconds, motion_id
  /diagnostics           diagnostic_msgs/DiagnosticArray  "motion_commander: commands" every `diagnostics_period` s
Parameters (read at start-up; similarity_threshold, max_chars, max_words also live: `ros2 param set`)
  robot                 robot profile (default g1; "" for none): commands it may not do are refused before
                        generating (capabilities: flips and cartwheels never; jumps if jump: never; walking if
                        walk: false; leg motions if upper_body_only), and an unknown robot is an error at start
  generator             "llm" (default: motionllm.models.motion_llm.MotionLanguageModel) or
                        "package.module:Name" of a plug-in with fps and generate(text, seconds)
  model                 weights folder of the motion LLM (default "": the shipped models/weights/llm)
  similarity_threshold  command check: least cosine similarity to a known motion command (docs/ros.md)
  max_chars, max_words  longest command accepted
  frame_id              header frame of the markers (default "motion", Y up)
  diagnostics_period    seconds between /diagnostics messages

The generator and the command check (MiniLM) are loaded when the node starts; a generator that cannot be
loaded (no trained weights) is one error line and exit status 2. One command is generated at a time, on a
worker thread; a command that arrives meanwhile is refused as busy (its reason says so), never queued
behind a long generation.

Run: `ros2 run motionllm_ros motion_commander`
  or `python -m motionllm_ros.motion_commander --ros-args --params-file launch/motion_commander.yaml`
"""
from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from motionllm_interfaces.action import CommandMotion as CommandMotionAction
from motionllm_interfaces.msg import CommandStatus
from motionllm_interfaces.srv import CommandMotion
from rclpy.action import ActionServer, CancelResponse
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from std_msgs.msg import Bool, Float32MultiArray, String
from visualization_msgs.msg import MarkerArray

from motionllm.commands import (DEFAULT_THRESHOLD, MAX_COMMAND_CHARS, MAX_COMMAND_WORDS, CommandChecker,
                                CommandResult, MotionCommander, load_generator, normalize_command)
from motionllm.console import bounded
from motionllm.retargeting.profile import DEFAULT_ROBOT, load_profile
from motionllm_ros.conversions import (CLIP_QOS, DEFAULT_FRAME_ID, EMERGENCY_STOP_QOS, EMERGENCY_STOP_TOPIC,
                                       motion_to_multiarray, skeleton_markers)
from motionllm_ros.diagnostics import DIAGNOSTICS_TOPIC, OK, WARN, diagnostic_array, shutdown_logger
from motionllm_ros.node_main import run_node
from motionllm_ros.parameters import Parameters

COMMAND_TOPIC = "motion/command"
STATUS_TOPIC = "motion/command_status"
OUTPUT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
FEEDBACK_PERIOD_S = 0.5
GENERATION_WINDOW = 50
STAGES = ("checking", "generating", "generated", "published")  # the action's feedback stages, in order


@dataclass
class Job:
    text: str
    seconds: float | None
    source: str  # topic, service or action
    future: Future
    robot: str = ""  # the robot the command is for ("": this commander's)
    feedback: Callable[[str, float, float], None] = lambda stage, fraction, elapsed: None
    cancelled: Callable[[], bool] = lambda: False
    motion_id: str = ""  # set when its motion is published
    started: float = field(default_factory=time.monotonic)
    stage: str = "queued"


class MotionCommanderNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__("motion_commander", **node_options)
        self._declare_parameters()
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        spec = value("generator")
        # an unknown robot (ProfileError: exit 2 in main()) fails before any model is loaded
        profile = load_profile(value("robot")) if value("robot") else None
        start = time.perf_counter()
        generator = load_generator(spec, value("model"))  # MotionLLMError (no weights...): exit 2 in main()
        checker = CommandChecker(value("similarity_threshold"), value("max_chars"), value("max_words"))
        self._commander = MotionCommander(generator, checker, profile)
        self._stopped = False  # the graph's emergency stop (/emergency_stop), engaged
        self._fps = float(getattr(generator, "fps", 20.0))
        self._frame_id = value("frame_id")

        self._clip_pub = self.create_publisher(Float32MultiArray, "motion/clip", CLIP_QOS)
        self._markers_pub = self.create_publisher(MarkerArray, "motion/markers", OUTPUT_QOS)
        self._status_pub = self.create_publisher(CommandStatus, STATUS_TOPIC, OUTPUT_QOS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, OUTPUT_QOS)

        self._lock = threading.Condition()
        self._job: Job | None = None  # the command being handled (one at a time)
        self._stopping = False
        self._counts = {"commands": 0, "accepted": 0, "refused": 0, "failed": 0, "busy": 0, "refused_stopped": 0}
        self._generate_s: deque[float] = deque(maxlen=GENERATION_WINDOW)
        self._last = ""
        self._motions = 0  # published so far: the next motion's id is <node name>/<motions + 1>
        self._playing: np.ndarray | None = None  # motion whose markers are being played
        self._frame = 0
        self._worker = threading.Thread(target=self._work, name="motion_commander_worker", daemon=True)
        self._worker.start()

        self.create_subscription(Bool, EMERGENCY_STOP_TOPIC, self._on_stop, EMERGENCY_STOP_QOS)
        self.create_subscription(String, COMMAND_TOPIC, self._on_topic_command, 10)
        self.create_service(CommandMotion, "~/command", self._on_service_command)
        self._action = ActionServer(self, CommandMotionAction, "~/command_motion", self._execute,
                                    cancel_callback=lambda goal_handle: CancelResponse.ACCEPT)
        self.create_timer(1.0 / self._fps, self._play_markers)
        self.create_timer(FEEDBACK_PERIOD_S, self._report_progress)
        self.create_timer(value("diagnostics_period"), self._publish_diagnostics)
        self.get_logger().info(f"ready: generator {spec}, command check with {len(checker.references)} reference "
                               f"commands (threshold {checker.threshold:g}); loaded in "
                               f"{time.perf_counter() - start:.1f} s")

    def _declare_parameters(self) -> None:
        declare = Parameters(self).declare

        def live(attribute):  # the command check reads these for every command
            return lambda value: setattr(self._commander.checker, attribute, value)

        declare("generator", "llm", "Motion generator: llm (the motion LLM), or package.module:Name of a plug-in")
        declare("model", "", "Motion LLM weights folder (empty: the shipped ones)")
        declare("similarity_threshold", DEFAULT_THRESHOLD,
                "Least cosine similarity (MiniLM) to a known motion command for a command to be accepted", (0.05, 0.95),
                live=live("threshold"))
        declare("max_chars", MAX_COMMAND_CHARS, "Longest command, characters", (1, MAX_COMMAND_CHARS),
                live=live("max_chars"))
        declare("max_words", MAX_COMMAND_WORDS, "Longest command, words", (1, 1000), live=live("max_words"))
        declare("robot", DEFAULT_ROBOT,
                "Robot profile whose capabilities commands must respect (g1, talos, a .yaml; empty: none)")
        declare("frame_id", DEFAULT_FRAME_ID, "Header frame of the markers (Y up)")
        declare("diagnostics_period", 1.0, "Seconds between /diagnostics messages", (0.05, 60.0))

    # --- commands in ----------------------------------------------------------------------------------

    def _submit(self, text: str, seconds: float | None, source: str, **options) -> Job:
        """Hand a command to the worker; job.future completes with a CommandResult (at once when busy)."""
        job = Job(text, seconds, source, Future(executor=self.executor), **options)
        with self._lock:
            self._counts["commands"] += 1
            if self._stopped:
                self._counts["refused_stopped"] += 1
                result = CommandResult(False, "emergency stop engaged: commands are refused until it is reset "
                                              "(the retargeter's ~/reset, or false on /emergency_stop)",
                                       normalize_command(text))
            elif self._job is not None:
                self._counts["busy"] += 1
                busy = f"busy: still generating '{self._job.text}'; send the command again when it is done"
                result = CommandResult(False, busy, normalize_command(text))
            else:
                self._job, result = job, None
                self._lock.notify()
        if result is not None:  # busy or stopped: answered and reported here (the worker does the others)
            self._report(result, source)
            job.future.set_result(result)
        return job

    def _on_topic_command(self, msg: String) -> None:
        self._submit(msg.data, None, "topic")

    @staticmethod
    def _seconds(requested: float) -> float | None:
        """A request's seconds: 0 lets the model decide; anything else goes to the command check as it is."""
        return None if requested == 0 else float(requested)

    async def _on_service_command(self, request: CommandMotion.Request, response: CommandMotion.Response):
        job = self._submit(request.command, self._seconds(request.seconds), "service", robot=request.robot)
        result: CommandResult = await job.future
        response.accepted, response.reason, response.motion_id = result.ok, result.message, job.motion_id
        return response

    async def _execute(self, goal_handle):
        goal = goal_handle.request

        def feedback(stage: str, fraction: float, elapsed: float) -> None:
            goal_handle.publish_feedback(CommandMotionAction.Feedback(stage=stage, progress=float(fraction)))

        job = self._submit(goal.command, self._seconds(goal.seconds), "action", robot=goal.robot, feedback=feedback,
                           cancelled=lambda: goal_handle.is_cancel_requested)
        result: CommandResult = await job.future
        if goal_handle.is_cancel_requested and not result.ok:
            goal_handle.canceled()
        elif result.ok:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        return CommandMotionAction.Result(accepted=result.ok, reason=result.message, motion_id=job.motion_id)

    # --- the worker: check, generate, publish ---------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: (self._job is not None and self._job.stage == "queued") or self._stopping)
                if self._stopping:
                    return
                job = self._job
                job.stage = "checking"
            try:
                result = self._handle(job)
            except Exception as exc:  # noqa: BLE001 - a bug in a generator must not take the node down
                if not self.context.ok():
                    return
                self.get_logger().error(bounded(f"generating '{job.text}' failed: {type(exc).__name__}: {exc}"))
                result = CommandResult(False, f"generation failed: {type(exc).__name__}: {exc}",
                                       normalize_command(job.text))
            with self._lock:
                self._job = None
            try:
                self._report(result, job.source, job.motion_id)
            finally:  # whatever happens, the caller gets its answer
                job.future.set_result(result)
                executor = self.executor
                if executor is not None:
                    executor.wake()  # resume the service or action callback awaiting this result

    def _handle(self, job: Job) -> CommandResult:
        def progress(stage: str, fraction: float) -> None:
            with self._lock:  # in order with the progress timer's "generating" feedback (_report_progress)
                job.stage = stage
                job.feedback(stage, fraction, time.monotonic() - job.started)

        result = self._commander.handle(job.text, job.seconds, progress, robot=job.robot)
        if not result.ok:
            return result
        if job.cancelled():
            return CommandResult(False, f"cancelled: '{result.text}' was generated but not published", result.text)
        if self._stopped:
            return CommandResult(False, f"emergency stop engaged while generating: '{result.text}' was not "
                                        "published", result.text)
        with self._lock:
            self._motions += 1
            job.motion_id = f"{self.get_name()}/{self._motions}"
        self._clip_pub.publish(motion_to_multiarray(result.joints, result.fps, job.motion_id))
        with self._lock:
            self._playing, self._frame = result.joints, 0
            self._generate_s.append(result.generate_s)
        progress("published", 1.0)
        return result

    def _on_stop(self, msg: Bool) -> None:
        with self._lock:
            changed, self._stopped = self._stopped != msg.data, bool(msg.data)
        if changed and msg.data:
            self.get_logger().warning("emergency stop engaged: commands are refused until it is reset")
        elif changed:
            self.get_logger().info("emergency stop cleared: commands are accepted again")

    def _report_progress(self) -> None:
        """While generating, tell an action client how long it has been (the LLM reports no progress itself):
        progress grows from 0.1 towards 0.9 over the usual generation time."""
        with self._lock:  # held while publishing: a later stage's feedback cannot overtake this one
            job = self._job
            usual = float(np.median(self._generate_s)) if self._generate_s else 5.0
            if job is None or job.stage != "generating":
                return
            elapsed = time.monotonic() - job.started
            job.feedback("generating", 0.1 + 0.8 * min(elapsed / max(usual, 1e-3), 0.99), elapsed)

    # --- outputs ----------------------------------------------------------------------------------------------

    def _play_markers(self) -> None:
        with self._lock:
            motion, frame = self._playing, self._frame
            if motion is not None:
                self._frame += 1
                if self._frame >= len(motion):
                    self._playing = None
        if motion is not None:
            self._markers_pub.publish(skeleton_markers(motion[frame], self.get_clock().now().to_msg(),
                                                       self._frame_id, ns="command"))

    def _report(self, result: CommandResult, source: str, motion_id: str = "") -> None:
        frames = len(result.joints) if result.joints is not None else 0
        with self._lock:
            if result.ok:
                self._counts["accepted"] += 1
            elif result.refused:
                self._counts["refused"] += 1
            elif not result.message.startswith(("busy", "emergency stop")):  # those are counted when refused
                self._counts["failed"] += 1
            self._last = f"{'accepted' if result.ok else 'refused'} '{result.text}': {result.message}"
        line = bounded(f"{source} command: {result.message}" if result.text in result.message else
                       f"{source} command '{result.text}': {result.message}")  # the text once, the line bounded
        if result.ok:
            self.get_logger().info(line)
        else:  # rclpy loggers want one severity per call site
            self.get_logger().warning(line)
        status = CommandStatus(command=result.text, source=source, accepted=result.ok, message=result.message,
                               frames=frames, seconds=float(result.seconds), motion_id=motion_id)
        status.header.stamp = self.get_clock().now().to_msg()
        self._status_pub.publish(status)

    def _publish_diagnostics(self) -> None:
        with self._lock:
            values = {**self._counts, "busy_now": self._job is not None,
                      "generate_s_p50": float(np.median(self._generate_s)) if self._generate_s else float("nan"),
                      "last": self._last}
        level = WARN if values["failed"] else OK
        self._diagnostics_pub.publish(diagnostic_array(self.get_clock().now().to_msg(), "motion_commander: commands",
                                                       level, "generating" if values["busy_now"] else "idle", values))

    def shutdown(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._worker.join(timeout=5.0)
        self._action.destroy()
        c = self._counts
        shutdown_logger(self).info(f"stopped: {c['commands']} commands, {c['accepted']} accepted, {c['refused']} "
                                   f"refused, {c['failed']} failed, {c['busy']} refused as busy")


def main(args: list[str] | None = None) -> int:
    return run_node(MotionCommanderNode, "motion_commander", args)


if __name__ == "__main__":
    sys.exit(main())
