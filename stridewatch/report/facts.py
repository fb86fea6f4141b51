"""The one wording of a session's facts, for the terminal summary and the report alike.

Policies (each in one place here):
- pace is steps ÷ walking time, so the numbers shown add up;
- durations and clock times are rounded down (4 min 59.6 s is "4 min 59 s", never "5 min",
  so a walk short of a goal never reads as meeting it);
- a value that rounds to zero is said in words ("the same time", "upright"), never "-0" or
  "0 % longer";
- "even" is never said while an uneven-steps flag stands; the verdict follows the flags;
- flags are clipped to the recording (a hold-time window may run past its last sample).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stridewatch.report.durations import format_clock, format_duration
from stridewatch.report.limits import Thresholds, finite_or_none
from stridewatch.report.wording import count_of

FAST_SPM = 120.0  # literature band: >= 120 steps/min is fast walking

RULE_NAMES = {
    "slow-pace": "slow pace",
    "forward-lean": "leaning forward",
    "back-arch": "arching backwards",
    "side-lean": "leaning to the side",
    "uneven-steps": "uneven steps",
    "no-break": "no break",
    "short-walk": "short walk",
}
LEAN_RULES = ("forward-lean", "back-arch", "side-lean")
_UNIT_SUFFIX = {"deg": "°", "%": " %", "steps/min": " steps/min", "min": " min"}


@dataclass(frozen=True)
class FlagFact:
    """One flag as shown: times into the recording, clipped to it."""

    rule: str
    name: str  # plain name of the rule ("leaning forward"); the id for unknown rules
    start_s: float  # into the recording
    end_s: float
    value: str  # "13.0° vs 10.0°"
    message: str

    @property
    def when(self) -> str:
        return f"{format_clock(self.start_s)}–{format_clock(self.end_s)}"

    @property
    def duration(self) -> str:
        return format_duration(self.end_s - self.start_s)


@dataclass(frozen=True)
class Facts:
    """What a session says, in sentences (plain text: escape it where it goes into markup)."""

    walked: bool
    sentences: list[str]  # steps and time, pace, evenness
    posture: str  # lean, or why it could not be assessed
    flags: list[FlagFact]
    notes: list[str]  # analysis warnings, as given


def clock_offset_s(session: Mapping[str, Any]) -> float:
    """The input clock's reading at the recording's start (times shown are t - this)."""
    return finite_or_none(session.get("start_s")) or 0.0


def recording_window_s(session: Mapping[str, Any]) -> tuple[float, float | None]:
    """(start, end) of the recording on the input's clock; end None when unknown."""
    start = clock_offset_s(session)
    duration = finite_or_none(session.get("duration_s"))
    return start, None if duration is None else start + duration


