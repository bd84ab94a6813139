"""motionllm_ros: ROS 2 nodes over the ROS-free `motionllm` library.

Nodes are thin: parameters, topics and short callbacks here; the work lives in `motionllm`.
`conversions` turns numpy arrays into standard messages and back; `environment` sets the ROS
environment variables this project requires before rclpy starts.
"""

__version__ = "0.1.0"
