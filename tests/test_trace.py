"""The .swtrace format: writing, reading after crashes, and decoding into samples."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import firmware_bridge.trace.writer as trace_writer
from firmware_bridge.profiles import StreamConfig
from firmware_bridge.profiles.metawear import METAWEAR_COMMAND_UUID, METAWEAR_NOTIFY_UUID
from firmware_bridge.profiles.polar_pmd import (
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_EPOCH_UNIX_S,
    start_acc_payload,
)
from firmware_bridge.profiles.rsc import RSC_MEASUREMENT_UUID
from firmware_bridge.profiles.witmotion import WITMOTION_NOTIFY_UUID
from firmware_bridge.trace import (
    ConnectEvent,
    DisconnectEvent,
    MarkEvent,
    NotifyEvent,
    TraceFormatError,
    TraceWriter,
    WriteEvent,
    decode_trace,
    read_trace,
)

MICROBIT_DATA = "e95dca4b-251d-470a-a062-fa1922dfa9a8"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


HEADER = json.dumps(
    {
        "format": "stridewatch-trace",
        "version": 1,
        "profile": "microbit",
        "device": {"name": "BBC micro:bit [zavit]", "address": "AA:BB"},
        "started_unix_s": 1700000000.0,
        "config": {"sample_rate_hz": 50.0},
    }
)


# --- writing and reading ---------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "walk.swtrace"
    clock = FakeClock()
    with TraceWriter(
        path,
        "polar-pmd",
        device_name="Polar H10 1A2B3C4D",
        device_address="A0:9E:1A:00:00:01",
        config={"sample_rate_hz": 200.0, "range_g": 8.0},
        started_unix_s=1_700_000_000.25,
        clock=clock,
    ) as writer:
        clock.now += 0.5
        writer.record_connect()
        clock.now += 0.25
        writer.record_write(PMD_CONTROL_UUID.upper(), bytes.fromhex("0302"))
        writer.record_notify(PMD_DATA_UUID, b"\x02\xab\xcd", t_s=0.8)
        writer.record_mark("start walk ü", t_s=0.9)
        writer.record_disconnect("connection timeout", t_s=1.0)

    raw_lines = path.read_text(encoding="utf-8").splitlines()
    assert len(raw_lines) == 6
    assert json.loads(raw_lines[3]) == {
        "t": 0.8,
        "ev": "notify",
        "char": PMD_DATA_UUID,
        "hex": "02abcd",
    }

    trace = read_trace(path)
    assert trace.problems == []
    assert trace.header.profile == "polar-pmd"
    assert trace.header.device_name == "Polar H10 1A2B3C4D"
    assert trace.header.device_address == "A0:9E:1A:00:00:01"
    assert trace.header.started_unix_s == 1_700_000_000.25
    assert trace.header.config == {"sample_rate_hz": 200.0, "range_g": 8.0}
    assert trace.events == [
        ConnectEvent(t_s=0.5, line=2),
        WriteEvent(t_s=0.75, char_uuid=PMD_CONTROL_UUID, payload=b"\x03\x02", line=3),
        NotifyEvent(t_s=0.8, char_uuid=PMD_DATA_UUID, payload=b"\x02\xab\xcd", line=4),
        MarkEvent(t_s=0.9, label="start walk ü", line=5),
        DisconnectEvent(t_s=1.0, reason="connection timeout", line=6),
    ]


def test_writer_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "a.swtrace"
    path.write_text("precious\n")
    with pytest.raises(FileExistsError):
        TraceWriter(path, "rsc")
    assert path.read_text() == "precious\n"


def test_writer_rejects_use_after_close(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path / "a.swtrace", "rsc")
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="a.swtrace: trace writer is closed"):
        writer.record_mark("late")


def test_truncated_last_line_after_crash_is_ignored_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "crash.swtrace"
    with TraceWriter(path, "microbit", clock=FakeClock()) as writer:
        for i in range(10):
            writer.record_notify(MICROBIT_DATA, bytes([i]) * 6, t_s=i * 0.02)
    data = path.read_bytes()
    path.write_bytes(data[:-25])  # the crash cut the 10th notification (line 11)

    trace = read_trace(path)
    assert len(trace.events) == 9
    assert [e.payload[0] for e in trace.events if isinstance(e, NotifyEvent)] == list(range(9))
    assert len(trace.problems) == 1
    assert trace.problems[0].startswith("crash.swtrace line 11: truncated last line ignored (")


def test_garbage_tail_after_power_loss_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "zeros.swtrace"
    write_lines(path, [HEADER, '{"t":0.1,"ev":"connect"}'])
    with path.open("ab") as f:
        f.write(b"\x00" * 300)  # what a filesystem may leave after a power cut
    trace = read_trace(path)
    assert trace.events == [ConnectEvent(t_s=0.1, line=2)]
    assert trace.problems[0].startswith("zeros.swtrace line 3: truncated last line ignored")


def test_bad_line_in_the_middle_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.swtrace"
    write_lines(
        path,
        [
            HEADER,
            '{"t":0.1,"ev":"connect"}',
            '{"t":0.2,"ev":"notify","char":"e95dca4b-251d-470a-a062-fa1922dfa9a8","hex":"0g"}',
            '{"t":0.3,"ev":"mark","label":"x"}',
        ],
    )
    with pytest.raises(TraceFormatError) as info:
        read_trace(path)
    assert str(info.value) == (
        "bad.swtrace line 3: \"hex\" is not an even-length hex string: '0g'"
    )
    assert info.value.line == 3


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "bad.swtrace line 2: not valid JSON (Expecting value at column 1)"),
        ('{"t":"soon","ev":"connect"}', "bad.swtrace line 2: \"t\" must be a finite number"),
        ("[1, 2]", "bad.swtrace line 2: expected a JSON object, got list"),
        ("", "bad.swtrace line 2: empty line"),
        ('{"t":1,"ev":"mark"}', "bad.swtrace line 2: \"label\" must be a string, got None"),
    ],
)
def test_line_errors(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.swtrace"
    write_lines(path, [HEADER, line, '{"t":5,"ev":"connect"}'])
    with pytest.raises(TraceFormatError) as info:
        read_trace(path)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            {"format": "csv", "version": 1},
            "h.swtrace line 1: bad header: not a stridewatch trace: header format is 'csv', "
            "expected 'stridewatch-trace'",
        ),
        (
            {"format": "stridewatch-trace", "version": 2},
            "h.swtrace line 1: bad header: unsupported trace version 2 "
            "(this reader understands version 1)",
        ),
        (
            {"format": "stridewatch-trace", "version": 1, "started_unix_s": 0},
            'h.swtrace line 1: bad header: "profile" must be a string, got None',
        ),
    ],
)
def test_header_errors(tmp_path: Path, header: dict, message: str) -> None:
    path = tmp_path / "h.swtrace"
    write_lines(path, [json.dumps(header), '{"t":0,"ev":"connect"}'])
    with pytest.raises(TraceFormatError) as info:
        read_trace(path)
    assert str(info.value) == message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.swtrace"
    path.write_bytes(b"")
    with pytest.raises(TraceFormatError, match="^empty.swtrace: empty file, no header line$"):
        read_trace(path)


def test_unknown_event_kind_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "future.swtrace"
    write_lines(path, [HEADER, '{"t":0.1,"ev":"rssi","dbm":-60}', '{"t":0.2,"ev":"connect"}'])
    trace = read_trace(path)
    assert trace.events == [ConnectEvent(t_s=0.2, line=3)]
    assert trace.problems == ["future.swtrace line 2: unknown event 'rssi' skipped"]


# --- crash safety ------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    from firmware_bridge.trace import TraceWriter
    with TraceWriter(sys.argv[1], "microbit", config={"sample_rate_hz": 50.0}) as writer:
        i = 0
        while True:
            t = writer.elapsed_s()
            writer.record_notify("e95dca4b-251d-470a-a062-fa1922dfa9a8", bytes([i % 256]) * 6, t)
            print(i, f"{t:.6f}", flush=True)
            i += 1
            time.sleep(0.002)
    """
)


