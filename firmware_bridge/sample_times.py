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

import math
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


#: Two rates agree when within this factor of each other.
RATE_AGREEMENT = 1.25
#: Sample rates a sensor can have (as analysis.bounds; firmware_bridge does not import it).
MIN_RATE_HZ, MAX_RATE_HZ = 1.0, 2000.0
#: An arrival further than this from the median of its neighbours is a bad stamp.
OUTLIER_S = 5.0
_RATE_WINDOW = 50


@dataclass(frozen=True, eq=False)
class HostTimeEvidence:
    """What the notification arrival times say, decided from the data.

    arrival_s: the arrivals with bad stamps repaired (outliers set to their neighbours'
        median, steps back held), and in seconds (times written in ms are divided).
    rate_hz: the rate to lay samples at: the configured one if the arrivals agree with
        it, else the one the arrivals show. None when neither is known.
    rate_note / repair_note: one warning each (with the figures), or None.
    """

    arrival_s: np.ndarray
    rate_hz: float | None
    rate_note: str | None
    repair_note: str | None


def _arrival_rate_hz(arrival: np.ndarray, counts: np.ndarray) -> float:
    """Samples per second of arrival time: the median over windows of notifications."""
    m = len(arrival)
    if m < 2:
        return math.nan
    w = int(min(_RATE_WINDOW, max(1, m // 10), m - 1))
    ends = np.cumsum(counts)
    samples = ends[w:] - ends[:-w]
    span = arrival[w:] - arrival[:-w]
    ok = span > 0
    if not ok.any():
        return math.nan
    # windows spanning a pause are not the sample clock
    ok &= span <= 3.0 * np.median(span[ok])
    return float(np.median(samples[ok] / span[ok]))


def _in_range(rate: float) -> bool:
    return MIN_RATE_HZ <= rate <= MAX_RATE_HZ


def _agree(a: float, b: float) -> bool:
    return 1 / RATE_AGREEMENT <= a / b <= RATE_AGREEMENT


def host_time_evidence(
    arrival_s: np.ndarray, counts: np.ndarray, nominal_rate_hz: float | None
) -> HostTimeEvidence:
    """Repair the arrival stamps and decide the sample rate from them (see HostTimeEvidence).

    The header's or configured rate is a claim; the arrivals (samples per second of
    host time) are evidence. When they disagree by more than ``RATE_AGREEMENT`` the
    evidence wins, once it is a plausible rate; arrivals that show a rate 1000 times
    too low were written in milliseconds.
    """
    arrival = np.array(arrival_s, dtype=np.float64)
    n_per = np.asarray(counts, dtype=np.int64)
    m = len(arrival)
    repairs: list[str] = []
    if m >= 3:
        padded = np.pad(arrival, 2, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, 5)
        median = np.median(windows, axis=1)
        bad = ~(np.abs(arrival - median) <= OUTLIER_S)
        if bad.any():
            repairs.append(f"{int(bad.sum())} arrival time(s) far from their neighbours "
                           f"(e.g. {arrival[bad][0]:.6g} s) set to their neighbours' time")
            arrival[bad] = median[bad]
    back = np.diff(arrival) < 0 if m >= 2 else np.zeros(0, dtype=bool)
    if back.any():
        repairs.append(f"{int(back.sum())} notification(s) arrived before the one written "
                       "ahead of them; held at that time")
        arrival = np.maximum.accumulate(arrival)

    rate = _arrival_rate_hz(arrival, n_per)
    nominal = nominal_rate_hz if nominal_rate_hz and _in_range(nominal_rate_hz) else None
    chosen: float | None = nominal
    rate_note = None
    figures = (f"{int(n_per.sum())} samples in {arrival[-1] - arrival[0]:.6g} s"
               if m >= 2 else "")
    if not math.isfinite(rate):
        if m >= 2:
            rate_note = (f"the notifications carry no arrival-time spread ({figures}); "
                         f"samples laid at {chosen or FALLBACK_RATE_HZ:g} Hz")
    elif _in_range(rate):
        if nominal is None or not _agree(rate, nominal):
            claimed = f"{nominal_rate_hz:g} Hz" if nominal_rate_hz else "no rate"
            rate_note = (f"the header says {claimed} but the notifications arrive at "
                         f"{rate:.4g} Hz ({figures}); timing from the arrivals")
            chosen = rate
    elif _in_range(rate * 1000.0) and (nominal is None or _agree(rate * 1000.0, nominal)):
        repairs.append(f"host times are in milliseconds, not seconds ({figures} would be "
                       f"{rate:.3g} Hz); divided by 1000")
        arrival = arrival / 1000.0
        chosen = nominal or rate * 1000.0
    else:
        rate_note = (f"the notifications arrive at {rate:.3g} Hz ({figures}), no sensor's "
                     f"rate; samples laid at {chosen or FALLBACK_RATE_HZ:g} Hz")
    return HostTimeEvidence(arrival, chosen, rate_note, "; ".join(repairs) or None)
