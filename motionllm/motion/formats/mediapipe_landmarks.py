"""MediaPipe Pose's 33 landmarks -> SMPL-22, and landmark sequence files (input only).

`mediapipe33_to_smpl22` is the one mapping from MediaPipe's body landmarks to SMPL-22; the live pose
estimator uses it too. Every SMPL joint is a fixed weighted average of landmarks (weights sum to 1), so
the mapping works in any coordinate frame and commutes with moving, turning and scaling the body.

MediaPipe's world landmarks are metres with the origin between the hips, x towards the image's right,
y DOWN (image rows) and z away from the camera (smaller z is nearer): a right-handed, camera-like frame.
`world_to_y_up` turns that half a turn about x: (x, -y, -z), so Y is up and a person facing the camera
faces +Z with their left side (image right for an unmirrored image) towards +X, as canonical motion wants.

Files: .npy of shape (T, 33, 3|4|5): x, y, z (then visibility, presence, which are ignored); or JSON:
a list of frames, or {"fps": F, "frames": [...]}, each frame a list of 33 landmarks given as [x, y, z, ...]
or {"x": .., "y": .., "z": .., ...} (a frame may also be {"world_landmarks": [...]}). Frames carry no
time, so the rate comes from --fps or the JSON's "fps".
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from motionllm.errors import MotionFormatError
from motionllm.motion.skeleton import JOINT_INDEX, NUM_JOINTS

NUM_LANDMARKS = 33
LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
LANDMARK_INDEX = {name: i for i, name in enumerate(LANDMARK_NAMES)}

# Fractions along the pelvis-to-neck line of SMPL's spine joints (reference body: 0.13, 0.14, 0.06,
# 0.22 m between pelvis, spine1, spine2, spine3 and neck).
SPINE_FRACTIONS = {"spine1": 0.24, "spine2": 0.50, "spine3": 0.60}
NECK_UP = 0.30   # the neck: this far from the shoulder midpoint towards the ear midpoint
HEAD_UP = 0.75   # the head joint (~0.1 m above the neck in SMPL): most of the way to the ears
BALL_OF_FOOT = 0.75  # SMPL's foot joint: this far from the heel towards the toe tip


def _recipes() -> dict[str, dict[str, float]]:
    """Each SMPL joint as {landmark name: weight}."""
    def mix(*terms):
        out: dict[str, float] = {}
        for weight, recipe in terms:
            for name, w in recipe.items():
                out[name] = out.get(name, 0.0) + weight * w
        return out

    one = lambda name: {name: 1.0}  # noqa: E731
    hips = mix((0.5, one("left_hip")), (0.5, one("right_hip")))
    shoulders = mix((0.5, one("left_shoulder")), (0.5, one("right_shoulder")))
    ears = mix((0.5, one("left_ear")), (0.5, one("right_ear")))
    neck = mix((1 - NECK_UP, shoulders), (NECK_UP, ears))
    recipes = {
        "pelvis": hips,
        "neck": neck,
        "head": mix((1 - HEAD_UP, shoulders), (HEAD_UP, ears)),
        **{name: mix((1 - f, hips), (f, neck)) for name, f in SPINE_FRACTIONS.items()},
    }
    for side in ("left", "right"):
        for joint in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"):
            recipes[f"{side}_{joint}"] = one(f"{side}_{joint}")
        recipes[f"{side}_collar"] = mix((0.5, neck), (0.5, one(f"{side}_shoulder")))
        recipes[f"{side}_foot"] = mix((1 - BALL_OF_FOOT, one(f"{side}_heel")),
                                      (BALL_OF_FOOT, one(f"{side}_foot_index")))
    return recipes


def _weights() -> np.ndarray:
    weights = np.zeros((NUM_JOINTS, NUM_LANDMARKS))
    for joint, recipe in _recipes().items():
        for landmark, w in recipe.items():
            weights[JOINT_INDEX[joint], LANDMARK_INDEX[landmark]] += w
    return weights


# (22, 33): SMPL joint j = sum_k WEIGHTS[j, k] * landmark k. Every row sums to 1.
WEIGHTS = _weights()


def mediapipe33_to_smpl22(landmarks: np.ndarray) -> np.ndarray:
    """MediaPipe Pose landmarks (..., 33, 3) -> SMPL-22 joints (..., 22, 3), in the same frame and units."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape[-2:] != (NUM_LANDMARKS, 3):
        raise MotionFormatError(f"expected MediaPipe landmarks of shape (..., 33, 3), got {landmarks.shape}")
    return np.einsum("jk,...kc->...jc", WEIGHTS, landmarks)


