"""What the ROS graph benchmarks (pose_stage.py, perception_soak.py) share: their video options, the nodes'
/diagnostics counters over the measured window, stamps and percentiles. Imported by those scripts only."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "data" / "video" / "pose2sim_single_cam01.mp4"
WARMUP_S = 5.0


def add_video_arguments(p: argparse.ArgumentParser, seconds: float, first_domain: int, pid: int) -> None:
    p.add_argument("--seconds", type=float, default=seconds,
                   help=f"measured duration after warm-up (default {seconds:g})")
    p.add_argument("--video", default=str(VIDEO), help="video file to loop (default: the shared treadmill video)")
    p.add_argument("--fps", type=float, default=30.0, help="camera rate (default 30)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--domain", type=int, default=first_domain + pid % 30,
                   help=f"ROS domain id (default: {first_domain}..{first_domain + 29})")


def age_ms(header) -> float:
    """Milliseconds from a message header's stamp (on this machine's clock) to now."""
    import time

    return (time.time_ns() - (header.stamp.sec * 1_000_000_000 + header.stamp.nanosec)) * 1e-6


def percentiles(values: list[float], unit: str = "ms", decimals: int = 0) -> str:
    if not values:
        return "n/a"
    p50, p95 = np.percentile(values, [50, 95])
    return f"p50 {p50:.{decimals}f} {unit}, p95 {p95:.{decimals}f} {unit} ({len(values)} samples)"


class DiagnosticsLog:
    """Every node's /diagnostics values as they arrive (about once a second), and counters over a window."""

    def __init__(self, node):
        from diagnostic_msgs.msg import DiagnosticArray

        self.history: dict[str, list[tuple[float, dict[str, str]]]] = {}  # node -> [(stamp s, values)]
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 100)

    def _on_diagnostics(self, msg) -> None:
        from motionllm_ros.diagnostics import status_values

        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        for status in msg.status:
            self.history.setdefault(status.name.split(":")[0], []).append((stamp, status_values(status)))

    def latest(self, node_name: str) -> dict[str, str] | None:
        entries = self.history.get(node_name)
        return entries[-1][1] if entries else None

    def count(self, node_name: str, key: str, started_wall: float, ended_wall: float) -> tuple[int, float]:
        """(how much `key` grew, per second) between the last report before the window and the first after it."""
        history = self.history[node_name]
        t0, before = [entry for entry in history if entry[0] <= started_wall][-1]
        t1, after = [entry for entry in history if entry[0] >= ended_wall][0]
        n = int(after[key]) - int(before[key])
        return n, n / (t1 - t0)
