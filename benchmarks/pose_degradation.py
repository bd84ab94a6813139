"""What the pose stage's skeletons get wrong, measured against a triangulated multi-camera reference.

    python benchmarks/pose_degradation.py [--cache-dir /tmp/motionllm_pose_degradation] [--width 540]

Data: the Pose2Sim 0.10.49 package's two demo sequences (pip install --no-deps pose2sim==0.10.49; BSD-3),
each four synchronised, calibrated 60 fps views of 100 frames: Demo_SinglePerson (one person balancing on a
treadmill; its cam01 is ../shared/data/video/pose2sim_single_cam01.mp4) and Demo_MultiPerson (the same
person among two others). BlazePose runs once per video at --width (8 x 100 frames, ~30 s on 2 cores);
its detections are cached in --cache-dir (the single-person file is the same as root_gravity.py --cache).

Reference, for each tested camera: BlazePose's 33 2D landmarks in the *other* views, triangulated (weighted
DLT, views more than 15 px from the others dropped per landmark), smoothed over time (Gaussian, sigma 2
frames), mapped to SMPL-22 with the stage's own `mediapipe33_to_smpl22` and put in the tested camera's world
frame from the calibration (floor below the camera, Y up, Z towards the camera). Leaving the tested view
out keeps its 2D errors out of the reference. A view whose person is not the reference's (its torso more than
40 px from the reference's reprojection: BlazePose follows one person per image, and in the multi-person
demo cam03 follows someone else) is counted and left out. The tested camera runs through the live stage
(root with the calibrated focal length and tilt, so that the body's errors are not the camera model's; the
camera model's own errors are in root_gravity.py) without smoothing at 60 fps, and with the One-Euro filter
at 20 fps (every third frame, as the describer's windows see it).

It prints, per joint (left and right pooled) and pooled over cameras:
- root-relative error (pelvis subtracted from both), split along the line of sight (camera -> pelvis; depth)
  and across it (lateral, per axis): the fast part (std of the error about its smoothed mean, Gaussian sigma
  3 frames = 0.05 s) and the slow part (RMS of the smoothed error, its mean included), and the correlation
  times of both (lag-1 autocorrelation of the fast part; the 1/e lag of the slow one, bounded by the clip);
- jitter: mean |second difference| at 20 fps of the smoothed stage output and of the reference;
- bone lengths: mean ratio to the reference's, and the variation over time (std / mean) raw, smoothed, and
  of the reference;
- visibility: frames without a detection, frames of the wrong person, per-joint frames with visibility < 0.5;
- root: the pelvis error (stage - reference) in line-of-sight axes: mean, std about the mean, correlation time;
  the distance ratio (stage / reference);
- the mapping's proportions: bone lengths of the triangulated (all consistent views) landmarks mapped to
  SMPL-22, over the leg length, against the SMPL body HumanML3D retargets every clip to;
- the Degradation defaults these give (motionllm/perception/degrade.py): per bone (parent -> joint) one AR(1)
  error per line-of-sight axis fitted at 20 fps (its RMS, mean included, and the lag-1 correlation pooled over
  bones), the stage's own bone-length variation, the root's std about its mean and correlation, the spread of
  the distance ratio, the RMS tilt-estimate error over cameras with >= 10 standing frames, the dropout rate;
- a closed-loop check: the reference itself degraded with them (tilt and bone bias off) against the stage's
  real output: root-relative error (after the best turn about Y), jitter, bone variation, at 20 fps.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import root_gravity as rg  # noqa: E402  (the calibration reader, BlazePose runner, replay estimator)

from motionllm.motion.formats.mediapipe_landmarks import WEIGHTS  # noqa: E402
from motionllm.motion.skeleton import (JOINT_INDEX, JOINT_NAMES, LEFT_RIGHT_MIRROR, NUM_JOINTS, PARENTS,  # noqa: E402
                                       REFERENCE_BONE_LENGTHS, bone_lengths)
from motionllm.perception.degrade import Degradation, degrade, sight_axes  # noqa: E402
from motionllm.perception.root import RootConfig, RootEstimator, tilt_from_up  # noqa: E402
from motionllm.perception.smoothing import SkeletonSmoother  # noqa: E402
from motionllm.perception.stage import PoseStage  # noqa: E402

SEQUENCES = {"single": "Demo_SinglePerson", "multi": "Demo_MultiPerson"}
SRC_FPS = 60.0
STEP = 3                 # 60 fps -> 20 fps
LANDMARK_OUTLIER_PX = 15.0
WRONG_PERSON_PX = 40.0
MIN_RAY_DEG = 20.0
BONE_GATE = 0.2
REF_SIGMA = 2.0          # frames at 60 fps: the reference's own smoothing
SPLIT_SIGMA = 3.0        # frames at 60 fps: fast / slow split of the error
TORSO = [11, 12, 23, 24]  # shoulders and hips (MediaPipe)
PAIRS = sorted({tuple(sorted((j, LEFT_RIGHT_MIRROR[j]))) for j in range(NUM_JOINTS)})


def gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing along axis 0, NaN-aware (normalised convolution), edges renormalised."""
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    ok = ~np.isnan(x)
    data = np.where(ok, x, 0.0)
    out_num = np.zeros_like(data)
    out_den = np.zeros_like(data)
    n = len(x)
    for k, w in zip(range(-radius, radius + 1), kernel):
        lo, hi = max(0, -k), min(n, n - k)
        out_num[lo:hi] += w * data[lo + k:hi + k]
        out_den[lo:hi] += w * ok[lo + k:hi + k]
    with np.errstate(invalid="ignore"):
        return np.where(out_den > 0, out_num / np.maximum(out_den, 1e-12), np.nan)


