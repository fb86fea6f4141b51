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

import html
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from stridewatch.report.limits import Thresholds, finite_or_none  # noqa: E402,F401

COLOR_MAIN = "#1f5f99"
COLOR_SECOND = "#b5651d"
COLOR_THRESHOLD = "#b22222"
COLOR_FLAG = "#f4a6a6"
COLOR_LEFT = "#1f7a3a"
COLOR_RIGHT = "#7a1f6b"


def series_array(session: Mapping[str, Any], key: str) -> np.ndarray:
    """A 1 Hz series as float array with NaN where the session has null."""
    values = (session.get("series") or {}).get(key) or []
    return np.array([np.nan if finite_or_none(v) is None else float(v) for v in values])


def flag_intervals(
    session: Mapping[str, Any], rules: Sequence[str]
) -> list[tuple[float, float]]:
    """(start_s, end_s) of the session's flags whose rule is in ``rules``."""
    out = []
    for flag in session.get("flags") or []:
        start = finite_or_none(flag.get("start_s"))
        end = finite_or_none(flag.get("end_s"))
        if str(flag.get("rule")) in rules and start is not None and end is not None:
            out.append((start, end))
    return out


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
    t = series_array(session, "t_s")
    cadence = series_array(session, "cadence_spm")
    _shade(ax, session, ["slow-pace"], "flagged: slow pace")
    if len(t) and len(t) == len(cadence):
        ax.plot(_minutes(session, t), cadence, color=COLOR_MAIN, lw=1.2, label="cadence")
    if thresholds.brisk_spm is not None:
        ax.axhline(thresholds.brisk_spm, color=COLOR_THRESHOLD, ls="--", lw=1,
                   label=f"brisk ≥ {thresholds.brisk_spm:g} steps/min")
    ax.set_title("Cadence over time", loc="left", fontsize="medium")
    ax.set_xlabel("time (min)")
    _finish(ax, session, "steps/min")


def plot_sagittal(ax: Axes, session: Mapping[str, Any], thresholds: Thresholds) -> None:
    t = series_array(session, "t_s")
    sagittal = series_array(session, "sagittal_deg")
    _shade(ax, session, ["forward-lean", "back-arch"], "flagged interval")
    if len(t) and len(t) == len(sagittal):
        ax.plot(_minutes(session, t), sagittal, color=COLOR_MAIN, lw=1.2, label="sagittal lean")
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
    t = series_array(session, "t_s")
    frontal = series_array(session, "frontal_deg")
    _shade(ax, session, ["side-lean"], "flagged interval")
    if len(t) and len(t) == len(frontal):
        ax.plot(_minutes(session, t), frontal, color=COLOR_SECOND, lw=1.2, label="frontal lean")
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
    t = series_array(session, "t_s")
    rolling = series_array(session, "step_time_si_pct")
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
    if len(t) and len(t) == len(rolling):
        ax.plot(_minutes(session, t), np.abs(rolling), color=COLOR_MAIN, lw=1.2, label="rolling")
    if thresholds.step_time_si_pct is not None:
        ax.axhline(thresholds.step_time_si_pct, color=COLOR_THRESHOLD, ls="--", lw=1,
                   label=f"limit {thresholds.step_time_si_pct:g} %")
    ax.set_ylim(bottom=0)
    ax.set_title("Step-time asymmetry |SI| per bout and rolling", loc="left", fontsize="medium")
    ax.set_xlabel("time (min)")
    _finish(ax, session, "|SI| (%)")


def plot_bouts(ax: Axes, session: Mapping[str, Any]) -> None:
    walking = []
    for bout in session.get("bouts") or []:
        start = finite_or_none(bout.get("start_s"))
        end = finite_or_none(bout.get("end_s"))
        if start is not None and end is not None and end > start:
            walking.append((_minutes(session, start), (end - start) / 60.0))
    ax.broken_barh(walking, (1.1, 0.8), color=COLOR_MAIN, label="walking bout")
    flagged = [(_minutes(session, s), (e - s) / 60.0) for s, e in flag_intervals(
        session, sorted({str(f.get("rule")) for f in session.get("flags") or []}))]
    if flagged:
        ax.broken_barh(flagged, (0.1, 0.8), color=COLOR_THRESHOLD, alpha=0.7, label="flag")
    ax.set_yticks([0.5, 1.5], ["flags", "walking"])
    ax.set_ylim(0, 2)
    ax.set_title("Walking bouts and flags", loc="left", fontsize="medium")
    ax.set_xlabel("time (min)")
    _finish(ax, session, "")


def plot_raw_excerpt(
    ax: Axes,
    t_s: np.ndarray,
    vertical_g: np.ndarray,
    contacts_s: Sequence[float],
    sides: Sequence[Any],
    window_s: tuple[float, float],
    offset_s: float = 0.0,
) -> None:
    """Raw vertical acceleration in a window (input clock), with initial contacts marked L/R
    (PDF version); the axis shows seconds into the recording (t - ``offset_s``)."""
    t0, t1 = window_s
    lo, hi = np.searchsorted(t_s, [t0, t1])
    ax.plot(t_s[lo:hi] - offset_s, vertical_g[lo:hi], color="black", lw=0.7)
    for ic, side in zip(contacts_s, sides, strict=False):
        ic_f = finite_or_none(ic)
        if ic_f is not None and t0 <= ic_f <= t1:
            label = side_label(side)
            color = COLOR_LEFT if label == "L" else COLOR_RIGHT
            ax.axvline(ic_f - offset_s, color=color, lw=0.8, alpha=0.7)
            ax.annotate(label, (ic_f - offset_s, 1.0), xycoords=("data", "axes fraction"),
                        ha="center", va="bottom", fontsize=7, color=color,
                        annotation_clip=False)
    ax.set_xlim(t0 - offset_s, t1 - offset_s)
    ax.set_xlabel("time into recording (s)")
    ax.set_ylabel("vertical acc. (g)")
    ax.grid(True, alpha=0.3)


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
    ax.set_xticks(x, [w.label for w in weeks], rotation=45, ha="right", fontsize="small")
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


