"""Real recordings as they come (issue 10): each repair gives the repaired result and a
warning counting what was repaired; one answer per input, in order."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from analysis.simulate import Phase, simulate_walk
from analysis.timebase import estimate_sample_rate_hz, repair_sample_times
from stridewatch.cli import main


@lru_cache(maxsize=1)
def _walk():
    sim = simulate_walk([Phase("stand", 3, sagittal_deg=0.0), Phase("walk", 30, cadence_spm=108),
                         Phase("stand", 3, sagittal_deg=0.0)], noise_g=0.01, seed=4)
    return sim.t_s, sim.acc / 9.80665 if np.median(np.linalg.norm(sim.acc, axis=1)) > 5 else sim.acc


def _csv(path, header="t,ax,ay,az", t_fmt="{:.2f}", t_scale=1.0, t_offset=0.0, acc_scale=1.0,
         edit=None, sep=","):
    t, acc = _walk()
    rows = [sep.join([t_fmt.format(t_offset + ti * t_scale)] + [f"{v * acc_scale:.5f}" for v in a])
            for ti, a in zip(t, acc, strict=True)]
    if edit:
        edit(rows)
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _analyze(capsys, *args):
    code = main(["analyze", "--json", *map(str, args)])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def _clean_steps(tmp_path, capsys):
    code, (session,), _ = _analyze(capsys, _csv(tmp_path / "clean.csv"))
    assert code == 0 and session["warnings"] == []
    return session


def test_exact_duplicate_rows_are_dropped_and_counted(tmp_path, capsys):
    clean = _clean_steps(tmp_path, capsys)

    def repeat(rows):
        rows.insert(700, rows[699])  # a repeated packet: same stamp, same values
        rows.insert(1500, rows[1499])

    code, (session,), _ = _analyze(capsys, _csv(tmp_path / "dup.csv", edit=repeat))
    assert code == 0
    assert ("2 rows repeating an earlier row exactly (same time and values) dropped"
            in session["warnings"])
    assert session["initial_contacts_s"] == clean["initial_contacts_s"]


def test_equal_stamps_and_small_back_steps_are_retimed(tmp_path, capsys):
    clean = _clean_steps(tmp_path, capsys)

    def jitter(rows):
        rows[311] = rows[310].split(",", 1)[0] + "," + rows[311].split(",", 1)[1]  # t repeats
        rows[900] = "8.95," + rows[900].split(",", 1)[1]  # 0.05 s behind the row before

    code, (session,), _ = _analyze(capsys, _csv(tmp_path / "jitter.csv", edit=jitter))
    assert code == 0
    assert ("2 rows with a time stamp equal to or slightly behind the one before (clock jitter) "
            "re-timed between their neighbours") in session["warnings"]
    assert session["steps"] == clean["steps"]
    t = np.arange(1000) / 100.0
    t[311], t[900] = t[310], 8.95
    repaired = repair_sample_times(t, np.zeros((1000, 3)) + np.arange(1000)[:, None])
    np.testing.assert_allclose(repaired.t_s, np.arange(1000) / 100.0)  # back on the grid
    assert repaired.retimed == 2 and repaired.duplicates_dropped == 0


def test_time_in_milliseconds_and_epoch_nanoseconds_is_detected(tmp_path, capsys):
    clean = _clean_steps(tmp_path, capsys)
    ms = _csv(tmp_path / "ms.csv", t_fmt="{:.0f}", t_scale=1000.0)
    ns = _csv(tmp_path / "ns.csv", header="timestamp,ax,ay,az", t_fmt="{:.0f}", t_scale=1e9,
              t_offset=1_733_000_000_000_000_000)
    code, (s_ms, s_ns), _ = _analyze(capsys, ms, ns)
    assert code == 0
    assert s_ms["input"]["time_unit"] == "ms (relative, detected)"
    assert ("time column read as ms (detected from the sample interval; --time-unit overrides)"
            in s_ms["warnings"])
    assert s_ns["input"]["time_unit"] == "ns (Unix time, detected)"
    assert s_ns["input"]["start_unix_s"] == 1_733_000_000.0
    for session in (s_ms, s_ns):
        assert session["initial_contacts_s"] == clean["initial_contacts_s"]
        assert session["sample_rate_hz"] == 100.0


def test_time_unit_override(tmp_path, capsys):
    # a 100 Hz file whose stamps count in tenths of ms would be detected as µs (0.1 ms steps)
    path = _csv(tmp_path / "ticks.csv", t_fmt="{:.0f}", t_scale=1000.0)
    code, (session,), _ = _analyze(capsys, "--time-unit", "ms", path)
    assert code == 0 and session["input"]["time_unit"] == "ms (relative, given)"
    code, (session,), _ = _analyze(capsys, "--time-unit", "s", path)
    assert code == 2 and session["schema"] == "stridewatch.error/1"


def test_headers_in_any_case_with_aliases_and_units(tmp_path, capsys):
    clean = _clean_steps(tmp_path, capsys)
    upper = _csv(tmp_path / "upper.csv", header="T,AX,AY,AZ")
    alias = _csv(tmp_path / "alias.csv", header="Timestamp (ms),Acc_X,Acc_Y,Acc_Z",
                 t_fmt="{:.0f}", t_scale=1000.0)
    mg = _csv(tmp_path / "mg.csv", header="time;X [mg];Y [mg];Z [mg]", acc_scale=1000.0,
              sep=";")
    mps2 = _csv(tmp_path / "mps2.csv", header="t,ax [m/s²],ay [m/s²],az [m/s²]",
                acc_scale=9.80665)
    code, sessions, _ = _analyze(capsys, upper, alias, mg, mps2)
    assert code == 0
    for session in sessions:
        assert session["initial_contacts_s"] == clean["initial_contacts_s"], session["source"]
    assert sessions[1]["input"]["time_unit"] == "ms (relative, given)"
    assert sessions[2]["acc_units_in"] == "g" and sessions[3]["acc_units_in"] == "m/s2"


def test_rate_of_a_clean_text_file_snaps_to_the_nominal_rate():
    t = np.array([float(f"{x:.2f}") for x in np.arange(100_000) / 100.0])
    assert 1.0 / np.median(np.diff(t)) != 100.0  # what the text gives
    assert estimate_sample_rate_hz(t) == 100.0
    assert abs(estimate_sample_rate_hz(np.arange(1000) / 52.3) - 52.3) < 1e-9  # 0.6 % off 52
    assert estimate_sample_rate_hz(np.arange(1000) / 12.501) == 12.5


def test_a_three_second_walk_is_analysed_with_warnings(tmp_path, capsys):
    sim = simulate_walk([Phase("walk", 3.0, cadence_spm=110)], seed=1)
    planted = len(sim.truth["initial_contacts"])
    path = tmp_path / "short.csv"
    path.write_text("t,ax,ay,az\n" + "\n".join(
        f"{t:.2f},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f}" for t, a in zip(sim.t_s, sim.acc,
                                                                   strict=True)) + "\n")
    code, (session,), _ = _analyze(capsys, path)
    assert code == 0 and planted >= 4
    assert abs(session["steps"] - planted) <= 1
    assert session["cadence_spm"] is not None and abs(session["cadence_spm"] - 110) < 5
    assert session["lean"]["reference"] == "relative"  # no standing to judge posture against
    assert ("only 5 steps in the longest walk: the rolling step-time asymmetry needs more than "
            "20 and is not given (the session figure is)") in session["warnings"]


def test_a_directory_with_one_bad_file_answers_every_input_in_order(tmp_path, capsys):
    folder = tmp_path / "lab"
    folder.mkdir()
    _csv(folder / "a.csv")
    (folder / "b-broken.csv").write_text("t,ax,ay,az\n0.00,0.1,0.2,abc\n", encoding="utf-8")
    _csv(folder / "c.csv")
    (folder / "README.txt").write_text("notes, not a recording\n", encoding="utf-8")
    missing = tmp_path / "missing.csv"
    code, lines, err = _analyze(capsys, folder, missing)
    assert code == 1
    assert [line["schema"] for line in lines] == [
        "stridewatch.session/1", "stridewatch.error/1", "stridewatch.session/1",
        "stridewatch.error/1"]
    assert [line["source"] for line in lines] == [
        str(folder / "a.csv"), str(folder / "b-broken.csv"), str(folder / "c.csv"), str(missing)]
    broken = f"{folder / 'b-broken.csv'}, line 2: column az: 'abc' is not a number"
    assert lines[1]["error"] == broken
    assert lines[3]["error"] == f"{missing}: no such file or directory"
    assert err.count("error: ") == 2

    code = main(["analyze", str(folder)])  # the plain summary: one error line per failed input
    out, err = capsys.readouterr()
    assert code == 1
    assert err.strip().splitlines() == [f"error: {broken}"]
    assert out.count(str(folder / "a.csv")) == 1 and out.count(str(folder / "c.csv")) == 1
