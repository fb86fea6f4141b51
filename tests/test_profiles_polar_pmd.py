"""Polar PMD profile: vendor vectors, compressed-frame round trips, timestamps, errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from firmware_bridge.profiles import DecodeError, StreamConfig
from firmware_bridge.profiles.polar_pmd import (
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_EPOCH_UNIX_S,
    POLAR_PMD,
    PmdFeatures,
    PmdResponse,
    PmdStatus,
    PmdStreamStopped,
    decode_acc_frame,
    decode_delta_samples,
    parse_control_point,
    parse_settings,
    polar_model,
    sample_times_unix_s,
)

# --- vendor vectors --------------------------------------------------------------------

# Polar SDK AccDataTest "process acc raw data frame type 1": header + 36 int16 samples.
UNCOMPRESSED_HEADER = bytes.fromhex("02 00 94 35 77 00 00 00 00 01")
UNCOMPRESSED_CONTENT = bytes.fromhex(
    "F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF FF FF E5 03 FA FF FF FF E6 03 FA FF FE FF"
    " E6 03 F9 FF FF FF E5 03 F8 FF FF FF E6 03 F8 FF FE FF E6 03 FA FF FF FF E5 03 FA FF"
    " FF FF E7 03 FA FF FF FF E5 03 F8 FF FF FF E6 03 F7 FF FF FF E6 03 F8 FF FE FF E6 03"
    " F9 FF FE FF E7 03 F9 FF 00 00 E6 03 F9 FF FF FF E6 03 F7 FF FE FF E5 03 F9 FF FF FF"
    " E5 03 F9 FF FF FF E5 03 FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF FF FF E6 03 F8 FF"
    " FF FF E5 03 F9 FF FF FF E6 03 F9 FF FF FF E5 03 FA FF FF FF E6 03 F9 FF FF FF E5 03"
    " F9 FF FF FF E5 03 F8 FF FE FF E6 03 F9 FF FF FF E6 03 F9 FF FF FF E6 03 F9 FF 00 00"
    " E5 03 F9 FF FE FF E6 03 F8 FF FE FF E6 03 F7 FF FE FF E6 03"
)

# Polar Measurement Data Specification, delta frame example (Verity Sense, ACC 52 Hz,
# 16 bit, ±8 g): the frame header, reference sample, block header and the first deltas
# as printed; the remaining 24 delta samples of the 29-sample block are not printed, so
# they are filled with zero deltas to make the frame complete (87 delta bytes).
DELTA_HEADER = bytes.fromhex("02 64 6C 76 C4 3C C6 7F 07 80")
DELTA_STAMP_NS = 540368444604181604
DELTA_PRINTED = bytes.fromhex(
    "D0 FF 65 01 E4 0F 08 1D FC 07 FF 0C 13 F2 11 F1 1A F9 EE F8 EF 0C 03 09 F2"
)
DELTA_CONTENT = DELTA_PRINTED + bytes(29 * 3 - (len(DELTA_PRINTED) - 8))
# The start response that precedes it in the specification: factor 0x397FDA40.
START_RESPONSE_WITH_FACTOR = bytes.fromhex("F0 02 02 00 00 05 01 40 DA 7F 39")
FACTOR = struct.unpack("<f", bytes.fromhex("40 DA 7F 39"))[0]

# Polar SDK AccDataTest "process acc compressed data type 0": 10-bit deltas, 56 samples.
SDK_TYPE0_CONTENT = bytes.fromhex(
    "71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 B3 EE 4B E5 AD FB 42 B9 EB BE 4C FE BA 2F"
    " 92 BF EE 4B E4 B1 FB 12 B9 EC BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD 30 7E"
    " 7B 2F 8B E3 CE 8B E2 BA F7 A2 B8 EE BC 20 BE 7B 2F 88 F3 CE CB E1 BD EF 52 F8 EF BC"
    " 18 FE 3B 2F 84 03 BF CB E0 C2 EF 32 B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 C6 EF F2 F7"
    " F1 B9 FC 7D BC 2E 7D 27 9F 4B DF CA EB C2 F7 F2 B8 EC CD 7C 2E 7B 37 8F 4B DE CE E3"
    " 92 F7 F3 B8 E0 0D FD 2D 77 4B 7F CB DD D2 DF 62 37 F5 B7 D4 4D BD 2D 74 5B 6F CB DC"
    " D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B 4F 4B DC DC D3 F2 36 F7 B4 BC DD FD 2C 6F 7B 3F"
    " 4B DB E0 CF D2 36 F8 B2 B0 2D BE 2C 6C 8F 1F CB DA E3 C7 A2 76 F9"
)


def acc_frame(stamp_ns: int, frame_type: int, content: bytes) -> bytes:
    return bytes([2]) + stamp_ns.to_bytes(8, "little") + bytes([frame_type]) + content


def int16_frame(stamp_ns: int, samples_mg: np.ndarray) -> bytes:
    return acc_frame(stamp_ns, 0x01, np.asarray(samples_mg, dtype="<i2").tobytes())


# --- test-side encoder for delta-compressed frames (independent of the decoder) ---------


def twos_width(value: int) -> int:
    """Bits needed to hold ``value`` in two's complement."""
    return (value if value >= 0 else -value - 1).bit_length() + 1


