"""Guideline rules: which walking guidelines a session broke, when, by how much.

A rule set comes from TOML text (the default file is data/guidelines.toml);
a per-patient file overrides any threshold or hold time and can switch a rule
off. Evaluation is pure: it takes the per-second and per-step results of the
analysis and returns flags with the rule id, interval, measured value,
threshold and a plain-language message tied to the guideline.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

import numpy as np

from analysis.asymmetry import (
    CI_LEVEL,
    StepAsymmetry,
    Strides,
    step_asymmetry,
    windowed_lower_bounds_pct,
)
from analysis.errors import InputError
from analysis.sides import MIN_NAMING_CONFIDENCE

FORMAT = "stridewatch-rules/1"

# Rule id -> {parameter: (default, unit)}; the defaults match data/guidelines.toml.
PARAMETERS: dict[str, dict[str, tuple[float, str]]] = {
    "slow-pace": {
        "threshold_spm": (100.0, "steps/min"),
        "min_bout_s": (30.0, "s"),
        "min_share_of_walking": (0.5, "fraction"),
    },
    "forward-lean": {"threshold_deg": (10.0, "deg"), "hold_s": (30.0, "s")},
    "back-arch": {"threshold_deg": (5.0, "deg"), "hold_s": (30.0, "s")},
    "side-lean": {"threshold_deg": (5.0, "deg"), "hold_s": (30.0, "s")},
    "uneven-steps": {"threshold_pct": (10.0, "%"), "min_strides": (20.0, "strides"),
                     "hold_s": (60.0, "s")},
    "no-break": {"max_continuous_min": (30.0, "min"), "min_pause_min": (2.0, "min")},
    "short-walk": {"min_total_min": (5.0, "min")},
}

# Rules judging lean against upright: they need an upright reference (analysis.lean).
POSTURE_RULES = ("forward-lean", "back-arch", "side-lean")

# The graded walking plan is not a flag on one session: the session history compares
# each week against it. It lives in the rules file so a clinician sets it per patient.
PLAN_TABLE = "walking-plan"


@dataclass(frozen=True)
class WalkingPlan:
    """Graded walking plan: walks of at least ``min_walk_min`` build up from ``start_min`` to
    ``goal_min`` per walk, ``walks_per_week`` times a week (all durations in minutes).

    The per-walk target rises by ``step_min`` after each week that met the plan; after a missed
    week it holds (``advance_only_when_met``), so a bad week does not raise the bar further.
    """

    start_min: float = 5.0
    goal_min: float = 30.0
    step_min: float = 5.0
    walks_per_week: int = 3
    min_walk_min: float = 5.0
    advance_only_when_met: bool = True


PLAN_MINUTES = ("start_min", "goal_min", "step_min", "min_walk_min")
_META_KEYS = ("format", "version", "patient", "notes")


@dataclass(frozen=True)
class Rule:
    id: str
    enabled: bool
    params: dict[str, float]
    guideline: str

    def __getitem__(self, key: str) -> float:
        return self.params[key]


@dataclass(frozen=True)
class RuleSet:
    """Flag rules by id, plus the graded walking plan (table ``[walking-plan]``)."""

    rules: dict[str, Rule]
    version: str
    sources: tuple[str, ...] = field(default=())
    plan: WalkingPlan = field(default_factory=WalkingPlan)

    def with_overrides(self, text: str, source: str) -> RuleSet:
        """A copy with a per-patient TOML file's values applied (raises InputError naming it)."""
        doc = _parse(text, source)
        rules = dict(self.rules)
        plan = self.plan
        for rule_id, table in doc.items():
            if rule_id in _META_KEYS:
                continue
            if rule_id == PLAN_TABLE:
                plan = _apply_plan(plan, table, source)
            else:
                rules[rule_id] = _apply(rules[rule_id], table, source)
        version = str(doc.get("version", f"{self.version}+{source}"))
        return RuleSet(rules, version, self.sources + (source,), plan)


def _parse(text: str, source: str) -> dict:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from exc
    fmt = doc.get("format", FORMAT)
    if fmt != FORMAT:
        raise InputError(f"{source}: format {fmt!r} is not {FORMAT!r}")
    for key, value in doc.items():
        if key in _META_KEYS:
            continue
        if key not in PARAMETERS and key != PLAN_TABLE:
            known = ", ".join([*PARAMETERS, PLAN_TABLE])
            raise InputError(f"{source}: unknown rule [{key}]; known: {known}")
        if not isinstance(value, dict):
            raise InputError(f"{source}: [{key}] must be a table of settings")
    return doc


