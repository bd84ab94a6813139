"""Retargeting fidelity against the GMR-comparison bars, on real mocap, and throughput against a baseline
commit, measured in one run on ONE core. Prints figures; not a timed test.

    python benchmarks/retarget_fidelity.py [--robot g1] [--against HEAD] [--bandai 40] [--cmu 33]
                                           [--clip PATH ...] [--no-lafan]

Clips: the LaFAN1 clip of bvhtools (`lafan1_test.bvh`, 4 min; evaluation only, CC BY-NC-ND), the held-out
test split of the imported real mocap (`data/real/bandai`, `data/real/cmu`, from `motionllm data import`;
skipped if absent) and any --clip (a motion file `motionllm convert` reads).

Figures per clip set (issue 18's bars in brackets):
  limb direction   angle between each profile `directions` segment on the robot and the human bone,
                   mean and p95 over frames and segments (<= 8 deg, p95 <= 15)
  fast frames      control frames with any joint over 10 rad/s, per 1000 (<= 1)
  snaps            those of them in which no human bone of `directions` turns that fast (the robot is
                   faster than the person: Bandai-Namco's "active" waves turn the forearm at ~19 rad/s)
  foot sliding     mean over contacts of the stance foot's largest horizontal drift (<= 0.2 cm)
  throughput       control frames per second of compute, this tree / --against (>= 0.8)

--against REV checks REV out into a temporary git worktree and retargets the same clips with its code in
a subprocess (same core, one after the other); every figure is computed by this tree's code from the
saved trajectories, so both are measured the same way.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"  # before numpy loads: the IK's matrices are small

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SUBPACKAGES = {"models": "models", "engines": "engines", "retargeting": "retargeting"}  # as setup.py maps them


def use_source_tree(root: Path) -> None:
    """Import `motionllm` (and its mapped folders) from another checkout instead of the installed one."""
    import importlib.util

    def load(name: str, folder: Path):
        spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)

    load("motionllm", root / "motionllm")
    for name, folder in SUBPACKAGES.items():
        load(f"motionllm.{name}", root / folder)


def retarget_clips(robot: str, clips: list[Path], out: Path, repeats: int) -> None:
    """Worker: retarget each clip (.npy joints at 20 fps), save the motion and the best of `repeats` times."""
    from motionllm.retargeting import Retargeter

    retargeter = Retargeter(robot)
    timings = {}
    for clip in clips:
        joints = np.load(clip)
        best = np.inf
        try:
            for _ in range(repeats):
                start = time.perf_counter()
                motion = retargeter.retarget(joints, 20.0)
                best = min(best, time.perf_counter() - start)
        except Exception as exc:  # an older tree's bug: reported, and the clip left out of the comparison
            timings[clip.stem] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        motion.save(out / f"{clip.stem}.npz")
        timings[clip.stem] = {"seconds": best, "frames": len(motion)}
    (out / "timings.json").write_text(json.dumps(timings))


def run_worker(source: Path, robot: str, clips: list[Path], out: Path, repeats: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, "--worker", str(source), "--robot", robot, "--out", str(out),
               "--repeats", str(repeats), *map(str, clips)]
    subprocess.run(command, check=True)
    return json.loads((out / "timings.json").read_text())


def collect_clips(args, scratch: Path) -> dict[str, list[Path]]:
    """Clip set name -> joint files (.npy, 20 fps), converted into `scratch` where needed."""
    from motionllm.motion.formats import read_motion

    sets: dict[str, list[Path]] = {}
    if not args.no_lafan:
        from motionllm.motion import samples

        path = scratch / "lafan1_test.npy"
        np.save(path, read_motion(samples.sample_path("lafan1_test.bvh")))
        sets["LaFAN1 (bvhtools)"] = [path]
    for name, count in (("bandai", args.bandai), ("cmu", args.cmu)):
        root = REPO / "data" / "real" / name
        if count <= 0 or not (root / "test.txt").is_file():
            continue
        ids = (root / "test.txt").read_text().split()
        picked = [ids[i] for i in np.linspace(0, len(ids) - 1, min(count, len(ids))).round().astype(int)]
        sets[f"{name} test ({len(picked)} clips)"] = [root / "new_joints" / f"{i}.npy" for i in dict.fromkeys(picked)]
    if args.clip:
        paths = []
        for clip in args.clip:
            path = scratch / f"clip_{len(paths)}_{Path(clip).stem}.npy"
            np.save(path, read_motion(clip))
            paths.append(path)
        sets["--clip"] = paths
    return sets


def figures(robot, clips: list[Path], motions: Path) -> dict:
    from motionllm.retargeting.keypoints import keypoint_targets
    from motionllm.retargeting.motion import RobotMotion
    from motionllm.retargeting.quality import evaluate, fast_bone_frames, fast_joint_frames, limb_direction_errors

    angles, fast, snaps, frames, drifts = [], 0, 0, 0, []
    for clip in clips:
        motion = RobotMotion.load(motions / f"{clip.stem}.npz")
        human = keypoint_targets(np.load(clip), 20.0, robot.profile, robot.proportions).human
        angles.append(limb_direction_errors(motion.q, robot, human).ravel())
        robot_fast = fast_joint_frames(motion)
        fast += int(robot_fast.sum())
        snaps += int((robot_fast & ~fast_bone_frames(human, motion.control_rate, robot.profile.directions)).sum())
        frames += len(motion)
        report = evaluate(motion, robot, collisions=False)
        drifts.append((report.foot_sliding_cm_mean, int(motion.contacts.any(axis=1).sum())))
    angles = np.concatenate(angles)
    weights = np.array([w for _, w in drifts], dtype=float)
    return {"limb_mean": float(angles.mean()), "limb_p95": float(np.percentile(angles, 95)),
            "fast_per_1000": 1000.0 * fast / frames, "snaps_per_1000": 1000.0 * snaps / frames, "frames": frames,
            "sliding_cm": float(np.average([d for d, _ in drifts], weights=np.maximum(weights, 1e-9)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robot", default="g1")
    parser.add_argument("--against", metavar="REV", help="baseline commit for the throughput ratio (e.g. HEAD)")
    parser.add_argument("--bandai", type=int, default=40, help="Bandai-Namco test clips (0: none)")
    parser.add_argument("--cmu", type=int, default=33, help="CMU test clips (0: none)")
    parser.add_argument("--clip", action="append", help="another motion file (repeatable)")
    parser.add_argument("--no-lafan", action="store_true")
    parser.add_argument("--repeats", type=int, default=1, help="timing runs per clip (best counts)")
    parser.add_argument("--worker", metavar="SOURCE", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("clips", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    if args.worker:
        if Path(args.worker).resolve() != REPO:
            use_source_tree(Path(args.worker))
        retarget_clips(args.robot, [Path(c) for c in args.clips], Path(args.out), args.repeats)
        return

    from motionllm.retargeting.robot import Robot

    robot = Robot(args.robot)  # fails here, with one line, on an unknown robot
    with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
        scratch = Path(tmp)
        sets = collect_clips(args, scratch)
        if not sets:
            sys.exit("retarget_fidelity: no clips (no LaFAN1, no data/real/*, no --clip)")
        every = [c for clips in sets.values() for c in clips]
        trees = {"this tree": REPO}
        if args.against:
            baseline = scratch / "baseline"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(baseline), args.against],
                           check=True)
            trees[args.against] = baseline
        try:
            timings = {name: run_worker(root, args.robot, every, scratch / f"out{i}", args.repeats)
                       for i, (name, root) in enumerate(trees.items())}
            for tree, clip_timings in timings.items():
                for clip, t in clip_timings.items():
                    if "error" in t:
                        print(f"{tree}: {clip} failed ({t['error']}); left out of every figure", file=sys.stderr)
            failed = {c for t in timings.values() for c, v in t.items() if "error" in v}
            sets = {name: [c for c in clips if c.stem not in failed] for name, clips in sets.items()}
            every = [c for c in every if c.stem not in failed]
            print(f"robot {robot.name}, one core, {len(every)} clips; bars: limb <= 8 deg (p95 <= 15), "
                  "fast <= 1/1000, sliding <= 0.2 cm, throughput >= 0.8x")
            print(f"{'clips':<26} {'tree':<10} {'limb deg':>9} {'p95':>6} {'fast/1000':>10} {'snaps/1000':>11} "
                  f"{'sliding cm':>11} {'frames/s':>9}")
            for set_name, clips in sets.items():
                for i, (tree, _) in enumerate(trees.items()):
                    f = figures(robot, clips, scratch / f"out{i}")
                    t = timings[tree]
                    rate = sum(t[c.stem]["frames"] for c in clips) / sum(t[c.stem]["seconds"] for c in clips)
                    print(f"{set_name:<26} {tree[:10]:<10} {f['limb_mean']:9.2f} {f['limb_p95']:6.1f} "
                          f"{f['fast_per_1000']:10.2f} {f['snaps_per_1000']:11.2f} {f['sliding_cm']:11.3f} {rate:9.0f}")
            if args.against:
                rates = [sum(t[c.stem]["frames"] for c in every) / sum(t[c.stem]["seconds"] for c in every)
                         for t in timings.values()]
                print(f"throughput this tree / {args.against}: {rates[0] / rates[1]:.2f}x "
                      f"({rates[0]:.0f} against {rates[1]:.0f} control frames/s)")
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(trees[args.against])],
                               check=False)


if __name__ == "__main__":
    main()
