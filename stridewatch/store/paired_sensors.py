"""The sensor each patient wears (table ``paired_sensors``, revision 0004).

The first device a patient's ``record`` or ``sync`` talks to is remembered as that
patient's sensor. Later, when another device answers for the same patient (a
neighbour's strap, an impostor advertising a look-alike name, a replaced sensor),
the recording still goes ahead but a warning names both devices, so a session is
never filed silently under the wrong wearer's sensor. The pairing is kept as it was
first stored; nothing here overwrites it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from stridewatch.store import schema
from stridewatch.store.database import DbLike, _ensure_patient, _insert, _now_utc, connect
from stridewatch.store.engine import reading, writing


@dataclass(frozen=True)
class PairedSensor:
    """One row of ``paired_sensors``."""

    patient_id: str
    device_address: str
    device_name: str | None
    profile: str | None
    paired_at_utc: str
    source: str | None

    def label(self) -> str:
        """``name [address]`` (or just the address)."""
        return sensor_label(self.device_address, self.device_name)


def sensor_label(address: str, name: str | None) -> str:
    return f"{name} [{address}]" if name else f"[{address}]"


def same_device(a: str, b: str) -> bool:
    """Addresses compare without case (``aa:bb`` is ``AA:BB``)."""
    return a.strip().upper() == b.strip().upper()


def paired_sensor(db: DbLike, patient_id: str) -> PairedSensor | None:
    """The sensor paired with ``patient_id``, or None before the first recording."""
    t = schema.paired_sensors
    with reading(connect(db)) as conn:
        row = conn.execute(
            sa.select(t.c.device_address, t.c.device_name, t.c.profile, t.c.paired_at_utc,
                      t.c.source).where(t.c.patient_id == patient_id)
        ).first()
    return None if row is None else PairedSensor(patient_id, *row)


def pair_sensor(
    db: DbLike, patient_id: str, device_address: str, device_name: str | None,
    profile: str | None, source: str,
) -> tuple[PairedSensor, bool]:
    """Remember this device as the patient's sensor unless one is already paired.

    Returns (the paired sensor, whether it was stored now). An existing pairing is
    never replaced (two processes pairing at once: the first one wins).
    """
    if not patient_id:
        raise ValueError("patient_id must be a non-empty string")
    if not device_address or not device_address.strip():
        raise ValueError("a sensor is paired by its address, which is empty")
    now = _now_utc().isoformat()
    t = schema.paired_sensors
    with writing(connect(db)) as conn:
        _ensure_patient(conn, patient_id)
        stored = conn.execute(
            _insert(conn, t).values(patient_id=patient_id,
                                    device_address=device_address.strip(),
                                    device_name=device_name, profile=profile,
                                    paired_at_utc=now, source=source)
            .on_conflict_do_nothing(index_elements=["patient_id"])
        ).rowcount == 1
    paired = paired_sensor(db, patient_id)
    assert paired is not None
    return paired, stored


def other_sensor_warning(paired: PairedSensor, device_address: str,
                         device_name: str | None) -> str | None:
    """The warning when ``device_address`` is not the patient's paired sensor, else None."""
    if same_device(paired.device_address, device_address):
        return None
    return (f"patient {paired.patient_id}'s sensor is {paired.label()} (paired "
            f"{paired.paired_at_utc[:10]}), but {sensor_label(device_address, device_name)} "
            "answered; check that this is the patient's sensor (the pairing is kept)")


def check_sensor(db: DbLike, patient_id: str, device_address: str,
                 device_name: str | None) -> str | None:
    """Before talking to a device for ``patient_id``: the warning if it is not the paired
    sensor, else None (also None when the patient has no sensor paired yet)."""
    paired = paired_sensor(db, patient_id)
    return None if paired is None else other_sensor_warning(paired, device_address,
                                                             device_name)
