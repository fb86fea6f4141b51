"""A whole recording analysed as a stream of sample chunks: memory does not grow with length.

``analyze_stream`` is what ``analysis.pipeline.analyze`` does for arrays, for
any sequence of chunks (a file parsed a chunk at a time): the units and the
sample rate are judged on the first ``WINDOW_SAMPLES`` samples, every chunk is
checked (``validate_samples``; a recording that fits in the window is checked
whole, exactly as before streaming) and converted to g on its own, and the
chunks are fed in order to the same ``SessionAnalyzer`` the live view uses. A
recording gives the same result however it is cut into chunks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from analysis.errors import InputError
from analysis.timebase import check_duration, estimate_sample_rate_hz, validate_samples
from analysis.units import detect_acc_units, median_magnitude, to_g

if TYPE_CHECKING:
    from analysis.lean import LeanReference
    from analysis.orientation import WearPrior
    from analysis.pipeline import SessionResult
    from analysis.rules import RuleSet

# Units and rate are judged on this many samples from the start (33 min at 100 Hz).
WINDOW_SAMPLES = 200_000


class NotStreamable(InputError):
    """Samples the stream cannot take as they come (time stamps needing repair, a time column
    not in seconds): read the recording whole instead (``repair_sample_times``)."""


@dataclass(frozen=True)
class SampleChunk:
    """Consecutive samples of a recording: t (n,) s, acceleration (n,3) in the input's units,
    angular rate (n,3) deg/s or None; ``first_row`` is the 0-based input row of the first."""

    t_s: np.ndarray
    acc: np.ndarray
    gyro_dps: np.ndarray | None
    first_row: int

    def __len__(self) -> int:
        return len(self.t_s)


def analyze_stream(
    chunks: Iterable[SampleChunk],
    *,
    acc_units: str | None = None,
    rules: RuleSet | None = None,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    fs_hz: float | None = None,
    stored_reference: LeanReference | None = None,
    wear_prior: WearPrior | None = None,
) -> SessionResult:
    """Analyse a recording given as chunks in time order (see ``analysis.pipeline.analyze``).

    Raises ``InputError`` with the input row (counted over the whole stream)
    for samples that cannot be analysed.
    """
    from analysis.pipeline import SessionAnalyzer

    stream = iter(chunks)
    head: list[SampleChunk] = []
    n_head = 0
    ended = True
    for chunk in stream:
        head.append(chunk)
        n_head += len(chunk)
        if n_head >= WINDOW_SAMPLES:
            ended = False
            break
    t_window = np.concatenate([c.t_s for c in head] or [np.zeros(0)])[:WINDOW_SAMPLES]
    acc_window = np.concatenate([c.acc for c in head] or [np.zeros((0, 3))])[:WINDOW_SAMPLES]
    if ended:  # the whole recording is in the window: analyse it whole, clock repairs included
        from analysis.pipeline import analyze

        gyro = [c.gyro_dps for c in head]
        return analyze(
            np.concatenate([c.t_s for c in head] or [np.zeros(0)]),
            np.concatenate([c.acc for c in head] or [np.zeros((0, 3))]),
            None if not gyro or any(g is None for g in gyro) else np.concatenate(gyro),
            acc_units=acc_units, rules=rules, calibrate_s=calibrate_s, axes=axes, fs_hz=fs_hz,
            stored_reference=stored_reference, wear_prior=wear_prior,
        )
    units = acc_units or detect_acc_units(acc_window)
    checker = _ChunkChecker()  # a long recording: checked chunk by chunk
    head_g = [to_g(chunk.acc, units) for chunk in head]  # converted once, used twice
    for chunk, acc_g in zip(head, head_g, strict=True):
        checker.check(chunk, acc_g)
    if acc_units is not None:
        detect_check = median_magnitude(to_g(acc_window, units))
        if not 0.5 <= detect_check <= 2.0:
            raise InputError(
                f"with --units {acc_units} the median acceleration is {detect_check:.3g} g, "
                "not ~1 g: the units are probably wrong"
            )
    rate = fs_hz or estimate_sample_rate_hz(t_window)
    del t_window, acc_window
    analyzer = SessionAnalyzer(
        rate, rules=rules, calibrate_s=calibrate_s, axes=axes, acc_units=units,
        stored_reference=stored_reference, wear_prior=wear_prior,
    )
    n_total = 0
    first_t = last_t = None
    for i, chunk in enumerate(_chain(head, stream)):
        if i >= len(head):
            acc_g = to_g(chunk.acc, units)
            checker.check(chunk, acc_g)
        else:
            acc_g = head_g[i]
            head[i] = head_g[i] = None  # let a processed chunk go
        if len(chunk):
            first_t = float(chunk.t_s[0]) if first_t is None else first_t
            last_t = float(chunk.t_s[-1])
        n_total += len(chunk)
        analyzer.feed(chunk.t_s, acc_g, chunk.gyro_dps)
    check_duration(n_total, last_t - first_t)
    return analyzer.finish()


def _chain(head: list[SampleChunk], rest: Iterable[SampleChunk]) -> Iterable[SampleChunk]:
    for i in range(len(head)):
        yield head[i]
    yield from rest


class _ChunkChecker:
    """``validate_samples`` chunk by chunk, with the last sample of the previous chunk in front
    (so time going backwards or repeating across a boundary is caught), rows counted over all."""

    def __init__(self) -> None:
        self._last: tuple[float, np.ndarray] | None = None

    def check(self, chunk: SampleChunk, acc_g: np.ndarray) -> None:
        if len(chunk) == 0:
            return
        t, offset = chunk.t_s, chunk.first_row
        try:
            # the previous chunk's last sample passed already: check this chunk alone (no
            # copies with that sample in front), then the step across the boundary
            validate_samples(t, acc_g, chunk.gyro_dps, whole=False)
            if self._last is not None and not t[0] > self._last[0]:
                raise NotStreamable(f"time stamp t={t[0]:.6g} s not after "
                                    f"t={self._last[0]:.6g} s", row=0)
            _check_order(t)
        except InputError as exc:
            raise type(exc)(exc.problem, None if exc.row is None else exc.row + offset) from exc
        self._last = (float(t[-1]), acc_g[-1].copy())


def _check_order(t: np.ndarray) -> None:
    """Time strictly increasing within a chunk of a long stream; else ``NotStreamable``
    (clock repairs, ``repair_sample_times``, need the whole recording)."""
    dt = np.diff(t)
    if (dt <= 0).any():
        row = int(np.argmax(dt <= 0)) + 1
        raise NotStreamable(f"time stamp t={t[row]:.6g} s not after t={t[row - 1]:.6g} s",
                            row=row)
