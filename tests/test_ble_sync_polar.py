"""`sync` against an emulated Verity Sense, through the real BleakClient and the bumble link.

Truth is what the emulator stored: its quantised counts and the sensor-clock time of each
sample. Times in the emulator run ``TIME_SCALE`` faster than real time.
"""

from __future__ import annotations

import io
import sqlite3
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.emulation.emulated_offline import emulated_verity_sense
from firmware_bridge.emulation.polar_offline_bytes import acc_factor
from firmware_bridge.emulation.verity_sense import SenseBehaviour, VeritySenseEmulator
from firmware_bridge.trace import decode_trace, read_trace
from stridewatch.cli.options import default_rules
from stridewatch.store import synced_recordings as ledger
from stridewatch.sync.messages import BUSY, FULL, LINK_GAVE_UP, SyncRefused
from stridewatch.sync.polar import SyncOptions, SyncReport, start_or_stop_recording, sync_polar
from tests.ble_harness import run

TIME_SCALE = 50.0
SECOND_FILE = "/U/0/20250106/R/110700/ACC0.REC"


def options(tmp_path: Path, *, delete: bool = False, patient: str | None = "042") -> SyncOptions:
    return SyncOptions(db=tmp_path / "s.db", traces_dir=tmp_path / "traces",
                       rules=default_rules(), patient_id=patient, delete=delete,
                       out=io.StringIO(), reconnect_delays_s=(0.05, 0.1, 0.2),
                       connect_timeout_s=1.0)


def sync_emulated(tmp_path: Path, runs: list[bool], behaviour: SenseBehaviour | None = None,
                  ) -> tuple[list[SyncReport], VeritySenseEmulator, dict[str, object]]:
    """Run sync once per entry of ``runs`` (its --delete) against one emulated sensor."""

    async def scenario() -> tuple[list[SyncReport], VeritySenseEmulator, dict[str, object]]:
        async with emulated_verity_sense(time_scale=TIME_SCALE, behaviour=behaviour) as sensor:
            truth = dict(sensor.sense.recordings)
            reports = []
            for delete in runs:
                reports.append(await sync_polar(sensor.ble_device, options(tmp_path,
                                                delete=delete), backend=sensor.client_backend))
            return reports, sensor.sense, truth

    return run(scenario(), timeout_s=120.0)


def sessions(tmp_path: Path) -> list[tuple]:
    conn = sqlite3.connect(tmp_path / "s.db")
    try:
        return conn.execute("SELECT id, patient_id, started_at, trace_path FROM sessions "
                            "ORDER BY id").fetchall()
    finally:
        conn.close()


def test_sync_downloads_stores_and_deletes_three_recordings(tmp_path: Path) -> None:
    (report,), sense, truth = sync_emulated(tmp_path, [True])
    assert len(report.stored) == 3 and report.deleted == report.stored
    assert sense.files == {}  # all three recordings removed, folders too
    assert sense.folders == {"/U/0/"}
    rows = sessions(tmp_path)
    assert [r[1] for r in rows] == ["042"] * 3
    for trace_path, walk in zip(report.traces, truth.values(), strict=True):
        decoded = decode_trace(read_trace(trace_path))
        assert decoded.profile == "polar-offline" and not decoded.problems
        # samples equal what the sensor stored, to its resolution (16 bit at ±8 g)
        assert np.array_equal(decoded.acc_g, walk.acc_g)
        assert np.max(np.abs(decoded.acc_g - walk.acc_g)) <= acc_factor(8) / 2
        # times follow the sensor clock
        assert decoded.start_unix_s is not None
        assert np.allclose(decoded.t_s + decoded.start_unix_s, walk.t_unix_s, atol=1e-6, rtol=0)
    started = [datetime.fromisoformat(r[2]) for r in rows]
    expected = [datetime.fromtimestamp(float(w.t_unix_s[0])).replace(microsecond=0)
                for w in truth.values()]
    assert started == expected


def test_second_run_stores_nothing_new_and_deletes_only_verified(tmp_path: Path) -> None:
    (first, second, third), sense, _ = sync_emulated(tmp_path, [False, False, True])
    assert len(first.stored) == 3 and not first.deleted
    assert second.stored == [] and len(second.already) == 3
    assert third.stored == [] and third.deleted == first.stored
    assert len(sessions(tmp_path)) == 3
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("SELECT COUNT(*) FROM synced_recordings").fetchone()[0] == 3
    conn.close()
    assert ledger.last_synced_device(tmp_path / "s.db") == sense.address


