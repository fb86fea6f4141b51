"""PSFTP requests over a connected ``bleak.BleakClient`` (list, read, remove files).

One request at a time: the request's air packets are written to the MTU characteristic
(with response), then the device's notifications on it are joined by
``psftp.ResponseAssembler``. ``tap`` sees every packet written and received, in order,
so a caller can keep the raw transfer (e.g. as a ``.swtrace``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from bleak import BleakClient
from bleak.exc import BleakError, BleakGATTProtocolError

from firmware_bridge.offline import pftp_messages as pftp
from firmware_bridge.offline.psftp import (
    AIR_PACKET_LOST,
    CANCEL_PACKET,
    PSFTP_MTU_UUID,
    PsftpError,
    ResponseAssembler,
    rfc60_request,
    rfc76_packets,
)

#: ATT errors that mean the link is not bonded/encrypted (insufficient authentication,
#: insufficient encryption, insufficient encryption key size).
NOT_BONDED_ATT_ERRORS = frozenset({0x05, 0x0F, 0x0C})
ATT_HEADER_BYTES = 3
PACKET_TIMEOUT_S = 10.0


class LinkLost(Exception):
    """The link went down during a request."""


class NotBonded(Exception):
    """The sensor refused the transfer because the link is not bonded (paired)."""


Tap = Callable[[str, str, bytes], None]  # (direction "write"|"notify", char uuid, payload)
Progress = Callable[[int], None]  # payload bytes received so far


class PsftpClient:
    """PSFTP over ``client`` (already connected). Call :meth:`open` before requests."""

    def __init__(self, client: BleakClient, *, packet_timeout_s: float = PACKET_TIMEOUT_S) -> None:
        self.client = client
        self.packet_timeout_s = packet_timeout_s
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._opened = False

    @property
    def packet_bytes(self) -> int:
        return max(self.client.mtu_size - ATT_HEADER_BYTES, 20)

    async def open(self) -> None:
        try:
            await self.client.start_notify(PSFTP_MTU_UUID, self._on_packet)
        except BleakGATTProtocolError as error:
            raise _refusal(error) from error
        self._opened = True

    def _on_packet(self, _char: object, data: bytearray) -> None:
        self._queue.put_nowait(bytes(data))

    async def request(
        self, header: bytes, *, tap: Tap | None = None, progress: Progress | None = None
    ) -> bytes:
        """Send one RFC60 request and return the whole response (raises PsftpError)."""
        if not self._opened:
            raise RuntimeError("PsftpClient.open() first")
        while not self._queue.empty():  # stale packets of an abandoned request
            self._queue.get_nowait()
        for packet in rfc76_packets(rfc60_request(header), self.packet_bytes):
            try:
                await self.client.write_gatt_char(PSFTP_MTU_UUID, packet, response=True)
            except BleakGATTProtocolError as error:
                raise _refusal(error) from error
            except BleakError as error:
                raise LinkLost(str(error)) from error
            if tap is not None:
                tap("write", PSFTP_MTU_UUID, packet)
        assembler = ResponseAssembler()
        while True:
            packet = await self._next_packet()
            if tap is not None:
                tap("notify", PSFTP_MTU_UUID, packet)
            try:
                message = assembler.feed(packet)
            except PsftpError as error:
                if error.code == AIR_PACKET_LOST:
                    with contextlib.suppress(BleakError):
                        await self.client.write_gatt_char(
                            PSFTP_MTU_UUID, CANCEL_PACKET, response=True
                        )
                raise
            if progress is not None:
                progress(assembler.received_bytes)
            if message is not None:
                return message

    async def _next_packet(self) -> bytes:
        waited = 0.0
        step = 0.25
        while True:
            try:
                return await asyncio.wait_for(self._queue.get(), step)
            except TimeoutError:
                if not self.client.is_connected:
                    raise LinkLost("the link went down during the transfer") from None
                waited += step
                if waited >= self.packet_timeout_s:
                    raise PsftpError(108, "no air packet within "
                                     f"{self.packet_timeout_s:g} s") from None

    async def get(self, path: str, **kwargs: Tap | Progress | None) -> bytes:
        return await self.request(pftp.operation(pftp.Command.GET, path), **kwargs)  # type: ignore[arg-type]

    async def list_directory(self, path: str) -> list[tuple[str, int]]:
        return pftp.parse_directory(await self.get(path))

    async def remove(self, path: str) -> None:
        await self.request(pftp.operation(pftp.Command.REMOVE, path))


def _refusal(error: BleakGATTProtocolError) -> Exception:
    code = getattr(error, "code", None)
    if code is None and error.args and isinstance(error.args[0], int):
        code = error.args[0]
    if code in NOT_BONDED_ATT_ERRORS:
        return NotBonded(f"ATT error 0x{code:02x}")
    return error
