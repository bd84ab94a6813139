"""What ROS4HRI (REP-155) publishes per body, computed from one tracked pose; no ROS here.

    skeleton2d(keypoints_px, confidences, width, height)  # (18, 3): hri_msgs/Skeleton2D's points, x y c
    posture(joints)                                       # "standing", "sitting", "crouching", "laying", "other"
    gesture(joints)                                       # "left_hand_raised", ..., "other"
    body_frames(joints)                                   # the TF frames of a body: pelvis pose, joint offsets
    joint_angles(joints)                                  # (63,) a human model's joint state (JOINT_ANGLE_NAMES)
    camera_pose_in_floor(rotation, height)                # the camera in the floor frame of the skeletons

The names are hri_msgs' constants in lower case (BodyPosture.STANDING, Gesture.LEFT_HAND_RAISED). Posture and
gesture are rules on the world-frame skeleton (metres, Y up, feet on the floor; motionllm.perception.root),
and say "other" whenever the rule is unsure: a wrong "laying" is worse than none.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from motionllm.motion.canonical import leg_length
from motionllm.motion.formats.mediapipe_landmarks import LANDMARK_INDEX
from motionllm.motion.skeleton import JOINT_INDEX, JOINT_NAMES, facing_directions

# hri_msgs/Skeleton2D's 18 points, in its order, from MediaPipe's 33 landmarks (NECK: between the shoulders).
SKELETON2D_LANDMARKS = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                        "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
                        "left_knee", "left_ankle", "left_eye", "right_eye", "left_ear", "right_ear")
POSTURES = ("other", "standing", "sitting", "crouching", "laying")  # BodyPosture's values 0..4
GESTURES = ("other", "hands_on_face", "arms_crossed", "left_hand_raised", "right_hand_raised",
            "both_hands_raised", "waving")  # Gesture's values 0..6 (waving needs time: not told from one pose)

J = JOINT_INDEX
# The human model of /humans/bodies/<id>/joint_states: SMPL-22 as a tree of ball joints, each written as three
# revolute angles about its parent's axes, Z then Y then X (the BVH writer's order); the pelvis's pose is TF's.
JOINT_ANGLE_NAMES = tuple(f"{name}_{axis}" for name in JOINT_NAMES[1:] for axis in "zyx")


def skeleton2d(keypoints: np.ndarray, confidences: np.ndarray, width: int, height: int) -> np.ndarray:
    """MediaPipe keypoints (33, 2) in pixels and their confidences (33,) -> (18, 3) float32 rows (x, y, c): x and
    y normalised to [0, 1] by the image size (hri_msgs/NormalizedPointOfInterest2D), c in [0, 1]."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    confidences = np.clip(np.asarray(confidences, dtype=np.float64), 0.0, 1.0)
    out = np.zeros((len(SKELETON2D_LANDMARKS), 3))
    for row, name in enumerate(SKELETON2D_LANDMARKS):
        if name == "neck":
            pair = [LANDMARK_INDEX["left_shoulder"], LANDMARK_INDEX["right_shoulder"]]
            point, confidence = keypoints[pair].mean(axis=0), confidences[pair].min()
        else:
            point, confidence = keypoints[LANDMARK_INDEX[name]], confidences[LANDMARK_INDEX[name]]
        out[row] = (point[0] / width, point[1] / height, confidence)
    out[:, :2] = np.clip(out[:, :2], 0.0, 1.0)
    return out.astype(np.float32)


def posture(joints: np.ndarray) -> str:
    """One world-frame skeleton (22, 3), Y up, feet on the floor -> a BodyPosture name.

    laying: the trunk (pelvis to neck) within 30 degrees of horizontal; standing: the pelvis at least 0.7 leg
    lengths above the lower ankle (leaning, lunging or throwing still count: on a real video of a throw the
    trunk leans 30-55 degrees); crouching: the pelvis within 0.45 leg lengths of the ankle; sitting: the thighs
    within 35 degrees of horizontal and the trunk within 40 degrees of vertical."""
    joints = np.asarray(joints, dtype=np.float64)
    leg = leg_length(joints[None])
    if not np.isfinite(leg) or leg < 1e-3:
        return "other"
    trunk = joints[J["neck"]] - joints[J["pelvis"]]
    tilt = np.degrees(np.arccos(np.clip(trunk[1] / max(np.linalg.norm(trunk), 1e-9), -1.0, 1.0)))
    if tilt > 60.0:
        return "laying"
    floor = min(joints[J["left_ankle"], 1], joints[J["right_ankle"], 1])
    pelvis_height = (joints[J["pelvis"], 1] - floor) / leg
    if pelvis_height >= 0.7:
        return "standing"
    if pelvis_height <= 0.45:
        return "crouching"
    thighs = [joints[J[f"{s}_knee"]] - joints[J[f"{s}_hip"]] for s in ("left", "right")]
    thigh_angles = [np.degrees(np.arcsin(abs(t[1]) / max(np.linalg.norm(t), 1e-9))) for t in thighs]
    if max(thigh_angles) <= 35.0 and tilt <= 40.0:
        return "sitting"
    return "other"


