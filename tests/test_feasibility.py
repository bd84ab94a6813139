"""Feasibility of retargeted motion (motionllm.retargeting.feasibility): support polygons, jumps done as a
squat-and-rise or refused, what a robot profile may be asked to do."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("pinocchio", reason="Pinocchio (pin) is not installed")
pytest.importorskip("pink", reason="pink (pin-pink) is not installed")

from motionllm.commands import capability_refusal  # noqa: E402
from motionllm.retargeting import ProfileError, Retargeter, TrajectoryRefused, command_trajectory  # noqa: E402
from motionllm.retargeting.feasibility import convex_hull, feasibility, outside_distance  # noqa: E402
from motionllm.retargeting.profile import PROFILE_DIR, Capabilities, parse_profile  # noqa: E402
from test_retargeting import standing  # noqa: E402

FPS = 20.0


def jump(height: float = 0.25, forward: float = 0.5) -> np.ndarray:
    """Standing 1 s, a 0.4 s flight (the whole body up `height` and `forward` m along +Z), standing 1 s."""
    joints = standing(int(2.4 * FPS))
    flight = np.arange(int(1.0 * FPS), int(1.4 * FPS))
    phase = (flight - flight[0] + 1) / (len(flight) + 1)
    joints[flight, :, 1] += height * np.sin(np.pi * phase)[:, None]
    joints[flight, :, 2] += forward * phase[:, None]
    joints[flight[-1] + 1:, :, 2] += forward
    return joints


def profile_with(**capabilities):
    path = PROFILE_DIR / "g1.yaml"
    data = yaml.safe_load(path.read_text())
    data["capabilities"] = capabilities
    return parse_profile(data, path)


def test_support_polygon_geometry():
    square = convex_hull(np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]))
    assert len(square) == 4
    assert outside_distance(np.array([0.5, 0.5]), square) == pytest.approx(-0.5)
    assert outside_distance(np.array([1.2, 0.5]), square) == pytest.approx(0.2)
    assert outside_distance(np.array([0.0, 0.0]), convex_hull(np.array([[0, 0], [1, 0]]))) == np.inf  # an edge


def test_a_jump_becomes_a_squat_and_rise_in_place():
    retargeter = Retargeter("g1")
    motion = retargeter.retarget(jump(), FPS)
    assert any("squat-and-rise" in a for a in motion.adaptations), motion.adaptations
    result = feasibility(motion, retargeter.robot)
    assert result.check("flight").ok, result.reason
    base = motion.root_pose[:, :3]
    assert base[:, 2].max() <= base[0, 2] + 0.01  # the base never rises above standing: no flight
    assert np.abs(base[:, 0] - base[0, 0]).max() < 0.05  # and does not travel
    assert base[:, 2].min() < base[0, 2] - 0.05  # it dips: the rise became a squat


def test_a_jump_landing_as_the_clip_ends_is_adapted_too():
    """Real CMU 'jumping' crashed the adaptation: the clip ends before the second foot is down, so the jump's
    landing is the clip's end."""
    from motionllm.motion.skeleton import JOINT_INDEX

    landing = int(1.4 * FPS)
    joints = jump()[:landing + 4]
    joints[landing:landing + 3, [JOINT_INDEX["right_ankle"], JOINT_INDEX["right_foot"]], 1] += 0.15
    motion = Retargeter("g1").retarget(joints, FPS)
    assert any("squat-and-rise" in a for a in motion.adaptations), motion.adaptations
    assert np.isfinite(motion.q).all()


def test_a_robot_that_may_never_jump_gets_a_flight_phase_refused():
    retargeter = Retargeter(profile_with(jump="never"))
    motion = retargeter.retarget(jump(), FPS)
    assert not motion.adaptations
    result = feasibility(motion, retargeter.robot)
    assert not result.ok and not result.check("flight").ok
    with pytest.raises(TrajectoryRefused, match="not feasible for g1: .*flight: no sole point on the ground"):
        command_trajectory(motion, retargeter.robot)


def test_commands_a_profile_forbids_are_refused_before_generating():
    g1 = Capabilities()
    assert capability_refusal("do a cartwheel", g1, "g1").startswith("'cartwheel' cannot be made feasible")
    assert capability_refusal("a person does a backflip", g1, "g1")
    assert capability_refusal("jump forward twice", g1, "g1") is None  # adapted, not refused
    assert "may never jump" in capability_refusal("jump forward twice", Capabilities(jump="never"), "g1")
    assert "may not walk" in capability_refusal("walk forward", Capabilities(walk=False), "g1")
    upper = Capabilities(upper_body_only=True)
    assert "upper body only" in capability_refusal("squat down", upper, "g1")
    assert capability_refusal("wave with the left hand", upper, "g1") is None
    assert capability_refusal("wave with the left hand", Capabilities(walk=False), "g1") is None


@pytest.mark.parametrize("capabilities, message", [
    ({"jump": "sometimes"}, "capabilities.jump: must be one of adapt, never"),
    ({"walk": "yes"}, "capabilities.walk: must be true or false"),
    ({"fly": True}, "capabilities.fly: unknown field"),
])
def test_malformed_capabilities_are_one_clear_error(capabilities, message):
    with pytest.raises(ProfileError, match=message):
        profile_with(**capabilities)


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("robot", ["g1", "talos"])
def test_generated_commands_are_prevented_from_colliding_and_lifting_a_heel(robot):
    """Two motions the shipped LLM wrote (`motionllm generate "a person does a deep squat" --seed 0`, its first
    6 s, and "... puts both hands behind the back"), retargeted with the profiles' IK constraints. Before
    them: hands behind the back self-collided in 105 (G1) and 118 (TALOS) of 148 frames, TALOS's feet
    touched in 272 of 498 squat frames and its heels rose 2.4 cm."""
    retargeter = Retargeter(robot)
    for clip in ("generated_deep_squat.npy", "generated_hands_behind_back.npy"):
        motion = retargeter.retarget(np.load(DATA / clip), FPS)
        result = feasibility(motion, retargeter.robot)
        for check in ("joint_limits", "self_collision", "feet_flat", "flight"):
            assert result.check(check).ok, f"{robot} {clip}: {result.reason}"
        if clip == "generated_hands_behind_back.npy":  # standing on both feet: the IK keeps it balanced
            assert result.check("balance").ok, f"{robot} {clip}: {result.reason}"
