"""Whole-body actions done on the spot: squats, lunges, picking something up, bending over, sitting down
and standing up (chair-height hips, no chair), crouching, kneeling, bowing, balancing on one leg and
kicks. Feet stay planted unless the action steps; a foot that leaves the floor is keyed explicitly.
"""
from __future__ import annotations

import numpy as np

from motionllm.corpus.actions import arms
from motionllm.corpus.actions.common import (
    LEFT, RIGHT, SIDE_SIGN, Ctx, Segment, State, action, apply_arm, label, neutral, pick_count, side_name,
)
from motionllm.corpus.body import FOOT_PITCH
from motionllm.corpus.profiles import keyframes, window
from motionllm.corpus.rig import Controls, left_dir, yaw_dir
from motionllm.corpus.steps import Plant, Swing, foot_tracks


def axes(state: State) -> tuple[np.ndarray, np.ndarray]:
    """Forward and left unit vectors (3,) of the state's heading."""
    h = np.array(state.heading)
    return yaw_dir(h), left_dir(h)


def move_pelvis(c: Controls, t: np.ndarray, state: State, keys, forward, down, left=None) -> None:
    """Key the pelvis: forward/left shifts along the heading and a drop, all relative to neutral."""
    fwd, lat = axes(state)
    f = keyframes(t, keys, forward)
    c.pelvis += f[:, None] * fwd
    if left is not None:
        c.pelvis += keyframes(t, keys, left)[:, None] * lat
    c.pelvis[:, 1] -= keyframes(t, keys, down)


def set_foot(c: Controls, t: np.ndarray, side: int, plants: list, swing: Swing = Swing()) -> None:
    c.toe[side], c.foot_yaw[side], c.foot_pitch[side], c.contact[side] = foot_tracks(plants, t, swing)


def home_plant(c: Controls, side: int, t_lift: float = np.inf) -> Plant:
    """The foot's neutral plant (as the canvas has it at frame 0)."""
    return Plant(side, c.toe[side, 0].copy(), float(c.foot_yaw[side, 0]), -np.inf, t_lift)


def key_foot(c: Controls, t: np.ndarray, side: int, keys, offsets, pitches, t_off: float, t_on: float) -> None:
    """Move a foot off the floor along keyed offsets (forward, up, left in the heading frame), from
    its neutral plant; it counts as planted outside [t_off, t_on]."""
    heading = c.heading[0]
    fwd, lat = yaw_dir(np.array(heading)), left_dir(np.array(heading))
    off = keyframes(t, keys, offsets)
    c.toe[side] = c.toe[side, 0] + off[:, :1] * fwd + off[:, 1:2] * np.array([0, 1.0, 0]) + off[:, 2:3] * lat
    c.foot_pitch[side] = keyframes(t, keys, pitches)
    c.contact[side] = (t < t_off) | (t > t_on)


# --- squats and lunges -----------------------------------------------------------------------------

@action("squat", "exercise", weight=1.2)
def squat(ctx: Ctx, state: State, budget: float):
    rng, s = ctx.rng, ctx.body.scale
    period = rng.uniform(1.4, 2.0)
    count = pick_count(rng, 1, 4, budget, period, 0.8)
    if count is None:
        return None
    depth = rng.uniform(0.28, 0.40) * s          # pelvis drop
    c, t = neutral(ctx, state, 0.3 + count * period + 0.4)
    keys, fwd, down, pitch = [0.3], [0.0], [0.0], [0.0]
    for k in range(count):
        t0 = 0.3 + k * period
        keys += [t0 + 0.45 * period, t0 + 0.55 * period, t0 + period]
        fwd += [-0.12 * s, -0.12 * s, 0.0]
        down += [depth, depth, 0.0]
        pitch += [0.55, 0.55, 0.0]
    move_pelvis(c, t, state, keys, fwd, down)
    c.pelvis_rot[:, 1] += 0.5 * keyframes(t, keys, pitch)
    c.spine[:, 1] += 0.5 * keyframes(t, keys, pitch)
    c.neck[:, 1] -= 0.4 * keyframes(t, keys, pitch)
    c.knee_pole[:, :, 0] += 0.25 * keyframes(t, keys, pitch)[None] / 0.55
    arms_style = rng.choice(["forward", "hips", "hang"])
    if arms_style != "hang":
        spec = arms.RAISE["forward"] if arms_style == "forward" else arms.HIPS
        for side in (LEFT, RIGHT):
            apply_arm(c, side, arms.pose_motion(ctx, side, t, 0.3, 0.3 + count * period - 0.1, spec, 0.3, 0.4))
    lab = label("squat", "exercise", 0.0, t[-1], count=count, depth_m=depth / s, arms=str(arms_style))
    return Segment(c, state, [lab])


