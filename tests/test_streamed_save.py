"""`analyze --save` streams the recording too (issue 13): memory independent of its length.

The store knows a recording by its content (stridewatch.store.identity): a trace by the
bytes its sensor sent, any other file by its decoded samples, hashed as
sha256("(n,)" t, "(n, 3)" acc[, "(n, 3)" gyro]) in float64 little-endian. A file analysed
as a stream keeps no samples, so the digest is taken from its chunks on their way through
(``SamplesDigest``). These tests hold it to that definition, computed here independently
from the file read whole, on real lower-back walks in the layouts the streams read, and
check that a session saved from a stream is the row saving it whole stores (saving the
same recording again updates that row rather than adding one), and that a cohort run
keeps the tables reading its recordings whole gives (and resumes on those hashes); and that
a report written from a stream is the one written from the file read whole.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import analysis.streaming as streaming
import stridewatch.inputs.chunks as chunks
import stridewatch.inputs.table_stream as table_stream
from analysis.rules import builtin_rules
from firmware_bridge.emulation.h10_trace import RATE_HZ, write_h10_trace
from firmware_bridge.trace import NotifyEvent, read_trace
from stridewatch.cli import main
from stridewatch.cohort.run import run_cohort
from stridewatch.inputs import read_input
from stridewatch.store import filing
from stridewatch.store.identity import SamplesDigest
from tests.test_table_stream import LAYOUTS, ROWS, _three_walks, _write
from tests.test_trace_stream import _walk, counted_streams

LAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "mobgap-lab"
#: columns that say when a row was written, not what was saved
WRITE_TIMES = ("analyzed_at", "updated_at_utc")


@pytest.fixture(scope="module")
def walks() -> np.ndarray:
    return _three_walks()


@pytest.fixture
def small_stream(monkeypatch):
    """Stream files of any size in chunks of ``ROWS`` rows (as a long file is)."""
    monkeypatch.setattr(table_stream, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(table_stream, "CHUNK_ROWS", ROWS)
    monkeypatch.setattr(chunks, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(chunks, "CHUNK_ROWS", ROWS)
    monkeypatch.setattr(streaming, "WINDOW_SAMPLES", 20_000)


def _plain_lines(data: np.ndarray) -> list[str]:
    return ["t,ax,ay,az,gx,gy,gz"] + [",".join(f"{v:.5f}" for v in row) for row in data]


def _by_definition(path: Path) -> str:
    """The stored identity of a file's samples, from the file read whole."""
    recording = read_input(path)
    digest = hashlib.sha256()
    for values in (recording.t_s, recording.acc, recording.gyro_dps):
        if values is not None:
            values = np.asarray(values, dtype="<f8")
            digest.update(str(values.shape).encode("ascii") + values.tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("layout", ["plain", *LAYOUTS])
def test_a_streamed_files_digest_is_its_samples_identity(tmp_path, walks, small_stream,
                                                          layout):
    name, lines = (("walk.csv", _plain_lines) if layout == "plain" else LAYOUTS[layout])
    path = _write(tmp_path / name, lines(walks))
    streamed = filing.analyze_streamed(path, rules=builtin_rules(), digest=True)
    assert streamed is not None  # really streamed, in many chunks
    _, shell = streamed
    assert len(shell.t_s) == 0  # no samples kept
    assert shell.samples_sha256 == _by_definition(path)
    assert filing.analyze_streamed(path, rules=builtin_rules())[1].samples_sha256 is None


def test_the_digest_of_chunks_is_the_digest_of_their_whole(walks, monkeypatch):
    monkeypatch.setattr("stridewatch.store.identity.SPOOL_BYTES", 1 << 16)  # to disk early
    t, acc, gyro = walks[:, 0], walks[:, 1:4], walks[:, 4:7]
    cuts = [0, 1, 777, 20_000, 20_001, len(t)]
    pieces = SamplesDigest()
    for a, b in zip(cuts, cuts[1:], strict=False):
        pieces.add(t[a:b], acc[a:b], gyro[a:b])
    whole = hashlib.sha256()
    for values in (t, acc, gyro):
        whole.update(str(values.shape).encode("ascii") + np.ascontiguousarray(values).tobytes())
    assert pieces.hexdigest() == whole.hexdigest()
    without_gyro = SamplesDigest()
    without_gyro.add(t[:50], acc[:50], None)
    without_gyro.add(t[50:], acc[50:], None)
    assert without_gyro.hexdigest() != whole.hexdigest()
    mixed = SamplesDigest()
    mixed.add(t[:50], acc[:50], None)
    with pytest.raises(ValueError, match="angular rate"):
        mixed.add(t[50:], acc[50:], gyro[50:])


def test_a_digest_that_cannot_spill_to_disk_saves_the_file_read_whole(tmp_path, walks,
                                                                      small_stream,
                                                                      monkeypatch):
    """A full or unwritable temporary folder costs memory, never the session."""
    import tempfile

    from stridewatch.store import identity

    class FullDisk(tempfile.SpooledTemporaryFile):
        def rollover(self) -> None:
            raise OSError(28, "No space left on device")

    path = _write(tmp_path / "walk.csv", _plain_lines(walks))
    monkeypatch.setattr(identity, "SPOOL_BYTES", 1 << 16)
    monkeypatch.setattr(identity.tempfile, "SpooledTemporaryFile", FullDisk)
    assert filing.analyze_streamed(path, rules=builtin_rules(), digest=True) is None
    code, out, err = _cli(["analyze", str(path), "--json", "--save", "--db",
                           str(tmp_path / "a.db")])
    assert code == 0 and "saved session 1" in err
    assert _rows(tmp_path / "a.db")[0]["content_sha256"] == _by_definition(path)


def _cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def _rows(db: Path) -> list[dict]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = [dict(r) for r in connection.execute("SELECT * FROM sessions ORDER BY id")]
    for row in rows:
        for column in WRITE_TIMES:
            row.pop(column)
    return rows


def _h10_trace(path: Path) -> Path:
    write_h10_trace(path, _walk(RATE_HZ, seconds=70.0, seed=11))
    return path


@pytest.mark.parametrize("kind", ["plain", "polar", "phone-csv", "trace"])
def test_analyze_save_streamed_stores_the_row_saving_it_whole_does(tmp_path, walks,
                                                                   small_stream, monkeypatch,
                                                                   kind):
    if kind == "trace":
        path = _h10_trace(tmp_path / "walk.swtrace")
    else:
        name, lines = ("walk.csv", _plain_lines) if kind == "plain" else LAYOUTS[kind]
        path = _write(tmp_path / name, lines(walks))
    args = ["analyze", str(path), "--json", "--patient", "p1", "--save"]
    with monkeypatch.context() as patch:  # streamed, and no whole read at all
        answered = counted_streams(patch, "analyze_streamed")
        patch.setattr("stridewatch.inputs.read_recordings", _no_whole_read)
        patch.setattr("stridewatch.store.filing.read_input", _no_whole_read)
        streamed = _cli([*args, "--db", str(tmp_path / "streamed.db")])
    assert answered == [True]
    with monkeypatch.context() as patch:  # read whole, as before streaming
        patch.setattr(filing, "analyze_streamed", lambda *a, **k: None)
        whole = _cli([*args, "--db", str(tmp_path / "whole.db")])
        again = _cli([*args, "--db", str(tmp_path / "streamed.db")])
    assert streamed[0] == 0 and streamed[1] == whole[1]
    assert "saved session 1" in streamed[2] and "saved session 1" in whole[2]
    rows = _rows(tmp_path / "streamed.db")
    assert rows == _rows(tmp_path / "whole.db")
    assert len(rows) == 1 and rows[0]["steps"] > 50 and len(rows[0]["content_sha256"]) == 64
    assert again[0] == 0 and "updated session 1" in again[2]  # the same recording
    definition = _trace_by_definition if kind == "trace" else _by_definition
    assert rows[0]["content_sha256"] == definition(path)


@pytest.mark.parametrize("kind", ["plain", "polar", "trace", "cwa", "gt3x"])
def test_a_web_upload_is_analysed_as_a_stream_and_filed_as_saving_it_whole_files(
        tmp_path, walks, small_stream, monkeypatch, kind):
    """An uploaded recording that streams is analysed without reading it whole, and files
    the session (same row, same identity) that reading it whole filed before."""
    import stridewatch.inputs.cwa_stream as cwa_stream
    import stridewatch.inputs.gt3x_stream as gt3x_stream
    from firmware_bridge.emulation.actigraph_gt3x import gt3x_bytes
    from firmware_bridge.emulation.axivity_cwa import cwa_bytes
    from stridewatch.store import engine
    from stridewatch.web import recordings

    monkeypatch.setattr(cwa_stream, "PIECE_SECTORS", 53)  # many pieces
    monkeypatch.setattr(gt3x_stream, "PIECE_BYTES", 20_000)
    acc_g = walks[:, 1:4] / 9.80665
    if kind == "cwa":
        path = tmp_path / "walk.cwa"
        path.write_bytes(cwa_bytes(acc_g, start_unix_s=1_764_583_200))
    elif kind == "gt3x":
        path = tmp_path / "walk.gt3x"
        path.write_bytes(gt3x_bytes(acc_g, start_unix_s=1_764_583_200))
    elif kind == "trace":
        path = _h10_trace(tmp_path / "walk.swtrace")
    else:
        name, lines = ("walk.csv", _plain_lines) if kind == "plain" else LAYOUTS[kind]
        path = _write(tmp_path / name, lines(walks))

    def upload(db: Path) -> int:
        with open(path, "rb") as handle:
            return recordings.file_upload(str(db), handle, path.name, "P1",
                                          tmp_path / db.stem, 2**26).session_id

    with monkeypatch.context() as patch:
        answered = counted_streams(patch, "analyze_streamed")
        patch.setattr("stridewatch.store.filing.read_input", _no_whole_read)
        upload(tmp_path / "streamed.db")
    assert answered == [True]
    with monkeypatch.context() as patch:  # read whole, as uploads were before
        patch.setattr(filing, "analyze_streamed", lambda *a, **k: None)
        upload(tmp_path / "whole.db")
    rows = _rows(tmp_path / "streamed.db")
    whole = _rows(tmp_path / "whole.db")
    for row in (*rows, *whole):  # filed under each store's upload folder
        assert Path(row["trace_path"]).suffix == path.suffix  # named for what it holds
        row["trace_path"] = Path(row["trace_path"]).name
        if kind == "plain":  # no clock in the file: dated by when its upload was written
            del row["started_at"], row["recorded_at_utc"]
    assert rows == whole and len(rows) == 1 and rows[0]["steps"] > 50
    definition = _trace_by_definition if kind == "trace" else _by_definition
    assert rows[0]["content_sha256"] == definition(path)
    for db in ("streamed.db", "whole.db"):
        engine.close(str(tmp_path / db))


def test_a_cohort_streams_its_recordings_into_the_tables_reading_them_whole_gives(
        tmp_path, walks, small_stream, monkeypatch):
    import pandas as pd

    inputs = [_write(tmp_path / "walk.csv", _plain_lines(walks)),
              _write(tmp_path / LAYOUTS["polar"][0], LAYOUTS["polar"][1](walks)),
              _h10_trace(tmp_path / "walk.swtrace"),
              _write(tmp_path / "broken.csv", ["t,ax,ay", "0,1,2"]),
              _write(tmp_path / "short.csv", _plain_lines(walks[:150]))]  # refused: 1.5 s
    with monkeypatch.context() as patch:
        answered = counted_streams(patch, "analyze_streamed")
        patch.setattr("stridewatch.cohort.task.read_input", _no_whole_read_unless_broken)
        run_cohort(inputs, tmp_path / "streamed", progress=None)
    assert answered == [True, True, True, False]  # the broken file: read whole, its error
    with monkeypatch.context() as patch:
        patch.setattr(filing, "analyze_streamed", lambda *a, **k: None)
        run_cohort(inputs, tmp_path / "whole", progress=None)
    for name in ("sessions", "bouts", "steps"):
        streamed = pd.read_parquet(tmp_path / "streamed" / f"{name}.parquet")
        whole = pd.read_parquet(tmp_path / "whole" / f"{name}.parquet")
        pd.testing.assert_frame_equal(streamed.drop(columns="elapsed_s", errors="ignore"),
                                      whole.drop(columns="elapsed_s", errors="ignore"))
    sessions = pd.read_parquet(tmp_path / "streamed" / "sessions.parquet")
    assert list(sessions["content_sha256"][:3]) == [
        _by_definition(inputs[0]), _by_definition(inputs[1]), _trace_by_definition(inputs[2])]
    assert sessions["steps"][:3].gt(50).all() and sessions["error"][3].startswith(
        f"{inputs[3]}, line 1: missing column(s) az")
    # a recording the analysis refuses keeps its error with its content hash, as before
    assert sessions["error"][4] and sessions["content_sha256"][4] == _by_definition(inputs[4])
    with monkeypatch.context() as patch:  # resumed: the kept hashes compared as streams
        answered = counted_streams(patch, "analyze_streamed")
        patch.setattr("stridewatch.cohort.task.read_input", _no_whole_read_unless_broken)
        summary = run_cohort(inputs, tmp_path / "streamed", resume=True, progress=None)
    assert (summary.skipped, summary.failed) == (3, 2)  # the streamed hashes are the kept ones
    # only the two failed ones were analysed again, as in the first run: the broken file
    # read whole, the short one refused by the stream's analysis (an error, not an answer)
    assert answered == [False]


def test_a_resumed_cohort_keeps_a_recording_its_stream_could_not_analyse_without_reading_it(
        tmp_path, walks, small_stream, monkeypatch):
    """A phone's repeated time stamp: the stream analysis refuses it, the file is read and
    repaired whole; its kept hash (the samples as read, before any repair) is the stream's."""
    lines = _plain_lines(walks)
    row = len(lines) // 2
    lines[row + 1] = ",".join([lines[row].split(",")[0], *lines[row + 1].split(",")[1:]])
    path = _write(tmp_path / "repeated.csv", lines)
    with monkeypatch.context() as patch:
        answered = counted_streams(patch, "analyze_streamed")
        first = run_cohort([path], tmp_path / "out", progress=None)
    assert answered == [False] and first.analysed == 1  # analysed whole, clock repaired
    with monkeypatch.context() as patch:
        answered = counted_streams(patch, "analyze_streamed")
        patch.setattr("stridewatch.cohort.task.read_input", _no_whole_read)
        summary = run_cohort([path], tmp_path / "out", resume=True, progress=None)
    assert (summary.skipped, answered) == (1, [])
    assert filing.streamed_samples_sha256(path) == _by_definition(path)


@pytest.mark.parametrize("streams", [True, False])
def test_a_finished_recordings_trace_is_saved_without_reading_it_whole(tmp_path, monkeypatch,
                                                                       streams):
    """What ``record`` does when it stops: the session is saved from the trace's path."""
    from firmware_bridge.trace import stream_decode
    from stridewatch.inputs import swtrace
    from stridewatch.inputs.swtrace import read_trace_recording, trace_description

    path = _h10_trace(tmp_path / "walk.swtrace")
    whole = read_trace_recording(path)
    session = filing.analyze_recording(whole, rules=builtin_rules()).to_dict(str(path))
    with monkeypatch.context() as patch:
        if streams:  # decoded as a stream only
            patch.setattr(swtrace, "read_trace", _no_whole_read)
        else:  # a trace the stream cannot decode (moved lines, a clock jump): whole
            patch.setattr(stream_decode, "stream_trace", _not_streamed)
        described = trace_description(path)
        filing.save_recording_session(tmp_path / "a.db", session, path, patient_id="p1")
    assert len(described.t_s) == 0 and described.meta == whole.meta
    assert described.describe() == whole.describe()
    assert described.nominal_rate_hz == whole.nominal_rate_hz
    filing.save_recording_session(tmp_path / "b.db", session, path, recording=whole,
                                  patient_id="p1")
    assert _rows(tmp_path / "a.db") == _rows(tmp_path / "b.db")
    assert _rows(tmp_path / "a.db")[0]["content_sha256"] == _trace_by_definition(path)


def _not_streamed(path):
    from firmware_bridge.trace.stream_decode import NotStreamed

    raise NotStreamed("decode it whole")


@pytest.mark.parametrize("kind", ["plain", "trace"])
def test_a_report_streams_the_recording_and_writes_what_reading_it_whole_writes(
        tmp_path, walks, small_stream, monkeypatch, kind):
    """``report`` keeps only the times and acceleration its signal viewer needs."""
    import re

    from stridewatch.cli import report

    path = (_h10_trace(tmp_path / "walk.swtrace") if kind == "trace"
            else _write(tmp_path / "walk.csv", _plain_lines(walks)))
    built = {}
    for how in ("streamed", "whole"):
        with monkeypatch.context() as patch:
            if how == "whole":
                patch.setattr(filing, "analyze_streamed", lambda *a, **k: None)
            else:
                patch.setattr("stridewatch.inputs.read_input", _no_whole_read)
            built[how] = report.build_report(path, tmp_path / f"{how}.html", patient_id="p1",
                                             db=tmp_path / f"{how}.db")
    assert built["streamed"].session_id == built["whole"].session_id == 1
    sessions = [dict(built[how].session, report=None) for how in ("streamed", "whole")]
    assert sessions[0] == sessions[1] and sessions[0]["steps"] > 50
    generated = re.compile(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    html = [generated.sub("", (tmp_path / f"{how}.html").read_text(encoding="utf-8"))
            for how in ("streamed", "whole")]
    assert html[0] == html[1] and '"mg": [' in html[0]  # the viewer's signal, the same
    rows = [_rows(tmp_path / f"{how}.db") for how in ("streamed", "whole")]
    for row in rows[0] + rows[1]:
        row.pop("session_json")  # (it names the report's own file)
    assert rows[0] == rows[1]


@pytest.mark.parametrize("streams", [True, False])
def test_a_stored_traces_report_signal_is_decoded_as_a_stream(tmp_path, monkeypatch, streams):
    """The web app draws a stored session's viewer from its trace without holding it."""
    from firmware_bridge.trace import stream_decode
    from stridewatch.cli.report import report_signal, stored_signal
    from stridewatch.inputs import swtrace
    from stridewatch.inputs.swtrace import read_trace_recording

    path = _h10_trace(tmp_path / "walk.swtrace")
    whole = read_trace_recording(path)
    session = filing.analyze_recording(whole, rules=builtin_rules()).to_dict(str(path))
    expected = report_signal(whole, session)
    with monkeypatch.context() as patch:
        if streams:
            patch.setattr(swtrace, "read_trace", _no_whole_read)
        else:
            patch.setattr(stream_decode, "stream_trace", _not_streamed)
        signal = stored_signal(path, session)
    assert len(signal.t_s) == len(whole.t_s) > 10_000
    assert np.array_equal(signal.t_s, expected.t_s)
    assert np.array_equal(signal.vertical_g, expected.vertical_g)
    assert signal.sample_rate_hz == expected.sample_rate_hz
    assert abs(np.median(signal.vertical_g) - 1.0) < 0.1  # along the up axis: ~1 g
    (tmp_path / "damaged.swtrace").write_text("not a trace\n", encoding="utf-8")
    assert stored_signal(tmp_path / "damaged.swtrace", session) is None


@pytest.mark.parametrize("layout", ["plain", "polar"])
def test_a_stored_csvs_signal_and_samples_are_read_as_a_stream(tmp_path, walks, small_stream,
                                                               monkeypatch, layout):
    """A web upload's stored CSV: its viewer signal and its CSV of samples come from the
    file read as a stream, the same as from reading it whole."""
    from stridewatch.cli.report import report_signal, stored_signal
    from stridewatch.web.reports import samples_csv, samples_csv_file

    name, lines = ("walk.csv", _plain_lines(walks)) if layout == "plain" else (
        LAYOUTS["polar"][0], LAYOUTS["polar"][1](walks))
    path = _write(tmp_path / name, lines)
    whole = read_input(path)
    session = filing.analyze_recording(whole, rules=builtin_rules()).to_dict(str(path))
    expected = report_signal(whole, session)
    with monkeypatch.context() as patch:
        patch.setattr("stridewatch.inputs.read_input", _no_whole_read)
        signal = stored_signal(path, session)
        with samples_csv_file(path) as handle:
            written = handle.read().decode("utf-8")
    assert len(signal.t_s) == len(whole.t_s) > 10_000
    assert np.array_equal(signal.t_s, expected.t_s)
    assert np.array_equal(signal.vertical_g, expected.vertical_g)
    assert abs(np.median(signal.vertical_g) - 1.0) < 0.1  # along the up axis: ~1 g
    assert written == samples_csv(whole)
    broken = _write(tmp_path / "broken.csv", ["t,ax,ay", "0,1,2"])  # the whole read's refusal
    assert stored_signal(broken, session) is None and samples_csv_file(broken) is None


def test_a_stored_sessions_page_and_downloads_do_not_hold_its_recording(tmp_path, monkeypatch):
    from stridewatch.inputs.swtrace import read_trace_recording
    from stridewatch.store import engine
    from stridewatch.web.app import WebConfig, create_app
    from stridewatch.web.reports import samples_csv
    from tests.web_helpers import add_users, login

    db = str(tmp_path / "store.sqlite3")
    add_users(db)
    path = _h10_trace(tmp_path / "walk.swtrace")
    streamed = filing.analyze_streamed(path, rules=builtin_rules())
    session = streamed[0].to_dict(str(path))
    saved = filing.save_recording_session(db, session, path, recording=streamed[1],
                                          patient_id="P1")
    client = create_app(WebConfig(db=db, upload_dir=tmp_path / "up")).test_client()
    assert login(client, "alice").status_code == 302
    with monkeypatch.context() as patch:
        patch.setattr("stridewatch.store.filing.read_input", _no_whole_read)
        patch.setattr("stridewatch.inputs.read_input", _no_whole_read)
        page = client.get(f"/sessions/{saved.id}")
        download = client.get(f"/sessions/{saved.id}/recording")
        samples = client.get(f"/sessions/{saved.id}/samples.csv")  # decoded as a stream
    assert page.status_code == 200 and "CSV of samples" in page.text
    assert download.status_code == 200 and download.data == path.read_bytes()
    assert samples.status_code == 200 and samples.mimetype == "text/csv"
    assert samples.headers["Content-Disposition"] == (
        f'attachment; filename="session-{saved.id}.csv"')
    whole = read_trace_recording(path)
    assert samples.text == samples_csv(whole)  # what writing it from the whole decode gives
    rows = samples.text.splitlines()
    assert rows[0] == "t,ax,ay,az" and len(rows) == len(whole.t_s) + 1
    assert [float(v) for v in rows[1].split(",")] == pytest.approx(
        [whole.t_s[0], *whole.acc[0]], rel=1e-5, abs=1e-9)
    with monkeypatch.context() as patch:  # a trace the stream cannot decode: decoded whole
        from firmware_bridge.trace import stream_decode

        patch.setattr(stream_decode, "stream_trace", _not_streamed)
        assert client.get(f"/sessions/{saved.id}/samples.csv").text == samples.text
    path.write_text("not a trace\n", encoding="utf-8")  # damaged since: no samples to give
    assert client.get(f"/sessions/{saved.id}/samples.csv").status_code == 404
    engine.close(db)


def _no_whole_read_unless_broken(path, *args, **kwargs):
    if Path(path).name not in ("broken.csv", "short.csv"):
        raise AssertionError("read whole although it streams")
    return read_input(path, *args, **kwargs)


def _trace_by_definition(path: Path) -> str:
    """A trace's stored identity: each notification's characteristic and payload, each
    with its length (2 and 4 bytes, little-endian), in order."""
    digest = hashlib.sha256()
    for event in read_trace(path).events:
        if isinstance(event, NotifyEvent):
            char = event.char_uuid.lower().encode("ascii")
            digest.update(len(char).to_bytes(2, "little") + char)
            digest.update(len(event.payload).to_bytes(4, "little") + bytes(event.payload))
    return digest.hexdigest()


def _no_whole_read(*args, **kwargs):
    raise AssertionError("read whole although it streams")