def test_kill_9_while_writing_leaves_a_readable_trace(tmp_path: Path) -> None:
    path = tmp_path / "killed.swtrace"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    reported: list[tuple[int, float]] = []
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            index, t = line.split()
            reported.append((int(index), float(t)))
            if reported[-1][1] >= 1.0:
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        rest = child.stdout.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    reported += [(int(a), float(b)) for a, b in (ln.split() for ln in rest.splitlines())]
    assert reported and reported[-1][1] >= 1.0, "child did not record for a second"

    trace = read_trace(path)
    notifies = [e for e in trace.events if isinstance(e, NotifyEvent)]
    # every event the child reported as written is in the file, in order, intact
    assert [e.payload[0] for e in notifies[: len(reported)]] == [i % 256 for i, _ in reported]
    assert notifies[-1].t_s >= reported[-1][1] - 1.0
    # lines are written whole, so at most a cut last line could ever be reported
    assert len(trace.problems) <= 1
    assert all("truncated last line ignored" in p for p in trace.problems)
    decoded = decode_trace(trace)
    assert decoded.acc_g.shape[0] == len(notifies)


def test_fsync_is_periodic_when_dirty_and_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(trace_writer.os, "fsync", counting_fsync)
    writer = TraceWriter(tmp_path / "s.swtrace", "rsc", fsync_interval_s=0.02)
    after_open = len(calls)
    assert after_open >= 1  # header synced at once
    writer.record_connect()
    deadline = time.monotonic() + 2.0
    while len(calls) == after_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) == after_open + 1  # the dirty line was synced by the background thread
    time.sleep(0.1)
    assert len(calls) == after_open + 1  # nothing new written: no more syncs
    writer.close()
    assert len(calls) == after_open + 2