def encode_delta_content(samples: np.ndarray, block_sizes: list[int]) -> bytes:
    """Reference sample (int16 LE) + blocks of deltas, smallest width per block, LSB first."""
    samples = np.asarray(samples, dtype=np.int64)
    out = bytearray()
    for value in samples[0]:
        out += int(value).to_bytes(2, "little", signed=True)
    deltas = np.diff(samples, axis=0)
    assert sum(block_sizes) == deltas.shape[0]
    position = 0
    for size in block_sizes:
        block = [int(d) for d in deltas[position : position + size].reshape(-1)]
        position += size
        width = max([1, *(twos_width(d) for d in block)])
        out += bytes([width, size])
        bits = 0
        n_bits = 0
        for d in block:
            bits |= (d & ((1 << width) - 1)) << n_bits
            n_bits += width
        out += bits.to_bytes((n_bits + 7) // 8, "little")
    return bytes(out)


# --- uncompressed ----------------------------------------------------------------------


def test_uncompressed_vendor_vector_first_sample_and_stamp() -> None:
    frame = decode_acc_frame(UNCOMPRESSED_HEADER + UNCOMPRESSED_CONTENT, 0)
    assert frame.stamp_ns == 2_000_000_000
    assert frame.frame_type == 0x01
    assert frame.acc_g.shape == (36, 3)
    np.testing.assert_allclose(frame.acc_g[0] * 1000, [-9, -1, 999])
    np.testing.assert_allclose(frame.acc_g[1] * 1000, [-8, -2, 997])
    np.testing.assert_allclose(frame.acc_g[-1] * 1000, [-9, -2, 998])


def test_uncompressed_vector_times_end_at_stamp_at_sample_rate() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=52.0, range_g=8.0))
    block = decoder.feed(PMD_DATA_UUID, UNCOMPRESSED_HEADER + UNCOMPRESSED_CONTENT, 0)
    assert block is not None and block.t_device_s is not None
    assert block.t_device_s[-1] == pytest.approx(PMD_EPOCH_UNIX_S + 2.0, abs=1e-6)
    np.testing.assert_allclose(np.diff(block.t_device_s), 1 / 52, atol=1e-6)
    assert block.lost_frames == 0 and not block.gap_before


@pytest.mark.parametrize(
    ("frame_type", "sample_bytes", "values"),
    [
        (0x00, b"\xff\x02\x81", [-1, 2, -127]),
        (0x02, b"\xff\xff\xff\x00\x00\x80\xe8\x03\x00", [-1, -8388608, 1000]),
    ],
)
def test_int8_and_int24_frames_are_milli_g(
    frame_type: int, sample_bytes: bytes, values: list[int]
) -> None:
    frame = decode_acc_frame(acc_frame(5, frame_type, sample_bytes * 2), 0)
    np.testing.assert_allclose(frame.acc_g * 1000, [values, values])


def test_bad_uncompressed_length_message_names_packet_and_sizes() -> None:
    payload = acc_frame(1, 0x01, bytes(13))
    with pytest.raises(DecodeError) as info:
        decode_acc_frame(payload, 17)
    assert str(info.value) == (
        "packet 17: PMD ACC frame type 1 payload of 13 bytes is not a multiple of 6"
    )
    assert info.value.packet_index == 17


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"\x02\x00\x00", "shorter than its 10-byte header"),
        (acc_frame(1, 0x01, b""), "carries no samples"),
        (acc_frame(1, 0x05, bytes(6)), "frame type 5 is not supported"),
        (acc_frame(1, 0x83, bytes(8)), "compressed frame type 0x83 is not supported"),
        (bytes([0]) + bytes(9) + bytes(3), "is ECG, not ACC"),
    ],
)
def test_malformed_frames_raise_decode_error(payload: bytes, fragment: str) -> None:
    with pytest.raises(DecodeError, match=fragment):
        decode_acc_frame(payload, 3, factor=1.0)


