"""Shared types for sensor profiles: commands, stream configuration, decoded blocks.

Everything here is pure: bytes in, numpy arrays and small dataclasses out. No BLE I/O.
UUIDs are always lower-case full 128-bit strings.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SIG_BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb"


class DecodeError(ValueError):
    """A notification payload that cannot be decoded.

    The message always starts with ``packet <index>:`` so that a user can find the
    offending notification in a trace.
    """

    def __init__(self, packet_index: int, problem: str) -> None:
        super().__init__(f"packet {packet_index}: {problem}")
        self.packet_index = packet_index
        self.problem = problem


def full_uuid(uuid: str) -> str:
    """Return ``uuid`` as a lower-case full 128-bit UUID string.

    Accepts 16-bit or 32-bit Bluetooth SIG short forms (``"2a53"``, ``"0x2A53"``) and
    full 128-bit strings in any case.
    """
    text = uuid.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if len(text) in (4, 8) and all(c in "0123456789abcdef" for c in text):
        return text.rjust(8, "0") + SIG_BASE_SUFFIX
    return text


@dataclass(frozen=True)
class Command:
    """One GATT write needed to configure, start or stop a stream.

    ``response`` says whether to use write-with-response. ``pause_after_s`` is the time
    to wait after the write before sending the next command (some devices need it).
    """

    char_uuid: str
    payload: bytes
    response: bool
    what: str = ""
    pause_after_s: float = 0.0


@dataclass(frozen=True)
class StreamConfig:
    """What the user asked for: output data rate in Hz and full-scale range in g.

    ``None`` means "the device's default / not configurable".
    """

    sample_rate_hz: float | None = None
    range_g: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, used in the trace header ``config`` object."""
        return {"sample_rate_hz": self.sample_rate_hz, "range_g": self.range_g}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StreamConfig:
        """Read ``sample_rate_hz`` and ``range_g`` from a mapping; other keys are ignored.

        Raises ValueError when a present value is not a positive finite number.
        """
        values: dict[str, float | None] = {}
        for key in ("sample_rate_hz", "range_g"):
            raw = data.get(key)
            if raw is None:
                values[key] = None
                continue
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise ValueError(f"config {key} must be a number, got {raw!r}")
            if not math.isfinite(raw) or raw <= 0:
                raise ValueError(f"config {key} must be a positive number, got {raw!r}")
            values[key] = float(raw)
        return cls(sample_rate_hz=values["sample_rate_hz"], range_g=values["range_g"])


@dataclass(frozen=True, eq=False)
class DecodedBlock:
    """Samples decoded from one notification.

    acc_g: (n, 3) float64 acceleration in g (n may be 0, e.g. for RSC).
    t_device_s: (n,) float64 per-sample device time in seconds (Unix seconds for Polar),
        or None when the device has no clock.
    gyro_dps: (n, 3) float64 angular rate in deg/s, or None.
    lost_frames: frames the protocol shows as missing right before this block.
    gap_before: True when continuity with the previous block is broken (lost frames or a
        device clock jump).
    cadence_spm, speed_mps, stride_length_m, total_distance_m, is_running: RSC values
        (None for other profiles or when the field is absent).
    """

    acc_g: np.ndarray
    t_device_s: np.ndarray | None = None
    gyro_dps: np.ndarray | None = None
    lost_frames: int = 0
    gap_before: bool = False
    cadence_spm: float | None = None
    speed_mps: float | None = None
    stride_length_m: float | None = None
    total_distance_m: float | None = None
    is_running: bool | None = None

    @property
    def n_samples(self) -> int:
        return int(self.acc_g.shape[0])


def empty_acc() -> np.ndarray:
    """A (0, 3) float64 array, for blocks that carry no acceleration."""
    return np.zeros((0, 3), dtype=np.float64)


def int16_triplets(data: bytes) -> np.ndarray:
    """Little-endian int16 x,y,z triplets as an (n, 3) int64 array (len must divide by 6)."""
    return np.frombuffer(data, dtype="<i2").astype(np.int64).reshape(-1, 3)


class Decoder(ABC):
    """Stateful decoder for one device stream.

    ``feed`` takes every notification/indication (any characteristic; ones it does not
    care about return None). Non-fatal observations (resynchronisation, clock jumps,
    device-side errors) are appended to ``warnings``; callers drain that list.
    ``sample_rate_hz`` / ``range_g`` start from the config and are updated by
    ``note_write`` when the host's own configuration writes are seen.
    """

    def __init__(self, config: StreamConfig | None = None) -> None:
        config = config or StreamConfig()
        self.sample_rate_hz: float | None = config.sample_rate_hz
        self.range_g: float | None = config.range_g
        self.warnings: list[str] = []

    @abstractmethod
    def feed(self, char_uuid: str, payload: bytes, packet_index: int) -> DecodedBlock | None:
        """Decode one notification; raise DecodeError for a malformed payload."""

    def note_write(self, char_uuid: str, payload: bytes) -> None:  # noqa: B027
        """Learn from a command the host wrote (e.g. the sample rate it asked for)."""

    def reset(self) -> None:  # noqa: B027
        """Forget continuity state (partial packets, previous stamp) after a disconnect."""


