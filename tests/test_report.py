"""Walk reports: plain-language summary, inline figures, escaping, PDF, history page, and the
HTML as rendered by headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from datetime import date, datetime
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from stridewatch.report import figures
from stridewatch.report.figures import Thresholds
from stridewatch.report.html import (
    ReportSignal,
    render_history,
    render_pdf,
    render_report,
    wearer_summary,
)
from stridewatch.store import database as store
from tests.fixtures_session import (
    FORWARD_LEAN_INTERVAL_S,
    BoutSpec,
    make_session,
    make_signal,
)

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


@pytest.fixture(scope="module")
def session() -> dict:
    return make_session()


@pytest.fixture(scope="module")
def signal(session: dict) -> ReportSignal:
    return make_signal(session)


@pytest.fixture(scope="module")
def report_html(session: dict, signal: ReportSignal) -> str:
    return render_report(session, signal, PROVENANCE, patient_id="p1",
                         generated_at=FIXED_TIME)


def section(page: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', page, re.S)
    assert match, section_id
    return match.group(0)


def visible_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def test_wearer_summary_states_the_session_in_plain_language(report_html: str,
                                                             session: dict) -> None:
    text = " ".join(visible_text(section(report_html, "wearer")).split())
    assert f"You took {session['steps']:,} steps." in text  # 888 steps from the fixture
    assert "You walked for 8 min 30 s in a 10 min recording (2 walking bouts)." in text
    assert "average pace was 104 steps a minute: brisk" in text  # 888 / 8.5 min
    assert "leaning forward for 1 min" in text  # the 400-460 s forward-lean flag
    assert "uneven for 3 min 30 s" in text  # the 360-570 s uneven-steps flag
    assert "Guideline: Posture: head up" in text
    assert "Guideline: Even steps" in text
    assert "Walk briskly" not in text  # pace was brisk: no pace advice


def test_pace_verdict_follows_the_patients_threshold() -> None:
    slow = make_session(bouts=(BoutSpec(10.0, 400.0, 92.0, 2.0),), with_flags=False)
    default = wearer_summary(slow, Thresholds())
    assert "92 steps a minute: slower than brisk" in " ".join(default.facts)
    frail = wearer_summary(slow, Thresholds(brisk_spm=90.0))
    assert "92 steps a minute: brisk (brisk walking is about 90 steps" in " ".join(frail.facts)
    assert "stayed within your limits" in default.posture
    assert [a.rule for a in default.advice] == [""]  # nothing flagged: keep-going advice
    slow["flags"] = [{"rule": "slow-pace", "start_s": 10.0, "end_s": 400.0, "value": 92.0,
                      "threshold": 95.0, "message": "slow"}]
    flagged = wearer_summary(slow, Thresholds())
    assert flagged.advice[0].rule == "slow-pace"
    assert "about 95 steps a minute" in flagged.advice[0].text  # the flag's threshold wins


def test_auto_reference_and_no_walking_are_explained(signal: ReportSignal) -> None:
    auto = make_session(reference="auto", with_flags=False)
    assert "no standing calibration" in wearer_summary(auto, Thresholds()).posture
    idle = make_session(bouts=(), with_flags=False)
    page = render_report(idle, signal, {}, generated_at=FIXED_TIME)
    text = visible_text(section(page, "wearer"))
    assert "No walking was detected in this 10 min recording." in text
    assert "Posture could not be assessed" in text
    assert 'id="flags-none"' in page


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_figures_are_inline_and_the_page_is_offline(report_html: str) -> None:
    imgs = re.findall(r'<figure id="([^"]+)"><img src="data:image/png;base64,([^"]+)" '
                      r'width="(\d+)" height="(\d+)"', report_html)
    assert [i[0] for i in imgs] == ["fig-cadence", "fig-lean", "fig-asymmetry", "fig-bouts"]
    for _, b64, width, height in imgs:
        assert png_size(base64.b64decode(b64)) == (int(width), int(height))
    # nothing is fetched: every src is inline data, no stylesheet links, CSP forbids the rest
    assert all(src.startswith("data:") for src in re.findall(r'\ssrc="([^"]*)"', report_html))
    assert "<link" not in report_html and "@import" not in report_html
    csp = html.unescape(
        re.search(r'Content-Security-Policy" content="([^"]+)"', report_html).group(1))
    assert "default-src 'none'" in csp
    [script] = re.findall(r"<script>(.*?)</script>", report_html, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp


def test_raw_excerpt_marks_each_detected_step_with_its_side(report_html: str,
                                                            session: dict) -> None:
    marks = re.findall(r'<line class="ic ic-(left|right)" data-t="([\d.]+)" '
                       r'data-side="([LR])"', report_html)
    t0, t1 = figures.choose_excerpt_window(session, 20.0)
    expected = [(t, s) for t, s in zip(session["initial_contacts_s"], session["sides"],
                                       strict=True) if t0 <= t <= t1]
    assert len(expected) > 20  # ~36 steps in 20 s at 110 steps/min
    assert [float(t) for _, t, _ in marks] == pytest.approx([t for t, _ in expected], abs=1e-3)
    assert [side for _, _, side in marks] == [side for _, side in expected]
    assert all((cls == "left") == (side == "L") for cls, _, side in marks)
    labels = re.findall(r'<text class="side side-(?:left|right)"[^>]*>([LR])</text>',
                        report_html)
    assert labels == [side for _, side in expected]


def test_flag_table_lists_rule_time_value_and_threshold(report_html: str) -> None:
    table = re.search(r'<table id="flags">.*?</table>', report_html, re.S).group(0)
    rows = [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1])]
    assert rows == [
        ["forward-lean", "6:40–7:40 (1 min)", "13.0 vs 10.0",
         "Leaning forward 13.0° (limit 10°) for 60 s"],
        ["uneven-steps", "6:00–9:30 (3 min 30 s)", "12.0 vs 10.0",
         "Step-time asymmetry 12.0 % (limit 10 %)"],
    ]


def test_provenance_lists_input_device_calibration_and_rules(report_html: str) -> None:
    rows = dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>",
                           section(report_html, "provenance")))
    assert rows["Input file"] == "walk-2025-01-06.csv"
    assert rows["Device"] == "MetaMotionS"
    assert rows["Device profile"] == "mbientlab-mms"
    assert rows["Sample rate (Hz)"] == "100"
    assert rows["Calibration"] == "standing segment 0–10 s"
    assert rows["Rules file"] == "rules/p1.toml"
    assert rows["Rules version"] == "patient-v3"


def test_times_are_shown_into_the_recording_when_the_clock_starts_later() -> None:
    late = make_session(start_s=1000.0)  # input clock reads 1000 s at the recording's start
    page = render_report(late, make_signal(late), {}, generated_at=FIXED_TIME)
    table = re.search(r'<table id="flags">.*?</table>', page, re.S).group(0)
    assert "6:40–7:40 (1 min)" in html.unescape(table)
    ticks = re.findall(r'<text class="tick" text-anchor="middle">(\d+) s</text>', page)
    assert ticks[0] == "36" and ticks[-1] == "54"  # the 35-55 s excerpt, 2 s ticks
    marks = [float(t) for t in re.findall(r'data-t="([\d.]+)"', page)]
    assert marks and all(1035.0 <= t <= 1055.0 for t in marks)  # input clock kept in data
    ax = Figure().add_subplot()
    figures.plot_sagittal(ax, late, Thresholds())
    [span] = [p.get_path().transformed(p.get_patch_transform()).get_extents()
              for p in ax.patches]
    assert (span.x0, span.x1) == pytest.approx((400 / 60, 460 / 60))


def test_pipeline_extras_units_warnings_and_clinician_guidelines(signal: ReportSignal) -> None:
    session = make_session()
    session["flags"][0]["unit"] = "deg"
    session["flags"][1]["unit"] = "%"
    session["warnings"] = [f"forward direction uncertain {HOSTILE}"]
    session["asymmetry"]["longer_steps"] = "left"
    page = render_report(session, signal, {}, guidelines={"forward-lean": "Dr Lee: <b>tall</b>"},
                         generated_at=FIXED_TIME)
    text = visible_text(page)
    assert "13.0° vs 10.0°" in text and "12.0 % vs 10.0 %" in text
    assert "Guideline: Dr Lee: <b>tall</b>" in text  # the rules file's wording, as text
    assert "<b>tall</b>" not in page
    assert f"forward direction uncertain {HOSTILE}" in visible_text(
        re.search(r'<ul id="warnings">.*?</ul>', page, re.S).group(0))
    rows = dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", page))
    assert rows["Longer steps on"] == "left"


def hostile_session() -> dict:
    session = make_session(source=HOSTILE_FILE)
    session["flags"].append({"rule": HOSTILE, "start_s": 1.0, "end_s": 2.0, "value": "<b>",
                             "threshold": 1.0, "message": HOSTILE})
    session["sides"] = [HOSTILE if i == 0 else s for i, s in enumerate(session["sides"])]
    return session


def test_text_from_inputs_is_escaped(signal: ReportSignal) -> None:
    page = render_report(hostile_session(), signal,
                         {"rules_file": HOSTILE, HOSTILE: HOSTILE_FILE}, patient_id=HOSTILE)
    assert HOSTILE not in page
    assert "<img src=x" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert page.count("<script") == 1  # the page's own zoom script only
    assert page.count(html.escape(HOSTILE)) >= 6  # patient, title, rule, message, provenance
    assert html.escape(HOSTILE_FILE) in page


def test_lean_plot_shades_the_flagged_interval(session: dict) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    figures.plot_sagittal(ax, session, Thresholds())
    spans = [p.get_path().transformed(p.get_patch_transform()).get_extents()
             for p in ax.patches]
    assert [(round(b.x0, 4), round(b.x1, 4)) for b in spans] == [
        (round(FORWARD_LEAN_INTERVAL_S[0] / 60, 4), round(FORWARD_LEAN_INTERVAL_S[1] / 60, 4))]
    limits = sorted(line.get_ydata()[0] for line in ax.get_lines()
                    if line.get_linestyle() in ("--", ":"))
    assert limits == [-5.0, 10.0]
    # a patient without the forward-lean rule (e.g. spinal stenosis) gets no forward line
    ax2 = Figure().add_subplot()
    figures.plot_sagittal(ax2, make_session(with_flags=False),
                          Thresholds(forward_lean_deg=None))
    assert sorted(line.get_ydata()[0] for line in ax2.get_lines()
                  if line.get_linestyle() in ("--", ":")) == [-5.0]


def pdf_text(data: bytes) -> str:
    """Text drawn by matplotlib's PDF backend (TJ string arrays in Flate streams)."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for array in re.findall(rb"\[(.*?)\]\s*TJ", content, re.S):
            parts = re.findall(rb"\(((?:\\.|[^\\)])*)\)", array)
            out.append(b"".join(parts).decode("latin-1"))
    return "\n".join(out)


