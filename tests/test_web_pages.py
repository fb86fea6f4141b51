"""The clinic web app's rules form, trend charts, plural wording and report drawing (Flask
test client; the browser walk-through is tests/test_web_browser.py)."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from analysis.errors import InputError
from stridewatch.cli.options import default_rules
from stridewatch.report.render import render_history
from stridewatch.store import clinicians, engine
from stridewatch.store import database as store
from stridewatch.web import recordings, reports, rules_form, trends
from stridewatch.web.app import WebConfig, create_app
from tests.web_helpers import add_users, csrf_token, login, write_walk


@pytest.fixture()
def env(tmp_path: Path):
    db = str(tmp_path / "store.sqlite3")
    add_users(db)
    walk = write_walk(tmp_path / "walk.csv", walk_s=60.0, cadence_spm=110.0)
    with walk.open("rb") as handle:
        filed = recordings.file_upload(db, handle, "walk.csv", "P1", tmp_path / "up", 2**24)
    app = create_app(WebConfig(db=db, upload_dir=tmp_path / "up"))
    client = app.test_client()
    assert login(client, "alice").status_code == 302
    yield {"db": db, "client": client, "session": filed.session_id}
    engine.close(db)


def _form(client, **changes: str) -> dict[str, str | list[str]]:
    """The rules form as the page fills it, with some inputs changed (as a browser sends it:
    a check box's hidden "false" and, when ticked, its "true")."""
    page = client.get("/patients/P1/rules").text
    data: dict[str, str | list[str]] = {"csrf_token": csrf_token(page), "form": "fields"}
    for name, value in re.findall(r'type="number" name="([^"]+)" id="[^"]+" value="([^"]*)"',
                                  page):
        data[name] = value
    for name in re.findall(r'type="hidden" name="([^"]+\.[^"]+)" value="false"', page):
        ticked = re.search(rf'name="{re.escape(name)}" id="[^"]+" value="true" checked', page)
        data[name] = ["false", "true"] if ticked else ["false"]
    data.update(changes)
    return data


def test_rules_form_changes_a_threshold_and_flags_are_evaluated_again(env) -> None:
    client, db = env["client"], env["db"]
    flags = clinicians.session_flags(db, [env["session"]])[env["session"]]
    assert "slow-pace" not in {f["rule"] for f in flags}  # 110 steps/min is brisk by default
    response = client.post("/patients/P1/rules",
                           data=_form(client, **{"slow-pace.threshold_spm": "150",
                                                 "side-lean.enabled": ["false"]}))
    assert response.status_code == 302
    stored = store.get_patient_rules(db, "P1")
    # only what differs from the shipped rules is kept, as a rules file would say it
    assert stored.toml_text == "[slow-pace]\nthreshold_spm = 150\n\n[side-lean]\nenabled = false\n"
    flags = clinicians.session_flags(db, [env["session"]])[env["session"]]
    assert "slow-pace" in {f["rule"] for f in flags}
    page = client.get("/patients/P1/rules").text
    assert 'name="slow-pace.threshold_spm" id="field-slow-pace-threshold_spm" value="150"' in page
    assert 'name="side-lean.enabled" id="field-side-lean-enabled" value="true">' in page
    history = clinicians.rules_history(db, "P1")
    assert [h.changed_by for h in history] == ["alice"]
    assert "[slow-pace] threshold_spm: default → 150" in page
    assert "[side-lean] enabled: default → false" in page


@pytest.mark.parametrize(("name", "value", "toml_value"), [
    ("slow-pace.threshold_spm", "999", "999"),
    ("uneven-steps.min_strides", "2.5", "2.5"),
    ("walking-plan.walks_per_week", "0", "0"),
    ("forward-lean.hold_s", "abc", '"abc"'),
    ("walking-plan.start_min", "-1", "-1"),
])
def test_rules_form_refuses_exactly_what_a_rules_file_refuses(env, name: str, value: str,
                                                               toml_value: str) -> None:
    client, db = env["client"], env["db"]
    table, key = name.split(".")
    source = "rules of patient P1"
    with pytest.raises(InputError) as file_error:
        default_rules().with_overrides(f"[{table}]\n{key} = {toml_value}\n", source)
    response = client.post("/patients/P1/rules", data=_form(client, **{name: value}))
    assert response.status_code == 400
    assert str(file_error.value) in response.text.replace("&#39;", "'")
    assert 'class="setting invalid"' in response.text  # the input it is about is marked
    assert store.get_patient_rules(db, "P1") is None
    assert clinicians.rules_history(db, "P1") == []


def test_goal_below_start_refused_like_the_file(env) -> None:
    response = env["client"].post("/patients/P1/rules", data=_form(
        env["client"], **{"walking-plan.start_min": "20", "walking-plan.goal_min": "10"}))
    assert response.status_code == 400
    assert "goal_min (10) is below start_min (20)" in response.text
    assert store.get_patient_rules(env["db"], "P1") is None


def test_form_keeps_the_patients_other_overrides(env) -> None:
    client, db = env["client"], env["db"]
    text = ('version = "P1 after surgery"\n[forward-lean]\nguideline = "Say \\"up\\""\n'
            "[walking-plan]\nwalks_per_week = 2\n")
    response = client.post("/patients/P1/rules", data={
        "csrf_token": csrf_token(client.get("/patients/P1/rules").text), "form": "toml",
        "rules_toml": text})
    assert response.status_code == 302
    response = client.post("/patients/P1/rules",
                           data=_form(client, **{"no-break.min_pause_min": "3.5"}))
    assert response.status_code == 302
    rules = default_rules().with_overrides(store.get_patient_rules(db, "P1").toml_text, "x")
    assert rules.version == "P1 after surgery"
    assert rules.rules["forward-lean"].guideline == 'Say "up"'
    assert rules.plan.walks_per_week == 2
    assert rules.rules["no-break"].params["min_pause_min"] == 3.5
    assert [h.changed_by for h in clinicians.rules_history(db, "P1")] == ["alice", "alice"]


def test_unchanged_form_stores_no_overrides() -> None:
    shipped = default_rules()
    sent = {f.name: ["false", "true"] if f.value == "true" else [f.value]
            for g in rules_form.form_groups(shipped, shipped) for f in g.fields}
    assert rules_form.overrides_from_form(sent, shipped, None) == ""


def _stored(day: date, cadence: float | None, si: float | None, lean: float | None,
            walking_min: float = 10.0) -> store.StoredSession:
    started = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
    return store.StoredSession(
        id=0, patient_id="P1", source=None, trace_path=None, session_date=day,
        started_at=started, analyzed_at=started, duration_s=walking_min * 60,
        walking_s=walking_min * 60, steps=None, cadence_spm=cadence, sagittal_deg_median=lean,
        frontal_deg_median=None, sagittal_deg_p95=None, step_time_si_pct=si,
        lean_reference=None, rules_version=None)


def test_weekly_trends_are_medians_per_iso_week() -> None:
    monday = date(2026, 11, 2)  # ISO 2026-W45
    sessions = [_stored(monday, 100, 4, 8), _stored(monday + timedelta(days=6), 110, 6, None),
                _stored(monday + timedelta(days=2), 120, 20, 10),
                _stored(monday + timedelta(days=14), 90, None, 3)]  # W47; W46 empty
    weeks = trends.weekly_trends(sessions)
    assert [(w.label, w.sessions) for w in weeks] == [("2026-W45", 3), ("2026-W47", 1)]
    assert (weeks[0].cadence_spm, weeks[0].step_time_si_pct, weeks[0].sagittal_deg) == (110, 6, 9)
    assert (weeks[1].cadence_spm, weeks[1].step_time_si_pct, weeks[1].sagittal_deg) == (90, None, 3)
    svg = str(trends.line_chart("c", "Cadence", "steps/min", weeks, lambda w: w.cadence_spm,
                                100.0, "brisk"))
    assert svg.count('class="point"') == 2 and svg.count('class="limit"') == 1
    assert "2026-W45: 110.0 steps/min (median of 3)" in svg
    # no week measured asymmetry in W47: one point only, and no chart at all without values
    svg = str(trends.line_chart("a", "SI", "%", weeks, lambda w: w.step_time_si_pct))
    assert svg.count('class="point"') == 1
    assert trends.line_chart("n", "none", "x", weeks, lambda w: None) is None


def test_patient_page_draws_trends_and_plan_under_the_csp(env) -> None:
    db = env["db"]
    start = datetime.now(UTC) - timedelta(days=21)
    session = store.load_session(db, env["session"])
    for day in (0, 7, 8, 14):
        store.store_session(db, session, patient_id="P1", recorded_at=start + timedelta(days=day))
    response = env["client"].get("/patients/P1")
    page = response.text
    for chart in ("chart-plan", "chart-cadence", "chart-asymmetry", "chart-lean"):
        assert f'<svg id="{chart}"' in page, chart
    weeks = store.weekly_totals(db, patient_id="P1", plan=default_rules().plan)
    assert page.count('<rect class="week ') == len(weeks)
    assert "<script" not in page and "script-src 'none'" in response.headers[
        "Content-Security-Policy"]
    assert "3 walks a week" in page


def test_counted_words_are_singular_for_one(env) -> None:
    client, db = env["client"], env["db"]
    response = client.post("/patients/P1/rules",
                           data=_form(client, **{"walking-plan.walks_per_week": "1"}))
    assert "1 session analysed again" in client.get(response.headers["Location"]).text
    assert "1 walk a week" in client.get("/patients/P1").text
    plan = default_rules().with_overrides("[walking-plan]\nwalks_per_week = 1\n", "x").plan
    weeks = store.weekly_totals(db, patient_id="P1", plan=plan)
    page = render_history(weeks, [], "P1")
    assert "Target: 1 walk of" in page and "1 walks" not in page


def test_report_drawn_once_for_simultaneous_requests_and_again_after_a_rules_change(
        env, monkeypatch) -> None:
    db = env["db"]
    stored = store.get_session(db, env["session"])
    drawn: list[str] = []
    real = reports._draw

    def counting(function, *args):  # noqa: ANN001, ANN202
        drawn.append(function.__name__)
        return real(function, *args)

    monkeypatch.setattr(reports, "_draw", counting)
    monkeypatch.setattr(reports, "_cache", type(reports._cache)())
    pages: list[str] = []
    threads = [threading.Thread(target=lambda: pages.append(
        reports.session_report_html(db, stored))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pages) == 4 and len(set(pages)) == 1 and "walk.csv" in pages[0]
    assert drawn == ["_draw_html"]
    assert reports.session_report_html(db, stored) == pages[0] and len(drawn) == 1
    clinicians.change_patient_rules(db, "P1", "[slow-pace]\nthreshold_spm = 150\n", "alice")
    again = reports.session_report_html(db, stored)
    assert len(drawn) == 2 and "150" in again


def test_report_memory_is_bounded_least_recently_shown_first(env, monkeypatch) -> None:
    db = env["db"]
    session = store.load_session(db, env["session"])
    ids = [env["session"]] + [store.store_session(db, session, patient_id="P1").id
                              for _ in range(2)]
    monkeypatch.setattr(reports, "_cache", type(reports._cache)())
    monkeypatch.setattr(reports, "_cached_bytes", 0)
    monkeypatch.setattr(reports, "CACHED_REPORT_BYTES", 2500)
    drawn: list[int] = []

    def fake_draw(function, session, *args):  # noqa: ANN001, ANN202
        drawn.append(1)
        return "x" * 1000

    monkeypatch.setattr(reports, "_draw", fake_draw)
    stored = [store.get_session(db, i) for i in ids]
    for s in (stored[0], stored[1], stored[0], stored[2]):  # 0 shown again: 1 is the oldest
        reports.session_report_html(db, s)
    assert len(drawn) == 3 and reports._cached_bytes == 2000
    reports.session_report_html(db, stored[0])
    assert len(drawn) == 3  # still kept
    reports.session_report_html(db, stored[1])
    assert len(drawn) == 4  # dropped, drawn again
