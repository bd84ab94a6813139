"""Root and gravity of the single-camera pose stage against a calibrated multi-camera reference.

    python benchmarks/root_gravity.py [--demo DIR] [--width 540] [--optical-axis] [--cache FILE.npz]

Reference: the Pose2Sim 0.10.49 package's Demo_SinglePerson (pip install --no-deps pose2sim==0.10.49; BSD-3):
four synchronised 60 fps videos of one person balancing (cam01.mp4 is the shared video
../shared/data/video/pose2sim_single_cam01.mp4) and a Qualisys calibration (calibration/Calib.qca.txt:
intrinsics and extrinsics of the four cameras in a lab frame in millimetres, Z up, the floor at Z = 0).
The package ships no 3D trajectories (.trc) and no .toml calibration, so the reference root is made here:
BlazePose's 2D hip, shoulder and ankle keypoints in all four views, triangulated (weighted DLT) with the
calibration. That reference is independent of what is measured (one camera's metric depth, tilt and
floor), though it shares BlazePose's 2D keypoints.

For each camera it prints:
- tilt: the calibrated pitch/roll of the camera against gravity (lab Z) and the pose stage's estimate
  from the person alone (`RootEstimator`, tilt unknown), and the person's own lean in the reference
  (the ankles -> shoulders line on the standing frames): a lean the estimate cannot tell from a tilt;
- root: the stage's pelvis (world frame, One-Euro smoothed as live) against the triangulated hip midpoint
  expressed in the same world frame built from the calibration (floor below the camera, Y up, Z towards
  the camera): mean 3D error, horizontal and height errors, the error after removing the mean offset
  (the trajectory's shape), and the travel (first -> last frame) of both;
- heading: mean absolute difference of the facing direction about Y.
Three camera models: the calibrated focal length with tilt estimated (the live default when the focal
length is set), the calibrated focal length and tilt (a known mounting), and the default 60 degree field
of view with tilt estimated (nothing known). BlazePose's landmark axes are read along the ray to the hips,
as the pose stage does (`--optical-axis`: as the camera's). BlazePose runs once per video (100 frames each:
~15 s in all on 2 cores); `--cache FILE.npz` keeps its detections for another run.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from motionllm.motion.formats.mediapipe_landmarks import LANDMARK_INDEX
from motionllm.motion.skeleton import facing_directions
from motionllm.perception.pose import PoseEstimator, make_estimator
from motionllm.perception.root import RootConfig, RootEstimator, standing_axis, tilt_from_up
from motionllm.perception.smoothing import SkeletonSmoother
from motionllm.perception.sources import VideoFileSource
from motionllm.perception.stage import PoseStage

CAMERAS = ("cam01", "cam02", "cam03", "cam04")
REFERENCE_LANDMARKS = {name: LANDMARK_INDEX[name] for name in (
    "left_hip", "right_hip", "left_shoulder", "right_shoulder", "left_ankle", "right_ankle")}


@dataclass
class Camera:
    name: str
    rotation: np.ndarray   # (3, 3) lab -> OpenCV camera axes (x right, y down, z forward)
    center: np.ndarray     # (3,) optical centre in the lab, m
    K: np.ndarray          # (3, 3) at the calibration's full resolution
    dist: np.ndarray       # (k1, k2, p1, p2)
    width: int

    @property
    def translation(self) -> np.ndarray:
        return -self.rotation @ self.center


def read_qca(path: Path) -> dict[str, Camera]:
    """Qualisys .qca.txt -> cameras in OpenCV convention, read as Pose2Sim's calibration.read_qca /
    calib_qca_fun do: R_cv = Rx(pi) @ R_qca (Qualisys cameras look along their -Z), t = -R_cv @ position."""
    cameras = {}
    for tag in ET.parse(path).getroot().findall("cameras/camera"):
        t, i, fov = tag.find("transform").attrib, tag.find("intrinsic").attrib, tag.find("fov_video").attrib
        m = np.array([[float(t[f"r{a}{b}"]) for b in (1, 2, 3)] for a in (1, 2, 3)])
        K = np.array([[float(i["focalLengthU"]) / 64, 0.0, float(i["centerPointU"]) / 64 - float(fov["left"])],
                      [0.0, float(i["focalLengthV"]) / 64, float(i["centerPointV"]) / 64 - float(fov["top"])],
                      [0.0, 0.0, 1.0]])
        dist = np.array([float(i[k]) / 64 for k in ("radialDistortion1", "radialDistortion2",
                                                     "tangentalDistortion1", "tangentalDistortion2")])
        cameras[tag.attrib["serial"]] = Camera(
            tag.attrib["serial"], np.diag([1.0, -1.0, -1.0]) @ m, np.array([float(t[k]) for k in "xyz"]) / 1000,
            K, dist, int(fov["right"]) - int(fov["left"]) + 1)
    return cameras


class ReplayEstimator(PoseEstimator):
    """Hands out recorded detections in order: the same BlazePose output for every camera model."""

    def __init__(self, detections) -> None:
        self.detections, self.k = detections, 0

    def _detect(self, rgb):
        detection = self.detections[self.k]
        self.k += 1
        return [detection] if detection is not None else []


def detect(video: Path, width: int):
    """(detections per frame (world, keypoints px, confidences) or None, image shape) at `width`."""
    detections = []
    with VideoFileSource(video, fps=None, width=width) as source, make_estimator("blazepose") as estimator:
        for rgb, _ in source:
            people = estimator.estimate(rgb)
            detections.append((people[0].world_landmarks, people[0].keypoints, people[0].confidences)
                              if people else None)
    return detections, rgb.shape


def save_runs(path: Path, width: int, runs: dict) -> None:
    """BlazePose's detections as a plain .npz (no pickle: a cache file is data, not code)."""
    arrays = {"width": np.array(width)}
    for cam, (detections, shape) in runs.items():
        found = np.array([d is not None for d in detections])
        template = next(d for d in detections if d is not None)
        for k, part in enumerate(("world", "keypoints", "confidences")):
            stack = np.full((len(detections),) + np.shape(template[k]), np.nan)
            for f, d in enumerate(detections):
                if d is not None:
                    stack[f] = d[k]
            arrays[f"{cam}/{part}"] = stack
        arrays[f"{cam}/found"], arrays[f"{cam}/shape"] = found, np.array(shape)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_runs(path: Path) -> tuple[int, dict]:
    """(width, runs) as `save_runs` wrote them."""
    with np.load(path, allow_pickle=False) as z:
        cams = sorted({k.split("/")[0] for k in z.files if "/" in k})
        runs = {}
        for cam in cams:
            parts = [z[f"{cam}/{p}"] for p in ("world", "keypoints", "confidences")]
            detections = [tuple(a[f] for a in parts) if ok else None for f, ok in enumerate(z[f"{cam}/found"])]
            runs[cam] = (detections, tuple(int(v) for v in z[f"{cam}/shape"]))
        return int(z["width"]), runs


