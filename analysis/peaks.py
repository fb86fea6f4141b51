"""Peak finding and the moving-window filters the step detector uses, in numpy.

The same results as ``scipy.signal.find_peaks`` (plain local maxima, and the
``distance`` rule) and ``scipy.ndimage``'s ``gaussian_filter1d``,
``uniform_filter1d`` and ``maximum_filter1d`` with ``mode="nearest"`` — the
same arithmetic in the same order, so equal to the last bit (tests compare
them on real recordings) — without importing scipy.signal, which pulls in
scipy.stats (~1 s of CPU and ~70 MB at every start).
"""

from __future__ import annotations

import math

import numpy as np

GAUSSIAN_TRUNCATE = 4.0  # kernel radius in sigmas, as scipy.ndimage


def local_maxima(x: np.ndarray) -> np.ndarray:
    """Indices of the local maxima of 1-D ``x``: a sample (or the middle of a flat run,
    rounded down) higher than both neighbours; never the first or last sample."""
    change = np.flatnonzero(np.diff(x) != 0)
    if len(change) < 2:
        return np.zeros(0, dtype=np.intp)
    rising = x[change + 1] > x[change]
    top = np.flatnonzero(rising[:-1] & ~rising[1:])
    left, right = change[top] + 1, change[top + 1]
    return ((left + right) // 2).astype(np.intp)


def select_by_distance(peaks: np.ndarray, height: np.ndarray, distance: float) -> np.ndarray:
    """Mask keeping the highest peaks at least ``distance`` samples apart: from the highest
    down, each kept peak removes the lower ones closer than ``distance``."""
    distance = math.ceil(distance)
    n = len(peaks)
    keep = np.ones(n, dtype=bool)
    if n < 2 or distance <= 1:
        return keep
    position = peaks.tolist()
    order = np.argsort(height).tolist()
    for j in reversed(order):
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and position[j] - position[k] < distance:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < n and position[k] - position[j] < distance:
            keep[k] = False
            k += 1
    return keep


def find_peaks(x: np.ndarray, distance: float | None = None) -> np.ndarray:
    """Local maxima of ``x`` (optionally thinned to ``distance`` samples apart)."""
    peaks = local_maxima(x)
    if distance is not None and len(peaks):
        peaks = peaks[select_by_distance(peaks, x[peaks], distance)]
    return peaks


def _nearest_padded(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """``x`` extended along axis 0 by repeating its first and last sample."""
    return np.concatenate([np.repeat(x[:1], before, axis=0), x,
                           np.repeat(x[-1:], after, axis=0)])


def gaussian_filter1d(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0, edges extended by the nearest sample."""
    radius = int(GAUSSIAN_TRUNCATE * float(sigma) + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 / (float(sigma) * float(sigma)) * offsets**2)
    weights /= weights.sum()
    n = len(x)
    padded = _nearest_padded(np.asarray(x, dtype=np.float64), radius, radius)
    out = padded[radius : radius + n] * weights[radius]
    pair = np.empty_like(out)  # one scratch array, not two temporaries per kernel pair
    for j in range(radius, 0, -1):  # farthest pair first, as ndimage sums a symmetric kernel
        np.add(padded[radius - j : radius - j + n], padded[radius + j : radius + j + n], out=pair)
        pair *= weights[radius + j]
        out += pair
    return out


def uniform_filter1d(x: np.ndarray, size: int) -> np.ndarray:
    """Running mean of 1-D ``x`` over ``size`` samples (centred as ndimage: ``size // 2``
    before), edges extended by the nearest sample; a running sum updated sample by sample."""
    before = size // 2
    after = size - before - 1
    padded = _nearest_padded(np.asarray(x, dtype=np.float64), before, after)
    first = 0.0
    for value in padded[:size].tolist():
        first += value
    running = np.cumsum(np.concatenate([[first], padded[size:] - padded[: len(padded) - size]]))
    return running / float(size)


def maximum_at(x: np.ndarray, at: np.ndarray, size: int) -> np.ndarray:
    """``maximum_filter1d(x, size, mode="nearest")[at]``, computed only at ``at``."""
    before = size // 2
    padded = _nearest_padded(np.asarray(x), before, size - before - 1)
    return padded[at[:, None] + np.arange(size)].max(axis=1)
