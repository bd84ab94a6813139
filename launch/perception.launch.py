"""Live understanding of people: camera_source -> pose_estimator -> behavior_describer, with their parameter files.

    ros2 launch launch/perception.launch.py                          # the shared video, looping
    ros2 launch launch/perception.launch.py source:=/path/clip.mp4
    ros2 launch launch/perception.launch.py source:=webcam:0         # a webcam ("webcam:N" or /dev/videoN)

Images on camera/image_raw become skeletons under /humans/bodies/ (REP-155) and descriptions on
/humans/bodies/<id>/description and /humans/bodies/descriptions (motionllm_interfaces/msg/BehaviorDescription); questions go to the
/behavior_describer/ask service (docs/perception.md). Each node keeps ROS traffic on this machine by itself
(ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) and selects Fast DDS's LARGE_DATA transports
(motionllm_ros.environment). Needs the ros2 launch tools (launch, launch_ros) and the motionllm_ros package
built in the workspace; without them, `motionllm ros up perception --video FILE|--camera N` starts the same
graph (docs/ros.md).
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
    captioner = LaunchConfiguration("captioner")
    return LaunchDescription([
        DeclareLaunchArgument("source", default_value=str(SHARED_VIDEO),
                              description="Video file, image folder, or webcam (webcam:0, /dev/video0)"),
        DeclareLaunchArgument("captioner", default_value="llm",
                              description="llm (the shipped motion LLM) or package.module:Name of a plug-in"),
        Node(package="motionllm_ros", executable="pose_estimator", name="pose_estimator", output="screen",
             parameters=[str(HERE / "pose_estimator.yaml")]),
        Node(package="motionllm_ros", executable="behavior_describer", name="behavior_describer", output="screen",
             parameters=[str(HERE / "behavior_describer.yaml"), {"captioner": captioner}]),
        Node(package="motionllm_ros", executable="camera_source", name="camera_source", output="screen",
             parameters=[str(HERE / "camera_source.yaml"), {"source": source}]),
    ])
