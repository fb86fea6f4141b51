"""LiveView timing for sensors without a clock (samples placed from arrival times)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.simulate import Phase, simulate_walk
from firmware_bridge.profiles.base import DecodedBlock
from stridewatch.cli.options import default_rules
from stridewatch.live.view import LiveView


def _stream(view: LiveView, acc: np.ndarray, true_rate_hz: float, block: int, start_s: float,
            rng: np.random.Generator) -> float:
    """Deliver ``acc`` in notifications of ``block`` samples at the device's true rate."""
    t = start_s
    for i in range(0, len(acc) - block + 1, block):
        t = start_s + (i + block) / true_rate_hz
        view.on_block(DecodedBlock(acc_g=acc[i : i + block]),
                      host_t_s=t + abs(rng.normal(0, 0.01)))  # BLE delivery jitter
    return t


def test_slow_clockless_device_keeps_one_segment_and_counts_every_step():
    sim = simulate_walk([Phase("walk", 300, cadence_spm=105)], fs_hz=100.0, seed=5)
    view = LiveView(100.0, rules=default_rules(), clock=lambda: 0.0)
    # The device says 100 Hz but really samples at 98 Hz: 2 % slow.
    _stream(view, sim.acc, 98.0, 20, 0.0, np.random.default_rng(1))
    result = view.finish()
    truth = len(sim.truth["initial_contacts"])
    assert len(result.segments) == 1
    assert abs(len(result.ic_t_s) - truth) <= 0.01 * truth
    # cadence is measured on the host's clock: 105 steps/min of device time at 98/100 speed
    assert abs(result.cadence_spm - 105 * 0.98) < 1.5


def test_a_pause_in_notifications_becomes_a_gap():
    sim = simulate_walk([Phase("walk", 60, cadence_spm=110)], fs_hz=100.0, seed=6)
    view = LiveView(100.0, rules=default_rules(), clock=lambda: 0.0)
    rng = np.random.default_rng(2)
    end = _stream(view, sim.acc[:3000], 100.0, 20, 0.0, rng)
    _stream(view, sim.acc[3000:], 100.0, 20, end + 5.0, rng)  # 5 s with no notifications
    result = view.finish()
    assert len(result.segments) == 2
    assert result.segments[1][0] - result.segments[0][1] > 4.0


def test_device_clock_stepping_back_never_sends_time_backwards():
    sim = simulate_walk([Phase("walk", 120, cadence_spm=110)], fs_hz=200.0, seed=7)
    view = LiveView(200.0, rules=default_rules(), clock=lambda: 0.0)
    for i in range(0, len(sim.acc) - 36 + 1, 36):
        device_t = 1.7e9 + np.arange(i, i + 36) / 200.0
        if i >= 12000:  # the strap rebooted at 60 s: its clock starts again from an old value
            device_t = device_t - 3600.0
        view.on_block(DecodedBlock(acc_g=sim.acc[i : i + 36], t_device_s=device_t),
                      host_t_s=(i + 36) / 200.0)
    result = view.finish()
    truth = len(sim.truth["initial_contacts"])
    assert len(result.segments) == 1  # re-anchored on host time, continuous
    assert abs(len(result.ic_t_s) - truth) <= 0.01 * truth


def test_a_summary_includes_samples_still_waiting_for_a_feed_batch():
    """The analysis is fed in blocks (``FEED_BATCH_SAMPLES``); a status line taken between
    two blocks must still see every sample delivered so far."""
    from stridewatch.live.view import FEED_BATCH_SAMPLES

    sim = simulate_walk([Phase("walk", 60, cadence_spm=110)], fs_hz=100.0, seed=8)
    view = LiveView(100.0, rules=default_rules(), clock=lambda: 0.0, refresh_s=float("inf"))
    delivered = 0
    for i in range(0, 3000, 36):  # 30 s: more than one batch, ending between two
        block = sim.acc[i : i + 36]
        view.on_block(DecodedBlock(acc_g=block, t_device_s=sim.t_s[i : i + len(block)]))
        delivered += len(block)
    assert delivered % FEED_BATCH_SAMPLES != 0
    snapshot = view.refresh()
    assert snapshot is not None
    assert snapshot.end_s == pytest.approx(sim.t_s[delivered - 1] - sim.t_s[0])
    final = view.finish()
    assert final.end_s == pytest.approx(sim.t_s[delivered - 1] - sim.t_s[0])
