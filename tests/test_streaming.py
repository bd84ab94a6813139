"""Streaming retargeting (motionllm.retargeting.streaming): one skeleton at a time, on real motion, against the
clip path; jumps kept on the floor; the approach from where the robot is; timelines; bad input."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pinocchio", reason="Pinocchio (pin) is not installed")

from motionllm.errors import MotionFormatError  # noqa: E402
from motionllm.retargeting import Retargeter, RobotMotion, evaluate  # noqa: E402
from motionllm.retargeting.feasibility import feasibility  # noqa: E402
from motionllm.retargeting.keypoints import resample  # noqa: E402
from motionllm.retargeting.quality import fast_joint_frames, limb_direction_errors  # noqa: E402
from motionllm.retargeting.robot import BASE_NQ  # noqa: E402
from motionllm.retargeting.safety import check_limits  # noqa: E402
from motionllm.retargeting.streaming import APPROACH_SPEED, CALIBRATION_SECONDS, StreamingRetargeter  # noqa: E402

FPS = 20.0


@pytest.fixture(scope="module")
def retargeter() -> Retargeter:
    return Retargeter("g1")


@pytest.fixture(scope="module")
def lafan(registry_sample) -> np.ndarray:
    from motionllm.motion.formats import read_motion

    return read_motion(registry_sample("lafan1_test.bvh")).astype(np.float64)


def stream_clip(stream: StreamingRetargeter, joints: np.ndarray, fps: float = FPS) -> RobotMotion:
    """Every skeleton of a clip through the stream, its frames joined into one motion."""
    parts = [m for i, j in enumerate(joints) if (m := stream.add(i / fps, j)) is not None]
    first = parts[0]
    return RobotMotion(robot=first.robot, control_rate=first.control_rate,
                       times=np.concatenate([p.times for p in parts]), joint_names=first.joint_names,
                       joint_positions=np.concatenate([p.joint_positions for p in parts]),
                       root_pose=np.concatenate([p.root_pose for p in parts]), foot_names=first.foot_names,
                       contacts=np.concatenate([p.contacts for p in parts]), keypoint_frames=first.keypoint_frames,
                       keypoint_targets=np.concatenate([p.keypoint_targets for p in parts]), scale=first.scale,
                       adaptations=tuple(a for p in parts for a in p.adaptations))


def test_a_real_walk_streamed_follows_the_person_as_the_clip_path_does(retargeter, lafan):
    """LaFAN1 72-80 s, a real walk (4.4 m in 6 s): frame after frame on the control grid, within the limits,
    limbs and feet as good as the clip path's within a margin, the base where the clip path puts it."""
    walk = lafan[72 * 20:80 * 20]
    motion = stream_clip(StreamingRetargeter(Retargeter("g1")), walk)
    robot = retargeter.robot
    rate = robot.control_rate
    np.testing.assert_allclose(np.diff(motion.times), 1.0 / rate, atol=1e-9)  # contiguous, none twice
    assert motion.times[0] == pytest.approx(CALIBRATION_SECONDS, abs=1.0 / rate)
    assert check_limits(motion.joint_positions, robot.lower, robot.upper, robot.velocity_limit, rate,
                        robot.joint_names).ok
    _, human = resample(walk, FPS, rate)
    frames = np.round(motion.times * rate).astype(int)
    angles = limb_direction_errors(motion.q, robot, human[frames])
    clip = retargeter.retarget(walk, FPS)
    clip_angles = limb_direction_errors(clip.q, robot, retargeter.targets(walk, FPS).human)
    assert angles.mean() <= clip_angles.mean() + 2.0 and angles.mean() <= 9.0, (angles.mean(), clip_angles.mean())
    assert fast_joint_frames(motion).sum() <= 1
    assert evaluate(motion, robot, collisions=False).foot_sliding_cm_mean <= 0.2
    assert motion.adaptations == ()  # a foot is always down
    end = np.linalg.norm(motion.root_pose[-1, :2] - clip.root_pose[frames[-1], :2])
    assert np.linalg.norm(clip.root_pose[-1, :2] - clip.root_pose[0, :2]) > 3.0 and end < 0.25, end


def test_a_flight_is_kept_on_the_floor(retargeter, shared_data):
    """The HumanML3D sample has 0.9 s with both feet off the ground: the stream keeps the robot's feet down
    (the feasibility check's flight test passes), and says so."""
    path = shared_data / "humanml3d_sample/new_joints_012314.npy"
    if not path.is_file():
        pytest.skip(f"{path} is missing from the shared data")
    motion = stream_clip(StreamingRetargeter(Retargeter("g1")), np.load(path).astype(np.float64))
    check = feasibility(motion, retargeter.robot, collisions=(np.zeros(len(motion)), {}))
    assert check.check("flight").ok, check.check("flight")
    assert any(a.startswith("flight at ") and "feet kept on the floor" in a for a in motion.adaptations), \
        motion.adaptations


def test_a_timeline_starts_from_the_robots_pose_and_approaches_gently(retargeter, lafan):
    robot = retargeter.robot
    start = robot.reference_q.copy()
    start[BASE_NQ:] = np.clip(start[BASE_NQ:] + 0.4, *robot.ik_bounds())  # somewhere else than the person
    stream = StreamingRetargeter(Retargeter("g1"))
    stream.reset(start)
    motion = stream_clip(stream, lafan[72 * 20:74 * 20])
    path = np.vstack([start[None, BASE_NQ:], motion.joint_positions])
    speeds = np.abs(np.diff(path, axis=0)) * robot.control_rate
    # the limit rises geometrically from APPROACH_SPEED to the full one over 2 s: the first step at most that,
    # the first half second under 33^(1/4) (the fastest joint's IK limit, ~33 rad/s, a quarter of the way)
    assert speeds[0].max() <= APPROACH_SPEED + 1e-6, speeds[0].max()
    assert speeds[:int(robot.control_rate) // 2].max() <= APPROACH_SPEED * 33 ** 0.25, speeds[:25].max()
    follows = stream_clip(StreamingRetargeter(Retargeter("g1")), lafan[72 * 20:74 * 20])  # from the reference
    apart = np.abs(motion.joint_positions - follows.joint_positions).max(axis=1)
    assert apart[0] > 0.3 and apart[-1] < 0.05, (apart[0], apart[-1])  # it moved to where the person is


def test_time_going_back_or_a_gap_starts_a_new_timeline_and_bad_skeletons_change_nothing(lafan):
    stream = StreamingRetargeter(Retargeter("g1"), max_gap=0.5)
    walk = lafan[72 * 20:74 * 20]
    for i, joints in enumerate(walk[:20]):
        stream.add(i / FPS, joints)
    assert stream.calibrated and stream.timeline == 1
    bad = walk[20].copy()
    bad[3, 1] = np.nan
    for skeleton in (bad, walk[20][:21], np.zeros((22, 2))):
        with pytest.raises(MotionFormatError):
            stream.add(20 / FPS, skeleton)
    with pytest.raises(MotionFormatError):
        stream.add(float("nan"), walk[20])
    assert stream.add(20 / FPS, walk[20]) is not None and stream.timeline == 1  # nothing was changed
    stream.add(5.0, walk[21])  # 4 s later: a lost track
    assert stream.timeline == 2 and stream.restarts == 1 and not stream.calibrated
    stream.add(1.0, walk[22])  # time went back
    assert stream.timeline == 3 and stream.restarts == 2
    with pytest.raises(ValueError):
        stream.reset(np.zeros(3))
