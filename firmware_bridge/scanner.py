"""Find sensors nearby: scan advertisements and match them to sensor profiles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

from firmware_bridge.profiles import PROFILES, ProfileSpec


@dataclass(frozen=True)
class Found:
    """A scanned device that looks like ``profile``; ``rssi`` in dBm.

    ``device`` is bleak's handle for it: pass it to :func:`firmware_bridge.recorder.record`.
    """

    profile: ProfileSpec
    name: str | None
    address: str
    rssi: int
    device: BLEDevice


def _scanner_kwargs(backend: type[BaseBleakScanner] | None) -> dict[str, Any]:
    return {} if backend is None else {"backend": backend}


def _matches(
    device: BLEDevice, adv: AdvertisementData, profiles: Iterable[ProfileSpec]
) -> list[Found]:
    name = adv.local_name or device.name
    return [
        Found(profile=spec, name=name, address=device.address, rssi=adv.rssi, device=device)
        for spec in profiles
        if spec.matches_advertisement(name, list(adv.service_uuids))
    ]


async def scan(
    timeout_s: float = 5.0,
    *,
    profiles: Iterable[ProfileSpec] | None = None,
    backend: type[BaseBleakScanner] | None = None,
) -> list[Found]:
    """Scan for ``timeout_s`` seconds; every device matching a profile, strongest first.

    ``profiles`` limits the match (default: all known profiles); ``backend`` replaces
    bleak's platform scanner (e.g. ``EmulatedRadio.scanner_backend``).
    """
    specs = list(PROFILES.values() if profiles is None else profiles)
    seen = await BleakScanner.discover(
        timeout=timeout_s, return_adv=True, **_scanner_kwargs(backend)
    )
    found = [hit for device, adv in seen.values() for hit in _matches(device, adv, specs)]
    return sorted(found, key=lambda hit: hit.rssi, reverse=True)


async def find_sensor(
    address_or_name: str,
    timeout_s: float = 10.0,
    *,
    backend: type[BaseBleakScanner] | None = None,
) -> tuple[BLEDevice, ProfileSpec | None] | None:
    """The advertising device with this address (any case) or exact local name, with the
    profile its advertisement matches (None when it matches none); None if not found."""
    wanted = address_or_name.strip()
    profile_of: dict[str, ProfileSpec | None] = {}

    def is_wanted(device: BLEDevice, adv: AdvertisementData) -> bool:
        if device.address.upper() != wanted.upper() and (adv.local_name or "") != wanted:
            return False
        hits = _matches(device, adv, PROFILES.values())
        profile_of[device.address] = hits[0].profile if hits else None
        return True

    device = await BleakScanner.find_device_by_filter(
        is_wanted, timeout=timeout_s, **_scanner_kwargs(backend)
    )
    return None if device is None else (device, profile_of.get(device.address))


async def find_device(
    address_or_name: str,
    timeout_s: float = 10.0,
    *,
    backend: type[BaseBleakScanner] | None = None,
) -> BLEDevice | None:
    """The advertising device with this address (any case) or exact local name, or None."""
    found = await find_sensor(address_or_name, timeout_s, backend=backend)
    return None if found is None else found[0]
