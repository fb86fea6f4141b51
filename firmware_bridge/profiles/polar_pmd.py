"""Polar Measurement Data (PMD) service: Polar H10, Verity Sense, OH1.

Byte layout (see ``/work/shared/reference/sensor-protocols.md`` and Polar's
Measurement Data Specification):

* control point requests are ``op type [settings]`` (op 1 get settings, 2 start, 3 stop);
  answers arrive as indications ``F0 op type status more params…``; the device may send
  ``01 <types…>`` on its own when it stops a stream; a read returns ``0F <bitmap…>``.
* data frames are ``type(1) stamp(uint64 LE, ns since 2000-01-01 UTC, last sample)
  frame_type(1) samples…``. ACC frame types 0/1/2 are int8/int16/int24 milli-g;
  0x80/0x81 are delta-compressed (reference sample, then bit-packed delta blocks).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from firmware_bridge.profiles.base import (
    Command,
    DecodedBlock,
    DecodeError,
    Decoder,
    ProfileSpec,
    StreamConfig,
    normalized_uuids,
)

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Seconds between 1970-01-01 and 2000-01-01 (UTC), the PMD epoch.
PMD_EPOCH_UNIX_S = 946_684_800
PMD_EPOCH_UNIX_NS = PMD_EPOCH_UNIX_S * 1_000_000_000

OP_GET_SETTINGS = 0x01
OP_START = 0x02
OP_STOP = 0x03
RESPONSE_CODE = 0xF0
DEVICE_STOPPED_CODE = 0x01
FEATURES_CODE = 0x0F

MEASUREMENT_NAMES = {
    0: "ECG",
    1: "PPG",
    2: "ACC",
    3: "PPI",
    5: "GYRO",
    6: "MAGNETOMETER",
    9: "SDK_MODE",
}
MEAS_ACC = 2

DATA_HEADER_BYTES = 10
ACC_CHANNELS = 3
MAX_DELTA_WIDTH_BITS = 32
#: A data frame whose stamp is further than this from the last ACC frame's is not
#: taken for another measurement's frame (see ``PolarPmdDecoder._skip_other_frame``).
PLAUSIBLE_STAMP_STEP_NS = 24 * 3600 * 10**9


class PmdStatus(IntEnum):
    """Control point status codes (Polar PMD specification)."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


def status_name(status: int) -> str:
    """Name of a PMD status code, e.g. ``"INVALID_MTU"``; unknown codes -> ``"UNKNOWN_<n>"``."""
    try:
        return PmdStatus(status).name
    except ValueError:
        return f"UNKNOWN_{status}"


def measurement_name(measurement_type: int) -> str:
    return MEASUREMENT_NAMES.get(measurement_type, f"type {measurement_type}")


@dataclass(frozen=True)
class PmdResponse:
    """One control point response (``F0 op type status more params``)."""

    op_code: int
    measurement_type: int
    offline: bool
    status: int
    more: bool
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.status == PmdStatus.SUCCESS

    @property
    def status_name(self) -> str:
        return status_name(self.status)


@dataclass(frozen=True)
class PmdStreamStopped:
    """Device-initiated stop (``01 <types…>``)."""

    measurement_types: tuple[int, ...]


@dataclass(frozen=True)
class PmdFeatures:
    """Answer to a control point read (``0F <bitmap…>``): supported measurement types."""

    measurement_types: frozenset[int]


@dataclass(frozen=True)
class PmdSettings:
    """Parsed ``[setting type][count][values…]`` list.

    ``ranges`` are in the measurement's unit (g for ACC, deg/s for gyro); ``factors`` are
    the float32 conversion factors (raw count -> unit) a start response may carry.
    """

    sample_rates_hz: tuple[int, ...] = ()
    resolutions_bits: tuple[int, ...] = ()
    ranges: tuple[int, ...] = ()
    ranges_milliunit: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    factors: tuple[float, ...] = ()

    @property
    def factor(self) -> float | None:
        return self.factors[0] if self.factors else None


