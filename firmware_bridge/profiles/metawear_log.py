"""MetaWear logger downloads as traces (profile ``metawear-log``).

A ``metawear-log`` trace holds the raw ``0B 07`` readout notifications that carried one
recording's entries; its header ``config`` names the recording (reset uid, first and
last tick), the logger ids, the range and the clock reference (a tick seen at a known
Unix time for that reset uid). The decoder joins x,y and z entries and places each sample
on the board's clock (48/32768 s per tick, wrap-safe).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from firmware_bridge.offline import metawear_log as mw
from firmware_bridge.profiles.base import (
    Command,
    DecodedBlock,
    DecodeError,
    Decoder,
    ProfileSpec,
    StreamConfig,
)
from firmware_bridge.profiles.metawear import METAWEAR_COMMAND_UUID, METAWEAR_NOTIFY_UUID


@dataclass(frozen=True)
class LogSelection:
    """Which entries of a readout belong to the recording, and how to time and scale them."""

    reset_uid: int
    first_tick: int
    last_tick: int
    xy_logger: int
    z_logger: int
    range_g: float
    reference: mw.TimeReference

    def contains(self, entry: mw.LogEntry) -> bool:
        if entry.reset_uid != self.reset_uid:
            return False
        span = (self.last_tick - self.first_tick) % mw.TICK_MODULO
        return (entry.tick - self.first_tick) % mw.TICK_MODULO <= span

    def to_config(self) -> dict[str, Any]:
        return {"reset_uid": self.reset_uid, "first_tick": self.first_tick,
                "last_tick": self.last_tick, "xy_logger": self.xy_logger,
                "z_logger": self.z_logger, "range_g": self.range_g,
                "reference": {"tick": self.reference.tick, "unix_s": self.reference.unix_s}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LogSelection:
        ref = config["reference"]
        uid = int(config["reset_uid"])
        return cls(uid, int(config["first_tick"]), int(config["last_tick"]),
                   int(config["xy_logger"]), int(config["z_logger"]), float(config["range_g"]),
                   mw.TimeReference(uid, int(ref["tick"]), float(ref["unix_s"])))


class MetaWearLogDecoder(Decoder):
    def __init__(self, config: StreamConfig, selection: LogSelection | None = None) -> None:
        super().__init__(config)
        self.selection = selection
        self._xy: list[mw.LogEntry] = []
        self._z: list[mw.LogEntry] = []

    def configure_from_header(self, config: dict[str, Any]) -> None:
        """Read the recording's selection from the trace header's ``config``."""
        self.selection = LogSelection.from_config(config)

    def feed(self, char_uuid: str, payload: bytes, packet_index: int) -> DecodedBlock | None:
        if char_uuid.lower() != METAWEAR_NOTIFY_UUID or payload[:2] != b"\x0b\x07":
            return None
        if self.selection is None:
            raise DecodeError(packet_index, "metawear-log trace without its recording in the "
                                            "header config")
        try:
            entries = mw.parse_entries(bytes(payload))
        except ValueError as error:
            raise DecodeError(packet_index, str(error)) from None
        sel = self.selection
        for entry in entries:
            if not sel.contains(entry):
                continue
            if entry.logger_id == sel.xy_logger:
                self._xy.append(entry)
            elif entry.logger_id == sel.z_logger:
                self._z.append(entry)
        n = min(len(self._xy), len(self._z))
        if n == 0:
            return None
        pairs = list(zip(self._xy[:n], self._z[:n], strict=True))
        del self._xy[:n], self._z[:n]
        counts = np.array([struct.unpack("<hh", struct.pack("<I", a.data))
                           + struct.unpack("<h", struct.pack("<I", b.data)[:2])
                           for a, b in pairs], dtype=np.float64)
        ticks = np.array([a.tick for a, _ in pairs], dtype=np.int64)
        return DecodedBlock(acc_g=counts / (32768.0 / sel.range_g),
                            t_device_s=sel.reference.time_of(ticks))


@dataclass(frozen=True)
class MetaWearLogProfile(ProfileSpec):
    def matches_advertisement(self, name: str | None, service_uuids: list[str]) -> bool:
        return False  # scans find the board as "metawear"; `sync` picks this profile

    def start_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        return [Command(METAWEAR_COMMAND_UUID, c, False, "start logging")
                for c in mw.start_logging_commands()]

    def stop_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        return [Command(METAWEAR_COMMAND_UUID, mw.stop_logging_command(), False, "stop logging")]

    def new_decoder(self, config: StreamConfig) -> MetaWearLogDecoder:
        return MetaWearLogDecoder(config)


METAWEAR_LOG = MetaWearLogProfile(
    name="metawear-log",
    title="MbientLab MetaWear on-board log, downloaded",
    service_uuids=(),
    data_char_uuid=METAWEAR_NOTIFY_UUID,
    control_char_uuid=METAWEAR_COMMAND_UUID,
    subscribe_char_uuids=(METAWEAR_NOTIFY_UUID,),
    has_device_clock=True,
    supported_rates_hz=(12.5, 25.0, 50.0, 100.0),
    supported_ranges_g=(2.0, 4.0, 8.0, 16.0),
    default_rate_hz=50.0,
    default_range_g=16.0,
)
