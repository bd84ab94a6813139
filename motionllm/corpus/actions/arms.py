"""Arm gestures: waving, raising, pointing, clapping, reaching, stretching, shrugging, arm circles,
saluting, drinking, phoning, hands on hips, crossing arms, checking a watch, scratching the head,
punches and an overhand throw.

Poses are wrist positions relative to the shoulder in the heading frame, for the LEFT arm (x = outwards)
in units of the arm length, with an elbow pole; `mirror` flips them for the right arm. A gesture is an
`ArmMotion` (keyed wrist/pole plus a blend weight), so the same gesture can be done standing still or
on top of walking.
"""
from __future__ import annotations

import numpy as np

from motionllm.corpus.actions.common import (
    LEFT, RIGHT, SIDE_SIGN, ArmMotion, Ctx, Segment, State, action, add_channel, apply_arm, arm_keys, label,
    neutral, pick_count, side_name,
)
from motionllm.corpus.profiles import keyframes, window

# (wrist x out, y up, z forward) in arm lengths; (pole x out, y up, z forward).
WAVE = ((0.42, 0.48, 0.22), (1.0, -0.6, 0.0))
RAISE = {"up": ((0.10, 0.96, 0.08), (1.0, 0.0, -0.4)),
         "forward": ((0.08, 0.06, 0.96), (0.6, -1.0, 0.0)),
         "side": ((0.96, 0.06, 0.06), (0.0, -0.4, -1.0))}
POINT = {"forward": ((-0.06, 0.10, 0.96), (0.6, -1.0, 0.0)),
         "up": ((0.16, 0.90, 0.32), (1.0, 0.0, -0.3)),
         "side": ((0.93, 0.16, 0.22), (0.0, -0.5, -1.0)),
         "down": ((0.12, -0.55, 0.75), (0.8, 0.5, -0.5))}
REACH = {"forward": ((0.0, -0.04, 0.98), (0.7, -1.0, 0.0)),
         "up": ((0.06, 0.98, 0.12), (1.0, 0.0, -0.3)),
         "side": ((0.98, 0.02, 0.06), (0.0, -0.5, -1.0))}
CLAP_OPEN = ((0.02, -0.30, 0.52), (0.5, -1.0, -0.3))
CLAP_SHUT = ((-0.27, -0.32, 0.55), (0.5, -1.0, -0.3))
STRETCH = {"up": ((-0.08, 0.97, 0.04), (1.0, 0.2, -0.3)), "sides": ((0.97, 0.04, 0.0), (0.0, -0.3, -1.0))}
SHRUG_ARMS = ((0.22, -0.75, 0.35), (1.0, -0.5, -0.6))
SALUTE = ((-0.14, 0.34, 0.26), (1.0, 0.2, 0.4))
DRINK = ((-0.27, 0.14, 0.34), (1.0, -1.0, 0.1))
PHONE = ((-0.16, 0.10, 0.18), (1.0, -1.0, 0.2))
HIPS = ((-0.02, -0.72, 0.02), (1.0, 0.0, -0.4))
CROSSED = ((-0.58, -0.42, 0.36), (0.6, -1.0, 0.0))
WATCH = ((-0.38, -0.30, 0.45), (1.0, -1.0, 0.0))
HEAD_TOP = ((-0.18, 0.46, 0.02), (1.0, 0.3, 0.2))
GUARD = ((-0.22, -0.06, 0.42), (0.3, -1.0, -0.1))
PUNCH = ((-0.22, -0.02, 0.97), (0.3, -1.0, 0.0))
ARMS_OUT_LOW = ((0.70, -0.45, 0.15), (0.0, -0.4, -1.0))
THROW_BACK = ((0.25, 0.40, -0.40), (0.5, -0.2, -1.0))
THROW_RELEASE = ((-0.05, 0.35, 0.85), (0.6, -0.6, -0.3))
THROW_FOLLOW = ((-0.45, -0.55, 0.45), (0.6, -1.0, 0.0))

