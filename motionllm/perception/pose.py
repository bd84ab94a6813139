"""3D human pose from one RGB image: the `PoseEstimator` interface, `PersonPose`, and BlazePose.

An estimator turns an RGB uint8 image into a list of `PersonPose`, one per person found (possibly none):

    with make_estimator("blazepose", max_people=4) as estimator:
        for person in estimator.estimate(rgb):
            person.joints          # (22, 3) SMPL-22, metres, Y up, pelvis at the origin
            person.keypoints       # (33, 2) MediaPipe landmarks in pixels, with person.confidences (33,)

A `PersonPose` holds the 33 MediaPipe-topology landmarks, both metric (world, hip-centred, in MediaPipe's
camera-like frame: x right, y down, z away from the camera) and in pixels, and the SMPL-22 joints made from
the world landmarks by the one 33->22 mapping (`motionllm.motion.formats.mediapipe_landmarks`), turned to
the library's axes: Y up, a person facing the camera faces +Z, their left is +X. Monocular world
landmarks carry no distance from the camera, so the pelvis stays at the origin.

Implementations subclass `PoseEstimator` and define `_detect(rgb)`; the base class checks the image
(`ImageError`) and every detection (`InvalidLandmarksError` for NaN or infinite landmarks), so every
estimator fails the same way. Estimators keep state between frames (tracking) and are not thread-safe:
use one from one thread.
"""
from __future__ import annotations

import importlib
import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterable

import numpy as np

from motionllm.errors import MotionFormatError, MotionLLMError
from motionllm.console import native_stderr_silenced
from motionllm.motion.formats.mediapipe_landmarks import NUM_LANDMARKS, mediapipe33_to_smpl22, world_to_y_up

# A detection as estimators produce it: world landmarks (33, 3) m, keypoints (33, 2) px, confidences (33,).
Detection = tuple[np.ndarray, np.ndarray, np.ndarray]


class ImageError(MotionFormatError):
    """An image an estimator cannot take: wrong type, dtype, shape, or empty."""


class InvalidLandmarksError(MotionFormatError):
    """An estimator produced landmarks that are NaN, infinite or of the wrong shape."""


