"""Live imitation latency with the perception graph running, and how fast the emergency stop reaches the joints.

Starts `motionllm ros up perception` (camera_source -> pose_estimator -> behavior_describer with the motion LLM,
separate processes, a private ROS domain, LOCALHOST discovery) on the shared video (looping, 30 fps, 640x480)
and beside it a retargeter imitating the first tracked body (imitate:=auto, `--mode stream` or `chunks`), all
on this machine's cores. Over `--seconds` after the first trajectory and a warm-up it reports, from the
retargeter's robot/status:
- capture to trajectory: the newest skeleton's capture stamp (the camera frame's) -> its trajectory
  published (issue 18's bar: p50 <= 100 ms, p95 <= 200 ms, pose estimation included);
- skeleton to trajectory: the skeleton received by the retargeter -> its trajectory published;
- robot lag: the person at a frame -> the robot there (the trajectory's point for it; bar <= 300 ms);
- camera to skeleton (here, from /humans/bodies/tracked), for how much of it is pose estimation;
- streaming: control ticks with no point to send although frames came within 0.25 s (the robot held).
Every robot/status message is kept in the log folder (robot_status.jsonl). Then `--stops` times: /emergency_stop true, measured from publishing it to the last robot/joint_states sent
(its header stamp; bar: within one control period), then a reset and 2 s of imitation again.

    python benchmarks/imitation_latency.py                  # 60 s, streaming
    python benchmarks/imitation_latency.py --mode chunks    # the 1 s chunks, for comparison
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from graph_figures import REPO, WARMUP_S, DiagnosticsLog, add_video_arguments, age_ms, percentiles

START_TIMEOUT_S = 150.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_video_arguments(p, seconds=60.0, first_domain=140, pid=os.getpid())
    p.add_argument("--mode", choices=("stream", "chunks"), default="stream", help="the retargeter's imitation_mode")
    p.add_argument("--robot", default="g1")
    p.add_argument("--stops", type=int, default=5, help="emergency stops to time (default 5)")
    p.add_argument("--max-people", type=int, default=4,
                   help="pose_estimator's max_people (default 4, the perception graph's; 1: the detector only "
                        "runs when the person is lost, as in `ros up imitation`)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    if not Path(args.video).is_file():
        print(f"imitation_latency: error: {args.video}: no such video file", file=sys.stderr)
        return 2
    from motionllm_ros.environment import configure_ros_environment

    logs = Path(tempfile.mkdtemp(prefix="imitation_latency_"))
    configure_ros_environment(domain_id=args.domain, log_dir=logs / "ros_log", large_data=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    graph = [sys.executable, "-m", "motionllm.cli", "ros", "up", "perception", "--video", args.video,
             "--param", "camera_source.rate_mode=fixed", "--param", f"camera_source.fps={args.fps:.1f}",
             "--param", f"camera_source.width={args.width}", "--param", f"camera_source.height={args.height}",
             "--param", f"pose_estimator.max_people={args.max_people}"]
    retargeter = [sys.executable, "-m", "motionllm_ros.retargeter", "--ros-args", "--params-file",
                  str(REPO / "launch" / "retargeter.yaml"), "-p", f"robot:={args.robot}", "-p", "imitate:=auto",
                  "-p", f"imitation_mode:={args.mode}"]
    processes = [subprocess.Popen(command, env=env, stdout=open(logs / f"{name}.log", "wb"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
                 for name, command in (("perception", graph), ("retargeter", retargeter))]

    import rclpy
    from sensor_msgs.msg import JointState
    from hri_msgs.msg import IdsList
    from std_msgs.msg import Bool, String

    from motionllm_ros.conversions import EMERGENCY_STOP_QOS, EMERGENCY_STOP_TOPIC

    rclpy.init()
    node = rclpy.create_node("imitation_latency_benchmark")
    state = {"measuring": False, "playing": 0, "last_joint_state_ns": 0}
    capture_ms, skeleton_ms, lag_ms, camera_ms, backlog_ms = [], [], [], [], []

    status_log = open(logs / "robot_status.jsonl", "w")

    def on_status(msg: String) -> None:
        status_log.write(msg.data + "\n")
        status = json.loads(msg.data)
        if status.get("state") != "playing" or status.get("source") != "imitation":
            return
        state["playing"] += 1
        if state["measuring"]:
            capture_ms.append(status["capture_to_trajectory_ms"])
            skeleton_ms.append(status["latency_ms"])
            lag_ms.append(status["robot_lag_ms"])
            backlog_ms.append(status["backlog_ms"])

    def on_tracked(msg: IdsList) -> None:
        if state["measuring"]:
            camera_ms.append(age_ms(msg.header))

    def on_joint_state(msg: JointState) -> None:
        state["last_joint_state_ns"] = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec

    node.create_subscription(String, "robot/status", on_status, 100)
    node.create_subscription(IdsList, "/humans/bodies/tracked", on_tracked, 100)
    node.create_subscription(JointState, "robot/joint_states", on_joint_state, 100)
    stop_pub = node.create_publisher(Bool, EMERGENCY_STOP_TOPIC, EMERGENCY_STOP_QOS)
    diagnostics = DiagnosticsLog(node)

    def spin(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.01)

    stop_ms = []
    try:
        print(f"starting the graph and the retargeter ({args.mode}); logs in {logs}", flush=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while state["playing"] == 0:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                print(f"imitation_latency: error: no imitation within {START_TIMEOUT_S:g} s; see {logs}", file=sys.stderr)
                return 1
            spin(0.2)
        print(f"imitating; warming up {WARMUP_S:g} s, then measuring {args.seconds:g} s", flush=True)
        spin(WARMUP_S)
        state["measuring"] = True
        started_wall = time.time()
        spin(args.seconds)
        state["measuring"] = False
        ended_wall = time.time()
        spin(1.5)  # the diagnostics that come just after the end
        for _ in range(args.stops):
            stop_pub.publish(Bool(data=True))
            sent_ns = time.time_ns()
            spin(1.0)
            stop_ms.append((state["last_joint_state_ns"] - sent_ns) * 1e-6)
            stop_pub.publish(Bool(data=False))
            spin(2.0)
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        node.destroy_node()
        rclpy.try_shutdown()

    print(f"\nimitation ({args.mode}, {args.robot}) beside the perception graph, {args.width}x{args.height} at "
          f"{args.fps:g} fps, {args.seconds:g} s measured on {os.cpu_count()} CPU cores")
    print(f"  capture to trajectory    {percentiles(capture_ms)}")
    print(f"  skeleton to trajectory   {percentiles(skeleton_ms)}")
    print(f"  robot behind the person  {percentiles(lag_ms)}")
    print(f"  points still to be sent  {percentiles(backlog_ms)} of motion, when new frames came")
    if args.mode == "stream":
        starved, per_second = diagnostics.count("retargeter", "starved_ticks", started_wall, ended_wall)
        print(f"  starved control ticks    {starved} ({per_second:.1f}/s of 50: the robot held, its next frames late)")
    print(f"  camera to skeleton       {percentiles(camera_ms)}")
    if stop_ms:
        from motionllm.retargeting import load_profile

        rate = load_profile(args.robot).control_rate
        print(f"  emergency stop -> last joint state sent: {', '.join(f'{v:.1f}' for v in stop_ms)} ms "
              f"(negative: the last was sent before the stop; control period {1e3 / rate:.0f} ms at {rate:g} Hz); "
              f"max {max(stop_ms):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
