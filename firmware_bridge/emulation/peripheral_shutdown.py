"""How an emulated peripheral goes off the air: one sequence for every emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from bumble.device import Connection, Device


async def shut_down(
    device: Device,
    connection: Connection | None,
    tasks: Iterable[asyncio.Task[None]],
    *,
    advertising: bool = True,
) -> None:
    """Cancel ``tasks`` and wait for them, drop the link, stop advertising, power off.

    Nothing here raises: a peripheral closing after its link or loop is already gone
    must still let the test (or ``--emulate`` run) end. ``advertising=False`` for a
    device that never advertised.
    """
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.disconnect()
    if advertising:
        with contextlib.suppress(Exception):
            await device.stop_advertising()
    with contextlib.suppress(Exception):
        await device.power_off()
