"""Root and gravity of the pose stage (motionllm.perception.root) on synthetic pinhole views, no ROS.

A known standing body (33 MediaPipe landmarks, metres) is placed in front of a camera with a known pitch,
roll and height, seen through a pinhole: its world landmarks are the body in the camera's axes, hip-centred,
and its keypoints the projections. The estimator must recover where the body is, which way is up, and
where the floor is.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from motionllm.motion.formats.mediapipe_landmarks import LANDMARK_INDEX, NUM_LANDMARKS, mediapipe33_to_smpl22
from motionllm.motion.skeleton import JOINT_INDEX
from motionllm.perception.pose import PersonPose, PoseEstimator
from motionllm.perception.root import (
    FEET, RootConfig, RootError, RootEstimator, camera_to_world, focal_length, level_from_camera, ray_rotation,
    solve_translation, standing_axis, tilt_from_up, up_from_tilt)
from motionllm.perception.stage import BODY, WORLD, PoseStage

WIDTH, HEIGHT = 640, 480
FOCAL = 600.0
CENTER = (WIDTH / 2, HEIGHT / 2)
PELVIS = JOINT_INDEX["pelvis"]


def standing_body(rng: np.random.Generator | None = None, jitter: float = 0.0) -> np.ndarray:
    """(33, 3) landmarks of an upright person facing the camera, in level camera axes (x right, y down,
    z away from the camera), origin between the hips. Their left is +x (image right)."""
    p = {}
    for side, s in (("left", 1.0), ("right", -1.0)):
        p[f"{side}_hip"] = (0.10 * s, 0.0, 0.0)
        p[f"{side}_knee"] = (0.10 * s, 0.45, -0.01)
        p[f"{side}_ankle"] = (0.10 * s, 0.85, 0.0)
        p[f"{side}_heel"] = (0.10 * s, 0.90, 0.05)
        p[f"{side}_foot_index"] = (0.11 * s, 0.92, -0.15)
        p[f"{side}_shoulder"] = (0.19 * s, -0.50, 0.0)
        p[f"{side}_elbow"] = (0.22 * s, -0.22, 0.0)
        p[f"{side}_wrist"] = (0.23 * s, 0.03, -0.02)
        for k, name in enumerate(("pinky", "index", "thumb")):
            p[f"{side}_{name}"] = (0.23 * s, 0.10 + 0.01 * k, -0.03)
        p[f"{side}_ear"] = (0.08 * s, -0.66, 0.02)
        p[f"{side}_eye_inner"] = (0.02 * s, -0.70, -0.09)
        p[f"{side}_eye"] = (0.035 * s, -0.70, -0.085)
        p[f"{side}_eye_outer"] = (0.05 * s, -0.70, -0.08)
        p[f"mouth_{side}"] = (0.025 * s, -0.61, -0.09)
    p["nose"] = (0.0, -0.66, -0.11)
    body = np.array([p[name] for name in sorted(p, key=LANDMARK_INDEX.__getitem__)])
    assert body.shape == (NUM_LANDMARKS, 3)
    if rng is not None and jitter:
        body = body + rng.normal(0.0, jitter, body.shape)
    return body


def floor_depth(body: np.ndarray) -> float:
    """Level-camera y (down) of the body's lowest SMPL foot joint, relative to its hips."""
    return float(mediapipe33_to_smpl22(body)[FEET, 1].max())


def view(body_level: np.ndarray, pelvis_level: np.ndarray, pitch: float, roll: float,
         focal: float = FOCAL, center=CENTER, pixel_noise: float = 0.0, rng=None):
    """What a camera with this pitch and roll sees of a body: (world landmarks in camera axes, hip-centred;
    keypoints px; the true camera-frame translation of the hips)."""
    to_camera = level_from_camera(pitch, roll).T  # level -> camera axes
    world = body_level @ to_camera.T
    translation = to_camera @ pelvis_level
    points = world + translation
    keypoints = focal * points[:, :2] / points[:, 2:3] + np.asarray(center)
    if pixel_noise:
        keypoints = keypoints + rng.normal(0.0, pixel_noise, keypoints.shape)
    return world, keypoints, translation


HIPS = [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]


