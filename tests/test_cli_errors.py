"""Every user mistake ends in one `error: …` line and exit status 2, with nothing left behind.

Each case runs the command as a user would (``main([...])`` or a real process where a pipe
is involved) and checks the folder and the store afterwards.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis.simulate import Phase, simulate_walk
from firmware_bridge.emulation.h10_trace import write_h10_trace
from stridewatch.cli import main
from stridewatch.store import database as store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample-walk.csv"


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = simulate_walk([Phase("stand", 5, sagittal_deg=0.0), Phase("walk", 30)],
                        fs_hz=200.0, noise_g=0.01, seed=2)
    path = tmp_path_factory.mktemp("trace") / "walk.swtrace"
    write_h10_trace(path, sim.acc)
    return path


def one_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``argv``; assert exit 2 with exactly one `error: ` line on stderr; return it."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert "Traceback" not in err[0]
    return err[0]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def stored_sessions(db: Path) -> int:
    return len(store.list_sessions(db)) if db.exists() else 0


def test_version_and_bare_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("stridewatch ")
    assert main([]) == 0
    usage = capsys.readouterr().out.splitlines()
    assert usage[0].startswith("usage: stridewatch COMMAND")
    commands = [line.split()[0] for line in usage[1:] if line.startswith("  ")]
    assert commands[0] == "demo" and "analyze" in commands and "report" in commands


@pytest.mark.parametrize("option", ["-o", "--pdf"])
def test_report_into_a_missing_folder_writes_and_stores_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str) -> None:
    db = tmp_path / "s.sqlite3"
    argv = ["report", str(SAMPLE), "--db", str(db), "--patient", "p1"]
    argv += (["-o", str(tmp_path / "missing" / "r.html")] if option == "-o" else
             ["-o", str(tmp_path / "r.html"), "--pdf", str(tmp_path / "missing" / "r.pdf")])
    line = one_error(capsys, argv)
    assert f"folder {tmp_path / 'missing'} does not exist" in line
    assert stored_sessions(db) == 0
    assert [n for n in files_in(tmp_path) if not n.startswith("s.sqlite3")] == []


def test_report_on_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error(capsys, ["report", str(tmp_path), "-o", str(tmp_path / "r.html"),
                              "--no-save"])
    assert line == f"error: {tmp_path}: is a folder; `report` takes one recording " \
                   "(.csv or .swtrace); `analyze` takes folders"
    assert files_in(tmp_path) == []


def test_export_and_simulate_into_a_missing_folder(tmp_path: Path, trace: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing"
    assert "does not exist" in one_error(capsys, ["export", str(trace), "-o",
                                                  str(missing / "w.csv")])
    assert "does not exist" in one_error(capsys, ["simulate", "-o", str(missing / "s.csv")])
    assert files_in(tmp_path) == []


def test_record_into_a_missing_folder_fails_before_touching_the_radio(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import firmware_bridge.scanner as scanner

    async def no_scan(*args: object, **kwargs: object) -> list:
        raise AssertionError("scanned although the output cannot be written")

    monkeypatch.setattr(scanner, "scan", no_scan)
    line = one_error(capsys, ["record", "-o", str(tmp_path / "missing" / "w.swtrace"),
                              "--db", str(tmp_path / "s.sqlite3")])
    assert "does not exist" in line
    assert files_in(tmp_path) == []


def test_completed_outputs_replace_the_target_only_when_whole(tmp_path: Path,
                                                              trace: Path) -> None:
    out = tmp_path / "w.csv"
    out.write_text("old\n")
    assert main(["export", str(trace), "-o", str(out)]) == 0
    assert out.read_text().startswith("t,ax,ay,az\n")
    assert files_in(tmp_path) == ["w.csv"]  # no temporary file left beside it


def test_bad_dates_say_what_a_date_looks_like(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    line = one_error(capsys, ["history", "--since", "2025-13-01", "--db",
                              str(tmp_path / "s.sqlite3")])
    assert "'2025-13-01' is not a date; write YYYY-MM-DD" in line
    assert "fromisoformat" not in line
    assert files_in(tmp_path) == []


def test_replay_of_a_csv_says_it_is_not_a_trace(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error(capsys, ["replay", str(SAMPLE)])
    assert line == (f"error: {SAMPLE}: not a .swtrace trace (a CSV recording: use "
                    "`stridewatch analyze` or `report` on it)")


def test_scan_without_bluetooth_says_so_with_the_fix(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import firmware_bridge.scanner as scanner

    async def no_bluez(*args: object, **kwargs: object) -> list:
        # what bleak raises when the system D-Bus socket of BlueZ is absent
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(scanner, "scan", no_bluez)
    status = main(["scan", "--timeout", "0.1"])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "scanning for supported sensors for 0.1 s …"  # progress first
    assert len(err) == 2 and err[1].startswith("error: no Bluetooth adapter or BlueZ not "
                                               "running")
    assert "sudo systemctl start bluetooth" in err[1] and "--emulate" in err[1]


def test_broken_pipe_ends_quietly() -> None:
    # `stridewatch analyze X | head -1`: the reader leaves after one line
    proc = subprocess.Popen([sys.executable, "-m", "stridewatch", "analyze", str(SAMPLE),
                             str(SAMPLE), str(SAMPLE)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert first.strip() == str(SAMPLE).encode()
    assert err == ""  # no traceback, no "Exception ignored"
    assert proc.returncode == 141


def test_readme_first_command_installs_what_record_emulate_needs() -> None:
    import tomllib

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = next(line for line in readme.splitlines() if line.startswith("pip install"))
    extras = first.split('"')[1] if '"' in first else ""
    assert extras.startswith(".[") and "emulate" in extras, first
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.startswith("bumble") for d in project["optional-dependencies"]["emulate"])


def test_rsc_foot_pod_traces_are_refused_in_one_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from firmware_bridge.profiles.rsc import RSC_MEASUREMENT_UUID
    from firmware_bridge.trace import TraceWriter

    path = tmp_path / "pod.swtrace"
    with TraceWriter(path, "rsc") as writer:
        for i in range(30):  # speed 1.5 m/s, cadence 110/min, once a second
            writer.record_notify(RSC_MEASUREMENT_UUID, bytes.fromhex("00 80 01 6E"), float(i))
    line = one_error(capsys, ["replay", str(path)])  # was a TypeError traceback
    assert "sends cadence only, no acceleration" in line
    assert one_error(capsys, ["analyze", str(path)]).startswith(f"error: {path}")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Running Speed and Cadence" not in readme.split("## How it works")[0]
