"""Robot profiles: everything robot-specific about retargeting, read from a YAML file.

Adding a robot means writing a profile (see retargeting/robots/g1.yaml, documented field by field),
not code. A profile names the URDF, which SMPL-22 joint drives which robot frame and how hard, how
human sizes map onto the robot, the control rate and the safety margins. Loading checks everything
that can be checked without the robot model; `Robot` checks the rest (frame and joint names) and any
problem is one `ProfileError` with a one-line message.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from motionllm.errors import MotionLLMError
from motionllm.motion.skeleton import JOINT_INDEX, JOINT_NAMES, PARENTS

PROFILE_DIR = Path(__file__).resolve().parent / "robots"
DEFAULT_ROBOT = "g1"

# SMPL-22 joints whose orientation we can derive from joint positions alone (see keypoints.py);
# an orientation cost on any other keypoint is an error, not a silently ignored number.
ORIENTED_JOINTS = ("pelvis", "spine3", "left_ankle", "right_ankle")
SIDES = ("left", "right")


class ProfileError(MotionLLMError):
    """A robot profile is missing, malformed, or does not fit its robot model."""


@dataclass(frozen=True)
class Keypoint:
    """One IK frame task: robot `frame` follows SMPL joint `human` (scaled into the robot's world)."""

    human: str
    frame: str
    position_cost: float
    orientation_cost: float = 0.0


@dataclass(frozen=True)
class ExtraFrame:
    """A frame the URDF lacks (a head centre, a sole corner), fixed on an existing frame."""

    name: str
    parent: str
    translation: tuple[float, float, float]


@dataclass(frozen=True)
class Foot:
    side: str
    ankle: str  # SMPL joint pinned during contact; it must be a keypoint
    toe: str  # SMPL joint giving the foot's heading
    contact_points: tuple[tuple[float, float, float], ...]  # sole points in the ankle keypoint's frame

    @property
    def points(self) -> np.ndarray:
        """The contact points as an array (P, 3): kept above the floor by the IK."""
        return np.array(self.contact_points, dtype=float)


@dataclass(frozen=True)
class Limb:
    """A chain whose bones are scaled by robot length / human length along it (an arm, the spine)."""

    human: tuple[str, ...]
    robot: tuple[str, ...]

    @property
    def bones(self) -> tuple[int, ...]:
        """The SMPL bones (each named by its child joint's index) on the path through `human`,
        each joint an ancestor of the next (checked at load)."""
        bones = []
        for top, bottom in zip(self.human[:-1], self.human[1:]):
            joint = JOINT_INDEX[bottom]
            while joint != JOINT_INDEX[top]:
                bones.append(joint)
                joint = PARENTS[joint]
        return tuple(bones)


@dataclass(frozen=True)
class Direction:
    """A limb whose direction the robot matches: the vector from robot frame `robot[0]` to `robot[1]`
    points along the human bone from joint `human[0]` to `human[1]` (IK task, and a fidelity measure)."""

    human: tuple[str, str]
    robot: tuple[str, str]
    cost: float  # pink units: per metre of the robot segment's end off the direction (0: measured only)


@dataclass(frozen=True)
class KeepApart:
    """Two robot frames whose origins stay at least `distance` apart (IK constraint)."""

    a: str
    b: str
    distance: float


@dataclass(frozen=True)
class ContactRule:
    """A human foot is in contact while its ankle is low and slow (human metres, m/s), for long enough."""

    max_height: float = 0.05  # above the clip's own standing ankle height
    max_speed: float = 0.35
    min_duration: float = 0.1  # s; shorter runs are noise


@dataclass(frozen=True)
class IKSettings:
    solver: str = "daqp"
    iterations: int = 2  # per control frame, warm-started from the previous frame
    first_frame_iterations: int = 60  # the first frame starts from the reference posture
    damping: float = 1e-4  # Tikhonov regularisation of the QP (cost^2 per tangent unit)
    posture_cost: float = 0.05
    stance_cost_factor: float = 5.0  # a foot in contact is pinned this much harder
    swing_orientation_factor: float = 0.0  # a foot off the ground keeps this much of its flat-sole cost
    swing_heading_factor: float = 0.2  # ... and this much of its heading (yaw) cost
    # The built-in robots turn both on: collision_distance 0.01, support_preview 0.3 (their YAML says why).
    collision_distance: float = 0.0  # m the IK keeps between convex collision hulls (0: no constraint; try 0.01)
    support_margin: float = 0.015  # m the centre of mass keeps inside the support polygon's edges
    support_preview: float = 0.0  # s: a foot about to lift hands its share of the support over this long
    #                                 (0: no balance constraint in the IK; try 0.3)
    base_acceleration: float = 50.0  # m/s^2 and rad/s^2, each axis: the floating base's (a backflip needs more: 20 lost it 1.3 cm)


JUMP_POLICIES = ("adapt", "never")


@dataclass(frozen=True)
class Capabilities:
    """What the robot may be asked to do (the commander refuses the rest before generating)."""

    walk: bool = True  # may step and move its base across the floor; false: feet stay where they stand
    jump: str = "adapt"  # adapt: a jump becomes a squat-and-rise in place; never: a jump is refused
    upper_body_only: bool = False  # legs and base held at the reference posture; arms, torso, head follow

    @property
    def in_place(self) -> bool:
        """The feet stay where they stand, for the whole motion."""
        return not self.walk or self.upper_body_only


@dataclass(frozen=True)
class RobotProfile:
    name: str
    description: str
    urdf: str  # "example-robot-data:robots/...urdf", or a path (relative to the profile file)
    control_rate: float  # Hz
    keypoints: tuple[Keypoint, ...]
    feet: tuple[Foot, ...]
    body_scale: Limb  # leg chain: robot / human length scales the whole motion
    limbs: tuple[Limb, ...] = ()
    frames: tuple[ExtraFrame, ...] = ()
    keep_apart: tuple[KeepApart, ...] = ()  # point pairs the IK keeps apart (hands off the hips, ...)
    directions: tuple[Direction, ...] = ()  # limbs whose direction the robot follows (upper arms, shins, ...)
    srdf: str | None = None  # collision pairs to ignore, as the robot's authors listed them
    locked_joints: dict[str, float] = field(default_factory=dict)  # removed from the model at these values
    reference_posture: dict[str, float] = field(default_factory=dict)  # others at 0 (clipped into limits)
    velocity_scale: float = 0.9  # fraction of the URDF velocity limit the IK may use
    position_margin: float = 0.01  # rad kept clear of each URDF position bound by the IK
    # joint name pattern (regular expression, whole name) -> rad/s the IK keeps those joints under, on top
    # of the URDF's limits
    max_joint_speed: dict[str, float] = field(default_factory=dict)
    contact: ContactRule = ContactRule()
    ik: IKSettings = IKSettings()
    capabilities: Capabilities = Capabilities()
    source: Path | None = None  # the YAML file it came from

    def keypoint(self, human: str) -> Keypoint:
        for k in self.keypoints:
            if k.human == human:
                return k
        raise KeyError(human)


def available_robots() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name_or_path: str | os.PathLike = DEFAULT_ROBOT) -> RobotProfile:
    """A built-in profile by name ('g1', 'talos') or any profile YAML by path."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() not in (".yaml", ".yml"):
        path = PROFILE_DIR / f"{text}.yaml"
        if not path.is_file():
            raise ProfileError(f"unknown robot '{text}' (built in: {', '.join(available_robots())}; "
                               f"or give a profile .yaml path)")
    if not path.is_file():
        raise ProfileError(f"robot profile not found: {path}")
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise ProfileError(f"{path.name}: not valid YAML{line}: {getattr(exc, 'problem', exc)}") from None
    return parse_profile(data, path)


def parse_profile(data: Any, source: Path | None = None) -> RobotProfile:
    """Validate a profile's parsed YAML; every error names the file and the field."""
    where = source.name if source else "profile"
    r = _Reader(data, where)
    keypoints = tuple(_keypoint(r.sub(f"keypoints.{human}", spec), human)
                      for human, spec in r.mapping("keypoints").items())
    if not keypoints:
        r.fail("keypoints", "needs at least one keypoint")
    humans = [k.human for k in keypoints]
    feet = tuple(_foot(r.sub(f"feet.{side}", spec), side) for side, spec in r.mapping("feet").items())
    for foot in feet:
        if foot.ankle not in humans:
            r.fail(f"feet.{foot.side}.ankle", f"'{foot.ankle}' must also be a keypoint")
    profile = RobotProfile(
        name=r.string("name"),
        description=r.string("description", ""),
        urdf=r.string("urdf"),
        srdf=r.string("srdf", None),
        control_rate=r.number("control_rate", minimum=1.0),
        keypoints=keypoints,
        feet=feet,
        body_scale=_limb(r.sub("body_scale", r.mapping("body_scale"))),
        limbs=tuple(_limb(r.sub(f"limbs[{i}]", spec)) for i, spec in enumerate(r.sequence("limbs", []))),
        frames=tuple(_frame(r.sub(f"frames.{name}", spec), name) for name, spec in r.mapping("frames", {}).items()),
        keep_apart=tuple(_keep_apart(r.sub(f"keep_apart[{i}]", spec))
                         for i, spec in enumerate(r.sequence("keep_apart", []))),
        directions=tuple(_direction(r.sub(f"directions[{i}]", spec))
                         for i, spec in enumerate(r.sequence("directions", []))),
        locked_joints={str(k): float(v) for k, v in r.number_map("locked_joints").items()},
        reference_posture={str(k): float(v) for k, v in r.number_map("reference_posture").items()},
        velocity_scale=r.number("velocity_scale", 0.9, minimum=0.05, maximum=1.0),
        position_margin=r.number("position_margin", 0.01, minimum=0.0, maximum=0.5),
        max_joint_speed={str(k): float(v) for k, v in r.number_map("max_joint_speed").items()},
        contact=ContactRule(**_fields(r.sub("contact", r.mapping("contact", {})), ContactRule)),
        ik=IKSettings(**_fields(r.sub("ik", r.mapping("ik", {})), IKSettings)),
        capabilities=_capabilities(r.sub("capabilities", r.mapping("capabilities", {}))),
        source=source,
    )
    if profile.ik.iterations < 1 or profile.ik.first_frame_iterations < 1:
        r.fail("ik", "iterations must be at least 1")
    seen: set[int] = set()
    for i, limb in enumerate(profile.limbs):
        bones = set(limb.bones)
        if bones & seen:
            r.fail(f"limbs[{i}]", f"shares a bone ({JOINT_NAMES[min(bones & seen)]}) with an earlier limb")
        seen |= bones
    if len({k.frame for k in keypoints}) != len(keypoints):
        r.fail("keypoints", "two keypoints drive the same robot frame")
    return profile


