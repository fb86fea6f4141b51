"""Sane physical bounds on what is analysed, checked before anything large is allocated.

The analysis builds a uniform grid at the sample rate over every gap-free stretch
of the recording, so its time and memory follow ``duration × rate``. A rate
estimated from a burst of stamps 1e-7 s apart, a header claiming 1 MHz, or a
stretch of time no samples fill would make that grid far larger than the input.
These checks keep the work proportional to the input's size and refuse, with the
figures, what no body-worn accelerometer produces.
"""

from __future__ import annotations

import numpy as np

from analysis.errors import InputError

#: Sample rates any supported (or plausible) accelerometer streams at.
MIN_RATE_HZ = 1.0
MAX_RATE_HZ = 2000.0
#: Below this the heel-strike peaks the step detector looks for are not resolved
#: (a 110 steps/min walk sampled at 10 Hz loses a third of its steps).
MIN_ANALYSIS_RATE_HZ = 15.0
#: Longest recording analysed in one go (a week).
MAX_DURATION_S = 7 * 24 * 3600.0
#: The uniform grid may hold at most this many points per input sample (plus one
#: second's worth): resampling jittery stamps keeps it near 1; far more means the
#: rate does not describe the data.
MAX_GRID_POINTS_PER_SAMPLE = 4.0
#: Columns a CSV recording may have (t, 3 acceleration, 3 angular rate, and extras).
MAX_CSV_COLUMNS = 64


def check_sample_rate_hz(fs_hz: float, what: str = "sample rate") -> float:
    """``fs_hz`` as a float if within MIN_RATE_HZ..MAX_RATE_HZ, else InputError."""
    rate = float(fs_hz)
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:  # also False for NaN
        raise InputError(
            f"{what} {rate:.6g} Hz is outside {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz; "
            "are the time stamps in seconds?"
        )
    return rate


def check_analysis_rate_hz(fs_hz: float, what: str = "sample rate") -> float:
    """A rate the analysis can find steps at (MIN_ANALYSIS_RATE_HZ..MAX_RATE_HZ)."""
    rate = check_sample_rate_hz(fs_hz, what)
    if rate < MIN_ANALYSIS_RATE_HZ:
        raise InputError(
            f"{what} {rate:.3g} Hz is too low to find steps (at least "
            f"{MIN_ANALYSIS_RATE_HZ:g} Hz is needed)"
        )
    return rate


def check_grid(t_s: np.ndarray, fs_hz: float, max_gap_s: float) -> None:
    """Refuse a grid at ``fs_hz`` over ``t_s`` that would dwarf the input.

    ``t_s`` sorted seconds; stretches split at steps over ``max_gap_s`` (as the
    resampler does). Checks the total duration and that the grid points within the
    stretches stay within ``MAX_GRID_POINTS_PER_SAMPLE`` per input sample.
    """
    t = np.asarray(t_s, dtype=np.float64)
    if len(t) < 2:
        return
    duration = float(t[-1] - t[0])
    if not duration <= MAX_DURATION_S:
        raise InputError(
            f"the time stamps span {duration:.6g} s, over the {MAX_DURATION_S / 86400:g} days "
            "one analysis covers; are the time stamps in seconds?"
        )
    steps = np.diff(t)
    covered_s = float(steps[steps <= max_gap_s].sum())
    grid_points = covered_s * fs_hz
    limit = MAX_GRID_POINTS_PER_SAMPLE * len(t) + fs_hz
    if grid_points > limit:
        raise InputError(
            f"{len(t)} samples cover {covered_s:.6g} s, which at {fs_hz:.6g} Hz is "
            f"{grid_points:.3g} grid points ({grid_points / len(t):.3g} per sample): the "
            "time stamps and the sample rate disagree"
        )


def check_column_count(n_columns: int) -> None:
    """Refuse a CSV line with more fields than any recording layout has."""
    if n_columns > MAX_CSV_COLUMNS:
        raise InputError(
            f"{n_columns} columns; a recording has at most {MAX_CSV_COLUMNS} "
            "(t,ax,ay,az[,gx,gy,gz] and a few more)"
        )
