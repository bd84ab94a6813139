"""Draw a retargeted motion beside its human source: .gif/.mp4 animation or .png contact sheet.

Panels: the human skeleton (3-D), the robot (3-D: segments between its joints from Pinocchio forward
kinematics, its soles, and the IK's keypoint targets as dots), the robot from the front with the
targets, and both pelvis paths from above (the human's scaled to the robot). Both bodies are drawn in the human's display axes (Y up;
the robot's X forward / Y left / Z up maps to the human's Z / X / Y) with the left side red and the
right side blue, so a raised left arm is red in both. Animation writing and contact sheets reuse
motionllm.motion.render.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from motionllm.motion.render import CHAIN_COLOURS, check_output_suffix, render_scene
from motionllm.motion.skeleton import KINEMATIC_CHAINS
from motionllm.retargeting.motion import RobotMotion
from motionllm.retargeting.robot import Robot

LEFT, RIGHT, MIDDLE = "#c0392b", "#1f5fbf", "#222222"
TARGET_COLOUR = "#27ae60"


def robot_to_display(points: np.ndarray) -> np.ndarray:
    """Robot world (x forward, y left, z up) -> the human display axes (x left, y up, z forward)."""
    return points[..., [1, 2, 0]]


def robot_segments(robot: Robot) -> tuple[list[tuple[int, int]], list[str], list[str]]:
    """Segments to draw as index pairs into the point list `robot_points` returns, their colours, and the
    frame names those points are after the joints: joint-to-parent-joint links, keypoint and extra
    frames hanging off their joints, and each sole's outline."""
    model, profile = robot.model, robot.profile
    names = [model.names[j] for j in range(model.njoints)]
    colour = lambda name: LEFT if "left" in name else RIGHT if "right" in name else MIDDLE  # noqa: E731
    segments, colours = [], []
    for j in range(2, model.njoints):
        segments.append((model.parents[j], j))
        colours.append(colour(names[j]))
    extra = [k.frame for k in profile.keypoints] + [f.name for f in profile.frames]
    extra = list(dict.fromkeys(extra))
    for i, frame in enumerate(extra):
        segments.append((model.frames[robot.frame_id(frame)].parentJoint, model.njoints + i))
        colours.append(colour(frame))
    start = model.njoints + len(extra)
    for foot in profile.feet:
        count = len(foot.contact_points)
        # the outline visits the points sorted by angle about their centre
        centre = foot.points[:, :2].mean(axis=0)
        order = np.argsort(np.arctan2(*(foot.points[:, :2] - centre).T[::-1]))
        for a, b in zip(order, np.roll(order, -1)):
            segments.append((start + a, start + b))
            colours.append(LEFT if foot.side == "left" else RIGHT)
        start += count
        extra += [f"{foot.side}_sole_point_{i}" for i in range(count)]
    return segments, colours, extra


def robot_points(robot: Robot, q: np.ndarray, frames: list[str]) -> np.ndarray:
    """(N, njoints + len(frames), 3) world positions of every joint origin then the named frames."""
    import pinocchio as pin

    model, data = robot.model, robot.model.createData()
    ids = [robot.frame_id(f) for f in frames]
    out = np.empty((len(q), model.njoints + len(ids), 3))
    for n, qn in enumerate(q):
        pin.forwardKinematics(model, data, qn)
        for j in range(model.njoints):
            out[n, j] = data.oMi[j].translation
        for k, fid in enumerate(ids):
            out[n, model.njoints + k] = pin.updateFramePlacement(model, data, fid).translation
    return out


