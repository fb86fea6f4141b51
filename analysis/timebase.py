"""Validate sample times, repair clock jitter, and put the samples on a uniform time grid.

Real recordings arrive with messy clocks: a repeated packet, a repeated or
slightly early stamp, phone loggers that pause. ``repair_sample_times`` drops
exact duplicate rows and re-times the few stamps that are out of order (each
repair counted in a warning); only pervasive disorder (more than
``MAX_DISORDER_FRACTION`` of the rows) or a step back of more than
``MAX_BACKSTEP_S`` is refused. The analysis then works on a uniform grid at the
sample rate (``estimate_sample_rate_hz``, snapped to the nominal rate), built
by linear interpolation between neighbouring samples. A gap longer than
``MAX_GAP_S`` splits the recording into separate segments: nothing is
interpolated across a gap.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from analysis.errors import InputError
from analysis.time_units import TIME_UNITS_S

try:  # the compiled kernel behind np.interp, without its Python wrapper (which costs more
    # than interpolating one 36-sample notification): the same function, the same numbers
    from numpy._core.multiarray import interp as _compiled_interp
except ImportError:  # pragma: no cover - another numpy layout
    _compiled_interp = np.interp

MAX_GAP_S = 0.5
#: Shortest recording analysed (a clinical 4 m walk test takes a few seconds).
MIN_DURATION_S = 3.0
MAX_PLAUSIBLE_ACC_G = 50.0
#: A stamp this far (or less) behind the one before it is clock jitter and is re-timed;
#: a larger step back is a clock reset or joined files and is refused.
MAX_BACKSTEP_S = MAX_GAP_S
#: More rows out of order than this fraction is not jitter: the time column is wrong.
MAX_DISORDER_FRACTION = 0.01
#: An estimated rate within this relative distance of a nominal rate is that rate.
RATE_SNAP_TOLERANCE = 0.001
#: Nominal rates are whole numbers of Hz (100, 52 ...), or multiples of
#: ``RATE_SNAP_STEP_HZ`` below ``RATE_SNAP_FINE_BELOW_HZ`` (12.5, 6.25 ...).
RATE_SNAP_STEP_HZ = 0.125
RATE_SNAP_FINE_BELOW_HZ = 20.0
#: A first stamp later than this (in seconds, 1973-03-03) is taken as Unix time.
EPOCH_AFTER_S = 1e8


@dataclass(frozen=True)
class UniformBlock:
    """Samples on a uniform grid: ``t0_s + arange(n) / fs_hz``.

    ``acc_g`` is (n,3) in g. ``segment``
    numbers the gap-free stretch the block belongs to (0, 1, ...).
    """

    segment: int
    t0_s: float
    fs_hz: float
    acc_g: np.ndarray

    @property
    def n(self) -> int:
        return len(self.acc_g)

    @property
    def t_s(self) -> np.ndarray:
        return self.t0_s + np.arange(self.n) / self.fs_hz


def validate_samples(
    t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray | None, *, whole: bool = True
) -> None:
    """Raise InputError (with the offending row) for samples that cannot be analysed.

    Checks, in order: shapes, NaN or infinite values, and acceleration
    magnitudes no body-worn sensor produces. The order of the time stamps and
    the duration are checked (and jitter repaired) by ``repair_sample_times``.
    ``whole`` False: the samples are one chunk of a longer stream
    (``analysis.streaming`` checks order and duration over the stream).
    """
    if t_s.ndim != 1 or acc_g.shape != (len(t_s), 3):
        raise InputError(
            f"expected t (N,) and acceleration (N,3); got {t_s.shape} and {acc_g.shape}"
        )
    if gyro_dps is not None and gyro_dps.shape != acc_g.shape:
        raise InputError(f"gyro shape {gyro_dps.shape} does not match acceleration {acc_g.shape}")
    if whole and len(t_s) < 2:
        check_duration(len(t_s), 0.0)
    columns = [("t", t_s[:, None]), ("acceleration", acc_g)]
    if gyro_dps is not None:
        columns.append(("angular rate", gyro_dps))
    for name, values in columns:
        finite = np.isfinite(values)
        if finite.all():  # the usual case, one quick pass (all(axis=1) is a slow loop)
            continue
        bad = ~finite.all(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"{name} is NaN or infinite (missing value)", row=row)
    magnitude = np.sqrt(np.einsum("ij,ij->i", acc_g, acc_g))
    if (magnitude > MAX_PLAUSIBLE_ACC_G).any():
        row = int(np.argmax(magnitude > MAX_PLAUSIBLE_ACC_G))
        raise InputError(
            f"implausible acceleration magnitude {magnitude[row]:.3g} g "
            f"(over {MAX_PLAUSIBLE_ACC_G:g} g); wrong units?",
            row=row,
        )


def check_duration(n_samples: int, duration_s: float) -> None:
    """Raise InputError for a recording too short to analyse (``MIN_DURATION_S``)."""
    if n_samples < 2:
        raise InputError(f"only {n_samples} sample(s); need at least {MIN_DURATION_S:g} s of data")
    if duration_s < MIN_DURATION_S:
        raise InputError(
            f"only {duration_s:.2f} s of data; need at least {MIN_DURATION_S:g} s to analyse"
        )


@dataclass(frozen=True)
class RepairedSamples:
    """Samples in strictly increasing time, and what was repaired to get there."""

    t_s: np.ndarray
    acc_g: np.ndarray
    gyro_dps: np.ndarray | None
    duplicates_dropped: int = 0
    retimed: int = 0

    def warnings(self) -> list[str]:
        """One warning per kind of repair, with its count (empty when nothing was repaired)."""
        out = []
        if self.duplicates_dropped:
            out.append(f"{_rows(self.duplicates_dropped)} repeating an earlier row exactly "
                       "(same time and values) dropped")
        if self.retimed:
            out.append(f"{_rows(self.retimed)} with a time stamp equal to or slightly behind "
                       "the one before (clock jitter) re-timed between their neighbours")
        return out


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def repair_sample_times(
    t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray | None = None
) -> RepairedSamples:
    """Strictly increasing samples from validated ones (see the module docstring).

    Rows identical to an earlier row (time and every value) are dropped. Of the
    remaining rows, those outside the longest increasing run of stamps (equal
    stamps, small back-steps, a single stamp too far ahead) are re-timed evenly
    between their in-order neighbours, or on the estimated grid after the last.
    Raises InputError naming the first rows for a step back of more than
    ``MAX_BACKSTEP_S``, for more than ``MAX_DISORDER_FRACTION`` of rows out of
    order, and for less than ``MIN_DURATION_S`` of data.
    """
    t = np.asarray(t_s, dtype=np.float64)
    dt = np.diff(t)
    if (dt > 0).all():
        _check_duration(t)
        return RepairedSamples(t, acc_g, gyro_dps)
    rows = np.arange(len(t))  # original row of every kept sample
    values = acc_g if gyro_dps is None else np.hstack([acc_g, gyro_dps])
    duplicate = _exact_duplicates(t, values)
    if duplicate.any():
        keep = ~duplicate
        t, acc_g, rows = t[keep], acc_g[keep], rows[keep]
        gyro_dps = None if gyro_dps is None else gyro_dps[keep]
    dt = np.diff(t)
    retimed = 0
    if not (dt > 0).all():
        running_max = np.maximum.accumulate(t)
        back = running_max[:-1] - t[1:]
        if (back > MAX_BACKSTEP_S).any():
            i = int(np.argmax(back > MAX_BACKSTEP_S)) + 1
            raise InputError(
                f"time goes backwards: t={t[i]:.6g} s after t={running_max[i - 1]:.6g} s "
                f"(more than {MAX_BACKSTEP_S:g} s back is not clock jitter)",
                row=int(rows[i]),
            )
        positive = dt[dt > 0]
        dt_est = float(np.median(positive)) if len(positive) else 0.0
        if not dt_est > 0:
            raise InputError("all time stamps are equal; cannot find a sample rate")
        violations = np.flatnonzero(np.diff(t) <= 0) + 1
        # each violation puts at least one of its two rows out of order
        if len(violations) > 2 * MAX_DISORDER_FRACTION * len(t):
            _disorder_error(len(violations), len(t), rows[violations])
        bad = _out_of_order(t, violations, dt_est)
        retimed = int(bad.sum())
        if retimed > MAX_DISORDER_FRACTION * len(t):
            _disorder_error(retimed, len(t), rows[bad])
        t = _retime(t, bad, dt_est)
    _check_duration(t)
    return RepairedSamples(t, acc_g, gyro_dps, int(duplicate.sum()), retimed)


def _disorder_error(count: int, n: int, rows: np.ndarray) -> None:
    first = ", ".join(str(int(r) + 2) for r in rows[:5])
    raise InputError(
        f"time stamps out of order on {count} of {n} "
        f"rows ({100 * count / n:.1f} %, more than {100 * MAX_DISORDER_FRACTION:g} %), first "
        f"at lines {first}: this is not clock jitter; check the time column",
        row=int(rows[0]),
    )


def _check_duration(t: np.ndarray) -> None:
    duration = float(t[-1] - t[0]) * len(t) / (len(t) - 1)  # each sample covers one interval
    if duration < MIN_DURATION_S - 1e-9:
        raise InputError(
            f"only {duration:.2f} s of data; need at least {MIN_DURATION_S:g} s to analyse"
        )


def _exact_duplicates(t: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rows whose time and values all equal an earlier row's with the same stamp."""
    order = np.lexsort((np.arange(len(t)), *values.T[::-1], t))
    keyed = np.column_stack([t, values])[order]
    same = np.r_[False, (keyed[1:] == keyed[:-1]).all(axis=1)]
    duplicate = np.zeros(len(t), dtype=bool)
    duplicate[order[same]] = True
    return duplicate


