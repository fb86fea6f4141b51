"""A patient's weekly trends drawn as inline SVG on the server: cadence, step-time asymmetry
and forward lean per ISO week (median of that week's sessions), and walking minutes per week
against the plan. Plain SVG elements and presentation attributes only: the page needs no
script, no style sheet and no image request, so it stays under the app's
Content-Security-Policy. Every label is escaped.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from analysis.rules import RuleSet
from stridewatch.store.database import StoredSession, WeekTotal

WIDTH, HEIGHT = 640, 170
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 30
LINE_COLOUR = "#1f4e79"
LIMIT_COLOUR = "#a00"


@dataclass(frozen=True)
class WeekTrend:
    """Medians of one ISO week's sessions (None: no session that week measured it)."""

    week_start: date  # Monday
    label: str  # ISO year-week, e.g. 2026-W48
    sessions: int
    cadence_spm: float | None
    step_time_si_pct: float | None
    sagittal_deg: float | None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_trends(sessions: Sequence[StoredSession]) -> list[WeekTrend]:
    """One row per ISO week with sessions (weeks by the sessions' local date, as the plan)."""
    by_week: dict[date, list[StoredSession]] = {}
    for s in sessions:
        by_week.setdefault(_monday(s.session_date), []).append(s)

    def median(rows: list[StoredSession], pick: Callable[[StoredSession], float | None]
               ) -> float | None:
        values = [v for v in (pick(s) for s in rows) if v is not None]
        return statistics.median(values) if values else None

    out = []
    for monday in sorted(by_week):
        rows = by_week[monday]
        year, week, _ = monday.isocalendar()
        out.append(WeekTrend(monday, f"{year}-W{week:02d}", len(rows),
                             median(rows, lambda s: s.cadence_spm),
                             median(rows, lambda s: s.step_time_si_pct),
                             median(rows, lambda s: s.sagittal_deg_median)))
    return out


def _scale(low: float, high: float, top: float, bottom: float) -> Callable[[float], float]:
    span = high - low or 1.0
    return lambda v: bottom - (v - low) / span * (bottom - top)


def _frame(title: str, unit: str, low: float, high: float, labels: Sequence[str],
           x_of: Callable[[int], float]) -> list[str]:
    """Axes, y ticks at low/middle/high and every few week labels."""
    y = _scale(low, high, TOP, HEIGHT - BOTTOM)
    parts = [f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>',
             f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
             f'y2="{HEIGHT - BOTTOM}" stroke="#888"/>']
    for value in (low, (low + high) / 2, high):
        parts.append(f'<text x="{LEFT - 4}" y="{y(value) + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{value:.3g}</text>')
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(f'<text x="{x_of(i):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle" font-size="10">{escape(label)}</text>')
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 2}" font-size="11" fill="#555">'
                 f'{escape(unit)} per ISO week</text>')
    return parts


def _svg(chart_id: str, title: str, parts: list[str]) -> Markup:
    return Markup(f'<svg id="{escape(chart_id)}" class="trend" role="img" '
                  f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
                  f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
                  + "".join(parts) + "</svg>")


def _x_positions(n: int) -> Callable[[int], float]:
    inner = WIDTH - LEFT - RIGHT
    return lambda i: LEFT + inner * ((i + 0.5) / n)


def line_chart(chart_id: str, title: str, unit: str, weeks: Sequence[WeekTrend],
               pick: Callable[[WeekTrend], float | None], limit: float | None = None,
               limit_label: str = "") -> Markup | None:
    """Weekly medians as points joined by a line, with the rule's limit dashed; None when no
    week has a value."""
    values = [pick(w) for w in weeks]
    known = [v for v in values if v is not None]
    if not known:
        return None
    low = min([*known, *([limit] if limit is not None else [])])
    high = max([*known, *([limit] if limit is not None else [])])
    pad = (high - low) * 0.1 or max(abs(high) * 0.1, 1.0)
    low, high = (max(0.0, low - pad) if low >= 0 else low - pad), high + pad
    y = _scale(low, high, TOP, HEIGHT - BOTTOM)
    x = _x_positions(len(weeks))
    parts = _frame(title, unit, low, high, [w.label for w in weeks], x)
    if limit is not None:
        parts.append(f'<line class="limit" x1="{LEFT}" y1="{y(limit):.1f}" x2="{WIDTH - RIGHT}"'
                     f' y2="{y(limit):.1f}" stroke="{LIMIT_COLOUR}" stroke-dasharray="5 4"/>')
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{y(limit) - 4:.1f}" text-anchor="end" '
                     f'font-size="10" fill="{LIMIT_COLOUR}">{escape(limit_label)}</text>')
    points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
    if len(points) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE_COLOUR}" '
                     f'stroke-width="1.5"/>')
    for (px, py), week, value in zip(points, [w for w, v in zip(weeks, values, strict=True)
                                              if v is not None], known, strict=True):
        parts.append(f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="3" '
                     f'fill="{LINE_COLOUR}"><title>{escape(week.label)}: {value:.1f} '
                     f'{escape(unit)} (median of {week.sessions})</title></circle>')
    return _svg(chart_id, title, parts)


