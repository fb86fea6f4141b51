"""Find sensors nearby: scan advertisements and match them to sensor profiles."""

from __future__ import annotations

import asyncio
import contextlib
import re
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


#: Bluetooth addresses as users write them: AA:BB:CC:DD:EE:FF (or with -), or the
#: per-host UUID macOS gives a device instead.
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")
_MACOS_ID = re.compile(r"^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")
#: After the first device with the wanted name answers, listen this long for another
#: one of the same name (straps advertise every 20-100 ms; a second is ample).
DEFAULT_NAME_CONFIRM_S = 1.0


def is_address(text: str) -> bool:
    """True when ``text`` is written as a Bluetooth address (or a macOS device id)."""
    return bool(_MAC.match(text) or _MACOS_ID.match(text))


def _same_address(a: str, b: str) -> bool:
    return a.upper().replace("-", ":") == b.upper().replace("-", ":")


@dataclass(frozen=True)
class Candidate:
    """A device that answered to the name or address asked for (``profile`` may be None)."""

    name: str | None
    address: str
    rssi: int
    device: BLEDevice
    profile: ProfileSpec | None


class AmbiguousDeviceError(LookupError):
    """More than one advertising device answers to the name asked for.

    ``found`` lists them all (strongest first); the message says how to pick one.
    """

    def __init__(self, wanted: str, found: list[Candidate]) -> None:
        self.wanted = wanted
        self.found = found
        listing = "; ".join(
            f"{hit.address} (RSSI {hit.rssi} dBm{', ' + hit.profile.name if hit.profile else ''})"
            for hit in found
        )
        super().__init__(
            f"{len(found)} devices are named {wanted!r}: {listing}. Pick one with "
            f"--device ADDRESS (e.g. --device {found[0].address})"
        )


async def find_sensor(
    address_or_name: str,
    timeout_s: float = 10.0,
    *,
    backend: type[BaseBleakScanner] | None = None,
    confirm_s: float = DEFAULT_NAME_CONFIRM_S,
) -> tuple[BLEDevice, ProfileSpec | None] | None:
    """The advertising device asked for, with the profile its advertisement matches
    (None when it matches none); None if not found within ``timeout_s``.

    Text written as an address matches only a device's address (any case), never an
    advertised name, so a device naming itself after the strap is not taken for it.
    Other text matches only the exact advertised name; since names are not unique,
    the scan goes on for ``confirm_s`` after the first answer and raises
    :class:`AmbiguousDeviceError` listing them when two devices share the name.
    """
    wanted = address_or_name.strip()
    by_address = is_address(wanted)
    candidates: dict[str, Candidate] = {}
    first_answer = asyncio.Event()

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        name = adv.local_name or device.name
        if by_address:
            if not _same_address(device.address, wanted):
                return
        elif name != wanted:
            return
        hits = _matches(device, adv, PROFILES.values())
        candidates[device.address] = Candidate(
            name, device.address, adv.rssi, device, hits[0].profile if hits else None
        )
        first_answer.set()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with BleakScanner(on_advertisement, **_scanner_kwargs(backend)):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(first_answer.wait(), timeout_s)
        if first_answer.is_set() and not by_address:
            await asyncio.sleep(max(0.0, min(confirm_s, deadline - loop.time())))
    if not candidates:
        return None
    if len(candidates) > 1:
        ranked = sorted(candidates.values(), key=lambda c: c.rssi, reverse=True)
        raise AmbiguousDeviceError(wanted, ranked)
    only = next(iter(candidates.values()))
    return only.device, only.profile


async def find_device(
    address_or_name: str,
    timeout_s: float = 10.0,
    *,
    backend: type[BaseBleakScanner] | None = None,
    confirm_s: float = DEFAULT_NAME_CONFIRM_S,
) -> BLEDevice | None:
    """The advertising device with this address or exact name (see ``find_sensor``), or None."""
    found = await find_sensor(address_or_name, timeout_s, backend=backend, confirm_s=confirm_s)
    return None if found is None else found[0]
