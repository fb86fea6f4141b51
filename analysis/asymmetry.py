"""Left/right asymmetry: step-time symmetry index and step/stride regularity.

SI = 100·(X_L − X_R) / (0.5·(X_L + X_R)) over step times X (Patterson et al.
2010), where a left step ends with a left initial contact. Consecutive steps
alternate feet, so the two groups are taken by alternation inside each run of
regular steps (a run ends at a pause or a missed step) and named by the
majority of the side labels: one wrong side label cannot corrupt the index.
Regularity is the autocorrelation of vertical acceleration at a lag of one
step and one stride (Moe-Nilssen & Helbostad 2004).
"""

from __future__ import annotations

import numpy as np

from analysis.bouts import MAX_WALKING_STEP_S

ROLLING_STEPS = 20
MISSED_STEP_RATIO = 1.6


def _side_groups(ic_t_s: np.ndarray, sides: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step times (s) of left and right steps, by alternation within regular runs."""
    intervals = np.diff(ic_t_s)
    if len(intervals) == 0:
        return np.zeros(0), np.zeros(0)
    ending = np.asarray(sides)[1:]
    usable = intervals <= MAX_WALKING_STEP_S
    if usable.any():
        usable &= intervals <= MISSED_STEP_RATIO * np.median(intervals[usable])
    left: list[float] = []
    right: list[float] = []
    run: list[int] = []
    for i in range(len(intervals) + 1):
        if i < len(intervals) and usable[i]:
            run.append(i)
            continue
        if len(run) >= 2:
            group_a = run[0::2]
            group_b = run[1::2]
            vote = (
                np.sum(ending[group_a] == "L") - np.sum(ending[group_a] == "R")
                + np.sum(ending[group_b] == "R") - np.sum(ending[group_b] == "L")
            )
            a_is_left = vote >= 0
            (left if a_is_left else right).extend(intervals[group_a])
            (right if a_is_left else left).extend(intervals[group_b])
        run = []
    return np.asarray(left), np.asarray(right)


def step_time_si_pct(ic_t_s: np.ndarray, sides: np.ndarray) -> float:
    """Signed step-time symmetry index in % (positive: left steps longer); NaN if too few steps."""
    left, right = _side_groups(ic_t_s, sides)
    if len(left) < 2 or len(right) < 2:
        return float("nan")
    x_l, x_r = float(left.mean()), float(right.mean())
    return 100.0 * (x_l - x_r) / (0.5 * (x_l + x_r))


def rolling_step_time_si_pct(ic_t_s: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Signed SI over the last ``ROLLING_STEPS`` steps ending at each contact (NaN early on)."""
    out = np.full(len(ic_t_s), np.nan)
    for k in range(ROLLING_STEPS, len(ic_t_s)):
        lo = k - ROLLING_STEPS
        out[k] = step_time_si_pct(ic_t_s[lo : k + 1], sides[lo : k + 1])
    return out


def regularity(sums: np.ndarray) -> tuple[float, float]:
    """Step and stride regularity from autocorrelation sums.

    ``sums`` = [Σv0·v1, Σv0², Σv1², Σv0·v2, Σv2², n] with v1, v2 the vertical
    acceleration one step and one stride later. NaN without walking.
    """
    s01, s00, s11, s02, s22, n = sums
    if n < 1 or s00 <= 0:
        return float("nan"), float("nan")
    return float(s01 / np.sqrt(s00 * s11)), float(s02 / np.sqrt(s00 * s22))
