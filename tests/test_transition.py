"""Placing a generated in-between motion on its given start and end segments (anchor_transition). Pure numpy."""
from __future__ import annotations

import numpy as np
import pytest

from motionllm.errors import MotionLLMError
from motionllm.motion.canonical import anchor_transition, place_on
from motionllm.motion.skeleton import Skeleton, facing_directions

FRAMES, GAP_START, GAP_END = 60, 16, 40


def turned(points: np.ndarray, angle: float) -> np.ndarray:
    """Points (..., 3) turned about +Y by `angle` (+Z towards +X), written out independently of the code under test."""
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def walk(frames: int = FRAMES) -> np.ndarray:
    """A curving walk (T, 22, 3): a T-pose that bobs, swings its arms, turns and travels where it faces. It glides
    15 cm above the floor, so projecting the transition onto the body (bones, planted feet, floor) keeps it as it is:
    these tests are about placement (tests/test_projection.py covers the projection)."""
    t = np.arange(frames) / 20.0
    heading = 0.6 * np.sin(0.8 * t) + 0.4 * t
    rest = Skeleton().rest_pose()
    poses = np.repeat(rest[None], frames, axis=0)
    swing = 0.4 * np.sin(2 * np.pi * t)  # the hanging arms swing forward and back about their shoulders
    c, s = np.cos(swing)[:, None], np.sin(swing)[:, None]
    for shoulder, elbow, wrist in ((16, 18, 20), (17, 19, 21)):
        arm = poses[:, [elbow, wrist]] - poses[:, shoulder:shoulder + 1]
        y, z = arm[..., 1].copy(), arm[..., 2].copy()
        arm[..., 1], arm[..., 2] = c * y - s * z, s * y + c * z
        poses[:, [elbow, wrist]] = poses[:, shoulder:shoulder + 1] + arm
    poses[:, :, 1] += 1.05 + 0.02 * np.sin(4 * np.pi * t)[:, None]
    step = 1.2 / 20.0 * np.stack([np.sin(heading), np.zeros(frames), np.cos(heading)], axis=-1)
    root = np.cumsum(step, axis=0) + [0.7, 0.0, -1.3]
    return np.stack([turned(p, h) for p, h in zip(poses, heading)]) + root[:, None]


def moved(joints: np.ndarray, angle: float, shift) -> np.ndarray:
    """A rigid copy: turned about the world's Y axis, shifted in x/z."""
    return turned(joints, angle) + np.array([shift[0], 0.0, shift[1]])


def root_jumps(joints: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.diff(joints[:, 0, [0, 2]], axis=0), axis=-1)


def test_recovers_the_given_segments_of_a_moved_and_drifted_copy():
    truth = walk()
    generated = moved(truth, 2.1, (4.0, -3.0))
    # The decoder's drift: growing over the transition, about the last start frame, then constant.
    pivot = generated[GAP_START - 1, 0] * [1, 0, 1]
    ramp = np.clip((np.arange(FRAMES) - GAP_START + 1) / (GAP_END - GAP_START), 0, 1)
    generated = np.stack([moved(g - pivot, 0.5 * r, (0.8 * r, -0.6 * r)) + pivot for g, r in zip(generated, ramp)])
    generated = generated.astype(np.float32)
    before = generated.copy()

    out = anchor_transition(generated, truth[:GAP_START], truth[GAP_END:], GAP_START, GAP_END)

    assert out.dtype == np.float32 and out.shape == generated.shape
    np.testing.assert_array_equal(generated, before, err_msg="the input must not change")
    np.testing.assert_allclose(out[:GAP_START], truth[:GAP_START], atol=1e-5)
    np.testing.assert_allclose(out[GAP_END:], truth[GAP_END:], atol=1e-5)


def test_the_given_segments_come_back_and_only_their_seam_frames_place_the_transition():
    truth = walk()
    generated = moved(truth, -0.9, (1.0, 2.0)).astype(np.float32)
    start, end = truth[:GAP_START].copy(), truth[GAP_END:].copy()
    start[:-1] += [0.3, 0.1, -0.2]  # frames away from the seams: returned as given, but they place nothing
    end[1:] -= [0.1, 0.2, 0.4]

    out = anchor_transition(generated, start, end, GAP_START, GAP_END)

    np.testing.assert_allclose(out[:GAP_START], start, atol=1e-6)
    np.testing.assert_allclose(out[GAP_END:], end, atol=1e-6)
    np.testing.assert_allclose(out[GAP_START:GAP_END], truth[GAP_START:GAP_END], atol=1e-5)


def test_the_correction_is_spread_over_the_transition_without_jumps():
    generated = walk().astype(np.float32)  # smooth, but the given end is elsewhere
    offset = np.array([0.5, 0.0, -0.4])
    end = generated[GAP_END:] + offset

    out = anchor_transition(generated, generated[:GAP_START], end, GAP_START, GAP_END)

    np.testing.assert_allclose(out[GAP_END, 0], end[0, 0], atol=1e-5, err_msg="the end segment is placed")
    per_frame = np.linalg.norm(offset) / (GAP_END - GAP_START + 1)
    assert root_jumps(out).max() <= root_jumps(generated).max() + per_frame + 1e-5
    np.testing.assert_allclose(out[:GAP_START], generated[:GAP_START], atol=1e-6)