def check_rgb(rgb: Any) -> np.ndarray:
    """An RGB uint8 (H, W, 3) image with H, W > 0, as a C-contiguous array; raises ImageError."""
    if not isinstance(rgb, np.ndarray):
        raise ImageError(f"image: expected a numpy array, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise ImageError(f"image: expected uint8 pixels, got {rgb.dtype}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageError(f"image: expected an RGB array of shape (H, W, 3), got {rgb.shape}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageError(f"image: empty image of shape {rgb.shape}")
    return np.ascontiguousarray(rgb)


@dataclass(frozen=True)
class PersonPose:
    world_landmarks: np.ndarray  # (33, 3) float32 metres, MediaPipe world frame (x right, y down, z away)
    keypoints: np.ndarray        # (33, 2) float32 pixels: x to the right, y down (may lie outside the image)
    confidences: np.ndarray      # (33,) float32 in [0, 1]: how likely each landmark is visible
    joints: np.ndarray           # (22, 3) float32 SMPL-22 (T2M order), metres, Y up, pelvis at the origin

    @classmethod
    def from_landmarks(cls, world_landmarks: np.ndarray, keypoints: np.ndarray,
                       confidences: np.ndarray) -> "PersonPose":
        """Validate one detection and derive its SMPL-22 joints. Raises InvalidLandmarksError."""
        arrays = {}
        for name, value, shape in (("world landmarks", world_landmarks, (NUM_LANDMARKS, 3)),
                                   ("keypoints", keypoints, (NUM_LANDMARKS, 2)),
                                   ("confidences", confidences, (NUM_LANDMARKS,))):
            array = np.asarray(value, dtype=np.float64)
            if array.shape != shape:
                raise InvalidLandmarksError(f"pose: expected {name} of shape {shape}, got {array.shape}")
            bad = ~np.isfinite(array).reshape(NUM_LANDMARKS, -1).all(axis=1)
            if bad.any():
                raise InvalidLandmarksError(f"pose: {int(bad.sum())} of {NUM_LANDMARKS} {name} are NaN or infinite")
            arrays[name] = array
        world = arrays["world landmarks"]
        joints = world_to_y_up(mediapipe33_to_smpl22(world))
        joints -= joints[0]  # MediaPipe's origin is the hip midpoint, which is the pelvis: make it exact
        return cls(world_landmarks=world.astype(np.float32),
                   keypoints=arrays["keypoints"].astype(np.float32),
                   confidences=np.clip(arrays["confidences"], 0.0, 1.0).astype(np.float32),
                   joints=joints.astype(np.float32))

    @property
    def score(self) -> float:
        """Mean landmark confidence: a rough certainty that this is a whole, visible person."""
        return float(self.confidences.mean())


class PoseEstimator(ABC):
    """Estimates the 3D pose of every person in an RGB image. Subclasses define `_detect`."""

    name: ClassVar[str] = "pose estimator"

    def estimate(self, rgb: np.ndarray) -> list[PersonPose]:
        """RGB uint8 (H, W, 3) -> one PersonPose per person found (an empty list when there is nobody).

        Raises ImageError for an image it cannot take, InvalidLandmarksError when a detection has
        NaN or infinite landmarks (the frame should then be skipped).
        """
        rgb = check_rgb(rgb)
        return [PersonPose.from_landmarks(*detection) for detection in self._detect(rgb)]

    @abstractmethod
    def _detect(self, rgb: np.ndarray) -> Iterable[Detection]:
        """Detections in a checked RGB image: (world landmarks (33, 3), keypoints px (33, 2), confidences (33,))."""

    def close(self) -> None:
        """Release the model; the estimator cannot be used afterwards."""

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class BlazePoseEstimator(PoseEstimator):
    """MediaPipe BlazePose GHUM 3D (the "full" model shipped in mediapipe 0.10.14), one person per image
    ("blazepose_single"; "blazepose" is `MultiPoseEstimator`, the same models for up to `max_people`).

    Uses MediaPipe's legacy `solutions.pose` graph: a person detector, then a landmark model that follows
    the person from frame to frame (`static_image_mode=False`) and runs the detector again only when it
    loses them. MediaPipe's own landmark smoothing is off: the pose stage smooths with a One-Euro filter
    per track, on real capture times. Confidences are MediaPipe's per-landmark visibility.
    """

    name = "blazepose_single"

    def __init__(self, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 static_image_mode: bool = False) -> None:
        for label, value in (("min_detection_confidence", min_detection_confidence),
                             ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= value <= 1.0:
                raise MotionLLMError(f"blazepose: {label} must be in [0, 1], got {value}")
        try:
            from mediapipe.python.solutions import pose as mp_pose
        except ImportError as exc:
            raise MotionLLMError(f"blazepose needs mediapipe 0.10.14 with its legacy solutions ({exc}): "
                                 "pip install mediapipe==0.10.14") from None
        # model_complexity=1 is the "full" model: the only one mediapipe ships (lite/heavy are downloads).
        with native_stderr_silenced():  # TensorFlow Lite's and absl's start-up lines
            self._pose = mp_pose.Pose(static_image_mode=static_image_mode, model_complexity=1,
                                      smooth_landmarks=False, enable_segmentation=False,
                                      min_detection_confidence=min_detection_confidence,
                                      min_tracking_confidence=min_tracking_confidence)
            # the graph's threads load its models (and print) asynchronously: an empty image waits for them
            self._pose.process(np.zeros((64, 64, 3), np.uint8))
        self._quiet_frames = QUIET_FRAMES  # the graph prints more as its models start, over the first images

    def _detect(self, rgb: np.ndarray) -> list[Detection]:
        if self._pose is None:
            raise MotionLLMError("blazepose: the estimator was closed")
        with native_stderr_silenced(self._quiet_frames > 0):
            results = self._pose.process(rgb)
        self._quiet_frames -= 1
        if results.pose_world_landmarks is None or results.pose_landmarks is None:
            return []
        world = np.array([(p.x, p.y, p.z) for p in results.pose_world_landmarks.landmark], dtype=np.float64)
        image = np.array([(p.x, p.y, p.visibility) for p in results.pose_landmarks.landmark], dtype=np.float64)
        height, width = rgb.shape[:2]
        keypoints = image[:, :2] * (width, height)  # normalised [0, 1] image coordinates -> pixels
        return [(world, keypoints, image[:, 2])]

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None


QUIET_FRAMES = 5  # BlazePose's landmark model starts on the frame after the first detection: a few frames in
MAX_PEOPLE = 4
POSE_TASK = "pose_landmarker_full.task"
# The input normalisation of mediapipe's two pose models, as its legacy graphs feed them (pose_detection_cpu:
# [-1, 1]; pose_landmark_by_roi_cpu: [0, 1]); the Tasks API reads it from the models' metadata.
DETECTOR_NORMALISATION, LANDMARKS_NORMALISATION = (127.5, 127.5), (0.0, 255.0)


def pose_task_file() -> Path:
    """MediaPipe Tasks' PoseLandmarker bundle, made once from the two models mediapipe 0.10.14 ships for its
    legacy solution (pose_detection.tflite, pose_landmark_full.tflite) with the metadata the Tasks API needs,
    by mediapipe's own metadata writer; cached in <cache>/models. No download: the same weights as
    BlazePoseEstimator's."""
    from motionllm.fileio import atomic_path, file_lock
    from motionllm.motion.samples import cache_dir

    path = cache_dir() / "models" / POSE_TASK
    if path.is_file():
        return path
    try:
        import mediapipe
        from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, model_asset_bundle_utils
    except ImportError as exc:
        raise MotionLLMError(f"blazepose needs mediapipe 0.10.14 ({exc}): pip install mediapipe==0.10.14") from None
    modules = Path(mediapipe.__file__).parent / "modules"

    def with_metadata(model: Path, normalisation: tuple[float, float], outputs: int) -> bytes:
        writer = metadata_writer.MetadataWriter.create(bytearray(model.read_bytes()))
        writer.add_general_info(model.name, "mediapipe 0.10.14's model, with input metadata for the Tasks API")
        writer.add_image_input([normalisation[0]], [normalisation[1]])
        for k in range(outputs):
            writer.add_feature_output(name=f"output_{k}")
        return bytes(writer.populate()[0])

    with file_lock(path.with_suffix(".lock")):
        if not path.is_file():
            models = {"pose_detector.tflite": with_metadata(modules / "pose_detection" / "pose_detection.tflite",
                                                            DETECTOR_NORMALISATION, 2),
                      "pose_landmarks_detector.tflite": with_metadata(
                          modules / "pose_landmark" / "pose_landmark_full.tflite", LANDMARKS_NORMALISATION, 5)}
            with atomic_path(path) as tmp:
                model_asset_bundle_utils.create_model_asset_bundle(models, str(tmp))
    return path


class MultiPoseEstimator(PoseEstimator):
    """BlazePose GHUM 3D for up to `max_people` people per image ("blazepose", the default): MediaPipe Tasks'
    PoseLandmarker in video mode on the models of `pose_task_file` (BlazePoseEstimator's). The person detector
    runs on every frame while fewer than `max_people` are followed, and each person found is followed from frame
    to frame by the landmark model. People must be large enough for BlazePose's 224-pixel detector: on a
    640x480 image, about a third of its height or more (docs/perception.md, "Several people"). Ids across frames
    are the pose stage's tracker's, as for one person."""

    name = "blazepose"

    def __init__(self, max_people: int = MAX_PEOPLE, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, static_image_mode: bool = False) -> None:
        if not 1 <= int(max_people) <= 16:
            raise MotionLLMError(f"blazepose: max_people must be in 1..16, got {max_people}")
        for label, value in (("min_detection_confidence", min_detection_confidence),
                             ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= value <= 1.0:
                raise MotionLLMError(f"blazepose: {label} must be in [0, 1], got {value}")
        task = pose_task_file()
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        options = PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(task)),
                                        running_mode=RunningMode.IMAGE if static_image_mode else RunningMode.VIDEO,
                                        num_poses=int(max_people),
                                        min_pose_detection_confidence=min_detection_confidence,
                                        min_pose_presence_confidence=min_tracking_confidence,
                                        min_tracking_confidence=min_tracking_confidence)
        self._static = static_image_mode  # every image on its own: no following people between images
        self._timestamp_ms = 0
        with native_stderr_silenced():  # TensorFlow Lite's and absl's start-up lines
            self._landmarker = PoseLandmarker.create_from_options(options)
            self._run(np.zeros((64, 64, 3), np.uint8))
        self._quiet_frames = QUIET_FRAMES
        self.max_people = int(max_people)

    @staticmethod
    def _image(rgb: np.ndarray):
        import mediapipe as mp

        return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))

    def _run(self, rgb: np.ndarray):
        if self._static:
            return self._landmarker.detect(self._image(rgb))
        self._timestamp_ms += 33  # video mode wants increasing timestamps; the landmarks do not use their spacing
        return self._landmarker.detect_for_video(self._image(rgb), self._timestamp_ms)

    def _detect(self, rgb: np.ndarray) -> list[Detection]:
        if self._landmarker is None:
            raise MotionLLMError("blazepose: the estimator was closed")
        with native_stderr_silenced(self._quiet_frames > 0):
            result = self._run(rgb)
        self._quiet_frames -= 1
        height, width = rgb.shape[:2]
        detections = []
        for world_landmarks, image_landmarks in zip(result.pose_world_landmarks, result.pose_landmarks):
            world = np.array([(p.x, p.y, p.z) for p in world_landmarks], dtype=np.float64)
            image = np.array([(p.x, p.y, p.visibility if p.visibility is not None else 0.0)
                              for p in image_landmarks], dtype=np.float64)
            detections.append((world, image[:, :2] * (width, height), image[:, 2]))
        return detections

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None


