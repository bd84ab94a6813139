"""Draw motions as skeleton animations (.gif, .mp4) or a contact sheet of frames (.png).

Every feature that shows motion to a person goes through `render_motion`: several views (a perspective
view with the ground grid and the root's trail, plus front, side and top projections), the person's left
side in red and right side in blue, optional overlays (e.g. input vs reconstruction) in other colours.
"""
from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path
from typing import Sequence

import numpy as np

from motionllm.errors import MotionLLMError
from motionllm.fileio import atomic_path
from motionllm.motion.skeleton import FPS, JOINT_NAMES, KINEMATIC_CHAINS

SUFFIXES = (".gif", ".mp4", ".png")
# Chain colours: right leg, left leg, spine, right arm, left arm (left = red, right = blue).
CHAIN_COLOURS = ("#1f5fbf", "#c0392b", "#222222", "#4a90e2", "#e74c3c")
OVERLAY_COLOURS = ("#27ae60", "#8e44ad", "#e67e22", "#16a085")
# (name, horizontal axis, vertical axis) of the orthographic views; Y is up, the body faces +Z at frame 0.
PROJECTIONS = (("front", 0, 1), ("side", 2, 1), ("top", 0, 2))
GRID_STEP = 0.5  # metres between ground-grid lines


def _as_motions(motions) -> list[np.ndarray]:
    if isinstance(motions, np.ndarray):
        motions = [motions]
    out = []
    for m in motions:
        m = np.asarray(m, dtype=np.float64)
        if m.ndim != 3 or m.shape[1:] != (len(JOINT_NAMES), 3):
            raise MotionLLMError(f"render: expected joints of shape (T, 22, 3), got {m.shape}")
        if not np.all(np.isfinite(m)):
            raise MotionLLMError("render: motion contains NaN or infinite coordinates")
        out.append(m)
    return out


