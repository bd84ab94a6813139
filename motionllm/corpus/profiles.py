"""Smooth time profiles: every control curve of the corpus is built from these.

All of them are C2-continuous (position, velocity and acceleration have no jumps), so joint jerk stays
bounded wherever a motion starts, stops or changes: the min-jerk polynomial 10s^3 - 15s^4 + 6s^5 has
zero velocity and acceleration at both ends, `bump` is its symmetric lift-and-return counterpart.
Times are seconds; arrays broadcast over the frame axis.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d


def minjerk(s: np.ndarray) -> np.ndarray:
    """0 -> 1 over s in [0, 1] with zero velocity and acceleration at both ends; clamped outside."""
    s = np.clip(s, 0.0, 1.0)
    return s * s * s * (10.0 - 15.0 * s + 6.0 * s * s)


def ramp(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """minjerk from 0 at time t0 to 1 at time t1."""
    if t1 <= t0:
        return (np.asarray(t) >= t0).astype(np.float64)
    return minjerk((np.asarray(t) - t0) / (t1 - t0))


def minjerk_integral(x: np.ndarray) -> np.ndarray:
    """Integral of minjerk from 0 to x (x in ramp durations): 0.5 at x = 1, then grows by 1 per unit."""
    x = np.asarray(x, dtype=np.float64)
    c = np.clip(x, 0.0, 1.0)
    return c ** 4 * (2.5 - 3.0 * c + c * c) + np.maximum(x - 1.0, 0.0)


def bump(s: np.ndarray) -> np.ndarray:
    """0 -> 1 -> 0 over s in [0, 1] (peak at 0.5), C2 at both ends; 0 outside."""
    s = np.clip(s, 0.0, 1.0)
    return 64.0 * s ** 3 * (1.0 - s) ** 3


def window(t: np.ndarray, t0: float, rise: float, hold: float, fall: float) -> np.ndarray:
    """0, min-jerk rise to 1 from t0, hold, min-jerk fall back to 0."""
    t_fall = t0 + rise + hold
    return ramp(t, t0, t0 + rise) - ramp(t, t_fall, t_fall + fall)


def keyframes(t: np.ndarray, key_times, key_values) -> np.ndarray:
    """Piecewise min-jerk through (time, value) keys: the curve rests at every key (zero velocity and
    acceleration there), which is how gestures move between poses. Values may be vectors (K, D).
    Constant before the first key and after the last."""
    kt = np.asarray(key_times, dtype=np.float64)
    kv = np.asarray(key_values, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if len(kt) == 1:
        return np.broadcast_to(kv[0], t.shape + kv.shape[1:]).copy()
    idx = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, len(kt) - 2)
    span = np.maximum(kt[idx + 1] - kt[idx], 1e-9)
    s = minjerk((t - kt[idx]) / span)
    s = s.reshape(s.shape + (1,) * (kv.ndim - 1))
    return kv[idx] + (kv[idx + 1] - kv[idx]) * s


def smooth_noise(rng: np.random.Generator, n: int, dims: int, sigma_frames: float, amplitude) -> np.ndarray:
    """(n, dims) low-pass filtered Gaussian noise with standard deviation ~`amplitude` (per dim).

    Used for style: small, slow, per-channel wobble of the controls (never of joint positions, which
    would break bone lengths and planted feet)."""
    pad = int(3 * sigma_frames) + 1
    white = rng.standard_normal((n + 2 * pad, dims))
    smooth = gaussian_filter1d(white, sigma_frames, axis=0, mode="wrap")[pad:pad + n]
    # Std of unit white noise after a Gaussian filter of width sigma: 1 / sqrt(2 sqrt(pi) sigma).
    return smooth * np.sqrt(2.0 * np.sqrt(np.pi) * sigma_frames) * np.asarray(amplitude, dtype=np.float64)


def wrap_angle(a):
    """Angles to (-pi, pi]."""
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi
