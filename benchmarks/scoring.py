"""Scoring of step (initial-contact) detection against a reference system.

Shared by the benchmark scripts in this folder (``peers.py``, ``mobgap_accuracy.py``).
Pure numpy/scipy, no I/O, so it can be unit tested on hand-made cases.

Rules (the same for every tool that is scored):

- A detected initial contact (IC) and a reference IC *match* when they are at most
  ``tol_s`` apart (0.25 s by default). Matching is one-to-one: the pairing with the
  largest number of matches is chosen, and among those the one with the smallest
  total time difference (Hungarian assignment per independent cluster of events).
- The reference only covers its walking bouts. A detection is *scored* only when it
  lies inside a reference bout widened by ``tol_s`` on both sides (a reference bout
  starts and ends on a reference IC, so a correct detection may fall just outside
  it). Unmatched detections elsewhere count neither as right nor as wrong.
  Matched detections are always true positives.
- Every reference IC that is not matched is a false negative.
- Step-count error per reference bout: scored detections in the widened bout minus
  reference ICs in the bout.
- Cadence error per reference bout (steps/min): the tool's own bout cadence when it
  reports bouts (mean over the detected bouts, weighted by their overlap with the
  reference bout), otherwise the cadence implied by the detections in the bout.
- Left/right agreement: share of matched pairs where both sides are known and equal.

Secondary rule (reported next to the primary figures, never instead of them; it is
not the acceptance rule of the issue):

- In walking the feet alternate, so two *consecutive* reference ICs on the same
  known side inside one reference bout mean that the reference omitted the other
  foot's contact between them. Such an interval is a *reference gap*
  (``reference_gaps``). An unmatched, scored detection (a false positive under the
  primary rule) that lies strictly more than ``tol_s`` from both bounding reference
  ICs is most likely that omitted step; ``IcScore.in_reference_gap`` counts them and
  ``precision_excluding_reference_gaps`` / ``f1_excluding_reference_gaps`` leave them
  unscored. ``fp`` and all primary figures are unchanged by this count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

DEFAULT_TOL_S = 0.25


@dataclass(frozen=True)
class Bout:
    """A walking bout in seconds; ``cadence_spm`` is optional (None = unknown)."""

    start_s: float
    end_s: float
    cadence_spm: float | None = None


@dataclass
class Detections:
    """What a tool reports for one recording, in a tool-neutral form.

    ``sides`` holds "L", "R" or None per IC (may be empty = no sides reported).
    ``bouts`` are the tool's own walking bouts (may be empty).
    """

    ic_s: np.ndarray
    sides: list[str | None] = field(default_factory=list)
    bouts: list[Bout] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ic_s = np.asarray(self.ic_s, dtype=float).reshape(-1)
        if self.sides and len(self.sides) != self.ic_s.size:
            raise ValueError("sides must be empty or have one entry per IC")


def normalize_side(label: object) -> str | None:
    """Map 'left'/'L'/'l'/'right'/'R'... to 'L' or 'R'; anything else to None."""
    if not isinstance(label, str) or not label:
        return None
    first = label.strip()[:1].upper()
    return first if first in ("L", "R") else None


def match_events(
    ref_s: Sequence[float] | np.ndarray,
    det_s: Sequence[float] | np.ndarray,
    tol_s: float = DEFAULT_TOL_S,
) -> list[tuple[int, int]]:
    """One-to-one matching of two event lists (seconds).

    Returns (ref_index, det_index) pairs with ``|ref - det| <= tol_s``: the largest
    possible number of pairs and, among those, the smallest total distance.
    The events are split into clusters that cannot interact (consecutive events more
    than ``tol_s`` apart) and each cluster is solved with the Hungarian algorithm, so
    long recordings stay cheap.
    """
    ref = np.asarray(ref_s, dtype=float).reshape(-1)
    det = np.asarray(det_s, dtype=float).reshape(-1)
    if ref.size == 0 or det.size == 0:
        return []
    times = np.concatenate([ref, det])
    is_det = np.concatenate([np.zeros(ref.size, bool), np.ones(det.size, bool)])
    index = np.concatenate([np.arange(ref.size), np.arange(det.size)])
    order = np.argsort(times, kind="stable")
    times, is_det, index = times[order], is_det[order], index[order]
    breaks = np.flatnonzero(np.diff(times) > tol_s) + 1
    pairs: list[tuple[int, int]] = []
    for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, times.size], strict=True):
        d_sel = is_det[lo:hi]
        r_idx = index[lo:hi][~d_sel]
        d_idx = index[lo:hi][d_sel]
        if r_idx.size == 0 or d_idx.size == 0:
            continue
        dist = np.abs(ref[r_idx][:, None] - det[d_idx][None, :])
        allowed = dist <= tol_s + 1e-9
        # A forbidden pair costs more than all allowed pairs together: the optimum
        # therefore uses as few forbidden pairs as possible (= most real matches).
        forbidden_cost = tol_s * (min(dist.shape) + 1) + 1.0
        cost = np.where(allowed, dist, forbidden_cost)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            if allowed[r, c]:
                pairs.append((int(r_idx[r]), int(d_idx[c])))
    pairs.sort()
    return pairs


@dataclass(frozen=True)
class ReferenceGap:
    """Interval between two consecutive same-side reference ICs in one reference bout."""

    start_s: float
    end_s: float
    side: str  # "L" or "R": the side of both bounding contacts


def reference_gaps(
    ref_s: Sequence[float] | np.ndarray,
    ref_sides: Sequence[str | None],
    ref_bouts: Sequence[Bout],
) -> list[ReferenceGap]:
    """Intervals where the reference omits a contact (secondary rule, see module doc).

    Returns one gap per pair of consecutive reference ICs (in time order) that have the
    same known side ("L"/"R" after ``normalize_side``) and both lie in the same
    reference bout (bounds included). Pairs with an unknown side are skipped.
    """
    ref = np.asarray(ref_s, dtype=float).reshape(-1)
    if len(ref_sides) != ref.size:
        raise ValueError("ref_sides must have one entry per reference IC")
    order = np.argsort(ref, kind="stable")
    times = ref[order]
    sides = [normalize_side(ref_sides[i]) for i in order]
    gaps = []
    for k in range(times.size - 1):
        t0_s, t1_s = float(times[k]), float(times[k + 1])
        side = sides[k]
        if side is None or side != sides[k + 1]:
            continue
        if any(b.start_s <= t0_s and t1_s <= b.end_s for b in ref_bouts):
            gaps.append(ReferenceGap(t0_s, t1_s, side))
    return gaps


def in_bouts(t_s: np.ndarray, bouts: Iterable[Bout], pad_s: float = 0.0) -> np.ndarray:
    """Boolean mask: which times lie in any bout widened by ``pad_s`` on both sides."""
    t = np.asarray(t_s, dtype=float).reshape(-1)
    mask = np.zeros(t.size, dtype=bool)
    for b in bouts:
        mask |= (t >= b.start_s - pad_s) & (t <= b.end_s + pad_s)
    return mask


@dataclass
class IcScore:
    """Counts for IC detection; add scores of several recordings with ``+``."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    ignored: int = 0  # unmatched detections outside the reference bouts
    side_agree: int = 0
    side_total: int = 0  # matched pairs where both sides are known
    abs_dt_sum_s: float = 0.0  # sum of |det - ref| over matched pairs
    # Secondary rule: false positives (already in ``fp``) that lie in a reference gap,
    # more than tol_s from both bounding reference ICs. Needs the reference sides.
    in_reference_gap: int = 0

    def __add__(self, other: IcScore) -> IcScore:
        return IcScore(
            tp=self.tp + other.tp,
            fp=self.fp + other.fp,
            fn=self.fn + other.fn,
            ignored=self.ignored + other.ignored,
            side_agree=self.side_agree + other.side_agree,
            side_total=self.side_total + other.side_total,
            abs_dt_sum_s=self.abs_dt_sum_s + other.abs_dt_sum_s,
            in_reference_gap=self.in_reference_gap + other.in_reference_gap,
        )

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else float("nan")

    @property
    def f1_counting_outside(self) -> float:
        """F1 if unmatched detections outside the reference bouts were false positives.

        Not the benchmark's rule (the reference does not cover those times); shown
        only to compare with evaluations that score whole recordings.
        """
        denom = 2 * self.tp + self.fp + self.ignored + self.fn
        return 2 * self.tp / denom if denom else float("nan")

    @property
    def fp_excluding_reference_gaps(self) -> int:
        """False positives that do not lie in a reference gap (secondary rule)."""
        return self.fp - self.in_reference_gap

    @property
    def precision_excluding_reference_gaps(self) -> float:
        """Precision with detections in reference gaps left unscored (secondary rule).

        Not the benchmark's rule: see the module doc. Recall is the same as ``recall``.
        """
        fp = self.fp_excluding_reference_gaps
        return self.tp / (self.tp + fp) if self.tp + fp else float("nan")

    @property
    def f1_excluding_reference_gaps(self) -> float:
        """F1 with detections in reference gaps left unscored (secondary rule)."""
        denom = 2 * self.tp + self.fp_excluding_reference_gaps + self.fn
        return 2 * self.tp / denom if denom else float("nan")

    @property
    def side_agreement(self) -> float:
        return self.side_agree / self.side_total if self.side_total else float("nan")

    @property
    def mean_abs_dt_s(self) -> float:
        return self.abs_dt_sum_s / self.tp if self.tp else float("nan")