class _Scene:
    """One matplotlib figure whose artists are updated frame by frame (much faster than redrawing)."""

    def __init__(self, motions: list[np.ndarray], title: str | None, labels: Sequence[str] | None, size: float):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self.motions = motions
        every = np.concatenate([m.reshape(-1, 3) for m in motions])
        lo, hi = every.min(axis=0), every.max(axis=0)
        # The body views follow the root with a fixed window (a person stays readable on long walks);
        # the top view shows the whole trajectory.
        self.half = max(1.0, (hi[1] - min(lo[1], 0.0)) / 2 + 0.1)
        self.floor = min(lo[1], 0.0) - 0.02
        span = max((hi - lo)[[0, 2]].max() / 2 + 0.3, self.half)
        centre = (lo + hi) / 2
        self.world = [(centre[i] - span, centre[i] + span) for i in range(3)]

        self.fig = plt.figure(figsize=(size * 2.5, size), dpi=64)
        if title:
            self.fig.suptitle(textwrap.fill(title, 110), fontsize=10 if len(title) > 110 else 11)
        grid = self.fig.add_gridspec(1, 4, width_ratios=(1.6, 1, 1, 1))
        ax3d = self.fig.add_subplot(grid[0], projection="3d")
        self._setup_3d(ax3d)
        self.axes2d = []
        for k, (name, h, v) in enumerate(PROJECTIONS):
            ax = self.fig.add_subplot(grid[k + 1])
            ax.set_title(name, fontsize=9)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=6)
            ax.grid(True, alpha=0.3)
            if name == "top":
                ax.set_xlim(*self.world[h])
                ax.set_ylim(*self.world[v])
                for m in motions:
                    ax.plot(m[:, 0, 0], m[:, 0, 2], color="#999999", lw=1)
            else:
                ax.axhline(0.0, color="#777777", lw=1)
                ax.set_ylim(self.floor, self.floor + 2 * self.half)
            self.axes2d.append((ax, h, v))
        self.fig.tight_layout()

        self.lines = []  # (motion index, chain, 3d line, [2d lines])
        for i, m in enumerate(motions):
            for c, chain in enumerate(KINEMATIC_CHAINS):
                colour = CHAIN_COLOURS[c] if i == 0 else OVERLAY_COLOURS[(i - 1) % len(OVERLAY_COLOURS)]
                line3d, = ax3d.plot([], [], [], color=colour, lw=2.5 if i == 0 else 1.8, marker="o", ms=2)
                lines2d = [ax.plot([], [], color=colour, lw=2 if i == 0 else 1.5)[0] for ax, _, _ in self.axes2d]
                self.lines.append((i, chain, line3d, lines2d))
        if labels and len(motions) > 1:
            handles = [plt.Line2D([], [], color=CHAIN_COLOURS[2] if i == 0 else OVERLAY_COLOURS[(i - 1) % 4])
                       for i in range(len(motions))]
            self.fig.legend(handles, labels, loc="lower center", ncol=len(motions), fontsize=8)
        self.clock = self.fig.text(0.01, 0.01, "", fontsize=8)
        self.ax3d = ax3d

    def _setup_3d(self, ax) -> None:
        # Matplotlib's 3-D 'z' is up, so we plot (x, z, y): ground plane = our XZ, up = our Y.
        # 3-D lines are not clipped to the axes box, so the grid and trail are re-cut to the window each frame.
        ax.set_zlim(self.floor, self.floor + 2 * self.half)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=15, azim=-60)
        ax.set_xticks([]); ax.set_yticks([]); ax.set_zticks([])
        n_lines = int(np.ceil(2 * self.half / GRID_STEP)) + 1
        self.grid = [ax.plot([], [], [], color="#cccccc", lw=0.6)[0] for _ in range(2 * n_lines)]
        self.trails = [ax.plot([], [], [], color="#999999", lw=1)[0] for _ in self.motions]

    def _update_ground(self, root: np.ndarray) -> None:
        x0, x1 = root[0] - self.half, root[0] + self.half
        z0, z1 = root[2] - self.half, root[2] + self.half
        n = len(self.grid) // 2
        xs = np.ceil(x0 / GRID_STEP) * GRID_STEP + GRID_STEP * np.arange(n)
        zs = np.ceil(z0 / GRID_STEP) * GRID_STEP + GRID_STEP * np.arange(n)
        for line, x in zip(self.grid[:n], xs):
            line.set_data_3d([x, x] if x <= x1 else [], [z0, z1] if x <= x1 else [], [0, 0] if x <= x1 else [])
        for line, z in zip(self.grid[n:], zs):
            line.set_data_3d([x0, x1] if z <= z1 else [], [z, z] if z <= z1 else [], [0, 0] if z <= z1 else [])
        for line, m in zip(self.trails, self.motions):
            inside = (np.abs(m[:, 0, 0] - root[0]) <= self.half) & (np.abs(m[:, 0, 2] - root[2]) <= self.half)
            line.set_data_3d(np.where(inside, m[:, 0, 0], np.nan), np.where(inside, m[:, 0, 2], np.nan),
                             np.zeros(len(m)))

    def draw(self, frame: int, fps: float) -> np.ndarray:
        for i, chain, line3d, lines2d in self.lines:
            m = self.motions[i]
            pose = m[min(frame, len(m) - 1), list(chain)]
            line3d.set_data_3d(pose[:, 0], pose[:, 2], pose[:, 1])
            for line, (_, h, v) in zip(lines2d, self.axes2d):
                line.set_data(pose[:, h], pose[:, v])
        root = self.motions[0][min(frame, len(self.motions[0]) - 1), 0]
        self.ax3d.set_xlim(root[0] - self.half, root[0] + self.half)
        self.ax3d.set_ylim(root[2] - self.half, root[2] + self.half)
        self._update_ground(root)
        for ax, h, v in self.axes2d[:2]:
            ax.set_xlim(root[h] - self.half, root[h] + self.half)
        self.clock.set_text(f"t = {frame / fps:5.2f} s  (frame {frame})")
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        import matplotlib.pyplot as plt

        plt.close(self.fig)


