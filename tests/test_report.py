"""Walk reports from templates: header, wearer facts, tables, figures, the signal viewer with
gaps, escaping, the history pages; the page rendered in headless Chromium and the PDF rendered
to images with poppler."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from stridewatch.report.limits import Thresholds
from stridewatch.report.render import render_pdf, render_report
from stridewatch.report.signal import ReportSignal
from stridewatch.store import database as store
from tests.fixtures_session import make_session, make_signal

HOSTILE = "<script>alert(1)</script>"
HOSTILE_FILE = '"><img src=x onerror="document.title=\'XSS\'">$x$.csv'
PROVENANCE = {
    "input_file": "walk-2025-01-06.csv",
    "device": "MetaMotionS",
    "profile": "mbientlab-mms",
    "sample_rate_hz": 100,
    "calibration": "standing segment 0–10 s",
    "rules_file": "rules/p1.toml",
    "rules_version": "patient-v3",
}
FIXED_TIME = datetime(2025, 1, 6, 12, 0)
GAP_S = (200.0, 215.0)  # planted: no samples from 3:20 to 3:35
RECORDING = {"patient_id": "p1", "started_at": "2025-01-06T09:30:00+01:00", "time_zone": "CET",
             "started_at_source": "trace", "duration_s": 600.0, "device": "MetaMotionS",
             "profile": "metawear", "lean_reference": "standing calibration"}


def gap_session(**kwargs: object) -> dict:
    session = make_session(**kwargs)  # type: ignore[arg-type]
    start = session["start_s"]
    session["segments"] = [[start, start + GAP_S[0]], [start + GAP_S[1], start + 600.0]]
    session["recording"] = dict(RECORDING)
    return session


def gap_signal(session: dict) -> ReportSignal:
    full = make_signal(session)
    t = full.t_s - session["start_s"]
    keep = (t < GAP_S[0]) | (t >= GAP_S[1])
    return ReportSignal(full.t_s[keep], full.vertical_g[keep])


@pytest.fixture(scope="module")
def session() -> dict:
    return gap_session()


@pytest.fixture(scope="module")
def signal(session: dict) -> ReportSignal:
    return gap_signal(session)


@pytest.fixture(scope="module")
def report_html(session: dict, signal: ReportSignal) -> str:
    return render_report(session, signal, PROVENANCE, patient_id="p1",
                         generated_at=FIXED_TIME)


def section(page: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', page, re.S)
    assert match, section_id
    return match.group(0)


def visible_text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def table_rows(page: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table id="{table_id}">.*?</table>', page, re.S).group(0)
    body = table.split("<tbody>")[1]
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_header_names_patient_time_duration_device_profile_and_lean_reference(
        report_html: str) -> None:
    fields = dict(re.findall(r'<dt>([^<]+)</dt><dd data-field="[^"]+"[^>]*>([^<]*)</dd>',
                             report_html))
    assert fields == {
        "Patient": "p1",
        "Recorded": "2025-01-06 09:30 CET (UTC+01:00)",
        "Duration": "10 min",
        "Device": "MetaMotionS",
        "Profile": "metawear",
        "Lean reference": "standing calibration",
        "Recording file": "walk-2025-01-06.csv",
    }


def test_header_leaves_out_what_is_not_known(signal: ReportSignal) -> None:
    bare = make_session()
    bare["lean"].pop("reference")
    page = render_report(bare, make_signal(bare), {}, generated_at=FIXED_TIME)
    labels = re.findall(r"<dt>([^<]+)</dt>", page)
    assert labels == ["Duration", "Recording file"]


def test_wearer_section_uses_the_one_wording_of_the_facts(report_html: str,
                                                          session: dict) -> None:
    from stridewatch.report.facts import session_facts

    text = visible_text(section(report_html, "wearer"))
    for sentence in session_facts(session).sentences:
        assert sentence in text
    assert "You took 888 steps in 8 min 30 s of walking (2 walks in a 10 min recording)." in text
    assert "Your average pace was 104 steps a minute: brisk" in text  # 888 / 8.5 min
    assert "leaning forward for 1 min" in text
    assert "Your steps were uneven for 3 min 30 s" in text
    assert "Guideline: Posture: head up" in text and "Guideline: Even steps" in text


def test_flag_table_and_gap_table(report_html: str) -> None:
    assert table_rows(report_html, "flags") == [
        ["forward-lean", "6:40–7:40 (1 min)", "13.0 vs 10.0",
         "Leaning forward 13.0° (limit 10°) for 60 s"],
        ["uneven-steps", "6:00–9:30 (3 min 30 s)", "12.0 vs 10.0",
         "Step-time asymmetry 12.0 % (limit 10 %)"],
    ]
    assert table_rows(report_html, "gaps") == [["3:20", "3:35", "15 s"]]
    assert "<caption>Table 2. Flags" in report_html


def test_viewer_covers_the_whole_recording_with_the_gap_left_out(report_html: str,
                                                                 session: dict) -> None:
    data = json.loads(html.unescape(re.search(
        r'<script type="application/json" id="viewer-data">(.*?)</script>', report_html,
        re.S).group(1)))
    segments = data["segments"]
    assert len(segments) == 2  # split at the planted gap
    first_end = segments[0]["t0"] + segments[0]["dt"] * (len(segments[0]["mg"]) - 1)
    assert first_end < GAP_S[0] <= GAP_S[1] <= segments[1]["t0"] + 0.02
    last_end = segments[1]["t0"] + segments[1]["dt"] * (len(segments[1]["mg"]) - 1)
    assert last_end > 599.0  # to the end, not a 20 s excerpt
    assert data["gaps"] == [{"start_s": GAP_S[0], "end_s": GAP_S[1]}]
    jumps = re.findall(r'data-kind="(\w+)" data-rule="([^"]*)" data-jump-start="([\d.]+)"',
                       report_html)
    assert [(k, r) for k, r, _ in jumps] == [("flag", "forward-lean"), ("flag", "uneven-steps"),
                                             ("bout", ""), ("bout", ""), ("gap", "")]
    overview = re.search(r'<svg[^>]*id="viewer-overview".*?</svg>', report_html, re.S).group(0)
    [gap_rect] = re.findall(r'<rect class="gap"[^>]*x="([\d.]+)"[^>]*width="([\d.]+)"', overview)
    assert float(gap_rect[1]) > 10  # 15 s of 600 s on an 840 px plot: ~21 px


def test_plots_break_lines_at_gaps(session: dict) -> None:
    from matplotlib.figure import Figure

    from stridewatch.report import figures

    with_gap = dict(session)
    t = [x for x in session["series"]["t_s"] if not GAP_S[0] <= x < GAP_S[1]]
    with_gap["series"] = {k: [v for x, v in zip(session["series"]["t_s"], vals, strict=True)
                              if not GAP_S[0] <= x < GAP_S[1]]
                          for k, vals in session["series"].items()}
    assert len(with_gap["series"]["t_s"]) == len(t)
    ax = Figure().add_subplot()
    figures.plot_sagittal(ax, with_gap, Thresholds())
    [line] = [ln for ln in ax.get_lines() if ln.get_label() == "sagittal lean"]
    x, y = (np.asarray(a, dtype=float) for a in line.get_data())
    inside = (x > GAP_S[0] / 60) & (x < GAP_S[1] / 60)
    assert not np.isfinite(y[inside]).any()  # nothing drawn over the gap
    assert np.isnan(y[np.searchsorted(np.nan_to_num(x, nan=-1), GAP_S[0] / 60) - 1:][:2]).any()


def test_timeline_has_one_row_per_rule(session: dict) -> None:
    from matplotlib.figure import Figure

    from stridewatch.report import figures

    ax = Figure().add_subplot()
    figures.plot_timeline(ax, session)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["walking", "slow pace", "leaning forward", "arching backwards",
                      "leaning to the side", "uneven steps", "no break", "short walk"]


def test_figures_are_inline_and_the_page_is_offline(report_html: str) -> None:
    imgs = re.findall(r'<figure id="([^"]+)"><img src="data:image/png;base64,([^"]+)"',
                      report_html)
    assert [i[0] for i in imgs] == ["fig-cadence", "fig-lean", "fig-asymmetry", "fig-timeline"]
    for _, b64 in imgs:
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(src.startswith("data:") for src in re.findall(r'\ssrc="([^"]*)"', report_html))
    assert "<link" not in report_html and "@import" not in report_html
    csp = html.unescape(
        re.search(r'Content-Security-Policy" content="([^"]+)"', report_html).group(1))
    assert "default-src 'none'" in csp
    [script] = re.findall(r"<script>(.*?)</script>", report_html, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp


def test_provenance_lists_input_device_calibration_and_rules(report_html: str) -> None:
    rows = dict(tuple(r) for r in table_rows(report_html, "provenance-table"))
    assert rows["Input file"] == "walk-2025-01-06.csv"
    assert rows["Device"] == "MetaMotionS"
    assert rows["Calibration"] == "standing segment 0–10 s"
    assert rows["Rules version"] == "patient-v3"


def hostile_session() -> dict:
    session = gap_session(source=HOSTILE_FILE)
    session["recording"]["device"] = HOSTILE
    session["flags"].append({"rule": HOSTILE, "start_s": 1.0, "end_s": 2.0, "value": "<b>",
                             "threshold": 1.0, "message": HOSTILE})
    session["sides"] = [HOSTILE if i == 0 else s for i, s in enumerate(session["sides"])]
    session["warnings"] = [f"forward direction uncertain {HOSTILE}"]
    return session


def test_text_from_inputs_is_escaped(signal: ReportSignal) -> None:
    page = render_report(hostile_session(), signal,
                         {"rules_file": HOSTILE, HOSTILE: HOSTILE_FILE}, patient_id=HOSTILE,
                         guidelines={"forward-lean": "Dr Lee: <b>tall</b>"})
    assert HOSTILE not in page and "<b>tall</b>" not in page
    assert "<img src=x" not in page
    assert page.count("<script>") == 1  # the page's own viewer script only
    assert page.count(html.escape(HOSTILE)) >= 6
    assert "Guideline: Dr Lee: <b>tall</b>" in visible_text(page)


def test_session_json_carries_the_same_header(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from stridewatch.cli import main

    assert main(["analyze", "--json", "--patient", "p7", str(SAMPLE)]) == 0
    session = json.loads(capsys.readouterr().out)
    recording = session["recording"]
    assert set(recording) >= {"patient_id", "started_at", "time_zone", "duration_s", "device",
                              "profile", "lean_reference"}
    assert recording["patient_id"] == "p7" and recording["duration_s"] == session["duration_s"]
    assert datetime.fromisoformat(recording["started_at"]).tzinfo is not None


# --------------------------------------------------------------------------- history


def history_store(tmp_path: Path, days: int = 5) -> Path:
    db = tmp_path / "h.sqlite3"
    for i in range(days):
        for patient in (HOSTILE, "p2"):
            session = make_session(with_flags=patient == HOSTILE)
            session["walking_s"] = (5 + i % 4) * 60.0
            store.save_session(db, session, patient_id=patient,
                               session_date=date(2025, 1, 6) + (date(2025, 1, 8) -
                                                                date(2025, 1, 6)) * i)
    return db


def test_history_rows_have_steps_walking_flags(tmp_path: Path) -> None:
    from stridewatch.cli.history import build_history

    db = history_store(tmp_path)
    page_path = tmp_path / "h.html"
    build_history(page_path, HOSTILE, db)
    page = page_path.read_text(encoding="utf-8")
    assert HOSTILE not in page and "<script" not in page
    rows = table_rows(page, "sessions")
    assert len(rows) == 5
    assert rows[0][:3] == ["2025-01-06 00:00", "5 min", "888"]
    assert rows[0][6] == "leaning forward, uneven steps"
    assert 'id="fig-plan"' in page and 'id="fig-trends"' in page


def test_history_without_patient_is_an_index_of_one_page_per_patient(tmp_path: Path) -> None:
    from stridewatch.cli.history import build_history_index

    db = history_store(tmp_path, days=2)
    pages = build_history_index(tmp_path / "history.html", db)
    index = pages[0].read_text(encoding="utf-8")
    links = re.findall(r'<td><a href="([^"]+)">([^<]+)</a>', index)
    assert [html.unescape(label) for _, label in links] == [HOSTILE, "p2"]
    for href, label in links:
        page = (tmp_path / html.unescape(href)).read_text(encoding="utf-8")
        assert f'<dd id="patient-id">{label}</dd>' in page  # one patient per page
        assert len(table_rows(page, "sessions")) == 2


def test_history_chart_labels_stay_legible_for_a_year() -> None:
    from matplotlib.figure import Figure

    from stridewatch.report import figures

    weeks = [store.WeekTotal(2025, w, date(2025, 1, 6), 3, 3, 30.0, 10.0, 10.0, 3, 3, True)
             for w in range(1, 53)]
    fig = Figure(figsize=(9.6, 3.2))
    ax = fig.add_subplot()
    figures.plot_plan(ax, weeks)
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    assert 6 <= len(labels) <= 14  # every few weeks, not 52 overlapping labels


# --------------------------------------------------------------------------- Chromium, poppler

CHROMIUM = "/usr/bin/chromium"  # Debian package 'chromium' (.ci/run installs it)

# Loads the report in an iframe (same origin thanks to --allow-file-access-from-files, so the
# report itself stays untouched, CSP included), clicks what a clinician would click, and writes
# the findings into this page for --dump-dom.
HARNESS = """<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="report" src="report.html" style="width:1100px;height:900px"></iframe>
<iframe id="history" src="history.html" style="width:1100px;height:900px"></iframe>
<iframe id="injected" src="injected.html" style="width:400px;height:200px"></iframe>
<script>
var out = {}, pending = 3;
function size(el) { var r = el.getBoundingClientRect(); return [r.width, r.height]; }
function done() { if (--pending === 0) {
  document.getElementById("result").textContent = JSON.stringify(out); } }
