"""Structured labels for real mocap clips: what the dataset's own label says, and what is measured.

A real clip's label is a content ("walk-turn-left", "wave-right-hand") and a style ("exhausted"), or a CMU
action folder ("basketball_signal"). It becomes one action label in the corpus's format (type, category,
side, direction, speed, count, frames, params) so that captions, Q&A and evaluation treat real and generated
clips alike. What the dataset does not say is measured from the canonical joints (Y up, facing +Z at frame
0, the person's left +X), and only where that is reliable:

- speed class of a walk/jog/run from the cruise speed of the pelvis (the corpus's speed bands);
- which hand a one-handed gesture uses ("bye", "guide", "respond"): the wrist that rises and moves more;
- how far a walking turn goes, and which way, from the change of facing (a walk that turns more than
  90 degrees in all is a walk_turn).

Counts (how many waves, steps) are not measured: a wrong number is worse than none.
"""
from __future__ import annotations

import numpy as np

from motionllm.motion.skeleton import FPS, JOINT_INDEX, facing_directions

# Bandai-Namco styles -> the `manner` a caption says ("normal" says nothing). Set 1's "chimpira" is a
# Japanese word for a street thug.
MANNER_OF_STYLE = {
    "active": "active", "angry": "angry", "childish": "childish", "chimpira": "thug", "elderly": "elderly",
    "exhausted": "exhausted", "feminine": "feminine", "giant": "giant", "happy": "happy",
    "masculine": "masculine", "masculinity": "masculine", "musical": "musical", "normal": None,
    "not-confident": "not_confident", "old": "old", "proud": "proud", "sad": "sad", "tired": "tired",
    "youthful": "youthful",
}

# Bandai-Namco content -> (action type, category, side, direction). side "measure": the hand is measured.
BANDAI_CONTENTS = {
    "walk": ("walk", "locomotion", None, "forward"),
    "walk-back": ("walk_backward", "locomotion", None, "backward"),
    "walk-left": ("walk_diagonal", "locomotion", None, "left"),
    "walk-right": ("walk_diagonal", "locomotion", None, "right"),
    "walk-turn-left": ("walk_turn", "locomotion", None, "left"),
    "walk-turn-right": ("walk_turn", "locomotion", None, "right"),
    "run": ("run", "locomotion", None, "forward"),
    "dash": ("run", "locomotion", None, "forward"),  # fast: SPEED_OF_CONTENT
    "bow": ("bow", "social", None, None),
    "bye": ("wave", "arm", "measure", None),
    "byebye": ("wave", "arm", "both", None),
    "wave-left-hand": ("wave", "arm", "left", None),
    "wave-right-hand": ("wave", "arm", "right", None),
    "wave-both-hands": ("wave", "arm", "both", None),
    "raise-up-left-hand": ("raise_arm", "arm", "left", "up"),
    "raise-up-right-hand": ("raise_arm", "arm", "right", "up"),
    "raise-up-both-hands": ("raise_arm", "arm", "both", "up"),
    "guide": ("guide", "arm", "measure", None),
    "respond": ("respond", "arm", "measure", None),
    "call": ("call", "arm", "both", None),
    "punch": ("punch", "fight", None, None),
    "kick": ("kick", "fight", None, None),
    "slash": ("slash", "fight", None, None),
    "dance-short": ("dance", "dance", None, None),
    "dance-long": ("dance", "dance", None, None),
}

SPEED_OF_CONTENT = {"dash": "fast"}  # what a content's name says of its speed

# CMU motion-prediction action folders -> (action type, category). Walks and runs get a measured speed.
CMU_ACTIONS = {
    "walking": ("walk", "locomotion"), "walking_extra": ("walk", "locomotion"),
    "running": ("run", "locomotion"), "jumping": ("jump", "jump"),
    "basketball": ("play_basketball", "object"), "basketball_signal": ("referee_signals", "arm"),
    "directing_traffic": ("direct_traffic", "arm"), "soccer": ("play_soccer", "object"),
    "washwindow": ("wash_window", "object"),
}

# Speed bands (m/s) between the corpus's ranges (motionllm.corpus.actions.locomotion): slow below the
# first bound, fast above the second. A run below JOG_BELOW m/s is a jog (HumanML3D's word for it).
SPEED_BANDS = {"walk": (0.95, 1.42), "walk_backward": (0.6, 1.1), "walk_diagonal": (0.95, 1.42),
               "walk_turn": (0.9, 1.35), "jog": (2.15, 2.65), "run": (2.75, 3.3)}
JOG_BELOW = 2.4
LOCOMOTION = frozenset(SPEED_BANDS)
WRISTS = {"left": JOINT_INDEX["left_wrist"], "right": JOINT_INDEX["right_wrist"]}
SHOULDERS = {"left": JOINT_INDEX["left_shoulder"], "right": JOINT_INDEX["right_shoulder"]}
WALK_TURNS_ABOVE = 90.0  # degrees of total facing change that make a walk a walk_turn
BOTH_RATIO = 0.55  # the quieter wrist moves at least this much of the busier one: both hands