def pose2sim_package() -> Path | None:
    """The installed Pose2Sim package folder (its demos), or None."""
    spec = importlib.util.find_spec("Pose2Sim")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0])


def triangulate(points: list[np.ndarray], weights: list[float], cameras: list[Camera]) -> np.ndarray:
    """Weighted DLT of one point seen at undistorted normalised coordinates in several cameras."""
    rows = []
    for (x, y), w, cam in zip(points, weights, cameras):
        P = np.hstack([cam.rotation, cam.translation[:, None]])
        rows += [w * (x * P[2] - P[0]), w * (y * P[2] - P[1])]
    X = np.linalg.svd(np.array(rows))[2][-1]
    return X[:3] / X[3]


def reference_landmarks(runs: dict, cameras: dict[str, Camera], width: int) -> dict[str, np.ndarray]:
    """The REFERENCE_LANDMARKS triangulated from all four views: {name: (T, 3) lab metres}; NaN where a view lacks the person."""
    import cv2

    frames = min(len(detections) for detections, _ in runs.values())
    out = {name: np.full((frames, 3), np.nan) for name in REFERENCE_LANDMARKS}
    for f in range(frames):
        if any(runs[c][0][f] is None for c in CAMERAS):
            continue
        for name, lm in REFERENCE_LANDMARKS.items():
            points, weights = [], []
            for c in CAMERAS:
                cam = cameras[c]
                _, keypoints, confidences = runs[c][0][f]
                pixel = keypoints[lm].astype(np.float64) * cam.width / width  # back to full resolution
                points.append(cv2.undistortPoints(pixel.reshape(1, 1, 2), cam.K, cam.dist).reshape(2))
                weights.append(float(confidences[lm]))
            out[name][f] = triangulate(points, weights, [cameras[c] for c in CAMERAS])
    return out


