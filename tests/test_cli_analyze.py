"""`stridewatch analyze`, `simulate` and `demo` as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stridewatch.cli import main

REQUIRED = {
    "schema", "source", "sample_rate_hz", "duration_s", "walking_s", "steps",
    "initial_contacts_s", "sides", "bouts", "cadence_spm", "asymmetry", "lean", "series", "flags",
}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "walk.csv"
    code = main(["simulate", "-o", str(out), "--phase", "stand:12", "--phase", "walk:330:104",
                 "--phase", "walk:60:104:0:17", "--mount", "0,180,0", "--jitter", "0.002",
                 "--units", "m/s2", "--seed", "4"])
    assert code == 0
    return out


def test_simulate_writes_csv_and_truth(simulated):
    truth = json.loads(simulated.with_suffix(".truth.json").read_text())
    assert truth["acc_units"] == "m/s2"
    assert len(truth["initial_contacts"]) > 600
    assert simulated.read_text().splitlines()[0] == "t,ax,ay,az"


def test_analyze_json_lines_schema_and_truth(simulated, tmp_path, capsys):
    other = tmp_path / "copy.csv"
    other.write_text(simulated.read_text())
    assert main(["analyze", "--json", "--calibrate", "2:10", str(simulated), str(other)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["source"] == str(simulated) and second["source"] == str(other)
    assert REQUIRED <= set(first)
    assert first["schema"] == "stridewatch.session/1"
    assert len(first["initial_contacts_s"]) == len(first["sides"]) == first["steps"]
    truth = json.loads(simulated.with_suffix(".truth.json").read_text())
    assert abs(first["steps"] - len(truth["initial_contacts"])) <= 0.01 * first["steps"]
    assert first["lean"]["reference"] == "calibrated"
    assert {f["rule"] for f in first["flags"]} == {"forward-lean"}
    series = first["series"]
    assert len(series["t_s"]) == len(series["cadence_spm"]) == len(series["sagittal_deg"])
    for bout in first["bouts"]:
        assert set(bout) >= {"start_s", "end_s", "steps", "cadence_spm", "step_time_si_pct"}


def test_analyze_directory_in_name_order(simulated, capsys):
    assert main(["analyze", "--json", str(simulated.parent)]) == 0
    sources = [json.loads(x)["source"] for x in capsys.readouterr().out.splitlines()]
    assert sources == [str(simulated)]


def test_analyze_axes_override(simulated, capsys):
    # Simulated mount 0,180,0 on the default (x up, y right, z forward): x down, z backward.
    assert main(["analyze", "--json", "--axes", "V=-x,AP=-z,ML=y", str(simulated)]) == 0
    session = json.loads(capsys.readouterr().out)
    assert session["axes"]["source"] == "override"
    assert session["lean"]["sagittal_deg_median"] > 0
    assert main(["analyze", "--axes", "V=-x,AP=-z,ML=-y", str(simulated)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "ML points to the wearer's left" in err and "write ML=y" in err


def test_readme_axes_example_is_accepted():
    from analysis.orientation import parse_axes

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    [spec] = re.findall(r'--axes "([^"]+)"', readme)
    axes = parse_axes(spec)  # right-handed: accepted as written
    assert axes.right @ [0, -1, 0] == 1.0


def test_plain_summary_for_the_wearer(simulated, capsys):
    assert main(["analyze", str(simulated)]) == 0
    out = capsys.readouterr().out
    assert "steps a minute" in out and "To work on" in out and "leaned forward" in out


def test_demo_runs_as_installed_command():
    done = subprocess.run([sys.executable, "-m", "stridewatch.cli", "demo"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "sample-walk.csv" in done.stdout
    assert "leaned forward" in done.stdout


def test_per_patient_pace_threshold_changes_flags_and_summary(tmp_path, capsys):
    walk = tmp_path / "slow.csv"
    assert main(["simulate", "-o", str(walk), "--phase", "walk:400:94", "--seed", "2"]) == 0
    rules = tmp_path / "frail.toml"
    rules.write_text("[slow-pace]\nthreshold_spm = 90\n")
    capsys.readouterr()
    assert main(["analyze", str(walk)]) == 0
    default = capsys.readouterr().out
    assert "slower than brisk for 6 min" in default
    assert "(brisk walking is 100 steps a minute or more)" in default
    assert "slow-pace" in default
    assert main(["analyze", "--rules", str(rules), str(walk)]) == 0
    frail = capsys.readouterr().out
    assert "steps a minute: brisk (brisk walking is 90 steps a minute or more)" in frail
    assert "slow-pace" not in frail


def test_summary_times_are_time_into_the_recording(tmp_path, capsys):
    sample = Path(__file__).resolve().parents[1] / "data" / "sample-walk.csv"
    lines = sample.read_text().splitlines()
    shifted = tmp_path / "late-clock.csv"
    rows = [lines[0]]
    for line in lines[1:]:
        t, rest = line.split(",", 1)
        rows.append(f"{float(t) + 86400.0:.5f},{rest}")
    shifted.write_text("\n".join(rows) + "\n")
    assert main(["analyze", "--calibrate", "86402:86412", str(shifted)]) == 0
    out = capsys.readouterr().out
    assert "[forward-lean, 4:45–7:15]" in out