# --- delta-compressed ------------------------------------------------------------------


def test_delta_vector_reference_and_first_deltas() -> None:
    raw = decode_delta_samples(DELTA_CONTENT, 3, 16, 0)
    assert raw.shape == (30, 3)  # reference + 29 samples
    np.testing.assert_array_equal(raw[0], [-48, 357, 4068])
    np.testing.assert_array_equal(raw[1], [-52, 364, 4067])
    np.testing.assert_array_equal(raw[2], [-40, 383, 4053])
    # the printed deltas end two bytes into sample 6; the zero-filled tail adds nothing
    np.testing.assert_array_equal(raw[-1], raw[6])


def test_delta_vector_through_decoder_with_factor_from_start_response() -> None:
    assert FACTOR == pytest.approx(0.000244, rel=1e-4)
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=52.0, range_g=8.0))
    assert decoder.feed(PMD_CONTROL_UUID, START_RESPONSE_WITH_FACTOR, 0) is None
    assert decoder.factor == FACTOR
    block = decoder.feed(PMD_DATA_UUID, DELTA_HEADER + DELTA_CONTENT, 1)
    assert block is not None and block.t_device_s is not None
    # type 0x80: raw × factor is g (the SDK's ×1000 makes milli-g)
    np.testing.assert_allclose(block.acc_g[0], np.array([-48, 357, 4068]) * FACTOR)
    np.testing.assert_allclose(block.acc_g[1], np.array([-52, 364, 4067]) * FACTOR)
    assert np.linalg.norm(block.acc_g[0]) == pytest.approx(1.0, abs=0.03)  # at rest ≈ 1 g
    assert int.from_bytes(DELTA_HEADER[1:9], "little") == DELTA_STAMP_NS
    assert block.t_device_s[-1] == pytest.approx(DELTA_STAMP_NS / 1e9 + PMD_EPOCH_UNIX_S, abs=1e-6)
    assert decoder.warnings == []


def test_sdk_compressed_type0_frame_decodes_completely() -> None:
    raw = decode_delta_samples(SDK_TYPE0_CONTENT, 3, 16, 0)
    assert raw.shape == (57, 3)
    np.testing.assert_array_equal(raw[0], [1905, 27376, -29282])
    np.testing.assert_array_equal(raw[1], [1905 + 190, 27376 - 105, -29282 - 85])
    frame = decode_acc_frame(acc_frame(2_000_000_000, 0x80, SDK_TYPE0_CONTENT), 0, 2.44e-4)
    assert np.all(np.abs(frame.acc_g) <= 8.0)  # the SDK test's ±8 g range check


def test_sdk_compressed_type1_frame_is_milli_g() -> None:
    content = bytes.fromhex("F1 FF 14 00 F0 03 06 01 7B 0F 08")
    frame = decode_acc_frame(acc_frame(101, 0x81, content), 0, factor=1.0)
    np.testing.assert_allclose(frame.acc_g * 1000, [[-15, 20, 1008], [-20, 17, 1008]])


def test_compressed_type1_applies_factor_to_milli_g() -> None:
    content = encode_delta_content(np.array([[100, -200, 1000], [110, -190, 990]]), [1])
    frame = decode_acc_frame(acc_frame(1, 0x81, content), 0, factor=0.5)
    np.testing.assert_allclose(frame.acc_g * 1000, [[50, -100, 500], [55, -95, 495]])


@pytest.mark.parametrize("block_sizes", [[1], [5, 5], [3, 1, 7, 2], [0, 4, 0, 3]])
def test_multi_block_round_trip(block_sizes: list[int]) -> None:
    rng = np.random.default_rng(sum(block_sizes) + len(block_sizes))
    n = sum(block_sizes) + 1
    steps = rng.integers(-3000, 3000, size=(n, 3))
    steps[::3] //= 500  # mix narrow and wide deltas so block widths differ
    samples = np.cumsum(steps, axis=0) + np.array([-48, 357, 4068])
    content = encode_delta_content(samples, block_sizes)
    np.testing.assert_array_equal(decode_delta_samples(content, 3, 16, 0), samples)


