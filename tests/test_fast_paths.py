"""The shortcuts taken for speed give the numbers of the plain computation, to the bit:
PMD sample words read by numpy against ``int.from_bytes``, and the streaming resampler's
blocks (one test for the usual block, numpy's compiled interpolation kernel, the quick
grid-alignment test) against ``np.interp`` on the whole recording."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import InputError
from analysis.timebase import MAX_GAP_S, UniformResampler
from firmware_bridge.profiles.polar_pmd import _signed_le


@pytest.mark.parametrize("width", [1, 2, 3])
def test_signed_le_words_are_int_from_bytes(width):
    rng = np.random.default_rng(width)
    data = rng.integers(0, 256, size=width * 3 * 200, dtype=np.uint8).tobytes()
    data += bytes([0x7F] + [0xFF] * (width - 1))[::-1] + bytes([0] * (width - 1) + [0x80])
    expected = [int.from_bytes(data[i : i + width], "little", signed=True)
                for i in range(0, len(data), width)]
    got = _signed_le(data, width)
    assert got.dtype == np.int64
    assert got.tolist() == expected


def _reference_grid(t: np.ndarray, acc: np.ndarray, fs: float) -> list[np.ndarray]:
    """Per segment (split at gaps > MAX_GAP_S): np.interp at t0 + k/fs up to the last stamp."""
    out = []
    breaks = np.flatnonzero(np.diff(t) > MAX_GAP_S) + 1
    for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(t)], strict=True):
        ts, xs = t[a:b], acc[a:b]
        k = np.arange(0, int(np.floor((ts[-1] - ts[0]) * fs + 1e-9)) + 1)
        grid = ts[0] + k / fs
        out.append(np.column_stack([np.interp(grid, ts, xs[:, j]) for j in range(3)]))
    return out


@pytest.mark.parametrize("kind", ["on the grid", "jittered", "with a gap"])
def test_streamed_resampler_equals_interpolating_the_whole(kind):
    rng = np.random.default_rng(7)
    fs, n = 200.0, 30_000
    if kind == "on the grid":
        t = 12.5 + np.arange(n) / fs
    else:
        t = 12.5 + np.sort(np.arange(n) / fs * 1.0003 + rng.normal(0, 2e-5, n))
        if kind == "with a gap":
            t[n // 2 :] += 0.8
    acc = rng.normal(size=(n, 3))
    resampler = UniformResampler(fs)
    blocks: dict[int, list[np.ndarray]] = {}
    i = 0
    for size in rng.integers(1, 80, size=n):  # notification-sized feeds
        for block in resampler.feed(t[i : i + size], acc[i : i + size]):
            blocks.setdefault(block.segment, []).append(block.acc_g)
        i += size
    got = [np.concatenate(blocks[s]) for s in sorted(blocks)]
    expected = _reference_grid(t, acc, fs)
    assert len(got) == len(expected) == (2 if kind == "with a gap" else 1)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)


def test_resampler_still_refuses_time_going_back_within_and_across_feeds():
    resampler = UniformResampler(100.0)
    list(resampler.feed(np.array([0.0, 0.01, 0.02]), np.zeros((3, 3))))
    with pytest.raises(InputError, match="time does not increase: t=0.02 s after t=0.02 s"):
        list(resampler.feed(np.array([0.02, 0.03]), np.zeros((2, 3))))
    with pytest.raises(InputError, match="t=0.035 s after t=0.04 s"):
        list(UniformResampler(100.0).feed(np.array([0.0, 0.04, 0.035]), np.zeros((3, 3))))


@pytest.mark.parametrize("k", [2, 5, 10, 20])
def test_block_means_of_samples_are_numpys_means(k):
    from pathlib import Path

    from analysis.filters import block_mean

    lab = Path(__file__).resolve().parents[2] / "shared" / "data" / "mobgap-lab"
    data = np.loadtxt(lab / "ms-001-test11-trial1.csv", delimiter=",", skiprows=1)
    for x in (data[:, 1:4] / 9.80665, data[:, 4:7], data[7:, 1:4]):  # views, odd lengths
        full = len(x) // k * k
        parts = [x[:full].reshape(-1, k, 3).mean(axis=1)]
        if full < len(x):
            parts.append(x[full:].mean(axis=0, keepdims=True))
        np.testing.assert_array_equal(block_mean(x, k), np.concatenate(parts))