@action("lunge", "exercise", weight=0.8)
def lunge(ctx: Ctx, state: State, budget: float):
    """Step forward with one leg, lower the back knee towards the floor, push back to standing."""
    rng, s = ctx.rng, ctx.body.scale
    period = rng.uniform(2.0, 2.6)
    count = pick_count(rng, 1, 2, budget, period, 0.6)
    if count is None:
        return None
    side = int(rng.integers(2))
    rear = 1 - side
    length = rng.uniform(0.6, 0.75) * s
    c, t = neutral(ctx, state, 0.3 + count * period + 0.3)
    fwd, _ = axes(state)
    home = home_plant(c, side)
    plants = [home]
    keys, shift, down, heel = [0.3], [0.0], [0.0], [0.0]
    for k in range(count):
        t0 = 0.3 + k * period
        plants[-1].t_lift = t0
        out = Plant(side, home.toe + length * fwd, home.yaw, t0 + 0.45, t0 + period - 0.55)
        back = Plant(side, home.toe.copy(), home.yaw, t0 + period - 0.1)
        plants += [out, back]
        keys += [t0 + 0.45, t0 + 0.95, t0 + period - 0.9, t0 + period - 0.1]
        shift += [0.3 * length, 0.45 * length, 0.45 * length, 0.0]
        down += [0.05 * s, 0.32 * s, 0.32 * s, 0.0]
        heel += [0.3, 0.75, 0.75, 0.0]
    set_foot(c, t, side, plants, Swing(0.06, 0.2, 0.3, 0.1))
    move_pelvis(c, t, state, keys, shift, down)
    c.foot_pitch[rear] += keyframes(t, keys, heel)
    for arm_side in (LEFT, RIGHT):
        apply_arm(c, arm_side, arms.pose_motion(ctx, arm_side, t, 0.35, t[-1] - 0.4, arms.HIPS, 0.3, 0.35))
    lab = label("lunge", "exercise", 0.0, t[-1], side=side_name(side), direction="forward", count=count)
    return Segment(c, state, [lab])


# --- bending ---------------------------------------------------------------------------------------

