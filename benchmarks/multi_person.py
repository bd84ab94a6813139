"""Several people in one image: people found against annotated counts, id switches, frames per second.

    python benchmarks/multi_person.py [--vtest PATH] [--max-people 4]

The pose stage as it runs live (`PoseStage`: the "blazepose" estimator, MultiPoseEstimator, up to --max-people per
image; the tracker; One-Euro smoothing; root and gravity), on two real videos:

- the shared Pose2Sim video (one man throwing, one woman standing far behind him), laid out 1, 2 and 4 times side by
  side in a 640x480 image (every other copy mirrored, each 30 frames later; a copy narrower than the video keeps
  its middle, which can cut the far person out): a scene of 1, 2 or 4 people near the camera (about 60 % of the
  image high), and up to as many small ones far behind them. Annotated: the near people (by construction) and all
  people (near + far). Track ids made: one per near person is no switch (the clip is 3.3 s).
- Debian opencv-doc's vtest.avi (pedestrians on a campus, 768x576, 10 fps; `apt-get download opencv-doc` and
  unpack it, or --vtest PATH), with the number of people I counted by eye on five frames (VTEST_COUNTS). The
  pedestrians are 60-150 pixels tall.

It prints, per scene: annotated people, people found on the annotated frames, the fraction found, track ids
made, and the frames per second of the whole stage (p50 time per frame) on this machine. Run it with nothing
else on the CPU.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / ".." / "shared" / "data" / "video" / "pose2sim_single_cam01.mp4"
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
VTEST_COUNTS = {0: 3, 200: 7, 400: 3, 600: 6, 790: 7}  # people visible in these frames, counted by eye
SIZE = (640, 480)


def read_frames(path: Path, limit: int | None = None) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    if not frames:
        sys.exit(f"multi_person: cannot read {path}")
    return frames


def side_by_side(frames: list[np.ndarray], copies: int, k: int) -> np.ndarray:
    """Frame k of `copies` copies of the clip side by side (mirrored every other one, 30 frames apart) in a 640x480
    image. Each copy keeps the person's size and shape: its middle columns when its tile is narrower than the
    video, else the whole frame with black bars; never squeezed."""
    from motionllm.perception.sources import resize

    width = SIZE[0] // copies
    tiles = []
    for c in range(copies):
        frame = frames[(k + 30 * c) % len(frames)]
        keep = int(round(frame.shape[0] * width / SIZE[1]))  # columns of the tile's shape, at full height
        if keep < frame.shape[1]:
            frame = frame[:, (frame.shape[1] - keep) // 2:(frame.shape[1] + keep) // 2]
        tile = resize(np.ascontiguousarray(frame), width, SIZE[1], keep_aspect=True)
        tiles.append(tile[:, ::-1] if c % 2 else tile)
    return np.ascontiguousarray(np.hstack(tiles))


def run(images, max_people: int, fps: float) -> tuple[list[int], int, float]:
    """(people found per image, track ids made, p50 seconds per image) through a fresh pose stage."""
    from motionllm.perception.pose import make_estimator
    from motionllm.perception.smoothing import SkeletonSmoother
    from motionllm.perception.stage import PoseStage

    stage = PoseStage(make_estimator("blazepose", max_people=max_people), smoother=SkeletonSmoother())
    found, seconds, ids = [], [], set()
    try:
        for k, rgb in enumerate(images):
            start = time.perf_counter()
            bodies, _ = stage.process(rgb, k / fps)
            seconds.append(time.perf_counter() - start)
            found.append(len(bodies))
            ids.update(b.id for b in bodies)
    finally:
        stage.close()
    return found, len(ids), float(np.median(seconds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vtest", type=Path, default=VTEST, help=f"vtest.avi (default {VTEST})")
    parser.add_argument("--max-people", type=int, default=4)
    args = parser.parse_args()
    from motionllm.console import quiet_libraries

    quiet_libraries()
    clip = read_frames(VIDEO)
    print(f"{'scene':34} {'annotated':>9} {'found':>6} {'fraction':>8} {'ids':>4} {'fps':>6}")
    for copies in (1, 2, 4):
        images = [side_by_side(clip, copies, k) for k in range(len(clip))]
        found, ids, seconds = run(images, args.max_people, 30.0)
        near, everyone = copies * len(images), 2 * copies * len(images)
        for label, annotated in ((f"pose2sim x{copies} near people", near), (f"pose2sim x{copies} everyone", everyone)):
            print(f"{label:34} {annotated:9d} {sum(found):6d} {sum(found) / annotated:8.1%} {ids:4d} {1 / seconds:6.1f}")
        print(f"{'':34} track ids made: {ids}, for {copies} near people over {len(images) / 30:.1f} s (a far person "
              "found now and then adds one)")
    if args.vtest.is_file():
        frames = read_frames(args.vtest)
        found, ids, seconds = run(frames, args.max_people, 10.0)
        annotated = sum(VTEST_COUNTS.values())
        hits = sum(min(found[k], VTEST_COUNTS[k]) for k in VTEST_COUNTS)
        print(f"{'vtest.avi (768x576) 5 annotated':34} {annotated:9d} {hits:6d} {hits / annotated:8.1%} {ids:4d} "
              f"{1 / seconds:6.1f}")
        print(f"{'':34} people found per frame over all {len(found)} frames: {np.bincount(found).tolist()}")
    else:
        print(f"vtest.avi not found at {args.vtest}: apt-get download opencv-doc; dpkg-deb -x it (--vtest PATH)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
