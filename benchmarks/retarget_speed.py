"""Retargeting speed on ONE core: frames per second for G1 (or another robot) over the real HumanML3D
sample. Prints figures; not a timed test.

    python benchmarks/retarget_speed.py [--robot g1] [--clip PATH] [--repeats 5]

Figures are per control-rate frame (the output, 50 Hz for G1) and per input frame (20 fps); both
include everything `Retargeter.retarget` does: resampling and targets, the IK (pink + daqp, 2 QP
steps per control frame, warm-started), and the final limit check. Robot construction (URDF parsing)
is timed separately, once. The quality report (self-collision meshes) is not part of retargeting.
"""
from __future__ import annotations

import os

# One core, before numpy loads its BLAS: the IK's matrices are small, threads would only add overhead.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO / ".." / "shared" / "data" / "humanml3d_sample" / "new_joints_012314.npy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robot", default="g1")
    parser.add_argument("--clip", default=str(DEFAULT_CLIP), help="(T, 22, 3) joints .npy at 20 fps")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # pin to one core

    from motionllm.retargeting import Retargeter
    from motionllm.retargeting.safety import make_safe

    joints = np.load(args.clip)
    start = time.perf_counter()
    retargeter = Retargeter(args.robot)
    build = time.perf_counter() - start
    retargeter.retarget(joints, 20.0)  # warm-up: first calls pay for imports and caches

    totals, targets_s, ik_s = [], [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        motion = retargeter.retarget(joints, 20.0)
        totals.append(time.perf_counter() - start)
        start = time.perf_counter()
        targets = retargeter.targets(joints, 20.0)
        targets_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        q = retargeter.solve(targets)
        ik_s.append(time.perf_counter() - start)
    robot = retargeter.robot
    start = time.perf_counter()
    make_safe(q[:, 7:], robot.lower, robot.upper, robot.velocity_limit, robot.control_rate, robot.joint_names)
    safety_s = time.perf_counter() - start

    best, median = min(totals), statistics.median(totals)
    n_out, n_in = len(motion), len(joints)
    print(f"robot {robot.name}: {robot.model.nq} configuration dims, {len(robot.profile.keypoints)} keypoints, "
          f"{robot.profile.ik.iterations} QP steps per control frame, solver {robot.profile.ik.solver}")
    print(f"clip {Path(args.clip).name}: {n_in} input frames at 20 fps -> {n_out} control frames at "
          f"{robot.control_rate:g} Hz ({motion.times[-1]:.2f} s)")
    print(f"one core (pid affinity {sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}), "
          f"load average {os.getloadavg()[0]:.2f}, {args.repeats} runs")
    print(f"robot construction      {build:7.3f} s (once)")
    print(f"retarget (best/median)  {best:7.3f} / {median:.3f} s")
    print(f"  targets               {min(targets_s):7.4f} s")
    print(f"  IK                    {min(ik_s):7.4f} s  ({1e3 * min(ik_s) / n_out:.2f} ms per control frame)")
    print(f"  final limit check     {safety_s:7.4f} s")
    print(f"control frames / s      {n_out / best:7.0f} best, {n_out / median:.0f} median   (target >= 500)")
    print(f"input frames / s        {n_in / best:7.0f} best, {n_in / median:.0f} median")


if __name__ == "__main__":
    main()
