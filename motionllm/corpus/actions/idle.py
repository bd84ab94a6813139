"""Idle variations and dance steps done on the spot: standing, shifting weight, looking around,
stretching the neck, swaying and step-touch (the spin is a stepping turn, in `locomotion`)."""
from __future__ import annotations

import numpy as np

from motionllm.corpus.actions import arms
from motionllm.corpus.actions.common import (
    LEFT, RIGHT, SIDE_SIGN, Ctx, Segment, State, action, apply_arm, label, neutral, pick_count, side_name,
    timeline,
)
from motionllm.corpus.actions.locomotion import GAITS, gait_controls
from motionllm.corpus.actions.whole_body import axes
from motionllm.corpus.profiles import keyframes, smooth_noise, window
from motionllm.corpus.rig import stance_toe
from motionllm.corpus.steps import Plant


@action("stand_idle", "idle", weight=0.6)
def stand_idle(ctx: Ctx, state: State, budget: float):
    """Standing: breathing, a slow sway, small head movements."""
    rng = ctx.rng
    duration = min(rng.uniform(1.5, 3.5), budget)
    if duration < 1.0:
        return None
    c, t = neutral(ctx, state, duration)
    env = window(t, 0.0, 0.4, max(t[-1] - 0.8, 0.0), 0.4)
    sway = smooth_noise(rng, len(t), 5, 12.0, [0.015, 0.01, 0.03, 0.08, 0.05]) * env[:, None]
    fwd, lat = axes(state)
    c.pelvis += sway[:, :1] * lat + sway[:, 1:2] * fwd
    c.spine[:, 1] += sway[:, 2]
    c.neck[:, :2] += sway[:, 3:5]
    c.shrug += 0.03 * np.sin(2 * np.pi * 0.3 * t) * env  # breathing
    return Segment(c, state, [label("stand_idle", "idle", 0.0, t[-1])])


@action("shift_weight", "idle", weight=0.6)
def shift_weight(ctx: Ctx, state: State, budget: float):
    """Weight onto one leg (the other knee relaxes), back, maybe to the other side."""
    rng, s = ctx.rng, ctx.body.scale
    period = rng.uniform(1.4, 2.0)
    count = pick_count(rng, 1, 3, budget, period, 0.6)
    if count is None:
        return None
    first = int(rng.integers(2))
    c, t = neutral(ctx, state, 0.3 + count * period + 0.3)
    _, lat = axes(state)
    keys, amount = [0.3], [0.0]
    for k in range(count):
        side = (first + k) % 2
        t0 = 0.3 + k * period
        keys += [t0 + 0.4 * period, t0 + 0.6 * period, t0 + period]
        amount += [SIDE_SIGN[side], SIDE_SIGN[side], 0.0]
    a = keyframes(t, keys, amount)
    c.pelvis += (0.06 * s * a)[:, None] * lat
    c.pelvis[:, 1] -= 0.015 * s * np.abs(a)
    c.pelvis_rot[:, 2] -= 0.08 * a          # the hip of the free leg drops
    c.spine[:, 2] += 0.1 * a
    lab = label("shift_weight", "idle", 0.0, t[-1], side=side_name(first), count=count)
    return Segment(c, state, [lab])


@action("look_around", "idle", weight=0.6)
def look_around(ctx: Ctx, state: State, budget: float):
    rng = ctx.rng
    per = rng.uniform(0.9, 1.3)
    count = pick_count(rng, 2, 4, budget, per, 0.8)
    if count is None:
        return None
    first = int(rng.integers(2))
    c, t = neutral(ctx, state, 0.4 + count * per + 0.5)
    keys, yaw = [0.3], [0.0]
    for k in range(count):
        side = (first + k) % 2
        keys += [0.3 + (k + 0.6) * per, 0.3 + (k + 1) * per]
        yaw += [SIDE_SIGN[side] * rng.uniform(0.7, 1.1)] * 2
    keys.append(t[-1] - 0.1)
    yaw.append(0.0)
    y = keyframes(t, keys, yaw)
    c.neck[:, 0] += 0.7 * y
    c.spine[:, 0] += 0.3 * y
    c.neck[:, 1] += keyframes(t, keys, [0.0] + [rng.uniform(-0.15, 0.1) for _ in keys[1:-1]] + [0.0])
    lab = label("look_around", "idle", 0.0, t[-1], side=side_name(first), count=count)
    return Segment(c, state, [lab])


@action("stretch_neck", "idle", weight=0.5)
def stretch_neck(ctx: Ctx, state: State, budget: float):
    rng = ctx.rng
    per = rng.uniform(1.2, 1.6)
    count = pick_count(rng, 2, 4, budget, per, 0.6)
    if count is None:
        return None
    first = int(rng.integers(2))
    c, t = neutral(ctx, state, 0.3 + count * per + 0.3)
    keys, tilt = [0.3], [0.0]
    for k in range(count):
        side = (first + k) % 2
        keys += [0.3 + (k + 0.5) * per, 0.3 + (k + 1) * per]
        tilt += [SIDE_SIGN[side] * rng.uniform(0.45, 0.6), 0.0]
    c.neck[:, 2] += keyframes(t, keys, tilt)
    hand = rng.random() < 0.3
    if hand:  # gently pull with the hand over the head on the first side
        apply_arm(c, first, arms.pose_motion(ctx, first, t, keys[1] - 0.2, keys[1] + 0.2, arms.HEAD_TOP, 0.4, 0.4))
    lab = label("stretch_neck", "idle", 0.0, t[-1], side=side_name(first), count=count)
    return Segment(c, state, [lab])


