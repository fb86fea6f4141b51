"""Command-line options shared by several commands: rules files and calibration segments."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported where used (numpy comes with them): every CLI start imports this module.
if TYPE_CHECKING:
    from analysis.rules import RuleSet


def parse_calibrate(text: str | None) -> tuple[float, float] | None:
    """``--calibrate START:END`` in seconds, or None."""
    from stridewatch.inputs import InputFileError

    if text is None:
        return None
    try:
        start, end = (float(x) for x in text.split(":"))
    except ValueError as exc:
        raise InputFileError(f"--calibrate {text!r}: expected START:END in seconds") from exc
    if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
        raise InputFileError(
            f"--calibrate {text!r}: START and END must be seconds with 0 ≤ START < END"
        )
    return start, end


def iso_date(text: str) -> date:
    """An argparse type for ``YYYY-MM-DD`` with a message a person can act on."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD, "
                                         "e.g. 2025-03-14") from None


def positive_number(text: str) -> float:
    """An argparse type: a finite number > 0 (refuses nan, inf, 0 and negatives)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number above 0")
    return value


DATA_DIR = Path(__file__).resolve().parents[2] / "data"
INSTALLED_DATA_DIR = Path(sys.prefix) / "share" / "stridewatch"


def shipped_file(name: str) -> Path:
    """A file shipped in data/: from the checkout (editable install) or the installed copy."""
    for folder in (DATA_DIR, INSTALLED_DATA_DIR):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"{name} not found in {DATA_DIR} or {INSTALLED_DATA_DIR}")


def default_rules() -> RuleSet:
    """The default guideline rules shipped in data/guidelines.toml (thresholds and wording)."""
    from analysis.rules import rules_from_toml

    path = shipped_file("guidelines.toml")
    return rules_from_toml(path.read_text(encoding="utf-8"), path.name)


def load_rules(path: str | Path | None) -> RuleSet:
    """Default rules, with a per-patient TOML file's overrides when given."""
    from analysis.errors import InputError
    from stridewatch.inputs import InputFileError

    rules = default_rules()
    if path is None:
        return rules
    text = read_rules_file(path)
    try:
        return rules.with_overrides(text, str(path))
    except InputError as exc:
        raise InputFileError(str(exc)) from exc


def read_rules_file(path: str | Path) -> str:
    """A rules file's text (UTF-8, at most ``MAX_RULES_BYTES``); InputFileError otherwise."""
    from analysis.rules import MAX_RULES_BYTES
    from stridewatch.inputs import InputFileError

    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_RULES_BYTES + 1)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read rules file ({exc.strerror})") from exc
    if len(raw) > MAX_RULES_BYTES:
        raise InputFileError(f"{path}: over {MAX_RULES_BYTES // 1024} KB; not a rules file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from None


def add_store_options(parser: argparse.ArgumentParser, *, save_by_default: bool) -> None:
    """``--patient`` and ``--db``, plus ``--save`` or ``--no-save`` for the session store."""
    parser.add_argument("--patient", help="patient id: the patient's stored rules apply "
                                          "(unless --rules) and the session is filed under it")
    parser.add_argument("--db", help=store_help())
    if save_by_default:
        parser.add_argument("--no-save", dest="save", action="store_false",
                            help="do not keep the session in the store")
    else:
        parser.add_argument("--save", action="store_true",
                            help="keep the session in the store (see `stridewatch history`)")


def store_help() -> str:
    """Help text of every ``--db`` option."""
    return ("session store: a file or a postgresql:// URL "
            "(default: $STRIDEWATCH_DB, else the user's data folder)")


def add_analysis_options(
    parser: argparse.ArgumentParser,
    *,
    units: bool = True,
    rules_help: str = "per-patient rules TOML overriding data/guidelines.toml",
) -> None:
    """``--rules``, ``--calibrate``, ``--axes`` (and ``--units``) for every analysing command."""
    parser.add_argument("--rules", help=rules_help)
    parser.add_argument("--calibrate", metavar="START:END",
                        help="standing calibration segment in seconds (lean reference)")
    parser.add_argument("--axes",
                        help="sensor mounting as signed sensor axes for up, forward and the "
                             "wearer's right, e.g. 'V=x,AP=-z,ML=-y' (ML may be left out)")
    if units:
        parser.add_argument("--units", choices=["g", "m/s2"],
                            help="acceleration units (default: detect)")
        from analysis.time_units import TIME_UNITS_S

        parser.add_argument("--time-unit", choices=list(TIME_UNITS_S),
                            help="unit of a text file's time column (default: from the header, "
                                 "else detected from the sample interval)")


def require_accelerometer(profile: Any, where: str) -> None:
    """Refuse, in one line, a sensor profile that sends no acceleration (RSC foot pods send
    speed and cadence only): the analysis is built on a trunk accelerometer."""
    from stridewatch.inputs import InputFileError

    # (a fixed range is no reason: the micro:bit streams acceleration at a range it chooses)
    if profile is not None and not profile.streams_acceleration:
        raise InputFileError(
            f"{where}: {profile.title} sends cadence only, no acceleration; stridewatch "
            "analyses a trunk-worn accelerometer (steps, lean and asymmetry), so this sensor "
            "is not supported for recording or analysis"
        )