# setting type -> (field size in bytes, PmdSettings attribute)
_SETTING_FIELDS: dict[int, tuple[int, str]] = {
    0: (2, "sample_rates_hz"),
    1: (2, "resolutions_bits"),
    2: (2, "ranges"),
    3: (4, "ranges_milliunit"),
    4: (1, "channels"),
    5: (4, "factors"),
}


def parse_settings(params: bytes, packet_index: int = 0) -> PmdSettings:
    """Parse a settings parameter block.

    A block of one byte or less is "no settings" (the H10 answers a start request with a
    single reserved byte). Raises DecodeError for unknown setting types or short data.
    """
    if len(params) <= 1:
        return PmdSettings()
    found: dict[str, list[int | float]] = {attr: [] for _, attr in _SETTING_FIELDS.values()}
    offset = 0
    while offset < len(params):
        setting_type = params[offset]
        if setting_type not in _SETTING_FIELDS:
            raise DecodeError(
                packet_index, f"PMD settings: unknown setting type {setting_type} at byte {offset}"
            )
        if offset + 1 >= len(params):
            raise DecodeError(
                packet_index, f"PMD settings: setting type {setting_type} has no count byte"
            )
        count = params[offset + 1]
        size, attr = _SETTING_FIELDS[setting_type]
        offset += 2
        end = offset + count * size
        if end > len(params):
            raise DecodeError(
                packet_index,
                f"PMD settings: setting type {setting_type} needs {count * size} value bytes, "
                f"only {len(params) - offset} left",
            )
        for k in range(count):
            raw = params[offset + k * size : offset + (k + 1) * size]
            if setting_type == 5:
                found[attr].append(struct.unpack("<f", raw)[0])
            else:
                found[attr].append(int.from_bytes(raw, "little"))
        offset = end
    return PmdSettings(**{attr: tuple(values) for attr, values in found.items()})  # type: ignore[arg-type]


def parse_control_point(
    payload: bytes, packet_index: int = 0
) -> PmdResponse | PmdStreamStopped | PmdFeatures:
    """Parse one control point indication or read value."""
    if not payload:
        raise DecodeError(packet_index, "PMD control point message is empty")
    code = payload[0]
    if code == RESPONSE_CODE:
        if len(payload) < 4:
            raise DecodeError(
                packet_index,
                f"PMD control point response of {len(payload)} bytes is shorter than 4 "
                "(F0 op type status)",
            )
        status = payload[3]
        ok = status == PmdStatus.SUCCESS
        more = ok and len(payload) > 4 and payload[4] != 0
        params = bytes(payload[5:]) if ok else b""
        return PmdResponse(
            op_code=payload[1],
            measurement_type=payload[2] & 0x3F,
            offline=bool(payload[2] & 0x80),
            status=status,
            more=more,
            parameters=params,
        )
    if code == DEVICE_STOPPED_CODE:
        if len(payload) < 2:
            raise DecodeError(packet_index, "PMD stream-stopped message names no measurement type")
        return PmdStreamStopped(measurement_types=tuple(b & 0x3F for b in payload[1:]))
    if code == FEATURES_CODE:
        types = frozenset(
            8 * k + bit
            for k, byte in enumerate(payload[1:])
            for bit in range(8)
            if byte & (1 << bit)
        )
        return PmdFeatures(measurement_types=types)
    raise DecodeError(
        packet_index, f"PMD control point message starts with unknown code 0x{code:02x}"
    )


def _setting(setting_type: int, value: int, size: int) -> bytes:
    return bytes([setting_type, 1]) + int(value).to_bytes(size, "little")


def start_acc_payload(
    sample_rate_hz: int, range_g: int, resolution_bits: int = 16, channels: int | None = None
) -> bytes:
    """Control point request that starts ACC streaming, e.g. 200 Hz, ±8 g, 16 bit:
    ``02 02 00 01 C8 00 01 01 10 00 02 01 08 00``."""
    payload = bytes([OP_START, MEAS_ACC])
    payload += _setting(0, sample_rate_hz, 2)
    payload += _setting(1, resolution_bits, 2)
    payload += _setting(2, range_g, 2)
    if channels is not None:
        payload += _setting(4, channels, 1)
    return payload


