"""Long Axivity .cwa and ActiGraph .gt3x files are analysed as a stream of pieces
(stridewatch.inputs.actfast_stream) and give exactly what reading them whole gives: the same
samples bit for bit, the same session and output bytes, the same errors; a .cwa whose
sectors change rate or layout part way, or a damaged file, is read whole.

The files are real lower-back walks (../shared/data/mobgap-lab) written in the AX3's and
AX6's layouts (firmware_bridge.emulation.axivity_cwa, from OpenMovement's cwa.h) and in
ActiGraph's (firmware_bridge.emulation.actigraph_gt3x, from ActiGraph's GT3X-File-Format):
their samples and times as written are the truth the reading is held to."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

import analysis.streaming as streaming
import stridewatch.inputs.cwa_stream as cwa_stream
import stridewatch.inputs.gt3x_stream as gt3x_stream
import stridewatch.store.filing as filing
from analysis.rules import builtin_rules
from firmware_bridge.emulation import actigraph_gt3x
from firmware_bridge.emulation.axivity_cwa import (
    SAMPLES_PER_SECTOR,
    cwa_bytes,
    decoded_acc_g,
    decoded_gyro_dps,
)
from stridewatch.inputs import read_recordings
from stridewatch.inputs.actfast_stream import piece_stream
from stridewatch.store.filing import analyze_recording, analyze_streamed
from tests.test_streamed_save import _by_definition
from tests.test_table_stream import _cli

LAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "mobgap-lab"
G = 9.80665
START_UNIX_S = 1_764_583_200  # 2025-12-01 10:00 UTC
PIECE = 53  # .cwa sectors per piece here: a 9 min walk crosses many piece boundaries
PIECE_BYTES = 20_000  # .gt3x log bytes per piece here (~44 s at 100 Hz)
HEADER, SECTOR = 1024, 512


def _three_walks() -> np.ndarray:
    """Three real lower-back recordings back to back (acc m/s², gyro deg/s), ~9 min, 100 Hz."""
    parts = [np.loadtxt(LAB / f"{name}.csv", delimiter=",", skiprows=1)[:, 1:7]
             for name in ("ms-001-test11-trial1", "ha-002-test11-trial1", "ha-001-test11-trial1")]
    return np.vstack(parts)


@pytest.fixture(scope="module")
def walks() -> np.ndarray:
    return _three_walks()


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of ``PIECE`` sectors or ``PIECE_BYTES``; rate and units judged on the first
    20,000 samples (as on the first 200,000 of a long file), so a 9 min walk is a long
    stream."""
    monkeypatch.setattr(cwa_stream, "PIECE_SECTORS", PIECE)
    monkeypatch.setattr(gt3x_stream, "PIECE_BYTES", PIECE_BYTES)
    monkeypatch.setattr(streaming, "WINDOW_SAMPLES", 20_000)


def _write(path: Path, walks: np.ndarray, layout: str, fractional: bool = False) -> Path:
    """The walks as a .cwa in ``layout``, or a .gt3x (layout "gt3x"; ``path``'s suffix
    follows)."""
    if layout == "gt3x":
        path = path.with_suffix(".gt3x")
        path.write_bytes(actigraph_gt3x.gt3x_bytes(walks[:, 0:3] / G,
                                                   start_unix_s=START_UNIX_S))
        return path
    gyro = walks[:, 3:6] if layout == "ax6" else None
    path.write_bytes(cwa_bytes(walks[:, 0:3] / G, start_unix_s=START_UNIX_S, layout=layout,
                               gyro_dps=gyro, fractional=fractional))
    return path


def _whole_cli(monkeypatch, args: list[str]) -> tuple[int, str, str]:
    with monkeypatch.context() as m:
        m.setattr(cwa_stream, "PIECE_SECTORS", 1 << 40)  # one piece: read whole
        m.setattr(gt3x_stream, "PIECE_BYTES", 1 << 40)
        return _cli(args)


LAYOUTS = [("packed", False), ("int16", True), ("ax6", True), ("gt3x", False)]


