"""Long CSVs in other layouts and Polar Sensor Logger exports are analysed as a stream of
chunks (stridewatch.inputs.table_stream) and give exactly what reading them whole gives:
the same session, the same output bytes, the same errors; anything the stream cannot read
the whole-file reader's way is read whole."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import analysis.streaming as streaming
import analysis.timebase as timebase
import stridewatch.inputs.table_stream as table_stream
from analysis.rules import builtin_rules
from stridewatch.cli import main
from stridewatch.inputs import read_recordings
from stridewatch.store.filing import analyze_recording, analyze_streamed

LAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "mobgap-lab"
G = 9.80665
POLAR_EPOCH_UNIX_S = 946_684_800
START_UNIX_S = 1_764_583_200  # 2025-12-01 10:00 UTC
ROWS = 7919  # chunk size: the recordings cross many chunk boundaries


def _three_walks() -> np.ndarray:
    """Three real lower-back recordings back to back (t s, acc m/s², gyro deg/s), ~13 min."""
    parts, t0 = [], 0.0
    for name in ("ms-001-test11-trial1", "ha-002-test11-trial1", "ha-001-test11-trial1"):
        data = np.loadtxt(LAB / f"{name}.csv", delimiter=",", skiprows=1)
        data[:, 0] += t0 - data[0, 0]
        parts.append(data)
        t0 = data[-1, 0] + 0.01
    return np.vstack(parts)


@pytest.fixture(scope="module")
def walks() -> np.ndarray:
    return _three_walks()


def _polar_lines(data: np.ndarray) -> list[str]:
    ns = ((START_UNIX_S - POLAR_EPOCH_UNIX_S) * 10**9
          + np.round(data[:, 0] * 1e9).astype(np.int64))
    mg = np.round(data[:, 1:4] / G * 1000).astype(int)
    lines = ["Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"]
    lines += [f"2025-12-01T11:00:00.{i % 1000:03d};{n};{a[0]};{a[1]};{a[2]}"
              for i, (n, a) in enumerate(zip(ns, mg, strict=True))]
    return lines


def _phone_csv_lines(data: np.ndarray) -> list[str]:
    """A phone app's CSV: semicolons, Unix time in ms (detected), m/s² and rad/s stated."""
    ms = START_UNIX_S * 1000 + np.round(data[:, 0] * 1000).astype(np.int64)
    lines = ["timestamp;acc_x [m/s^2];acc_y [m/s^2];acc_z [m/s^2];gyro_x [rad/s];"
             "gyro_y [rad/s];gyro_z [rad/s]"]
    rad = np.radians(data[:, 4:7])
    lines += [f"{m};{a[0]:.5f};{a[1]:.5f};{a[2]:.5f};{g[0]:.6f};{g[1]:.6f};{g[2]:.6f}"
              for m, a, g in zip(ms, data[:, 1:4], rad, strict=True)]
    return lines


def _xsens_lines(data: np.ndarray, time_column: str = "SampleTimeFine") -> list[str]:
    """An MT Manager export: both counters wrap within the first chunks (rad/s, m/s²)."""
    lines = ["// General information:", "//  MT Manager version: 2022.2.0",
             "// Device settings:", "//  Update Rate: 100.0Hz"]
    names = ["PacketCounter", "SampleTimeFine"] if time_column == "SampleTimeFine" else [
        "PacketCounter"]
    lines.append("\t".join([*names, "Acc_X", "Acc_Y", "Acc_Z", "Gyr_X", "Gyr_Y", "Gyr_Z"]))
    ticks = (2**32 - 20_000 + np.round(data[:, 0] * 10_000).astype(np.int64)) % 2**32
    packets = (60_000 + np.arange(len(data))) % 2**16
    rad = np.radians(data[:, 4:7])
    for p, k, a, g in zip(packets, ticks, data[:, 1:4], rad, strict=True):
        counters = [str(p), str(k)] if time_column == "SampleTimeFine" else [str(p)]
        lines.append("\t".join([*counters, f"{a[0]:.6f}", f"{a[1]:.6f}", f"{a[2]:.6f}",
                                f"{g[0]:.6f}", f"{g[1]:.6f}", f"{g[2]:.6f}"]))
    return lines


