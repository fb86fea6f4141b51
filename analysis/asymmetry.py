"""Left/right asymmetry: step-time symmetry index with its uncertainty, and regularity.

SI = 100·(X_L − X_R) / (0.5·(X_L + X_R)) over step times X (Patterson et al.
2010), where a left step ends with a left initial contact.

Timing. The contact detector (``analysis.steps``) times a contact by its jerk
peak, and on uneven walkers that peak can sit tens of ms later after one foot's
contact than after the other's (up to ~80 ms on the shared stroke walks),
which moves the SI by ~3.6 percentage points per 10 ms. Each contact therefore
also carries a marker from the vertical acceleration peak near it (the trunk's
deceleration at weight acceptance), whose delay after the true contact differs
less between sides. Where the detector is late, that peak can lie *before* the
detected contact, and a search that starts at the contact then returns its
first sample, the detector's late time again (on the shared stroke walks 74–92 %
of one participant's left contacts, the source of most of its SI error). So the
peak is searched in each window of ``PEAK_WINDOWS_S``, one starting at the
contact and one opened before it, and the marker is the mean of the delays
found: where both windows hold the same peak it is that peak; where the peak
precedes a late contact the marker lies halfway between the detector and the
peak. That halfway point is an empirical choice, not a law: on that participant's
walks the peak before a late contact is itself early against the foot reference
(summed |SI| error over its five walks 15 pp halfway, 21 pp at the peak, 24 pp
searching from the contact only). The window set is fixed as a method, not
tuned: searching before a late contact too is what lets the marker find the peak
at all, shown on synthetic truth with a planted per-side bias (the contact-only
search measures that even walk ~12 % uneven and flags it); benchmarks/asymmetry.py
prints the other window sets too, and the earlier leave-one-participant-out that
also chose among them. Step times are taken
between these markers; the difference between the two sides' mean
detector-minus-marker delay is reported as the corrected timing bias
(``timing_bias_s``).

Strides. A step counts only inside a bout, between two contacts whose labels
alternate, and when it is neither far longer (a missed contact) nor far
shorter (an extra detection) than the bout's median step. Consecutive counted
steps are paired into strides (one left and one right step each), and the SI
is computed over strides from each side's typical step: its mean, or with
``TRIM_FRACTION`` > 0 a trimmed mean. The trimmed mean is kept as a method
variant, not shipped: on synthetic truth with stray timing errors it keeps the
SI and narrows the interval, on the shared stroke walks it halves the median
|SI| error but raises the 90th percentile, and leave-one-participant-out does
not choose it consistently (benchmarks/asymmetry.py prints both).

Uncertainty. The interval is a seeded moving-block bootstrap over strides: the
same input always gives the same interval. Blocks of ``BOOTSTRAP_BLOCK_STRIDES``
because consecutive strides are not independent (a contact's timing error enters
the two strides it ends and starts; on the shared stroke walks the per-stride SI's
lag-1 autocorrelation is a median 0.24, lag 2 0.08, lag 3 0.04): the long-run
variance from those autocorrelations is ~1.21² times the per-stride one, and blocks
of 5 widen the interval over single-stride resampling by a median 1.12× (blocks of
8 or 12: 1.15×, 1.16×), so the blocks do not make it wider than the data justify.
Two uses: the two-sided ``CI_LEVEL`` interval (bootstrap percentiles) that the report
shows, and one-sided bounds for a decision
("is |SI| clearly above a limit?" is one-sided) at ``ONE_SIDED_LEVEL`` or, for a rule
looking at several stretches, higher: the SI minus the bootstrap standard error times
Student's t quantile with (blocks − 1) degrees of freedom (the far tail a high level
asks for is beyond what 500 resamples resolve, and a short stretch has few
independent blocks).

Regularity is the autocorrelation of vertical acceleration at a lag of one step
and one stride (Moe-Nilssen & Helbostad 2004).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from analysis.bouts import MAX_WALKING_STEP_S
from analysis.medians import median_1d

ROLLING_STEPS = 20
MISSED_STEP_RATIO = 1.7
EXTRA_STEP_RATIO = 0.6
MIN_STRIDES = 2
# Vertical-peak search windows, s after (negative: before) the detected contact.
PEAK_WINDOWS_S = ((0.0, 0.2), (-0.15, 0.2))
CI_LEVEL = 0.95
ONE_SIDED_LEVEL = 0.95
# Share of each side's step times cut at each end for its typical step (a trimmed mean;
# 0: the plain mean, shipped; see the module doc).
TRIM_FRACTION = 0.0
BOOTSTRAP_SAMPLES = 500
BOOTSTRAP_BLOCK_STRIDES = 5
BOOTSTRAP_SEED = 17


def vertical_peak_offsets_s(vertical: np.ndarray, contacts: np.ndarray, fs_hz: float) -> np.ndarray:
    """Per contact (sample index): the mean over ``PEAK_WINDOWS_S`` of the delay (s;
    negative: before the contact) of the largest vertical acceleration in the window;
    windows outside ``vertical`` are left out, NaN when none fits."""
    total = np.zeros(len(contacts))
    count = np.zeros(len(contacts))
    for lo_s, hi_s in PEAK_WINDOWS_S:
        lo_n = int(round(lo_s * fs_hz))
        width = int(round((hi_s - lo_s) * fs_hz)) + 1
        start = contacts + lo_n
        ok = (start >= 0) & (start + width <= len(vertical))
        if ok.any():
            windows = vertical[start[ok, None] + np.arange(width)[None, :]]
            total[ok] += (lo_n + np.argmax(windows, axis=1)) / fs_hz
            count[ok] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass(frozen=True)
class Strides:
    """One entry per stride: start time (s), left and right step time (s) between the
    vertical-peak markers, the same between the detector's contact times (``raw_``), bout
    index; ``bias_s``: mean detector-minus-marker delay of left contacts minus that of
    right ones (s; NaN when unknown)."""

    t_s: np.ndarray
    left_s: np.ndarray
    right_s: np.ndarray
    raw_left_s: np.ndarray
    raw_right_s: np.ndarray
    bout: np.ndarray
    bias_s: float = float("nan")

    def __len__(self) -> int:
        return len(self.t_s)

    def select(self, mask: np.ndarray | slice) -> Strides:
        return Strides(*(getattr(self, f)[mask] for f in _STRIDE_FIELDS), self.bias_s)


_STRIDE_FIELDS = ("t_s", "left_s", "right_s", "raw_left_s", "raw_right_s", "bout")


def find_strides(
    ic_t_s: np.ndarray, sides: np.ndarray, peak_offset_s: np.ndarray | None, bout: int = 0
) -> Strides:
    """Strides of one bout's contacts (see the module doc), with marker-corrected step times."""
    t = np.asarray(ic_t_s, dtype=float)
    sides = np.asarray(sides)
    offset = np.zeros(len(t)) if peak_offset_s is None else np.asarray(peak_offset_s, float)
    known = np.isfinite(offset)
    marker = t + np.where(known, offset, 0.0)
    if len(t) < 3:
        return _no_strides()
    raw = np.diff(t)
    step = np.diff(marker)
    usable = _usable_steps(raw, sides) & (step > 0)
    # Pairs from the start of each run of usable steps: (s, s+1), (s+2, s+3), ...
    edges = np.diff(np.r_[0, usable.astype(np.int8), 0])
    run_start, run_end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    pairs = (run_end - run_start) // 2
    first = np.repeat(run_start, pairs) + 2 * (
        np.arange(int(pairs.sum())) - np.repeat(np.cumsum(pairs) - pairs, pairs))
    left_first = sides[first + 1] == "L"  # the second step ends with a left contact
    a = np.where(left_first, first, first + 1)
    b = np.where(left_first, first + 1, first)
    used = np.zeros(len(t), dtype=bool)
    used[1:] |= usable
    delay = -offset
    bias = float("nan")
    sel_l, sel_r = used & known & (sides == "L"), used & known & (sides == "R")
    if sel_l.any() and sel_r.any():
        bias = float(np.mean(delay[sel_l]) - np.mean(delay[sel_r]))
    return Strides(t[first], step[a], step[b], raw[a], raw[b],
                   np.full(len(first), bout, dtype=int), bias)


