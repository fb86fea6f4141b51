"""Resource bounds (issue 16): out-of-range input is a clear error before any large allocation."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from analysis.bounds import check_grid
from analysis.errors import InputError
from analysis.pipeline import SessionAnalyzer, analyze
from analysis.simulate import Phase, simulate_walk
from stridewatch.cli import main


def _rows(t):
    return [f"{x:.7f},0.01,0.02,0.99" for x in t]


def _write(path, rows, header="t,ax,ay,az"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _analyze_peak_mb(capsys, path):
    tracemalloc.start()
    try:
        code = main(["analyze", str(path)])
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    return code, capsys.readouterr().err, peak


def test_burst_of_stamps_1e7_s_apart_does_not_build_a_10_mhz_grid(tmp_path, capsys):
    # the review's 14 KB file: 600 stamps 1e-7 s apart, then 12 s of rows at 5 Hz
    t = np.concatenate([np.arange(600) * 1e-7, 0.1 + np.arange(60) * 0.2])
    path = _write(tmp_path / "burst.csv", _rows(t))
    assert path.stat().st_size < 20_000
    code, err, peak_mb = _analyze_peak_mb(capsys, path)
    assert code == 2
    assert err == (f"error: {path}: sample rate 1e+07 Hz is outside 1-2000 Hz; "
                   "are the time stamps in seconds?\n")
    assert peak_mb < 50  # was 7.2 GB


def test_header_of_30000_commas_is_refused_before_parsing(tmp_path, capsys):
    path = _write(tmp_path / "wide.csv", _rows(np.arange(1500) / 100), header="," * 30_000)
    code, err, peak_mb = _analyze_peak_mb(capsys, path)
    assert code == 2
    assert err.startswith(f"error: {path}, line 1: 30001 columns; a recording has at most 64")
    assert peak_mb < 50  # was 1.3-2.45 GB


def test_data_row_of_30000_commas_names_its_line(tmp_path, capsys):
    rows = _rows(np.arange(1500) / 100)
    rows.insert(99, "," * 30_000)
    path = _write(tmp_path / "row.csv", rows)
    code, err, _ = _analyze_peak_mb(capsys, path)
    assert code == 2
    assert err == f"error: {path}, line 101: 30001 fields where the header has 4\n"


def test_time_span_beyond_a_week_is_refused():
    t = np.concatenate([np.arange(2000) / 100, 1e12 + np.arange(2000) / 100])
    acc = np.tile([0.0, 0.0, 1.0], (len(t), 1))
    with pytest.raises(InputError, match=r"span 1e\+12 s, over the 7 days"):
        analyze(t, acc, acc_units="g")


def test_rate_that_does_not_describe_the_stamps_is_refused_before_the_grid():
    t = np.arange(1000) * 0.4  # 400 s of samples 0.4 s apart (gap-free for the resampler)
    with pytest.raises(InputError, match=r"1000 samples cover 399.6 s, which at 2000 Hz"):
        check_grid(t, 2000.0, 0.5)
    check_grid(t, 2.5, 0.5)  # the rate the stamps show is fine


@pytest.mark.parametrize("rate", [0.5, 1e6, float("nan"), 0.0])
def test_nominal_rate_out_of_range_is_an_input_error(rate):
    with pytest.raises(InputError, match="Hz is outside 1-2000 Hz"):
        SessionAnalyzer(rate)


def test_rate_too_low_for_steps_is_said_so_not_counted_wrong():
    sim = simulate_walk([Phase("walk", 60, cadence_spm=110)], fs_hz=10.0, seed=1)
    with pytest.raises(InputError, match=r"sample rate 10 Hz is too low to find steps \(at "
                                         r"least 15 Hz"):
        analyze(sim.t_s, sim.acc, acc_units="g")
