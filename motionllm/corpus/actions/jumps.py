"""Jumps and hops: in place, forward, jumping jacks, hopping on one leg.

The pelvis follows a piecewise quintic (position, velocity and acceleration continuous) through the
phases of each jump: crouch, push-off (heels rise, toes stay planted), a ballistic flight under gravity
(the quintic between take-off and landing is the exact parabola), landing on the forefoot and absorbing.
Airborne feet ride with the pelvis, tuck up, and blend from their take-off to their landing spot.
"""
from __future__ import annotations

import numpy as np

from motionllm.corpus.actions import arms
from motionllm.corpus.actions.common import (
    LEFT, RIGHT, SIDE_SIGN, Ctx, Segment, State, action, apply_arm, label, neutral, side_name,
)
from motionllm.corpus.actions.whole_body import axes
from motionllm.corpus.body import FOOT_PITCH, STAND_REACH
from motionllm.corpus.profiles import bump, keyframes, minjerk, ramp

G = 9.81
PUSH_PITCH = 0.75    # extra ankle pitch at take-off and touch-down (on the balls of the feet)


def quintic_track(t: np.ndarray, knots) -> np.ndarray:
    """Piecewise quintic through knots (time, position, velocity, acceleration); positions may be
    vectors. Constant (first/last knot) outside."""
    times = np.array([k[0] for k in knots], dtype=np.float64)
    p = np.array([np.atleast_1d(k[1]) for k in knots], dtype=np.float64)
    v = np.array([np.broadcast_to(np.asarray(k[2], dtype=np.float64), p.shape[1:]) for k in knots])
    a = np.array([np.broadcast_to(np.asarray(k[3], dtype=np.float64), p.shape[1:]) for k in knots])
    out = np.repeat(p[:1], len(t), axis=0)
    out[t >= times[-1]] = p[-1]
    for i in range(len(knots) - 1):
        h = times[i + 1] - times[i]
        mask = (t >= times[i]) & (t < times[i + 1])
        if not np.any(mask) or h <= 0:
            continue
        # Solve for the cubic, quartic and quintic coefficients from the end conditions.
        c0, c1, c2 = p[i], v[i], a[i] / 2
        rhs = np.stack([p[i + 1] - (c0 + c1 * h + c2 * h * h), v[i + 1] - (c1 + 2 * c2 * h), a[i + 1] - 2 * c2])
        m = np.array([[h ** 3, h ** 4, h ** 5], [3 * h ** 2, 4 * h ** 3, 5 * h ** 4], [6 * h, 12 * h ** 2, 20 * h ** 3]])
        c3, c4, c5 = np.linalg.solve(m, rhs)
        x = (t[mask] - times[i])[:, None]
        out[mask] = c0 + c1 * x + c2 * x ** 2 + c3 * x ** 3 + c4 * x ** 4 + c5 * x ** 5
    return out


