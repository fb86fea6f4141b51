"""A time-scaled clock for emulated peripherals.

Emulated devices live on *emulated seconds*: a sensor sampling at 200 Hz
produces sample ``i`` at emulated time ``i / 200``. With ``time_scale`` > 1
emulated time runs faster than the event loop's clock, so a two-minute walk
can be streamed through the full BLE stack in a few real seconds while every
timestamp the device reports stays what the real device would report.
"""

from __future__ import annotations

import asyncio


class EmulatedClock:
    """Emulated seconds since :meth:`start`, running ``time_scale`` times faster than real time."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = float(time_scale)
        self._t0_real_s: float | None = None

    @property
    def started(self) -> bool:
        return self._t0_real_s is not None

    def start(self) -> None:
        """Set emulated time zero to now (idempotent)."""
        if self._t0_real_s is None:
            self._t0_real_s = asyncio.get_running_loop().time()

    def now_s(self) -> float:
        """Emulated seconds elapsed since :meth:`start` (0.0 before it)."""
        if self._t0_real_s is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._t0_real_s) * self.time_scale

    def real_s(self, emulated_s: float) -> float:
        """Length in real seconds of a span of ``emulated_s`` emulated seconds."""
        return emulated_s / self.time_scale

    async def sleep_until(self, emulated_t_s: float) -> None:
        """Sleep until the emulated clock reads at least ``emulated_t_s``."""
        self.start()
        # asyncio timers may fire a hair early: sleep again until the time has really come
        while (delay_real_s := self.real_s(emulated_t_s - self.now_s())) > 0:
            await asyncio.sleep(delay_real_s)

    async def sleep(self, emulated_s: float) -> None:
        """Sleep for ``emulated_s`` emulated seconds."""
        await self.sleep_until(self.now_s() + emulated_s)