def plan_chart(weeks: Sequence[WeekTotal]) -> Markup | None:
    """Walking minutes per week (bars: green met, red not met) against the plan's minutes
    that week (target per walk × walks; a dash over each bar)."""
    if not weeks:
        return None
    targets = [w.target_walk_min * w.target_walks for w in weeks]
    high = max([*(w.minutes for w in weeks), *targets, 1.0]) * 1.1
    y = _scale(0.0, high, TOP, HEIGHT - BOTTOM)
    x = _x_positions(len(weeks))
    bar = max(2.0, (WIDTH - LEFT - RIGHT) / len(weeks) * 0.6)
    parts = _frame("Walking minutes per week against the plan", "walking min", 0.0, high,
                   [w.label for w in weeks], x)
    for i, (w, target) in enumerate(zip(weeks, targets, strict=True)):
        colour = "#3a8a3a" if w.met else "#c05050"
        top = y(w.minutes)
        parts.append(f'<rect class="week {"met" if w.met else "missed"}" '
                     f'x="{x(i) - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                     f'height="{HEIGHT - BOTTOM - top:.1f}" fill="{colour}"><title>'
                     f'{escape(w.label)}: {w.minutes:.0f} min walked, plan {target:.0f} min '
                     f'({w.walks_at_target} of {w.target_walks} walks at '
                     f'{w.target_walk_min:g} min)</title></rect>')
        parts.append(f'<line class="target" x1="{x(i) - bar / 2 - 2:.1f}" y1="{y(target):.1f}" '
                     f'x2="{x(i) + bar / 2 + 2:.1f}" y2="{y(target):.1f}" stroke="#222" '
                     f'stroke-width="2"/>')
    return _svg("chart-plan", "Walking minutes per week against the plan", parts)


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    svg: Markup


def patient_charts(sessions: Sequence[StoredSession], weeks: Sequence[WeekTotal],
                   rules: RuleSet) -> list[Chart]:
    """The patient page's charts: the plan weeks given, and the trends over those weeks."""
    first = weeks[0].week_start if weeks else None
    trend = [w for w in weekly_trends(sessions) if first is None or w.week_start >= first]

    def limit(rule_id: str, key: str) -> float | None:
        rule = rules.rules.get(rule_id)
        return rule.params[key] if rule is not None and rule.enabled else None

    specs = [
        ("chart-cadence", "Cadence (median per week)", "steps/min",
         lambda w: w.cadence_spm, limit("slow-pace", "threshold_spm"), "brisk threshold"),
        ("chart-asymmetry", "Step-time asymmetry (median per week)", "%",
         lambda w: w.step_time_si_pct, limit("uneven-steps", "threshold_pct"),
         "uneven-steps limit"),
        ("chart-lean", "Forward lean (median per week)", "°",
         lambda w: w.sagittal_deg, limit("forward-lean", "threshold_deg"),
         "forward-lean limit"),
    ]
    charts = []
    plan = plan_chart(weeks)
    if plan is not None:
        charts.append(Chart("chart-plan", "Walking minutes per week against the plan", plan))
    for chart_id, title, unit, pick, value, label in specs:
        svg = line_chart(chart_id, title, unit, trend, pick, value, label)
        if svg is not None:
            charts.append(Chart(chart_id, title, svg))
    return charts
