"""Validate sample times and put the samples on a uniform time grid.

Sensors and hosts deliver jittery, irregular time stamps. The analysis works on
a uniform grid at the estimated sample rate, built by linear interpolation
between neighbouring samples. A gap longer than ``MAX_GAP_S`` splits the
recording into separate segments: nothing is interpolated across a gap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from analysis.errors import InputError

MAX_GAP_S = 0.5
MIN_DURATION_S = 10.0
MAX_PLAUSIBLE_ACC_G = 50.0


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

    Checks, in order: shapes, NaN or infinite values, time going backwards,
    duplicate time stamps, less than ``MIN_DURATION_S`` of data, and
    acceleration magnitudes no body-worn sensor produces. ``whole`` False: the
    samples are one chunk of a longer stream, so the length and duration
    checks are left to ``check_duration`` on the whole stream.
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
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"{name} is NaN or infinite (missing value)", row=row)
    dt = np.diff(t_s)
    if (dt < 0).any():
        row = int(np.argmax(dt < 0)) + 1
        raise InputError(
            f"time goes backwards: t={t_s[row]:.6g} s after t={t_s[row - 1]:.6g} s", row=row
        )
    if (dt == 0).any():
        row = int(np.argmax(dt == 0)) + 1
        raise InputError(f"duplicate time stamp t={t_s[row]:.6g} s", row=row)
    if whole:
        check_duration(len(t_s), float(t_s[-1] - t_s[0]))
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


def estimate_sample_rate_hz(t_s: np.ndarray) -> float:
    """Sample rate from the median interval between stamps, ignoring gaps."""
    dt = np.diff(t_s)
    dt = dt[dt <= MAX_GAP_S]
    if len(dt) == 0:
        raise InputError("no two consecutive samples closer than the gap limit; cannot find a rate")
    return float(1.0 / np.median(dt))


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
            t_s = np.concatenate([[self._last_t], t_s])
        steps = np.diff(t_s)
        if (steps <= 0).any():
            i = int(np.argmax(steps <= 0)) + 1
            raise InputError(f"time does not increase: t={t_s[i]:.6g} s after t={t_s[i - 1]:.6g} s")
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
        last_k = int(np.floor((t[-1] - self._t0) * self.fs_hz + 1e-9))
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
                acc = np.concatenate([self._last_acc[None], acc])
            acc_u = acc[aligned] if aligned is not None else _interp3(grid, t, acc)
        self._next_k = last_k + 1
        return UniformBlock(self._segment, float(grid[0]), self.fs_hz, acc_u)


def _aligned(t: np.ndarray, grid: np.ndarray, fs_hz: float) -> slice | None:
    """The slice of ``t`` equal to ``grid`` (to 1e-6 of a sample), or None."""
    offset = int(round((grid[0] - t[0]) * fs_hz))
    if offset < 0 or offset + len(grid) > len(t):
        return None
    part = t[offset : offset + len(grid)]
    if np.max(np.abs(part - grid)) * fs_hz > 1e-6:
        return None
    return slice(offset, offset + len(grid))


def _interp3(grid: np.ndarray, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear interpolation of (n,3) ``values`` at ``grid``, written straight into one array."""
    out = np.empty((len(grid), 3))
    for j in range(3):
        out[:, j] = np.interp(grid, t, values[:, j])
    return out
