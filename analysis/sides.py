"""Left/right label of each initial contact, with a confidence per bout.

Two cues give, per contact, evidence for "left" (positive) or "right":

- mediolateral acceleration: the trunk sways over the stance leg like a
  pendulum, so in the half step after contact (``analysis.extraction``
  averages 0.15–0.45 s) its stride-band acceleration points away from the new
  stance side;
- with a gyroscope, the yaw rate (angular rate about the wearer's up axis,
  band 0.3–1.5 Hz) just before the contact (mean over ``YAW_WINDOW_S``): the
  pelvis turns away from the leg that swings forward (McCamley 2012, used by
  mobgap's laterality stage), so the rate is negative before a left contact.
  It needs only the up axis (gravity), not the forward sign; on the shared
  stroke walks its sign is right on 0.9–1.0 of the contacts, where the value
  exactly at contact is not (its phase moves with the gait).

Neither cue decides a contact alone. A bout's labels are one alternating
sequence: the labels are the most likely L/R sequence (Viterbi) given every
contact's evidence, where alternating costs nothing and not alternating
costs ``BREAK_COST`` (several contacts' worth of contrary evidence) after an
ordinary step, and nothing after a step far longer (a missed contact) or far
shorter (an extra detection) than the bout's median step. So the phase of a
bout is chosen from all its steps together and does not flip on one odd
contact. The confidence of a bout is how much of the evidence agrees with its
labels beyond what the same evidence in a shuffled order (no alternation left
in it, seeded) reaches: 0 = no better than chance, 1 = all evidence agrees;
times a penalty for breaks of alternation after ordinary steps (the stride-band
sway filter turns plain noise into a drifting pseudo-alternation, which the
sequence can only follow by breaking often: at ``MAX_BREAK_RATE`` breaks per
step the confidence is 0). Below ``MIN_NAMING_CONFIDENCE`` the side is not named to the wearer.

Tuned on the shared stroke walks with leave-one-participant-out
(benchmarks/asymmetry.py): ``ML_WEIGHT`` and ``BREAK_COST``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.bouts import Bout
from analysis.filters import bandpass
from analysis.medians import median_1d
from analysis.orientation import BodyAxes

YAW_BAND_HZ = (0.3, 1.5)
YAW_WINDOW_S = 0.2
ML_WEIGHT = 0.5  # relative to the yaw cue (weight 1) when a gyroscope is present
BREAK_COST = 2.0
EVIDENCE_CLIP = 3.0  # one contact's evidence counts at most this many typical contacts
LONG_STEP_RATIO = 1.7  # a step this much longer than the bout's median: a missed contact
SHORT_STEP_RATIO = 0.6  # this much shorter: an extra detection
MIN_NAMING_CONFIDENCE = 0.3
MAX_BREAK_RATE = 0.05
NULL_SHUFFLES = 3
NULL_MAX_CONTACTS = 1000
NULL_SEED = 17


@dataclass(frozen=True)
class SideLabels:
    """``labels`` "L"/"R"/"?" per contact; ``bout_confidence`` in [0, 1] per bout;
    ``cues`` names the evidence used ("mediolateral", "mediolateral+yaw")."""

    labels: np.ndarray
    bout_confidence: np.ndarray
    cues: str

    def confidence(self, bouts: list[Bout]) -> float:
        """Step-weighted confidence over ``bouts`` (NaN without bouts)."""
        steps = np.array([b.steps for b in bouts], dtype=float)
        if not len(steps) or steps.sum() == 0:
            return float("nan")
        return float(np.sum(self.bout_confidence * steps) / steps.sum())


def yaw_before_contacts(
    gyro_dps: np.ndarray, up: np.ndarray, contacts: np.ndarray, fs_hz: float
) -> np.ndarray:
    """Mean yaw rate (deg/s, about ``up``) over ``YAW_WINDOW_S`` before each contact.

    ``gyro_dps`` (n,3) uniform samples in the sensor frame; ``up`` (n,3) or (3,)
    unit up vectors in the same frame; ``contacts`` sample indices. NaN for a
    contact without a full window.
    """
    up = np.broadcast_to(up, gyro_dps.shape)
    yaw = bandpass(np.einsum("ij,ij->i", gyro_dps, up), fs_hz, *YAW_BAND_HZ)
    width = max(1, int(round(YAW_WINDOW_S * fs_hz)))
    cs = np.r_[0.0, np.cumsum(yaw)]
    lo = contacts - width
    out = np.full(len(contacts), np.nan)
    ok = (lo >= 0) & (contacts <= len(yaw))
    out[ok] = (cs[contacts[ok]] - cs[lo[ok]]) / width
    return out


def label_sides(
    ic_t_s: np.ndarray,
    side_vec_g: np.ndarray,
    axes: BodyAxes,
    bouts: list[Bout],
    yaw_before_dps: np.ndarray | None = None,
    *,
    with_confidence: bool = True,
) -> SideLabels:
    """Labels and per-bout confidence for contacts ``ic_t_s`` grouped in ``bouts``.

    ``side_vec_g`` (n,3): stride-band acceleration just after each contact in
    the sensor frame (g); projected on the wearer's right axis it is positive
    after a left contact. ``yaw_before_dps`` (n,) from ``yaw_before_contacts``
    or None / NaN without a gyroscope. ``with_confidence`` False: the labels
    only (confidence 0), the same labels without the shuffled runs.
    """
    n = len(ic_t_s)
    labels = np.full(n, "?", dtype="<U1")
    confidence = np.zeros(len(bouts))
    ml = side_vec_g @ axes.right if n else np.zeros(0)
    yaw = np.full(n, np.nan) if yaw_before_dps is None else -np.asarray(yaw_before_dps)
    has_yaw = bool(n) and bool(np.isfinite(yaw).any())
    free, evidence = [], []
    for b in bouts:
        sl = slice(b.first, b.last + 1)
        e = ML_WEIGHT * _normalized(ml[sl]) if has_yaw else _normalized(ml[sl])
        if has_yaw:
            e = e + _normalized(yaw[sl])
        free.append(_free_steps(ic_t_s[sl]))
        evidence.append(e)
    shuffled_free, shuffled = [], []
    if with_confidence:
        for b, f, e in zip(bouts, free, evidence, strict=True):
            rng = np.random.default_rng(NULL_SEED)
            m = min(len(e), NULL_MAX_CONTACTS)  # a sample of the shuffled evidence suffices
            f = f if m == len(e) else _free_steps(ic_t_s[b.first : b.first + m])
            for _ in range(NULL_SHUFFLES if m > 1 else 0):
                shuffled_free.append(f)
                shuffled.append(rng.permutation(e)[:m])
    runs = [_most_likely_sequence(e, f) for e, f in zip(evidence + shuffled,
                                                         free + shuffled_free, strict=True)]
    chance_runs = iter(runs[len(bouts):])
    for k, b in enumerate(bouts):
        path, agreement, breaks = runs[k]
        labels[b.first : b.last + 1] = np.where(path == 0, "L", "R")
        if not with_confidence:
            continue
        m = min(b.steps, NULL_MAX_CONTACTS)
        chance = np.mean([next(chance_runs)[1] for _ in range(NULL_SHUFFLES)]) if m > 1 else 1.0
        steady = max(0.0, 1.0 - breaks / max(1, b.steps - 1) / MAX_BREAK_RATE)
        confidence[k] = _beyond_chance(agreement, chance) * steady
    return SideLabels(labels, confidence, "mediolateral+yaw" if has_yaw else "mediolateral")


def _beyond_chance(agreement: float, chance: float) -> float:
    """Agreement rescaled so that shuffled evidence (no real alternation; its agreement
    ``chance``) scores ~0."""
    if chance >= 1.0:
        return 0.0
    return float(np.clip((agreement - chance) / (1.0 - chance), 0.0, 1.0))


def _normalized(values: np.ndarray) -> np.ndarray:
    """Evidence in units of a typical contact's (median |value|), clipped; NaN counts 0."""
    values = np.nan_to_num(values, nan=0.0)
    scale = median_1d(np.abs(values)) if len(values) else 0.0
    if scale <= 0:
        return np.zeros(len(values))
    return np.clip(values / scale, -EVIDENCE_CLIP, EVIDENCE_CLIP)


