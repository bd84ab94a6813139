"""The one `main()` every node shares: configure the environment, build the node, spin, shut down.

A node whose parameters are invalid at start-up (or whose library refuses its configuration) prints one
line and exits with status 2; Ctrl-C stops it cleanly (exit status 0, even when it lands mid-message), calling
its `shutdown()` first if it has one.
"""
from __future__ import annotations

import sys
from typing import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from motionllm.errors import MotionLLMError
from motionllm_ros.environment import configure_ros_environment


def run_node(make_node: Callable[[], Node], name: str, args: list[str] | None = None, large_data: bool = False) -> int:
    configure_ros_environment(large_data=large_data)
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
        # Ctrl-C shuts the context down from rclpy's signal thread. A message being taken at that instant
        # fails in rclpy's C++ layer (RuntimeError, RCLError, InvalidHandle): that is a clean stop too.
        # The same error while the context is still up is a real failure.
        if rclpy.ok():
            raise
    finally:
        if hasattr(node, "shutdown"):
            node.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
