"""Random bytes into every decoder: a DecodedBlock, None or DecodeError, nothing else."""

from __future__ import annotations

import operator
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.profiles import PROFILES, DecodedBlock, DecodeError
from firmware_bridge.profiles.polar_pmd import PMD_CONTROL_UUID, PMD_DATA_UUID

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)
#: CPU seconds of this thread per decode call (thread time, so a busy machine or other
#: threads cannot make it fail; a pathological decoder still does)
PER_CALL_LIMIT_S = 0.5


def check_block(block: DecodedBlock | None) -> None:
    if block is None:
        return
    assert block.acc_g.ndim == 2 and block.acc_g.shape[1] == 3
    assert block.acc_g.dtype == np.float64
    assert np.all(np.isfinite(block.acc_g))
    n = block.acc_g.shape[0]
    if block.t_device_s is not None:
        assert block.t_device_s.shape == (n,) and np.all(np.isfinite(block.t_device_s))
    if block.gyro_dps is not None:
        assert block.gyro_dps.shape == (n, 3)
    assert block.lost_frames >= 0


def feed_all(profile: str, messages: list[tuple[str, bytes]]) -> None:
    spec = PROFILES[profile]
    decoder = spec.new_decoder(spec.default_config())
    for index, (char, payload) in enumerate(messages):
        started = time.thread_time()
        try:
            block = decoder.feed(char, payload, index)
        except DecodeError as error:
            assert str(error).startswith(f"packet {index}: ")
        else:
            check_block(block)
        assert time.thread_time() - started < PER_CALL_LIMIT_S


def chars_of(profile: str) -> list[str]:
    spec = PROFILES[profile]
    battery_level = "00002a19-0000-1000-8000-00805f9b34fb"
    chars = {spec.data_char_uuid, *spec.subscribe_char_uuids, battery_level}
    if spec.control_char_uuid:
        chars.add(spec.control_char_uuid)
    return sorted(chars)


#: Header bytes that steer random payloads into each decoder's parsing paths.
PREFIXES = {
    "polar-pmd": [b"", b"\x02", b"\xf0", b"\x01", b"\x0f"],
    "metawear": [b"", b"\x03\x04", b"\x03\x1c"],
    "witmotion": [b"", b"\x55", b"\x55\x61", b"\x55\x71"],
    "thingy52": [b""],
    "microbit": [b""],
    "rsc": [b"", b"\x00", b"\x03", b"\x07"],
}


@pytest.mark.parametrize("name", sorted(PROFILES))
@FUZZ
@given(data=st.data())
def test_random_bytes_never_escape_as_other_errors(name: str, data: st.DataObject) -> None:
    message = st.tuples(
        st.sampled_from(chars_of(name)),
        st.builds(operator.add, st.sampled_from(PREFIXES[name]), st.binary(max_size=260)),
    )
    feed_all(name, data.draw(st.lists(message, min_size=1, max_size=12)))


@st.composite
def pmd_frames(draw: st.DrawFn) -> bytes:
    """Frames with a plausible ACC header, so the sample parsers see the random bytes."""
    stamp = draw(st.integers(0, 2**64 - 1))
    frame_type = draw(st.sampled_from([0x00, 0x01, 0x02, 0x80, 0x81, 0x7F, 0xFF]))
    body = draw(st.binary(max_size=240))
    if frame_type in (0x80, 0x81) and draw(st.booleans()):
        # a reference sample then a block header claiming arbitrary width/count
        body = draw(st.binary(min_size=6, max_size=6)) + bytes(
            [draw(st.integers(0, 255)), draw(st.integers(0, 255))]
        ) + body
    return bytes([0x02]) + stamp.to_bytes(8, "little") + bytes([frame_type]) + body


@FUZZ
@given(st.lists(pmd_frames(), min_size=1, max_size=8))
def test_structured_pmd_frames(frames: list[bytes]) -> None:
    feed_all("polar-pmd", [(PMD_DATA_UUID, f) for f in frames])


@FUZZ
@given(
    st.lists(
        st.binary(max_size=40).map(lambda b: bytes([0xF0]) + b)
        | st.binary(max_size=40).map(lambda b: bytes([0x01]) + b),
        min_size=1,
        max_size=6,
    )
)
def test_structured_pmd_control_messages(messages: list[bytes]) -> None:
    feed_all("polar-pmd", [(PMD_CONTROL_UUID, m) for m in messages])
