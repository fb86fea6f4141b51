"""A CSV analysed as a stream of chunks gives exactly the whole-file result, and its errors
name the same lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import analysis.streaming as streaming
from analysis.errors import InputError
from analysis.pipeline import analyze
from analysis.rules import builtin_rules
from stridewatch.inputs import read_input
from stridewatch.inputs.chunks import csv_chunks

LAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "mobgap-lab"


@pytest.fixture(scope="module")
def long_real_csv(tmp_path_factory) -> Path:
    """Three real lower-back recordings back to back with a 2 s radio gap (~13 min)."""
    parts, t0 = [], 0.0
    for name in ("ms-001-test11-trial1", "ha-002-test11-trial1", "ha-001-test11-trial1"):
        data = np.loadtxt(LAB / f"{name}.csv", delimiter=",", skiprows=1)
        data[:, 0] += t0 - data[0, 0]
        parts.append(data)
        t0 = data[-1, 0] + (2.0 if not parts[1:] else 0.01)
    path = tmp_path_factory.mktemp("stream") / "three-walks.csv"
    np.savetxt(path, np.vstack(parts), delimiter=",", header="t,ax,ay,az,gx,gy,gz",
               comments="", fmt=["%.2f"] + ["%.5f"] * 6)
    return path


def _session(result) -> dict:
    out = result.to_dict("x")
    assert out["steps"] > 300  # the real walks were found
    return out


@pytest.mark.parametrize("window", [streaming.WINDOW_SAMPLES, 20_000])
def test_chunked_file_equals_whole_file(long_real_csv, monkeypatch, window):
    # a small window: units and rate from the first chunks, every later chunk checked alone
    monkeypatch.setattr(streaming, "WINDOW_SAMPLES", window)
    rules = builtin_rules()
    recording = read_input(long_real_csv)
    whole = _session(analyze(recording.t_s, recording.acc, recording.gyro_dps, rules=rules))
    assert len(whole["segments"]) == 2  # the gap splits the recording
    for rows in (7919, 65_536, 1 << 17):
        chunked = streaming.analyze_stream(csv_chunks(long_real_csv, chunk_rows=rows),
                                           rules=rules)
        assert _session(chunked) == whole, rows


def _write(path: Path, data: np.ndarray) -> Path:
    np.savetxt(path, data, delimiter=",", header="t,ax,ay,az", comments="", fmt="%.5f")
    return path


def _problem(path: Path, rows: int) -> str:
    with pytest.raises(InputError) as info:
        streaming.analyze_stream(csv_chunks(path, chunk_rows=rows))
    return info.value.located(str(path))


def test_errors_in_later_chunks_name_their_line(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "WINDOW_SAMPLES", 1000)
    n = 6000
    data = np.column_stack([np.arange(n) / 100.0, np.zeros(n), np.zeros(n), np.ones(n)])
    nan = data.copy()
    nan[4321, 2] = np.nan
    assert _problem(_write(tmp_path / "nan.csv", nan), 997).endswith(
        ", line 4323: acceleration is NaN or infinite (missing value)")
    back = data.copy()
    back[997 * 3, 0] = back[997 * 3 - 1, 0] - 0.5  # the first row of a chunk goes back
    message = _problem(_write(tmp_path / "back.csv", back), 997)
    # a long stream cannot repair its clock: NotStreamable, and the CLI reads the file whole
    assert f", line {997 * 3 + 2}: time stamp t=29.4 s not after t=29.9 s" in message
    with pytest.raises(streaming.NotStreamable):
        streaming.analyze_stream(csv_chunks(tmp_path / "back.csv", chunk_rows=997))


def test_non_number_in_a_later_chunk(tmp_path):
    lines = ["t,ax,ay,az"] + [f"{i / 100:.2f},0,0,1" for i in range(3000)]
    lines[2501] = "25.00,0,abc,1"
    path = tmp_path / "text.csv"
    path.write_text("\n".join(lines) + "\n")
    from stridewatch.inputs import InputFileError

    with pytest.raises(InputFileError, match=r", line 2502: column ay: 'abc' is not a number"):
        for _ in csv_chunks(path, chunk_rows=1000):
            pass


SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample-walk.csv"


@pytest.mark.parametrize("path", [*sorted(LAB.glob("*.csv")), SAMPLE], ids=lambda p: p.name)
def test_small_plain_file_parsed_by_numpy_gives_the_readers_samples(path):
    from stridewatch.inputs.chunks import recording_chunks, streamable

    assert streamable(path)
    (chunk,) = list(recording_chunks(path))  # small: one chunk, parsed without pandas
    recording = read_input(path)  # the tolerant whole-file reader (pandas)
    np.testing.assert_array_equal(chunk.t_s, recording.t_s)
    np.testing.assert_array_equal(chunk.acc, recording.acc)
    if recording.gyro_dps is None:
        assert chunk.gyro_dps is None
    else:
        np.testing.assert_array_equal(chunk.gyro_dps, recording.gyro_dps)


@pytest.mark.parametrize("change", [
    lambda lines: lines.insert(50, ""),  # a blank line (np.loadtxt would skip it)
    lambda lines: lines.__setitem__(50, "0.49,0.1,NaN,1"),
    lambda lines: lines.__setitem__(50, "0.49,0.1,,1"),
    lambda lines: lines.__setitem__(50, '0.49,0.1,"0.2",1'),
    lambda lines: lines.__setitem__(50, "0.49,0.1,0.2"),
    lambda lines: lines.__setitem__(50, "0.49,0.1,abc,1"),
    lambda lines: lines.__setitem__(50, "0.49,0.1,inf,1"),
    lambda lines: lines.__setitem__(50, "# a comment"),
    lambda lines: lines.__setitem__(slice(1, None), []),  # header only
])
def test_small_file_not_plain_numbers_is_read_whole(tmp_path, change):
    from stridewatch.inputs.chunks import recording_chunks

    lines = ["t,ax,ay,az"] + [f"{i / 100:.2f},0,0,1" for i in range(1000)]
    change(lines)
    path = tmp_path / "odd.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(streaming.NotStreamable):
        list(recording_chunks(path))


def test_cli_reads_an_irregular_small_file_as_before(tmp_path, capsys):
    """A blank line: not streamed, so the whole-file reader's answer (repair and warning, or
    error) is what the user gets, exactly as without the numpy fast path."""
    import stridewatch.inputs.chunks as chunks
    from stridewatch.cli import main

    lines = SAMPLE.read_text().splitlines()
    lines.insert(500, "")
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n")
    code = main(["analyze", str(path), "--json"])
    fast = capsys.readouterr()
    real_streamable = chunks.streamable
    try:
        chunks.streamable = lambda *a, **k: False
        assert main(["analyze", str(path), "--json"]) == code
    finally:
        chunks.streamable = real_streamable
    assert capsys.readouterr() == fast
