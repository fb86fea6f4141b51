"""From samples to a flagged walking session.

``analyze`` runs the whole chain on arrays. ``SessionAnalyzer`` is the same
chain fed incrementally (the live view and trace replay use it), so a replay
and a batch analysis of the same samples give identical numbers: the
per-sample work happens once, in fixed chunks (``analysis.extraction``), and
``result()`` derives everything else from the small accumulated features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import isfinite

import numpy as np

from analysis.asymmetry import (
    regularity,
    rolling_step_time_si_pct,
    si_from_sums,
    step_groups,
    step_time_si_pct,
)
from analysis.bouts import Bout, find_bouts
from analysis.cadence import cadence_spm, rolling_cadence_spm, walking_intervals
from analysis.errors import InputError
from analysis.extraction import FeatureExtractor, GaitFeatures
from analysis.lean import LeanReference, choose_reference, lean_angles, stride_average
from analysis.orientation import (
    PRIOR_DECIDES_BELOW_CONFIDENCE,
    BodyAxes,
    WearPrior,
    apply_wear_prior,
    estimate_axes,
    parse_axes,
)
from analysis.rules import Flag, RuleInputs, RuleSet, builtin_rules, evaluate
from analysis.sides import label_sides
from analysis.timebase import UniformResampler

SCHEMA = "stridewatch.session/1"
@dataclass
class SessionResult:
    """Everything the analysis found in one recording (times on the input's clock, s)."""

    sample_rate_hz: float
    acc_units: str
    start_s: float
    end_s: float
    segments: list[tuple[float, float]]
    ic_t_s: np.ndarray
    sides: np.ndarray
    bouts: list[Bout]
    bout_cadence_spm: np.ndarray
    bout_si_pct: np.ndarray
    cadence_spm: float
    step_time_si_pct: float
    step_regularity: float
    stride_regularity: float
    axes: BodyAxes
    lean_reference: LeanReference
    second_t_s: np.ndarray
    walking: np.ndarray
    series_cadence_spm: np.ndarray
    series_sagittal_deg: np.ndarray
    series_frontal_deg: np.ndarray
    series_si_pct: np.ndarray
    flags: list[Flag]
    rules_version: str
    rules_sources: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)

    @property
    def walking_s(self) -> float:
        return float(sum(b.end_s - b.start_s for b in self.bouts))

    def to_dict(self, source: str) -> dict:
        """The ``stridewatch.session/1`` JSON object."""
        walk = self.walking
        sag, fro = self.series_sagittal_deg[walk], self.series_frontal_deg[walk]
        return {
            "schema": SCHEMA,
            "source": source,
            "sample_rate_hz": round(self.sample_rate_hz, 3),
            "acc_units_in": self.acc_units,
            "start_s": round(self.start_s, 3),
            "duration_s": round(self.end_s - self.start_s, 3),
            "walking_s": round(self.walking_s, 2),
            "steps": int(len(self.ic_t_s)),
            "initial_contacts_s": _nums(self.ic_t_s, 3),
            "sides": [str(s) for s in self.sides.tolist()],
            "bouts": [
                {
                    "start_s": round(b.start_s, 3),
                    "end_s": round(b.end_s, 3),
                    "steps": b.steps,
                    "cadence_spm": _num(c),
                    "step_time_si_pct": _num(abs(si)),
                }
                for b, c, si in zip(self.bouts, self.bout_cadence_spm, self.bout_si_pct,
                                    strict=True)
            ],
            "cadence_spm": _num(self.cadence_spm),
            "asymmetry": {
                "step_time_si_pct": _num(abs(self.step_time_si_pct)),
                "longer_steps": _longer(self.step_time_si_pct),
                "step_regularity": _num(self.step_regularity, 3),
                "stride_regularity": _num(self.stride_regularity, 3),
            },
            "lean": {
                "reference": self.lean_reference.kind,
                "reference_segment_s": (
                    None if self.lean_reference.segment_s is None
                    else [round(v, 2) for v in self.lean_reference.segment_s]),
                "posture_judged": self.lean_reference.judged,
                "sagittal_deg_median": _stat(np.nanmedian, sag),
                "frontal_deg_median": _stat(np.nanmedian, fro),
                "sagittal_deg_p95": _stat(lambda v: np.nanpercentile(v, 95), sag),
            },
            "series": {
                "t_s": _nums(self.second_t_s),
                "cadence_spm": _nums(self.series_cadence_spm),
                "sagittal_deg": _nums(self.series_sagittal_deg),
                "frontal_deg": _nums(self.series_frontal_deg),
                "step_time_si_pct": _nums(np.abs(self.series_si_pct)),
            },
            "flags": [f.as_dict() for f in self.flags],
            "axes": self.axes.as_dict(),
            "segments": [[round(a, 3), round(b, 3)] for a, b in self.segments],
            "rules_version": self.rules_version,
            "rules_sources": list(self.rules_sources),
            "warnings": list(self.warnings),
        }


