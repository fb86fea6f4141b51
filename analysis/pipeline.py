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
    ROLLING_STEPS,
    StepAsymmetry,
    find_strides,
    join_strides,
    regularity,
    rolling_step_time_si_pct,
    step_asymmetry,
)
from analysis.bounds import check_analysis_rate_hz, check_grid
from analysis.bouts import Bout, find_bouts
from analysis.cadence import cadence_spm, rolling_cadence_spm, walking_intervals
from analysis.echoes import same_stance_echoes
from analysis.errors import InputError
from analysis.extraction import Contacts, FeatureExtractor, GaitFeatures
from analysis.lean import LeanReference, choose_reference, lean_angles, stride_average
from analysis.orientation import (
    PRIOR_DECIDES_BELOW_CONFIDENCE,
    BodyAxes,
    WearPrior,
    apply_wear_prior,
    estimate_axes,
    parse_axes,
)
from analysis.plausibility import gait_band_share, not_walking_reason
from analysis.rules import Flag, RuleInputs, RuleSet, builtin_rules, evaluate
from analysis.sides import MIN_NAMING_CONFIDENCE, label_sides
from analysis.timebase import (
    MAX_GAP_S,
    UniformResampler,
    estimate_sample_rate_hz,
    repair_sample_times,
    validate_samples,
)
from analysis.units import detect_acc_units, median_magnitude, to_g

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
    # Step-time asymmetry with its uncertainty (analysis.asymmetry) and how sure the
    # side labels are (analysis.sides), per bout and for the session.
    bout_asymmetry: list[StepAsymmetry] = field(default_factory=list)
    asymmetry: StepAsymmetry | None = None
    bout_side_confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))
    side_confidence: float = float("nan")
    side_cues: str = "mediolateral"

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
                    **_asymmetry_details(a, conf),
                }
                for b, c, si, a, conf in zip(self.bouts, self.bout_cadence_spm, self.bout_si_pct,
                                             self._bout_asymmetry(), self._bout_confidence(),
                                             strict=True)
            ],
            "cadence_spm": _num(self.cadence_spm),
            "asymmetry": {
                "step_time_si_pct": _num(abs(self.step_time_si_pct)),
                "longer_steps": (_longer(self.step_time_si_pct)
                                 if self.side_confidence >= MIN_NAMING_CONFIDENCE else None),
                **_asymmetry_details(self.asymmetry, self.side_confidence),
                "side_cues": self.side_cues,
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
            "flags": [_clip_flag(f.as_dict(), self.start_s, self.end_s) for f in self.flags],
            "axes": self.axes.as_dict(),
            "segments": [[round(a, 3), round(b, 3)] for a, b in self.segments],
            "rules_version": self.rules_version,
            "rules_sources": list(self.rules_sources),
            "warnings": list(self.warnings),
        }


    def _bout_asymmetry(self) -> list[StepAsymmetry | None]:
        return list(self.bout_asymmetry) or [None] * len(self.bouts)

    def _bout_confidence(self) -> list[float]:
        conf = list(self.bout_side_confidence)
        return conf if len(conf) == len(self.bouts) else [float("nan")] * len(self.bouts)


def _asymmetry_details(a: StepAsymmetry | None, side_confidence: float) -> dict:
    """The interval, strides and timing correction behind a step-time |SI| (JSON)."""
    if a is None:
        return {"step_time_si_ci_pct": None, "step_time_si_lower_bound_pct": None,
                "strides": 0, "side_timing_bias_s": None,
                "side_confidence": _num(side_confidence)}
    lo, hi = a.abs_ci_pct
    return {
        "step_time_si_ci_pct": [_num(lo), _num(hi)] if np.isfinite(lo) else None,
        # one-sided: |SI| is above it with analysis.asymmetry.ONE_SIDED_LEVEL confidence
        "step_time_si_lower_bound_pct": _num(a.abs_lower_bound_pct),
        "strides": int(a.strides),
        "side_timing_bias_s": _num(a.timing_bias_s, 3),
        "side_confidence": _num(side_confidence),
    }