# --- field readers --------------------------------------------------------------------------------

class _Reader:
    """Typed access to one YAML mapping, failing with 'file: field: problem'."""

    def __init__(self, data: Any, where: str, prefix: str = ""):
        self.where, self.prefix = where, prefix
        if not isinstance(data, dict):
            self.fail("", f"must be a mapping, got {type(data).__name__}")
        self.data = data

    def fail(self, key: str, message: str):
        name = ".".join(p for p in (self.prefix, key) if p)
        raise ProfileError(f"{self.where}: {name + ': ' if name else ''}{message}")

    def sub(self, key: str, data: Any) -> "_Reader":
        return _Reader(data, self.where, key if not self.prefix else f"{self.prefix}.{key}")

    _REQUIRED = object()

    def _get(self, key: str, default: Any):
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is self._REQUIRED:
            self.fail(key, "is required")
        return default

    def string(self, key: str, default: Any = _REQUIRED) -> str:
        value = self._get(key, default)
        if value is not None and not isinstance(value, str):
            self.fail(key, f"must be a string, got {value!r}")
        return value

    def number(self, key: str, default: Any = _REQUIRED, minimum: float = -np.inf, maximum: float = np.inf) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            self.fail(key, f"must be a number, got {value!r}")
        if not minimum <= value <= maximum:
            self.fail(key, f"must be in [{minimum}, {maximum}], got {value}")
        return float(value)

    def mapping(self, key: str, default: Any = _REQUIRED) -> dict:
        value = self._get(key, default)
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping, got {type(value).__name__}")
        return value

    def sequence(self, key: str, default: Any = _REQUIRED) -> list:
        value = self._get(key, default)
        if not isinstance(value, list):
            self.fail(key, f"must be a list, got {type(value).__name__}")
        return value

    def number_map(self, key: str) -> dict:
        value = self.mapping(key, {})
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.fail(f"{key}.{k}", f"must be a number, got {v!r}")
        return value

    def vector(self, key: str, size: int, default: Any = _REQUIRED) -> tuple[float, ...]:
        value = self._get(key, default)
        if (not isinstance(value, list) or len(value) != size
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            self.fail(key, f"must be a list of {size} numbers, got {value!r}")
        return tuple(float(v) for v in value)

    def human_joint(self, key: str) -> str:
        value = self.string(key)
        if value not in JOINT_INDEX:
            self.fail(key, f"unknown SMPL-22 joint '{value}'")
        return value

    def unknown_keys(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed)
        if extra:
            self.fail(extra[0], f"unknown field (known: {', '.join(sorted(allowed))})")


def _keypoint(r: _Reader, human: str) -> Keypoint:
    r.unknown_keys({"frame", "position_cost", "orientation_cost"})
    if human not in JOINT_INDEX:
        r.fail("", f"unknown SMPL-22 joint '{human}'")
    orientation_cost = r.number("orientation_cost", 0.0, minimum=0.0)
    if orientation_cost > 0 and human not in ORIENTED_JOINTS:
        r.fail("orientation_cost", f"no orientation is derivable for '{human}' "
                                   f"(only {', '.join(ORIENTED_JOINTS)})")
    return Keypoint(human=human, frame=r.string("frame"), position_cost=r.number("position_cost", minimum=0.0),
                    orientation_cost=orientation_cost)


def _foot(r: _Reader, side: str) -> Foot:
    r.unknown_keys({"ankle", "toe", "contact_points"})
    if side not in SIDES:
        r.fail("", f"feet are 'left' and 'right', got '{side}'")
    points = r.sequence("contact_points")
    if not points:
        r.fail("contact_points", "needs at least one point")
    points = tuple(r.sub(f"contact_points[{i}]", {"p": p}).vector("p", 3) for i, p in enumerate(points))
    return Foot(side=side, ankle=r.human_joint("ankle"), toe=r.human_joint("toe"), contact_points=points)


def _limb(r: _Reader) -> Limb:
    r.unknown_keys({"human", "robot"})
    human = r.sequence("human")
    robot = r.sequence("robot")
    if len(human) < 2 or len(human) != len(robot):
        r.fail("", "human and robot must list the same number (>= 2) of joints / frames")
    for i, name in enumerate(human):
        if name not in JOINT_INDEX:
            r.fail(f"human[{i}]", f"unknown SMPL-22 joint '{name}'")
    for top, bottom in zip(human[:-1], human[1:]):
        if top not in _ancestors(bottom):
            r.fail("human", f"'{top}' is not above '{bottom}' in the SMPL-22 tree")
    return Limb(human=tuple(human), robot=tuple(str(f) for f in robot))


def _ancestors(joint: str) -> set[str]:
    out, index = set(), PARENTS[JOINT_INDEX[joint]]
    while index >= 0:
        out.add(JOINT_NAMES[index])
        index = PARENTS[index]
    return out


def _keep_apart(r: _Reader) -> KeepApart:
    r.unknown_keys({"frames", "distance"})
    frames = r.sequence("frames")
    if len(frames) != 2 or not all(isinstance(f, str) for f in frames):
        r.fail("frames", f"must name two frames, got {frames!r}")
    return KeepApart(a=frames[0], b=frames[1], distance=r.number("distance", minimum=0.0))


def _direction(r: _Reader) -> Direction:
    r.unknown_keys({"human", "robot", "cost"})
    human, robot = r.sequence("human"), r.sequence("robot")
    if len(human) != 2 or len(robot) != 2 or not all(isinstance(f, str) for f in robot):
        r.fail("", "human must name two SMPL-22 joints and robot two frames")
    for i, name in enumerate(human):
        if name not in JOINT_INDEX:
            r.fail(f"human[{i}]", f"unknown SMPL-22 joint '{name}'")
    if human[0] == human[1] or robot[0] == robot[1]:
        r.fail("", "a direction needs two different joints and two different frames")
    return Direction(human=tuple(human), robot=tuple(robot), cost=r.number("cost", 1.0, minimum=0.0))


def _frame(r: _Reader, name: str) -> ExtraFrame:
    r.unknown_keys({"parent", "translation"})
    return ExtraFrame(name=name, parent=r.string("parent"), translation=r.vector("translation", 3))


def _capabilities(r: _Reader) -> Capabilities:
    r.unknown_keys({"walk", "jump", "upper_body_only"})
    flags = {}
    for name in ("walk", "upper_body_only"):
        value = r.data.get(name, getattr(Capabilities(), name))
        if not isinstance(value, bool):
            r.fail(name, f"must be true or false, got {value!r}")
        flags[name] = value
    jump = r.string("jump", "adapt")
    if jump not in JUMP_POLICIES:
        r.fail("jump", f"must be one of {', '.join(JUMP_POLICIES)}, got {jump!r}")
    return Capabilities(jump=jump, **flags)


def _fields(r: _Reader, cls) -> dict:
    """Optional numeric/string fields of a settings dataclass, checked against its defaults' types."""
    defaults = cls()
    names = set(cls.__dataclass_fields__)
    r.unknown_keys(names)
    out = {}
    for name in r.data:
        default = getattr(defaults, name)
        if isinstance(default, str):
            out[name] = r.string(name)
        elif isinstance(default, int):
            value = r.number(name, minimum=0)
            if value != int(value):
                r.fail(name, f"must be a whole number, got {value}")
            out[name] = int(value)
        else:
            out[name] = r.number(name, minimum=0.0)
    return out