def _num(value: float, digits: int = 2) -> float | None:
    value = float(value)
    return round(value, digits) if np.isfinite(value) else None


def _nums(values: np.ndarray, digits: int = 2) -> list[float | None]:
    """``_num`` over an array, on Python floats (the same rounding, without numpy scalars)."""
    return [round(v, digits) if isfinite(v) else None
            for v in np.asarray(values, dtype=np.float64).tolist()]


def _stat(fn: Callable[[np.ndarray], float], values: np.ndarray) -> float | None:
    return _num(fn(values)) if np.isfinite(values).any() else None


def _longer(si: float) -> str | None:
    if not np.isfinite(si):
        return None
    return "left" if si > 0 else "right"


class SessionAnalyzer:
    """Incremental analysis: ``feed`` samples in time order, read ``result()`` at any time.

    ``fs_hz`` is the grid rate (the device's nominal rate when known). Samples
    must already be validated and in g (``analyze`` does that for whole arrays).
    """

    def __init__(
        self,
        fs_hz: float,
        *,
        rules: RuleSet | None = None,
        calibrate_s: tuple[float, float] | None = None,
        axes: str | BodyAxes | None = None,
        acc_units: str = "g",
        stored_reference: LeanReference | None = None,
        wear_prior: WearPrior | None = None,
    ) -> None:
        self.fs_hz = float(fs_hz)
        self.rules = rules if rules is not None else builtin_rules()
        self.calibrate_s = calibrate_s
        self.stored_reference = stored_reference
        self.wear_prior = wear_prior
        self.axes_override = parse_axes(axes) if isinstance(axes, str) else axes
        self.acc_units = acc_units
        self._resampler = UniformResampler(self.fs_hz)
        self._extractor = FeatureExtractor(self.fs_hz)
        self._first_t: float | None = None
        self._last_t: float | None = None

    def feed(self, t_s: np.ndarray, acc_g: np.ndarray) -> None:
        """Add samples (t in s, acceleration (n,3) in g) in time order."""
        if len(t_s) == 0:
            return
        if self._first_t is None:
            self._first_t = float(t_s[0])
        self._last_t = float(t_s[-1])
        for block in self._resampler.feed(t_s, acc_g):
            self._extractor.feed(block)

    def finish(self) -> SessionResult:
        """Process what is still buffered and return the final result."""
        self._extractor.finish()
        return self._derive(final=True)

    def result(self) -> SessionResult:
        """A snapshot of what has been processed so far (for a live view).

        Until a standing segment has been seen, lean is relative to the walking
        (posture not judged).
        """
        return self._derive(final=False)

    def _derive(self, final: bool) -> SessionResult:
        if self._first_t is None:
            raise InputError("no samples were analysed")
        features = self._extractor.features if final else self._extractor.provisional()
        return derive_session(
            features,
            rules=self.rules,
            calibrate_s=self.calibrate_s,
            stored_reference=self.stored_reference,
            wear_prior=self.wear_prior,
            axes_override=self.axes_override,
            acc_units=self.acc_units,
            start_s=self._first_t,
            end_s=self._last_t,
            final=final,
        )


