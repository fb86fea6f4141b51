"""Acceleration units: detect g versus m/s² from the resting magnitude, convert to g."""

from __future__ import annotations

import numpy as np

from analysis.errors import InputError

STANDARD_GRAVITY_MPS2 = 9.80665
ACC_UNITS = ("g", "m/s2")


def median_magnitude(acc: np.ndarray) -> float:
    """Median |acceleration| over finite samples (on at most ~100 000 evenly spaced samples)."""
    sample = acc[:: max(1, len(acc) // 100_000)]
    sample = sample[np.isfinite(sample).all(axis=1)]  # missing values are reported elsewhere
    if len(sample) == 0:
        raise InputError("no finite acceleration values")
    return float(np.median(np.sqrt(np.einsum("ij,ij->i", sample, sample))))


def detect_acc_units(acc: np.ndarray) -> str:
    """Return "g" or "m/s2" from the median magnitude of the acceleration (N,3).

    A body-worn accelerometer reads about 1 g (9.81 m/s²) on average whatever
    its orientation, so the median magnitude separates the two units by a
    factor of ten. Anything far from both is refused as implausible.
    """
    magnitude = median_magnitude(acc)
    if 0.5 <= magnitude <= 2.0:
        return "g"
    if 0.5 * STANDARD_GRAVITY_MPS2 <= magnitude <= 2.0 * STANDARD_GRAVITY_MPS2:
        return "m/s2"
    raise InputError(
        f"implausible acceleration: median magnitude {magnitude:.3g} is neither ~1 (g) "
        f"nor ~9.81 (m/s²); check the units or pass --units"
    )


def to_g(acc: np.ndarray, units: str) -> np.ndarray:
    """Acceleration (N,3) in ``units`` ("g" or "m/s2") converted to g (float64)."""
    if units == "g":
        return np.asarray(acc, dtype=np.float64)
    if units == "m/s2":
        return np.asarray(acc, dtype=np.float64) / STANDARD_GRAVITY_MPS2
    raise ValueError(f"unknown acceleration units {units!r}; expected one of {ACC_UNITS}")
