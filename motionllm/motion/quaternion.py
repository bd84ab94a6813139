"""Quaternion helpers over numpy arrays, (w, x, y, z) order, broadcasting over leading axes.

These follow the conventions of HumanML3D's `common/quaternion.py` exactly, because the 263-d feature
representation is defined by them (e.g. the root yaw velocity is stored as the *half* angle).
"""
from __future__ import annotations

import numpy as np


def qnormalize(q: np.ndarray) -> np.ndarray:
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def qinv(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def qmul(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Hamilton product q * r."""
    w1, x1, y1, z1 = np.moveaxis(q, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(r, -1, 0)
    return np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=-1,
    )


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4)."""
    qvec = q[..., 1:]
    uv = np.cross(qvec, v)
    uuv = np.cross(qvec, uv)
    return v + 2.0 * (q[..., :1] * uv + uuv)


def qbetween(v0: np.ndarray, v1: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation taking direction v0 to direction v1."""
    v = np.cross(v0, v1)
    w = np.sqrt((v0**2).sum(-1, keepdims=True) * (v1**2).sum(-1, keepdims=True)) + (v0 * v1).sum(-1, keepdims=True)
    return qnormalize(np.concatenate([w, v], axis=-1))


def qfix(q: np.ndarray) -> np.ndarray:
    """Flip signs along time (axis 0) so consecutive quaternions lie in the same hemisphere."""
    out = q.copy()
    dot = np.sum(q[1:] * q[:-1], axis=-1)
    mask = (np.cumsum(dot < 0, axis=0) % 2).astype(bool)
    out[1:][mask] *= -1
    return out


def quat_from_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    angle = np.asarray(angle, dtype=np.float64)[..., None]
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    return np.concatenate([np.cos(angle / 2), np.sin(angle / 2) * axis], axis=-1)


def quat_about_y(angle: np.ndarray) -> np.ndarray:
    """Rotation about the vertical (Y) axis by `angle` radians."""
    angle = np.asarray(angle, dtype=np.float64)
    zeros = np.zeros_like(angle)
    return np.stack([np.cos(angle / 2), zeros, np.sin(angle / 2), zeros], axis=-1)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(qnormalize(q), -1, 0)
    m = np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to unit quaternions with w >= 0."""
    from scipy.spatial.transform import Rotation

    flat = m.reshape(-1, 3, 3)
    xyzw = Rotation.from_matrix(flat).as_quat()
    q = np.concatenate([xyzw[:, 3:], xyzw[:, :3]], axis=-1)
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q.reshape(m.shape[:-2] + (4,))


def quat_to_cont6d(q: np.ndarray) -> np.ndarray:
    """Continuous 6-D rotation (Zhou et al.): the first two columns of the rotation matrix."""
    m = quat_to_matrix(q)
    return np.concatenate([m[..., 0], m[..., 1]], axis=-1)


def cont6d_to_matrix(c: np.ndarray) -> np.ndarray:
    x = c[..., 0:3] / np.linalg.norm(c[..., 0:3], axis=-1, keepdims=True)
    z = np.cross(x, c[..., 3:6])
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)
