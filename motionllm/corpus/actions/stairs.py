"""Climbing up or down a straight flight of stairs, one foot per step, ending on the landing.

The ground is then not flat: the segment carries a `terrain` description (see `corpus.terrain`) and the
feet are planted on the treads at their heights; checks measure foot heights against it.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.ndimage import gaussian_filter1d

from motionllm.corpus.actions.common import (
    LEFT, RIGHT, SIDE_SIGN, Ctx, Segment, State, action, label, timeline,
)
from motionllm.corpus.actions.locomotion import GAITS, SETTLE, gait_controls
from motionllm.corpus.actions.whole_body import axes
from motionllm.corpus.profiles import window
from motionllm.corpus.rig import stance_toe
from motionllm.corpus.steps import Plant, Swing, foot_tracks
from motionllm.corpus.terrain import ground_height




def _stairs(ctx: Ctx, state: State, budget: float, up: bool):
    rng, body = ctx.rng, ctx.body
    period = rng.uniform(0.6, 0.75)
    count = int(rng.integers(3, 7))
    while count >= 3 and 0.65 + (count + 1) * period + 0.7 * period + SETTLE > budget:
        count -= 1
    if count < 3:
        return None
    riser, tread = rng.uniform(0.13, 0.18), rng.uniform(0.27, 0.32)
    fwd, lat = axes(state)
    root = np.array([state.root[0], 0.0, state.root[1]])
    origin = root + (body.toe_forward() + rng.uniform(0.08, 0.15)) * fwd
    terrain = {"type": "stairs", "direction": "up" if up else "down", "origin": [origin[0], origin[2]],
               "forward": [fwd[0], fwd[2]], "tread": tread, "riser": riser if up else -riser, "count": count,
               "base": state.ground}
    first = int(rng.integers(2))
    yaw = {sd: state.heading + SIDE_SIGN[sd] * ctx.style.get("toe_out", 0.12) for sd in (LEFT, RIGHT)}
    homes = {sd: stance_toe(body, np.array(state.root), np.array(state.heading), sd, state.ground, ctx.style)
             for sd in (LEFT, RIGHT)}
    plants = {sd: [Plant(sd, homes[sd], yaw[sd], -np.inf)] for sd in (LEFT, RIGHT)}
    half = 0.5 * body.hip_width() + 0.03
    t0 = 0.55
    swing_time = 0.7 * period
    toe_on_tread = 0.72 if up else 0.8
    last_along = (count - 1 + toe_on_tread) * tread
    end_root = origin + (last_along - body.toe_forward()) * fwd
    for k in range(1, count + 2):
        side = first if k % 2 == 1 else 1 - first
        step = min(k, count)
        along = (step - 1 + toe_on_tread) * tread
        toe = origin + along * fwd + SIDE_SIGN[side] * half * lat
        if k >= count:  # the last two steps end in the ordinary standing stance on the landing
            toe = stance_toe(body, end_root[[0, 2]], np.array(state.heading), side, 0.0, ctx.style)
        toe[1] = float(ground_height(terrain, toe[[0, 2]]))
        t_lift = t0 + (k - 1) * period
        plants[side][-1].t_lift = t_lift
        plants[side].append(Plant(side, toe, yaw[side], t_lift + swing_time))
    t_end = t0 + count * period + swing_time + SETTLE
    t = timeline(t_end)
    if t[-1] > budget:
        return None
    gait = GAITS["stairs"]
    swing = (Swing(0.07, 0.3, 0.35, 0.05, rise_early=1.8, lift_first=0.2) if up else
             Swing(0.05, 0.15, 0.3, 0.0, drop_late=0.45))
    gait = replace(gait, swing=swing)
    # Pelvis: follows the feet forward, rises/falls with the treads (legs' reach lowers it where needed).

    toes = [foot_tracks(plants[sd], t, swing)[0] for sd in (LEFT, RIGHT)]
    mid = 0.5 * (toes[0] + toes[1]) - body.toe_forward() * fwd
    xz = gaussian_filter1d(mid[:, [0, 2]], 3.0, axis=0, mode="nearest")
    heading = np.full(len(t), state.heading)
    effort = window(t, t0, 0.3, max(t_end - t0 - 0.9, 0.0), 0.3)
    c = gait_controls(ctx, state, t, xz, heading, (plants[LEFT], plants[RIGHT]), gait, effort)
    high = np.maximum(toes[0][:, 1], toes[1][:, 1]) if up else np.minimum(toes[0][:, 1], toes[1][:, 1])
    c.pelvis[:, 1] = gaussian_filter1d(high, 3.0, mode="nearest") + body.stand_height()
    c.spine[:, 1] += (0.1 if up else 0.05) * effort
    c.neck[:, 1] += 0.2 * effort  # watching the steps
    end_ground = state.ground + (riser if up else -riser) * count
    end = state.moved(root=(float(end_root[0]), float(end_root[2])), ground=end_ground)
    lab = label("climb_stairs" if up else "descend_stairs", "locomotion", 0.0, t[-1], direction="up" if up else "down",
                count=count, riser_m=riser / body.scale, tread_m=tread / body.scale)
    return Segment(c, end, [lab], terrain=terrain)


action("climb_stairs", "locomotion", weight=0.7)(lambda ctx, state, budget: _stairs(ctx, state, budget, True))
action("descend_stairs", "locomotion", weight=0.5)(lambda ctx, state, budget: _stairs(ctx, state, budget, False))
