"""Byte-level sensor profiles: UUIDs, commands and decoders, one module per protocol.

``PROFILES`` maps a profile name (as stored in trace headers) to its ``ProfileSpec``.
"""

from __future__ import annotations

from firmware_bridge.profiles.base import (
    Command,
    DecodedBlock,
    DecodeError,
    Decoder,
    ProfileSpec,
    StreamConfig,
    full_uuid,
)
from firmware_bridge.profiles.metawear import METAWEAR
from firmware_bridge.profiles.metawear_log import METAWEAR_LOG
from firmware_bridge.profiles.microbit import MICROBIT
from firmware_bridge.profiles.polar_offline import POLAR_OFFLINE
from firmware_bridge.profiles.polar_pmd import POLAR_PMD
from firmware_bridge.profiles.rsc import RSC
from firmware_bridge.profiles.thingy52 import THINGY52
from firmware_bridge.profiles.witmotion import WITMOTION

PROFILES: dict[str, ProfileSpec] = {
    spec.name: spec for spec in (POLAR_PMD, METAWEAR, WITMOTION, THINGY52, MICROBIT, RSC)
}

#: Downloads of recordings made on the sensor (``stridewatch sync``): traces only, never
#: streamed or matched in a scan.
DOWNLOAD_PROFILES: dict[str, ProfileSpec] = {
    spec.name: spec for spec in (POLAR_OFFLINE, METAWEAR_LOG)
}

#: Every profile a trace header may name.
TRACE_PROFILES: dict[str, ProfileSpec] = {**PROFILES, **DOWNLOAD_PROFILES}


def get_profile(name: str) -> ProfileSpec:
    """Profile by name; ValueError listing the known names otherwise."""
    try:
        return TRACE_PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(TRACE_PROFILES))
        raise ValueError(f"unknown sensor profile {name!r} (known: {known})") from None


def match_advertisement(name: str | None, service_uuids: list[str]) -> list[ProfileSpec]:
    """Profiles whose advertisement test accepts this scan result (usually 0 or 1)."""
    return [spec for spec in PROFILES.values() if spec.matches_advertisement(name, service_uuids)]


__all__ = [
    "DOWNLOAD_PROFILES",
    "PROFILES",
    "TRACE_PROFILES",
    "Command",
    "DecodeError",
    "DecodedBlock",
    "Decoder",
    "ProfileSpec",
    "StreamConfig",
    "full_uuid",
    "get_profile",
    "match_advertisement",
]
