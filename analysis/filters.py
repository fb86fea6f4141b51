"""Zero-phase Butterworth filters with cached designs, and block-mean decimation.

Designing a filter and its initial state costs more than running it over one
chunk (and the initial-state solve wakes the BLAS thread pool), so both are
computed once per (order, band, rate) and cached.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal


@lru_cache(maxsize=64)
def _design(
    order: int, cutoff_hz: float | tuple[float, float], btype: str, fs_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    sos = signal.butter(order, cutoff_hz, btype=btype, fs=fs_hz, output="sos")
    return sos, signal.sosfilt_zi(sos)


def _filtfilt(design: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Forward-backward filtering along axis 0 with odd extension (as scipy's sosfiltfilt)."""
    sos, zi = design
    x = np.asarray(x, dtype=float)
    pad = min(3 * (2 * len(sos) + 1), len(x) - 1)
    if pad > 0:
        ext = np.concatenate([2 * x[:1] - x[pad:0:-1], x, 2 * x[-1:] - x[-2 : -pad - 2 : -1]])
    else:
        ext = x
    shape = zi.shape + (1,) * (x.ndim - 1)
    zi_n = zi.reshape(shape)
    y, _ = signal.sosfilt(sos, ext, axis=0, zi=zi_n * ext[0])
    y = y[::-1]
    y, _ = signal.sosfilt(sos, y, axis=0, zi=zi_n * y[0])
    y = y[::-1]
    return y[pad : len(y) - pad] if pad > 0 else y


def lowpass(x: np.ndarray, fs_hz: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase low-pass along axis 0."""
    return _filtfilt(_design(order, float(cutoff_hz), "lowpass", float(fs_hz)), x)


def bandpass(
    x: np.ndarray, fs_hz: float, low_hz: float, high_hz: float, order: int = 2
) -> np.ndarray:
    """Zero-phase band-pass along axis 0; the upper edge is kept below Nyquist."""
    band = (float(low_hz), float(min(high_hz, 0.45 * fs_hz)))
    return _filtfilt(_design(order, band, "bandpass", float(fs_hz)), x)


def block_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Means of consecutive blocks of ``k`` samples along axis 0 (a cheap decimation).

    The last, partial block is averaged over what it has. Slow statistics
    (gravity, stride-band sway) are computed on this to save time.
    """
    if k <= 1:
        return np.asarray(x, dtype=float)
    n = len(x)
    full = (n // k) * k
    head = x[:full].reshape((n // k, k) + x.shape[1:]).mean(axis=1)
    if full == n:
        return head
    return np.concatenate([head, x[full:].mean(axis=0, keepdims=True)])

