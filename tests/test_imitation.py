"""Live imitation without ROS (motionllm.retargeting.imitation): chunks cut on capture times, contiguous, with
context and lookahead; new timelines on a gap or when time goes back; bad skeletons refused. The last tests
retarget the shared HumanML3D walk chunk by chunk with the real G1 model, as the retargeter node does."""
from __future__ import annotations

import numpy as np
import pytest

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.retargeting.imitation import LiveImitation
from motionllm.retargeting.motion import RobotMotion

T0 = 1_700_000_000.0  # absolute capture stamps, as a camera gives them
JOINTS_FILE = "humanml3d_sample/new_joints_012314.npy"


def pose(value: float) -> np.ndarray:
    """Every coordinate = `value`: linear interpolation between two poses is exact on it."""
    return np.full((22, 3), value, dtype=np.float32)


def feed(imitation, times, value=lambda t: t - T0):
    chunks = []
    for t in times:
        imitation.add(float(t), pose(value(t)))
        while (chunk := imitation.next_chunk()) is not None:
            chunks.append(chunk)
    return chunks


def test_chunks_are_contiguous_on_the_capture_grid_with_context_and_lookahead():
    imitation = LiveImitation(chunk_seconds=1.0, context_seconds=0.5, lookahead_seconds=0.25)
    times = T0 + np.arange(0, 4.3, 1 / 30)  # 30 Hz
    chunks = feed(imitation, times)
    assert [c.index for c in chunks] == [0, 1, 2, 3] and not chunks[0].continues and chunks[1].continues
    for k, chunk in enumerate(chunks):
        assert chunk.start == pytest.approx(T0 + k) and chunk.end == pytest.approx(T0 + k + 1)
        assert chunk.window_start == pytest.approx(T0 + max(k - 0.5, 0)) and chunk.window_end == pytest.approx(
            chunk.end + 0.25)
        assert chunk.fps == 20.0 and chunk.seconds == pytest.approx(1.0)
        assert chunk.joints.shape == (int(round((chunk.window_end - chunk.window_start) * 20)) + 1, 22, 3)
        assert chunk.joints.dtype == np.float32
        # resampled on the 20 fps grid from the 30 Hz skeletons: the value is the capture time
        grid = np.arange(len(chunk.joints)) / 20.0 + (chunk.window_start - T0)
        np.testing.assert_allclose(chunk.joints[:, 5, 1], grid, atol=1e-4)
        # handed over as soon as a skeleton at or after the end of the lookahead arrived, not before
        assert chunk.window_end <= chunk.newest < chunk.window_end + 1 / 30 + 1e-9
    for before, after in zip(chunks, chunks[1:]):
        assert after.start == before.end  # one contiguous motion
    assert imitation.next_chunk() is None and not imitation.due()
    assert imitation.chunks == 4 and imitation.skeletons == len(times) and imitation.restarts == 0


def test_a_lost_track_or_time_going_back_starts_a_new_timeline():
    imitation = LiveImitation(chunk_seconds=0.5, context_seconds=0.25, lookahead_seconds=0.1, max_gap=0.5)
    first = feed(imitation, T0 + np.arange(0, 1.4, 0.05))
    assert [c.index for c in first] == [0, 1]
    # 0.7 s without a skeleton: a new timeline from the next one; the half-seen third chunk is dropped
    second = feed(imitation, T0 + 2.1 + np.arange(0, 0.65, 0.05))
    assert imitation.restarts == 1 and [c.index for c in second] == [0]
    assert second[0].start == pytest.approx(T0 + 2.1) and second[0].window_start == second[0].start
    np.testing.assert_allclose(second[0].joints[0, 0, 0], 2.1, atol=1e-4)  # nothing from before the gap
    # a looping recording: time goes back
    third = feed(imitation, T0 + np.arange(0, 0.65, 0.05))
    assert imitation.restarts == 2 and [c.index for c in third] == [0] and third[0].start == pytest.approx(T0)
    # an explicit reset (another body): nothing is due until a new timeline has run long enough
    imitation.reset()
    assert not imitation.started and imitation.next_chunk() is None
    assert feed(imitation, T0 + 5 + np.arange(0, 0.55, 0.05)) == []


def test_bad_skeletons_and_settings_are_refused():
    imitation = LiveImitation()
    feed(imitation, T0 + np.arange(0, 0.5, 0.05))
    nan = pose(0.0)
    nan[3, 1] = np.nan
    for joints, t, message in ((nan, T0 + 0.5, "NaN"), (np.zeros((33, 3)), T0 + 0.5, r"\(22, 3\)"),
                               (pose(0.0), float("nan"), "finite")):
        with pytest.raises(MotionFormatError, match=message):
            imitation.add(t, joints)
    assert imitation.skeletons == 10 and imitation.window.last == pytest.approx(T0 + 0.45)
    for options, message in (({"chunk_seconds": 0.1}, "chunk_seconds"), ({"lookahead_seconds": -1}, "lookahead"),
                             ({"context_seconds": float("nan")}, "context"), ({"max_gap": 0.0}, "max_gap")):
        with pytest.raises(MotionLLMError, match=message):
            LiveImitation(**options)


