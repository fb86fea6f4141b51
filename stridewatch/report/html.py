"""Walk reports: one self-contained HTML file (and a PDF with the same content) per session,
plus a history page of weekly plan progress and per-session trends.

Input is the ``stridewatch.session/1`` dict, a ``ReportSignal`` (raw vertical acceleration for
the zoomable excerpt) and a provenance dict. Every piece of text that comes from inputs (file
names, patient IDs, rule names, flag messages, provenance values) is HTML-escaped; the page
also carries a Content-Security-Policy that allows only its own script (by hash) and
``data:`` images, so it needs no network and cannot load anything.
"""

from __future__ import annotations

import base64
import hashlib
import html
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from stridewatch.report import figures
from stridewatch.report import lean_reference as lean_words
from stridewatch.report.durations import format_clock, format_duration
from stridewatch.report.figures import Thresholds, finite_or_none

SESSION_SCHEMA = "stridewatch.session/1"
FAST_SPM = 120.0  # literature band: >= 120 steps/min is fast walking
EXCERPT_LENGTH_S = 20.0


@dataclass(frozen=True)
class ReportSignal:
    """Raw signal for the report's zoomable excerpt.

    ``t_s``: sample times in seconds from the start of the recording (same clock as the
    session's ``initial_contacts_s``); ``vertical_g``: vertical acceleration in g (gravity
    included or removed, either is fine). ``sample_rate_hz`` is informational.
    """

    t_s: np.ndarray
    vertical_g: np.ndarray
    sample_rate_hz: float | None = None

    def __post_init__(self) -> None:
        if len(self.t_s) != len(self.vertical_g):
            raise ValueError(
                f"t_s has {len(self.t_s)} samples but vertical_g has {len(self.vertical_g)}"
            )


@dataclass(frozen=True)
class Advice:
    """One thing to change next time, with the guideline it comes from."""

    rule: str
    text: str
    guideline: str


@dataclass(frozen=True)
class WearerSummary:
    """Plain-language summary for the wearer (unescaped text; shared by HTML and PDF)."""

    facts: list[str]
    posture: str
    advice: list[Advice]


# Plain-language advice per rule id, each tied to the walking guideline it comes from.
_ADVICE: dict[str, tuple[str, str]] = {
    "slow-pace": (
        "Pick up the pace a little: aim for walking that makes you breathe harder while you "
        "can still hold a conversation (about {brisk} steps a minute or more).",
        "Walk briskly: fast enough to raise your heart rate, while still able to talk.",
    ),
    "forward-lean": (
        "Walk tall: keep your head up and your eyes on the path ahead, and try not to bend "
        "forward from the waist, especially when walking uphill.",
        "Posture: head up, gaze ahead, no slouching, do not lean too far forward "
        "(also on inclines).",
    ),
    "back-arch": (
        "Keep your back in a comfortable neutral position rather than arching it backwards.",
        "Posture: do not arch the back excessively.",
    ),
    "side-lean": (
        "Try to keep your upper body centred over both legs instead of tilting to one side.",
        "Even loading: favouring one side loads the lower back unevenly.",
    ),
    "uneven-steps": (
        "Aim for even steps: the same length and rhythm on both legs. Slowing down slightly "
        "can help if one side feels uncomfortable.",
        "Even steps: limping, favouring one leg or uneven steps load the lower back "
        "asymmetrically.",
    ),
    "no-break": (
        "On walks longer than about half an hour, stop for a short break.",
        "On walks longer than about 30 minutes, take short breaks.",
    ),
    "short-walk": (
        "Build up gradually: walks of at least 5 minutes, working up towards 30 minutes.",
        "Build up gradually: start with about 5-minute walks and work up to 30 minutes, "
        "3–4 times a week.",
    ),
}
_KEEP_GOING = (
    "Keep it up, and build up gradually towards 30-minute walks, 3–4 times a week.",
    "Build up gradually: start with about 5-minute walks and work up to 30 minutes, "
    "3–4 times a week.",
)
_RULE_NAMES = {
    "slow-pace": "slow pace",
    "forward-lean": "leaning forward",
    "back-arch": "arching backwards",
    "side-lean": "leaning to the side",
    "uneven-steps": "uneven steps",
    "no-break": "no break",
    "short-walk": "short walk",
}
_LEAN_RULES = ("forward-lean", "back-arch", "side-lean")

