"""What every action shares: the state carried between actions, the build context, the registry and
small helpers for time lines, arm poses and labels.

An action is a function `build(ctx, state, budget) -> Segment | None`: it samples its own parameters
(with ctx.rng) so that it fits in `budget` seconds (None if it cannot), and returns the controls of its
frames plus its label. Every action starts and ends in the clip's neutral standing pose (or the neutral
seated pose for sitting), at rest, so actions join without jumps; the root position, heading and floor
height carry over through `State`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from motionllm.corpus.body import LEFT, RIGHT, SIDE_SIGN, SIDES, Body
from motionllm.corpus.profiles import keyframes, window
from motionllm.corpus.rig import Controls, neutral_controls
from motionllm.motion.skeleton import FPS


@dataclass(frozen=True)
class State:
    """Where the person is between actions."""

    root: tuple = (0.0, 0.0)    # pelvis x, z
    heading: float = 0.0        # yaw, 0 = +Z
    ground: float = 0.0         # floor height under the feet (stairs change it)
    posture: str = "stand"      # "stand" or "sit"

    def moved(self, root=None, heading=None, ground=None, posture=None) -> "State":
        return replace(self, **{k: v for k, v in (("root", root), ("heading", heading), ("ground", ground),
                                                  ("posture", posture)) if v is not None})


@dataclass
class Ctx:
    body: Body
    style: dict
    rng: np.random.Generator


@dataclass
class Segment:
    """The output of one action: its controls, the state it ends in, and its labels.

    `labels` is a list: usually one entry, two when a gesture is done while walking. Frames in labels
    are relative to the segment start. `terrain` describes non-flat ground the action created."""

    controls: Controls
    end: State
    labels: list
    terrain: dict | None = None


@dataclass(frozen=True)
class ActionType:
    name: str
    category: str
    build: Callable
    weight: float
    starts: str
    ends: str


REGISTRY: dict[str, ActionType] = {}


def action(name: str, category: str, weight: float = 1.0, starts: str = "stand", ends: str = "stand"):
    """Register an action builder under `name`."""
    def register(fn):
        REGISTRY[name] = ActionType(name, category, fn, weight, starts, ends)
        return fn
    return register


# --- time lines ------------------------------------------------------------------------------------

def timeline(duration: float) -> np.ndarray:
    """Frame times (s) of a segment lasting `duration` seconds (first and last frame included)."""
    n = max(int(round(duration * FPS)) + 1, 2)
    return np.arange(n) / FPS


def neutral(ctx: Ctx, state: State, duration: float) -> tuple[Controls, np.ndarray]:
    """Standing still at `state` for `duration` seconds: the canvas most actions draw on."""
    t = timeline(duration)
    c = neutral_controls(ctx.body, len(t), state.root, state.heading, state.ground, ctx.style)
    return c, t


def frame_of(t: float) -> int:
    return int(round(t * FPS))


def label(type_: str, category: str, start: float, end: float, side: str | None = None,
          direction: str | None = None, speed: str | None = None, count: int | None = None, **params) -> dict:
    """One action's structured label; times in seconds relative to the segment, stored as frames."""
    return {"type": type_, "category": category, "side": side, "direction": direction, "speed": speed,
            "count": count, "start_frame": frame_of(start), "end_frame": frame_of(end),
            "params": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in params.items()}}


# --- arms ------------------------------------------------------------------------------------------

def mirror(side: int, x: float, y: float, z: float) -> np.ndarray:
    """A point given for the LEFT arm (x = outwards), mirrored for `side`."""
    return np.array([SIDE_SIGN[side] * x, y, z])


@dataclass
class ArmMotion:
    """Wrist target and elbow pole of one arm over the segment's frames, and how much it overrides the
    arm's underlying motion (weight 0..1)."""

    wrist: np.ndarray
    pole: np.ndarray
    weight: np.ndarray