def _fmt_number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class ProfileSpec(ABC):
    """Everything the transport needs to know about one sensor family.

    Transport recipe: connect (ask for ``min_mtu`` if set), subscribe to every UUID in
    ``subscribe_char_uuids`` in that order, send ``start_commands(config)`` one by one
    (honouring ``response`` and ``pause_after_s``), pass each notification to
    ``decoder.feed``; when done send ``stop_commands(config)``.
    """

    name: str
    title: str
    service_uuids: tuple[str, ...]
    data_char_uuid: str
    control_char_uuid: str | None
    subscribe_char_uuids: tuple[str, ...]
    has_device_clock: bool
    supported_rates_hz: tuple[float, ...]
    supported_ranges_g: tuple[float, ...]
    default_rate_hz: float | None
    default_range_g: float | None
    min_mtu: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: False for sensors that send no acceleration at all (RSC foot pods: speed, cadence).
    streams_acceleration: bool = True

    @abstractmethod
    def matches_advertisement(self, name: str | None, service_uuids: list[str]) -> bool:
        """True when a scanned device looks like this profile."""

    @abstractmethod
    def start_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        """Writes that configure and start streaming (config is validated first)."""

    @abstractmethod
    def stop_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        """Writes that stop streaming."""

    @abstractmethod
    def new_decoder(self, config: StreamConfig) -> Decoder:
        """A fresh decoder; ``config`` supplies rate/range where the bytes do not."""

    def worn_axes(self, device_name: str | None) -> str | None:
        """How the sensor sits on the trunk when worn as its maker intends, or None.

        Signed sensor axes in the ``--axes`` grammar (``V`` up, ``AP`` forward, ``ML``
        right), only those the maker documents, e.g. ``"AP=+z"``: the analysis uses it
        to settle the forward sign when the walking dynamics are weak and to warn
        when the sensor is worn upside down or on the back. None (the default):
        clips and boards that can be worn any way round.
        """
        return None

    def rates_for(self, device_name: str | None) -> tuple[float, ...]:
        """Supported rates in Hz for this device (profiles may narrow by model name)."""
        return self.supported_rates_hz

    def ranges_for(self, device_name: str | None) -> tuple[float, ...]:
        """Supported full-scale ranges in g for this device."""
        return self.supported_ranges_g

    def default_config(self, device_name: str | None = None) -> StreamConfig:
        return StreamConfig(sample_rate_hz=self.default_rate_hz, range_g=self.default_range_g)

    def check_config(self, config: StreamConfig, device_name: str | None = None) -> StreamConfig:
        """Fill defaults and validate; raise ValueError naming the allowed values."""
        defaults = self.default_config(device_name)
        rate = config.sample_rate_hz
        if rate is None:
            rate = defaults.sample_rate_hz
        rng = config.range_g if config.range_g is not None else defaults.range_g
        rates = self.rates_for(device_name)
        ranges = self.ranges_for(device_name)
        who = f"{self.name} ({device_name})" if device_name else self.name
        if rate is not None:
            if not rates:
                raise ValueError(
                    f"{who}: the sample rate is chosen by the device; leave sample_rate_hz unset"
                )
            if not any(math.isclose(rate, r, rel_tol=1e-9) for r in rates):
                allowed = ", ".join(_fmt_number(r) for r in rates)
                raise ValueError(
                    f"{who}: sample rate {_fmt_number(rate)} Hz is not supported "
                    f"(supported: {allowed} Hz)"
                )
        if rng is not None:
            if not ranges:
                raise ValueError(
                    f"{who}: the acceleration range is fixed by the device; leave range_g unset"
                )
            if not any(math.isclose(rng, r, rel_tol=1e-9) for r in ranges):
                allowed = ", ".join(_fmt_number(r) for r in ranges)
                raise ValueError(
                    f"{who}: range ±{_fmt_number(rng)} g is not supported (supported: ±{allowed} g)"
                )
        return StreamConfig(sample_rate_hz=rate, range_g=rng)


def normalized_uuids(service_uuids: list[str]) -> set[str]:
    """Lower-case full-length forms of advertised service UUIDs."""
    return {full_uuid(u) for u in service_uuids}
