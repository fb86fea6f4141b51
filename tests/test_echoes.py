"""Second impacts within one stance (analysis.echoes) on hand-made contact sequences."""

from __future__ import annotations

import numpy as np

from analysis.bouts import Bout
from analysis.echoes import ECHO_STRENGTH_RATIO, same_stance_echoes
from analysis.sides import LONG_STEP_RATIO

STEP_S = 0.6


def _walk(n: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    t = np.arange(n) * STEP_S
    return t, ["L" if i % 2 == 0 else "R" for i in range(n)], np.full(n, 10.0)


def _one_bout(t: np.ndarray) -> list[Bout]:
    return [Bout(0, len(t) - 1, float(t[0]), float(t[-1]))]


def test_a_weak_same_side_contact_just_after_a_step_is_dropped():
    t, sides, strength = _walk(10)
    # an extra jolt 0.3 s after contact 4 (an "L"), labelled L as well, a third as strong
    t = np.insert(t, 5, t[4] + 0.3)
    sides.insert(5, "L")
    strength = np.insert(strength, 5, 10.0 / 3)
    drop = same_stance_echoes(t, sides, strength, _one_bout(t))
    assert np.flatnonzero(drop).tolist() == [5]


def test_the_weaker_one_goes_even_when_it_comes_first():
    t, sides, strength = _walk(10)
    strength[6] = 2.0  # contact 6 ("L") is weak ...
    sides[7] = "L"  # ... and contact 7 is the same side at an ordinary step
    drop = same_stance_echoes(t, sides, strength, _one_bout(t))
    assert np.flatnonzero(drop).tolist() == [6]


def test_equally_strong_or_far_apart_or_unlabelled_contacts_are_kept():
    t, sides, strength = _walk(12)
    sides[3] = "L"  # same side as 2, but as strong: the label may be the mistake
    strength[3] = 10.0 * (ECHO_STRENGTH_RATIO + 0.05)
    drop = same_stance_echoes(t, sides, strength, _one_bout(t))
    assert not drop.any()
    # a missed contact: two L contacts a stride apart (> LONG_STEP_RATIO steps) are both real
    t2 = np.r_[t[:6], t[7:]]
    sides2 = ["L" if i % 2 == 0 else "R" for i in range(6)] + ["R" if i % 2 == 0 else "L"
                                                              for i in range(5)]
    strength2 = np.full(len(t2), 10.0)
    strength2[6] = 1.0
    assert t2[6] - t2[5] > LONG_STEP_RATIO * STEP_S
    assert not same_stance_echoes(t2, sides2, strength2, _one_bout(t2)).any()
    # sides not known ("?"): nothing is judged
    unknown = ["?"] * len(t)
    strength3 = np.full(len(t), 10.0)
    strength3[5] = 1.0
    assert not same_stance_echoes(t, unknown, strength3, _one_bout(t)).any()