def _out_of_order(t: np.ndarray, violations: np.ndarray, dt_est: float) -> np.ndarray:
    """Rows outside the longest strictly increasing subsequence, found in local windows.

    Each window spans the disorder plus enough in-order rows on both sides to
    cover a back-step of ``MAX_BACKSTEP_S``; its rows must also fit between
    the rows just outside it.
    """
    pad = int(min(2 * MAX_BACKSTEP_S / dt_est, 5000)) + 8
    bad = np.zeros(len(t), dtype=bool)
    lo, hi = violations[0] - pad, violations[0] + pad
    windows = []
    for v in violations[1:]:
        if v - pad <= hi:
            hi = v + pad
        else:
            windows.append((lo, hi))
            lo, hi = v - pad, v + pad
    windows.append((lo, hi))
    for lo, hi in windows:
        lo, hi = max(0, lo), min(len(t), hi + 1)
        below = t[lo - 1] if lo > 0 else -np.inf
        above = t[hi] if hi < len(t) else np.inf
        bad[lo:hi] = ~_increasing_members(t[lo:hi], below, above)
    return bad


def _increasing_members(t: np.ndarray, below: float, above: float) -> np.ndarray:
    """Mask of one longest strictly increasing subsequence of ``t`` within (below, above)."""
    tails: list[float] = []
    tail_index: list[int] = []
    parent = np.full(len(t), -1)
    for i, value in enumerate(t.tolist()):
        if not below < value < above:
            continue
        k = bisect_left(tails, value)
        if k < len(tails) and tails[k] == value:
            continue  # an equal stamp: the first one keeps its place, the repeat is re-timed
        if k == len(tails):
            tails.append(value)
            tail_index.append(i)
        else:
            tails[k] = value
            tail_index[k] = i
        parent[i] = tail_index[k - 1] if k > 0 else -1
    member = np.zeros(len(t), dtype=bool)
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        member[i] = True
        i = parent[i]
    return member


