"""The pose stage without ROS: frame sources, BlazePose -> SMPL-22, One-Euro smoothing, tracking, the
offline `motionllm pose` command.

Real data: the shared video (one person on a treadmill, 1080x1920 portrait, 60 fps, 100 frames) and
matplotlib's Grace Hopper portrait. BlazePose runs over the video once per module (about 2 s).
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2", reason="OpenCV (opencv-contrib-python) is not installed")

from motionllm.errors import MotionLLMError  # noqa: E402
from motionllm.motion.formats.mediapipe_landmarks import LANDMARK_INDEX, mediapipe33_to_smpl22  # noqa: E402
from motionllm.motion.skeleton import FPS, JOINT_INDEX, bone_lengths  # noqa: E402
from motionllm.perception.pose import (  # noqa: E402
    ImageError,
    InvalidLandmarksError,
    PersonPose,
    PoseEstimator,
    check_rgb,
    estimator_class,
    make_estimator,
)
from motionllm.perception.smoothing import OneEuroFilter, SkeletonSmoother  # noqa: E402
from motionllm.perception.sources import (  # noqa: E402
    FrameSourceError,
    ImageFolderSource,
    VideoFileSource,
    open_source,
    output_size,
    resize,
)
from motionllm.perception.stage import PoseStage  # noqa: E402
from motionllm.perception.tracking import Tracker  # noqa: E402

VIDEO_FRAMES, VIDEO_FPS = 100, 60.0
WIDTH = 360  # the video at 360x640: BlazePose's input is 256x256 anyway
FEMURS = (JOINT_INDEX["left_knee"], JOINT_INDEX["right_knee"])  # bone_lengths index = the child joint



@pytest.fixture(scope="module")
def video_frames(video_path) -> list[np.ndarray]:
    with VideoFileSource(video_path, fps=None, width=WIDTH) as source:
        return [rgb for rgb, _ in source]


@pytest.fixture(scope="module")
def blazepose_video(video_frames) -> list[list[PersonPose]]:
    """BlazePose over every frame of the video, in order (tracking mode)."""
    pytest.importorskip("mediapipe", reason="mediapipe is not installed")
    with make_estimator("blazepose") as estimator:
        return [estimator.estimate(rgb) for rgb in video_frames]


def grace_hopper() -> np.ndarray:
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        bgr = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# --- frame sources -----------------------------------------------------------------------------------

def test_video_source_reads_every_frame_resized_with_capture_stamps(video_path):
    before = time.time_ns()
    with VideoFileSource(video_path, fps=None, width=180) as source:
        frames = list(source)
    assert source.native_fps == VIDEO_FPS and source.frame_count == VIDEO_FRAMES
    assert len(frames) == VIDEO_FRAMES
    assert {f.rgb.shape for f in frames} == {(320, 180, 3)} and frames[0].rgb.dtype == np.uint8
    stamps = np.array([f.stamp_ns for f in frames])
    assert (np.diff(stamps) > 0).all() and before <= stamps[0] and stamps[-1] <= time.time_ns()
    # Consecutive frames differ (a real video, decoded in order), RGB not BGR: the treadmill mat is blue.
    assert np.abs(frames[1].rgb.astype(int) - frames[0].rgb).mean() > 0.1
    bottom = frames[0].rgb[-40:].reshape(-1, 3).mean(axis=0)
    assert bottom[2] > bottom[0] + 30, f"bottom of the frame should be blue, mean RGB {bottom}"


def test_video_source_loops_back_to_the_first_frame(video_path):
    with VideoFileSource(video_path, loop=True, fps=None, width=90) as source:
        frames = [source.read().rgb for _ in range(VIDEO_FRAMES + 2)]
    assert source.loops == 1
    np.testing.assert_array_equal(frames[VIDEO_FRAMES], frames[0])
    np.testing.assert_array_equal(frames[VIDEO_FRAMES + 1], frames[1])


@pytest.mark.parametrize("fps, expected", [("native", VIDEO_FPS), (100.0, 100.0)])
def test_video_source_paces_frames(video_path, fps, expected):
    with VideoFileSource(video_path, fps=fps, width=90) as source:
        stamps = [source.read().stamp_ns for _ in range(13)]
    elapsed = (stamps[-1] - stamps[0]) * 1e-9
    # 12 intervals: never early; late only by scheduling noise (the machine may be busy).
    assert 12 / expected * 0.95 <= elapsed <= 12 / expected + 0.15, f"{elapsed:.3f} s for 12 frames at {expected} fps"


def test_output_size_and_letterbox():
    assert output_size(1080, 1920, 360, 0) == (360, 640)
    assert output_size(1080, 1920, 0, 480) == (270, 480)
    assert output_size(1080, 1920, 640, 480) == (640, 480)
    assert output_size(1080, 1920) == (1080, 1920)
    with pytest.raises(FrameSourceError, match="negative"):
        output_size(10, 10, -1, 0)
    tall = np.full((200, 100, 3), 255, np.uint8)
    boxed = resize(tall, 100, 100)                    # fit: 50x100 in the middle, black bars left and right
    assert boxed.shape == (100, 100, 3)
    assert boxed[:, 26:74].min() == 255 and boxed[:, :24].max() == 0 and boxed[:, 76:].max() == 0
    assert resize(tall, 100, 100, keep_aspect=False).min() == 255  # stretched: no bars


def test_image_folder_source_in_name_order_and_rgb(tmp_path):
    colours = {"b.png": (0, 0, 255), "a.png": (255, 0, 0), "c.jpg": (0, 255, 0)}  # RGB
    for name, rgb in colours.items():
        cv2.imwrite(str(tmp_path / name), np.full((8, 6, 3), rgb[::-1], np.uint8))  # cv2 writes BGR
    (tmp_path / "notes.txt").write_text("not an image")
    with ImageFolderSource(tmp_path, loop=True, fps=None) as source:
        frames = [source.read().rgb for _ in range(4)]
    means = [tuple(np.round(f.reshape(-1, 3).mean(axis=0) / 255).astype(int)) for f in frames]
    assert means == [(1, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0)]  # a, b, c, then a again
    assert isinstance(open_source(str(tmp_path)), ImageFolderSource)


def test_image_folder_source_reports_an_unreadable_image_and_goes_on(tmp_path):
    cv2.imwrite(str(tmp_path / "1.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "2.png").write_bytes(b"\x89PNG truncated")
    cv2.imwrite(str(tmp_path / "3.png"), np.zeros((4, 4, 3), np.uint8))
    source = ImageFolderSource(tmp_path, fps=None)
    assert source.read() is not None
    with pytest.raises(FrameSourceError, match="2.png: not a readable image"):
        source.read()
    assert source.read() is not None and source.read() is None


def test_sources_refuse_bad_input_in_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    text = tmp_path / "clip.mp4"
    text.write_text("not a video")
    cases = [
        (lambda: open_source(str(tmp_path / "missing.mp4")), "no such video file"),
        (lambda: open_source(str(text)), "cannot open as a video|no readable frames"),
        (lambda: open_source(str(tmp_path / "empty")), "no images"),
        (lambda: open_source(""), "no source given"),
        (lambda: open_source("webcam:63"), "cannot open webcam 63"),
        (lambda: ImageFolderSource(tmp_path / "empty", fps=0.0), "no images|fps must be positive"),
    ]
    for make, message in cases:
        with pytest.raises(FrameSourceError, match=message) as info:
            make()
        assert "\n" not in str(info.value)


# --- pose estimation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("image, message", [
    (np.zeros((8, 8, 3), np.float32), "uint8"),
    (np.zeros((8, 8), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((8, 8, 4), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((0, 8, 3), np.uint8), "empty"),
    ([[0, 0, 0]], "numpy array"),
])
def test_images_are_checked(image, message):
    with pytest.raises(ImageError, match=message):
        check_rgb(image)


def test_blazepose_finds_the_person_in_the_real_video(blazepose_video, video_frames):
    found = [people for people in blazepose_video if people]
    assert len(found) >= 0.95 * VIDEO_FRAMES, f"person found in {len(found)} of {VIDEO_FRAMES} frames"
    assert all(len(people) == 1 for people in found)  # the woman far behind him is too small to be found
    poses = [people[0] for people in found]
    joints = np.stack([p.joints for p in poses])
    assert joints.shape == (len(found), 22, 3) and joints.dtype == np.float32
    np.testing.assert_array_equal(joints[:, 0], 0.0)  # pelvis at the origin

    femurs = bone_lengths(joints)[:, FEMURS]
    assert (0.3 < femurs.mean(axis=0)).all() and (femurs.mean(axis=0) < 0.55).all(), femurs.mean(axis=0)
    assert (femurs.std(axis=0) < 0.03).all(), f"femur length varies: std {femurs.std(axis=0)} m"

    # Y up: the head above the pelvis, the ankles below, in every frame (he leans hard at times).
    assert (joints[:, JOINT_INDEX["head"], 1] > 0.25).all()
    assert (joints[:, [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]], 1] < -0.3).all()
    head_distance = np.linalg.norm(joints[:, JOINT_INDEX["head"]], axis=-1)
    assert (0.45 < head_distance).all() and (head_distance < 0.8).all()  # pelvis to head of an adult

    height, width = video_frames[0].shape[:2]
    for pose in poses:
        visible = pose.confidences > 0.5
        assert visible.sum() >= 25
        x, y = pose.keypoints[visible].T
        assert (x >= 0).all() and (x < width).all() and (y >= 0).all() and (y < height).all()
        # 2D and 3D agree: in the image the nose is above the hips, in 3D the head is above the pelvis.
        hips_y = pose.keypoints[[LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]], 1].mean()
        assert pose.keypoints[LANDMARK_INDEX["nose"], 1] < hips_y


def test_several_people_are_found_and_keep_their_ids(video_frames):
    """Two copies of the real video side by side (one mirrored, 30 frames apart) at 640x480: two people near the
    camera. The default estimator finds both in (nearly) every frame and the tracker keeps their ids; the legacy
    one-person solution finds one. benchmarks/multi_person.py measures this (and 4 people, and vtest.avi)."""
    pytest.importorskip("mediapipe", reason="mediapipe is not installed")
    from motionllm.perception.sources import resize
    from motionllm.perception.tracking import Tracker

    def two_people(k: int) -> np.ndarray:
        left = video_frames[k]
        right = video_frames[(k + 30) % len(video_frames)][:, ::-1]
        return np.ascontiguousarray(np.hstack([resize(left, 320, 480), resize(np.ascontiguousarray(right), 320, 480)]))

    tracker, found, ids = Tracker(), [], set()
    with make_estimator("blazepose", max_people=4) as estimator:
        for k in range(0, len(video_frames), 2):
            people = estimator.estimate(two_people(k))
            found.append(len(people))
            tracked, _ = tracker.update(people, k / VIDEO_FPS)
            ids.update(tracked)
            sides = sorted(p.keypoints[:, 0].mean() for p in people)
            assert len(people) < 2 or (sides[0] < 320 < sides[1]), sides  # one on each side
    assert np.mean(np.array(found) == 2) >= 0.75 and max(found) == 2, found  # 80 % here; the first frames miss one
    assert len(ids) == 2, ids  # no id switch
    with make_estimator("blazepose_single") as single:
        assert len(single.estimate(two_people(0))) == 1


def test_blazepose_on_a_portrait_and_on_an_empty_image():
    pytest.importorskip("mediapipe", reason="mediapipe is not installed")
    with make_estimator("blazepose", static_image_mode=True) as estimator:
        assert estimator.estimate(np.full((480, 640, 3), 128, np.uint8)) == []
        (person,) = estimator.estimate(grace_hopper())
    nose = person.keypoints[LANDMARK_INDEX["nose"]]
    shoulders = person.keypoints[[LANDMARK_INDEX["left_shoulder"], LANDMARK_INDEX["right_shoulder"]]]
    assert (nose[1] < shoulders[:, 1]).all()
    # A head-and-shoulders portrait: the face is confidently visible, the ankles are not in the picture.
    assert person.confidences[LANDMARK_INDEX["nose"]] > 0.9
    assert (person.confidences[[LANDMARK_INDEX["left_ankle"], LANDMARK_INDEX["right_ankle"]]] < 0.5).all()
    # Facing the camera, unmirrored: her left shoulder is on the image's right and at +X in the skeleton.
    assert shoulders[0, 0] > shoulders[1, 0]
    assert person.joints[JOINT_INDEX["left_shoulder"], 0] > person.joints[JOINT_INDEX["right_shoulder"], 0]


class ScriptedEstimator(PoseEstimator):
    """Returns the detections it is given, whatever the image."""

    name = "scripted"

    def __init__(self, detections) -> None:
        self.detections = detections

    def _detect(self, rgb):
        return self.detections


def fake_detection(rng: np.random.Generator, center=(320.0, 240.0), size=200.0):
    world = rng.normal(scale=0.3, size=(33, 3))
    keypoints = np.asarray(center) + rng.uniform(-size / 2, size / 2, size=(33, 2))
    return world, keypoints, np.full(33, 0.9)


def test_person_pose_uses_the_one_mapping_in_y_up_axes():
    world, keypoints, confidences = fake_detection(np.random.default_rng(0))
    (pose,) = ScriptedEstimator([(world, keypoints, confidences)]).estimate(np.zeros((4, 4, 3), np.uint8))
    expected = mediapipe33_to_smpl22(world) * (1.0, -1.0, -1.0)   # MediaPipe y down, z away -> Y up, +Z
    np.testing.assert_allclose(pose.joints, expected - expected[0], atol=1e-6)
    np.testing.assert_allclose(pose.world_landmarks, world, atol=1e-6)
    assert pose.score == pytest.approx(0.9)


def test_nan_landmarks_are_rejected():
    world, keypoints, confidences = fake_detection(np.random.default_rng(1))
    world[5, 1] = np.nan
    with pytest.raises(InvalidLandmarksError, match="1 of 33 world landmarks are NaN"):
        ScriptedEstimator([(world, keypoints, confidences)]).estimate(np.zeros((4, 4, 3), np.uint8))
    keypoints[:2] = np.inf
    with pytest.raises(InvalidLandmarksError):
        PersonPose.from_landmarks(np.zeros((33, 3)), keypoints, confidences)
    with pytest.raises(InvalidLandmarksError, match=r"shape \(33, 3\)"):
        PersonPose.from_landmarks(np.zeros((32, 3)), keypoints, confidences)


def test_estimators_are_chosen_by_name_or_import_path():
    assert estimator_class("blazepose").name == "blazepose"
    assert estimator_class(f"{__name__}:ScriptedEstimator") is ScriptedEstimator
    for spec, message in [("openpose", "unknown pose estimator 'openpose' \\(known: blazepose"),
                          ("no_such_module:Thing", "cannot load pose estimator"),
                          ("motionllm.perception.pose:PersonPose", "not a PoseEstimator subclass")]:
        with pytest.raises(MotionLLMError, match=message):
            estimator_class(spec)
    with pytest.raises(MotionLLMError, match="does not take these options"):
        make_estimator("blazepose", model="heavy")


# --- One-Euro smoothing ------------------------------------------------------------------------------

def one_euro_reference(samples, times, min_cutoff, beta, d_cutoff):
    """The 1-euro filter for one scalar signal, written out as in Casiez et al.'s reference code."""
    def alpha(cutoff, dt):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    out, x_hat, dx_hat, x_prev, t_prev = [], None, 0.0, None, None
    for x, t in zip(samples, times):
        if x_hat is None:
            x_hat = x
        else:
            dt = t - t_prev
            dx_hat = alpha(d_cutoff, dt) * (x - x_prev) / dt + (1 - alpha(d_cutoff, dt)) * dx_hat
            x_hat = alpha(min_cutoff + beta * abs(dx_hat), dt) * x + (1 - alpha(min_cutoff + beta * abs(dx_hat), dt)) * x_hat
        x_prev, t_prev = x, t
        out.append(x_hat)
    return np.array(out)


