"""`motionllm ros up GRAPH`: start a graph of motionllm_ros nodes here, without `ros2 launch`.

    motionllm ros up perception --video clip.mp4     # camera_source -> pose_estimator -> behavior_describer
    motionllm ros up perception --camera 0
    motionllm ros up commander --robot g1             # motion_commander -> retargeter
    motionllm ros up imitation --video clip.mp4 --robot g1   # camera_source -> pose_estimator -> retargeter

Each node runs as its own process (its console script next to this Python, else `python -m
motionllm_ros.<node>`) with `--ros-args --params-file launch/<node>.yaml` plus the overrides given here.
The environment is the project's (motionllm_ros.environment: ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, a
log folder, LARGE_DATA transports for the image graph); ROS_DOMAIN_ID is inherited unless --domain-id is
given. Every line a node prints is forwarded, prefixed with its name. Ctrl-C or SIGTERM stops the graph:
each node gets SIGINT (its clean shutdown and summary), then SIGTERM and SIGKILL if it does not exit
within --stop-timeout seconds. If a node exits on its own, the others are stopped and the exit status is
non-zero (the node's own status, or 1). launch/perception.launch.py, launch/commander.launch.py and
launch/imitation.launch.py describe the same graphs for `ros2 launch`.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from motionllm.console import bounded
from motionllm.errors import MotionLLMError

GRAPHS = {
    "perception": ("pose_estimator", "behavior_describer", "camera_source"),  # consumers first: fewer lost frames
    "commander": ("retargeter", "motion_commander"),
    "imitation": ("retargeter", "pose_estimator", "camera_source"),  # the retargeter with imitate:=auto
}
IMAGE_GRAPHS = {"perception", "imitation"}
CAMERA_GRAPHS = IMAGE_GRAPHS  # --video, --camera
ROBOT_GRAPHS = {"commander", "imitation"}  # --robot
STOP_TIMEOUT_S = 10.0
POLL_S = 0.1
FORWARDED_LINE_CHARS = 1000  # a node's line, bounded: whatever a node prints, the terminal stays readable


def default_params_dir() -> Path:
    """The repository's launch/ (beside the motionllm package in a source checkout), else ./launch."""
    checkout = Path(__file__).resolve().parents[1] / "launch"
    return checkout if checkout.is_dir() else Path.cwd() / "launch"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "ros", help="ROS 2 bring-up: `motionllm ros up perception|commander|imitation` starts a graph of nodes",
        description="ROS 2 bring-up without ros2 launch (docs/ros.md).")
    ros = p.add_subparsers(dest="ros_command", metavar="ACTION", required=True)
    up = ros.add_parser(
        "up", help="start a graph of motionllm_ros nodes as processes; Ctrl-C stops them all",
        description="Start a graph of motionllm_ros nodes as separate processes with their parameter files "
                    "(launch/<node>.yaml) on this machine only (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST). "
                    "perception: camera_source -> pose_estimator -> behavior_describer. commander: "
                    "motion_commander -> retargeter. imitation: camera_source -> pose_estimator -> retargeter "
                    "imitating the first body tracked. Output is forwarded; Ctrl-C or SIGTERM stops every node "
                    "cleanly; if a node exits, the others are stopped and the status is non-zero.")
    up.add_argument("graph", choices=sorted(GRAPHS), help="which graph")
    source = up.add_mutually_exclusive_group()
    source.add_argument("--video", metavar="FILE",
                        help="perception, imitation: play this video (or image folder), looping at its own rate")
    source.add_argument("--camera", type=int, metavar="N", help="perception, imitation: webcam N (/dev/videoN)")
    up.add_argument("--robot", help="commander, imitation: robot profile (g1, talos, or a profile .yaml); "
                                    "default: the YAML's")
    up.add_argument("--param", action="append", default=[], metavar="NODE.NAME=VALUE",
                    help="override a node parameter, e.g. camera_source.fps=15 (repeatable)")
    up.add_argument("--params-dir", type=Path, metavar="DIR",
                    help="folder of the <node>.yaml parameter files (default: the repository's launch/)")
    up.add_argument("--domain-id", type=int, metavar="N", help="ROS_DOMAIN_ID (default: inherited)")
    up.add_argument("--stop-timeout", type=float, default=STOP_TIMEOUT_S, metavar="S",
                    help=f"seconds a node may take to stop after SIGINT (default {STOP_TIMEOUT_S:g})")
    up.add_argument("--dry-run", action="store_true", help="print the node commands and exit")
    up.set_defaults(func=run)