@pytest.mark.parametrize(("layout", "fractional"), LAYOUTS)
def test_streamed_file_equals_the_whole_file_and_the_samples_written(
        tmp_path, walks, small_pieces, monkeypatch, layout, fractional):
    path = _write(tmp_path / "walk.cwa", walks, layout, fractional)
    (recording,) = read_recordings(path)
    n = len(recording.t_s)
    # the truth as written: the device's counts, one sample every 10 ms from the start
    # (a .cwa's fraction of a second is stamped in 1/65536 s)
    if layout == "gt3x":
        assert n == len(walks) // 100 * 100  # whole seconds
        written = actigraph_gt3x.decoded_acc_g(walks[:n, 0:3] / G)
    else:
        assert n == len(walks) // SAMPLES_PER_SECTOR[layout] * SAMPLES_PER_SECTOR[layout]
        written = decoded_acc_g(walks[:n, 0:3] / G, layout)
    np.testing.assert_array_equal(recording.acc, written.astype(np.float32))
    np.testing.assert_allclose(recording.t_s, np.arange(n) / 100, rtol=0, atol=3.1e-5)
    if layout == "ax6":
        np.testing.assert_allclose(recording.gyro_dps, decoded_gyro_dps(walks[:n, 3:6]),
                                   rtol=1e-6)
    # the stream's pieces are the whole reading's samples, bit for bit
    stream = piece_stream(path, path.suffix[1:])
    assert stream is not None
    chunks = list(stream.chunks())
    assert len(chunks) > 5 and [c.first_row for c in chunks] == list(
        np.cumsum([0] + [len(c) for c in chunks[:-1]]))
    for name in ("t_s", "acc", "gyro_dps"):
        whole = getattr(recording, name)
        if whole is None:
            assert all(c.gyro_dps is None for c in chunks)
            continue
        assert np.concatenate([getattr(c, name) for c in chunks]).tobytes() == whole.tobytes()
    # and the analysis of the stream is the analysis of the whole file
    rules = builtin_rules()
    streamed = analyze_streamed(path, rules=rules)
    assert streamed is not None  # really streamed
    result, shell = streamed
    assert len(shell.t_s) == 0  # no samples kept
    whole = analyze_recording(recording, rules=rules).to_dict(str(path))
    assert whole["steps"] > 300  # the real walks were found
    assert result.to_dict(str(path)) == whole
    assert shell.describe() == recording.describe()
    assert shell.meta == recording.meta == {"start_unix_s": START_UNIX_S}
    assert shell.nominal_rate_hz == recording.nominal_rate_hz == 100.0
    assert (shell.warnings, shell.first_data_line) == (recording.warnings, None)
    for args in (["analyze", "--json", str(path)],
                 ["analyze", str(path), str(path), "--workers", "2"]):
        assert _cli(args) == _whole_cli(monkeypatch, args)


@pytest.mark.parametrize("layout", ["packed", "ax6", "gt3x"])
def test_a_streamed_files_identity_is_its_samples_identity(tmp_path, walks, small_pieces,
                                                           layout):
    """Saving a long file streamed files the session reading it whole files (same identity),
    and a resumed cohort knows it unchanged without reading it whole."""
    path = _write(tmp_path / "walk.cwa", walks, layout, True)
    streamed = analyze_streamed(path, rules=builtin_rules(), digest=True)
    assert streamed is not None
    assert streamed[1].samples_sha256 == _by_definition(path)
    assert filing.streamed_samples_sha256(path) == _by_definition(path)


@pytest.mark.parametrize("layout", ["packed", "gt3x"])
def test_a_stream_reads_no_file_whole(tmp_path, walks, small_pieces, monkeypatch, layout):
    path = _write(tmp_path / "walk.cwa", walks, layout)
    expected = _whole_cli(monkeypatch, ["analyze", "--json", str(path)])

    def whole_read(*args, **kwargs):
        raise AssertionError("read whole")

    monkeypatch.setattr(filing, "read_input", whole_read)
    assert _cli(["analyze", "--json", str(path)]) == expected


def _sector_at(data: bytearray, k: int) -> slice:
    return slice(HEADER + k * SECTOR, HEADER + (k + 1) * SECTOR)


def _rechecksum(sector: bytearray) -> None:
    words = np.frombuffer(bytes(sector[:510]), dtype="<u2")
    sector[510:512] = ((-int(words.sum(dtype=np.uint64))) & 0xFFFF).to_bytes(2, "little")


