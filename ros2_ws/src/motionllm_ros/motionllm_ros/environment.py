"""The ROS 2 environment every motionllm process runs under. Call before `rclpy.init()`.

The rmw layer reads these variables when a context is created, so they must be in the environment
first. This module does not import rclpy: `motionllm ros up` and the tests use it to prepare the
environment of processes they start.

Project rules:
- ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST always: no discovery or data traffic leaves this machine.
  ROS_STATIC_PEERS is removed for the same reason (static peers are contacted whatever the range).
- ROS_LOG_DIR defaults to <cache>/ros_log, so nodes never need a writable ~/.ros.
- FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for processes that publish or receive images: Fast DDS then
  sends big samples over shared memory/TCP instead of fragmenting them over UDP.
- ROS_DOMAIN_ID only when given: nodes inherit the domain of whatever started them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import MutableMapping

# Fast DDS accepts domain ids 0..232 on Linux (its port formula overflows above that).
MAX_DOMAIN_ID = 232


def cache_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    """motionllm's cache folder: $MOTIONLLM_CACHE, else $XDG_CACHE_HOME/motionllm, else ~/.cache/motionllm."""
    environ = os.environ if environ is None else environ
    if environ.get("MOTIONLLM_CACHE"):
        return Path(environ["MOTIONLLM_CACHE"])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "motionllm"


def configure_ros_environment(
    domain_id: int | None = None,
    log_dir: str | os.PathLike | None = None,
    large_data: bool = False,
    environ: MutableMapping[str, str] | None = None,
) -> dict[str, str]:
    """Set the mandatory ROS variables in `environ` (default: os.environ); return the values set.

    An explicit `log_dir` or `domain_id` overrides what is already there; otherwise an existing
    ROS_LOG_DIR / ROS_DOMAIN_ID is kept. The log folder is created.
    """
    environ = os.environ if environ is None else environ
    if domain_id is not None and not 0 <= int(domain_id) <= MAX_DOMAIN_ID:
        raise ValueError(f"ROS domain id must be in 0..{MAX_DOMAIN_ID}, got {domain_id}")

    values = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    if log_dir is not None:
        values["ROS_LOG_DIR"] = str(log_dir)
    elif not environ.get("ROS_LOG_DIR"):
        values["ROS_LOG_DIR"] = str(cache_dir(environ) / "ros_log")
    if large_data:
        values["FASTDDS_BUILTIN_TRANSPORTS"] = "LARGE_DATA"
    if domain_id is not None:
        values["ROS_DOMAIN_ID"] = str(int(domain_id))

    environ.update(values)
    environ.pop("ROS_STATIC_PEERS", None)
    Path(environ["ROS_LOG_DIR"]).mkdir(parents=True, exist_ok=True)
    return values