def _apply(rule: Rule, table: dict, source: str) -> Rule:
    params = dict(rule.params)
    enabled, guideline = rule.enabled, rule.guideline
    for key, value in table.items():
        where = f"{source}: [{rule.id}] {key}"
        if key == "enabled":
            enabled = _flag_setting(where, value)
        elif key == "guideline":
            guideline = str(value)
        elif key in PARAMETERS[rule.id]:
            params[key] = _number_setting(where, value)
        else:
            known = ", ".join(["enabled", "guideline", *PARAMETERS[rule.id]])
            raise InputError(f"{where}: unknown setting; known: {known}")
    return replace(rule, enabled=enabled, params=params, guideline=guideline)


def _apply_plan(plan: WalkingPlan, table: dict, source: str) -> WalkingPlan:
    changes: dict[str, float | int | bool] = {}
    for key, value in table.items():
        where = f"{source}: [{PLAN_TABLE}] {key}"
        if key == "advance_only_when_met":
            changes[key] = _flag_setting(where, value)
        elif key == "walks_per_week":
            walks = _number_setting(where, value)
            if walks != int(walks) or walks < 1:
                raise InputError(f"{where} must be a whole number of walks ≥ 1, not {value!r}")
            changes[key] = int(walks)
        elif key in PLAN_MINUTES:
            changes[key] = _number_setting(where, value)
        else:
            known = ", ".join(f.name for f in fields(WalkingPlan))
            raise InputError(f"{where}: unknown setting; known: {known}")
    out = replace(plan, **changes)
    if out.goal_min < out.start_min:
        raise InputError(
            f"{source}: [{PLAN_TABLE}] goal_min ({out.goal_min:g}) is below start_min "
            f"({out.start_min:g})"
        )
    return out


def _number_setting(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where} must be a number, not {value!r}")
    if not np.isfinite(value) or value < 0:
        raise InputError(f"{where} must be a finite number ≥ 0, not {value!r}")
    return float(value)


def _flag_setting(where: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where} must be true or false, not {value!r}")
    return value


def builtin_rules() -> RuleSet:
    """The default thresholds (as in data/guidelines.toml), without guideline wording."""
    return RuleSet(
        {
            rule_id: Rule(rule_id, True, {k: v for k, (v, _) in spec.items()}, "")
            for rule_id, spec in PARAMETERS.items()
        },
        version="built-in",
    )


def rules_from_toml(text: str, source: str) -> RuleSet:
    """A complete rule set from TOML text: built-in defaults with the file's values applied."""
    doc = _parse(text, source)
    ruleset = builtin_rules().with_overrides(text, source)
    return replace(ruleset, version=str(doc.get("version", source)), sources=(source,))


@dataclass(frozen=True)
class Flag:
    rule: str
    start_s: float
    end_s: float
    value: float
    threshold: float
    unit: str
    message: str
    # How sure the flag is, for rules that know (uneven-steps: interval of |SI|, strides,
    # side confidence); kept in the session JSON as "evidence".
    evidence: dict | None = None

    def as_dict(self) -> dict:
        out = {
            "rule": self.rule,
            "start_s": round(self.start_s, 2),
            "end_s": round(self.end_s, 2),
            "value": round(self.value, 2),
            "threshold": self.threshold,
            "unit": self.unit,
            "message": self.message,
        }
        if self.evidence is not None:
            out["evidence"] = self.evidence
        return out


@dataclass(frozen=True)
class RuleInputs:
    """What the rules look at.

    Per second (bin start ``second_t_s``): ``walking`` mask, stride-averaged
    ``sagittal_deg`` / ``frontal_deg`` (NaN when not walking). Per bout:
    ``bout_start_s``, ``bout_end_s``, ``bout_cadence_spm``. Per contact in a
    bout: ``ic_t_s``, ``sides``, ``ic_bout`` (bout index). Per stride
    (``analysis.asymmetry``): ``strides``; per bout ``bout_side_confidence``.
    ``posture_judged`` False
    (no upright reference, lean is relative to the walking): the absolute lean
    rules (forward-lean, back-arch, side-lean) do not fire.
    """

    second_t_s: np.ndarray
    walking: np.ndarray
    sagittal_deg: np.ndarray
    frontal_deg: np.ndarray
    bout_start_s: np.ndarray
    bout_end_s: np.ndarray
    bout_cadence_spm: np.ndarray
    ic_t_s: np.ndarray
    sides: np.ndarray
    ic_bout: np.ndarray
    session_start_s: float
    session_end_s: float
    posture_judged: bool = True
    strides: Strides | None = None
    bout_side_confidence: np.ndarray | None = None