def analyze(
    t_s: np.ndarray,
    acc: np.ndarray,
    gyro_dps: np.ndarray | None = None,
    *,
    acc_units: str | None = None,
    rules: RuleSet | None = None,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    fs_hz: float | None = None,
    stored_reference: LeanReference | None = None,
    wear_prior: WearPrior | None = None,
) -> SessionResult:
    """Analyse a whole recording.

    ``t_s`` (N,) seconds; ``acc`` (N,3) in ``acc_units`` ("g", "m/s2", or None
    to detect from the resting magnitude); ``gyro_dps`` (N,3) deg/s or None
    (checked like the rest, not used: see ``analysis.sides``);
    ``fs_hz`` the nominal rate (estimated from the stamps when None);
    ``stored_reference`` the wearer's stored standing reference for this sensor
    (used when the recording has no standing segment, see ``analysis.lean``);
    ``wear_prior`` how the device sits when worn as intended (``analysis.orientation``).
    The same as ``analysis.streaming.analyze_stream`` on one chunk.
    Raises ``InputError`` (with the data row where there is one) for input that
    cannot be analysed.
    """
    from analysis.streaming import SampleChunk, analyze_stream  # the same path as a file stream

    chunk = SampleChunk(
        t_s=np.asarray(t_s, dtype=np.float64),
        acc=np.asarray(acc, dtype=np.float64),
        gyro_dps=None if gyro_dps is None else np.asarray(gyro_dps, dtype=np.float64),
        first_row=0,
    )
    return analyze_stream([chunk], acc_units=acc_units, rules=rules, calibrate_s=calibrate_s,
                          axes=axes, fs_hz=fs_hz, stored_reference=stored_reference,
                          wear_prior=wear_prior)