def normalised(runs, cameras, width):
    """{cam: (T, 33, 2) undistorted normalised coordinates (NaN without a detection), (T, 33) confidences}."""
    import cv2

    out = {}
    for c, (detections, _) in runs.items():
        cam = cameras[c]
        xy = np.full((len(detections), 33, 2), np.nan)
        conf = np.zeros((len(detections), 33))
        for f, d in enumerate(detections):
            if d is None:
                continue
            pixel = d[1].astype(np.float64) * cam.width / width
            xy[f] = cv2.undistortPoints(pixel.reshape(-1, 1, 2), cam.K, cam.dist).reshape(-1, 2)
            conf[f] = d[2]
        out[c] = (xy, conf)
    return out


def reprojection_px(X: np.ndarray, xy: np.ndarray, cam, width: int) -> np.ndarray:
    """Distance in pixels (at `width`) between the projection of points X (..., 3) and normalised xy (..., 2)."""
    p = X @ cam.rotation.T + cam.translation
    return np.linalg.norm(p[..., :2] / p[..., 2:] - xy, axis=-1) * cam.K[0, 0] * width / cam.width


def triangulate_views(obs, cameras, views, width) -> np.ndarray:
    """(T, 33, 3) lab metres from `views`: per landmark, the largest set of views (at least two) that agree
    (every view within LANDMARK_OUTLIER_PX of the triangulated point) and see it from well apart (rays at least
    MIN_RAY_DEG apart; two cameras facing each other fix nothing along their line); NaN where none does."""
    frames = len(next(iter(obs.values()))[0])
    out = np.full((frames, 33, 3), np.nan)
    for f in range(frames):
        present = [c for c in views if not np.isnan(obs[c][0][f, 0, 0])]
        for lm in range(33):
            best, best_err = None, np.inf
            for size in range(len(present), 1, -1):
                for subset in itertools.combinations(present, size):
                    X = rg.triangulate([obs[c][0][f, lm] for c in subset],
                                       [max(obs[c][1][f, lm], 0.05) for c in subset], [cameras[c] for c in subset])
                    err = max(reprojection_px(X, obs[c][0][f, lm], cameras[c], width) for c in subset)
                    if err > LANDMARK_OUTLIER_PX or err >= best_err:
                        continue
                    rays = [(X - cameras[c].center) / np.linalg.norm(X - cameras[c].center) for c in subset]
                    widest = max(np.degrees(np.arccos(np.clip(a @ b, -1, 1)))
                                 for a, b in itertools.combinations(rays, 2))
                    if MIN_RAY_DEG <= widest <= 180 - MIN_RAY_DEG:
                        best, best_err = X, err
                if best is not None:
                    break
            if best is not None:
                out[f, lm] = best
    return out


def to_smpl(landmarks: np.ndarray) -> np.ndarray:
    """(T, 33, 3) with NaN landmarks -> (T, 22, 3) by the stage's mapping; a joint is NaN where a landmark it
    uses is (not every joint: WEIGHTS' zeros would spread NaN everywhere)."""
    joints = np.einsum("jk,tkc->tjc", WEIGHTS, np.nan_to_num(landmarks))
    missing = (np.isnan(landmarks).any(axis=-1).astype(float) @ (WEIGHTS > 0).T.astype(float)) > 0
    joints[missing] = np.nan
    return joints


