"""The report viewer's samples of a long recording, built as the recording streams past: the
memory and the page grow with the walking in it, not with its length.

Up to ``FULL_DETAIL_S`` the viewer shows every gap-free stretch at up to 50 Hz
(``stridewatch.report.viewer.signal_segments`` over the whole signal, which the report keeps
while the analysis runs). A longer recording (a day, a week) would keep 32 bytes a sample to
its end and write ~20 MB of page a day. So once the session is known, its signal is read
again as a stream and each gap-free stretch is cut where walking (a bout, ``BOUT_MARGIN_S``
either side) begins and ends: walking is kept at up to ``MAX_VIEWER_RATE_HZ``, the rest at
``CONTEXT_RATE_HZ``. Each piece keeps every step-th sample from its start (the step from the
session's sample rate), drawn at the mean interval of the samples it kept. The same samples
come out however the recording is cut into chunks, so a file streamed and the same file read
whole give the same page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from analysis.timebase import MAX_GAP_S
from stridewatch.report.signal import ReportSignal, vertical_g
from stridewatch.report.viewer import MAX_VIEWER_RATE_HZ, milli_g  # (walking in a long one too)

FULL_DETAIL_S = 6 * 3600.0  # recordings up to this long are shown at up to 50 Hz throughout
CONTEXT_RATE_HZ = 1.0  # the rest of a longer one: what the wearer was doing around the walks
BOUT_MARGIN_S = 2.0


def is_long(session: Mapping[str, Any]) -> bool:
    """Whether the session's recording is shown walking in detail and the rest coarse."""
    duration = session.get("duration_s")
    return isinstance(duration, int | float) and duration > FULL_DETAIL_S


class LongViewerSegments:
    """Fed (times s, vertical g) chunks in time order, gives the viewer's stretches of a long
    recording (``stretches``: start s on the recording's clock, interval s, milli-g ints)."""

    def __init__(self, session: Mapping[str, Any]) -> None:
        fs = float(session.get("sample_rate_hz") or 100.0)
        self._steps = (max(1, math.ceil(fs / CONTEXT_RATE_HZ - 1e-9)),
                       max(1, math.ceil(fs / MAX_VIEWER_RATE_HZ - 1e-9)))  # rest, walking
        bouts = sorted((float(b["start_s"]) - BOUT_MARGIN_S, float(b["end_s"]) + BOUT_MARGIN_S)
                       for b in session.get("bouts") or []
                       if isinstance(b.get("start_s"), int | float)
                       and isinstance(b.get("end_s"), int | float))
        self._lo = np.array([a for a, _ in bouts], dtype=float)
        self._hi = np.maximum.accumulate(np.array([b for _, b in bouts], dtype=float)) \
            if bouts else np.zeros(0)
        self._last_t: float | None = None
        self._walking = False  # of the piece being kept
        self._pos = 0  # samples of that piece seen so far
        self._kept_t: list[np.ndarray] = []
        self._kept_v: list[np.ndarray] = []
        self.stretches: list[tuple[float, float, np.ndarray]] = []

    def _in_walking(self, t: np.ndarray) -> np.ndarray:
        k = np.searchsorted(self._lo, t, side="right") - 1
        return (k >= 0) & (t <= self._hi[np.maximum(k, 0)]) if len(self._lo) else \
            np.zeros(len(t), dtype=bool)

    def feed(self, t_s: np.ndarray, vertical: np.ndarray) -> None:
        t = np.asarray(t_s, dtype=float)
        v = np.asarray(vertical, dtype=float)
        finite = np.isfinite(t) & np.isfinite(v)
        if not finite.all():
            t, v = t[finite], v[finite]
        if not len(t):
            return
        walking = self._in_walking(t)
        new = np.empty(len(t), dtype=bool)
        new[1:] = (np.diff(t) > MAX_GAP_S) | (walking[1:] != walking[:-1])
        new[0] = (self._last_t is None or t[0] - self._last_t > MAX_GAP_S
                  or bool(walking[0]) != self._walking)
        cuts = [*np.flatnonzero(new).tolist(), len(t)]
        if cuts[0] > 0:  # the piece carried on from the last chunk
            self._keep(t[: cuts[0]], v[: cuts[0]])
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            self._close()
            self._walking, self._pos = bool(walking[a]), 0
            self._keep(t[a:b], v[a:b])
        self._last_t = float(t[-1])

    def _keep(self, t: np.ndarray, v: np.ndarray) -> None:
        step = self._steps[self._walking]
        first = (-self._pos) % step
        self._kept_t.append(t[first::step].copy())
        self._kept_v.append(v[first::step].copy())
        self._pos += len(t)

    def _close(self) -> None:
        t = np.concatenate(self._kept_t) if self._kept_t else np.zeros(0)
        if len(t) >= 2:
            mg = milli_g(np.concatenate(self._kept_v))
            self.stretches.append((float(t[0]), float((t[-1] - t[0]) / (len(t) - 1)), mg))
        self._kept_t, self._kept_v = [], []

    def finish(self) -> list[tuple[float, float, np.ndarray]]:
        self._close()
        return self.stretches


def long_signal(chunks: Iterable[tuple[np.ndarray, np.ndarray]],
                to_g: Callable[[np.ndarray], np.ndarray], up: Sequence[float] | None,
                session: Mapping[str, Any]) -> ReportSignal:
    """The viewer's signal of a long recording from its (times s, acceleration) chunks."""
    segments = LongViewerSegments(session)
    for t_s, acc in chunks:
        segments.feed(t_s, vertical_g(to_g(acc), up))
    return ReportSignal(t_s=np.zeros(0), vertical_g=np.zeros(0),
                        sample_rate_hz=session.get("sample_rate_hz"),
                        stretches=tuple(segments.finish()))


def blocks(t_s: np.ndarray, acc: np.ndarray, rows: int = 1 << 18,
           ) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """A recording read whole as (times, acceleration) blocks, for ``long_signal``."""
    for a in range(0, len(t_s), rows):
        yield t_s[a:a + rows], acc[a:a + rows]