def node_command(name: str) -> list[str]:
    """The node's console script next to this Python, else `python -m motionllm_ros.<name>`."""
    script = Path(sys.executable).parent / name
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", f"motionllm_ros.{name}"]


def parse_overrides(items: list[str], nodes: tuple[str, ...]) -> dict[str, list[str]]:
    overrides: dict[str, list[str]] = {name: [] for name in nodes}
    for item in items:
        target, equals, value = item.partition("=")
        node, dot, parameter = target.partition(".")
        if not (equals and dot and parameter):
            raise MotionLLMError(f"--param {item!r}: expected NODE.NAME=VALUE, e.g. camera_source.fps=15")
        if node not in overrides:
            raise MotionLLMError(f"--param {item!r}: no node {node!r} in this graph ({', '.join(nodes)})")
        overrides[node].append(f"{parameter}:={value}")
    return overrides


def graph_commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """node name -> its command line."""
    nodes = GRAPHS[args.graph]
    if args.graph not in CAMERA_GRAPHS and (args.video or args.camera is not None):
        raise MotionLLMError(f"--video and --camera are for the {' and '.join(sorted(CAMERA_GRAPHS))} graphs")
    if args.graph not in ROBOT_GRAPHS and args.robot:
        raise MotionLLMError(f"--robot is for the {' and '.join(sorted(ROBOT_GRAPHS))} graphs")
    params_dir = args.params_dir or default_params_dir()
    overrides = parse_overrides(args.param, nodes)
    given = [p.split(":=", 1)[1] for p in overrides.get("camera_source", []) if p.startswith("source:=")]
    if args.graph in CAMERA_GRAPHS and args.camera is None and not (given and not args.video):
        # the video (--video, else the params file's): checked here, so that a graph never starts around a
        # source that cannot play; a relative default resolves from the repository, not the current folder
        video = Path(args.video).resolve() if args.video else default_video(params_dir)
        check_video(video, "--video" if args.video else f"the default video ({params_dir / 'camera_source.yaml'})")
        overrides["camera_source"].insert(0, f"source:={video}")
    if args.camera is not None:
        overrides["camera_source"].insert(0, f"source:=webcam:{args.camera}")  # a bare 0 would be an integer
    if args.graph in CAMERA_GRAPHS:  # a source that fails while the graph runs stops it (non-zero exit)
        overrides["camera_source"].insert(0, "exit_on_source_error:=true")
    if args.robot:
        from motionllm.retargeting.profile import load_profile

        load_profile(args.robot)  # an unknown robot: one line here, before any node starts
        for name in ("retargeter", "motion_commander"):
            if name in nodes:
                overrides[name].insert(0, f"robot:={args.robot}")
    if args.graph == "imitation":  # before the --param overrides: the last value given wins
        overrides["retargeter"].insert(0, "imitate:=auto")
        # one person is imitated: the person detector then runs only when they are lost (26 -> 17 ms a frame)
        overrides["pose_estimator"].insert(0, "max_people:=1")
    commands = {}
    for name in nodes:
        params_file = params_dir / f"{name}.yaml"
        if not params_file.is_file():
            raise MotionLLMError(f"parameter file {params_file} not found (--params-dir)")
        command = node_command(name) + ["--ros-args", "--params-file", str(params_file)]
        for parameter in overrides[name]:
            command += ["-p", parameter]
        commands[name] = command
    return commands


