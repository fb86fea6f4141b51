"""Every input error named in the issue gets a message naming the file, the line and the problem."""

from __future__ import annotations

import numpy as np

from stridewatch.cli import main


def _write(path, rows, header="t,ax,ay,az"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _good_rows(n=1500, fs=100.0):
    t = np.arange(n) / fs
    return [f"{x:.2f},0.01,0.02,0.99" for x in t]


def _run(capsys, *args):
    code = main(["analyze", *map(str, args)])
    return code, capsys.readouterr().err


def test_missing_columns(tmp_path, capsys):
    path = _write(tmp_path / "cols.csv", [r.rsplit(",", 1)[0] for r in _good_rows()],
                  header="t,ax,ay")
    code, err = _run(capsys, path)
    assert code == 2
    assert f"{path}, line 1: missing column(s) az" in err


def test_non_numeric_cell(tmp_path, capsys):
    rows = _good_rows()
    rows[41] = "0.41,0.01,abc,0.99"
    path = _write(tmp_path / "text.csv", rows)
    code, err = _run(capsys, path)
    assert code == 2
    assert f"{path}, line 43: column ay: 'abc' is not a number" in err


def test_nan_cell(tmp_path, capsys):
    rows = _good_rows()
    rows[99] = "0.99,0.01,,0.99"
    path = _write(tmp_path / "nan.csv", rows)
    code, err = _run(capsys, path)
    assert f"{path}, line 101: acceleration is NaN or infinite (missing value)" in err
    assert code == 2


def test_time_going_back_more_than_jitter(tmp_path, capsys):
    rows = _good_rows()
    rows[500] = "1.00,0.03,0.02,0.99"
    path = _write(tmp_path / "back.csv", rows)
    code, err = _run(capsys, path)
    assert code == 2
    assert (f"{path}, line 502: time goes backwards: t=1 s after t=4.99 s "
            "(more than 0.5 s back is not clock jitter)") in err


def test_pervasive_disorder_names_the_first_lines(tmp_path, capsys):
    rows = _good_rows()
    for i in range(100, 1500, 50):  # 28 of 1500 rows (1.9 %) repeat the stamp before them
        rows[i] = rows[i - 1].split(",", 1)[0] + ",0.02,0.02,0.99"
    path = _write(tmp_path / "disorder.csv", rows)
    code, err = _run(capsys, path)
    assert code == 2
    assert (f"{path}, line 102: time stamps out of order on 28 of 1500 rows (1.9 %, more "
            "than 1 %), first at lines 102, 152, 202, 252, 302") in err


def test_too_short(tmp_path, capsys):
    path = _write(tmp_path / "short.csv", _good_rows(n=250))
    code, err = _run(capsys, path)
    assert code == 2
    assert f"{path}: only 2.50 s of data; need at least 3 s to analyse" in err


def test_implausible_magnitude(tmp_path, capsys):
    rows = _good_rows()
    rows[300] = "3.00,0.01,0.02,99.0"
    path = _write(tmp_path / "spike.csv", rows)
    code, err = _run(capsys, path)
    assert f"{path}, line 302: implausible acceleration magnitude 99 g" in err


def test_implausible_median_magnitude(tmp_path, capsys):
    rows = [r.replace("0.99", "3.5") for r in _good_rows()]
    path = _write(tmp_path / "units.csv", rows)
    code, err = _run(capsys, path)
    assert "median magnitude 3.5 is neither ~1 (g) nor ~9.81 (m/s²)" in err


def test_wrong_units_override(tmp_path, capsys):
    path = _write(tmp_path / "g.csv", _good_rows())
    code, err = _run(capsys, path, "--units", "m/s2")
    assert "with --units m/s2 the median acceleration is 0.101 g" in err


def test_one_bad_file_does_not_stop_the_others(tmp_path, capsys):
    bad = _write(tmp_path / "a-bad.csv", _good_rows(n=200))
    good = _write(tmp_path / "b-good.csv", _good_rows())
    code = main(["analyze", "--json", str(bad), str(good)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "a-bad.csv" in err
    assert '"source":"' + str(good) in out
