"""Hand-made cases for the benchmark scoring (benchmarks/scoring.py)."""

import math

import numpy as np
import pytest

from benchmarks.scoring import (
    Bout,
    Detections,
    cadence_from_ics,
    match_events,
    normalize_side,
    score_bouts,
    score_initial_contacts,
    summarize_bouts,
)

# One bout of 9 steps, 0.5 s apart (120 steps/min), from 10.0 s to 14.0 s.
REF = np.arange(9) * 0.5 + 10.0
SIDES = ["L", "R"] * 4 + ["L"]
BOUTS = [Bout(10.0, 14.0, cadence_spm=120.0)]


def test_perfect():
    s = score_initial_contacts(REF, REF.copy(), BOUTS, ref_sides=SIDES, det_sides=SIDES)
    assert (s.tp, s.fp, s.fn, s.ignored) == (9, 0, 0, 0)
    assert s.precision == s.recall == s.f1 == 1.0
    assert s.side_agreement == 1.0
    assert s.mean_abs_dt_s == 0.0


def test_one_miss():
    det = np.delete(REF, 4)
    s = score_initial_contacts(REF, det, BOUTS)
    assert (s.tp, s.fp, s.fn) == (8, 0, 1)
    assert s.precision == 1.0
    assert s.recall == pytest.approx(8 / 9)
    assert s.f1 == pytest.approx(16 / 17)


def test_one_extra():
    det = np.sort(np.r_[REF, 12.25])  # halfway between two steps: cannot match twice
    s = score_initial_contacts(REF, det, BOUTS)
    assert (s.tp, s.fp, s.fn) == (9, 1, 0)
    assert s.precision == pytest.approx(0.9)
    assert s.recall == 1.0


def test_shifted_beyond_tolerance():
    ref = [10.0, 11.0, 12.0]
    s = score_initial_contacts(ref, np.add(ref, 0.3), [Bout(10.0, 12.0)])
    assert (s.tp, s.fp, s.fn, s.ignored) == (0, 2, 3, 1)  # 12.3 is beyond bout + 0.25 s
    assert s.f1 == 0.0
    # With 0.5 s steps, 0.3 s late is 0.2 s early for the next step: the tolerance
    # cannot tell, so all but the last detection match the following reference IC.
    s = score_initial_contacts(REF, REF + 0.3, BOUTS)
    assert (s.tp, s.fp, s.fn) == (8, 0, 1)


def test_shift_within_tolerance_matches():
    s = score_initial_contacts(REF, REF + 0.2, BOUTS)
    assert (s.tp, s.fp, s.fn) == (9, 0, 0)
    assert s.mean_abs_dt_s == pytest.approx(0.2)


def test_detections_outside_bouts_are_ignored():
    outside = np.array([2.0, 3.1, 30.0, 14.3])  # 14.3 is > 0.25 s after the bout end
    det = np.sort(np.r_[REF, outside])
    s = score_initial_contacts(REF, det, BOUTS)
    assert (s.tp, s.fp, s.fn, s.ignored) == (9, 0, 0, 4)
    assert s.f1 == 1.0
    assert s.f1_counting_outside == pytest.approx(18 / 22)


def test_unmatched_detection_just_outside_bout_edge_is_scored():
    # Within the tolerance margin around the bout, an unmatched detection is an FP.
    det = np.r_[9.8, REF]  # 0.2 s before the first step, which is matched exactly
    s = score_initial_contacts(REF, det, BOUTS)
    assert (s.tp, s.fp, s.ignored) == (9, 1, 0)


def test_matching_is_one_to_one_and_maximal():
    # Greedy nearest-first would pair 1.0-1.1 (0.1 s) and leave 1.3 and 0.8 (0.5 s
    # apart) unmatched; the maximum matching finds two pairs.
    ref = [1.0, 1.3]
    det = [1.1, 0.8]
    pairs = match_events(ref, det, tol_s=0.25)
    assert pairs == [(0, 1), (1, 0)]
    # One reference IC cannot take two detections.
    assert match_events([1.0], [0.9, 1.1], 0.25) in ([(0, 0)], [(0, 1)])
    assert match_events([], [1.0]) == []


def test_side_agreement_counts_only_known_sides():
    det_sides = list(SIDES)
    det_sides[0] = "R"  # wrong
    det_sides[1] = None  # unknown
    s = score_initial_contacts(REF, REF, BOUTS, ref_sides=SIDES, det_sides=det_sides)
    assert s.side_total == 8
    assert s.side_agree == 7


def test_scores_add_up():
    a = score_initial_contacts(REF, REF, BOUTS)
    b = score_initial_contacts(REF, np.delete(REF, 0), BOUTS)
    total = a + b
    assert (total.tp, total.fn) == (17, 1)


def test_empty_inputs():
    s = score_initial_contacts([], [], [])
    assert math.isnan(s.f1)
    s = score_initial_contacts(REF, [], BOUTS)
    assert (s.tp, s.fn) == (0, 9)
    assert s.f1 == 0.0


def test_normalize_side():
    assert normalize_side("left") == "L"
    assert normalize_side("R") == "R"
    assert normalize_side(" right") == "R"
    assert normalize_side(None) is None
    assert normalize_side("x") is None


def test_cadence_from_ics():
    assert cadence_from_ics(REF) == pytest.approx(120.0)
    assert cadence_from_ics([1.0]) is None


def test_bout_scores_from_ics_and_from_tool_bouts():
    # Detector without own bouts: cadence from its ICs; one step missing in the middle
    # does not change the span, so cadence is 7 steps in 4 s.
    det = Detections(np.delete(REF, 4))
    (b,) = score_bouts(REF, BOUTS, det)
    assert (b.ref_steps, b.det_steps, b.step_error) == (9, 8, -1)
    assert b.det_cadence_spm == pytest.approx(105.0)
    assert b.cadence_error_spm == pytest.approx(-15.0)
    # Tool with its own bouts: overlap-weighted mean of their cadences.
    det = Detections(REF, bouts=[Bout(9.0, 12.0, 100.0), Bout(12.0, 15.0, 130.0), Bout(20, 30, 1)])
    (b,) = score_bouts(REF, BOUTS, det)
    assert b.det_cadence_spm == pytest.approx(115.0)
    # Tool bouts that miss the reference bout: no estimate.
    det = Detections(REF, bouts=[Bout(20.0, 30.0, 100.0)])
    (b,) = score_bouts(REF, BOUTS, det)
    assert b.det_cadence_spm is None and b.cadence_error_spm is None
    summary = summarize_bouts([b])
    assert summary.n_cadence == 0 and summary.step_error_pct == 0.0


def test_reference_cadence_falls_back_to_ics():
    (b,) = score_bouts(REF, [Bout(10.0, 14.0)], Detections(REF))
    assert b.ref_cadence_spm == pytest.approx(120.0)
    assert b.cadence_error_spm == pytest.approx(0.0)