def stop_payload(measurement_type: int = MEAS_ACC) -> bytes:
    """Control point request that stops a stream (``03 02`` for ACC)."""
    return bytes([OP_STOP, measurement_type])


def get_settings_payload(measurement_type: int = MEAS_ACC) -> bytes:
    """Control point request for the available settings (``01 02`` for ACC)."""
    return bytes([OP_GET_SETTINGS, measurement_type])


# ---------------------------------------------------------------------------------------
# data frames


@dataclass(frozen=True, eq=False)
class AccFrame:
    """One decoded ACC data frame (before per-sample time reconstruction)."""

    stamp_ns: int  # ns since 2000-01-01 UTC of the LAST sample
    frame_type: int  # raw frame type byte (bit 7 = compressed)
    acc_g: np.ndarray  # (n, 3) float64, g

    @property
    def stamp_unix_s(self) -> float:
        return (self.stamp_ns + PMD_EPOCH_UNIX_NS) / 1e9


_NATIVE_SIGNED_LE = {1: np.dtype("<i1"), 2: np.dtype("<i2")}


def _signed_le(data: bytes, width: int) -> np.ndarray:
    """Little-endian signed integers of ``width`` bytes (1..3) as int64."""
    native = _NATIVE_SIGNED_LE.get(width)
    if native is not None:  # numpy reads these itself (the same numbers, a few µs less)
        return np.frombuffer(data, dtype=native).astype(np.int64)
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, width).astype(np.int64)
    value = np.zeros(raw.shape[0], dtype=np.int64)
    for k in range(width):
        value |= raw[:, k] << (8 * k)
    sign = np.int64(1) << (8 * width - 1)
    return (value ^ sign) - sign


def decode_delta_samples(
    content: bytes, channels: int, resolution_bits: int, packet_index: int
) -> np.ndarray:
    """Decode a delta-compressed sample block into (n, channels) int64 raw counts.

    Layout: reference sample (channels × ceil(resolution/8) bytes, signed LE), then blocks
    ``[delta width bits][sample count][ceil(width·channels·count/8) bytes]``; bits are read
    least-significant first, each delta is two's complement of ``width`` bits, channels
    interleave, each block is padded to a byte; sample = previous + delta.
    """
    ref_width = math.ceil(resolution_bits / 8)
    ref_len = channels * ref_width
    if len(content) < ref_len:
        raise DecodeError(
            packet_index,
            f"PMD delta frame has {len(content)} sample bytes, fewer than the "
            f"{ref_len}-byte reference sample",
        )
    reference = _signed_le(content[:ref_len], ref_width)
    rows = [reference.reshape(1, channels)]
    offset = ref_len
    block = 0
    # The vendor parser ignores a trailing byte too short to be a block header.
    while len(content) - offset >= 2:
        width = content[offset]
        count = content[offset + 1]
        offset += 2
        if width > MAX_DELTA_WIDTH_BITS:
            raise DecodeError(
                packet_index,
                f"PMD delta block {block} has a delta width of {width} bits "
                f"(more than {MAX_DELTA_WIDTH_BITS})",
            )
        n_bits = width * channels * count
        n_bytes = (n_bits + 7) // 8
        if offset + n_bytes > len(content):
            raise DecodeError(
                packet_index,
                f"PMD delta block {block} ({count} samples × {width} bits) needs {n_bytes} "
                f"bytes, only {len(content) - offset} left",
            )
        if count:
            if width == 0:
                deltas = np.zeros((count, channels), dtype=np.int64)
            else:
                packed = np.frombuffer(content, dtype=np.uint8, count=n_bytes, offset=offset)
                bits = np.unpackbits(packed, bitorder="little")[:n_bits]
                bits = bits.reshape(count * channels, width).astype(np.int64)
                weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
                unsigned = bits @ weights
                sign = np.int64(1) << (width - 1)
                deltas = ((unsigned ^ sign) - sign).reshape(count, channels)
            rows.append(deltas)
        offset += n_bytes
        block += 1
    stacked = np.concatenate(rows, axis=0)
    return np.cumsum(stacked, axis=0)


