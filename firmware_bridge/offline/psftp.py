"""Polar file transfer (PSFTP) framing: RFC60 requests inside RFC76 air packets.

Facts (polarofficial/polar-ble-sdk, ``psftp/BlePsFtpUtils.kt`` and ``BlePsFtpClient.kt``;
summarised in ``data/offline-recording.md``):

* service ``0000FEEE-…``; the host writes requests to the MTU characteristic
  ``FB005C51-…`` and the device answers with notifications on the same characteristic;
  ``FB005C52`` carries device-to-host notifications and ``FB005C53`` host-to-device ones
  (neither is needed to list, read or remove files).
* a request (RFC60) is a 2-byte little-endian length of the protobuf header whose top bit
  is 0, then the protobuf ``PbPFtpOperation``; a query has the top bit set and carries a
  query id instead.
* every message is cut into air packets (RFC76) of at most the ATT payload size: a 1-byte
  header — bit 0 ``next`` (0 on the first packet of a message, 1 after), bits 1–2 status
  (3 = more packets follow, 1 = last packet, 0 = error/empty response whose 2-byte LE
  payload is a ``PbPFtpError`` code, 0 meaning success), bits 4–7 a sequence number
  counting 0…15 and wrapping — then payload bytes.
* a response to GET is the raw file (or a ``PbPFtpDirectory`` for a folder), with no
  RFC60 length in front. A host that sees a sequence number out of order writes the
  cancel packet ``00 00 00`` and gives up the request.

This module is bytes only (no BLE); ``psftp_client`` drives it over a BleakClient.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.offline.pftp_messages import error_name

PSFTP_SERVICE_UUID = "0000feee-0000-1000-8000-00805f9b34fb"
PSFTP_MTU_UUID = "fb005c51-02e7-f387-1cad-8acd2d8df0c8"
PSFTP_D2H_UUID = "fb005c52-02e7-f387-1cad-8acd2d8df0c8"
PSFTP_H2D_UUID = "fb005c53-02e7-f387-1cad-8acd2d8df0c8"

RFC76_HEADER_BYTES = 1
STATUS_ERROR_OR_RESPONSE = 0
STATUS_LAST = 1
STATUS_MORE = 3
SEQUENCE_MODULO = 16
#: Written to the MTU characteristic to abandon a response whose packets went out of order.
CANCEL_PACKET = bytes(3)
#: Error code the SDK reports for a lost air packet (sequence out of order).
AIR_PACKET_LOST = 303
MAX_RFC60_LENGTH = 0x7FFF


class PsftpError(Exception):
    """A PSFTP request that failed: the device's ``PbPFtpError`` code, or a framing fault."""

    def __init__(self, code: int, what: str = "") -> None:
        self.code = code
        self.name = error_name(code) if code != AIR_PACKET_LOST else "AIR_PACKET_LOST"
        detail = f"{what}: " if what else ""
        super().__init__(f"{detail}PSFTP error {code} ({self.name})")


def rfc60_request(header: bytes, data: bytes = b"") -> bytes:
    """An RFC60 request: 2-byte LE header length (top bit 0), the protobuf header, data."""
    if len(header) > MAX_RFC60_LENGTH:
        raise ValueError(f"RFC60 header of {len(header)} bytes exceeds {MAX_RFC60_LENGTH}")
    return len(header).to_bytes(2, "little") + bytes(header) + bytes(data)


def parse_rfc60_request(message: bytes) -> tuple[bytes, bytes]:
    """(protobuf header, trailing data) of an RFC60 request.

    ValueError for a query or a message shorter than its length says.
    """
    if len(message) < 2:
        raise ValueError("RFC60 message shorter than its 2-byte length")
    if message[1] & 0x80:
        raise ValueError("RFC60 message is a query (top bit of the length set), not a request")
    length = int.from_bytes(message[:2], "little")
    if 2 + length > len(message):
        raise ValueError(f"RFC60 header length {length} runs past the {len(message)}-byte message")
    return bytes(message[2 : 2 + length]), bytes(message[2 + length :])


def rfc76_packets(message: bytes, packet_bytes: int, first_sequence: int = 0) -> list[bytes]:
    """Cut ``message`` into RFC76 air packets of at most ``packet_bytes`` bytes (header included).

    An empty message is one header-only packet with status "last".
    """
    if packet_bytes <= RFC76_HEADER_BYTES:
        raise ValueError(f"air packets of {packet_bytes} bytes cannot carry a payload")
    room = packet_bytes - RFC76_HEADER_BYTES
    packets: list[bytes] = []
    offset = 0
    sequence = first_sequence % SEQUENCE_MODULO
    while True:
        chunk = message[offset : offset + room]
        offset += len(chunk)
        status = STATUS_MORE if offset < len(message) else STATUS_LAST
        packets.append(bytes([rfc76_header(bool(packets), status, sequence)]) + chunk)
        sequence = (sequence + 1) % SEQUENCE_MODULO
        if offset >= len(message):
            return packets


