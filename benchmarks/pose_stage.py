"""Benchmark of the live pose stage: camera_source -> pose_estimator, as separate ROS 2 processes.

Feeds the shared video (looping) at 30 fps, 640x480 (letterboxed: the video is portrait) and reports,
over `--seconds` after a short warm-up:
- throughput: frames processed per second by pose_estimator, and skeletons published per second;
- drops: frames the camera published that the estimator skipped (dropped while busy, lost before it);
- camera-to-skeleton latency p50/p95, measured here, in a third process, on /humans/bodies/tracked
  (receive time minus the capture stamp the message carries), and the node's own inference time;
- CPU (% of one core, averaged) and peak resident memory of each node process.

    python benchmarks/pose_stage.py                 # 60 s
    python benchmarks/pose_stage.py --seconds 300   # a 5-minute soak

Runs on its own ROS domain (LOCALHOST discovery), so it does not disturb other ROS systems here.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from graph_figures import WARMUP_S, DiagnosticsLog, add_video_arguments, age_ms, percentiles


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_video_arguments(p, seconds=60.0, first_domain=200, pid=os.getpid())
    return p.parse_args()


def start_node(module: str, parameters: dict, env: dict, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", module, "--ros-args"]
    for name, value in parameters.items():
        args += ["-p", f"{name}:={value}"]
    return subprocess.Popen(args, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)


def main() -> int:
    args = parse_args()
    if not Path(args.video).is_file():
        print(f"pose_stage: error: {args.video}: no such video file", file=sys.stderr)
        return 2
    from motionllm_ros.environment import configure_ros_environment

    logs = Path(tempfile.mkdtemp(prefix="pose_stage_"))
    configure_ros_environment(domain_id=args.domain, log_dir=logs / "ros_log", large_data=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    import rclpy
    from hri_msgs.msg import IdsList
    from visualization_msgs.msg import Marker, MarkerArray

    rclpy.init()
    node = rclpy.create_node("pose_stage_benchmark")
    measuring = {"on": False}
    latencies_ms: list[float] = []
    counts = {"tracked": 0, "skeletons": 0}
    diagnostics = DiagnosticsLog(node)

    def on_tracked(msg: IdsList) -> None:
        if measuring["on"]:
            latencies_ms.append(age_ms(msg.header))
            counts["tracked"] += 1

    def on_markers(msg: MarkerArray) -> None:
        if measuring["on"]:
            counts["skeletons"] += sum(m.action == Marker.ADD and m.id == 0 for m in msg.markers)

    node.create_subscription(IdsList, "/humans/bodies/tracked", on_tracked, 100)
    node.create_subscription(MarkerArray, "/humans/bodies/markers", on_markers, 100)

    pose = start_node("motionllm_ros.pose_estimator", {}, env, logs / "pose_estimator.log")
    camera = start_node("motionllm_ros.camera_source", {
        "source": args.video, "loop": "true", "rate_mode": "fixed", "fps": f"{args.fps:.1f}",
        "width": args.width, "height": args.height, "wait_for_subscribers": 1}, env, logs / "camera_source.log")
    processes = {"camera_source": psutil.Process(camera.pid), "pose_estimator": psutil.Process(pose.pid)}
    peak_rss = {name: 0 for name in processes}
    try:
        def spin(seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                rclpy.spin_once(node, timeout_sec=0.05)
                for name, process in processes.items():
                    peak_rss[name] = max(peak_rss[name], process.memory_info().rss)

        print(f"warming up ({WARMUP_S:g} s after the first skeleton); logs in {logs}", flush=True)
        deadline = time.monotonic() + 60
        while (diagnostics.latest("pose_estimator") or {}).get("frames_processed", "0") == "0":
            if time.monotonic() > deadline or pose.poll() is not None or camera.poll() is not None:
                print("pose_stage: error: the pipeline did not start; see the logs", file=sys.stderr)
                return 1
            spin(0.2)
        spin(WARMUP_S)
        for process in processes.values():
            process.cpu_percent(None)  # starts the CPU measurement
        psutil.cpu_percent(None)
        measuring["on"] = True
        started, started_wall = time.monotonic(), time.time()
        print(f"measuring for {args.seconds:g} s", flush=True)
        spin(args.seconds)
        measuring["on"] = False
        elapsed, ended_wall = time.monotonic() - started, time.time()
        cpu = {name: process.cpu_percent(None) for name, process in processes.items()}
        system_cpu = psutil.cpu_percent(None)
        spin(1.5)  # the diagnostics that come just after the end
    finally:
        for process in (camera, pose):
            process.send_signal(2)  # SIGINT: the nodes log their summaries
        for process in (camera, pose):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        node.destroy_node()
        rclpy.try_shutdown()

    def rate(node_name: str, key: str) -> tuple[int, float]:
        return diagnostics.count(node_name, key, started_wall, ended_wall)

    published, published_fps = rate("camera_source", "frames_published")
    processed, processed_fps = rate("pose_estimator", "frames_processed")
    dropped, _ = rate("pose_estimator", "frames_dropped")
    lost, _ = rate("pose_estimator", "frames_lost")
    empty, _ = rate("pose_estimator", "frames_without_person")
    inference = diagnostics.latest("pose_estimator")
    print(f"\npose stage, {args.width}x{args.height} at {args.fps:g} fps, {elapsed:.0f} s measured "
          f"on {psutil.cpu_count()} CPU cores")
    print(f"  camera published        {published_fps:6.1f} fps ({published} frames)")
    print(f"  estimator processed     {processed_fps:6.1f} fps ({processed} frames, {empty} without a person)")
    print(f"  skeletons received      {counts['skeletons'] / elapsed:6.1f} /s ({counts['skeletons']})")
    print(f"  frames skipped          {dropped + lost} of {published} ({100.0 * (dropped + lost) / max(published, 1):.0f} %): "
          f"{dropped} dropped while busy, {lost} lost before the node")
    print(f"  camera-to-skeleton      {percentiles(latencies_ms, decimals=1)} (received by a third process)")
    print(f"  inference (node)        p50 {inference['inference_ms_p50']} ms, "
          f"p95 {inference['inference_ms_p95']} ms (last {300} frames)")
    for name in processes:
        print(f"  {name:22s}  CPU {cpu[name]:5.0f} % of a core, peak RSS {peak_rss[name] / 2**20:6.0f} MiB")
    print(f"  whole machine           CPU {system_cpu:5.0f} % (all cores, other work included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