def test_truncated_delta_block_is_a_decode_error() -> None:
    content = encode_delta_content(np.zeros((9, 3), dtype=int) + [[0, 1, 2]], [8])
    with pytest.raises(DecodeError, match=r"packet 4: PMD delta block 0 .* needs 3 bytes, only 2"):
        decode_delta_samples(content[:-1], 3, 16, 4)


def test_delta_frame_shorter_than_reference_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="fewer than the 6-byte reference sample"):
        decode_delta_samples(b"\x01\x02\x03", 3, 16, 0)


def test_compressed_type0_without_factor_uses_range_and_warns() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=52.0, range_g=8.0))
    block = decoder.feed(PMD_DATA_UUID, DELTA_HEADER + DELTA_CONTENT, 9)
    assert block is not None
    np.testing.assert_allclose(block.acc_g[0], np.array([-48, 357, 4068]) * 8.0 / 32768)
    assert len(decoder.warnings) == 1 and decoder.warnings[0].startswith("packet 9: no PMD")


# --- time reconstruction and lost frames -----------------------------------------------


def test_times_follow_previous_stamp_spacing() -> None:
    n = 10
    previous = 1_000_000_000
    stamp = previous + 10 * 5_010_000  # device runs a little slower than 200 Hz
    times, lost, gap = sample_times_unix_s(stamp, n, previous, 200.0)
    assert lost == 0 and not gap
    # Unix seconds as float64 resolve ~0.2 µs, far below a sample period
    np.testing.assert_allclose(np.diff(times), 0.00501, atol=1e-6)
    assert times[-1] == pytest.approx(PMD_EPOCH_UNIX_S + stamp / 1e9)
    assert times[0] == pytest.approx(PMD_EPOCH_UNIX_S + (previous + 5_010_000) / 1e9)


def test_decoder_detects_lost_frames_from_stamps() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=200.0, range_g=8.0))
    samples = np.tile([0, 0, 1000], (36, 1))
    frame_ns = 36 * 5_000_000
    stamps = [10**15 + k * frame_ns for k in (1, 2, 5, 6)]  # frames 3 and 4 never arrive
    blocks = [decoder.feed(PMD_DATA_UUID, int16_frame(s, samples), i) for i, s in enumerate(stamps)]
    assert [b.lost_frames for b in blocks if b] == [0, 0, 2, 0]
    assert [b.gap_before for b in blocks if b] == [False, False, True, False]
    third = blocks[2]
    assert third is not None and third.t_device_s is not None
    np.testing.assert_allclose(np.diff(third.t_device_s), 0.005, atol=1e-6)


def test_backwards_stamp_flags_gap_and_warns() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=200.0, range_g=8.0))
    samples = np.tile([0, 0, 1000], (4, 1))
    decoder.feed(PMD_DATA_UUID, int16_frame(10**12, samples), 0)
    block = decoder.feed(PMD_DATA_UUID, int16_frame(10**12 - 10**9, samples), 1)
    assert block is not None and block.gap_before and block.lost_frames == 0
    assert decoder.warnings[0].startswith("packet 1: PMD frame stamp went back by 1.000")


def test_reset_forgets_previous_stamp() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=200.0, range_g=8.0))
    samples = np.tile([0, 0, 1000], (4, 1))
    decoder.feed(PMD_DATA_UUID, int16_frame(10**12, samples), 0)
    decoder.reset()
    block = decoder.feed(PMD_DATA_UUID, int16_frame(10**12 + 60 * 10**9, samples), 1)
    assert block is not None and block.lost_frames == 0 and not block.gap_before


def test_decoder_learns_rate_from_recorded_start_write() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig())
    decoder.note_write(PMD_CONTROL_UUID, bytes.fromhex("02 02 00 01 34 00 01 01 10 00 02 01 04 00"))
    assert decoder.sample_rate_hz == 52.0 and decoder.range_g == 4.0


# --- control point ---------------------------------------------------------------------


def test_settings_vector_from_sdk_tests() -> None:
    settings = parse_settings(
        bytes.fromhex("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03")
    )
    assert settings.sample_rates_hz == (52,)
    assert settings.resolutions_bits == (16,)
    assert settings.ranges == (245, 500, 1000, 2000)
    assert settings.channels == (3,)
    assert settings.factor is None


