"""Footstep planning: where and when each foot is planted, and the swing between plants.

A foot is either planted (toe joint fixed in world coordinates, foot flat, heel rising over the last part
of the stance) or swinging from one plant to the next along a lifted arc (min-jerk horizontally, a C2
bump vertically, so touch-down and lift-off have no velocity jumps). Locomotion of any kind (walking,
running, side steps, turning on the spot, stairs) is a pelvis path plus a list of plants; the plants are
put where the pelvis will be at the middle of their stance, so the legs stay under the body.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from motionllm.corpus.body import FOOT_PITCH, LEFT, RIGHT, SIDE_SIGN, Body
from motionllm.corpus.profiles import bump, keyframes, minjerk, minjerk_integral, ramp, wrap_angle
from motionllm.corpus.rig import left_dir, yaw_dir


@dataclass
class Plant:
    """One stance of one foot: toe position (3,), foot yaw, planted from t_land to t_lift (seconds)."""

    side: int
    toe: np.ndarray
    yaw: float
    t_land: float
    t_lift: float = np.inf


@dataclass
class Swing:
    """How a foot travels between plants."""

    height: float = 0.08         # toe clearance at mid-swing (m)
    heel_raise: float = 0.45     # extra ankle pitch (rad) reached at lift-off (heel up, toe planted)
    heel_time: float = 0.35      # fraction of the stance over which the heel rises
    toe_up: float = 0.15         # pitch reduction (toe up) late in the swing, before touch-down
    rise_early: float = 1.0      # >1: vertical change happens early in the swing (stepping up)
    drop_late: float = 0.0       # >0: vertical change happens late (stepping down)
    lift_first: float = 0.0      # >0: the foot rises this fraction of the swing before moving on (stairs)


def foot_tracks(plants: list[Plant], times: np.ndarray, swing: Swing):
    """Toe position (T, 3), yaw (T,), pitch (T,), contact (T,) of one foot from its plants (in order)."""
    n = len(times)
    toe = np.zeros((n, 3))
    yaw = np.zeros(n)
    pitch = np.full(n, FOOT_PITCH)
    contact = np.zeros(n, dtype=bool)
    for k, plant in enumerate(plants):
        stance = (times >= plant.t_land) & (times <= plant.t_lift)
        if k == 0:
            stance |= times < plant.t_land
        toe[stance] = plant.toe
        yaw[stance] = plant.yaw
        contact[stance] = True
        if k + 1 < len(plants):
            nxt = plants[k + 1]
            if np.isfinite(plant.t_land):
                heel = swing.heel_time * max(plant.t_lift - plant.t_land, 0.2)
            else:  # the first stance: the heel may not start rising before the clip does
                heel = min(0.25, max(plant.t_lift - times[0] - 0.05, 0.05))
            t_heel = times[stance]
            pitch[stance] = FOOT_PITCH + swing.heel_raise * ramp(t_heel, plant.t_lift - heel, plant.t_lift)
            flight = (times > plant.t_lift) & (times < nxt.t_land)
            s = (times[flight] - plant.t_lift) / (nxt.t_land - plant.t_lift)
            m = minjerk((s - swing.lift_first) / (1 - swing.lift_first))[:, None]
            toe[flight] = plant.toe + (nxt.toe - plant.toe) * m
            dy = nxt.toe[1] - plant.toe[1]
            if swing.drop_late > 0 and dy < 0:
                vertical = minjerk((s - swing.drop_late) / (1 - swing.drop_late))
            else:
                vertical = minjerk(s * swing.rise_early)
            toe[flight, 1] = plant.toe[1] + dy * vertical + swing.height * bump(s)
            turn = wrap_angle(nxt.yaw - plant.yaw)
            yaw[flight] = plant.yaw + turn * minjerk(s)
            pitch[flight] = keyframes(s, [0.0, 0.7, 1.0],
                                      [FOOT_PITCH + swing.heel_raise, FOOT_PITCH - swing.toe_up, FOOT_PITCH])
        elif np.isfinite(plant.t_lift):
            raise ValueError("the last plant of a foot must last to the end")
    return toe, yaw, pitch, contact


def plants_along_path(body: Body, times: np.ndarray, pelvis_xz: np.ndarray, heading: np.ndarray,
                      first_swing: float, step_period: float, duty: float, first_side: int,
                      start_toes: tuple, ground: Callable[[np.ndarray], float], style: dict,
                      width_scale: float = 1.0, t_end_path: float | None = None,
                      toe_out: float | None = None, max_steps: int = 60, start_duty: float | None = None,
                      start_period: float | None = None, effort: np.ndarray | None = None,
                      ) -> tuple[list[Plant], list[Plant], float]:
    """Alternating plants for a pelvis path sampled at `times` (pelvis_xz (T, 2), heading (T,)).

    Foot `first_side` lifts at `first_swing`, the other foot one `step_period` later, and so on; each
    swing lasts (1 - duty) of a two-step cycle. A foot lands where the pelvis will be at the middle of its
    next stance (offset sideways to its own half of the stance). Steps continue after the path has
    stopped until both feet stand side by side. Runs start and stop with walking-like steps: with
    `effort` (T,) in 0..1, duty and step period blend from `start_duty`/`start_period` at effort 0 to
    `duty`/`step_period` at effort 1. Returns left plants, right plants and the time the last foot lands.
    """
    start_duty = duty if start_duty is None else start_duty
    start_period = step_period if start_period is None else start_period

    def timing(t):
        e = 1.0 if effort is None else float(np.interp(t, times, effort))
        period = start_period + (step_period - start_period) * e
        d = start_duty + (duty - start_duty) * e
        return period, (1 - d) * 2 * period, d * 2 * period

    t_end_path = times[-1] if t_end_path is None else t_end_path
    toe_out = style.get("toe_out", 0.12) if toe_out is None else toe_out
    half_width = (0.5 * body.hip_width() + 0.035) * width_scale * style.get("stance", 1.0)

    def at(t):
        i = np.clip(t * (len(times) - 1) / times[-1] if times[-1] > 0 else 0, 0, len(times) - 1)
        i0 = int(np.floor(i))
        i1 = min(i0 + 1, len(times) - 1)
        w = i - i0
        xz = (1 - w) * pelvis_xz[i0] + w * pelvis_xz[i1]
        yaw = heading[i0] + w * wrap_angle(heading[i1] - heading[i0])
        return xz, yaw

    def target(side, t):
        xz, yaw = at(min(t, t_end_path))
        lateral, forward = left_dir(np.array(yaw)), yaw_dir(np.array(yaw))
        # Once the path has ended, feet close to the ordinary standing stance.
        width = half_width if t < t_end_path else half_width / width_scale
        pos = np.array([xz[0], 0.0, xz[1]]) + SIDE_SIGN[side] * width * lateral + body.toe_forward() * forward
        pos[1] = ground(pos[[0, 2]])
        return pos, float(yaw + SIDE_SIGN[side] * toe_out)

    plants = {LEFT: [Plant(LEFT, start_toes[LEFT][0], start_toes[LEFT][1], -np.inf)],
              RIGHT: [Plant(RIGHT, start_toes[RIGHT][0], start_toes[RIGHT][1], -np.inf)]}
    side, t_lift, done = first_side, first_swing, {LEFT: False, RIGHT: False}
    last_land = 0.0
    for _ in range(max_steps):
        period, swing_time, stance_time = timing(t_lift)
        t_land = t_lift + swing_time
        pos, yaw = target(side, t_land + 0.5 * stance_time)
        current = plants[side][-1]
        settled = t_land >= t_end_path
        close_enough = np.linalg.norm(pos - current.toe) < 0.03 and abs(wrap_angle(yaw - current.yaw)) < 0.06
        if settled and close_enough:
            done[side] = True
        else:
            done[side] = False
            current.t_lift = t_lift
            plants[side].append(Plant(side, pos, yaw, t_land))
            last_land = t_land
        if done[LEFT] and done[RIGHT]:
            break
        side, t_lift = 1 - side, t_lift + period
    # The last plants are exactly the standing stance at the end of the path (the planner stops within
    # a few centimetres of it; moving the final landing spot there changes no stance, only a swing).
    for foot in (LEFT, RIGHT):
        pos, yaw = target(foot, np.inf)
        if len(plants[foot]) > 1:
            plants[foot][-1].toe, plants[foot][-1].yaw = pos, yaw
    return plants[LEFT], plants[RIGHT], last_land


def travel(times: np.ndarray, t0: float, distance: float, speed: float, accel_time: float) -> tuple[np.ndarray, float]:
    """Distance along a path (T,): smooth start at t0, cruise at `speed`, smooth stop exactly at
    `distance`. The speed rises and falls with min-jerk ramps of `accel_time` (shortened for short
    distances). Returns the distances and the time the motion ends."""
    accel_time = max(min(accel_time, distance / max(speed, 1e-6)), 1e-3)
    cruise = max(distance / speed - accel_time, 0.0)
    speed = distance / (accel_time + cruise)
    t_end = t0 + 2 * accel_time + cruise
    a = accel_time
    s = speed * a * (minjerk_integral((times - t0) / a) - minjerk_integral((times - t0 - a - cruise) / a))
    return s, t_end


def support_sway(toe_l: np.ndarray, toe_r: np.ndarray, contact_l: np.ndarray, contact_r: np.ndarray) -> np.ndarray:
    """Smooth support point (T, 3): the planted feet weighted by how firmly they are planted."""
    from scipy.ndimage import gaussian_filter1d

    w = np.stack([contact_l, contact_r]).astype(np.float64)
    w = gaussian_filter1d(w, 2.0, axis=1, mode="nearest") + 1e-3
    return (w[0, :, None] * toe_l + w[1, :, None] * toe_r) / (w[0] + w[1])[:, None]
