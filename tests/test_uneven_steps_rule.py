"""The uneven-steps rule on strides with known step-time asymmetry (independent truth).

Strides are made here, not measured: per stride a left and a right step time around
0.6 s with the planted SI, per-step variability like the shared stroke walks (a few %)
and a slow drift; ``measured_like`` adds what a trunk sensor adds (stray timing errors
of a few steps in a hundred). The rule must flag a sustained asymmetry clearly above
its limit (8 %) from the evidence of all the strides it held over, and never flag
walkers whose true SI is below the limit, however their short stretches swing.
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


def measured_like(si_pct: float, n: int, seed: int) -> Strides:
    """``n`` strides at a constant true SI with the noise of the shared stroke walks as
    the trunk sensor measures them: 8 % step-time variability plus, on 8 % of the steps,
    a stray timing error of ±25 % (a contact timed off its foot strike). Its two-sided
    interval over 110 strides is ~±2.5 pp, a little wider than pp04-1Reg's ±1.9."""
    rng = np.random.default_rng(seed)

    def noise() -> np.ndarray:
        e = 0.08 * rng.standard_normal(n)
        stray = rng.random(n) < 0.08
        e[stray] += 0.25 * rng.choice([-1.0, 1.0], int(stray.sum()))
        return 1 + e

    left = 0.6 * (1 + si_pct / 200) * noise()
    right = 0.6 * (1 - si_pct / 200) * noise()
    t = 5.0 + np.r_[0.0, np.cumsum(left + right)[:-1]]
    return Strides(t, left, right, left, right, np.zeros(n, dtype=int))


def test_a_walk_clearly_over_the_limit_is_flagged_from_all_its_strides():
    # 13 % over 110 strides (~2.2 min, like the shared stroke walks): judged whole and
    # in two fixed halves of ~1 min; the flag reports the interval over all 110 strides
    # and the one-sided lower bound that put it over the limit.
    flagged = 0
    for seed in range(20):
        flags = uneven_flags(strides_with_si(np.full(110, 13.0), cv=0.05, seed=seed))
        if flags:
            flagged += 1
            evidence = flags[0].evidence
            assert evidence["ci_pct"][0] <= flags[0].value <= evidence["ci_pct"][1]
            assert flags[0].threshold == 8.0
            assert evidence["ci_pct"][0] <= evidence["lower_bound_pct"] <= flags[0].value
            assert evidence["lower_bound_pct"] > flags[0].threshold
            assert evidence["lower_bound_level"] == 0.95
            assert "95% confidence" in flags[0].message
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


def test_just_over_the_clear_band_flags_and_the_healthy_edge_does_not():
    # The benchmark's clear cases: |SI| > 12 % must flag, < 6 % must not. With the
    # stroke walks' measured noise and ~2 minutes of walking, a one-sided 95 % bound lies
    # ~2 pp under the estimate: at the 8 % limit a 12.2 % walker is flagged in nearly
    # every walk (95 %) and a 6 % one in none; at a 10 % limit the same 12.2 % walker
    # is flagged in fewer than half (45 %): why the default limit is 8 %, the top of the
    # healthy range, not 10 %.
    seeds = range(60)
    uneven = [bool(uneven_flags(measured_like(12.2, 110, s))) for s in seeds]
    edge = [bool(uneven_flags(measured_like(6.0, 110, s))) for s in seeds]
    at_10 = [bool(uneven_flags(measured_like(12.2, 110, s), "[uneven-steps]\n"
                               "threshold_pct = 10\n")) for s in seeds]
    assert np.mean(uneven) >= 0.9, np.mean(uneven)
    assert np.mean(edge) <= 0.03, np.mean(edge)
    assert np.mean(at_10) <= 0.8, np.mean(at_10)


def test_segments_of_a_long_even_walk_share_the_confidence():
    # A 6 % walker over ~20 minutes with a 30 s hold is judged in ~40 segments: each at
    # 95 % alone, one would come out over 8 % by chance now and then; shared among them
    # (Bonferroni) none does. A limp of 2 minutes inside is still found.
    for seed in range(6):
        assert not uneven_flags(measured_like(6.0, 1000, seed), "[uneven-steps]\nhold_s = 30\n")
    si = np.full(1000, 2.0)
    si[400:500] = 25.0
    limp = strides_with_si(si, cv=0.08, seed=1)
    flags = uneven_flags(limp, "[uneven-steps]\nhold_s = 30\n")
    assert flags and all(f.evidence["lower_bound_level"] > 0.95 for f in flags)
    assert all(limp.t_s[380] <= f.start_s and f.end_s <= limp.t_s[520] for f in flags)
