"""Text-commanded humanoid motion: motion_commander and retargeter, with their parameter files.

    ros2 launch launch/commander.launch.py                       # G1, the shipped motion LLM
    ros2 launch launch/commander.launch.py robot:=talos
    ros2 launch launch/commander.launch.py generator:=my_pkg.my_module:MyGenerator

Commands (motion/command, /motion_commander/command, /motion_commander/command_motion) become motions on
motion/clip, which the retargeter turns into robot/joint_trajectory and a robot/joint_states stream
(docs/ros.md). Each node keeps ROS traffic on this machine by itself (ROS_AUTOMATIC_DISCOVERY_RANGE=
LOCALHOST, motionllm_ros.environment). Needs the ros2 launch tools (launch, launch_ros) and the
motionllm_ros package built in the workspace; without them, start the two nodes by hand:
    .venv/bin/motion_commander --ros-args --params-file launch/motion_commander.yaml
    .venv/bin/retargeter --ros-args --params-file launch/retargeter.yaml
"""
from pathlib import Path

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

HERE = Path(__file__).resolve().parent


def generate_launch_description() -> LaunchDescription:
    robot = LaunchConfiguration("robot")
    generator = LaunchConfiguration("generator")
    return LaunchDescription([
        DeclareLaunchArgument("robot", default_value="g1",
                              description="Robot profile: g1, talos, or a profile .yaml (docs/retargeting.md)"),
        DeclareLaunchArgument("generator", default_value="llm",
                              description="Motion generator: llm (the shipped motion LLM) or package.module:Name"),
        Node(package="motionllm_ros", executable="motion_commander", name="motion_commander", output="screen",
             parameters=[str(HERE / "motion_commander.yaml"), {"generator": generator}]),
        Node(package="motionllm_ros", executable="retargeter", name="retargeter", output="screen",
             parameters=[str(HERE / "retargeter.yaml"), {"robot": robot}]),
    ])
