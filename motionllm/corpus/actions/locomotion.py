"""Locomotion: walking, jogging, running, backwards, side steps, turning on the spot, curved, circular and
zig-zag paths, marching, tiptoeing, skipping, stomping, stairs, and the dance spin.

All of them are a pelvis path (`paths.Path` and a smooth speed profile) plus footstep plants
(`steps.plants_along_path`, or explicit plants) turned into controls by `gait_controls`, which also adds
what follows from the feet: pelvis sway over the support foot, pelvis rotation, counter-rotating
shoulders and arm swing opposite to the legs. Distances and speeds scale with the body's legs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from motionllm.corpus.actions import arms
from motionllm.corpus.actions.common import (
    LEFT, RIGHT, SIDE_SIGN, Ctx, Segment, State, action, apply_arm, label, neutral, side_name, timeline,
)
from motionllm.corpus.body import FOOT_PITCH
from motionllm.corpus.paths import Path
from motionllm.corpus.profiles import ramp, window
from motionllm.corpus.rig import Controls, left_dir, neutral_controls, stance_toe, yaw_dir
from motionllm.corpus.steps import Plant, Swing, foot_tracks, plants_along_path, support_sway, travel

SETTLE = 0.35  # seconds of standing after the last foot lands


@dataclass(frozen=True)
class Gait:
    """How a kind of locomotion moves the body besides the feet."""

    duty: float            # stance fraction of a two-step cycle
    swing: Swing
    lean: float            # trunk pitch at cruise speed (rad)
    arm_swing: float       # wrist travel per metre of fore-aft foot separation
    arm_bend: float        # 0 = arms hang, 1 = elbows at about 90 degrees
    sway: float            # how far the pelvis follows the support foot sideways (0..1)
    bob: float             # extra pelvis dip while a foot is planted (m); running has flight phases
    pelvis_yaw: float      # pelvis rotation per metre of fore-aft foot separation (rad/m)
    width: float = 1.0     # stance width relative to standing


GAITS = {
    "walk": Gait(0.60, Swing(0.07, 0.45, 0.35, 0.15), 0.04, 0.30, 0.1, 0.35, 0.0, 0.15),
    "jog": Gait(0.42, Swing(0.12, 0.60, 0.40, 0.10), 0.10, 0.30, 0.8, 0.15, 0.03, 0.12, 0.8),
    "run": Gait(0.36, Swing(0.20, 0.70, 0.40, 0.10), 0.16, 0.28, 1.0, 0.10, 0.04, 0.10, 0.7),
    "backward": Gait(0.62, Swing(0.06, 0.15, 0.30, 0.0), -0.03, 0.20, 0.1, 0.30, 0.0, 0.10),
    "side": Gait(0.66, Swing(0.06, 0.20, 0.30, 0.05), 0.0, 0.0, 0.1, 0.30, 0.0, 0.0, 1.0),
    "turn": Gait(0.62, Swing(0.05, 0.20, 0.30, 0.0), 0.0, 0.0, 0.1, 0.25, 0.0, 0.0),
    "spin": Gait(0.50, Swing(0.05, 0.25, 0.30, 0.0), 0.0, 0.0, 0.3, 0.10, 0.0, 0.0, 0.8),
    "march": Gait(0.55, Swing(0.26, 0.30, 0.30, 0.0), 0.0, 0.0, 0.7, 0.30, 0.0, 0.0),
    "tiptoe": Gait(0.62, Swing(0.05, 0.0, 0.30, 0.0), 0.03, 0.15, 0.3, 0.25, 0.0, 0.08, 0.8),
    "stairs": Gait(0.65, Swing(0.10, 0.35, 0.35, 0.05), 0.08, 0.20, 0.1, 0.30, 0.0, 0.10),
    "skip": Gait(0.30, Swing(0.12, 0.40, 0.40, 0.05), 0.06, 0.45, 0.6, 0.15, 0.03, 0.12),
}

# Speed ranges (m/s, reference body) per locomotion and pace word.
WALK_SPEEDS = {"slow": (0.6, 0.85), "normal": (1.05, 1.35), "fast": (1.5, 1.7)}
JOG_SPEEDS = {"slow": (1.8, 2.1), "normal": (2.2, 2.6), "fast": (2.7, 3.0)}
RUN_SPEEDS = {"slow": (2.6, 2.9), "normal": (2.9, 3.3), "fast": (3.3, 3.7)}


def walk_step_period(speed: float) -> float:
    """Time between footfalls of a walk: cadence rises with speed (about 105-125 steps/min)."""
    return float(np.clip(0.62 - 0.08 * speed, 0.46, 0.58))


# --- turning paths and plants into controls --------------------------------------------------------

def gait_controls(ctx: Ctx, state: State, t: np.ndarray, pelvis_xz: np.ndarray, heading: np.ndarray,
                  plants: tuple[list, list], gait: Gait, effort: np.ndarray) -> Controls:
    """Controls of a stepping motion: feet from the plants, the rest of the body from the feet.

    `effort` (T,) in 0..1 scales trunk lean and arm bend with the current speed."""
    body, style = ctx.body, ctx.style
    c = neutral_controls(body, len(t), state.root, state.heading, state.ground, style)
    c.heading = heading
    for side in (LEFT, RIGHT):
        toe, yaw, pitch, contact = foot_tracks(plants[side], t, gait.swing)
        c.toe[side], c.foot_yaw[side], c.foot_pitch[side], c.contact[side] = toe, yaw, pitch, contact
    forward = yaw_dir(heading)
    lateral = left_dir(heading)

    # The pelvis leans over the support foot; sideways only, so progress along the path is untouched.
    support = support_sway(c.toe[LEFT], c.toe[RIGHT], c.contact[LEFT], c.contact[RIGHT])
    pelvis3 = np.stack([pelvis_xz[:, 0], np.zeros(len(t)), pelvis_xz[:, 1]], -1)
    side_offset = np.sum((support - pelvis3) * lateral, axis=-1)
    pelvis3 += gait.sway * style.get("sway", 1.0) * side_offset[:, None] * lateral
    ground = gaussian_filter1d(np.min(c.toe[:, :, 1], axis=0), 3.0, mode="nearest")
    in_stance = gaussian_filter1d(c.contact.sum(0).astype(float), 1.5, mode="nearest")
    # Running dips while a foot is planted and rises in the flight phases; walking keeps its height.
    pelvis3[:, 1] = ground + body.stand_height() - effort * (0.01 + gait.bob * (in_stance - 0.5))
    c.pelvis = pelvis3

    # Fore-aft separation of the feet drives pelvis rotation, shoulder counter-rotation and arm swing.
    split = np.sum((c.toe[LEFT] - c.toe[RIGHT]) * forward, axis=-1)  # > 0: left foot ahead
    c.pelvis_rot[:, 0] = -gait.pelvis_yaw * split
    c.spine[:, 0] = 1.2 * gait.pelvis_yaw * split
    c.spine[:, 1] += gait.lean * effort * style.get("lean", 1.0)
    c.neck[:, 1] -= 0.6 * gait.lean * effort
    bend = gait.arm_bend * effort
    swing_gain = gait.arm_swing * style.get("arm_swing", 1.0)
    for side in (LEFT, RIGHT):
        arm = body.arm(side)
        ahead = -SIDE_SIGN[side] * split * swing_gain  # the arm swings with the opposite leg
        c.wrist[side, :, 0] -= SIDE_SIGN[side] * 0.06 * bend
        c.wrist[side, :, 1] += 0.45 * bend * arm + 0.25 * np.abs(ahead)
        c.wrist[side, :, 2] += 0.22 * bend + ahead
    return c


def _path_heading(path_yaw: np.ndarray, offset: float) -> np.ndarray:
    heading = np.unwrap(path_yaw) - offset
    return gaussian_filter1d(heading, 2.0, mode="nearest")


def walk_along(ctx: Ctx, state: State, pieces, speed: float, gait: Gait, step_period: float,
               move: str = "forward", first_side: int | None = None, budget: float = 10.0):
    """Walk (or jog, run, step sideways or backwards) along a path from `state`.

    `move` is the walking direction relative to the facing: forward, backward, left or right.
    Returns (controls, times, end state, info) or None if it does not fit in `budget` seconds."""
    body, rng = ctx.body, ctx.rng
    offset = {"forward": 0.0, "backward": np.pi, "left": np.pi / 2, "right": -np.pi / 2}[move]
    path = Path(state.root, state.heading + offset, pieces)
    # Speeding up takes a few steps (people accelerate at about 3 m/s^2 at most).
    accel = max(1.5 * step_period, speed / 3.0)
    t_start = 0.15
    t_estimate = t_start + path.length / speed + accel + 3 * step_period + SETTLE + 0.5
    if t_estimate > budget + 1.5:
        return None
    t = timeline(t_estimate + 2.0)
    s, t_path_end = travel(t, t_start, path.length, speed, accel)
    effort = ramp(t, t_start, t_start + accel) - ramp(t, t_path_end - accel, t_path_end)
    xz, path_yaw = path.at(s)
    heading = _path_heading(path_yaw, offset)
    if first_side is None:
        first_side = {"left": LEFT, "right": RIGHT}.get(move, int(rng.integers(2)))
    start_toes = tuple((stance_toe(body, np.array(state.root), np.array(state.heading), side, state.ground, ctx.style),
                        state.heading + SIDE_SIGN[side] * ctx.style.get("toe_out", 0.12)) for side in (LEFT, RIGHT))
    left, right, last_land = plants_along_path(
        body, t, xz, heading, first_swing=t_start + 0.1, step_period=step_period, duty=gait.duty,
        first_side=first_side, start_toes=start_toes, ground=lambda p: state.ground, style=ctx.style,
        width_scale=gait.width, t_end_path=t_path_end, effort=effort,
        start_duty=max(gait.duty, 0.55), start_period=max(step_period, 0.4))
    t_end = max(last_land, t_path_end) + SETTLE
    n = int(round(t_end * 20)) + 1
    if n > len(t):
        return None
    t, effort = t[:n], effort[:n]
    c = gait_controls(ctx, state, t, xz[:n], heading[:n], (left, right), gait, effort)
    end = state.moved(root=tuple(path.at(np.array([path.length]))[0][0]), heading=float(heading[n - 1]))
    steps = len(left) + len(right) - 2
    info = {"steps": steps, "distance_m": path.length / body.scale, "t_move_end": t_path_end,
            "speed_mps": speed / body.scale}
    # End exactly in the neutral stance of the end state (the last plants already are).
    return c, t, end, info


def _pace(rng, speeds: dict, body_scale: float, pace: str | None = None) -> tuple[str, float]:
    pace = pace or str(rng.choice(list(speeds), p=[0.25, 0.5, 0.25]))
    return pace, float(rng.uniform(*speeds[pace])) * body_scale


def _maybe_gesture(ctx: Ctx, c: Controls, t: np.ndarray, t_move_end: float, labels: list, allow: bool) -> None:
    """Sometimes do an arm gesture while walking (captioned with 'while')."""
    if not allow or ctx.rng.random() > ctx.style.get("while_rate", 0.2) or t_move_end < 2.0:
        return
    name = str(ctx.rng.choice(arms.WHILE_WALKING))
    side = int(ctx.rng.integers(2))
    t0 = float(ctx.rng.uniform(0.5, max(0.6, t_move_end - 1.6)))
    # Over (blended out completely) before the segment ends, so the next action starts from neutral.
    t1 = float(min(t_move_end, t[-1] - 0.6, t0 + ctx.rng.uniform(1.2, 2.5)))
    if t1 < t0 + 0.5:
        return
    motion, lab = arms.gesture(name, ctx, side, t, t0, t1)
    apply_arm(c, side, motion)
    lab["concurrent"] = True
    labels.append(lab)


# --- builders --------------------------------------------------------------------------------------

def _straight(kind: str, gait_name: str, speeds: dict, move: str, step_period_fn):
    def build(ctx: Ctx, state: State, budget: float):
        rng = ctx.rng
        pace, speed = _pace(rng, speeds, ctx.body.scale)
        period = step_period_fn(speed / ctx.body.scale) * ctx.body.scale ** 0.5 * rng.uniform(0.95, 1.05)
        gait = GAITS[gait_name]
        distance_max = max(speed * (budget - 1.5 - 3 * period), 0.0)
        lo = {"walk": 1.5, "jog": 3.5, "run": 5.0, "backward": 1.0, "side": 0.6}[kind] * ctx.body.scale
        hi = {"walk": 6.0, "jog": 9.0, "run": 12.0, "backward": 3.0, "side": 2.0}[kind] * ctx.body.scale
        hi = min(hi, distance_max)
        if hi < lo:
            return None
        distance = float(rng.uniform(lo, hi))
        out = walk_along(ctx, state, [("line", distance)], speed, gait, period, move, budget=budget)
        if out is None:
            return None
        c, t, end, info = out
        type_ = {"walk": "walk", "jog": "jog", "run": "run", "backward": "walk_backward", "side": "sidestep"}[kind]
        labels = [label(type_, "locomotion", 0.0, t[-1], direction=move, speed=pace, count=info["steps"],
                        distance_m=info["distance_m"], speed_mps=info["speed_mps"])]
        _maybe_gesture(ctx, c, t, info["t_move_end"], labels, allow=kind in ("walk", "backward"))
        return Segment(c, end, labels)
    return build


action("walk", "locomotion", weight=3.0)(_straight("walk", "walk", WALK_SPEEDS, "forward", walk_step_period))
action("jog", "locomotion", weight=1.5)(_straight("jog", "jog", JOG_SPEEDS, "forward", lambda v: 0.36))
action("run", "locomotion", weight=1.5)(_straight("run", "run", RUN_SPEEDS, "forward", lambda v: 0.32))
action("walk_backward", "locomotion")(_straight(
    "backward", "backward", {"slow": (0.4, 0.55), "normal": (0.6, 0.8), "fast": (0.85, 1.0)}, "backward",
    lambda v: 0.55))


@action("sidestep", "locomotion", weight=1.2)
def sidestep(ctx: Ctx, state: State, budget: float):
    move = "left" if ctx.rng.random() < 0.5 else "right"
    return _straight("side", "side", {"slow": (0.35, 0.45), "normal": (0.5, 0.6), "fast": (0.65, 0.75)},
                     move, lambda v: 0.5)(ctx, state, budget)


def _turn_words(angle_deg: float) -> str:
    return "left" if angle_deg > 0 else "right"


def turn_in_place(ctx: Ctx, state: State, budget: float, gait_name: str = "turn", angle: float | None = None,
                  t0: float = 0.15):
    rng, body = ctx.rng, ctx.body
    if angle is None:
        angle = float(rng.choice([45, 90, 90, 90, 180, 180])) * (1 if rng.random() < 0.5 else -1)
    rate = rng.uniform(100, 150) if gait_name == "turn" else rng.uniform(300, 420)  # deg/s
    duration = max(abs(angle) / rate, 0.6)
    period = 0.45 if gait_name == "turn" else 0.3
    if t0 + duration + 4 * period + SETTLE > budget:
        return None
    t = timeline(t0 + duration + 4 * period + SETTLE + 1.0)
    heading = state.heading + np.radians(angle) * ramp(t, t0, t0 + duration)
    xz = np.tile(np.asarray(state.root, dtype=np.float64), (len(t), 1))
    first = LEFT if angle > 0 else RIGHT
    start_toes = tuple((stance_toe(body, np.array(state.root), np.array(state.heading), s, state.ground, ctx.style),
                        state.heading + SIDE_SIGN[s] * ctx.style.get("toe_out", 0.12)) for s in (LEFT, RIGHT))
    gait = GAITS[gait_name]
    left, right, last_land = plants_along_path(
        body, t, xz, heading, first_swing=t0 + 0.1, step_period=period, duty=gait.duty, first_side=first,
        start_toes=start_toes, ground=lambda p: state.ground, style=ctx.style, width_scale=gait.width,
        t_end_path=t0 + duration)
    n = int(round((max(last_land, t0 + duration) + SETTLE) * 20)) + 1
    if n > len(t) or (n - 1) / 20 > budget:
        return None
    t = t[:n]
    effort = window(t, t0, 0.3, max(duration - 0.6, 0.0), 0.3)
    c = gait_controls(ctx, state, t, xz[:n], heading[:n], (left, right), gait, effort)
    end = state.moved(heading=float(state.heading + np.radians(angle)))
    return c, t, end, {"degrees": abs(angle), "direction": _turn_words(angle),
                       "steps": len(left) + len(right) - 2, "t_turn": (t0, t0 + duration)}


def _turn_segment(ctx: Ctx, state: State, budget: float):
    out = turn_in_place(ctx, state, budget)
    if out is None:
        return None
    c, t, end, info = out
    lab = label("turn_in_place", "locomotion", 0.0, t[-1], direction=info["direction"], count=None,
                degrees=info["degrees"], steps=info["steps"])
    return Segment(c, end, [lab])


action("turn_in_place", "locomotion", weight=1.5)(_turn_segment)


@action("spin", "dance", weight=0.8)
def spin(ctx: Ctx, state: State, budget: float):
    angle = float(ctx.rng.choice([360, 360, 360, 720 if budget > 4 else 360])) * (1 if ctx.rng.random() < 0.5 else -1)
    out = turn_in_place(ctx, state, budget, gait_name="spin", angle=angle, t0=0.6)
    if out is None:
        return None
    c, t, end, info = out
    # Arms open up for the spin.
    t0, t1 = info["t_turn"]
    for side in (LEFT, RIGHT):
        motion = arms.pose_motion(ctx, side, t, t0, t1, arms.ARMS_OUT_LOW, 0.5, min(0.55, t[-1] - t1 - 0.01))
        apply_arm(c, side, motion)
    lab = label("spin", "dance", 0.0, t[-1], direction=info["direction"], count=int(abs(angle) // 360),
                degrees=info["degrees"])
    return Segment(c, end, [lab])


def _path_action(kind: str):
    def build(ctx: Ctx, state: State, budget: float):
        rng, s = ctx.rng, ctx.body.scale
        direction = "left" if rng.random() < 0.5 else "right"
        sign = 1.0 if direction == "left" else -1.0
        pace, speed = _pace(rng, {"slow": (0.7, 0.85), "normal": (1.0, 1.25), "fast": (1.35, 1.5)}, s)
        params = {}
        if kind == "walk_turn":
            degrees = float(rng.choice([90, 90, 90, 180]))
            pieces = [("line", rng.uniform(1.0, 2.5) * s), ("arc", sign * np.radians(degrees), rng.uniform(0.4, 0.7) * s),
                      ("line", rng.uniform(0.8, 2.0) * s)]
            params["degrees"] = degrees
        elif kind == "walk_curve":
            degrees = float(rng.uniform(60, 120))
            radius = rng.uniform(1.5, 3.0) * s
            pieces = [("line", rng.uniform(0.3, 1.0) * s), ("arc", sign * np.radians(degrees), radius)]
            params.update(degrees=round(degrees), radius_m=radius / s)
        elif kind == "walk_circle":
            radius = rng.uniform(0.8, 1.4) * s
            pieces = [("arc", sign * 2 * np.pi, radius)]
            params.update(degrees=360, radius_m=radius / s)
        elif kind == "walk_zigzag":
            legs = int(rng.integers(3, 5))
            leg = rng.uniform(0.9, 1.4) * s
            turn = np.radians(rng.uniform(70, 100))
            pieces = [("arc", sign * turn / 2, 0.3 * s)]
            for k in range(legs):
                pieces.append(("line", leg))
                if k < legs - 1:
                    pieces.append(("arc", -sign * turn * (1 if k % 2 == 0 else -1), 0.3 * s))
            params["legs"] = legs
        else:
            raise ValueError(kind)
        period = walk_step_period(speed / s) * s ** 0.5
        out = walk_along(ctx, state, pieces, speed, GAITS["walk"], period, "forward", budget=budget)
        if out is None:
            return None
        c, t, end, info = out
        lab = label(kind, "locomotion", 0.0, t[-1], direction=direction, speed=pace, count=info["steps"],
                    distance_m=info["distance_m"], speed_mps=info["speed_mps"], **params)
        labels = [lab]
        if kind in ("walk_curve", "walk_circle"):
            _maybe_gesture(ctx, c, t, info["t_move_end"], labels, allow=True)
        return Segment(c, end, labels)
    return build


for _kind, _weight in (("walk_turn", 2.0), ("walk_curve", 1.2), ("walk_circle", 1.0), ("walk_zigzag", 0.8)):
    action(_kind, "locomotion", weight=_weight)(_path_action(_kind))


# --- stepping on the spot and special gaits --------------------------------------------------------

def plants_in_place(ctx: Ctx, state: State, count: int, period: float, duty: float, first_side: int,
                    t0: float, swing_time: float | None = None) -> tuple[list, list, float]:
    """`count` steps that lift each foot and put it back where it was."""
    body = ctx.body
    cycle = 2 * period
    swing_time = (1 - duty) * cycle if swing_time is None else swing_time
    plants = {}
    for side in (LEFT, RIGHT):
        toe = stance_toe(body, np.array(state.root), np.array(state.heading), side, state.ground, ctx.style)
        plants[side] = [Plant(side, toe, state.heading + SIDE_SIGN[side] * ctx.style.get("toe_out", 0.12), -np.inf)]
    side, t_lift, last = first_side, t0, t0
    for _ in range(count):
        current = plants[side][-1]
        current.t_lift = t_lift
        plants[side].append(Plant(side, current.toe.copy(), current.yaw, t_lift + swing_time))
        last = t_lift + swing_time
        side, t_lift = 1 - side, t_lift + period
    return plants[LEFT], plants[RIGHT], last


@action("march", "locomotion", weight=0.8)
def march(ctx: Ctx, state: State, budget: float):
    rng = ctx.rng
    period = rng.uniform(0.5, 0.6)
    count = int(min(rng.integers(4, 11), (budget - 0.8) // period))
    if count < 4:
        return None
    first = int(rng.integers(2))
    left, right, last = plants_in_place(ctx, state, count, period, 0.55, first, 0.35)
    t = timeline(last + SETTLE)
    xz = np.tile(np.asarray(state.root, dtype=np.float64), (len(t), 1))
    heading = np.full(len(t), state.heading)
    gait = GAITS["march"]
    effort = window(t, 0.0, 0.4, max(last - 0.8, 0.0), 0.4)
    c = gait_controls(ctx, state, t, xz, heading, (left, right), gait, effort)
    # Marching arms swing with the knees: opposite arm forward while a knee is up.
    for side in (LEFT, RIGHT):
        lift = c.toe[1 - side, :, 1] - state.ground
        c.wrist[side, :, 2] += 1.3 * lift
        c.wrist[side, :, 1] += 0.8 * lift
    lab = label("march", "locomotion", 0.0, t[-1], direction="in_place", count=count)
    return Segment(c, state, [lab])


@action("stomp", "locomotion", weight=0.6)
def stomp(ctx: Ctx, state: State, budget: float):
    """Stomping: a knee comes up slowly, the foot comes down hard (the fast part is short but smooth)."""
    rng = ctx.rng
    period = rng.uniform(0.75, 0.9)
    count = int(min(rng.integers(2, 5), (budget - 0.8) // period))
    if count < 2:
        return None
    alternate = rng.random() < 0.5
    side0 = int(rng.integers(2))
    body = ctx.body
    c, t = neutral(ctx, state, 0.3 + count * period + SETTLE)
    sides = []
    for k in range(count):
        side = (side0 + k) % 2 if alternate else side0
        sides.append(side)
        t_up = 0.3 + k * period
        base = c.toe[side].copy()
        # Up over 60 % of the period, down in 0.2 s.
        rise, fall = 0.55 * period, 0.2
        lift = np.clip(window(t, t_up, rise, 0.0, fall), 0, 1)
        c.toe[side, :, 1] = np.where(lift > 0, base[:, 1] + 0.28 * body.scale * lift, c.toe[side, :, 1])
        c.toe[side, :, 2] += 0.08 * lift * np.cos(state.heading)
        c.toe[side, :, 0] += 0.08 * lift * np.sin(state.heading)
        c.contact[side] &= lift <= 0.01
        c.foot_pitch[side] += 0.2 * lift
        shift = window(t, t_up - 0.15, 0.3, rise + fall - 0.3, 0.25)
        c.pelvis[:, [0, 2]] += (-SIDE_SIGN[side] * 0.05 * shift)[:, None] * left_dir(np.array(state.heading))[[0, 2]]
        c.pelvis[:, 1] -= 0.02 * shift
        for arm_side in (LEFT, RIGHT):
            c.wrist[arm_side, :, 0] += SIDE_SIGN[arm_side] * 0.12 * shift
    side_word = side_name(side0) if not alternate else "both"
    lab = label("stomp", "locomotion", 0.0, t[-1], side=side_word, count=count, alternating=alternate)
    return Segment(c, state, [lab])


@action("tiptoe", "locomotion", weight=0.6)
def tiptoe(ctx: Ctx, state: State, budget: float):
    rng, s = ctx.rng, ctx.body.scale
    speed = rng.uniform(0.35, 0.55) * s
    distance = float(rng.uniform(0.8, 2.2) * s)
    out = walk_along(ctx, state, [("line", distance)], speed, GAITS["tiptoe"], 0.45 * s ** 0.5, "forward",
                     budget=budget - 0.6)
    if out is None:
        return None
    c, t, end, info = out
    # Up on the toes for the whole walk: pitch the feet (toes stay planted), raise the arms a little.
    on_toes = window(t, 0.0, 0.3, max(t[-1] - 0.6, 0.0), 0.3)
    c.foot_pitch += 0.75 * on_toes
    c.pelvis[:, 1] += ctx.body.foot(LEFT) * (np.sin(FOOT_PITCH + 0.75) - np.sin(FOOT_PITCH)) * on_toes
    for side in (LEFT, RIGHT):
        c.wrist[side, :, 0] += SIDE_SIGN[side] * 0.12 * on_toes
        c.wrist[side, :, 1] += 0.12 * on_toes
    lab = label("tiptoe", "locomotion", 0.0, t[-1], direction="forward", speed="slow", count=info["steps"],
                distance_m=info["distance_m"])
    return Segment(c, end, [lab])


@action("skip", "locomotion", weight=0.6)
def skip(ctx: Ctx, state: State, budget: float):
    """Skipping: step-hop on one foot, then step-hop on the other, the free knee driving up."""
    rng, body = ctx.rng, ctx.body
    s = body.scale
    half = rng.uniform(0.33, 0.38)              # one step-hop
    count = int(min(rng.integers(4, 9), (budget - 1.4) // half))
    if count < 4:
        return None
    speed = rng.uniform(1.0, 1.3) * s
    t0, lead = 0.3, 0.45                        # path starts at t0, first step lands at t0 + lead
    distance = speed * (count * half + 0.3)
    t = timeline(t0 + lead + count * half + 0.8 + SETTLE)
    travelled, t_path_end = travel(t, t0, distance, speed, 0.45)
    path = Path(state.root, state.heading, [("line", distance)])
    xz, _ = path.at(travelled)
    heading = np.full(len(t), state.heading)
    toe_out = ctx.style.get("toe_out", 0.12)
    yaw = {sd: state.heading + SIDE_SIGN[sd] * toe_out for sd in (LEFT, RIGHT)}

    def spot(side, when):
        root = np.array([np.interp(when, t, xz[:, 0]), np.interp(when, t, xz[:, 1])])
        return stance_toe(body, root, np.array(state.heading), side, state.ground, ctx.style)

    plants = {sd: [Plant(sd, spot(sd, 0.0), yaw[sd], -np.inf)] for sd in (LEFT, RIGHT)}
    side = int(rng.integers(2))
    for k in range(count):
        t_step = t0 + lead + k * half
        hop_lift, hop_land, swing_lift = t_step + 0.11, t_step + 0.2, t_step + 0.3
        plants[side][-1].t_lift = t_step - (0.25 if k < 2 else half + 0.05)
        plants[side].append(Plant(side, spot(side, t_step + 0.05), yaw[side], t_step, hop_lift))
        plants[side].append(Plant(side, spot(side, hop_land + 0.05), yaw[side], hop_land, swing_lift))
        side = 1 - side
    # Both feet close into a standing stance where the path ends.
    t_close = t0 + lead + count * half + 0.15
    for sd, delay in ((side, 0.0), (1 - side, 0.2)):
        plants[sd][-1].t_lift = min(plants[sd][-1].t_lift, t_close + delay - 0.35)
        plants[sd].append(Plant(sd, spot(sd, t[-1]), yaw[sd], t_close + delay))
    n = int(round((t_close + 0.2 + SETTLE) * 20)) + 1
    t = t[:n]
    effort = window(t, t0, 0.3, max(t_close - t0 - 0.6, 0.0), 0.3)
    c = gait_controls(ctx, state, t, xz[:n], heading[:n], (plants[LEFT], plants[RIGHT]), GAITS["skip"], effort)
    end_root = tuple(path.at(np.array([distance]))[0][0])
    lab = label("skip", "locomotion", 0.0, t[-1], direction="forward", count=count, distance_m=distance / s)
    return Segment(c, state.moved(root=end_root), [lab])
