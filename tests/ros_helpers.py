"""Helpers shared by the ROS node tests (the fixtures ros_process / ros_probe are in conftest.py)."""
from __future__ import annotations

import json
import time

import numpy as np


def start(ros_process, module: str, *parameters: str, env: dict[str, str] | None = None):
    args = ["--ros-args"]
    for parameter in parameters:
        args += ["-p", parameter]
    return ros_process(module, *args, env=env)


def collect(probe, topics: dict[str, tuple[type, object]], matched: tuple[str, ...] = (),
            timeout: float = 20.0) -> dict[str, list]:
    """Subscribe now; the lists fill while the probe spins. `matched`: topics whose publisher must be matched to
    the new subscription before this returns (on a volatile topic a message sent before the match is lost)."""
    received = {name: [] for name in topics}
    subscriptions = {name: probe.node.create_subscription(msg_type, name, received[name].append, qos)
                     for name, (msg_type, qos) in topics.items()}
    for name in matched:
        assert spin_until(probe, lambda: subscriptions[name].get_publisher_count() > 0, timeout), \
            f"no publisher of {name} matched"
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


def call(probe, service_type, name: str, request=None, timeout: float = 20.0):
    client = probe.node.create_client(service_type, name)
    assert client.wait_for_service(timeout_sec=timeout), f"service {name} did not appear"
    future = client.call_async(request if request is not None else service_type.Request())
    probe.executor.spin_until_future_complete(future, timeout_sec=timeout)
    assert future.done(), f"{name}: no answer within {timeout} s"
    return future.result()


def wait_for_subscriber(probe, publisher, timeout: float = 20.0) -> None:
    assert spin_until(probe, lambda: publisher.get_subscription_count() > 0, timeout), "the node never subscribed"


def statuses(messages) -> list[dict]:
    return [json.loads(m.data) for m in messages]


def stamp_s(msg) -> float:
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def assert_within_limits(trajectory, robot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A JointTrajectory against the robot's URDF limits: positions, velocities and finite-difference steps."""
    from motionllm_ros.conversions import trajectory_to_arrays

    assert tuple(trajectory.joint_names) == robot.joint_names
    times, positions, velocities = trajectory_to_arrays(trajectory)
    rate = robot.control_rate
    np.testing.assert_allclose(times, np.arange(len(times)) / rate, atol=1e-9)
    assert np.all(np.isfinite(positions)) and np.all(np.isfinite(velocities))
    assert np.all(positions >= robot.lower) and np.all(positions <= robot.upper), "position outside limits"
    assert np.all(np.abs(velocities) <= robot.velocity_limit), "velocity over the limit"
    steps = np.abs(np.diff(positions, axis=0)) * rate / robot.velocity_limit
    assert steps.max(initial=0.0) <= 1.0, f"finite-difference velocity {steps.max():.3f} x the limit"
    return times, positions, velocities


def last_status(diagnostics: list, prefix: str):
    """The newest DiagnosticStatus whose name starts with `prefix`, or None."""
    found = [s for array in diagnostics for s in array.status if s.name.startswith(prefix)]
    return found[-1] if found else None
