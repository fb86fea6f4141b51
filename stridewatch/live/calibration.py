"""Guided calibration at the start of `record`: "Stand tall and still for 5 s".

The wearer is asked to stand still; a countdown runs on the samples' own clock
(so an emulated strap at 20x speed counts down 20x faster, and nothing here
waits on the wall clock). Every whole second of samples is checked with the
same stillness test the analysis uses to find standing
(``analysis.lean.quiet_seconds``); a second that is not still restarts the
countdown with a retry message. The trace gets a ``mark`` event when a
countdown starts, when the wearer moved, and when the segment is complete, so
the segment can be found in the trace. The analysis then finds that standing
segment itself (reference ``standing``), live and afterwards alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

import numpy as np

from analysis.lean import quiet_seconds

STILL_S = 5
MAX_TRY_S = 60.0

ASK = f"Stand tall and still for {STILL_S} s"
RETRY = f"You moved — let's try again. Stand tall and still for {STILL_S} s"
DONE = "Thank you: upright reference taken. Start walking when you like."
GAVE_UP = (f"Calibration skipped: you did not stand still for {STILL_S} s within "
           f"{MAX_TRY_S:g} s. Posture will only be judged if you stand still for {STILL_S} s "
           "before or after walking.")

MARK_START = "calibration: stand still"
MARK_MOVED = "calibration: wearer moved, retry"
MARK_DONE = "calibration: standing segment done"
MARK_GAVE_UP = "calibration: skipped"


class GuidedCalibration:
    """Feed samples (t in s on the recording's clock, acceleration (n,3) in g) in order.

    ``out`` gets the instructions and countdown; ``mark`` (e.g. the trace
    writer's ``record_mark``) gets a label at each step. ``state`` is
    "waiting", "counting", "done" or "skipped"; ``segment_s`` the still segment;
    ``attempts`` how many countdowns were started (the first and each retry).
    """

    def __init__(self, out: TextIO | None = None,
                 mark: Callable[[str], None] | None = None) -> None:
        self.out = out
        self.mark = mark
        self.state = "waiting"
        self.attempts = 0
        self.messages: list[str] = []
        self.segment_s: tuple[float, float] | None = None
        self._first_t = 0.0
        self._cursor = 0.0  # start of the next second to check
        self._still_from: float | None = None
        self._t = np.zeros(0)
        self._acc = np.zeros((0, 3))

    @property
    def active(self) -> bool:
        return self.state in ("waiting", "counting")

    def feed(self, t_s: np.ndarray, acc_g: np.ndarray) -> None:
        if not self.active or len(t_s) == 0:
            return
        if self.state == "waiting":
            self.state = "counting"
            self._first_t = self._cursor = float(t_s[0])
            self._still_from = self._cursor
            self._start(f"{ASK}: {STILL_S}…")
        self._t = np.r_[self._t, np.asarray(t_s, dtype=float)]
        self._acc = np.vstack([self._acc, np.asarray(acc_g, dtype=float)])
        while self.active and self._t[-1] >= self._cursor + 1.0:
            lo, hi = self._cursor, self._cursor + 1.0
            sel = (self._t >= lo) & (self._t < hi)
            block = self._acc[sel]
            still = len(block) >= 2 and bool(
                quiet_seconds(block.mean(axis=0), block.std(axis=0))[0])
            self._cursor = hi
            keep = self._t >= hi
            self._t, self._acc = self._t[keep], self._acc[keep]
            if still and self._still_from is None:
                self._still_from = lo
            if still:
                left = STILL_S - int(round(hi - self._still_from))
                if left > 0:
                    self._say(f"  {left}…")
                    continue
                self.segment_s = (self._still_from, hi)
                self.state = "done"
                self._note(MARK_DONE)
                self._say(DONE)
            else:
                if self._still_from is not None:  # once per movement, not every second
                    self._note(MARK_MOVED)
                    self._start(f"{RETRY}: {STILL_S}…")
                self._still_from = None
                if hi - self._first_t >= MAX_TRY_S:
                    self.state = "skipped"
                    self._note(MARK_GAVE_UP)
                    self._say(GAVE_UP)

    def _start(self, message: str) -> None:
        self.attempts += 1
        self._note(MARK_START)
        self._say(message)

    def _say(self, text: str) -> None:
        self.messages.append(text)
        if self.out is not None:
            self.out.write(text + "\n")
            self.out.flush()

    def _note(self, label: str) -> None:
        if self.mark is not None:
            self.mark(label)