def test_one_euro_matches_the_reference_algorithm_elementwise():
    rng = np.random.default_rng(2)
    times = np.cumsum(rng.uniform(0.01, 0.06, size=40))  # irregular frame times
    signal = np.cumsum(rng.normal(scale=0.05, size=(40, 4, 3)), axis=0)
    filt = OneEuroFilter(min_cutoff=0.8, beta=2.0, d_cutoff=1.5)
    filtered = np.stack([filt(x, t) for x, t in zip(signal, times)])
    for j, k in [(0, 0), (1, 2), (3, 1)]:
        expected = one_euro_reference(signal[:, j, k], times, 0.8, 2.0, 1.5)
        np.testing.assert_allclose(filtered[:, j, k], expected, rtol=1e-9, atol=1e-12)


def test_one_euro_cuts_jitter_and_beta_cuts_lag():
    rng = np.random.default_rng(3)
    times = np.arange(200) / 60.0
    still = 0.5 + rng.normal(scale=0.01, size=(200, 22, 3))  # 1 cm jitter around a still pose
    filt = OneEuroFilter()
    smoothed = np.stack([filt(x, t) for x, t in zip(still, times)])
    rms = lambda x: np.sqrt(np.mean((x[100:] - 0.5) ** 2))  # noqa: E731 - error against the true still pose
    assert rms(smoothed) < 0.5 * rms(still), (rms(still), rms(smoothed))

    ramp = times[:, None] * np.ones(3)  # a joint moving at 1 m/s
    lags = {}
    for beta in (0.0, 1.0):
        filt = OneEuroFilter(beta=beta)
        lags[beta] = (ramp - np.stack([filt(x, t) for x, t in zip(ramp, times)]))[-1, 0]
    # beta=0 is a 1 Hz low-pass: steady lag = speed / (2 pi 1 Hz) ~ 0.16 m; beta=1 lifts the cutoff to ~2 Hz.
    assert lags[0.0] == pytest.approx(1 / (2 * math.pi), rel=0.1)
    assert lags[1.0] < 0.6 * lags[0.0]