def _plain_unix_ms_lines(data: np.ndarray) -> list[str]:
    """The plain layout's header over Unix time in ms (as some phone apps write it)."""
    ms = START_UNIX_S * 1000 + np.round(data[:, 0] * 1000).astype(np.int64)
    lines = ["t,ax,ay,az,gx,gy,gz"]
    lines += [f"{m},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f},{g[0]:.5f},{g[1]:.5f},{g[2]:.5f}"
              for m, a, g in zip(ms, data[:, 1:4], data[:, 4:7], strict=True)]
    return lines


LAYOUTS = {
    "polar": ("Polar_H10_1A2B3C4D_20251201100000_ACC.txt", _polar_lines),
    "phone-csv": ("phone.csv", _phone_csv_lines),
    "plain-unix-ms": ("walk.csv", _plain_unix_ms_lines),
    "xsens-ticks": ("MT_00B42D4F_000-000_00B42D4F.txt", _xsens_lines),
    "xsens-packets": ("MT_00B42D4F_000-001_00B42D4F.txt",
                      lambda data: _xsens_lines(data, "PacketCounter")),
}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small_stream(monkeypatch):
    """Stream any file, in small chunks, judging time and units on the first 20,000 rows
    (as on the first 200,000 of a long file), so a 13 min walk is a long stream."""
    monkeypatch.setattr(table_stream, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(table_stream, "CHUNK_ROWS", ROWS)
    monkeypatch.setattr(table_stream, "TIME_UNIT_STAMPS", 20_001)
    monkeypatch.setattr(timebase, "TIME_UNIT_STAMPS", 20_001)
    monkeypatch.setattr(streaming, "WINDOW_SAMPLES", 20_000)


def _cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def _whole_cli(monkeypatch, args: list[str]) -> tuple[int, str, str]:
    with monkeypatch.context() as m:
        m.setattr(table_stream, "STREAM_ABOVE_BYTES", 1 << 62)  # never streamed
        return _cli(args)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_streamed_table_equals_the_whole_file(tmp_path, walks, small_stream, monkeypatch,
                                              layout):
    name, lines = LAYOUTS[layout]
    path = _write(tmp_path / name, lines(walks))
    rules = builtin_rules()
    streamed = analyze_streamed(path, rules=rules)
    assert streamed is not None  # really streamed
    result, shell = streamed
    assert len(shell.t_s) == 0  # no samples kept
    (recording,) = read_recordings(path)
    whole = analyze_recording(recording, rules=rules).to_dict(str(path))
    assert whole["steps"] > 300  # the real walks were found
    assert result.to_dict(str(path)) == whole
    assert shell.describe() == recording.describe()
    assert shell.meta == recording.meta and shell.warnings == recording.warnings
    assert shell.nominal_rate_hz == recording.nominal_rate_hz
    assert shell.first_data_line == recording.first_data_line
    if layout == "polar":
        assert shell.meta["device_name"] == "Polar H10 1A2B3C4D"
        assert shell.meta["start_unix_s"] == pytest.approx(START_UNIX_S)
    elif layout in ("phone-csv", "plain-unix-ms"):
        assert shell.warnings == ["time column read as ms (detected from the sample interval; "
                                  "--time-unit overrides)"]
    else:
        assert shell.nominal_rate_hz == 100.0 and shell.acc_units == "m/s2"
    args = ["analyze", "--json", str(path)]
    assert _cli(args) == _whole_cli(monkeypatch, args)
    args = ["analyze", str(path), str(path), "--workers", "2"]  # summaries, from workers
    assert _cli(args) == _whole_cli(monkeypatch, args)


def _damaged(lines: list[str], change: str) -> list[str]:
    lines = list(lines)
    at = 3 * ROWS + 17  # a later chunk, after the time unit was decided
    fields = lines[at].split(";")
    if change == "text":
        fields[2] = "n/a"
    elif change == "decimals":  # integer mg, then decimals from this chunk on
        for i in range(at, len(lines)):
            f = lines[i].split(";")
            f[2] = f"{float(f[2]):.1f}"
            lines[i] = ";".join(f)
        return lines
    elif change == "blank":
        lines[at] = ""
        return lines
    elif change == "fields":
        fields.append("7")
    elif change == "repeated-row":
        lines.insert(at, lines[at])
        return lines
    elif change == "jitter":  # a stamp 2 ms before the previous one: the clock is repaired
        prev = int(lines[at - 1].split(";")[1])
        fields[1] = str(prev - 2_000_000)
    lines[at] = ";".join(fields)
    return lines


@pytest.mark.parametrize("change", ["text", "decimals", "blank", "fields", "repeated-row",
                                    "jitter"])
def test_what_the_stream_cannot_read_is_read_whole(tmp_path, walks, small_stream,
                                                   monkeypatch, change):
    path = _write(tmp_path / "Polar_H10_1A2B3C4D_20251201100000_ACC.txt",
                  _damaged(_polar_lines(walks), change))
    assert analyze_streamed(path, rules=builtin_rules()) is None  # read whole instead
    args = ["analyze", "--json", str(path)]
    code, out, err = _cli(args)
    assert (code, out, err) == _whole_cli(monkeypatch, args)
    if change in ("text", "blank", "fields"):  # the whole-file reader's error, naming the line
        assert code == 2 and f"line {3 * ROWS + 18}" in err
    else:
        assert code == 0 and '"steps"' in out


def test_small_tables_and_other_formats_are_read_whole(tmp_path, walks):
    polar = _write(tmp_path / "Polar_H10_1A2B3C4D_20251201100000_ACC.txt", _polar_lines(walks))
    assert polar.stat().st_size < table_stream.STREAM_ABOVE_BYTES
    assert table_stream.table_stream(polar, "polar-sensor-logger") is None
    trace = tmp_path / "x.swtrace"
    trace.write_text('{"format":"stridewatch-trace"}\n' + "x" * (17 << 20), encoding="utf-8")
    assert table_stream.table_stream(trace, "swtrace") is None


def test_an_xsens_row_left_empty_is_read_whole(tmp_path, walks, small_stream, monkeypatch):
    lines = _xsens_lines(walks)
    at = 5 + 3 * ROWS + 17
    lines[at] = lines[at].split("\t")[0] + "\t" + "\t".join(["NaN"] * 7)  # a packet lost
    path = _write(tmp_path / "MT_00B42D4F_000-000_00B42D4F.txt", lines)
    assert analyze_streamed(path, rules=builtin_rules()) is None
    args = ["analyze", "--json", str(path)]
    code, out, err = _cli(args)
    assert (code, out, err) == _whole_cli(monkeypatch, args)
    assert code == 0 and "1 row without acceleration or time" in out


def test_an_analysis_error_in_a_later_chunk_is_the_whole_files(tmp_path, walks, small_stream,
                                                                monkeypatch):
    lines = _phone_csv_lines(walks)
    at = 3 * ROWS + 17
    fields = lines[at].split(";")
    fields[2] = "nan"  # read as a number: the analysis refuses the missing value
    lines[at] = ";".join(fields)
    path = _write(tmp_path / "phone.csv", lines)
    assert analyze_streamed(path, rules=builtin_rules()) is None
    args = ["analyze", "--json", str(path)]
    code, out, err = _cli(args)
    assert (code, out, err) == _whole_cli(monkeypatch, args)
    assert code == 2 and f"line {at + 1}" in err
