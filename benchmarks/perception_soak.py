"""Soak test of the whole perception graph: camera_source -> pose_estimator -> behavior_describer (motion LLM).

Starts the graph with `motionllm ros up perception` (separate processes, a private ROS domain, LOCALHOST
discovery), feeding the shared video (looping) at 30 fps, 640x480 (letterboxed: the video is portrait), and
reports over `--seconds` after the first description and a short warm-up:
- pose stage: camera frames published, frames processed per second, frames skipped (dropped while the
  estimator was busy, lost before it), from the nodes' own /diagnostics counters;
- camera-to-skeleton latency p50/p95: receive time here (a third process) minus the capture stamp that
  /humans/bodies/tracked carries;
- window-end-to-description latency p50/p95: receive time here minus the capture stamp of the skeleton the
  captioned window ended on (the BehaviorDescription's end); every caption is published for this
  (republish_period 0.01 s), not only changed ones. Also the captioning time alone;
- CPU (% of one core) and resident memory of each node, sampled every `--sample` seconds, printed as a
  table over time, and memory growth from the first to the last sample.

    python benchmarks/perception_soak.py                 # 5 minutes
    python benchmarks/perception_soak.py --seconds 60
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from graph_figures import WARMUP_S, DiagnosticsLog, add_video_arguments, age_ms, percentiles

START_TIMEOUT_S = 120.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_video_arguments(p, seconds=300.0, first_domain=170, pid=os.getpid())
    p.add_argument("--sample", type=float, default=0.0,
                   help="seconds between CPU/memory samples (default: a tenth of --seconds, at least 5)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    if not Path(args.video).is_file():
        print(f"perception_soak: error: {args.video}: no such video file", file=sys.stderr)
        return 2
    sample_s = args.sample or max(5.0, args.seconds / 10)
    from motionllm_ros.environment import configure_ros_environment

    logs = Path(tempfile.mkdtemp(prefix="perception_soak_"))
    configure_ros_environment(domain_id=args.domain, log_dir=logs / "ros_log", large_data=True)
    camera = {"rate_mode": "fixed", "fps": f"{args.fps:.1f}", "width": args.width, "height": args.height}
    command = [sys.executable, "-m", "motionllm.cli", "ros", "up", "perception", "--video", args.video,
               "--param", "behavior_describer.republish_period=0.01"]
    for name, value in camera.items():
        command += ["--param", f"camera_source.{name}={value}"]
    log_path = logs / "ros_up.log"
    up = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=open(log_path, "wb"),
                          stderr=subprocess.STDOUT, start_new_session=True)

    import rclpy
    from hri_msgs.msg import IdsList
    from motionllm_interfaces.msg import BehaviorDescription

    rclpy.init()
    node = rclpy.create_node("perception_soak_benchmark")
    measuring = {"on": False}
    skeleton_ms: list[float] = []
    description_ms: list[float] = []
    caption_ms: list[float] = []
    diagnostics = DiagnosticsLog(node)
    first_description = {"seen": False}

    def on_tracked(msg: IdsList) -> None:
        if measuring["on"]:
            skeleton_ms.append(age_ms(msg.header))

    def on_description(msg: BehaviorDescription) -> None:
        first_description["seen"] = True
        if measuring["on"]:
            description_ms.append(age_ms(msg.header))  # header.stamp = the window's end
            caption_ms.append(msg.caption_ms)

    node.create_subscription(IdsList, "/humans/bodies/tracked", on_tracked, 100)
    node.create_subscription(BehaviorDescription, "/humans/bodies/descriptions", on_description, 100)

    def spin(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)

    samples: list[tuple[float, dict[str, tuple[float, float]]]] = []  # (t, name -> (cpu %, rss MiB))
    try:
        print(f"starting the graph; logs in {logs}", flush=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        pids: dict[str, int] = {}
        while not first_description["seen"]:
            if time.monotonic() > deadline or up.poll() is not None:
                print(f"perception_soak: error: no description within {START_TIMEOUT_S:g} s; see {log_path}",
                      file=sys.stderr)
                return 1
            if not pids:
                pids = {n: int(p) for n, p in re.findall(r"(\w+) \(pid (\d+)\)", log_path.read_text(errors="replace"))}
            spin(0.2)
        processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        print(f"first description received; warming up {WARMUP_S:g} s", flush=True)
        spin(WARMUP_S)
        for process in processes.values():
            process.cpu_percent(None)  # starts the CPU measurement
        psutil.cpu_percent(None)
        measuring["on"] = True
        started, started_wall = time.monotonic(), time.time()
        print(f"measuring for {args.seconds:g} s", flush=True)
        widths = {name: len(name) + 6 for name in processes}
        print(f"{'t (s)':>6}  " + "  ".join(f"{name + ' CPU %':>{widths[name]}} {'RSS MiB':>8}" for name in processes)
              + f"  {'machine CPU %':>13}", flush=True)
        next_sample = started + sample_s
        while time.monotonic() - started < args.seconds:
            spin(min(next_sample, started + args.seconds) - time.monotonic())
            now = time.monotonic()
            values = {name: (p.cpu_percent(None), p.memory_info().rss / 2**20) for name, p in processes.items()}
            samples.append((now - started, values))
            print(f"{now - started:6.0f}  " + "  ".join(f"{cpu:{widths[name]}.0f} {rss:8.0f}"
                                                        for name, (cpu, rss) in values.items())
                  + f"  {psutil.cpu_percent(None):13.0f}", flush=True)
            next_sample += sample_s
        measuring["on"] = False
        elapsed, ended_wall = time.monotonic() - started, time.time()
        spin(1.5)  # the diagnostics that come just after the end
    finally:
        up.send_signal(signal.SIGINT)  # as Ctrl-C: ros up stops every node, which log their summaries
        try:
            up.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
        node.destroy_node()
        rclpy.try_shutdown()

    def count(node_name: str, key: str) -> tuple[int, float]:
        return diagnostics.count(node_name, key, started_wall, ended_wall)

    published, published_fps = count("camera_source", "frames_published")
    processed, processed_fps = count("pose_estimator", "frames_processed")
    dropped, _ = count("pose_estimator", "frames_dropped")
    lost, _ = count("pose_estimator", "frames_lost")
    empty, _ = count("pose_estimator", "frames_without_person")
    captions, captions_rate = count("behavior_describer", "captions")
    bad, _ = count("behavior_describer", "bad_skeletons")
    print(f"\nperception graph, {args.width}x{args.height} at {args.fps:g} fps, {elapsed:.0f} s measured on "
          f"{psutil.cpu_count()} CPU cores (rc of ros up: {up.returncode})")
    print(f"  camera published          {published_fps:6.1f} fps ({published} frames)")
    print(f"  pose stage processed      {processed_fps:6.1f} fps ({processed} frames, {empty} without a person)")
    print(f"  frames skipped            {dropped + lost} of {published} "
          f"({100.0 * (dropped + lost) / max(published, 1):.0f} %): {dropped} dropped while busy, {lost} lost before "
          "the node")
    print(f"  camera-to-skeleton        {percentiles(skeleton_ms)}")
    print(f"  captions                  {captions_rate * 60:6.1f} per minute ({captions}); bad skeletons {bad}")
    print(f"  window-end-to-description {percentiles(description_ms)}")
    print(f"  captioning alone          {percentiles(caption_ms)}")
    if len(samples) >= 2:
        (t0, first), (t1, last) = samples[0], samples[-1]
        for name in first:
            cpu = np.mean([s[1][name][0] for s in samples])
            print(f"  {name:24s}  CPU {cpu:5.0f} % of a core (mean); RSS {first[name][1]:6.0f} MiB at {t0:.0f} s, "
                  f"{last[name][1]:6.0f} MiB at {t1:.0f} s ({last[name][1] - first[name][1]:+.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
