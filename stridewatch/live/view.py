"""The live view: decoded sensor blocks in, a status line and guideline alerts out.

`record` and `replay` both drive this same class; only where the blocks come
from differs (the radio, or a trace file). Behind it is the incremental
analysis (``analysis.pipeline.SessionAnalyzer``), whose per-sample stage keeps
only a few chunks of samples, so memory stays flat however long the walk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

import numpy as np

from analysis.lean import LeanReference
from analysis.orientation import WearPrior
from analysis.pipeline import SessionAnalyzer, SessionResult
from analysis.rules import Flag, RuleSet
from firmware_bridge.profiles.base import DecodedBlock
from firmware_bridge.sample_times import ArrivalClock
from stridewatch.live.calibration import GuidedCalibration

# Judged on the whole session, not while walking.
SESSION_ONLY_RULES = ("short-walk",)
# The analysis is fed in blocks of at least this many samples (~10 s at 200 Hz), not per
# notification: its result does not depend on how the samples are split, and the work per
# call (resampling, buffering) dominated at ~36 samples per notification. A status line or
# alert (every ``refresh_s``) and the final result take what is waiting first.
FEED_BATCH_SAMPLES = 2048


class LiveView:
    """Feed blocks with ``on_block``; a status line is printed at most every ``refresh_s``.

    Times: the device clock (relative to its first sample) where the profile has
    one; otherwise the arrival times through ``ArrivalClock``, as ``analyze`` times
    the same trace (a pause starts a new run; the analysis then sees a gap).
    """

    def __init__(
        self,
        fs_hz: float,
        *,
        rules: RuleSet,
        calibrate_s: tuple[float, float] | None = None,
        axes: str | None = None,
        out: TextIO | None = None,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        on_alert: Callable[[Flag, float, np.ndarray], None] | None = None,
        print_alerts: bool = True,
        guide: GuidedCalibration | None = None,
        stored_reference: LeanReference | None = None,
        wear_prior: WearPrior | None = None,
    ) -> None:
        self.fs_hz = float(fs_hz)
        self.analyzer = SessionAnalyzer(self.fs_hz, rules=rules, calibrate_s=calibrate_s,
                                        axes=axes, stored_reference=stored_reference,
                                        wear_prior=wear_prior)
        # guided calibration first (``record``); the status line waits until it is over
        self.guide = guide
        self.out = out
        self.refresh_s = refresh_s
        self.clock = clock
        self._origin: float | None = None
        self._host_origin: float | None = None
        self._arrival_clock: ArrivalClock | None = None
        self._new_connection = False
        self._last_t: float | None = None
        self._last_host: float | None = None
        self._last_refresh = -float("inf")
        self._alerted: set[tuple[str, float]] = set()
        self.samples = 0
        self.alerts: list[str] = []
        #: Called with (flag, time of the latest sample s, its last ~2 s of acc in g) for
        #: each new alert (e.g. to vibrate the sensor, ``stridewatch.live.body_alerts``).
        self.on_alert = on_alert
        self.print_alerts = print_alerts
        self._recent: list[np.ndarray] = []
        self._recent_t = 0.0
        # Samples not yet handed to the analysis (``FEED_BATCH_SAMPLES``); a summary or the
        # final result takes them first.
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_n = 0

    def on_block(self, block: DecodedBlock, host_t_s: float | None = None) -> None:
        """Take one decoded notification (``host_t_s``: arrival, s; defaults to the clock)."""
        n = block.n_samples
        if n == 0:
            return
        host = self.clock() if host_t_s is None else host_t_s
        if block.t_device_s is not None:
            t = self._device_times(block.t_device_s, host)
        else:
            t = self._host_times(host, n)
        self._last_host = host
        self.feed(t, block.acc_g)

    def _device_times(self, t_device_s: np.ndarray, host_s: float) -> np.ndarray:
        """Device-clock times relative to the first sample.

        If the device clock steps back (a reboot, a clock reset), the block is
        moved to follow the previous one by the host time that passed, so the
        analysis never sees time going backwards.
        """
        if self._origin is None:
            self._origin = float(t_device_s[0])
        t = t_device_s - self._origin
        if self._last_t is not None and t[0] <= self._last_t:
            # as decode_trace re-anchors: the block ends when it arrived (no time added)
            waited = host_s - self._last_host if self._last_host is not None else 0.0
            span = float(t[-1] - t[0])
            shift = self._last_t + max(waited - span, 1.0 / self.fs_hz) - float(t[0])
            self._origin -= shift
            t = t + shift
        self._last_t = float(t[-1])
        return t

    def _host_times(self, host_s: float, n: int) -> np.ndarray:
        """Sample times for a device without a clock, from notification arrival times.

        The same ``ArrivalClock`` as ``analyze`` of the trace (one timing policy, see
        ``firmware_bridge.sample_times``), relative to the first sample.
        """
        if self._arrival_clock is None:
            self._arrival_clock = ArrivalClock(self.fs_hz)
        t = self._arrival_clock.times(host_s, n, new_segment=self._new_connection)
        self._new_connection = False
        if self._host_origin is None:
            self._host_origin = float(t[0])
        return t - self._host_origin

    def new_connection(self) -> None:
        """The link was lost or made again: the next notification starts a new run."""
        self._new_connection = True

    def feed(self, t_s: np.ndarray, acc_g: np.ndarray) -> None:
        """Add samples (t in s on the recording's clock, acceleration (n,3) in g)."""
        self._pending.append((np.asarray(t_s, dtype=float), np.asarray(acc_g, dtype=float)))
        self._pending_n += len(t_s)
        if self._pending_n >= FEED_BATCH_SAMPLES:
            self._feed_pending()
        self.samples += len(t_s)
        if self.on_alert is not None and len(t_s):
            self._recent.append(np.asarray(acc_g))
            keep = max(int(2.0 * self.fs_hz), 1)
            while sum(len(a) for a in self._recent) - len(self._recent[0]) >= keep:
                self._recent.pop(0)
            self._recent_t = float(t_s[-1])
        if self.guide is not None and self.guide.active:
            self.guide.feed(t_s, acc_g)
            return
        now = self.clock()
        if now - self._last_refresh >= self.refresh_s:
            self._last_refresh = now
            self.refresh()

    def refresh(self) -> SessionResult | None:
        """Recompute the summary of what has been processed so far and print it."""
        if self.samples == 0:
            return None
        self._feed_pending()
        result = self.analyzer.result()
        if self.out is not None:
            self.out.write(status_line(result) + "\n")
        for flag in result.flags:
            key = (flag.rule, round(flag.start_s, 1))
            if flag.rule in SESSION_ONLY_RULES or key in self._alerted:
                continue
            self._alerted.add(key)
            alert = f"ALERT {flag.rule}: {flag.message}"
            self.alerts.append(alert)
            if self.out is not None and self.print_alerts:
                self.out.write(alert + "\n")
            if self.on_alert is not None:
                recent = np.concatenate(self._recent) if self._recent else np.zeros((0, 3))
                self.on_alert(flag, self._recent_t, recent)
        if self.out is not None:
            self.out.flush()
        return result

    def finish(self) -> SessionResult:
        self._feed_pending()
        return self.analyzer.finish()

    def _feed_pending(self) -> None:
        """Hand the samples gathered since the last batch to the analysis, as one block."""
        if not self._pending:
            return
        if len(self._pending) == 1:
            t_s, acc_g = self._pending[0]
        else:
            t_s = np.concatenate([t for t, _ in self._pending])
            acc_g = np.concatenate([a for _, a in self._pending])
        self._pending.clear()
        self._pending_n = 0
        self.analyzer.feed(t_s, acc_g)


def status_line(result: SessionResult) -> str:
    """One line for the wearer: elapsed time, steps, cadence, trunk lean."""
    elapsed = max(0.0, result.end_s - result.start_s)
    parts = [f"{int(elapsed // 60):3d}:{int(elapsed % 60):02d}", f"steps {len(result.ic_t_s):6d}"]
    cadence = _last_finite(result.series_cadence_spm)
    parts.append(f"cadence {cadence:4.0f} spm" if cadence is not None else "cadence    - spm")
    sagittal = _last_finite(result.series_sagittal_deg)
    frontal = _last_finite(result.series_frontal_deg)
    if sagittal is not None and frontal is not None:
        parts.append(f"lean {sagittal:+4.0f}° fwd {frontal:+4.0f}° right")
        if not result.lean_reference.judged:  # change from the walking, not from upright
            parts.append("(vs your walking: no upright reference)")
    else:
        parts.append("lean    - (not walking)")
    return "  ".join(parts)


def _last_finite(values: np.ndarray, recent: int = 5) -> float | None:
    """The latest value within the last ``recent`` seconds, or None (not walking now)."""
    finite = np.flatnonzero(np.isfinite(values[-recent:]))
    return float(values[-recent:][finite[-1]]) if len(finite) else None