def test_a_turned_end_is_reached_smoothly_in_heading():
    generated = walk().astype(np.float32)
    pivot = generated[GAP_END, 0] * [1, 0, 1]
    end = moved(generated[GAP_END:] - pivot, 0.8, (0.3, 0.2)) + pivot

    out = anchor_transition(generated, generated[:GAP_START], end, GAP_START, GAP_END)

    np.testing.assert_allclose(out[GAP_END:], end, atol=1e-5)
    forward = facing_directions(out.astype(np.float64))
    turns = np.arccos(np.clip((forward[1:] * forward[:-1]).sum(-1), -1, 1))
    given = facing_directions(generated.astype(np.float64))
    given_turns = np.arccos(np.clip((given[1:] * given[:-1]).sum(-1), -1, 1))
    assert turns.max() <= given_turns.max() + 0.8 / (GAP_END - GAP_START + 1) + 1e-4


def test_heights_change_only_to_meet_the_given_frames():
    truth = walk()
    generated = moved(truth, 1.3, (-2.0, 0.5)).astype(np.float32)
    start = truth[:GAP_START] + [0.0, 0.3, 0.0]  # the given segments stand higher / lower than the decoded ones
    end = moved(truth[GAP_END:], 0.2, (0.4, 0.1)) + [0.0, -0.2, 0.0]

    out = anchor_transition(generated, start, end, GAP_START, GAP_END)

    w = ((np.arange(GAP_START, GAP_END) - GAP_START + 1) / (GAP_END - GAP_START + 1))[:, None]
    # Turns about Y keep heights; only the blend toward the given seam frames moves them.
    expected = generated[GAP_START:GAP_END, :, 1] + 0.3 * (1 - w) - 0.2 * w
    np.testing.assert_allclose(out[GAP_START:GAP_END, :, 1], expected, atol=1e-5)
    assert np.abs(out[..., [0, 2]] - generated[..., [0, 2]]).max() > 0.5, "the motion was moved in x/z"


def test_a_pose_error_of_the_decoder_is_blended_out_at_the_seams():
    truth = walk()
    generated = truth.copy()
    generated[:, 20:22] += [0.0, 0.1, 0.05]  # the decoded hands sit 10 cm too high and 5 cm off, all along
    out = anchor_transition(generated.astype(np.float32), truth[:GAP_START], truth[GAP_END:], GAP_START, GAP_END)
    np.testing.assert_allclose(out, truth, atol=1e-5)


def test_a_motion_already_on_its_segments_is_unchanged():
    generated = moved(walk(), 0.7, (3.0, 1.0)).astype(np.float32)
    out = anchor_transition(generated, generated[:GAP_START], generated[GAP_END:], GAP_START, GAP_END)
    np.testing.assert_allclose(out, generated, atol=1e-5)


def test_an_empty_transition_joins_the_segments():
    truth = walk()
    generated = moved(truth, 0.4, (1.0, 1.0)).astype(np.float32)
    out = anchor_transition(generated, truth[:GAP_START], truth[GAP_START:], GAP_START, GAP_START)
    np.testing.assert_allclose(out, truth, atol=1e-5)


@pytest.mark.parametrize("case", ["nan", "generated shape", "start shape", "short end", "short start", "gap at 0",
                                  "gap reversed", "gap past the end", "no end segment"])
def test_bad_input_is_refused(case):
    generated = walk().astype(np.float32)
    start, end = generated[:GAP_START], generated[GAP_END:]
    gap_start, gap_end = GAP_START, GAP_END
    if case == "nan":
        generated = generated.copy()
        generated[30, 4, 0] = np.nan
    elif case == "generated shape":
        generated = generated[:, :21]
    elif case == "start shape":
        start = start.reshape(len(start), -1)
    elif case == "short end":
        end = end[:-1]
    elif case == "short start":
        start = start[1:]
    elif case == "gap at 0":
        gap_start = 0
    elif case == "gap reversed":
        gap_start, gap_end = GAP_END, GAP_START
    elif case == "gap past the end":
        gap_end = FRAMES + 1
    else:
        gap_end = FRAMES
    with pytest.raises(MotionLLMError):
        anchor_transition(generated, start, end, gap_start, gap_end)


def test_place_on_puts_a_decoded_motion_where_the_given_one_is():
    truth = walk()
    decoded = moved(truth, -2.4, (3.0, -1.5)).astype(np.float32)  # as decoded: somewhere else, facing elsewhere
    np.testing.assert_allclose(place_on(decoded, 25, truth[25]), truth, atol=1e-5)
    lifted = truth[25] + [0.0, 0.4, 0.0]
    np.testing.assert_array_equal(place_on(decoded, 25, lifted)[..., 1], decoded[..., 1])  # heights are kept
