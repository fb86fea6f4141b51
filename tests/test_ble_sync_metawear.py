"""`sync` against an emulated MetaMotion board through the real BleakClient: the log holds
three walks, the first crossing the 2³² tick wrap, then a board reset before the others."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.emulation.emulated_offline import emulated_metawear
from firmware_bridge.emulation.metawear_board import TICK_S, BoardBehaviour, MetaWearEmulator
from firmware_bridge.trace import decode_trace, read_trace
from stridewatch.cli import main
from stridewatch.cli.options import default_rules
from stridewatch.sync import board_memory
from stridewatch.sync.messages import BOARD_BUSY, FULL, NO_FREE_LOGGER, SyncRefused
from stridewatch.sync.metawear import start_or_stop_logging, sync_metawear
from stridewatch.sync.polar import SyncOptions, SyncReport
from tests.ble_harness import run

TIME_SCALE = 50.0


def sync_board(tmp_path: Path, runs: list[bool], behaviour: BoardBehaviour | None = None
               ) -> tuple[list[SyncReport], MetaWearEmulator, str]:
    async def scenario() -> tuple[list[SyncReport], MetaWearEmulator, str]:
        async with emulated_metawear(time_scale=TIME_SCALE, behaviour=behaviour) as b:
            # the references a host kept when it started each reset uid's logging
            board_memory.save(tmp_path / "s.db", b.board.address,
                              board_memory.BoardMemory(clocks=dict(b.clock_references)))
            out = io.StringIO()
            reports = []
            for delete in runs:
                options = SyncOptions(db=tmp_path / "s.db", traces_dir=tmp_path / "traces",
                                      rules=default_rules(), patient_id="p1", delete=delete,
                                      out=out, reconnect_delays_s=(0.05, 0.1),
                                      connect_timeout_s=1.0, wall_clock=b.board.unix_now)
                reports.append(await sync_metawear(b.ble_device, options,
                                                   backend=b.client_backend))
            return reports, b.board, out.getvalue()

    return run(scenario(), timeout_s=120.0)


def ledger_rows(tmp_path: Path) -> list[tuple]:
    conn = sqlite3.connect(tmp_path / "s.db")
    try:
        return conn.execute("SELECT recording_id, COUNT(*) FROM synced_recordings "
                            "GROUP BY recording_id ORDER BY recording_id").fetchall()
    finally:
        conn.close()


def test_log_downloads_with_wrap_and_reset_then_clears(tmp_path: Path) -> None:
    (report,), board, text = sync_board(tmp_path, [True])
    assert len(report.stored) == 3 and report.deleted == report.stored
    assert board.entries == [] and board.cleared == 2 * sum(len(w.counts)
                                                            for w in board.recordings)
    assert board.command_log.count(bytes([0x0B, 0x0E])) >= 100  # every page was confirmed
    assert " kB / " in text and "s left" in text
    for trace_path, walk in zip(report.traces, board.recordings, strict=True):
        decoded = decode_trace(read_trace(trace_path))
        assert decoded.profile == "metawear-log" and not decoded.problems
        assert np.array_equal(decoded.acc_g, walk.acc_g)  # the board's counts at ±16 g
        assert decoded.start_unix_s is not None
        absolute = decoded.t_s + decoded.start_unix_s
        assert np.allclose(absolute, walk.t_unix_s, atol=1e-6, rtol=0)
        assert np.all(np.diff(absolute) > 0)  # also across the 2^32 tick wrap
    wrapped = board.recordings[0].ticks
    assert np.any(np.diff(wrapped) < 0)  # the first walk really crosses the wrap
    assert [w.reset_uid for w in board.recordings] == [1, 2, 2]


def test_second_run_stores_nothing_and_a_drop_restarts_the_readout(tmp_path: Path) -> None:
    reports, board, _ = sync_board(tmp_path, [False, True],
                                   BoardBehaviour(drop_after_entries=3000, down_s=1.0))
    first, second = reports
    assert first.reconnects == 1 and len(first.stored) == 3 and not first.deleted
    assert second.stored == [] and len(second.already) == 3 and len(second.deleted) == 3
    assert [count for _, count in ledger_rows(tmp_path)] == [1, 1, 1]
    assert board.entries == []


def test_recording_without_clock_reference_stays_on_the_board(tmp_path: Path) -> None:
    async def scenario() -> tuple[SyncReport, MetaWearEmulator, str]:
        async with emulated_metawear(time_scale=TIME_SCALE) as b:
            out = io.StringIO()
            options = SyncOptions(db=tmp_path / "s.db", traces_dir=tmp_path / "traces",
                                  rules=default_rules(), delete=True, out=out,
                                  connect_timeout_s=1.0, wall_clock=b.board.unix_now)
            report = await sync_metawear(b.ble_device, options, backend=b.client_backend)
            return report, b.board, out.getvalue()

    report, board, text = run(scenario(), timeout_s=120.0)
    # uid 2 is current, so its clock is read now; uid 1 (before the reset) has no reference
    assert len(report.stored) == 2 and report.deleted == []
    assert "no clock reference for board reset 1" in text
    assert len(board.entries) > 0


def start_logging(tmp_path: Path, behaviour: BoardBehaviour, *, then_sync: bool = False
                  ) -> tuple[str, MetaWearEmulator, list[SyncReport]]:
    """``sync --start`` on an emulated board (and with ``then_sync``: sync --delete, then
    start again); the refusal message, or "" when the (last) start went through."""
    async def scenario() -> tuple[str, MetaWearEmulator, list[SyncReport]]:
        async with emulated_metawear(time_scale=TIME_SCALE, behaviour=behaviour) as b:
            db = tmp_path / "s.db"
            board_memory.save(db, b.board.address,
                              board_memory.BoardMemory(clocks=dict(b.clock_references)))
            reports: list[SyncReport] = []
            message = ""
            for attempt in range(2 if then_sync else 1):
                try:
                    await start_or_stop_logging(b.ble_device, db, start=True, rate_hz=50.0,
                                                backend=b.client_backend,
                                                wall_clock=b.board.unix_now)
                    message = ""
                except SyncRefused as refused:
                    message = str(refused)
                if then_sync and attempt == 0:
                    options = SyncOptions(db=db, traces_dir=tmp_path / "traces",
                                          rules=default_rules(), delete=True,
                                          out=io.StringIO(), connect_timeout_s=1.0,
                                          reconnect_delays_s=(0.05,),
                                          wall_clock=b.board.unix_now)
                    reports.append(await sync_metawear(b.ble_device, options,
                                                       backend=b.client_backend))
            return message, b.board, reports

    return run(scenario(), timeout_s=120.0)


def test_full_log_refuses_start_and_logging_stops_until_synced(tmp_path: Path) -> None:
    # what emulated_metawear's log holds: 3 walks (12, 14, 16 s of walking with 5 s of
    # standing before and after) at 50 Hz, two entries per sample
    walks_entries = 2 * 50 * (22 + 24 + 26)
    full = BoardBehaviour(log_capacity_entries=walks_entries)
    message, board, _ = start_logging(tmp_path, full)
    assert message == FULL
    assert board.dropped_samples > 0 and len(board.entries) == walks_entries  # nothing lost
    assert board.command_log[-3:][0] == bytes([0x0B, 0x01, 0x00])  # logging stopped again
    assert board_memory.load(tmp_path / "s.db", board.address).xy_logger == 0  # not kept
    # the way out the message gives: sync --delete frees the memory, then start works
    message, board, (report,) = start_logging(tmp_path / "again", full, then_sync=True)
    assert message == "" and len(report.stored) == 3 and len(report.deleted) == 3
    assert 0 < len(board.entries) <= walks_entries  # logging into the freed memory


def test_board_connected_elsewhere_or_without_free_logger_is_refused_clearly(
    tmp_path: Path,
) -> None:
    busy = BoardBehaviour(other_central=True)
    message, board, _ = start_logging(tmp_path, busy)
    assert message == BOARD_BUSY.format(device=board.name) and board.link_log == []
    try:
        sync_board(tmp_path / "sync", [False], busy)
    except SyncRefused as refused:
        message = str(refused)
    else:
        message = ""
    assert message == BOARD_BUSY.format(device="MetaWear")
    message, board, _ = start_logging(tmp_path / "slots", BoardBehaviour(logger_slots=0))
    assert message == NO_FREE_LOGGER.format(device=board.name)
    assert not any(c[:2] == bytes([0x0B, 0x01]) for c in board.command_log)  # never started


def test_cli_emulated_metawear_faults(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    # the command's own loop on virtual time: its connect timeouts and retries cost nothing
    monkeypatch.setattr(asyncio, "run", lambda scenario: run(scenario, timeout_s=600.0))
    db = str(tmp_path / "s.db")
    assert main(["sync", "--emulate", "metawear", "--emulate-fault", "busy", "--db", db]) == 1
    assert "takes one connection at a time" in capsys.readouterr().err
    assert main(["sync", "--emulate", "metawear", "--emulate-fault", "full", "--start",
                 "--rate", "50", "--db", db, "--no-calibration"]) == 1
    assert "memory is full" in capsys.readouterr().err
    assert main(["sync", "--emulate", "metawear", "--emulate-fault", "unbonded",
                 "--db", db]) == 2
    assert "do not use bonding" in capsys.readouterr().err
    assert main(["sync", "--emulate", "metawear", "--start", "--rate", "52", "--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "sample rate 52 Hz is not supported" in err[-1]


def test_start_log_reset_start_log_then_sync_follows_the_board_clock(tmp_path: Path) -> None:
    """The whole story on an empty board: logging from `sync --start` crosses the 2³² tick
    wrap, the board is reset (ticks from 0 under a new reset uid), `sync --start` again,
    then one sync files both walks on the board's own clock."""
    db = tmp_path / "s.db"

    async def scenario() -> tuple[SyncReport, MetaWearEmulator]:
        async with emulated_metawear(time_scale=TIME_SCALE, walk_s=()) as b:
            board = b.board
            board.tick_at_power_on = (1 << 32) - int(30.0 / TICK_S)  # wraps 30 s from now

            async def start_or_stop(start: bool) -> None:
                await start_or_stop_logging(b.ble_device, db, start=start, rate_hz=50.0,
                                            backend=b.client_backend,
                                            wall_clock=board.unix_now)

            await start_or_stop(True)
            await board.clock.sleep(45.0)
            await start_or_stop(False)
            await board.clock.sleep(5.0)
            await board.reset_board()
            await board.clock.sleep(20.0)
            await start_or_stop(True)
            await board.clock.sleep(25.0)
            await start_or_stop(False)
            options = SyncOptions(db=db, traces_dir=tmp_path / "traces",
                                  rules=default_rules(), patient_id="p1", delete=True,
                                  out=io.StringIO(), connect_timeout_s=1.0,
                                  wall_clock=board.unix_now)
            report = await sync_metawear(b.ble_device, options, backend=b.client_backend)
            return report, board

    report, board = run(scenario(), timeout_s=600.0)
    uids = sorted({uid for uid, _, _ in board.logged})
    assert len(uids) == 2 and len(report.stored) == 2 and report.deleted == report.stored
    assert board.entries == []
    for trace_path, uid in zip(report.traces, uids, strict=True):
        truth = np.array([[tick, unix] for u, tick, unix in board.logged if u == uid])
        decoded = decode_trace(read_trace(trace_path))
        assert not decoded.problems and len(decoded.t_s) == len(truth)
        absolute = decoded.t_s + decoded.start_unix_s
        # on the board's clock to within a tick and the time the clock answer took
        assert np.max(np.abs(absolute - truth[:, 1])) < 0.02
        assert np.all(np.diff(absolute) > 0)
    first_ticks = np.array([tick for u, tick, _ in board.logged if u == uids[0]])
    assert np.any(np.diff(first_ticks) < 0)  # the first walk really crossed the wrap
    assert min(tick for u, tick, _ in board.logged if u == uids[1]) < int(60.0 / TICK_S)


