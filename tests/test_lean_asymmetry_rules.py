"""Lean, asymmetry and guideline flags against planted truth."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import InputError
from analysis.pipeline import analyze
from analysis.simulate import DEFAULT_MOUNT, Phase, rotation_matrix, simulate_walk
from stridewatch.cli.options import default_rules
from tests.synthetic import walk


def _series(session: dict, key: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.array(session["series"]["t_s"])
    v = np.array([np.nan if x is None else x for x in session["series"][key]])
    return t, v


@pytest.fixture(scope="module")
def lean_walk():
    """Stand 12 s (calibration), walk upright-ish, then lean forward 18°, right 8°, back 9°."""
    phases = [
        Phase("stand", 12, sagittal_deg=0.0),
        Phase("walk", 120, cadence_spm=110, sagittal_deg=4.0),
        Phase("walk", 90, cadence_spm=110, sagittal_deg=18.0),
        Phase("walk", 90, cadence_spm=110, sagittal_deg=3.0, frontal_deg=8.0),
        Phase("walk", 90, cadence_spm=110, sagittal_deg=-9.0),
    ]
    mount = rotation_matrix(40, 30, -20) @ DEFAULT_MOUNT
    sim = simulate_walk(phases, mount=mount, noise_g=0.02, jitter_s=0.002, seed=11)
    return sim, analyze(sim.t_s, sim.acc, calibrate_s=(1, 11)).to_dict("lean.csv")


@pytest.mark.parametrize(
    "window, key, planted",
    [
        ((20, 125), "sagittal_deg", 4.0),
        ((140, 225), "sagittal_deg", 18.0),
        ((230, 315), "frontal_deg", 8.0),
        ((230, 315), "sagittal_deg", 3.0),
        ((320, 405), "sagittal_deg", -9.0),
        ((20, 125), "frontal_deg", 0.0),
    ],
)
def test_lean_within_2_degrees_with_calibration(lean_walk, window, key, planted):
    _, session = lean_walk
    t, v = _series(session, key)
    sel = (t > window[0]) & (t < window[1])
    assert np.nanmedian(v[sel]) == pytest.approx(planted, abs=2.0)
    assert session["lean"]["reference"] == "calibrated"


def test_lean_flags_in_the_planted_intervals_and_no_others(lean_walk):
    _, session = lean_walk
    flags = {f["rule"]: f for f in session["flags"]}
    assert set(flags) == {"forward-lean", "side-lean", "back-arch"}
    expected = {"forward-lean": (132, 222), "side-lean": (222, 312), "back-arch": (312, 402)}
    for rule, (start, end) in expected.items():
        assert flags[rule]["start_s"] == pytest.approx(start, abs=4), rule
        assert flags[rule]["end_s"] == pytest.approx(end, abs=4), rule
        assert flags[rule]["message"]
    assert flags["forward-lean"]["value"] == pytest.approx(18, abs=2)
    assert flags["forward-lean"]["threshold"] == 10.0
    assert "right" in flags["side-lean"]["message"]


@pytest.mark.parametrize("planted", [0.0, 14.0])
def test_lean_without_calibration_is_measured_from_standing_not_assumed(planted):
    # The old automatic reference assumed walking 6° forward of standing, so every walk
    # read ~6°; an upright walk and a 14° slouch must now read what was planted.
    phases = [Phase("stand", 10, sagittal_deg=0.0),
              Phase("walk", 240, cadence_spm=108, sagittal_deg=planted)]
    sim = simulate_walk(phases, mount=rotation_matrix(35, -25, 40) @ DEFAULT_MOUNT,
                        noise_g=0.02, seed=6)
    session = analyze(sim.t_s, sim.acc).to_dict("auto.csv")
    assert session["lean"]["reference"] == "standing"
    assert session["lean"]["sagittal_deg_median"] == pytest.approx(planted, abs=1.0)


@pytest.mark.parametrize("planted", [0.0, 8.0, -15.0])
def test_step_time_si_within_3_points(planted):
    sim = walk(si_pct=planted, noise_g=0.02, seed=7)
    result = analyze(sim.t_s, sim.acc)
    assert result.step_time_si_pct == pytest.approx(planted, abs=3.0)
    session = result.to_dict("si.csv")
    assert session["asymmetry"]["step_time_si_pct"] == pytest.approx(abs(planted), abs=3.0)
    if planted:
        assert session["asymmetry"]["longer_steps"] == ("left" if planted > 0 else "right")
    flagged = [f for f in session["flags"] if f["rule"] == "uneven-steps"]
    assert bool(flagged) == (abs(planted) > 10)
    assert 0.5 < session["asymmetry"]["step_regularity"] <= 1.0
    assert 0.5 < session["asymmetry"]["stride_regularity"] <= 1.0


def test_slow_pace_short_walk_and_no_break():
    slow = simulate_walk([Phase("walk", 240, cadence_spm=88)], seed=12)
    rules = {f["rule"] for f in analyze(slow.t_s, slow.acc).to_dict("s")["flags"]}
    assert rules == {"slow-pace", "short-walk"}
    brisk = simulate_walk([Phase("walk", 330, cadence_spm=112)], seed=13)
    assert analyze(brisk.t_s, brisk.acc).to_dict("b")["flags"] == []
    long_walk = simulate_walk([Phase("walk", 40 * 60, cadence_spm=112)], seed=14)
    flags = analyze(long_walk.t_s, long_walk.acc).to_dict("l")["flags"]
    assert [f["rule"] for f in flags] == ["no-break"]
    assert flags[0]["start_s"] == pytest.approx(0.3 + 30 * 60, abs=2)
    assert flags[0]["value"] == pytest.approx(40, abs=0.2)


def test_per_patient_rules_switch_off_and_change_thresholds(lean_walk):
    sim, _ = lean_walk
    rules = default_rules().with_overrides(
        '[forward-lean]\nenabled = false\n[back-arch]\nthreshold_deg = 12.0\n', "patient.toml"
    )
    session = analyze(sim.t_s, sim.acc, calibrate_s=(1, 11), rules=rules).to_dict("x")
    assert {f["rule"] for f in session["flags"]} == {"side-lean"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[forward-lean]\nthreshold = 3\n", "unknown setting"),
        ("[shoulder-shrug]\nenabled = true\n", "unknown rule [shoulder-shrug]"),
        ("[slow-pace]\nthreshold_spm = 'fast'\n", "must be a number"),
        ("[slow-pace\n", "not valid TOML"),
        ("[walking-plan]\nwalks_per_week = 2.5\n", "whole number of walks"),
        ("[walking-plan]\nstart_min = 40\n", "goal_min (30) is below start_min (40)"),
        ("[walking-plan]\nweeks = 4\n", "[walking-plan] weeks: unknown setting"),
        ("[walking-plan]\nadvance_only_when_met = 1\n", "must be true or false"),
    ],
)
def test_bad_rules_file_names_the_problem(text, expected):
    with pytest.raises(InputError, match="patient.toml") as err:
        default_rules().with_overrides(text, "patient.toml")
    assert expected in str(err.value)


def test_shipped_rule_file_matches_the_builtin_thresholds():
    from analysis.rules import builtin_rules

    shipped, builtin = default_rules(), builtin_rules()
    assert shipped.version == "stridewatch-default-2026.11"
    for rule_id, rule in builtin.rules.items():
        assert shipped.rules[rule_id].params == rule.params, rule_id
        assert shipped.rules[rule_id].enabled
        assert shipped.rules[rule_id].guideline  # the file carries the guideline wording
    # the walking plan of the shipped file is the store's default plan
    from analysis.rules import WalkingPlan

    assert shipped.plan == WalkingPlan() == builtin.plan
