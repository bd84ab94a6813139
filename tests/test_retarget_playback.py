"""From a retargeted motion to joint commands (motionllm.retargeting.playback): lead-in, velocities, and the
check that refuses, never repairs. Real G1 model, real HumanML3D clip; no ROS."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("pinocchio", reason="Pinocchio (pin) is not installed")
pytest.importorskip("pink", reason="pin-pink is not installed")

from motionllm.retargeting import Retargeter, TrajectoryRefused, command_trajectory, continue_trajectory  # noqa: E402
from motionllm.retargeting.playback import (append_trajectory, catch_up, check_command,  # noqa: E402
                                            command_velocities, lead_in)
from motionllm.retargeting.robot import BASE_NQ  # noqa: E402
from test_retargeting import raise_arm  # noqa: E402

# `check_feasibility=False` below: these tests are about the plan, not the motion (see the `motion` fixture).

JOINTS_FILE = "humanml3d_sample/new_joints_012314.npy"


@pytest.fixture(scope="module")
def g1():
    return Retargeter("g1")


@pytest.fixture(scope="module")
def motion(g1):
    """Standing, the left arm swings up over the head. The plan mechanics (lead-in, timing, the last check of
    every point) are tested on it with check_feasibility=False: the right hand hanging by the G1's hip motor
    touches it, which the feasibility check refuses (test_feasibility.py)."""
    return g1.retarget(raise_arm("left", 2.0), fps=20)


@pytest.fixture(scope="module")
def run_clip(shared_data):
    path = shared_data / JOINTS_FILE
    if not path.is_file():
        pytest.skip(f"{path} is missing from the shared data")
    return np.load(path)[:60]


def test_an_infeasible_motion_is_refused_with_its_reason(g1, run_clip):
    """The real HumanML3D clip is a run: a flight phase, and no quasi-static balance in single support."""
    motion = g1.retarget(run_clip, fps=20)
    with pytest.raises(TrajectoryRefused, match="not feasible for g1: .*flight: no sole point on the ground"):
        command_trajectory(motion, g1.robot)
    plan = command_trajectory(motion, g1.robot, check_feasibility=False)  # timing analysis only
    assert len(plan) > len(motion)


def assert_within_limits(positions, velocities, robot, rate, start=None):
    assert np.all(np.isfinite(positions)) and np.all(np.isfinite(velocities))
    assert np.all(positions >= robot.lower) and np.all(positions <= robot.upper)
    assert np.all(np.abs(velocities) <= robot.velocity_limit)
    path = positions if start is None else np.vstack([start, positions])
    assert np.all(np.abs(np.diff(path, axis=0)) * rate <= robot.velocity_limit * (1 + 1e-9))


def test_lead_in_is_smooth_and_under_its_speed():
    start, end = np.array([0.0, 1.0, -0.5]), np.array([1.0, 1.0, 0.5])
    ramp = lead_in(start, end, 0.8, rate=50.0)
    np.testing.assert_allclose(ramp[-1], end)
    steps = np.abs(np.diff(np.vstack([start, ramp]), axis=0)) * 50.0
    assert steps.max() <= 0.8 and steps.max() > 0.75  # as fast as allowed, no faster
    assert np.all(np.diff(ramp[:, 0]) > 0) and np.all(ramp[:, 1] == 1.0)  # monotonic; a still joint stays still
    # pi * 1 rad / (2 * 0.8 rad/s) = 1.96 s -> 99 frames at 50 Hz
    assert len(ramp) == 99
    assert len(lead_in(start, start + 1e-9, 0.8, 50.0)) == 0


def test_command_velocities_are_within_the_steps_and_end_at_rest():
    positions = np.cumsum(np.random.default_rng(0).uniform(-0.01, 0.01, size=(50, 4)), axis=0)
    velocities = command_velocities(positions, 50.0)
    steps = np.abs(np.diff(positions, axis=0)).max() * 50.0
    assert np.abs(velocities).max() <= steps + 1e-12 and np.all(velocities[-1] == 0.0)


def test_a_trajectory_starts_where_the_robot_was_and_stays_within_limits(g1, motion):
    robot = g1.robot
    plan = command_trajectory(motion, robot, check_feasibility=False)  # from the reference posture
    reference = robot.reference_q[BASE_NQ:]
    assert plan.lead_in_frames > 0 and len(plan) == plan.lead_in_frames + len(motion)
    np.testing.assert_array_equal(plan.positions[plan.lead_in_frames:], motion.joint_positions)
    assert plan.check.ok and plan.joint_names == robot.joint_names and plan.rate == robot.control_rate
    assert_within_limits(plan.positions, plan.velocities, robot, plan.rate, start=reference)
    np.testing.assert_allclose(plan.times[:3], [0.0, 0.02, 0.04])

    # Continuing from the last point of that trajectory: the lead-in moves back to the motion's start.
    again = command_trajectory(motion, robot, start=plan.positions[-1], check_feasibility=False)
    assert again.lead_in_frames > 0
    assert_within_limits(again.positions, again.velocities, robot, again.rate, start=plan.positions[-1])
    # Already at the first frame: no lead-in at all.
    assert command_trajectory(motion, robot, start=motion.joint_positions[0],
                              check_feasibility=False).lead_in_frames == 0


def test_trajectories_outside_limits_are_refused_not_repaired(g1, motion):
    robot = g1.robot
    start = motion.joint_positions[0]
    spiked = motion.joint_positions.copy()
    spiked[30, 5] += 0.9 * robot.velocity_limit[5] / robot.control_rate * 3  # a step 2.7x the velocity limit
    with pytest.raises(TrajectoryRefused, match=rf"velocity\| .* x the limit at {robot.joint_names[5]}"):
        command_trajectory(replace(motion, joint_positions=spiked), robot, start, check_feasibility=False)

    outside = motion.joint_positions.copy()
    outside[:, 3] = robot.upper[3] + 0.05  # constant, so only the position bound is broken
    with pytest.raises(TrajectoryRefused, match="joint position"):
        command_trajectory(replace(motion, joint_positions=outside), robot, outside[0], check_feasibility=False)

    nan = motion.joint_positions.copy()
    nan[10, 0] = np.nan
    with pytest.raises(TrajectoryRefused, match="NaN"):
        command_trajectory(replace(motion, joint_positions=nan), robot, start, check_feasibility=False)

    with pytest.raises(TrajectoryRefused, match="clamping"):
        command_trajectory(motion, robot, start, repaired=True, check_feasibility=False)
    with pytest.raises(TrajectoryRefused, match="does not fit"):
        command_trajectory(replace(motion, control_rate=100.0), robot, start, check_feasibility=False)

    # The step from where the robot is to the first point counts too.
    far = start.copy()
    far[0] += 1.0
    check = check_command(motion.joint_positions, command_velocities(motion.joint_positions, robot.control_rate),
                          robot, robot.control_rate, start=far)
    assert not check.ok and check.max_velocity_ratio > 1.0


# --- live imitation: chunks that keep the body's pace ------------------------------------------------------------

def test_keep_time_leads_in_to_the_last_frame_over_the_motion_duration(g1, motion):
    robot = g1.robot
    chunk = motion.part(0, 51)  # 1 s
    near = chunk.joint_positions[0]  # the body's pose at the chunk's start: a lead-in over the chunk's 50 points
    plan = command_trajectory(chunk, robot, near, lead_in_speed=5.0, keep_time=True, check_feasibility=False)
    assert len(plan) == plan.lead_in_frames == 50
    np.testing.assert_allclose(plan.positions[-1], chunk.joint_positions[-1], atol=1e-12)
    assert_within_limits(plan.positions, plan.velocities, robot, plan.rate, start=near)
    # From the reference posture 1 s is too short at 1 rad/s: the lead-in takes what it needs.
    far = command_trajectory(chunk, robot, keep_time=True, check_feasibility=False)
    assert len(far) == far.lead_in_frames > 50
    np.testing.assert_allclose(far.positions[-1], chunk.joint_positions[-1], atol=1e-12)
    # Already there: the robot holds for the chunk's duration.
    held = command_trajectory(chunk, robot, chunk.joint_positions[-1], keep_time=True, check_feasibility=False)
    assert len(held) == 50 and np.all(held.positions == chunk.joint_positions[-1])


def test_a_continuing_chunk_is_appended_to_what_is_not_sent_yet_and_its_join_faded_out(g1, motion):
    robot = g1.robot
    first, second = motion.joint_positions[:51], motion.joint_positions[50:101]
    # disagrees by 0.03 rad on every joint, away from the joint's nearer limit
    offset = 0.03 * np.where(second.max(axis=0) + 0.03 < robot.upper, 1.0, -1.0)
    chunk = replace(motion.part(50, 101), joint_positions=second + offset)
    sent, pending = first[:40], first[40:]
    plan = continue_trajectory(chunk, robot, sent[-1], pending, check_feasibility=False)
    assert plan.carried_frames == 11 and plan.lead_in_frames == 0 and len(plan) == 11 + 50
    np.testing.assert_array_equal(plan.positions[:11], pending)
    joined = plan.positions[11:]
    # faded over 0.2 s = 10 points: nearly all the offset at the first, none from the 10th on
    np.testing.assert_allclose(joined[9:], chunk.joint_positions[10:])
    np.testing.assert_allclose(joined[0] - chunk.joint_positions[1], -offset * 0.5 * (1 + np.cos(np.pi / 10)),
                               atol=1e-12)
    assert_within_limits(plan.positions, plan.velocities, robot, plan.rate, start=sent[-1])
    # Nothing pending (the plan ended): the chunk follows the last point sent.
    after = continue_trajectory(replace(chunk, joint_positions=second), robot, first[-1], check_feasibility=False)
    assert len(after) == 50 and after.carried_frames == 0
    np.testing.assert_allclose(after.positions, second[1:])

    with pytest.raises(TrajectoryRefused, match="clamping"):
        continue_trajectory(chunk, robot, sent[-1], pending, repaired=True, check_feasibility=False)
    with pytest.raises(TrajectoryRefused, match="at least 2 frames"):
        continue_trajectory(motion.part(50, 51), robot, first[-1], check_feasibility=False)
    far = sent[-1].copy()
    far[2] += 1.0  # the step from the last point sent counts too
    with pytest.raises(TrajectoryRefused, match="x the limit"):
        continue_trajectory(chunk, robot, far, pending, check_feasibility=False)


def test_streamed_frames_follow_the_pending_points_and_a_long_plan_catches_up(g1, motion):
    """append_trajectory (streaming): the pending points, then every new frame, nothing faded; with catch_up_to,
    points are dropped (never two in a row, never the last, only where the merged step is within the IK's
    limits) and the plan still passes the check."""
    robot = g1.robot
    sent, pending, frames = motion.joint_positions[39], motion.joint_positions[40:52], motion.part(52, 55)
    plan = append_trajectory(frames, robot, sent, pending, check_feasibility=False)
    assert len(plan) == 15 and plan.carried_frames == 12
    np.testing.assert_array_equal(plan.positions, motion.joint_positions[40:55])
    short = append_trajectory(frames, robot, sent, pending, check_feasibility=False, catch_up_to=3)
    assert 3 <= len(short) < 15 and len(short) >= 15 // 2 + 1  # at most every other point goes
    np.testing.assert_array_equal(short.positions[-1], motion.joint_positions[54])  # the newest frame stays
    kept = [int(np.flatnonzero((motion.joint_positions[40:55] == p).all(axis=1))[0]) for p in short.positions]
    assert np.all(np.diff(kept) <= 2), kept  # never two in a row dropped
    assert_within_limits(short.positions, short.velocities, robot, short.rate, start=sent)

    step = np.full(2, 0.1)
    path = np.array([[0.0, 0.0], [0.05, 0.0], [0.1, 0.0], [0.3, 0.0], [0.35, 0.0]])
    # point 0 goes (start 0 -> point 1, 0.05), 1 may not (0 went), 2 and 3 stay (their neighbours are 0.25 apart),
    # and the last never goes
    np.testing.assert_array_equal(catch_up(path, np.zeros(2), 4, step), [1, 2, 3, 4])
    np.testing.assert_array_equal(catch_up(path, np.zeros(2), 0, step), [0, 1, 2, 3, 4])
    with pytest.raises(TrajectoryRefused, match="x the limit"):  # a far start is still refused
        append_trajectory(frames, robot, sent + 1.0, pending, check_feasibility=False, catch_up_to=3)


def walking_base(motion, speed=0.5, turn=0.3):
    """`motion` with its base walking `speed` m/s along world x while turning `turn` rad/s about z."""
    from scipy.spatial.transform import Rotation

    t = np.arange(len(motion)) / motion.control_rate
    poses = motion.root_pose.copy()
    poses[:, :3] = np.stack([speed * t, np.zeros_like(t), np.full_like(t, 0.75)], axis=1)
    poses[:, 3:] = Rotation.from_euler("z", turn * t[:, None]).as_quat()
    return replace(motion, root_pose=poses)


def test_every_point_carries_the_floating_base_and_its_twist_in_the_base_frame(g1, motion):
    from motionllm.retargeting.playback import base_velocities

    robot, walked = g1.robot, walking_base(motion)
    plan = command_trajectory(walked, robot, check_feasibility=False)
    assert plan.base_poses.shape == (len(plan), 7)
    np.testing.assert_array_equal(plan.base_poses[plan.lead_in_frames:], walked.root_pose)
    # during the lead-in the base is where the joints put it with the feet where the motion starts
    lead = plan.lead_in_frames
    feet = [f[0] for f in robot.sole_frames]
    q = np.concatenate([plan.base_poses, plan.positions], axis=1)
    standing = robot.frame_positions(q[:lead + 1], feet)
    drift = np.linalg.norm(standing - standing[-1], axis=-1)
    # without the base it starts from, the feet are planted on the motion's: off by half the two stances'
    # difference (here 7.5 cm) at the start, none at the end
    assert lead > 10 and drift.max() < 0.05 and drift[-5:].max() < 0.01, drift
    assert np.linalg.norm(np.diff(plan.base_poses[:lead + 2, :3], axis=0), axis=1).max() < 0.02
    twist = base_velocities(walked.root_pose, robot.control_rate)
    heading = 0.3 * np.arange(len(walked)) / robot.control_rate
    # 0.5 m/s along world x, seen from a base turned by `heading`; 0.3 rad/s about its z
    np.testing.assert_allclose(twist[:-1, 0], 0.5 * np.cos(heading[:-1]), atol=2e-3)
    np.testing.assert_allclose(twist[:-1, 1], -0.5 * np.sin(heading[:-1]), atol=2e-3)
    np.testing.assert_allclose(twist[:, 5], 0.3, atol=1e-9)
    np.testing.assert_allclose(twist[:, [2, 3, 4]], 0.0, atol=1e-9)

    # keep_time with a lead-in longer than the motion, and a continued chunk with the pending points' bases
    chunk = walking_base(motion.part(0, 51))
    far = command_trajectory(chunk, robot, keep_time=True, check_feasibility=False)
    assert len(far) > 50 and far.base_poses.shape == (len(far), 7)
    np.testing.assert_array_equal(far.base_poses[-1], chunk.root_pose[-1])
    pending_base = np.tile([9.0, 0, 0.8, 0, 0, 0, 1], (11, 1))
    joined = continue_trajectory(chunk, robot, chunk.joint_positions[0], chunk.joint_positions[:11],
                                 check_feasibility=False, pending_base=pending_base)
    np.testing.assert_array_equal(joined.base_poses[:11], pending_base)
    np.testing.assert_array_equal(joined.base_poses[11:], chunk.root_pose[1:])


def test_a_motion_starts_where_the_robot_stands_and_the_base_goes_on_from_there(g1, motion):
    """With the base of the last point sent, a motion is moved across the floor to begin where the robot's feet
    are (a generated motion starts at its own origin), and the lead-in's base eases from there: no jump."""
    from scipy.spatial.transform import Rotation

    robot = g1.robot
    first = command_trajectory(motion, robot, check_feasibility=False)
    end_base, end_joints = first.base_poses[-1].copy(), first.positions[-1]
    end_base[:2] += [1.5, -0.7]  # the robot walked elsewhere and turned
    end_base[3:] = (Rotation.from_euler("z", 1.2) * Rotation.from_quat(end_base[3:])).as_quat()
    plan = command_trajectory(motion, robot, end_joints, start_base=end_base, check_feasibility=False)
    feet = [f[0] for f in robot.sole_frames]
    at_end = robot.frame_positions(np.concatenate([end_base, end_joints])[None], feet)[0]
    q = np.concatenate([plan.base_poses, plan.positions], axis=1)
    lead = plan.lead_in_frames
    at_start = robot.frame_positions(q[lead:lead + 1], feet)[0]
    np.testing.assert_allclose(at_start[:, :2].mean(axis=0), at_end[:, :2].mean(axis=0), atol=1e-6)
    steps = np.linalg.norm(np.diff(np.vstack([end_base[None], plan.base_poses])[:, :3], axis=0), axis=1)
    assert steps.max() < 0.05, steps.max()  # m per control period, the step from the last point sent included
    moved = plan.base_poses[lead:, :2] - plan.base_poses[lead, :2]
    original = motion.root_pose[:, :2] - motion.root_pose[0, :2]
    np.testing.assert_allclose(np.linalg.norm(moved, axis=1), np.linalg.norm(original, axis=1), atol=1e-9)