def clipped_flags(session: Mapping[str, Any],
                  rules: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The session's flags (optionally only ``rules``) with start/end inside the recording;
    a flag with no time left inside it, or without times, is dropped."""
    start, end = recording_window_s(session)
    out = []
    for flag in session.get("flags") or []:
        if rules is not None and flag.get("rule") not in rules:
            continue
        a, b = finite_or_none(flag.get("start_s")), finite_or_none(flag.get("end_s"))
        if a is None or b is None:
            continue
        a = max(a, start)
        b = b if end is None else min(b, end)
        if b > a:
            out.append({**flag, "start_s": a, "end_s": b})
    return out


def flagged_seconds(session: Mapping[str, Any], rule: str) -> float:
    """Seconds of the recording under flags of ``rule`` (overlaps counted once)."""
    spans = sorted((f["start_s"], f["end_s"]) for f in clipped_flags(session, [rule]))
    total, reach = 0.0, -math.inf
    for a, b in spans:
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def whole(value: float) -> int:
    """``value`` rounded to a whole number, with -0 as 0."""
    return int(round(value)) + 0


def _number(value: Any, spec: str = ".1f") -> str:
    number = finite_or_none(value)
    if number is None:
        return "–" if value is None else str(value)
    text = f"{number:{spec}}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def flag_value_text(flag: Mapping[str, Any]) -> str:
    """``13.0° vs 10.0°``: the flag's value against its threshold, with the unit."""
    unit = flag.get("unit")
    suffix = _UNIT_SUFFIX.get(str(unit), f" {unit}") if unit else ""
    return f"{_number(flag.get('value'))}{suffix} vs {_number(flag.get('threshold'))}{suffix}"


def flag_facts(session: Mapping[str, Any]) -> list[FlagFact]:
    offset = clock_offset_s(session)
    return [
        FlagFact(
            rule=str(f.get("rule")),
            name=RULE_NAMES.get(str(f.get("rule")), str(f.get("rule"))),
            start_s=f["start_s"] - offset,
            end_s=f["end_s"] - offset,
            value=flag_value_text(f),
            message=str(f.get("message") or ""),
        )
        for f in clipped_flags(session)
    ]


def pace_spm(session: Mapping[str, Any]) -> float | None:
    """Average pace: steps ÷ walking minutes (None without walking)."""
    steps = finite_or_none(session.get("steps"))
    walking_s = finite_or_none(session.get("walking_s"))
    if not steps or not walking_s:
        return None
    return steps / (walking_s / 60.0)


def _steps_sentence(session: Mapping[str, Any], limits: Thresholds) -> str | None:
    asym = session.get("asymmetry") or {}
    si = finite_or_none(asym.get("step_time_si_pct"))
    if si is None:
        return None
    si = abs(si)
    limit = limits.step_time_si_pct
    limit_text = f" (limit {limit:g} %)" if limit is not None else ""
    longer = asym.get("longer_steps")
    uneven_flags = clipped_flags(session, ["uneven-steps"])
    if uneven_flags:
        worst = max(finite_or_none(f.get("value")) or 0.0 for f in uneven_flags)
        return (f"Your steps were uneven for "
                f"{format_duration(flagged_seconds(session, 'uneven-steps'))}: up to "
                f"{whole(worst)} % difference in step time between the legs{limit_text}; "
                f"over the whole walk {_difference(si, longer)}.")
    if whole(si) == 0:
        return f"Your steps were even: left and right steps took the same time{limit_text}."
    if limit is not None and si > limit:
        return (f"Over the whole walk {_difference(si, longer)}{limit_text}, though never for "
                "long enough to be flagged.")
    return f"Your steps were even: {_difference(si, longer)}{limit_text}."


def _difference(si: float, longer: Any) -> str:
    if whole(si) == 0:
        return "left and right steps took the same time"
    if longer in ("left", "right"):
        return f"{longer} steps took {whole(si)} % longer than the other side"
    return f"left and right steps differed in timing by {whole(si)} %"


def _posture(session: Mapping[str, Any], walked: bool) -> str:
    from stridewatch.report import lean_reference as lean_words

    lean = session.get("lean") or {}
    sagittal = finite_or_none(lean.get("sagittal_deg_median"))
    if not walked or sagittal is None:
        return "Posture could not be assessed because no walking was measured."
    if not lean_words.judged(lean):  # no upright reference: lean is only relative
        return f"{lean_words.NOT_JUDGED} {lean_words.HOW_TO_FIX}"
    if whole(sagittal) == 0:
        typical = "Your trunk was typically upright"
    else:
        direction = "forward" if sagittal > 0 else "backward"
        typical = f"Your trunk was typically {abs(whole(sagittal))}° {direction} of upright"
    frontal = finite_or_none(lean.get("frontal_deg_median"))
    if frontal is not None:
        side = "no side tilt" if whole(frontal) == 0 else f"side tilt {abs(whole(frontal))}°"
        typical += f", {side}"
    if lean.get("reference") is not None:
        typical += f" (compared with {lean_words.compared_with(lean)})"
    problems = [f"{RULE_NAMES[rule]} for {format_duration(flagged_seconds(session, rule))}"
                for rule in LEAN_RULES if flagged_seconds(session, rule) > 0]
    text = typical + "."
    if problems:
        text += " It went past your limits: " + ", ".join(problems) + "."
    else:
        text += " It stayed within your limits."
    if lean.get("reference") == "auto":
        text += (" Upright was estimated from your walking because there was no standing "
                 "calibration, so differences under about 5° mean little.")
    return text


def session_facts(session: Mapping[str, Any], limits: Thresholds | None = None) -> Facts:
    """The facts of one ``stridewatch.session/1`` dict, judged against ``limits`` (the
    patient's thresholds; the thresholds the session's flags report take precedence)."""
    limits = (limits or Thresholds()).with_flag_thresholds(session.get("flags") or [])
    steps = int(finite_or_none(session.get("steps")) or 0)
    walking_s = finite_or_none(session.get("walking_s"))
    duration_s = finite_or_none(session.get("duration_s"))
    bouts = session.get("bouts") or []
    pace = pace_spm(session)
    walked = pace is not None
    sentences: list[str] = []
    if not walked:
        sentences.append(
            f"No walking was detected in this {format_duration(duration_s)} recording.")
    else:
        sentences.append(
            f"You took {steps:,} steps in {format_duration(walking_s)} of walking "
            f"({count_of(len(bouts), 'walk')} in a {format_duration(duration_s)} recording).")
        brisk = limits.brisk_spm
        slow_s = flagged_seconds(session, "slow-pace")
        if brisk is None:
            verdict = ""
        elif slow_s > 0:
            verdict = (f": slower than brisk for {format_duration(slow_s)} of it (brisk walking "
                       f"is {brisk:g} steps a minute or more)")
        elif pace < brisk:
            verdict = (f": a little below brisk on average (brisk walking is {brisk:g} steps a "
                       "minute or more)")
        else:
            band = "fast" if pace >= FAST_SPM else "brisk"
            verdict = f": {band} (brisk walking is {brisk:g} steps a minute or more)"
        sentences.append(f"Your average pace was {whole(pace)} steps a minute{verdict}.")
        steps_text = _steps_sentence(session, limits)
        if steps_text:
            sentences.append(steps_text)
    return Facts(walked, sentences, _posture(session, walked), flag_facts(session),
                 [str(w) for w in session.get("warnings") or []])
