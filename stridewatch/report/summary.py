"""Plain-language session summary for the wearer, in the terminal.

The sentences come from ``stridewatch.report.facts`` (the report shows the same ones).
"""

from __future__ import annotations

from analysis.rules import RuleSet
from stridewatch.report.facts import session_facts
from stridewatch.report.lean_reference import judged
from stridewatch.report.limits import thresholds_from_rules


def wearer_summary(session: dict, rules: RuleSet) -> str:
    """A short text a wearer can read after a walk (from a stridewatch.session/1 dict).

    Pace and evenness are judged against ``rules`` (the patient's thresholds).
    """
    facts = session_facts(session, thresholds_from_rules(rules))
    lines = [f"{session['source']}"]
    lines += [f"  {sentence}" for sentence in facts.sentences]
    if facts.walked:
        lines.append(f"  {facts.posture}")
    if facts.flags:
        lines.append("  To work on:")
        for flag in facts.flags:
            lines.append(f"   - [{flag.rule}, {flag.when}] {flag.message}")
    elif facts.walked and judged(session.get("lean") or {}):
        lines.append("  Well done: no guideline was broken on this walk.")
    elif facts.walked:
        lines.append("  No pace, step or walking-time guideline was broken; posture was "
                     "not judged.")
    for note in facts.notes:
        lines.append(f"  Note: {note}")
    return "\n".join(lines)
