"""A synthetic trunk-accelerometer walk with planted steps (known truth).

Used as the sample source of emulated sensors (``stridewatch record --emulate``)
and by tests that check a recording end to end against the steps planted here.

Model, in body axes (up, forward, right), acceleration in g as an
accelerometer reads it (+1 g up at rest):

- standing still before and after the walk (gravity plus sensor noise);
- each step starts at an initial contact ``t_k``: a sharp upward impact
  (a 25 ms pulse) followed by the smooth vertical oscillation of the centre
  of mass at the step frequency, a forward deceleration after contact, and a
  mediolateral sway toward the stance leg that alternates sign every step
  (so it repeats at the stride frequency, half the step frequency);
- step times jitter slightly around the cadence.

Body axes map onto sensor axes through ``axes`` (e.g. ``"x=up,y=right,z=forward"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_BODY = ("up", "forward", "right")


@dataclass(frozen=True)
class SyntheticWalk:
    """Samples at ``rate_hz``: ``t_s`` (N,) from 0, ``acc_g`` (N,3) in the sensor frame.

    ``step_times_s`` are the planted initial contacts, ``walk_span_s`` the
    (start, end) of walking in seconds.
    """

    rate_hz: float
    t_s: np.ndarray
    acc_g: np.ndarray
    step_times_s: np.ndarray
    walk_span_s: tuple[float, float]

    @property
    def step_count(self) -> int:
        return int(len(self.step_times_s))

    def steps_within(self, spans_s: list[tuple[float, float]]) -> int:
        """Planted steps whose contact lies inside any of the (start, end) spans, in s."""
        inside = np.zeros(len(self.step_times_s), dtype=bool)
        for start, end in spans_s:
            inside |= (self.step_times_s >= start) & (self.step_times_s <= end)
        return int(inside.sum())


def _axis_map(axes: str) -> np.ndarray:
    """3x3 matrix M with sensor = body @ M.T, from e.g. ``"x=up,y=right,-z=forward"``."""
    matrix = np.zeros((3, 3))
    seen: set[str] = set()
    for item in axes.split(","):
        sensor_part, _, body_part = item.strip().partition("=")
        sign = -1.0 if sensor_part.startswith("-") else 1.0
        sensor_axis = "xyz".index(sensor_part.lstrip("+-"))
        body_axis = _BODY.index(body_part.strip())
        matrix[sensor_axis, body_axis] = sign
        seen.add(body_part.strip())
    if seen != set(_BODY) or not np.allclose(np.abs(np.linalg.det(matrix)), 1.0):
        raise ValueError(f"axes must map x, y, z one-to-one onto {_BODY}, got {axes!r}")
    return matrix


def synthetic_walk(
    walk_s: float = 120.0,
    *,
    rate_hz: float = 200.0,
    cadence_spm: float = 110.0,
    stand_before_s: float = 5.0,
    stand_after_s: float = 5.0,
    lean_forward_deg: float = 6.0,
    noise_g: float = 0.01,
    step_jitter: float = 0.02,
    axes: str = "x=up,y=right,z=forward",
    seed: int = 0,
) -> SyntheticWalk:
    """A walk of ``walk_s`` seconds at ``cadence_spm`` between two standing periods.

    ``lean_forward_deg`` tilts the trunk forward while walking (gravity moves
    onto the forward axis); ``step_jitter`` is the relative spread of step times.
    """
    if walk_s <= 0 or rate_hz <= 0 or cadence_spm <= 0:
        raise ValueError("walk_s, rate_hz and cadence_spm must be positive")
    rng = np.random.default_rng(seed)
    total_s = stand_before_s + walk_s + stand_after_s
    n = int(round(total_s * rate_hz))
    t = np.arange(n) / rate_hz
    walk_start, walk_limit = stand_before_s, stand_before_s + walk_s

    step_s = 60.0 / cadence_spm
    contacts = [walk_start]
    while True:
        nxt = contacts[-1] + step_s * (1.0 + step_jitter * rng.standard_normal())
        if nxt > walk_limit - step_s:
            break
        contacts.append(nxt)
    steps = np.asarray(contacts)

    up = np.ones(n)
    forward = np.zeros(n)
    right = np.zeros(n)
    for k, t_k in enumerate(steps):
        t_next = steps[k + 1] if k + 1 < len(steps) else t_k + step_s
        period = t_next - t_k
        in_step = (t >= t_k) & (t < t_next)
        phase = (t[in_step] - t_k) / period  # 0..1 over the step
        side = 1.0 if k % 2 == 0 else -1.0
        # the last step dies out smoothly instead of stopping dead (no false impact)
        fade = 0.5 * (1 + np.cos(np.pi * phase)) if k == len(steps) - 1 else 1.0
        # centre-of-mass oscillation: lowest (largest upward acceleration) just after contact
        up[in_step] += fade * 0.25 * np.cos(2 * np.pi * (phase - 0.08))
        forward[in_step] += fade * -0.18 * np.sin(2 * np.pi * phase)
        right[in_step] += fade * side * 0.10 * np.sin(np.pi * phase)
        # heel-strike impact: a short upward pulse starting at contact
        dt = t - t_k
        near = (dt >= 0) & (dt < 0.06)
        up[near] += 0.6 * np.exp(-0.5 * ((dt[near] - 0.012) / 0.006) ** 2)
        forward[near] -= 0.25 * np.exp(-0.5 * ((dt[near] - 0.015) / 0.008) ** 2)

    walk_end = float(steps[-1] + step_s)
    # the trunk tilts forward over a second as walking starts and back as it ends
    ramp_s = 1.0
    lean_weight = np.clip((t - walk_start) / ramp_s + 0.5, 0, 1) * np.clip(
        (walk_end - t) / ramp_s + 0.5, 0, 1
    )
    lean = np.deg2rad(lean_forward_deg) * lean_weight
    gravity_up = np.cos(lean)
    gravity_forward = np.sin(lean)
    body = np.column_stack(
        [
            up - 1.0 + gravity_up,
            forward + gravity_forward,
            right,
        ]
    )
    body += noise_g * rng.standard_normal(body.shape)
    acc = body @ _axis_map(axes).T
    return SyntheticWalk(
        rate_hz=float(rate_hz),
        t_s=t,
        acc_g=acc,
        step_times_s=steps,
        walk_span_s=(walk_start, walk_end),
    )


def standing_still(duration_s: float, *, rate_hz: float = 52.0, noise_g: float = 0.01,
                   axes: str = "x=up,y=right,z=forward", seed: int = 0) -> np.ndarray:
    """(N, 3) g of a wearer standing tall and still: gravity straight up plus sensor noise
    (what an emulated sensor streams during the guided calibration)."""
    n = int(round(duration_s * rate_hz))
    body = np.zeros((n, 3))
    body[:, 0] = 1.0
    body += noise_g * np.random.default_rng(seed).standard_normal(body.shape)
    return body @ _axis_map(axes).T
