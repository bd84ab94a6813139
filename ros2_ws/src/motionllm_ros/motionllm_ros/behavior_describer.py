"""behavior_describer: tracked skeletons -> what each person is doing, in words, from the motion LLM.

Subscribes (REP-155 names, as pose_estimator publishes them)
  /humans/bodies/tracked               hri_msgs/IdsList  a body's skeleton subscription is made when its id
                                       appears and removed when it is gone
  /humans/bodies/<id>/skeleton3d       geometry_msgs/PoseArray  22 SMPL joints, Y up; header.stamp = capture time
Publishes
  /humans/bodies/<id>/description      std_msgs/String  the caption alone (String has no header: the stamp and
                                       the rest are on /humans/bodies/descriptions)
  /humans/bodies/descriptions          motionllm_interfaces/msg/BehaviorDescription  every body's: body id, the
                                       window's start and end capture stamps (header.stamp = end, the stamp of the
                                       skeleton it ended on), caption, confidence (the fraction of the window
                                       with a tracked pose), changed, frames, caption_ms, latency_ms
  /diagnostics                         diagnostic_msgs/DiagnosticArray  "behavior_describer: descriptions"
Service
  ~/ask    motionllm_interfaces/srv/AskAboutMotion  request: question, seconds of motion to ask about (0:
                                       `question_seconds`), body_id ("" : the body seen most recently). response:
                                       answered, answer (or why not), body_id, seconds of motion used,
                                       confidence, stamp = capture time of the last skeleton used
Parameters (read at start-up; those marked live also while it runs: `ros2 param set`)
  captioner          "llm" (the motion LLM) or "package.module:Name" of a plug-in with caption(joints) and
                     ask(joints, question)
  model              motion LLM weights folder ("" = the shipped models/weights/llm)
  torch_threads      threads for the LLM (default 1: on a busy 2-core machine one thread captions in ~1 s,
                     two in 2-17 s); 0 leaves torch's default
  window_seconds     (live) seconds of motion per caption (3.0)
  caption_period     (live) seconds of capture time between captions of one body (2.0)
  first_after        (live) seconds a new body must be seen before its first caption (1.0)
  republish_period   (live) also publish an unchanged caption this often, s of capture time (0: only on change)
  max_gap            (live) a window sample further than this (s) from a skeleton counts as untracked (confidence)
  question_seconds   (live) default length of motion a question is about (5.0)
  diagnostics_period seconds between /diagnostics messages

Work is done by motionllm.perception.behavior.BehaviorDescriber (windows at 20 fps from the capture stamps,
schedule, change detection, confidence = fraction of the window with a tracked pose). One worker thread
calls the model, one call at a time, questions first; it always captions a body's newest window, so a
slow model skips windows and never builds a backlog. Malformed skeletons (not 22 poses, NaN) are logged
(throttled), counted and reported; the node keeps running.

Run: `ros2 run motionllm_ros behavior_describer --ros-args --params-file launch/behavior_describer.yaml`
  or `python -m motionllm_ros.behavior_describer --ros-args --params-file launch/behavior_describer.yaml`
"""
from __future__ import annotations

import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseArray
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from std_msgs.msg import String
from hri_msgs.msg import IdsList
from motionllm_interfaces.msg import BehaviorDescription
from motionllm_interfaces.srv import AskAboutMotion

from motionllm.commands import QuestionChecker
from motionllm.console import bounded
from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.perception import behavior
from motionllm.perception.behavior import BehaviorDescriber, BehaviorError, load_captioner
from motionllm_ros.conversions import pose_array_to_joints
from motionllm_ros.diagnostics import DIAGNOSTICS_TOPIC, OK, WARN, diagnostic_array, shutdown_logger
from motionllm_ros.node_main import run_node
from motionllm_ros.parameters import Parameters

BODIES = "/humans/bodies"
DESCRIPTIONS_TOPIC = f"{BODIES}/descriptions"
QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
SKELETON_QOS = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)  # callbacks only store: never full
STATS_WINDOW = 100
STALE_BODY_S = 5.0  # wall-clock seconds without a skeleton or a tracked list naming the body: forget it
LOG_THROTTLE_S = 5.0
WORKER_TICK_S = 0.05
@dataclass
class Question:
    text: str
    seconds: float | None
    body: str | None
    future: Future