def world_to_y_up(points: np.ndarray) -> np.ndarray:
    """MediaPipe world frame (x right, y down, z away from the camera) -> Y up, facing the camera = +Z."""
    return points * np.array([1.0, -1.0, -1.0])


def _landmark_xyz(landmark, what: str) -> list[float]:
    if isinstance(landmark, dict):
        try:
            return [landmark["x"], landmark["y"], landmark["z"]]
        except KeyError:
            raise MotionFormatError(f"{what}: a landmark object needs 'x', 'y' and 'z'") from None
    if isinstance(landmark, (list, tuple)) and len(landmark) >= 3:
        return list(landmark[:3])
    raise MotionFormatError(f"{what}: a landmark must be [x, y, z, ...] or {{'x':, 'y':, 'z':}}")


def parse_json(text: str, what: str) -> tuple[np.ndarray, float | None]:
    """JSON landmark sequence -> ((T, 33, 3) landmarks, fps or None)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MotionFormatError(f"{what}: not valid JSON ({str(exc).splitlines()[0]})") from None
    fps = None
    if isinstance(data, dict):
        fps = data.get("fps")
        if fps is not None and not (isinstance(fps, (int, float)) and fps > 0):
            raise MotionFormatError(f"{what}: 'fps' must be a positive number, got {fps!r}")
        data = data.get("frames")
    if not isinstance(data, list):
        raise MotionFormatError(f"{what}: expected a list of frames")
    frames = []
    for k, frame in enumerate(data):
        if isinstance(frame, dict):
            frame = frame.get("world_landmarks", frame.get("landmarks"))
        if not isinstance(frame, list) or len(frame) != NUM_LANDMARKS:
            raise MotionFormatError(f"{what}: frame {k} must hold {NUM_LANDMARKS} landmarks")
        frames.append([_landmark_xyz(lm, what) for lm in frame])
    try:
        landmarks = np.array(frames, dtype=np.float64).reshape(len(frames), NUM_LANDMARKS, 3)
    except (ValueError, TypeError):
        raise MotionFormatError(f"{what}: landmark coordinates must be numbers") from None
    return landmarks, float(fps) if fps is not None else None


def read(path: str | os.PathLike, fps: float | None = None) -> tuple[np.ndarray, float]:
    """Landmark sequence (.npy or .json) -> (SMPL-22 joints (T, 22, 3) in metres, Y up; frames per second)."""
    from motionllm.motion.formats.arrays import load_npy

    path = Path(path)
    if path.suffix.lower() == ".npy":
        landmarks = load_npy(path)
        if landmarks.ndim != 3 or landmarks.shape[1] != NUM_LANDMARKS or landmarks.shape[2] not in (3, 4, 5):
            raise MotionFormatError(f"{path.name}: expected landmarks of shape (T, 33, 3|4|5), got {landmarks.shape}")
        landmarks, stored_fps = landmarks[..., :3].astype(np.float64), None
    else:
        try:
            landmarks, stored_fps = parse_json(path.read_text(), path.name)
        except UnicodeDecodeError:
            raise MotionFormatError(f"{path.name}: not a text file") from None
    rate = fps or stored_fps
    if rate is None:
        raise MotionFormatError(f"{path.name}: MediaPipe landmarks store no frame rate: pass --fps")
    if not np.all(np.isfinite(landmarks)):
        bad = int((~np.isfinite(landmarks)).any(axis=(1, 2)).sum())
        raise MotionFormatError(f"{path.name}: {bad} frame(s) contain NaN or infinite landmarks")
    return world_to_y_up(mediapipe33_to_smpl22(landmarks)), float(rate)
