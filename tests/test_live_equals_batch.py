"""The incremental analyzer (live view, replay) gives exactly the batch numbers."""

from __future__ import annotations

import numpy as np

from analysis.pipeline import SessionAnalyzer, analyze
from stridewatch.cli.options import default_rules
from tests.synthetic import walk


def test_incremental_feed_in_random_chunks_equals_batch():
    sim = walk(mount="tilted-40", noise_g=0.02, jitter_s=0.003, gap=True, si_pct=6, seed=21)
    rules = default_rules()
    batch = analyze(sim.t_s, sim.acc, acc_units="g", fs_hz=100.0, rules=rules).to_dict("x")
    live = SessionAnalyzer(100.0, rules=rules)
    rng = np.random.default_rng(0)
    i = 0
    snapshots = 0
    while i < len(sim.t_s):
        n = int(rng.integers(1, 700))
        live.feed(sim.t_s[i : i + n], sim.acc[i : i + n])
        i += n
        if rng.random() < 0.01:
            live.result()  # a live view asks for the state now and then
            snapshots += 1
    assert snapshots > 0
    streamed = live.finish().to_dict("x")
    assert streamed == batch


def test_feeding_time_backwards_is_refused_clearly():
    import pytest

    from analysis.errors import InputError

    live = SessionAnalyzer(100.0)
    live.feed(np.arange(100) / 100.0, np.tile([0.0, 0.0, 1.0], (100, 1)))
    with pytest.raises(InputError, match="time does not increase: t=0.5 s after t=0.99 s"):
        live.feed(np.array([0.5, 0.51]), np.tile([0.0, 0.0, 1.0], (2, 1)))