@dataclass
class Counters:
    skeletons: int = 0
    bad_skeletons: int = 0
    captions: int = 0
    published: int = 0
    unchanged: int = 0
    caption_failures: int = 0
    questions: int = 0
    answered: int = 0
    caption_ms: deque = field(default_factory=lambda: deque(maxlen=STATS_WINDOW))
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=STATS_WINDOW))  # window end -> published
    last_caption: str = ""
    last_error: str = ""
    errors_since_report: int = 0


def percentiles(values: deque) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    p50, p95 = np.percentile(np.array(values), [50, 95])
    return float(p50), float(p95)


class BehaviorDescriberNode(Node):
    def __init__(self) -> None:
        super().__init__("behavior_describer")
        self._declare_parameters()
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        start = time.perf_counter()
        if value("torch_threads") > 0:
            import torch

            torch.set_num_threads(value("torch_threads"))
        spec = value("captioner")
        captioner = load_captioner(spec, value("model"))  # MotionLLMError (no weights...): exit 2 in main()
        questions = QuestionChecker()  # ~/ask refuses what is not a question about the motion, with the reason
        self._describer = BehaviorDescriber(
            captioner, window_seconds=value("window_seconds"), caption_period=value("caption_period"),
            first_after=value("first_after"), republish_period=value("republish_period"),
            max_gap=value("max_gap"), question_seconds=value("question_seconds"), question_check=questions.check)

        self._descriptions_pub = self.create_publisher(BehaviorDescription, DESCRIPTIONS_TOPIC, QOS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, QOS)
        self._lock = threading.Condition()
        self._counters = Counters()
        self._bodies: dict[str, dict] = {}  # id -> {"sub", "pub", "frame_id", "seen" (monotonic)}
        self._epoch_ns: int | None = None  # times given to the describer are seconds since this stamp
        self._questions: deque[Question] = deque()
        self._stopping = False
        self._worker = threading.Thread(target=self._work, name="behavior_describer_worker", daemon=True)
        self._worker.start()
        self.create_subscription(IdsList, f"{BODIES}/tracked", self._on_tracked, QOS)
        self.create_service(AskAboutMotion, "~/ask", self._on_ask)
        self.create_timer(value("diagnostics_period"), self._publish_diagnostics)
        self.get_logger().info(
            f"ready: captioner {spec}, {value('window_seconds'):g} s windows every {value('caption_period'):g} s; "
            f"descriptions on {DESCRIPTIONS_TOPIC}; loaded in {time.perf_counter() - start:.1f} s")

    def _declare_parameters(self) -> None:
        declare = Parameters(self).declare

        def live(attribute):  # the describer reads these on every schedule decision: a change applies at once
            return lambda value: setattr(self._describer, attribute, value)

        declare("captioner", "llm", "Captioner: llm (the motion LLM), or package.module:Name of a plug-in")
        declare("model", "", "Motion LLM weights folder (empty: the shipped ones)")
        declare("torch_threads", 1, "Torch threads for the LLM (1 is fastest on a busy 2-core machine; 0: torch's "
                                    "default)", (0, 64))
        seconds = (behavior.MIN_SECONDS, behavior.MAX_QUESTION_SECONDS)
        declare("window_seconds", behavior.WINDOW_SECONDS, "Seconds of motion per caption", seconds,
                live=live("window_seconds"))
        declare("caption_period", behavior.CAPTION_PERIOD,
                "Seconds of capture time between two captions of a body (0: as often as the model can)", (0.0, 3600.0),
                live=live("caption_period"))
        declare("first_after", behavior.FIRST_AFTER, "Seconds a new body is seen before its first caption", seconds,
                live=live("first_after"))
        declare("republish_period", 0.0,
                "Also publish an unchanged caption this often, seconds of capture time (0: only on change)",
                (0.0, 3600.0), live=live("republish_period"))
        declare("max_gap", behavior.MAX_GAP,
                "A window sample further than this (s) from a skeleton counts as untracked (confidence)", (0.0, 10.0),
                live=live("max_gap"))
        declare("question_seconds", behavior.QUESTION_SECONDS,
                "Seconds of motion a question is about when the request gives none", seconds,
                live=live("question_seconds"))
        declare("diagnostics_period", 1.0, "Seconds between /diagnostics messages", (0.05, 60.0))

    # --- skeletons in ---------------------------------------------------------------------------------

    def _on_tracked(self, msg: IdsList) -> None:
        ids = list(msg.ids)
        now = time.monotonic()
        for body_id in ids:
            if body_id not in self._bodies:
                self._add_body(body_id)  # refuses (and counts) an id that is not a ROS name
            if body_id in self._bodies:
                self._bodies[body_id]["seen"] = now
        for body_id in [b for b, entry in self._bodies.items()
                        if b not in ids or now - entry["seen"] > STALE_BODY_S]:
            self._remove_body(body_id)

    def _add_body(self, body_id: str) -> None:
        if not re.match(r"[A-Za-z][A-Za-z0-9_]*$", body_id):  # a ROS name token (b1, ROS4HRI's random ids)
            self._bad_input(f"body id {body_id!r} is not a valid ROS name")
            return
        sub = self.create_subscription(PoseArray, f"{BODIES}/{body_id}/skeleton3d",
                                       lambda m, b=body_id: self._on_skeleton(b, m), SKELETON_QOS)
        pub = self.create_publisher(String, f"{BODIES}/{body_id}/description", QOS)
        with self._lock:
            self._bodies[body_id] = {"sub": sub, "pub": pub, "frame_id": "", "seen": time.monotonic()}
        self.get_logger().info(f"following body {body_id}")

    def _remove_body(self, body_id: str) -> None:
        with self._lock:
            entry = self._bodies.pop(body_id)
        self.destroy_subscription(entry["sub"])
        self.destroy_publisher(entry["pub"])
        self._describer.end(body_id)
        self.get_logger().info(f"body {body_id} is gone")

    def _on_skeleton(self, body_id: str, msg: PoseArray) -> None:
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        with self._lock:
            self._counters.skeletons += 1
            if self._epoch_ns is None:
                self._epoch_ns = stamp_ns
            t = (stamp_ns - self._epoch_ns) * 1e-9  # exact round trip back to the stamp (see _stamp_ns)
            entry = self._bodies.get(body_id)
        if entry is None:
            return
        try:
            self._describer.add(body_id, t, pose_array_to_joints(msg))
        except MotionFormatError as exc:
            self._bad_input(f"{body_id}: {exc}")
            return
        entry["frame_id"], entry["seen"] = msg.header.frame_id, time.monotonic()

    def _stamp_ns(self, t: float) -> int:
        return self._epoch_ns + int(round(t * 1e9))

    def _bad_input(self, message: str) -> None:
        with self._lock:
            self._counters.bad_skeletons += 1
            self._counters.last_error = message
            self._counters.errors_since_report += 1
        self.get_logger().warning(bounded(f"skipped: {message}"), throttle_duration_sec=LOG_THROTTLE_S)

    # --- questions --------------------------------------------------------------------------------------

    async def _on_ask(self, request, response):
        question = Question(request.question, request.seconds if request.seconds > 0 else None,
                            request.body_id.strip() or None, Future(executor=self.executor))
        with self._lock:
            self._counters.questions += 1
            self._questions.append(question)
            self._lock.notify()
        ok, text, answer = await question.future
        response.answered, response.answer = ok, text
        if answer is not None:
            response.body_id = answer.person
            response.seconds = float(answer.seconds)
            response.confidence = float(answer.confidence)
            stamp_ns = self._stamp_ns(answer.end)
            response.stamp.sec, response.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
        return response

    def _answer(self, question: Question) -> None:
        try:
            answer = self._describer.ask(question.text, question.body, question.seconds)
            result = (True, answer.answer, answer)
            self.get_logger().info(bounded(f"asked '{answer.question}' about {answer.person} "
                                           f"({answer.seconds:.1f} s): {answer.answer}"))
        except MotionLLMError as exc:
            result = (False, str(exc), None)
            self.get_logger().warning(bounded(f"question '{question.text}' not answered: {exc}"))
        except Exception as exc:  # noqa: BLE001 - the caller must get an answer whatever happens
            result = (False, f"failed: {type(exc).__name__}: {exc}", None)
            self.get_logger().error(bounded(f"question '{question.text}' failed: {type(exc).__name__}: {exc}"))
        with self._lock:
            self._counters.answered += result[0]
        question.future.set_result(result)
        executor = self.executor
        if executor is not None:
            executor.wake()

    # --- the worker: questions first, then the body that has waited longest -----------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._questions or self._stopping, timeout=WORKER_TICK_S)
                if self._stopping:
                    return
                question = self._questions.popleft() if self._questions else None
            if question is not None:
                self._answer(question)
                continue
            due = self._describer.due()
            if due:
                try:
                    self._describe(due[0])
                except Exception as exc:  # noqa: BLE001 - the worker must outlive any one caption
                    if not self.context.ok():
                        return
                    with self._lock:
                        self._counters.caption_failures += 1
                        self._counters.last_error = f"caption failed: {type(exc).__name__}: {exc}"
                        self._counters.errors_since_report += 1
                    self.get_logger().error(f"captioning {due[0]} failed: {type(exc).__name__}: {exc}",
                                            throttle_duration_sec=LOG_THROTTLE_S)

    def _describe(self, body_id: str) -> None:
        try:
            d = self._describer.describe(body_id)
        except BehaviorError:  # the body ended meanwhile
            return
        with self._lock:
            c = self._counters
            c.captions += 1
            c.caption_ms.append(d.caption_s * 1e3)
            entry = self._bodies.get(body_id)
            if not d.publish:
                c.unchanged += 1
        if not d.publish or entry is None:
            return
        end_ns, start_ns = self._stamp_ns(d.end), self._stamp_ns(d.start)
        msg = BehaviorDescription(body_id=body_id, caption=d.caption, confidence=float(d.confidence),
                                  changed=bool(d.changed), frames=int(d.frames), caption_ms=d.caption_s * 1e3)
        msg.header.frame_id = entry["frame_id"]
        msg.start.sec, msg.start.nanosec = divmod(start_ns, 1_000_000_000)
        msg.end.sec, msg.end.nanosec = divmod(end_ns, 1_000_000_000)
        msg.header.stamp = msg.end
        msg.latency_ms = (time.time_ns() - end_ns) * 1e-6
        self._descriptions_pub.publish(msg)
        try:
            entry["pub"].publish(String(data=d.caption))
        except Exception:  # noqa: BLE001 - the body ended (its publisher destroyed) while it was captioned
            pass
        with self._lock:
            self._counters.published += 1
            self._counters.latency_ms.append(msg.latency_ms)
            self._counters.last_caption = f"{body_id}: {d.caption}"
        self.get_logger().info(bounded(f"{body_id}: {d.caption} (tracked {100 * d.confidence:.0f} %, "
                                       f"caption {d.caption_s:.1f} s)"))

    # --- reporting ------------------------------------------------------------------------------------------

    def _snapshot(self) -> tuple[dict[str, object], int, str]:
        with self._lock:
            c = self._counters
            caption, latency = percentiles(c.caption_ms), percentiles(c.latency_ms)
            values = {"skeletons_received": c.skeletons, "bad_skeletons": c.bad_skeletons,
                      "bodies": len(self._bodies), "captions": c.captions, "descriptions_published": c.published,
                      "unchanged_not_published": c.unchanged, "caption_failures": c.caption_failures,
                      "questions": c.questions, "questions_answered": c.answered,
                      "caption_ms_p50": caption[0], "caption_ms_p95": caption[1],
                      "latency_ms_p50": latency[0], "latency_ms_p95": latency[1], "last": c.last_caption}
            errors, last_error = c.errors_since_report, c.last_error
            c.errors_since_report = 0
        return values, errors, last_error

    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        for body_id in [b for b, entry in self._bodies.items() if now - entry["seen"] > STALE_BODY_S]:
            self._remove_body(body_id)  # no skeletons and no tracked list for a while: pose_estimator is gone
        values, errors, last_error = self._snapshot()
        if errors:
            level, message = WARN, f"{errors} problem(s) since the last report; last: {last_error}"
        else:
            level, message = OK, f"{values['bodies']} body(ies) followed"
        self._diagnostics_pub.publish(diagnostic_array(self.get_clock().now().to_msg(),
                                                       "behavior_describer: descriptions", level, message, values))

    def shutdown(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._worker.join(timeout=10.0)
        values, _, _ = self._snapshot()
        shutdown_logger(self).info(
            f"stopped: {values['skeletons_received']} skeletons, {values['bad_skeletons']} bad, "
            f"{values['captions']} captions, {values['descriptions_published']} published, "
            f"{values['questions_answered']}/{values['questions']} questions answered; window-end-to-description "
            f"latency p50 {values['latency_ms_p50']:.0f} ms, p95 {values['latency_ms_p95']:.0f} ms")


def main(args: list[str] | None = None) -> int:
    # LARGE_DATA like the image nodes of the graph it listens to (docs/perception.md)
    return run_node(BehaviorDescriberNode, "behavior_describer", args, large_data=True)


if __name__ == "__main__":
    sys.exit(main())
