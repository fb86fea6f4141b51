"""The raw signal a report shows in its viewer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from analysis.streaming import SampleChunk


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


def vertical_g(acc_g: np.ndarray, up: Sequence[float] | None) -> np.ndarray:
    """Acceleration (g) along the unit vector ``up`` (the magnitude when there is none),
    row by row: the same values whichever rows are given at once (a recording whole or in
    chunks)."""
    x, y, z = acc_g[:, 0], acc_g[:, 1], acc_g[:, 2]
    if up is not None and len(up) == 3:
        ux, uy, uz = (float(u) for u in up)
        return x * ux + y * uy + z * uz
    return np.sqrt(x * x + y * y + z * z)


class KeptSamples:
    """Chunks of a recording analysed as a stream (``analysis.streaming.SampleChunk``),
    passed on unchanged while their times and acceleration are kept for the report's
    signal: it needs the body's up axis, known only once the analysis has finished."""

    def __init__(self) -> None:
        self._t: list[np.ndarray] = []
        self._acc: list[np.ndarray] = []

    def tap(self, chunks: Iterable[SampleChunk]) -> Iterator[SampleChunk]:
        for chunk in chunks:
            self._t.append(np.asarray(chunk.t_s, dtype=float))
            self._acc.append(np.asarray(chunk.acc, dtype=float))
            yield chunk

    def signal(self, to_g: Callable[[np.ndarray], np.ndarray], up: Sequence[float] | None,
               sample_rate_hz: float | None) -> ReportSignal:
        """The signal (``to_g``: the acceleration's conversion to g); the kept samples are
        dropped a chunk at a time as their vertical is computed."""
        def kept() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            while self._acc:
                yield self._t.pop(0), self._acc.pop(0)

        return chunks_signal(kept(), to_g, up, sample_rate_hz)


def chunks_signal(chunks: Iterable[tuple[np.ndarray, np.ndarray]],
                  to_g: Callable[[np.ndarray], np.ndarray], up: Sequence[float] | None,
                  sample_rate_hz: float | None) -> ReportSignal:
    """The signal of a recording's (times s, acceleration) chunks, in order: only the
    times and the vertical acceleration are held."""
    times, vertical = [], []
    for t_s, acc in chunks:
        times.append(np.asarray(t_s, dtype=float))
        vertical.append(vertical_g(to_g(acc), up))
    if not times:
        return ReportSignal(t_s=np.zeros(0), vertical_g=np.zeros(0),
                            sample_rate_hz=sample_rate_hz)
    return ReportSignal(t_s=np.concatenate(times), vertical_g=np.concatenate(vertical),
                        sample_rate_hz=sample_rate_hz)
