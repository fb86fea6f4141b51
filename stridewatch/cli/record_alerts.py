"""`record --alert terminal|sensor|both`: where guideline alerts go while recording.

``sensor`` vibrates a MetaWear board (``stridewatch.live.body_alerts`` holds the policy);
a sensor without a motor falls back to the terminal with a note. With ``--emulate`` and
an alert on the sensor, the emulated sensor is a MetaMotion board streaming the same
walk as the emulated H10 (``--emulate-sensor`` picks one explicitly).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

ALERT_TARGETS = ("terminal", "sensor", "both")
EMULATED_STREAMERS = ("h10", "metawear")
EMULATED_METAWEAR_RATE_HZ = 100.0


def add_alert_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alert", choices=ALERT_TARGETS, default="terminal",
                   help="where alerts go: the terminal, a vibration on the sensor (MetaWear "
                        "with a motor), or both")
    p.add_argument("--emulate-sensor", choices=EMULATED_STREAMERS,
                   help="which sensor --emulate emulates (default: h10; metawear when "
                        "--alert includes the sensor)")


def emulated_streamer(args: argparse.Namespace) -> str:
    chosen = getattr(args, "emulate_sensor", None)
    if chosen:
        return str(chosen)
    return "metawear" if getattr(args, "alert", "terminal") in ("sensor", "both") else "h10"


@contextlib.asynccontextmanager
async def emulated_metawear_radio(speed: float, acc_g: Any, rate_hz: float
                                  ) -> AsyncIterator[tuple[object, object, object]]:
    """(scanner backend, client backend, emulated board) streaming ``acc_g``."""
    from firmware_bridge.emulation.emulated_offline import emulated_metawear

    async with emulated_metawear(time_scale=speed, walk_s=(), stream_source=acc_g,
                                 stream_source_rate_hz=rate_hz) as board:
        yield board.scanner_backend, board.client_backend, board


def body_alerts(args: argparse.Namespace, profile_name: str, control: Any) -> Any:
    """The BodyAlerts for this recording, or None when alerts stay on the terminal."""
    if getattr(args, "alert", "terminal") == "terminal":
        return None
    from stridewatch.live.body_alerts import BodyAlerts

    has_motor = profile_name == "metawear"
    return BodyAlerts(send=control.send if has_motor else None, out=sys.stdout)
