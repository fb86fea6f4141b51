"""Column headers of text recordings: names in any case, common aliases, units in the header.

``parse_header`` maps a header cell such as ``X [mg]``, ``acc_x``, ``Acc_Y``,
``timestamp (ms)`` or ``gyro_z_rad_s`` to a role (t, ax..az, gx..gz) and the
unit it states. ``find_columns`` picks one column per role from a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stridewatch.inputs.recording import InputFileError

ACC_ROLES = ("ax", "ay", "az")
GYRO_ROLES = ("gx", "gy", "gz")

#: Time column names, best first.
TIME_NAMES = ("t", "time", "time_s", "timestamp", "time_stamp", "sampletime", "sample_time",
              "sensor_timestamp", "unix_time", "epoch", "elapsed_time", "seconds_elapsed")
ACC_PREFIXES = ("", "a", "acc", "accel", "accelerometer", "acceleration", "linacc")
GYRO_PREFIXES = ("g", "gyr", "gyro", "gyroscope", "angular_rate", "angular_velocity", "rot", "rate")
#: Unit spellings (lower case, spaces removed) -> canonical unit.
UNITS = {
    "g": "g", "mg": "mg",
    "m/s2": "m/s2", "m/s^2": "m/s2", "m/s²": "m/s2", "ms-2": "m/s2", "ms^-2": "m/s2",
    "m*s-2": "m/s2", "mps2": "m/s2", "ms2": "m/s2", "m_s2": "m/s2",
    "deg/s": "deg/s", "dps": "deg/s", "°/s": "deg/s", "deg_s": "deg/s",
    "rad/s": "rad/s", "rad_s": "rad/s", "rads": "rad/s",
    "s": "s", "sec": "s", "ms": "ms", "us": "us", "µs": "us", "μs": "us", "ns": "ns",
}
#: Units written as a name suffix (longest first).
SUFFIX_UNITS = {"_mps2": "m/s2", "_m_s2": "m/s2", "_rad_s": "rad/s", "_deg_s": "deg/s",
                "_dps": "deg/s", "_mg": "mg", "_g": "g", "_ns": "ns", "_us": "us", "_ms": "ms",
                "_s": "s"}


@dataclass(frozen=True)
class Column:
    """A header cell understood: its ``role`` (t, ax.., gx.. or None) and stated ``unit``."""

    index: int
    header: str
    role: str | None
    unit: str | None


def parse_header(index: int, header: str) -> Column:
    """Role and unit of one header cell (case-insensitive; unit in [] or () or a suffix)."""
    text = header.strip().lstrip("\ufeff")
    unit = None
    match = re.search(r"[\[(]([^\])]*)[\])]\s*$", text)
    if match:
        unit = UNITS.get(match.group(1).strip().lower().replace(" ", ""))
        text = text[: match.start()]
    key = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")
    role = _role(key)
    if role is None and unit is None:  # a unit written as a suffix: ax_g, time_ms, gyro_x_rad_s
        for suffix, suffix_unit in SUFFIX_UNITS.items():
            if key.endswith(suffix) and _role(key[: -len(suffix)]):
                role, unit = _role(key[: -len(suffix)]), suffix_unit
                break
    return Column(index, header, role, unit)


def _role(key: str) -> str | None:
    if key in TIME_NAMES:
        return "t"
    match = re.fullmatch(r"([a-z_]*?)_?([xyz])(?:_([a-z]+))?", key)
    if match:
        prefix, axis, tail = match.groups()
        prefix = prefix.strip("_")
        if tail in ACC_PREFIXES[1:] and prefix == "":
            prefix, tail = tail, None  # x_acc
        if tail is None and prefix in ACC_PREFIXES:
            return "a" + axis
        if tail is None and prefix in GYRO_PREFIXES:
            return "g" + axis
    return None


def find_columns(headers: list[str], source: str, line: int = 1) -> dict[str, Column]:
    """One column per role from a header row; the time and three acceleration axes required."""
    columns = [parse_header(i, h) for i, h in enumerate(headers)]
    chosen: dict[str, Column] = {}
    for column in columns:
        if column.role is None:
            continue
        current = chosen.get(column.role)
        if current is None or (column.role == "t" and _time_rank(column) < _time_rank(current)):
            chosen[column.role] = column
    missing = [r for r in ("t", *ACC_ROLES) if r not in chosen]
    if missing:
        raise InputFileError(
            f"{source}, line {line}: missing column(s) {', '.join(missing)}; the header must name "
            f"t,ax,ay,az (optional gx,gy,gz; aliases such as timestamp, acc_x, X [mg] are "
            f"understood); found: {', '.join(h.strip() for h in headers)}"
        )
    if not all(r in chosen for r in GYRO_ROLES):
        for role in GYRO_ROLES:
            chosen.pop(role, None)
    units = {chosen[r].unit for r in ACC_ROLES}
    if len(units) > 1:
        raise InputFileError(f"{source}, line {line}: acceleration columns state different "
                             f"units ({', '.join(sorted(str(u) for u in units))})")
    return chosen


def _time_rank(column: Column) -> int:
    key = re.sub(r"[^0-9a-z]+", "_", re.sub(r"[\[(].*$", "", column.header).lower()).strip("_")
    return TIME_NAMES.index(key) if key in TIME_NAMES else len(TIME_NAMES)
