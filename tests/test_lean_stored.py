"""Stored lean references: `stridewatch calibrate` keeps one per patient and sensor; a later
session without standing uses it, unless the sensor now sits differently (> 20°)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.simulate import DEFAULT_MOUNT, Phase, rotation_matrix, simulate_walk
from firmware_bridge.emulation.h10_trace import RATE_HZ, write_h10_trace
from stridewatch.cli import main
from stridewatch.store import database as store
from stridewatch.store.lean_references import get_lean_reference

# the strap on the chest, turned a little: sensor = MOUNT @ body (forward, right, up)
MOUNT = rotation_matrix(25, -10, 15) @ DEFAULT_MOUNT
# the same strap put on again pitched 30° about the wearer's left-right axis
REMOUNTED = MOUNT @ rotation_matrix(0, 30, 0)


def _trace(path: Path, phases: list[Phase], mount: np.ndarray, seed: int,
           device_name: str = "Polar H10 1A2B3C4D") -> Path:
    sim = simulate_walk(phases, fs_hz=RATE_HZ, mount=mount, noise_g=0.01, seed=seed)
    write_h10_trace(path, sim.acc, device_name=device_name)
    return path


def _analyze(capsys: pytest.CaptureFixture, trace: Path, db: Path, patient: str) -> dict:
    capsys.readouterr()
    assert main(["analyze", "--json", "--patient", patient, "--db", str(db), str(trace)]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def calibrated_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("stored")
    first = _trace(folder / "first.swtrace",
                   [Phase("stand", 8, sagittal_deg=0.0), Phase("walk", 40, sagittal_deg=5.0)],
                   MOUNT, seed=21)
    db = folder / "store.sqlite3"
    assert main(["calibrate", "--patient", "p9", "--db", str(db), str(first)]) == 0
    return folder, db


def test_calibrate_stores_the_standing_gravity(calibrated_store):
    _, db = calibrated_store
    stored = get_lean_reference(db, "p9", "AA:BB:CC:DD:EE:FF")
    assert stored is not None and stored.segment_s is not None
    assert stored.segment_s[0] >= 0 and stored.segment_s[1] <= 8.0
    # the upright gravity reading is the body's up axis in the sensor frame
    g = np.array(stored.gravity_g)
    assert np.degrees(np.arccos(g @ MOUNT[:, 2] / np.linalg.norm(g))) < 1.0
    assert get_lean_reference(db, "p9", "another strap") is None
    assert get_lean_reference(db, "someone else", "AA:BB:CC:DD:EE:FF") is None


def test_a_later_session_without_standing_uses_the_stored_reference(calibrated_store, capsys):
    folder, db = calibrated_store
    later = _trace(folder / "later.swtrace", [Phase("walk", 200, sagittal_deg=14.0)],
                   MOUNT, seed=22)
    session = _analyze(capsys, later, db, "p9")
    assert session["lean"]["reference"] == "stored"
    assert session["lean"]["sagittal_deg_median"] == pytest.approx(14.0, abs=2.0)
    assert "forward-lean" in {f["rule"] for f in session["flags"]}
    # another patient with the same strap has no reference: relative, posture not judged
    other = _analyze(capsys, later, db, "p10")
    assert other["lean"]["reference"] == "relative"
    assert not {f["rule"] for f in other["flags"]} & {"forward-lean", "back-arch", "side-lean"}


def test_a_remounted_sensor_does_not_use_the_stored_reference(calibrated_store, capsys):
    folder, db = calibrated_store
    moved = _trace(folder / "moved.swtrace", [Phase("walk", 200, sagittal_deg=4.0)],
                   REMOUNTED, seed=23)
    session = _analyze(capsys, moved, db, "p9")
    assert session["lean"]["reference"] == "relative"
    notes = [w for w in session["warnings"] if "stored lean reference was not used" in w]
    assert len(notes) == 1 and "worn differently" in notes[0]
    assert "forward-lean" not in {f["rule"] for f in session["flags"]}


def test_calibrate_without_standing_is_refused_and_stores_nothing(calibrated_store, capsys):
    folder, db = calibrated_store
    walking = _trace(folder / "walking.swtrace", [Phase("walk", 30, sagittal_deg=5.0)],
                     MOUNT, seed=24)
    assert main(["calibrate", "--patient", "p11", "--db", str(db), str(walking)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--segment" in err and "Traceback" not in err
    assert get_lean_reference(db, "p11", "AA:BB:CC:DD:EE:FF") is None
    with store.connect(db).connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM lean_references").scalar() == 1


def test_report_and_the_web_app_use_the_stored_reference_as_analyze_does(
        calibrated_store, capsys, tmp_path):
    from stridewatch.cli.report import build_report
    from stridewatch.web import recordings

    folder, db = calibrated_store
    walk = _trace(folder / "reported.swtrace", [Phase("walk", 120, sagittal_deg=14.0)],
                  MOUNT, seed=25)
    analysed = _analyze(capsys, walk, db, "p9")["lean"]
    assert analysed["reference"] == "stored"
    built = build_report(walk, tmp_path / "report.html", patient_id="p9", db=db, save=False)
    assert built.session["lean"] == analysed
    with open(walk, "rb") as handle:  # uploaded in the clinic web app
        filed = recordings.file_upload(db, handle, "walk.swtrace", "p9", tmp_path / "up",
                                       2**26)
    assert store.load_session(db, filed.session_id)["lean"] == analysed
    assert recordings.reanalyse_patient(db, "p9") == 1  # after the patient's rules changed
    assert store.load_session(db, filed.session_id)["lean"] == analysed