class _RetargetScene:
    """Figure updated frame by frame; `draw(frame, fps)` is what motionllm.motion.render animates."""

    def __init__(self, human: np.ndarray, human_fps: float, motion: RobotMotion, robot: Robot,
                 title: str | None, size: float):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self.human, self.human_fps, self.motion = human, human_fps, motion
        segments, self.colours, frames = robot_segments(robot)
        self.segments = np.array(segments)
        self.points = robot_to_display(robot_points(robot, motion.q, frames))
        self.targets = (robot_to_display(motion.keypoint_targets) if motion.keypoint_targets is not None
                        and motion.keypoint_targets.size else None)
        height = max(human[..., 1].max(), self.points[..., 1].max())
        self.half = max(0.9, height / 2 + 0.1)

        self.fig = plt.figure(figsize=(size * 2.6, size), dpi=64)
        if title:
            self.fig.suptitle(title, fontsize=11)
        grid = self.fig.add_gridspec(1, 4, width_ratios=(1.3, 1.3, 1, 1))
        self.ax_human = self.fig.add_subplot(grid[0], projection="3d")
        self.ax_robot = self.fig.add_subplot(grid[1], projection="3d")
        for ax, name in ((self.ax_human, "human"), (self.ax_robot, f"{robot.name} (dots: IK targets)")):
            ax.set_title(name, fontsize=9)
            ax.set_zlim(-0.02, 2 * self.half - 0.02)
            ax.set_box_aspect((1, 1, 1))
            ax.view_init(elev=15, azim=-60)
            ax.set_xticks([]); ax.set_yticks([]); ax.set_zticks([])
        self.ax_front = self.fig.add_subplot(grid[2])
        self.ax_front.set_title(f"{robot.name}, front", fontsize=9)
        self.ax_top = self.fig.add_subplot(grid[3])
        self.ax_top.set_title("pelvis paths, top (grey: scaled human)", fontsize=9)
        for ax in (self.ax_front, self.ax_top):
            ax.set_aspect("equal")
            ax.tick_params(labelsize=6)
            ax.grid(True, alpha=0.3)
        self.ax_front.axhline(0.0, color="#777777", lw=1)
        self.ax_front.set_ylim(-0.02, 2 * self.half - 0.02)
        # the robot point that tracks the human pelvis (not the base origin, which a tilting pelvis swings)
        pelvis = [k.frame for k in robot.profile.keypoints if k.human == "pelvis"]
        self.root_index = robot.model.njoints + frames.index(pelvis[0]) if pelvis else 1
        robot_root = self.points[:, self.root_index]
        human_root = human[:, 0] * motion.scale
        self.ax_top.plot(human_root[:, 0], human_root[:, 2], color="#999999", lw=1)
        self.ax_top.plot(robot_root[:, 0], robot_root[:, 2], color=MIDDLE, lw=1)
        every = np.concatenate([human_root[:, [0, 2]], robot_root[:, [0, 2]]])
        lo, hi = every.min(axis=0) - 0.5, every.max(axis=0) + 0.5
        span = (hi - lo).max() / 2
        mid = (lo + hi) / 2
        self.ax_top.set_xlim(mid[0] - span, mid[0] + span)
        self.ax_top.set_ylim(mid[1] - span, mid[1] + span)
        self.fig.tight_layout()

        self.human_lines = [self.ax_human.plot([], [], [], color=CHAIN_COLOURS[c], lw=2.5, marker="o", ms=2)[0]
                            for c in range(len(KINEMATIC_CHAINS))]
        self.robot_lines = [self.ax_robot.plot([], [], [], color=c, lw=2)[0] for c in self.colours]
        self.front_lines = [self.ax_front.plot([], [], color=c, lw=1.5)[0] for c in self.colours]
        self.target_dots = self.ax_robot.plot([], [], [], ls="", marker="o", ms=3, color=TARGET_COLOUR)[0]
        self.front_dots = self.ax_front.plot([], [], ls="", marker="o", ms=3, color=TARGET_COLOUR)[0]
        self.markers = [self.ax_top.plot([], [], marker="o", ms=5, color=c)[0] for c in ("#999999", MIDDLE)]
        self.clock = self.fig.text(0.01, 0.01, "", fontsize=8)

    def _follow(self, ax, root: np.ndarray) -> None:
        ax.set_xlim(root[0] - self.half, root[0] + self.half)
        ax.set_ylim(root[2] - self.half, root[2] + self.half)

    def draw(self, frame: int, fps: float) -> np.ndarray:
        """Image of display frame `frame` at `fps`: the robot and human frames nearest its time."""
        t = frame / fps
        pose = self.human[min(int(round(t * self.human_fps)), len(self.human) - 1)]
        for line, chain in zip(self.human_lines, KINEMATIC_CHAINS):
            p = pose[list(chain)]
            line.set_data_3d(p[:, 0], p[:, 2], p[:, 1])  # matplotlib's 3-D z is up
        self._follow(self.ax_human, pose[0])

        robot_frame = min(int(round(t * self.motion.control_rate)), len(self.motion) - 1)
        points = self.points[robot_frame]
        for line, line2d, (a, b) in zip(self.robot_lines, self.front_lines, self.segments):
            p = points[[a, b]]
            line.set_data_3d(p[:, 0], p[:, 2], p[:, 1])
            line2d.set_data(p[:, 0], p[:, 1])
        root = points[1]
        self._follow(self.ax_robot, root)
        self.ax_front.set_xlim(root[0] - self.half, root[0] + self.half)
        if self.targets is not None:
            dots = self.targets[robot_frame]
            self.target_dots.set_data_3d(dots[:, 0], dots[:, 2], dots[:, 1])
            self.front_dots.set_data(dots[:, 0], dots[:, 1])
        self.markers[0].set_data([pose[0, 0] * self.motion.scale], [pose[0, 2] * self.motion.scale])
        self.markers[1].set_data([points[self.root_index, 0]], [points[self.root_index, 2]])
        self.clock.set_text(f"t = {t:5.2f} s  (robot frame {robot_frame})")
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        import matplotlib.pyplot as plt

        plt.close(self.fig)


def render_retarget(human: np.ndarray, human_fps: float, motion: RobotMotion, robot: Robot,
                    out_path: str | os.PathLike, title: str | None = None, sheet_frames: int = 8,
                    size: float = 4.0, fps: float = 20.0, progress: bool = False) -> Path:
    """Render the robot following the human to .gif/.mp4 (at `fps`, real time) or a .png contact sheet.

    Animations default to 20 fps rather than the control rate: as smooth to watch, 2.5x fewer images."""
    out_path = Path(out_path)
    check_output_suffix(out_path)
    scene = _RetargetScene(np.asarray(human, dtype=np.float64), human_fps, motion, robot, title, size)
    n_frames = int(np.floor(motion.times[-1] * fps + 1e-6)) + 1
    return render_scene(scene, n_frames, fps, out_path, sheet_frames, progress)