def test_one_euro_edge_cases():
    filt = OneEuroFilter()
    first = filt(np.ones((22, 3)), 1.0)
    np.testing.assert_array_equal(first, 1.0)  # the first sample passes through
    np.testing.assert_array_equal(filt(np.zeros((22, 3)), 1.0), first)  # same time again: ignored
    np.testing.assert_array_equal(filt(np.zeros((22, 3)), 0.5), first)  # older: ignored
    with pytest.raises(ValueError, match="shape"):
        filt(np.zeros((21, 3)), 2.0)
    for bad in ({"min_cutoff": 0.0}, {"beta": -1.0}, {"d_cutoff": -2.0}):
        with pytest.raises(ValueError):
            OneEuroFilter(**bad)


def test_skeleton_smoother_keeps_one_filter_per_track():
    smoother = SkeletonSmoother()
    for k in range(10):
        a = smoother(1, np.full((22, 3), float(k)), k / 30)
        b = smoother(2, np.full((22, 3), 5.0), k / 30)
    np.testing.assert_array_equal(b, 5.0)  # track 2 never sees track 1's motion
    assert 0.0 < a[0, 0] < 9.0
    smoother.forget([1])
    assert smoother.track_ids == {2}
    np.testing.assert_array_equal(smoother(1, np.full((22, 3), 7.0), 1.0), 7.0)  # a fresh filter