def test_second_start_logs_into_the_same_loggers_and_both_walks_sync(tmp_path: Path) -> None:
    """Two walks logged with no sync between them: the second `sync --start` reuses the
    loggers (no board reset since they were made), so the first walk's entries still
    belong to the loggers the host remembers and both walks are filed."""
    db = tmp_path / "s.db"

    async def scenario() -> tuple[SyncReport, MetaWearEmulator]:
        async with emulated_metawear(time_scale=TIME_SCALE, walk_s=()) as b:
            for _ in range(2):
                for start, walk_s in ((True, 20.0), (False, 10.0)):
                    await start_or_stop_logging(b.ble_device, db, start=start, rate_hz=50.0,
                                                backend=b.client_backend,
                                                wall_clock=b.board.unix_now)
                    await b.board.clock.sleep(walk_s)
            options = SyncOptions(db=db, traces_dir=tmp_path / "traces",
                                  rules=default_rules(), out=io.StringIO(),
                                  connect_timeout_s=1.0, wall_clock=b.board.unix_now)
            return await sync_metawear(b.ble_device, options, backend=b.client_backend), b.board

    report, board = run(scenario(), timeout_s=300.0)
    triggers = [c for c in board.command_log if c[:2] == bytes([0x0B, 0x02])]
    assert len(triggers) == 2  # x,y and z loggers made once
    assert len(report.stored) == 2
    logged = sum(len(decode_trace(read_trace(p)).t_s) for p in report.traces)
    assert logged == len(board.logged)  # every logged sample filed