def as_blazepose(world, keypoints, focal: float = FOCAL):
    """Camera-axes landmarks as BlazePose reports them: in the axes of a camera turned towards the hips."""
    return world @ ray_rotation(keypoints[HIPS].mean(axis=0), focal, CENTER)


def pose_of(world, keypoints, confidences=None, ray: bool = True) -> PersonPose:
    """The PersonPose an estimator reports for a body seen at camera-axes landmarks `world`."""
    return PersonPose.from_landmarks(as_blazepose(world, keypoints) if ray else world, keypoints,
                                     np.ones(NUM_LANDMARKS) if confidences is None else confidences)


def place(body: np.ndarray, x: float, distance: float, camera_height: float, lift: float = 0.0) -> np.ndarray:
    """Level-camera position of the hips of `body` standing `distance` m in front of a camera at
    `camera_height`, `x` m to the right, its feet `lift` m above the floor."""
    return np.array([x, camera_height - floor_depth(body) - lift, distance])


# --- the root solve -------------------------------------------------------------------------------------

@pytest.mark.parametrize("pitch, roll", [(0.0, 0.0), (25.0, -4.0), (-10.0, 8.0)])
def test_solve_translation_recovers_the_hips_position(pitch, roll):
    body = standing_body()
    for pelvis in ([0.0, 0.3, 3.0], [-1.2, 0.6, 5.5], [0.8, -0.2, 2.0]):
        world, keypoints, truth = view(body, np.array(pelvis), pitch, roll)
        found = solve_translation(world, keypoints, np.ones(NUM_LANDMARKS), FOCAL, CENTER)
        np.testing.assert_allclose(found, truth, atol=1e-6)


def test_solve_translation_with_pixel_noise_and_unseen_landmarks():
    rng = np.random.default_rng(0)
    body = standing_body()
    world, keypoints, truth = view(body, np.array([0.5, 0.4, 4.0]), 15.0, 3.0, pixel_noise=1.0, rng=rng)
    weights = np.ones(NUM_LANDMARKS)
    keypoints[LANDMARK_INDEX["left_wrist"]] += 80.0  # a wild keypoint the estimator is unsure of
    weights[LANDMARK_INDEX["left_wrist"]] = 0.0
    found = solve_translation(world, keypoints, weights, FOCAL, CENTER)
    assert np.linalg.norm(found - truth) < 0.05 * truth[2]  # 1 px noise at 4 m: a few centimetres


def test_depth_scales_with_focal_length():
    body = standing_body()
    world, keypoints, truth = view(body, np.array([0.0, 0.3, 3.0]), 0.0, 0.0)
    found = solve_translation(world, keypoints, np.ones(NUM_LANDMARKS), 2 * FOCAL, CENTER)
    assert found[2] == pytest.approx(2 * truth[2], rel=0.02)


def test_focal_length_from_fov_and_scaled_calibration():
    assert focal_length(640, 90.0) == pytest.approx(320.0)
    assert focal_length(640, 60.0) == pytest.approx(320.0 / math.tan(math.radians(30.0)))
    assert focal_length(640, 60.0, focal_px=500.0) == 500.0
    assert focal_length(640, 60.0, focal_px=1500.0, focal_width=1920) == pytest.approx(500.0)


# --- gravity ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pitch, roll", [(30.0, 0.0), (-12.0, 7.0), (5.0, -15.0)])
def test_tilt_round_trip(pitch, roll):
    up = up_from_tilt(pitch, roll)
    assert tilt_from_up(up) == pytest.approx((pitch, roll), abs=1e-9)
    # Levelling the camera's view of up gives the level camera's up (y down).
    np.testing.assert_allclose(level_from_camera(pitch, roll) @ up, [0.0, -1.0, 0.0], atol=1e-12)


def test_pitch_sign_looking_down_makes_an_upright_body_lean_towards_the_camera():
    world, _, _ = view(standing_body(), np.array([0.0, 1.0, 3.0]), 30.0, 0.0)
    axis = standing_axis(world)
    assert axis is not None
    assert axis[2] < -0.4  # shoulders nearer the camera than the ankles: sin 30 = 0.5


