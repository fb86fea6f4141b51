"""On-body alerts: a MetaWear vibrates when a walking guideline is broken.

Policy (one place): each rule has its own short pulse pattern (so the wearer can tell
them apart); a rule vibrates at most once per ``MIN_INTERVAL_S`` of recording time; no
vibration while the wearer stands still (the last ~2 s of acceleration barely move:
magnitude standard deviation under ``STILL_STD_G``). Sensors without a motor fall back
to the terminal alert, with one note saying so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from analysis.rules import Flag
from firmware_bridge.profiles.base import Command
from firmware_bridge.profiles.metawear_haptic import motor_command

MIN_INTERVAL_S = 60.0
STILL_STD_G = 0.02
#: rule -> pulses (duty %, ms), sent one after another with a short pause.
PATTERNS: dict[str, tuple[tuple[float, int], ...]] = {
    "forward-lean": ((100.0, 400),),
    "back-arch": ((100.0, 150), (100.0, 150)),
    "slow-pace": ((60.0, 800),),
    "uneven-steps": ((100.0, 150), (100.0, 150), (100.0, 150)),
}
DEFAULT_PATTERN: tuple[tuple[float, int], ...] = ((80.0, 250),)
PAUSE_BETWEEN_PULSES_S = 0.2
NO_MOTOR_NOTE = ("note: this sensor has no vibration motor; alerts are shown in the terminal "
                 "only")


def is_still(recent_acc_g: np.ndarray) -> bool:
    """True when the acceleration magnitude of the recent samples barely changes."""
    if len(recent_acc_g) < 10:
        return True
    return float(np.std(np.linalg.norm(recent_acc_g, axis=1))) < STILL_STD_G


@dataclass
class BodyAlerts:
    """Decides and sends haptic alerts. ``send`` writes one command to the sensor (returns
    False when it could not); None means the sensor has no motor (terminal only)."""

    send: Callable[[Command], Awaitable[bool]] | None
    out: TextIO | None = None
    min_interval_s: float = MIN_INTERVAL_S
    last_sent_s: dict[str, float] = field(default_factory=dict)
    sent: list[tuple[str, float]] = field(default_factory=list)
    skipped: list[tuple[str, float, str]] = field(default_factory=list)
    _noted: bool = False
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def on_alert(self, flag: Flag, now_s: float, recent_acc_g: np.ndarray) -> None:
        """LiveView hook: a new alert for ``flag`` at recording time ``now_s``."""
        if self.send is None:
            if not self._noted and self.out is not None:
                self.out.write(NO_MOTOR_NOTE + "\n")
            self._noted = True
            return
        reason = self.refusal(flag.rule, now_s, recent_acc_g)
        if reason is not None:
            self.skipped.append((flag.rule, now_s, reason))
            return
        self.last_sent_s[flag.rule] = now_s
        self.sent.append((flag.rule, now_s))
        task = asyncio.get_running_loop().create_task(self._vibrate(flag.rule))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def refusal(self, rule: str, now_s: float, recent_acc_g: np.ndarray) -> str | None:
        """Why no vibration now (rate limit, standing still), or None to vibrate."""
        last = self.last_sent_s.get(rule)
        if last is not None and now_s - last < self.min_interval_s:
            return "rate limit"
        if is_still(recent_acc_g):
            return "standing still"
        return None

    async def _vibrate(self, rule: str) -> None:
        assert self.send is not None
        for k, (duty, ms) in enumerate(PATTERNS.get(rule, DEFAULT_PATTERN)):
            if k:
                await asyncio.sleep(ms / 1000 + PAUSE_BETWEEN_PULSES_S)
            if not await self.send(motor_command(duty, ms)) and self.out is not None:
                self.out.write(f"note: the {rule} vibration could not be sent (link down)\n")
                return