# --- decoding ------------------------------------------------------------------------------


def pmd_frame(stamp_ns: int, n: int, z_mg: int = 1000) -> bytes:
    samples = np.tile(np.array([10, -20, z_mg], dtype="<i2"), n)
    return bytes([2]) + stamp_ns.to_bytes(8, "little") + b"\x01" + samples.tobytes()


def write_polar_trace(path: Path) -> list[int]:
    """36-sample frames at 200 Hz; frames 4–5 lost; a reconnect; one corrupt packet."""
    frame_ns = 36 * 5_000_000
    stamps = [10**18 + k * frame_ns for k in range(1, 11) if k not in (4, 5)]
    with TraceWriter(
        path, "polar-pmd", config=StreamConfig(200.0, 8.0).to_dict(), clock=FakeClock()
    ) as w:
        w.record_connect(0.0)
        w.record_write(PMD_CONTROL_UUID, start_acc_payload(200, 8), 0.05)
        w.record_notify(PMD_CONTROL_UUID, bytes.fromhex("F0 02 02 00 00 01"), 0.1)
        for i, stamp in enumerate(stamps):
            w.record_notify(PMD_DATA_UUID, pmd_frame(stamp, 36), 0.2 + 0.18 * i)
            if i == 2:
                w.record_notify(PMD_DATA_UUID, pmd_frame(stamps[0], 36)[:-5], 0.21 + 0.18 * i)
        w.record_mark("turn", 1.5)
        w.record_disconnect("supervision timeout", 2.0)
        w.record_connect(5.0)
        later = stamps[-1] + 4 * 10**9
        for j in range(3):
            w.record_notify(PMD_DATA_UUID, pmd_frame(later + j * frame_ns, 36, 990), 5.2 + 0.18 * j)
    return stamps


