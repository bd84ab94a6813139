"""Clean motion -> motion as the live pose stage would see it: the stage's errors, measured, applied to mocap.

    from motionllm.perception.degrade import Degradation, degrade
    noisy = degrade(joints, np.random.default_rng(0))            # joints: canonical (T, 22, 3) at 20 fps
    noisy = degrade(joints, rng, Degradation(tilt_deg=0.0))       # any part changed or switched off
    same = degrade(joints, rng, Degradation.none())               # only the stage's One-Euro smoothing

The live skeletons (BlazePose -> `mediapipe33_to_smpl22` -> root estimate -> One-Euro, docs/perception.md)
differ from mocap in a few measurable ways; `Degradation`'s defaults are what
`benchmarks/pose_degradation.py` measured against a triangulated 4-camera reference (Pose2Sim's demos, 7
camera-sequence pairs; the figures are in docs/perception.md, "What the pose stage gets wrong"). `degrade`
applies the same kinds of error to clean motion, in the order they arise:

1. **A camera.** One per clip: `camera_distance` metres (uniform in the range) from the clip's mean root, in
   a uniformly random horizontal direction, `camera_height` above the floor. Its line of sight (camera ->
   pelvis, each frame) is the depth direction of every error below.
2. **Proportions.** Each bone (parent -> joint) is scaled by `1 + bone_bias[j]` (the 33 -> 22 mapping's
   proportions against the SMPL body, measured on the triangulated landmarks) and wobbles by a relative
   `bone_wobble[j]` (AR(1), correlation time `bone_wobble_time`); children move with their parents.
3. **Joint noise**, per bone (parent -> joint): the bone vector is moved by an AR(1) error per axis
   (`noise_lateral[j]` on each of the two axes across the line of sight, `noise_depth[j]` along it, metres;
   correlation time `noise_time`) and brought back to its length, so a bone turns, the joints below it
   follow, and neighbouring joints' errors are correlated as BlazePose's are (a limb is off as a whole).
4. **Root.** The pelvis trajectory is off by AR(1) errors (`root_depth` along the line of sight,
   `root_lateral` across it horizontally, `root_vertical` on the third axis, correlation time
   `root_time`) and its distance from the camera is scaled by a per-clip factor `1 + N(0, depth_scale)`
   (the body size and focal length the pinhole solve relies on).
5. **Gravity.** The whole motion is turned by a per-clip pitch and roll error (each `N(0, tilt_deg)`
   degrees, about the camera's horizontal axis and its line of sight): the stage's tilt estimate.
6. **Dropouts.** Frames without a detection: runs of mean length `dropout_frames` covering a fraction
   `dropout_rate` of the frames. They are left out of the smoothing (the filter sees the longer time
   step, as live) and then filled by linear interpolation between the frames around them, held at the
   ends, as `motionllm pose` (`cli.fill_gaps`) and the describer's 20 fps windows do.
7. **Smoothing.** The stage's One-Euro filter (`smoothing.OneEuroFilter`, its defaults) on the frames'
   times, unless `smoothing=False`.

The result is made canonical again (`canonicalize`: root at the XZ origin and facing +Z at frame 0, on the
floor), float32 (T, 22, 3). A motion with NaN or infinite values, or of the wrong shape, is refused with a
one-line `MotionFormatError`; a bad config with a one-line `DegradationError` (both `MotionLLMError`s).
Not modelled: gross failures (left/right swaps, a track jumping to another person; the benchmark counts
them), occlusion-dependent noise, a lag of the smoothing beyond what One-Euro does to the noisy input.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from motionllm.errors import MotionLLMError
from motionllm.motion.canonical import canonicalize, check_joints
from motionllm.motion.skeleton import FPS, NUM_JOINTS, PARENTS
from motionllm.perception.cli import fill_gaps
from motionllm.perception.smoothing import BETA, D_CUTOFF_HZ, MIN_CUTOFF_HZ, OneEuroFilter

PER_JOINT = ("noise_lateral", "noise_depth", "bone_bias", "bone_wobble")


class DegradationError(MotionLLMError):
    """A Degradation config that cannot be applied."""


# Measured by benchmarks/pose_degradation.py (python benchmarks/pose_degradation.py; docs/perception.md).
# Per joint, T2M order (pelvis, left_hip, right_hip, spine1, left_knee, right_knee, spine2, left_ankle,
# right_ankle, spine3, left_foot, right_foot, neck, left_collar, right_collar, head, left_shoulder,
# right_shoulder, left_elbow, right_elbow, left_wrist, right_wrist); left and right pooled.
# Entry j is the bone from PARENTS[j] to joint j (the pelvis' entry is unused).
_BONE_BIAS = (0.0, 0.108, 0.108, 0.1946, 0.0589, 0.0589, 0.1891, -0.0536, -0.0536, 0.1416, 0.0334, 0.0334,
              0.1942, 0.7905, 0.7905, 0.0286, -0.176, -0.176, 0.1647, 0.1647, 0.0456, 0.0456)
_BONE_WOBBLE = (0.0, 0.1437, 0.1437, 0.028, 0.0534, 0.0534, 0.028, 0.054, 0.054, 0.028, 0.1788, 0.1788,
                0.028, 0.044, 0.044, 0.0703, 0.0703, 0.0703, 0.1015, 0.1015, 0.144, 0.144)
_NOISE_LATERAL = (0.0, 0.0326, 0.0326, 0.012, 0.0745, 0.0745, 0.013, 0.0554, 0.0554, 0.005, 0.0241, 0.0241,
                  0.02, 0.0391, 0.0391, 0.0129, 0.0277, 0.0277, 0.0772, 0.0772, 0.0714, 0.0714)
_NOISE_DEPTH = (0.0, 0.0228, 0.0228, 0.0249, 0.0855, 0.0855, 0.027, 0.0879, 0.0879, 0.0104, 0.0641, 0.0641,
                0.0416, 0.042, 0.042, 0.0327, 0.019, 0.019, 0.0749, 0.0749, 0.0959, 0.0959)


@dataclass(frozen=True)
class Degradation:
    """What the live pose stage gets wrong (module docstring). Lengths in metres, times in seconds, angles in
    degrees; every default is measured (benchmarks/pose_degradation.py). Zero switches a part off."""
    # 2, proportions: relative bone-length bias per joint (the bone from its parent), and the wobble
    bone_bias: tuple[float, ...] = _BONE_BIAS
    bone_wobble: tuple[float, ...] = _BONE_WOBBLE
    bone_wobble_time: float = 0.164
    # 3, joint noise, per bone: lateral (each axis across the line of sight) and depth, and its correlation time
    noise_lateral: tuple[float, ...] = _NOISE_LATERAL
    noise_depth: tuple[float, ...] = _NOISE_DEPTH
    noise_time: float = 0.356
    # 4, root
    root_lateral: float = 0.0263
    root_vertical: float = 0.0243
    root_depth: float = 0.0948
    root_time: float = 0.236
    depth_scale: float = 0.0942
    # 5, gravity
    tilt_deg: float = 4.13
    # 6, dropouts (measured 3 of 800 frames, all in a view that followed another person: 0 here; live footage
    # of people leaving the view, occluded or small has more)
    dropout_rate: float = 0.0
    dropout_frames: float = 1.0
    # 1, the camera
    camera_distance: tuple[float, float] = (2.3, 4.3)
    camera_height: float = 1.86
    # 7, the stage's One-Euro filter
    smoothing: bool = True
    min_cutoff: float = MIN_CUTOFF_HZ
    beta: float = BETA
    d_cutoff: float = D_CUTOFF_HZ

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in PER_JOINT:
                if len(value) != NUM_JOINTS or not all(math.isfinite(v) for v in value):
                    raise DegradationError(f"Degradation.{f.name} needs {NUM_JOINTS} finite values (one per joint)")
                if f.name != "bone_bias" and min(value) < 0:
                    raise DegradationError(f"Degradation.{f.name} must be >= 0, got {min(value)}")
                if f.name == "bone_bias" and min(value) <= -1:
                    raise DegradationError("Degradation.bone_bias must be > -1 (a bone cannot vanish)")
            elif isinstance(value, float) and not (math.isfinite(value) and value >= 0):
                raise DegradationError(f"Degradation.{f.name} must be finite and >= 0, got {value}")
        if not 0.0 <= self.dropout_rate < 1.0:
            raise DegradationError(f"Degradation.dropout_rate must be in [0, 1), got {self.dropout_rate}")
        if self.dropout_frames < 1.0:
            raise DegradationError(f"Degradation.dropout_frames (mean run length) must be >= 1, got {self.dropout_frames}")
        low, high = self.camera_distance
        if not 0.5 <= low <= high:
            raise DegradationError(f"Degradation.camera_distance must be (low, high) with 0.5 <= low <= high, "
                                   f"got {self.camera_distance}")
        if min(self.noise_time, self.root_time, self.bone_wobble_time) <= 0:
            raise DegradationError("Degradation correlation times must be > 0 s")
        if self.smoothing and not (self.min_cutoff > 0 and self.d_cutoff > 0):
            raise DegradationError("Degradation.min_cutoff and d_cutoff must be > 0 Hz")

    @classmethod
    def none(cls, smoothing: bool = True) -> "Degradation":
        """Every error off: only the stage's smoothing (or nothing, `smoothing=False`)."""
        zero = (0.0,) * NUM_JOINTS
        return cls(bone_bias=zero, bone_wobble=zero, noise_lateral=zero, noise_depth=zero, root_lateral=0.0,
                   root_vertical=0.0, root_depth=0.0, depth_scale=0.0, tilt_deg=0.0, dropout_rate=0.0,
                   smoothing=smoothing)

    def as_dict(self) -> dict:
        return asdict(self)


