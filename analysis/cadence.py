"""Cadence in steps/min, per bout and as a rolling value."""

from __future__ import annotations

import numpy as np

from analysis.bouts import MAX_WALKING_STEP_S
from analysis.medians import median_1d

ROLLING_WINDOW_S = 10.0


def walking_intervals(ic_t_s: np.ndarray) -> np.ndarray:
    """Step times (s) between consecutive contacts, pauses (> MAX_WALKING_STEP_S) removed."""
    intervals = np.diff(ic_t_s)
    return intervals[intervals <= MAX_WALKING_STEP_S]


MAX_STRIDE_S = 2 * MAX_WALKING_STEP_S


def stride_cadences_spm(ic_t_s: np.ndarray) -> np.ndarray:
    """120 / stride time (steps/min) for every stride (contact i to contact i+2) of a run.

    Strides longer than ``MAX_STRIDE_S`` span a pause and are left out.
    """
    if len(ic_t_s) < 3:
        return np.zeros(0)
    strides = ic_t_s[2:] - ic_t_s[:-2]
    return 120.0 / strides[strides <= MAX_STRIDE_S]


def cadence_spm(ic_t_s: np.ndarray) -> float:
    """Cadence of a bout in steps/min: the median over its strides of 120 / stride time.

    Strides as ``stride_cadences_spm``; NaN with fewer than 3 contacts. Clinical
    reference systems (Mobilise-D) average 120 / stride time over the valid
    strides of a walking bout, whose ends they place at the first and last
    steady step. A bout found from trunk contacts also holds the hesitant steps
    of starting and stopping, shuffles while turning, and strides that a missed
    or an extra contact makes twice or half as long: the median gives the
    steady walking's stride rate without them (on mobgap-lab the mean's median
    error is larger, see benchmarks/mobgap_accuracy.py), and it is the "median
    cadence of the bout" that the slow-pace rule is defined on.
    """
    rates = stride_cadences_spm(ic_t_s)
    return median_1d(rates) if len(rates) else float("nan")


def rolling_cadence_spm(ic_t_s: np.ndarray, at_t_s: np.ndarray) -> np.ndarray:
    """Cadence over the trailing ``ROLLING_WINDOW_S`` before each time in ``at_t_s``.

    Uses only past contacts, so the live view and the batch analysis agree.
    NaN where fewer than 3 contacts fall in the window.
    """
    out = np.full(len(at_t_s), np.nan)
    if len(ic_t_s) < 3:
        return out
    lo = np.searchsorted(ic_t_s, at_t_s - ROLLING_WINDOW_S, side="left")
    hi = np.searchsorted(ic_t_s, at_t_s, side="right")
    # Stride k runs from contact k to k+2; a window [lo, hi) holds strides lo .. hi-3.
    strides = ic_t_s[2:] - ic_t_s[:-2]
    valid = strides <= MAX_STRIDE_S
    cum_rate = np.r_[0.0, np.cumsum(np.where(valid, 120.0 / strides, 0.0))]
    cum_n = np.r_[0, np.cumsum(valid)]
    first = np.minimum(lo, len(strides))
    last = np.clip(hi - 2, first, len(strides))
    count = cum_n[last] - cum_n[first]
    ok = (hi - lo >= 3) & (count > 0)
    out[ok] = (cum_rate[last] - cum_rate[first])[ok] / count[ok]
    return out