def test_smoothing_the_real_video_removes_jitter_without_lagging(blazepose_video):
    from scipy.ndimage import gaussian_filter1d

    raw = np.stack([people[0].joints for people in blazepose_video if people]).astype(np.float64)
    smoother = SkeletonSmoother()  # the default parameters
    smoothed = np.stack([smoother(1, frame, k / VIDEO_FPS) for k, frame in enumerate(raw)])
    jitter = lambda x: np.abs(np.diff(x, n=2, axis=0)).mean()  # noqa: E731 - mean |acceleration| per frame^2
    assert jitter(smoothed) < 0.5 * jitter(raw), (jitter(raw), jitter(smoothed))
    # Lag: against a zero-phase (non-causal, so lag-free) smoothing of the same estimates, the causal
    # filter may be a little further off than the raw estimates are, not much.
    reference = gaussian_filter1d(raw, 2.0, axis=0, mode="nearest")
    error = lambda x: np.linalg.norm(x - reference, axis=-1)[5:-5].mean()  # noqa: E731
    assert error(smoothed) < error(raw) + 0.01, (error(raw), error(smoothed))
    beta_zero = SkeletonSmoother(beta=0.0)  # the reference default: a 1 Hz low-pass, which lags badly
    lagging = np.stack([beta_zero(1, frame, k / VIDEO_FPS) for k, frame in enumerate(raw)])
    assert error(lagging) > 2 * error(smoothed)


