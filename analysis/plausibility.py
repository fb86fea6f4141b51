"""Is it walking? Steps need gait-like structure, not just peaks.

Peaks can be found in anything: 60 s of Gaussian or uniform noise gives ~100
"steps" at a brisk cadence. Walking is periodic: the vertical acceleration one
step later (and one stride later) resembles the present one, so its
autocorrelation at the detected step and stride lags (step and stride regularity,
Moe-Nilssen & Helbostad 2004) is clearly positive; and the trunk's movement is
mostly vertical movement at gait frequencies. Noise, vibration and a sensor on a
table have neither.

Two cues, both needed:

1. Regularity: step regularity ≥ ``MIN_STEP_REGULARITY`` or stride regularity ≥
   ``MIN_STRIDE_REGULARITY`` (hemiparetic gait can have negative step but positive
   stride regularity, and the reverse).
2. Evidence that this is no chance: the regularity of a few seconds of noise can be
   high by chance (peaks picked from the signal itself set the lag), so either the
   vertical 0.5-5 Hz band holds at least ``MIN_GAIT_BAND_SHARE`` of the acceleration
   variance in the bouts, or the regularity times √steps (it is chance-like as
   1/√n) is at least ``MIN_REGULARITY_EVIDENCE``.

Measured (``benchmarks/fuzz.py`` found short noise passing cue 1 alone): 181 noise
recordings (Gaussian, uniform, 0.02-1 g, 50-200 Hz, 4-60 s) have step regularity up
to 0.66 and stride regularity up to 0.66 in 4 s, band share ≤ 0.10 and evidence
≤ 1.60 (0.19 stride regularity over 71 "steps"); the 8 Mobilise-D lab walks and the
20 stroke treadmill walks have band share ≥ 0.16 except one participant's two
hemiparetic walks (0.06, with evidence 3.0 and 4.7 from 232 and 235 steps), and evidence
≥ 1.46. Thresholds sit between the two groups (leaving either binding participant
out moves neither across the noise).
"""

from __future__ import annotations

import math

import numpy as np

#: Walking shows at least one of these (see module docstring for the figures).
MIN_STEP_REGULARITY = 0.2
MIN_STRIDE_REGULARITY = 0.12
#: And one of these: the vertical gait band's share of the acceleration variance ...
MIN_GAIT_BAND_SHARE = 0.13
#: ... or regularity × √(steps) (far beyond chance for that many steps).
MIN_REGULARITY_EVIDENCE = 2.2


def not_walking_reason(step_regularity: float, stride_regularity: float,
                       band_share: float = math.nan, steps: int | None = None) -> str | None:
    """Why the detected steps are not walking, or None when they look like gait.

    NaN regularity (no run of steps to measure it on) is not judged here; NaN
    ``band_share`` or ``steps`` None leave cue 2 unjudged.
    """
    if math.isnan(step_regularity) or math.isnan(stride_regularity):
        return None
    figures = (f"step regularity {step_regularity:.2f}, stride regularity "
               f"{stride_regularity:.2f}")
    if step_regularity < MIN_STEP_REGULARITY and stride_regularity < MIN_STRIDE_REGULARITY:
        return (
            f"no walking found: the movement does not repeat from step to step ({figures}; "
            f"walking shows at least {MIN_STEP_REGULARITY:g} or {MIN_STRIDE_REGULARITY:g}), "
            "as with noise, vibration or a sensor that is not worn"
        )
    if math.isnan(band_share) or steps is None:
        return None
    evidence = max(step_regularity, stride_regularity) * math.sqrt(max(steps, 0))
    if band_share >= MIN_GAIT_BAND_SHARE or evidence >= MIN_REGULARITY_EVIDENCE:
        return None
    return (
        f"no walking found: the movement is not gait-like ({band_share:.0%} of it is "
        f"vertical movement at walking frequencies, walking shows at least "
        f"{MIN_GAIT_BAND_SHARE:.0%}; {figures} over {steps} peaks could be chance), "
        "as with noise, vibration or a sensor that is not worn"
    )


def gait_band_share(regularity_sums: np.ndarray, walking_std_g: np.ndarray) -> float:
    """Share of the acceleration's variance that is vertical movement at gait frequencies.

    regularity_sums: ``GaitFeatures.regularity_sums`` (its Σv0² and n: the vertical
        acceleration band-passed 0.5-5 Hz over the walking samples, g).
    walking_std_g: (k, 3) per-second standard deviation of the acceleration (sensor
        frame, g) in the seconds of the bouts.
    Returns NaN when there is nothing to compare.
    """
    n, s00 = float(regularity_sums[5]), float(regularity_sums[1])
    if n < 1 or len(walking_std_g) == 0:
        return math.nan
    total = float(np.mean(np.sum(np.square(walking_std_g), axis=1)))
    return s00 / n / total if total > 0 else math.nan