def default_video(params_dir: Path) -> Path:
    """camera_source.yaml's `source`, a relative path taken from the repository root (params_dir's parent)."""
    import yaml

    params_file = params_dir / "camera_source.yaml"
    try:
        source = yaml.safe_load(params_file.read_text())["camera_source"]["ros__parameters"]["source"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise MotionLLMError(f"{params_file}: no camera_source source to play ({type(exc).__name__}); "
                             "give --video or --camera") from None
    path = Path(str(source)).expanduser()
    return path if path.is_absolute() else (params_dir.parent / path).resolve()


def check_video(path: Path, what: str) -> None:
    """One frame of `path` decodes, or a one-line MotionLLMError."""
    from motionllm.perception.sources import open_source

    if not path.exists():
        raise MotionLLMError(f"{what}: {path}: no such file or folder")
    try:
        with open_source(str(path)) as source:
            frame = source.read()
    except MotionLLMError as exc:
        raise MotionLLMError(f"{what}: {exc}") from None
    if frame is None:
        raise MotionLLMError(f"{what}: {path}: no frame can be decoded")


def _die_with_parent() -> None:
    """In the child: receive SIGTERM if `motionllm ros up` dies without stopping it (e.g. SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: no such safety net
        pass


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    reader: threading.Thread


def _forward(name: str, stream, out) -> None:
    for line in iter(stream.readline, b""):
        out.write(f"[{name}] {bounded(line.decode(errors='replace'), FORWARDED_LINE_CHARS)}\n")
        out.flush()
    stream.close()


def start_children(commands: dict[str, list[str]], env: dict[str, str]) -> list[Child]:
    children = []
    for name, command in commands.items():
        popen = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent)
        reader = threading.Thread(target=_forward, args=(name, popen.stdout, sys.stdout), daemon=True)
        reader.start()
        children.append(Child(name, popen, reader))
    return children


def stop_children(children: list[Child], timeout: float, first: signal.Signals = signal.SIGINT) -> None:
    """`first` (SIGINT: what Ctrl-C sends) to every node still running, then SIGTERM, then SIGKILL to its
    process group. rclpy shuts a node down cleanly on SIGINT and on SIGTERM; a node still importing dies
    quietly on SIGTERM (and with a KeyboardInterrupt traceback on SIGINT)."""
    for sig in dict.fromkeys((first, signal.SIGTERM, signal.SIGKILL)):
        alive = [c for c in children if c.popen.poll() is None]
        if not alive:
            break
        for child in alive:
            try:
                if sig == signal.SIGKILL:
                    os.killpg(child.popen.pid, sig)
                else:
                    child.popen.send_signal(sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + (timeout if sig == first else 3.0)
        while time.monotonic() < deadline and any(c.popen.poll() is None for c in alive):
            time.sleep(POLL_S)
        running = [c.name for c in alive if c.popen.poll() is None]
        if running and sig != signal.SIGKILL:
            print(f"ros up: {', '.join(running)} still running after {sig.name}; sending the next signal",
                  file=sys.stderr)
    for child in children:
        child.popen.wait()
        child.reader.join(timeout=2.0)


def run(args: argparse.Namespace) -> int:
    commands = graph_commands(args)
    if args.dry_run:
        for command in commands.values():
            print(" ".join(command))
        return 0
    try:
        from motionllm_ros.environment import configure_ros_environment
    except ImportError:
        raise MotionLLMError("motionllm_ros is not installed: pip install -e ros2_ws/src/motionllm_ros") from None
    env = dict(os.environ)
    configure_ros_environment(domain_id=args.domain_id, large_data=args.graph in IMAGE_GRAPHS, environ=env)
    env["PYTHONUNBUFFERED"] = "1"

    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum, frame) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        children = start_children(commands, env)
        print(f"ros up {args.graph}: started " + ", ".join(f"{c.name} (pid {c.popen.pid})" for c in children)
              + f" on ROS domain {env.get('ROS_DOMAIN_ID', '0')}, localhost only; Ctrl-C stops", flush=True)
        failed: Child | None = None
        while not stop.is_set():
            failed = next((c for c in children if c.popen.poll() is not None), None)
            if failed is not None:
                break
            stop.wait(POLL_S)
        if failed is not None:
            print(f"ros up {args.graph}: {failed.name} exited with status {failed.popen.returncode}; "
                  "stopping the others", file=sys.stderr, flush=True)
        else:
            print(f"ros up {args.graph}: {received[0] if received else 'stop'} received, stopping", flush=True)
        stop_children(children, args.stop_timeout, signal.SIGINT if failed is None else signal.SIGTERM)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed is not None:
        return failed.popen.returncode or 1
    # A node stopped by SIGINT/SIGTERM exits 0 (or by the signal's negative status): a clean stop.
    bad = [c for c in children if c.popen.returncode not in (0, -signal.SIGINT, -signal.SIGTERM)]
    for child in bad:
        print(f"ros up {args.graph}: {child.name} stopped with status {child.popen.returncode}", file=sys.stderr)
    print(f"ros up {args.graph}: stopped", flush=True)
    return 1 if bad else 0