# --- tracking ---------------------------------------------------------------------------------------

def person_at(x: float, y: float, size: float = 200.0, seed: int = 0) -> PersonPose:
    return PersonPose.from_landmarks(*fake_detection(np.random.default_rng(seed), (x, y), size))


def test_tracker_keeps_ids_for_moving_people_in_any_order():
    tracker = Tracker(timeout_s=1.0)
    ids, _ = tracker.update([person_at(100, 200), person_at(500, 200)], 0.0)
    assert ids == [1, 2]
    for k in range(1, 10):  # they walk towards each other, listed in either order
        left, right = person_at(100 + 15 * k, 200, seed=k), person_at(500 - 15 * k, 200, seed=k + 50)
        people, expected = ([left, right], [1, 2]) if k % 2 else ([right, left], [2, 1])
        ids, ended = tracker.update(people, k / 30)
        assert ids == expected and ended == []
    assert tracker.active_ids == [1, 2]


def test_tracker_new_id_only_after_the_timeout():
    tracker = Tracker(timeout_s=1.0)
    assert tracker.update([person_at(300, 300)], 0.0)[0] == [1]
    assert tracker.update([], 0.5) == ([], [])            # nobody in view: no ids, nothing ended yet
    assert tracker.update([person_at(310, 300)], 0.9)[0] == [1]  # back within the timeout: same id
    assert tracker.update([], 1.5) == ([], [])
    ids, ended = tracker.update([person_at(310, 300)], 2.0)  # back 1.1 s after last seen: a new person
    assert ids == [2] and ended == [1]
    assert tracker.expire(3.5) == [2] and tracker.active_ids == []


