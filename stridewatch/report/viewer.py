"""The report's signal viewer: the whole recording as an overview (drawn here as SVG, so the
PDF has it too) and the data the page's script draws a zoomable detail window from.

Times in the viewer are seconds into the recording. The raw signal is split into gap-free
segments, so a gap is never drawn over: the overview leaves it blank and hatched, and the
detail window draws one trace per segment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np

from analysis.timebase import MAX_GAP_S
from stridewatch.report.durations import format_clock, format_duration
from stridewatch.report.facts import RULE_NAMES, clipped_flags, clock_offset_s
from stridewatch.report.figures import COLOR_LEFT, COLOR_MAIN, COLOR_RIGHT, gaps_s, side_label
from stridewatch.report.limits import finite_or_none
from stridewatch.report.signal import ReportSignal

MAX_VIEWER_RATE_HZ = 50.0  # samples kept per second for the detail window
OVERVIEW_WIDTH = 960
INITIAL_WINDOW_S = 20.0
# presentation attributes as well as classes: the PDF's SVG renderer does not apply page CSS
_TEXT = 'font-size="11" fill="#333333" font-family="DejaVu Sans, sans-serif"'


@dataclass(frozen=True)
class Jump:
    """A place the viewer can jump to (seconds into the recording)."""

    kind: str  # flag, bout, gap
    label: str
    start_s: float
    end_s: float
    rule: str = ""

    @property
    def when(self) -> str:
        return f"{format_clock(self.start_s)}–{format_clock(self.end_s)}"


@dataclass(frozen=True)
class Viewer:
    overview_svg: str  # markup built here with every text escaped
    data: dict[str, Any]  # JSON for the page's script
    jumps: list[Jump]
    gaps: list[Jump]


def signal_segments(signal: ReportSignal, offset_s: float) -> list[dict[str, Any]]:
    """Gap-free stretches of the signal, at most ``MAX_VIEWER_RATE_HZ``, values in milli-g
    (a long recording's, as ``stridewatch.report.long_viewer`` chose them)."""
    if signal.stretches is not None:
        return [{"t0": round(t0 - offset_s, 3), "dt": round(dt, 6), "mg": mg}
                for t0, dt, mg in signal.stretches]
    t = np.asarray(signal.t_s, dtype=float)
    v = np.asarray(signal.vertical_g, dtype=float)
    keep = np.isfinite(t) & np.isfinite(v)
    if not keep.all():  # (a copy only when there is something to leave out)
        t, v = t[keep], v[keep]
    del keep
    if len(t) < 2:
        return []
    breaks = np.flatnonzero(np.diff(t) > MAX_GAP_S) + 1
    out = []
    for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(t)], strict=True):
        seg_t, seg_v = t[a:b], v[a:b]
        if len(seg_t) < 2:
            continue
        dt = float(np.median(np.diff(seg_t)))
        step = max(1, math.ceil(1.0 / (dt * MAX_VIEWER_RATE_HZ))) if dt > 0 else 1
        out.append({
            "t0": round(float(seg_t[0]) - offset_s, 3),
            "dt": round(dt * step, 6),
            "mg": milli_g(seg_v[::step]),
        })
    return out


def milli_g(vertical_g: np.ndarray) -> np.ndarray:
    """The viewer's values: the vertical acceleration in whole milli-g, (n,) int."""
    return np.round(np.asarray(vertical_g) * 1000.0).astype(np.int64)


#: Samples written to the page's JSON at a time (a day at 50 Hz is 4.3 M of them: made into
#: Python ints all at once they would take ~150 MB).
JSON_BLOCK_SAMPLES = 1 << 16


def data_json(data: Mapping[str, Any]) -> str:
    """The viewer's ``data`` as JSON for the page, exactly as jinja's ``tojson`` writes it
    (keys sorted, ``<>&'`` escaped: safe inside a ``<script>`` element), each segment's
    samples (``"mg"``, an int array) written a block at a time."""
    from jinja2.utils import htmlsafe_json_dumps

    samples = [segment["mg"] for segment in data["segments"]]
    marked = {**data, "segments": [{**segment, "mg": f"\0{k}\0"}
                                   for k, segment in enumerate(data["segments"])]}
    text = str(htmlsafe_json_dumps(marked, sort_keys=True))
    parts = re.split(r'"\\u0000(\d+)\\u0000"', text)
    for i in range(1, len(parts), 2):
        parts[i] = _ints_json(samples[int(parts[i])])
    return "".join(parts)


