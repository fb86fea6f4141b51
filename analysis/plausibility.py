"""Is it walking? Steps need gait-like structure, not just peaks.

Peaks can be found in anything: 60 s of Gaussian or uniform noise gives ~100
"steps" at a brisk cadence. Walking is periodic: the vertical acceleration one
step later (and one stride later) resembles the present one, so its
autocorrelation at the detected step and stride lags (step and stride regularity,
Moe-Nilssen & Helbostad 2004) is clearly positive. Noise, vibration and a sensor
on a table have none at either lag.

Measured (``analysis.extraction`` regularity over the detected steps): noise
(Gaussian, uniform, 0.05-1 g, 50-200 Hz, 30 Hz vibration; 36 cases) step
regularity ≤ 0.14 and stride regularity ≤ 0.10; the 8 Mobilise-D lab walks and 21
stroke treadmill walks have step regularity ≥ 0.2 or stride regularity ≥ 0.15
(hemiparetic gait can have negative step but positive stride regularity, and
the reverse).
"""

from __future__ import annotations

import math

#: Walking shows at least one of these (see module docstring for the figures).
MIN_STEP_REGULARITY = 0.2
MIN_STRIDE_REGULARITY = 0.12


def not_walking_reason(step_regularity: float, stride_regularity: float) -> str | None:
    """Why the detected steps are not walking, or None when they look like gait.

    NaN regularity (no run of steps to measure it on) is not judged here.
    """
    if math.isnan(step_regularity) or math.isnan(stride_regularity):
        return None
    if step_regularity >= MIN_STEP_REGULARITY or stride_regularity >= MIN_STRIDE_REGULARITY:
        return None
    return (
        f"no walking found: the movement does not repeat from step to step (step regularity "
        f"{step_regularity:.2f}, stride regularity {stride_regularity:.2f}; walking shows at "
        f"least {MIN_STEP_REGULARITY:g} or {MIN_STRIDE_REGULARITY:g}), as with noise, "
        "vibration or a sensor that is not worn"
    )
