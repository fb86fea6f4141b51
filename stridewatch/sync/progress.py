"""The progress line of a download: bytes so far, rate and time left."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

#: Seconds between two progress lines (the first and the last are always shown).
PROGRESS_EVERY_S = 0.5


def format_bytes(n: float) -> str:
    return f"{n / 1000:.1f} kB" if n < 1_000_000 else f"{n / 1e6:.2f} MB"


class DownloadProgress:
    """Prints ``label  12.3 kB / 17.2 kB  14.8 kB/s  1 s left`` to ``out``.

    ``clock`` is monotonic seconds (injectable for tests). On a terminal the line is
    rewritten in place; otherwise one line per update.
    """

    def __init__(self, out: TextIO, label: str, total_bytes: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.label = label
        self.total_bytes = total_bytes
        self.clock = clock
        self.start_s = clock()
        self._last_shown_s: float | None = None
        self._done_before = 0
        self.lines = 0

    def restart(self) -> None:
        """A new attempt at the same download (after a drop): times start again."""
        self.start_s = self.clock()
        self._done_before = 0

    def add_finished(self, n_bytes: int) -> None:
        """A part file of ``n_bytes`` is complete; later updates count from after it."""
        self._done_before += n_bytes

    def update(self, part_bytes: int, *, final: bool = False) -> None:
        now = self.clock()
        if not final and self._last_shown_s is not None and now - self._last_shown_s < \
                PROGRESS_EVERY_S:
            return
        self._last_shown_s = now
        done = self._done_before + part_bytes
        elapsed = max(now - self.start_s, 1e-9)
        rate = done / elapsed
        left = (self.total_bytes - done) / rate if rate > 0 else float("inf")
        left_text = "done" if final else (f"{left:.0f} s left" if left != float("inf") else "")
        line = (f"  {self.label}  {format_bytes(done)} / {format_bytes(self.total_bytes)}"
                f"  {format_bytes(rate)}/s  {left_text}")
        tty = getattr(self.out, "isatty", lambda: False)()
        end = "\n" if final or not tty else ""
        self.out.write(("\r" if tty else "") + line + end)
        self.out.flush()
        self.lines += 1
