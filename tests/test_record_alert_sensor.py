"""`record --emulate --alert sensor`: an emulated MetaWear vibrates for a planted forward lean.

The emulated board streams a walk with three planted forward leans (``LEANS_S``); the
forward-lean rule holds for ``hold_s`` (30 s by default) and a rule vibrates at most once a
minute. The whole command runs on a virtual-time loop (``tests.ble_harness.run``), so the
board's clock, the stream and the host's analysis share one exact time whatever the
machine's load, and the board notes for each haptic write where its stream was on receipt.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.simulate import Phase, simulate_walk
from firmware_bridge.emulation.metawear_board import MetaWearEmulator
from stridewatch.cli import main, record, record_alerts
from stridewatch.cli.options import default_rules
from stridewatch.live.body_alerts import MIN_INTERVAL_S, BodyAlerts, is_still
from tests.ble_harness import run

#: (onset s, end s) of each planted forward lean (18°) in the streamed walk.
LEANS_S = ((70.0, 105.0), (115.0, 150.0), (175.0, 210.0))
MOTOR_400_MS = bytes([0x08, 0x01, 0xF8, 0x90, 0x01, 0x00])  # motor 100 %, 400 ms


def three_leans() -> object:
    phases = [Phase("stand", 10, sagittal_deg=0.0), Phase("walk", 60, cadence_spm=110)]
    last_end = 70.0
    for onset, end in LEANS_S:
        if onset > last_end:
            phases.append(Phase("walk", onset - last_end, cadence_spm=110))
        phases.append(Phase("walk", end - onset, cadence_spm=110, sagittal_deg=18.0))
        last_end = end
    phases.append(Phase("walk", 5, cadence_spm=110))
    return simulate_walk(phases, fs_hz=200.0, noise_g=0.01, seed=3)


def test_emulated_metawear_vibrates_after_the_hold_time_within_the_rate_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    boards: list[MetaWearEmulator] = []
    senders: list[BodyAlerts] = []
    original = record_alerts.emulated_metawear_radio
    original_alerts = record_alerts.body_alerts

    def keep_alerts(*args: object) -> BodyAlerts:
        alerts = original_alerts(*args)  # type: ignore[arg-type]
        senders.append(alerts)
        return alerts

    @contextlib.asynccontextmanager
    async def keep_board(*args: object, **kwargs: object) -> AsyncIterator[tuple]:
        async with original(*args, **kwargs) as radio:  # type: ignore[arg-type]
            boards.append(radio[2].board)  # type: ignore[attr-defined]
            yield radio

    def on_virtual_time(scenario: Coroutine[Any, Any, int]) -> int:
        return run(scenario, timeout_s=1000.0, virtual_time=True)

    monkeypatch.setattr(record, "emulated_walk", three_leans)
    monkeypatch.setattr(record_alerts, "emulated_metawear_radio", keep_board)
    monkeypatch.setattr(record_alerts, "body_alerts", keep_alerts)
    monkeypatch.setattr(asyncio, "run", on_virtual_time)  # the command's own event loop
    status = main(["record", "--emulate", "--alert", "sensor", "--emulate-speed", "1",
                   "--rate", "50", "-o", str(tmp_path / "walk.swtrace"), "--no-save",
                   "--no-calibration"])
    assert status == 0
    (board,) = boards
    (alerts,) = senders
    hold_s = float(default_rules().rules["forward-lean"]["hold_s"])
    assert board.stream_started_s is not None
    # every lean is flagged; the second comes 45 s after the first: the rate limit holds it
    flagged = [(rule, t) for rule, t, _ in alerts.skipped] + alerts.sent
    assert sorted(rule for rule, _ in flagged) == ["forward-lean"] * 3
    assert [reason for _, _, reason in alerts.skipped] == ["rate limit"]
    receipts = board.haptic_log
    assert [r.payload for r in receipts] == [MOTOR_400_MS] * 2  # one pulse per alert sent
    first, third = LEANS_S[0][0] + hold_s, LEANS_S[2][0] + hold_s
    for receipt, due_s in zip(receipts, (first, third), strict=True):
        assert receipt.sample_s is not None
        # received within 1 s after onset + hold time on the board's own stream clock; the
        # analysis places a lean's onset to about a second, so at most that much early
        assert due_s - 1.5 <= receipt.sample_s <= due_s + 1.0, (receipt, due_s)
        assert abs(receipt.clock_s - board.stream_started_s - receipt.sample_s) < 1e-9
    # no more than the rate limit allows: consecutive pulses of the rule at least a minute
    # apart on the board's clock
    assert receipts[1].clock_s - receipts[0].clock_s >= MIN_INTERVAL_S
    assert "ALERT forward-lean" not in capsys.readouterr().out  # on the body, not the screen


class _Flag:
    def __init__(self, rule: str) -> None:
        self.rule = rule


def test_rate_limit_and_standing_still() -> None:
    sent: list[bytes] = []
    alerts = BodyAlerts(send=None)
    alerts.send = lambda command: _record(sent, command)  # type: ignore[assignment]
    rng = np.random.default_rng(0)
    walking = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.2, size=(100, 3))
    standing = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.002, size=(100, 3))
    assert is_still(standing) and not is_still(walking)
    assert alerts.refusal("forward-lean", 10.0, walking) is None
    alerts.last_sent_s["forward-lean"] = 10.0
    assert alerts.refusal("forward-lean", 10.0 + MIN_INTERVAL_S - 1, walking) == "rate limit"
    assert alerts.refusal("back-arch", 20.0, walking) is None  # limits are per rule
    assert alerts.refusal("forward-lean", 10.0 + MIN_INTERVAL_S, walking) is None
    assert alerts.refusal("forward-lean", 200.0, standing) == "standing still"


async def _record(sent: list[bytes], command: object) -> bool:
    sent.append(command.payload)  # type: ignore[attr-defined]
    return True


def test_sensor_without_motor_falls_back_with_a_note() -> None:
    import io

    out = io.StringIO()
    alerts = BodyAlerts(send=None, out=out)
    for _ in range(3):
        alerts.on_alert(_Flag("forward-lean"), 100.0, np.zeros((0, 3)))  # type: ignore[arg-type]
    assert out.getvalue().count("no vibration motor") == 1 and alerts.sent == []


def test_haptic_bytes_match_the_sdk() -> None:
    from firmware_bridge.profiles.metawear_haptic import buzzer_payload, motor_payload

    assert motor_payload(100.0, 5000) == bytes([0x08, 0x01, 0xF8, 0x88, 0x13, 0x00])
    assert buzzer_payload(7500) == bytes([0x08, 0x01, 0x7F, 0x4C, 0x1D, 0x01])