def _retime(t: np.ndarray, bad: np.ndarray, dt_est: float) -> np.ndarray:
    """``t`` with the ``bad`` rows spread evenly between their in-order neighbours."""
    t = t.copy()
    good = np.flatnonzero(~bad)
    if len(good) == 0:
        raise InputError("no time stamps in order; cannot repair the time column")
    idx = np.flatnonzero(bad)
    inside = (idx > good[0]) & (idx < good[-1])
    t[idx[inside]] = np.interp(idx[inside], good, t[good])
    before = idx[idx < good[0]]
    t[before] = t[good[0]] - (good[0] - before) * dt_est
    after = idx[idx > good[-1]]
    t[after] = t[good[-1]] + (after - good[-1]) * dt_est
    return t


def estimate_sample_rate_hz(t_s: np.ndarray) -> float:
    """Sample rate from the median interval between stamps, ignoring gaps.

    Snapped to the nominal rate (see ``snap_rate_hz``) when within
    ``RATE_SNAP_TOLERANCE`` of it, so stamps rounded in a text file
    (99.99999999781721 Hz) give the device's 100 Hz and the grid matches them.
    """
    dt = np.diff(t_s)
    dt = dt[(dt > 0) & (dt <= MAX_GAP_S)]
    if len(dt) == 0:
        raise InputError("no two consecutive samples closer than the gap limit; cannot find a rate")
    return snap_rate_hz(float(1.0 / np.median(dt)))


