"""Root and gravity: where each person is in the room, and which way is up, from one pinhole camera.

A `PersonPose` has the body's articulation (world landmarks, metres, hip-centred) in axes that turn with
the camera: MediaPipe's world landmarks are x right, y down, z away *from the camera's point of view*, so a
camera that looks down makes an upright person lean towards it, and the pelvis never leaves the origin.
Every motion the models learned from moves through a room with gravity along -Y. This module puts the
skeleton there:

1. **Root (where).** The world landmarks are the camera-frame points minus the camera-frame position T of
   their origin (the hip midpoint), in axes that look along the ray from the camera to the hips: BlazePose
   sees a crop around the person, so a person off to one side is seen as from a camera turned towards them
   (`ray_rotation`, the smallest rotation from the optical axis to that ray, takes them to camera axes;
   `ray_aligned=False` takes the landmark axes as the camera's). Only the translation is missing. So the
   pixels say where T is: for each landmark i with metric offset W_i and normalised image coordinates
   (a_i, b_i) = ((u - cx) / f, (v - cy) / f), the pinhole model gives  X_i + Tx = a_i (Z_i + Tz)  and
   Y_i + Ty = b_i (Z_i + Tz), linear in T. `solve_translation` solves the 66 equations by weighted least
   squares, reweighted by 1 / depth so that it minimises (close to) the pixel error, not a depth-weighted one.
   Depth comes from the ratio of the landmarks' metric size to their pixel size, so it is as good as
   BlazePose's body scale (an adult-sized body: a child reads as further away) and the focal length.
2. **Camera (pinhole).** `focal_length`: from a focal length in pixels when known (`focal_px`, for images
   `focal_width` pixels wide: scaled to the images estimated on, so a calibration at full resolution works
   on resized frames), else from the horizontal field of view (default 60 degrees, a typical webcam);
   principal point at the image centre, no lens distortion.
3. **Gravity (up).** The camera's pitch (positive: looking down) and roll (positive: the camera turned
   counter-clockwise about its viewing direction, seen from behind, so that vertical lines lean to the
   right in the image) are given when the mounting is known. Otherwise they are estimated from the people:
   while a person stands (both knees nearly straight, the torso in line with the legs) the line from the
   ankles' midpoint to the shoulders' midpoint is close to vertical, so the robust mean of that direction
   over the last `tilt_window` standing frames is "up" in camera axes (`standing_axis`, `mean_direction`,
   `tilt_from_up`). Assumes people mostly stand upright when they stand: a person who leans the whole
   time (balancing, leaning on a wall) tilts the estimate by their lean; sitting, lying and crouching frames
   are not used. Until `min_tilt_samples` standing frames are seen, the camera is taken as level.
4. **Floor (height).** The floor lies under the lowest foot joint: the median, over the last
   `floor_window` frames, of the lowest of the four SMPL foot joints (ankles, balls of the feet) in
   levelled camera axes is the camera's height above the floor, unless `camera_height_m` is given. A median
   over time, so a jump (a minority of frames) leaves the floor where it was and the body rises from it.

Gravity and floor are properties of the camera, not of a person, so one `RootEstimator` per camera
collects them from every tracked person; the root is solved per person and per frame (the pose stage's
One-Euro filter smooths it with the joints).

**The world frame** (`camera_to_world`): origin on the floor directly below the camera's optical centre;
+Y up (against gravity); +Z horizontal, from the scene towards the camera (the camera looks along -Z);
+X horizontal, to the image's right. These are the skeleton's old axes (a person facing the camera faces
+Z, their left is +X), levelled and moved: a person standing 3 m in front of the camera has the pelvis
near (0, 0.9, -3) and the feet at Y = 0. `motionllm.motion.canonical` takes it from there (root to the XZ
origin, facing +Z at frame 0) and keeps the travel.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from motionllm.errors import MotionLLMError
from motionllm.motion.formats.mediapipe_landmarks import LANDMARK_INDEX, mediapipe33_to_smpl22
from motionllm.motion.skeleton import JOINT_INDEX

DEFAULT_HFOV_DEG = 60.0
TILT_WINDOW = 600        # standing frames averaged for the gravity estimate (10 s at 60 fps)
FLOOR_WINDOW = 600       # frames whose lowest foot joint places the floor
MIN_TILT_SAMPLES = 10    # standing frames before the estimate replaces "level"
MIN_WEIGHT = 0.05        # landmark weight floor in the root solve: unseen landmarks still count a little
# A pose counts as standing when both knees are straighter than this (hip-knee-ankle angle) ...
STANDING_KNEE_DEG = 150.0
# ... the torso (hips -> shoulders) is within this of the legs' line (ankles -> hips) ...
STANDING_TORSO_DEG = 20.0
# ... the ankles closer than this across the body (a wide or one-legged stance leans on purpose) ...
STANDING_STANCE_M = 0.45
# ... and the body axis is within this of the image's up: a camera rolled past it is not expected.
MAX_TILT_DEG = 60.0
OUTLIER_DEG = 15.0       # standing axes further than this from the median are left out of the mean
FEET = [JOINT_INDEX[name] for name in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
LEGS = [(LANDMARK_INDEX[f"{side}_hip"], LANDMARK_INDEX[f"{side}_knee"], LANDMARK_INDEX[f"{side}_ankle"])
        for side in ("left", "right")]
SHOULDERS = [LANDMARK_INDEX["left_shoulder"], LANDMARK_INDEX["right_shoulder"]]
HIPS = [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]
ANKLES = [LANDMARK_INDEX["left_ankle"], LANDMARK_INDEX["right_ankle"]]
CAMERA_UP = np.array([0.0, -1.0, 0.0])  # up for a level camera, in camera axes (y down)


class RootError(MotionLLMError):
    """Camera parameters the root estimate cannot use."""


@dataclass(frozen=True)
class RootConfig:
    """The camera, as far as it is known. None / 0 = unknown: estimated or defaulted as documented above."""
    horizontal_fov_deg: float = DEFAULT_HFOV_DEG  # of the image as the estimator sees it (after resizing)
    focal_px: float = 0.0                         # > 0: the focal length in pixels; overrides the FOV
    focal_width: int = 0                          # the image width focal_px is for (0: the images as estimated)
    pitch_deg: float | None = None                # known camera pitch (positive looking down); None: estimate
    roll_deg: float | None = None                 # known camera roll; None: estimate (with the pitch)
    camera_height_m: float | None = None          # known height of the optical centre above the floor
    tilt_window: int = TILT_WINDOW
    floor_window: int = FLOOR_WINDOW
    min_tilt_samples: int = MIN_TILT_SAMPLES
    ray_aligned: bool = True                      # landmark axes follow the ray to the hips (False: the optical axis)

    def __post_init__(self) -> None:
        if not 1.0 <= self.horizontal_fov_deg <= 179.0:
            raise RootError(f"horizontal field of view must be 1..179 degrees, got {self.horizontal_fov_deg}")
        if not (math.isfinite(self.focal_px) and self.focal_px >= 0):
            raise RootError(f"focal length must be >= 0 pixels (0: from the field of view), got {self.focal_px}")
        if not (isinstance(self.focal_width, int) and self.focal_width >= 0):
            raise RootError(f"focal width must be a whole number of pixels >= 0 (0: the images as estimated), "
                            f"got {self.focal_width}")
        if (self.pitch_deg is None) != (self.roll_deg is None):
            raise RootError("give both camera pitch and roll, or neither (estimated from the people)")
        for name, value in (("pitch", self.pitch_deg), ("roll", self.roll_deg)):
            if value is not None and not (math.isfinite(value) and -90.0 < value < 90.0):
                raise RootError(f"camera {name} must be in (-90, 90) degrees, got {value}")
        if self.camera_height_m is not None and not (math.isfinite(self.camera_height_m)
                                                     and 0.0 < self.camera_height_m <= 100.0):
            raise RootError(f"camera height must be in (0, 100] m, got {self.camera_height_m}")
        if min(self.tilt_window, self.floor_window, self.min_tilt_samples) < 1:
            raise RootError("tilt_window, floor_window and min_tilt_samples must be at least 1")

    @property
    def tilt_known(self) -> bool:
        return self.pitch_deg is not None


# --- the camera -------------------------------------------------------------------------------------

def focal_length(width: int, horizontal_fov_deg: float = DEFAULT_HFOV_DEG, focal_px: float = 0.0,
                 focal_width: int = 0) -> float:
    """Focal length in pixels of an image `width` pixels wide: `focal_px` if given (for images `focal_width`
    pixels wide, scaled to `width`; 0: for this width), else from the horizontal field of view."""
    if focal_px > 0:
        return float(focal_px) * (width / focal_width if focal_width > 0 else 1.0)
    return (width / 2.0) / math.tan(math.radians(horizontal_fov_deg) / 2.0)


def solve_translation(world: np.ndarray, keypoints: np.ndarray, weights: np.ndarray, focal: float,
                      center: tuple[float, float], iterations: int = 3) -> np.ndarray:
    """Camera-frame position (3,) of the world landmarks' origin (x right, y down, z forward, metres).

    `world` (N, 3): metric points in camera-aligned axes relative to an origin (MediaPipe's world
    landmarks); `keypoints` (N, 2): the same points in pixels; `weights` (N,) >= 0 (confidences). Weighted
    linear least squares on the pinhole equations, reweighted by 1 / depth (`iterations` times) so that
    every point counts by its pixel error. Raises RootError when the points cannot fix a translation.
    """
    world = np.asarray(world, dtype=np.float64)
    ab = (np.asarray(keypoints, dtype=np.float64) - np.asarray(center, dtype=np.float64)) / focal
    w = np.maximum(np.asarray(weights, dtype=np.float64), 0.0)
    n = len(world)
    # Rows [1, 0, -a] T = a Z - X and [0, 1, -b] T = b Z - Y, two per point.
    A = np.zeros((2 * n, 3))
    A[0::2, 0], A[1::2, 1] = 1.0, 1.0
    A[0::2, 2], A[1::2, 2] = -ab[:, 0], -ab[:, 1]
    rhs = np.empty(2 * n)
    rhs[0::2] = ab[:, 0] * world[:, 2] - world[:, 0]
    rhs[1::2] = ab[:, 1] * world[:, 2] - world[:, 1]
    scale = w.copy()
    translation = None
    for _ in range(iterations + 1):
        row_w = np.sqrt(np.repeat(scale, 2))
        solution, _, rank, _ = np.linalg.lstsq(A * row_w[:, None], rhs * row_w, rcond=None)
        if rank < 3 or not np.isfinite(solution).all():
            raise RootError("root: the keypoints do not fix the body's position (too few or all in one place)")
        translation = solution
        depth = world[:, 2] + translation[2]
        if (depth <= 0).any():
            break  # a point behind the camera: a wrong focal length or a bad detection; keep the linear answer
        scale = w / depth ** 2  # squared residuals scale with 1/depth^2 in pixels
    if translation[2] <= 0:
        raise RootError(f"root: the body would be {translation[2]:.2f} m behind the camera "
                        "(a wrong focal length or field of view, or a bad detection)")
    return translation


def ray_rotation(pixel, focal: float, center: tuple[float, float]) -> np.ndarray:
    """(3, 3) the smallest rotation taking the optical axis (0, 0, 1) to the ray through `pixel`."""
    d = np.array([(pixel[0] - center[0]) / focal, (pixel[1] - center[1]) / focal, 1.0])
    d /= np.linalg.norm(d)
    axis = np.cross([0.0, 0.0, 1.0], d)
    s, c = np.linalg.norm(axis), d[2]
    if s < 1e-12:
        return np.eye(3)
    k = axis / s
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + s * K + (1 - c) * K @ K


# --- gravity --------------------------------------------------------------------------------------

def level_from_camera(pitch_deg: float, roll_deg: float) -> np.ndarray:
    """(3, 3) rotation R taking camera-axes vectors to levelled camera axes (x right, y down = gravity,
    z forward, both horizontal): p_level = R @ p_camera. Its transpose, Rz(roll) @ Rx(pitch), takes the
    level camera's up (0, -1, 0) to (sin(roll) cos(pitch), -cos(roll) cos(pitch), -sin(pitch))."""
    p, r = math.radians(pitch_deg), math.radians(roll_deg)
    rx = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(p), -math.sin(p)], [0.0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0.0], [math.sin(r), math.cos(r), 0.0], [0.0, 0.0, 1.0]])
    return (rz @ rx).T