def test_played_cuts_the_retargeted_window_back_to_the_chunk():
    imitation = LiveImitation(chunk_seconds=1.0, context_seconds=0.5, lookahead_seconds=0.25)
    chunks = feed(imitation, T0 + np.arange(0, 2.3, 0.05))
    chunk = chunks[1]  # window 0.5 .. 2.25 s: 1.75 s at 50 Hz = 88 control frames
    rate, n = 50.0, 88
    motion = RobotMotion(robot="test", control_rate=rate, times=np.arange(n) / rate, joint_names=("a",),
                         joint_positions=np.arange(n, dtype=float)[:, None], root_pose=np.zeros((n, 7)),
                         contacts=np.zeros((n, 2), bool), keypoint_targets=np.zeros((n, 3, 3)))
    played = chunk.played(motion)
    assert len(played) == 51 and played.joint_positions[0, 0] == 25 and played.joint_positions[-1, 0] == 75
    np.testing.assert_allclose(played.times, np.arange(51) / rate)
    assert played.contacts.shape == (51, 2) and played.keypoint_targets.shape == (51, 3, 3)
    with pytest.raises(MotionLLMError, match="control frames"):
        chunk.played(RobotMotion(robot="test", control_rate=rate, times=np.arange(60) / rate, joint_names=("a",),
                                 joint_positions=np.zeros((60, 1)), root_pose=np.zeros((60, 7))))


# --- the real retargeter on a real walk ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def retargeter():
    pytest.importorskip("pinocchio", reason="Pinocchio (pin) is not installed")
    pytest.importorskip("pink", reason="pin-pink is not installed")
    from motionllm.retargeting import Retargeter

    return Retargeter("g1")


@pytest.fixture(scope="module")
def walk(shared_data) -> np.ndarray:
    path = shared_data / JOINTS_FILE
    if not path.is_file():
        pytest.skip(f"{path} is missing from the shared data")
    return np.load(path).astype(np.float32)


def imitate(retargeter, walk, **options) -> tuple[list, list[float]]:
    """The walk as a 30 Hz skeleton stream, chunk by chunk through the retargeter and the command check as the
    node plays them when each chunk is planned before the previous one has ended: the first with a lead-in that
    keeps time, each next one appended. Returns the plans and the disagreement (rad, largest joint) between a
    chunk's first frame and the previous chunk's last."""
    from motionllm.retargeting import command_trajectory, continue_trajectory

    robot = retargeter.robot
    times = np.arange(0, (len(walk) - 1) / 20, 1 / 30)
    source = np.arange(len(walk)) / 20
    imitation = LiveImitation(**options)
    plans, joins, last = [], [], None
    for t in times:
        right = min(np.searchsorted(source, t, side="right"), len(walk) - 1)
        w = (t - source[right - 1]) * 20
        imitation.add(T0 + t, (1 - w) * walk[right - 1] + w * walk[right])
        while (chunk := imitation.next_chunk()) is not None:
            motion = chunk.played(retargeter.retarget(chunk.joints, chunk.fps))
            assert not retargeter.last_repaired
            # timing and joins only: whether each chunk is feasible is the feasibility check's (test_feasibility)
            if last is None:
                plan = command_trajectory(motion, robot, keep_time=True, check_feasibility=False)
            else:
                joins.append(float(np.abs(motion.joint_positions[0] - last).max()))
                plan = continue_trajectory(motion, robot, plans[-1].positions[-1], check_feasibility=False)
            plans.append(plan)
            last = motion.joint_positions[-1]
    return plans, joins


def test_a_real_walk_imitated_chunk_by_chunk_keeps_time_joins_smoothly_within_the_limits(retargeter, walk):
    robot = retargeter.robot
    plans, joins = imitate(retargeter, walk)
    assert len(plans) == 8  # 8.45 s: 8 chunks of 1 s with their 0.25 s lookahead (8.25 s)
    # The first plan is a lead-in from the reference posture to the chunk's end, over the chunk's 50 points or
    # longer if the lead-in speed needs it; each next one is its chunk without the first frame (the previous
    # one's last): 50 points for 1 s, so the robot keeps the body's pace.
    assert plans[0].lead_in_frames == len(plans[0]) >= 50
    assert all(len(plan) == 50 and plan.lead_in_frames == 0 for plan in plans[1:])
    stream = np.vstack([plan.positions for plan in plans])
    assert np.all(stream >= robot.lower) and np.all(stream <= robot.upper)
    steps = np.abs(np.diff(stream, axis=0)) * robot.control_rate / robot.velocity_limit
    assert all(plan.check.ok for plan in plans) and steps.max() <= 1.0
    print(f"\nimitation, 1 s chunks with 0.5 s context and 0.25 s lookahead: joins {np.round(joins, 3)} rad; "
          f"max |velocity|/limit {steps.max():.2f}")
    assert max(joins) < 0.1

    # Without context and lookahead each chunk decides its foot contacts alone, and the joins show it.
    _, alone = imitate(retargeter, walk, context_seconds=0.0, lookahead_seconds=0.0)
    print(f"chunks retargeted alone: joins {np.round(alone, 3)} rad")
    assert max(alone) > 0.3