def cruise_speed(joints: np.ndarray, fps: float = FPS) -> float:
    """Horizontal pelvis speed (m/s) while moving: the median over frames faster than 40 % of the
    clip's 95th-percentile speed, after a 0.5 s moving average (steps make the pelvis surge)."""
    root = joints[:, 0, [0, 2]].astype(np.float64)
    if len(root) < 3:
        return 0.0
    speed = np.linalg.norm(np.diff(root, axis=0), axis=1) * fps
    width = max(1, int(round(0.5 * fps)))
    if len(speed) > width:
        speed = np.convolve(speed, np.ones(width) / width, mode="valid")
    top = float(np.percentile(speed, 95))
    if top < 0.2:
        return float(np.median(speed))
    return float(np.median(speed[speed >= 0.4 * top]))


def speed_class(kind: str, mps: float) -> str | None:
    if kind not in SPEED_BANDS:
        return None
    slow, fast = SPEED_BANDS[kind]
    return "slow" if mps < slow else "fast" if mps > fast else "normal"


def arm_activity(joints: np.ndarray) -> dict[str, float]:
    """How much each wrist does, relative to its shoulder: its rise (95th - 5th percentile of height) plus
    its path length per second; in metres."""
    out = {}
    seconds = max(len(joints) / FPS, 1e-6)
    for side, w in WRISTS.items():
        rel = joints[:, w] - joints[:, SHOULDERS[side]]
        rise = float(np.percentile(rel[:, 1], 95) - np.percentile(rel[:, 1], 5))
        path = float(np.linalg.norm(np.diff(rel, axis=0), axis=1).sum()) / seconds
        out[side] = rise + 0.5 * path
    return out


def measured_side(joints: np.ndarray) -> str:
    """"left", "right" or "both": the hand(s) a gesture is made with."""
    act = arm_activity(joints)
    busy, quiet = max(act, key=act.get), min(act, key=act.get)
    if act[quiet] >= BOTH_RATIO * act[busy]:
        return "both"
    return busy


def turn_degrees(joints: np.ndarray) -> float:
    """Signed change of facing (degrees, + = to the person's left, counter-clockwise seen from above)
    between the first and last half second."""
    facing = facing_directions(joints.astype(np.float64))
    n = max(1, min(len(facing) // 4, int(FPS // 2)))
    start, end = facing[:n].mean(0), facing[-n:].mean(0)
    # heading about +Y: atan2(x, z); turning to the left (towards +X from +Z) increases it
    a0, a1 = np.arctan2(start[0], start[2]), np.arctan2(end[0], end[2])
    return float(np.degrees((a1 - a0 + np.pi) % (2 * np.pi) - np.pi))


def total_heading_change(joints: np.ndarray) -> float:
    """Sum of absolute facing changes (degrees) over the clip, after a 0.5 s moving average."""
    facing = facing_directions(joints.astype(np.float64))
    heading = np.unwrap(np.arctan2(facing[:, 0], facing[:, 2]))
    width = max(1, int(FPS // 2))
    if len(heading) > width:
        heading = np.convolve(heading, np.ones(width) / width, mode="valid")
    return float(np.degrees(np.abs(np.diff(heading)).sum()))


def action_label(kind: str, category: str, joints: np.ndarray, side: str | None = None,
                 direction: str | None = None, speed: str | None = None) -> dict:
    """One whole-clip action label in the corpus's format, with the measurable parts measured (`speed`: a
    class the dataset's label already gives, e.g. a dash is fast)."""
    params: dict = {}
    if kind == "walk" and total_heading_change(joints) > WALK_TURNS_ABOVE:
        kind = "walk_turn"  # a "walking" trial that turns: its captions may not say "straight ahead"
    if kind in LOCOMOTION:
        mps = cruise_speed(joints)
        params["speed_mps"] = round(mps, 3)
        if kind == "run" and mps < JOG_BELOW and speed is None:
            kind = "jog"
        speed = speed or speed_class(kind, mps)
    if kind == "walk_turn":
        # The motion is the truth: 6 of Bandai-Namco set 2's 470 walk-turn takes turn the other way than their
        # file name says (checked by render); the caption says the turn that happens.
        degrees = turn_degrees(joints)
        params["degrees"] = round(abs(degrees), 1)
        measured = "left" if degrees > 0 else "right"
        if direction is not None and measured != direction:
            params["dataset_direction"] = direction
        direction = measured
    if side == "measure":
        side = measured_side(joints)
    return {"type": kind, "category": category, "side": side, "direction": direction, "speed": speed,
            "count": None, "start_frame": 0, "end_frame": int(len(joints) - 1), "concurrent": False,
            "params": params}