# --- building blocks ---------------------------------------------------------------------------------------

def ar1(rng: np.random.Generator, frames: int, shape: tuple, correlation_time: float, fps: float) -> np.ndarray:
    """(frames, *shape) stationary AR(1) noise with unit variance, lag-1 correlation exp(-1 / (fps * time))."""
    rho = math.exp(-1.0 / (fps * correlation_time))
    steps = rng.standard_normal((frames,) + tuple(shape))
    out = np.empty_like(steps)
    out[0] = steps[0]
    scale = math.sqrt(1.0 - rho * rho)
    for t in range(1, frames):
        out[t] = rho * out[t - 1] + scale * steps[t]
    return out


def sight_axes(camera: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(T, 3, 3) per frame, rows: lateral (horizontal, across the line of sight), the third axis (across it,
    mostly vertical), depth (unit line of sight camera -> point). `camera` (3,), `points` (T, 3), Y up."""
    depth = points - camera
    depth = depth / np.linalg.norm(depth, axis=-1, keepdims=True)
    lateral = np.cross(np.array([0.0, 1.0, 0.0]), depth)
    norm = np.linalg.norm(lateral, axis=-1, keepdims=True)
    lateral = np.where(norm > 1e-9, lateral / np.maximum(norm, 1e-12), np.array([1.0, 0.0, 0.0]))
    third = np.cross(depth, lateral)
    return np.stack([lateral, third, depth], axis=1)


def perturb_bones(joints: np.ndarray, noise: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """(T, 22, 3): each bone vector (PARENTS[j] -> j) plus noise[:, j], brought back to its own length times
    scales[:, j], the joints rebuilt from the root along the chain (children move with their parents)."""
    out = joints.copy()
    for j in range(1, NUM_JOINTS):  # PARENTS[j] < j: parents are placed first
        p = PARENTS[j]
        bone = joints[:, j] - joints[:, p]
        length = np.linalg.norm(bone, axis=-1, keepdims=True)
        moved = bone + noise[:, j]
        norm = np.linalg.norm(moved, axis=-1, keepdims=True)
        direction = np.where(norm > 1e-9, moved / np.maximum(norm, 1e-12), bone / np.maximum(length, 1e-12))
        out[:, j] = out[:, p] + direction * length * scales[:, j, None]
    return out


def _rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    k = axis / np.linalg.norm(axis)
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    a = math.radians(degrees)
    return np.eye(3) + math.sin(a) * K + (1.0 - math.cos(a)) * K @ K


def dropout_mask(rng: np.random.Generator, frames: int, rate: float, mean_run: float) -> np.ndarray:
    """(frames,) bool, True = dropped: a two-state Markov chain with stationary dropped fraction `rate` and
    dropped runs of mean length `mean_run`. At least two frames are kept."""
    dropped = np.zeros(frames, bool)
    if rate <= 0 or frames < 3:
        return dropped
    leave = 1.0 / mean_run                  # P(dropped -> seen)
    enter = rate * leave / (1.0 - rate)     # P(seen -> dropped), for the stationary fraction `rate`
    state = rng.random() < rate
    for t in range(frames):
        dropped[t] = state
        state = (rng.random() >= leave) if state else (rng.random() < enter)
    if (~dropped).sum() < 2:
        dropped[[0, -1]] = False
    return dropped


def smooth(joints: np.ndarray, times: np.ndarray, config: Degradation) -> np.ndarray:
    """The stage's One-Euro filter over (T, 22, 3) samples taken at `times` seconds."""
    f = OneEuroFilter(config.min_cutoff, config.beta, config.d_cutoff)
    return np.stack([f(x, t) for x, t in zip(joints, times)])


# --- the degradation -----------------------------------------------------------------------------------------

def degrade(joints: np.ndarray, rng: np.random.Generator, config: Degradation | None = None,
            fps: float = FPS) -> np.ndarray:
    """Canonical motion (T, 22, 3) -> the same motion with the pose stage's errors, canonical float32 (T, 22, 3).

    `rng` draws everything (the camera, the noise, the dropouts): the same seed gives the same result.
    """
    config = config if config is not None else Degradation()
    x = check_joints(joints, "degrade")  # float64; refuses NaN, infinities, wrong shapes in one line
    frames = len(x)
    root, rel = x[:, :1], x - x[:, :1]

    # 1. a camera, and its line of sight to the pelvis on every frame
    center = root[:, 0].mean(axis=0)
    azimuth = rng.uniform(0.0, 2.0 * math.pi)
    distance = rng.uniform(*config.camera_distance)
    camera = np.array([center[0] + distance * math.sin(azimuth), config.camera_height,
                       center[2] + distance * math.cos(azimuth)])
    axes = sight_axes(camera, root[:, 0])  # (T, 3, 3): lateral, third, depth

    # 2, 3. each bone (parent -> joint), in chain order: its direction perturbed by the fast and slow noise
    # (in line-of-sight axes: lateral, third, depth), its length by the bias and the wobble; children move
    # with their parents, so neighbouring joints' errors are correlated as BlazePose's are (a limb is off as a whole)
    def sight_noise(lateral, depth, time):
        sd = np.stack([lateral, lateral, depth], axis=-1)  # (22, 3)
        if not sd.any():
            return np.zeros((frames, NUM_JOINTS, 3))
        return np.einsum("tjc,tcd->tjd", sd * ar1(rng, frames, (NUM_JOINTS, 3), time, fps), axes)

    noise = sight_noise(np.asarray(config.noise_lateral), np.asarray(config.noise_depth), config.noise_time)
    wobble = np.asarray(config.bone_wobble) * ar1(rng, frames, (NUM_JOINTS,), config.bone_wobble_time, fps)
    lengths = (1.0 + np.asarray(config.bone_bias)) * np.maximum(1.0 + wobble, 0.2)
    rel = perturb_bones(rel, noise, lengths)

    # 4. root: its distance from the camera scaled, then correlated errors
    scale = 1.0 + config.depth_scale * rng.standard_normal()
    offset = root[:, 0] - camera
    along = np.einsum("td,td->t", offset, axes[:, 2])
    pelvis = root[:, 0] + (max(scale, 0.1) - 1.0) * along[:, None] * axes[:, 2]
    root_sd = np.array([config.root_lateral, config.root_vertical, config.root_depth])
    if root_sd.any():
        pelvis = pelvis + np.einsum("tc,tcd->td", root_sd * ar1(rng, frames, (3,), config.root_time, fps), axes)
    out = pelvis[:, None] + rel

    # 5. gravity: pitch about the camera's horizontal axis, roll about its line of sight
    if config.tilt_deg > 0:
        sight = center - camera
        sight[1] = 0.0
        sight /= np.linalg.norm(sight)
        pitch_axis = np.cross(sight, np.array([0.0, 1.0, 0.0]))
        turn = (_rotation(pitch_axis, config.tilt_deg * rng.standard_normal())
                @ _rotation(sight, config.tilt_deg * rng.standard_normal()))
        pivot = np.array([center[0], 0.0, center[2]])
        out = (out - pivot) @ turn.T + pivot

    # 6. dropouts, 7. smoothing on the frames seen, then the gaps filled
    times = np.arange(frames) / fps
    dropped = dropout_mask(rng, frames, config.dropout_rate, config.dropout_frames)
    seen = ~dropped
    if config.smoothing:
        out[seen] = smooth(out[seen], times[seen], config)
    if dropped.any():
        out[dropped] = np.nan
        out = fill_gaps(out)
    return canonicalize(out, fps=fps, what="degrade")
