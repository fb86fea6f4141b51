"""Sides, step-time SI with its interval and the uneven-steps flag on synthetic walks.

The walks here are made by this file, not by ``analysis.simulate`` (whose waveform the
contact detector was developed against): per step a smooth vertical deceleration bump
at a fixed delay after the true contact (the same on both sides), a short ringing
heel-strike transient whose delay after the true contact can differ per side (the
planted timing bias: what a trunk detector times), a mediolateral half-sine sway
toward the stance side, and a yaw rate that turns away from the swinging leg. Truth:
contact times and sides, the planted SI and bias.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.asymmetry import Strides, step_asymmetry, t_quantile, vertical_peak_offsets_s
from analysis.pipeline import analyze
from benchmarks.scoring import match_events

FS_HZ = 100.0
AXES = "V=z,AP=x,ML=-y"  # sensor x forward, z up, y to the wearer's left


def uneven_walk(si_pct: float, impact_delay_s: dict[str, float], *, seconds: float = 200.0,
                sway_g: float = 0.06, yaw_dps: float = 25.0, seed: int = 0,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """t, acc (g), gyro (deg/s, None when ``yaw_dps`` is 0), true contact times, sides."""
    rng = np.random.default_rng(seed)
    step = 60.0 / 100.0  # 100 steps/min
    t_contacts, sides = [5.0], ["R"]
    while t_contacts[-1] < 5.0 + seconds:
        side = "L" if sides[-1] == "R" else "R"  # a left step ends with a left contact
        scale = 1 + si_pct / 200.0 if side == "L" else 1 - si_pct / 200.0
        t_contacts.append(t_contacts[-1] + step * scale * (1 + 0.02 * rng.standard_normal()))
        sides.append(side)
    t = np.arange(0.0, t_contacts[-1] + 5.0, 1.0 / FS_HZ)
    acc = np.zeros((len(t), 3))
    acc[:, 2] = 1.0
    gyro = np.zeros((len(t), 3))
    contacts = np.array(t_contacts)
    for k, (tc, side) in enumerate(zip(contacts, sides, strict=True)):
        sign = 1.0 if side == "L" else -1.0
        dt = t - tc
        acc[:, 2] += 0.35 * np.exp(-0.5 * ((dt - 0.08) / 0.04) ** 2)  # weight acceptance
        di = dt - impact_delay_s[side]
        decay = np.exp(-np.clip(di, 0, None) / 0.012)
        ring = np.where(di >= 0, decay * np.sin(2 * np.pi * 25 * di), 0.0)
        acc[:, 2] += 0.5 * ring
        acc[:, 0] += -0.25 * ring - 0.15 * np.exp(-0.5 * ((dt - 0.05) / 0.05) ** 2)
        if k + 1 < len(contacts):
            span = contacts[k + 1] - tc
            inside = (dt >= 0) & (dt < span)
            # toward the stance side, i.e. to the right after a left contact (right = -y)
            acc[inside, 1] += -sign * sway_g * np.sin(np.pi * dt[inside] / span)
            # the yaw rate is negative while the left leg swings toward its contact
            swing = inside
            nxt = -1.0 if sides[k + 1] == "L" else 1.0
            gyro[swing, 2] += nxt * yaw_dps * np.sin(np.pi * dt[swing] / span)
    acc += 0.01 * rng.standard_normal(acc.shape)
    gyro += 1.0 * rng.standard_normal(gyro.shape)
    return t, acc, (gyro if yaw_dps else None), contacts, np.array(sides)


def _run(si_pct: float, delay: dict[str, float], **kw: object) -> tuple[dict, object, float]:
    t, acc, gyro, truth_t, truth_sides = uneven_walk(si_pct, delay, **kw)
    result = analyze(t, acc, gyro, acc_units="g", axes=AXES, fs_hz=FS_HZ)
    pairs = match_events(truth_t, result.ic_t_s, 0.25)
    agree = np.mean([truth_sides[r] == result.sides[d] for r, d in pairs])
    assert len(pairs) >= 0.97 * len(truth_t), "the planted contacts must be found"
    return result.to_dict("synthetic"), result, float(agree)


def test_even_walker_with_a_late_side_is_not_told_they_limp():
    # Left impacts 30 ms later than right ones: timed by the detector alone this walk
    # reads ~10 % uneven; the true steps are even.
    session, result, agree = _run(0.0, {"L": 0.045, "R": 0.015})
    asym = session["asymmetry"]
    assert agree >= 0.99
    assert asym["step_time_si_pct"] <= 3.0
    # planted 30 ms; the detector shows ~20 ms of it and the marker corrects that
    assert 0.008 <= asym["side_timing_bias_s"] <= 0.04
    assert asym["strides"] >= 150
    assert not [f for f in session["flags"] if f["rule"] == "uneven-steps"]


def test_a_contact_detected_after_its_vertical_peak_is_corrected():
    # Left impacts 95 ms after right ones, later than the trunk's deceleration peak
    # (80 ms after the true contact): the left contacts are detected after their own
    # vertical peak. A peak search starting at the contact returns the contact itself
    # (SI ~12 % and a false flag); searching before it too halves the error.
    session, result, agree = _run(0.0, {"L": 0.11, "R": 0.015})
    asym = session["asymmetry"]
    assert agree >= 0.99
    assert asym["side_timing_bias_s"] >= 0.07  # the detector's lateness is seen
    assert asym["step_time_si_pct"] <= 8.0
    assert not [f for f in session["flags"] if f["rule"] == "uneven-steps"]


def test_vertical_peak_marker_is_searched_before_a_late_contact_too():
    fs = 100.0
    t = np.arange(0.0, 3.0, 1 / fs)
    vertical = np.exp(-0.5 * ((t - 1.0) / 0.03) ** 2)  # one deceleration peak at 1.00 s
    contacts = np.array([95, 110])  # detected 50 ms before and 100 ms after the peak
    offsets = vertical_peak_offsets_s(vertical, contacts, fs)
    # both windows hold the peak after the early contact: exactly its delay
    assert offsets[0] == pytest.approx(0.05)
    # the late contact: the window at the contact gives 0, the opened one -0.10
    assert offsets[1] == pytest.approx(-0.05)
    # near the recording's start only the window that fits counts
    assert np.isfinite(vertical_peak_offsets_s(vertical, np.array([5]), fs)).all()


def test_planted_asymmetry_is_measured_through_a_timing_bias_and_flagged_with_its_interval():
    session, result, agree = _run(30.0, {"L": 0.015, "R": 0.035})
    asym = session["asymmetry"]
    assert agree >= 0.99
    assert asym["step_time_si_pct"] == pytest.approx(30.0, abs=3.0)
    assert asym["longer_steps"] == "left"
    lo, hi = asym["step_time_si_ci_pct"]
    assert lo <= 30.0 <= hi
    assert -0.03 <= asym["side_timing_bias_s"] <= -0.005
    flags = [f for f in session["flags"] if f["rule"] == "uneven-steps"]
    assert flags, "30 % uneven steps over 3 minutes must be flagged"
    evidence = flags[0]["evidence"]
    assert evidence["ci_pct"][0] > 10.0 and evidence["strides"] >= 20
    assert evidence["longer_steps"] == "left"
    assert "left steps took" in flags[0]["message"] and "interval" in flags[0]["message"]


def test_sides_without_a_gyroscope_from_the_sway_alone():
    session, result, agree = _run(12.0, {"L": 0.015, "R": 0.015}, yaw_dps=0.0, seed=3)
    assert agree >= 0.97
    assert session["asymmetry"]["side_cues"] == "mediolateral"
    assert session["asymmetry"]["step_time_si_pct"] == pytest.approx(12.0, abs=3.0)


def test_without_side_cues_the_side_is_not_named():
    session, result, _ = _run(30.0, {"L": 0.015, "R": 0.015}, yaw_dps=0.0, sway_g=0.0, seed=5)
    asym = session["asymmetry"]
    assert asym["side_confidence"] < 0.3
    assert asym["longer_steps"] is None
    for flag in [f for f in session["flags"] if f["rule"] == "uneven-steps"]:
        assert "one side" in flag["message"] and flag["evidence"]["longer_steps"] is None


def test_interval_covers_the_truth_about_as_often_as_it_says():
    rng = np.random.default_rng(1)
    covered = 0
    trials = 200
    for _ in range(trials):
        n = 60
        left = 0.66 * (1 + 0.04 * rng.standard_normal(n))
        right = 0.60 * (1 + 0.04 * rng.standard_normal(n))
        strides = Strides(np.arange(n, dtype=float), left, right, left, right,
                          np.zeros(n, dtype=int))
        a = step_asymmetry(strides)
        covered += a.ci_low_pct <= 100 * 0.06 / 0.63 <= a.ci_high_pct
    assert 0.85 <= covered / trials <= 1.0
    # seeded: the same strides always give the same interval
    assert step_asymmetry(strides) == step_asymmetry(strides)


def _strides(left: np.ndarray, right: np.ndarray) -> Strides:
    n = len(left)
    return Strides(np.arange(n, dtype=float), left, right, left, right, np.zeros(n, dtype=int))


def test_stray_timing_errors_on_one_side_do_not_move_the_si(monkeypatch):
    # 10 % uneven, and 5 of 110 left steps lengthened by half (a contact timed off its
    # foot strike, short of the 1.7x missed-step screen): the typical step (10 %
    # trimmed mean) keeps the SI within 1.5 pp and its interval narrow; plain means
    # move it by ~2 pp and double the interval.
    rng = np.random.default_rng(4)
    errors, widths = {"trimmed": [], "mean": []}, {"trimmed": [], "mean": []}
    for _ in range(20):
        left = 0.63 * 1.05 * (1 + 0.04 * rng.standard_normal(110))
        right = 0.63 * 0.95 * (1 + 0.04 * rng.standard_normal(110))
        left[rng.choice(110, 5, replace=False)] *= 1.5
        for name, trim in (("trimmed", 0.1), ("mean", 0.0)):
            monkeypatch.setattr("analysis.asymmetry.TRIM_FRACTION", trim)
            a = step_asymmetry(_strides(left, right))
            errors[name].append(abs(a.si_pct - 10.0))
            widths[name].append(a.ci_high_pct - a.ci_low_pct)
    assert max(errors["trimmed"]) <= 1.5, np.round(errors["trimmed"], 2)
    assert np.median(errors["mean"]) >= 1.5  # what the trimming is for
    assert np.median(widths["trimmed"]) <= 0.7 * np.median(widths["mean"])


def test_correlated_strides_are_resampled_in_blocks(monkeypatch):
    # Consecutive strides are not independent (on the stroke walks the per-stride SI's
    # lag-1 autocorrelation is a median 0.24, up to 0.40; a shared contact's timing
    # error enters two strides). Blocks of 5 strides keep the interval honest where
    # resampling single strides covers the truth far less often than it says.
    def coverage() -> float:
        rng = np.random.default_rng(3)
        hits = 0
        for _ in range(120):
            common = np.zeros(110)
            shocks = rng.standard_normal(110)
            for k in range(110):  # AR(1), lag-1 correlation 0.5
                common[k] = (0.5 * common[k - 1] if k else 0.0) + 0.87 * shocks[k]
            left = 0.66 * (1 + 0.03 * (common + rng.standard_normal(110)))
            right = 0.60 * (1 + 0.03 * (-common + rng.standard_normal(110)))
            a = step_asymmetry(_strides(left, right))
            hits += a.ci_low_pct <= 100 * 0.06 / 0.63 <= a.ci_high_pct
        return hits / 120

    assert coverage() >= 0.85
    monkeypatch.setattr("analysis.asymmetry.BOOTSTRAP_BLOCK_STRIDES", 1)
    assert coverage() <= 0.82


def test_the_interval_does_not_depend_on_how_the_resamples_are_drawn(monkeypatch):
    # A day's thousands of strides are resampled a few rows of block starts at a time
    # (bounded memory): the interval must be the one of a single draw of all the rows,
    # which is what numpy's generator gives for one (samples, blocks) call.
    rng = np.random.default_rng(8)
    left = 0.62 * (1 + 0.04 * rng.standard_normal(3001))
    right = 0.60 * (1 + 0.04 * rng.standard_normal(3001))
    strides = _strides(left, right)
    chunked = step_asymmetry(strides)
    monkeypatch.setattr("analysis.asymmetry.BOOT_DRAW_VALUES", 1 << 30)  # one draw
    assert step_asymmetry(strides) == chunked
    monkeypatch.setattr("analysis.asymmetry.BOOT_DRAW_VALUES", 1)  # a row per draw
    assert step_asymmetry(strides) == chunked


@pytest.mark.parametrize(("p", "df", "table"), [
    (0.95, 21, 1.721), (0.975, 4, 2.776), (0.995, 10, 3.169), (0.999, 3, 10.215),
    (0.9995, 1, 636.619), (0.99, 2, 6.965), (0.95, 1000, 1.646)])
def test_t_quantile_matches_the_printed_table(p, df, table):
    assert t_quantile(p, df) == pytest.approx(table, abs=0.0015)


def test_gyro_fed_in_random_chunks_gives_the_batch_result():
    from analysis.pipeline import SessionAnalyzer

    t, acc, gyro, _, _ = uneven_walk(20.0, {"L": 0.015, "R": 0.03}, seconds=90.0, seed=7)
    batch = analyze(t, acc, gyro, acc_units="g", axes=AXES, fs_hz=FS_HZ).to_dict("x")
    live = SessionAnalyzer(FS_HZ, axes=AXES)
    rng = np.random.default_rng(2)
    i = 0
    while i < len(t):
        n = int(rng.integers(1, 900))
        live.feed(t[i : i + n], acc[i : i + n], gyro[i : i + n])
        i += n
    assert live.finish().to_dict("x") == batch
    assert batch["asymmetry"]["side_cues"] == "mediolateral+yaw"