def gate_bones(joints: np.ndarray, tolerance: float = BONE_GATE) -> np.ndarray:
    """Blank (NaN) reference joints whose bone from the parent is off its median length by more than
    `tolerance` (relative): a body's bones do not change, so those are triangulation failures."""
    out = joints.copy()
    lengths = bone_lengths(joints)
    median = np.nanmedian(lengths, axis=0)
    for j in range(1, NUM_JOINTS):
        with np.errstate(invalid="ignore"):
            bad = np.abs(lengths[:, j] / median[j] - 1.0) > tolerance
        out[bad, j] = np.nan
    return out


def fill_nan(x: np.ndarray) -> np.ndarray:
    """(T, 22, 3) with NaN entries -> each coordinate interpolated over time (held at the ends)."""
    flat = x.reshape(len(x), -1).copy()
    t = np.arange(len(x))
    for k in range(flat.shape[1]):
        ok = ~np.isnan(flat[:, k])
        flat[:, k] = np.interp(t, t[ok], flat[ok, k])
    return flat.reshape(x.shape)


def person_views(obs, cameras, width) -> np.ndarray:
    """(T, views) bool: in each frame, the largest set of views whose persons agree (every pair's torso centre,
    triangulated, reprojects within WRONG_PERSON_PX in both); ties go to the set with the smaller error.
    BlazePose follows one person per image: a view outside the set sees someone else (or fails grossly)."""
    cams = list(obs)
    frames = len(obs[cams[0]][0])
    centre = {c: np.nanmean(obs[c][0][:, TORSO], axis=1) for c in cams}
    out = np.zeros((frames, len(cams)), bool)
    for f in range(frames):
        present = [k for k, c in enumerate(cams) if not np.isnan(centre[c][f, 0])]
        agree = {}
        for a, b in itertools.combinations(present, 2):
            ca, cb = cams[a], cams[b]
            X = rg.triangulate([centre[ca][f], centre[cb][f]], [1.0, 1.0], [cameras[ca], cameras[cb]])
            agree[a, b] = max(reprojection_px(X, centre[ca][f], cameras[ca], width),
                              reprojection_px(X, centre[cb][f], cameras[cb], width))
        best, best_err = (), np.inf
        for size in range(len(present), 1, -1):
            for subset in itertools.combinations(present, size):
                errs = [agree[p] for p in itertools.combinations(subset, 2)]
                if max(errs) <= WRONG_PERSON_PX and max(errs) < best_err:
                    best, best_err = subset, max(errs)
            if best:
                break
        out[f, list(best)] = True
    return out


def agreeing(obs, views_ok, views):
    """`obs` of `views` with the frames where a view sees another person blanked (NaN)."""
    return {c: (np.where(views_ok[c][:, None, None], obs[c][0], np.nan), obs[c][1]) for c in views}


def to_world(points_lab: np.ndarray, cam) -> np.ndarray:
    origin, axes = rg.world_axes(cam)
    return (points_lab - origin) @ axes.T


def run_stage(detections, shape, config: RootConfig, fps: float, step: int, smooth: bool):
    """The live stage over the recorded detections (every `step`-th) at `fps`: (T', 22, 3) world joints (NaN
    where nobody was placed), (T', 22) per-joint visibility, and the RootEstimator."""
    picked = detections[::step]
    root = RootEstimator(config)
    stage = PoseStage(rg.ReplayEstimator(picked), smoother=SkeletonSmoother() if smooth else None, root=root)
    image = np.zeros(shape, np.uint8)
    joints, vis = [], []
    for k, d in enumerate(picked):
        bodies, _ = stage.process(image, k / fps)
        joints.append(bodies[0].joints if bodies else np.full((22, 3), np.nan))
        vis.append(WEIGHTS @ d[2] if d is not None else np.zeros(22))
    return np.array(joints, np.float64), np.array(vis), root


def lag1(x: np.ndarray) -> float:
    """Lag-1 autocorrelation pooled over columns of (T, K) (NaN rows skipped pairwise)."""
    a, b = x[:-1], x[1:]
    ok = ~np.isnan(a) & ~np.isnan(b)
    return float((a[ok] * b[ok]).sum() / np.sqrt((a[ok] ** 2).sum() * (b[ok] ** 2).sum()))


def efold_lag(x: np.ndarray, max_lag: int) -> float:
    """First lag (frames) where the pooled autocorrelation of (T, K) (mean removed) drops below 1/e."""
    x = x - np.nanmean(x, axis=0)
    var = np.nanmean(x ** 2)
    for lag in range(1, max_lag):
        c = np.nanmean(x[:-lag] * x[lag:]) / var
        if c < 1 / np.e:
            return float(lag)
    return float(max_lag)