_PROVENANCE_LABELS = (
    ("input_file", "Input file"),
    ("device", "Device"),
    ("profile", "Device profile"),
    ("sample_rate_hz", "Sample rate (Hz)"),
    ("calibration", "Calibration"),
    ("rules_file", "Rules file"),
    ("rules_version", "Rules version"),
    ("software_version", "stridewatch version"),
    ("mounting", "Sensor mounting"),
)


# --------------------------------------------------------------------------- formatting


def _e(value: Any) -> str:
    """HTML-escape any value's text (quotes included, safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, spec: str = ".1f", unit: str = "") -> str:
    number = finite_or_none(value)
    if number is None:
        return "–" if value is None else str(value)
    return f"{number:{spec}}{unit}"


# --------------------------------------------------------------------------- content


def _check_session(session: Mapping[str, Any]) -> None:
    if session.get("schema") != SESSION_SCHEMA:
        raise ValueError(
            f"expected a {SESSION_SCHEMA} session, got schema {session.get('schema')!r}"
        )


def session_thresholds(session: Mapping[str, Any], base: Thresholds | None = None) -> Thresholds:
    return (base or Thresholds()).with_flag_thresholds(session.get("flags") or [])


def _flagged_seconds(session: Mapping[str, Any], rule: str) -> float:
    return sum(end - start for start, end in figures.flag_intervals(session, [rule]))


def wearer_summary(
    session: Mapping[str, Any],
    thresholds: Thresholds | None = None,
    guidelines: Mapping[str, str] | None = None,
) -> WearerSummary:
    """What the wearer reads: steps, time walked, pace, posture, and what to change.

    Thresholds reported by the session's flags override ``thresholds``. ``guidelines``: rule id
    to the guideline text of the rules in use (e.g. a clinician's wording in the patient's
    rules file); built-in wording for rules it does not cover."""
    thresholds = session_thresholds(session, thresholds)
    steps = finite_or_none(session.get("steps"))
    walking_s = finite_or_none(session.get("walking_s"))
    duration_s = finite_or_none(session.get("duration_s"))
    cadence = finite_or_none(session.get("cadence_spm"))
    bouts = session.get("bouts") or []
    flags = session.get("flags") or []
    lean = session.get("lean") or {}
    asym = session.get("asymmetry") or {}
    brisk = thresholds.brisk_spm if thresholds.brisk_spm is not None else 100.0

    facts: list[str] = []
    walked = bool(walking_s) and bool(steps)
    if not walked:
        facts.append(
            f"No walking was detected in this {format_duration(duration_s)} recording."
        )
    else:
        facts.append(f"You took {int(steps):,} steps.")
        facts.append(
            f"You walked for {format_duration(walking_s)} in a {format_duration(duration_s)} "
            f"recording ({len(bouts)} walking bout{'s' if len(bouts) != 1 else ''})."
        )
    if walked and cadence is not None:
        if cadence < brisk:
            band = "slower than brisk"
        elif cadence < FAST_SPM:
            band = "brisk"
        else:
            band = "fast"
        facts.append(
            f"Your average pace was {cadence:.0f} steps a minute: {band} "
            f"(brisk walking is about {brisk:g} steps a minute or more)."
        )
    si = finite_or_none(asym.get("step_time_si_pct"))
    if walked and si is not None:
        limit = thresholds.step_time_si_pct
        uneven_s = _flagged_seconds(session, "uneven-steps")
        limit_text = f" (your limit is {limit:g} %)" if limit is not None else ""
        if uneven_s > 0:
            facts.append(
                f"Your steps were uneven for {format_duration(uneven_s)}; over the whole walk "
                f"left and right steps differed in timing by {abs(si):.0f} %{limit_text}."
            )
        else:
            even = "even" if limit is None or abs(si) <= limit else "uneven"
            facts.append(
                f"Your steps were {even}: left and right steps differed in timing by "
                f"{abs(si):.0f} %{limit_text}."
            )

    sagittal = finite_or_none(lean.get("sagittal_deg_median"))
    if not walked or sagittal is None:
        posture = "Posture could not be assessed because no walking was measured."
    else:
        problems = []
        for rule in _LEAN_RULES:
            seconds = _flagged_seconds(session, rule)
            if seconds > 0:
                problems.append(f"{_RULE_NAMES[rule]} for {format_duration(seconds)}")
        direction = "forward" if sagittal >= 0 else "backward"
        if problems:
            posture = ("Your posture went past your limits: " + ", ".join(problems)
                       + f". Typical lean was {abs(sagittal):.0f}° {direction} of upright.")
        else:
            posture = (f"Your posture stayed within your limits (typical lean "
                       f"{abs(sagittal):.0f}° {direction} of upright).")
        if lean.get("reference") == "auto":
            posture += (" Upright was estimated from your walking because there was no "
                        "standing calibration, so differences under about 5° mean little.")
        # lean reference (issue 9): say what lean was compared with; no verdict without one
        if not lean_words.judged(lean):
            posture = f"{lean_words.NOT_JUDGED} {lean_words.HOW_TO_FIX}"
        elif lean.get("reference") != "auto":
            posture += f" Upright: {lean_words.compared_with(lean)}."

    advice: list[Advice] = []
    seen: set[str] = set()
    for flag in flags:
        rule = str(flag.get("rule"))
        if rule in seen:
            continue
        seen.add(rule)
        custom = str((guidelines or {}).get(rule) or "").strip()
        if rule in _ADVICE:
            text, guideline = _ADVICE[rule]
            advice.append(Advice(rule, text.format(brisk=f"{brisk:g}"), custom or guideline))
        else:
            advice.append(Advice(rule, str(flag.get("message") or rule),
                                 custom or "A rule set by your clinician."))
    if not advice and walked:
        advice.append(Advice("", *_KEEP_GOING))
    return WearerSummary(facts, posture, advice)


def _metrics(session: Mapping[str, Any]) -> list[tuple[str, str]]:
    lean = session.get("lean") or {}
    asym = session.get("asymmetry") or {}
    reference = lean.get("reference")
    return [
        ("Recording duration", format_duration(finite_or_none(session.get("duration_s")))),
        ("Walking time", format_duration(finite_or_none(session.get("walking_s")))),
        ("Steps", _num(session.get("steps"), ",.0f")),
        ("Walking bouts", str(len(session.get("bouts") or []))),
        ("Cadence (steps/min)", _num(session.get("cadence_spm"))),
        ("Step-time |SI| (%)", _num(asym.get("step_time_si_pct"))),
        ("Longer steps on", str(asym.get("longer_steps") or "–")),
        ("Step regularity", _num(asym.get("step_regularity"), ".2f")),
        ("Stride regularity", _num(asym.get("stride_regularity"), ".2f")),
        ("Sagittal lean median (°, + forward)", _num(lean.get("sagittal_deg_median"))),
        ("Sagittal lean 95th percentile (°)", _num(lean.get("sagittal_deg_p95"))),
        ("Frontal lean median (°)", _num(lean.get("frontal_deg_median"))),
        ("Lean reference", lean_words.reference_label(lean) if reference != "auto"
         else "estimated from walking"),
    ]


def _provenance_rows(
    provenance: Mapping[str, Any], session: Mapping[str, Any]
) -> list[tuple[str, str]]:
    values = dict(provenance)
    values.setdefault("input_file", session.get("source"))
    values.setdefault("sample_rate_hz", session.get("sample_rate_hz"))
    values.setdefault("rules_version", session.get("rules_version"))
    if session.get("rules_sources"):
        values.setdefault("rules_file", ", ".join(str(x) for x in session["rules_sources"]))
    if "calibration" not in values:
        reference = (session.get("lean") or {}).get("reference")
        values["calibration"] = (
            "automatic (upright estimated from walking)" if reference == "auto"
            else lean_words.reference_label(session.get("lean") or {}))
    rows = []
    known = set()
    for key, label in _PROVENANCE_LABELS:
        known.add(key)
        if values.get(key) is not None:
            rows.append((label, str(values[key])))
    for key in sorted(k for k in values if k not in known):
        if values[key] is not None:
            rows.append((str(key), str(values[key])))
    return rows


_UNIT_SUFFIX = {"deg": "°", "%": " %", "steps/min": " steps/min", "min": " min"}


def _flag_rows(session: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(rule, when into the recording, value vs threshold, message) per flag."""
    offset = figures.clock_offset_s(session)
    rows = []
    for flag in session.get("flags") or []:
        start = finite_or_none(flag.get("start_s"))
        end = finite_or_none(flag.get("end_s"))
        when = (f"{format_clock(None if start is None else start - offset)}–"
                f"{format_clock(None if end is None else end - offset)}")
        if start is not None and end is not None:
            when += f" ({format_duration(end - start)})"
        unit = flag.get("unit")
        suffix = _UNIT_SUFFIX.get(str(unit), f" {unit}") if unit else ""
        rows.append((
            str(flag.get("rule")),
            when,
            f"{_num(flag.get('value'))}{suffix} vs {_num(flag.get('threshold'))}{suffix}",
            str(flag.get("message") or ""),
        ))
    return rows


