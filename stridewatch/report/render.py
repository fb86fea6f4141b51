"""Reports rendered from Jinja2 templates (``templates/``) with auto-escaping on: every piece
of text from inputs (file names, patient ids, rule names, messages, provenance) is escaped by
the engine, never by hand. The HTML page and the PDF are one template: the PDF is WeasyPrint's
rendering of the same HTML with print styles (running header, page numbers, A4).

The page is self-contained and offline: figures are inline ``data:`` images, and a
Content-Security-Policy allows only the page's own viewer script (by hash).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from stridewatch.report.content import FigureImage, _figure, report_content
from stridewatch.report.durations import format_clock, format_duration
from stridewatch.report.history import HistorySession, PatientEntry
from stridewatch.report.limits import Thresholds
from stridewatch.report.signal import ReportSignal
from stridewatch.report.viewer import data_json
from stridewatch.report.wording import count_of


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("stridewatch.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["count_of"] = count_of
    return env


def _asset(name: str) -> str:
    return environment().loader.get_source(environment(), name)[0]  # type: ignore[union-attr]


def _csp(script: str | None) -> str:
    if script is None:
        script_src = "'none'"
    else:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        script_src = f"'sha256-{digest}'"
    return (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src {script_src}; base-uri 'none'; form-action 'none'")


def _page(template: str, *, title: str, header_line: str, script: str | None = None,
          **values: Any) -> str:
    return environment().get_template(template).render(
        title=title, header_line=header_line, csp=_csp(script), css=Markup(_asset("report.css")),
        script=Markup(script) if script is not None else None, **values,
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
    for_print: bool = False,
) -> str:
    """One self-contained HTML report for one session (``for_print``: the PDF's variant,
    without the interactive viewer's script)."""
    c = report_content(session, signal, provenance, patient_id, thresholds=thresholds,
                       guidelines=guidelines, generated_at=generated_at)
    flag_rows = [(f.rule, f"{f.when} ({f.duration})", f.value, f.message)
                 for f in c.facts.flags]
    gap_rows = [(format_clock(g.start_s), format_clock(g.end_s),
                 format_duration(g.end_s - g.start_s) if g.end_s - g.start_s >= 1
                 else f"{g.end_s - g.start_s:.1f} s")
                for g in c.viewer.gaps]
    return _page("report.html.j2", title=c.title, header_line=c.header_line,
                 script=None if for_print else _asset("viewer.js"), c=c, flag_rows=flag_rows,
                 gap_rows=gap_rows, overview_svg=Markup(c.viewer.overview_svg),
                 viewer_data=Markup(data_json(c.viewer.data)), print=for_print)


def html_to_pdf(page: str, out_path: str | Path) -> Path:
    """Write ``page`` (HTML) as PDF with WeasyPrint; fonts are embedded as TrueType/OpenType
    subsets."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        from stridewatch.inputs import InputFileError

        raise InputFileError(
            f"{out_path}: PDF output needs WeasyPrint and Pango ({exc}); "
            "pip install weasyprint (Debian: apt install libpango-1.0-0 libpangoft2-1.0-0)"
        ) from exc
    from weasyprint.urls import URLFetcher

    out = Path(out_path)
    # inline data: images only; nothing is read from disk or the network
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    HTML(string=page, url_fetcher=fetcher).write_pdf(out)
    return out


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
    """The report as an A4 PDF at ``out_path`` (the same template as the page); the path."""
    page = render_report(session, signal, provenance, patient_id, thresholds=thresholds,
                         guidelines=guidelines, generated_at=generated_at, for_print=True)
    return html_to_pdf(page, out_path)


# --------------------------------------------------------------------------- history


def _history_figures(weeks: Sequence[Any], trend: Sequence[Any],
                     limits: Thresholds) -> tuple[list[FigureImage], list[FigureImage]]:
    from stridewatch.report import figures

    plan, trends = [], []
    if weeks:
        fig = figures.new_figure(9.6, 3.2)
        figures.plot_plan(fig.add_subplot(), weeks)
        plan.append(_figure(fig, "fig-plan", "Longest walk per week against the plan",
                            "Figure 1. Longest walk per ISO week; red line: the plan's "
                            "per-walk target that week."))
    if trend:
        fig = figures.new_figure(9.6, 7.5)
        figures.plot_trends(fig.subplots(3, 1, sharex=True), trend, limits)
        trends.append(_figure(fig, "fig-trends", "Cadence, lean and asymmetry per session",
                              "Figure 2. One point per stored session."))
    return plan, trends


def _trend_rows(trend: Sequence[Any]) -> list[HistorySession]:
    """Session rows from trend points alone (no store at hand: no steps, flags or links)."""
    def num(v: Any) -> str:
        return "–" if v is None else f"{v:.0f}"

    return [HistorySession(p.started_at.strftime("%Y-%m-%d %H:%M"),
                           format_duration(p.walking_min * 60.0), "–", num(p.cadence_spm),
                           num(p.sagittal_deg_median), num(p.step_time_si_pct), "", None)
            for p in trend]


def render_history(
    weeks: Sequence[Any],
    trend: Sequence[Any],
    patient_id: str | None = None,
    *,
    thresholds: Thresholds | None = None,
    generated_at: datetime | None = None,
    sessions: Sequence[HistorySession] | None = None,
    index_link: str | None = None,
) -> str:
    """One patient's history page: walking-plan weeks (``store.WeekTotal``), a row per
    session (``sessions``; from ``trend`` when not given) and trend charts."""
    limits = thresholds or Thresholds()
    plan_figures, trend_figures = _history_figures(weeks, trend, limits)
    rows = list(sessions) if sessions is not None else _trend_rows(trend)
    week_rows = [
        (w.label, w.week_start.isoformat(), str(w.walks), f"{w.minutes:.1f}",
         f"{w.longest_walk_min:.1f}", f"{w.target_walk_min:g} min × {w.target_walks}",
         str(w.walks_at_target), "met" if w.met else "not met")
        for w in weeks
    ]
    title = "Walking history" + (f" – {patient_id}" if patient_id is not None else "")
    line = "Walking history" + (f" · Patient {patient_id}" if patient_id is not None else "")
    return _page("history.html.j2", title=title, header_line=line, patient_id=patient_id,
                 weeks=weeks, last=weeks[-1] if weeks else None, week_rows=week_rows,
                 week_classes=["met" if w.met else "missed" for w in weeks],
                 plan_figures=plan_figures, trend_figures=trend_figures, sessions=rows,
                 generated=_generated(generated_at), index_link=index_link)


def render_history_index(patients: Sequence[PatientEntry], *,
                         generated_at: datetime | None = None) -> str:
    """The page listing every patient in the store, each linking to their own page."""
    return _page("history_index.html.j2", title="Walking history – patients",
                 header_line="Walking history · patients", patients=patients,
                 generated=_generated(generated_at))


def _generated(generated_at: datetime | None) -> str:
    return (generated_at or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip()