# Estimators selectable by name (the pose_estimator node's `estimator` parameter, `motionllm pose --estimator`).
ESTIMATORS: dict[str, type[PoseEstimator]] = {"blazepose": MultiPoseEstimator, "blazepose_single": BlazePoseEstimator}


def estimator_class(spec: str) -> type[PoseEstimator]:
    """A registered name ("blazepose") or "package.module:ClassName" of a PoseEstimator subclass."""
    if spec in ESTIMATORS:
        return ESTIMATORS[spec]
    known = ", ".join(sorted(ESTIMATORS))
    if ":" not in spec:
        raise MotionLLMError(f"unknown pose estimator {spec!r} (known: {known}; or module:Class of a PoseEstimator)")
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise MotionLLMError(f"cannot load pose estimator {spec!r}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, PoseEstimator)):
        raise MotionLLMError(f"pose estimator {spec!r} is not a PoseEstimator subclass")
    return cls


def accepted_options(spec: str, **candidates: Any) -> dict[str, Any]:
    """The `candidates` that the estimator named by `spec` takes (a plug-in may take none of ours)."""
    accepted = inspect.signature(estimator_class(spec)).parameters
    return {name: value for name, value in candidates.items() if name in accepted}


def make_estimator(spec: str = "blazepose", **options: Any) -> PoseEstimator:
    """Create the estimator named by `spec` (see `estimator_class`) with keyword `options`."""
    cls = estimator_class(spec)
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as exc:
        raise MotionLLMError(f"pose estimator {spec!r} does not take these options: {exc}") from None
    return cls(**options)