def test_pdf_has_the_same_content(tmp_path: Path, session: dict,
                                  signal: ReportSignal) -> None:
    out = render_pdf(session, signal, {"device": "dev $1$", "rules_file": "r.toml"},
                     tmp_path / "report.pdf", patient_id="p$2$", generated_at=FIXED_TIME)
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type /Page\b(?!s)", data)) == 3
    text = pdf_text(data)
    assert "You took 888 steps." in text
    assert "Patient p$2$" in text  # "$" stays literal, no math rendering
    assert "Device: dev $1$" in text
    assert "forward-lean" in text and "Provenance" in text


def test_history_page_shows_weekly_plan_and_trends(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    conn = store.connect(db)
    for day, minutes in [(6, 6), (8, 7), (10, 5), (13, 10), (15, 9)]:
        session = make_session(with_flags=False)
        session["walking_s"] = minutes * 60.0
        store.save_session(conn, session, patient_id=HOSTILE, session_date=date(2025, 1, day))
    weeks = store.weekly_totals(conn, patient_id=HOSTILE)
    trend = store.session_trends(conn, patient_id=HOSTILE)
    page = render_history(weeks, trend, patient_id=HOSTILE, generated_at=FIXED_TIME)
    assert HOSTILE not in page and "<script" not in page
    table = re.search(r'<table id="weeks">.*?</table>', page, re.S).group(0)
    rows = re.findall(r"<tr class=\"(met|missed)\"><td>([^<]+)</td>", table)
    assert rows == [("met", "2025-W02"), ("missed", "2025-W03")]
    assert "Week 2025-W03: 2 walks of 5 min or more, 19 min in total" in page
    assert "Target: 3 walks of 10 min — not met yet." in page
    assert 'id="fig-plan"' in page and 'id="fig-trends"' in page
    assert page.count("<tr><td>2025-01-") == 5  # one trend row per session


# --------------------------------------------------------------------------- Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Loads the report in an iframe (same origin thanks to --allow-file-access-from-files, so the
# report itself stays untouched, CSP included), measures what the browser laid out, clicks
# zoom, and writes the findings into this page for --dump-dom.
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
            natural: el.naturalWidth || 0, visible: style.visibility === "visible" &&
            style.display !== "none"};
  });
}
document.getElementById("report").addEventListener("load", function () {
  try {
    var d = this.contentDocument, svg = d.getElementById("raw-svg");
    out.report = {title: d.title, figures: figuresOf(d),
                  patient: d.getElementById("patient-id").textContent,
                  source: d.getElementById("source").textContent,
                  scripts: d.getElementsByTagName("script").length,
                  onerror: d.querySelectorAll("[onerror]").length,
                  marks: svg.querySelectorAll("line.ic").length};
    var before = size(svg)[0];
    d.getElementById("zoom-in").click();
    d.getElementById("zoom-in").click();
    out.report.zoom = [before, size(svg)[0], d.getElementById("zoom-level").textContent];
    var label = svg.querySelector("text.side");
    out.report.labelWidth = label.getBoundingClientRect().width;
  } catch (e) { out.reportError = String(e); }
  done();
});
document.getElementById("history").addEventListener("load", function () {
  try {
    var d = this.contentDocument;
    out.history = {figures: figuresOf(d), patient: d.getElementById("patient-id").textContent};
  } catch (e) { out.historyError = String(e); }
  done();
});
document.getElementById("injected").addEventListener("load", function () {
  out.injectedTitle = this.contentDocument.title;
  done();
});
</script></body></html>
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium binary not found (Debian package "
                    "'chromium'); the browser rendering check needs it")