@action("pick_up", "object", weight=1.0)
def pick_up(ctx: Ctx, state: State, budget: float):
    """Bend down (hips back, knees bent, trunk forward), pick something off the floor, stand up holding it
    in front, then let the arm down."""
    if budget < 4.4:
        return None
    rng, s = ctx.rng, ctx.body.scale
    both = rng.random() < 0.3
    side = int(rng.integers(2))
    c, t = neutral(ctx, state, 4.4)
    fwd, lat = axes(state)
    keys = [0.2, 1.3, 1.7, 2.8, 3.6, 4.2]
    move_pelvis(c, t, state, keys, [0, -0.28 * s, -0.28 * s, 0, 0, 0], [0, 0.45 * s, 0.45 * s, 0, 0, 0])
    bend = keyframes(t, keys, [0, 1.0, 1.0, 0, 0, 0])
    c.pelvis_rot[:, 1] += 0.7 * bend
    c.spine[:, 1] += 0.75 * bend
    c.neck[:, 1] += 0.1 * bend
    c.knee_pole[:, :, 0] += 0.2 * bend[None]
    spot = np.array([state.root[0], state.ground, state.root[1]]) + (0.42 * s) * fwd
    hands = (LEFT, RIGHT) if both else (side,)
    for hand in hands:
        target = spot + (SIDE_SIGN[hand] * (0.1 if both else 0.12) * s) * lat
        target[1] = state.ground + 0.2 * s   # the wrist holding something that lies on the floor
        c.wrist_world = np.zeros((2, len(t), 3)) if c.wrist_world is None else c.wrist_world
        c.wrist_world_w = np.zeros((2, len(t))) if c.wrist_world_w is None else c.wrist_world_w
        c.wrist_world[hand] = target
        c.wrist_world_w[hand] = window(t, 0.5, 0.8, 0.4, 0.7)
        hold = arms.pose(ctx, hand, ((-0.2 if both else -0.15, -0.45, 0.55), (1.0, -1.0, 0.0)))
        motion = arms.arm_keys(t, [2.9, 3.5], [hold[0], hold[0]], [hold[1], hold[1]], 0.8, 0.6)
        apply_arm(c, hand, motion)
    lab = label("pick_up", "object", 0.0, t[-1], side="both" if both else side_name(side))
    return Segment(c, state, [lab])


@action("bend_forward", "exercise", weight=0.6)
def bend_forward(ctx: Ctx, state: State, budget: float):
    """Bend over at the hips with nearly straight legs, arms hanging, and come back up."""
    rng, s = ctx.rng, ctx.body.scale
    hold = rng.uniform(0.4, 1.2)
    if 2.6 + hold > budget:
        return None
    c, t = neutral(ctx, state, 2.6 + hold)
    angle = rng.uniform(1.1, 1.45)
    keys = [0.2, 1.3, 1.3 + hold, 2.4 + hold]
    move_pelvis(c, t, state, keys, [0, -0.12 * s, -0.12 * s, 0], [0, 0.04 * s, 0.04 * s, 0])
    bend = keyframes(t, keys, [0, angle, angle, 0])
    c.pelvis_rot[:, 1] += 0.55 * bend
    c.spine[:, 1] += 0.45 * bend
    c.neck[:, 1] += 0.15 * bend
    lab = label("bend_forward", "exercise", 0.0, t[-1], degrees=float(np.degrees(angle)))
    return Segment(c, state, [lab])


@action("bow", "social", weight=0.6)
def bow(ctx: Ctx, state: State, budget: float):
    rng, s = ctx.rng, ctx.body.scale
    hold = rng.uniform(0.3, 1.0)
    if 2.2 + hold > budget:
        return None
    c, t = neutral(ctx, state, 2.2 + hold)
    angle = rng.uniform(0.45, 0.9)
    keys = [0.2, 1.0, 1.0 + hold, 2.0 + hold]
    bend = keyframes(t, keys, [0, angle, angle, 0])
    move_pelvis(c, t, state, keys, [0, -0.05 * s, -0.05 * s, 0], [0, 0, 0, 0])
    c.pelvis_rot[:, 1] += 0.35 * bend
    c.spine[:, 1] += 0.65 * bend
    c.neck[:, 1] += 0.25 * bend
    hand_on_chest = rng.random() < 0.3
    if hand_on_chest:
        apply_arm(c, RIGHT, arms.pose_motion(ctx, RIGHT, t, keys[1] - 0.2, keys[2], ((-0.5, -0.55, 0.35), (1, -1, 0))))
    lab = label("bow", "social", 0.0, t[-1], degrees=float(np.degrees(angle)), hand_on_chest=hand_on_chest)
    return Segment(c, state, [lab])


# --- sitting ---------------------------------------------------------------------------------------

def sit_pose(ctx: Ctx) -> dict:
    """The seated pose reached by sit_down and left by stand_up (per body, deterministic)."""
    body, s = ctx.body, ctx.body.scale
    return {"back": 0.92 * body.thigh(LEFT), "drop": body.stand_height() - 0.52 * s, "lean": 0.12}


