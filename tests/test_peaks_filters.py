"""The numpy peak finding, moving-window filters and Butterworth designs equal scipy's
results exactly on real lower-back recordings (they replace scipy.signal/ndimage imports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndimage
import scipy.signal as signal

from analysis import filters, peaks
from analysis.steps import jerk_magnitude

LAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "mobgap-lab"
RECORDINGS = sorted(LAB.glob("*test11*.csv"))[:2] + sorted(LAB.glob("*test5*.csv"))[:1]


@pytest.fixture(scope="module", params=[p.name for p in RECORDINGS])
def acc_g(request) -> np.ndarray:
    return np.loadtxt(LAB / request.param, delimiter=",", skiprows=1)[:, 1:4] / 9.80665


def test_moving_filters_equal_ndimage(acc_g):
    np.testing.assert_array_equal(peaks.gaussian_filter1d(acc_g, 1.5),
                                  ndimage.gaussian_filter1d(acc_g, 1.5, axis=0, mode="nearest"))
    energy = jerk_magnitude(acc_g, 100.0)
    np.testing.assert_array_equal(peaks.uniform_filter1d(energy**2, 250),
                                  ndimage.uniform_filter1d(energy**2, 250, mode="nearest"))
    at = np.arange(0, len(acc_g), 37)
    np.testing.assert_array_equal(peaks.maximum_at(acc_g[:, 0], at, 11),
                                  ndimage.maximum_filter1d(acc_g[:, 0], 11, mode="nearest")[at])


def test_peaks_equal_find_peaks(acc_g):
    energy = jerk_magnitude(acc_g, 100.0)
    maxima = peaks.find_peaks(energy)
    np.testing.assert_array_equal(maxima, signal.find_peaks(energy)[0])
    assert len(maxima) > 100
    sparse = np.zeros(len(energy))
    sparse[maxima] = energy[maxima]
    for distance in (5, 30, 31.5):
        np.testing.assert_array_equal(peaks.find_peaks(sparse, distance=distance),
                                      signal.find_peaks(sparse, distance=distance)[0])


def test_flat_tops_and_edges_as_scipy():
    x = np.array([0, 1, 1, 1, 0, 2, 2, 3, 3, 0, 5, 5, 5], dtype=float)
    np.testing.assert_array_equal(peaks.find_peaks(x), signal.find_peaks(x)[0])
    np.testing.assert_array_equal(peaks.find_peaks(np.zeros(5)), signal.find_peaks(np.zeros(5))[0])


@pytest.mark.parametrize("fs_hz", [10.0, 12.5, 20.0, 25.0, 50.0, 52.0, 100.0, 200.0])
def test_butterworth_designs_equal_scipy(fs_hz):
    for cutoff, btype in (((0.3, 4.0), "bandpass"), ((0.3, 1.5), "bandpass"),
                          ((0.5, min(5.0, 0.45 * fs_hz)), "bandpass"), (0.3, "lowpass")):
        sos = filters.butter_sos(2, cutoff, btype, fs_hz)
        expected = signal.butter(2, cutoff, btype=btype, fs=fs_hz, output="sos")
        np.testing.assert_array_equal(sos, expected)
        np.testing.assert_array_equal(filters.sos_initial_state(sos), signal.sosfilt_zi(expected))


def test_zero_phase_filter_equals_scipy_sosfilt(acc_g):
    sos, zi = filters._design(2, (0.5, 5.0), "bandpass", 100.0)
    got = filters.bandpass(acc_g, 100.0, 0.5, 5.0)
    pad = 3 * (2 * len(sos) + 1)
    ext = np.concatenate([2 * acc_g[:1] - acc_g[pad:0:-1], acc_g,
                          2 * acc_g[-1:] - acc_g[-2 : -pad - 2 : -1]])
    zi_n = zi[:, :, None]
    y, _ = signal.sosfilt(sos, ext, axis=0, zi=zi_n * ext[0])
    y = y[::-1]
    y, _ = signal.sosfilt(sos, y, axis=0, zi=zi_n * y[0])
    np.testing.assert_array_equal(got, y[::-1][pad:-pad])
    one = filters.bandpass(acc_g[:, 0], 100.0, 0.5, 5.0)
    np.testing.assert_array_equal(one, got[:, 0])


def test_analysis_imports_no_scipy_signal_or_stats():
    code = ("import sys, analysis.pipeline, analysis.streaming, stridewatch.inputs.chunks; "
            "print(sorted(m for m in ('scipy.signal', 'scipy.stats', 'scipy.ndimage', 'pandas')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
