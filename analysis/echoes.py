"""Second impacts within one stance: the weaker of two same-side neighbouring contacts.

A real initial contact moves the body's weight onto the other leg, so the
contacts of a walk alternate sides (``analysis.sides`` labels them from the
trunk's sway after each contact). When two consecutive contacts of a bout carry
the same label and are closer than ``LONG_STEP_RATIO`` times the bout's median
step (the same bound ``analysis.sides`` uses: further apart, the other foot's
contact between them was missed and both are real), one of them is not a new
step but a second jolt in the same stance: heel then forefoot, a scuff, the
trunk's rebound in slow walking. The clearly weaker one (jerk peak below
``ECHO_STRENGTH_RATIO`` times the other's, ``analysis.steps``) is dropped. Two
about equally strong contacts are both kept: then the side labels are as likely
to be the mistake as the contacts.

``ECHO_STRENGTH_RATIO`` is chosen by leave-one-participant-out on the mobgap-lab
recordings (``benchmarks/mobgap_accuracy.py`` prints the choice per held-out
participant); the results are the same over 0.5–0.8 there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.bouts import MAX_WALKING_STEP_S, Bout
from analysis.medians import median_1d
from analysis.sides import LONG_STEP_RATIO

ECHO_STRENGTH_RATIO = 0.6
KNOWN_SIDES = ("L", "R")


def same_stance_echoes(
    t_s: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    strength_g_per_s: np.ndarray,
    bouts: list[Bout],
) -> np.ndarray:
    """Boolean mask over the contacts ``t_s`` (grouped in ``bouts``): True = an echo to drop."""
    drop = np.zeros(len(t_s), dtype=bool)
    for b in bouts:
        steps = np.diff(t_s[b.first : b.last + 1])
        steps = steps[steps <= MAX_WALKING_STEP_S]
        if len(steps) == 0:
            continue
        too_close_s = LONG_STEP_RATIO * median_1d(steps)
        prev = b.first
        for i in range(b.first + 1, b.last + 1):
            same = labels[i] == labels[prev] and labels[i] in KNOWN_SIDES
            if same and t_s[i] - t_s[prev] < too_close_s:
                weak, strong = (prev, i) if strength_g_per_s[prev] < strength_g_per_s[i] else (
                    i, prev)
                if strength_g_per_s[weak] < ECHO_STRENGTH_RATIO * strength_g_per_s[strong]:
                    drop[weak] = True
                    prev = strong
                    continue
            prev = i
    return drop
