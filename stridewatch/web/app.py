"""The Flask application: routes, login and the per-request patient access check.

Every page that shows a patient's data goes through ``_patient_or_404`` / ``_session_or_404``:
a patient the logged-in clinician is not assigned to answers 404, the same as one that does
not exist, so IDs cannot be probed. Every POST carries the login session's CSRF token. Pages
are Jinja2 templates with autoescaping, served under the file report's Content-Security-Policy
(no scripts at all on the app's own pages).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import (
    Flask,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import wrap_file

from analysis.errors import InputError
from stridewatch.cli.options import default_rules
from stridewatch.report.wording import count_of
from stridewatch.store import clinicians
from stridewatch.store import database as store
from stridewatch.store.filing import resolve_rules
from stridewatch.web import passwords, recordings, reports, rules_form, security, trends

DEFAULT_MAX_UPLOAD_MB = 64
#: Weeks of plan totals shown on a patient page.
PLAN_WEEKS_SHOWN = 8
#: Weeks drawn in a patient page's trend charts.
TREND_WEEKS_SHOWN = 26


@dataclass(frozen=True)
class WebConfig:
    db: store.DbLike
    upload_dir: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 2**20
    tls: bool = False


def create_app(config: WebConfig) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # signs the cookie; login sessions are server-side
        SESSION_COOKIE_NAME="stridewatch_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.tls,
        # the request body is refused beyond this size before it is read (Content-Length)
        # or as soon as the stream passes it (chunked uploads)
        MAX_CONTENT_LENGTH=config.max_upload_bytes + 64 * 1024,
        MAX_FORM_MEMORY_SIZE=256 * 1024,
    )
    app.jinja_env.filters["count_of"] = count_of
    db = store.connect(config.db)
    logins = security.LoginSessions()
    limiter = security.LoginLimiter()
    app.extensions["stridewatch"] = {"db": db, "logins": logins, "limiter": limiter,
                                     "config": config}

    # ----------------------------------------------------------------- every request

    @app.before_request
    def _load_user() -> Response | None:
        g.login = logins.get(session.get("token"))
        g.user = clinicians.get_clinician(db, g.login.username) if g.login else None
        if g.login and g.user is None:  # account removed while logged in
            logins.end(session.get("token"))
            g.login = None
        if request.method == "POST":
            expected = g.login.csrf_token if g.login else session.get("login_csrf")
            if not security.csrf_ok(expected, request.form.get("csrf_token")):
                abort(400, "the form was out of date or not sent by this site; "
                           "reload the page and try again")
        if request.endpoint not in ("login", "static") and g.user is None:
            return redirect(url_for("login"))
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        csp = response.headers.get("Content-Security-Policy", security.APP_CSP)
        for key, value in security.security_headers(csp).items():
            response.headers[key] = value
        return response

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        token = g.login.csrf_token if getattr(g, "login", None) else session.get("login_csrf")
        return {"csrf_token": token, "user": getattr(g, "user", None)}

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[str, int]:
        if isinstance(exc, RequestEntityTooLarge):
            message = (f"the file is larger than the "
                       f"{config.max_upload_bytes // 2**20} MB upload limit; nothing was filed")
        else:
            message = exc.description or exc.name
        return render_template("error.html", code=exc.code, title=exc.name,
                               message=message), exc.code or 500

    def _patient_or_404(patient_id: str) -> str:
        if not clinicians.may_see(db, g.user.username, patient_id):
            abort(404, "no such patient")
        return patient_id

    def _session_or_404(session_id: int) -> store.StoredSession:
        stored = store.get_session(db, session_id)
        if stored is None or not clinicians.may_see(db, g.user.username, stored.patient_id):
            abort(404, "no such session")
        return stored

    # ----------------------------------------------------------------- login

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            session["login_csrf"] = secrets.token_urlsafe(32)
            return render_template("login.html", csrf_token=session["login_csrf"])
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        address = request.remote_addr or "?"
        if limiter.blocked(address, username):
            return render_template(
                "login.html", error="too many failed logins; wait 15 minutes and try again",
                csrf_token=session.get("login_csrf")), 429
        account = clinicians.get_clinician(db, username)
        ok = passwords.verify_password(
            account.password_hash if account else passwords.DUMMY_HASH, password)
        if account is None or not ok:
            limiter.failed(address, username)
            return render_template("login.html", error="wrong user name or password",
                                   csrf_token=session.get("login_csrf")), 401
        limiter.succeeded(address, username)
        logins.end(session.get("token"))
        session.clear()  # a fresh cookie after login (no session fixation)
        session["token"] = logins.start(username)
        return redirect(url_for("patients"))

    @app.post("/logout")
    def logout() -> Any:
        logins.end(session.get("token"))
        session.clear()
        return redirect(url_for("login"))

    # ----------------------------------------------------------------- patients

    @app.get("/")
    def patients() -> Any:
        query = request.args.get("q", "").strip()
        ids = clinicians.visible_patients(db, g.user.username)
        if query:
            ids = [pid for pid in ids if query.casefold() in pid.casefold()]
        rows = sorted(clinicians.patient_overview(db, ids),
                      key=lambda r: (r.last_walk_utc is None, r.patient_id))
        return render_template("patients.html", rows=rows, query=query)

    @app.get("/patients/<path:patient_id>")
    def patient(patient_id: str) -> Any:
        _patient_or_404(patient_id)
        rules = resolve_rules(None, patient_id, db)
        sessions = list(reversed(store.list_sessions(db, patient_id=patient_id)))
        flags = clinicians.session_flags(db, [s.id for s in sessions])
        weeks = store.plan_weeks(sessions, rules.plan)
        charts = trends.patient_charts(sessions, weeks[-TREND_WEEKS_SHOWN:], rules)
        return render_template("patient.html", patient_id=patient_id, sessions=sessions,
                               flags=flags, weeks=weeks[-PLAN_WEEKS_SHOWN:][::-1],
                               charts=charts,
                               plan=rules.plan, rules_version=rules.version,
                               max_upload_mb=config.max_upload_bytes // 2**20)

    @app.route("/patients/<path:patient_id>/rules", methods=["GET", "POST"])
    def patient_rules(patient_id: str) -> Any:
        _patient_or_404(patient_id)
        stored = store.get_patient_rules(db, patient_id)
        shipped = default_rules()
        groups = rules_form.form_groups(resolve_rules(None, patient_id, db), shipped)
        changes = _rules_changes(clinicians.rules_history(db, patient_id))

        def page(text: str, error: str | None = None, status: int = 200,
                 shown: list[rules_form.FieldGroup] | None = None) -> Any:
            return render_template(
                "rules.html", patient_id=patient_id, text=text, stored=stored,
                groups=shown or groups, changes=changes, error=error,
                error_field=rules_form.error_field(error) if error else None), status

        if request.method == "GET":
            return page(stored.toml_text if stored else "")
        sent = request.form.to_dict(flat=False)
        if request.form.get("form") == "fields":
            text = rules_form.overrides_from_form(sent, shipped,
                                                  stored.toml_text if stored else None)
            shown = rules_form.with_sent_values(groups, sent)
        else:  # the advanced box: the overrides as TOML text
            text = request.form.get("rules_toml", "").replace("\r\n", "\n")
            shown = None
        try:
            # the same check as `stridewatch patient --set-rules FILE`
            shipped.with_overrides(text, f"rules of patient {patient_id}")
        except InputError as exc:
            return page(text, str(exc), 400, shown)
        version = clinicians.change_patient_rules(db, patient_id, text, g.user.username)
        ruleset = resolve_rules(None, patient_id, db)
        redone = recordings.reanalyse_patient(db, patient_id, ruleset)
        flash(f"rules version {version} saved; {count_of(redone, 'session')} analysed again "
              "with them")
        return redirect(url_for("patient", patient_id=patient_id))

    @app.post("/patients/<path:patient_id>/upload")
    def upload(patient_id: str) -> Any:
        _patient_or_404(patient_id)
        sent = request.files.get("recording")
        if sent is None or not sent.filename:
            flash("choose a recording file to upload")
            return redirect(url_for("patient", patient_id=patient_id))
        try:
            filed = recordings.file_upload(db, sent.stream, sent.filename, patient_id,
                                           config.upload_dir, config.max_upload_bytes)
        except recordings.UploadError as exc:
            return render_template("error.html", code=400, title="Upload refused",
                                   message=f"{sent.filename}: {exc}; nothing was filed",
                                   back=url_for("patient", patient_id=patient_id)), 400
        verb = "filed as new session" if filed.created else "already stored; updated session"
        flash(f"{sent.filename}: {verb} {filed.session_id}")
        return redirect(url_for("patient", patient_id=patient_id))

    # ----------------------------------------------------------------- sessions

    @app.get("/sessions/<int:session_id>")
    def session_page(session_id: int) -> Any:
        stored = _session_or_404(session_id)
        flags = clinicians.session_flags(db, [stored.id])[stored.id]
        has_recording = recordings.stored_recording_path(stored) is not None
        return render_template("session.html", s=stored, flags=flags,
                               has_recording=has_recording)

    @app.get("/sessions/<int:session_id>/report")
    def session_report(session_id: int) -> Any:
        stored = _session_or_404(session_id)
        page = reports.session_report_html(db, stored)
        response = Response(page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = security.report_csp(page)
        return response

    @app.get("/sessions/<int:session_id>/report.pdf")
    def session_pdf(session_id: int) -> Any:
        stored = _session_or_404(session_id)
        return _download(reports.session_report_pdf(db, stored), "application/pdf",
                         f"session-{session_id}.pdf")

    @app.get("/sessions/<int:session_id>/samples.csv")
    def session_csv(session_id: int) -> Any:
        stored = _session_or_404(session_id)
        path = recordings.stored_recording_path(stored)
        body = None if path is None else reports.samples_csv_file(path)
        if body is None:
            abort(404, "this session's recording is not stored")
        return _download(body, "text/csv", f"session-{session_id}.csv")

    @app.get("/sessions/<int:session_id>/recording")
    def session_recording(session_id: int) -> Any:
        stored = _session_or_404(session_id)
        path = recordings.stored_recording_path(stored)  # (sent as stored, not decoded)
        if path is None:
            abort(404, "this session's recording is not stored")
        return _download(path.read_bytes(), "application/octet-stream",
                         f"session-{session_id}{path.suffix}")

    # ----------------------------------------------------------------- admin

    @app.route("/admin", methods=["GET", "POST"])
    def admin() -> Any:
        if not g.user.is_admin:
            abort(404)
        if request.method == "POST":
            username = request.form.get("username", "")
            patient_ids = request.form.get("patient_ids", "").split()
            try:
                if request.form.get("action") == "unassign":
                    n = clinicians.unassign_patients(db, username, patient_ids)
                    flash(f"{count_of(n, 'patient')} unassigned from {username}")
                else:
                    n = clinicians.assign_patients(db, username, patient_ids, g.user.username)
                    flash(f"{count_of(n, 'patient')} assigned to {username}")
            except (KeyError, ValueError) as exc:
                flash(f"not changed: {exc}")
            return redirect(url_for("admin"))
        users = clinicians.list_clinicians(db)
        assigned = {u.username: clinicians.visible_patients(db, u.username) for u in users}
        return render_template("admin.html", users=users, assigned=assigned)

    return app


def _rules_changes(history: list[clinicians.RulesChange]) -> list[tuple[Any, list[str]]]:
    """Each change of a patient's rules (newest first) with the settings it changed."""
    out = []
    for i, change in enumerate(history):
        before = history[i + 1].rules_toml if i + 1 < len(history) else None
        out.append((change, rules_form.changes_between(before, change.rules_toml)))
    return out


def _download(body: bytes | str | IO[bytes], mimetype: str, filename: str) -> Response:
    """An attachment; a file is sent a block at a time and closed when sent."""
    if not isinstance(body, bytes | str):
        body = wrap_file(request.environ, body)
        response = Response(body, mimetype=mimetype, direct_passthrough=True)
    else:
        response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
