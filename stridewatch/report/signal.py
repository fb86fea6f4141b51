"""The raw signal a report shows in its viewer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReportSignal:
    """Raw signal for the report's zoomable excerpt.

    ``t_s``: sample times in seconds from the start of the recording (same clock as the
    session's ``initial_contacts_s``); ``vertical_g``: vertical acceleration in g (gravity
    included or removed, either is fine). ``sample_rate_hz`` is informational.
    """

    t_s: np.ndarray
    vertical_g: np.ndarray
    sample_rate_hz: float | None = None

    def __post_init__(self) -> None:
        if len(self.t_s) != len(self.vertical_g):
            raise ValueError(
                f"t_s has {len(self.t_s)} samples but vertical_g has {len(self.vertical_g)}"
            )