@action("sway", "dance", weight=0.7)
def sway(ctx: Ctx, state: State, budget: float):
    """Swaying the hips from side to side, knees soft, arms loose or raised overhead."""
    rng, s = ctx.rng, ctx.body.scale
    per = rng.uniform(1.0, 1.5)
    count = pick_count(rng, 2, 5, budget, per, 0.8)
    if count is None:
        return None
    c, t = neutral(ctx, state, 0.4 + count * per + 0.4)
    _, lat = axes(state)
    env = window(t, 0.2, 0.4, count * per - 0.4, 0.5)
    phase = 2 * np.pi * (t - 0.2) / per
    side_shift = np.sin(phase) * env
    c.pelvis += (0.07 * s * side_shift)[:, None] * lat
    c.pelvis[:, 1] -= 0.03 * s * env * (1 - np.abs(side_shift))
    c.pelvis_rot[:, 2] -= 0.1 * side_shift
    c.spine[:, 2] += 0.2 * side_shift
    c.neck[:, 2] -= 0.1 * side_shift
    raised = rng.random() < 0.5
    for side in (LEFT, RIGHT):
        a = ctx.body.arm(side)
        if raised:
            wrist = np.stack([SIDE_SIGN[side] * 0.3 * a + 0.25 * a * side_shift, np.full(len(t), 0.85 * a),
                              np.full(len(t), 0.1 * a)], -1)
            pole = np.tile([SIDE_SIGN[side], 0.0, -0.3], (len(t), 1))
        else:
            wrist = np.stack([SIDE_SIGN[side] * 0.15 * a + 0.2 * a * side_shift, np.full(len(t), -0.6 * a),
                              np.full(len(t), 0.35 * a)], -1)
            pole = np.tile([SIDE_SIGN[side], -0.5, -0.5], (len(t), 1))
        apply_arm(c, side, arms.ArmMotion(wrist, pole, window(t, 0.1, 0.5, count * per - 0.4, 0.5)))
    lab = label("sway", "dance", 0.0, t[-1], count=count, arms="raised" if raised else "low")
    return Segment(c, state, [lab])


@action("step_touch", "dance", weight=0.6)
def step_touch(ctx: Ctx, state: State, budget: float):
    """Dance step: one foot steps to the side, the other closes to tap beside it; then back the other way."""
    rng, body = ctx.rng, ctx.body
    s = body.scale
    per = rng.uniform(0.9, 1.2)                 # one step-touch
    count = pick_count(rng, 2, 6, budget, per, 0.9)
    if count is None:
        return None
    first = int(rng.integers(2))
    width = rng.uniform(0.3, 0.42) * s
    _, lat = axes(state)
    t0 = 0.3
    homes = {sd: stance_toe(body, np.array(state.root), np.array(state.heading), sd, state.ground, ctx.style)
             for sd in (LEFT, RIGHT)}
    yaw = {sd: state.heading + SIDE_SIGN[sd] * ctx.style.get("toe_out", 0.12) for sd in (LEFT, RIGHT)}
    plants = {sd: [Plant(sd, homes[sd], yaw[sd], -np.inf)] for sd in (LEFT, RIGHT)}
    offset = 0.0
    pelvis_keys, pelvis_vals = [0.0], [0.0]

    def step_together(lead: int, t_k: float, new_offset: float) -> None:
        """Lead foot steps to its new spot, the other closes beside it."""
        trail = 1 - lead
        plants[lead][-1].t_lift = t_k
        plants[lead].append(Plant(lead, homes[lead] + new_offset * lat, yaw[lead], t_k + 0.3))
        plants[trail][-1].t_lift = t_k + 0.45
        plants[trail].append(Plant(trail, homes[trail] + new_offset * lat, yaw[trail], t_k + 0.75))
        pelvis_keys.extend([t_k + 0.35, t_k + 0.8])
        pelvis_vals.extend([0.5 * (offset + new_offset), new_offset])

    for k in range(count):
        lead = (first + k) % 2
        new_offset = offset + SIDE_SIGN[lead] * width
        step_together(lead, t0 + k * per, new_offset)
        offset = new_offset
    t_back = t0 + count * per
    if abs(offset) > 1e-6:  # an odd count ends off-centre: one more step back
        lead = LEFT if offset < 0 else RIGHT
        step_together(lead, t_back, 0.0)
        t_back += per
    n_time = t_back + 0.5
    t = timeline(n_time)
    xz = np.array(state.root)[None, :] + keyframes(t, pelvis_keys, pelvis_vals)[:, None] * lat[[0, 2]][None, :]
    heading = np.full(len(t), state.heading)
    c = gait_controls(ctx, state, t, xz, heading, (plants[LEFT], plants[RIGHT]), GAITS["side"],
                      window(t, 0.2, 0.3, n_time - 0.9, 0.3))
    bounce = window(t, 0.2, 0.3, n_time - 0.9, 0.3)
    for side in (LEFT, RIGHT):
        a = body.arm(side)
        c.wrist[side, :, 1] += 0.35 * a * bounce
        c.wrist[side, :, 2] += 0.3 * a * bounce
    lab = label("step_touch", "dance", 0.0, t[-1], side=side_name(first), count=count)
    return Segment(c, state, [lab])
