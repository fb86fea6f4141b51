"""Synthetic trunk-accelerometer walks with known truth.

A walk is a list of phases (standing or walking at a cadence, with planted
step-time asymmetry and trunk lean). Each step is drawn from a template that
mimics a lower-trunk sensor: a vertical oscillation at the step frequency
peaking just after contact plus a sharp heel-strike impact; an
anteroposterior oscillation that falls through zero at contact; a
mediolateral sway at half the step frequency, accelerating away from the new
stance foot. Gravity is tilted by the trunk's pitch and roll, the whole
vector is rotated into the sensor's mounting, then noise, time-stamp jitter
and gaps are applied. Everything planted is returned as truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.units import STANDARD_GRAVITY_MPS2


@dataclass(frozen=True)
class Phase:
    """``kind`` "stand" or "walk"; duration in s; cadence in steps/min; planted
    signed step-time SI in % (positive: left steps longer); trunk sagittal
    lean (forward +) and frontal lean (right +) in degrees relative to upright standing
    (a "stand" phase holds that posture still: 0 is upright, 80 lying almost prone)."""

    kind: str
    duration_s: float
    cadence_spm: float = 110.0
    si_pct: float = 0.0
    sagittal_deg: float = 6.0
    frontal_deg: float = 0.0


@dataclass
class Simulation:
    """Samples and truth of a synthetic recording."""

    t_s: np.ndarray
    acc: np.ndarray
    acc_units: str
    truth: dict = field(default_factory=dict)


def rotation_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation (3,3) from Z-Y-X Euler angles in degrees."""
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    rz = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1]])
    ry = np.array([[np.cos(p), 0, np.sin(p)], [0, 1, 0], [-np.sin(p), 0, np.cos(p)]])
    rx = np.array([[1, 0, 0], [0, np.cos(r), -np.sin(r)], [0, np.sin(r), np.cos(r)]])
    return rz @ ry @ rx


# Body frame columns: forward, right, up. The default mounting puts sensor
# x = up, y = right, z = forward, like a lower-back clip.
DEFAULT_MOUNT = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def simulate_walk(
    phases: list[Phase],
    *,
    fs_hz: float = 100.0,
    mount: np.ndarray | None = None,
    noise_g: float = 0.01,
    jitter_s: float = 0.0,
    gaps_s: list[tuple[float, float]] | None = None,
    units: str = "g",
    seed: int = 0,
) -> Simulation:
    """Generate a recording from ``phases``.

    ``mount`` (3,3) maps body (forward, right, up) vectors to sensor axes
    (sensor = mount @ body); ``noise_g`` white noise std in g; ``jitter_s``
    std of time-stamp jitter (kept monotonic); ``gaps_s`` intervals with no
    samples; ``units`` "g" or "m/s2".
    """
    rng = np.random.default_rng(seed)
    mount = DEFAULT_MOUNT if mount is None else np.asarray(mount, dtype=float)
    total = sum(p.duration_s for p in phases)
    n = int(round(total * fs_hz))
    t = np.arange(n) / fs_hz
    body = np.zeros((n, 3))
    pitch = np.zeros(n)
    roll = np.zeros(n)
    contacts: list[float] = []
    sides: list[str] = []
    bouts = []
    episodes = []
    start = 0.0
    next_side = "L"
    for phase in phases:
        end = start + phase.duration_s
        sel = (t >= start) & (t < end)
        pitch[sel] = phase.sagittal_deg
        roll[sel] = phase.frontal_deg
        if phase.kind == "walk":
            step = 60.0 / phase.cadence_spm
            left_step = step * (1 + phase.si_pct / 200.0)
            right_step = step * (1 - phase.si_pct / 200.0)
            tc = start + 0.3
            first = len(contacts)
            while tc < end - 0.3:
                contacts.append(tc)
                sides.append(next_side)
                next_side = "R" if next_side == "L" else "L"
                # the step ending at the next contact is named after that contact's foot
                duration = left_step if next_side == "L" else right_step
                tc += duration * (1 + 0.01 * rng.standard_normal())
            times = np.array(contacts[first:])
            _add_steps(body, t, times, np.array(sides[first:]), fs_hz)
            bouts.append({
                "start_s": float(times[0]), "end_s": float(times[-1]), "steps": len(times),
                "cadence_spm": phase.cadence_spm, "si_pct": phase.si_pct,
            })
            episodes.append({
                "start_s": start, "end_s": end, "sagittal_deg": phase.sagittal_deg,
                "frontal_deg": phase.frontal_deg,
            })
        start = end
    p, r = np.radians(pitch), np.radians(roll)
    gravity = np.column_stack([-np.sin(p) * np.cos(r), -np.sin(r), np.cos(p) * np.cos(r)])
    acc = (gravity + body) @ mount.T
    acc += noise_g * rng.standard_normal(acc.shape)
    stamps = t.copy()
    if jitter_s > 0:
        stamps = t + np.clip(jitter_s * rng.standard_normal(n), -0.4 / fs_hz, 0.4 / fs_hz)
    keep = np.ones(n, dtype=bool)
    for a, b in gaps_s or []:
        keep &= ~((t >= a) & (t < b))
    contacts_arr = np.array(contacts)
    ok = np.ones(len(contacts_arr), dtype=bool)
    for a, b in gaps_s or []:
        ok &= ~((contacts_arr >= a - 0.5) & (contacts_arr < b + 0.5))
    if units == "m/s2":
        acc = acc * STANDARD_GRAVITY_MPS2
    truth = {
        "format": "stridewatch-simulation-truth/1",
        "sample_rate_hz": fs_hz,
        "duration_s": total,
        "acc_units": units,
        "initial_contacts": [
            {"t": round(float(c), 4), "side": s}
            for c, s, k in zip(contacts_arr, sides, ok, strict=True) if k
        ],
        "walking_bouts": bouts,
        "lean_episodes": episodes,
        "mount": mount.tolist(),
        "noise_g": noise_g,
        "jitter_s": jitter_s,
        "gaps_s": [list(g) for g in gaps_s or []],
        "phases": [phase.__dict__ for phase in phases],
    }
    return Simulation(stamps[keep], acc[keep], units, truth)


def _add_steps(body: np.ndarray, t: np.ndarray, contacts: np.ndarray, sides: np.ndarray,
               fs_hz: float) -> None:
    """Add per-step accelerations (g) in body axes (forward, right, up) for each contact."""
    for i, tc in enumerate(contacts):
        step = contacts[i + 1] - tc if i + 1 < len(contacts) else contacts[i] - contacts[i - 1]
        a = int(tc * fs_hz)
        b = min(len(t), int((tc + step) * fs_hz))
        phase = (t[a:b] - tc) / step
        dt = t[a:b] - tc
        # Pulses have their mean removed: over a step at steady speed the trunk
        # neither gains nor loses velocity, so the dynamic acceleration averages to zero.
        impact = np.exp(-0.5 * ((dt - 0.03) / 0.02) ** 2)
        body[a:b, 2] += 0.25 * np.cos(2 * np.pi * (phase - 0.08)) + 0.45 * (impact - impact.mean())
        braking = np.exp(-0.5 * ((dt - 0.01) / 0.015) ** 2)
        body[a:b, 0] += -0.18 * np.sin(2 * np.pi * phase) - 0.25 * (braking - braking.mean())
        toward_right = 1.0 if sides[i] == "L" else -1.0
        body[a:b, 1] += 0.08 * toward_right * np.sin(np.pi * phase)