def choose_excerpt_window(session: Mapping[str, Any], length_s: float = 20.0,
                          ) -> tuple[float, float]:
    """A window (input clock) inside the longest bout, from up to 5 s after its start; the
    recording's start when there is no bout."""
    best: tuple[float, float] | None = None
    for bout in session.get("bouts") or []:
        start = finite_or_none(bout.get("start_s"))
        end = finite_or_none(bout.get("end_s"))
        if start is None or end is None:
            continue
        if best is None or end - start > best[1] - best[0]:
            best = (start, end)
    offset = clock_offset_s(session)
    end_of_recording = offset + (finite_or_none(session.get("duration_s")) or length_s)
    if best is None:
        return offset, min(offset + length_s, end_of_recording)
    start = best[0] + min(5.0, max(0.0, (best[1] - best[0] - length_s) / 2))
    return start, min(start + length_s, end_of_recording)


SVG_WIDTH = 1000
SVG_HEIGHT = 240
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 54, 12, 26, 30
_MAX_POINTS = 6000


def raw_excerpt_svg(
    t_s: np.ndarray,
    vertical_g: np.ndarray,
    contacts_s: Sequence[float],
    sides: Sequence[Any],
    window_s: tuple[float, float],
    offset_s: float = 0.0,
) -> str:
    """Inline SVG of the raw vertical acceleration with initial contacts marked L/R.

    ``window_s`` and ``contacts_s`` are on the input clock; tick labels show seconds into the
    recording (t - ``offset_s``); ``data-t`` on each contact mark keeps the input-clock time.

    Drawn ``SVG_WIDTH`` units wide; the report's zoom script widens the element (x only,
    ``preserveAspectRatio="none"``) and counter-scales each ``text`` so labels stay legible.
    """
    t0, t1 = window_s
    lo, hi = np.searchsorted(t_s, [t0, t1])
    t = np.asarray(t_s[lo:hi], dtype=float)
    v = np.asarray(vertical_g[lo:hi], dtype=float)
    if len(t) > _MAX_POINTS:
        stride = math.ceil(len(t) / _MAX_POINTS)
        t, v = t[::stride], v[::stride]
    plot_w = SVG_WIDTH - _PAD_LEFT - _PAD_RIGHT
    plot_h = SVG_HEIGHT - _PAD_TOP - _PAD_BOTTOM
    span = max(t1 - t0, 1e-6)
    finite = v[np.isfinite(v)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if vmax - vmin < 1e-6:
        vmin, vmax = vmin - 0.5, vmax + 0.5

    def x_of(sec: float) -> float:
        return _PAD_LEFT + (sec - t0) / span * plot_w

    def y_of(g: float) -> float:
        return _PAD_TOP + (vmax - g) / (vmax - vmin) * plot_h

    def label(x: float, y: float, text: str, cls: str, anchor: str = "middle") -> str:
        return (f'<g transform="translate({x:.1f},{y:.1f})"><text class="{cls}" '
                f'text-anchor="{anchor}">{html.escape(text)}</text></g>')

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="raw-svg" class="raw-excerpt" '
        f'width="{SVG_WIDTH}" height="{SVG_HEIGHT}" viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}" '
        f'preserveAspectRatio="none" role="img" '
        f'aria-label="Raw vertical acceleration with detected steps">',
        f'<rect x="{_PAD_LEFT}" y="{_PAD_TOP}" width="{plot_w}" height="{plot_h}" '
        f'class="plot-bg"/>',
    ]
    # time ticks every 1, 2 or 5 s depending on window length
    tick = 1.0 if span <= 12 else 2.0 if span <= 30 else 5.0
    first_tick = math.ceil((t0 - offset_s) / tick) * tick + offset_s
    for sec in np.arange(first_tick, t1 + 1e-9, tick):
        x = x_of(float(sec))
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{_PAD_TOP}" x2="{x:.1f}" '
                     f'y2="{_PAD_TOP + plot_h}"/>')
        parts.append(label(x, SVG_HEIGHT - 10, f"{sec - offset_s:g} s", "tick"))
    for g in (vmin, (vmin + vmax) / 2, vmax):
        parts.append(label(_PAD_LEFT - 4, y_of(g) + 4, f"{g:.2f}", "tick", anchor="end"))
    parts.append(label(8, _PAD_TOP + plot_h / 2, "g", "tick"))
    for ic, side in zip(contacts_s, sides, strict=False):
        ic_f = finite_or_none(ic)
        if ic_f is None or not (t0 <= ic_f <= t1):
            continue
        lab = side_label(side)
        cls = {"L": "left", "R": "right"}.get(lab, "unknown")
        x = x_of(ic_f)
        parts.append(f'<line class="ic ic-{cls}" data-t="{ic_f:.3f}" data-side="{lab}" '
                     f'x1="{x:.1f}" y1="{_PAD_TOP}" x2="{x:.1f}" y2="{_PAD_TOP + plot_h}"/>')
        parts.append(label(x, _PAD_TOP - 8, lab, f"side side-{cls}"))
    points = " ".join(f"{x_of(a):.1f},{y_of(b):.1f}" for a, b in zip(t, v, strict=True)
                      if math.isfinite(b))
    parts.append(f'<polyline class="trace" points="{points}"/>')
    parts.append("</svg>")
    return "".join(parts)
