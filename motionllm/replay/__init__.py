"""Rosbag replay evaluation (issue 20): bags of camera frames made from videos (`bags`); replay and scoring
are still to come. ROS-free: bags are read and written with `rosbags` (MCAP storage), no rclpy."""
