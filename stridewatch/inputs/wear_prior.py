"""How the sensor of a recording sits when worn as intended (its profile's ``worn_axes``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.orientation import WearPrior, parse_wear_prior


def device_wear_prior(profile_name: str | None, device_name: str | None) -> WearPrior | None:
    """The device prior for a profile and advertised name; None when there is none."""
    if not profile_name:
        return None
    from firmware_bridge.profiles import get_profile  # here: CSV inputs need no BLE profiles

    try:
        spec = get_profile(profile_name)
    except ValueError:
        return None
    worn = spec.worn_axes(device_name)
    return None if worn is None else parse_wear_prior(worn)


def recording_wear_prior(meta: Mapping[str, Any] | None) -> WearPrior | None:
    """The device prior of a read recording (traces name their profile; CSV files do not)."""
    meta = meta or {}
    return device_wear_prior(meta.get("profile"), meta.get("device_name"))