def test_standing_axis_refuses_bent_knees_and_unseen_legs():
    body = standing_body()
    assert standing_axis(body) is not None
    crouch = body.copy()
    for side in ("left", "right"):
        crouch[LANDMARK_INDEX[f"{side}_knee"]] += (0.0, -0.1, -0.35)  # knees forward: bent ~90 degrees
    assert standing_axis(crouch) is None
    confidences = np.ones(NUM_LANDMARKS)
    confidences[LANDMARK_INDEX["left_ankle"]] = 0.1
    assert standing_axis(body, confidences) is None


@pytest.mark.parametrize("pitch, roll", [(30.0, 0.0), (18.0, -6.0), (-8.0, 10.0)])
def test_tilt_estimated_from_standing_frames(pitch, roll):
    rng = np.random.default_rng(1)
    root = RootEstimator(RootConfig(focal_px=FOCAL))
    assert root.tilt_deg == (0.0, 0.0)  # level until enough standing frames
    for k in range(60):
        body = standing_body(rng, jitter=0.01)
        if k % 5 == 0:  # some crouching frames say nothing about gravity
            for side in ("left", "right"):
                body[LANDMARK_INDEX[f"{side}_knee"]] += (0.0, -0.1, -0.35)
        world, keypoints, _ = view(body, place(body, 0.2 * math.sin(k / 10), 3.5, 1.6), pitch, roll)
        root(pose_of(world, keypoints), WIDTH, HEIGHT)
    assert root.standing_samples == 48
    estimated = root.tilt_deg
    assert abs(estimated[0] - pitch) < 2.0 and abs(estimated[1] - roll) < 2.0, estimated


def test_level_camera_estimate_stays_level():
    root = RootEstimator(RootConfig(focal_px=FOCAL))
    for _ in range(20):
        world, keypoints, _ = view(standing_body(), np.array([0.0, 0.5, 3.0]), 0.0, 0.0)
        root(pose_of(world, keypoints), WIDTH, HEIGHT)
    assert np.abs(root.tilt_deg).max() < 0.5


# --- the world frame: root, floor, gravity together -------------------------------------------------------

@pytest.mark.parametrize("known", [True, False])
def test_world_frame_places_the_body_on_the_floor_in_front_of_the_camera(known):
    pitch, roll, camera_height = 25.0, -5.0, 2.2
    config = RootConfig(focal_px=FOCAL, pitch_deg=pitch if known else None, roll_deg=roll if known else None)
    root = RootEstimator(config)
    body = standing_body()
    for k in range(30):
        # walking across the view, left to right, 4 m from the camera
        world, keypoints, _ = view(body, place(body, -1.0 + k * 0.07, 4.0, camera_height), pitch, roll)
        joints = root(pose_of(world, keypoints), WIDTH, HEIGHT)
    assert root.camera_height == pytest.approx(camera_height, abs=0.03)
    feet = joints[FEET, 1].min()
    assert abs(feet) < 0.03  # on the floor
    pelvis = joints[PELVIS]
    np.testing.assert_allclose(pelvis[[0, 2]], [-1.0 + 29 * 0.07, -4.0], atol=0.05)  # in front: -Z
    assert pelvis[1] == pytest.approx(floor_depth(body), abs=0.03)  # hip height above the floor
    # Upright: the body axis is vertical in the world frame.
    axis = joints[JOINT_INDEX["neck"]] - joints[PELVIS]
    assert math.degrees(math.acos(axis[1] / np.linalg.norm(axis))) < 2.0
    # The person's left is +X, they face the camera (+Z).
    assert joints[JOINT_INDEX["left_hip"], 0] > joints[JOINT_INDEX["right_hip"], 0]
    assert joints[JOINT_INDEX["left_foot"], 2] > joints[JOINT_INDEX["left_ankle"], 2]


def test_unlevelled_skeleton_leans_when_tilt_is_ignored():
    """The failure the issue describes: a 30 degree pitch left in makes an upright person lean 30 degrees."""
    pitch = 30.0
    body = standing_body()
    world, keypoints, _ = view(body, place(body, 0.0, 3.0, 2.0), pitch, 0.0)
    level = RootEstimator(RootConfig(focal_px=FOCAL, pitch_deg=0.0, roll_deg=0.0))
    joints = level(pose_of(world, keypoints), WIDTH, HEIGHT)
    axis = joints[JOINT_INDEX["neck"]] - joints[PELVIS]
    assert math.degrees(math.acos(axis[1] / np.linalg.norm(axis))) == pytest.approx(pitch, abs=1.0)


