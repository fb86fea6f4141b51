"""Polar offline recordings as downloaded over PSFTP (profile ``polar-offline``).

A ``polar-offline`` trace holds the raw file transfer of one recording: the host's
request air packets (``write`` events) and the sensor's response air packets (``notify``
events), all on the PSFTP MTU characteristic. The decoder joins each response
(``firmware_bridge.offline.psftp``), reads the ``.REC`` layout
(``firmware_bridge.offline.polar_rec``) and decodes its PMD frames with the streaming
decoder, so a stored download is re-decoded from the bytes the sensor sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.offline import pftp_messages as pftp
from firmware_bridge.offline.polar_offline import (
    OFFLINE_ACC_RANGES_G,
    OFFLINE_ACC_RATES_HZ,
    offline_start_acc_payload,
    offline_stop_acc_payload,
)
from firmware_bridge.offline.polar_rec import RecFormatError, decode_rec_samples, parse_rec
from firmware_bridge.offline.psftp import (
    PSFTP_MTU_UUID,
    PSFTP_SERVICE_UUID,
    PsftpError,
    RequestAssembler,
    ResponseAssembler,
    parse_rfc60_request,
)
from firmware_bridge.profiles.base import (
    Command,
    DecodedBlock,
    DecodeError,
    Decoder,
    ProfileSpec,
    StreamConfig,
)
from firmware_bridge.profiles.polar_pmd import PMD_CONTROL_UUID


class PolarOfflineDecoder(Decoder):
    """Joins PSFTP responses to GET requests of ``.REC`` files and decodes their samples."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__(config)
        self._request = RequestAssembler()
        self._response: ResponseAssembler | None = None
        self._path: str | None = None
        self._command: pftp.Command | None = None
        self._previous_stamp_ns: int | None = None

    def reset(self) -> None:
        self._request = RequestAssembler()
        self._response = None

    def note_write(self, char_uuid: str, payload: bytes) -> None:
        if char_uuid.lower() != PSFTP_MTU_UUID:
            return
        try:
            message = self._request.feed(bytes(payload))
            if message is None:
                return
            header, _data = parse_rfc60_request(message)
            self._command, self._path = pftp.parse_operation(header)
        except ValueError as error:
            self.warnings.append(f"PSFTP request not understood ({error}); ignored")
            self._request = RequestAssembler()
            return
        self._response = ResponseAssembler()

    def feed(self, char_uuid: str, payload: bytes, packet_index: int) -> DecodedBlock | None:
        if char_uuid.lower() != PSFTP_MTU_UUID:
            return None
        if self._response is None:
            raise DecodeError(packet_index, "PSFTP air packet without a request before it")
        try:
            message = self._response.feed(bytes(payload))
        except PsftpError as error:
            self._response = None
            raise DecodeError(packet_index, str(error)) from None
        if message is None:
            return None
        self._response = None
        path = self._path or ""
        if self._command != pftp.Command.GET or not path.upper().endswith(".REC"):
            return None
        try:
            rec = parse_rec(message, path)
            samples = decode_rec_samples(rec, self._previous_stamp_ns, path)
        except RecFormatError as error:
            raise DecodeError(packet_index, str(error)) from None
        if rec.sample_rate_hz:
            self.sample_rate_hz = rec.sample_rate_hz
        if rec.range_g:
            self.range_g = rec.range_g
        self._previous_stamp_ns = samples.last_stamp_ns
        return DecodedBlock(
            acc_g=samples.acc_g,
            t_device_s=samples.t_unix_s,
            lost_frames=samples.lost_frames,
            gap_before=samples.lost_frames > 0,
        )


@dataclass(frozen=True)
class PolarOfflineProfile(ProfileSpec):
    def matches_advertisement(self, name: str | None, service_uuids: list[str]) -> bool:
        # Scans find Polar sensors as polar-pmd; this profile is chosen by `sync`.
        return False

    def start_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        checked = self.check_config(config, device_name)
        assert checked.sample_rate_hz is not None and checked.range_g is not None
        payload = offline_start_acc_payload(int(checked.sample_rate_hz), int(checked.range_g))
        return [Command(PMD_CONTROL_UUID, payload, True, "start offline ACC recording")]

    def stop_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        return [Command(PMD_CONTROL_UUID, offline_stop_acc_payload(), True,
                        "stop offline ACC recording")]

    def new_decoder(self, config: StreamConfig) -> PolarOfflineDecoder:
        return PolarOfflineDecoder(config)


POLAR_OFFLINE = PolarOfflineProfile(
    name="polar-offline",
    title="Polar Verity Sense offline ACC recording, downloaded over PSFTP",
    service_uuids=(PSFTP_SERVICE_UUID,),
    data_char_uuid=PSFTP_MTU_UUID,
    control_char_uuid=PMD_CONTROL_UUID,
    subscribe_char_uuids=(PSFTP_MTU_UUID,),
    has_device_clock=True,
    supported_rates_hz=tuple(float(r) for r in OFFLINE_ACC_RATES_HZ),
    supported_ranges_g=tuple(float(r) for r in OFFLINE_ACC_RANGES_G),
    default_rate_hz=52.0,
    default_range_g=8.0,
    min_mtu=232,
    notes=(
        "File transfer needs a bonded (paired) link.",
        "The sensor refuses file transfer while it records (PSFTP error 202, SYSTEM_BUSY).",
    ),
)
