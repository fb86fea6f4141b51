"""`sync --start` with the guided standing calibration, against both emulated sensors.

One emulated sensor lives through the whole story (start with calibration, a walk on the
sensor, stop, sync), all on a virtual-time loop and through the real BleakClient. The
emulators stream the wearer standing still while connected (gravity straight up on the
sensor's x axis) and record a walk with no standing of its own, so the synced walk can
only be judged against the reference the calibration stored.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.emulation.emulated_offline import emulated_metawear, emulated_verity_sense
from firmware_bridge.trace import MarkEvent, read_trace
from stridewatch.cli import build_parser
from stridewatch.cli import sync as sync_cli
from stridewatch.live.calibration import ASK, DONE, MARK_DONE
from stridewatch.store.lean_references import get_lean_reference
from tests.ble_harness import run

TIME_SCALE = 20.0


def start_walk_stop_sync(tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch,
                         *, wearer: bool = True) -> tuple[Any, str]:
    db = str(tmp_path / "s.db")
    monkeypatch.setattr(sync_cli, "wearer_present", lambda: wearer)

    def args(*extra: str) -> Any:
        return build_parser().parse_args(["sync", "--emulate", kind, "--db", db,
                                          "--patient", "p7", *extra])

    async def scenario() -> Any:
        opened = emulated_metawear if kind == "metawear" else emulated_verity_sense
        async with opened(time_scale=TIME_SCALE) as sensor:

            @contextlib.asynccontextmanager
            async def same_sensor(_args: Any) -> AsyncIterator[Any]:
                yield sensor

            monkeypatch.setattr(sync_cli, "_emulated", same_sensor)
            assert await sync_cli._sync(args("--start")) == 0
            clock = sensor.board.clock if kind == "metawear" else sensor.sense.clock
            await clock.sleep(90.0)  # the walk, on the sensor
            assert await sync_cli._sync(args("--stop")) == 0
            assert await sync_cli._sync(args()) == 0
            return sensor

    return run(scenario(), timeout_s=900.0), db


def newest_session(db: str) -> tuple[str, str]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT lean_reference, trace_path FROM sessions "
                            "ORDER BY started_at DESC LIMIT 1").fetchone()
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["verity-sense", "metawear"])
def test_start_guides_the_wearer_and_the_synced_walk_is_judged_against_it(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sensor, db = start_walk_stop_sync(tmp_path, kind, monkeypatch)
    out = capsys.readouterr().out
    assert f"{ASK}: 5…" in out and DONE in out
    stored = get_lean_reference(db, "p7", sensor.ble_device.address)
    assert stored is not None and "calibration" in (stored.source or "")
    # the emulator streamed gravity along +x (1 g) plus 0.01 g noise
    assert np.allclose(stored.gravity_g, [1.0, 0.0, 0.0], atol=0.01)
    start, end = stored.segment_s  # type: ignore[misc]
    assert end - start == pytest.approx(5.0)
    calibration_trace = Path(stored.source.split(" ", 2)[2])  # type: ignore[union-attr]
    marks = [e.label for e in read_trace(calibration_trace).events
             if isinstance(e, MarkEvent)]
    assert MARK_DONE in marks
    reference, trace_path = newest_session(db)
    assert "calibration" not in trace_path  # the synced walk, not the calibration stream
    assert reference == "stored"  # no standing in the walk: judged against the calibration


def test_no_calibration_without_a_wearer_at_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    sensor, db = start_walk_stop_sync(tmp_path, "verity-sense", monkeypatch, wearer=False)
    captured = capsys.readouterr()
    assert ASK not in captured.out and "no guided calibration" in captured.err
    assert get_lean_reference(db, "p7", sensor.ble_device.address) is None
    assert newest_session(db)[0] == "relative"  # nothing to judge the walk against
