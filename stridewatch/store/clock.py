"""The store's one recording clock: when a recording started, in UTC, and where that came from.

A sensor with its own clock (Polar PMD stamps) is believed when it agrees with the host's clock
at recording time within ``CLOCK_AGREEMENT_S``; otherwise (a strap whose clock was never set
runs from its power-on date) the host's time is used. A recording without any clock (a CSV
file) is dated by its file: modification time minus its duration. A date given by the user
wins over all of these. Stored in UTC, shown in local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

#: How far the sensor's clock may be from the host's before the host's is used.
CLOCK_AGREEMENT_S = 5 * 60.0

#: Where a session's recording time came from, weakest first.
CLOCK_SOURCES = ("local", "file", "host", "device", "given")


@dataclass(frozen=True)
class RecordingClock:
    """The recording's start in UTC and where it came from (one of ``CLOCK_SOURCES``)."""

    start_utc: datetime
    source: str
    note: str = ""


def recording_clock(meta: dict[str, Any], path: Path, host_start_unix_s: float | None,
                    duration_s: float | None = None) -> RecordingClock:
    """The recording's start time by the policy in this module's docstring.

    ``meta``: the reader's metadata (``time_source`` and ``start_unix_s`` of the first
    sample); ``host_start_unix_s``: the host's time of the first data notification.
    """
    start = meta.get("start_unix_s")
    if meta.get("time_source") == "device" and isinstance(start, int | float):
        if host_start_unix_s is None:
            return RecordingClock(_utc(start), "device", "no host time to check it against")
        off_s = float(start) - host_start_unix_s
        if abs(off_s) <= CLOCK_AGREEMENT_S:
            return RecordingClock(_utc(start), "device")
        return RecordingClock(
            _utc(host_start_unix_s), "host",
            f"the sensor's clock was {_span(off_s)} off the computer's; using the computer's")
    if isinstance(start, int | float):
        return RecordingClock(_utc(start), "host")
    if host_start_unix_s is not None:
        return RecordingClock(_utc(host_start_unix_s), "host")
    end = path.stat().st_mtime
    return RecordingClock(_utc(end - (duration_s or 0.0)), "file",
                          "no clock in the recording; dated by its file's modification time")


def given_clock(value: date | datetime) -> RecordingClock:
    """A user-given date or time (naive = local time; a date = local midnight)."""
    return RecordingClock(to_utc(value), "given")


def to_utc(value: date | datetime) -> datetime:
    """An aware UTC datetime: naive values and dates are read as local time."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.astimezone(UTC).replace(microsecond=0)


def _utc(unix_s: float) -> datetime:
    return datetime.fromtimestamp(float(unix_s), UTC).replace(microsecond=0)


def _span(seconds: float) -> str:
    days = abs(seconds) / 86400
    if days >= 1:
        return f"{days:.0f} day(s)"
    return f"{abs(seconds) / 60:.0f} min"