def snap_rate_hz(rate_hz: float) -> float:
    """``rate_hz`` snapped to the nearest nominal rate when within ``RATE_SNAP_TOLERANCE``."""
    step = RATE_SNAP_STEP_HZ if rate_hz < RATE_SNAP_FINE_BELOW_HZ else 1.0
    nominal = round(rate_hz / step) * step
    if nominal > 0 and abs(rate_hz - nominal) <= RATE_SNAP_TOLERANCE * nominal:
        return float(nominal)
    return rate_hz


#: The time unit is detected from this many first stamps (a table read as a stream decides
#: it on them too, before any later chunk is read).
TIME_UNIT_STAMPS = 200_001


@dataclass(frozen=True)
class TimeUnit:
    """How a time column is written: ``unit`` (s, ms, us, ns) and whether it is Unix time."""

    unit: str
    epoch: bool
    detected: bool

    def describe(self) -> str:
        origin = "Unix time" if self.epoch else "relative"
        how = "detected" if self.detected else "given"
        return f"{self.unit} ({origin}, {how})"


def detect_time_unit(t_raw: np.ndarray, unit: str | None = None) -> TimeUnit:
    """The unit of a raw time column: the one giving a sample rate nearest 10–1000 Hz.

    Wearable sample rates lie within 10–1000 Hz, so the median interval in
    s, ms, µs and ns differs by a factor of 1000 between candidates and only
    one of them lands in that range. ``unit`` (from the header or
    ``--time-unit``) overrides the detection. A first stamp later than
    ``EPOCH_AFTER_S`` seconds marks Unix time.
    """
    t_raw = np.asarray(t_raw, dtype=np.float64)
    if unit is not None and unit not in TIME_UNITS_S:
        raise ValueError(f"unknown time unit {unit!r}; expected one of {', '.join(TIME_UNITS_S)}")
    detected = unit is None
    if unit is None:
        dt = np.diff(t_raw[:TIME_UNIT_STAMPS])
        dt = dt[np.isfinite(dt) & (dt > 0)]
        if len(dt) == 0:
            unit = "s"
        else:
            median = float(np.median(dt))
            unit = min(TIME_UNITS_S, key=lambda u: abs(np.log10(1.0 / (median * TIME_UNITS_S[u]))
                                                     - 2.0))
    first = float(t_raw[0]) * TIME_UNITS_S[unit] if len(t_raw) else 0.0
    return TimeUnit(unit, bool(first > EPOCH_AFTER_S), detected)


def to_seconds(t_raw: np.ndarray, time_unit: TimeUnit,
               t0_raw: object = None) -> tuple[np.ndarray, float | None]:
    """Seconds from a raw time column; Unix time becomes seconds from the first stamp.

    Returns the times and the Unix time of the first stamp (None when relative).
    The first stamp is subtracted before scaling, so nanosecond Unix stamps
    keep their resolution. ``t0_raw``: the recording's first stamp when ``t_raw``
    is a later part of it (a chunk of a stream); default ``t_raw[0]``.
    """
    scale = TIME_UNITS_S[time_unit.unit]
    if not time_unit.epoch:
        t = np.asarray(t_raw, dtype=np.float64)
        return (t if scale == 1.0 else t * scale), None
    t0 = t_raw[0] if t0_raw is None else t0_raw
    return (np.asarray(t_raw - t0, dtype=np.float64)) * scale, float(t0) * scale