# Gestures that can be done while walking.
WHILE_WALKING = ("wave", "raise_arm", "talk_on_phone", "point", "salute")


def pose(ctx: Ctx, side: int, spec) -> tuple[np.ndarray, np.ndarray]:
    """Wrist (3,) and pole (3,) of a pose spec for this body and side."""
    (x, y, z), (px, py, pz) = spec
    a = ctx.body.arm(side)
    return np.array([SIDE_SIGN[side] * x * a, y * a, z * a]), np.array([SIDE_SIGN[side] * px, py, pz])


def pose_motion(ctx: Ctx, side: int, t: np.ndarray, t0: float, t1: float, spec, rise: float = 0.5,
                fall: float = 0.55) -> ArmMotion:
    """Hold one pose from t0 to t1 (blending in before t0 and out after t1)."""
    wrist, pole = pose(ctx, side, spec)
    return arm_keys(t, [t0, t1], [wrist, wrist], [pole, pole], rise, fall)


def _wave_motion(ctx: Ctx, side: int, t: np.ndarray, t0: float, t1: float, freq: float) -> ArmMotion:
    wrist, pole = pose(ctx, side, WAVE)
    a = ctx.body.arm(side)
    amp = 0.14 * a * window(t, t0, 0.2, max(t1 - t0 - 0.4, 0.0), 0.2)
    w = np.tile(wrist, (len(t), 1))
    w[:, 0] += SIDE_SIGN[side] * amp * np.sin(2 * np.pi * freq * (t - t0))
    motion = arm_keys(t, [t0, t1], [wrist, wrist], [pole, pole], 0.45, 0.5)
    motion.wrist = w
    return motion


def gesture(name: str, ctx: Ctx, side: int, t: np.ndarray, t0: float, t1: float) -> tuple[ArmMotion, dict]:
    """An arm gesture held/repeated from t0 to t1, for overlaying on another action; returns the motion
    and its label (frames relative to t)."""
    rng = ctx.rng
    if name == "wave":
        freq = rng.uniform(1.6, 2.4)
        count = max(int((t1 - t0) * freq), 1)   # whole waves that fit: the gesture never outlasts t1
        t1 = t0 + count / freq
        return _wave_motion(ctx, side, t, t0, t1, freq), label(
            "wave", "arm", t0 - 0.45, t1 + 0.5, side=side_name(side), count=count)
    if name == "raise_arm":
        return pose_motion(ctx, side, t, t0, t1, RAISE["up"]), label(
            "raise_arm", "arm", t0 - 0.4, t1 + 0.45, side=side_name(side), direction="up")
    if name == "point":
        return pose_motion(ctx, side, t, t0, t1, POINT["forward"]), label(
            "point", "arm", t0 - 0.4, t1 + 0.45, side=side_name(side), direction="forward")
    if name == "talk_on_phone":
        return pose_motion(ctx, side, t, t0, t1, PHONE, rise=0.5, fall=0.5), label(
            "talk_on_phone", "arm", t0 - 0.5, t1 + 0.5, side=side_name(side))
    if name == "salute":
        return pose_motion(ctx, side, t, t0, t1, SALUTE), label(
            "salute", "arm", t0 - 0.4, t1 + 0.45, side=side_name(side))
    raise ValueError(f"no overlay gesture {name!r}")


# --- standing gestures -----------------------------------------------------------------------------

def _sides(rng, both_rate: float = 0.2) -> tuple[tuple[int, ...], str]:
    r = rng.random()
    if r < both_rate:
        return (LEFT, RIGHT), "both"
    side = LEFT if rng.random() < 0.5 else RIGHT
    return (side,), side_name(side)