def decode_acc_frame(
    payload: bytes,
    packet_index: int,
    factor: float | None = None,
    fallback_range_g: float | None = None,
) -> AccFrame:
    """Decode one PMD ACC data frame into acceleration in g.

    ``factor`` is the conversion factor from the start response (setting type 5). For frame
    type 0x80 samples are ``raw × factor`` in g; without a factor, ``range_g / 32768`` is
    used (the factor Polar devices report, e.g. 0.000244 for ±8 g) when
    ``fallback_range_g`` is given, else DecodeError. For 0x81 the factor (if any and ≠ 1)
    gives milli-g. Uncompressed types are milli-g as sent.
    """
    if len(payload) < DATA_HEADER_BYTES:
        raise DecodeError(
            packet_index,
            f"PMD data frame of {len(payload)} bytes is shorter than its "
            f"{DATA_HEADER_BYTES}-byte header",
        )
    measurement = payload[0] & 0x3F
    if measurement != MEAS_ACC:
        raise DecodeError(
            packet_index, f"PMD data frame is {measurement_name(measurement)}, not ACC"
        )
    stamp_ns = int.from_bytes(payload[1:9], "little")
    frame_type = payload[9]
    content = bytes(payload[DATA_HEADER_BYTES:])
    compressed = bool(frame_type & 0x80)
    kind = frame_type & 0x7F
    if not compressed:
        if kind not in (0, 1, 2):
            raise DecodeError(packet_index, f"PMD ACC frame type {kind} is not supported")
        width = kind + 1
        sample_bytes = ACC_CHANNELS * width
        if not content:
            raise DecodeError(packet_index, f"PMD ACC frame type {kind} carries no samples")
        if len(content) % sample_bytes:
            raise DecodeError(
                packet_index,
                f"PMD ACC frame type {kind} payload of {len(content)} bytes is not a "
                f"multiple of {sample_bytes}",
            )
        milli_g = _signed_le(content, width).reshape(-1, ACC_CHANNELS)
        acc_g = milli_g.astype(np.float64) / 1000.0
    else:
        if kind not in (0, 1):
            raise DecodeError(
                packet_index, f"PMD ACC compressed frame type 0x{frame_type:02x} is not supported"
            )
        raw = decode_delta_samples(content, ACC_CHANNELS, 16, packet_index).astype(np.float64)
        if kind == 0:
            if factor is None:
                if fallback_range_g is None:
                    raise DecodeError(
                        packet_index,
                        "PMD ACC frame type 0x80 needs the conversion factor from the start "
                        "response (or a configured range)",
                    )
                factor = fallback_range_g / 32768.0
            acc_g = raw * factor  # raw × factor is g (the SDK multiplies by 1000 for mg)
        else:
            milli_g = raw * factor if factor is not None and factor != 1.0 else raw
            acc_g = milli_g / 1000.0
    return AccFrame(stamp_ns=stamp_ns, frame_type=frame_type, acc_g=acc_g)


def sample_times_unix_s(
    stamp_ns: int,
    n_samples: int,
    previous_stamp_ns: int | None,
    sample_rate_hz: float | None,
) -> tuple[np.ndarray, int, bool]:
    """Per-sample Unix times (s) for a frame whose LAST sample is at ``stamp_ns``.

    With a previous frame stamp and no detected loss, samples are spread evenly between
    the previous stamp and this one (device clock spacing). Otherwise they are placed
    backwards from the stamp at 1/sample_rate_hz. Frames are "lost" when the stamp gap is
    more than 1.5× the duration of this frame at the configured rate.

    Returns (times, lost_frames, gap_before).
    """
    last_s = (stamp_ns + PMD_EPOCH_UNIX_NS) / 1e9
    nominal_ns = 1e9 / sample_rate_hz if sample_rate_hz else None
    backwards = np.arange(n_samples - 1, -1, -1, dtype=np.float64)
    lost_frames = 0
    gap_before = False
    spacing_ns: float | None = None
    if previous_stamp_ns is not None:
        span_ns = stamp_ns - previous_stamp_ns
        if span_ns <= 0:
            gap_before = True
        elif nominal_ns is not None and span_ns > 1.5 * n_samples * nominal_ns:
            missing_samples = round(span_ns / nominal_ns) - n_samples
            lost_frames = max(1, round(missing_samples / n_samples))
            gap_before = True
        else:
            spacing_ns = span_ns / n_samples
    if spacing_ns is None:
        spacing_ns = nominal_ns if nominal_ns is not None else 0.0
    return last_s - backwards * (spacing_ns / 1e9), lost_frames, gap_before


