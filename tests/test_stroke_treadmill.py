"""Sides, step-time asymmetry and the uneven-steps flag on real uneven walkers.

../shared/data/stroke-treadmill: 20 treadmill walks of 5 people after stroke with
reference contacts and sides from foot sensors on the same clock (and mobgap-lab for
sides on other people and sensors). benchmarks/asymmetry.py prints the full figures,
including leave-one-participant-out; this test guards them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from benchmarks.asymmetry import (
    MOBGAP,
    STROKE,
    TrialResult,
    flag_verdict,
    load_mobgap,
    load_stroke,
    run_trial,
)
from benchmarks.scoring import IcScore


@lru_cache(maxsize=2)
def _results(folder: str) -> tuple[TrialResult, ...]:
    trials = load_stroke() if folder == "stroke" else load_mobgap()
    return tuple(run_trial(t, use_gyro=True) for t in trials)


def _pooled(results: tuple[TrialResult, ...]) -> IcScore:
    total = IcScore()
    for r in results:
        total += r.score
    return total


def test_shared_recordings_are_present():
    # CI always has ../shared: a missing folder is a failure, not a skip.
    assert len(list(STROKE.glob("*.truth.json"))) == 20
    assert len(list(MOBGAP.glob("*.truth.json"))) == 8


def test_steps_and_sides_hold_on_stroke_walks():
    results = _results("stroke")
    total = _pooled(results)
    assert total.f1 >= 0.976, f"steps F1 {total.f1:.3f}"
    assert total.side_agreement >= 0.97, f"pooled L/R {total.side_agreement:.3f}"
    worst = min(results, key=lambda r: r.score.side_agreement)
    assert worst.score.side_agreement >= 0.9, (worst.trial.name, worst.score.side_agreement)


def test_step_time_si_against_the_foot_sensor_reference():
    results = _results("stroke")
    errors = np.array([abs(r.si_pct - abs(r.ref_si_pct)) for r in results])
    # shipped defaults on all 20 walks: median 1.7, p90 3.6 (the vertical peak searched
    # at and before the contact; p90 7.3 with the search starting at the contact only)
    assert np.median(errors) <= 2.5, np.round(errors, 1)
    assert np.percentile(errors, 90) <= 5.0, np.round(errors, 1)
    for r in results:  # the interval is an interval around the estimate
        assert r.si_low_pct <= r.si_pct <= r.si_high_pct, r.trial.name


def test_uneven_steps_flag_is_right_wherever_the_reference_is_clear():
    results = _results("stroke")
    verdicts = {r.trial.name: flag_verdict(r) for r in results}
    assert list(verdicts.values()).count("right") >= 12, verdicts
    # Right on all 13: the must-flag walk just over the 12 % band edge (pp04-1Reg,
    # reference 12.2 %, measured 11.9 %) was missed with the 10 % limit and a two-sided
    # bound (8.3 %); one-sided against the 8 % limit its bound is 9.4 %.
    assert list(verdicts.values()).count("wrong") == 0, verdicts
    pp04 = next(r for r in results if r.trial.name == "mr-pp04-1Reg")
    assert pp04.flagged and pp04.si_bound_pct > 8.0
    # and walks with a clearly even reference keep their bound under the limit by a margin
    assert all(r.si_bound_pct <= 6.5 for r in results if abs(r.ref_si_pct) < 6.0)
    # the even walker (reference within 1.5 %) is never told they limp
    assert not any(r.flagged for r in results if r.trial.participant == "pp02")
    # and the clearly uneven one (about 50 %) is, in every walk
    assert all(r.flagged for r in results if r.trial.participant == "pp03")


def test_a_30_s_hold_does_not_turn_chance_stretches_into_flags():
    # With the hold time leave-one-participant-out chose for pp06 (30 s), the old rule
    # (any stretch of 20-stride windows each above the limit) flagged pp06-1Reg (reference
    # 5.4 %, measured 15.8 %, whole-walk interval 4.4-19.8 %). Judged on fixed segments
    # and the whole walk, no walk with a clearly even reference is flagged.
    for trial in load_stroke():
        if trial.participant not in ("pp02", "pp05", "pp06"):
            continue
        r = run_trial(trial, use_gyro=True, settings={"uneven-steps:hold_s": 30.0})
        if abs(r.ref_si_pct) < 6.0:
            assert not r.flagged, (trial.name, r.si_pct, r.si_low_pct)


def test_sides_on_mobgap_lab_not_lower_than_before():
    total = _pooled(_results("mobgap"))
    assert total.side_agreement >= 0.912, f"L/R {total.side_agreement:.3f}"


@pytest.mark.parametrize("name", ["mr-pp03-2Reg"])
def test_flag_message_and_json_carry_the_interval(name):
    from analysis.pipeline import analyze

    trial = next(t for t in load_stroke() if t.name == name)
    session = analyze(trial.t_s, trial.acc, trial.gyro_dps, acc_units="m/s2").to_dict(name)
    asym = session["asymmetry"]
    assert asym["strides"] >= 80 and asym["side_confidence"] >= 0.3
    assert asym["longer_steps"] == "right"  # reference: right steps ~49 % longer
    lo, hi = asym["step_time_si_ci_pct"]
    assert lo <= asym["step_time_si_pct"] <= hi
    flag = next(f for f in session["flags"] if f["rule"] == "uneven-steps")
    assert flag["evidence"]["ci_pct"][0] > flag["threshold"]
    assert "right steps took" in flag["message"] and "interval" in flag["message"]
    assert "95% confidence" in flag["message"] and flag["evidence"]["lower_bound_pct"] > 8.0
    assert asym["step_time_si_lower_bound_pct"] >= lo
    assert all("step_time_si_ci_pct" in b and "strides" in b for b in session["bouts"])
