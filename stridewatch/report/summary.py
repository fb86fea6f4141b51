"""Plain-language session summary for the wearer, in the terminal.

(The HTML/PDF report has its own, longer wording in ``stridewatch.report.html``.)
"""

from __future__ import annotations

from analysis.rules import RuleSet
from stridewatch.report.durations import format_clock, format_duration
from stridewatch.report.lean_reference import HOW_TO_FIX, NOT_JUDGED, compared_with, judged


def wearer_summary(session: dict, rules: RuleSet) -> str:
    """A short text a wearer can read after a walk (from a stridewatch.session/1 dict).

    Pace and evenness are judged against ``rules`` (the patient's thresholds).
    """
    pace_rule, steps_rule = rules.rules["slow-pace"], rules.rules["uneven-steps"]
    brisk_spm = pace_rule["threshold_spm"]
    uneven_pct = steps_rule["threshold_pct"]
    start = session.get("start_s") or 0.0  # flags are on the input's clock; show time into it
    lines = [f"{session['source']}"]
    bouts = session["bouts"]
    walks = "walk" if len(bouts) == 1 else "walks"
    lines.append(
        f"  Recorded {format_duration(session['duration_s'])}; walking "
        f"{format_duration(session['walking_s'])} "
        f"in {len(bouts)} {walks}; {session['steps']:,} steps."
    )
    cadence = session["cadence_spm"]
    if cadence is None:
        lines.append("  No walking found in this recording.")
    else:
        pace = "brisk" if cadence >= brisk_spm else "slower than brisk"
        lines.append(
            f"  Pace: {cadence:.0f} steps/min, {pace} (brisk walking is {brisk_spm:.0f} or more)."
        )
        lean = session["lean"]
        if lean["sagittal_deg_median"] is not None and judged(lean):
            sag = lean["sagittal_deg_median"]
            direction = "forward" if sag >= 0 else "back"
            lines.append(
                f"  Posture: trunk typically {abs(sag):.0f}° {direction} of upright "
                f"(compared with {compared_with(lean)}); side tilt "
                f"{abs(lean['frontal_deg_median']):.0f}°."
            )
        elif lean["sagittal_deg_median"] is not None:
            lines.append(f"  {NOT_JUDGED} {HOW_TO_FIX}")
        si = session["asymmetry"]["step_time_si_pct"]
        if si is not None:
            even = "even" if si <= uneven_pct else "uneven"
            side = session["asymmetry"].get("longer_steps")
            lines.append(
                f"  Steps: {even} — {side} steps {si:.0f}% longer than the other side."
            )
    flags = session["flags"]
    if flags:
        lines.append("  To work on:")
        for f in flags:
            lines.append(
                f"   - [{f['rule']}, {format_clock(f['start_s'] - start)}–"
                f"{format_clock(f['end_s'] - start)}] {f['message']}"
            )
    elif cadence is not None and judged(session["lean"]):
        lines.append("  Well done: no guideline was broken on this walk.")
    elif cadence is not None:
        lines.append("  No pace, step or walking-time guideline was broken; posture was "
                     "not judged.")
    for warning in session.get("warnings", []):
        lines.append(f"  Note: {warning}")
    return "\n".join(lines)
