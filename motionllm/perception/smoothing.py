"""One-Euro filtering of live skeletons (Casiez, Roussel and Vogel, "1 euro filter", CHI 2012).

A first-order low-pass filter whose cutoff rises with speed: still joints get a low cutoff (little
jitter), fast joints a high one (little lag). For each coordinate, at time t with step dt:

    alpha(cutoff) = r / (r + 1),  r = 2 * pi * cutoff * dt
    dx      = (x - x_prev) / dt                                  raw speed (from the raw previous sample)
    dx_hat  = alpha(d_cutoff) * dx + (1 - alpha(d_cutoff)) * dx_hat_prev
    cutoff  = min_cutoff + beta * |dx_hat|
    x_hat   = alpha(cutoff) * x + (1 - alpha(cutoff)) * x_hat_prev

This is the paper's reference algorithm, vectorised over any array shape and driven by the frames'
capture times, so dropped frames and jittery frame rates are handled. Default parameters, for joints in
metres: min_cutoff = 1.0 Hz and d_cutoff = 1.0 Hz (the paper's reference values) and beta = 20 Hz per
m/s. The reference default beta = 0 is a plain 1 Hz low-pass, far too slow for a body: measured on the
shared treadmill video (BlazePose, 60 fps; error against a zero-phase Gaussian smoothing of the same
estimates, sigma 2 frames):
    raw estimates                     error 1.2 cm  jitter (mean |2nd difference|) 100 %
    beta 0   (reference default)      error 7.0 cm  jitter  7 %
    beta 10                           error 2.2 cm  jitter 28 %
    beta 20  (default)                error 1.6 cm  jitter 38 %
    beta 30                           error 1.4 cm  jitter 44 %
Tune as the paper says: with beta = 0, lower min_cutoff until still joints stop jittering; then raise
beta until fast motion stops lagging.
"""
from __future__ import annotations

import math
from typing import Hashable, Iterable

import numpy as np

MIN_CUTOFF_HZ = 1.0
BETA = 20.0
D_CUTOFF_HZ = 1.0


def smoothing_factor(dt: float, cutoff: np.ndarray | float) -> np.ndarray | float:
    """Exponential-smoothing weight of the new sample for a first-order low-pass at `cutoff` Hz."""
    r = 2.0 * math.pi * cutoff * dt
    return r / (r + 1.0)


class OneEuroFilter:
    """One-Euro filter over arrays of a fixed shape (e.g. (22, 3) joints), one filter per coordinate."""

    def __init__(self, min_cutoff: float = MIN_CUTOFF_HZ, beta: float = BETA, d_cutoff: float = D_CUTOFF_HZ) -> None:
        if not (min_cutoff > 0 and d_cutoff > 0 and beta >= 0):
            raise ValueError(f"One-Euro filter needs min_cutoff > 0, d_cutoff > 0 and beta >= 0, "
                             f"got {min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None    # last filtered value
        self._raw: np.ndarray | None = None  # last raw sample
        self._dx: np.ndarray | None = None   # last filtered speed
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """Filter sample `x` taken at time `t` (seconds; any origin, increasing). Returns a new array.

        The first sample passes through unchanged. A sample no newer than the last one is ignored and
        the last output is returned (a duplicate or out-of-order frame must not divide by zero).
        """
        x = np.asarray(x, dtype=np.float64)
        if self._x is None:
            self._x, self._raw, self._dx, self._t = x.copy(), x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        if x.shape != self._x.shape:
            raise ValueError(f"One-Euro filter: sample shape {x.shape} differs from {self._x.shape}")
        dt = float(t) - self._t
        if dt <= 0:
            return self._x.copy()
        a_d = smoothing_factor(dt, self.d_cutoff)
        self._dx = a_d * (x - self._raw) / dt + (1.0 - a_d) * self._dx
        a = smoothing_factor(dt, self.min_cutoff + self.beta * np.abs(self._dx))
        self._x = a * x + (1.0 - a) * self._x
        self._raw, self._t = x.copy(), float(t)
        return self._x.copy()


class SkeletonSmoother:
    """One OneEuroFilter per track: `smoother(track_id, joints, t)`; `forget` tracks that ended."""

    def __init__(self, min_cutoff: float = MIN_CUTOFF_HZ, beta: float = BETA, d_cutoff: float = D_CUTOFF_HZ) -> None:
        OneEuroFilter(min_cutoff, beta, d_cutoff)  # validates the parameters now, not on the first frame
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._filters: dict[Hashable, OneEuroFilter] = {}

    def __call__(self, track_id: Hashable, joints: np.ndarray, t: float) -> np.ndarray:
        if track_id not in self._filters:
            self._filters[track_id] = OneEuroFilter(self.min_cutoff, self.beta, self.d_cutoff)
        return self._filters[track_id](joints, t)

    def forget(self, track_ids: Iterable[Hashable]) -> None:
        for track_id in track_ids:
            self._filters.pop(track_id, None)

    @property
    def track_ids(self) -> set:
        return set(self._filters)
