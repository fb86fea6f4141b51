"""The MetaWear logger over a connected ``bleak.BleakClient``: start/stop, time, readout, clear.

Commands go to the command characteristic (9001) without response, as MbientLab's SDK
writes them; answers and log entries arrive on the notify characteristic (9006).
``tap`` sees every notification of a readout, so a caller can keep the raw download.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from bleak import BleakClient
from bleak.exc import BleakError

from firmware_bridge.offline import metawear_log as mw
from firmware_bridge.offline.psftp_client import LinkLost
from firmware_bridge.profiles.base import StreamConfig
from firmware_bridge.profiles.metawear import (
    METAWEAR,
    METAWEAR_COMMAND_UUID,
    METAWEAR_NOTIFY_UUID,
)

ANSWER_TIMEOUT_S = 5.0
#: Ask for a progress notification about this often during a readout (fraction of entries).
PROGRESS_STEPS = 20


@dataclass(frozen=True)
class Readout:
    """What a readout delivered: entries in order and the notifications that carried them."""

    entries: list[mw.LogEntry]
    notifications: list[tuple[float, bytes]]  # (host monotonic s, payload)
    pages_confirmed: int


class MetaWearLogClient:
    """Logger commands on a connected MetaWear board. Call :meth:`open` first."""

    def __init__(self, client: BleakClient, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock
        self.wall_clock = wall_clock
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def open(self) -> None:
        await self.client.start_notify(METAWEAR_NOTIFY_UUID, self._on_notify)

    def _on_notify(self, _char: object, data: bytearray) -> None:
        self._queue.put_nowait(bytes(data))

    async def write(self, command: bytes) -> None:
        try:
            await self.client.write_gatt_char(METAWEAR_COMMAND_UUID, command, response=False)
        except BleakError as error:
            raise LinkLost(str(error)) from error

    async def _answer(self, header: bytes, timeout_s: float = ANSWER_TIMEOUT_S) -> bytes:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no MetaWear answer {header.hex()} within {timeout_s:g} s")
            try:
                payload = await asyncio.wait_for(self._queue.get(), min(left, 0.25))
            except TimeoutError:
                if not self.client.is_connected:
                    raise LinkLost("the link went down") from None
                continue
            if payload[: len(header)] == header:
                return payload

    async def read_time(self) -> tuple[int, int, float]:
        """(tick, reset uid, host Unix s when the answer arrived)."""
        await self.write(mw.read_command(mw.REG_TIME))
        answer = await self._answer(bytes([mw.MODULE_LOGGING, mw.READ_BIT | mw.REG_TIME]))
        tick, uid = mw.parse_time(answer)
        return tick, uid, self.wall_clock()

    async def read_length(self) -> int:
        """Entries in the log now."""
        await self.write(mw.read_command(mw.REG_LENGTH))
        return mw.parse_length(await self._answer(bytes([mw.MODULE_LOGGING,
                                                         mw.READ_BIT | mw.REG_LENGTH])))

    async def start_acc_logging(self, rate_hz: float, range_g: float,
                                loggers: tuple[int, int] | None = None) -> tuple[int, int]:
        """Create the x,y and z loggers (unless ``loggers`` names existing ones), start
        logging and the accelerometer; the loggers' ids. TimeoutError when the board does
        not answer a trigger (no free logger)."""
        ids = list(loggers) if loggers is not None else []
        for trigger in () if loggers is not None else (mw.ACC_XY_TRIGGER, mw.ACC_Z_TRIGGER):
            await self.write(trigger)
            answer = await self._answer(bytes([mw.MODULE_LOGGING, mw.REG_TRIGGER]))
            ids.append(answer[2])
        config = StreamConfig(sample_rate_hz=rate_hz, range_g=range_g)
        stream = [c.payload for c in METAWEAR.start_commands(config)]
        configure, _subscribe, enable, power = stream
        await self.write(configure)
        await self.write(enable)
        for command in mw.start_logging_commands(overwrite=False):
            await self.write(command)
        await self.write(power)
        return ids[0], ids[1]

    async def stop_acc_logging(self) -> None:
        await self.write(mw.stop_logging_command())
        for command in METAWEAR.stop_commands(StreamConfig(sample_rate_hz=50.0)):
            if command.payload[1] != 0x04:  # nothing was subscribed for streaming
                await self.write(command.payload)

    async def read_out(self, progress: Callable[[int, int], None] | None = None) -> Readout:
        """Download every entry: length, readout, page confirmations, progress (left, total)."""
        for command in mw.download_setup_commands():
            await self.write(command)
        await self.write(mw.read_command(mw.REG_LENGTH))
        total = mw.parse_length(await self._answer(bytes([mw.MODULE_LOGGING,
                                                         mw.READ_BIT | mw.REG_LENGTH])))
        entries: list[mw.LogEntry] = []
        notifications: list[tuple[float, bytes]] = []
        pages = 0
        if total == 0:
            return Readout(entries, notifications, pages)
        await self.write(mw.readout_command(total, max(total // PROGRESS_STEPS, 1)))
        while True:
            payload = await self._answer(bytes([mw.MODULE_LOGGING]), timeout_s=10.0)
            register = payload[1] if len(payload) > 1 else -1
            if register == mw.REG_READOUT_NOTIFY:
                notifications.append((self.clock(), payload))
                entries.extend(mw.parse_entries(payload))
                if progress is not None:
                    progress(total - len(entries), total)
            elif register == mw.REG_PAGE_COMPLETED:
                pages += 1
                await self.write(mw.page_confirm_command())
            elif register == mw.REG_READOUT_PROGRESS:
                left = mw.parse_progress(payload)
                if left == 0 and len(entries) >= total:
                    return Readout(entries, notifications, pages)

    async def clear(self) -> int:
        """Clear the entries read out; returns the entries the board still holds after it."""
        try:
            await self.client.write_gatt_char(METAWEAR_COMMAND_UUID, mw.clear_entries_command(),
                                              response=True)
        except BleakError as error:
            raise LinkLost(str(error)) from error
        await self.write(mw.read_command(mw.REG_LENGTH))
        return mw.parse_length(await self._answer(bytes([mw.MODULE_LOGGING,
                                                         mw.READ_BIT | mw.REG_LENGTH])))
