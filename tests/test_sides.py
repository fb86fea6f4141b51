"""analysis.sides.label_sides on sequences with known sides (independent synthetic truth:
the sway cue is drawn from the true side plus noise, not from our simulator)."""

from __future__ import annotations

import numpy as np

from analysis.bouts import Bout
from analysis.orientation import BodyAxes
from analysis.sides import MIN_NAMING_CONFIDENCE, label_sides

AXES = BodyAxes(up=np.array([0.0, 0.0, 1.0]), forward=np.array([1.0, 0.0, 0.0]),
                right=np.array([0.0, -1.0, 0.0]), source="override", forward_confidence=1.0)


def _walk(steps: int, noise: float, seed: int, first: str = "L",
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contact times (s), sway vectors (g, sensor frame) and the true labels."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.normal(0.55, 0.02, steps))
    truth = np.array([first if i % 2 == 0 else ("R" if first == "L" else "L")
                      for i in range(steps)])
    sway = np.where(truth == "L", 1.0, -1.0) + rng.normal(0, noise, steps)  # + after left
    vectors = np.zeros((steps, 3))
    vectors[:, 1] = -sway  # right is -y: the projection on right is the sway
    return t, vectors, truth


def _bouts(lengths: list[int]) -> list[Bout]:
    out, first = [], 0
    for n in lengths:
        out.append(Bout(first, first + n - 1, 0.0, 0.0))
        first += n
    return out


def test_alternating_evidence_gives_the_true_sides_with_high_confidence() -> None:
    parts = [_walk(n, 0.8, seed, first) for n, seed, first in
             ((40, 1, "L"), (17, 2, "R"), (3000, 3, "L"))]  # 3,000 steps: a 30-minute walk
    offsets = np.cumsum([0.0] + [p[0][-1] + 10.0 for p in parts[:-1]])
    t = np.concatenate([p[0] + o for p, o in zip(parts, offsets, strict=True)])
    vectors = np.concatenate([p[1] for p in parts])
    truth = np.concatenate([p[2] for p in parts])
    bouts = _bouts([40, 17, 3000])
    labels = label_sides(t, vectors, AXES, bouts)
    assert np.mean(labels.labels == truth) > 0.99
    assert (labels.bout_confidence > 0.8).all()
    assert labels.cues == "mediolateral"


def test_labels_without_the_confidence_runs_are_the_same_labels() -> None:
    t, vectors, _ = _walk(300, 2.0, 4)
    bouts = _bouts([120, 180])
    full = label_sides(t, vectors, AXES, bouts)
    quick = label_sides(t, vectors, AXES, bouts, with_confidence=False)
    assert (full.labels == quick.labels).all()
    assert (quick.bout_confidence == 0).all()


def test_evidence_without_alternation_is_not_named() -> None:
    rng = np.random.default_rng(5)
    t = np.cumsum(rng.normal(0.55, 0.02, 200))
    vectors = np.zeros((200, 3))
    vectors[:, 1] = rng.normal(0, 1.0, 200)  # sway unrelated to any side
    labels = label_sides(t, vectors, AXES, _bouts([200]))
    assert labels.bout_confidence[0] < MIN_NAMING_CONFIDENCE
