"""What a walk report shows, as plain data for its template (no markup is built here).

``report_content`` gathers the header (patient, when, how long, device, profile, lean
reference), the wearer's facts and advice (``facts``), measures, flags, gaps, figures (PNG),
the signal viewer and provenance. The HTML page and the PDF are the same template over it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stridewatch.report import figures
from stridewatch.report.durations import format_duration
from stridewatch.report.facts import Facts, session_facts
from stridewatch.report.header import lean_reference_text
from stridewatch.report.limits import Thresholds, finite_or_none
from stridewatch.report.signal import ReportSignal
from stridewatch.report.viewer import Viewer, build_viewer

SESSION_SCHEMA = "stridewatch.session/1"
FIGURE_DPI = 150  # sharp enough on paper; the page shows them at 100 px per inch


@dataclass(frozen=True)
class Advice:
    """One thing to change next time, with the guideline it comes from."""

    rule: str
    text: str
    guideline: str


@dataclass(frozen=True)
class FigureImage:
    id: str
    alt: str
    caption: str
    png_base64: str
    width_px: int  # displayed size
    height_px: int


@dataclass(frozen=True)
class ReportContent:
    title: str
    header: list[tuple[str, str]]  # (label, value), only known fields
    header_line: str  # title, patient and recording time, repeated on every PDF page
    facts: Facts
    advice: list[Advice]
    metrics: list[tuple[str, str]]
    figures: list[FigureImage]
    viewer: Viewer
    provenance: list[tuple[str, str]]
    generated: str
    patient_id: str | None
    source: str
    warnings: list[str] = field(default_factory=list)


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


def check_session(session: Mapping[str, Any]) -> None:
    if session.get("schema") != SESSION_SCHEMA:
        raise ValueError(
            f"expected a {SESSION_SCHEMA} session, got schema {session.get('schema')!r}"
        )


def _num(value: Any, spec: str = ".1f") -> str:
    number = finite_or_none(value)
    if number is None:
        return "–" if value is None else str(value)
    text = f"{number:{spec}}"
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text


def advice_for(session: Mapping[str, Any], limits: Thresholds,
               guidelines: Mapping[str, str] | None, walked: bool) -> list[Advice]:
    brisk = limits.brisk_spm if limits.brisk_spm is not None else 100.0
    advice: list[Advice] = []
    seen: set[str] = set()
    for flag in session.get("flags") or []:
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
    return advice


def metrics(session: Mapping[str, Any]) -> list[tuple[str, str]]:
    from stridewatch.report.facts import pace_spm

    lean = session.get("lean") or {}
    asym = session.get("asymmetry") or {}
    return [
        ("Recording duration", format_duration(finite_or_none(session.get("duration_s")))),
        ("Walking time", format_duration(finite_or_none(session.get("walking_s")))),
        ("Steps", _num(session.get("steps"), ",.0f")),
        ("Walking bouts", str(len(session.get("bouts") or []))),
        ("Average pace (steps ÷ walking time, steps/min)", _num(pace_spm(session))),
        ("Cadence, median of bouts (steps/min)", _num(session.get("cadence_spm"))),
        ("Step-time |SI| (%)", _num(asym.get("step_time_si_pct"))),
        ("Longer steps on", str(asym.get("longer_steps") or "–")),
        ("Step regularity", _num(asym.get("step_regularity"), ".2f")),
        ("Stride regularity", _num(asym.get("stride_regularity"), ".2f")),
        ("Sagittal lean median (°, + forward)", _num(lean.get("sagittal_deg_median"))),
        ("Sagittal lean 95th percentile (°)", _num(lean.get("sagittal_deg_p95"))),
        ("Frontal lean median (°)", _num(lean.get("frontal_deg_median"))),
        ("Lean reference", lean_reference_text(lean) or "–"),
    ]


def provenance_rows(provenance: Mapping[str, Any],
                    session: Mapping[str, Any]) -> list[tuple[str, str]]:
    values = dict(provenance)
    values.setdefault("input_file", session.get("source"))
    values.setdefault("sample_rate_hz", session.get("sample_rate_hz"))
    values.setdefault("rules_version", session.get("rules_version"))
    if session.get("rules_sources"):
        values.setdefault("rules_file", ", ".join(str(x) for x in session["rules_sources"]))
    if "calibration" not in values:
        values["calibration"] = lean_reference_text(session.get("lean"))
    rows = []
    known = set()
    for key, label in _PROVENANCE_LABELS:
        known.add(key)
        if values.get(key) is not None:
            rows.append((label, str(values[key])))
    for key in sorted(str(k) for k in values if k not in known):
        if values[key] is not None:
            rows.append((key, str(values[key])))
    return rows


def _recorded_text(recording: Mapping[str, Any]) -> str | None:
    started = recording.get("started_at")
    if not started:
        return None
    try:
        moment = datetime.fromisoformat(str(started))
    except ValueError:
        return str(started)
    text = moment.strftime("%Y-%m-%d %H:%M")
    if moment.tzinfo is not None:
        zone = recording.get("time_zone") or moment.tzname() or ""
        offset = moment.strftime("%z")
        text += f" {zone} (UTC{offset[:3]}:{offset[3:]})" if offset else f" {zone}"
    source = recording.get("started_at_source")
    if source and source not in ("trace", "given"):
        text += f" — from the {source} time"
    return text


def header_fields(session: Mapping[str, Any], provenance: Mapping[str, Any],
                  patient_id: str | None) -> list[tuple[str, str]]:
    """Patient, recording date/time, duration, device, profile, lean reference: each only
    when known (the session's ``recording`` object, else the provenance)."""
    recording = session.get("recording") or {}
    fields = [
        ("Patient", patient_id if patient_id is not None else recording.get("patient_id")),
        ("Recorded", _recorded_text(recording)),
        ("Duration", format_duration(finite_or_none(session.get("duration_s")))),
        ("Device", recording.get("device") or provenance.get("device")),
        ("Profile", recording.get("profile") or provenance.get("profile")),
        ("Lean reference", recording.get("lean_reference")
         or lean_reference_text(session.get("lean"))),
        ("Recording file", session.get("source")),
    ]
    return [(label, str(value)) for label, value in fields if value not in (None, "", "–")]


def _figure(fig: Any, fig_id: str, alt: str, caption: str) -> FigureImage:
    width_in, height_in = fig.get_size_inches()
    data = base64.b64encode(figures.png_bytes(fig, dpi=FIGURE_DPI)).decode("ascii")
    return FigureImage(fig_id, alt, caption, data, round(width_in * 100), round(height_in * 100))


def session_figures(session: Mapping[str, Any], limits: Thresholds) -> list[FigureImage]:
    out = []
    fig = figures.new_figure(9.6, 2.8)
    figures.plot_cadence(fig.add_subplot(), session, limits)
    out.append(_figure(fig, "fig-cadence", "Cadence over time with the brisk threshold",
                       "Figure 1. Cadence (steps/min) over the recording; dashed: brisk "
                       "threshold; shaded: flagged slow-pace intervals; hatched: no data."))
    fig = figures.new_figure(9.6, 4.6)
    ax_sag, ax_front = fig.subplots(2, 1, sharex=True)
    figures.plot_sagittal(ax_sag, session, limits)
    figures.plot_frontal(ax_front, session, limits)
    out.append(_figure(fig, "fig-lean", "Sagittal and frontal trunk lean over time",
                       "Figure 2. Trunk lean relative to the upright reference; dashed/dotted: "
                       "rule limits; shaded: flagged intervals; hatched: no data."))
    fig = figures.new_figure(9.6, 2.8)
    figures.plot_asymmetry(fig.add_subplot(), session, limits)
    out.append(_figure(fig, "fig-asymmetry", "Step-time asymmetry per bout and rolling",
                       "Figure 3. Step-time symmetry index |SI| (%): bars per walking bout, "
                       "line rolling; shaded: flagged uneven-steps intervals."))
    rows = len(figures.timeline_rows(session)) + 1
    fig = figures.new_figure(9.6, 0.9 + 0.27 * rows)
    figures.plot_timeline(fig.add_subplot(), session)
    out.append(_figure(fig, "fig-timeline", "Timeline of walking bouts and flags per rule",
                       "Figure 4. Walking bouts (top row) and each rule's flagged intervals "
                       "(one row per rule); hatched: no data."))
    return out


def report_content(
    session: Mapping[str, Any],
    signal: ReportSignal,
    provenance: Mapping[str, Any],
    patient_id: str | None = None,
    *,
    thresholds: Thresholds | None = None,
    guidelines: Mapping[str, str] | None = None,
    generated_at: datetime | None = None,
) -> ReportContent:
    check_session(session)
    limits = (thresholds or Thresholds()).with_flag_thresholds(session.get("flags") or [])
    facts = session_facts(session, limits)
    source = str(session.get("source") or "recording")
    header = header_fields(session, provenance, patient_id)
    known = dict(header)
    line = " · ".join(x for x in ("Walk report", known.get("Patient") and
                                  f"Patient {known['Patient']}", known.get("Recorded")) if x)
    title = f"Walk report – {source}" + (f" – {patient_id}" if patient_id is not None else "")
    return ReportContent(
        title=title,
        header=header,
        header_line=line,
        facts=facts,
        advice=advice_for(session, limits, guidelines, facts.walked),
        metrics=metrics(session),
        figures=session_figures(session, limits),
        viewer=build_viewer(session, signal),
        provenance=provenance_rows(provenance, session),
        generated=(generated_at or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z"),
        patient_id=patient_id,
        source=source,
        warnings=list(facts.notes),
    )
