"""Helpers shared by the ROS node tests (the fixtures ros_process / ros_probe are in conftest.py)."""
from __future__ import annotations

import time


def start(ros_process, module: str, *parameters: str, env: dict[str, str] | None = None):
    args = ["--ros-args"]
    for parameter in parameters:
        args += ["-p", parameter]
    return ros_process(module, *args, env=env)


def collect(probe, topics: dict[str, tuple[type, object]]) -> dict[str, list]:
    """Subscribe now; the lists fill while the probe spins."""
    received = {name: [] for name in topics}
    for name, (msg_type, qos) in topics.items():
        probe.node.create_subscription(msg_type, name, received[name].append, qos)
    return received


def spin_until(probe, condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        probe.executor.spin_once(timeout_sec=0.05)
    return condition()


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
