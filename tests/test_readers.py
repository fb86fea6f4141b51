"""Readers per format (issue 10): each on its sample in tests/samples (written by
tests/samples/make_samples.py in the maker's documented layout, from one synthetic walk with
known contacts), a damaged file named with its line or offset, detection by content."""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import stridewatch.cli  # noqa: F401  (import order: the CLI before the store's filing)
from stridewatch.cli import main
from stridewatch.cli.options import default_rules
from stridewatch.inputs import InputFileError, read_recording, read_recordings
from stridewatch.inputs.detect import detect_format
from stridewatch.store.filing import analyze_recording

SAMPLES = Path(__file__).resolve().parent / "samples"
TRUTH = json.loads((SAMPLES / "walk-truth.json").read_text())
TRUE_T = np.array([c["t"] for c in TRUTH["initial_contacts"]])
START_UNIX_S = 1_764_583_200.0

CASES = {  # sample -> (format, acceleration units as read, first sample as the file holds it)
    "Polar_H10_1A2B3C4D_20251201100000_ACC.txt": ("polar-sensor-logger", "g",
                                                  [0.994, 0.007, -0.118]),
    "MT_00B42D4F_000-000_00B42D4F.txt": ("xsens-text", "m/s2", [9.75006, 0.068186, -1.156896]),
    "walk.gt3x": ("gt3x", "g", [255 / 256, 2 / 256, -30 / 256]),
    "walk.cwa": ("cwa", "g", [255 / 256, 2 / 256, -30 / 256]),
}


