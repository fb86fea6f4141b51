"""Zero-phase Butterworth filters with cached designs.

Designing a filter costs more than running it over one chunk, so designs are cached.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal


@lru_cache(maxsize=64)
def _sos(
    order: int, cutoff_hz: float | tuple[float, float], btype: str, fs_hz: float
) -> np.ndarray:
    return signal.butter(order, cutoff_hz, btype=btype, fs=fs_hz, output="sos")


def lowpass(x: np.ndarray, fs_hz: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase low-pass along axis 0."""
    return signal.sosfiltfilt(_sos(order, float(cutoff_hz), "lowpass", float(fs_hz)), x, axis=0)


def bandpass(
    x: np.ndarray, fs_hz: float, low_hz: float, high_hz: float, order: int = 2
) -> np.ndarray:
    """Zero-phase band-pass along axis 0; the upper edge is kept below Nyquist."""
    band = (float(low_hz), float(min(high_hz, 0.45 * fs_hz)))
    return signal.sosfiltfilt(_sos(order, band, "bandpass", float(fs_hz)), x, axis=0)
