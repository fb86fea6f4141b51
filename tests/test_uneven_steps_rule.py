"""The uneven-steps rule on strides with known step-time asymmetry (independent truth).

Strides are made here, not measured: per stride a left and a right step time around
0.6 s with the planted SI, per-step variability like the shared stroke walks (a few %)
and a slow drift. The rule must flag a sustained asymmetry clearly above its limit from
the evidence of all the strides it held over, and never flag walkers whose true SI is
below the limit, however their short stretches swing.
"""

from __future__ import annotations

import numpy as np

from analysis.asymmetry import Strides
from analysis.rules import RuleInputs, builtin_rules, evaluate


def strides_with_si(si_pct: np.ndarray, cv: float, seed: int) -> Strides:
    """One bout of strides whose true SI per stride is ``si_pct`` (%, positive: left
    steps longer); step-time noise of relative size ``cv`` plus a slow common drift."""
    rng = np.random.default_rng(seed)
    n = len(si_pct)
    drift = np.convolve(rng.standard_normal(n + 30), np.ones(30) / 30, "valid")[:n] * 0.03
    base = 0.6 * (1 + drift)
    left = base * (1 + si_pct / 200) * (1 + cv * rng.standard_normal(n))
    right = base * (1 - si_pct / 200) * (1 + cv * rng.standard_normal(n))
    t = 5.0 + np.r_[0.0, np.cumsum(left + right)[:-1]]
    return Strides(t, left, right, left, right, np.zeros(n, dtype=int))


def uneven_flags(strides: Strides, rules_toml: str = "") -> list:
    rules = builtin_rules()
    if rules_toml:
        rules = rules.with_overrides(rules_toml, "test")
    empty = np.zeros(0)
    x = RuleInputs(empty, np.zeros(0, dtype=bool), empty, empty, empty, empty, empty, empty,
                   np.zeros(0, dtype="<U1"), np.zeros(0, dtype=int), 0.0,
                   float(strides.t_s[-1] + 2.0), strides=strides,
                   bout_side_confidence=np.array([1.0]))
    return [f for f in evaluate(rules, x) if f.rule == "uneven-steps"]


def test_a_walk_clearly_over_the_limit_is_flagged_from_all_its_strides():
    # 13 % over 110 strides (~2.2 min, like the shared stroke walks): judged in two
    # fixed halves of ~1 min, each one's interval lies above 10 %, and the flag reports
    # the interval over all 110 strides.
    flagged = 0
    for seed in range(20):
        flags = uneven_flags(strides_with_si(np.full(110, 13.0), cv=0.05, seed=seed))
        if flags:
            flagged += 1
            evidence = flags[0].evidence
            assert 10.0 < evidence["ci_pct"][0] <= flags[0].value <= evidence["ci_pct"][1]
            assert evidence["strides"] == 110
            assert flags[0].end_s - flags[0].start_s >= 60.0
    assert flagged >= 18, flagged


def test_walkers_below_the_limit_are_never_flagged_however_their_stretches_swing():
    for si in (0.8, 6.0):  # even within 1 %, and at the must-not-flag edge
        for seed in range(15):
            strides = strides_with_si(np.full(400, si), cv=0.08, seed=seed)  # ~8 min
            for toml in ("", "[uneven-steps]\nhold_s = 30\n"):
                assert not uneven_flags(strides, toml), (si, seed, toml)


def test_a_sustained_limp_inside_a_long_walk_is_flagged_where_it_is():
    si = np.full(500, 1.0)
    si[200:300] = 25.0  # ~2 min of limping in ~10 min of walking
    strides = strides_with_si(si, cv=0.05, seed=3)
    flags = uneven_flags(strides)
    assert len(flags) == 1
    limp_start, limp_end = strides.t_s[200], strides.t_s[300]
    overlap = min(flags[0].end_s, limp_end) - max(flags[0].start_s, limp_start)
    assert overlap >= 0.5 * (limp_end - limp_start)
    assert flags[0].evidence["ci_pct"][0] > 10.0


def test_a_burst_shorter_than_the_hold_time_does_not_flag():
    si = np.full(300, 1.0)
    si[100:120] = 30.0  # 20 strides (~24 s) of uneven steps, the hold time is 60 s
    assert not uneven_flags(strides_with_si(si, cv=0.05, seed=4))
    # a bout too short for the hold time is not judged at all
    assert not uneven_flags(strides_with_si(np.full(40, 40.0), cv=0.05, seed=5))
    # nor one with fewer strides than the rule's minimum (here 60 strides, ~72 s)
    assert not uneven_flags(strides_with_si(np.full(50, 40.0), cv=0.05, seed=6),
                            "[uneven-steps]\nmin_strides = 60\n")