class UniformResampler:
    """Incrementally turns irregular samples into uniform-grid blocks.

    Feed samples in time order (any chunking); each call yields the grid
    points that can already be interpolated. A jump of more than ``MAX_GAP_S``
    between consecutive samples starts a new segment whose grid starts at the
    first sample after the gap. Batch and live analysis use this same class, so
    both see exactly the same grid.
    """

    def __init__(self, fs_hz: float) -> None:
        if not fs_hz > 0:
            raise ValueError(f"sample rate must be positive, got {fs_hz}")
        self.fs_hz = float(fs_hz)
        self._segment = -1
        self._t0 = 0.0
        self._next_k = 0
        self._last_t: float | None = None
        self._last_acc: np.ndarray | None = None

    def feed(self, t_s: np.ndarray, acc_g: np.ndarray) -> Iterator[UniformBlock]:
        t_s = np.asarray(t_s, dtype=np.float64)
        if len(t_s) == 0:
            return
        acc_g = np.asarray(acc_g, dtype=np.float64)
        prepended = self._last_t is not None
        if prepended:
            t_s = _after(self._last_t, t_s)
        steps = t_s[1:] - t_s[:-1]
        # one test for the usual block (increasing, no gap); the details only when it fails
        if len(steps) and not (steps.min() > 0 and steps.max() <= MAX_GAP_S):
            if (steps <= 0).any():
                i = int(np.argmax(steps <= 0)) + 1
                raise InputError(
                    f"time does not increase: t={t_s[i]:.6g} s after t={t_s[i - 1]:.6g} s")
            if (steps > MAX_GAP_S).any():
                yield from self._feed_with_gaps(t_s, acc_g, prepended, steps)
                return
        # no gap (every live block): one stretch, the last sample kept only for interpolation
        if not prepended:
            self._start_segment(float(t_s[0]))
        block = self._interpolate(t_s, acc_g, prepended)
        if block is not None:
            yield block
        self._last_t = float(t_s[-1])
        self._last_acc = acc_g[-1].copy()

    def _feed_with_gaps(
        self, t_s: np.ndarray, acc_g: np.ndarray, prepended: bool, steps: np.ndarray
    ) -> Iterator[UniformBlock]:
        if prepended:
            acc_g = np.concatenate([self._last_acc[None], acc_g])
        breaks = np.flatnonzero(steps > MAX_GAP_S) + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [len(t_s)]])
        for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
            if i > 0 or not prepended:
                self._start_segment(float(t_s[a]))
            block = self._interpolate(t_s[a:b], acc_g[a:b], False)
            if block is not None:
                yield block
        self._last_t = float(t_s[-1])
        self._last_acc = acc_g[-1].copy()

    def _start_segment(self, t0_s: float) -> None:
        self._segment += 1
        self._t0 = t0_s
        self._next_k = 0

    def _interpolate(self, t: np.ndarray, acc: np.ndarray, prepended: bool) -> UniformBlock | None:
        """Grid points up to ``t[-1]``; ``prepended``: ``t[0]`` is the previous feed's last
        sample, whose acceleration is not in ``acc`` (it is added only to interpolate)."""
        last_k = math.floor((float(t[-1]) - self._t0) * self.fs_hz + 1e-9)
        if last_k < self._next_k:
            return None
        k = np.arange(self._next_k, last_k + 1)
        grid = self._t0 + k / self.fs_hz
        aligned = _aligned(t, grid, self.fs_hz)
        if aligned is not None and (not prepended or aligned.start > 0):
            # stamps already on the grid: no interpolation needed
            acc_u = acc[aligned.start - prepended : aligned.stop - prepended]
        else:
            if prepended:
                acc = _after(self._last_acc, acc)
            acc_u = acc[aligned] if aligned is not None else _interp3(grid, t, acc)
        self._next_k = last_k + 1
        return UniformBlock(self._segment, float(grid[0]), self.fs_hz, acc_u)


def _after(first: float | np.ndarray, rest: np.ndarray) -> np.ndarray:
    """``first`` (a sample) followed by ``rest``, as np.concatenate, without its overhead."""
    out = np.empty((len(rest) + 1,) + rest.shape[1:])
    out[0] = first
    out[1:] = rest
    return out


def _aligned(t: np.ndarray, grid: np.ndarray, fs_hz: float) -> slice | None:
    """The slice of ``t`` equal to ``grid`` (to 1e-6 of a sample), or None."""
    offset = int(round((grid[0] - t[0]) * fs_hz))
    if offset < 0 or offset + len(grid) > len(t):
        return None
    if abs(float(t[offset]) - float(grid[0])) * fs_hz > 1e-6:  # the first already differs
        return None
    part = t[offset : offset + len(grid)]
    if np.max(np.abs(part - grid)) * fs_hz > 1e-6:
        return None
    return slice(offset, offset + len(grid))


def _interp3(grid: np.ndarray, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear interpolation of (n,3) ``values`` at ``grid``, written straight into one array."""
    out = np.empty((len(grid), 3))
    for j in range(3):
        out[:, j] = _compiled_interp(grid, t, values[:, j])
    return out
