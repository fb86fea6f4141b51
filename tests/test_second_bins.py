"""Per-second gravity statistics (``GaitFeatures.seconds``) equal the mean and standard
deviation of each second's samples computed directly, also where a second is cut by the
extractor's 300 s chunk boundary (a rate whose 300 s is not a whole number of samples, as
a phone's estimated rate is) and across a gap that starts a new segment."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.extraction import FeatureExtractor, _bins_in_any_order
from analysis.timebase import UniformBlock


def _blocks(acc: np.ndarray, fs: float, segment: int, t0: float, size: int):
    for i in range(0, len(acc), size):
        yield UniformBlock(segment, t0 + i / fs, fs, acc[i : i + size])


def _direct(acc: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin start (s from the segment's start), mean and std of the samples of each second."""
    bins = np.floor(np.arange(len(acc)) / fs).astype(int)
    starts, means, stds = [], [], []
    for b in np.unique(bins):
        x = acc[bins == b]
        starts.append(float(b))
        means.append(x.mean(axis=0))
        stds.append(x.std(axis=0))
    return np.array(starts), np.array(means), np.array(stds)


@pytest.mark.parametrize("fs", [100.0, 99.537])
def test_seconds_equal_each_seconds_samples(fs):
    rng = np.random.default_rng(7)
    n1, n2 = int(fs * 700), int(fs * 320)  # > 2 chunks, then a second segment after a gap
    acc1 = rng.normal([0.0, 0.0, 1.0], 0.2, (n1, 3))
    acc2 = rng.normal([0.1, 0.0, 0.98], 0.2, (n2, 3))
    extractor = FeatureExtractor(fs)
    for block in (*_blocks(acc1, fs, 0, 0.0, 997), *_blocks(acc2, fs, 1, 800.0, 1500)):
        extractor.feed(block)
    features = extractor.finish()
    t, seg, mean, std = features.seconds()

    s1, m1, d1 = _direct(acc1, fs)
    s2, m2, d2 = _direct(acc2, fs)
    np.testing.assert_array_equal(t, np.r_[s1, 800.0 + s2])
    np.testing.assert_array_equal(seg, np.r_[np.zeros(len(s1)), np.ones(len(s2))])
    np.testing.assert_allclose(mean, np.vstack([m1, m2]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(std, np.vstack([d1, d2]), rtol=0, atol=1e-9)

    pieces = np.concatenate(features.second_t_s)
    split = len(pieces) - len(t)  # seconds that arrived in two pieces
    assert split == (0 if fs == 100.0 else 3)  # 99.537 Hz: cut at each chunk boundary
    # the same bits as binning the pieces by sorting their keys (the order-free path)
    key = np.round(pieces * 1000.0).astype(np.int64) * 1000 + np.concatenate(
        features.second_segment)
    first, sums, squares, counts = _bins_in_any_order(
        key, np.concatenate(features.second_sum_g), np.concatenate(features.second_sumsq_g2),
        np.concatenate(features.second_count))
    np.testing.assert_array_equal(mean, sums / counts[:, None])
    np.testing.assert_array_equal(t, pieces[first])