def test_h10_settings_response_from_specification() -> None:
    message = parse_control_point(
        bytes.fromhex(
            "F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"
        )
    )
    assert isinstance(message, PmdResponse) and message.ok and not message.more
    assert (message.op_code, message.measurement_type) == (1, 2)
    settings = parse_settings(message.parameters)
    assert settings.sample_rates_hz == (25, 50, 100, 200)
    assert settings.ranges == (2, 4, 8)


def test_start_response_factor_and_h10_reserved_byte() -> None:
    message = parse_control_point(START_RESPONSE_WITH_FACTOR)
    assert isinstance(message, PmdResponse)
    assert parse_settings(message.parameters).factor == FACTOR
    h10 = parse_control_point(bytes.fromhex("F0 02 02 00 00 01"))
    assert isinstance(h10, PmdResponse) and h10.ok
    assert parse_settings(h10.parameters) == parse_settings(b"")


def test_error_status_is_named() -> None:
    message = parse_control_point(bytes.fromhex("F0 02 02 0A 00"))
    assert isinstance(message, PmdResponse)
    assert not message.ok and message.status == PmdStatus.INVALID_MTU == 10
    assert message.status_name == "INVALID_MTU"
    assert parse_control_point(bytes.fromhex("F0 02 02 63")).status_name == "UNKNOWN_99"


def test_more_continuation_is_joined_by_decoder() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=52.0, range_g=8.0))
    assert decoder.feed(PMD_CONTROL_UUID, bytes.fromhex("F0 01 02 00 01 00 01 34 00"), 0) is None
    assert decoder.available_settings is None
    decoder.feed(PMD_CONTROL_UUID, bytes.fromhex("F0 01 02 00 00 01 01 10 00 04 01 03"), 1)
    assert decoder.available_settings is not None
    assert decoder.available_settings.sample_rates_hz == (52,)
    assert decoder.available_settings.resolutions_bits == (16,)
    assert decoder.available_settings.channels == (3,)


def test_failed_start_is_reported_as_warning() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=200.0, range_g=8.0))
    decoder.feed(PMD_CONTROL_UUID, bytes.fromhex("F0 02 02 0A 00"), 5)
    assert decoder.warnings == ["packet 5: PMD request op 2 for ACC failed: status 10 INVALID_MTU"]


def test_device_initiated_stop() -> None:
    message = parse_control_point(bytes.fromhex("01 02"))
    assert message == PmdStreamStopped(measurement_types=(2,))
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=200.0, range_g=8.0))
    decoder.feed(PMD_CONTROL_UUID, bytes.fromhex("01 02"), 7)
    assert decoder.stopped_by_device
    assert decoder.warnings == ["packet 7: device stopped the ACC stream"]


def test_feature_read_bitmap() -> None:
    assert parse_control_point(bytes.fromhex("0F 05 00")) == PmdFeatures(frozenset({0, 2}))


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"", "empty"),
        (bytes.fromhex("F0 02"), "shorter than 4"),
        (bytes.fromhex("01"), "names no measurement type"),
        (bytes.fromhex("7E 00"), "unknown code 0x7e"),
    ],
)
def test_malformed_control_messages(payload: bytes, fragment: str) -> None:
    with pytest.raises(DecodeError, match=fragment):
        parse_control_point(payload, 2)


def test_malformed_settings() -> None:
    with pytest.raises(DecodeError, match="unknown setting type 9"):
        parse_settings(bytes.fromhex("09 01 00"))
    with pytest.raises(DecodeError, match="needs 4 value bytes, only 2 left"):
        parse_settings(bytes.fromhex("00 02 34 00"))


# --- commands and config ---------------------------------------------------------------


def test_start_command_h10_200hz_8g() -> None:
    commands = POLAR_PMD.start_commands(StreamConfig(200.0, 8.0), "Polar H10 1A2B3C4D")
    assert len(commands) == 1
    assert commands[0].char_uuid == PMD_CONTROL_UUID and commands[0].response
    assert commands[0].payload == bytes.fromhex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")