@action("wave", "arm", weight=1.5)
def wave(ctx: Ctx, state: State, budget: float):
    rng = ctx.rng
    freq = rng.uniform(1.6, 2.4)
    count = pick_count(rng, 2, 5, budget, 1.0 / freq, 1.5)
    if count is None:
        return None
    sides, word = _sides(rng, 0.15)
    t0 = 0.6
    t1 = t0 + count / freq
    c, t = neutral(ctx, state, t1 + 0.8)
    for side in sides:
        apply_arm(c, side, _wave_motion(ctx, side, t, t0, t1, freq))
    return Segment(c, state, [label("wave", "arm", 0.0, t[-1], side=word, count=count)])


def _hold_gesture(ctx: Ctx, state: State, budget: float, spec_by_side, type_: str, hold=(0.6, 1.6),
                  sides=None, word=None, direction=None, extra=None, rise=0.5, fall=0.55, count=None):
    rng = ctx.rng
    hold_time = rng.uniform(*hold)
    duration = 0.15 + rise + hold_time + fall + 0.2
    if duration > budget:
        hold_time -= duration - budget
        if hold_time < hold[0] * 0.5:
            return None
        duration = budget
    t0 = 0.15 + rise
    t1 = t0 + hold_time
    c, t = neutral(ctx, state, duration)
    for side in sides:
        apply_arm(c, side, pose_motion(ctx, side, t, t0, t1, spec_by_side(side), rise, fall))
    if extra is not None:
        extra(c, t, t0, t1)
    return Segment(c, state, [label(type_, "arm", 0.0, t[-1], side=word, direction=direction, count=count)])


@action("raise_arm", "arm", weight=1.5)
def raise_arm(ctx: Ctx, state: State, budget: float):
    sides, word = _sides(ctx.rng, 0.3)
    direction = str(ctx.rng.choice(["up", "up", "forward", "side"]))
    return _hold_gesture(ctx, state, budget, lambda s: RAISE[direction], "raise_arm", (0.5, 1.5), sides, word,
                         direction)


@action("point", "arm", weight=1.0)
def point(ctx: Ctx, state: State, budget: float):
    side = int(ctx.rng.integers(2))
    direction = str(ctx.rng.choice(["forward", "forward", "up", "side", "down"]))

    def look(c, t, t0, t1):
        w = window(t, t0 - 0.4, 0.4, t1 - t0, 0.45)
        if direction == "side":
            c.neck[:, 0] += SIDE_SIGN[side] * 0.6 * w
        elif direction == "up":
            c.neck[:, 1] -= 0.35 * w
        elif direction == "down":
            c.neck[:, 1] += 0.3 * w

    return _hold_gesture(ctx, state, budget, lambda s: POINT[direction], "point", (0.6, 1.5), (side,),
                         side_name(side), direction, look)


@action("reach", "arm", weight=1.0)
def reach(ctx: Ctx, state: State, budget: float):
    side = int(ctx.rng.integers(2))
    direction = str(ctx.rng.choice(["forward", "up", "side"]))

    def lean(c, t, t0, t1):
        w = window(t, t0 - 0.5, 0.5, t1 - t0, 0.55)
        if direction == "forward":
            c.spine[:, 1] += 0.2 * w
            c.spine[:, 0] -= SIDE_SIGN[side] * 0.15 * w
        elif direction == "side":
            c.spine[:, 2] += SIDE_SIGN[side] * 0.15 * w
        else:
            c.shrug[side] += 0.25 * w
            c.foot_pitch += 0.0

    return _hold_gesture(ctx, state, budget, lambda s: REACH[direction], "reach", (0.3, 1.0), (side,),
                         side_name(side), direction, lean)


@action("stretch_arms", "arm", weight=0.8)
def stretch_arms(ctx: Ctx, state: State, budget: float):
    direction = str(ctx.rng.choice(["up", "sides"]))

    def arch(c, t, t0, t1):
        w = window(t, t0 - 0.5, 0.5, t1 - t0, 0.55)
        if direction == "up":
            c.spine[:, 1] -= 0.12 * w
            c.neck[:, 1] -= 0.2 * w
            c.shrug += 0.2 * w
        else:
            c.spine[:, 1] -= 0.05 * w

    return _hold_gesture(ctx, state, budget, lambda s: STRETCH[direction], "stretch_arms", (1.0, 2.0),
                         (LEFT, RIGHT), "both", direction, arch, rise=0.7, fall=0.7)


