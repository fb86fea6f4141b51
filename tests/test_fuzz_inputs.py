"""Fuzzing the input parsers (issue 16): CSV reader, trace reader + decode, rules loader.

Seeded (derandomized) hypothesis runs: each case must end in a result or the
project's own error (InputError, InputFileError, TraceFormatError), never another
exception, within a per-case time budget (the hypothesis deadline) and a memory
budget (tracemalloc peak). The seeded 2,000-case run is ``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import io
import json
import math
import tracemalloc
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.errors import InputError
from analysis.rules import PARAMETERS, PLAN_TABLE, RANGES, builtin_rules
from analysis.simulate import Phase, simulate_walk
from firmware_bridge.emulation.microbit_trace import write_microbit_trace
from firmware_bridge.trace import TraceFormatError, decode_trace, read_trace
from stridewatch.cli import main

MEMORY_BUDGET_MB = 200
FUZZ = settings(max_examples=40, derandomize=True, deadline=timedelta(seconds=20),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@lru_cache(maxsize=1)
def _walk_50hz() -> np.ndarray:
    return simulate_walk([Phase("stand", 2), Phase("walk", 12, cadence_spm=110)], fs_hz=50.0,
                         noise_g=0.01, seed=4).acc


@lru_cache(maxsize=1)
def _base_csv() -> bytes:
    acc = _walk_50hz()
    rows = "\n".join(f"{i / 50:.3f},{x:.4f},{y:.4f},{z:.4f}" for i, (x, y, z) in enumerate(acc))
    return ("t,ax,ay,az\n" + rows + "\n").encode()


@lru_cache(maxsize=1)
def _base_trace(folder: str) -> bytes:
    path = Path(folder) / "base.swtrace"
    if not path.exists():
        write_microbit_trace(path, _walk_50hz())
    return path.read_bytes()


_splices = st.lists(
    st.tuples(st.floats(0, 1), st.integers(0, 40),
              st.one_of(st.binary(max_size=12),
                        st.sampled_from([b"1e308", b"-1e308", b"NaN", b"\n", b",", b"[" * 3000,
                                         b"9" * 300, b"\xff", b'"', b"{", b"0", b"-1"]))),
    min_size=1, max_size=4,
)


def _mutate(data: bytes, splices: list[tuple[float, int, bytes]]) -> bytes:
    for where, cut, insert in splices:
        at = int(where * len(data))
        data = data[:at] + insert + data[at + cut:]
    return data


def _within_budget(run):  # noqa: ANN001, ANN202
    tracemalloc.start()
    try:
        result = run()
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert peak_mb < MEMORY_BUDGET_MB
    return result


@FUZZ
@given(splices=_splices)
def test_csv_reader_and_analysis_end_in_a_result_or_a_clean_error(tmp_path, splices):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(_mutate(_base_csv(), splices))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = _within_budget(lambda: main(["analyze", "--json", str(path)]))
    assert code in (0, 2)
    if code == 2:
        assert any(line.startswith("error: ") for line in err.getvalue().splitlines())
    else:
        session = json.loads(out.getvalue().splitlines()[0])
        assert "NaN" not in json.dumps(session)
        assert session["cadence_spm"] is None or 30 <= session["cadence_spm"] <= 250


@FUZZ
@given(splices=_splices)
def test_trace_reader_and_decode_end_in_samples_or_a_trace_error(tmp_path, splices):
    path = tmp_path / "fuzz.swtrace"
    path.write_bytes(_mutate(_base_trace(str(tmp_path.parent)), splices))

    def read_and_decode():  # noqa: ANN202
        try:
            return decode_trace(read_trace(path))
        except TraceFormatError:
            return None

    decoded = _within_budget(read_and_decode)
    if decoded is not None and len(decoded.t_s):
        assert np.all(np.isfinite(decoded.t_s)) and np.all(np.diff(decoded.t_s) > 0)
        assert decoded.t_s[-1] < 60.0  # never more time than the 14 s the trace can justify ×4
        assert len(decoded.problems) < 40  # summarised, not one per line


_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**400, 10**400),
    st.booleans(), st.text(max_size=20), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text("abc", min_size=1, max_size=3), st.integers(), max_size=2),
)
_KEYS = [(rule, key) for rule, params in PARAMETERS.items() for key in params] + [
    (PLAN_TABLE, k) for k in ("start_min", "goal_min", "step_min", "walks_per_week")
] + [(None, "version"), (None, "format"), ("forward-lean", "enabled"), ("no-such", "x")]


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(
            value) else repr(value)
    if isinstance(value, int | str):
        return json.dumps(value) if isinstance(value, str) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"


@FUZZ
@given(settings_=st.lists(st.tuples(st.sampled_from(_KEYS), _values), max_size=5),
       garbage=st.binary(max_size=8))
def test_rules_loader_accepts_only_values_in_range(settings_, garbage):
    top = [f"{key} = {_toml_value(v)}" for (table, key), v in settings_ if table is None]
    tables: dict[str, list[str]] = {}
    for (table, key), value in settings_:
        if table is not None:
            tables.setdefault(table, []).append(f"{key} = {_toml_value(value)}")
    text = "\n".join(top + [f"[{t}]\n" + "\n".join(lines) for t, lines in tables.items()])
    text += garbage.decode("utf-8", "replace")
    try:
        rules = _within_budget(lambda: builtin_rules().with_overrides(text, "fuzz.toml"))
    except InputError as exc:
        assert str(exc).startswith("fuzz.toml: ")
        return
    for rule_id, rule in rules.rules.items():
        for key, value in rule.params.items():
            low, high, whole = RANGES[PARAMETERS[rule_id][key][1]]
            assert low <= value <= high and (not whole or value == int(value))
    assert isinstance(rules.version, str) and len(rules.version) < 2000