def test_start_command_verity_sense_matches_specification() -> None:
    commands = POLAR_PMD.start_commands(StreamConfig(52.0, 8.0), "Polar Sense B5A3C22F")
    expected = bytes.fromhex("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    assert commands[0].payload == expected


def test_stop_command() -> None:
    (stop,) = POLAR_PMD.stop_commands(StreamConfig(200.0, 8.0))
    assert stop.payload == bytes.fromhex("03 02") and stop.char_uuid == PMD_CONTROL_UUID


def test_unsupported_rate_for_model_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError) as info:
        POLAR_PMD.start_commands(StreamConfig(52.0, 8.0), "Polar H10 1A2B3C4D")
    assert str(info.value) == (
        "polar-pmd (Polar H10 1A2B3C4D): sample rate 52 Hz is not supported "
        "(supported: 25, 50, 100, 200 Hz)"
    )
    with pytest.raises(ValueError, match=r"range ±16 g is not supported \(supported: ±2, 4, 8 g\)"):
        POLAR_PMD.check_config(StreamConfig(200.0, 16.0), "Polar H10 1A2B3C4D")


def test_defaults_per_model() -> None:
    assert POLAR_PMD.check_config(StreamConfig(), "Polar H10 1") == StreamConfig(200.0, 8.0)
    assert POLAR_PMD.check_config(StreamConfig(), "Polar Sense 1") == StreamConfig(52.0, 8.0)
    assert polar_model("Polar OH1 12345678") == "OH1"
    assert polar_model("Polar H9 12345678") is None


def test_advertisement_matching() -> None:
    assert POLAR_PMD.matches_advertisement("Polar H10 1A2B3C4D", [])
    assert POLAR_PMD.matches_advertisement(None, ["FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"])
    assert not POLAR_PMD.matches_advertisement("Polar H9 1A2B3C4D", ["180d"])
    assert not POLAR_PMD.matches_advertisement("MetaWear", [])


# --- frames that are not ACC, fragments, cut frames ------------------------------------


def test_other_measurement_frames_are_skipped_with_one_note_per_type() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=200.0, range_g=8.0))
    samples = np.tile([0, 0, 1000], (4, 1))
    decoder.feed(PMD_DATA_UUID, int16_frame(10**12, samples), 0)
    ecg = bytes([0x00]) + (10**12 + 10**7).to_bytes(8, "little") + bytes([0x00]) + bytes(30)
    assert decoder.feed(PMD_DATA_UUID, ecg, 1) is None
    assert decoder.feed(PMD_DATA_UUID, ecg, 2) is None
    assert decoder.warnings == ["packet 1: PMD ECG frames are not decoded (only ACC is); "
                                "they stay in the trace"]


def test_second_part_of_a_split_frame_is_reported_not_skipped() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=200.0, range_g=8.0))
    samples = np.arange(60).reshape(20, 3) * 7 - 100
    whole = int16_frame(10**12, samples)
    decoder.feed(PMD_DATA_UUID, int16_frame(10**12 - 20 * 5_000_000, samples), 0)
    with pytest.raises(DecodeError, match=r"^packet 1: .* not a multiple of 6"):
        decoder.feed(PMD_DATA_UUID, whole[:61], 1)
    rest = whole[61:]
    assert rest[0] & 0x3F != 2  # the fragment does not even claim to be ACC
    with pytest.raises(DecodeError, match=r"^packet 2: PMD data notification of 69 bytes "
                                          r"does not start with a data-frame header"):
        decoder.feed(PMD_DATA_UUID, rest, 2)


def test_frame_with_fewer_samples_than_its_stamp_span_warns() -> None:
    decoder = POLAR_PMD.new_decoder(StreamConfig(sample_rate_hz=200.0, range_g=8.0))
    samples = np.tile([0, 0, 1000], (36, 1))
    frame_ns = 36 * 5_000_000
    decoder.feed(PMD_DATA_UUID, int16_frame(10**12, samples), 0)
    decoder.feed(PMD_DATA_UUID, int16_frame(10**12 + frame_ns, samples), 1)
    assert decoder.warnings == []  # whole frames: no note
    block = decoder.feed(PMD_DATA_UUID, int16_frame(10**12 + 2 * frame_ns, samples[:30]), 2)
    assert block is not None and block.acc_g.shape == (30, 3) and block.lost_frames == 0
    assert len(decoder.warnings) == 1
    assert decoder.warnings[0].startswith("packet 2: PMD frame holds 30 samples but its stamp "
                                          "is 36 sample periods after")