def _clip_flag(flag: dict, start_s: float, end_s: float) -> dict:
    """A flag's interval inside the recording (hold-time windows run on whole seconds and
    may end past the last sample)."""
    flag["start_s"] = round(max(flag["start_s"], start_s), 2)
    flag["end_s"] = round(min(flag["end_s"], end_s), 2)
    return flag


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
        self.fs_hz = check_analysis_rate_hz(fs_hz)
        self.rules = rules if rules is not None else builtin_rules()
        self.calibrate_s = calibrate_s
        self.stored_reference = stored_reference
        self.wear_prior = wear_prior
        self.axes_override = parse_axes(axes) if isinstance(axes, str) else axes
        self.acc_units = acc_units
        self._resampler = UniformResampler(self.fs_hz)
        self._gyro_resampler = UniformResampler(self.fs_hz)
        self._extractor = FeatureExtractor(self.fs_hz)
        self._first_t: float | None = None
        self._last_t: float | None = None

    def feed(self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray | None = None) -> None:
        """Add samples (t in s, acceleration (n,3) in g, optional angular rate (n,3) in
        deg/s, used for the sides) in time order."""
        if len(t_s) == 0:
            return
        if self._first_t is None:
            self._first_t = float(t_s[0])
        self._last_t = float(t_s[-1])
        # The same stamps give the same grid, so the gyro blocks line up with the acc blocks.
        gyro_blocks = iter(()) if gyro_dps is None else self._gyro_resampler.feed(t_s, gyro_dps)
        for block in self._resampler.feed(t_s, acc_g):
            gyro = next(gyro_blocks, None) if gyro_dps is not None else None
            self._extractor.feed(block, None if gyro is None else gyro.acc_g)
        for _ in gyro_blocks:  # let the gyro resampler finish this call (its state update)
            pass

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
    (the yaw rate helps tell left from right: see ``analysis.sides``);
    ``fs_hz`` the nominal rate (estimated from the stamps when None);
    ``stored_reference`` the wearer's stored standing reference for this sensor
    (used when the recording has no standing segment, see ``analysis.lean``);
    ``wear_prior`` how the device sits when worn as intended (``analysis.orientation``).
    The same as ``analysis.streaming.analyze_stream`` on one chunk.
    Raises ``InputError`` (with the data row where there is one) for input that
    cannot be analysed.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    acc = np.asarray(acc, dtype=np.float64)
    gyro = None if gyro_dps is None else np.asarray(gyro_dps, dtype=np.float64)
    units = acc_units or detect_acc_units(acc)
    acc_g = to_g(acc, units)
    validate_samples(t_s, acc_g, gyro)
    if acc_units is not None:
        detect_check = median_magnitude(acc_g)
        if not 0.5 <= detect_check <= 2.0:
            raise InputError(
                f"with --units {acc_units} the median acceleration is {detect_check:.3g} g, "
                "not ~1 g: the units are probably wrong"
            )
    repaired = repair_sample_times(t_s, acc_g, gyro)  # clock jitter, repeated rows
    t_s, acc_g, gyro = repaired.t_s, repaired.acc_g, repaired.gyro_dps
    rate = check_analysis_rate_hz(fs_hz or estimate_sample_rate_hz(t_s))
    check_grid(t_s, rate, MAX_GAP_S)
    analyzer = SessionAnalyzer(
        rate, rules=rules, calibrate_s=calibrate_s, axes=axes, acc_units=units,
        stored_reference=stored_reference, wear_prior=wear_prior,
    )
    analyzer.feed(t_s, acc_g, gyro)
    result = analyzer.finish()
    result.warnings[:0] = repaired.warnings()
    return result


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
    contacts: Contacts | None = None,
    seconds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> SessionResult:
    """Everything after the per-sample stage: bouts, sides, cadence, asymmetry, lean, rules.

    ``final`` False (a live snapshot): a calibration segment not processed yet
    is not an error; lean is relative to the walking until it is.
    ``contacts``: the contacts to use instead of all of ``features``' (the second
    pass, once second impacts in one stance are dropped: ``analysis.echoes``);
    ``seconds``: ``features.seconds()``, which the second pass takes from the first.
    """
    warnings: list[str] = []
    first_pass = contacts is None
    if contacts is None:
        contacts = features.contacts()
    ic_all, ic_seg, side_vec = contacts.t_s, contacts.segment, contacts.side_vec
    peak_offset, yaw_before = contacts.peak_offset_s, contacts.yaw_before_dps
    bouts_all = find_bouts(ic_all, ic_seg)
    step_reg, stride_reg = regularity(features.regularity_sums)
    if seconds is None:
        seconds = features.seconds()
    sec_t, _sec_seg, sec_mean, sec_std = seconds
    band_share = gait_band_share(features.regularity_sums, sec_std[_covered(
        sec_t, [b.start_s for b in bouts_all], [b.end_s for b in bouts_all])])
    not_walking = not_walking_reason(step_reg, stride_reg, band_share,
                                     sum(b.steps for b in bouts_all)) if bouts_all else None
    if not_walking is not None:  # peaks without gait structure: noise, not steps
        warnings.append(not_walking)
        bouts_all = []
    keep = np.zeros(len(ic_all), dtype=bool)
    ic_bout = np.full(len(ic_all), -1)
    for k, b in enumerate(bouts_all):
        keep[b.first : b.last + 1] = True
        ic_bout[b.first : b.last + 1] = k
    ic_t, side_vec, ic_bout = ic_all[keep], side_vec[keep], ic_bout[keep]
    peak_offset, yaw_before = peak_offset[keep], yaw_before[keep]
    bouts, offset = [], 0
    for b in bouts_all:
        bouts.append(Bout(offset, offset + b.steps - 1, b.start_s, b.end_s))
        offset += b.steps

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
        if not bouts and not_walking is None:
            warnings.append("no walking found: body axes could not be determined")
        elif axes.forward_confidence < PRIOR_DECIDES_BELOW_CONFIDENCE and (
                axes.source != "auto+prior"):
            warnings.append(
                "forward direction uncertain from the walking pattern; lean sign and "
                "left/right may be swapped (pass --axes to state the mounting)"
            )

    # The first pass needs only the labels (to find the echoes); their confidence costs
    # shuffled runs, computed once the contacts are final.
    side_labels = label_sides(ic_t, side_vec, axes, bouts, yaw_before,
                              with_confidence=not first_pass)
    sides = side_labels.labels
    if first_pass:
        echoes = same_stance_echoes(ic_t, sides, contacts.strength_g_per_s[keep], bouts)
        if echoes.any():  # derive again without them: bouts, axes and sides may shift
            others = np.ones(len(ic_all), dtype=bool)
            others[np.flatnonzero(keep)[echoes]] = False
            return derive_session(
                features, rules=rules, calibrate_s=calibrate_s, axes_override=axes_override,
                acc_units=acc_units, start_s=start_s, end_s=end_s, final=final,
                stored_reference=stored_reference, wear_prior=wear_prior,
                contacts=contacts.subset(others), seconds=seconds,
            )
        side_labels = label_sides(ic_t, side_vec, axes, bouts, yaw_before)

    bout_cadence = np.array([cadence_spm(ic_t[b.first : b.last + 1]) for b in bouts])
    bout_strides = [find_strides(ic_t[b.first : b.last + 1], sides[b.first : b.last + 1],
                                 peak_offset[b.first : b.last + 1], k)
                    for k, b in enumerate(bouts)]
    bout_asym = [step_asymmetry(s) for s in bout_strides]
    bout_si = np.array([a.si_pct for a in bout_asym])
    strides = join_strides(bout_strides)
    session_asym = step_asymmetry(strides)
    all_intervals = np.concatenate(
        [walking_intervals(ic_t[b.first : b.last + 1]) for b in bouts] or [np.zeros(0)]
    )
    # Session cadence: the median over all walking steps (per the output schema); each
    # bout's cadence is the median over its strides (analysis.cadence.cadence_spm).
    cadence = float(60.0 / np.median(all_intervals)) if len(all_intervals) >= 2 else np.nan
    session_si = session_asym.si_pct
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

    longest_bout = max((b.steps for b in bouts), default=0)
    if 0 < longest_bout <= ROLLING_STEPS:
        warnings.append(
            f"only {longest_bout} steps in the longest walk: the rolling step-time asymmetry "
            f"needs more than {ROLLING_STEPS} and is not given (the session figure is)"
        )
    series_cadence = np.where(walking, rolling_cadence_spm(ic_t, sec_t + 1.0), np.nan)
    series_si = np.full(len(sec_t), np.nan)
    for b in bouts:
        rolling = rolling_step_time_si_pct(ic_t[b.first : b.last + 1],
                                           sides[b.first : b.last + 1],
                                           peak_offset[b.first : b.last + 1])
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
            strides=strides,
            bout_side_confidence=side_labels.bout_confidence,
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
        bout_asymmetry=bout_asym,
        asymmetry=session_asym,
        bout_side_confidence=side_labels.bout_confidence,
        side_confidence=side_labels.confidence(bouts),
        side_cues=side_labels.cues,
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