def gesture(joints: np.ndarray) -> str:
    """One skeleton (22, 3), Y up -> a Gesture name: a hand is raised when its wrist is above the head; hands on
    the face when both wrists are within a head's width (15 cm) of the head; arms crossed when each wrist is
    nearer the other side's elbow than its own shoulder is, at chest height."""
    joints = np.asarray(joints, dtype=np.float64)
    head = joints[J["head"]]
    left, right = joints[J["left_wrist"]], joints[J["right_wrist"]]
    raised_left, raised_right = left[1] > head[1], right[1] > head[1]
    if raised_left and raised_right:
        return "both_hands_raised"
    if raised_left:
        return "left_hand_raised"
    if raised_right:
        return "right_hand_raised"
    if np.linalg.norm(left - head) < 0.15 and np.linalg.norm(right - head) < 0.15:
        return "hands_on_face"
    shoulders = np.linalg.norm(joints[J["left_shoulder"]] - joints[J["right_shoulder"]])
    chest = joints[J["spine3"], 1]
    crossed = (np.linalg.norm(left - joints[J["right_elbow"]]) < 0.5 * shoulders
               and np.linalg.norm(right - joints[J["left_elbow"]]) < 0.5 * shoulders
               and abs(left[1] - chest) < 0.25 and abs(right[1] - chest) < 0.25)
    return "arms_crossed" if crossed else "other"


def body_frames(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A world-frame skeleton (22, 3) -> (pelvis position (3,), the body's orientation as (x, y, z, w): Y up, Z
    the way the person faces, {joint name: its position in that body frame (3,)}) for TF: body_<id> and one
    frame per joint under it."""
    joints = np.asarray(joints, dtype=np.float64)
    pelvis = joints[J["pelvis"]]
    forward = facing_directions(joints[None])[0]
    facing = Rotation.from_rotvec([0.0, np.arctan2(forward[0], forward[2]), 0.0])  # +Z to `forward`, about Y
    offsets = facing.inv().apply(joints - pelvis)
    return pelvis, facing.as_quat(), {name: offsets[i] for i, name in enumerate(JOINT_NAMES) if i}


def joint_angles(joints: np.ndarray) -> np.ndarray:
    """A world-frame skeleton (22, 3) -> (63,) joint angles in radians, in JOINT_ANGLE_NAMES order: the local
    rotations that put motionllm's rest skeleton (motion.formats.bvh.rest_offsets: T2M's rest directions, this
    pose's bone lengths) onto the pose (motion.formats.bvh.solve_rotations, as a BVH file of the person holds)."""
    from motionllm.motion.formats.bvh import rest_offsets, solve_rotations

    joints = np.asarray(joints, dtype=np.float64)[None]
    local = solve_rotations(joints, rest_offsets(joints))[0]
    return Rotation.from_matrix(local[1:]).as_euler("ZYX").reshape(-1)


def camera_pose_in_floor(rotation: np.ndarray, camera_height: float) -> tuple[np.ndarray, np.ndarray]:
    """The camera (optical axes: x right, y down, z forward) in the skeletons' floor frame (root.camera_to_world:
    X = x, Y up, Z = -z of the levelled camera, origin on the floor below it): (position (3,), orientation as
    (x, y, z, w), taking camera-axes vectors to floor-frame ones). `rotation`: root.level_from_camera."""
    flip = np.diag([1.0, -1.0, -1.0])
    return np.array([0.0, camera_height, 0.0]), Rotation.from_matrix(flip @ np.asarray(rotation)).as_quat()
