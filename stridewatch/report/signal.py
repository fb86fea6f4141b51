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
    ``stretches``: for a long recording, the viewer's samples already chosen (start s on
    the same clock, interval s, milli-g ints; ``stridewatch.report.long_viewer``), with no
    ``t_s`` then.
    """

    t_s: np.ndarray
    vertical_g: np.ndarray
    sample_rate_hz: float | None = None
    stretches: tuple[tuple[float, float, np.ndarray], ...] | None = None

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

    def __init__(self, up_to_s: float = float("inf")) -> None:
        self._t: list[np.ndarray] = []
        self._acc: list[np.ndarray] = []
        self._up_to_s = up_to_s
        self.gave_up = False  # the recording ran past ``up_to_s``: nothing is kept

    def tap(self, chunks: Iterable[SampleChunk]) -> Iterator[SampleChunk]:
        """The chunks, kept while the recording spans at most ``up_to_s`` (a longer one's
        signal is read again once the session is known: ``long_viewer``)."""
        for chunk in chunks:
            if not self.gave_up and len(chunk):
                if self._t and chunk.t_s[-1] - self._t[0][0] > self._up_to_s:
                    self._t, self._acc, self.gave_up = [], [], True
                else:
                    # copies of their own: a chunk's columns are often views of the parsed
                    # table, which holds every column (gyro too) and would be kept whole
                    self._t.append(np.array(chunk.t_s, dtype=float))
                    self._acc.append(np.array(chunk.acc, dtype=float))
            yield chunk

    def signal(self, to_g: Callable[[np.ndarray], np.ndarray], up: Sequence[float] | None,
               sample_rate_hz: float | None) -> ReportSignal:
        """The signal (``to_g``: the acceleration's conversion to g); the kept samples are
        dropped a chunk at a time as their vertical is computed, into arrays made once."""
        n = sum(len(t) for t in self._t)
        t_s, vertical = np.empty(n), np.empty(n)
        at = 0
        self._t.reverse()
        self._acc.reverse()
        while self._acc:  # first chunk first; each let go once copied
            t, acc = self._t.pop(), self._acc.pop()
            t_s[at:at + len(t)] = t
            vertical[at:at + len(t)] = vertical_g(to_g(acc), up)
            at += len(t)
            del t, acc
        return ReportSignal(t_s=t_s, vertical_g=vertical, sample_rate_hz=sample_rate_hz)


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