def test_decode_polar_trace_device_time_gaps_and_problems(tmp_path: Path) -> None:
    path = tmp_path / "polar.swtrace"
    stamps = write_polar_trace(path)
    decoded = decode_trace(read_trace(path))

    assert decoded.time_source == "device"
    assert decoded.acc_g.shape == ((len(stamps) + 3) * 36, 3)
    np.testing.assert_allclose(decoded.acc_g[0], [0.010, -0.020, 1.000])
    np.testing.assert_allclose(decoded.acc_g[-1], [0.010, -0.020, 0.990])
    assert decoded.t_s[0] == 0.0
    assert np.all(np.diff(decoded.t_s) > 0)
    assert decoded.sample_rate_hz == pytest.approx(200.0, rel=1e-3)
    assert decoded.nominal_sample_rate_hz == 200.0
    first_sample_unix = PMD_EPOCH_UNIX_S + stamps[0] / 1e9 - 35 * 0.005
    assert decoded.start_unix_s == pytest.approx(first_sample_unix, abs=1e-5)

    kinds = [(g.kind, g.after_sample, g.lost_frames) for g in decoded.gaps]
    assert kinds == [("lost_frames", 3 * 36, 2), ("disconnect", 8 * 36, 0)]
    lost, disconnect = decoded.gaps
    # 72 missing samples: from the last sample before to the first after is 73 periods
    assert lost.duration_s == pytest.approx(73 * 0.005, abs=1e-5)
    # the first frame after reconnect is stamped 4 s after the last one before
    assert disconnect.duration_s == pytest.approx(4.0 - 35 * 0.005, abs=1e-5)
    assert "supervision timeout" in disconnect.detail

    assert decoded.n_notifications == len(stamps) + 3 + 2
    assert decoded.n_bad_notifications == 1
    assert decoded.problems == [
        "polar.swtrace line 8: packet 4: PMD ACC frame type 1 payload of 211 bytes is not "
        "a multiple of 6"
    ]
    # 40 ms after the last notification before it, whose last sample is at 9 × 0.18 + 0.175 s
    assert [m.label for m in decoded.marks] == ["turn"]
    assert decoded.marks[0].t_s == pytest.approx(9 * 0.18 + 0.175 + 0.04, abs=1e-5)


def test_decode_polar_clock_restart_after_reconnect_is_reanchored(tmp_path: Path) -> None:
    path = tmp_path / "restart.swtrace"
    with TraceWriter(path, "polar-pmd", config={"sample_rate_hz": 200.0}, clock=FakeClock()) as w:
        w.record_connect(0.0)
        for k in range(3):
            w.record_notify(PMD_DATA_UUID, pmd_frame(10**15 + k * 180_000_000, 36), 0.2 + 0.18 * k)
        w.record_disconnect(None, 1.0)
        w.record_connect(3.0)
        for k in range(3):  # the device rebooted: its clock starts again near zero
            w.record_notify(PMD_DATA_UUID, pmd_frame(10**9 + k * 180_000_000, 36), 3.2 + 0.18 * k)
    decoded = decode_trace(read_trace(path))
    assert np.all(np.diff(decoded.t_s) > 0)
    assert [g.kind for g in decoded.gaps] == ["disconnect", "clock_jump"]
    gap = decoded.gaps[1]
    assert gap.after_sample == 108
    # the re-anchored frame ends when it arrived: host time between the frames less the
    # frame's own 35 sample periods (re-anchoring adds no time)
    assert gap.duration_s == pytest.approx(3.2 - 0.56 - 35 / 200, abs=1e-6)
    assert any("device clock jumped" in p for p in decoded.problems)


