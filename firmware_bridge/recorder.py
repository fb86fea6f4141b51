"""Record a sensor's raw BLE traffic to a trace file, riding out link loss.

:func:`record` connects with bleak-retry-connector, enables the profile's
subscriptions (control-point indications first, data before the start
command), sends the start commands and appends every notification and every
write to a :class:`firmware_bridge.trace.TraceWriter`, byte for byte. Each
notification also goes through the profile's decoder; decoded blocks are
handed to ``on_block`` for a live view.

When the link drops it writes a disconnect event, reconnects with bounded
exponential backoff, writes a connect event, subscribes again and restarts the
stream. When the device stops the stream on its own, the stream is restarted.
At the end (duration reached, ``stop`` set, or the task cancelled, e.g. by
Ctrl-C) it always sends the profile's stop commands while still connected,
then disconnects and closes the trace.

Nothing here knows a transport other than bleak: pass ``backend=`` to run
over something else (e.g. ``EmulatedRadio.client_backend``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from firmware_bridge.control_replies import (
    DeviceStoppedStream,
    Reply,
    control_replies_for,
)
from firmware_bridge.profiles.base import (
    Command,
    DecodedBlock,
    DecodeError,
    ProfileSpec,
    StreamConfig,
)
from firmware_bridge.trace import TraceWriter

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

BlockCallback = Callable[[DecodedBlock], None]


class RecordingError(Exception):
    """The recording could not continue; the trace written so far is closed and valid."""


class StreamRefusedError(RecordingError):
    """The device answered a start request with an error status."""

    def __init__(self, message: str, reply: Reply | None = None) -> None:
        super().__init__(message)
        self.reply = reply


class MtuTooSmallError(StreamRefusedError):
    """The device refused to stream because the negotiated ATT MTU is too small."""


class LinkLostError(RecordingError):
    """The link was lost and could not be re-established within the reconnect policy."""


@dataclass(frozen=True)
class ReconnectPolicy:
    """How hard to try after the link is lost. Times in seconds.

    The n-th reconnect attempt waits ``first_delay_s * backoff_factor**n`` (at most
    ``max_delay_s``); after ``give_up_after_s`` without a working stream the
    recording ends with :class:`LinkLostError`. Each connection (first or not) is
    bleak-retry-connector's ``establish_connection`` with ``connect_attempts``
    attempts, bounded by ``connect_timeout_s``; ``reply_timeout_s`` bounds the wait
    for a control-point answer.
    """

    first_delay_s: float = 0.25
    backoff_factor: float = 2.0
    max_delay_s: float = 8.0
    give_up_after_s: float = 300.0
    connect_attempts: int = 2
    connect_timeout_s: float = 30.0
    reply_timeout_s: float = 5.0

    def delays_s(self) -> Iterator[float]:
        delay = self.first_delay_s
        while True:
            yield min(delay, self.max_delay_s)
            delay *= self.backoff_factor


@dataclass
class RecordSummary:
    """What happened during one call of :func:`record`.

    notifications: notifications written to the trace; samples: decoded samples;
    connects / link_losses: links established / lost unexpectedly;
    device_stops: streams the device stopped on its own (and we restarted);
    decode_errors / warnings: messages from the profile decoder (``packet <n>: …``);
    ended_by: "duration", "stop requested" or "cancelled".
    """

    trace_path: Path
    device_address: str
    notifications: int = 0
    samples: int = 0
    connects: int = 0
    link_losses: int = 0
    device_stops: int = 0
    decode_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    callback_errors: int = 0
    ended_by: str = ""


class _LinkDown(Exception):
    """Internal: the link went down during an operation."""


async def record(
    device: BLEDevice,
    profile: ProfileSpec,
    config: StreamConfig,
    trace_path: str | Path,
    duration_s: float | None = None,
    on_block: BlockCallback | None = None,
    *,
    stop: asyncio.Event | None = None,
    backend: type[BaseBleakClient] | None = None,
    reconnect: ReconnectPolicy | None = None,
    control: RecorderControl | None = None,
    on_trace: Callable[[TraceWriter], None] | None = None,
) -> RecordSummary:
    """Stream ``device`` with ``profile`` into a trace at ``trace_path``.

    Ends after ``duration_s`` seconds (None: no limit) or when ``stop`` is set, and
    returns a :class:`RecordSummary`; on cancellation it cleans up the same way and
    re-raises. ``on_block`` gets every decoded block (called from the event loop;
    exceptions in it are logged and counted, never fatal). ``backend`` is passed to
    ``BleakClient``. Raises :class:`StreamRefusedError` (:class:`MtuTooSmallError`)
    when the device refuses to start, :class:`LinkLostError` when reconnecting fails,
    and :class:`RecordingError` when the first connection cannot be made.
    ``on_trace`` gets the trace writer once it is open (e.g. to add ``mark`` events).
    """
    session = _Recording(
        device=device,
        profile=profile,
        config=config,
        trace_path=Path(trace_path),
        duration_s=duration_s,
        on_block=on_block,
        stop=stop,
        backend=backend,
        policy=reconnect or ReconnectPolicy(),
        on_trace=on_trace,
    )
    if control is not None:
        control._session = session
    try:
        return await session.run()
    finally:
        if control is not None:
            control._session = None


class RecorderControl:
    """Lets the caller write to the device while ``record`` runs (e.g. a haptic alert).

    Pass it as ``record(..., control=...)``; :meth:`send` writes one command through the
    recording's link (traced like every other write) and returns False when the link is
    down or the write fails, instead of disturbing the recording.
    """

    def __init__(self) -> None:
        self._session: _Recording | None = None

    async def send(self, command: Command) -> bool:
        session = self._session
        if session is None or session.client is None or not session._link_up:
            return False
        try:
            await session._send(command)
        except RecordingError:
            return False
        return True


class _Recording:
    def __init__(
        self,
        *,
        device: BLEDevice,
        profile: ProfileSpec,
        config: StreamConfig,
        trace_path: Path,
        duration_s: float | None,
        on_block: BlockCallback | None,
        stop: asyncio.Event | None,
        backend: type[BaseBleakClient] | None,
        policy: ReconnectPolicy,
        on_trace: Callable[[TraceWriter], None] | None = None,
    ) -> None:
        self.device = device
        self.profile = profile
        self.device_name = device.name
        self.config = profile.check_config(config, self.device_name)
        self.trace_path = trace_path
        self.duration_s = duration_s
        self.on_block = on_block
        self.external_stop = stop
        self.backend = backend
        self.policy = policy
        self.on_trace = on_trace

        self.summary = RecordSummary(trace_path=trace_path, device_address=device.address)
        self.decoder = profile.new_decoder(self.config)
        self.replies = control_replies_for(profile)
        self.trace: TraceWriter | None = None
        self.client: BleakClient | None = None
        self._generation = 0
        self._link_up = False
        self._packet_index = 0
        self._reply_waiters: dict[tuple[int, ...], asyncio.Future[Reply]] = {}
        self._wakeup = asyncio.Event()
        self._link_lost = False
        self._device_stopped = False
        self._stopping = False
        self._closing_link = False
        self._deadline: float | None = None

    # -- top level ---------------------------------------------------------------

    async def run(self) -> RecordSummary:
        loop = asyncio.get_running_loop()
        if self.duration_s is not None:
            self._deadline = loop.time() + self.duration_s
        self.trace = TraceWriter(
            self.trace_path,
            self.profile.name,
            device_name=self.device_name,
            device_address=self.device.address,
            config=self.config.to_dict(),
            clock=loop.time,  # the loop's monotonic clock, the one the recorder times with
        )
        if self.on_trace is not None:
            self.on_trace(self.trace)
        watcher = loop.create_task(self._watch_external_stop()) if self.external_stop else None
        try:
            await self._main_loop()
        except asyncio.CancelledError:
            self.summary.ended_by = "cancelled"
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
            await self._shutdown()
        return self.summary

    async def _main_loop(self) -> None:
        try:
            await asyncio.wait_for(self._connect(), self.policy.connect_timeout_s)
        except _LinkDown:
            pass  # lost at once: recovered below like any other loss
        except (BleakError, TimeoutError) as error:
            raise RecordingError(
                f"could not connect to {self._who()}: {error or 'timed out'}"
            ) from error
        if self._link_up:
            try:
                await self._subscribe()
                await self._send_start()
            except _LinkDown:
                pass
        while True:
            reason = await self._wait_for_event()
            if reason is not None:
                self.summary.ended_by = reason
                return
            if self._link_lost:
                await self._recover_link()
            elif self._device_stopped:
                self._device_stopped = False
                self.summary.device_stops += 1
                self._trace().record_mark("device stopped the stream; restarting it")
                try:
                    await self._send_start()  # subscriptions still stand
                except _LinkDown:
                    pass

    async def _wait_for_event(self) -> str | None:
        """Wait for link loss, a device stop, a stop request or the deadline.

        Returns why the recording should end, or None to handle a link/device event.
        """
        loop = asyncio.get_running_loop()
        while True:
            if self._stopping:
                return "stop requested"
            if self._deadline is not None and loop.time() >= self._deadline:
                return "duration"
            if self._link_lost or self._device_stopped:
                return None
            self._wakeup.clear()
            timeout = None if self._deadline is None else self._deadline - loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def _watch_external_stop(self) -> None:
        assert self.external_stop is not None
        await self.external_stop.wait()
        self._stopping = True
        self._wakeup.set()

    def _trace(self) -> TraceWriter:
        assert self.trace is not None
        return self.trace

    # -- link --------------------------------------------------------------------

    async def _connect(self) -> None:
        self._generation += 1
        generation = self._generation
        kwargs: dict[str, Any] = {} if self.backend is None else {"backend": self.backend}
        client = await establish_connection(
            BleakClient,
            self.device,
            self.device_name or self.device.address,
            disconnected_callback=lambda _client: self._on_disconnected(generation),
            max_attempts=self.policy.connect_attempts,
            **kwargs,
        )
        self.client = client
        self._link_up = True
        self._link_lost = False
        self.summary.connects += 1
        self._trace().record_connect()
        self.decoder.reset()  # as replay does (decode_trace) at every connect event
        logger.info("connected to %s", self._who())
        if not client.is_connected:  # lost while we were being told about it
            self._on_disconnected(generation)
            raise _LinkDown

    def _on_disconnected(self, generation: int) -> None:
        if generation != self._generation or not self._link_up:
            return  # a stale client, or already handled
        self._link_up = False
        for waiter in self._reply_waiters.values():
            if not waiter.done():
                waiter.set_exception(_LinkDown())
        self._reply_waiters.clear()
        if self._stopping:
            # some backends (BlueZ) report our own disconnect here too
            closing = "closed by host" if self._closing_link else "link lost while stopping"
            self._trace().record_disconnect(closing)
            return
        self._link_lost = True
        self.summary.link_losses += 1
        self._trace().record_disconnect("link lost")
        self.decoder.reset()
        logger.warning("link to %s lost", self._who())
        self._wakeup.set()

    async def _recover_link(self) -> None:
        """Reconnect, subscribe and restart the stream, with bounded exponential backoff."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.policy.give_up_after_s
        delays = self.policy.delays_s()
        while True:
            if self._stopping or (self._deadline is not None and loop.time() >= self._deadline):
                return
            remaining_s = give_up_at - loop.time()
            if remaining_s <= 0:
                raise LinkLostError(
                    f"link to {self._who()} lost and not re-established within "
                    f"{self.policy.give_up_after_s:g} s"
                )
            await self._pause(min(next(delays), remaining_s))
            if self._stopping:
                return
            attempt_s = min(self.policy.connect_timeout_s, max(give_up_at - loop.time(), 0.0))
            try:
                await self._until_stopped(asyncio.wait_for(self._connect(), attempt_s))
                await self._subscribe()
                await self._send_start()
                return
            except _StopRequested:
                return
            except _LinkDown:
                continue
            except (BleakError, TimeoutError) as error:
                logger.info("reconnect attempt failed: %s", error or "timed out")

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up early when asked to stop."""
        self._wakeup.clear()
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    async def _until_stopped(self, operation: Awaitable[_T]) -> _T:
        """Run ``operation`` but abandon it if a stop is requested meanwhile."""
        task = asyncio.ensure_future(operation)
        while not task.done():
            self._wakeup.clear()
            if self._stopping:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                raise _StopRequested
            waiter = asyncio.ensure_future(self._wakeup.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        return task.result()

    # -- stream ------------------------------------------------------------------

    async def _subscribe(self) -> None:
        """Subscribe in the profile's order: control point first, data before any start."""
        client = self._connected_client()
        for char_uuid in self.profile.subscribe_char_uuids:
            try:
                await client.start_notify(char_uuid, self._on_notification)
            except BleakError as error:
                self._raise_if_link_down()
                raise RecordingError(f"cannot subscribe to {char_uuid}: {error}") from error

    async def _send_start(self) -> None:
        """Send the start commands; a refusal ends the recording with a clear error."""
        for command in self.profile.start_commands(self.config, self.device_name):
            reply = await self._send(command)
            if reply is not None and not reply.ok:
                self._refuse(command, reply)
        self._device_stopped = False

    def _refuse(self, command: Command, reply: Reply) -> None:
        refusal = f"{self._who()} refused to {command.what or command.payload.hex()}: {reply.text}"
        if reply.mtu_too_small:
            mtu = self._reported_mtu()
            # bleak backends that cannot tell (BlueZ without AcquireMTU) report the default 23
            known = mtu is not None and mtu > 23
            host = f"this host negotiated {mtu} bytes" if known else "the host does not report it"
            need = (
                f", the device needs at least {self.profile.min_mtu}"
                if self.profile.min_mtu
                else ""
            )
            raise MtuTooSmallError(
                f"{refusal}. The ATT MTU is too small ({host}{need}); record from a host "
                "whose Bluetooth stack negotiates a larger MTU.",
                reply,
            )
        raise StreamRefusedError(refusal, reply)

    def _who(self) -> str:
        return self.device_name or self.device.address

    def _reported_mtu(self) -> int | None:
        if self.client is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BlueZ warns that it does not know the MTU
            try:
                return int(self.client.mtu_size)
            except Exception:  # noqa: BLE001 - only used to explain an error
                return None

    async def _send(self, command: Command) -> Reply | None:
        """Write one command (traced first) and wait for its reply if it gets one."""
        client = self._connected_client()
        loop = asyncio.get_running_loop()
        key = self.replies.reply_key(command)
        waiter: asyncio.Future[Reply] | None = None
        if key is not None:
            waiter = loop.create_future()
            self._reply_waiters[key] = waiter
        self._trace().record_write(command.char_uuid, command.payload)
        self.decoder.note_write(command.char_uuid, command.payload)
        try:
            await client.write_gatt_char(
                command.char_uuid, command.payload, response=command.response
            )
        except BleakError as error:
            if key is not None:
                self._reply_waiters.pop(key, None)
            self._raise_if_link_down()
            raise RecordingError(f"write {command.payload.hex()} failed: {error}") from error
        reply = None
        if waiter is not None:
            try:
                reply = await asyncio.wait_for(waiter, self.policy.reply_timeout_s)
            except TimeoutError:
                self._reply_waiters.pop(key, None)  # type: ignore[arg-type]
                self._raise_if_link_down()
                raise RecordingError(
                    f"no answer to {command.what or command.payload.hex()} within "
                    f"{self.policy.reply_timeout_s:g} s"
                ) from None
        if command.pause_after_s:
            await asyncio.sleep(command.pause_after_s)
        return reply

    def _connected_client(self) -> BleakClient:
        if self.client is None or not self._link_up:
            raise _LinkDown
        return self.client

    def _raise_if_link_down(self) -> None:
        if not self._link_up or self.client is None or not self.client.is_connected:
            raise _LinkDown

    def _on_notification(self, characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        if self.trace is None or self.trace.closed:
            return  # a straggler after the end of the recording
        payload = bytes(data)
        char_uuid = characteristic.uuid
        packet_index = self._packet_index
        self._packet_index += 1
        self._trace().record_notify(char_uuid, payload)
        self.summary.notifications += 1

        event = self.replies.interpret(char_uuid, payload)
        if isinstance(event, Reply):
            waiter = self._reply_waiters.pop(event.request_key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(event)
        elif isinstance(event, DeviceStoppedStream):
            logger.warning("%s", event.text)
            if not self._stopping:
                self._device_stopped = True
                self._wakeup.set()

        block: DecodedBlock | None = None
        try:
            block = self.decoder.feed(char_uuid, payload, packet_index)
        except DecodeError as error:
            self.summary.decode_errors.append(str(error))
            logger.warning("undecodable notification (kept raw in the trace): %s", error)
        if self.decoder.warnings:
            self.summary.warnings.extend(self.decoder.warnings)
            self.decoder.warnings.clear()
        if block is None:
            return
        self.summary.samples += block.n_samples
        if self.on_block is not None:
            try:
                self.on_block(block)
            except Exception:
                self.summary.callback_errors += 1
                logger.exception("on_block callback failed (recording continues)")

    # -- end -----------------------------------------------------------------------

    async def _shutdown(self) -> None:
        """Send the stop commands if connected, disconnect, close the trace."""
        self._stopping = True
        try:
            if self.client is not None and self._link_up and self.client.is_connected:
                for command in self.profile.stop_commands(self.config, self.device_name):
                    try:
                        reply = await asyncio.wait_for(
                            self._send(command), self.policy.reply_timeout_s + 1.0
                        )
                    except (_LinkDown, RecordingError, BleakError, TimeoutError) as error:
                        logger.warning("stop command not confirmed: %r", error)
                        continue
                    if reply is not None and not reply.ok:
                        logger.warning("device answered the stop command with %s", reply.text)
                self._closing_link = True
                with contextlib.suppress(BleakError, TimeoutError):
                    await asyncio.wait_for(self.client.disconnect(), 10.0)
                if self._link_up:
                    self._link_up = False
                    self._trace().record_disconnect("closed by host")
        finally:
            if self.trace is not None:
                self.trace.close()


class _StopRequested(Exception):
    """Internal: a stop was requested while an operation was pending."""