class PolarPmdDecoder(Decoder):
    """Decodes PMD ACC data frames and control point indications.

    Control point responses update the conversion factor (start response) and the
    available settings; a device-initiated stop sets ``stopped_by_device``.
    """

    def __init__(self, config: StreamConfig) -> None:
        super().__init__(config)
        self.factor: float | None = None
        self.available_settings: PmdSettings | None = None
        self.stopped_by_device = False
        self.last_response: PmdResponse | None = None
        self._previous_stamp_ns: int | None = None
        self._pending: PmdResponse | None = None
        self._warned_fallback = False
        self._skipped_types: set[int] = set()

    def reset(self) -> None:
        self._previous_stamp_ns = None
        self._pending = None

    def note_write(self, char_uuid: str, payload: bytes) -> None:
        """Learn rate and range from a start request the host wrote."""
        if char_uuid.lower() != PMD_CONTROL_UUID or len(payload) < 2:
            return
        if payload[0] != OP_START or (payload[1] & 0x3F) != MEAS_ACC:
            return
        try:
            settings = parse_settings(bytes(payload[2:]))
        except DecodeError:
            return
        if settings.sample_rates_hz:
            self.sample_rate_hz = float(settings.sample_rates_hz[0])
        if settings.ranges:
            self.range_g = float(settings.ranges[0])

    def feed(self, char_uuid: str, payload: bytes, packet_index: int) -> DecodedBlock | None:
        uuid = char_uuid.lower()
        if uuid == PMD_CONTROL_UUID:
            self._handle_control(payload, packet_index)
            return None
        if uuid != PMD_DATA_UUID:
            return None
        if len(payload) >= 1 and (payload[0] & 0x3F) != MEAS_ACC:
            self._skip_other_frame(payload, packet_index)
            return None
        if not self._warned_fallback and self.factor is None and len(payload) > 9:
            if payload[9] == 0x80 and self.range_g is not None:
                self._warned_fallback = True
                self.warnings.append(
                    f"packet {packet_index}: no PMD start response with a conversion factor "
                    f"seen; using ±{self.range_g:g} g / 32768 per count"
                )
        frame = decode_acc_frame(payload, packet_index, self.factor, self.range_g)
        times, lost, gap = sample_times_unix_s(
            frame.stamp_ns, frame.acc_g.shape[0], self._previous_stamp_ns, self.sample_rate_hz
        )
        if self._previous_stamp_ns is not None and frame.stamp_ns <= self._previous_stamp_ns:
            self.warnings.append(
                f"packet {packet_index}: PMD frame stamp went back by "
                f"{(self._previous_stamp_ns - frame.stamp_ns) / 1e9:.6f} s"
            )
        if not lost and not gap:
            self._check_frame_span(frame, packet_index)
        self._previous_stamp_ns = frame.stamp_ns
        return DecodedBlock(acc_g=frame.acc_g, t_device_s=times, lost_frames=lost, gap_before=gap)

    def _skip_other_frame(self, payload: bytes, packet_index: int) -> None:
        """Another measurement's frame is skipped (noted once per type); anything else is an error.

        A notification that does not start with a plausible data-frame header (a known
        measurement type, a whole header, a stamp within a day of the last ACC frame) is
        most likely the rest of a frame split across notifications: its bytes stay in the
        trace, but the samples in it cannot be placed, so it is reported, not dropped quietly.
        """
        measurement = payload[0] & 0x3F
        stamp_ns = int.from_bytes(payload[1:9], "little") if len(payload) >= 9 else None
        plausible = (
            measurement in MEASUREMENT_NAMES
            and len(payload) > DATA_HEADER_BYTES
            and stamp_ns is not None
            and (
                self._previous_stamp_ns is None
                or abs(stamp_ns - self._previous_stamp_ns) <= PLAUSIBLE_STAMP_STEP_NS
            )
        )
        if not plausible:
            raise DecodeError(
                packet_index,
                f"PMD data notification of {len(payload)} bytes does not start with a "
                f"data-frame header (first byte 0x{payload[0]:02x}); probably the rest of a "
                "frame split across notifications, its samples are not decoded",
            )
        if measurement not in self._skipped_types:
            self._skipped_types.add(measurement)
            self.warnings.append(
                f"packet {packet_index}: PMD {measurement_name(measurement)} frames are not "
                "decoded (only ACC is); they stay in the trace"
            )

    def _check_frame_span(self, frame: AccFrame, packet_index: int) -> None:
        """Warn when the stamps say a frame should hold clearly more samples than it does.

        A notification cut at a sample boundary still decodes; its stamp (the last
        sample of the whole frame) then spans more sample periods than samples arrived.
        The samples are spread over that span, so the warning says their times stretch.
        """
        if self._previous_stamp_ns is None or not self.sample_rate_hz:
            return
        n = frame.acc_g.shape[0]
        periods = (frame.stamp_ns - self._previous_stamp_ns) * self.sample_rate_hz / 1e9
        missing = round(periods) - n
        if missing >= max(2, 0.1 * n):
            self.warnings.append(
                f"packet {packet_index}: PMD frame holds {n} samples but its stamp is "
                f"{periods:.0f} sample periods after the previous frame's; about {missing} "
                "samples are missing (a cut notification?) and the times of this frame are "
                "stretched over the gap"
            )

    def _handle_control(self, payload: bytes, packet_index: int) -> None:
        message = parse_control_point(payload, packet_index)
        if isinstance(message, PmdStreamStopped):
            names = ", ".join(measurement_name(t) for t in message.measurement_types)
            if MEAS_ACC in message.measurement_types:
                self.stopped_by_device = True
            self.warnings.append(f"packet {packet_index}: device stopped the {names} stream")
            return
        if isinstance(message, PmdFeatures):
            return
        if self._pending is not None and self._pending.op_code == message.op_code:
            message = PmdResponse(
                op_code=message.op_code,
                measurement_type=message.measurement_type,
                offline=message.offline,
                status=message.status,
                more=message.more,
                parameters=self._pending.parameters + message.parameters,
            )
        if message.more:
            self._pending = message
            return
        self._pending = None
        self.last_response = message
        if not message.ok:
            self.warnings.append(
                f"packet {packet_index}: PMD request op {message.op_code} for "
                f"{measurement_name(message.measurement_type)} failed: status {message.status} "
                f"{message.status_name}"
            )
            return
        if message.measurement_type != MEAS_ACC:
            return
        try:
            settings = parse_settings(message.parameters, packet_index)
        except DecodeError as error:
            self.warnings.append(f"{error} (ignored)")
            return
        if message.op_code == OP_START and settings.factor is not None:
            self.factor = settings.factor
        elif message.op_code == OP_GET_SETTINGS:
            self.available_settings = settings