def score_initial_contacts(
    ref_s: Sequence[float] | np.ndarray,
    det_s: Sequence[float] | np.ndarray,
    ref_bouts: Sequence[Bout],
    *,
    ref_sides: Sequence[str | None] | None = None,
    det_sides: Sequence[str | None] | None = None,
    tol_s: float = DEFAULT_TOL_S,
) -> IcScore:
    """Precision/recall counts of detected ICs against reference ICs (see module doc).

    With ``ref_sides`` the secondary count ``in_reference_gap`` is filled as well.
    """
    ref = np.asarray(ref_s, dtype=float).reshape(-1)
    det = np.asarray(det_s, dtype=float).reshape(-1)
    pairs = match_events(ref, det, tol_s)
    matched_det = np.zeros(det.size, dtype=bool)
    score = IcScore(tp=len(pairs), fn=ref.size - len(pairs))
    for r, d in pairs:
        matched_det[d] = True
        score.abs_dt_sum_s += abs(float(det[d] - ref[r]))
        if ref_sides is not None and det_sides is not None and len(det_sides):
            rs, ds = normalize_side(ref_sides[r]), normalize_side(det_sides[d])
            if rs is not None and ds is not None:
                score.side_total += 1
                score.side_agree += int(rs == ds)
    unmatched = ~matched_det
    scored = in_bouts(det, ref_bouts, pad_s=tol_s)
    score.fp = int(np.count_nonzero(unmatched & scored))
    score.ignored = int(np.count_nonzero(unmatched & ~scored))
    if ref_sides is not None:
        in_gap = np.zeros(det.size, dtype=bool)
        for gap in reference_gaps(ref, ref_sides, ref_bouts):
            in_gap |= (det > gap.start_s + tol_s) & (det < gap.end_s - tol_s)
        score.in_reference_gap = int(np.count_nonzero(unmatched & scored & in_gap))
    return score


