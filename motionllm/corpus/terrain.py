"""Ground that is not flat: a straight flight of stairs (the only terrain the corpus builds).

A flight is described by a dict (stored in the clip's labels, in the clip's stored coordinates):
    {"type": "stairs", "direction": "up" | "down", "origin": [x, z], "forward": [dx, dz],
     "tread": m, "riser": m (signed: > 0 goes up), "count": n, "base": floor height before the flight}
The first riser stands on the line through `origin` perpendicular to `forward`; step k (1..n) spans
along-distances [(k-1) tread, k tread); the last step continues as a landing. The flight is as wide as
the world (so nothing walks around it); behind the origin the ground is `base`.
"""
from __future__ import annotations

import numpy as np


def ground_height(terrain: dict | None, xz: np.ndarray) -> np.ndarray:
    """Ground height under points xz (..., 2); 0 everywhere without terrain."""
    xz = np.asarray(xz, dtype=np.float64)
    if not terrain:
        return np.zeros(xz.shape[:-1])
    if terrain.get("type") != "stairs":
        raise ValueError(f"unknown terrain type {terrain.get('type')!r}")
    along = (xz - np.asarray(terrain["origin"])) @ np.asarray(terrain["forward"])
    step = np.clip(np.floor(along / terrain["tread"]) + 1, 0, terrain["count"])
    step = np.where(along < 0, 0, step)
    return terrain["base"] + terrain["riser"] * step


def transform(terrain: dict | None, rotation_yaw: float, translation: np.ndarray, scale: float) -> dict | None:
    """The same terrain after p -> scale * R_y(yaw) p + translation (translation (3,), y included)."""
    if not terrain:
        return terrain
    c, s = np.cos(rotation_yaw), np.sin(rotation_yaw)

    def rot(v):  # rotate an (x, z) vector about Y
        return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])

    origin = scale * rot(np.asarray(terrain["origin"], dtype=np.float64)) + np.asarray(translation)[[0, 2]]
    forward = rot(np.asarray(terrain["forward"], dtype=np.float64))
    out = dict(terrain)
    out.update(origin=[round(float(v), 5) for v in origin], forward=[round(float(v), 6) for v in forward],
               tread=round(float(scale * terrain["tread"]), 5), riser=round(float(scale * terrain["riser"]), 5),
               base=round(float(scale * terrain["base"] + translation[1]), 5))
    return out
