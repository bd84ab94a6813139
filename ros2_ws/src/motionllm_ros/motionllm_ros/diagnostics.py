"""Reporting helpers shared by the nodes: /diagnostics messages and the shutdown logger.

Each node publishes a DiagnosticArray on /diagnostics (the standard topic, read by rqt_runtime_monitor
and diagnostic_aggregator) holding one status named "<node name>: <what>", with its counters as
KeyValue pairs. `status_values` reads them back.
"""
from __future__ import annotations

import rclpy.logging
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header

DIAGNOSTICS_TOPIC = "/diagnostics"
OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR
LEVEL_NAMES = {OK: "OK", WARN: "WARN", ERROR: "ERROR", DiagnosticStatus.STALE: "STALE"}


def diagnostic_array(stamp: Time, name: str, level: bytes, message: str, values: dict[str, object],
                     hardware_id: str = "") -> DiagnosticArray:
    """A DiagnosticArray holding one status; `values` are turned into strings (floats with 4 significant digits)."""
    def text(value: object) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    status = DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id,
                              values=[KeyValue(key=key, value=text(value)) for key, value in values.items()])
    return DiagnosticArray(header=Header(stamp=stamp), status=[status])


def status_values(status: DiagnosticStatus) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}


def shutdown_logger(node):
    """A logger for a node's last words. After Ctrl-C, rclpy has already shut the context down, and the
    node's own logger would also try (and fail, noisily) to publish on /rosout; this one logs to the
    console and the log file only."""
    return rclpy.logging.get_logger(f"{node.get_name()}.shutdown")