def _free_steps(t_s: np.ndarray) -> np.ndarray:
    """Per step (interval): True where breaking the alternation costs nothing, a step far
    longer (a missed contact) or far shorter (an extra detection) than the median step."""
    intervals = np.diff(t_s)
    typical = median_1d(intervals) if len(intervals) else 1.0
    ratio = intervals / typical if typical > 0 else np.ones(len(intervals))
    return (ratio > LONG_STEP_RATIO) | (ratio < SHORT_STEP_RATIO)


def _most_likely_sequence(
    evidence: np.ndarray, free: np.ndarray
) -> tuple[np.ndarray, float, int]:
    """Viterbi over states L (0) / R (1) for one sequence: ``evidence`` per contact,
    ``free`` per step (``_free_steps``). Returns the path (0/1 per contact), the share of
    the evidence that agrees with it (0..1) and the number of breaks of alternation after
    ordinary steps.

    A state's cost after a contact is the cheaper way in (alternating: free; staying:
    ``BREAK_COST`` unless the step is free) minus half the contact's evidence for it
    (plus for R). Two states only: plain floats in the loop are far faster than tiny
    arrays, and the numpy calls are kept to a few per sequence (a day holds hundreds of
    short bouts, each run four times).
    """
    n = len(evidence)
    if n == 0:
        return np.zeros(0, dtype=np.int8), 0.0, 0
    half = (np.asarray(evidence, dtype=float) / 2).tolist()
    free_list = free.tolist()
    cost_l, cost_r = -half[0], half[0]
    stay_l = [False] * n  # the best way into L at i came from L at i-1
    stay_r = [False] * n
    for i in range(1, n):
        extra = 0.0 if free_list[i - 1] else BREAK_COST
        from_l, from_r = cost_l + extra, cost_r + extra  # not alternating
        stay_l[i] = from_l <= cost_r
        stay_r[i] = from_r <= cost_l
        new_l = from_l if stay_l[i] else cost_r
        new_r = from_r if stay_r[i] else cost_l
        cost_l, cost_r = new_l - half[i], new_r + half[i]
    state = 0 if cost_l <= cost_r else 1
    path = [0] * n
    path[-1] = state
    breaks = 0
    for i in range(n - 1, 0, -1):
        if stay_l[i] if state == 0 else stay_r[i]:
            breaks += not free_list[i - 1]
        else:
            state = 1 - state
        path[i - 1] = state
    states = np.array(path, dtype=np.int8)
    total = float(np.sum(np.abs(evidence)))
    agreement = float(np.sum(evidence * (1.0 - 2.0 * states)) / total) if total > 0 else 0.0
    return states, max(0.0, agreement), breaks
