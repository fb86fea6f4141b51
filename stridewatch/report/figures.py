"""Figures for walk reports: matplotlib (Agg) plots on given axes, and an SVG raw-signal excerpt.

Plot functions draw on axes handed in, so the HTML report (one PNG per figure) and the PDF
(several plots per page) share them. Figures are drawn on their own Agg canvas; nothing here
touches pyplot or the process-wide backend (a live view may be using an interactive one).

Session times (series, bouts, flags, initial contacts) are on the input's clock, which starts
at the session's ``start_s``; plots and labels show time into the recording (t - start_s).

Units: time in minutes on session plots (series come in seconds), cadence in steps/min,
lean in degrees from the upright reference (sagittal positive = forward), step-time symmetry
index in percent, acceleration in g.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from stridewatch.report.facts import RULE_NAMES, clipped_flags
from stridewatch.report.limits import Thresholds, finite_or_none

COLOR_MAIN = "#1f5f99"
COLOR_SECOND = "#b5651d"
COLOR_THRESHOLD = "#b22222"
COLOR_FLAG = "#f4a6a6"
COLOR_LEFT = "#1f7a3a"
COLOR_RIGHT = "#7a1f6b"
COLOR_GAP = "#777777"


def series_array(session: Mapping[str, Any], key: str) -> np.ndarray:
    """A 1 Hz series as float array with NaN where the session has null."""
    values = (session.get("series") or {}).get(key) or []
    return np.array([np.nan if finite_or_none(v) is None else float(v) for v in values])


def flag_intervals(
    session: Mapping[str, Any], rules: Sequence[str]
) -> list[tuple[float, float]]:
    """(start_s, end_s) of the session's flags whose rule is in ``rules``, clipped to the
    recording."""
    return [(f["start_s"], f["end_s"]) for f in clipped_flags(session, list(rules))]


def gaps_s(session: Mapping[str, Any]) -> list[tuple[float, float]]:
    """Stretches without samples (input clock): between the session's gap-free segments."""
    segments = [(finite_or_none(a), finite_or_none(b))
                for a, b in (session.get("segments") or []) if a is not None and b is not None]
    segments = sorted((a, b) for a, b in segments if a is not None and b is not None)
    return [(end, nxt) for (_, end), (nxt, _) in zip(segments, segments[1:], strict=False)
            if nxt > end]


