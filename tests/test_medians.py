"""analysis.medians.median_1d against numpy's median (the value it must reproduce)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.medians import median_1d


@pytest.mark.parametrize("seed", range(5))
def test_the_same_value_as_numpy_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(400):
        n = int(rng.integers(1, 80))
        values = rng.normal(size=n) * 10.0 ** rng.integers(-6, 6)
        if rng.random() < 0.3:
            values = np.round(values, 1)  # ties, as step times rounded to the sample
        assert median_1d(values) == float(np.median(values))


def test_even_count_is_the_mean_of_the_two_middle_values() -> None:
    assert median_1d(np.array([4.0, 1.0, 3.0, 2.0])) == 2.5
    assert median_1d(np.array([0.1, 0.2])) == float(np.median([0.1, 0.2]))


def test_empty_or_nan_is_nan() -> None:
    assert math.isnan(median_1d(np.zeros(0)))
    assert math.isnan(median_1d(np.array([1.0, np.nan, 2.0])))