def test_a_jump_leaves_the_floor_and_the_floor_stays():
    pitch, roll, camera_height = 20.0, 3.0, 1.8
    root = RootEstimator(RootConfig(focal_px=FOCAL))
    body = standing_body()
    lifts = [0.0] * 40 + [0.1, 0.25, 0.35, 0.4, 0.35, 0.25, 0.1] + [0.0] * 13
    pelvis_y, feet_y = [], []
    for lift in lifts:
        world, keypoints, _ = view(body, place(body, 0.3, 3.5, camera_height, lift), pitch, roll)
        joints = root(pose_of(world, keypoints), WIDTH, HEIGHT)
        pelvis_y.append(joints[PELVIS, 1])
        feet_y.append(joints[FEET, 1].min())
    pelvis_y, feet_y = np.array(pelvis_y), np.array(feet_y)
    assert root.camera_height == pytest.approx(camera_height, abs=0.03)  # the jump did not move the floor
    top = int(np.argmax(lifts))
    assert feet_y[top] == pytest.approx(0.4, abs=0.04)  # the feet leave the ground
    assert pelvis_y[top] - pelvis_y[0] == pytest.approx(0.4, abs=0.04)  # and the pelvis rises with them
    assert np.abs(feet_y[-10:]).max() < 0.03  # back on the floor


def test_known_camera_height_is_used():
    root = RootEstimator(RootConfig(focal_px=FOCAL, pitch_deg=0.0, roll_deg=0.0, camera_height_m=1.0))
    body = standing_body()
    world, keypoints, _ = view(body, place(body, 0.0, 3.0, 1.5), 0.0, 0.0)  # truly 1.5 m high
    joints = root(pose_of(world, keypoints), WIDTH, HEIGHT)
    assert joints[FEET, 1].min() == pytest.approx(-0.5, abs=0.02)  # the stated floor is 0.5 m too high


def test_camera_to_world_axes():
    rotation = np.eye(3)
    # 3 m in front of a level camera 1.5 m up, 1 m down from the lens, 0.5 m to the right
    np.testing.assert_allclose(camera_to_world(np.array([0.5, 1.0, 3.0]), rotation, 1.5), [0.5, 0.5, -3.0])


# --- bad camera parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("options, words", [
    ({"horizontal_fov_deg": 0.0}, "field of view"),
    ({"horizontal_fov_deg": 180.0}, "field of view"),
    ({"horizontal_fov_deg": float("nan")}, "field of view"),
    ({"focal_px": -5.0}, "focal length"),
    ({"focal_px": float("inf")}, "focal length"),
    ({"focal_width": -1}, "focal width"),
    ({"pitch_deg": 10.0}, "pitch and roll"),
    ({"roll_deg": 10.0}, "pitch and roll"),
    ({"pitch_deg": 95.0, "roll_deg": 0.0}, "pitch"),
    ({"pitch_deg": 0.0, "roll_deg": float("nan")}, "roll"),
    ({"camera_height_m": 0.0}, "height"),
    ({"camera_height_m": -1.0}, "height"),
    ({"camera_height_m": float("nan")}, "height"),
    ({"tilt_window": 0}, "tilt_window"),
])
def test_bad_camera_parameters_raise_one_line_errors(options, words):
    with pytest.raises(RootError) as info:
        RootConfig(**options)
    message = str(info.value)
    assert words in message and "\n" not in message


def test_degenerate_keypoints_raise_root_error():
    body = standing_body()
    keypoints = np.full((NUM_LANDMARKS, 2), 100.0)
    world = np.zeros((NUM_LANDMARKS, 3))  # every landmark in one place: no size, no depth
    with pytest.raises(RootError, match="fix the body's position"):
        solve_translation(world, keypoints, np.ones(NUM_LANDMARKS), FOCAL, CENTER)
    # A body "seen" with its image upside down and mirrored lies behind the camera.
    world, keypoints, _ = view(body, np.array([0.0, 0.3, 3.0]), 0.0, 0.0)
    mirrored = 2 * np.asarray(CENTER) - keypoints
    with pytest.raises(RootError, match="behind the camera") as info:
        solve_translation(world, mirrored, np.ones(NUM_LANDMARKS), FOCAL, CENTER)
    assert "\n" not in str(info.value)