def _ints_json(values: np.ndarray) -> str:
    """``json.dumps(values.tolist())`` without the whole list."""
    blocks = [", ".join(map(str, values[a:a + JSON_BLOCK_SAMPLES].tolist()))
              for a in range(0, len(values), JSON_BLOCK_SAMPLES)]
    return "[" + ", ".join(blocks) + "]"


def jumps_for(session: Mapping[str, Any]) -> tuple[list[Jump], list[Jump]]:
    """(flags then bouts, gaps) as viewer destinations."""
    offset = clock_offset_s(session)
    jumps = [
        Jump("flag", RULE_NAMES.get(str(f.get("rule")), str(f.get("rule"))),
             f["start_s"] - offset, f["end_s"] - offset, str(f.get("rule")))
        for f in clipped_flags(session)
    ]
    for i, bout in enumerate(session.get("bouts") or [], start=1):
        a, b = finite_or_none(bout.get("start_s")), finite_or_none(bout.get("end_s"))
        if a is not None and b is not None and b > a:
            jumps.append(Jump("bout", f"walk {i}", a - offset, b - offset))
    gaps = [Jump("gap", f"gap of {format_duration(b - a)}", a - offset, b - offset)
            for a, b in gaps_s(session)]
    return jumps, gaps


def _ticks(duration_s: float, width_px: float, min_px: float = 70.0) -> list[float]:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if step * width_px / max(duration_s, 1e-9) >= min_px:
            return [k * step for k in range(int(duration_s // step) + 1)]
    return [0.0, duration_s]


def overview_svg(session: Mapping[str, Any], segments: Sequence[Mapping[str, Any]],
                 jumps: Sequence[Jump], gaps: Sequence[Jump]) -> str:
    """The whole recording: signal envelope, walking bouts, one strip per flagged rule, gaps
    hatched; ``#viewer-window`` marks what the detail window shows."""
    duration = finite_or_none(session.get("duration_s")) or max(
        (s["t0"] + s["dt"] * len(s["mg"]) for s in segments), default=1.0)
    duration = max(duration, 1e-3)
    rules = [r for r in RULE_NAMES if any(j.rule == r for j in jumps)]
    rules += sorted({j.rule for j in jumps if j.kind == "flag" and j.rule not in rules})
    left, right, top = 110, 10, 6
    plot_w = OVERVIEW_WIDTH - left - right
    sig_h, row_h = 70, 14
    height = top + sig_h + row_h * (1 + len(rules)) + 22

    def x(sec: float) -> float:
        return round(left + plot_w * min(max(sec, 0.0), duration) / duration, 1)

    values = np.concatenate([np.asarray(s["mg"]) for s in segments] or [np.zeros(0, int)])
    lo, hi = (float(np.percentile(values, 0.5)), float(np.percentile(values, 99.5))) \
        if len(values) else (0.0, 1.0)
    del values
    hi = hi if hi > lo else lo + 1.0

    def y(mg: float) -> float:
        return round(top + sig_h * (1 - (min(max(mg, lo), hi) - lo) / (hi - lo)), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="viewer-overview" class="overview" '
        f'viewBox="0 0 {OVERVIEW_WIDTH} {height}" width="{OVERVIEW_WIDTH}" height="{height}" '
        f'role="img" aria-label="Whole recording overview" data-duration="{duration:.3f}">',
        f'<rect class="plot-bg" fill="#ffffff" x="{left}" y="{top}" width="{plot_w}" '
        f'height="{sig_h}"/>',
        f'<text class="row-label" {_TEXT} x="{left - 6}" y="{top + sig_h / 2 + 4}" '
        'text-anchor="end">vertical acc.</text>',
    ]
    for seg in segments:  # min/max envelope per pixel column
        n = len(seg["mg"])
        cols = max(1, int(x(seg["t0"] + seg["dt"] * n) - x(seg["t0"])))
        chunks = np.array_split(np.asarray(seg["mg"], dtype=float), min(cols, n))
        path = []
        t = seg["t0"]
        for chunk in chunks:
            px = x(t)
            path.append(f"M{px} {y(chunk.max())}V{y(chunk.min())}")
            t += seg["dt"] * len(chunk)
        parts.append(f'<path class="envelope" fill="none" stroke-width="1" '
                     f'stroke="{COLOR_MAIN}" d="{"".join(path)}"/>')
    row_y = top + sig_h + 4
    parts.append(f'<text class="row-label" {_TEXT} x="{left - 6}" y="{row_y + 10}" '
                 'text-anchor="end">walking</text>')
    for j in jumps:
        if j.kind == "bout":
            parts.append(f'<rect class="bout" fill="#9db4cc" x="{x(j.start_s)}" y="{row_y + 2}" '
                         f'width="{max(x(j.end_s) - x(j.start_s), 1)}" height="{row_h - 4}"/>')
    for i, rule in enumerate(rules, start=1):
        ry = row_y + i * row_h
        name = RULE_NAMES.get(rule, rule)
        parts.append(f'<text class="row-label" {_TEXT} x="{left - 6}" y="{ry + 10}" '
                     f'text-anchor="end">{escape(name)}</text>')
        for j in jumps:
            if j.kind == "flag" and j.rule == rule:
                parts.append(f'<rect class="flag" fill="#f4a6a6" data-rule="{escape(rule)}" '
                             f'x="{x(j.start_s)}" y="{ry + 2}" '
                             f'width="{max(x(j.end_s) - x(j.start_s), 1)}" '
                             f'height="{row_h - 4}"/>')
    bottom = row_y + row_h * (1 + len(rules))
    for g in gaps:
        parts.append(f'<rect class="gap" fill="#eeeeee" stroke="#777777" '
                     f'stroke-dasharray="3 2" x="{x(g.start_s)}" y="{top}" '
                     f'width="{max(x(g.end_s) - x(g.start_s), 1)}" height="{bottom - top}">'
                     f"<title>no data {escape(g.when)}</title></rect>")
    for tick in _ticks(duration, plot_w):
        parts.append(f'<line class="grid" stroke="#e4e4e4" x1="{x(tick)}" x2="{x(tick)}" '
                     f'y1="{top}" '
                     f'y2="{bottom}"/><text class="tick" {_TEXT} x="{x(tick)}" y="{bottom + 14}" '
                     f'text-anchor="middle">{format_clock(tick)}</text>')
    parts.append(f'<rect id="viewer-window" fill="#1f5f99" fill-opacity="0.12" '
                 f'stroke="#1f5f99" x="{left}" y="{top}" width="0" '
                 f'height="{bottom - top}"/>')
    parts.append("</svg>")
    return "".join(parts)


def build_viewer(session: Mapping[str, Any], signal: ReportSignal) -> Viewer:
    offset = clock_offset_s(session)
    segments = signal_segments(signal, offset)
    jumps, gaps = jumps_for(session)
    duration = finite_or_none(session.get("duration_s")) or 0.0
    contacts = [
        [round(t - offset, 3), side_label(side)]
        for t, side in zip(session.get("initial_contacts_s") or [], session.get("sides") or [],
                           strict=False)
        if finite_or_none(t) is not None
    ]
    first_walk = next((j.start_s for j in jumps if j.kind == "bout"), 0.0)
    data = {
        "duration_s": duration,
        "initial_s": max(0.0, first_walk - 2.0),
        "initial_length_s": min(INITIAL_WINDOW_S, duration) if duration else INITIAL_WINDOW_S,
        "segments": segments,
        "contacts": contacts,
        "flags": [{"rule": j.rule, "name": j.label, "start_s": j.start_s, "end_s": j.end_s}
                  for j in jumps if j.kind == "flag"],
        "gaps": [{"start_s": g.start_s, "end_s": g.end_s} for g in gaps],
        "colors": {"L": COLOR_LEFT, "R": COLOR_RIGHT},
    }
    return Viewer(overview_svg(session, segments, jumps, gaps), data, jumps, gaps)
