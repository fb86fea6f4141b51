"""Steps, sides, cadence and orientation against synthetic truth."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.pipeline import analyze
from tests.synthetic import MOUNTS, matched_fraction, truth_contacts, walk


def test_clean_walk_step_count_within_1_percent_and_timed():
    sim = walk()
    result = analyze(sim.t_s, sim.acc, acc_units="g")
    truth_t, _ = truth_contacts(sim)
    assert abs(len(result.ic_t_s) - len(truth_t)) <= 0.01 * len(truth_t)
    assert matched_fraction(result.ic_t_s, truth_t, tol_s=0.05) > 0.99
    assert len(result.bouts) == 1
    bout = result.bouts[0]
    assert bout.start_s == pytest.approx(truth_t[0], abs=0.1)
    assert bout.end_s == pytest.approx(truth_t[-1], abs=0.1)


@pytest.mark.parametrize("mount", sorted(MOUNTS))
def test_noisy_jittered_rotated_walk_within_3_percent(mount):
    sim = walk(mount=mount, noise_g=0.02, jitter_s=0.003, seed=3)
    result = analyze(sim.t_s, sim.acc)
    truth_t, truth_sides = truth_contacts(sim)
    assert abs(len(result.ic_t_s) - len(truth_t)) <= 0.03 * len(truth_t)
    assert matched_fraction(result.ic_t_s, truth_t, tol_s=0.1) > 0.97
    # Sides: the sensor frame is rotated, so this also checks the body axes.
    nearest = np.abs(result.ic_t_s[:, None] - truth_t[None, :]).argmin(axis=1)
    agree = np.mean(result.sides == truth_sides[nearest])
    assert agree > 0.95, f"side agreement {agree:.2f} with mount {mount}"


@pytest.mark.parametrize("mount", sorted(MOUNTS))
def test_body_axes_found_for_any_mounting(mount):
    from analysis.simulate import DEFAULT_MOUNT, rotation_matrix

    sim = walk(mount=mount, noise_g=0.02, seed=1)
    result = analyze(sim.t_s, sim.acc, acc_units="g")
    rotation = rotation_matrix(*MOUNTS[mount]) @ DEFAULT_MOUNT  # sensor = R @ body
    forward_true, right_true, up_true = rotation[:, 0], rotation[:, 1], rotation[:, 2]
    axes = result.axes
    # Up is tilted by the 6° walking lean; forward and right must be within ~10°.
    assert axes.up @ up_true > np.cos(np.radians(10))
    assert axes.forward @ forward_true > np.cos(np.radians(10))
    assert axes.right @ right_true > np.cos(np.radians(10))


def test_cadence_matches_planted():
    sim = walk(noise_g=0.02, seed=5)
    result = analyze(sim.t_s, sim.acc, acc_units="g")
    assert result.cadence_spm == pytest.approx(108.0, abs=1.5)
    assert result.bout_cadence_spm[0] == pytest.approx(108.0, abs=1.5)
    session = result.to_dict("x")
    series = np.array([np.nan if v is None else v for v in session["series"]["cadence_spm"]])
    t = np.array(session["series"]["t_s"])
    steady = series[(t > 30) & (t < 360)]
    assert np.all(np.abs(steady - 108.0) < 4.0)
    assert np.all(np.isnan(series[t < 8]))  # standing: not walking, no cadence


def test_gap_splits_analysis_and_is_not_interpolated():
    sim = walk(gap=True, seed=2)
    result = analyze(sim.t_s, sim.acc, acc_units="g")
    assert len(result.segments) == 2
    assert result.segments[0][1] == pytest.approx(150.0, abs=0.02)
    assert result.segments[1][0] == pytest.approx(152.0, abs=0.02)
    assert not np.any((result.ic_t_s > 150.0) & (result.ic_t_s < 152.0))
    assert len(result.bouts) == 2
    truth_t, _ = truth_contacts(sim)
    assert abs(len(result.ic_t_s) - len(truth_t)) <= 0.01 * len(truth_t) + 2


def test_units_detected_and_m_s2_equivalent():
    sim = walk(seed=4)
    in_g = analyze(sim.t_s, sim.acc)
    in_si = analyze(sim.t_s, sim.acc * 9.80665)
    assert in_g.acc_units == "g" and in_si.acc_units == "m/s2"
    np.testing.assert_allclose(in_g.ic_t_s, in_si.ic_t_s)


def test_standing_only_has_no_steps():
    from analysis.simulate import Phase, simulate_walk

    sim = simulate_walk([Phase("stand", 120, sagittal_deg=0.0)], noise_g=0.02, seed=9)
    result = analyze(sim.t_s, sim.acc)
    assert len(result.ic_t_s) == 0
    assert result.bouts == []
    session = result.to_dict("standing.csv")
    assert session["cadence_spm"] is None
    assert [f["rule"] for f in session["flags"]] == ["short-walk"]


def test_bout_cadence_is_the_median_stride_rate_despite_hesitant_ends_and_a_missed_contact():
    from analysis.cadence import cadence_spm

    steady = 2.0 + np.arange(20) * 0.5  # 120 steps/min
    start = np.array([0.0, 0.9, 1.4])  # hesitant first steps
    contacts = np.r_[start, steady, steady[-1] + np.array([0.8, 1.9])]  # and stopping
    contacts = np.delete(contacts, 12)  # one contact missed mid-walk
    assert cadence_spm(contacts) == pytest.approx(120.0)
    assert np.isnan(cadence_spm(contacts[:2]))
