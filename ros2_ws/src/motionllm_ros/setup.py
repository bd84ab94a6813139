"""ament_python package motionllm_ros.

Builds two ways:
- colcon in a ROS 2 workspace (`colcon build --packages-select motionllm_ros`): data_files install the
  ament index marker and package.xml under share/, setup.cfg puts the executables in lib/motionllm_ros.
- `pip install -e ros2_ws/src/motionllm_ros` into the project venv (ROS 2 from PyPI wheels): the
  console scripts land in the venv's bin/, and `python -m motionllm_ros.<node>` works too.
The nodes import the ROS-free library `motionllm` (repository root, `pip install -e .`).
"""
from setuptools import find_packages, setup

package_name = "motionllm_ros"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools", "numpy", "motionllm"],
    zip_safe=True,
    maintainer="motionllm-ros maintainers",
    maintainer_email="maintainers@motionllm.invalid",
    description="ROS 2 nodes for motion-language models and humanoid retargeting (motionllm)",
    license="Apache-2.0",
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "motion_player = motionllm_ros.motion_player:main",
            "camera_source = motionllm_ros.camera_source:main",
            "pose_estimator = motionllm_ros.pose_estimator:main",
            "retargeter = motionllm_ros.retargeter:main",
            "motion_commander = motionllm_ros.motion_commander:main",
            "behavior_describer = motionllm_ros.behavior_describer:main",
        ],
    },
)
