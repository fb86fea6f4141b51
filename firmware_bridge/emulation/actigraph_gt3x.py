"""The bytes of an ActiGraph ``.gt3x`` file as a GT3X+ / wGT3X-BT logs given samples, without a
device.

For tests and benchmarks of what reads ``.gt3x`` files. ActiGraph's documented layout
(github.com/actigraph/GT3X-File-Format): a ZIP archive holding ``info.txt`` ("Key: value"
lines; dates in .NET ticks) and ``log.bin``, a sequence of records: 0x1E, the record type,
a u32 Unix time, a u16 payload size, the payload, and a checksum (the one's complement of
the XOR of the record's bytes). PARAMETERS (0x15) holds 8-byte (key, value) pairs: the
sample rate (address space 1, id 10) and the acceleration scale (space 0, id 55, an SSP
float). ACTIVITY (0x00) holds one second of 12-bit two's-complement samples packed most
significant bit first, in y, x, z order.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

NET_TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000  # .NET ticks (100 ns) at 1970-01-01


def ssp_float(value: float) -> int:
    """ActiGraph's SSP float encoding (LogRecords/Parameters.md): the exponent in the top
    byte, a 24-bit two's-complement significand / 2^23."""
    exponent, significand = 0, abs(value)
    while significand >= 1.0:
        significand, exponent = significand / 2.0, exponent + 1
    while significand < 0.5:
        significand, exponent = significand * 2.0, exponent - 1
    return ((exponent & 0xFF) << 24) | (int(round(significand * 2**23)) & 0xFFFFFF)


def record(record_type: int, unix_s: int, payload: bytes) -> bytes:
    """One log.bin record with its checksum."""
    head = bytes([0x1E, record_type]) + unix_s.to_bytes(4, "little") + \
        len(payload).to_bytes(2, "little") + payload
    checksum = np.bitwise_xor.reduce(np.frombuffer(head, dtype=np.uint8))
    return head + bytes([~int(checksum) & 0xFF])


def parameters_record(unix_s: int, rate_hz: int, scale: float) -> bytes:
    """PARAMETERS: the sample rate and the acceleration scale (counts per g)."""
    pairs = ((1, 10, rate_hz), (0, 55, ssp_float(scale)))
    return record(0x15, unix_s, b"".join(
        (space | (key << 16)).to_bytes(4, "little") + value.to_bytes(4, "little")
        for space, key, value in pairs))


def activity_payload(counts: np.ndarray) -> bytes:
    """One second of samples (n, 3) of counts, as 12-bit values y, x, z, most significant
    bit first (the last byte padded with zero bits)."""
    values = (counts[:, [1, 0, 2]].reshape(-1) & 0xFFF).astype(np.uint32)
    n = len(values)
    if n % 2:
        values = np.append(values, 0)
    a, b = values[0::2], values[1::2]
    packed = np.stack([a >> 4, ((a & 0xF) << 4) | (b >> 8), b & 0xFF], axis=1)
    return packed.astype(np.uint8).tobytes()[: (12 * n + 7) // 8]


def decoded_acc_g(acc_g: np.ndarray, scale: float = 256.0) -> np.ndarray:
    """The acceleration a reader gets back (the device's 12-bit counts)."""
    return np.clip(np.round(np.asarray(acc_g) * scale), -2048, 2047) / scale


def gt3x_bytes(acc_g: np.ndarray, *, start_unix_s: int, rate_hz: int = 100,
               scale: float = 256.0, serial: str = "MOS2E12345678") -> bytes:
    """The archive: ``acc_g`` (n, 3) from ``start_unix_s`` at ``rate_hz``, one ACTIVITY
    record per whole second (a last part-second is not written), after one PARAMETERS."""
    seconds = len(acc_g) // rate_hz

    def ticks(unix_s: int) -> int:
        return NET_TICKS_AT_UNIX_EPOCH + unix_s * 10_000_000

    end = start_unix_s + seconds
    info = "\n".join([
        f"Serial Number: {serial}", "Device Type: wGT3XBT", "Firmware: 1.9.2",
        "Battery Voltage: 4.10", f"Sample Rate: {rate_hz}",
        f"Start Date: {ticks(start_unix_s)}", f"Stop Date: {ticks(end)}",
        f"Last Sample Time: {ticks(end)}", f"Download Date: {ticks(end + 60)}",
        "Board Revision: 8", "Unexpected Resets: 0", f"Acceleration Scale: {scale}",
        "Acceleration Min: -8.0", "Acceleration Max: 8.0", "TimeZone: 00:00:00",
    ]) + "\n"
    counts = np.clip(np.round(np.asarray(acc_g) * scale), -2048, 2047).astype(np.int64)
    log = io.BytesIO()
    log.write(parameters_record(start_unix_s, rate_hz, scale))
    for second in range(seconds):
        log.write(record(0x00, start_unix_s + second,
                         activity_payload(counts[second * rate_hz:(second + 1) * rate_hz])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("info.txt", info)
        archive.writestr("log.bin", log.getvalue())
    return out.getvalue()
