"""Trunk lean: sagittal (forward +) and frontal (right +) angles in degrees.

Per-second mean acceleration is gravity plus the average of the step-to-step
motion, which cancels over a stride; comparing its direction with an upright
reference gives the trunk's tilt. The reference is chosen for every recording,
in this order (``choose_reference``):

1. ``calibrated``: a standing segment the user named (``--calibrate A:B``);
2. ``standing``: quiet upright standing of at least ``MIN_STANDING_S`` found in
   the recording (before the first walking bout, else between bouts, else
   after the last);
3. ``stored``: the standing gravity vector kept for this wearer and sensor,
   used only while walking gravity is within ``MAX_STORED_MISMATCH_DEG`` of it;
4. ``relative``: none of these. Lean is the change from the wearer's own
   walking median and posture is not judged (the absolute lean rules do not
   fire): there is no way to know upright from walking alone (a constant
   slouch would read as upright; see ../shared/reference/gait-and-posture.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.errors import InputError
from analysis.orientation import BodyAxes

MAX_CALIBRATION_MOTION_G = 0.15
# Automatic standing: seconds whose acceleration varies less than this (norm of the
# per-axis standard deviations; sensor noise is ~0.01-0.02 g per axis), with no step
# and a magnitude near 1 g, that follow each other without the trunk turning.
MIN_STANDING_S = 3.0
QUIET_MAX_STD_G = 0.06
QUIET_MAX_MAGNITUDE_ERROR_G = 0.1
QUIET_MAX_TURN_DEG = 2.0
# Upright standing is within this angle of the walking posture (lying or reclining is not).
MAX_STANDING_FROM_WALKING_DEG = 30.0
# A stored reference is refused when walking gravity is further than this from it
# (the sensor sits differently than when the reference was taken).
MAX_STORED_MISMATCH_DEG = 20.0

REFERENCE_KINDS = ("calibrated", "standing", "stored", "relative")
# One wording for how to get a reference (summary, report, live view).
REFERENCE_ADVICE = ("stand tall and still for 5 s after pressing start (or give a standing "
                    "segment with --calibrate, or store one with `stridewatch calibrate`)")


@dataclass(frozen=True)
class LeanReference:
    """The upright direction lean is measured from (unit vector, sensor frame).

    ``kind`` is one of ``REFERENCE_KINDS``; ``segment_s`` the standing segment
    used (calibrated / standing; for stored: the segment of the session it came
    from, on that session's clock). Posture is ``judged`` unless ``relative``.
    ``gravity_g``: the mean acceleration of the standing segment (sensor frame, g),
    what ``stridewatch calibrate`` stores.
    """

    kind: str
    up: np.ndarray
    segment_s: tuple[float, float] | None = None
    gravity_g: np.ndarray | None = None

    @property
    def judged(self) -> bool:
        return self.kind != "relative"


def _direction(vectors: np.ndarray) -> np.ndarray:
    v = np.atleast_2d(vectors)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    m = np.median(v, axis=0)
    return m / np.linalg.norm(m)


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in degrees between two vectors."""
    c = float(a @ b) / (float(np.linalg.norm(a)) * float(np.linalg.norm(b)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def quiet_seconds(second_mean_g: np.ndarray, second_std_g: np.ndarray) -> np.ndarray:
    """Which seconds (per-second mean and std of acceleration (n,3), g) are still enough
    for standing: little dynamic acceleration and a magnitude near 1 g."""
    mean = np.atleast_2d(second_mean_g)
    magnitude = np.linalg.norm(mean, axis=1)
    return (np.linalg.norm(np.atleast_2d(second_std_g), axis=1) < QUIET_MAX_STD_G) & (
        np.abs(magnitude - 1.0) < QUIET_MAX_MAGNITUDE_ERROR_G)


def quiet_runs(
    second_t_s: np.ndarray,
    second_mean_g: np.ndarray,
    second_std_g: np.ndarray,
    contact_t_s: np.ndarray,
) -> list[tuple[int, int]]:
    """(first, last) second indices of runs of quiet standing-like seconds, ≥ MIN_STANDING_S.

    Quiet: little dynamic acceleration, |a| near 1 g, no initial contact in or
    next to the second, and no turn of the gravity direction from the previous
    second; a gap in the seconds ends a run.
    """
    n = len(second_t_s)
    if n == 0:
        return []
    magnitude = np.linalg.norm(second_mean_g, axis=1)
    quiet = quiet_seconds(second_mean_g, second_std_g)
    if len(contact_t_s):
        contacts = np.sort(contact_t_s)
        # a contact within 1 s either side of the bin disqualifies it
        lo = np.searchsorted(contacts, second_t_s - 1.0, side="left")
        hi = np.searchsorted(contacts, second_t_s + 2.0, side="left")
        quiet &= hi == lo
    unit = second_mean_g / np.maximum(magnitude, 1e-9)[:, None]
    joins = np.zeros(n, dtype=bool)  # second i continues the run of second i-1
    if n > 1:
        turn = np.degrees(np.arccos(np.clip(np.sum(unit[1:] * unit[:-1], axis=1), -1, 1)))
        joins[1:] = (np.diff(second_t_s) < 1.5) & (turn < QUIET_MAX_TURN_DEG)
    runs: list[tuple[int, int]] = []
    first = None
    for i in range(n + 1):
        if i < n and quiet[i] and first is not None and joins[i]:
            continue
        if first is not None and (i - 1) - first + 1 >= MIN_STANDING_S:
            runs.append((first, i - 1))
        first = i if i < n and quiet[i] else None
    return runs


def standing_reference(
    second_t_s: np.ndarray,
    second_mean_g: np.ndarray,
    second_std_g: np.ndarray,
    contact_t_s: np.ndarray,
    bout_start_s: np.ndarray,
    bout_end_s: np.ndarray,
    walking_up: np.ndarray | None,
) -> LeanReference | None:
    """Quiet upright standing found in the recording, or None.

    Before the first bout the run nearest the walk is used, between bouts the
    longest, after the last bout the run nearest the walk. A run further than
    ``MAX_STANDING_FROM_WALKING_DEG`` from the walking posture (``walking_up``;
    None: no walking yet, any run will do) is not upright standing.
    """
    runs = quiet_runs(second_t_s, second_mean_g, second_std_g, contact_t_s)
    candidates = []
    for a, b in runs:
        up = _direction(second_mean_g[a : b + 1])
        if walking_up is not None and angle_deg(up, walking_up) > MAX_STANDING_FROM_WALKING_DEG:
            continue
        candidates.append((float(second_t_s[a]), float(second_t_s[b] + 1.0), up,
                           second_mean_g[a : b + 1].mean(axis=0)))
    if not candidates:
        return None
    if len(bout_start_s) == 0:
        before, between, after = candidates, [], []
    else:
        first_start, last_end = float(bout_start_s[0]), float(bout_end_s[-1])
        before = [c for c in candidates if c[1] <= first_start + 1e-9]
        after = [c for c in candidates if c[0] >= last_end - 1e-9]
        between = [c for c in candidates if first_start < c[1] and c[0] < last_end]
    if before:
        start, end, up, gravity = before[-1]
    elif between:
        start, end, up, gravity = max(between, key=lambda c: c[1] - c[0])
    else:
        start, end, up, gravity = after[0]
    return LeanReference("standing", up, (start, end), gravity)


def relative_reference(walking_gravity_g: np.ndarray) -> LeanReference:
    """No upright reference: the walking median direction (lean becomes change from it)."""
    return LeanReference("relative", _direction(walking_gravity_g))


def stored_reference(
    gravity_g: np.ndarray, segment_s: tuple[float, float] | None = None
) -> LeanReference:
    """A reference kept in the store: the standing gravity vector (sensor frame, g)."""
    g = np.asarray(gravity_g, dtype=float)
    norm = float(np.linalg.norm(g))
    if not np.isfinite(norm) or norm < 0.5:
        raise InputError(f"stored lean reference {g.tolist()} is not a gravity vector")
    return LeanReference("stored", g / norm, segment_s)


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


def choose_reference(
    second_t_s: np.ndarray,
    second_mean_g: np.ndarray,
    second_std_g: np.ndarray,
    *,
    walking: np.ndarray,
    contact_t_s: np.ndarray,
    bout_start_s: np.ndarray,
    bout_end_s: np.ndarray,
    calibrate_s: tuple[float, float] | None = None,
    stored: LeanReference | None = None,
    final: bool = True,
) -> tuple[LeanReference, list[str]]:
    """The lean reference for a recording (calibrated → standing → stored → relative).

    Per second (bin start ``second_t_s``): mean and std of acceleration (n,3) in g
    and the ``walking`` mask; ``contact_t_s`` every initial contact found;
    ``bout_start_s`` / ``bout_end_s`` the walking bouts; ``stored`` the
    standing reference kept for this wearer and sensor (``stored_reference``). ``final`` False
    (a live snapshot): a calibration segment not reached yet is not an error.
    Returns the reference and warnings to show the user.
    """
    warnings: list[str] = []
    walking_up = _direction(second_mean_g[walking]) if walking.any() else None
    if calibrate_s is not None:
        try:
            up = calibrated_reference(second_t_s, second_mean_g, second_std_g, *calibrate_s)
            inside = (second_t_s >= calibrate_s[0] - 1e-9) & (
                second_t_s + 1.0 <= calibrate_s[1] + 1e-9)
            return LeanReference("calibrated", up, (float(calibrate_s[0]), float(calibrate_s[1])),
                                 second_mean_g[inside].mean(axis=0)), warnings
        except InputError:
            reached = len(second_t_s) and second_t_s[-1] + 1.0 >= calibrate_s[1]
            if final or reached:
                raise
            warnings.append("calibration segment not reached yet")
    found = standing_reference(second_t_s, second_mean_g, second_std_g, contact_t_s,
                               bout_start_s, bout_end_s, walking_up)
    if found is not None:
        return found, warnings
    if stored is not None:
        mismatch = 0.0 if walking_up is None else angle_deg(walking_up, stored.up)
        if mismatch <= MAX_STORED_MISMATCH_DEG:
            return stored, warnings
        warnings.append(
            f"the stored lean reference was not used: walking gravity is {mismatch:.0f}° from "
            f"it (more than {MAX_STORED_MISMATCH_DEG:g}°), so the sensor is probably worn "
            "differently than when it was stored; run `stridewatch calibrate` again"
        )
    if walking_up is not None:
        return relative_reference(second_mean_g[walking]), warnings
    up = _direction(second_mean_g) if len(second_mean_g) else np.array([0.0, 0.0, 1.0])
    return LeanReference("relative", up), warnings