# --- through the pose stage ---------------------------------------------------------------------------------

class ScriptedEstimator(PoseEstimator):
    def __init__(self, detections) -> None:
        self.detections = list(detections)

    def _detect(self, rgb):
        return [self.detections.pop(0)]


def test_pose_stage_publishes_world_frame_skeletons_by_default():
    body = standing_body()
    frames = [view(body, place(body, -0.5 + 0.05 * k, 3.0, 1.7), 15.0, 0.0)[:2] for k in range(20)]
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    config = RootConfig(focal_px=FOCAL, pitch_deg=15.0, roll_deg=0.0)
    from motionllm.perception.root import RootEstimator as Root

    stage = PoseStage(ScriptedEstimator([(as_blazepose(w, kp), kp, np.ones(NUM_LANDMARKS)) for w, kp in frames]),
                      root=Root(config))
    pelvis = []
    for k in range(20):
        bodies, _ = stage.process(image, k / 20)
        assert bodies[0].frame == WORLD
        pelvis.append(bodies[0].joints[PELVIS])
    assert pelvis[-1][0] - pelvis[0][0] == pytest.approx(0.95, abs=0.05)  # walks across, in the skeleton
    assert pelvis[-1][2] == pytest.approx(-3.0, abs=0.05)

    old = PoseStage(ScriptedEstimator([(w, kp, np.ones(NUM_LANDMARKS)) for w, kp in frames]), root=None)
    bodies, _ = old.process(image, 0.0)
    assert bodies[0].frame == BODY and np.abs(bodies[0].joints[PELVIS]).max() < 1e-6
    assert PoseStage(ScriptedEstimator([]), root=True).root is not None


def test_pose_stage_leaves_out_a_person_it_cannot_place():
    body = standing_body()
    world, keypoints, _ = view(body, place(body, 0.0, 3.0, 1.7), 0.0, 0.0)
    mirrored = 2 * np.asarray(CENTER) - keypoints  # the pinhole puts this body behind the camera
    ones = np.ones(NUM_LANDMARKS)
    stage = PoseStage(ScriptedEstimator([(world, keypoints, ones), (world, mirrored, ones), (world, keypoints, ones)]),
                      root=RootEstimator(RootConfig(ray_aligned=False)))
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    counts = [len(stage.process(image, k / 20)[0]) for k in range(3)]
    assert counts == [1, 0, 1] and stage.root_failures == 1


def test_ray_alignment_matters_for_a_body_at_the_side_of_the_view():
    """BlazePose's landmark axes look along the ray to the person: read as the optical axis, a body at the edge
    of a wide view (here right of and below its centre) leans; read as the ray, it stands upright."""
    body = standing_body()
    world, keypoints, _ = view(body, place(body, 2.0, 3.0, 1.5), 0.0, 0.0)  # 34 degrees to the right
    leans = {}
    for ray in (True, False):
        root = RootEstimator(RootConfig(focal_px=FOCAL, pitch_deg=0.0, roll_deg=0.0, ray_aligned=True))
        joints = root(pose_of(world, keypoints, ray=ray), WIDTH, HEIGHT)
        axis = joints[JOINT_INDEX["neck"]] - joints[PELVIS]
        leans[ray] = math.degrees(math.acos(axis[1] / np.linalg.norm(axis)))
    assert leans[True] < 1.0 and leans[False] > 5.0, leans
    # Optical-axis landmarks with ray_aligned=False are read as they are.
    root = RootEstimator(RootConfig(focal_px=FOCAL, pitch_deg=0.0, roll_deg=0.0, ray_aligned=False))
    joints = root(pose_of(world, keypoints, ray=False), WIDTH, HEIGHT)
    axis = joints[JOINT_INDEX["neck"]] - joints[PELVIS]
    assert math.degrees(math.acos(axis[1] / np.linalg.norm(axis))) < 1.0
