"""The wearer's paired sensor (issue 16): remembered on first use, a different one warned about."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from stridewatch.cli import main
from stridewatch.store import database as store
from stridewatch.store import engine, paired_sensors

STRAP = "A0:9E:1A:1A:2B:3C"  # the emulated H10 (firmware_bridge.emulation)


def test_first_pairing_is_kept_and_another_device_is_named_with_it(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    assert paired_sensors.paired_sensor(db, "W1") is None
    assert paired_sensors.check_sensor(db, "W1", STRAP, "Polar H10 1A2B3C4D") is None
    paired, now = paired_sensors.pair_sensor(db, "W1", STRAP, "Polar H10 1A2B3C4D",
                                             "polar-pmd", source="record a.swtrace")
    assert now and paired.device_address == STRAP and paired.profile == "polar-pmd"
    # the same strap, however its address is cased: no warning
    assert paired_sensors.check_sensor(db, "W1", STRAP.lower(), None) is None
    warning = paired_sensors.check_sensor(db, "W1", "C0:FF:EE:00:00:01", "Polar H10 1A2B3C4D")
    assert warning is not None
    assert f"patient W1's sensor is Polar H10 1A2B3C4D [{STRAP}]" in warning
    assert "but Polar H10 1A2B3C4D [C0:FF:EE:00:00:01] answered" in warning
    # pairing again (another device) never replaces the first one
    again, now = paired_sensors.pair_sensor(db, "W1", "C0:FF:EE:00:00:01", None, None, "sync")
    assert not now and again == paired
    # another patient has their own
    assert paired_sensors.check_sensor(db, "W2", "C0:FF:EE:00:00:01", None) is None


def test_a_revision_0003_store_migrates_to_the_paired_sensors_table(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    old = store.connect(db, migrate=False)
    assert engine.upgrade(old, "0003") == "0003"
    store.save_session(old, {"source": "a.csv", "duration_s": 60.0, "steps": 10},
                       patient_id="W1")
    old.dispose()
    raw = sqlite3.connect(db)
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    raw.close()
    assert "paired_sensors" not in tables and "sessions" in tables
    # opening it with this stridewatch migrates; the old session is still there
    paired_sensors.pair_sensor(db, "W1", STRAP, None, None, "test")
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT version_num FROM alembic_version").fetchone() == ("0004",)
    assert raw.execute("SELECT patient_id, device_address FROM paired_sensors").fetchall() == [
        ("W1", STRAP)]
    assert raw.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
    raw.close()


def _record(tmp_path: Path, db: Path, patient: str, name: str) -> int:
    return main(["record", "--emulate", "--emulate-speed", "40", "--no-calibration",
                 "-o", str(tmp_path / name), "--patient", patient, "--db", str(db)])


def test_record_pairs_on_first_use_and_warns_when_another_sensor_answers(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    assert _record(tmp_path, db, "W1", "first.swtrace") == 0
    out = capsys.readouterr()
    assert f"paired Polar H10 1A2B3C4D [{STRAP}] with patient W1" in out.out
    assert "sensor is" not in out.err
    assert paired_sensors.paired_sensor(db, "W1").device_address == STRAP
    # patient W2 wears another strap; the emulated one answers
    paired_sensors.pair_sensor(db, "W2", "C0:FF:EE:00:00:02", "Polar H10 99999999",
                               "polar-pmd", source="test")
    assert _record(tmp_path, db, "W2", "second.swtrace") == 0
    out = capsys.readouterr()
    (warning,) = [line for line in out.err.splitlines() if "sensor is" in line]
    assert warning.startswith("warning: ")
    assert "W2's sensor is Polar H10 99999999 [C0:FF:EE:00:00:02]" in warning
    assert f"but Polar H10 1A2B3C4D [{STRAP}] answered" in warning
    assert "paired" not in out.out.replace("(paired", "")
    assert paired_sensors.paired_sensor(db, "W2").device_address == "C0:FF:EE:00:00:02"
    assert len(store.list_sessions(db, patient_id="W2")) == 1  # recorded and saved anyway


def test_sync_pairs_and_warns_when_another_sensor_answers(tmp_path, capsys):
    db = tmp_path / "store.sqlite3"
    patient = "W1"
    assert main(["sync", "--emulate", "verity-sense", "--patient", patient, "--db", str(db),
                 "--traces", str(tmp_path / "t")]) == 0
    paired = paired_sensors.paired_sensor(db, patient)
    assert paired is not None and paired.profile == "polar"
    capsys.readouterr()
    store_engine = store.connect(db)
    with store_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE paired_sensors SET device_address = 'C0:FF:EE:00:00:03'")
    assert main(["sync", "--emulate", "verity-sense", "--patient", patient, "--db", str(db),
                 "--traces", str(tmp_path / "t")]) == 0
    err = capsys.readouterr().err
    assert f"{patient}'s sensor is" in err and "[C0:FF:EE:00:00:03]" in err
    assert f"[{paired.device_address}] answered" in err
