"""Per-sample times for devices without a clock, from host arrival times of notifications.

One policy for every path: ``record`` and ``replay`` (``stridewatch.live.view``) and
``analyze`` (``firmware_bridge.trace.decode``) all time a clockless sensor's samples
with :class:`ArrivalClock`, notification by notification, so a replayed trace gives
exactly what analysing it gives. It is causal (a sample's time depends only on what
had arrived by then), because the live view has no future to look at.

Each notification carries ``count`` samples and arrives at a host time. Arrival times
jitter with the BLE connection interval (several notifications can arrive at once), so
instead of stamping samples with raw arrival times, samples are laid back to back, per
run of notifications without a pause:

* at the sample rate the run's arrivals show (the least-squares slope of arrival time
  over sample number so far), once ``RATE_LEARN_S`` of the run have passed and that
  rate is plausible; at the nominal rate before;
* never later than the notification that carried them: a run laid ahead of its
  arrivals (a rate claimed too low) is pulled back to them, never compressing two
  samples closer than ``MIN_SPACING`` of a period.

A run ends at a segment change (connect/disconnect) or when notifications pause for
longer than ``pause_s`` (and longer than three notifications' worth of samples); a new
run starts with its last sample at the arrival of its first notification.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_PAUSE_S = 1.0
FALLBACK_RATE_HZ = 100.0
#: Sample rates a sensor can have (as analysis.bounds; firmware_bridge does not import it).
MIN_RATE_HZ, MAX_RATE_HZ = 1.0, 2000.0
#: Pulled back to its arrivals, a run never lays two samples closer than this many periods.
MIN_SPACING = 0.1
#: A run's arrivals decide its rate once they span this long (jitter of a few ms is
#: then well under 1 % of it).
RATE_LEARN_S = 1.0


class ArrivalClock:
    """Sample times of a clockless sensor, one notification at a time (see module docstring).

    ``times(arrival_s, count)`` returns the ``count`` samples' times on the arrivals'
    clock; ``run_starts`` lists the notifications (0-based, in the order given) that
    started a new run after a pause (segment changes are not listed: the caller knows).
    """

    def __init__(self, nominal_rate_hz: float | None, pause_s: float = DEFAULT_PAUSE_S) -> None:
        ok = nominal_rate_hz is not None and MIN_RATE_HZ <= nominal_rate_hz <= MAX_RATE_HZ
        self.nominal_period_s = 1.0 / nominal_rate_hz if ok else None  # type: ignore[operator]
        self.period_s = self.nominal_period_s or 1.0 / FALLBACK_RATE_HZ
        self.fitted = False
        self.pause_s = pause_s
        self.run_starts: list[int] = []
        self._notifications = 0
        self._run_first_arrival = 0.0
        self._run_samples_after_first = 0
        self._last_arrival: float | None = None
        self._last_t: float | None = None
        self._sums = np.zeros(5)  # n, Σx, Σy, Σx², Σxy of the run (x samples, y arrival)

    def _learn(self, elapsed_s: float, arrival_s: float) -> None:
        """Update the run's least-squares slope of arrival time over sample number."""
        x = float(self._run_samples_after_first)
        y = arrival_s - self._run_first_arrival
        self._sums += np.array([1.0, x, y, x * x, x * y])
        if elapsed_s < RATE_LEARN_S:
            return
        k, sx, sy, sxx, sxy = self._sums
        denominator = k * sxx - sx * sx
        if not denominator > 0:
            return
        period = float((k * sxy - sx * sy) / denominator)
        nominal = self.nominal_period_s
        plausible = 1.0 / MAX_RATE_HZ <= period <= 1.0 / MIN_RATE_HZ and (
            nominal is None or 0.5 * nominal <= period <= 2.0 * nominal)
        if plausible:
            self.period_s = period
            self.fitted = True

    def times(self, arrival_s: float, count: int, new_segment: bool = False) -> np.ndarray:
        """Times (s) of the ``count`` samples of a notification that arrived at ``arrival_s``."""
        index = self._notifications
        self._notifications += 1
        n = int(count)
        arrival = float(arrival_s)
        last_arrival, last_t = self._last_arrival, self._last_t
        paused = last_arrival is not None and arrival - last_arrival > max(
            self.pause_s, 3.0 * n * (self.nominal_period_s or self.period_s))
        if last_arrival is None or last_t is None or paused or new_segment:
            if paused and not new_segment:
                self.run_starts.append(index)
            self._run_first_arrival, self._run_samples_after_first = arrival, 0
            self._sums = np.array([1.0, 0.0, 0.0, 0.0, 0.0])  # the first point: (0, 0)
            start = arrival - (n - 1) * self.period_s
            if last_t is not None:  # a backlog burst reaching back into the last run
                start = max(start, last_t + self.period_s)
        else:
            self._run_samples_after_first += n
            elapsed = arrival - self._run_first_arrival
            self._learn(elapsed, arrival)
            start = last_t + self.period_s
            latest = arrival - (n - 1) * self.period_s  # the last sample is not after arrival
            if elapsed > 0 and latest < start:
                start = max(latest, last_t + MIN_SPACING * self.period_s)
        t = start + self.period_s * np.arange(n, dtype=np.float64)
        if n:
            self._last_t = float(t[-1])
        self._last_arrival = arrival
        return t