def test_tracker_jumps_and_crowds():
    tracker = Tracker(timeout_s=1.0, max_jump=0.5)
    tracker.update([person_at(100, 100)], 0.0)
    ids, _ = tracker.update([person_at(600, 400)], 0.1)  # ~2 box diagonals away: not the same person
    assert ids == [2]
    # Five small people in a row far from track 1, one of them where track 2 was.
    crowd = [person_at(100 * k, 700, size=60, seed=k) for k in range(1, 5)] + [person_at(605, 400, seed=9)]
    ids, ended = tracker.update(crowd, 0.2)
    assert ids == [3, 4, 5, 6, 2] and ended == []
    assert tracker.active_ids == [1, 2, 3, 4, 5, 6]  # track 1 unseen for 0.2 s only: still alive


def test_pose_stage_smooths_each_track_and_restarts_when_time_goes_back():
    rng = np.random.default_rng(4)
    detection = fake_detection(rng, (200, 200))
    estimator = ScriptedEstimator([detection])
    # root=None: the body frame, so the smoothed joints compare with pose.joints (root: tests/test_root.py)
    stage = PoseStage(estimator, Tracker(), SkeletonSmoother(), root=None)
    image = np.zeros((4, 4, 3), np.uint8)
    (body,), _ = stage.process(image, 10.0)
    np.testing.assert_array_equal(body.joints, body.pose.joints)  # first frame: nothing to smooth yet
    moved = (detection[0] * 1.2, detection[1], detection[2])  # a bigger body: every joint moves
    estimator.detections = [moved]
    (body,), _ = stage.process(image, 10.05)
    assert body.id == 1
    step = np.abs(body.joints - PersonPose.from_landmarks(*detection).joints).max()
    assert 0 < step < np.abs(body.pose.joints - PersonPose.from_landmarks(*detection).joints).max()
    (body,), ended = stage.process(image, 3.0)  # time went backwards: a new timeline
    assert ended == [1] and body.id == 2
    np.testing.assert_array_equal(body.joints, body.pose.joints)