def to_spherical(v: np.ndarray, side: int) -> np.ndarray:
    """Wrist offsets (..., 3) -> (azimuth, elevation, distance) about the shoulder, azimuth measured from
    forward towards the arm's own side. Gestures interpolate here, so hands travel along arcs around
    the shoulder (as arms do) instead of cutting through the body."""
    x = SIDE_SIGN[side] * v[..., 0]
    r = np.linalg.norm(v, axis=-1)
    return np.stack([np.arctan2(x, v[..., 2]), np.arcsin(np.clip(v[..., 1] / np.maximum(r, 1e-9), -1, 1)), r], -1)


def from_spherical(a: np.ndarray, side: int) -> np.ndarray:
    az, el, r = a[..., 0], a[..., 1], a[..., 2]
    return np.stack([SIDE_SIGN[side] * r * np.cos(el) * np.sin(az), r * np.sin(el), r * np.cos(el) * np.cos(az)], -1)


def arm_keys(t: np.ndarray, key_times, wrists, poles, rise: float = 0.4, fall: float = 0.45,
             side: int | None = None) -> ArmMotion:
    """A gesture through keyed wrist positions/poles, blended in over `rise` before the first key and out
    over `fall` after the last one. With `side`, wrists move along arcs about the shoulder."""
    key_times = np.asarray(key_times, dtype=np.float64)
    wrists = np.asarray(wrists, dtype=np.float64)
    if side is None:
        wrist = keyframes(t, key_times, wrists)
    else:
        sph = to_spherical(wrists, side)
        sph[:, 0] = np.unwrap(sph[:, 0])
        wrist = from_spherical(keyframes(t, key_times, sph), side)
    pole = keyframes(t, key_times, np.asarray(poles, dtype=np.float64))
    weight = window(t, key_times[0] - rise, rise, key_times[-1] - key_times[0], fall)
    return ArmMotion(wrist, pole, weight)


def apply_arm(c: Controls, side: int, motion: ArmMotion) -> None:
    """Blend a gesture over the arm's current motion (along arcs about the shoulder)."""
    w = motion.weight[:, None]
    a, b = to_spherical(c.wrist[side], side), to_spherical(motion.wrist, side)
    # Azimuth difference on one continuous branch over time (a per-frame shortest way round can flip
    # sides from one frame to the next when the two directions are nearly opposite).
    turn = np.unwrap((b[:, 0] - a[:, 0] + np.pi) % (2 * np.pi) - np.pi)
    b[:, 0] = a[:, 0] + turn
    c.wrist[side] = from_spherical((1 - w) * a + w * b, side)
    c.elbow_pole[side] = (1 - w) * c.elbow_pole[side] + w * motion.pole


def add_channel(target: np.ndarray, t: np.ndarray, key_times, values) -> None:
    """Add a keyed (min-jerk) curve to a control channel in place (values relative to neutral)."""
    target += keyframes(t, key_times, np.asarray(values, dtype=np.float64))


def pick_side(rng: np.random.Generator) -> int:
    return int(rng.integers(2))


def side_name(side: int) -> str:
    return SIDES[side]


def pick_count(rng: np.random.Generator, low: int, high: int, budget: float, per: float, fixed: float) -> int | None:
    """A repetition count in [low, high] whose duration (fixed + count * per) fits the budget."""
    most = min(high, int((budget - fixed) // per))
    if most < low:
        return None
    return int(rng.integers(low, most + 1))


def speed_word(value: float, slow: float, fast: float) -> str:
    return "slow" if value < slow else "fast" if value > fast else "normal"


__all__ = ["State", "Ctx", "Segment", "ActionType", "REGISTRY", "action", "timeline", "neutral", "label",
           "mirror", "ArmMotion", "arm_keys", "to_spherical", "from_spherical", "apply_arm", "add_channel", "pick_side", "side_name",
           "pick_count", "speed_word", "LEFT", "RIGHT", "SIDE_SIGN", "field"]
