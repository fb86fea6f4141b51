"""The per-field rules form: every setting of every rule and of the walking plan as one input
with its unit and allowed range, turned back into the patient's TOML overrides.

The form's values are written as TOML (a value that does not read as a number is written as
text) and that text is checked by ``RuleSet.with_overrides``, the very function that checks a
rules file and the advanced TOML box, so the form cannot accept what a file would refuse. Only
settings that differ from the shipped rules are kept; the patient's other overrides
(version, notes, guideline wording) are carried over unchanged.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from analysis.rules import PARAMETERS, PLAN_MINUTES, PLAN_TABLE, RANGES, RuleSet, WalkingPlan

#: What each unit is called on the form.
UNIT_LABELS = {"steps/min": "steps/min", "s": "s", "min": "min", "fraction": "share 0–1",
               "deg": "°", "%": "%", "strides": "strides", "walks": "walks"}
_PLAN_UNITS = {**{name: "min" for name in PLAN_MINUTES}, "walks_per_week": "walks"}
_SETTING_IN_MESSAGE = re.compile(r"\[([\w-]+)\] (\w+)")


@dataclass(frozen=True)
class Field:
    """One input: ``name`` is ``table.key`` (the TOML table and setting)."""

    table: str
    key: str
    value: str
    unit: str | None  # None: a yes/no setting
    default: str

    @property
    def name(self) -> str:
        return f"{self.table}.{self.key}"

    @property
    def html_id(self) -> str:
        return "field-" + self.name.replace(".", "-")

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS.get(self.unit or "", self.unit or "")

    @property
    def low(self) -> float | None:
        return RANGES[self.unit][0] if self.unit in RANGES else None

    @property
    def high(self) -> float | None:
        return RANGES[self.unit][1] if self.unit in RANGES else None

    @property
    def step(self) -> str:
        return "1" if self.unit in RANGES and RANGES[self.unit][2] else "any"

    @property
    def range_text(self) -> str:
        if self.unit not in RANGES:
            return "yes or no"
        low, high, whole = RANGES[self.unit]
        return f"{'whole number ' if whole else ''}{low:g} to {high:g}"


@dataclass(frozen=True)
class FieldGroup:
    table: str
    fields: list[Field]


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def form_groups(current: RuleSet, shipped: RuleSet) -> list[FieldGroup]:
    """The form's inputs filled with the patient's rules in use (``current``)."""
    groups = []
    for rule_id, spec in PARAMETERS.items():
        rule, base = current.rules[rule_id], shipped.rules[rule_id]
        items = [Field(rule_id, "enabled", _shown(rule.enabled), None, _shown(base.enabled))]
        items += [Field(rule_id, key, _shown(rule.params[key]), unit, _shown(base.params[key]))
                  for key, (_, unit) in spec.items()]
        groups.append(FieldGroup(rule_id, items))
    plan_items = []
    for f in fields(WalkingPlan):
        unit = _PLAN_UNITS.get(f.name)
        plan_items.append(Field(PLAN_TABLE, f.name, _shown(getattr(current.plan, f.name)),
                                unit, _shown(getattr(shipped.plan, f.name))))
    groups.append(FieldGroup(PLAN_TABLE, plan_items))
    return groups


def _literal(text: str, unit: str | None) -> Any:
    """A form value as the TOML value it would be in a file."""
    text = text.strip()
    if unit is None:
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text  # written as text: the rule set's check refuses it like a file's "abc"
    return number if math.isfinite(number) else text


def overrides_from_form(form: Mapping[str, list[str]], shipped: RuleSet,
                        stored_toml: str | None) -> str:
    """The patient's overrides as TOML text: the form's settings that differ from the shipped
    rules, merged into what the patient had (so version, notes and wording stay)."""
    try:
        doc = tomllib.loads(stored_toml or "")
    except tomllib.TOMLDecodeError:
        doc = {}
    for group in form_groups(shipped, shipped):
        for f in group.fields:
            sent = form.get(f.name)
            if not sent:
                continue
            # a check box sends "true" beside its hidden "false"
            value = _literal("true" if "true" in sent else sent[-1], f.unit)
            table = doc.setdefault(f.table, {})
            if not isinstance(table, dict):
                continue  # the check below reports a malformed stored table
            if value == _literal(f.default, f.unit) and type(value) is not str:
                table.pop(f.key, None)
            else:
                table[f.key] = value
    return to_toml({k: v for k, v in doc.items() if v != {}})


def to_toml(doc: Mapping[str, Any]) -> str:
    """TOML text of top-level scalars and tables of scalars (a rules file's shape)."""
    top = [f"{key} = {_toml_value(value)}" for key, value in doc.items()
           if not isinstance(value, dict)]
    out = "\n".join(top) + ("\n" if top else "")
    for key, table in doc.items():
        if isinstance(table, dict):
            out += ("\n" if out else "") + f"[{key}]\n"
            out += "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    # a TOML basic string: JSON's escapes are TOML's, plus DEL which TOML wants escaped
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def error_field(message: str) -> str | None:
    """The form input an error message of the rule check is about (``[table] key``)."""
    match = _SETTING_IN_MESSAGE.search(message)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def with_sent_values(groups: list[FieldGroup], form: Mapping[str, list[str]]) -> list[FieldGroup]:
    """The groups showing what was sent (a refused form is shown again as it was filled)."""
    def sent(f: Field) -> str:
        values = form.get(f.name)
        if not values:
            return f.value
        if f.unit is None:
            return "true" if "true" in values else "false"
        return values[-1]

    return [FieldGroup(g.table, [Field(f.table, f.key, sent(f), f.unit, f.default)
                                 for f in g.fields]) for g in groups]


def _flat(toml_text: str | None) -> dict[str, Any]:
    try:
        doc = tomllib.loads(toml_text or "")
    except tomllib.TOMLDecodeError:
        return {}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out.update({f"[{key}] {k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def changes_between(before_toml: str | None, after_toml: str) -> list[str]:
    """What a change of the overrides changed, one line per setting ("[table] key: a → b";
    "default" for a setting the patient did not override)."""
    before, after = _flat(before_toml), _flat(after_toml)
    lines = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if old != new:
            lines.append(f"{key}: {'default' if old is None else _shown(old)} → "
                         f"{'default' if new is None else _shown(new)}")
    return lines