# ---------------------------------------------------------------------------------------
# profile

_MODEL_RATES_HZ = {
    "H10": (25.0, 50.0, 100.0, 200.0),
    "Verity Sense": (26.0, 52.0, 104.0, 208.0, 416.0),
    "OH1": (50.0,),
}
_MODEL_RANGES_G = {
    "H10": (2.0, 4.0, 8.0),
    "Verity Sense": (2.0, 4.0, 8.0, 16.0),
    "OH1": (8.0,),
}
_MODEL_DEFAULTS = {
    "H10": (200.0, 8.0),
    "Verity Sense": (52.0, 8.0),
    "OH1": (50.0, 8.0),
}


def polar_model(device_name: str | None) -> str | None:
    """Model from an advertised name: ``"Polar H10 1A2B3C4D"`` -> ``"H10"``."""
    if not device_name:
        return None
    name = device_name.strip().lower()
    if not name.startswith("polar "):
        return None
    rest = name[len("polar ") :]
    if rest.startswith("h10"):
        return "H10"
    if rest.startswith("sense") or rest.startswith("verity"):
        return "Verity Sense"
    if rest.startswith("oh1"):
        return "OH1"
    return None


@dataclass(frozen=True)
class PolarPmdProfile(ProfileSpec):
    def matches_advertisement(self, name: str | None, service_uuids: list[str]) -> bool:
        return PMD_SERVICE_UUID in normalized_uuids(service_uuids) or polar_model(name) is not None

    def worn_axes(self, device_name: str | None) -> str | None:
        # Polar's published axis map for the H10 in its strap (polar-ble-sdk issues
        # #167, #223): z points out of the chest. Verity Sense and OH1 are arm-worn.
        return "AP=+z" if polar_model(device_name) == "H10" else None

    def rates_for(self, device_name: str | None) -> tuple[float, ...]:
        model = polar_model(device_name)
        return _MODEL_RATES_HZ[model] if model else self.supported_rates_hz

    def ranges_for(self, device_name: str | None) -> tuple[float, ...]:
        model = polar_model(device_name)
        return _MODEL_RANGES_G[model] if model else self.supported_ranges_g

    def default_config(self, device_name: str | None = None) -> StreamConfig:
        model = polar_model(device_name)
        rate, rng = _MODEL_DEFAULTS.get(model or "H10", _MODEL_DEFAULTS["H10"])
        return StreamConfig(sample_rate_hz=rate, range_g=rng)

    def start_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        checked = self.check_config(config, device_name)
        assert checked.sample_rate_hz is not None and checked.range_g is not None
        channels = 3 if polar_model(device_name) == "Verity Sense" else None
        payload = start_acc_payload(int(checked.sample_rate_hz), int(checked.range_g), 16, channels)
        return [Command(PMD_CONTROL_UUID, payload, True, "start ACC stream")]

    def stop_commands(self, config: StreamConfig, device_name: str | None = None) -> list[Command]:
        return [Command(PMD_CONTROL_UUID, stop_payload(MEAS_ACC), True, "stop ACC stream")]

    def new_decoder(self, config: StreamConfig) -> PolarPmdDecoder:
        if config.sample_rate_hz is None or config.range_g is None:
            defaults = self.default_config()
            config = StreamConfig(
                sample_rate_hz=config.sample_rate_hz or defaults.sample_rate_hz,
                range_g=config.range_g or defaults.range_g,
            )
        return PolarPmdDecoder(config)


POLAR_PMD = PolarPmdProfile(
    name="polar-pmd",
    title="Polar H10 / Verity Sense / OH1 (Polar Measurement Data service)",
    service_uuids=(PMD_SERVICE_UUID,),
    data_char_uuid=PMD_DATA_UUID,
    control_char_uuid=PMD_CONTROL_UUID,
    # control point indications first, or the start request gets no answer
    subscribe_char_uuids=(PMD_CONTROL_UUID, PMD_DATA_UUID),
    has_device_clock=True,
    supported_rates_hz=(25.0, 26.0, 50.0, 52.0, 100.0, 104.0, 200.0, 208.0, 416.0),
    supported_ranges_g=(2.0, 4.0, 8.0, 16.0),
    default_rate_hz=200.0,
    default_range_g=8.0,
    min_mtu=232,
    notes=(
        "Enable control point indications before writing, or no answer comes.",
        "Always send the stop command: an H10 otherwise streams until its battery is flat.",
        "Writes may need pairing on some platforms.",
    ),
)
