"""Per-sample times from host arrival times (devices without a clock): ``ArrivalClock``, the
one causal policy of record, replay and analyze."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.sample_times import (
    FALLBACK_RATE_HZ,
    MIN_SPACING,
    RATE_LEARN_S,
    times_from_arrivals,
)


def bursty_arrivals(true_t_last: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Notifications leave in bursts every 30 ms connection interval, then jitter."""
    interval = 0.030
    departures = np.ceil(true_t_last / interval) * interval
    return np.maximum.accumulate(departures + rng.uniform(0.001, 0.004, true_t_last.shape))


def test_recovers_even_spacing_from_bursty_arrivals() -> None:
    rng = np.random.default_rng(1)
    rate = 52.3
    counts = np.full(400, 3)  # e.g. MetaWear packed: 3 samples per notification
    true_t = 10.0 + np.arange(counts.sum()) / rate
    arrival = bursty_arrivals(true_t[np.cumsum(counts) - 1], rng)
    timeline = times_from_arrivals(arrival, counts, nominal_rate_hz=50.0)
    assert timeline.fitted
    assert 1 / timeline.sample_period_s == pytest.approx(rate, rel=1e-3)
    assert timeline.t_s.shape == true_t.shape
    error = timeline.t_s - true_t
    # causal: the run starts with its first notification's latency (up to one 30 ms
    # connection interval); once the rate is learnt and later arrivals have pulled the
    # line back, it is straight (jitter removed) and at most the smallest latency (1-4 ms
    # here) after the truth, never noticeably before it
    assert error.min() > -0.001 and error.max() < 0.030
    settled = error[true_t > true_t[0] + RATE_LEARN_S + 1.0]
    assert np.ptp(settled) < 0.004
    assert settled.min() > -0.001 and settled.max() < 0.005


def test_no_sample_is_later_than_its_notification() -> None:
    rng = np.random.default_rng(2)
    counts = rng.integers(1, 4, size=200)
    true_t = np.arange(counts.sum()) / 100.0
    ends = np.cumsum(counts) - 1
    arrival = np.maximum.accumulate(true_t[ends] + rng.exponential(0.02, size=200))
    timeline = times_from_arrivals(arrival, counts, nominal_rate_hz=100.0)
    # where notifications bunch at one instant, a sample may follow its arrival by at
    # most the smallest spacing the clock lays (a tenth of a period), never more
    late = timeline.t_s[ends] - arrival
    assert late.max() <= MIN_SPACING * 0.01 + 1e-12
    assert np.all(np.diff(timeline.t_s) > 0)


def test_pause_splits_runs_and_segments_are_separate() -> None:
    arrival = np.concatenate([np.arange(50) * 0.02, 5.0 + np.arange(50) * 0.02])
    counts = np.ones(100, dtype=int)
    timeline = times_from_arrivals(arrival, counts, nominal_rate_hz=50.0)
    assert timeline.run_starts == [50]
    assert timeline.t_s[50] - timeline.t_s[49] == pytest.approx(4.02, abs=1e-6)
    segmented = times_from_arrivals(
        arrival, counts, segment=np.repeat([0, 1], 50), nominal_rate_hz=50.0
    )
    assert segmented.run_starts == []  # the caller knows about segment changes
    np.testing.assert_allclose(segmented.t_s, timeline.t_s)


def test_implausible_fit_falls_back_to_nominal_rate() -> None:
    # all notifications at the same instant: the slope is zero, not a sample period
    timeline = times_from_arrivals(np.full(10, 2.0), np.ones(10, dtype=int), nominal_rate_hz=25.0)
    assert not timeline.fitted and timeline.sample_period_s == 0.04
    assert timeline.t_s[0] == pytest.approx(2.0)  # nothing earlier says otherwise
    np.testing.assert_allclose(np.diff(timeline.t_s), 0.04)


def test_single_notification_without_rate_uses_fallback() -> None:
    timeline = times_from_arrivals(np.array([1.0]), np.array([4]))
    assert timeline.sample_period_s == 1 / FALLBACK_RATE_HZ
    np.testing.assert_allclose(timeline.t_s, 1.0 - np.array([3, 2, 1, 0]) / FALLBACK_RATE_HZ)


def test_empty() -> None:
    timeline = times_from_arrivals(np.zeros(0), np.zeros(0, dtype=int), nominal_rate_hz=50.0)
    assert timeline.t_s.shape == (0,) and timeline.sample_period_s == 0.02
