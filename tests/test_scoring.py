"""Hand-made cases for the benchmark scoring (benchmarks/scoring.py)."""

import math

import numpy as np
import pytest

from benchmarks.scoring import (
    Bout,
    Detections,
    IcScore,
    ReferenceGap,
    cadence_from_ics,
    match_events,
    normalize_side,
    reference_gaps,
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


# Secondary rule: reference gaps. Steps 0.5 s apart, alternating, except that the
# L contact at 11.0 s is missing from the reference: 10.5 R and 11.5 R are consecutive.
GAP_REF = [10.0, 10.5, 11.5, 12.0, 12.5]
GAP_SIDES = ["L", "R", "R", "L", "R"]
GAP_BOUTS = [Bout(10.0, 12.5)]


def test_reference_gaps_only_same_side_consecutive_in_one_bout():
    assert reference_gaps(GAP_REF, GAP_SIDES, GAP_BOUTS) == [ReferenceGap(10.5, 11.5, "R")]
    # Alternating sides: no gap.
    assert reference_gaps(REF, SIDES, BOUTS) == []
    # Side labels are normalised and the input order does not matter.
    assert reference_gaps([11.5, 10.0], ["right", "R"], [Bout(10.0, 11.5)]) == [
        ReferenceGap(10.0, 11.5, "R")
    ]


def test_reference_gaps_not_across_bouts():
    # Same sides, but 10.5 ends one bout and 11.5 starts the next.
    assert reference_gaps(GAP_REF, GAP_SIDES, [Bout(10.0, 10.5), Bout(11.5, 12.5)]) == []
    # Only the first contact of the pair is in a bout.
    assert reference_gaps(GAP_REF, GAP_SIDES, [Bout(10.0, 11.0)]) == []
    assert reference_gaps(GAP_REF, GAP_SIDES, []) == []


def test_reference_gaps_need_known_sides():
    sides = list(GAP_SIDES)
    sides[2] = None
    assert reference_gaps(GAP_REF, sides, GAP_BOUTS) == []
    sides[2] = "x"
    assert reference_gaps(GAP_REF, sides, GAP_BOUTS) == []
    # Two consecutive unknown sides are not "the same side".
    assert reference_gaps([10.0, 10.5], [None, "?"], [Bout(10.0, 10.5)]) == []
    with pytest.raises(ValueError):
        reference_gaps(GAP_REF, GAP_SIDES[:-1], GAP_BOUTS)


def test_unmatched_detection_in_gap_is_counted_but_stays_fp():
    det = np.sort(np.r_[GAP_REF, 11.0])  # the omitted step, 0.5 s from both neighbours
    s = score_initial_contacts(GAP_REF, det, GAP_BOUTS, ref_sides=GAP_SIDES)
    assert (s.tp, s.fp, s.fn, s.in_reference_gap) == (5, 1, 0, 1)
    assert s.f1 == pytest.approx(10 / 11)  # primary figure unchanged
    assert s.precision_excluding_reference_gaps == 1.0
    assert s.f1_excluding_reference_gaps == 1.0
    # Without reference sides there is nothing to count.
    s = score_initial_contacts(GAP_REF, det, GAP_BOUTS)
    assert (s.fp, s.in_reference_gap) == (1, 0)
    assert s.f1_excluding_reference_gaps == s.f1


def test_gap_detection_within_tol_of_a_bounding_contact_is_not_counted():
    # Gap 10.5-11.5 shrunk by 0.25 s: only (10.75, 11.25) counts, bounds excluded.
    # The bounding contacts are detected exactly, so each extra detection is an FP.
    for extra_s, counted in [(10.7, 0), (10.75, 0), (10.8, 1), (11.2, 1), (11.25, 0), (11.3, 0)]:
        det = np.sort(np.r_[GAP_REF, extra_s])
        s = score_initial_contacts(GAP_REF, det, GAP_BOUTS, ref_sides=GAP_SIDES)
        assert (s.tp, s.fp) == (5, 1), extra_s
        assert s.in_reference_gap == counted, extra_s


def test_matched_detection_in_gap_is_never_counted():
    # Bounding contacts detected 0.2 s late / early: matched, inside the gap, not counted.
    # Only the unmatched 11.0 s detection is. (A matched detection is within tol_s of a
    # reference contact and none lies inside a gap, so it never reaches the shrunk gap.)
    det = [10.0, 10.7, 11.0, 11.3, 12.0, 12.5]
    s = score_initial_contacts(GAP_REF, det, GAP_BOUTS, ref_sides=GAP_SIDES)
    assert (s.tp, s.fp, s.in_reference_gap) == (5, 1, 1)


def test_gap_count_adds_up():
    det = np.sort(np.r_[GAP_REF, 11.0])
    a = score_initial_contacts(GAP_REF, det, GAP_BOUTS, ref_sides=GAP_SIDES)
    total = a + a + IcScore(fn=3)
    assert (total.tp, total.fp, total.fn, total.in_reference_gap) == (10, 2, 3, 2)
    assert total.f1_excluding_reference_gaps == pytest.approx(20 / 23)