def _jump_series(ctx: Ctx, state: State, jumps: list[dict], feet, t_start: float, lead_in: float = 0.45):
    """Controls for a series of jumps.

    Each jump: height (m), shift (3,) pelvis displacement, land (dict side -> toe (3,)), tuck (m).
    `feet` are the jumping feet (both, or one for hopping). Returns controls, times, takeoff/landing times.
    """
    body = ctx.body
    s = body.scale
    leg = min(body.leg(LEFT), body.leg(RIGHT))
    stand = body.stand_height()
    up = body.foot(LEFT) * (np.sin(FOOT_PITCH + PUSH_PITCH) - np.sin(FOOT_PITCH))
    y_air = stand + up + (0.975 - STAND_REACH) * leg   # pelvis height with legs extended on the toes
    push, absorb = 0.28, 0.28
    times, t = [], t_start + lead_in
    plan = []
    for j in jumps:
        v0 = np.sqrt(2 * G * j["height"])
        flight = 2 * v0 / G
        t_to = t + push
        t_land = t_to + flight
        plan.append((t, t_to, t_land, v0, flight))
        t = t_land + absorb
    t_end = t + 0.55
    c, tt = neutral(ctx, state, t_end + 0.25)
    n = len(tt)
    # Vertical pelvis and horizontal drift.
    y_knots = [(t_start, stand, 0.0, 0.0)]
    pos = np.zeros(3)
    h_knots = [(t_start, pos.copy(), 0.0, 0.0)]
    for j, (t_bottom, t_to, t_land, v0, flight) in zip(jumps, plan):
        crouch = j.get("crouch", 0.12 * s)
        if len(y_knots) == 1:
            y_knots.append((t_bottom, stand - crouch, 0.0, 0.0))
            h_knots.append((t_bottom, pos.copy(), 0.0, 0.0))
        shift = np.asarray(j["shift"], dtype=np.float64)
        v_h = 0.7 * shift / flight
        y_knots += [(t_to, y_air, v0, -G), (t_land, y_air, -v0, -G), (t_land + absorb, stand - crouch, 0.0, 0.0)]
        h_knots += [(t_to, pos + 0.15 * shift, v_h, 0.0), (t_land, pos + 0.85 * shift, v_h, 0.0),
                    (t_land + absorb, pos + shift, 0.0, 0.0)]
        pos = pos + shift
    y_knots.append((t_end, stand, 0.0, 0.0))
    h_knots.append((t_end, pos.copy(), 0.0, 0.0))
    pelvis_y = quintic_track(tt, y_knots)[:, 0]
    drift = quintic_track(tt, h_knots)
    base = c.pelvis.copy()
    c.pelvis = base + drift
    c.pelvis[:, 1] = pelvis_y + state.ground
    # Feet: planted between jumps, flying with the pelvis in the air.
    for side in feet:
        toe = c.toe[side, 0].copy()
        toe_track = np.repeat(toe[None], n, axis=0)
        pitch = np.full(n, FOOT_PITCH)
        contact = np.ones(n, dtype=bool)
        for j, (t_bottom, t_to, t_land, v0, flight) in zip(jumps, plan):
            land = np.asarray(j["land"][side], dtype=np.float64)
            after = tt >= t_land
            air = (tt > t_to) & (tt < t_land)
            sa = (tt[air] - t_to) / flight
            m = minjerk(sa)[:, None]
            p_air = c.pelvis[air]
            # Ride with the pelvis relative to its take-off/landing positions, blend, tuck up.
            pel_to = _value_at(tt, c.pelvis, t_to)
            pel_land = _value_at(tt, c.pelvis, t_land)
            toe_air = (1 - m) * (toe + p_air - pel_to) + m * (land + p_air - pel_land)
            toe_air[:, 1] += j.get("tuck", 0.1 * s) * bump(sa)
            toe_track[air] = toe_air
            toe_track[after] = land
            contact[air] = False
            pitch += PUSH_PITCH * (ramp(tt, t_bottom, t_to) - ramp(tt, t_land, t_land + absorb))
            toe = land
        c.toe[side] = toe_track
        c.foot_pitch[side] = pitch
        c.contact[side] = contact
    return c, tt, plan, t_end


def _value_at(t: np.ndarray, values: np.ndarray, when: float) -> np.ndarray:
    return np.array([np.interp(when, t, values[:, k]) for k in range(values.shape[1])])


def _jump_arms(ctx: Ctx, c, t, plan) -> None:
    """Arms swing back in the crouch, up through the take-off, down on landing."""
    for side in (LEFT, RIGHT):
        a = ctx.body.arm(side)
        keys, wrists = [0.0], [c.wrist[side, 0].copy()]
        for k, (t_bottom, t_to, t_land, v0, flight) in enumerate(plan):
            keys += [t_bottom, t_to + 0.5 * flight]
            wrists += [np.array([SIDE_SIGN[side] * 0.1 * a, -0.85 * a, -0.4 * a]),
                       np.array([SIDE_SIGN[side] * 0.1 * a, 0.1 * a, 0.85 * a])]
            if k == len(plan) - 1:  # after the last landing the arms come down in front
                keys.append(t_land + 0.25)
                wrists.append(np.array([SIDE_SIGN[side] * 0.05 * a, -0.75 * a, 0.35 * a]))
        keys.append(t[-1])
        wrists.append(c.wrist[side, 0].copy())
        order = np.argsort(keys, kind="stable")
        c.wrist[side] = keyframes(t, np.array(keys)[order], np.array(wrists)[order])


