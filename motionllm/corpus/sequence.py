"""Composing clips: 1-3 actions in a row, a body, a style, and the joints of the whole clip.

Actions start and end in the clip's neutral pose, so they are simply laid end to end (with an optional
short pause); root position, heading and floor height carry over from one to the next. Style noise is
added to the controls (never to joint positions), then the rig solves the joints.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionllm.corpus.actions import REGISTRY, Ctx, Segment, State
from motionllm.corpus.actions.common import neutral
from motionllm.corpus.body import Body, sample_body
from motionllm.corpus.profiles import smooth_noise
from motionllm.corpus.rig import Controls, concat, solve
from motionllm.motion.skeleton import FPS

# Stored clips have 40..196 frames (HumanML3D protocol); generated clips have one more frame because
# features (and the joints recovered from them) lose the last one.
MIN_FRAMES, MAX_FRAMES = 40, 196
MAX_SECONDS = (MAX_FRAMES + 1 - 1) / FPS
ACTION_COUNTS = (1, 2, 3)
ACTION_COUNT_WEIGHTS = (0.15, 0.5, 0.35)
# After these, the person stays where they are (stairs: the landing is all the flat floor there is).
STAY_AFTER = {"climb_stairs", "descend_stairs"}
STAYING_CATEGORIES = {"arm", "idle", "social", "fight", "exercise", "balance", "posture", "object"}
TRAVELLING = {"walk", "jog", "run", "walk_backward", "sidestep", "walk_turn", "walk_curve", "walk_circle",
              "walk_zigzag", "tiptoe", "skip", "jump_forward", "hop_one_leg", "climb_stairs", "descend_stairs"}


@dataclass
class Clip:
    """A generated clip before HumanML3D processing."""

    joints: np.ndarray      # (T, 22, 3) float64, generation coordinates
    controls: Controls
    actions: list           # labels with clip-relative frames, in order
    terrain: dict | None
    body: Body
    style: dict


def sample_style(rng: np.random.Generator) -> dict:
    """Per-clip manner of moving: stance, posture, arm swing, energy, noise level."""
    return {
        "toe_out": rng.uniform(0.05, 0.22),
        "stance": rng.uniform(0.85, 1.2),
        "slouch": rng.uniform(-0.03, 0.1),
        "head_pitch": rng.uniform(-0.05, 0.12),
        "arm_forward": rng.uniform(-0.02, 0.05),
        "arm_swing": rng.uniform(0.7, 1.3),
        "sway": rng.uniform(0.6, 1.3),
        "lean": rng.uniform(0.6, 1.4),
        "noise": rng.uniform(0.5, 1.5),
        "while_rate": 0.2,
    }


def _allowed(name: str, previous: list[str], state: State, first: bool) -> bool:
    kind = REGISTRY[name]
    if kind.starts != state.posture:
        return False
    if previous and name == previous[-1]:
        return False
    if any(p in STAY_AFTER for p in previous):
        if kind.category not in STAYING_CATEGORIES or name in TRAVELLING:
            return False
    if name in STAY_AFTER and any(p in STAY_AFTER for p in previous):
        return False
    return True


def pick_actions(ctx: Ctx, n_actions: int, forced: list[str] | None = None) -> tuple[list[Segment], list[float]]:
    """Build n_actions segments that fit in the clip length; returns segments and pauses before each.
    `forced` names the action types to use instead of drawing them."""
    rng = ctx.rng
    names = sorted(REGISTRY)
    weights = np.array([REGISTRY[n].weight for n in names])
    if forced:
        n_actions = len(forced)
        first = REGISTRY[forced[0]].starts
    else:
        first = "sit" if rng.random() < 0.03 else "stand"
    state = State(posture=first)
    segments, pauses, used = [], [], 0.0
    for k in range(n_actions):
        remaining = MAX_SECONDS - used - 0.05
        left_after = n_actions - k - 1
        pause = float(rng.choice([0.0, rng.uniform(0.1, 0.5)])) if k > 0 else 0.0
        # Leave room for what follows: a share of the remaining time.
        share = 1.0 if left_after == 0 else rng.uniform(0.3, 0.7) if left_after == 1 else rng.uniform(0.25, 0.45)
        budget = remaining * share - pause
        if budget < 1.0:
            break
        previous = [s.labels[0]["type"] for s in segments]
        if forced:
            mask = np.array([n == forced[k] for n in names])
        else:
            mask = np.array([_allowed(n, previous, state, k == 0) for n in names])
        if state.posture == "sit" and k == n_actions - 1 and budget < 2.5:
            break
        segment = None
        for _ in range(12):
            if not mask.any():
                break
            p = weights * mask
            name = names[int(rng.choice(len(names), p=p / p.sum()))]
            segment = REGISTRY[name].build(ctx, state, budget)
            if segment is not None and (segment.controls.n - 1) / FPS <= budget + 1e-6:
                break
            mask[names.index(name)] = False
            segment = None
        if segment is None:
            break
        segments.append(segment)
        pauses.append(pause)
        used += pause + (segment.controls.n - 1) / FPS
        state = segment.end
    return segments, pauses


def add_style_noise(c: Controls, rng: np.random.Generator, amount: float) -> None:
    """Small, slow, smooth wobble on the trunk, head, shoulders and hands (never on planted feet)."""
    n = c.n
    c.spine += smooth_noise(rng, n, 3, 10.0, np.array([0.02, 0.02, 0.015]) * amount)
    c.neck += smooth_noise(rng, n, 3, 8.0, np.array([0.05, 0.04, 0.03]) * amount)
    c.pelvis_rot += smooth_noise(rng, n, 3, 12.0, np.array([0.02, 0.01, 0.01]) * amount)
    c.shrug += smooth_noise(rng, n, 2, 10.0, 0.02 * amount).T
    for side in range(2):
        c.wrist[side] += smooth_noise(rng, n, 3, 8.0, 0.012 * amount)


def compose(rng: np.random.Generator, forced: list[str] | None = None) -> Clip | None:
    """One clip (None if the drawn actions came out shorter than the minimum length, or the `forced`
    action types could not all be built)."""
    body = sample_body(rng)
    style = sample_style(rng)
    ctx = Ctx(body, style, rng)
    n_actions = int(rng.choice(ACTION_COUNTS, p=ACTION_COUNT_WEIGHTS))
    segments, pauses = pick_actions(ctx, n_actions, forced)
    if not segments or (forced and len(segments) < len(forced)):
        return None
    parts, actions, terrain = [], [], None
    frame = 0
    state = State(posture=REGISTRY[segments[0].labels[0]["type"]].starts)
    for segment, pause in zip(segments, pauses):
        if pause > 0 and state.posture == "stand":
            hold, _ = neutral(ctx, state, pause)
            parts.append(hold.head(hold.n - 1))
            frame += hold.n - 1
        for lab in segment.labels:
            lab = dict(lab)
            lab["start_frame"] += frame
            lab["end_frame"] += frame
            actions.append(lab)
        terrain = terrain or segment.terrain
        last = segment is segments[-1]
        parts.append(segment.controls if last else segment.controls.head(segment.controls.n - 1))
        frame += segment.controls.n - (0 if last else 1)
        state = segment.end
    controls = concat(parts)
    if not MIN_FRAMES + 1 <= controls.n <= MAX_FRAMES + 1:
        return None
    add_style_noise(controls, rng, style["noise"])
    joints = solve(body, controls)
    return Clip(joints, controls, actions, terrain, body, style)

