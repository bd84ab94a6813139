"""motionllm.perception.hri: what ROS4HRI publishes per body (Skeleton2D, posture, gesture, TF frames), from
poses; generated clips of known actions for posture and gesture, the root module for the camera."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motionllm.corpus.generate import make_clip
from motionllm.motion.formats.mediapipe_landmarks import LANDMARK_INDEX
from motionllm.motion.skeleton import JOINT_INDEX
from motionllm.perception import hri
from motionllm.perception.root import camera_to_world, level_from_camera


def action(name: str, seed: int = 3) -> tuple[np.ndarray, str | None]:
    clip = make_clip(seed, 0, forced=[name])
    (label,) = [a for a in clip.labels["actions"] if a["type"] == name]
    return clip.joints, label.get("side")


def test_skeleton2d_is_hri_msgs_order_normalised():
    rng = np.random.default_rng(0)
    keypoints = rng.uniform([0, 0], [640, 480], size=(33, 2))
    confidences = rng.uniform(0, 1, size=33)
    points = hri.skeleton2d(keypoints, confidences, 640, 480)
    assert points.shape == (18, 3) and points.dtype == np.float32
    nose, left_wrist = LANDMARK_INDEX["nose"], LANDMARK_INDEX["left_wrist"]
    np.testing.assert_allclose(points[0], [keypoints[nose, 0] / 640, keypoints[nose, 1] / 480, confidences[nose]],
                               rtol=1e-6)
    np.testing.assert_allclose(points[7, :2], keypoints[left_wrist] / [640, 480], rtol=1e-6)  # LEFT_WRIST = 7
    shoulders = [LANDMARK_INDEX["left_shoulder"], LANDMARK_INDEX["right_shoulder"]]
    np.testing.assert_allclose(points[1, :2], keypoints[shoulders].mean(axis=0) / [640, 480], rtol=1e-6)  # NECK
    assert points[1, 2] == pytest.approx(confidences[shoulders].min())
    off_image = hri.skeleton2d(keypoints - 1000, confidences, 640, 480)
    assert (off_image[:, :2] == 0).all()  # clipped into the image


@pytest.mark.parametrize("name, expected, least", [
    ("stand_idle", "standing", 0.95), ("walk", "standing", 0.95), ("sit_down", "sitting", 0.2),
    ("crouch", "crouching", 0.3),
])
def test_posture_of_known_actions(name, expected, least):
    joints, _ = action(name)
    counts = Counter(hri.posture(frame) for frame in joints)
    assert counts[expected] / len(joints) >= least, counts
    assert counts["laying"] == 0


def test_a_person_lying_down_is_laying():
    joints, _ = action("stand_idle")
    lying = Rotation.from_euler("x", 90, degrees=True).apply(joints[0]) + [0, 0.15, 0]
    assert hri.posture(lying) == "laying"
    assert hri.posture(np.zeros((22, 3))) == "other"


@pytest.mark.parametrize("name, expected", [("raise_arm", "{side}_hand_raised"), ("cross_arms", "arms_crossed"),
                                            ("wave", "{side}_hand_raised")])
def test_gesture_of_known_actions(name, expected):
    joints, side = action(name)
    counts = Counter(hri.gesture(frame) for frame in joints)
    wanted = expected.format(side=side)
    assert counts[wanted] / len(joints) >= 0.3, (side, counts)
    assert all(g in hri.GESTURES for g in counts)
    standing, _ = action("stand_idle")
    assert Counter(hri.gesture(frame) for frame in standing) == {"other": len(standing)}


def test_body_frames_put_every_joint_back_where_it_was():
    joints, _ = action("walk")
    for frame in joints[::10]:
        pelvis, facing, offsets = hri.body_frames(frame)
        np.testing.assert_allclose(pelvis, frame[0])
        rotation = Rotation.from_quat(facing)
        for name, offset in offsets.items():
            np.testing.assert_allclose(pelvis + rotation.apply(offset), frame[JOINT_INDEX[name]], atol=1e-9)
        assert abs(rotation.as_rotvec()[[0, 2]]).max() < 1e-9  # a turn about the vertical only


def test_the_camera_pose_maps_camera_points_into_the_floor_frame():
    rotation = level_from_camera(20.0, -5.0)
    points = np.random.default_rng(1).normal(size=(10, 3)) + [0, 0, 4]
    position, orientation = hri.camera_pose_in_floor(rotation, 1.6)
    via_pose = Rotation.from_quat(orientation).apply(points) + position
    np.testing.assert_allclose(via_pose, camera_to_world(points, rotation, 1.6), atol=1e-9)


def test_joint_angles_rebuild_the_pose_through_the_rest_skeleton():
    from motionllm.motion.formats.bvh import forward_kinematics, rest_offsets
    from motionllm.motion.skeleton import PARENTS

    joints, _ = action("wave")
    frame = joints[30].astype(np.float64)
    angles = hri.joint_angles(frame)
    assert angles.shape == (63,) and len(hri.JOINT_ANGLE_NAMES) == 63 and np.isfinite(angles).all()
    assert hri.JOINT_ANGLE_NAMES[:3] == ("left_hip_z", "left_hip_y", "left_hip_x")
    # forward kinematics of the rest skeleton with these angles (and the pelvis's own rotation) gives the pose
    from motionllm.motion.formats.bvh import solve_rotations

    offsets = rest_offsets(frame[None])
    pelvis = Rotation.from_matrix(solve_rotations(frame[None], offsets)[0, 0])
    rotations = np.concatenate([pelvis.as_quat()[None], Rotation.from_euler("ZYX", angles.reshape(21, 3)).as_quat()])
    wxyz = np.concatenate([rotations[:, 3:], rotations[:, :3]], axis=1)[None]
    translations = offsets[None].copy()
    translations[0, 0] = frame[0]
    rebuilt = forward_kinematics(list(PARENTS), translations, wxyz)[0]
    assert np.abs(rebuilt - frame).max() < 1e-6, np.abs(rebuilt - frame).max()