def rfc76_header(next_packet: bool, status: int, sequence: int) -> int:
    """The header byte: bit 0 next, bits 1–2 status, bits 4–7 sequence."""
    return (int(next_packet) & 1) | ((status & 0x03) << 1) | ((sequence % SEQUENCE_MODULO) << 4)


def rfc76_error_packet(code: int, sequence: int = 0, next_packet: bool = False) -> bytes:
    """The packet a device sends to end a request with ``code`` (0 = success, no content)."""
    return bytes([rfc76_header(next_packet, STATUS_ERROR_OR_RESPONSE, sequence)]) + int(
        code
    ).to_bytes(2, "little")


@dataclass(frozen=True)
class AirPacket:
    """One parsed RFC76 packet. ``error`` is set (0 = success) when status is 0."""

    next_packet: bool
    status: int
    sequence: int
    payload: bytes
    error: int | None


def parse_air_packet(packet: bytes) -> AirPacket:
    """Parse one air packet; ValueError for an empty one or an error packet without its code."""
    if not packet:
        raise ValueError("empty RFC76 air packet")
    header = packet[0]
    status = (header >> 1) & 0x03
    error: int | None = None
    if status == STATUS_ERROR_OR_RESPONSE:
        if len(packet) < 3:
            raise ValueError(f"RFC76 error packet of {len(packet)} bytes lacks its 2-byte code")
        error = int.from_bytes(packet[1:3], "little")
    return AirPacket(
        next_packet=bool(header & 0x01),
        status=status,
        sequence=(header >> 4) & 0x0F,
        payload=bytes(packet[1:]) if error is None else b"",
        error=error,
    )


class ResponseAssembler:
    """Joins the air packets of one response; ``feed`` returns the whole message once done.

    Raises PsftpError for a device error code, a sequence number out of order
    (``AIR_PACKET_LOST``; the caller should then write ``CANCEL_PACKET``) or a packet that
    says "first" in the middle of a message. ``received_bytes`` counts payload so far.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._expected_sequence = 0
        self.received_bytes = 0
        self.done = False

    def feed(self, packet: bytes) -> bytes | None:
        if self.done:
            raise PsftpError(200, "air packet after the end of the response")
        try:
            air = parse_air_packet(packet)
        except ValueError as error:
            raise PsftpError(200, str(error)) from error
        if air.sequence != self._expected_sequence:
            raise PsftpError(
                AIR_PACKET_LOST,
                f"air packet sequence {air.sequence}, expected {self._expected_sequence}",
            )
        if air.next_packet != bool(self._parts) and air.status != STATUS_ERROR_OR_RESPONSE:
            raise PsftpError(200, "air packet 'next' bit out of step: stream out of sync")
        self._expected_sequence = (self._expected_sequence + 1) % SEQUENCE_MODULO
        if air.status == STATUS_ERROR_OR_RESPONSE:
            self.done = True
            if air.error:
                raise PsftpError(air.error)
            return b"".join(self._parts)
        if air.status not in (STATUS_MORE, STATUS_LAST):
            raise PsftpError(200, f"undefined RFC76 status {air.status}")
        self._parts.append(air.payload)
        self.received_bytes += len(air.payload)
        if air.status == STATUS_LAST:
            self.done = True
            return b"".join(self._parts)
        return None


class RequestAssembler:
    """Device side: joins a request's air packets into the RFC60 message (for emulators)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._expected_sequence = 0

    def feed(self, packet: bytes) -> bytes | None:
        air = parse_air_packet(packet)
        if air.status == STATUS_ERROR_OR_RESPONSE:
            raise ValueError("host sent a status-0 packet (cancel)")
        if air.sequence != self._expected_sequence:
            raise ValueError(f"request packet sequence {air.sequence}, expected "
                             f"{self._expected_sequence}")
        self._expected_sequence = (self._expected_sequence + 1) % SEQUENCE_MODULO
        self._parts.append(air.payload)
        if air.status == STATUS_LAST:
            message = b"".join(self._parts)
            self._parts = []
            self._expected_sequence = 0
            return message
        return None