def up_from_tilt(pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The up direction (3,) in camera axes of a camera with this pitch and roll."""
    return level_from_camera(pitch_deg, roll_deg).T @ CAMERA_UP


def tilt_from_up(up: np.ndarray) -> tuple[float, float]:
    """(pitch, roll) in degrees of the camera in whose axes `up` (3,) points up; inverse of up_from_tilt."""
    up = np.asarray(up, dtype=np.float64)
    up = up / np.linalg.norm(up)
    pitch = math.degrees(math.asin(float(np.clip(-up[2], -1.0, 1.0))))
    roll = math.degrees(math.atan2(float(up[0]), float(-up[1])))
    return pitch, roll


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    cos = float(u @ v) / max(float(np.linalg.norm(u) * np.linalg.norm(v)), 1e-12)
    return math.degrees(math.acos(float(np.clip(cos, -1.0, 1.0))))


def standing_axis(world: np.ndarray, confidences: np.ndarray | None = None,
                  min_confidence: float = 0.5) -> np.ndarray | None:
    """The body's axis (unit (3,), ankles' midpoint -> shoulders' midpoint, camera axes) when the pose
    (33 MediaPipe world landmarks) is standing; None otherwise.

    Standing: both knees straighter than STANDING_KNEE_DEG, the torso within STANDING_TORSO_DEG of the
    legs' line, the ankles within STANDING_STANCE_M of each other across the axis, hips, knees, ankles and shoulders seen (confidence >= min_confidence), and the axis within
    MAX_TILT_DEG of the image's up (a bent or unseen body says nothing reliable about gravity).
    """
    world = np.asarray(world, dtype=np.float64)
    if confidences is not None:
        needed = [i for leg in LEGS for i in leg] + SHOULDERS
        if (np.asarray(confidences)[needed] < min_confidence).any():
            return None
    for hip, knee, ankle in LEGS:
        if _angle_deg(world[hip] - world[knee], world[ankle] - world[knee]) < STANDING_KNEE_DEG:
            return None
    shoulders, hips, ankles = (world[idx].mean(axis=0) for idx in (SHOULDERS, HIPS, ANKLES))
    if _angle_deg(shoulders - hips, hips - ankles) > STANDING_TORSO_DEG:
        return None
    axis = shoulders - ankles
    axis = axis / np.linalg.norm(axis)
    stance = world[ANKLES[0]] - world[ANKLES[1]]
    if np.linalg.norm(stance - (stance @ axis) * axis) > STANDING_STANCE_M:
        return None
    if _angle_deg(axis, CAMERA_UP) > MAX_TILT_DEG:
        return None
    return axis


def mean_direction(vectors: np.ndarray, outlier_deg: float = OUTLIER_DEG) -> np.ndarray:
    """Robust mean of unit vectors (N, 3): start from the normalised component-wise median, then average
    the vectors within `outlier_deg` of it (twice). A few frames of a wrong pose do not move it."""
    vectors = np.asarray(vectors, dtype=np.float64)
    mean = np.median(vectors, axis=0)
    mean /= np.linalg.norm(mean)
    for _ in range(2):
        near = vectors[vectors @ mean >= math.cos(math.radians(outlier_deg))]
        if len(near) == 0:
            break
        mean = near.mean(axis=0)
        mean /= np.linalg.norm(mean)
    return mean


# --- the world frame ----------------------------------------------------------------------------------

def camera_to_world(points: np.ndarray, rotation: np.ndarray, camera_height: float) -> np.ndarray:
    """Camera-frame points (..., 3) -> the world frame (module docstring): level them with `rotation`
    (level_from_camera), then X = x, Y = camera_height - y, Z = -z."""
    level = np.asarray(points, dtype=np.float64) @ rotation.T
    return np.stack([level[..., 0], camera_height - level[..., 1], -level[..., 2]], axis=-1)


def floor_below_camera(feet: np.ndarray, rotation: np.ndarray) -> float:
    """Camera height above the floor from foot joints in camera axes (T, K, 3): the median over frames of
    the lowest foot joint's depth below the camera, in levelled axes (y down)."""
    lowest = (np.asarray(feet, dtype=np.float64) @ rotation.T)[..., 1].max(axis=-1)
    return float(np.median(lowest))


# --- the per-camera state -------------------------------------------------------------------------------

class RootEstimator:
    """Puts each person's skeleton in the world frame: `joints = root(pose, image_width, image_height)`.

    Keeps the camera's gravity and floor estimates (from every person it is given); stateless per person.
    Not thread-safe: one caller (the pose stage).
    """

    def __init__(self, config: RootConfig | None = None) -> None:
        self.config = config if config is not None else RootConfig()
        self._axes: deque[np.ndarray] = deque(maxlen=self.config.tilt_window)
        self._feet: deque[np.ndarray] = deque(maxlen=self.config.floor_window)
        self._tilt: tuple[float, float] | None = None  # cached estimate, None when it must be recomputed

    @property
    def standing_samples(self) -> int:
        return len(self._axes)

    @property
    def tilt_deg(self) -> tuple[float, float]:
        """(pitch, roll) of the camera in degrees: the known mounting, the estimate, or (0, 0) until then."""
        c = self.config
        if c.tilt_known:
            return float(c.pitch_deg), float(c.roll_deg)
        if len(self._axes) < c.min_tilt_samples:
            return 0.0, 0.0
        if self._tilt is None:
            self._tilt = tilt_from_up(mean_direction(np.array(self._axes)))
        return self._tilt

    @property
    def rotation(self) -> np.ndarray:
        return level_from_camera(*self.tilt_deg)

    @property
    def camera_height(self) -> float | None:
        """Height of the camera above the floor, m: the known one, the estimate, or None before any person."""
        if self.config.camera_height_m is not None:
            return float(self.config.camera_height_m)
        if not self._feet:
            return None
        return floor_below_camera(np.array(self._feet), self.rotation)

    def camera_points(self, pose, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(translation (3,), hip-centred landmarks (33, 3), SMPL-22 joints (22, 3)) of a PersonPose in camera
        axes (x right, y down, z forward)."""
        world = pose.world_landmarks.astype(np.float64)
        c = self.config
        focal = focal_length(width, c.horizontal_fov_deg, c.focal_px, c.focal_width)
        center = (width / 2.0, height / 2.0)
        if c.ray_aligned:
            world = world @ ray_rotation(pose.keypoints[HIPS].mean(axis=0), focal, center).T
        translation = solve_translation(world, pose.keypoints, np.maximum(pose.confidences, MIN_WEIGHT),
                                        focal, center)
        return translation, world, mediapipe33_to_smpl22(world) + translation

    def __call__(self, pose, width: int, height: int) -> np.ndarray:
        """The (22, 3) float32 SMPL-22 joints of `pose` (a PersonPose) in the world frame, with root.

        `width`, `height`: the image the pose was estimated on (the pinhole's size). Raises RootError.
        """
        _, world, joints = self.camera_points(pose, width, height)
        if not self.config.tilt_known:
            axis = standing_axis(world, pose.confidences)
            if axis is not None:
                self._axes.append(axis)
                self._tilt = None
        self._feet.append(joints[FEET])
        return camera_to_world(joints, self.rotation, self.camera_height).astype(np.float32)

    def reset(self) -> None:
        """Forget the gravity and floor estimates (another camera, a moved camera)."""
        self._axes.clear()
        self._feet.clear()
        self._tilt = None