def test_a_drop_mid_download_restarts_that_recording(tmp_path: Path) -> None:
    behaviour = SenseBehaviour(drop_after_bytes={SECOND_FILE: 9000}, down_s=1.0)
    (report,), sense, _ = sync_emulated(tmp_path, [True], behaviour)
    assert report.reconnects == 1
    assert len(report.stored) == 3 and report.deleted == report.stored
    assert [log[1] for log in sense.link_log].count("connected") == 2
    gets = [path for op, path, _ in sense.psftp_log if op == "GET" and path == SECOND_FILE]
    assert len(gets) == 2  # the interrupted file was fetched again, whole
    conn = sqlite3.connect(tmp_path / "s.db")
    rows = conn.execute("SELECT recording_id, COUNT(*) FROM synced_recordings "
                        "GROUP BY recording_id").fetchall()
    conn.close()
    assert len(rows) == 3 and all(count == 1 for _, count in rows)
    assert len(sessions(tmp_path)) == 3


def test_a_link_that_stays_down_deletes_nothing_unstored(tmp_path: Path) -> None:
    behaviour = SenseBehaviour(drop_after_bytes={SECOND_FILE: 9000}, down_s=10_000.0)

    async def scenario() -> tuple[VeritySenseEmulator, str]:
        async with emulated_verity_sense(time_scale=TIME_SCALE, behaviour=behaviour) as sensor:
            with pytest.raises(SyncRefused) as refused:
                await sync_polar(sensor.ble_device, options(tmp_path, delete=True),
                                 backend=sensor.client_backend)
            return sensor.sense, str(refused.value)

    sense, message = run(scenario(), timeout_s=120.0)
    assert message == LINK_GAVE_UP
    assert sense.removed == ["/U/0/20250106/R/090000/ACC0.REC", "/U/0/20250106/R/090000/"]
    assert SECOND_FILE in sense.files and len(sense.files) == 2
    assert len(sessions(tmp_path)) == 1


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [(SenseBehaviour(recording_active=True), BUSY),
     (SenseBehaviour(bonded=False), "not bonded")],
)
def test_busy_or_unbonded_sensor_is_refused_clearly(
    tmp_path: Path, behaviour: SenseBehaviour, expected: str
) -> None:
    async def scenario() -> tuple[VeritySenseEmulator, str]:
        async with emulated_verity_sense(time_scale=TIME_SCALE, behaviour=behaviour) as sensor:
            with pytest.raises(SyncRefused) as refused:
                await sync_polar(sensor.ble_device, options(tmp_path, delete=True),
                                 backend=sensor.client_backend)
            return sensor.sense, str(refused.value)

    sense, message = run(scenario(), timeout_s=60.0)
    assert expected in message
    assert sense.removed == [] and len(sense.files) == 3


def test_start_walk_stop_then_sync_gets_the_new_recording(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[str], SyncReport, VeritySenseEmulator]:
        async with emulated_verity_sense(time_scale=TIME_SCALE) as sensor:
            out = io.StringIO()
            await start_or_stop_recording(sensor.ble_device, start=True, rate_hz=52,
                                          backend=sensor.client_backend, out=out)
            assert sensor.sense.recording_active
            await sensor.sense.clock.sleep(40.0)  # a 40 s walk on the sensor clock
            await start_or_stop_recording(sensor.ble_device, start=False,
                                          backend=sensor.client_backend, out=out)
            report = await sync_polar(sensor.ble_device, options(tmp_path),
                                      backend=sensor.client_backend)
            return out.getvalue().splitlines(), report, sensor.sense

    lines, report, sense = run(scenario(), timeout_s=120.0)
    assert len(report.stored) == 4
    newest = max(sense.recordings.values(), key=lambda w: w.started)
    assert newest.started >= datetime(2025, 1, 6, 17, 0)  # on the sensor clock, after power-on
    # recorded from the start to the stop command: the 40 s walk plus reconnecting to stop it
    assert 40 * 52 <= len(newest.counts) <= 60 * 52
    assert lines[0].startswith("recording on the sensor at 52 Hz")


def test_full_memory_refuses_start(tmp_path: Path) -> None:
    async def scenario() -> str:
        async with emulated_verity_sense(time_scale=TIME_SCALE,
                                         behaviour=SenseBehaviour(memory_full=True)) as sensor:
            with pytest.raises(SyncRefused) as refused:
                await start_or_stop_recording(sensor.ble_device, start=True,
                                              backend=sensor.client_backend, out=io.StringIO())
            return str(refused.value)

    assert run(scenario(), timeout_s=60.0) == FULL


def test_cli_sync_emulated_shows_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    from stridewatch.cli import main

    status = main(["sync", "--emulate", "verity-sense", "--emulate-speed", str(TIME_SCALE),
                   "--db", str(tmp_path / "s.db"), "--delete"])
    captured = capsys.readouterr()
    assert status == 0
    assert "3 stored, 0 already stored, 3 deleted" in captured.out
    progress = [line for line in captured.err.splitlines() if " kB / " in line]
    assert progress and any("s left" in line for line in progress)
