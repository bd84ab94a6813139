"""Our ROS 2 interface packages (ros2_ws/src: motionllm_interfaces, hri_msgs, tf2_msgs), built from the wheels by
scripts/build_interfaces.sh: the layouts that must match upstream, and a message, a service and an action
exchanged between two rclpy contexts over Fast DDS (the generated type support, not just the Python classes)."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed in this environment")
hri_msgs = pytest.importorskip("hri_msgs.msg", reason="hri_msgs is not built: bash scripts/build_interfaces.sh")
interfaces = pytest.importorskip("motionllm_interfaces", reason="motionllm_interfaces is not built")


def test_the_ros4hri_and_tf_layouts_are_upstreams():
    """Same field names and types as ROS4HRI's hri_msgs 2.0 and ROS 2's tf2_msgs: what the type hashes cover."""
    from tf2_msgs.msg import TFMessage

    assert hri_msgs.IdsList.get_fields_and_field_types() == {"header": "std_msgs/Header", "ids": "sequence<string>"}
    assert hri_msgs.NormalizedPointOfInterest2D.get_fields_and_field_types() == {"x": "float", "y": "float",
                                                                                 "c": "float"}
    assert hri_msgs.Skeleton2D.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "skeleton": "hri_msgs/NormalizedPointOfInterest2D[18]"}
    assert (hri_msgs.Skeleton2D.NOSE, hri_msgs.Skeleton2D.RIGHT_WRIST, hri_msgs.Skeleton2D.RIGHT_EAR) == (0, 4, 17)
    assert hri_msgs.NormalizedRegionOfInterest2D.get_fields_and_field_types() == {
        "header": "std_msgs/Header", "xmin": "float", "ymin": "float", "xmax": "float", "ymax": "float", "c": "float"}
    assert hri_msgs.BodyPosture.get_fields_and_field_types() == {"header": "std_msgs/Header", "posture": "uint8"}
    assert (hri_msgs.BodyPosture.OTHER, hri_msgs.BodyPosture.LAYING) == (0, 4)
    assert hri_msgs.Gesture.get_fields_and_field_types() == {"header": "std_msgs/Header", "gesture": "uint8"}
    assert hri_msgs.Gesture.WAVING == 6
    assert TFMessage.get_fields_and_field_types() == {"transforms": "sequence<geometry_msgs/TransformStamped>"}


class Context:
    """An rclpy context with one node, spun on its own thread."""

    def __init__(self, name: str) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        self.context = rclpy.Context()
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def wait(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.02)
    return condition()


@pytest.mark.ros
def test_a_message_a_service_and_an_action_cross_fast_dds(ros_env):
    from rclpy.action import ActionClient, ActionServer

    from motionllm_interfaces.action import CommandMotion
    from motionllm_interfaces.msg import BehaviorDescription
    from motionllm_interfaces.srv import AskAboutMotion

    server, client = Context("interfaces_server"), Context("interfaces_client")
    try:
        received = []
        server.node.create_subscription(hri_msgs.IdsList, "/humans/bodies/tracked", received.append, 10)
        server.node.create_subscription(BehaviorDescription, "descriptions", received.append, 10)

        def answer(request, response):
            response.answered, response.answer = True, f"{request.body_id}: {request.question} ({request.seconds:g} s)"
            response.confidence = 0.5
            return response

        server.node.create_service(AskAboutMotion, "ask", answer)

        def execute(goal):
            feedback = CommandMotion.Feedback(stage="generating", progress=0.5)
            goal.publish_feedback(feedback)
            goal.succeed()
            return CommandMotion.Result(accepted=True, reason="", motion_id=f"m-{goal.request.command}")

        ActionServer(server.node, CommandMotion, "command_motion", execute)

        ids = client.node.create_publisher(hri_msgs.IdsList, "/humans/bodies/tracked", 10)
        descriptions = client.node.create_publisher(BehaviorDescription, "descriptions", 10)
        assert wait(lambda: ids.get_subscription_count() and descriptions.get_subscription_count())
        ids.publish(hri_msgs.IdsList(ids=["b1", "b2"]))
        descriptions.publish(BehaviorDescription(body_id="b1", caption="a person waves", confidence=0.9))
        assert wait(lambda: len(received) == 2), received
        tracked = next(m for m in received if isinstance(m, hri_msgs.IdsList))
        described = next(m for m in received if isinstance(m, BehaviorDescription))
        assert list(tracked.ids) == ["b1", "b2"] and described.caption == "a person waves"

        ask = client.node.create_client(AskAboutMotion, "ask")
        assert ask.wait_for_service(timeout_sec=10.0)
        future = ask.call_async(AskAboutMotion.Request(question="which hand?", seconds=3.0, body_id="b1"))
        assert wait(future.done)
        assert future.result().answered and future.result().answer == "b1: which hand? (3 s)"

        action = ActionClient(client.node, CommandMotion, "command_motion")
        assert action.wait_for_server(timeout_sec=10.0)
        sent = action.send_goal_async(CommandMotion.Goal(command="wave", seconds=2.0, robot="g1"))
        assert wait(sent.done) and sent.result().accepted
        result = sent.result().get_result_async()
        assert wait(result.done)
        assert result.result().result.motion_id == "m-wave" and result.result().result.accepted
    finally:
        client.close()
        server.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_workspace_builds_with_colcon(tmp_path):
    """ros2_ws/src as a ROS 2 workspace: colcon (from PyPI) builds all four packages in dependency order and the
    interfaces it built import (scripts/colcon_check.sh; about 30 s, plus colcon's install the first time)."""
    import subprocess

    script = Path(__file__).resolve().parents[1] / "scripts" / "colcon_check.sh"
    result = subprocess.run(["bash", str(script), str(tmp_path / "ws")], capture_output=True, text=True, timeout=880)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "colcon check: hri_msgs, tf2_msgs, motionllm_interfaces and motionllm_ros built" in result.stdout