def _minutes_with_breaks(session: Mapping[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    """A 1 Hz series against minutes into the recording, NaN-broken across time jumps and
    recording gaps so a line is never drawn over missing data."""
    t = series_array(session, "t_s")
    v = series_array(session, key)
    if not len(t) or len(t) != len(v):
        return np.array([]), np.array([])
    v = v.copy()
    for start, end in gaps_s(session):
        v[(t >= start - 1.0) & (t <= end)] = np.nan
    jumps = np.flatnonzero(np.diff(t) > 1.5)
    t = np.insert(t, jumps + 1, np.nan)
    v = np.insert(v, jumps + 1, np.nan)
    return _minutes(session, t), v


def clock_offset_s(session: Mapping[str, Any]) -> float:
    """The input-clock time of the recording's start (``start_s``; 0 when absent)."""
    return finite_or_none(session.get("start_s")) or 0.0


def _minutes(session: Mapping[str, Any], seconds: np.ndarray | float) -> Any:
    """Input-clock seconds as minutes into the recording."""
    return (np.asarray(seconds, dtype=float) - clock_offset_s(session)) / 60.0


def _shade(ax: Axes, session: Mapping[str, Any], rules: Sequence[str], label: str) -> None:
    for i, (start, end) in enumerate(flag_intervals(session, rules)):
        ax.axvspan(_minutes(session, start), _minutes(session, end), color=COLOR_FLAG,
                   alpha=0.55, lw=0, label=label if i == 0 else None, zorder=0)
    for i, (start, end) in enumerate(gaps_s(session)):
        ax.axvspan(_minutes(session, start), _minutes(session, end), facecolor="none",
                   edgecolor=COLOR_GAP, hatch="///", lw=0, zorder=0,
                   label="no data (gap)" if i == 0 else None)


def _finish(ax: Axes, session: Mapping[str, Any], ylabel: str) -> None:
    duration = finite_or_none(session.get("duration_s")) or 0.0
    if duration > 0:
        ax.set_xlim(0, duration / 60.0)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                  frameon=False)


# --------------------------------------------------------------------------- session plots


def plot_cadence(ax: Axes, session: Mapping[str, Any], thresholds: Thresholds) -> None:
    t_min, cadence = _minutes_with_breaks(session, "cadence_spm")
    _shade(ax, session, ["slow-pace"], "flagged: slow pace")
    if len(t_min):
        ax.plot(t_min, cadence, color=COLOR_MAIN, lw=1.2, label="cadence")
    if thresholds.brisk_spm is not None:
        ax.axhline(thresholds.brisk_spm, color=COLOR_THRESHOLD, ls="--", lw=1,
                   label=f"brisk ≥ {thresholds.brisk_spm:g} steps/min")
    ax.set_title("Cadence over time", loc="left", fontsize="medium")
    ax.set_xlabel("time (min)")
    _finish(ax, session, "steps/min")


def plot_sagittal(ax: Axes, session: Mapping[str, Any], thresholds: Thresholds) -> None:
    t_min, sagittal = _minutes_with_breaks(session, "sagittal_deg")
    _shade(ax, session, ["forward-lean", "back-arch"], "flagged interval")
    if len(t_min):
        ax.plot(t_min, sagittal, color=COLOR_MAIN, lw=1.2, label="sagittal lean")
    if thresholds.forward_lean_deg is not None:
        ax.axhline(thresholds.forward_lean_deg, color=COLOR_THRESHOLD, ls="--", lw=1,
                   label=f"forward limit +{thresholds.forward_lean_deg:g}°")
    if thresholds.back_arch_deg is not None:
        ax.axhline(-thresholds.back_arch_deg, color=COLOR_THRESHOLD, ls=":", lw=1,
                   label=f"backward limit −{thresholds.back_arch_deg:g}°")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_title("Sagittal lean (forward +, backward −) vs upright reference", loc="left",
                 fontsize="medium")
    _finish(ax, session, "degrees")


def plot_frontal(ax: Axes, session: Mapping[str, Any], thresholds: Thresholds) -> None:
    t_min, frontal = _minutes_with_breaks(session, "frontal_deg")
    _shade(ax, session, ["side-lean"], "flagged interval")
    if len(t_min):
        ax.plot(t_min, frontal, color=COLOR_SECOND, lw=1.2, label="frontal lean")
    if thresholds.side_lean_deg is not None:
        for sign in (1, -1):
            ax.axhline(sign * thresholds.side_lean_deg, color=COLOR_THRESHOLD, ls="--", lw=1,
                       label=f"side limit ±{thresholds.side_lean_deg:g}°" if sign > 0 else None)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_title("Frontal lean (right +, left −) vs upright reference", loc="left",
                 fontsize="medium")
    ax.set_xlabel("time (min)")
    _finish(ax, session, "degrees")


def plot_asymmetry(ax: Axes, session: Mapping[str, Any], thresholds: Thresholds) -> None:
    t_min, rolling = _minutes_with_breaks(session, "step_time_si_pct")
    _shade(ax, session, ["uneven-steps"], "flagged interval")
    first = True
    for bout in session.get("bouts") or []:
        si = finite_or_none(bout.get("step_time_si_pct"))
        start = finite_or_none(bout.get("start_s"))
        end = finite_or_none(bout.get("end_s"))
        if si is None or start is None or end is None:
            continue
        ax.bar(_minutes(session, start), abs(si), width=(end - start) / 60.0, align="edge",
               color=COLOR_MAIN, alpha=0.35, label="per bout" if first else None)
        first = False
    if len(t_min):
        ax.plot(t_min, np.abs(rolling), color=COLOR_MAIN, lw=1.2, label="rolling")
    if thresholds.step_time_si_pct is not None:
        ax.axhline(thresholds.step_time_si_pct, color=COLOR_THRESHOLD, ls="--", lw=1,
                   label=f"limit {thresholds.step_time_si_pct:g} %")
    ax.set_ylim(bottom=0)
    ax.set_title("Step-time asymmetry |SI| per bout and rolling", loc="left", fontsize="medium")
    ax.set_xlabel("time (min)")
    _finish(ax, session, "|SI| (%)")


def timeline_rows(session: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(rule id, label) per timeline row: every known rule, then any other flagged rule."""
    flagged = [str(f.get("rule")) for f in session.get("flags") or []]
    extra = sorted({r for r in flagged if r not in RULE_NAMES})
    return [(r, RULE_NAMES[r]) for r in RULE_NAMES] + [(r, r) for r in extra]


def plot_timeline(ax: Axes, session: Mapping[str, Any]) -> None:
    """Walking bouts on the top row, then one row per rule with its flagged intervals, and
    recording gaps hatched across all rows."""
    rows = timeline_rows(session)
    n = len(rows) + 1
    walking = []
    for bout in session.get("bouts") or []:
        start = finite_or_none(bout.get("start_s"))
        end = finite_or_none(bout.get("end_s"))
        if start is not None and end is not None and end > start:
            walking.append((_minutes(session, start), (end - start) / 60.0))
    ax.broken_barh(walking, (n - 1 + 0.15, 0.7), color=COLOR_MAIN)
    for i, (rule, _) in enumerate(rows):
        y = n - 2 - i
        spans = [(_minutes(session, a), (b - a) / 60.0)
                 for a, b in flag_intervals(session, [rule])]
        if spans:
            ax.broken_barh(spans, (y + 0.15, 0.7), color=COLOR_THRESHOLD, alpha=0.8)
    for start, end in gaps_s(session):
        ax.axvspan(_minutes(session, start), _minutes(session, end), facecolor="none",
                   edgecolor=COLOR_GAP, hatch="///", lw=0)
    labels = ["walking"] + [label for _, label in rows]
    ax.set_yticks([n - 1 - i + 0.5 for i in range(n)], labels)
    ax.set_ylim(0, n)
    ax.set_title("Walking bouts and flags, one row per rule", loc="left", fontsize="medium")
    ax.set_xlabel("time (min)")
    _finish(ax, session, "")
    ax.grid(True, axis="x", alpha=0.3)
    ax.grid(False, axis="y")


# --------------------------------------------------------------------------- history plots


def plot_trends(axes: Sequence[Axes], trend: Sequence[Any], thresholds: Thresholds) -> None:
    """Per-session cadence, lean medians and |SI| (``store.TrendPoint`` items) on 3 axes."""
    when = [p.started_at for p in trend]

    def values(name: str) -> np.ndarray:
        return np.array([np.nan if (v := finite_or_none(getattr(p, name))) is None else v
                         for p in trend])

    ax_cad, ax_lean, ax_si = axes
    ax_cad.plot(when, values("cadence_spm"), "o-", color=COLOR_MAIN, label="cadence")
    if thresholds.brisk_spm is not None:
        ax_cad.axhline(thresholds.brisk_spm, color=COLOR_THRESHOLD, ls="--", lw=1,
                       label=f"brisk ≥ {thresholds.brisk_spm:g}")
    ax_cad.set_ylabel("steps/min")
    ax_cad.set_title("Cadence per session", loc="left", fontsize="medium")
    ax_lean.plot(when, values("sagittal_deg_median"), "o-", color=COLOR_MAIN,
                 label="sagittal median")
    ax_lean.plot(when, values("frontal_deg_median"), "s-", color=COLOR_SECOND,
                 label="frontal median")
    if thresholds.forward_lean_deg is not None:
        ax_lean.axhline(thresholds.forward_lean_deg, color=COLOR_THRESHOLD, ls="--", lw=1,
                        label=f"forward limit +{thresholds.forward_lean_deg:g}°")
    ax_lean.axhline(0, color="black", lw=0.6)
    ax_lean.set_ylabel("degrees")
    ax_lean.set_title("Trunk lean per session", loc="left", fontsize="medium")
    ax_si.plot(when, np.abs(values("step_time_si_pct")), "o-", color=COLOR_MAIN, label="|SI|")
    if thresholds.step_time_si_pct is not None:
        ax_si.axhline(thresholds.step_time_si_pct, color=COLOR_THRESHOLD, ls="--", lw=1,
                      label=f"limit {thresholds.step_time_si_pct:g} %")
    ax_si.set_ylabel("|SI| (%)")
    ax_si.set_title("Step-time asymmetry per session", loc="left", fontsize="medium")
    locator = AutoDateLocator()
    ax_si.xaxis.set_major_locator(locator)
    ax_si.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    for ax in axes:
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                      frameon=False)


def plot_plan(ax: Axes, weeks: Sequence[Any]) -> None:
    """Longest walk per ISO week against the plan's per-walk target (``store.WeekTotal``)."""
    x = np.arange(len(weeks))
    longest = [w.longest_walk_min for w in weeks]
    colors = [COLOR_MAIN if w.met else "#9db4cc" for w in weeks]
    ax.bar(x, longest, width=0.6, color=colors, label="longest walk (dark: week met the plan)")
    ax.hlines([w.target_walk_min for w in weeks], x - 0.4, x + 0.4, color=COLOR_THRESHOLD,
              lw=2, label="plan target per walk")
    ax.set_xlim(-0.7, max(len(weeks), 3) - 0.3)
    ax.set_ylim(0, max([*longest, *(w.target_walk_min for w in weeks)], default=5) * 1.15)
    every = max(1, -(-len(weeks) // 12))  # at most ~12 labels, legible for a year of weeks
    ax.set_xticks(x, [w.label if i % every == 0 else "" for i, w in enumerate(weeks)],
                  rotation=45, ha="right", fontsize="small")
    ax.set_ylabel("minutes")
    ax.set_title("Walking plan progress", loc="left", fontsize="medium")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


# --------------------------------------------------------------------------- output


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure on an Agg canvas (size in inches, 100 px per inch in PNG output)."""
    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def side_label(side: Any) -> str:
    text = str(side).strip().upper() if side is not None else ""
    return text[:1] if text[:1] in ("L", "R") else "?"
