"""`sync` against an emulated MetaMotion board through the real BleakClient: the log holds
three walks, the first crossing the 2³² tick wrap, then a board reset before the others."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import numpy as np

from firmware_bridge.emulation.emulated_offline import emulated_metawear
from firmware_bridge.emulation.metawear_board import BoardBehaviour, MetaWearEmulator
from firmware_bridge.trace import decode_trace, read_trace
from stridewatch.cli.options import default_rules
from stridewatch.sync import board_memory
from stridewatch.sync.metawear import sync_metawear
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
