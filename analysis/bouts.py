"""Walking bouts (gait sequences): runs of initial contacts that form a walk.

Contacts are joined into one bout while consecutive contacts are at most
``MAX_BREAK_S`` apart (the Mobilise-D walking-bout rule allows pauses up to
3 s) and lie in the same gap-free segment. Isolated contacts at either end
that are further than ``MAX_WALKING_STEP_S`` from their neighbour (standing
up, sitting down, a bump) are trimmed, and a bout needs ``MIN_BOUT_STEPS``
contacts. A bout runs from its first to its last contact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_BREAK_S = 3.0
MAX_WALKING_STEP_S = 1.5
MIN_BOUT_STEPS = 4


@dataclass(frozen=True)
class Bout:
    """Contacts ``first`` .. ``last`` (inclusive indices) and their times in seconds."""

    first: int
    last: int
    start_s: float
    end_s: float

    @property
    def steps(self) -> int:
        return self.last - self.first + 1


def find_bouts(ic_t_s: np.ndarray, ic_segment: np.ndarray) -> list[Bout]:
    """Bouts over sorted contact times (s) with their gap-free segment numbers."""
    n = len(ic_t_s)
    if n == 0:
        return []
    gaps = np.diff(ic_t_s)
    cut = (gaps > MAX_BREAK_S) | (np.diff(ic_segment) != 0)
    starts = np.r_[0, np.flatnonzero(cut) + 1]
    ends = np.r_[np.flatnonzero(cut), n - 1]
    bouts = []
    for first, last in zip(starts, ends, strict=True):
        while last - first >= 1 and ic_t_s[first + 1] - ic_t_s[first] > MAX_WALKING_STEP_S:
            first += 1
        while last - first >= 1 and ic_t_s[last] - ic_t_s[last - 1] > MAX_WALKING_STEP_S:
            last -= 1
        if last - first + 1 >= MIN_BOUT_STEPS:
            bouts.append(Bout(int(first), int(last), float(ic_t_s[first]), float(ic_t_s[last])))
    return bouts