def jitter(x: np.ndarray) -> np.ndarray:
    """(22,) mean |second difference| over time of (T, 22, 3), NaN frames skipped."""
    d2 = np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1)
    return np.nanmean(d2, axis=0)


def pooled(values: np.ndarray) -> np.ndarray:
    """(22,) -> left/right pooled (RMS of the pair) for per-joint standard deviations."""
    out = values.copy()
    for a, b in PAIRS:
        out[a] = out[b] = np.sqrt((values[a] ** 2 + values[b] ** 2) / 2)
    return out


def in_sight_axes(error: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """(T, J, 3) world-axis errors -> (lateral, third, depth) components with per-frame axes (T, 3, 3)."""
    return np.einsum("tjd,tcd->tjc", error, axes)


def measure_camera(name, runs, obs, cameras, views_ok, width):
    """All figures of one tested camera of one sequence, as a dict of arrays."""
    cam = cameras[name]
    detections, shape = runs[name]
    others = [c for c in runs if c != name]
    ref_lab = triangulate_views(agreeing(obs, views_ok, others), cameras, others, width)
    ref_lab = gaussian(ref_lab, REF_SIGMA)
    ref = gate_bones(to_world(to_smpl(ref_lab), cam))  # (T, 22, 3) world of this camera
    pitch, roll = tilt_from_up(cam.rotation @ np.array([0.0, 0.0, 1.0]))
    focal = cam.K[0, 0] * width / cam.width
    known = RootConfig(focal_px=focal, pitch_deg=pitch, roll_deg=roll, camera_height_m=float(cam.center[2]))
    raw, vis, _ = run_stage(detections, shape, known, SRC_FPS, 1, smooth=False)
    smooth20, _, _ = run_stage(detections, shape, known, SRC_FPS / STEP, STEP, smooth=True)
    # Tilt unknown (estimated from the person, as live): the gravity error.
    _, _, estimated = run_stage(detections, shape, RootConfig(focal_px=focal), SRC_FPS, 1, smooth=False)
    est_pitch, est_roll = estimated.tilt_deg
    # Default field of view: the distance the pinhole gets without the focal length.
    default_fov, _, _ = run_stage(detections, shape, RootConfig(pitch_deg=pitch, roll_deg=roll,
                                                                camera_height_m=float(cam.center[2])),
                                  SRC_FPS, 1, smooth=False)

    detected = np.array([d is not None for d in detections])
    same = views_ok[name] & detected
    valid = same & ~np.isnan(ref[:, 0, 0]) & ~np.isnan(raw[:, 0, 0])
    camera_pos = np.array([0.0, float(cam.center[2]), 0.0])
    axes = sight_axes(camera_pos, np.where(np.isnan(ref[:, 0]), 1.0, ref[:, 0]))

    def masked(x, ok):
        x = x.copy()
        x[~ok] = np.nan
        return x

    rel_err = masked((raw - raw[:, :1]) - (ref - ref[:, :1]), valid)
    comp = in_sight_axes(rel_err, axes)                      # (T, 22, 3): lateral, third, depth
    slow = gaussian(comp, SPLIT_SIGMA)
    fast = comp - slow
    rms = lambda a, axis=0: np.sqrt(np.nanmean(a ** 2, axis=axis))  # noqa: E731
    parents = list(PARENTS)
    parents[0] = 0
    bone_err = masked((raw - raw[:, parents]) - (ref - ref[:, parents]), valid)
    bcomp = in_sight_axes(bone_err, axes)
    # one AR(1) per bone and axis at 20 fps: variance (mean included) and lag-1 correlation
    b20 = bcomp[::STEP]
    d20 = b20[1:] - b20[:-1]
    root_err = masked(raw[:, 0] - ref[:, 0], valid)
    root_comp = np.einsum("td,tcd->tc", root_err, axes)
    dist_ref = np.linalg.norm(ref[valid, 0] - camera_pos, axis=1)
    dist_raw = np.linalg.norm(raw[valid, 0] - camera_pos, axis=1)
    ok_fov = valid & ~np.isnan(default_fov[:, 0, 0])
    dist_fov = np.linalg.norm(default_fov[ok_fov, 0] - camera_pos, axis=1)

    ref20 = masked(ref, valid)[::STEP]
    s20 = masked(smooth20, valid[::STEP])
    bl_raw = masked(bone_lengths(raw), valid)
    bl_s20 = masked(bone_lengths(smooth20), valid[::STEP])
    bl_ref = masked(bone_lengths(ref), valid)
    s20_err = (s20 - s20[:, :1]) - (ref20 - ref20[:, :1])
    return {
        "frames": len(detections), "valid": int(valid.sum()), "no_detection": int((~detected).sum()),
        "wrong_person": int((detected & ~views_ok[name]).sum()),
        "low_visibility": (vis[detected] < 0.5).mean(axis=0),
        "fast_lat": rms(fast[..., :2], axis=(0, 2)),
        "fast_depth": rms(fast[..., 2]), "slow_lat": rms(slow[..., :2], axis=(0, 2)), "slow_depth": rms(slow[..., 2]),
        "fast_rho": lag1(fast[:, 1:].reshape(len(fast), -1)),
        "slow_lag": efold_lag(slow[valid][:, 1:].reshape(int(valid.sum()), -1), int(valid.sum()) // 2),
        "b20_lat": rms(b20[..., :2], axis=(0, 2)), "b20_depth": rms(b20[..., 2]),
        "b20_var": np.nanmean(b20[:, 1:] ** 2), "b20_dvar": np.nanmean(d20[:, 1:] ** 2),
        "r20_var": np.nanvar(root_comp[::STEP][valid[::STEP]], axis=0),
        "r20_dvar": np.nanmean(np.diff(root_comp[::STEP], axis=0) ** 2, axis=0),
        "length_lag": efold_lag(bone_lengths(raw[valid])[:, 1:] / np.nanmean(bone_lengths(raw[valid])[:, 1:], axis=0),
                                int(valid.sum()) // 2),
        "rel_error": np.nanmean(np.linalg.norm(rel_err, axis=-1), axis=0),
        "rel_error_p95": np.nanpercentile(np.linalg.norm(rel_err[:, 1:], axis=-1), 95),
        "bias_depth": np.nanmean(comp[..., 2], axis=0),
        "s20_error": np.nanmean(np.linalg.norm(s20_err, axis=-1), axis=0),
        "jitter_stage": jitter(s20), "jitter_ref": jitter(ref20), "jitter_raw20": jitter(masked(raw, valid)[::STEP]),
        "bone_ratio": np.nanmean(bl_raw, axis=0) / np.nanmean(bl_ref, axis=0),
        "bone_cv_raw": np.nanstd(bl_raw, axis=0) / np.nanmean(bl_raw, axis=0),
        "bone_cv_s20": np.nanstd(bl_s20, axis=0) / np.nanmean(bl_s20, axis=0),
        "bone_cv_ref": np.nanstd(bl_ref, axis=0) / np.nanmean(bl_ref, axis=0),
        "root_mean": np.nanmean(root_comp, axis=0), "root_std": np.nanstd(root_comp, axis=0),
        "root_lag": efold_lag(root_comp[valid], int(valid.sum()) // 2),
        "distance_ratio": float((dist_raw / dist_ref).mean()),
        "distance_ratio_fov": float(np.mean(dist_fov) / dist_ref.mean()) if ok_fov.any() else float("nan"),
        "distance": float(dist_ref.mean()), "camera_height": float(cam.center[2]),
        "tilt_error": (est_pitch - pitch, est_roll - roll), "standing": estimated.standing_samples,
        "ref60": masked(ref, valid), "ref20": ref20, "s20": s20, "valid20": valid[::STEP], "camera_pos": camera_pos,
    }


def proportions(runs, obs, cameras, views_ok, width) -> np.ndarray:
    """(22,) bone length / leg length of the triangulated landmarks mapped to SMPL-22 (all consistent views)."""
    views = list(runs)
    ref = gaussian(triangulate_views(agreeing(obs, views_ok, views), cameras, views, width), REF_SIGMA)
    lengths = np.nanmedian(bone_lengths(to_smpl(ref)), axis=0)
    return lengths


def leg(lengths: np.ndarray) -> float:
    return float(np.mean([lengths[JOINT_INDEX[f"{s}_knee"]] + lengths[JOINT_INDEX[f"{s}_ankle"]]
                          for s in ("left", "right")]))


def pool_cameras(results, key):
    """Pooled over cameras: RMS for standard deviations (weighted by valid frames)."""
    w = np.array([r["valid"] for r in results], float)
    return np.sqrt(np.einsum("c,c...->...", w, np.array([r[key] ** 2 for r in results])) / w.sum())


def mean_cameras(results, key):
    w = np.array([r["valid"] for r in results], float)
    return np.einsum("c,c...->...", w, np.array([r[key] for r in results], float)) / w.sum()


def fmt(values, scale=1000.0, digits=0) -> str:
    return " ".join(f"{v * scale:6.{digits}f}" for v in values)


def config_from(results, bias) -> Degradation:
    dt = 1.0 / SRC_FPS
    r3 = lambda a: tuple(round(float(v), 4) for v in a)  # noqa: E731
    tilts = np.array([r["tilt_error"] for r in results if r["standing"] >= 10])
    return Degradation(
        bone_bias=r3(bias),
        bone_wobble=r3(np.r_[0.0, pooled(pool_cameras(results, "bone_cv_raw"))[1:]]),
        bone_wobble_time=round(float(mean_cameras(results, "length_lag")) / SRC_FPS, 3),
        noise_lateral=r3(np.r_[0.0, pooled(pool_cameras(results, "b20_lat"))[1:]]),
        noise_depth=r3(np.r_[0.0, pooled(pool_cameras(results, "b20_depth"))[1:]]),
        noise_time=ar1_time(mean_cameras(results, "b20_var"), mean_cameras(results, "b20_dvar")),
        root_lateral=round(float(pool_cameras(results, "root_std")[0]), 4),
        root_vertical=round(float(pool_cameras(results, "root_std")[1]), 4),
        root_depth=round(float(pool_cameras(results, "root_std")[2]), 4),
        root_time=ar1_time(mean_cameras(results, "r20_var").sum(), mean_cameras(results, "r20_dvar").sum()),
        depth_scale=round(float(np.std([r["distance_ratio"] for r in results])), 4),
        tilt_deg=round(float(np.sqrt(np.mean(tilts ** 2))), 2) if len(tilts) else 0.0,
        dropout_rate=round(float(sum(r["no_detection"] for r in results) / sum(r["frames"] for r in results)), 4),
        camera_distance=(round(min(r["distance"] for r in results), 1), round(max(r["distance"] for r in results), 1)),
        camera_height=round(float(np.mean([r["camera_height"] for r in results])), 2),
    )


def ar1_time(var: float, diff_var: float) -> float:
    """Correlation time (s) of the AR(1) process at 20 fps with this variance and variance of first differences
    (lag-1 correlation 1 - diff_var / (2 var))."""
    rho = float(np.clip(1.0 - diff_var / (2.0 * var), 1e-3, 0.999))
    return round(-STEP / SRC_FPS / np.log(rho), 3)


def closed_loop(results, config: Degradation, rng) -> list[str]:
    """Degrade the (clean) reference with the fitted config at 20 fps and compare with the stage's output."""
    lines = []
    err_stage, err_deg, jit_stage, jit_deg, jit_ref, cv_stage, cv_deg = [], [], [], [], [], [], []
    for r in results:
        ref, s20 = r["ref20"], r["s20"]
        ok = r["valid20"] & ~np.isnan(ref[:, 0, 0]) & ~np.isnan(s20[:, 0, 0])
        if ok.sum() < 10:
            continue
        ref, s20 = fill_nan(ref[ok]), s20[ok]
        # compare root-relative, in the reference's own frame: the degraded motion comes back canonical
        e_stage = root_relative_error_about_y(s20, ref)
        samples = []
        for _ in range(8):
            deg = degrade(ref, rng, replace(config, tilt_deg=0.0, bone_bias=(0.0,) * NUM_JOINTS))
            # put the degraded motion back on the reference (canonicalize moved and turned it): Procrustes about Y
            samples.append(deg)
        e_deg = np.mean([root_relative_error_about_y(d, ref) for d in samples], axis=0)
        err_stage.append(e_stage), err_deg.append(e_deg)
        jit_stage.append(jitter(s20)), jit_ref.append(jitter(ref))
        jit_deg.append(np.mean([jitter(d) for d in samples], axis=0))
        bl = bone_lengths(s20)
        cv_stage.append((bl.std(axis=0) / bl.mean(axis=0)))
        cv_deg.append(np.mean([bone_lengths(d).std(axis=0) / bone_lengths(d).mean(axis=0) for d in samples], axis=0))
    groups = {"torso (hips, spine, neck, collars)": ["left_hip", "right_hip", "spine1", "spine2", "spine3", "neck",
                                                     "left_collar", "right_collar"],
              "head": ["head"], "shoulders, elbows": ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow"],
              "wrists": ["left_wrist", "right_wrist"], "knees": ["left_knee", "right_knee"],
              "ankles, feet": ["left_ankle", "right_ankle", "left_foot", "right_foot"]}
    m = lambda a: np.mean(np.array(a), axis=0)  # noqa: E731
    lines.append("closed loop (20 fps, smoothed): the reference degraded with these defaults (8 draws per camera, "
                 "tilt and bone bias off: the reference has the mapping's proportions already) against the stage's real output; root-relative error mm, jitter mm/frame^2, bone cv %")
    lines.append(f"  {'joints':36s} {'err stage':>9s} {'err degr.':>9s} {'jit stage':>9s} {'jit degr.':>9s} "
                 f"{'jit ref':>8s}")
    for label, names in groups.items():
        idx = [JOINT_INDEX[n] for n in names]
        lines.append(f"  {label:36s} {m(err_stage)[idx].mean() * 1000:9.0f} {m(err_deg)[idx].mean() * 1000:9.0f} "
                     f"{m(jit_stage)[idx].mean() * 1000:9.1f} {m(jit_deg)[idx].mean() * 1000:9.1f} "
                     f"{m(jit_ref)[idx].mean() * 1000:8.1f}")
    lines.append(f"  bone-length variation (std/mean, mean over bones): stage {m(cv_stage)[1:].mean() * 100:.1f} %, "
                 f"degraded {m(cv_deg)[1:].mean() * 100:.1f} %")
    return lines


def root_relative_error_about_y(deg: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(22,) mean root-relative error of `deg` against `ref` after the best turn about Y (canonicalize turned it)."""
    a = deg - deg[:, :1]
    b = ref - ref[:, :1]
    # best yaw: maximise sum over points of the XZ cross/dot terms
    num = np.sum(a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2])
    den = np.sum(a[..., 0] * b[..., 0] + a[..., 2] * b[..., 2])
    t = np.arctan2(num, den)
    c, s = np.cos(t), np.sin(t)
    rot = np.stack([c * a[..., 0] + s * a[..., 2], a[..., 1], -s * a[..., 0] + c * a[..., 2]], axis=-1)
    return np.linalg.norm(rot - b, axis=-1).mean(axis=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pose2sim", help="the Pose2Sim package folder (default: the installed package)")
    parser.add_argument("--width", type=int, default=540, help="frame width for BlazePose (default 540)")
    parser.add_argument("--cache-dir", default="/tmp/motionllm_pose_degradation",
                        help="BlazePose detections are kept here (default /tmp/motionllm_pose_degradation)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the closed-loop check")
    args = parser.parse_args(argv)
    if args.pose2sim:
        package = Path(args.pose2sim)
    else:
        package = rg.pose2sim_package()
        if package is None:
            print("pose_degradation: Pose2Sim is not installed: pip install --no-deps pose2sim==0.10.49", file=sys.stderr)
            return 2
    cache_dir = Path(args.cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    results, everything, lengths = [], [], []
    for seq, folder in SEQUENCES.items():
        demo = package / folder
        cameras = rg.read_qca(demo / "calibration" / "Calib.qca.txt")
        cache = cache_dir / f"{seq}_{args.width}.npz"
        if cache.is_file():
            width, runs = rg.load_runs(cache)
        else:
            runs = {c: rg.detect(demo / "videos" / f"{c}.mp4", args.width) for c in rg.CAMERAS}
            width = args.width
            rg.save_runs(cache, width, runs)
        obs = normalised(runs, cameras, width)
        mask = person_views(obs, cameras, width)
        views_ok = {c: mask[:, k] for k, c in enumerate(obs)}
        lengths.append(proportions(runs, obs, cameras, views_ok, width))
        for c in rg.CAMERAS:
            r = measure_camera(c, runs, obs, cameras, views_ok, width)
            r["name"] = f"{seq}/{c}"
            pitch, roll = r["tilt_error"]
            print(f"{r['name']}: {r['valid']}/{r['frames']} frames measured; no detection {r['no_detection']}, "
                  f"wrong person {r['wrong_person']}; distance {r['distance']:.2f} m; root-relative error mean "
                  f"{np.nanmean(r['rel_error'][1:]) * 1000:.0f} mm (p95 {r['rel_error_p95'] * 1000:.0f}); "
                  f"distance ratio {r['distance_ratio']:.3f} (default 60 deg FOV {r['distance_ratio_fov']:.2f}); "
                  f"tilt estimate error pitch {pitch:+.1f} roll {roll:+.1f} deg ({r['standing']} standing frames)")
            everything.append(r)
            if r["valid"] >= 20:
                results.append(r)
            else:
                print(f"  {r['name']}: left out (fewer than 20 frames of the reference's person)")
    print(f"\npooled over {len(results)} camera-sequence pairs ({sum(r['valid'] for r in results)} frames at 60 fps); "
          "per joint, mm; left and right pooled")
    print(f"{'joint':14s} {'fast lat':>8s} {'fast dep':>8s} {'slow lat':>8s} {'slow dep':>8s} {'depth bias':>10s} "
          f"{'err raw':>7s} {'err 20fps':>9s} {'jit stage':>9s} {'jit raw':>7s} {'jit ref':>7s} {'low vis %':>9s}")
    cols = {k: pooled(pool_cameras(results, k)) for k in ("fast_lat", "fast_depth", "slow_lat", "slow_depth")}
    bias_depth = mean_cameras(results, "bias_depth")
    err = mean_cameras(results, "rel_error")
    err20 = mean_cameras(results, "s20_error")
    jit = {k: mean_cameras(results, k) for k in ("jitter_stage", "jitter_raw20", "jitter_ref")}
    lowvis = mean_cameras(results, "low_visibility")
    for j, name in enumerate(JOINT_NAMES):
        if j == 0:
            continue
        print(f"{name:14s} {cols['fast_lat'][j] * 1000:8.1f} {cols['fast_depth'][j] * 1000:8.1f} "
              f"{cols['slow_lat'][j] * 1000:8.1f} {cols['slow_depth'][j] * 1000:8.1f} {bias_depth[j] * 1000:+10.0f} "
              f"{err[j] * 1000:7.0f} {err20[j] * 1000:9.0f} {jit['jitter_stage'][j] * 1000:9.1f} "
              f"{jit['jitter_raw20'][j] * 1000:7.1f} {jit['jitter_ref'][j] * 1000:7.1f} {lowvis[j] * 100:9.0f}")
    rho = float(np.mean([r["fast_rho"] for r in results]))
    print(f"fast part: lag-1 autocorrelation at 60 fps {rho:.2f}; slow part: 1/e after "
          f"{mean_cameras(results, 'slow_lag') / SRC_FPS:.2f} s (mean; clips are 1.7 s)")
    ratio = mean_cameras(results, "bone_ratio")
    cv = {k: pool_cameras(results, k) for k in ("bone_cv_raw", "bone_cv_s20", "bone_cv_ref")}
    print("\nbone lengths (bone = parent -> joint): stage / reference, and variation over time (std / mean, %)")
    print(f"{'bone to':14s} {'ratio':>6s} {'cv raw':>7s} {'cv 20fps':>8s} {'cv ref':>7s}")
    for j, name in enumerate(JOINT_NAMES[1:], 1):
        print(f"{name:14s} {ratio[j]:6.2f} {cv['bone_cv_raw'][j] * 100:7.1f} {cv['bone_cv_s20'][j] * 100:8.1f} "
              f"{cv['bone_cv_ref'][j] * 100:7.1f}")
    root_mean, root_std = mean_cameras(results, "root_mean"), pool_cameras(results, "root_std")
    print(f"\nroot (pelvis, stage - reference; calibrated focal and tilt), line-of-sight axes lateral / third / depth: "
          f"mean {fmt(root_mean)} mm, std about the mean {fmt(root_std)} mm, 1/e correlation after "
          f"{mean_cameras(results, 'root_lag') / SRC_FPS:.2f} s; distance ratio stage/reference "
          f"{np.mean([r['distance_ratio'] for r in results]):.3f} +- {np.std([r['distance_ratio'] for r in results]):.3f} "
          f"(default 60 deg FOV: {np.nanmean([r['distance_ratio_fov'] for r in results]):.2f})")
    total = sum(r["frames"] for r in everything)
    print(f"dropouts: {sum(r['no_detection'] for r in everything)} of {total} frames (all {len(everything)} cameras) "
          f"without a detection; {sum(r['wrong_person'] for r in everything)} frames of the wrong person")
    # the mapping's proportions against SMPL (HumanML3D's reference body)
    mapped = np.mean([l / leg(l) for l in lengths], axis=0)
    smpl = REFERENCE_BONE_LENGTHS / leg(REFERENCE_BONE_LENGTHS)
    bias = np.zeros(NUM_JOINTS)
    bias[1:] = mapped[1:] / smpl[1:] - 1.0
    bias = (bias + bias[list(LEFT_RIGHT_MIRROR)]) / 2
    print("\nthe 33 -> 22 mapping's proportions (triangulated landmarks, bone / leg length) against the SMPL body "
          "(HumanML3D's reference skeleton): mapped / SMPL - 1, %")
    print("  " + ", ".join(f"{n} {bias[j] * 100:+.0f}" for j, n in enumerate(JOINT_NAMES) if j and
                           LEFT_RIGHT_MIRROR[j] >= j))
    rng = np.random.default_rng(args.seed)
    config = config_from(results, bias)
    print("\nDegradation defaults (motionllm/perception/degrade.py):")
    for key, value in config.as_dict().items():
        print(f"  {key} = {value}")
    print()
    for line in closed_loop(results, config, rng):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
