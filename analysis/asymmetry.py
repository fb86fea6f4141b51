"""Left/right asymmetry: step-time symmetry index and step/stride regularity.

SI = 100·(X_L − X_R) / (0.5·(X_L + X_R)) over step times X (Patterson et al.
2010), where a left step ends with a left initial contact. Consecutive steps
alternate feet, so the two groups are taken by alternation inside each run of
regular steps (a run ends at a pause or a missed step) and named by the
majority of the side labels of the whole run: one wrong side label cannot
corrupt the index. Regularity is the autocorrelation of vertical acceleration
at a lag of one step and one stride (Moe-Nilssen & Helbostad 2004).
"""

from __future__ import annotations

import numpy as np

from analysis.bouts import MAX_WALKING_STEP_S

ROLLING_STEPS = 20
MISSED_STEP_RATIO = 1.6
MIN_STEPS_PER_SIDE = 2


def step_groups(ic_t_s: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Per step (interval between consecutive contacts): +1 left step, -1 right step, 0 unused.

    Unused steps are pauses (> MAX_WALKING_STEP_S) and likely missed contacts
    (> MISSED_STEP_RATIO × the median step); they also end a run.
    """
    intervals = np.diff(ic_t_s)
    groups = np.zeros(len(intervals), dtype=np.int8)
    if len(intervals) == 0:
        return groups
    ending = np.asarray(sides)[1:]
    usable = intervals <= MAX_WALKING_STEP_S
    if usable.any():
        usable &= intervals <= MISSED_STEP_RATIO * np.median(intervals[usable])
    edges = np.diff(np.r_[0, usable.astype(np.int8), 0])
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        parity = np.where(np.arange(b - a) % 2 == 0, 1, -1)
        labelled = np.where(ending[a:b] == "L", 1, np.where(ending[a:b] == "R", -1, 0))
        sign = 1 if np.sum(labelled * parity) >= 0 else -1
        groups[a:b] = sign * parity
    return groups


def si_from_sums(
    sum_l: np.ndarray, n_l: np.ndarray, sum_r: np.ndarray, n_r: np.ndarray
) -> np.ndarray:
    """SI in % from summed left/right step times (s) and counts; NaN with too few steps."""
    ok = (n_l >= MIN_STEPS_PER_SIDE) & (n_r >= MIN_STEPS_PER_SIDE)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_l = sum_l / n_l
        x_r = sum_r / n_r
        return np.where(ok, 100.0 * (x_l - x_r) / (0.5 * (x_l + x_r)), np.nan)


def step_time_si_pct(
    ic_t_s: np.ndarray, sides: np.ndarray, groups: np.ndarray | None = None
) -> float:
    """Signed step-time symmetry index in % (positive: left steps longer); NaN if too few steps.

    ``groups``: ``step_groups(ic_t_s, sides)`` when the caller already has it.
    """
    intervals = np.diff(ic_t_s)
    groups = step_groups(ic_t_s, sides) if groups is None else groups
    left, right = groups == 1, groups == -1
    return float(
        si_from_sums(intervals[left].sum(), left.sum(), intervals[right].sum(), right.sum())
    )


def windowed_si_pct(
    ic_t_s: np.ndarray, sides: np.ndarray, steps: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """Signed SI over each window of ``steps`` consecutive steps; entry k ends at contact k.

    NaN for k < ``steps`` or windows with too few steps per side.
    """
    out = np.full(len(ic_t_s), np.nan)
    if len(ic_t_s) <= steps:
        return out
    intervals = np.diff(ic_t_s)
    groups = step_groups(ic_t_s, sides) if groups is None else groups
    cum = {
        name: np.r_[0.0, np.cumsum(values)]
        for name, values in (
            ("sl", np.where(groups == 1, intervals, 0.0)),
            ("nl", (groups == 1).astype(float)),
            ("sr", np.where(groups == -1, intervals, 0.0)),
            ("nr", (groups == -1).astype(float)),
        )
    }
    end = np.arange(steps, len(ic_t_s))
    start = end - steps

    def window(name: str) -> np.ndarray:
        return cum[name][end] - cum[name][start]

    out[steps:] = si_from_sums(window("sl"), window("nl"), window("sr"), window("nr"))
    return out


def rolling_step_time_si_pct(
    ic_t_s: np.ndarray, sides: np.ndarray, groups: np.ndarray | None = None
) -> np.ndarray:
    """Signed SI over the last ``ROLLING_STEPS`` steps ending at each contact (NaN early on)."""
    return windowed_si_pct(ic_t_s, sides, ROLLING_STEPS, groups)


def regularity(sums: np.ndarray) -> tuple[float, float]:
    """Step and stride regularity from autocorrelation sums.

    ``sums`` = [Σv0·v1, Σv0², Σv1², Σv0·v2, Σv2², n] with v1, v2 the vertical
    acceleration one step and one stride later. NaN without walking.
    """
    s01, s00, s11, s02, s22, n = sums
    if n < 1 or s00 <= 0:
        return float("nan"), float("nan")
    return float(s01 / np.sqrt(s00 * s11)), float(s02 / np.sqrt(s00 * s22))
