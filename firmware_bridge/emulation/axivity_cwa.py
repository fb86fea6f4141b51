"""The bytes of an Axivity ``.cwa`` file as an AX3 or AX6 logs given samples, without a device.

For tests and benchmarks of what reads ``.cwa`` files (OpenMovement's cwa.h layout): a
1024-byte header block ("MD", length 1020, hardware type, device and session ids, logging
times, rate code, annotation), then 512-byte data sectors ("AX", length 508, the time
stamp, light, temperature, battery, rate code, axes and packing, samples, and a checksum
making the sector's 16-bit words sum to zero).

Layouts (byte 25 of a sector: axes in the high nibble, bytes per axis in the low one, 0 =
packed): ``"int16"`` (0x32, AX3: x, y, z int16 in 1/256 g, 80 samples per sector),
``"packed"`` (0x30, AX3's usual: three 10-bit values sharing a 2-bit exponent in one
32-bit word, 120 per sector) and ``"ax6"`` (0x62: gx, gy, gz, ax, ay, az int16, 40 per
sector; acceleration in 1/2048 g, range code 3; angular rate at 2000 deg/s full scale,
code 2).

Time: each sector stamps one sample with a whole second (``fractional=False``: the second
``stamped`` samples before the first, as older firmware writes it) or with a second and a
1/32768 s fraction in the time offset's low 15 bits (``fractional=True``, top bit set).
"""

from __future__ import annotations

import numpy as np

LAYOUT_CODES = {"int16": 0x32, "packed": 0x30, "ax6": 0x62}
SAMPLES_PER_SECTOR = {"int16": 80, "packed": 120, "ax6": 40}
ACC_SCALE_CODE = {"int16": 0, "packed": 0, "ax6": 3}  # 1 / 2^(8 + code) g per count
GYRO_RANGE_CODE = 2  # full scale 8000 / 2^code = 2000 deg/s
HARDWARE_TYPE = {"int16": 0x00, "packed": 0x00, "ax6": 0x64}  # 0x00: AX3
RANGE_BITS_8G = 0x40  # rate code bits 6-7: 01 = ±8 g


def rate_code(rate_hz: float) -> int:
    """The rate byte: rate = 3200 / 2^(15 - low nibble), and the ±8 g range bits."""
    bits = 15 - np.log2(3200.0 / rate_hz)
    if rate_hz not in (25, 50, 100, 200, 400, 800, 1600, 3200) or bits != int(bits):
        raise ValueError(f"{rate_hz} Hz is not a .cwa rate written here (25-3200 Hz, 2^k)")
    return RANGE_BITS_8G | int(bits)