@action("hands_on_hips", "arm", weight=0.5)
def hands_on_hips(ctx: Ctx, state: State, budget: float):
    return _hold_gesture(ctx, state, budget, lambda s: HIPS, "hands_on_hips", (1.0, 2.5), (LEFT, RIGHT), "both")


@action("cross_arms", "arm", weight=0.5)
def cross_arms(ctx: Ctx, state: State, budget: float):
    def crossed(side):
        (x, y, z), p = CROSSED
        return ((x, y + (0.05 if side == LEFT else -0.03), z + (0.02 if side == LEFT else 0.0)), p)
    return _hold_gesture(ctx, state, budget, crossed, "cross_arms", (1.0, 2.5), (LEFT, RIGHT), "both")


@action("salute", "arm", weight=0.5)
def salute(ctx: Ctx, state: State, budget: float):
    side = RIGHT if ctx.rng.random() < 0.8 else LEFT
    return _hold_gesture(ctx, state, budget, lambda s: SALUTE, "salute", (0.8, 1.6), (side,), side_name(side),
                         rise=0.45, fall=0.5)


@action("talk_on_phone", "arm", weight=0.5)
def talk_on_phone(ctx: Ctx, state: State, budget: float):
    side = int(ctx.rng.integers(2))

    def tilt(c, t, t0, t1):
        c.neck[:, 2] -= SIDE_SIGN[side] * 0.15 * window(t, t0 - 0.5, 0.5, t1 - t0, 0.5)

    return _hold_gesture(ctx, state, budget, lambda s: PHONE, "talk_on_phone", (1.5, 3.0), (side,),
                         side_name(side), extra=tilt)


@action("check_watch", "arm", weight=0.4)
def check_watch(ctx: Ctx, state: State, budget: float):
    side = LEFT if ctx.rng.random() < 0.8 else RIGHT

    def look(c, t, t0, t1):
        w = window(t, t0 - 0.4, 0.45, t1 - t0, 0.5)
        c.neck[:, 1] += 0.45 * w
        c.neck[:, 0] -= SIDE_SIGN[side] * 0.2 * w

    return _hold_gesture(ctx, state, budget, lambda s: WATCH, "check_watch", (0.8, 1.5), (side,), side_name(side),
                         extra=look)


@action("drink", "arm", weight=0.5)
def drink(ctx: Ctx, state: State, budget: float):
    side = int(ctx.rng.integers(2))

    def tip(c, t, t0, t1):
        c.neck[:, 1] -= 0.35 * window(t, t0, 0.3, max(t1 - t0 - 0.6, 0.0), 0.3)

    return _hold_gesture(ctx, state, budget, lambda s: DRINK, "drink", (1.0, 2.0), (side,), side_name(side),
                         extra=tip, rise=0.6, fall=0.6)


@action("scratch_head", "arm", weight=0.4)
def scratch_head(ctx: Ctx, state: State, budget: float):
    side = int(ctx.rng.integers(2))

    def scratch(c, t, t0, t1):
        w = window(t, t0, 0.2, max(t1 - t0 - 0.4, 0.0), 0.2)
        c.wrist[side, :, 2] += 0.03 * w * np.sin(2 * np.pi * 3.0 * (t - t0))
        c.neck[:, 1] += 0.15 * w

    return _hold_gesture(ctx, state, budget, lambda s: HEAD_TOP, "scratch_head", (1.0, 2.0), (side,),
                         side_name(side), extra=scratch)


