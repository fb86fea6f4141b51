"""Durations and times into a recording, written the way people read them.

Durations are rounded down to the second: 4 min 59.6 s of walking is "4 min 59 s", so a
walk short of a goal never reads as meeting it. Clock times round to the nearest second.
"""

from __future__ import annotations

import math


def format_duration(seconds: float | None) -> str:
    """``45 s``, ``8 min 30 s``, ``1 h 5 min``; ``–`` when unknown."""
    if seconds is None:
        return "–"
    total = max(0, math.floor(seconds + 1e-6))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        minutes, secs = divmod(total, 60)
        return f"{minutes} min" + (f" {secs} s" if secs else "")
    hours, rest = divmod(total, 3600)
    return f"{hours} h" + (f" {rest // 60} min" if rest // 60 else "")


def format_clock(seconds: float | None) -> str:
    """Time into the recording as ``m:ss`` or ``h:mm:ss``."""
    if seconds is None:
        return "–"
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