def render_motion(motions, out_path: str | os.PathLike, fps: float = FPS, title: str | None = None,
                  labels: Sequence[str] | None = None, sheet_frames: int = 8, size: float = 4.0,
                  progress: bool = False) -> Path:
    """Render one motion (T, 22, 3) or several overlaid, to .gif/.mp4 (animation) or .png (contact sheet)."""
    out_path = Path(out_path)
    check_output_suffix(out_path)
    motions = _as_motions(motions)
    scene = _Scene(motions, title, labels, size)
    return render_scene(scene, max(len(m) for m in motions), fps, out_path, sheet_frames, progress)


def check_output_suffix(out_path: Path) -> None:
    if out_path.suffix.lower() not in SUFFIXES:
        raise MotionLLMError(f"render: output must end in one of {', '.join(SUFFIXES)}, got {out_path.name!r}")


def render_scene(scene, n_frames: int, fps: float, out_path: Path, sheet_frames: int = 8,
                 progress: bool = False) -> Path:
    """Write a scene (anything with `draw(frame, fps) -> RGB array` and `close()`) as an animation or,
    for .png, a contact sheet of `sheet_frames` evenly spaced frames. Closes the scene."""
    try:
        if out_path.suffix.lower() == ".png":
            frames = np.linspace(0, n_frames - 1, min(sheet_frames, n_frames)).round().astype(int)
            sheet = contact_sheet([scene.draw(f, fps) for f in frames], columns=2)
            with atomic_path(out_path) as tmp:
                import imageio.v3 as iio

                iio.imwrite(tmp, sheet)
        else:
            write_animation(scene, n_frames, fps, out_path, progress)
    finally:
        scene.close()
    return out_path


def contact_sheet(images: list[np.ndarray], columns: int) -> np.ndarray:
    """Tile equally sized RGB frames into one image, row by row."""
    h, w, _ = images[0].shape
    rows = -(-len(images) // columns)
    sheet = np.full((rows * h, columns * w, 3), 255, dtype=np.uint8)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = image
    return sheet


def write_animation(scene, n_frames: int, fps: float, out_path: Path, progress: bool) -> None:
    """Write frames `scene.draw(i, fps)` for i < n_frames as a .gif or .mp4, atomically."""
    import imageio.v2 as imageio
    from motionllm.console import progress_bar

    frames = progress_bar(range(n_frames), desc=f"render {out_path.name}", unit="frame", enabled=progress)
    with atomic_path(out_path) as tmp:
        if out_path.suffix.lower() == ".gif":
            writer = imageio.get_writer(tmp, mode="I", duration=1000.0 / fps, loop=0)
        else:
            writer = imageio.get_writer(tmp, fps=fps, codec="libx264", quality=7, macro_block_size=16)
        with writer:
            for f in frames:
                writer.append_data(scene.draw(f, fps))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "render",
        help="draw a motion file as a skeleton animation (.gif/.mp4) or contact sheet (.png)",
        description="Render a motion (any format `motionllm convert` reads) with several views, a ground "
                    "grid and the root trajectory. Extra inputs given with --overlay are drawn on top.",
    )
    p.add_argument("input", help="motion file (joints/features .npy, BVH, AMC, DeepMimic JSON, ...)")
    p.add_argument("output", help="output .gif, .mp4 or .png (contact sheet)")
    p.add_argument("--overlay", action="append", default=[], metavar="FILE", help="another motion drawn on top")
    p.add_argument("--title", default=None, help="figure title (default: the input file name)")
    p.add_argument("--fps", type=float, default=None, help="frame rate of a joints .npy input (default 20)")
    p.add_argument("--asf", default=None, help="ASF skeleton for an AMC input")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from motionllm.fileio import command_outputs
    from motionllm.motion.formats import read_motion

    check_output_suffix(Path(args.output))
    with command_outputs(args.output) as (output,):  # checked before the motions are read
        opts = {"fps": args.fps, "asf": args.asf}
        motions = [read_motion(args.input, **opts)] + [read_motion(path, **opts) for path in args.overlay]
        labels = [Path(args.input).name] + [Path(p).name for p in args.overlay]
        render_motion(motions, output, title=args.title or Path(args.input).name, labels=labels, progress=True)
    print(args.output)
    return 0