@action("clap", "arm", weight=1.2)
def clap(ctx: Ctx, state: State, budget: float):
    rng = ctx.rng
    period = rng.uniform(0.4, 0.55)
    count = pick_count(rng, 2, 6, budget, period, 1.5)
    if count is None:
        return None
    t0 = 0.55
    keys = [t0]
    for k in range(count):
        keys += [t0 + k * period + 0.5 * period, t0 + (k + 1) * period]
    c, t = neutral(ctx, state, keys[-1] + 0.75)
    for side in (LEFT, RIGHT):
        open_w, open_p = pose(ctx, side, CLAP_OPEN)
        shut_w, shut_p = pose(ctx, side, CLAP_SHUT)
        wrists = [open_w] + [shut_w, open_w] * count
        poles = [open_p] + [shut_p, open_p] * count
        apply_arm(c, side, arm_keys(t, keys, wrists, poles, 0.45, 0.5, side=side))
    return Segment(c, state, [label("clap", "arm", 0.0, t[-1], side="both", count=count)])


@action("shrug", "arm", weight=0.6)
def shrug(ctx: Ctx, state: State, budget: float):
    rng = ctx.rng
    count = pick_count(rng, 1, 2, budget, 0.9, 1.2)
    if count is None:
        return None
    t0 = 0.5
    c, t = neutral(ctx, state, t0 + count * 0.9 + 0.6)
    keys, values = [0.0], [0.0]
    for k in range(count):
        keys += [t0 + k * 0.9 + 0.25, t0 + k * 0.9 + 0.55, t0 + (k + 1) * 0.9]
        values += [0.3, 0.3, 0.0]
    add_channel(c.shrug[LEFT], t, keys, values)
    add_channel(c.shrug[RIGHT], t, keys, values)
    add_channel(c.neck[:, 2], t, keys, np.array(values) * 0.3 * (1 if rng.random() < 0.5 else -1))
    for side in (LEFT, RIGHT):
        apply_arm(c, side, pose_motion(ctx, side, t, t0 + 0.1, t0 + count * 0.9 - 0.2, SHRUG_ARMS, 0.35, 0.45))
    return Segment(c, state, [label("shrug", "arm", 0.0, t[-1], side="both", count=count)])


@action("arm_circles", "arm", weight=0.6)
def arm_circles(ctx: Ctx, state: State, budget: float):
    rng = ctx.rng
    period = rng.uniform(0.9, 1.3)
    count = pick_count(rng, 2, 4, budget, period, 1.8)
    if count is None:
        return None
    sides, word = _sides(rng, 0.5)
    direction = "forward" if rng.random() < 0.6 else "backward"
    t0 = 0.7
    t1 = t0 + count * period
    c, t = neutral(ctx, state, t1 + 0.9)
    # The straight arm sweeps a circle in a sagittal plane: angle 0 = hanging down. Forward circles go
    # the way of a front-crawl stroke: back at the bottom, up behind, forward over the top.
    angle = 2 * np.pi * count * keyframes(t, [t0, t1], [0.0, 1.0])
    sign = -1.0 if direction == "forward" else 1.0
    for side in sides:
        a = ctx.body.arm(side) * 0.96
        wrist = np.stack([np.full(len(t), SIDE_SIGN[side] * 0.12 * a), -a * np.cos(angle),
                          sign * a * np.sin(angle)], -1)
        pole = np.tile([SIDE_SIGN[side] * 1.0, 0.0, 0.0], (len(t), 1))
        envelope = window(t, t0 - 0.5, 0.5, t1 - t0, 0.6)
        apply_arm(c, side, ArmMotion(wrist, pole, envelope))
    return Segment(c, state, [label("arm_circles", "arm", 0.0, t[-1], side=word, direction=direction, count=count)])


