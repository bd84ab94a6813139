"""Live imitation: camera_source -> pose_estimator -> retargeter (imitate:=auto), with their parameter files.

    ros2 launch launch/imitation.launch.py                               # the shared video, looping; G1
    ros2 launch launch/imitation.launch.py source:=webcam:0 robot:=talos
    ros2 launch launch/imitation.launch.py imitate:=b2                   # one body only

Images on camera/image_raw become skeletons under /humans/bodies/ (REP-155); the retargeter follows the first
body tracked (or the one named) and turns its motion, chunk by chunk, into robot/joint_trajectory and a
robot/joint_states stream within the robot's limits, about 1.5-2 s behind the person (docs/ros.md). Each node
keeps ROS traffic on this machine by itself (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, motionllm_ros.environment).
Needs the ros2 launch tools (launch, launch_ros) and the motionllm_ros package built in the workspace; without
them, `motionllm ros up imitation --video FILE|--camera N --robot g1` starts the same graph.
"""
from pathlib import Path

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

HERE = Path(__file__).resolve().parent
SHARED_VIDEO = HERE.parent.parent / "shared" / "data" / "video" / "pose2sim_single_cam01.mp4"


def generate_launch_description() -> LaunchDescription:
    source = LaunchConfiguration("source")
    robot = LaunchConfiguration("robot")
    imitate = LaunchConfiguration("imitate")
    return LaunchDescription([
        DeclareLaunchArgument("source", default_value=str(SHARED_VIDEO),
                              description="Video file, image folder, or webcam (webcam:0, /dev/video0)"),
        DeclareLaunchArgument("robot", default_value="g1",
                              description="Robot profile: g1, talos, or a profile .yaml (docs/retargeting.md)"),
        DeclareLaunchArgument("imitate", default_value="auto",
                              description="auto (the first body tracked, then the next) or a body id (b1)"),
        Node(package="motionllm_ros", executable="retargeter", name="retargeter", output="screen",
             parameters=[str(HERE / "retargeter.yaml"), {"robot": robot, "imitate": imitate}]),
        Node(package="motionllm_ros", executable="pose_estimator", name="pose_estimator", output="screen",
             parameters=[str(HERE / "pose_estimator.yaml")]),
        Node(package="motionllm_ros", executable="camera_source", name="camera_source", output="screen",
             parameters=[str(HERE / "camera_source.yaml"), {"source": source}]),
    ])