@action("jump_in_place", "jump", weight=1.0)
def jump_in_place(ctx: Ctx, state: State, budget: float):
    rng, s = ctx.rng, ctx.body.scale
    count = int(rng.integers(1, 4))
    height = rng.uniform(0.12, 0.3) * s
    while count > 0 and 1.3 + count * (0.56 + 2 * np.sqrt(2 * height / G)) > budget:
        count -= 1
    if count == 0:
        return None
    c0, _ = neutral(ctx, state, 0.1)
    jumps = [{"height": height, "shift": np.zeros(3), "land": {sd: c0.toe[sd, 0] for sd in (LEFT, RIGHT)}}
             for _ in range(count)]
    c, t, plan, _ = _jump_series(ctx, state, jumps, (LEFT, RIGHT), 0.1)
    _jump_arms(ctx, c, t, plan)
    return Segment(c, state, [label("jump_in_place", "jump", 0.0, t[-1], direction="up", count=count,
                                    height_m=height / s)])


@action("jump_forward", "jump", weight=1.0)
def jump_forward(ctx: Ctx, state: State, budget: float):
    rng, s = ctx.rng, ctx.body.scale
    count = int(rng.integers(1, 3))
    distance = rng.uniform(0.4, 0.9) * s
    height = rng.uniform(0.15, 0.3) * s
    while count > 0 and 1.3 + count * (0.56 + 2 * np.sqrt(2 * height / G)) > budget:
        count -= 1
    if count == 0:
        return None
    fwd, _ = axes(state)
    c0, _ = neutral(ctx, state, 0.1)
    jumps = []
    for k in range(count):
        shift = distance * (k + 1) * fwd
        jumps.append({"height": height, "shift": distance * fwd,
                      "land": {sd: c0.toe[sd, 0] + shift for sd in (LEFT, RIGHT)}})
    c, t, plan, _ = _jump_series(ctx, state, jumps, (LEFT, RIGHT), 0.1)
    _jump_arms(ctx, c, t, plan)
    end = state.moved(root=(state.root[0] + count * distance * fwd[0], state.root[1] + count * distance * fwd[2]))
    return Segment(c, end, [label("jump_forward", "jump", 0.0, t[-1], direction="forward", count=count,
                                  distance_m=count * distance / s, height_m=height / s)])