def _sit_motion(ctx: Ctx, state: State, down: bool) -> Segment:
    rng = ctx.rng
    duration = rng.uniform(1.5, 2.0)
    c, t = neutral(ctx, state, duration + 0.5)
    pose = sit_pose(ctx)
    t0, t1 = 0.2, 0.2 + duration
    tm = 0.5 * (t0 + t1)
    seated = lambda a: a if down else 1 - a  # noqa: E731
    keys = [t0, tm, t1] if down else [t0, tm, t1]
    a_keys = [0.0, 0.6, 1.0] if down else [0.0, 0.45, 1.0]
    amount = keyframes(t, keys, [seated(v) for v in a_keys])
    fwd, _ = axes(state)
    c.pelvis += (-pose["back"] * amount)[:, None] * fwd
    c.pelvis[:, 1] -= pose["drop"] * amount
    # Lean forward while the hips travel (most in the middle of the move), slightly forward when seated.
    lean_mid = window(t, t0, 0.45 * duration, 0.1 * duration, 0.45 * duration)
    c.pelvis_rot[:, 1] += 0.35 * lean_mid + pose["lean"] * amount
    c.spine[:, 1] += 0.35 * lean_mid
    for side in (LEFT, RIGHT):
        on_thigh = arms.pose(ctx, side, ((0.02, -0.66, 0.6), (1.0, -0.3, -1.0)))
        w = np.clip(amount, 0, 1)
        c.wrist[side] = (1 - w[:, None]) * c.wrist[side] + w[:, None] * on_thigh[0]
        c.elbow_pole[side] = (1 - w[:, None]) * c.elbow_pole[side] + w[:, None] * on_thigh[1]
    return c, t


@action("sit_down", "posture", weight=0.8, ends="sit")
def sit_down(ctx: Ctx, state: State, budget: float):
    if budget < 2.5:
        return None
    c, t = _sit_motion(ctx, state, down=True)
    return Segment(c, state.moved(posture="sit"), [label("sit_down", "posture", 0.0, t[-1])])


@action("stand_up", "posture", weight=0.8, starts="sit")
def stand_up(ctx: Ctx, state: State, budget: float):
    if budget < 2.5:
        return None
    c, t = _sit_motion(ctx, state, down=False)
    return Segment(c, state.moved(posture="stand"), [label("stand_up", "posture", 0.0, t[-1])])


@action("crouch", "posture", weight=0.7)
def crouch(ctx: Ctx, state: State, budget: float):
    rng, s = ctx.rng, ctx.body.scale
    hold = rng.uniform(0.6, 1.8)
    if 2.4 + hold > budget:
        return None
    c, t = neutral(ctx, state, 2.4 + hold)
    keys = [0.2, 1.1, 1.1 + hold, 2.2 + hold]
    amount = keyframes(t, keys, [0, 1, 1, 0])
    move_pelvis(c, t, state, keys, [0, -0.05 * s, -0.05 * s, 0], [0, 0.46 * s, 0.46 * s, 0])
    c.foot_pitch += 0.45 * amount            # up on the balls of the feet
    c.pelvis_rot[:, 1] += 0.45 * amount
    c.spine[:, 1] += 0.35 * amount
    c.neck[:, 1] -= 0.45 * amount
    c.knee_pole[:, :, 0] += 0.35 * amount[None]
    for side in (LEFT, RIGHT):
        apply_arm(c, side, arms.pose_motion(ctx, side, t, keys[1], keys[2], ((-0.05, -0.55, 0.7), (1, -0.5, -0.5)),
                                            0.8, 0.9))
    return Segment(c, state, [label("crouch", "posture", 0.0, t[-1])])


