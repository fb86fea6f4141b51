"""Chunked, bounded-memory extraction of gait features from uniform samples.

This is the only stage that touches every sample. It turns uniform blocks
(see ``analysis.timebase``) into small per-event and per-second results that
the later stages (orientation, sides, bouts, cadence, asymmetry, lean) work
on. It processes fixed chunks of ``CHUNK_S`` seconds with ``MARGIN_S`` of
context on each side, so a live recording and a batch analysis of the same
samples cut the signal at the same places and get identical results, and a
12-hour stream needs no more memory than a few chunks.

Everything here is in the sensor's own frame: nothing assumes how the sensor
is mounted. The orientation stage later turns the accumulated statistics into
vertical / anteroposterior / mediolateral axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.asymmetry import vertical_peak_offsets_s
from analysis.filters import bandpass, block_mean
from analysis.sides import yaw_before_contacts
from analysis.steps import (
    MIN_STEP_INTERVAL_S,
    initial_contacts_with_strength,
    up_direction,
    vertical_dynamic,
)
from analysis.timebase import UniformBlock

CHUNK_S = 300.0
MARGIN_S = 5.0
MAX_WALKING_STEP_S = 1.5
SIDE_WINDOW_S = (0.15, 0.45)
STATS_RATE_HZ = 20.0


@dataclass(frozen=True)
class Contacts:
    """Initial contacts: time (s), segment, ``side_vec`` (stride-band
    acceleration just after contact, sensor frame, g), ``peak_offset_s`` (delay
    of the vertical acceleration peak after it, s; see ``analysis.asymmetry``)
    ``yaw_before_dps`` (yaw rate before it, deg/s; NaN without a gyroscope;
    see ``analysis.sides``) and ``strength_g_per_s`` (its jerk peak, see
    ``analysis.steps``; ``analysis.echoes`` compares neighbours by it)."""

    t_s: np.ndarray
    segment: np.ndarray
    side_vec: np.ndarray
    peak_offset_s: np.ndarray
    yaw_before_dps: np.ndarray
    strength_g_per_s: np.ndarray

    def subset(self, mask: np.ndarray) -> Contacts:
        return Contacts(self.t_s[mask], self.segment[mask], self.side_vec[mask],
                        self.peak_offset_s[mask], self.yaw_before_dps[mask],
                        self.strength_g_per_s[mask])


@dataclass
class GaitFeatures:
    """Everything later stages need, accumulated over a whole recording.

    Per initial contact: time (s), segment and ``side_vec`` (stride-band
    acceleration just after contact, sensor frame, g). Per second of data:
    ``second_t_s`` (bin start), ``second_segment`` and the sum, sum of squares
    and count of the acceleration samples in the bin (sensor frame, g), read
    through ``seconds()``.
    Walking statistics (sums over samples inside walking): ``lag_cov`` (3x3,
    covariance at a lag of one step), ``vertical_jerk`` (3, vertical
    acceleration times jerk), and autocorrelation sums for regularity.
    """

    fs_hz: float
    ic_t_s: list[np.ndarray] = field(default_factory=list)
    ic_segment: list[np.ndarray] = field(default_factory=list)
    side_vec: list[np.ndarray] = field(default_factory=list)
    peak_offset_s: list[np.ndarray] = field(default_factory=list)
    yaw_before_dps: list[np.ndarray] = field(default_factory=list)
    ic_strength_g_per_s: list[np.ndarray] = field(default_factory=list)
    second_t_s: list[np.ndarray] = field(default_factory=list)
    second_segment: list[np.ndarray] = field(default_factory=list)
    second_sum_g: list[np.ndarray] = field(default_factory=list)
    second_count: list[np.ndarray] = field(default_factory=list)
    second_sumsq_g2: list[np.ndarray] = field(default_factory=list)
    lag_cov: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    vertical_jerk: np.ndarray = field(default_factory=lambda: np.zeros(3))
    regularity_sums: np.ndarray = field(default_factory=lambda: np.zeros(6))
    segments: list[tuple[float, float]] = field(default_factory=list)

    def copy(self) -> GaitFeatures:
        """A copy that can be extended without changing this one."""
        return GaitFeatures(
            fs_hz=self.fs_hz,
            **{name: list(getattr(self, name)) for name in _LIST_FIELDS},
            lag_cov=self.lag_cov.copy(),
            vertical_jerk=self.vertical_jerk.copy(),
            regularity_sums=self.regularity_sums.copy(),
        )

    def contacts(self) -> Contacts:
        """All initial contacts found so far, closer-than-possible duplicates removed."""
        if not self.ic_t_s:
            return Contacts(np.zeros(0), np.zeros(0, dtype=int), np.zeros((0, 3)), np.zeros(0),
                            np.zeros(0), np.zeros(0))
        found = Contacts(
            np.concatenate(self.ic_t_s),
            np.concatenate(self.ic_segment),
            np.concatenate(self.side_vec),
            np.concatenate(self.peak_offset_s),
            np.concatenate(self.yaw_before_dps),
            np.concatenate(self.ic_strength_g_per_s),
        )
        return found.subset(_enforce_min_interval(found.t_s, found.segment))

    def seconds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per second of data: bin start t_s, segment, mean and std of acceleration (n,3) in g."""
        if not self.second_t_s:
            return np.zeros(0), np.zeros(0, dtype=int), np.zeros((0, 3)), np.zeros((0, 3))
        t = np.concatenate(self.second_t_s)
        seg = np.concatenate(self.second_segment)
        # A bin cut by a chunk boundary arrives in two pieces, one after the other: add
        # them up (in arrival order, so the sums are the same however the bins are found).
        key = np.round(t * 1000.0).astype(np.int64) * 1000 + seg
        if (key[1:] >= key[:-1]).all():  # in time order, as the extractor appends them
            first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            del key
            sums = np.add.reduceat(np.concatenate(self.second_sum_g), first, axis=0)
            sums += 0.0  # (-0.0 becomes 0.0, as when adding to zeros)
            squares = np.add.reduceat(np.concatenate(self.second_sumsq_g2), first, axis=0)
            squares += 0.0
            counts = np.add.reduceat(np.concatenate(self.second_count), first)
        else:
            first, sums, squares, counts = _bins_in_any_order(
                key, np.concatenate(self.second_sum_g),
                np.concatenate(self.second_sumsq_g2), np.concatenate(self.second_count))
        mean = sums / counts[:, None]
        del sums
        squares /= counts[:, None]
        squares -= mean * mean
        std = np.sqrt(np.maximum(squares, 0.0, out=squares), out=squares)
        return t[first], seg[first], mean, std