@pytest.mark.parametrize("change", ["rate", "range", "checksum", "magic"])
def test_what_the_stream_cannot_read_alike_is_read_whole(tmp_path, walks, small_pieces,
                                                          monkeypatch, change):
    data = bytearray(_write(tmp_path / "walk.cwa", walks, "packed", False).read_bytes())
    at = 3 * PIECE  # the first sector of a later piece
    if change == "rate":  # from there on the sectors say 50 Hz; reading whole, actfast
        for k in range(at, (len(data) - HEADER) // SECTOR):  # keeps the first one's 100 Hz
            sector = bytearray(data[_sector_at(data, k)])
            sector[24] = 0x49
            _rechecksum(sector)
            data[_sector_at(data, k)] = sector
    elif change == "range":  # from there on the scale code says 1/512 g a count; reading
        for k in range(at, (len(data) - HEADER) // SECTOR):  # whole keeps the first's 1/256
            sector = bytearray(data[_sector_at(data, k)])
            codes = int.from_bytes(sector[18:20], "little") | (1 << 13)
            sector[18:20] = codes.to_bytes(2, "little")
            _rechecksum(sector)
            data[_sector_at(data, k)] = sector
    elif change == "checksum":
        data[_sector_at(data, at + 5).start + 100] ^= 0x01
    else:
        data[_sector_at(data, at).start] = ord("X")
    path = tmp_path / "walk.cwa"
    path.write_bytes(bytes(data))
    assert analyze_streamed(path, rules=builtin_rules()) is None  # read whole instead
    args = ["analyze", "--json", str(path)]
    code, out, err = _cli(args)
    assert (code, out, err) == _whole_cli(monkeypatch, args)
    if change == "rate":
        assert code == 0 and '"sample_rate_hz":100.0' in out
    elif change == "range":  # the samples as the whole reading scales them: the first's
        (recording,) = read_recordings(path)
        written = decoded_acc_g(walks[:len(recording.acc), 0:3] / G, "packed")
        assert code == 0 and np.array_equal(recording.acc, written.astype(np.float32))
    else:  # the error names the sector by its offset in the whole file, not in a piece
        offset = _sector_at(data, at + 5 if change == "checksum" else at).start
        assert code == 2 and str(offset) in err and err.count("\n") == 1


def test_units_other_than_g_are_refused_as_reading_whole_does(tmp_path, walks, small_pieces,
                                                              monkeypatch):
    path = _write(tmp_path / "walk.cwa", walks, "int16", False)
    args = ["analyze", "--json", "--units", "m/s2", str(path)]
    code, out, err = _cli(args)
    assert (code, out, err) == _whole_cli(monkeypatch, args)
    assert code == 2 and "read in g" in err


def _gt3x_with_log(path: Path, walks: np.ndarray, log: bytes) -> Path:
    """A .gt3x of the walks' info.txt and ``log`` as its log.bin."""
    with zipfile.ZipFile(io.BytesIO(actigraph_gt3x.gt3x_bytes(
            walks[:, 0:3] / G, start_unix_s=START_UNIX_S))) as archive:
        info = archive.read("info.txt")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("info.txt", info)
        archive.writestr("log.bin", log)
    return path


def _activity_log(walks: np.ndarray, scale_from: dict[int, float]) -> tuple[bytes, np.ndarray]:
    """log.bin of the walks, a record a second, the scale (counts per g) changed by a
    PARAMETERS record before each second of ``scale_from``; and the acceleration written."""
    scale, log, written = 256.0, [actigraph_gt3x.parameters_record(START_UNIX_S, 100, 256.0)], []
    acc_g = walks[:, 0:3] / G
    for second in range(len(walks) // 100):
        if second in scale_from:
            scale = scale_from[second]
            log.append(actigraph_gt3x.parameters_record(START_UNIX_S + second, 100, scale))
        part = acc_g[second * 100:(second + 1) * 100]
        counts = np.clip(np.round(part * scale), -2048, 2047).astype(np.int64)
        log.append(actigraph_gt3x.record(0x00, START_UNIX_S + second,
                                         actigraph_gt3x.activity_payload(counts)))
        written.append(counts / scale)
    return b"".join(log), np.vstack(written)


def test_a_gt3x_scale_set_part_way_applies_to_every_piece_after_it(tmp_path, walks,
                                                                   small_pieces, monkeypatch):
    """Each piece carries the PARAMETERS record in force where it starts: the scale changed
    at 150 s (to 512 counts per g, then back at 400 s) is read as a whole reading reads it."""
    log, written = _activity_log(walks, {150: 512.0, 400: 256.0})
    path = _gt3x_with_log(tmp_path / "walk.gt3x", walks, log)
    (recording,) = read_recordings(path)
    np.testing.assert_array_equal(recording.acc, written.astype(np.float32))
    stream = gt3x_stream.gt3x_stream(path)
    assert stream is not None
    chunks = list(stream.chunks())
    assert len(chunks) > 5
    assert np.concatenate([c.acc for c in chunks]).tobytes() == recording.acc.tobytes()
    assert np.concatenate([c.t_s for c in chunks]).tobytes() == recording.t_s.tobytes()
    args = ["analyze", "--json", str(path)]
    assert _cli(args) == _whole_cli(monkeypatch, args)


@pytest.mark.parametrize("change", ["separator", "truncated"])
def test_a_broken_gt3x_log_is_read_whole(tmp_path, walks, small_pieces, monkeypatch, change):
    log, _ = _activity_log(walks, {})
    log = bytearray(log)
    record_bytes = 8 + 450 + 1  # a second at 100 Hz: 300 12-bit values, and the checksum
    at = 8 + 16 + 1 + 300 * record_bytes  # the 300th second's record, in a later piece
    assert log[at] == 0x1E
    if change == "separator":
        log[at] = 0x1F
    else:
        log = log[: at + 100]
    path = _gt3x_with_log(tmp_path / "walk.gt3x", walks, bytes(log))
    assert analyze_streamed(path, rules=builtin_rules()) is None  # read whole instead
    args = ["analyze", "--json", str(path)]
    code, out, err = _cli(args)
    assert (code, out, err) == _whole_cli(monkeypatch, args)
    assert code == 2 and "damaged ActiGraph .gt3x file" in err and err.count("\n") == 1


def _stored_gt3x(path: Path, walks: np.ndarray, log: bytes, compression: int) -> Path:
    with zipfile.ZipFile(io.BytesIO(actigraph_gt3x.gt3x_bytes(
            walks[:, 0:3] / G, start_unix_s=START_UNIX_S))) as archive:
        info = archive.read("info.txt")
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("info.txt", info)
        archive.writestr("log.bin", log)
    return path


@pytest.mark.parametrize("change", ["crc", "bzip2"])
def test_a_gt3x_archive_the_stream_cannot_read_alike_is_read_whole(
        tmp_path, walks, small_pieces, monkeypatch, change):
    """A log.bin whose stored bytes no longer match the archive's CRC (found only at its
    end, after every piece), or compressed in a way actfast cannot read (the pieces would
    be), is read whole: the same answer, a one-line error, not a traceback."""
    log, _ = _activity_log(walks, {})
    path = tmp_path / "walk.gt3x"
    if change == "crc":
        data = bytearray(_stored_gt3x(path, walks, log, zipfile.ZIP_STORED).read_bytes())
        data[data.find(log[-200:]) + 50] ^= 0x01  # inside the last ACTIVITY payload
        path.write_bytes(bytes(data))
    else:
        _stored_gt3x(path, walks, log, zipfile.ZIP_BZIP2)
    assert analyze_streamed(path, rules=builtin_rules()) is None  # read whole instead
    args = ["analyze", "--json", str(path)]
    code, out, err = _cli(args)
    assert (code, out, err) == _whole_cli(monkeypatch, args)
    assert code == 2 and "damaged ActiGraph .gt3x file" in err and err.count("\n") == 1


@pytest.mark.parametrize("change", ["idle", "part-header"])
def test_what_actfast_reads_alike_in_pieces_stays_streamed(tmp_path, walks, small_pieces,
                                                          monkeypatch, change):
    """Pieces without samples (the device idling: empty ACTIVITY records) and a log ending
    in part of a record header (power lost while writing: actfast stops there) are streamed
    and read as a whole reading reads them."""
    log, _ = _activity_log(walks, {})
    record_bytes = 8 + 450 + 1
    if change == "idle":
        at = 8 + 16 + 1 + 100 * record_bytes
        idle = b"".join(actigraph_gt3x.record(0x00, START_UNIX_S + 100 + k, b"")
                        for k in range(3000))  # ~25 pieces of nothing
        log = log[:at] + idle + log[at:]
    else:
        log = log + b"\x1e\x00\x01"
    path = _stored_gt3x(tmp_path / "walk.gt3x", walks, log, zipfile.ZIP_DEFLATED)
    assert analyze_streamed(path, rules=builtin_rules()) is not None  # streamed
    args = ["analyze", "--json", str(path)]
    code, out, err = _cli(args)
    assert code == 0 and (code, out, err) == _whole_cli(monkeypatch, args)


REAL = Path(__file__).resolve().parent / "samples" / "ggirread"  # see its NOTICE


@pytest.mark.parametrize("name", ["ax3_testfile_32_sectors.cwa", "ax6_testfile_32_sectors.cwa"])
def test_real_device_files_read_in_pieces_are_the_whole_reading(monkeypatch, name):
    """Real AX3 (packed samples) and AX6 (gyro) recordings, with the devices' own
    fractional time stamps and stamped-sample offsets, read four sectors at a time: the
    same samples and times, bit for bit, as actfast reading them whole."""
    monkeypatch.setattr(cwa_stream, "PIECE_SECTORS", 4)
    path = REAL / name
    (recording,) = read_recordings(path)
    stream = piece_stream(path, "cwa")
    assert stream is not None
    chunks = list(stream.chunks())
    assert len(chunks) == 8  # 30 sectors
    for field in ("t_s", "acc", "gyro_dps"):
        whole = getattr(recording, field)
        parts = [getattr(c, field) for c in chunks]
        if whole is None:
            assert all(p is None for p in parts)
        else:
            assert np.concatenate(parts).tobytes() == whole.tobytes()
    assert (recording.gyro_dps is not None) == ("ax6" in name)
    assert np.all(np.diff(recording.t_s) > 0) and recording.nominal_rate_hz == 100.0
    assert stream.recording.meta == recording.meta
    args = ["analyze", "--json", str(path)]
    assert _cli(args) == _whole_cli(monkeypatch, args)