def _matched(detected: np.ndarray, truth: np.ndarray, tol_s: float = 0.1) -> float:
    return float(np.mean([np.min(np.abs(detected - t)) <= tol_s for t in truth]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_reader_reads_its_sample_and_the_walk_analyses(name):
    fmt, units, first = CASES[name]
    recording = read_recording(SAMPLES / name)
    assert recording.format == fmt and recording.acc_units == units
    np.testing.assert_allclose(recording.acc[0], first, atol=1e-6)
    dt = np.diff(recording.t_s)
    if fmt == "xsens-text":
        dt = np.delete(dt, 299)  # the packet the export left empty (see the next test)
    np.testing.assert_allclose(dt, 0.01, atol=1e-6)  # the device's 100 Hz, from its own clock
    if fmt != "xsens-text":
        assert recording.meta["start_unix_s"] == pytest.approx(START_UNIX_S, abs=1e-6)
    result = analyze_recording(recording, rules=default_rules())
    assert result.sample_rate_hz == 100.0
    assert abs(len(result.ic_t_s) - len(TRUE_T)) <= 1
    assert _matched(result.ic_t_s + recording.t_s[0], TRUE_T) >= 0.9


def test_polar_sensor_logger_file_name_names_the_strap():
    recording = read_recording(SAMPLES / "Polar_H10_1A2B3C4D_20251201100000_ACC.txt")
    assert recording.meta["profile"] == "polar-pmd"
    assert recording.meta["device_name"] == "Polar H10 1A2B3C4D"
    assert recording.time_unit == "ns since 2000-01-01 (Polar sensor clock)"


def test_xsens_counter_wrap_and_empty_packet():
    recording = read_recording(SAMPLES / "MT_00B42D4F_000-000_00B42D4F.txt")
    assert len(recording.t_s) == 799  # 800 rows, one left empty by the export
    assert recording.t_s[-1] == pytest.approx(7.99)  # SampleTimeFine wrapped at 2 s, unwrapped
    assert recording.warnings == [
        "1 row without acceleration or time (packets the export left empty) skipped"]
    assert recording.gyro_dps is not None
    np.testing.assert_allclose(recording.gyro_dps[0], np.degrees([0.00196, -0.000371, 0.005926]))


def test_mobilise_d_mat_gives_one_recording_per_trial():
    trial1, trial2 = read_recordings(SAMPLES / "data.mat")
    assert trial1.source.endswith("data.mat#TimeMeasure1/Test5/Trial1")
    assert trial2.source.endswith("data.mat#TimeMeasure1/Test5/Trial2")
    assert (len(trial1.t_s), len(trial2.t_s)) == (800, 500)
    assert trial1.acc_units == "g" and trial1.nominal_rate_hz == 100.0
    assert trial1.meta["start_unix_s"] == START_UNIX_S
    result = analyze_recording(trial1, rules=default_rules())
    assert abs(len(result.ic_t_s) - len(TRUE_T)) <= 1
    with pytest.raises(InputFileError, match="holds 2 recordings"):
        read_recording(SAMPLES / "data.mat")


def test_analyze_answers_once_per_trial_of_a_data_mat(capsys):
    assert main(["analyze", "--json", str(SAMPLES / "data.mat")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["source"].rsplit("#", 1)[1] for line in lines] == [
        "TimeMeasure1/Test5/Trial1", "TimeMeasure1/Test5/Trial2"]
    assert lines[0]["input"]["format"] == "mobilise-d-mat"


def test_mobilise_d_mat_saved_with_v7_3_reads_like_the_v7_file():
    # tests/samples/data-v7.3.mat: the same struct as data.mat in MATLAB's -v7.3 (HDF5)
    # layout (see make_samples.mobilise_d_mat73): column-major N x 3 arrays, char as uint16.
    old = read_recordings(SAMPLES / "data.mat")
    new = read_recordings(SAMPLES / "data-v7.3.mat")
    assert [r.source.rsplit("#", 1)[1] for r in new] == [
        "TimeMeasure1/Test5/Trial1", "TimeMeasure1/Test5/Trial2"]
    for a, b in zip(old, new, strict=True):
        assert b.format == "mobilise-d-mat" and b.acc.shape == a.acc.shape
        np.testing.assert_array_equal(b.acc, a.acc)
        np.testing.assert_array_equal(b.gyro_dps, a.gyro_dps)
        np.testing.assert_array_equal(b.t_s, a.t_s)
        assert b.nominal_rate_hz == 100.0 and b.meta == a.meta
    assert new[0].meta["start_date_time_iso"] == "2025-12-01T10:00:00.000"
    result = analyze_recording(new[0], rules=default_rules())
    assert _matched(result.ic_t_s, TRUE_T) >= 0.85


def test_damaged_v7_3_mat_file_is_named(tmp_path):
    path = tmp_path / "data.mat"
    path.write_bytes((SAMPLES / "data-v7.3.mat").read_bytes()[:3000])
    with pytest.raises(InputFileError,
                       match=rf"^{path}: damaged or unreadable MATLAB 7\.3 \.mat file"):
        read_recordings(path)


def test_v7_3_mat_without_h5py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(InputFileError) as err:
        read_recordings(SAMPLES / "data-v7.3.mat")
    assert str(err.value) == (f"{SAMPLES / 'data-v7.3.mat'}: a MATLAB 7.3 (HDF5) .mat file; "
                              "reading it needs the h5py library: "
                              'pip install "stridewatch[matlab]"')


@pytest.mark.parametrize("name", [*sorted(CASES), "data.mat", "data-v7.3.mat"])
def test_format_is_detected_from_the_content_of_a_renamed_file(tmp_path, name):
    expected = CASES[name][0] if name in CASES else "mobilise-d-mat"
    for new_name in ("recording.csv", "recording", "recording.dat"):
        copy = tmp_path / new_name
        shutil.copyfile(SAMPLES / name, copy)
        assert detect_format(copy) == expected, new_name
    assert len(read_recordings(copy)[0].t_s) >= 500


def test_damaged_cwa_names_the_block_offset(tmp_path):
    data = bytearray((SAMPLES / "walk.cwa").read_bytes())
    data[1024 + 2 * 512 + 100] ^= 0xFF
    path = tmp_path / "damaged.cwa"
    path.write_bytes(data)
    with pytest.raises(InputFileError) as err:
        read_recording(path)
    assert str(err.value).startswith(f"{path}: damaged Axivity .cwa file")
    assert "byte offset 2048" in str(err.value) and "failed checksum" in str(err.value)


def test_damaged_gt3x_names_the_record_offset(tmp_path):
    with zipfile.ZipFile(SAMPLES / "walk.gt3x") as archive:
        info, log = archive.read("info.txt"), bytearray(archive.read("log.bin"))
    first = log.index(b"\x1e\x00")  # the first ACTIVITY record
    second = first + 8 + int.from_bytes(log[first + 6:first + 8], "little") + 1
    log[second] = 0x55
    path = tmp_path / "damaged.gt3x"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("info.txt", info)
        archive.writestr("log.bin", bytes(log))
    with pytest.raises(InputFileError) as err:
        read_recording(path)
    assert str(err.value).startswith(f"{path}: damaged ActiGraph .gt3x file")
    assert f"invalid record separator 0x55 at byte offset {second}" in str(err.value)


def test_damaged_text_exports_name_the_line(tmp_path):
    polar = (SAMPLES / "Polar_H10_1A2B3C4D_20251201100000_ACC.txt").read_text().splitlines()
    polar[41] = polar[41].rsplit(";", 1)[0] + ";12x"
    path = tmp_path / "Polar_H10_damaged_ACC.txt"
    path.write_text("\n".join(polar) + "\n")
    with pytest.raises(InputFileError, match=r", line 42: column az: '12x' is not a number"):
        read_recording(path)
    xsens = (SAMPLES / "MT_00B42D4F_000-000_00B42D4F.txt").read_text().splitlines()
    cells = xsens[20].split("\t")
    xsens[20] = "\t".join([cells[0], "junk", *cells[2:]])
    path = tmp_path / "xsens.txt"
    path.write_text("\n".join(xsens) + "\n")
    with pytest.raises(InputFileError, match=r"xsens.txt, line 21: column SampleTimeFine: "
                                             r"'junk' is not a number"):
        read_recording(path)


def test_damaged_mat_file_is_named(tmp_path):
    path = tmp_path / "data.mat"
    path.write_bytes((SAMPLES / "data.mat").read_bytes()[:3000])
    with pytest.raises(InputFileError, match=rf"^{path}: damaged or unreadable \.mat file"):
        read_recordings(path)


def test_missing_device_library_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "actfast", None)
    with pytest.raises(InputFileError) as err:
        read_recording(SAMPLES / "walk.cwa")
    assert str(err.value) == (f"{SAMPLES / 'walk.cwa'}: reading Axivity .cwa files needs the "
                              'actfast library: pip install "stridewatch[devices]"')
