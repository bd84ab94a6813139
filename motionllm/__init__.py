"""motionllm: motion-language models, retargeting and engines for ROS 2 robots (ROS-free library)."""

__version__ = "0.1.0"
