"""Perception: camera frames -> 3D human poses -> tracked, smoothed SMPL-22 skeletons.

ROS-free; the ROS 2 nodes `camera_source` and `pose_estimator` (ros2_ws/src/motionllm_ros) are thin
wrappers around it. One module per concept:

- `sources`:   frame sources (video file, webcam, image folder) yielding (RGB uint8, capture stamp)
- `pose`:      the `PoseEstimator` interface, `PersonPose`, and `BlazePoseEstimator` (MediaPipe)
- `tracking`:  a track id per person across frames (0..N people; new id after a timeout)
- `smoothing`: One-Euro filter over (22, 3) skeletons, one per track
- `stage`:     the three above chained: image -> tracked, smoothed bodies (used by the node and the CLI)
- `cli`:       `motionllm pose VIDEO -o joints.npy`, the pose stage offline

Coordinates of the skeletons: the library's canonical axes (metres, Y up, a person facing the camera
faces +Z, their left is +X) with the pelvis at the origin. See docs/perception.md.
"""