@action("kneel", "posture", weight=0.6)
def kneel(ctx: Ctx, state: State, budget: float):
    """Go down on one knee (that foot steps back, toes tucked), stay, get back up."""
    rng, body = ctx.rng, ctx.body
    s = body.scale
    hold = rng.uniform(0.8, 2.0)
    if 3.4 + hold > budget:
        return None
    side = int(rng.integers(2))
    c, t = neutral(ctx, state, 3.4 + hold)
    fwd, _ = axes(state)
    home = home_plant(c, side)
    back = 0.78 * s
    t_step, t_land, t_down = 0.3, 1.2, 1.7
    t_up = t_down + hold
    t_lift, t_home = t_up + 0.5, t_up + 1.3
    plants = [Plant(side, home.toe, home.yaw, -np.inf, t_step),
              Plant(side, home.toe - back * fwd, home.yaw, t_land, t_lift),
              Plant(side, home.toe.copy(), home.yaw, t_home)]
    set_foot(c, t, side, plants, Swing(0.05, 0.2, 0.3, 0.0))
    # Rear foot: toes tucked under while kneeling (pitched from late in the step until it lifts again).
    tuck = 1.05
    c.foot_pitch[side] += (tuck - FOOT_PITCH) * keyframes(
        t, [t_step + 0.3, t_land, t_lift - 0.05, t_home - 0.2], [0.0, 1.0, 1.0, 0.0])
    # Knee on the floor below the hip, thigh upright, shin back to the tucked foot.
    ankle_y = body.foot(side) * np.sin(tuck)
    ankle_back = back + body.foot(side) * np.cos(tuck) - body.toe_forward()
    knee_y = 0.075 * s
    shin_run = np.sqrt(body.shin(side) ** 2 - (ankle_y - knee_y) ** 2)
    hip_fwd = -ankle_back + shin_run
    pelvis_fwd = hip_fwd - body.offset("left_hip")[2]
    pelvis_y = knee_y + body.thigh(side) + body.hip_drop()
    drop = body.stand_height() - pelvis_y
    keys = [t_step, t_land, t_down, t_up, t_lift, t_home]
    move_pelvis(c, t, state, keys, [0, 0.75 * pelvis_fwd, pelvis_fwd, pelvis_fwd, 0.75 * pelvis_fwd, 0],
                [0, 0.6 * drop, drop, drop, 0.6 * drop, 0])
    c.spine[:, 1] += 0.1 * keyframes(t, keys, [0, 1, 1, 1, 1, 0])
    lab = label("kneel", "posture", 0.0, t[-1], side=side_name(side))
    return Segment(c, state, [lab])


# --- balance and kicks -----------------------------------------------------------------------------

@action("balance_one_leg", "balance", weight=0.8)
def balance_one_leg(ctx: Ctx, state: State, budget: float):
    rng, body = ctx.rng, ctx.body
    s = body.scale
    hold = rng.uniform(1.2, 3.0)
    if 2.2 + hold > budget:
        hold = budget - 2.2
        if hold < 1.0:
            return None
    stand = int(rng.integers(2))
    lifted = 1 - stand
    c, t = neutral(ctx, state, 2.2 + hold)
    fwd, lat = axes(state)
    t_off, t_on = 0.7, 0.7 + hold + 0.6
    shift = keyframes(t, [0.1, 0.6, t_on + 0.1, t_on + 0.6], [0, 1, 1, 0])
    toward = (c.toe[stand, 0] - c.toe[lifted, 0]) * 0.5
    c.pelvis[:, [0, 2]] += 0.85 * shift[:, None] * toward[[0, 2]]
    knee_up = rng.random() < 0.6
    if knee_up:
        offsets = [[0, 0, 0], [0.18 * s, 0.32 * s, 0], [0.18 * s, 0.32 * s, 0], [0, 0, 0]]
        pitches = [FOOT_PITCH, 0.7, 0.7, FOOT_PITCH]
    else:
        offsets = [[0, 0, 0], [-0.3 * s, 0.3 * s, 0], [-0.3 * s, 0.3 * s, 0], [0, 0, 0]]
        pitches = [FOOT_PITCH, 1.2, 1.2, FOOT_PITCH]
        lifted_amount = keyframes(t, [t_off - 0.1, t_off + 0.4, t_on - 0.4, t_on], [0, 1, 1, 0])[:, None]
        c.knee_pole[lifted] = (1 - lifted_amount) * c.knee_pole[lifted] + lifted_amount * np.array([0.1, -1.0, 0.4])
    key_foot(c, t, lifted, [t_off - 0.1, t_off + 0.4, t_on - 0.4, t_on], offsets, pitches, t_off, t_on)
    for side in (LEFT, RIGHT):
        apply_arm(c, side, arms.pose_motion(ctx, side, t, t_off + 0.2, t_on - 0.2,
                                            ((0.85, -0.2, 0.1), (0.0, -0.3, -1.0)), 0.6, 0.6))
    lab = label("balance_one_leg", "balance", 0.0, t[-1], side=side_name(stand), lifted_leg=side_name(lifted),
                knee="front" if knee_up else "back", seconds=hold)
    return Segment(c, state, [lab])