def _bins_in_any_order(
    key: np.ndarray, total: np.ndarray, sumsq: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``GaitFeatures.seconds``' bins by key when pieces are not in time order: the index of
    each bin's first piece, and the sums, sums of squares and counts of its pieces."""
    uniq, inverse = np.unique(key, return_inverse=True)
    sums = np.zeros((len(uniq), 3))
    np.add.at(sums, inverse, total)
    squares = np.zeros((len(uniq), 3))
    np.add.at(squares, inverse, sumsq)
    counts = np.zeros(len(uniq))
    np.add.at(counts, inverse, count)
    first = np.zeros(len(uniq), dtype=int)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    return first, sums, squares, counts


_LIST_FIELDS = (
    "ic_t_s", "ic_segment", "side_vec", "peak_offset_s", "yaw_before_dps",
    "ic_strength_g_per_s", "second_t_s",
    "second_segment", "second_sum_g", "second_count", "second_sumsq_g2", "segments",
)


def _enforce_min_interval(t: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Mask dropping a contact closer than the minimum step interval to the previous one."""
    keep = np.ones(len(t), dtype=bool)
    last = -np.inf
    last_seg = -1
    for i in range(len(t)):
        if seg[i] == last_seg and t[i] - last < MIN_STEP_INTERVAL_S * 0.999:
            keep[i] = False
            continue
        last, last_seg = t[i], seg[i]
    return keep


class FeatureExtractor:
    """Feed uniform blocks in order; call ``finish()`` once; read ``features``."""

    def __init__(self, fs_hz: float) -> None:
        self.fs_hz = float(fs_hz)
        self.features = GaitFeatures(fs_hz=self.fs_hz)
        self._chunk = max(1, int(round(CHUNK_S * self.fs_hz)))
        self._margin = int(round(MARGIN_S * self.fs_hz))
        self._segment = -1
        self._seg_t0 = 0.0
        self._buf = _SampleBuffer(self._chunk + 2 * self._margin)
        self._buf_gyro: _SampleBuffer | None = None  # angular rate (deg/s) beside _buf, if any
        self._buf_start = 0  # segment sample index of the first buffered sample
        self._next_core = 0  # segment sample index where the next core chunk starts
        self._seg_len = 0

    def feed(self, block: UniformBlock, gyro_dps: np.ndarray | None = None) -> None:
        """Add a block; ``gyro_dps`` (block.n, 3): angular rate on the same grid, if any."""
        if block.segment != self._segment:
            self._end_segment()
            self._segment = block.segment
            self._seg_t0 = block.t0_s
            self._buf.clear()
            self._buf_gyro = None
            self._buf_start = 0
            self._next_core = 0
            self._seg_len = 0
        if gyro_dps is not None and len(gyro_dps) == block.n:
            if self._buf_gyro is None:  # gyro from here on: earlier buffered samples have none
                self._buf_gyro = _SampleBuffer(self._chunk + 2 * self._margin)
                self._buf_gyro.append(np.full((len(self._buf), 3), np.nan))
            self._buf_gyro.append(np.asarray(gyro_dps, dtype=np.float64))
        elif self._buf_gyro is not None:
            self._buf_gyro.append(np.full((block.n, 3), np.nan))
        self._buf.append(block.acc_g)
        self._seg_len += block.n
        while self._next_core + self._chunk + self._margin <= self._seg_len:
            self._process_core(self._next_core, self._next_core + self._chunk)

    def finish(self) -> GaitFeatures:
        self._end_segment()
        return self.features

    def provisional(self) -> GaitFeatures:
        """Features including a preview of the samples still waiting for a full chunk.

        For a live view: the buffered tail is processed into a copy, so steps
        show up within a second instead of a chunk later; the real features
        (and so the final result) are untouched.
        """
        preview = self.features.copy()
        if self._segment < 0 or self._next_core >= self._seg_len:
            return preview
        self._extract_core(preview, self._next_core, self._seg_len)
        preview.segments.append(self._segment_span())
        return preview

    def _segment_span(self) -> tuple[float, float]:
        return self._seg_t0, self._seg_t0 + self._seg_len / self.fs_hz

    def _extract_core(self, into: GaitFeatures, core_start: int, core_end: int) -> None:
        """Run the per-sample stage on one core chunk, with its margins from the buffer."""
        win_start = max(0, core_start - self._margin)
        win_end = min(self._seg_len, core_end + self._margin)
        a = win_start - self._buf_start
        b = a + (win_end - win_start)
        gyro = None if self._buf_gyro is None else self._buf_gyro.view(a, b)
        _extract_window(into, self._buf.view(a, b), self.fs_hz,
                        self._segment, self._seg_t0, win_start, core_start, core_end, gyro)

    def _end_segment(self) -> None:
        if self._segment < 0:
            return
        while self._next_core < self._seg_len:
            self._process_core(self._next_core, min(self._next_core + self._chunk, self._seg_len))
        self.features.segments.append(self._segment_span())
        self._segment = -1

    def _process_core(self, core_start: int, core_end: int) -> None:
        self._extract_core(self.features, core_start, core_end)
        self._next_core = core_end
        drop = max(0, core_end - self._margin - self._buf_start)
        if drop:
            self._buf.drop(drop)
            if self._buf_gyro is not None:
                self._buf_gyro.drop(drop)
            self._buf_start += drop


def _extract_window(
    f: GaitFeatures,
    acc: np.ndarray,
    fs: float,
    segment: int,
    seg_t0: float,
    win_start: int,
    core_start: int,
    core_end: int,
    gyro_dps: np.ndarray | None = None,
) -> None:
    n = len(acc)
    c0, c1 = core_start - win_start, core_end - win_start
    # Per-second mean acceleration (gravity) in the sensor frame.
    idx = np.arange(core_start, core_end)
    bins = np.floor(idx / fs).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(bins) != 0])
    f.second_t_s.append(seg_t0 + bins[starts].astype(float))
    f.second_segment.append(np.full(len(starts), segment))
    f.second_sum_g.append(np.add.reduceat(acc[c0:c1], starts, axis=0))
    f.second_count.append(np.diff(np.r_[starts, len(idx)]).astype(float))
    f.second_sumsq_g2.append(np.add.reduceat(acc[c0:c1] ** 2, starts, axis=0))
    if n < int(fs) + 1:
        return
    # The gravity direction once per window: the vertical and the yaw cue both use it.
    up = up_direction(acc, fs)
    vertical = vertical_dynamic(acc, fs, up)
    ics, strength = initial_contacts_with_strength(acc, fs, vertical)
    core = (ics >= c0) & (ics < c1)
    in_core = ics[core]
    # Slow statistics at ~STATS_RATE_HZ (block means): same result, far less work.
    k = max(1, int(fs // STATS_RATE_HZ))
    fs_k = fs / k
    acc_k = block_mean(acc, k)
    dyn = bandpass(acc_k, fs_k, 0.3, 4.0)
    stride_band = bandpass(acc_k, fs_k, 0.3, 1.5)
    if len(in_core):
        f.ic_t_s.append(seg_t0 + (in_core + win_start) / fs)
        f.ic_segment.append(np.full(len(in_core), segment))
        f.ic_strength_g_per_s.append(strength[core])
        f.side_vec.append(_window_means(stride_band, in_core // k, fs_k, SIDE_WINDOW_S))
        f.peak_offset_s.append(vertical_peak_offsets_s(vertical, in_core, fs))
        if gyro_dps is None or not np.isfinite(gyro_dps).all():
            f.yaw_before_dps.append(np.full(len(in_core), np.nan))
        else:
            f.yaw_before_dps.append(
                yaw_before_contacts(gyro_dps, up, in_core, fs))
    # Walking samples: between two contacts no more than MAX_WALKING_STEP_S apart.
    if len(ics) < 3:
        return
    intervals = np.diff(ics) / fs
    walking_steps = intervals <= MAX_WALKING_STEP_S
    if not walking_steps.any():
        return
    n_k = len(acc_k)
    ics_k = ics // k
    mask = np.zeros(n_k, dtype=bool)
    for i in np.flatnonzero(walking_steps):
        mask[ics_k[i] : ics_k[i + 1]] = True
    mask[: c0 // k] = False
    mask[c1 // k :] = False
    lag = max(1, int(round(np.median(intervals[walking_steps]) * fs_k)))
    valid = mask.copy()
    valid[max(0, n_k - 2 * lag) :] = False
    sel = np.flatnonzero(valid)
    if len(sel) == 0:
        return
    vertical = block_mean(vertical, k)
    # einsum, not `@`: BLAS would start its thread pool for these tiny products,
    # which costs far more than the arithmetic (7x slower per chunk, measured).
    f.lag_cov += np.einsum("ni,nj->ij", dyn[sel], dyn[sel + lag])
    jerk = np.gradient(dyn, axis=0) * fs_k
    f.vertical_jerk += np.einsum("n,ni->i", vertical[sel], jerk[sel])
    v0, v1, v2 = vertical[sel], vertical[sel + lag], vertical[sel + 2 * lag]
    f.regularity_sums += np.array([
        np.einsum("n,n->", v0, v1), np.einsum("n,n->", v0, v0), np.einsum("n,n->", v1, v1),
        np.einsum("n,n->", v0, v2), np.einsum("n,n->", v2, v2), float(len(sel)),
    ])


class _SampleBuffer:
    """The samples (n,3) still needed, in a preallocated array: appending copies only the
    new block, dropping moves an index; the kept samples move to the front only when the
    end of the array is reached (instead of re-concatenating on every block).

    A block larger than the array arriving while it is empty (a whole recording fed at
    once) is held as it is, not copied.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = max(1, capacity)
        self._data = np.empty((self._capacity, 3))
        self._lo = self._hi = 0
        self._borrowed = False

    def clear(self) -> None:
        self._lo = self._hi = 0

    def append(self, block: np.ndarray) -> None:
        n = len(block)
        live = self._hi - self._lo
        if live == 0 and n > self._capacity:
            self._data, self._lo, self._hi, self._borrowed = block, 0, n, True
            return
        if self._borrowed or self._hi + n > len(self._data):
            size = len(self._data) if not self._borrowed else self._capacity
            if live + n > size:
                size = max(2 * size, live + n)
            if size != len(self._data) or self._borrowed:
                fresh = np.empty((size, 3))
                fresh[:live] = self._data[self._lo : self._hi]
                self._data, self._borrowed = fresh, False
            else:
                self._data[:live] = self._data[self._lo : self._hi].copy()
            self._lo, self._hi = 0, live
        self._data[self._hi : self._hi + n] = block
        self._hi += n

    def __len__(self) -> int:
        return self._hi - self._lo

    def drop(self, n: int) -> None:
        self._lo += n

    def view(self, start: int, end: int) -> np.ndarray:
        """Samples ``start:end`` counted from the first one kept."""
        return self._data[self._lo + start : self._lo + end]


def _window_means(
    x: np.ndarray, at: np.ndarray, fs: float, window_s: tuple[float, float]
) -> np.ndarray:
    lo = np.clip(at + int(round(window_s[0] * fs)), 0, len(x) - 1)
    hi = np.clip(at + int(round(window_s[1] * fs)) + 1, 1, len(x))
    cs = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    width = np.maximum(hi - lo, 1)[:, None]
    return (cs[hi] - cs[lo]) / width