def derive_session(
    features: GaitFeatures,
    *,
    rules: RuleSet,
    calibrate_s: tuple[float, float] | None,
    axes_override: BodyAxes | None,
    acc_units: str,
    start_s: float,
    end_s: float,
    final: bool = True,
    stored_reference: LeanReference | None = None,
    wear_prior: WearPrior | None = None,
) -> SessionResult:
    """Everything after the per-sample stage: bouts, sides, cadence, asymmetry, lean, rules.

    ``final`` False (a live snapshot): a calibration segment not processed yet
    is not an error; lean is relative to the walking until it is.
    """
    warnings: list[str] = []
    contacts = features.contacts()
    ic_all, ic_seg, side_vec = contacts.t_s, contacts.segment, contacts.side_vec
    bouts_all = find_bouts(ic_all, ic_seg)
    keep = np.zeros(len(ic_all), dtype=bool)
    ic_bout = np.full(len(ic_all), -1)
    for k, b in enumerate(bouts_all):
        keep[b.first : b.last + 1] = True
        ic_bout[b.first : b.last + 1] = k
    ic_t, side_vec, ic_bout = ic_all[keep], side_vec[keep], ic_bout[keep]
    bouts, offset = [], 0
    for b in bouts_all:
        bouts.append(Bout(offset, offset + b.steps - 1, b.start_s, b.end_s))
        offset += b.steps

    sec_t, _sec_seg, sec_mean, sec_std = features.seconds()
    walking = _covered(sec_t, [b.start_s for b in bouts], [b.end_s for b in bouts])

    if axes_override is not None:
        axes = axes_override
    else:
        if walking.any():
            gravity = sec_mean[walking].mean(axis=0)
        elif len(sec_mean):
            gravity = sec_mean.mean(axis=0)
        else:  # a live view asking before the first chunk was processed
            gravity = np.array([0.0, 0.0, 1.0])
        axes = estimate_axes(gravity, features.lag_cov, features.vertical_jerk)
        if bouts:
            axes, prior_warnings = apply_wear_prior(axes, wear_prior)
            warnings.extend(prior_warnings)
        if not bouts:
            warnings.append("no walking found: body axes could not be determined")
        elif axes.forward_confidence < PRIOR_DECIDES_BELOW_CONFIDENCE and (
                axes.source != "auto+prior"):
            warnings.append(
                "forward direction uncertain from the walking pattern; lean sign and "
                "left/right may be swapped (pass --axes to state the mounting)"
            )

    sides = label_sides(ic_t, side_vec, axes)

    bout_cadence = np.array([cadence_spm(ic_t[b.first : b.last + 1]) for b in bouts])
    bout_groups = [step_groups(ic_t[b.first : b.last + 1], sides[b.first : b.last + 1])
                   for b in bouts]
    bout_si = np.array([
        step_time_si_pct(ic_t[b.first : b.last + 1], sides[b.first : b.last + 1], groups)
        for b, groups in zip(bouts, bout_groups, strict=True)
    ])
    all_intervals = np.concatenate(
        [walking_intervals(ic_t[b.first : b.last + 1]) for b in bouts] or [np.zeros(0)]
    )
    # Session cadence: the median over all walking steps (per the output schema); each
    # bout's cadence uses the stride definition of clinical reference systems.
    cadence = float(60.0 / np.median(all_intervals)) if len(all_intervals) >= 2 else np.nan
    sums = np.zeros(4)  # left step time, left steps, right step time, right steps
    for b, groups in zip(bouts, bout_groups, strict=True):
        steps = np.diff(ic_t[b.first : b.last + 1])
        sums += [steps[groups == 1].sum(), np.sum(groups == 1),
                 steps[groups == -1].sum(), np.sum(groups == -1)]
    session_si = float(si_from_sums(*sums))
    step_reg, stride_reg = regularity(features.regularity_sums)

    reference, lean_warnings = choose_reference(
        sec_t, sec_mean, sec_std, walking=walking, contact_t_s=ic_all,
        bout_start_s=np.array([b.start_s for b in bouts]),
        bout_end_s=np.array([b.end_s for b in bouts]),
        calibrate_s=calibrate_s, stored=stored_reference, final=final,
    )
    warnings.extend(lean_warnings)
    sagittal, frontal = lean_angles(sec_mean, reference.up, axes) if len(sec_t) else (
        np.zeros(0), np.zeros(0))
    sagittal = stride_average(np.where(walking, sagittal, np.nan))
    frontal = stride_average(np.where(walking, frontal, np.nan))

    series_cadence = np.where(walking, rolling_cadence_spm(ic_t, sec_t + 1.0), np.nan)
    series_si = np.full(len(sec_t), np.nan)
    for b, groups in zip(bouts, bout_groups, strict=True):
        rolling = rolling_step_time_si_pct(ic_t[b.first : b.last + 1],
                                           sides[b.first : b.last + 1], groups)
        times = ic_t[b.first : b.last + 1]
        # seconds overlapping the bout (sec_t is sorted)
        in_bout = np.arange(np.searchsorted(sec_t, b.start_s - 1.0, side="right"),
                            np.searchsorted(sec_t, b.end_s, side="left"))
        at = np.searchsorted(times, sec_t[in_bout] + 1.0, side="right") - 1
        ok = at >= 0
        series_si[in_bout[ok]] = rolling[at[ok]]

    flags = evaluate(
        rules,
        RuleInputs(
            second_t_s=sec_t,
            walking=walking,
            sagittal_deg=sagittal,
            frontal_deg=frontal,
            bout_start_s=np.array([b.start_s for b in bouts]),
            bout_end_s=np.array([b.end_s for b in bouts]),
            bout_cadence_spm=bout_cadence,
            ic_t_s=ic_t,
            sides=sides,
            ic_bout=ic_bout,
            session_start_s=start_s,
            session_end_s=end_s,
            posture_judged=reference.judged,
        ),
    )
    return SessionResult(
        sample_rate_hz=features.fs_hz,
        acc_units=acc_units,
        start_s=start_s,
        end_s=end_s,
        segments=list(features.segments),
        ic_t_s=ic_t,
        sides=sides,
        bouts=bouts,
        bout_cadence_spm=bout_cadence,
        bout_si_pct=bout_si,
        cadence_spm=cadence,
        step_time_si_pct=session_si,
        step_regularity=step_reg,
        stride_regularity=stride_reg,
        axes=axes,
        lean_reference=reference,
        second_t_s=sec_t,
        walking=walking,
        series_cadence_spm=series_cadence,
        series_sagittal_deg=sagittal,
        series_frontal_deg=frontal,
        series_si_pct=series_si,
        flags=flags,
        rules_version=rules.version,
        rules_sources=rules.sources,
        warnings=warnings,
    )


def _covered(bin_start_s: np.ndarray, starts_s: list[float], ends_s: list[float]) -> np.ndarray:
    """Which 1 s bins overlap one of the sorted, non-overlapping intervals [start, end]."""
    if not starts_s:
        return np.zeros(len(bin_start_s), dtype=bool)
    starts, ends = np.asarray(starts_s), np.asarray(ends_s)
    # the last interval starting before the bin ends is the only one that can overlap it
    k = np.searchsorted(starts, bin_start_s + 1.0, side="left") - 1
    ok = k >= 0
    k = np.clip(k, 0, None)
    return ok & (bin_start_s < ends[k]) & (bin_start_s + 1.0 > starts[k])