@dataclass(frozen=True, eq=False)
class HostTimeline:
    """Result of :func:`times_from_arrivals`.

    t_s: (N,) per-sample host times in s (same clock as the arrivals).
    sample_period_s: the learnt (or nominal/fallback) seconds per sample at the end.
    run_starts: indices of notifications that start a new run after a pause (segment
        changes are not listed: the caller knows them).
    fitted: False when the period came from the nominal rate or the fallback.
    """

    t_s: np.ndarray
    sample_period_s: float
    run_starts: list[int]
    fitted: bool


def times_from_arrivals(
    arrival_s: np.ndarray,
    counts: np.ndarray,
    segment: np.ndarray | None = None,
    nominal_rate_hz: float | None = None,
    pause_s: float = DEFAULT_PAUSE_S,
) -> HostTimeline:
    """All notifications of a trace through one :class:`ArrivalClock`.

    arrival_s: (m,) host arrival time in s of each notification (non-decreasing).
    counts: (m,) samples in each notification (≥ 1).
    segment: (m,) connection segment id of each notification, or None for one segment.
    nominal_rate_hz: the configured sample rate in Hz, if known.
    """
    arrival = np.asarray(arrival_s, dtype=np.float64)
    n_per = np.asarray(counts, dtype=np.int64)
    seg = np.zeros(len(arrival), dtype=np.int64) if segment is None else np.asarray(segment)
    clock = ArrivalClock(nominal_rate_hz, pause_s)
    # written into one array as they come (a list of one small array per notification
    # took ~100 bytes a notification, 40 MB for 2 h of a micro:bit)
    ends = np.cumsum(n_per).tolist()
    t_s = np.zeros(ends[-1] if ends else 0)
    start = 0
    for i, (a, end) in enumerate(zip(arrival.tolist(), ends, strict=True)):
        t_s[start:end] = clock.times(a, end - start, new_segment=bool(i and seg[i] != seg[i - 1]))
        start = end
    return HostTimeline(t_s, clock.period_s, clock.run_starts, clock.fitted)


#: Two rates agree when within this factor of each other.
RATE_AGREEMENT = 1.25
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


def rates_agree(a: float, b: float) -> bool:
    """Two rates (or periods) within ``RATE_AGREEMENT`` of each other."""
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
        if nominal is None or not rates_agree(rate, nominal):
            claimed = f"{nominal_rate_hz:g} Hz" if nominal_rate_hz else "no rate"
            rate_note = (f"the header says {claimed} but the notifications arrive at "
                         f"{rate:.4g} Hz ({figures}); timing from the arrivals")
            chosen = rate
    elif _in_range(rate * 1000.0) and (nominal is None or rates_agree(rate * 1000.0, nominal)):
        repairs.append(f"host times are in milliseconds, not seconds ({figures} would be "
                       f"{rate:.3g} Hz); divided by 1000")
        arrival = arrival / 1000.0
        chosen = nominal or rate * 1000.0
    else:
        rate_note = (f"the notifications arrive at {rate:.3g} Hz ({figures}), no sensor's "
                     f"rate; samples laid at {chosen or FALLBACK_RATE_HZ:g} Hz")
    return HostTimeEvidence(arrival, chosen, rate_note, "; ".join(repairs) or None)
