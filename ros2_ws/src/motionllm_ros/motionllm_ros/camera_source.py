"""camera_source: publishes the frames of a video file, a webcam or an image folder as images.

Publishes
  camera/image_raw  sensor_msgs/Image               rgb8; header.stamp = the frame's capture time,
                                                    header.frame_id = `frame_id`
  /diagnostics      diagnostic_msgs/DiagnosticArray status "camera_source: <source>" every second and
                                                    at once on an error: state, frames, rate, errors
Parameters (all may be changed at run time; a change reopens the source)
  source       video file, image folder, or webcam: "0", "webcam:0", "/dev/video0"
  loop         start a file or folder again at its end (default true)
  rate_mode    "native": a file's own frame rate (an image folder: `fps`); "fixed": `fps`;
               "max": as fast as frames can be decoded
  fps          frames per second for rate_mode "fixed", and an image folder's native rate (default 30)
  frame_id     header frame of the images (default "camera")
  width, height  resize every frame; 0 keeps that side or follows the other (aspect ratio kept)
  keep_aspect  when both width and height are set: fit and pad with black bars (true) or stretch (false)
  wait_for_subscribers  hold the first frame until this many subscriptions are matched (default 0), so
               that no frame of a file is lost while the consumers are still being discovered
  exit_on_source_error  (read at start-up) a source that cannot be opened, or stops giving frames
               (MAX_READ_ERRORS unreadable in a row), ends the node: one error line, exit status 2 at
               start-up, 1 later. Default false; `motionllm ros up` sets it, so that a broken video stops
               the graph instead of leaving it idle

A source that cannot be opened or read is logged as an error and reported on /diagnostics; unless
exit_on_source_error is set, the node keeps running so that a good `source` can be set. Frames are read and published by a worker thread,
so pacing never blocks parameter services. Image processes should share Fast DDS's LARGE_DATA
transports (environment.configure_ros_environment(large_data=True), done by main()).

Run: `ros2 run motionllm_ros camera_source --ros-args -p source:=clip.mp4 -p width:=640`
  or `python -m motionllm_ros.camera_source --ros-args --params-file launch/camera_source.yaml`
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import Image
from diagnostic_msgs.msg import DiagnosticArray

from motionllm.errors import MotionLLMError
from motionllm.perception.sources import NATIVE, FrameSource, FrameSourceError, open_source
from motionllm_ros.conversions import image_to_msg
from motionllm_ros.diagnostics import DIAGNOSTICS_TOPIC, ERROR, OK, WARN, diagnostic_array, shutdown_logger
from motionllm_ros.node_main import run_node

RATE_MODES = ("native", "fixed", "max")
SOURCE_PARAMETERS = {"source", "loop", "rate_mode", "fps", "width", "height", "keep_aspect", "wait_for_subscribers"}
# Reliable so that every subscriber matches (a best-effort publisher cannot serve a reliable reader);
# keep-last 2: a slow reader gets the newest frames, never a backlog.
IMAGE_QOS = QoSProfile(depth=2, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
ERROR_PAUSE_S = 0.2  # after a frame that cannot be read: do not spin on a source that fails every time
MAX_SIZE = 8192
MAX_READ_ERRORS = 25  # unreadable frames in a row (5 s at ERROR_PAUSE_S) that count as a source gone bad


class CameraSource(Node):
    def __init__(self) -> None:
        super().__init__("camera_source")
        self._declare_parameters()
        self._check_rate_mode(self.get_parameter("rate_mode").value)
        self._publisher = self.create_publisher(Image, "camera/image_raw", IMAGE_QOS)
        self._diagnostics = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, 10)
        self._lock = threading.Lock()  # guards the counters below, written by the reader thread
        self._state, self._message, self._level = "idle", "no source", WARN
        self._published, self._errors = 0, 0
        self._window_start, self._window_frames = time.monotonic(), 0
        self._frame_size = ""
        self._reader: threading.Thread | None = None
        self._source: FrameSource | None = None
        self._stop = threading.Event()
        self._exit_on_error = self.get_parameter("exit_on_source_error").value
        self.exit_code = 0  # run_node's exit status once the node has stopped itself (exit_on_source_error)
        self._errors_in_row = 0
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._on_parameters_set)
        self.create_timer(1.0, self._publish_diagnostics)
        self._start(at_start=True)

    # --- parameters -----------------------------------------------------------------------------

    def _declare_parameters(self) -> None:
        def describe(kind, text, **ranges):
            return ParameterDescriptor(type=kind, description=text, **ranges)

        self.declare_parameter("source", "", describe(
            ParameterType.PARAMETER_STRING, "Video file, image folder, or webcam (0, webcam:0, /dev/video0)"))
        self.declare_parameter("loop", True, describe(
            ParameterType.PARAMETER_BOOL, "Start a file or folder again at its end"))
        self.declare_parameter("rate_mode", "native", describe(
            ParameterType.PARAMETER_STRING, "native (the file's rate), fixed (fps) or max (as fast as decoded)",
            additional_constraints="one of: native, fixed, max"))
        self.declare_parameter("fps", 30.0, describe(
            ParameterType.PARAMETER_DOUBLE, "Frames per second for rate_mode fixed, and an image folder's rate",
            floating_point_range=[FloatingPointRange(from_value=0.1, to_value=1000.0)]))
        self.declare_parameter("frame_id", "camera", describe(
            ParameterType.PARAMETER_STRING, "Header frame of the images"))
        for side in ("width", "height"):
            self.declare_parameter(side, 0, describe(
                ParameterType.PARAMETER_INTEGER, f"Resize to this {side} (0: keep, or follow the other side)",
                integer_range=[IntegerRange(from_value=0, to_value=MAX_SIZE, step=1)]))
        self.declare_parameter("keep_aspect", True, describe(
            ParameterType.PARAMETER_BOOL, "With width and height both set: letterbox (true) or stretch (false)"))
        self.declare_parameter("exit_on_source_error", False, ParameterDescriptor(
            type=ParameterType.PARAMETER_BOOL, read_only=True,
            description="End the node (non-zero exit) when the source cannot be opened or stops giving frames"))
        self.declare_parameter("wait_for_subscribers", 0, describe(
            ParameterType.PARAMETER_INTEGER, "Hold the first frame until this many subscriptions are matched",
            integer_range=[IntegerRange(from_value=0, to_value=100, step=1)]))

    @staticmethod
    def _check_rate_mode(mode: str) -> None:
        if mode not in RATE_MODES:
            raise MotionLLMError(f"rate_mode must be one of {', '.join(RATE_MODES)}, got {mode!r}")

    def _validate_parameters(self, parameters) -> SetParametersResult:
        for parameter in parameters:
            if parameter.name == "rate_mode":
                try:
                    self._check_rate_mode(parameter.value)
                except MotionLLMError as exc:
                    return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _on_parameters_set(self, parameters) -> None:
        if SOURCE_PARAMETERS & {p.name for p in parameters}:
            self._stop_reader()
            self._start()

    # --- reading and publishing -------------------------------------------------------------------

    def _open(self) -> FrameSource:
        value = self.get_parameter
        spec, mode = value("source").value, value("rate_mode").value
        fps = {"native": NATIVE, "fixed": value("fps").value, "max": None}[mode]
        if mode == "native" and Path(spec).is_dir():  # an image folder has no rate of its own
            fps = value("fps").value
        return open_source(spec, loop=value("loop").value, fps=fps, width=value("width").value,
                           height=value("height").value, keep_aspect=value("keep_aspect").value)

    def _start(self, at_start: bool = False) -> None:
        spec = self.get_parameter("source").value
        try:
            source = self._open()
        except FrameSourceError as exc:
            if self._exit_on_error and at_start:  # main() prints it and exits 2
                raise MotionLLMError(f"cannot open source {spec!r}: {exc}") from None
            self._set_state("error", f"cannot open source: {exc}", ERROR)
            self.get_logger().error(f"cannot open source {spec!r}: {exc}")
            self._publish_diagnostics()
            if self._exit_on_error:
                self._exit(1)
            return
        rate = "as fast as possible" if source.fps is None else f"at {source.fps:g} fps"
        self.get_logger().info(f"publishing {source.description} {rate} on {self._publisher.topic_name}")
        self._set_state("playing", f"publishing {source.description}", OK)
        self._stop.clear()
        self._source = source
        self._reader = threading.Thread(target=self._read_frames_safely, args=(source,),
                                        name="camera_source_reader", daemon=True)
        self._reader.start()

    def _stop_reader(self) -> None:
        self._stop.set()
        if self._source is not None:
            self._source.interrupt()  # a slow rate's wait for the next slot ends now
            self._source = None
        if self._reader is not None:
            self._reader.join(timeout=5.0)
            self._reader = None

    def _read_frames_safely(self, source: FrameSource) -> None:
        try:
            self._read_frames(source)
        except Exception as exc:  # noqa: BLE001 - report it on /diagnostics rather than die silently
            if self.context.ok():
                self._set_state("error", f"reading stopped: {type(exc).__name__}: {exc}", ERROR)
                self.get_logger().error(f"reading {source.description} stopped: {type(exc).__name__}: {exc}")
                if self._exit_on_error:
                    self._exit(1)

    def _exit(self, code: int) -> None:
        """End the node (exit_on_source_error): the executor stops, and main() returns `code`."""
        self.exit_code = code
        self.get_logger().error(f"the source failed: stopping (exit status {code})")
        self.context.try_shutdown()

    def _read_frames(self, source: FrameSource) -> None:
        frame_id = self.get_parameter("frame_id").value
        wanted = self.get_parameter("wait_for_subscribers").value
        if self._publisher.get_subscription_count() < wanted:
            self.get_logger().info(f"waiting for {wanted} subscriber(s)")
            while self._publisher.get_subscription_count() < wanted:
                if self._stop.wait(0.05):
                    source.close()
                    return
        with source:
            while not self._stop.is_set():
                try:
                    frame = source.read()
                except FrameSourceError as exc:
                    self._on_read_error(exc)
                    if self._exit_on_error and self._errors_in_row >= MAX_READ_ERRORS:
                        self._exit(1)
                        return
                    self._stop.wait(ERROR_PAUSE_S)
                    continue
                if frame is None and self._stop.is_set():  # interrupted: the node is stopping or reopening
                    return
                if frame is None:
                    self._set_state("ended", f"end of {source.description} after {source.frames_read} frames", OK)
                    self.get_logger().info(f"end of {source.description} ({source.frames_read} frames)")
                    return
                stamp = Time(nanoseconds=frame.stamp_ns).to_msg()
                if not self.context.ok():  # Ctrl-C shut the context down under this thread: just stop
                    return
                self._publisher.publish(image_to_msg(frame.rgb, "rgb8", stamp, frame_id))
                with self._lock:
                    self._errors_in_row = 0
                    self._published += 1
                    self._window_frames += 1
                    self._frame_size = f"{frame.rgb.shape[1]}x{frame.rgb.shape[0]}"

    def _on_read_error(self, exc: Exception) -> None:
        with self._lock:
            self._errors += 1
            self._errors_in_row += 1
        self._set_state("playing", f"unreadable frame: {exc}", WARN)
        self.get_logger().warning(f"unreadable frame: {exc}", throttle_duration_sec=5.0)

    def _set_state(self, state: str, message: str, level: bytes) -> None:
        with self._lock:
            self._state, self._message, self._level = state, message, level

    # --- diagnostics ------------------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        with self._lock:
            rate = self._window_frames / max(now - self._window_start, 1e-6)
            self._window_start, self._window_frames = now, 0
            values = {"state": self._state, "source": self.get_parameter("source").value,
                      "frames_published": self._published, "rate_hz": rate, "frame_size": self._frame_size,
                      "read_errors": self._errors}
            level, message = self._level, self._message
            if level == WARN and self._state == "playing":
                self._level, self._message = OK, f"publishing {values['source']}"  # a warning is reported once
        self._diagnostics.publish(diagnostic_array(self.get_clock().now().to_msg(), "camera_source: camera/image_raw",
                                                   level, message, values, hardware_id=str(values["source"])))

    def shutdown(self) -> None:
        self._stop_reader()
        with self._lock:
            published, errors = self._published, self._errors
        shutdown_logger(self).info(f"stopped: {published} frames published, {errors} unreadable")


def main(args: list[str] | None = None) -> int:
    return run_node(CameraSource, "camera_source", args, large_data=True)


if __name__ == "__main__":
    sys.exit(main())
