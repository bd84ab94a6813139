"""The one `main()` every node shares: configure the environment, build the node, spin, shut down.

A node whose parameters are invalid at start-up (or whose library refuses its configuration) prints one
line and exits with status 2; Ctrl-C stops it cleanly (exit status 0, even when it lands mid-message), calling
its `shutdown()` first if it has one.
"""
from __future__ import annotations

import signal
import sys
from typing import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from motionllm.console import quiet_libraries
from motionllm.errors import MotionLLMError
from motionllm_ros.environment import configure_ros_environment


class _InterruptRecord:
    """Remembers that Ctrl-C arrived, whatever exception it surfaced as."""

    def __init__(self) -> None:
        self.received = False
        self._previous = signal.getsignal(signal.SIGINT)

    def __call__(self, signum, frame):
        self.received = True
        if callable(self._previous):
            return self._previous(signum, frame)
        raise KeyboardInterrupt


def run_node(make_node: Callable[[], Node], name: str, args: list[str] | None = None, large_data: bool = False) -> int:
    configure_ros_environment(large_data=large_data)
    quiet_libraries()  # MediaPipe, protobuf and Hugging Face start-up noise stays out of the node's log
    # Installed before rclpy.init: rclpy's own SIGINT handler chains to the Python handler it found.
    interrupt = _InterruptRecord()
    signal.signal(signal.SIGINT, interrupt)
    rclpy.init(args=args)
    try:
        node = make_node()
    except (ParameterException, MotionLLMError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        # Ctrl-C landing while rclpy's C++ layer takes a message surfaces as a RuntimeError (RCLError,
        # InvalidHandle, or pybind's "Unable to convert call argument" when the KeyboardInterrupt is
        # raised inside its conversion), with the context shut down or not yet: a clean stop too.
        # The same error without Ctrl-C is a real failure.
        if not interrupt.received and rclpy.ok():
            raise
    finally:
        if hasattr(node, "shutdown"):
            node.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return getattr(node, "exit_code", 0)  # a node that stopped itself says why in its status