def test_report_renders_in_headless_chromium(tmp_path: Path, signal: ReportSignal) -> None:
    page = render_report(hostile_session(), signal, {"rules_file": HOSTILE},
                         patient_id=HOSTILE)
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    db = tmp_path / "h.sqlite3"
    for day in (6, 8, 10, 13):
        store.save_session(db, make_session(with_flags=False), patient_id=HOSTILE,
                           session_date=date(2025, 1, day))
    history = render_history(store.weekly_totals(db, patient_id=HOSTILE),
                             store.session_trends(db, patient_id=HOSTILE), patient_id=HOSTILE)
    (tmp_path / "history.html").write_text(history, encoding="utf-8")
    # the report with an injected inline script: its CSP must keep that script from running
    injected = page.replace("<main>", "<main><script>document.title='INJECTED'</script>", 1)
    (tmp_path / "injected.html").write_text(injected, encoding="utf-8")
    (tmp_path / "harness.html").write_text(HARNESS, encoding="utf-8")

    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
         (tmp_path / "harness.html").as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    match = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"no result in DOM dump; stderr: {proc.stderr[-2000:]}"
    result = json.loads(html.unescape(match.group(1)))
    assert "reportError" not in result and "historyError" not in result, result

    report = result["report"]
    assert [(f["id"], f["tag"]) for f in report["figures"]] == [
        ("fig-cadence", "img"), ("fig-lean", "img"), ("fig-asymmetry", "img"),
        ("fig-bouts", "img"), ("fig-raw", "svg")]
    for fig in report["figures"]:
        assert fig["visible"] and fig["w"] > 300 and fig["h"] > 100, fig
        if fig["tag"] == "img":
            assert fig["natural"] > 0, fig  # the PNG decoded
    assert report["patient"] == HOSTILE  # shown as text, not run
    assert report["source"] == HOSTILE_FILE
    assert report["title"].endswith(HOSTILE)
    assert report["scripts"] == 1 and report["onerror"] == 0
    assert report["marks"] > 20
    before, after, level = report["zoom"]
    assert (after / before, level) == (pytest.approx(4.0), "4x")  # the hashed script ran
    assert 3 < report["labelWidth"] < 20  # L/R labels counter-scaled, still legible
    assert result["injectedTitle"] != "INJECTED"

    assert [f["id"] for f in result["history"]["figures"]] == ["fig-plan", "fig-trends"]
    assert all(f["w"] > 300 and f["h"] > 100 and f["natural"] > 0
               for f in result["history"]["figures"])
    assert result["history"]["patient"] == HOSTILE


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
    assert f"You took {session['steps']:,} steps." in visible_text(page)
    assert HOSTILE not in page and html.escape(HOSTILE) in page
    assert "forward-lean" in [f["rule"] for f in session["flags"]]
    assert first.pdf_path is not None and first.pdf_path.read_bytes().startswith(b"%PDF")
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
    assert 'id="fig-plan"' in history and history.count("<tr class=") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[no-such-rule]\nx = 1\n")
    assert main(["patient", "set-rules", "p1", str(bad), "--db", db]) == 2
    assert "unknown rule [no-such-rule]" in capsys.readouterr().err
    assert store.get_patient_rules(db, "p1").version == 1  # type: ignore[union-attr]