def _kick(ctx: Ctx, state: State, budget: float, kind: str):
    rng, body = ctx.rng, ctx.body
    s = body.scale
    if budget < 2.6:
        return None
    side = int(rng.integers(2))
    stand = 1 - side
    c, t = neutral(ctx, state, 2.6)
    toward = (c.toe[stand, 0] - c.toe[side, 0]) * 0.5
    shift = keyframes(t, [0.1, 0.5, 1.95, 2.4], [0, 1, 1, 0])
    c.pelvis[:, [0, 2]] += 0.8 * shift[:, None] * toward[[0, 2]]
    leg = body.leg(side)
    hip_h = body.stand_height() - body.hip_drop()
    keys = [0.5, 0.85, 1.1, 1.3, 1.6, 1.95]
    if kind == "front":
        height = hip_h * rng.uniform(0.55, 0.8)
        ext = [0.72 * leg, height, 0.0]
        offsets = [[0, 0, 0], [0.25 * s, 0.38 * s, 0], ext, ext, [0.25 * s, 0.38 * s, 0], [0, 0, 0]]
        pitches = [FOOT_PITCH, 0.9, 0.35, 0.35, 0.9, FOOT_PITCH]
        c.spine[:, 1] -= 0.2 * keyframes(t, keys, [0, 0.5, 1, 1, 0.5, 0])
    else:
        height = hip_h * rng.uniform(0.6, 0.85)
        ext = [0.05, height, SIDE_SIGN[side] * 0.72 * leg]
        offsets = [[0, 0, 0], [0.15 * s, 0.38 * s, SIDE_SIGN[side] * 0.05], ext, ext,
                   [0.15 * s, 0.38 * s, SIDE_SIGN[side] * 0.05], [0, 0, 0]]
        pitches = [FOOT_PITCH, 0.6, 0.15, 0.15, 0.6, FOOT_PITCH]
        lean = keyframes(t, keys, [0, 0.4, 1, 1, 0.4, 0])
        c.spine[:, 2] -= SIDE_SIGN[side] * 0.45 * lean
        c.pelvis_rot[:, 2] -= SIDE_SIGN[side] * 0.35 * lean
    key_foot(c, t, side, keys, offsets, pitches, keys[0] + 0.05, keys[-1] - 0.05)
    for arm_side in (LEFT, RIGHT):
        apply_arm(c, arm_side, arms.pose_motion(ctx, arm_side, t, 0.6, 1.9, arms.GUARD, 0.4, 0.5))
    lab = label(f"kick_{kind}", "fight", 0.0, t[-1], side=side_name(side),
                direction="forward" if kind == "front" else side_name(side), count=1)
    return Segment(c, state, [lab])


action("kick_front", "fight", weight=0.8)(lambda ctx, state, budget: _kick(ctx, state, budget, "front"))
action("kick_side", "fight", weight=0.6)(lambda ctx, state, budget: _kick(ctx, state, budget, "side"))