function figuresOf(d) {
  return Array.from(d.querySelectorAll("figure img, figure svg")).map(function (el) {
    var s = size(el), style = d.defaultView.getComputedStyle(el);
    return {id: el.closest("figure").id, tag: el.tagName.toLowerCase(), w: s[0], h: s[1],
            natural: el.naturalWidth || 0, children: el.childElementCount || 0,
            visible: style.visibility === "visible" && style.display !== "none"};
  });
}
function detail(d) {
  var svg = d.getElementById("viewer-detail");
  var traces = Array.from(svg.querySelectorAll("path.trace")).map(function (p) {
    return [Number(p.getAttribute("data-t0")), Number(p.getAttribute("data-t1"))]; });
  var gaps = Array.from(svg.querySelectorAll("rect.gap")).map(function (r) {
    return [Number(r.getAttribute("data-start")), Number(r.getAttribute("data-end")),
            r.getBBox().width]; });
  var tick = svg.querySelector("text.tick"), box = svg.getBoundingClientRect();
  var tb = tick.getBoundingClientRect();
  return {t0: Number(svg.getAttribute("data-t0")), t1: Number(svg.getAttribute("data-t1")),
          traces: traces, gaps: gaps, marks: svg.querySelectorAll("line.ic").length,
          yLabels: svg.querySelectorAll("text.tick[text-anchor=end]").length,
          tickInside: tb.left >= box.left && tb.right <= box.right};
}
document.getElementById("report").addEventListener("load", function () {
  try {
    var d = this.contentDocument;
    var header = {};
    d.querySelectorAll("#report-header dd").forEach(function (dd) {
      header[dd.getAttribute("data-field")] = dd.textContent; });
    out.report = {title: d.title, figures: figuresOf(d), header: header,
                  scripts: d.getElementsByTagName("script").length,
                  onerror: d.querySelectorAll("[onerror]").length,
                  initial: detail(d), jumps: []};
    d.querySelectorAll("button[data-jump-start]").forEach(function (b) {
      b.click();
      var v = detail(d);
      v.kind = b.getAttribute("data-kind"); v.rule = b.getAttribute("data-rule");
      v.start = Number(b.getAttribute("data-jump-start"));
      v.end = Number(b.getAttribute("data-jump-end"));
      out.report.jumps.push(v);
    });
    d.getElementById("viewer-zoom-out").click();
    d.getElementById("viewer-zoom-out").click();
    out.report.zoomedOut = detail(d);
  } catch (e) { out.reportError = String(e) + " " + e.stack; }
  done();
});
document.getElementById("history").addEventListener("load", function () {
  try {
    var d = this.contentDocument;
    out.history = {figures: figuresOf(d), patient: d.getElementById("patient-id").textContent,
                   rows: d.querySelectorAll("#sessions tbody tr").length};
  } catch (e) { out.historyError = String(e); }
  done();
});
document.getElementById("injected").addEventListener("load", function () {
  out.injectedTitle = this.contentDocument.title;
  done();
});
</script></body></html>
"""


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    # a real component: fails (never skips) when Chromium is missing
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install chromium"
    session = hostile_session()
    page = render_report(session, gap_signal(session), {"rules_file": HOSTILE},
                         patient_id=HOSTILE)
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    db = history_store(tmp_path, days=4)
    from stridewatch.cli.history import build_history

    build_history(tmp_path / "history.html", HOSTILE, db)
    injected = page.replace("<main>", "<main><script>document.title='INJECTED'</script>", 1)
    (tmp_path / "injected.html").write_text(injected, encoding="utf-8")
    (tmp_path / "harness.html").write_text(HARNESS, encoding="utf-8")

    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
         (tmp_path / "harness.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    match = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"no result in DOM dump; stderr: {proc.stderr[-2000:]}"
    result = json.loads(html.unescape(match.group(1)))
    assert "reportError" not in result and "historyError" not in result, result
    report = result["report"]

    assert report["header"] == {"Patient": HOSTILE, "Recorded": "2025-01-06 09:30 CET "
                                "(UTC+01:00)", "Duration": "10 min", "Device": HOSTILE,
                                "Profile": "metawear", "Lean reference": "standing calibration",
                                "Recording file": HOSTILE_FILE}  # shown as text, not run
    assert report["title"].endswith(HOSTILE)
    assert report["scripts"] == 2 and report["onerror"] == 0  # viewer script + its JSON data
    assert [(f["id"], f["tag"]) for f in report["figures"]] == [
        ("fig-cadence", "img"), ("fig-lean", "img"), ("fig-asymmetry", "img"),
        ("fig-timeline", "img"), ("fig-viewer", "svg"), ("fig-viewer", "svg")]
    for fig in report["figures"]:
        assert fig["visible"] and fig["w"] > 300 and fig["h"] > 100, fig
        assert fig["natural"] > 0 if fig["tag"] == "img" else fig["children"] > 10, fig

    initial = report["initial"]
    assert initial["t1"] - initial["t0"] == pytest.approx(20.0)
    assert initial["marks"] > 20 and initial["yLabels"] >= 3 and initial["tickInside"]
    flags = [j for j in report["jumps"] if j["kind"] == "flag"]
    expected = [(f["rule"], f["start_s"], f["end_s"]) for f in session["flags"]]
    assert [(j["rule"], j["start"], j["end"]) for j in flags] == expected
    for j in report["jumps"]:  # every flag and bout can be reached and is shown whole
        assert j["t0"] <= j["start"] + 1e-3 and j["end"] - 1e-3 <= j["t1"], j
        assert j["yLabels"] >= 3 and j["tickInside"], j  # the axes stay in view
    [gap] = [j for j in report["jumps"] if j["kind"] == "gap"]
    assert (gap["start"], gap["end"]) == GAP_S
    assert len(gap["traces"]) == 2  # one trace each side: a gap, not a line across it
    assert all(t1 <= GAP_S[0] + 1e-6 or t0 >= GAP_S[1] - 1e-6 for t0, t1 in gap["traces"])
    assert gap["gaps"] and gap["gaps"][0][2] > 50  # the hatched "no data" box is drawn
    zoomed = report["zoomedOut"]
    assert zoomed["t1"] - zoomed["t0"] > gap["t1"] - gap["t0"]
    assert result["injectedTitle"] != "INJECTED"  # CSP blocks an injected inline script

    assert [f["id"] for f in result["history"]["figures"]] == ["fig-plan", "fig-trends"]
    assert all(f["w"] > 300 and f["h"] > 100 and f["natural"] > 0
               for f in result["history"]["figures"])
    assert result["history"]["patient"] == HOSTILE and result["history"]["rows"] == 4


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} missing: apt-get install poppler-utils"
    return path


def test_pdf_pages_render_with_title_patient_date_and_page_numbers(
        tmp_path: Path, session: dict, signal: ReportSignal) -> None:
    out = render_pdf(session, signal, {"device": "dev $1$", "rules_file": "r.toml"},
                     tmp_path / "report.pdf", patient_id="p$2$",
                     generated_at=datetime(2025, 1, 6, 12, 0, tzinfo=UTC))
    info = subprocess.run([poppler("pdfinfo"), str(out)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 3
    fonts = subprocess.run([poppler("pdffonts"), str(out)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all("Type 3" not in f and f.split()[-5] == "yes" for f in fonts), fonts
    texts = []
    for page in range(1, pages + 1):
        text = subprocess.run([poppler("pdftotext"), "-layout", "-f", str(page), "-l",
                               str(page), str(out), "-"], capture_output=True, text=True,
                              check=True).stdout
        texts.append(text)
        assert f"Page {page} of {pages}" in text
        assert "Walk report · Patient p$2$ · 2025-01-06 09:30 CET" in text  # every page
    whole = "\n".join(texts)
    assert "You took 888 steps in 8 min 30 s of walking" in whole
    assert "Table 2. Flags" in whole and "forward-lean" in whole
    assert "Figure 5. Raw vertical acceleration over the whole recording" in whole
    assert re.search(r"3:20\s+3:35\s+15 s", whole)  # the planted gap, listed
    subprocess.run([poppler("pdftoppm"), "-r", "40", "-png", str(out), str(tmp_path / "pg")],
                   check=True)
    from matplotlib.image import imread

    images = sorted(tmp_path.glob("pg-*.png"))
    assert len(images) == pages
    for image in images:  # each page has drawn content, not a blank sheet
        pixels = imread(image)[..., :3]
        assert (pixels.mean(axis=2) < 0.8).mean() > 0.01, image.name


# --------------------------------------------------------------------------- with the pipeline

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample-walk.csv"
SAMPLE_TRUTH = SAMPLE.with_suffix(".truth.json")


def test_build_report_analyses_stores_and_applies_patient_rules(tmp_path: Path) -> None:
    from stridewatch.cli.report import build_report

    truth = json.loads(SAMPLE_TRUTH.read_text())
    db = tmp_path / "s.sqlite3"
    first = build_report(SAMPLE, tmp_path / "a.html", pdf=tmp_path / "a.pdf", patient_id=HOSTILE,
                         db=db, calibrate_s=(2.0, 12.0), session_date=date(2025, 2, 3))
    session = first.session
    # the sample has a known number of planted steps; the analysis finds them (±2 %)
    assert session["steps"] == pytest.approx(len(truth["initial_contacts"]), rel=0.02)
    page = first.html_path.read_text(encoding="utf-8")
    assert f"You took {session['steps']:,} steps in " in visible_text(page)
    assert HOSTILE not in page and html.escape(HOSTILE) in page
    assert "forward-lean" in [f["rule"] for f in session["flags"]]
    assert first.pdf_path is not None and first.pdf_path.read_bytes().startswith(b"%PDF")
    stored_json = store.load_session(db, first.session_id)
    assert stored_json["report"]["html"] == str(first.html_path.resolve())  # history links it
    assert stored_json["recording"]["patient_id"] == HOSTILE
    provenance = dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>",
                                 section(page, "provenance")))
    assert provenance["Calibration"] == "standing segment 2–12 s"
    assert provenance["Input file"] == str(SAMPLE)

    # a patient with spinal stenosis: forward lean is not flagged once the rules say so
    store.set_patient_rules(db, HOSTILE, 'version = "stenosis-1"\n[forward-lean]\n'
                                         "enabled = false\n")
    second = build_report(SAMPLE, tmp_path / "b.html", patient_id=HOSTILE, db=db,
                          calibrate_s=(2.0, 12.0), session_date=date(2025, 2, 5))
    assert "forward-lean" not in [f["rule"] for f in second.session["flags"]]
    assert "forward limit" not in second.html_path.read_text(encoding="utf-8")
    stored = store.list_sessions(db, patient_id=HOSTILE)
    # the same recording reported again: its one session now holds the new analysis
    assert [(s.id, s.rules_version, s.steps, s.session_date) for s in stored] == [
        (first.session_id, "stenosis-1", second.session["steps"], date(2025, 2, 5))]
    assert (second.session_id, second.session_created) == (first.session_id, False)


def test_cli_report_history_and_patient_rules(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from stridewatch.cli import main

    db = str(tmp_path / "s.sqlite3")
    rules = tmp_path / "p1.toml"
    rules.write_text("[slow-pace]\nthreshold_spm = 90\n")
    assert main(["patient", "set-rules", "p1", str(rules), "--db", db]) == 0
    other = tmp_path / "other-walk.csv"  # another recording: one sample differs
    lines = SAMPLE.read_text().splitlines()
    lines[-1] = lines[-1].rsplit(",", 1)[0] + ",0.5"
    other.write_text("\n".join(lines) + "\n")
    for day, walk in (("2025-03-03", SAMPLE), ("2025-03-05", other)):
        assert main(["report", str(walk), "-o", str(tmp_path / f"{day}.html"), "--patient",
                     "p1", "--db", db, "--date", day]) == 0
    assert main(["history", "-o", str(tmp_path / "h.html"), "--patient", "p1",
                 "--db", db, "--until", "2025-03-09"]) == 0
    out = capsys.readouterr().out
    assert "patient p1: rules version 1" in out
    # two walks of ~6.5 min in 2025-W10: the first week's 5-min target needs three
    assert re.search(r"2025-W10\s+2\s+1[23]\.\d\s+6\.\d\s+5m\s+not met", out), out
    history = (tmp_path / "h.html").read_text(encoding="utf-8")
    assert 'id="fig-plan"' in history and history.count('<tr class="') == 1
    links = re.findall(r'<a class="report-link" href="([^"]+)"', history)
    assert links == ["2025-03-03.html", "2025-03-05.html"]  # each session's own report
    bad = tmp_path / "bad.toml"
    bad.write_text("[no-such-rule]\nx = 1\n")
    assert main(["patient", "set-rules", "p1", str(bad), "--db", db]) == 2
    assert "unknown rule [no-such-rule]" in capsys.readouterr().err
    assert store.get_patient_rules(db, "p1").version == 1  # type: ignore[union-attr]


def test_a_recording_inside_a_file_dates_from_the_file(tmp_path):
    """A Mobilise-D trial (``data.mat#…``) without a time stamp takes the file's date; a
    source that is no file any more takes the analysis time, said so (not a traceback)."""
    import os
    from datetime import datetime

    from stridewatch.report.header import recording_header

    mat = tmp_path / "data.mat"
    mat.write_bytes(b"MATLAB")
    os.utime(mat, (1.7e9, 1.7e9))
    trial = recording_header(None, {"source": f"{mat}#TimeMeasure1/Test5/Trial1"})
    assert trial["started_at_source"] == "file modified"
    assert trial["started_at"] == datetime.fromtimestamp(1.7e9).astimezone().isoformat(
        timespec="seconds")
    gone = recording_header(None, {"source": str(tmp_path / "gone.csv")})
    assert gone["started_at_source"] == "analysis"
