"""Trunk lean: sagittal (forward +) and frontal (right +) angles in degrees.

Per-second mean acceleration is gravity plus the average of the step-to-step
motion, which cancels over a stride; comparing its direction with an upright
reference gives the trunk's tilt. The reference is a standing calibration
segment when one is given, otherwise walking is assumed to be on average
``AUTO_WALKING_FORWARD_DEG`` forward of upright standing (Acti4 reference
estimation; see ../shared/reference/gait-and-posture.md).
"""

from __future__ import annotations

import numpy as np

from analysis.errors import InputError
from analysis.orientation import BodyAxes

AUTO_WALKING_FORWARD_DEG = 6.0
MIN_AUTO_WALKING_S = 30.0
MAX_CALIBRATION_MOTION_G = 0.15


def calibrated_reference(
    second_t_s: np.ndarray,
    second_mean_g: np.ndarray,
    second_std_g: np.ndarray,
    start_s: float,
    end_s: float,
) -> np.ndarray:
    """Upright reference (unit vector, sensor frame) from a standing segment [start, end] s.

    Works on the per-second mean and standard deviation of acceleration; the
    seconds whose bins lie fully inside the segment are used.
    """
    if not end_s > start_s:
        raise InputError(f"--calibrate {start_s:g}:{end_s:g}: end must be after start")
    sel = (second_t_s >= start_s - 1e-9) & (second_t_s + 1.0 <= end_s + 1e-9)
    if not sel.any():
        first = second_t_s[0] if len(second_t_s) else 0.0
        last = second_t_s[-1] + 1.0 if len(second_t_s) else 0.0
        raise InputError(
            f"--calibrate {start_s:g}:{end_s:g}: no whole second of data in that interval "
            f"(recording runs {first:.2f}–{last:.2f} s)"
        )
    mean = second_mean_g[sel].mean(axis=0)
    spread = np.sqrt((second_std_g[sel] ** 2).mean(axis=0) + second_mean_g[sel].var(axis=0))
    motion = float(np.max(spread))
    if motion > MAX_CALIBRATION_MOTION_G:
        raise InputError(
            f"--calibrate {start_s:g}:{end_s:g}: the wearer was moving (acceleration std "
            f"{motion:.2f} g); choose a segment of quiet upright standing"
        )
    return mean / np.linalg.norm(mean)


def auto_reference(walking_gravity_g: np.ndarray, axes: BodyAxes) -> np.ndarray:
    """Upright reference assumed ``AUTO_WALKING_FORWARD_DEG`` behind the walking posture.

    ``walking_gravity_g`` (n,3): per-second mean acceleration while walking.
    """
    directions = walking_gravity_g / np.linalg.norm(walking_gravity_g, axis=1, keepdims=True)
    walk_up = np.median(directions, axis=0)
    walk_up /= np.linalg.norm(walk_up)
    forward = axes.forward - (axes.forward @ walk_up) * walk_up
    forward /= np.linalg.norm(forward)
    angle = np.radians(AUTO_WALKING_FORWARD_DEG)
    return np.cos(angle) * walk_up + np.sin(angle) * forward


def lean_angles(
    gravity_g: np.ndarray, reference_up: np.ndarray, axes: BodyAxes
) -> tuple[np.ndarray, np.ndarray]:
    """Sagittal (forward +) and frontal (right +) angles in degrees of each gravity vector (n,3).

    A trunk tilted forward by θ sees the upward gravity reading move toward its
    own backward axis by θ, hence the minus signs.
    """
    v0 = reference_up / np.linalg.norm(reference_up)
    f0 = axes.forward - (axes.forward @ v0) * v0
    f0 /= np.linalg.norm(f0)
    r0 = np.cross(f0, v0)
    g = np.atleast_2d(gravity_g)
    along_up = g @ v0
    sagittal = np.degrees(np.arctan2(-(g @ f0), along_up))
    frontal = np.degrees(np.arctan2(-(g @ r0), along_up))
    return sagittal, frontal


STRIDE_KERNEL = np.array([1.0, 2.0, 3.0, 2.0, 1.0])


def stride_average(values: np.ndarray) -> np.ndarray:
    """Smooth per-second values with a 5 s triangular window (NaN-aware, centred).

    Per-second means of a walking trunk still carry part of the stride-to-
    stride swing (a stride is not exactly a second long), which beats slowly
    at about ±0.7°. A triangular window (two 3 s boxes in a row) cancels that
    beat about ten times better than a single box of the same reach.
    """
    if len(values) == 0:
        return values
    kernel = STRIDE_KERNEL
    half = len(kernel) // 2
    ok = np.isfinite(values)
    centre = slice(half, half + len(values))  # "same" even when len < kernel
    num = np.convolve(np.where(ok, values, 0.0), kernel, mode="full")[centre]
    den = np.convolve(ok.astype(float), kernel, mode="full")[centre]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok & (den > 0), num / np.maximum(den, 1e-12), np.nan)