def test_decode_metawear_host_time_is_fitted_per_sample(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    rate_hz = 99.5  # the device's true rate differs a little from the nominal 100 Hz
    n = 600
    true_t = 0.3 + np.arange(n) / rate_hz
    arrival = true_t + rng.uniform(0.005, 0.04, size=n)  # BLE latency and jitter
    arrival = np.maximum.accumulate(arrival)
    path = tmp_path / "mw.swtrace"
    with TraceWriter(path, "metawear", config={"sample_rate_hz": 100.0, "range_g": 16.0}) as w:
        w.record_connect(0.0)
        w.record_write(METAWEAR_COMMAND_UUID, bytes.fromhex("03 03 28 05"), 0.1)  # ±4 g
        for i in range(n):
            z = int(8192 * (1 + 0.2 * np.sin(i / 10)))
            payload = bytes.fromhex("03 04") + np.array([0, 0, z], "<i2").tobytes()
            w.record_notify(METAWEAR_NOTIFY_UUID, payload, float(arrival[i]))
    decoded = decode_trace(read_trace(path))
    assert decoded.time_source == "host"
    assert decoded.gyro_dps is None
    assert decoded.acc_g[0, 2] == pytest.approx(1.0)  # range learned from the config write
    assert decoded.sample_rate_hz == pytest.approx(rate_hz, rel=2e-3)
    residual = (decoded.t_s + (true_t[0])) - true_t
    # timed causally (the live view's ArrivalClock): the first notification's latency
    # (5-40 ms) is taken back as later arrivals show it, within the first seconds
    assert np.ptp(residual) < 0.04
    settled = true_t > true_t[0] + 2.5
    np.testing.assert_allclose(np.diff(decoded.t_s)[settled[1:]], 1 / rate_hz, rtol=2e-3)
    assert np.ptp(residual[settled]) < 0.01  # the per-sample timeline is straight despite jitter
    assert decoded.gaps == []


def test_decode_witmotion_split_packets_and_gyro(tmp_path: Path) -> None:
    packet = bytes([0x55, 0x61]) + np.array([2048] * 3 + [16384] * 3 + [0] * 3, "<i2").tobytes()
    stream = packet * 20
    path = tmp_path / "wit.swtrace"
    with TraceWriter(path, "witmotion", config={"sample_rate_hz": 50.0}) as w:
        w.record_connect(0.0)
        for i in range(0, len(stream), 13):
            w.record_notify(WITMOTION_NOTIFY_UUID, stream[i : i + 13], 0.1 + i / 20 * 0.02)
    decoded = decode_trace(read_trace(path))
    assert decoded.acc_g.shape == (20, 3)
    np.testing.assert_allclose(decoded.acc_g, 1.0)
    assert decoded.gyro_dps is not None
    np.testing.assert_allclose(decoded.gyro_dps, 1000.0)
    assert decoded.problems == []


def test_decode_host_time_pause_becomes_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "pause.swtrace"
    with TraceWriter(path, "microbit", config={"sample_rate_hz": 50.0}) as w:
        w.record_connect(0.0)
        for i in range(100):
            t = 0.1 + i * 0.02 + (3.0 if i >= 50 else 0.0)
            w.record_notify(MICROBIT_DATA, np.array([0, 0, 1000], "<i2").tobytes(), t)
    decoded = decode_trace(read_trace(path))
    assert [(g.kind, g.after_sample) for g in decoded.gaps] == [("pause", 50)]
    assert decoded.gaps[0].duration_s == pytest.approx(3.02, abs=0.01)
    assert decoded.sample_rate_hz == pytest.approx(50.0, rel=1e-3)


def test_decode_rsc_trace(tmp_path: Path) -> None:
    path = tmp_path / "pod.swtrace"
    with TraceWriter(path, "rsc") as w:
        w.record_notify(RSC_MEASUREMENT_UUID, bytes.fromhex("00 80 01 6E"), 1.0)
        w.record_notify(RSC_MEASUREMENT_UUID, bytes.fromhex("04 00 03 B4"), 2.0)
        w.record_notify(RSC_MEASUREMENT_UUID, bytes.fromhex("01 00"), 3.0)
    decoded = decode_trace(read_trace(path))
    assert decoded.acc_g.shape == (0, 3) and decoded.t_s.shape == (0,)
    np.testing.assert_array_equal(decoded.rsc_t_s, [0.0, 1.0])
    np.testing.assert_array_equal(decoded.cadence_spm, [110.0, 180.0])
    np.testing.assert_array_equal(decoded.speed_mps, [1.5, 3.0])
    assert decoded.problems == [
        "pod.swtrace line 4: packet 2: RSC measurement of 2 bytes is too short: flags 0x01 need 6"
    ]


def test_decode_unknown_profile(tmp_path: Path) -> None:
    path = tmp_path / "odd.swtrace"
    write_lines(path, [HEADER.replace('"microbit"', '"fitbit"')])
    with pytest.raises(TraceFormatError, match=r"odd.swtrace line 1: unknown profile 'fitbit'"):
        decode_trace(read_trace(path))


def test_examples_in_the_format_documentation_are_valid(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[1] / "data" / "trace-format.md").read_text()
    blocks = doc.split("```json\n")[1:]
    header, events = (block.split("```")[0].strip() for block in blocks[:2])
    path = tmp_path / "doc.swtrace"
    path.write_text(header + "\n" + events + "\n", encoding="utf-8")
    trace = read_trace(path)
    assert trace.problems == []
    assert [type(e).__name__ for e in trace.events] == [
        "ConnectEvent",
        "WriteEvent",
        "NotifyEvent",
        "NotifyEvent",
        "MarkEvent",
        "DisconnectEvent",
        "ConnectEvent",
    ]
    decoded = decode_trace(trace)
    assert decoded.problems == []
    np.testing.assert_allclose(decoded.acc_g * 1000, [[-9, -1, 999], [-8, -2, 997]])
