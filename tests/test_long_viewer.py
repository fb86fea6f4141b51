"""The viewer of a long recording (stridewatch.report.long_viewer): walking in detail, the
rest coarse, chosen as the recording streams by; the same page whether the file is streamed
or read whole, and memory that does not hold the recording."""

from __future__ import annotations

import html
import json
import math
import re

import numpy as np

import stridewatch.report.long_viewer as long_viewer
import stridewatch.report.signal as report_signal
from stridewatch.report.long_viewer import LongViewerSegments
from stridewatch.store import filing
from tests.test_streamed_save import _plain_lines, small_stream, walks  # noqa: F401 (fixtures)
from tests.test_table_stream import _write


def _by_definition(t, v, session):
    """The stretches as the module's docstring defines them, one sample at a time."""
    fs = session["sample_rate_hz"]
    steps = {False: math.ceil(fs / 1.0), True: math.ceil(fs / 50.0)}
    bouts = [(b["start_s"] - 2.0, b["end_s"] + 2.0) for b in session["bouts"]]
    out, piece, last, walking, pos = [], [], None, None, 0
    for ti, vi in zip(t, v, strict=True):
        if not (np.isfinite(ti) and np.isfinite(vi)):
            continue
        w = any(a <= ti <= b for a, b in bouts)
        if last is None or ti - last > 0.5 or w != walking:
            out.append(piece)
            piece, walking, pos = [], w, 0
        if pos % steps[w] == 0:
            piece.append((ti, vi))
        pos += 1
        last = ti
    out.append(piece)
    return [(p[0][0], (p[-1][0] - p[0][0]) / (len(p) - 1),
             [int(np.round(x * 1000.0)) for _, x in p]) for p in out if len(p) >= 2]


def test_the_stretches_are_the_definitions_however_the_recording_is_cut():
    rng = np.random.default_rng(11)
    t = np.arange(60_000) / 100.0  # 10 min at 100 Hz
    t[20_000:] += 3.0  # a 3 s gap
    t[41_234:] += 0.7  # and a short one
    v = 1.0 + 0.3 * np.sin(2 * np.pi * 1.8 * t) + rng.normal(0, 0.02, len(t))
    v[[5, 31_000, 31_001]] = np.nan  # samples a reader left empty
    session = {"sample_rate_hz": 100.0,
               "bouts": [{"start_s": 30.0, "end_s": 150.5}, {"start_s": 140.0, "end_s": 199.0},
                         {"start_s": 410.0, "end_s": 530.0}]}
    expected = _by_definition(t, v, session)
    assert {round(dt, 3) for _, dt, _ in expected} == {0.02, 1.0}  # walking and the rest
    for cuts in ([], [1, 2, 999, 20_000, 20_001, 41_234, 50_017], list(range(0, 60_000, 777))):
        segments = LongViewerSegments(session)
        for a, b in zip([0, *cuts], [*cuts, len(t)], strict=True):
            segments.feed(t[a:b], v[a:b])
        got = segments.finish()
        assert [(t0, dt, mg.tolist()) for t0, dt, mg in got] == expected


def _viewer_data(page: str) -> dict:
    return json.loads(html.unescape(re.search(
        r'<script type="application/json" id="viewer-data">(.*?)</script>', page,
        re.S).group(1)))


def test_a_long_recordings_report_streamed_is_the_report_read_whole(tmp_path, monkeypatch,
                                                                     walks, small_stream):  # noqa: F811
    """Past FULL_DETAIL_S (here 2 min of the real ~9 min walks) the report keeps nothing
    while the analysis runs and reads the file again for the viewer: walking at 50 Hz,
    the rest at 1 Hz, the same page as reading the file whole."""
    from stridewatch.cli.report import build_report

    monkeypatch.setattr(long_viewer, "FULL_DETAIL_S", 120.0)
    path = _write(tmp_path / "walk.csv", _plain_lines(walks))
    kept = []

    class Kept(report_signal.KeptSamples):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            kept.append(self)

    monkeypatch.setattr(report_signal, "KeptSamples", Kept)
    streamed = build_report(path, tmp_path / "streamed.html", save=False)
    assert kept and kept[0].gave_up and not kept[0]._t  # nothing held past 2 min
    with monkeypatch.context() as patch:
        patch.setattr(filing, "analyze_streamed", lambda *a, **k: None)  # read whole
        whole = build_report(path, tmp_path / "whole.html", save=False)

    def page(built):
        return re.sub(r"Generated [^<]*", "", built.html_path.read_text(encoding="utf-8"))

    assert page(streamed) == page(whole)
    data = _viewer_data(page(streamed))
    dts = {round(s["dt"], 2) for s in data["segments"]}
    assert dts == {0.01 * 2, 1.0}  # walking every 2nd sample of 100 Hz, the rest 1 Hz
    samples = sum(len(s["mg"]) for s in data["segments"])
    walking_s = streamed.session["walking_s"]
    assert samples < 50 * (walking_s + 4 * 2.0 * len(streamed.session["bouts"])) + \
        streamed.session["duration_s"] + 10
    for s in data["segments"]:  # each stretch lies on the recording's clock
        assert 0 <= s["t0"] <= data["duration_s"]