def world_axes(cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """(origin (3,), axes (3, 3) rows X, Y, Z) of the pose stage's world frame for this camera, in the lab:
    on the floor (Z = 0) below the optical centre, Y = lab up, Z = minus the viewing direction levelled."""
    up = np.array([0.0, 0.0, 1.0])
    forward = cam.rotation[2] - (cam.rotation[2] @ up) * up
    z = -forward / np.linalg.norm(forward)
    x = np.cross(up, z)
    return np.array([cam.center[0], cam.center[1], 0.0]), np.stack([x, up, z])


def heading_deg(forward: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(forward[:, 0], forward[:, 2]))


def facing_from(left_hip, right_hip, left_shoulder, right_shoulder) -> np.ndarray:
    """Horizontal facing in world axes (Y up) from the left/right hips and shoulders, as facing_directions does."""
    across = (right_hip - left_hip) + (right_shoulder - left_shoulder)
    across = across / np.linalg.norm(across, axis=-1, keepdims=True)
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across)
    forward[:, 1] = 0.0
    return forward / np.linalg.norm(forward, axis=-1, keepdims=True)


def run_stage(detections, shape, config: RootConfig) -> tuple[np.ndarray, RootEstimator]:
    """The live pose stage (tracking, root, One-Euro) over the recorded detections at 60 fps."""
    root = RootEstimator(config)
    stage = PoseStage(ReplayEstimator(detections), smoother=SkeletonSmoother(), root=root)
    image = np.zeros(shape, np.uint8)
    joints = []
    for k in range(len(detections)):
        bodies, _ = stage.process(image, k / 60.0)
        joints.append(bodies[0].joints if bodies else np.full((22, 3), np.nan))
    return np.array(joints, dtype=np.float64), root