@action("jumping_jacks", "exercise", weight=0.8)
def jumping_jacks(ctx: Ctx, state: State, budget: float):
    rng, body = ctx.rng, ctx.body
    s = body.scale
    height = rng.uniform(0.05, 0.09) * s
    per_jump = 0.56 + 2 * np.sqrt(2 * height / G)
    count = int(rng.integers(2, 6))
    while count > 0 and 1.2 + 2 * count * per_jump > budget:
        count -= 1
    if count < 2:
        return None
    c0, _ = neutral(ctx, state, 0.1)
    _, lat = axes(state)
    wide = 0.22 * s
    jumps = []
    for k in range(count):
        out = {sd: c0.toe[sd, 0] + SIDE_SIGN[sd] * wide * lat for sd in (LEFT, RIGHT)}
        back = {sd: c0.toe[sd, 0] for sd in (LEFT, RIGHT)}
        jumps += [{"height": height, "shift": np.zeros(3), "land": out, "crouch": 0.06 * s, "tuck": 0.03 * s},
                  {"height": height, "shift": np.zeros(3), "land": back, "crouch": 0.06 * s, "tuck": 0.03 * s}]
    c, t, plan, _ = _jump_series(ctx, state, jumps, (LEFT, RIGHT), 0.1, lead_in=0.3)
    for side in (LEFT, RIGHT):
        a = body.arm(side)
        overhead = np.array([SIDE_SIGN[side] * 0.35 * a, 0.9 * a, 0.05 * a])
        down = c.wrist[side, 0].copy()
        keys, wrists = [0.0], [down]
        for k in range(count):
            keys += [plan[2 * k][2], plan[2 * k + 1][2]]
            wrists += [overhead, down]
        keys.append(t[-1])
        wrists.append(down)
        c.wrist[side] = keyframes(t, keys, wrists)
        active = keyframes(t, [0.0, 0.3, t[-1] - 0.3, t[-1]], [0, 1, 1, 0])[:, None]
        c.elbow_pole[side] = (1 - active) * c.elbow_pole[side] + active * np.array([0.0, -0.3, -1.0])
    return Segment(c, state, [label("jumping_jacks", "exercise", 0.0, t[-1], count=count)])


@action("hop_one_leg", "jump", weight=0.8)
def hop_one_leg(ctx: Ctx, state: State, budget: float):
    rng, body = ctx.rng, ctx.body
    s = body.scale
    side = int(rng.integers(2))
    other = 1 - side
    count = int(rng.integers(2, 6))
    height = rng.uniform(0.05, 0.1) * s
    forward = rng.random() < 0.4
    step = rng.uniform(0.15, 0.3) * s if forward else 0.0
    per = 0.56 + 2 * np.sqrt(2 * height / G)
    while count > 0 and 2.0 + count * per > budget:
        count -= 1
    if count < 2:
        return None
    fwd, _ = axes(state)
    c0, _ = neutral(ctx, state, 0.1)
    toward = 0.5 * (c0.toe[side, 0] - c0.toe[other, 0])
    jumps = [{"height": height, "shift": step * fwd, "land": {side: c0.toe[side, 0] + (k + 1) * step * fwd},
              "crouch": 0.06 * s, "tuck": 0.04 * s} for k in range(count)]
    c, t, plan, t_end = _jump_series(ctx, state, jumps, (side,), 0.1, lead_in=0.75)
    # Weight over the hopping foot first; the free foot stays up (knee bent, foot behind) meanwhile.
    over = keyframes(t, [0.1, 0.6, t_end - 0.45, t_end], [0, 1, 1, 0])
    c.pelvis[:, [0, 2]] += 0.9 * over[:, None] * toward[[0, 2]]
    lift = keyframes(t, [0.35, 0.75, t_end - 0.5, t_end - 0.1], [0, 1, 1, 0])
    shift_total = count * step * fwd
    progress = keyframes(t, [plan[0][1], plan[-1][2] + 0.3], [0.0, 1.0])
    c.toe[other] = c0.toe[other, 0] + progress[:, None] * shift_total
    c.toe[other, :, 1] += 0.25 * s * lift
    c.toe[other] -= (0.12 * s * lift)[:, None] * fwd
    c.foot_pitch[other] += 0.6 * lift
    c.contact[other] = lift < 0.01
    c.knee_pole[other] = (1 - lift[:, None]) * c.knee_pole[other] + lift[:, None] * np.array([0.1, -0.6, 1.0])
    for arm_side in (LEFT, RIGHT):
        apply_arm(c, arm_side, arms.pose_motion(ctx, arm_side, t, 0.7, t_end - 0.4,
                                                ((0.6, -0.45, 0.2), (0.0, -0.4, -1.0)), 0.5, 0.4))
    end = state.moved(root=(state.root[0] + shift_total[0], state.root[1] + shift_total[2]))
    return Segment(c, end, [label("hop_one_leg", "jump", 0.0, t[-1], side=side_name(side),
                                  direction="forward" if forward else "in_place", count=count)])

