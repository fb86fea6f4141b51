"""The limits a report draws and words verdicts against, taken from the rules in use."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.rules import PARAMETERS, RuleSet


def _default(rule_id: str, key: str) -> float:
    """The shipped value of a rule's setting (one place: ``analysis.rules.PARAMETERS``)."""
    return PARAMETERS[rule_id][key][0]


@dataclass(frozen=True)
class Thresholds:
    """Rule thresholds drawn on plots and used in plain-language verdicts.

    Defaults are the shipped rule settings; ``None`` switches a rule off (e.g. no
    forward-lean rule for a patient with spinal stenosis).
    """

    # slow-pace: median cadence below this
    brisk_spm: float | None = _default("slow-pace", "threshold_spm")
    # forward-lean: sagittal beyond +this
    forward_lean_deg: float | None = _default("forward-lean", "threshold_deg")
    # back-arch: sagittal beyond -this
    back_arch_deg: float | None = _default("back-arch", "threshold_deg")
    # side-lean: |frontal| beyond this
    side_lean_deg: float | None = _default("side-lean", "threshold_deg")
    # uneven-steps: |SI| beyond this
    step_time_si_pct: float | None = _default("uneven-steps", "threshold_pct")

    def with_flag_thresholds(self, flags: Sequence[Mapping[str, Any]]) -> Thresholds:
        """Thresholds the flags report take precedence (they are what the rules used)."""
        fields = {
            "slow-pace": "brisk_spm",
            "forward-lean": "forward_lean_deg",
            "back-arch": "back_arch_deg",
            "side-lean": "side_lean_deg",
            "uneven-steps": "step_time_si_pct",
        }
        values = {
            "brisk_spm": self.brisk_spm,
            "forward_lean_deg": self.forward_lean_deg,
            "back_arch_deg": self.back_arch_deg,
            "side_lean_deg": self.side_lean_deg,
            "step_time_si_pct": self.step_time_si_pct,
        }
        for flag in flags:
            name = fields.get(str(flag.get("rule")))
            threshold = finite_or_none(flag.get("threshold"))
            if name is not None and threshold is not None:
                values[name] = abs(threshold)
        return Thresholds(**values)


def finite_or_none(value: Any) -> float | None:
    """``value`` as a finite float, or None (missing, null, NaN, not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def thresholds_from_rules(rules: RuleSet) -> Thresholds:
    """The plotted limits of a rule set; a switched-off rule has no limit (None)."""
    def param(rule_id: str, key: str) -> float | None:
        rule = rules.rules.get(rule_id)
        return None if rule is None or not rule.enabled else rule.params.get(key)

    return Thresholds(
        brisk_spm=param("slow-pace", "threshold_spm"),
        forward_lean_deg=param("forward-lean", "threshold_deg"),
        back_arch_deg=param("back-arch", "threshold_deg"),
        side_lean_deg=param("side-lean", "threshold_deg"),
        step_time_si_pct=param("uneven-steps", "threshold_pct"),
    )


def guidelines_from_rules(rules: RuleSet) -> dict[str, str]:
    """Rule id -> guideline text from the rules file(s) in use."""
    return {rule_id: rule.guideline for rule_id, rule in rules.rules.items() if rule.guideline}