def _punches(ctx: Ctx, state: State, budget: float, type_: str):
    """Guard up, then punches (`jab`: lead hand, small twist; `cross`: rear hand, big twist)."""
    rng = ctx.rng
    side = int(rng.integers(2))
    period = rng.uniform(0.55, 0.7)
    count = pick_count(rng, 1, 3, budget, period, 1.6)
    if count is None:
        return None
    t0 = 0.6
    t1 = t0 + count * period
    c, t = neutral(ctx, state, t1 + 0.8)
    twist = 0.15 if type_ == "jab" else 0.45
    for arm_side in (LEFT, RIGHT):
        apply_arm(c, arm_side, pose_motion(ctx, arm_side, t, t0, t1, GUARD, 0.45, 0.55))
    guard_w, guard_p = pose(ctx, side, GUARD)
    hit_w, hit_p = pose(ctx, side, PUNCH)
    keys, wrists, poles, turn = [t0], [guard_w], [guard_p], [0.0]
    for k in range(count):
        start = t0 + k * period
        keys += [start + 0.22, start + 0.3, start + period]
        wrists += [hit_w, hit_w, guard_w]
        poles += [hit_p, hit_p, guard_p]
        turn += [1.0, 1.0, 0.0]
    punch = arm_keys(t, keys, wrists, poles, 0.0, 0.0, side=side)
    active = (t >= t0) & (t <= t1)
    c.wrist[side, active] = punch.wrist[active]
    c.elbow_pole[side, active] = punch.pole[active]
    turning = keyframes(t, keys, turn)
    c.spine[:, 0] -= SIDE_SIGN[side] * twist * turning   # punching shoulder comes forward
    c.pelvis_rot[:, 0] -= SIDE_SIGN[side] * 0.3 * twist * turning
    c.pelvis[:, 1] -= 0.03 * window(t, t0 - 0.45, 0.45, t1 - t0, 0.55)
    return Segment(c, state, [label(type_, "fight", 0.0, t[-1], side=side_name(side), count=count)])


action("jab", "fight", weight=0.8)(lambda ctx, state, budget: _punches(ctx, state, budget, "jab"))
action("cross", "fight", weight=0.8)(lambda ctx, state, budget: _punches(ctx, state, budget, "cross"))


@action("throw", "fight", weight=0.8)
def throw(ctx: Ctx, state: State, budget: float):
    """Overhand throw: wind up behind the head while turning away, whip forward, follow through."""
    if budget < 2.6:
        return None
    side = int(ctx.rng.integers(2))
    c, t = neutral(ctx, state, 2.6)
    back_w, back_p = pose(ctx, side, THROW_BACK)
    rel_w, rel_p = pose(ctx, side, THROW_RELEASE)
    fol_w, fol_p = pose(ctx, side, THROW_FOLLOW)
    keys = [0.15, 0.75, 0.95, 1.25, 1.45, 1.7, 2.35]
    hang_w, hang_p = c.wrist[side, 0].copy(), c.elbow_pole[side, 0].copy()
    motion = arm_keys(t, keys, [hang_w, back_w, back_w, rel_w, fol_w, fol_w, hang_w],
                      [hang_p, back_p, back_p, rel_p, fol_p, fol_p, hang_p], side=side)
    motion.weight = np.ones(len(t))
    apply_arm(c, side, motion)
    # Other arm points forward during the wind-up (balance), trunk turns away then through.
    other = 1 - side
    apply_arm(c, other, pose_motion(ctx, other, t, 0.8, 1.2, RAISE["forward"], 0.5, 0.6))
    add_channel(c.spine[:, 0], t, [0.2, 0.9, 1.2, 1.45, 1.75, 2.4],
                SIDE_SIGN[side] * np.array([0.0, 0.5, 0.5, -0.35, -0.45, 0.0]))
    add_channel(c.spine[:, 1], t, [0.2, 0.9, 1.2, 1.45, 1.75, 2.4], [0.0, -0.15, -0.15, 0.25, 0.3, 0.0])
    return Segment(c, state, [label("throw", "fight", 0.0, t[-1], side=side_name(side), count=1)])
