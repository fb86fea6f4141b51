"""Per-sample times for devices without a clock, from host arrival times of notifications.

Each notification carries ``count`` samples and arrives at a host time. Arrival times
jitter with the BLE connection interval (several notifications can arrive at once), so
instead of stamping samples with raw arrival times we fit, per run of notifications
without a pause, a straight line ``time = c + dt × sample_number``:

* ``dt`` (s per sample) is one slope pooled over all runs (the device's sample clock is
  the same throughout); it falls back to 1/nominal rate when the fit is implausible.
* ``c`` is the lower envelope: a sample cannot be later than the notification that
  carried it, so the line is shifted down until it is nowhere later than an arrival.

A run ends at a segment change (connect/disconnect) or when notifications pause for
longer than ``pause_s`` (and longer than three notifications' worth of samples).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_PAUSE_S = 1.0
FALLBACK_RATE_HZ = 100.0


@dataclass(frozen=True, eq=False)
class HostTimeline:
    """Result of :func:`times_from_arrivals`.

    t_s: (N,) per-sample host times in s (same clock as the arrivals).
    sample_period_s: the fitted (or fallback) seconds per sample.
    run_starts: indices of notifications that start a new run after a pause (segment
        changes are not listed: the caller knows them).
    fitted: False when the period came from the nominal rate or the fallback.
    """

    t_s: np.ndarray
    sample_period_s: float
    run_starts: list[int]
    fitted: bool


def _run_bounds(
    arrival_s: np.ndarray,
    counts: np.ndarray,
    segment: np.ndarray,
    nominal_period_s: float | None,
    pause_s: float,
) -> tuple[list[tuple[int, int]], list[int]]:
    """Split notifications into runs; return [(start, stop)] and pause-run starts."""
    m = arrival_s.shape[0]
    bounds: list[tuple[int, int]] = []
    pause_starts: list[int] = []
    start = 0
    for i in range(1, m):
        gap = arrival_s[i] - arrival_s[i - 1]
        threshold = pause_s
        if nominal_period_s is not None:
            threshold = max(pause_s, 3.0 * counts[i] * nominal_period_s)
        if segment[i] != segment[i - 1]:
            bounds.append((start, i))
            start = i
        elif gap > threshold:
            bounds.append((start, i))
            pause_starts.append(i)
            start = i
    if m:
        bounds.append((start, m))
    return bounds, pause_starts


def times_from_arrivals(
    arrival_s: np.ndarray,
    counts: np.ndarray,
    segment: np.ndarray | None = None,
    nominal_rate_hz: float | None = None,
    pause_s: float = DEFAULT_PAUSE_S,
) -> HostTimeline:
    """Per-sample times from notification arrival times (see module docstring).

    arrival_s: (m,) host arrival time in s of each notification (non-decreasing).
    counts: (m,) samples in each notification (≥ 1).
    segment: (m,) connection segment id of each notification, or None for one segment.
    nominal_rate_hz: the configured sample rate in Hz, if known.
    """
    arrival = np.asarray(arrival_s, dtype=np.float64)
    n_per = np.asarray(counts, dtype=np.int64)
    m = arrival.shape[0]
    seg = np.zeros(m, dtype=np.int64) if segment is None else np.asarray(segment)
    nominal_period = 1.0 / nominal_rate_hz if nominal_rate_hz else None
    if m == 0:
        period = nominal_period if nominal_period is not None else 1.0 / FALLBACK_RATE_HZ
        return HostTimeline(np.zeros(0), period, [], False)

    bounds, pause_starts = _run_bounds(arrival, n_per, seg, nominal_period, pause_s)

    # pooled least-squares slope of arrival vs cumulative sample number, per-run intercepts
    numerator = 0.0
    denominator = 0.0
    ends_by_run: list[np.ndarray] = []
    for start, stop in bounds:
        ends = np.cumsum(n_per[start:stop]).astype(np.float64)  # sample number of last sample
        ends_by_run.append(ends)
        if stop - start >= 2:
            e = ends - ends.mean()
            a = arrival[start:stop] - arrival[start:stop].mean()
            numerator += float(e @ a)
            denominator += float(e @ e)
    fitted = False
    period = nominal_period
    if denominator > 0:
        slope = numerator / denominator
        plausible = slope > 0 and (
            nominal_period is None or 0.5 * nominal_period <= slope <= 2.0 * nominal_period
        )
        if plausible:
            period = slope
            fitted = True
    if period is None:
        period = 1.0 / FALLBACK_RATE_HZ

    times: list[np.ndarray] = []
    previous_last = -np.inf
    for (start, stop), ends in zip(bounds, ends_by_run, strict=True):
        intercept = float(np.min(arrival[start:stop] - period * ends))
        n_run = int(ends[-1])
        run_t = intercept + period * np.arange(1, n_run + 1, dtype=np.float64)
        if run_t[0] <= previous_last:  # a backlog burst reaching back into the last run
            run_t += previous_last + period - run_t[0]
        previous_last = float(run_t[-1])
        times.append(run_t)
    return HostTimeline(np.concatenate(times), period, pause_starts, fitted)
