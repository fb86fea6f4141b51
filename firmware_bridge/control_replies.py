"""What a sensor says back on its control characteristic, for the recorder.

Most profiles write commands and get nothing back but data. Polar PMD answers
every request with an indication (``F0 op type status …``) and may announce on
its own that it stopped a stream (``01 <types…>``). The recorder needs both:
to wait for the answer to a start request (and stop on a refusal such as
"invalid MTU"), and to restart a stream the device stopped.

:func:`control_replies_for` gives the interpreter for a profile; the byte
parsing itself stays in the profile module (``profiles.polar_pmd``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from firmware_bridge.profiles.base import Command, DecodeError, ProfileSpec
from firmware_bridge.profiles.polar_pmd import (
    PMD_CONTROL_UUID,
    PmdResponse,
    PmdStatus,
    PmdStreamStopped,
    measurement_name,
    parse_control_point,
)


@dataclass(frozen=True)
class Reply:
    """The device's answer to one request.

    ``request_key`` identifies the request it answers (see
    :meth:`ControlReplies.reply_key`), ``ok`` whether it succeeded, ``status``
    the device's status code and ``text`` a readable account of it.
    """

    request_key: tuple[int, ...]
    ok: bool
    status: int
    text: str
    mtu_too_small: bool = False


@dataclass(frozen=True)
class DeviceStoppedStream:
    """The device announced it stopped streaming on its own."""

    text: str


ControlEvent = Reply | DeviceStoppedStream


class ControlReplies(Protocol):
    """Interprets control-characteristic traffic of one profile."""

    def reply_key(self, command: Command) -> tuple[int, ...] | None:
        """Key of the reply ``command`` will get, or None when it gets none."""
        ...

    def interpret(self, char_uuid: str, payload: bytes) -> ControlEvent | None:
        """A reply or stop announcement in this notification, else None."""
        ...


class NoReplies:
    """Profiles whose commands are not answered."""

    def reply_key(self, command: Command) -> tuple[int, ...] | None:
        return None

    def interpret(self, char_uuid: str, payload: bytes) -> ControlEvent | None:
        return None


class PmdReplies:
    """Polar PMD: one indication per request on the control point, keyed by (op, type)."""

    def reply_key(self, command: Command) -> tuple[int, ...] | None:
        if command.char_uuid.lower() != PMD_CONTROL_UUID or len(command.payload) < 2:
            return None
        return (command.payload[0], command.payload[1] & 0x3F)

    def interpret(self, char_uuid: str, payload: bytes) -> ControlEvent | None:
        if char_uuid.lower() != PMD_CONTROL_UUID:
            return None
        try:
            message = parse_control_point(payload)
        except DecodeError:
            return None  # the decoder reports malformed control messages
        if isinstance(message, PmdStreamStopped):
            names = ", ".join(measurement_name(t) for t in message.measurement_types)
            return DeviceStoppedStream(f"device stopped the {names} stream")
        if isinstance(message, PmdResponse):
            if message.more:
                return None  # parameters continue in the next indication
            what = f"op {message.op_code} for {measurement_name(message.measurement_type)}"
            return Reply(
                request_key=(message.op_code, message.measurement_type),
                # "already in state": already streaming / already stopped is what we wanted
                ok=message.ok or message.status == PmdStatus.ALREADY_IN_STATE,
                status=message.status,
                text=f"{what}: status {message.status} {message.status_name}",
                mtu_too_small=message.status == PmdStatus.INVALID_MTU,
            )
        return None


def control_replies_for(profile: ProfileSpec) -> ControlReplies:
    """The reply interpreter for ``profile`` (answers are only known for Polar PMD)."""
    if profile.control_char_uuid is not None and profile.control_char_uuid.lower() == (
        PMD_CONTROL_UUID
    ):
        return PmdReplies()
    return NoReplies()
