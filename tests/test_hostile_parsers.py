"""Parsers defended (issue 16): trace line limits, rules value ranges, absurd start times.

Each case is one the review found crashing or passing silently; each now gives one
clear ``error: <file>…`` line and exit 2, or a warning and a correct analysis.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pytest

from analysis.simulate import Phase, simulate_walk
from firmware_bridge.emulation.h10_trace import write_h10_trace
from firmware_bridge.trace import TraceFormatError, read_trace
from stridewatch.cli import main
from stridewatch.store import database as store


@lru_cache(maxsize=1)
def _walk_g() -> np.ndarray:
    sim = simulate_walk([Phase("stand", 3), Phase("walk", 20, cadence_spm=110)],
                        fs_hz=200.0, noise_g=0.01, seed=5)
    return sim.acc


def _trace(tmp_path, name="walk.swtrace"):
    path = tmp_path / name
    write_h10_trace(path, _walk_g())
    return path


def _insert_line(path, index, text):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(index, text + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def _analyze(capsys, *args):
    code = main(["analyze", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_deeply_nested_brackets_line_is_a_clean_error(tmp_path, capsys):
    path = _trace(tmp_path)
    _insert_line(path, 10, "[" * 2048 + "]" * 2048)  # 4 KB: RecursionError before
    code, _, err = _analyze(capsys, path)
    assert code == 2
    assert f"{path}: walk.swtrace line 11: JSON nested deeper than 8 levels" in err
    assert "Traceback" not in err


def test_deeply_nested_last_line_is_ignored_like_a_crash_leftover(tmp_path, capsys):
    path = _trace(tmp_path)
    with path.open("a", encoding="utf-8") as f:
        f.write('{"t":1,"ev":"mark","label":' + "[" * 3000)
    trace = read_trace(path)
    assert any("truncated last line ignored (JSON nested deeper" in p for p in trace.problems)
    code, out, _ = _analyze(capsys, "--json", path)
    assert code == 0
    assert json.loads(out)["steps"] > 20


def test_overlong_line_is_refused_without_reading_it_whole(tmp_path):
    path = _trace(tmp_path)
    _insert_line(path, 5, '{"t":0.5,"ev":"notify","char":"x","hex":"' + "00" * 100_000 + '"}')
    with pytest.raises(TraceFormatError, match="line 6: line longer than 65536 bytes"):
        read_trace(path)


def test_absurd_start_time_is_reported_and_the_session_still_saved(tmp_path, capsys):
    path = _trace(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    header["started_unix_s"] = -1e308
    lines[0] = json.dumps(header) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    # the device clock (Polar) still dates the walk; a clockless header start would not
    code, _, err = _analyze(capsys, "--save", "--db", tmp_path / "s.db", path)
    assert code == 0, err
    assert "started_unix_s -1e+308 is not a time from 1970 to 2200" in err
    assert "saved session 1" in err


BAD_RULES = [
    ("[uneven-steps]\nmin_strides = 1e308\n",
     "[uneven-steps] min_strides must be a whole number of strides from 1 to 10000"),
    ("[uneven-steps]\nmin_strides = 0\n",
     "[uneven-steps] min_strides must be a whole number of strides from 1 to 10000"),
    ("[forward-lean]\nhold_s = 1e308\n",
     "[forward-lean] hold_s must be a number from 0 to 86400 (s), not 1e+308"),
    ("[forward-lean]\nhold_s = " + "9" * 300 + "\n",
     "[forward-lean] hold_s must be a number from 0 to 86400 (s), not a huge integer"),
    ("[slow-pace]\nmin_share_of_walking = 5\n",
     "[slow-pace] min_share_of_walking must be a number from 0 to 1 (fraction), not 5"),
    ("[slow-pace]\nthreshold_spm = 0.5\n", "threshold_spm must be a number from 30 to 250"),
    ("[side-lean]\nthreshold_deg = 400\n", "threshold_deg must be a number from 0 to 90"),
    ('version = {nested = "x"}\n', "version must be text of at most 1000 characters"),
    ('[back-arch]\nguideline = ["a"]\n', "guideline must be text"),
    ("x = " + "[" * 3000 + "]" * 3000 + "\n", "not valid TOML: values nested too deeply"),
]


@pytest.mark.parametrize(("text", "message"), BAD_RULES)
def test_absurd_rules_values_are_refused_by_rules_and_set_rules(tmp_path, capsys, text, message):
    rules = tmp_path / "patient.toml"
    rules.write_text(text, encoding="utf-8")
    walk = tmp_path / "walk.csv"
    walk.write_text("t,ax,ay,az\n0,0,0,1\n", encoding="utf-8")
    code, _, err = _analyze(capsys, "--rules", rules, walk)
    assert code == 2
    assert err.startswith(f"error: {rules}: ") and message in err
    assert len(err.strip().splitlines()) == 1
    code = main(["patient", "set-rules", "042", str(rules), "--db", str(tmp_path / "s.db")])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert store.get_patient_rules(tmp_path / "s.db", "042") is None


def test_non_utf8_rules_file_is_a_clean_error(tmp_path, capsys):
    rules = tmp_path / "latin1.toml"
    rules.write_bytes('[slow-pace]\nguideline = "Gehen Sie zügig"\n'.encode("latin-1"))
    code, _, err = _analyze(capsys, "--rules", rules, tmp_path / "missing.csv")
    assert code == 2
    assert f"error: {rules}: not UTF-8 text (invalid start byte at byte 36)" in err


def test_stored_rules_that_no_longer_validate_are_reported_not_fatal(tmp_path, capsys):
    db = tmp_path / "s.db"
    # stored before the ranges existed (the store itself only checks TOML syntax)
    store.set_patient_rules(db, "042", "[uneven-steps]\nmin_strides = 1e308\n")
    code, out, err = _analyze(capsys, "--json", "--patient", "042", "--db", db, _trace(tmp_path))
    assert code == 0
    assert "warning: patient 042 rules v1: [uneven-steps] min_strides must be" in err
    assert "the default rules apply" in err
    assert json.loads(out)["rules_version"] == "stridewatch-default-2026.11"
    assert store.get_patient_rules(db, "042").toml_text.endswith("1e308\n")  # nothing lost


def test_terminal_escapes_in_file_names_are_shown_not_obeyed(tmp_path, capsys):
    from stridewatch.terminal import terminal_text

    assert terminal_text("walk\x1b]0;pwned\x07\u202e.csv") == "walk\\x1b]0;pwned\\x07\\u202e.csv"
    assert terminal_text("Gehen zügig 中") == "Gehen zügig 中"
    path = tmp_path / "evil\x1b[2J\x1b[31mname.csv"
    path.write_text("t,ax,ay,az\n0,0,0,1\n", encoding="utf-8")
    code, out, err = _analyze(capsys, path)
    assert code == 2
    assert "\x1b" not in err + out
    assert "evil\\x1b[2J\\x1b[31mname.csv" in err