# --- motionllm pose ---------------------------------------------------------------------------------

def pose_command(*argv: str) -> int:
    from motionllm.perception import cli

    parser = argparse.ArgumentParser(prog="motionllm")
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["pose", *argv])
    return args.func(args)


def test_pose_command_writes_canonical_joints(video_path, tmp_path):
    pytest.importorskip("mediapipe", reason="mediapipe is not installed")
    out = tmp_path / "joints.npy"
    assert pose_command(str(video_path), "-o", str(out), "--width", "360") == 0
    joints = np.load(out)
    assert joints.dtype == np.float32 and joints.shape == (int((VIDEO_FRAMES - 1) / VIDEO_FPS * FPS) + 1, 22, 3)
    assert joints[..., 1].min() == pytest.approx(0.0, abs=1e-6)  # on the floor
    femurs = bone_lengths(joints)[:, FEMURS]
    assert (0.3 < femurs).all() and (femurs < 0.55).all()


def test_pose_command_refuses_bad_input_and_writes_nothing(tmp_path):
    blank = tmp_path / "blank"
    blank.mkdir()
    for k in range(3):
        cv2.imwrite(str(blank / f"{k}.png"), np.full((64, 64, 3), 200, np.uint8))
    out = tmp_path / "joints.npy"
    with pytest.raises(MotionLLMError, match="no person found in any of the 3 frames"):
        pose_command(str(blank), "-o", str(out))
    with pytest.raises(MotionLLMError, match="no such video file"):
        pose_command(str(tmp_path / "missing.mp4"), "-o", str(out))
    with pytest.raises(MotionLLMError, match=".npy"):
        pose_command(str(blank), "-o", str(tmp_path / "joints.csv"))
    assert list(tmp_path.iterdir()) == [blank]


def test_fill_gaps_interpolates_missing_frames():
    from motionllm.perception.cli import fill_gaps

    joints = np.full((5, 22, 3), np.nan)
    joints[1], joints[3] = 1.0, 3.0
    np.testing.assert_allclose(fill_gaps(joints)[:, 0, 0], [1.0, 1.0, 2.0, 3.0, 3.0])
    joints[3] = np.nan
    with pytest.raises(MotionLLMError, match="found in 1 frame"):
        fill_gaps(joints)