def evaluate(rules: RuleSet, x: RuleInputs) -> list[Flag]:
    """All flags of the enabled rules, sorted by start time."""
    flags: list[Flag] = []
    checks = {
        "slow-pace": _slow_pace,
        "forward-lean": _forward_lean,
        "back-arch": _back_arch,
        "side-lean": _side_lean,
        "uneven-steps": _uneven_steps,
        "no-break": _no_break,
        "short-walk": _short_walk,
    }
    for rule_id, check in checks.items():
        rule = rules.rules[rule_id]
        if rule_id in POSTURE_RULES and not x.posture_judged:
            continue
        if rule.enabled:
            flags.extend(check(rule, x))
    return sorted(flags, key=lambda f: (f.start_s, f.rule))


def _runs(t: np.ndarray, cond: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of runs where ``cond`` holds over consecutive seconds.

    A jump of 1.5 s or more between bins (a gap in the recording) ends a run.
    """
    jumps = np.flatnonzero(np.diff(t) >= 1.5) + 1
    runs = []
    for first, last in _index_runs(cond):
        cuts = jumps[(jumps > first) & (jumps <= last)]
        starts = [first, *cuts]
        ends = [*(cuts - 1), last]
        runs.extend((int(a), int(b)) for a, b in zip(starts, ends, strict=True))
    return runs


def _held(rule: Rule, x: RuleInputs, measure: np.ndarray, cond: np.ndarray, unit: str,
          describe: Callable[[float, float], str]) -> list[Flag]:
    flags = []
    for a, b in _runs(x.second_t_s, cond & x.walking):
        start, end = float(x.second_t_s[a]), float(x.second_t_s[b] + 1.0)
        if end - start >= rule["hold_s"]:
            value = float(np.nanmedian(measure[a : b + 1]))
            flags.append(Flag(rule.id, start, end, value, rule["threshold_deg"], unit,
                              describe(value, end - start) + " " + rule.guideline))
    return flags


def _forward_lean(rule: Rule, x: RuleInputs) -> list[Flag]:
    sag = x.sagittal_deg
    return _held(rule, x, sag, np.nan_to_num(sag, nan=-1e9) > rule["threshold_deg"], "deg",
                 lambda v, d: f"You leaned forward about {v:.0f}° for {_dur(d)} "
                              f"(limit {rule['threshold_deg']:g}°).")


def _back_arch(rule: Rule, x: RuleInputs) -> list[Flag]:
    back = -x.sagittal_deg
    return _held(rule, x, back, np.nan_to_num(back, nan=-1e9) > rule["threshold_deg"], "deg",
                 lambda v, d: f"You leaned back (arched) about {v:.0f}° for {_dur(d)} "
                              f"(limit {rule['threshold_deg']:g}°).")


def _side_lean(rule: Rule, x: RuleInputs) -> list[Flag]:
    side = np.abs(x.frontal_deg)
    cond = np.nan_to_num(side, nan=-1e9) > rule["threshold_deg"]
    flags = []
    for direction, sign in (("right", 1.0), ("left", -1.0)):
        same_side = cond & (np.sign(np.nan_to_num(x.frontal_deg)) == sign)
        flags += _held(rule, x, side, same_side, "deg",
                       lambda v, d, w=direction: f"You leaned to the {w} about {v:.0f}° for "
                                                 f"{_dur(d)} (limit {rule['threshold_deg']:g}°).")
    return flags


def _slow_pace(rule: Rule, x: RuleInputs) -> list[Flag]:
    durations = x.bout_end_s - x.bout_start_s
    walking_s = float(durations.sum())
    judged = durations >= rule["min_bout_s"]
    slow = judged & (np.nan_to_num(x.bout_cadence_spm, nan=np.inf) < rule["threshold_spm"])
    if walking_s <= 0 or durations[slow].sum() <= rule["min_share_of_walking"] * walking_s:
        return []
    share = durations[slow].sum() / walking_s
    return [
        Flag("slow-pace", float(s), float(e), float(c), rule["threshold_spm"], "steps/min",
             f"Your pace was {c:.0f} steps/min; brisk walking is at least "
             f"{rule['threshold_spm']:g} steps/min ({share:.0%} of your walking was slower). "
             + rule.guideline)
        for s, e, c in zip(x.bout_start_s[slow], x.bout_end_s[slow], x.bout_cadence_spm[slow],
                           strict=True)
    ]


def _uneven_steps(rule: Rule, x: RuleInputs) -> list[Flag]:
    """Flag a stretch only when step times are clearly uneven: over every window of
    ``min_strides`` strides in it the lower bound of the |SI| interval is above the
    threshold, the stretch lasts ``hold_s`` and its own interval's lower bound is above the
    threshold too. Chance swings of a rolling SI of an even walker do not pass."""
    if x.strides is None or len(x.strides) == 0:
        return []
    window = max(2, int(rule["min_strides"]))
    threshold = rule["threshold_pct"]
    flags = []
    for bout in np.unique(x.strides.bout):
        strides = x.strides.select(x.strides.bout == bout)
        firsts, lower = windowed_lower_bounds_pct(strides, window, max(1, window // 4),
                                                  screen_pct=threshold)
        over = np.zeros(len(strides), dtype=bool)
        for first in firsts[lower > threshold]:
            over[first : first + window] = True
        for a, b in _index_runs(over):
            run = strides.select(slice(a, b + 1))
            start = float(run.t_s[0])
            end = float(run.t_s[-1] + run.left_s[-1] + run.right_s[-1])
            asym = step_asymmetry(run)
            if end - start < rule["hold_s"] or not asym.abs_lower_pct > threshold:
                continue
            confidence = (float(x.bout_side_confidence[bout])
                          if x.bout_side_confidence is not None else float("nan"))
            flags.append(_uneven_flag(rule, start, end, asym, confidence))
    return flags


def _uneven_flag(rule: Rule, start: float, end: float, asym: StepAsymmetry,
                 side_confidence: float) -> Flag:
    lo, hi = asym.abs_ci_pct
    si = abs(asym.si_pct)
    named = side_confidence >= MIN_NAMING_CONFIDENCE
    if named:
        longer = "left" if asym.si_pct > 0 else "right"
        what = f"{longer} steps took {si:.0f}% longer than right steps" if longer == "left" \
            else f"{longer} steps took {si:.0f}% longer than left steps"
    else:
        what = (f"steps on one side took {si:.0f}% longer than on the other "
                "(which side could not be told reliably)")
    message = (f"Your steps were uneven: {what} over {asym.strides} strides "
               f"({CI_LEVEL:.0%} interval {lo:.0f}–{hi:.0f}%, limit "
               f"{rule['threshold_pct']:g}%). " + rule.guideline)
    evidence = {
        "ci_level": CI_LEVEL,
        "ci_pct": [round(lo, 2), round(hi, 2)],
        "strides": int(asym.strides),
        "longer_steps": ("left" if asym.si_pct > 0 else "right") if named else None,
        "side_confidence": round(side_confidence, 2) if np.isfinite(side_confidence) else None,
        "side_timing_bias_s": (round(asym.timing_bias_s, 3)
                               if np.isfinite(asym.timing_bias_s) else None),
    }
    return Flag("uneven-steps", start, end, si, rule["threshold_pct"], "%", message, evidence)


def _index_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.r_[0, mask.astype(int), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def _no_break(rule: Rule, x: RuleInputs) -> list[Flag]:
    if len(x.bout_start_s) == 0:
        return []
    limit_s = rule["max_continuous_min"] * 60.0
    pause_s = rule["min_pause_min"] * 60.0
    flags = []
    start, end = x.bout_start_s[0], x.bout_end_s[0]
    for s, e in [*zip(x.bout_start_s[1:], x.bout_end_s[1:], strict=True), (np.inf, np.inf)]:
        if s - end < pause_s:
            end = max(end, e)
            continue
        if end - start > limit_s:
            flags.append(Flag(
                "no-break", float(start + limit_s), float(end), (end - start) / 60.0,
                rule["max_continuous_min"], "min",
                f"You walked {(end - start) / 60:.0f} minutes without a break of "
                f"{rule['min_pause_min']:g} minutes. " + rule.guideline))
        start, end = s, e
    return flags


def _short_walk(rule: Rule, x: RuleInputs) -> list[Flag]:
    walking_min = float((x.bout_end_s - x.bout_start_s).sum()) / 60.0
    if walking_min >= rule["min_total_min"]:
        return []
    return [Flag(
        "short-walk", x.session_start_s, x.session_end_s, walking_min, rule["min_total_min"],
        "min",
        # rounded down: 4.99 minutes must not read as the 5 it falls short of
        f"You walked {math.floor(walking_min * 10) / 10:.1f} minutes in this session "
        f"(aim for at least {rule['min_total_min']:g}). " + rule.guideline)]


def _dur(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"