def angle_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def evaluate(name, detections, shape, cam: Camera, reference, width, ray_aligned: bool = True) -> list[str]:
    origin, axes = world_axes(cam)
    to_world = lambda p: (p - origin) @ axes.T  # noqa: E731
    ref = {k: to_world(v) for k, v in reference.items()}
    ref_pelvis = (ref["left_hip"] + ref["right_hip"]) / 2
    ref_heading = heading_deg(facing_from(ref["left_hip"], ref["right_hip"], ref["left_shoulder"],
                                          ref["right_shoulder"]))
    true_pitch, true_roll = tilt_from_up(cam.rotation @ np.array([0.0, 0.0, 1.0]))
    focal = cam.K[0, 0] * width / cam.width
    # The person's own lean on standing frames, from the reference (what a body-axis estimate reads as tilt).
    standing = np.array([d is not None and standing_axis(d[0], d[2]) is not None for d in detections])
    axis = (ref["left_shoulder"] + ref["right_shoulder"] - ref["left_ankle"] - ref["right_ankle"]) / 2
    lean = np.degrees(np.arccos(axis[:, 1] / np.linalg.norm(axis, axis=1)))
    lines = [f"{name}: calibrated pitch {true_pitch:5.1f} deg, roll {true_roll:5.1f} deg; focal {focal:.0f} px at "
             f"{width} px wide (horizontal FOV {math.degrees(2 * math.atan(width / 2 / focal)):.1f} deg); "
             f"standing frames {sum(standing)}/{len(detections)}, the person's own lean on them "
             f"(reference) median {np.nanmedian(lean[standing]) if any(standing) else float('nan'):.1f} deg"]
    models = (("calibrated focal, tilt estimated", RootConfig(focal_px=focal)),
              ("calibrated focal and tilt        ", RootConfig(focal_px=focal, pitch_deg=true_pitch, roll_deg=true_roll)),
              ("default 60 deg FOV, tilt estimated", RootConfig()))
    for label, config in models:
        joints, root = run_stage(detections, shape, replace(config, ray_aligned=ray_aligned))
        pitch, roll = root.tilt_deg
        ok = ~np.isnan(joints[:, 0, 0]) & ~np.isnan(ref_pelvis[:, 0])
        est, refp = joints[ok, 0], ref_pelvis[ok]
        error = est - refp
        shape_error = error - error.mean(axis=0)
        travel_est, travel_ref = est[-1] - est[0], refp[-1] - refp[0]
        est_heading = heading_deg(facing_directions(joints[ok]))
        lines.append(
            f"  {label}: tilt {pitch:5.1f}/{roll:5.1f} deg (error pitch {pitch - true_pitch:+5.1f}, roll "
            f"{roll - true_roll:+5.1f}); camera height {root.camera_height:.2f} m (calibrated {cam.center[2]:.2f}); "
            f"root error mean {np.linalg.norm(error, axis=1).mean():.2f} m (horizontal "
            f"{np.linalg.norm(error[:, [0, 2]], axis=1).mean():.2f}, height {np.abs(error[:, 1]).mean():.2f}), "
            f"offset removed {np.linalg.norm(shape_error, axis=1).mean():.3f} m; travel {np.linalg.norm(travel_est):.2f} m "
            f"vs {np.linalg.norm(travel_ref):.2f} m (difference {np.linalg.norm(travel_est - travel_ref):.2f}); "
            f"heading error mean {angle_error(est_heading, ref_heading[ok]).mean():.1f} deg "
            f"(median {np.median(angle_error(est_heading, ref_heading[ok])):.1f})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", help="Pose2Sim's Demo_SinglePerson folder (default: from the installed package)")
    parser.add_argument("--width", type=int, default=540, help="frame width for BlazePose (default 540)")
    parser.add_argument("--optical-axis", action="store_true",
                        help="take BlazePose's landmark axes as the camera's (RootConfig.ray_aligned=False; "
                             "default: along the ray to the hips, as the pose stage does)")
    parser.add_argument("--cache", help="keep BlazePose's detections in this .npz and reuse them (same --width)")
    args = parser.parse_args(argv)
    if args.demo:
        demo = Path(args.demo)
    else:
        package = pose2sim_package()
        if package is None:
            print("root_gravity: Pose2Sim is not installed: pip install --no-deps pose2sim==0.10.49 (or --demo DIR)",
                  file=sys.stderr)
            return 2
        demo = package / "Demo_SinglePerson"
    calibration = demo / "calibration" / "Calib.qca.txt"
    if not calibration.is_file():
        print(f"root_gravity: no calibration at {calibration}", file=sys.stderr)
        return 2
    cameras = read_qca(calibration)
    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.is_file():
        width, runs = load_runs(cache)
        if width != args.width:
            print(f"root_gravity: {cache} holds detections at {width} px wide, not {args.width}", file=sys.stderr)
            return 2
    else:
        runs = {c: detect(demo / "videos" / f"{c}.mp4", args.width) for c in CAMERAS}
        if cache is not None:
            save_runs(cache, args.width, runs)
    reference = reference_landmarks(runs, cameras, args.width)
    pelvis = (reference["left_hip"] + reference["right_hip"]) / 2
    feet = np.minimum(reference["left_ankle"][:, 2], reference["right_ankle"][:, 2])
    print(f"reference (4 views triangulated): {int((~np.isnan(pelvis[:, 0])).sum())} frames; pelvis height "
          f"median {np.nanmedian(pelvis[:, 2]):.2f} m, lower ankle {np.nanmedian(feet):.2f} m above the lab floor; "
          f"pelvis travel {np.linalg.norm(pelvis[-1, :2] - pelvis[0, :2]):.2f} m")
    for c in CAMERAS:
        detections, shape = runs[c]
        for line in evaluate(c, detections, shape, cameras[c], reference, args.width, not args.optical_axis):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
