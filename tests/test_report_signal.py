"""The report's kept signal (stridewatch.report.signal.KeptSamples): what a streamed report
keeps of each chunk while the analysis runs, and the signal it gives afterwards."""

from __future__ import annotations

import gc
import weakref

import numpy as np

from analysis.streaming import SampleChunk
from analysis.units import to_g
from stridewatch.report.signal import KeptSamples, vertical_g


def _parsed_chunks(rows: int, chunks: int) -> tuple[list[weakref.ref], object]:
    """Chunks as the CSV stream gives them: time and acceleration are views of the parsed
    table, which holds the gyro columns too; with weak references to those tables."""
    rng = np.random.default_rng(3)
    tables = []

    def made():
        for k in range(chunks):
            table = np.column_stack([(k * rows + np.arange(rows)) / 100.0,
                                     rng.normal(0, 2, (rows, 3)) + [9.81, 0, 0],
                                     rng.normal(0, 50, (rows, 3))])
            tables.append(weakref.ref(table))
            yield SampleChunk(t_s=table[:, 0], acc=table[:, 1:4], gyro_dps=table[:, 4:7],
                              first_row=k * rows)
    return tables, made()


def test_the_kept_samples_do_not_hold_the_parsed_tables_and_give_the_signal():
    tables, chunks = _parsed_chunks(1000, 5)
    kept = KeptSamples()
    expected_t, expected_v = [], []
    up = (0.96, 0.28, 0.0)
    for chunk in kept.tap(chunks):  # what the analysis sees, unchanged
        expected_t.append(chunk.t_s.copy())
        expected_v.append(vertical_g(to_g(chunk.acc, "m/s2"), up))
        del chunk
    gc.collect()
    assert len(tables) == 5 and all(ref() is None for ref in tables)  # none held alive
    signal = kept.signal(lambda acc: to_g(acc, "m/s2"), up, 100.0)
    np.testing.assert_array_equal(signal.t_s, np.concatenate(expected_t))
    np.testing.assert_array_equal(signal.vertical_g, np.concatenate(expected_v))
    assert signal.sample_rate_hz == 100.0
    assert len(kept.signal(lambda acc: acc, None, None).t_s) == 0  # given once, then let go


def test_the_viewers_json_is_what_tojson_writes_of_the_same_data():
    """The page's viewer data, written a block of samples at a time, is byte for byte what
    jinja's ``tojson`` writes of it as plain lists (keys sorted; <, >, & and ' escaped)."""
    from jinja2 import Environment

    import stridewatch.report.viewer as viewer

    rng = np.random.default_rng(5)
    segments = [{"t0": 0.0, "dt": 0.02, "mg": rng.integers(-3000, 3000, 200_001)},
                {"t0": 4100.5, "dt": 0.02, "mg": np.zeros(0, dtype=np.int64)},
                {"t0": 4200.0, "dt": 0.020004, "mg": np.array([1000, -7, 0])}]
    data = {"segments": segments, "duration_s": 4300.0,
            "flags": [{"name": "lean <b>'&'</b>", "rule": "trunk_lean", "start_s": 1.0,
                       "end_s": 2.5}],
            "colors": {"L": "#1f77b4", "R": "#ff7f0e"}, "gaps": []}
    as_lists = {**data, "segments": [{**s, "mg": s["mg"].tolist()} for s in segments]}
    expected = Environment().from_string("{{ d|tojson }}").render(d=as_lists)
    assert viewer.data_json(data) == expected
    assert "\\u003cb\\u003e\\u0027\\u0026\\u0027" in expected  # the escaping was exercised
