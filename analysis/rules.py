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
    ONE_SIDED_LEVEL,
    StepAsymmetry,
    Strides,
    step_asymmetry,
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
    "uneven-steps": {"threshold_pct": (8.0, "%"), "min_strides": (20.0, "strides"),
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

# What a setting may be, by its unit: (lowest, highest, whole number only). One table
# for every rule and the plan, so a value that would make an analysis fail or a rule
# meaningless (hold_s = 1e308, a share of 5, min_strides = 0) is refused where it is read.
RANGES: dict[str, tuple[float, float, bool]] = {
    "steps/min": (30.0, 250.0, False),
    "s": (0.0, 24 * 3600.0, False),
    "min": (0.0, 24 * 60.0, False),
    "fraction": (0.0, 1.0, False),
    "deg": (0.0, 90.0, False),
    "%": (0.0, 100.0, False),
    "strides": (1.0, 10_000.0, True),
    "walks": (1.0, 50.0, True),
}
#: A rules file is a few hundred bytes; anything this large is not one.
MAX_RULES_BYTES = 64 * 1024
_MAX_META_CHARS = 1000


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
    if len(text) > MAX_RULES_BYTES:
        raise InputError(f"{source}: {len(text)} characters; a rules file is at most "
                         f"{MAX_RULES_BYTES // 1024} KB")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise InputError(f"{source}: not valid TOML: values nested too deeply") from None
    fmt = doc.get("format", FORMAT)
    if fmt != FORMAT:
        raise InputError(f"{source}: format {_shown(fmt)} is not {FORMAT!r}")
    for key, value in doc.items():
        if key in _META_KEYS:
            if key != "format" and not _plain_text(value):
                raise InputError(f"{source}: {key} must be text of at most "
                                 f"{_MAX_META_CHARS} characters, not {_shown(value)}")
            continue
        if key not in PARAMETERS and key != PLAN_TABLE:
            known = ", ".join([*PARAMETERS, PLAN_TABLE])
            raise InputError(f"{source}: unknown rule [{key}]; known: {known}")
        if not isinstance(value, dict):
            raise InputError(f"{source}: [{key}] must be a table of settings")
    return doc


def _plain_text(value: object) -> bool:
    """A meta setting (version, patient, notes): short text (a plain version number is too)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) < 10**12
    return isinstance(value, str) and len(value) <= _MAX_META_CHARS


def _apply(rule: Rule, table: dict, source: str) -> Rule:
    params = dict(rule.params)
    enabled, guideline = rule.enabled, rule.guideline
    for key, value in table.items():
        where = f"{source}: [{rule.id}] {key}"
        if key == "enabled":
            enabled = _flag_setting(where, value)
        elif key == "guideline":
            if not isinstance(value, str) or len(value) > _MAX_META_CHARS:
                raise InputError(f"{where} must be text of at most {_MAX_META_CHARS} "
                                 f"characters, not {_shown(value)}")
            guideline = value
        elif key in PARAMETERS[rule.id]:
            params[key] = _number_setting(where, value, PARAMETERS[rule.id][key][1])
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
            changes[key] = int(_number_setting(where, value, "walks"))
        elif key in PLAN_MINUTES:
            changes[key] = _number_setting(where, value, "min")
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


def _number_setting(where: str, value: object, unit: str | None = None) -> float:
    """A finite number ≥ 0, within ``RANGES[unit]`` when the unit has a range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where} must be a number, not {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # a TOML integer with hundreds of digits
        number = float("inf")
    if not np.isfinite(number) or number < 0:
        raise InputError(f"{where} must be a finite number ≥ 0, not {_shown(value)}")
    if unit in RANGES:
        low, high, whole = RANGES[unit]
        if not low <= number <= high or (whole and number != int(number)):
            span = (f"a whole number of {unit} from {low:g} to {high:g}" if whole
                    else f"a number from {low:g} to {high:g} ({unit})")
            raise InputError(f"{where} must be {span}, not {_shown(value)}")
    return number


def _shown(value: object) -> str:
    """A setting's value for an error message, cut short (a 300-digit integer)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge integer"
    return text if len(text) <= 60 else text[:57] + "..."


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
    """Flag a stretch only when step times are clearly uneven, judged on all its strides.

    A bout lasting ``hold_s`` with at least ``min_strides`` strides is judged whole and,
    when it lasts at least twice ``hold_s``, also in consecutive segments of about equal
    length, none shorter than ``hold_s`` nor with fewer than ``min_strides`` strides (a
    limp in part of a long walk). Bout and segments are fixed before their SI is looked
    at. "Clearly above the limit" is a one-sided test: the whole bout flags when the
    one-sided ``ONE_SIDED_LEVEL`` lower bound of its |SI| is above the threshold; its
    segments are more looks at the same walk, so each is tested at that level shared
    among them (Bonferroni: 5 % / segments), and a walker below the limit is not flagged
    merely because one of many segments came out high by chance. A flagged bout is one
    flag, flagged neighbouring segments of an unflagged bout are reported as one
    stretch. Picking the most uneven of many overlapping short windows instead is a
    search for chance: a rolling SI of an even walker crosses the limit now and then,
    and a burst of ~20 strides has a lower bound above a limit its walk as a whole is
    below."""
    if x.strides is None or len(x.strides) == 0:
        return []
    min_strides = max(2, int(rule["min_strides"]))
    threshold = rule["threshold_pct"]
    flags = []
    for bout in np.unique(x.strides.bout):
        strides = x.strides.select(x.strides.bout == bout)
        segments = _hold_segments(strides, rule["hold_s"], min_strides)
        if not segments:
            continue
        confidence = (float(x.bout_side_confidence[bout])
                      if x.bout_side_confidence is not None else float("nan"))
        whole = step_asymmetry(strides)
        if whole.abs_lower_bound_pct > threshold:
            flags.append(_uneven_flag(rule, *_span_s(strides), whole, confidence))
            continue
        if len(segments) < 2:
            continue
        level = 1.0 - (1.0 - ONE_SIDED_LEVEL) / len(segments)
        over = [step_asymmetry(strides.select(slice(a, b)), level).abs_lower_bound_pct
                > threshold for a, b in segments]
        for first, last in _index_runs(np.array(over, dtype=bool)):
            run = strides.select(slice(segments[first][0], segments[last][1]))
            asym = step_asymmetry(run, level)
            if not asym.abs_lower_bound_pct > threshold:  # merged neighbours disagree
                for k in range(first, last + 1):
                    part = strides.select(slice(*segments[k]))
                    flags.append(_uneven_flag(rule, *_span_s(part),
                                              step_asymmetry(part, level), confidence))
                continue
            flags.append(_uneven_flag(rule, *_span_s(run), asym, confidence))
    return flags


def _span_s(strides: Strides) -> tuple[float, float]:
    """Start and end (s) of consecutive strides."""
    return (float(strides.t_s[0]),
            float(strides.t_s[-1] + strides.left_s[-1] + strides.right_s[-1]))


def _hold_segments(strides: Strides, hold_s: float, min_strides: int) -> list[tuple[int, int]]:
    """Stride index ranges [a, b) splitting one bout's strides into consecutive segments of
    about equal stride count, as many as fit with each lasting ``hold_s`` and holding
    ``min_strides`` strides; none when the bout itself is too short or has too few."""
    n = len(strides)
    if n < min_strides:
        return []
    start_s, end_s = _span_s(strides)
    count = min(int((end_s - start_s) // hold_s) if hold_s > 0 else n, n // min_strides)
    if count < 1:
        return []
    edges = np.linspace(0, n, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


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
    bound = asym.abs_lower_bound_pct
    message = (f"Your steps were uneven: {what} over {asym.strides} strides "
               f"({CI_LEVEL:.0%} interval {lo:.0f}–{hi:.0f}%; above {bound:.1f}% with "
               f"{100 * asym.one_sided_level:.3g}% confidence, limit "
               f"{rule['threshold_pct']:g}%). " + rule.guideline)
    evidence = {
        "ci_level": CI_LEVEL,
        "ci_pct": [round(lo, 2), round(hi, 2)],
        "lower_bound_pct": round(bound, 2),
        "lower_bound_level": round(asym.one_sided_level, 4),
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
