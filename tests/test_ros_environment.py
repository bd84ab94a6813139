"""The ROS environment rules (motionllm_ros.environment), the test fixture that applies them, and the
main() every node shares (motionllm_ros.node_main)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

environment = pytest.importorskip(
    "motionllm_ros.environment", reason="motionllm_ros is not installed: pip install -e ros2_ws/src/motionllm_ros")
configure_ros_environment = environment.configure_ros_environment


def test_defaults_force_localhost_and_a_cache_log_dir(tmp_path):
    env = {"MOTIONLLM_CACHE": str(tmp_path / "cache"), "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET",
           "ROS_STATIC_PEERS": "192.168.1.7"}
    values = configure_ros_environment(environ=env)
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert "ROS_STATIC_PEERS" not in env
    assert env["ROS_LOG_DIR"] == str(tmp_path / "cache" / "ros_log")
    assert (tmp_path / "cache" / "ros_log").is_dir()
    assert "ROS_DOMAIN_ID" not in env and "FASTDDS_BUILTIN_TRANSPORTS" not in env
    assert values == {k: env[k] for k in values}


def test_existing_log_dir_and_domain_are_kept_unless_given(tmp_path):
    env = {"ROS_LOG_DIR": str(tmp_path / "mine"), "ROS_DOMAIN_ID": "42"}
    configure_ros_environment(environ=env)
    assert (env["ROS_LOG_DIR"], env["ROS_DOMAIN_ID"]) == (str(tmp_path / "mine"), "42")
    configure_ros_environment(domain_id=7, log_dir=tmp_path / "theirs", large_data=True, environ=env)
    assert (env["ROS_LOG_DIR"], env["ROS_DOMAIN_ID"]) == (str(tmp_path / "theirs"), "7")
    assert env["FASTDDS_BUILTIN_TRANSPORTS"] == "LARGE_DATA"


@pytest.mark.parametrize("domain_id", [-1, 233])
def test_domain_id_out_of_range_is_refused(domain_id, tmp_path):
    env = {"ROS_LOG_DIR": str(tmp_path)}
    with pytest.raises(ValueError, match="0..232"):
        configure_ros_environment(domain_id=domain_id, environ=env)
    assert "ROS_DOMAIN_ID" not in env


def test_module_does_not_import_rclpy():
    code = "import sys, motionllm_ros.environment; sys.exit('rclpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_ros_env_fixture_isolates_this_process(ros_env):
    domain_id = int(os.environ["ROS_DOMAIN_ID"])
    assert 1 <= domain_id <= 232
    assert ros_env["ROS_DOMAIN_ID"] == str(domain_id)
    assert ros_env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert os.path.isdir(ros_env["ROS_LOG_DIR"])


# A node whose first callback fails the way rclpy's take_message does when Ctrl-C lands mid-message:
# rclpy's signal thread has shut the context down ("stopping"); or the KeyboardInterrupt was raised inside
# pybind's conversion of the message, which turns it into a RuntimeError ("interrupted"); or the same
# error comes with neither ("running").
FAILING_NODE = """
import os
import signal
import sys
import time
from rclpy.node import Node
from motionllm_ros.node_main import run_node

class FailingNode(Node):
    def __init__(self):
        super().__init__("failing_node")
        self.create_timer(0.01, self.fail)

    def fail(self):
        if sys.argv[1] == "stopping":
            self.context.try_shutdown()
        if sys.argv[1] == "interrupted":
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except KeyboardInterrupt:
                pass
        raise RuntimeError("Unable to convert call argument '0' to Python object")

    def shutdown(self):
        print("node shutdown ran")

sys.exit(run_node(FailingNode, "failing_node", []))
"""


@pytest.mark.ros
@pytest.mark.timeout(60)
@pytest.mark.parametrize("state, status", [("stopping", 0), ("interrupted", 0), ("running", 1)])
def test_run_node_stops_cleanly_only_when_the_error_comes_from_ctrl_c(ros_env, state, status):
    result = subprocess.run([sys.executable, "-c", FAILING_NODE, state], env=ros_env,
                            capture_output=True, text=True, timeout=50)
    assert result.returncode == status, result.stderr
    assert "node shutdown ran" in result.stdout
    assert ("Traceback" in result.stderr) == (status != 0)
