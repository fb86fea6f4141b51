"""Shared synthetic recordings for the analysis tests (known truth from analysis.simulate)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from analysis.simulate import DEFAULT_MOUNT, Phase, Simulation, rotation_matrix, simulate_walk

# Mountings the analysis must handle without being told: yaw, pitch, roll in degrees.
MOUNTS = {
    "upright": (0, 0, 0),
    "upside-down": (0, 180, 0),
    "rotated-90": (90, 0, 0),
    "tilted-40": (0, 40, 0),
    "rotated-and-tilted": (35, -25, 40),
}


def truth_contacts(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    contacts = sim.truth["initial_contacts"]
    return np.array([c["t"] for c in contacts]), np.array([c["side"] for c in contacts])


@lru_cache(maxsize=16)
def walk(
    mount: str = "upright", noise_g: float = 0.01, jitter_s: float = 0.0, gap: bool = False,
    si_pct: float = 0.0, seed: int = 0,
) -> Simulation:
    """10 s standing, 6 min walking at 108 steps/min (6° forward), 10 s standing."""
    phases = [
        Phase("stand", 10, sagittal_deg=0.0),
        Phase("walk", 360, cadence_spm=108, si_pct=si_pct, sagittal_deg=6.0),
        Phase("stand", 10, sagittal_deg=0.0),
    ]
    return simulate_walk(
        phases, mount=rotation_matrix(*MOUNTS[mount]) @ DEFAULT_MOUNT, noise_g=noise_g,
        jitter_s=jitter_s, gaps_s=[(150.0, 152.0)] if gap else None, seed=seed,
    )


def matched_fraction(detected: np.ndarray, truth: np.ndarray, tol_s: float = 0.1) -> float:
    """Share of true contacts with a detection within ``tol_s``."""
    if len(truth) == 0:
        return 1.0
    idx = np.searchsorted(detected, truth)
    best = np.full(len(truth), np.inf)
    for shift in (-1, 0):
        j = np.clip(idx + shift, 0, len(detected) - 1)
        best = np.minimum(best, np.abs(detected[j] - truth))
    return float(np.mean(best <= tol_s))