# --------------------------------------------------------------------------- HTML


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1b1b;
background:#fafafa;line-height:1.45}
main{max-width:1040px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:1.6em;margin:.2em 0}h2{border-bottom:2px solid #1f5f99;padding-bottom:4px;
margin-top:1.6em}
.meta{color:#555}
section.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:4px 18px 14px;
margin-top:16px}
ul.facts li{margin:.2em 0;font-size:1.08em}
.guideline{display:block;color:#555;font-size:.9em}
table{border-collapse:collapse;margin:.6em 0;width:100%}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef3f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.met td.status{color:#1f7a3a;font-weight:600}tr.missed td.status{color:#b22222}
figure{margin:14px 0}figure img{max-width:100%;height:auto;display:block}
figcaption{color:#555;font-size:.9em}
.zoom-controls{margin:4px 0}.zoom-controls button{font-size:1em;margin-right:4px}
.zoom-scroll{overflow-x:auto;overflow-y:hidden;border:1px solid #ccc;background:#fff;
max-width:100%}
.raw-excerpt{display:block}
.raw-excerpt .plot-bg{fill:#fff}
.raw-excerpt .trace{fill:none;stroke:#111;stroke-width:1;vector-effect:non-scaling-stroke}
.raw-excerpt .grid{stroke:#e4e4e4;vector-effect:non-scaling-stroke}
.raw-excerpt .ic{stroke-width:1;vector-effect:non-scaling-stroke;stroke-dasharray:3 2}
.raw-excerpt .ic-left{stroke:#1f7a3a}.raw-excerpt .ic-right{stroke:#7a1f6b}
.raw-excerpt .ic-unknown{stroke:#888}
.raw-excerpt text{font-size:11px;fill:#333}
.raw-excerpt .side{font-weight:700}.raw-excerpt .side-left{fill:#1f7a3a}
.raw-excerpt .side-right{fill:#7a1f6b}
#flags td:nth-child(-n+3){white-space:nowrap}
@media print{.zoom-controls{display:none}.zoom-scroll{overflow:visible}}
"""

# Zoom for the raw-signal excerpt: widen the SVG (x only) and counter-scale its labels.
_ZOOM_SCRIPT = """
(function () {
  var svg = document.getElementById("raw-svg");
  var box = document.getElementById("raw-scroll");
  var level = document.getElementById("zoom-level");
  if (!svg || !box) { return; }
  var base = Number(svg.getAttribute("width"));
  var zoom = 1;
  function apply(z) {
    var centre = (box.scrollLeft + box.clientWidth / 2) / (base * zoom);
    zoom = Math.min(32, Math.max(1, z));
    svg.setAttribute("width", String(base * zoom));
    var labels = svg.getElementsByTagName("text");
    for (var i = 0; i < labels.length; i++) {
      labels[i].setAttribute("transform", "scale(" + (1 / zoom) + ",1)");
    }
    box.scrollLeft = centre * base * zoom - box.clientWidth / 2;
    level.textContent = (Math.round(zoom * 100) / 100) + "x";
  }
  document.getElementById("zoom-in").addEventListener("click", function () {
    apply(zoom * 2);
  });
  document.getElementById("zoom-out").addEventListener("click", function () {
    apply(zoom / 2);
  });
  document.getElementById("zoom-reset").addEventListener("click", function () {
    apply(1);
  });
  box.addEventListener("wheel", function (event) {
    if (!event.ctrlKey) { return; }
    event.preventDefault();
    apply(event.deltaY < 0 ? zoom * 1.25 : zoom / 1.25);
  }, { passive: false });
})();
"""


def _csp(script: str | None) -> str:
    if script is None:
        script_src = "'none'"
    else:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        script_src = f"'sha256-{digest}'"
    return (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src {script_src}; base-uri 'none'; form-action 'none'")


def _page(title: str, body: str, script: str | None = None) -> str:
    script_tag = f"<script>{script}</script>" if script is not None else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_e(_csp(script))}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main>{body}</main>{script_tag}</body></html>\n"
    )


def _png_figure(fig: Figure, fig_id: str, alt: str, caption: str) -> str:
    width_in, height_in = fig.get_size_inches()
    png = figures.png_bytes(fig)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="{_e(fig_id)}"><img src="data:image/png;base64,{data}" '
        f'width="{round(width_in * 100)}" height="{round(height_in * 100)}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _cell(cell: str | tuple[str, str]) -> str:
    """A table cell from text, or from (text, css class)."""
    if isinstance(cell, tuple):
        return f'<td class="{_e(cell[1])}">{_e(cell[0])}</td>'
    return f"<td>{_e(cell)}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str | tuple[str, str]]],
           table_id: str, row_classes: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{_e(row_classes[i])}"' if row_classes else ""
        body.append(f"<tr{cls}>" + "".join(_cell(c) for c in row) + "</tr>")
    return (f'<table id="{_e(table_id)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _session_figures(session: Mapping[str, Any], thresholds: Thresholds) -> list[str]:
    out = []
    fig = figures.new_figure(9.6, 2.8)
    figures.plot_cadence(fig.add_subplot(), session, thresholds)
    out.append(_png_figure(fig, "fig-cadence", "Cadence over time with the brisk threshold",
                           "Cadence (steps/min) over the recording; dashed: brisk threshold; "
                           "shaded: flagged slow-pace intervals."))
    fig = figures.new_figure(9.6, 4.6)
    ax_sag, ax_front = fig.subplots(2, 1, sharex=True)
    figures.plot_sagittal(ax_sag, session, thresholds)
    figures.plot_frontal(ax_front, session, thresholds)
    out.append(_png_figure(fig, "fig-lean", "Sagittal and frontal trunk lean over time",
                           "Trunk lean relative to the upright reference; dashed/dotted: "
                           "rule limits; shaded: flagged intervals."))
    fig = figures.new_figure(9.6, 2.8)
    figures.plot_asymmetry(fig.add_subplot(), session, thresholds)
    out.append(_png_figure(fig, "fig-asymmetry", "Step-time asymmetry per bout and rolling",
                           "Step-time symmetry index |SI| (%): bars per walking bout, line "
                           "rolling; shaded: flagged uneven-steps intervals."))
    fig = figures.new_figure(9.6, 1.9)
    figures.plot_bouts(fig.add_subplot(), session)
    out.append(_png_figure(fig, "fig-bouts", "Timeline of walking bouts and flags",
                           "Walking bouts (top row) and flagged intervals (bottom row)."))
    return out


def _raw_excerpt(session: Mapping[str, Any], signal: ReportSignal) -> str:
    window = figures.choose_excerpt_window(session, EXCERPT_LENGTH_S)
    offset = figures.clock_offset_s(session)
    svg = figures.raw_excerpt_svg(
        np.asarray(signal.t_s, dtype=float), np.asarray(signal.vertical_g, dtype=float),
        session.get("initial_contacts_s") or [], session.get("sides") or [], window, offset,
    )
    return (
        '<figure id="fig-raw"><div class="zoom-controls">'
        '<button type="button" id="zoom-in">Zoom in</button>'
        '<button type="button" id="zoom-out">Zoom out</button>'
        '<button type="button" id="zoom-reset">Reset</button> '
        '<span id="zoom-level">1x</span></div>'
        f'<div class="zoom-scroll" id="raw-scroll">{svg}</div>'
        f"<figcaption>Raw vertical acceleration (g), {_e(format_clock(window[0] - offset))}–"
        f"{_e(format_clock(window[1] - offset))} into the recording, with detected initial "
        "contacts marked L (left) and R (right). Zoom with the buttons or Ctrl + mouse "
        "wheel; scroll sideways to move.</figcaption></figure>"
    )


def render_report(
    session: Mapping[str, Any],
    signal: ReportSignal,
    provenance: Mapping[str, Any],
    patient_id: str | None = None,
    *,
    thresholds: Thresholds | None = None,
    guidelines: Mapping[str, str] | None = None,
    generated_at: datetime | None = None,
) -> str:
    """One self-contained HTML report (figures inline, no network needed) for one session.

    ``thresholds``: the patient's rule limits for plots and verdicts (defaults: the project
    rule set; ``None`` fields are rules switched off); thresholds reported by the session's
    flags override them. ``guidelines``: rule id -> guideline text of the rules in use.
    """
    _check_session(session)
    limits = session_thresholds(session, thresholds)
    summary = wearer_summary(session, limits, guidelines)
    source = str(session.get("source") or "recording")
    generated = (generated_at or datetime.now()).strftime("%Y-%m-%d %H:%M")

    patient_html = (f'Patient <span id="patient-id">{_e(patient_id)}</span> · '
                    if patient_id is not None else "")
    advice_html = "".join(
        f"<li>{_e(a.text)}<span class=\"guideline\">Guideline: {_e(a.guideline)}</span></li>"
        for a in summary.advice
    )
    warnings = [str(w) for w in session.get("warnings") or []]
    warnings_html = (
        '<h3>Analysis warnings</h3><ul id="warnings">'
        + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>"
        if warnings else ""
    )
    flags = _flag_rows(session)
    flags_html = (
        _table(("Rule", "When (into recording)", "Value vs threshold", "Message"), flags,
               "flags")
        if flags else '<p id="flags-none">No rule was flagged in this session.</p>'
    )
    body = "".join([
        "<header><h1>Walk report</h1>",
        f'<p class="meta">{patient_html}Recording <span id="source">{_e(source)}</span>'
        f" · generated {_e(generated)}</p></header>",
        '<section class="card" id="wearer"><h2>Your walk</h2><ul class="facts">',
        "".join(f"<li>{_e(f)}</li>" for f in summary.facts),
        f'</ul><p id="posture"><strong>Posture:</strong> {_e(summary.posture)}</p>',
        f'<h3>Next time</h3><ul id="advice">{advice_html}</ul></section>',
        '<section class="card" id="clinician"><h2>Clinician detail</h2>',
        warnings_html,
        _table(("Measure", "Value"), _metrics(session), "metrics"),
        *_session_figures(session, limits),
        _raw_excerpt(session, signal),
        "<h3>Flags</h3>",
        flags_html,
        "</section>",
        '<section class="card" id="provenance"><h2>Provenance</h2>',
        _table(("Item", "Value"), _provenance_rows(provenance, session), "provenance-table"),
        "</section>",
    ])
    title = f"Walk report – {source}" + (f" – {patient_id}" if patient_id is not None else "")
    return _page(title, body, _ZOOM_SCRIPT)


# --------------------------------------------------------------------------- PDF

_A4_IN = (8.27, 11.69)


def _text_page(pdf: PdfPages, blocks: Sequence[tuple[str, str]]) -> None:
    """Pages of wrapped text; ``blocks`` are (style, text) with style h1/h2/p/small.
    Input text is drawn with math parsing off, so ``$`` in file names stays literal."""
    sizes = {"h1": 16, "h2": 12.5, "p": 9.5, "small": 8}
    widths = {"h1": 60, "h2": 80, "p": 105, "small": 120}
    fig = Figure(figsize=_A4_IN)
    y = 0.95
    for style, text in blocks:
        lines = textwrap.wrap(text, widths[style]) or [""]
        step = sizes[style] / 72 / _A4_IN[1] * 1.45
        if style == "h2":
            y -= step * 0.6
        for line in lines:
            if y < 0.05:
                pdf.savefig(fig)
                fig = Figure(figsize=_A4_IN)
                y = 0.95
            fig.text(0.07, y, line, fontsize=sizes[style], va="top", parse_math=False,
                     weight="bold" if style in ("h1", "h2") else "normal")
            y -= step
    pdf.savefig(fig)


def render_pdf(
    session: Mapping[str, Any],
    signal: ReportSignal,
    provenance: Mapping[str, Any],
    out_path: str | Path,
    patient_id: str | None = None,
    *,
    thresholds: Thresholds | None = None,
    guidelines: Mapping[str, str] | None = None,
    generated_at: datetime | None = None,
) -> Path:
    """The report's content as an A4 PDF at ``out_path``; returns the path."""
    _check_session(session)
    limits = session_thresholds(session, thresholds)
    summary = wearer_summary(session, limits, guidelines)
    source = str(session.get("source") or "recording")
    generated = (generated_at or datetime.now()).strftime("%Y-%m-%d %H:%M")
    out = Path(out_path)
    blocks: list[tuple[str, str]] = [("h1", "Walk report")]
    meta = (f"Patient {patient_id} · " if patient_id is not None else "")
    blocks.append(("small", f"{meta}Recording {source} · generated {generated}"))
    blocks.append(("h2", "Your walk"))
    blocks += [("p", f"• {fact}") for fact in summary.facts]
    blocks.append(("p", f"Posture: {summary.posture}"))
    blocks.append(("h2", "Next time"))
    for a in summary.advice:
        blocks.append(("p", f"• {a.text}"))
        blocks.append(("small", f"   Guideline: {a.guideline}"))
    warnings = [str(w) for w in session.get("warnings") or []]
    if warnings:
        blocks.append(("h2", "Analysis warnings"))
        blocks += [("p", f"• {w}") for w in warnings]
    blocks.append(("h2", "Measures"))
    blocks += [("p", f"{label}: {value}") for label, value in _metrics(session)]
    blocks.append(("h2", "Flags"))
    flag_rows = _flag_rows(session)
    blocks += [("p", f"{rule} · {when} · {value} · {message}")
               for rule, when, value, message in flag_rows]
    if not flag_rows:
        blocks.append(("p", "No rule was flagged in this session."))
    blocks.append(("h2", "Provenance"))
    blocks += [("p", f"{label}: {value}") for label, value in _provenance_rows(provenance,
                                                                                 session)]
    with PdfPages(out) as pdf:
        _text_page(pdf, blocks)
        fig = Figure(figsize=_A4_IN, layout="constrained")
        ax_cad, ax_sag, ax_front = fig.subplots(3, 1)
        figures.plot_cadence(ax_cad, session, limits)
        figures.plot_sagittal(ax_sag, session, limits)
        figures.plot_frontal(ax_front, session, limits)
        pdf.savefig(fig)
        fig = Figure(figsize=_A4_IN, layout="constrained")
        ax_si, ax_bouts, ax_raw = fig.subplots(3, 1, height_ratios=(3, 1.4, 3))
        figures.plot_asymmetry(ax_si, session, limits)
        figures.plot_bouts(ax_bouts, session)
        window = figures.choose_excerpt_window(session, EXCERPT_LENGTH_S)
        figures.plot_raw_excerpt(
            ax_raw, np.asarray(signal.t_s, dtype=float),
            np.asarray(signal.vertical_g, dtype=float),
            session.get("initial_contacts_s") or [], session.get("sides") or [], window,
            figures.clock_offset_s(session),
        )
        ax_raw.set_title("Raw vertical acceleration with initial contacts (L/R)", loc="left",
                         fontsize="medium", pad=14)
        pdf.savefig(fig)
        info = pdf.infodict()
        info["Title"] = f"Walk report - {source}"
        info["Creator"] = "stridewatch"
    return out


# --------------------------------------------------------------------------- history


def render_history(
    weeks: Sequence[Any],
    trend: Sequence[Any],
    patient_id: str | None = None,
    *,
    thresholds: Thresholds | None = None,
    generated_at: datetime | None = None,
) -> str:
    """HTML history page: walking-plan progress per ISO week (``store.WeekTotal`` items) and
    per-session cadence, lean and asymmetry trends (``store.TrendPoint`` items)."""
    limits = thresholds or Thresholds()
    generated = (generated_at or datetime.now()).strftime("%Y-%m-%d %H:%M")
    patient_html = (f'Patient <span id="patient-id">{_e(patient_id)}</span> · '
                    if patient_id is not None else "")
    parts = [
        "<header><h1>Walking history</h1>",
        f'<p class="meta">{patient_html}{len(trend)} session{"s" if len(trend) != 1 else ""}'
        f" · generated {_e(generated)}</p></header>",
        '<section class="card" id="plan"><h2>Walking plan</h2>',
    ]
    if weeks:
        last = weeks[-1]
        verdict = "met" if last.met else "not met yet"
        parts.append(
            f'<p id="plan-summary">Week {_e(last.label)}: {last.walks} walk'
            f'{"s" if last.walks != 1 else ""} of {last.min_walk_min:g} min or more, '
            f"{last.minutes:.0f} min in total, longest {last.longest_walk_min:.0f} min. Target: "
            f"{last.target_walks} walks of {last.target_walk_min:g} min — {verdict}.</p>"
        )
        rows = [
            (w.label, w.week_start.isoformat(), str(w.walks), f"{w.minutes:.1f}",
             f"{w.longest_walk_min:.1f}", f"{w.target_walk_min:g} min × {w.target_walks}",
             str(w.walks_at_target), ("met" if w.met else "not met", "status"))
            for w in weeks
        ]
        parts.append(_table(("ISO week", "Monday", "Walks", "Minutes", "Longest (min)",
                             "Plan target", "Walks at target", "Status"), rows, "weeks",
                            ["met" if w.met else "missed" for w in weeks]))
        fig = figures.new_figure(9.6, 3.2)
        figures.plot_plan(fig.add_subplot(), weeks)
        parts.append(_png_figure(fig, "fig-plan", "Longest walk per week against the plan",
                                 "Longest walk per ISO week; red line: the plan's per-walk "
                                 "target that week."))
    else:
        parts.append("<p>No sessions stored yet.</p>")
    parts.append("</section>")
    if trend:
        parts.append('<section class="card" id="trends"><h2>Trends per session</h2>')
        fig = figures.new_figure(9.6, 7.5)
        figures.plot_trends(fig.subplots(3, 1, sharex=True), trend, limits)
        parts.append(_png_figure(fig, "fig-trends", "Cadence, lean and asymmetry per session",
                                 "One point per stored session."))
        rows = [
            (p.started_at.strftime("%Y-%m-%d %H:%M"), f"{p.walking_min:.1f}",
             _num(p.cadence_spm), _num(p.sagittal_deg_median), _num(p.frontal_deg_median),
             _num(p.step_time_si_pct), str(p.lean_reference or "–"))
            for p in trend
        ]
        parts.append(_table(("Recorded", "Walking (min)", "Cadence (steps/min)",
                             "Sagittal median (°)", "Frontal median (°)", "|SI| (%)",
                             "Lean reference"), rows, "sessions"))
        parts.append("</section>")
    title = "Walking history" + (f" – {patient_id}" if patient_id is not None else "")
    return _page(title, "".join(parts))