def cadence_from_ics(ic_s: Sequence[float] | np.ndarray) -> float | None:
    """Steps per minute implied by a run of consecutive ICs (None if < 2 ICs)."""
    t = np.sort(np.asarray(ic_s, dtype=float).reshape(-1))
    if t.size < 2 or t[-1] <= t[0]:
        return None
    return 60.0 * (t.size - 1) / float(t[-1] - t[0])


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def bout_cadence_estimate(
    ref_bout: Bout, det: Detections, tol_s: float = DEFAULT_TOL_S
) -> float | None:
    """The tool's cadence for one reference bout (see module doc); None if it has none."""
    with_cad = [b for b in det.bouts if b.cadence_spm is not None and np.isfinite(b.cadence_spm)]
    if with_cad:
        weights = [_overlap(ref_bout.start_s, ref_bout.end_s, b.start_s, b.end_s) for b in with_cad]
        total = sum(weights)
        if total <= 0:
            return None
        return float(sum(w * b.cadence_spm for w, b in zip(weights, with_cad, strict=True)) / total)
    inside = det.ic_s[in_bouts(det.ic_s, [ref_bout], pad_s=tol_s)]
    return cadence_from_ics(inside)


def reference_bout_cadence(bout: Bout, ref_s: np.ndarray) -> float | None:
    """The reference's own cadence for a bout, or the one implied by its ICs."""
    if bout.cadence_spm is not None:
        return float(bout.cadence_spm)
    return cadence_from_ics(ref_s[in_bouts(ref_s, [bout])])


