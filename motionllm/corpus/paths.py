"""Pelvis paths on the floor: chains of straight lines and circular arcs, sampled by arc length.

Yaw convention as everywhere: 0 = moving along +Z, positive = to the left (+X). An arc with a positive
angle curves to the left (counter-clockwise seen from above).
"""
from __future__ import annotations

import numpy as np

SAMPLE = 0.02  # metres between path samples


class Path:
    """A path from `start` (x, z) with initial direction `yaw`, built from ("line", length) and
    ("arc", angle, radius) pieces."""

    def __init__(self, start, yaw: float, pieces):
        points = [np.asarray(start, dtype=np.float64)]
        yaws = [float(yaw)]
        for piece in pieces:
            p, a = points[-1], yaws[-1]
            if piece[0] == "line":
                n = max(int(np.ceil(piece[1] / SAMPLE)), 1)
                d = np.linspace(0, piece[1], n + 1)[1:]
                points.extend(p + d[:, None] * np.array([np.sin(a), np.cos(a)]))
                yaws.extend([a] * n)
            elif piece[0] == "arc":
                angle, radius = piece[1], piece[2]
                sign = np.sign(angle) or 1.0
                left = np.array([np.cos(a), -np.sin(a)])
                centre = p + sign * radius * left
                n = max(int(np.ceil(abs(angle) * radius / SAMPLE)), 2)
                th = a + np.linspace(0, angle, n + 1)[1:]
                points.extend(centre - sign * radius * np.stack([np.cos(th), -np.sin(th)], -1))
                yaws.extend(th)
            else:
                raise ValueError(f"unknown path piece {piece[0]!r}")
        self.points = np.array(points)
        self.yaws = np.array(yaws)
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=-1)
        self.s = np.concatenate([[0.0], np.cumsum(seg)])

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def at(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (N, 2) and direction yaws (N,) at arc lengths s (clamped to the path)."""
        s = np.clip(s, 0.0, self.length)
        x = np.interp(s, self.s, self.points[:, 0])
        z = np.interp(s, self.s, self.points[:, 1])
        return np.stack([x, z], -1), np.interp(s, self.s, self.yaws)
