"""Hand-made ``stridewatch.session/1`` dicts and matching signals with known truth.

Until ``analysis.pipeline.analyze`` exists these stand in for its output. Every number in the
dict is derived here from a few declared inputs (bout times, cadence, step-time asymmetry,
lean offsets), so tests can assert the report and store show exactly these values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stridewatch.report.signal import ReportSignal


@dataclass(frozen=True)
class BoutSpec:
    start_s: float
    end_s: float
    cadence_spm: float
    step_time_si_pct: float  # signed: left step longer than right when positive


DEFAULT_BOUTS = (
    BoutSpec(30.0, 330.0, 110.0, 3.0),
    BoutSpec(360.0, 570.0, 96.0, 12.0),
)
FORWARD_LEAN_INTERVAL_S = (400.0, 460.0)
BASE_SAGITTAL_DEG = 4.0
FORWARD_LEAN_DEG = 13.0
BASE_FRONTAL_DEG = 1.5


def contacts_for_bout(bout: BoutSpec, first_side: str = "L") -> tuple[list[float], list[str]]:
    """Initial contacts (s) and sides for one bout: steps alternate L/R with step times
    T·(1 ± SI/200), so the step-time symmetry index of the bout is exactly ``SI``."""
    mean_step_s = 60.0 / bout.cadence_spm
    long_s = mean_step_s * (1 + bout.step_time_si_pct / 200.0)
    short_s = mean_step_s * (1 - bout.step_time_si_pct / 200.0)
    times: list[float] = []
    sides: list[str] = []
    t = bout.start_s
    side = first_side
    while t <= bout.end_s + 1e-9:
        times.append(round(t, 4))
        sides.append(side)
        # the step ending on the next contact belongs to the side that lands next
        nxt = "R" if side == "L" else "L"
        t += long_s if nxt == "L" else short_s
        side = nxt
    return times, sides


def make_session(
    *,
    source: str = "walk-2025-01-06.csv",
    duration_s: float = 600.0,
    bouts: tuple[BoutSpec, ...] = DEFAULT_BOUTS,
    reference: str = "calibrated",
    sample_rate_hz: float = 100.0,
    with_flags: bool = True,
    start_s: float = 0.0,
) -> dict:
    """A session dict consistent with its bouts: steps, walking time, cadence, series.

    ``start_s``: the input clock's time at the start of the recording; every time in the
    dict (contacts, bouts, series, flags) is shifted by it, as the pipeline reports them."""
    contacts: list[float] = []
    sides: list[str] = []
    bout_rows = []
    for bout in bouts:
        times, bout_sides = contacts_for_bout(bout)
        contacts += times
        sides += bout_sides
        bout_rows.append(
            {
                "start_s": bout.start_s,
                "end_s": bout.end_s,
                "steps": len(times),
                "cadence_spm": bout.cadence_spm,
                "step_time_si_pct": abs(bout.step_time_si_pct),
            }
        )
    walking_s = sum(b.end_s - b.start_s for b in bouts)
    steps = len(contacts)

    t_series = list(range(int(duration_s)))
    cadence: list[float | None] = []
    sagittal: list[float | None] = []
    frontal: list[float | None] = []
    si: list[float | None] = []
    for t in t_series:
        bout = next((b for b in bouts if b.start_s <= t < b.end_s), None)
        if bout is None:
            cadence.append(None)
            sagittal.append(None)
            frontal.append(None)
            si.append(None)
            continue
        cadence.append(bout.cadence_spm)
        lo, hi = FORWARD_LEAN_INTERVAL_S
        sagittal.append(FORWARD_LEAN_DEG if lo <= t < hi else BASE_SAGITTAL_DEG)
        frontal.append(BASE_FRONTAL_DEG)
        si.append(abs(bout.step_time_si_pct))
    walking_sagittal = np.array([v for v in sagittal if v is not None])
    walking_frontal = np.array([v for v in frontal if v is not None])

    flags = []
    if with_flags:
        flags = [
            {
                "rule": "forward-lean",
                "start_s": FORWARD_LEAN_INTERVAL_S[0],
                "end_s": FORWARD_LEAN_INTERVAL_S[1],
                "value": FORWARD_LEAN_DEG,
                "threshold": 10.0,
                "message": "Leaning forward 13.0° (limit 10°) for 60 s",
            },
            {
                "rule": "uneven-steps",
                "start_s": bouts[1].start_s,
                "end_s": bouts[1].end_s,
                "value": abs(bouts[1].step_time_si_pct),
                "threshold": 10.0,
                "message": "Step-time asymmetry 12.0 % (limit 10 %)",
            },
        ]
    session = {
        "schema": "stridewatch.session/1",
        "source": source,
        "start_s": start_s,
        "sample_rate_hz": sample_rate_hz,
        "duration_s": duration_s,
        "walking_s": walking_s,
        "steps": steps,
        "initial_contacts_s": contacts,
        "sides": sides,
        "bouts": bout_rows,
        "cadence_spm": round(steps / (walking_s / 60.0), 1) if walking_s else None,
        "asymmetry": {
            "step_time_si_pct": float(np.median([abs(b.step_time_si_pct) for b in bouts]))
            if bouts else None,
            "step_regularity": 0.82 if bouts else None,
            "stride_regularity": 0.88 if bouts else None,
        },
        "lean": {
            "reference": reference,
            "sagittal_deg_median": float(np.median(walking_sagittal)) if bouts else None,
            "frontal_deg_median": float(np.median(walking_frontal)) if bouts else None,
            "sagittal_deg_p95": float(np.percentile(walking_sagittal, 95)) if bouts else None,
        },
        "series": {
            "t_s": t_series,
            "cadence_spm": cadence,
            "sagittal_deg": sagittal,
            "frontal_deg": frontal,
            "step_time_si_pct": si,
        },
        "flags": flags,
    }
    if start_s:
        session["initial_contacts_s"] = [round(t + start_s, 4) for t in contacts]
        for row in [*bout_rows, *flags]:
            row["start_s"] += start_s
            row["end_s"] += start_s
        session["series"]["t_s"] = [t + start_s for t in t_series]
    return session


def make_signal(session: dict, sample_rate_hz: float = 100.0, seed: int = 7) -> ReportSignal:
    """Vertical acceleration (g): 1 g at rest, an impact pulse at each initial contact."""
    rng = np.random.default_rng(seed)
    n = int(session["duration_s"] * sample_rate_hz)
    t = session.get("start_s", 0.0) + np.arange(n) / sample_rate_hz
    v = 1.0 + 0.01 * rng.standard_normal(n)
    for ic in session["initial_contacts_s"]:
        i0 = int((ic - t[0]) * sample_rate_hz)
        lo, hi = max(0, i0 - 30), min(n, i0 + 30)
        dt = t[lo:hi] - ic
        v[lo:hi] += 0.45 * np.exp(-0.5 * (dt / 0.04) ** 2) - 0.2 * np.exp(-0.5 * (dt / 0.12) ** 2)
    return ReportSignal(t_s=t, vertical_g=v)
