"""Physical plausibility checks of joint motions (T, 22, 3), metres, Y up, 20 fps.

Per clip:
  bones     bone-length constancy: the largest relative standard deviation over the 21 bones
  floor     penetration: the lowest any joint gets below the ground under it (cm; feet reported too)
  sliding   mean horizontal speed of foot joints while in contact (cm/s): a foot joint is in contact
            when it is low (toe < 5 cm, ankle < 10 cm above the ground) and nearly still (< 0.9 m/s,
            HumanML3D's own contact threshold, 0.002 m^2 per frame squared)
  jerk      the third derivative of joint positions (m/s^3): maximum and 95th percentile
  nan       any non-finite coordinate fails the clip
The thresholds were calibrated on the real HumanML3D clip (`../shared/data/humanml3d_sample`, a real
mocap clip of a person running and turning) and on generated clips; see docs/corpus.md for the figures.
Ground is y = 0 (HumanML3D puts the lowest joint of a clip on the floor) unless the clip's labels
describe stairs (`corpus.terrain`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionllm.corpus.terrain import ground_height
from motionllm.errors import MotionFormatError
from motionllm.motion.canonical import MIN_LEG_METRES, leg_length
from motionllm.motion.projection import CONTACT_HEIGHTS, CONTACT_SPEED
from motionllm.motion.skeleton import FPS, JOINT_INDEX, NUM_JOINTS, bone_lengths

FOOT_JOINTS = CONTACT_HEIGHTS  # the feet's contact heights: one definition of contact, projection's


@dataclass(frozen=True)
class Thresholds:
    bone_rel_std: float = 0.002      # 0.2 %
    penetration_cm: float = 1.0      # no joint more than this below the ground
    sliding_cm_s: float = 15.0       # mean contact speed of the feet
    jerk_max: float = 6000.0         # m/s^3, any joint, any frame
    jerk_p95: float = 1000.0         # m/s^3


THRESHOLDS = Thresholds()


def clip_metrics(joints: np.ndarray, terrain: dict | None = None, fps: float = FPS) -> dict:
    """The plausibility metrics of one motion (see the module docstring)."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise MotionFormatError(f"expected joints of shape (T, 22, 3), got {joints.shape}")
    out = {"frames": int(len(joints)), "nan": bool(not np.all(np.isfinite(joints)))}
    if out["nan"] or len(joints) < 4:
        return out
    out["leg_m"] = leg_length(joints)
    lengths = bone_lengths(joints)[:, 1:]
    out["bone_rel_std"] = float(np.max(lengths.std(axis=0) / np.maximum(lengths.mean(axis=0), 1e-9)))

    height = joints[..., 1] - ground_height(terrain, joints[..., [0, 2]])
    feet = [JOINT_INDEX[n] for n in FOOT_JOINTS]
    out["min_height_cm"] = float(height.min() * 100)
    out["min_foot_height_cm"] = float(height[:, feet].min() * 100)

    speeds, in_contact = [], 0
    for name, low in FOOT_JOINTS.items():
        j = JOINT_INDEX[name]
        v = np.linalg.norm(np.diff(joints[:, j, :][:, [0, 2]], axis=0), axis=-1) * fps
        h = height[:, j]
        contact = (h[1:] < low) & (h[:-1] < low) & (v < CONTACT_SPEED)
        speeds.append(v[contact])
        in_contact += int(contact.sum())
    contact_speeds = np.concatenate(speeds)
    out["contact_frames"] = in_contact
    out["sliding_cm_s"] = float(contact_speeds.mean() * 100) if len(contact_speeds) else 0.0

    jerk = np.linalg.norm(np.diff(joints, 3, axis=0), axis=-1) * fps ** 3
    out["jerk_max"] = float(jerk.max())
    out["jerk_p95"] = float(np.percentile(jerk, 95))
    return out


def failures(metrics: dict, th: Thresholds = THRESHOLDS) -> list[str]:
    """Names of the failed checks (empty: the clip passes)."""
    if metrics.get("nan"):
        return ["nan"]
    if "bone_rel_std" not in metrics:
        return ["too_short"]
    if metrics.get("leg_m", 1.0) < MIN_LEG_METRES:
        return ["no_size"]  # every joint at one point: nothing else can be measured
    failed = []
    if metrics["bone_rel_std"] > th.bone_rel_std:
        failed.append("bones")
    if metrics["min_height_cm"] < -th.penetration_cm:
        failed.append("floor")
    if metrics["sliding_cm_s"] > th.sliding_cm_s:
        failed.append("sliding")
    if metrics["jerk_max"] > th.jerk_max or metrics["jerk_p95"] > th.jerk_p95:
        failed.append("jerk")
    return failed


