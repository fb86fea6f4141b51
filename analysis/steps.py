"""Initial contacts (heel strikes) from a trunk accelerometer.

A heel strike sends a sharp impact up the body: the moment of largest jerk
(rate of change of acceleration) in each step, together with a peak of the
vertical acceleration as the trunk is decelerated downward. The detector:

1. smooths the three axes lightly (Gaussian, sigma 15 ms) and takes the norm
   of their time derivative (jerk, g/s) — orientation free, so a rotated or
   upside-down sensor changes nothing;
2. keeps local jerk maxima that stand out from the surrounding activity
   (``RELATIVE_JERK`` times the local RMS over ``ACTIVITY_WINDOW_S``) and
   exceed an absolute floor (``MIN_JERK_G_PER_S``), so sensor noise at rest is
   never a step, and of those the largest at least ``MIN_STEP_INTERVAL_S`` apart
   (a maximum that fails the thresholds does not suppress a neighbour);
3. confirms each candidate with a vertical acceleration peak of at least
   ``MIN_VERTICAL_G`` within ``CONFIRM_WINDOW_S`` (vertical = local gravity
   direction, band 0.5–5 Hz): the trunk is really decelerated downward.

Each contact's strength (its jerk peak, g/s) is kept: once sides are known,
``analysis.echoes`` drops the weaker of two same-side neighbours (a second
impact in one stance).

Tuned on the Mobilise-D lab recordings in ../shared/data/mobgap-lab
(see benchmarks/mobgap_accuracy.py for the figures).
"""

from __future__ import annotations

import numpy as np

from analysis.filters import bandpass, block_mean, lowpass
from analysis.peaks import find_peaks, gaussian_filter1d, maximum_at, uniform_filter1d

SMOOTH_SIGMA_S = 0.015
MIN_STEP_INTERVAL_S = 0.3
RELATIVE_JERK = 0.8
ACTIVITY_WINDOW_S = 2.5
MIN_JERK_G_PER_S = 1.0
CONFIRM_WINDOW_S = 0.05
MIN_VERTICAL_G = 0.01
# The jerk peak follows the contact by ~20 ms at the lower back.
CONTACT_OFFSET_S = -0.02


def jerk_magnitude(acc_g: np.ndarray, fs_hz: float) -> np.ndarray:
    """Smoothed magnitude of the acceleration's time derivative, in g/s."""
    sigma = SMOOTH_SIGMA_S * fs_hz
    smooth = gaussian_filter1d(acc_g, sigma)
    jerk = np.gradient(smooth, axis=0) * fs_hz
    return gaussian_filter1d(np.sqrt(np.einsum("ij,ij->i", jerk, jerk)), sigma)


GRAVITY_RATE_HZ = 10.0


def up_direction(acc_g: np.ndarray, fs_hz: float, cutoff_hz: float = 0.3) -> np.ndarray:
    """Unit vector of the local gravity direction (low-passed acceleration) at every sample.

    Filtered at ~``GRAVITY_RATE_HZ`` (block means) and held over each block:
    gravity changes slowly (a 0.3 Hz low-pass moves < 0.2° in 0.1 s), and this
    is far cheaper than filtering every sample.
    """
    k = max(1, int(fs_hz // GRAVITY_RATE_HZ))
    coarse = lowpass(block_mean(acc_g, k), fs_hz / k, cutoff_hz)
    coarse /= np.maximum(np.sqrt(np.einsum("ij,ij->i", coarse, coarse)), 1e-9)[:, None]
    if k == 1:
        return coarse
    return np.repeat(coarse, k, axis=0)[: len(acc_g)]


def vertical_dynamic(
    acc_g: np.ndarray, fs_hz: float, up: np.ndarray | None = None
) -> np.ndarray:
    """Acceleration along the local gravity direction minus 1 g, band-passed 0.5–5 Hz (g).

    ``up``: ``up_direction(acc_g, fs_hz)`` when the caller already has it.
    """
    up = up_direction(acc_g, fs_hz) if up is None else up
    vertical = np.einsum("ij,ij->i", acc_g, up) - 1.0
    return bandpass(vertical, fs_hz, 0.5, 5.0)


def detect_initial_contacts(
    acc_g: np.ndarray, fs_hz: float, vertical: np.ndarray | None = None
) -> np.ndarray:
    """Sample indices of initial contacts in a uniform recording (N,3) in g.

    ``vertical``: the output of ``vertical_dynamic`` when the caller already
    has it. Returns sorted int indices (already shifted by
    ``CONTACT_OFFSET_S``). Needs at least ~1 s of data; returns an empty
    array for shorter input.
    """
    return initial_contacts_with_strength(acc_g, fs_hz, vertical)[0]


def initial_contacts_with_strength(
    acc_g: np.ndarray, fs_hz: float, vertical: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``detect_initial_contacts`` and each contact's strength: its jerk peak in g/s."""
    n = len(acc_g)
    if n < int(fs_hz) + 1:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    energy = jerk_magnitude(acc_g, fs_hz)
    window = max(1, int(round(ACTIVITY_WINDOW_S * fs_hz)))
    activity = np.sqrt(uniform_filter1d(energy * energy, window))
    # Only maxima that stand out compete for a step slot: a jerk maximum too
    # weak to be a contact must not hide a valid one less than a step away.
    maxima = find_peaks(energy)
    keep = (energy[maxima] > RELATIVE_JERK * activity[maxima]) & (energy[maxima] > MIN_JERK_G_PER_S)
    valid = np.zeros(n)
    valid[maxima[keep]] = energy[maxima[keep]]
    peaks = find_peaks(valid, distance=max(1, int(MIN_STEP_INTERVAL_S * fs_hz)))
    if len(peaks) == 0:
        return peaks.astype(np.int64), np.zeros(0)
    if vertical is None:
        vertical = vertical_dynamic(acc_g, fs_hz)
    window = 2 * int(round(CONFIRM_WINDOW_S * fs_hz)) + 1
    peaks = peaks[maximum_at(vertical, peaks, window) > MIN_VERTICAL_G]
    shifted = peaks + int(round(CONTACT_OFFSET_S * fs_hz))
    return np.clip(shifted, 0, n - 1).astype(np.int64), energy[peaks]