def _usable_steps(raw: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Steps (intervals) between alternating known labels, neither a pause nor far longer
    (a missed contact) or far shorter (an extra detection) than the typical step of their
    own side (uneven walkers' two sides differ by up to ~1.7×, so one typical step for
    both would drop the short side's steps)."""
    end, start = sides[1:], sides[:-1]
    usable = (end != start) & ((end == "L") | (end == "R")) & ((start == "L") | (start == "R"))
    usable &= raw <= MAX_WALKING_STEP_S
    for side in ("L", "R"):
        mine = usable & (end == side)
        if mine.any():
            typical = median_1d(raw[mine])
            usable[mine] &= (raw[mine] <= MISSED_STEP_RATIO * typical) & (
                raw[mine] >= EXTRA_STEP_RATIO * typical)
    return usable


def _no_strides() -> Strides:
    empty = np.zeros(0)
    return Strides(empty, empty, empty, empty, empty, np.zeros(0, dtype=int))


def join_strides(parts: list[Strides]) -> Strides:
    """All strides of several bouts; the bias is the stride-weighted mean of theirs."""
    if not parts:
        return _no_strides()
    weights = np.array([len(p) for p in parts], dtype=float)
    biases = np.array([p.bias_s for p in parts])
    ok = np.isfinite(biases) & (weights > 0)
    bias = float(np.sum(biases[ok] * weights[ok]) / weights[ok].sum()) if ok.any() else np.nan
    return Strides(*(np.concatenate([getattr(p, f) for p in parts]) for f in _STRIDE_FIELDS),
                   bias)


@dataclass(frozen=True)
class StepAsymmetry:
    """Signed SI (%, positive: left steps longer), its two-sided ``CI_LEVEL`` interval,
    strides behind it, the corrected left-minus-right timing bias (s), and the one-sided
    ``ONE_SIDED_LEVEL`` bounds of the signed SI (the SI is above ``one_sided_low_pct``
    with that confidence, below ``one_sided_high_pct`` likewise)."""

    si_pct: float
    ci_low_pct: float
    ci_high_pct: float
    strides: int
    timing_bias_s: float
    one_sided_low_pct: float = float("nan")
    one_sided_high_pct: float = float("nan")
    one_sided_level: float = ONE_SIDED_LEVEL

    @property
    def abs_ci_pct(self) -> tuple[float, float]:
        """The interval for |SI|: from 0 when the signed interval spans 0."""
        return _abs_interval(self.ci_low_pct, self.ci_high_pct)

    @property
    def abs_lower_pct(self) -> float:
        """Two-sided lower bound of |SI| (0 when the interval spans 0; NaN when unknown)."""
        return self.abs_ci_pct[0]

    @property
    def abs_lower_bound_pct(self) -> float:
        """One-sided ``ONE_SIDED_LEVEL`` lower bound of |SI|: |SI| is above it with that
        confidence (0 when the SI's sign is not clear either; NaN when unknown). The test
        of "clearly above a limit" is one-sided, so this is what a rule compares."""
        return _abs_interval(self.one_sided_low_pct, self.one_sided_high_pct)[0]


def _abs_interval(lo: float, hi: float) -> tuple[float, float]:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return float("nan"), float("nan")
    if lo <= 0 <= hi:
        return 0.0, max(-lo, hi)
    return min(abs(lo), abs(hi)), max(abs(lo), abs(hi))


def _si(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (left - right) / (0.5 * (left + right))


def typical_step_s(steps_s: np.ndarray) -> np.ndarray:
    """Typical step time along the last axis: the mean after cutting ``TRIM_FRACTION`` of
    the values at each end (a trimmed mean; the plain mean when nothing is cut)."""
    n = steps_s.shape[-1]
    cut = int(TRIM_FRACTION * n)
    if cut == 0 or n - 2 * cut < 1:
        return steps_s.mean(axis=-1)
    return np.sort(steps_s, axis=-1)[..., cut : n - cut].mean(axis=-1)


def _block_starts(n: int, samples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Random block starts for a moving-block bootstrap of ``n`` strides: ``samples`` rows of
    one start per block, drawn a few rows at a time (``BOOT_DRAW_VALUES`` starts at most)
    so a whole day's thousands of strides do not hold a (samples, blocks) array and its
    gathered sums at once (~100 MB at 72 h); the same rows as one draw."""
    block = _block_length(n)
    blocks = -(-n // block)
    rows = max(1, BOOT_DRAW_VALUES // blocks)
    for first in range(0, samples, rows):
        yield rng.integers(0, n - block + 1, size=(min(rows, samples - first), blocks))


def _block_length(n: int) -> int:
    """Strides per bootstrap block for ``n`` strides."""
    return max(1, min(BOOTSTRAP_BLOCK_STRIDES, n))


def _boot_si(timings: list[tuple[np.ndarray, np.ndarray]], starts: np.ndarray, block: int,
             ) -> list[np.ndarray]:
    """For each (left, right) timing, the SI of the typical left and right step of each
    resampled series: whole blocks of ``block`` strides from ``starts`` (samples, blocks),
    cut to the original length. Plain means come from cumulative sums, all timings' at
    once; trimmed ones need each series, made ``_BOOT_CHUNK`` at a time so a long session
    does not hold them all at once."""
    n = len(timings[0][0])
    if int(TRIM_FRACTION * n) == 0:
        values = np.array([side for pair in timings for side in pair], dtype=float)
        cs = np.zeros((len(values), n + 1))
        np.cumsum(values, axis=1, out=cs[:, 1:])
        means = _boot_means(cs, starts, block, n)
        return [_si(means[2 * k], means[2 * k + 1]) for k in range(len(timings))]
    return [_boot_si_trimmed(left, right, starts, block) for left, right in timings]


def _boot_si_trimmed(left: np.ndarray, right: np.ndarray, starts: np.ndarray, block: int,
                     ) -> np.ndarray:
    n = len(left)
    offsets = np.arange(block)
    out = []
    for a in range(0, len(starts), _BOOT_CHUNK):
        idx = (starts[a : a + _BOOT_CHUNK, :, None] + offsets).reshape(
            len(starts[a : a + _BOOT_CHUNK]), -1)[:, :n]
        out.append(_si(typical_step_s(left[idx]), typical_step_s(right[idx])))
    return np.concatenate(out)


def _boot_means(cs: np.ndarray, starts: np.ndarray, block: int, n: int) -> np.ndarray:
    """Means of resampled series of ``n`` values from their cumulative sums ``cs`` (series,
    n + 1; a leading 0): whole blocks from ``starts`` (samples, blocks), the last one cut
    to n values; (series, samples)."""
    last = n - (starts.shape[-1] - 1) * block
    lead = starts[:, :-1]
    lead_end = lead + block  # the one index array made (a few MB at most: _block_starts)
    tail = starts[:, -1]
    tail_end = tail + last
    # one series at a time, each summed as a (samples, blocks) array: the same additions
    # in the same order whatever the number of series
    return np.array([((c[lead_end] - c[lead]).sum(axis=-1) + (c[tail_end] - c[tail])) / n
                     for c in cs])


_BOOT_CHUNK = 50
BOOT_DRAW_VALUES = 1 << 15  # block starts drawn at a time (256 kB of int64)


def _intervals(strides: Strides, rng: np.random.Generator, one_sided_level: float,
               ) -> tuple[float, float, float, float]:
    """Bounds of the SI over resampled strides, each widened to cover both timings
    (markers and the detector's own): how far the contact timing can be trusted is part
    of the uncertainty. Returns the two-sided ``CI_LEVEL`` interval (bootstrap
    percentiles) and the one-sided ``one_sided_level`` lower and upper bounds: the SI
    minus (plus) the bootstrap standard error times Student's t quantile with one degree
    of freedom fewer than the blocks of strides. A few hundred resamples of a few
    blocks cannot resolve the far tail a rule asks for when it looks at many segments
    (a 99.7 % bound is the 1.5th of 500 resamples, and lies too close), and a segment's
    handful of blocks is little independent evidence: the t quantile says so."""
    tail = 100.0 * (1.0 - CI_LEVEL) / 2.0
    n = len(strides)
    block = _block_length(n)
    t_q = t_quantile(one_sided_level, max(-(-n // block) - 1, 1))
    timings = [(np.asarray(left, float), np.asarray(right, float)) for left, right in (
        (strides.left_s, strides.right_s), (strides.raw_left_s, strides.raw_right_s))]
    sis = [float(_si(typical_step_s(left), typical_step_s(right))) for left, right in timings]
    parts: list[list[np.ndarray]] = [[], []]
    for starts in _block_starts(n, BOOTSTRAP_SAMPLES, rng):  # the same resamples for both
        for part, si in zip(parts, _boot_si(timings, starts, block), strict=True):
            part.append(si)
    # one row per timing: one percentile and one std call for both
    boot = np.stack([np.concatenate(part) for part in parts])
    lo, hi = np.percentile(boot, [tail, 100.0 - tail], axis=1)
    spread = t_q * np.std(boot, axis=1)
    lo_one, hi_one = np.array(sis) - spread, np.array(sis) + spread
    return float(lo.min()), float(hi.max()), float(lo_one.min()), float(hi_one.max())


@lru_cache(maxsize=256)
def t_quantile(p: float, df: int) -> float:
    """Student's t quantile: exact for 1 and 2 degrees of freedom, else Newton steps on
    the t distribution (its CDF by Simpson's rule) from the Cornish-Fisher expansion
    (relative error < 1e-6 for p up to 0.9999). Here rather than scipy.stats, whose
    import costs ~1.5 s of CPU at every start."""
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = NormalDist().inv_cdf(p)
    t = (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
         + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))
    norm = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def pdf(x: np.ndarray | float) -> np.ndarray | float:
        return norm * (1 + x * x / df) ** (-(df + 1) / 2)

    weights = np.r_[1.0, np.tile([4.0, 2.0], 100)[:-1], 1.0]  # Simpson, 200 intervals
    for _ in range(4):
        x = np.linspace(0.0, t, len(weights))
        cdf = 0.5 + float(np.dot(weights, pdf(x))) * t / 600.0
        t -= (cdf - p) / float(pdf(t))
    return float(t)


def step_asymmetry(strides: Strides, one_sided_level: float = ONE_SIDED_LEVEL,
                   ) -> StepAsymmetry:
    """SI with its interval over ``strides`` (NaN with fewer than ``MIN_STRIDES``).

    The SI is that of the typical (trimmed-mean) left and right step between the
    markers; the interval is the seeded block bootstrap over strides, widened to cover
    the SI from the detector's own contact times too. ``one_sided_level``: confidence of
    the one-sided bounds (a rule that looks at several stretches asks for more)."""
    n = len(strides)
    if n < MIN_STRIDES:
        return StepAsymmetry(np.nan, np.nan, np.nan, n, strides.bias_s)
    si = float(_si(typical_step_s(np.asarray(strides.left_s, float)),
                   typical_step_s(np.asarray(strides.right_s, float))))
    lo, hi, lo_one, hi_one = _intervals(strides, np.random.default_rng(BOOTSTRAP_SEED),
                                        one_sided_level)
    return StepAsymmetry(si, lo, hi, n, strides.bias_s, lo_one, hi_one, one_sided_level)


def windowed_si_pct(
    ic_t_s: np.ndarray, sides: np.ndarray, steps: int, peak_offset_s: np.ndarray | None = None
) -> np.ndarray:
    """Signed SI over the counted steps among the last ``steps`` contacts ending at each
    contact (one bout); NaN for early contacts or windows with too few steps per side."""
    out = np.full(len(ic_t_s), np.nan)
    if len(ic_t_s) <= steps:
        return out
    t = np.asarray(ic_t_s, dtype=float)
    sides = np.asarray(sides)
    offset = np.zeros(len(t)) if peak_offset_s is None else np.nan_to_num(peak_offset_s)
    marker = t + offset
    raw = np.diff(t)
    usable = _usable_steps(raw, sides)
    step = np.diff(marker)
    left, right = usable & (sides[1:] == "L"), usable & (sides[1:] == "R")
    cum = {name: np.r_[0.0, np.cumsum(values)] for name, values in (
        ("sl", np.where(left, step, 0.0)), ("nl", left.astype(float)),
        ("sr", np.where(right, step, 0.0)), ("nr", right.astype(float)))}
    end = np.arange(steps, len(t))
    start = end - steps

    def window(name: str) -> np.ndarray:
        return cum[name][end] - cum[name][start]

    n_l, n_r = window("nl"), window("nr")
    with np.errstate(invalid="ignore", divide="ignore"):
        si = _si(window("sl") / n_l, window("sr") / n_r)
    out[steps:] = np.where((n_l >= MIN_STRIDES) & (n_r >= MIN_STRIDES), si, np.nan)
    return out


def rolling_step_time_si_pct(
    ic_t_s: np.ndarray, sides: np.ndarray, peak_offset_s: np.ndarray | None = None
) -> np.ndarray:
    """Signed SI over the last ``ROLLING_STEPS`` steps ending at each contact (NaN early on)."""
    return windowed_si_pct(ic_t_s, sides, ROLLING_STEPS, peak_offset_s)


def regularity(sums: np.ndarray) -> tuple[float, float]:
    """Step and stride regularity from autocorrelation sums.

    ``sums`` = [Σv0·v1, Σv0², Σv1², Σv0·v2, Σv2², n] with v1, v2 the vertical
    acceleration one step and one stride later. NaN without walking.
    """
    s01, s00, s11, s02, s22, n = sums
    if n < 1 or s00 <= 0:
        return float("nan"), float("nan")
    return float(s01 / np.sqrt(s00 * s11)), float(s02 / np.sqrt(s00 * s22))
