"""Byte-level tests of the Polar offline recording path (PSFTP framing, protobuf, .REC).

Vectors are Polar's own (polarofficial/polar-ble-sdk Android tests: ``BlePsFtpUtilsTest.kt``
for RFC76 headers, ``OfflineRecordingDataTest.kt`` for the ACC .REC file); the emulator's
byte builders (written independently) are checked against the host decoders.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from firmware_bridge.emulation import polar_offline_bytes as device
from firmware_bridge.offline import pftp_messages as pftp
from firmware_bridge.offline.polar_offline import (
    offline_start_acc_payload,
    offline_stop_acc_payload,
    parse_measurement_status,
    recording_from_folder,
)
from firmware_bridge.offline.polar_rec import RecFormatError, decode_rec_samples, parse_rec
from firmware_bridge.offline.psftp import (
    AIR_PACKET_LOST,
    STATUS_LAST,
    STATUS_MORE,
    PsftpError,
    RequestAssembler,
    ResponseAssembler,
    parse_air_packet,
    parse_rfc60_request,
    rfc60_request,
    rfc76_error_packet,
    rfc76_packets,
)
from firmware_bridge.profiles.polar_pmd import decode_acc_frame

VENDOR_ACC_REC = bytes.fromhex(
    "002b4c7c3d01000000000000000479c35f323031372d30312d31392030383a33323a3532000f000134000101"
    "10000201080004010300e40002240cb5205cd2770781f5ff1c00e5030413f1e053e030bf1e013e1f2b14df02"
    "001f00f0e3d5b3e3c3dff122c21d0406148410f0fe3fec3f30fc0011f87b1024be8f1b80a01302b0f70001f4"
    "8020f43c30084400fc3d0f00c42e00460ff804141f34bf21f4ac31011f1e0324d1e920ef460e0e4a04ffd4e4"
    "af4d120ef5cc06140201f8400108ba2ff8c18f043e2ff07d1010fb1000faee178201f84100f48020f8feff0b"
    "4130f4c01ffcff000004145f0e0c01c0f2e1023f4d4d2d2e0d20f3e1ef31e22ce3ffd2f003b5cf06c10609be"
    "3f0c0530f83b1ff8405ff0889ff041fff77f7f00e400027afe3ea45cd2770781f3ff1c00ed03041e33fa4ede"
    "2922ee05bf120210f0fc535f2c2b4de0db05e4be12c5aff5c302069020f3ef47a31b441f1d0def1e610628fa"
    "801b4001fcfdef07ff00007ef0ffc13ff8c24efcff0e14c100107c9f0f43e0ff84f0fbbf6ff4851eecc020f8"
    "3f8108bcdeff7e0014ffa00f4421f8ffff073ce00b3de0ffffe0133fa0ef7f411c7f0f0cc20d108bfef3bf1f"
    "2c0428322cad1b330d1d5f100d00d010215e5000fe2e0c30de21ce32b5cce1300340f200ac4026c1dde013e5"
    "0e44bc5c5f1b21d2f0fff2f300ef4fb140d5da06047f210c03d0f7bedfffe400024ea95a1c5dd2770781f2ff"
    "2100e703060fc20d0042ff1343b00700e017c2c0fb810ff803f1f3bd2008bde00fff90f73d410800040ae0f6"
    "e050cffdc2ec3346e1de0fd3de060a02300cc3fff700101080a0073ee10b3ed0f30481fc000e0414ac17df11"
    "442e6ed922f2c0de11e102d3123d1f0de32f24fb000f34ff2d0c0614be100802d0ebfd50fcbddf0b48c1e700"
    "300445f0f7bc1ff80320f84210fc3f00103cb00f4000043f0000410fe80414f3f252d2fc3f6b500d01b4c4f4"
    "fff1f1103c6d00cd21114d003f21fdf0e206097f60fc3a3f103ff0fbbe4ff8044ff801100cbd8f03e40002b2"
    "588a555dd2770781f3ff1d00e8030c0a03c0fffe1f00032000897f1164a1f8d280a09ba3d37f46cf3841e211"
    "a0f62c4004ea04079c4fbd68bf00bbaffb0a14f09320bf113c37337508ae6341011e911fd12f133948cf80d2"
    "83a42f3d15a1037f7e09f64fdf55dff5a392cdfa5a08dcf6b3bfc071870ccc5f11860998081248fb0fd81e76"
    "f3e647bfbbd40c13877004d3af05b9bf020a90f5e46fd8572ffc017306c01f054fe0e8d6f0feecdff2764f03"
    "2b60fb632f0e0b80e82eff09a84009d54ffb3280f908a0fcb62ff2ffeff78390f8ab90fb9790f0c9bff55991"
    "f859df0e680ee500029a8272945dd27707815a01e1fe10fd0a0ad89b3178fd0dac3d40ff459c9dd1bdd5a7b0"
    "8b9d6c97893b7697d150b0fb062071c707e9db00100a8aff8bfe860237011901e8007afd1b0197f732053000"
    "f4ff39fdcbfd6404efff1aff660077002d027cffd6ff44ff3600e8ffa6ff5000cbff2b0095ff0a1469106fd3"
    "e102543a820d2938c17e07fa938084f8e3e70ec0000bfc5f000103f86f400004f4ffbffe00fcef7fff0510d0"
    "3ffffe13208000ffefdfbf01030ca0bfff01148000fffedf2f0000060e413f0cc30e00c16ff8c2ddf34451fc"
    "4050f83c3f04420ff48a10ec3ff0f7010f58000230272fb25dd2770781bfff180009fc0405111e3e4034dff9"
    "0e081406fcfd000405fd00fd0102ef01fb200602e5f4061207fdfafbffff030408fefbf903010102ff01fbfe"
    "fd04fd05fe07fdfffdfd040106fd0101fefc00"
)


@pytest.mark.parametrize(
    ("first_byte", "next_packet", "status", "sequence"),
    [(0x06, False, STATUS_MORE, 0), (0x97, True, STATUS_MORE, 9), (0xC3, True, STATUS_LAST, 12)],
)
def test_rfc76_header_vectors_from_the_sdk(
    first_byte: int, next_packet: bool, status: int, sequence: int
) -> None:
    packet = bytes([first_byte, 0x5A, 0x48, 0x5F])
    air = parse_air_packet(packet)
    assert (air.next_packet, air.status, air.sequence) == (next_packet, status, sequence)
    assert air.payload == packet[1:]


def test_rfc76_packets_number_wraps_and_rejoin() -> None:
    message = bytes(range(256)) * 3
    packets = rfc76_packets(message, 20)
    assert [p[0] for p in packets[:3]] == [0x06, 0x17, 0x27]  # first, then next+more, seq 0,1,2
    assert packets[16][0] >> 4 == 0  # sequence wraps after 15
    assert packets[-1][0] & 0x06 == 0x02  # last
    assert all(len(p) <= 20 for p in packets)
    assembler = ResponseAssembler()
    results = [assembler.feed(p) for p in packets]
    assert results[-1] == message and all(r is None for r in results[:-1])
    # the device-side packetiser agrees byte for byte
    assert device.air_packets(message, 20) == packets


def test_lost_air_packet_and_device_errors() -> None:
    packets = rfc76_packets(bytes(100), 20)
    assembler = ResponseAssembler()
    assembler.feed(packets[0])
    with pytest.raises(PsftpError) as lost:
        assembler.feed(packets[2])
    assert lost.value.code == AIR_PACKET_LOST
    with pytest.raises(PsftpError) as busy:
        ResponseAssembler().feed(rfc76_error_packet(202))
    assert (busy.value.code, busy.value.name) == (202, "SYSTEM_BUSY")
    assert ResponseAssembler().feed(rfc76_error_packet(0)) == b""  # success without content


def test_rfc60_request_carries_a_pftp_operation() -> None:
    header = pftp.operation(pftp.Command.GET, "/U/0/")
    # proto2 wire format: field 1 varint 0 (GET), field 2 string "/U/0/"
    assert header == bytes.fromhex("0800") + bytes([0x12, 5]) + b"/U/0/"
    message = rfc60_request(header)
    assert message[:2] == bytes([len(header), 0x00])
    packets = rfc76_packets(message, 8)
    assembler = RequestAssembler()
    joined = [assembler.feed(p) for p in packets][-1]
    assert joined is not None
    command, path = pftp.parse_operation(parse_rfc60_request(joined)[0])
    assert (command, path) == (pftp.Command.GET, "/U/0/")
    listing = pftp.directory([("20250106/", 0), ("ACC0.REC", 1234)])
    assert pftp.parse_directory(listing) == [("20250106/", 0), ("ACC0.REC", 1234)]


def test_offline_pmd_commands() -> None:
    # 52 Hz, 16 bit, ±8 g, 3 channels, offline bit on the ACC type (0x82)
    assert offline_start_acc_payload(52, 8) == bytes.fromhex("0282000134000101100002010800040103")
    assert offline_stop_acc_payload() == bytes.fromhex("0382")
    with pytest.raises(ValueError, match="13, 26, 52"):
        offline_start_acc_payload(200, 8)
    assert parse_measurement_status(bytes([0x82, 0x40 | 0x00]))[2] == (False, True)


def test_vendor_rec_file_parses_and_decodes() -> None:
    rec = parse_rec(VENDOR_ACC_REC)
    assert rec.start_time == datetime(2017, 1, 19, 8, 32, 52)
    assert (rec.sample_rate_hz, rec.range_g, rec.settings.resolutions_bits) == (52.0, 8.0, (16,))
    assert rec.settings.channels == (3,)
    assert len(rec.frames) == 6
    samples = decode_rec_samples(rec)
    assert np.allclose(samples.acc_g[0] * 1000, (-11, 28, 997))
    assert np.allclose(samples.acc_g[1] * 1000, (-10, 27, 997))
    assert samples.last_stamp_ns == 0x777D25DB22F2730
    assert np.all(np.diff(samples.t_unix_s) > 0)


def test_bad_rec_files_name_the_problem() -> None:
    with pytest.raises(RecFormatError, match="encrypted"):
        parse_rec(bytes([2]) + VENDOR_ACC_REC[1:])
    with pytest.raises(RecFormatError, match="magic"):
        parse_rec(VENDOR_ACC_REC[:1] + bytes(4) + VENDOR_ACC_REC[5:])
    with pytest.raises(RecFormatError, match="frame 5"):
        parse_rec(VENDOR_ACC_REC[:-10])


def test_emulator_delta_frames_decode_to_its_counts() -> None:
    rng = np.random.default_rng(4)
    counts = np.cumsum(rng.integers(-300, 300, size=(40, 3)), axis=0) + 4096
    frame = device.delta_frame(123_456_789, counts)
    decoded = decode_acc_frame(frame, 0, factor=device.acc_factor(8))
    assert decoded.stamp_ns == 123_456_789
    assert np.array_equal(np.rint(decoded.acc_g / device.acc_factor(8)), counts)
    rec = parse_rec(device.rec_file(datetime(2025, 1, 6, 9), 52, 8, [frame, frame]))
    assert rec.settings.factor == pytest.approx(8 / 32768)
    assert len(rec.frames) == 2


def test_recording_parts_are_grouped_in_order() -> None:
    folder = "/U/0/20250106/R/090000/"
    names = [("ACC1.REC", 10), ("ACC0.REC", 20), ("HR0.REC", 5), ("ACC2.REC", 0)]
    recording = recording_from_folder(folder, names)
    assert recording is not None
    assert recording.recording_id == folder + "ACC.REC"
    assert [p for p, _ in recording.files] == [folder + "ACC0.REC", folder + "ACC1.REC"]
    assert recording.started == datetime(2025, 1, 6, 9, 0, 0)
    assert recording.size_bytes == 30