@dataclass
class BoutScore:
    """Per reference bout: step counts and cadences (cadence None = not estimated)."""

    start_s: float
    end_s: float
    ref_steps: int
    det_steps: int
    ref_cadence_spm: float | None
    det_cadence_spm: float | None

    @property
    def step_error(self) -> int:
        return self.det_steps - self.ref_steps

    @property
    def cadence_error_spm(self) -> float | None:
        if self.ref_cadence_spm is None or self.det_cadence_spm is None:
            return None
        return self.det_cadence_spm - self.ref_cadence_spm


def score_bouts(
    ref_s: Sequence[float] | np.ndarray,
    ref_bouts: Sequence[Bout],
    det: Detections,
    tol_s: float = DEFAULT_TOL_S,
) -> list[BoutScore]:
    """Step count and cadence per reference bout (see module doc)."""
    ref = np.asarray(ref_s, dtype=float).reshape(-1)
    out = []
    for b in ref_bouts:
        out.append(
            BoutScore(
                start_s=b.start_s,
                end_s=b.end_s,
                ref_steps=int(np.count_nonzero(in_bouts(ref, [b]))),
                det_steps=int(np.count_nonzero(in_bouts(det.ic_s, [b], pad_s=tol_s))),
                ref_cadence_spm=reference_bout_cadence(b, ref),
                det_cadence_spm=bout_cadence_estimate(b, det, tol_s),
            )
        )
    return out


@dataclass
class BoutSummary:
    n_bouts: int
    ref_steps: int
    det_steps: int
    step_abs_error_mean: float
    n_cadence: int  # bouts where the tool gave a cadence
    cadence_abs_error_median: float
    cadence_abs_error_mean: float

    @property
    def step_error_pct(self) -> float:
        if not self.ref_steps:
            return float("nan")
        return 100.0 * (self.det_steps - self.ref_steps) / self.ref_steps


def summarize_bouts(bouts: Sequence[BoutScore]) -> BoutSummary:
    """Aggregate per-bout results (of one or many recordings)."""
    step_err = np.array([abs(b.step_error) for b in bouts], dtype=float)
    cad_err = np.array(
        [abs(e) for b in bouts if (e := b.cadence_error_spm) is not None], dtype=float
    )
    nan = float("nan")
    return BoutSummary(
        n_bouts=len(bouts),
        ref_steps=sum(b.ref_steps for b in bouts),
        det_steps=sum(b.det_steps for b in bouts),
        step_abs_error_mean=float(step_err.mean()) if step_err.size else nan,
        n_cadence=int(cad_err.size),
        cadence_abs_error_median=float(np.median(cad_err)) if cad_err.size else nan,
        cadence_abs_error_mean=float(cad_err.mean()) if cad_err.size else nan,
    )
