"""How the lean reference of a session is said to people (summary, report, live view).

The choice itself is made in ``analysis.lean``; this module only words it, from the
``lean`` object of a ``stridewatch.session/1`` dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.lean import REFERENCE_ADVICE

# reference kind -> what lean was compared with (old stored sessions say "auto")
_COMPARED_WITH = {
    "calibrated": "your standing calibration",
    "standing": "you standing still",
    "stored": "your stored standing reference for this sensor",
    "relative": "your own usual walking posture (no upright reference)",
    "auto": "an upright estimated from walking (older analysis)",
}

NOT_JUDGED = "Posture could not be judged: this recording has no upright reference."
HOW_TO_FIX = f"To have your posture checked, {REFERENCE_ADVICE}."


def judged(lean: Mapping[str, Any]) -> bool:
    """Whether posture was judged against upright (False for ``relative``)."""
    return lean.get("reference") != "relative"


def compared_with(lean: Mapping[str, Any]) -> str:
    """'you standing still (0–12 s)' and the like."""
    kind = str(lean.get("reference"))
    text = _COMPARED_WITH.get(kind, kind)
    segment = lean.get("reference_segment_s")
    if segment and kind in ("calibrated", "standing"):
        text += f" at {segment[0]:.0f}–{segment[1]:.0f} s"
    return text


def reference_label(lean: Mapping[str, Any]) -> str:
    """Short label for tables: 'standing (0–12 s)'."""
    kind = str(lean.get("reference"))
    segment = lean.get("reference_segment_s")
    if segment and kind in ("calibrated", "standing"):
        return f"{kind} ({segment[0]:.0f}–{segment[1]:.0f} s)"
    return kind