def packed_time(unix_s: np.ndarray) -> np.ndarray:
    """cwa.h's packed time: (year - 2000) << 26 | month << 22 | day << 17 | hour << 12 |
    minute << 6 | second, of whole Unix seconds (UTC)."""
    moment = np.asarray(unix_s, dtype=np.int64).astype("datetime64[s]")
    month_start = moment.astype("datetime64[M]")
    year = month_start.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (moment.astype("datetime64[D]") - month_start).astype(np.int64) + 1
    of_day = (moment - moment.astype("datetime64[D]")).astype(np.int64)
    return (((year - 2000) << 26) | (month << 22) | (day << 17) | ((of_day // 3600) << 12)
            | ((of_day // 60 % 60) << 6) | (of_day % 60)).astype(np.uint32)


def acc_counts(acc_g: np.ndarray, layout: str) -> np.ndarray:
    """Acceleration as the device's int16 counts (clipped to the int16 range)."""
    scale = 2.0 ** (8 + ACC_SCALE_CODE[layout])
    return np.clip(np.round(np.asarray(acc_g) * scale), -32768, 32767).astype(np.int64)


def packed_words(counts: np.ndarray) -> np.ndarray:
    """Each (x, y, z) of counts in one word: the smallest exponent e (0-3) at which every
    value shifted right by e fits 10 bits signed; the lost low bits are the device's."""
    need = np.zeros(len(counts), dtype=np.int64)
    for e in (1, 2, 3):
        shifted = counts >> (e - 1)
        need[((shifted < -512) | (shifted > 511)).any(axis=1)] = e
    values = np.clip(counts >> need[:, None], -512, 511) & 0x3FF
    return ((need << 30) | (values[:, 2] << 20) | (values[:, 1] << 10) | values[:, 0]).astype(
        np.uint32)


def decoded_acc_g(acc_g: np.ndarray, layout: str) -> np.ndarray:
    """The acceleration a reader gets back from ``cwa_bytes`` (the device's rounding)."""
    counts = acc_counts(acc_g, layout)
    if layout == "packed":
        words = packed_words(counts).astype(np.int64)
        exponent = words >> 30
        values = np.stack([(words >> s) & 0x3FF for s in (0, 10, 20)], axis=1)
        counts = np.where(values >= 512, values - 1024, values) << exponent[:, None]
    return counts / 2.0 ** (8 + ACC_SCALE_CODE[layout])


def cwa_bytes(acc_g: np.ndarray, *, start_unix_s: int, rate_hz: float = 100.0,
              layout: str = "packed", gyro_dps: np.ndarray | None = None,
              fractional: bool = False, device_id: int = 4242, session_id: int = 7,
              logging_end_unix_s: int | None = None) -> bytes:
    """The file: the samples ``acc_g`` (n, 3) from ``start_unix_s`` at ``rate_hz`` (whole
    sectors only: the last part-sector of samples is not written); ``gyro_dps`` (n, 3) for
    the ``"ax6"`` layout (zeros when None); ``logging_end_unix_s``: the end of logging
    the header states (default: a minute after the last sample)."""
    code = rate_code(rate_hz)
    per = SAMPLES_PER_SECTOR[layout]
    sectors = len(acc_g) // per
    n = sectors * per
    header = bytearray(b"\xff" * 1024)
    header[0:2] = b"MD"
    header[2:4] = (1020).to_bytes(2, "little")
    header[4] = HARDWARE_TYPE[layout]
    header[5:7] = device_id.to_bytes(2, "little")
    header[7:11] = session_id.to_bytes(4, "little")
    header[11:13] = b"\xff\xff"  # upper device id: none
    end_s = logging_end_unix_s or start_unix_s + int(np.ceil(n / rate_hz)) + 60
    header[13:17] = int(packed_time(np.array([start_unix_s]))[0]).to_bytes(4, "little")
    header[17:21] = int(packed_time(np.array([end_s]))[0]).to_bytes(4, "little")
    header[21:25] = (0).to_bytes(4, "little")
    header[26] = 0  # flash LED
    header[35] = 0x00
    header[36] = code
    header[41] = 45  # firmware revision
    header[64:512] = b" " * 448  # annotation

    block = np.zeros((sectors, 512), dtype=np.uint8)
    block[:, 0:2] = np.frombuffer(b"AX", dtype=np.uint8)
    first = np.arange(sectors, dtype=np.int64) * per  # index of each sector's first sample
    whole_rate = int(rate_hz)
    if fractional:
        # the first sample's time: its whole second, and the rest in 1/65536 s (even, as
        # the offset holds 15 bits of it); the stamped sample is then the first
        rest = first % whole_rate
        unix = start_unix_s + first // whole_rate
        fraction = (rest * 65536 // whole_rate) & ~1
        ts_offset = 0x8000 | (fraction >> 1)
        sample_offset = -((fraction * whole_rate) >> 16)
    else:
        unix = start_unix_s + first // whole_rate
        ts_offset = np.zeros(sectors, dtype=np.int64)
        sample_offset = -(first % whole_rate)  # the second began that many samples back

    def put(offset: int, values: np.ndarray | int, dtype: str) -> None:
        width = np.dtype(dtype).itemsize
        column = np.broadcast_to(np.asarray(values).astype(dtype), (sectors,))
        block[:, offset:offset + width] = column.reshape(-1, 1).view(np.uint8).reshape(
            sectors, width)

    put(2, 508, "<u2")
    put(4, ts_offset, "<u2")
    put(6, session_id, "<u4")
    put(10, np.arange(sectors), "<u4")
    put(14, packed_time(unix), "<u4")
    scale_codes = (ACC_SCALE_CODE[layout] << 13) | (
        (GYRO_RANGE_CODE << 10) if layout == "ax6" else 0)
    put(18, scale_codes, "<u2")  # light 0 in the low 10 bits
    put(20, 300, "<u2")  # temperature code
    put(23, 200, "u1")  # battery
    put(24, code, "u1")
    put(25, LAYOUT_CODES[layout], "u1")
    put(26, sample_offset, "<i2")
    put(28, per, "<u2")
    counts = acc_counts(acc_g[:n], layout)
    if layout == "packed":
        data = packed_words(counts).astype("<u4")
    elif layout == "ax6":
        gyro = np.zeros((n, 3)) if gyro_dps is None else np.asarray(gyro_dps[:n])
        full_scale = 8000.0 / 2**GYRO_RANGE_CODE
        gyro_counts = np.clip(np.round(gyro / full_scale * 32768), -32768, 32767)
        data = np.hstack([gyro_counts, counts]).astype("<i2")
    else:
        data = counts.astype("<i2")
    block[:, 30:510] = data.reshape(sectors, -1).view(np.uint8)
    words = block[:, :510].copy().view("<u2").sum(axis=1, dtype=np.uint64)
    put(510, (-words.astype(np.int64)) & 0xFFFF, "<u2")
    return bytes(header) + block.tobytes()


def decoded_gyro_dps(gyro_dps: np.ndarray) -> np.ndarray:
    """The angular rate a reader gets back from the ``"ax6"`` layout."""
    full_scale = 8000.0 / 2**GYRO_RANGE_CODE
    counts = np.clip(np.round(np.asarray(gyro_dps) / full_scale * 32768), -32768, 32767)
    return counts * full_scale / 32768