def check_clip(joints: np.ndarray, terrain: dict | None = None, th: Thresholds = THRESHOLDS) -> dict:
    metrics = clip_metrics(joints, terrain)
    metrics["failed"] = failures(metrics, th)
    metrics["passed"] = not metrics["failed"]
    return metrics


def _clip_files(path: Path) -> list[tuple[str, Path, Path | None]]:
    """(name, joints file, labels file or None) for a dataset folder, a folder of .npy files or one file."""
    if path.is_file():
        return [(path.stem, path, None)]
    if not path.is_dir():
        raise MotionFormatError(f"{path}: no such file or folder")
    folder = path / "new_joints" if (path / "new_joints").is_dir() else path
    files = sorted(folder.glob("*.npy"))
    if not files:
        raise MotionFormatError(f"{path}: no joint files (.npy) found")
    labels = path / "labels"
    return [(f.stem, f, (labels / f"{f.stem}.json") if (labels / f"{f.stem}.json").is_file() else None)
            for f in files]


def validate_path(path: str | Path, th: Thresholds = THRESHOLDS, progress: bool = False) -> list[dict]:
    """Check every clip of a corpus folder (new_joints/ + labels/), a folder of joint .npy files, or one
    .npy file. Files that are not (T, 22, 3) joints are an error, not a silent skip."""
    from motionllm.console import progress_bar
    from motionllm.motion.formats.arrays import load_npy

    results = []
    for name, joints_file, labels_file in progress_bar(_clip_files(Path(path)), desc="validate", unit="clip",
                                                       enabled=progress):
        joints = load_npy(joints_file)  # one-line errors for what is not a .npy array
        if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
            raise MotionFormatError(f"{joints_file}: not a joints file, shape {joints.shape} (expected (T, 22, 3))")
        terrain = None
        if labels_file is not None:
            terrain = json.loads(labels_file.read_text(encoding="utf-8")).get("terrain")
        result = check_clip(joints, terrain, th)
        result["clip"] = name
        results.append(result)
    return results


COLUMNS = (("bone_rel_std", "bone std", "{:.1e}"), ("min_height_cm", "min h cm", "{:.2f}"),
           ("sliding_cm_s", "slide cm/s", "{:.1f}"), ("jerk_max", "jerk max", "{:.0f}"),
           ("jerk_p95", "jerk p95", "{:.0f}"))


def summary_table(results: list[dict], th: Thresholds = THRESHOLDS, max_rows: int = 20) -> str:
    """Per-clip rows (failures first, at most max_rows) and a summary of each metric over all clips."""
    lines = [f"{'clip':<16}" + "".join(f"{title:>12}" for _, title, _ in COLUMNS) + "  result"]
    ordered = sorted(results, key=lambda r: (r["passed"], r["clip"]))
    for r in ordered[:max_rows]:
        cells = "".join(f"{(fmt.format(r[k]) if k in r else '-'):>12}" for k, _, fmt in COLUMNS)
        lines.append(f"{r['clip']:<16}{cells}  {'ok' if r['passed'] else 'FAIL ' + ','.join(r['failed'])}")
    if len(results) > max_rows:
        lines.append(f"... {len(results) - max_rows} more clips")
    limits = {"bone_rel_std": f"<= {th.bone_rel_std:g}", "min_height_cm": f">= -{th.penetration_cm:g}",
              "sliding_cm_s": f"<= {th.sliding_cm_s:g}", "jerk_max": f"<= {th.jerk_max:g}",
              "jerk_p95": f"<= {th.jerk_p95:g}"}
    lines.append("")
    lines.append(f"{'metric':<16}{'threshold':>12}{'median':>12}{'p99':>12}{'worst':>12}")
    for key, title, fmt in COLUMNS:
        values = np.array([r[key] for r in results if key in r])
        if not len(values):
            continue
        worst = values.min() if key == "min_height_cm" else values.max()
        p99 = np.percentile(values, 1 if key == "min_height_cm" else 99)
        lines.append(f"{title:<16}{limits[key]:>12}{fmt.format(np.median(values)):>12}{fmt.format(p99):>12}"
                     f"{fmt.format(worst):>12}")
    n_fail = sum(not r["passed"] for r in results)
    by_check = {}
    for r in results:
        for f in r["failed"]:
            by_check[f] = by_check.get(f, 0) + 1
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(by_check.items()))
    lines.append("")
    lines.append(f"{len(results) - n_fail}/{len(results)} clips pass" + (f" ({detail} failed)" if detail else ""))
    return "\n".join(lines)
