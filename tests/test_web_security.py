"""Security of the clinic web app (Flask test client): access per patient, CSRF, escaping,
login rate limit, upload size limit, cookies, headers and the bind policy of `serve`."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from stridewatch.cli import main
from stridewatch.cli.web import check_bind
from stridewatch.store import clinicians, engine
from stridewatch.store import database as store
from stridewatch.web import recordings, security
from stridewatch.web.app import WebConfig, create_app
from tests.web_helpers import add_users, csrf_token, login, write_walk

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture()
def env(tmp_path: Path):
    db = str(tmp_path / "store.sqlite3")
    add_users(db)
    other = store.store_session(db, {"source": "bob-walk.csv", "flags": [
        {"rule": "slow-pace", "start_s": 1.0, "end_s": 9.0, "message": SCRIPT}]},
        patient_id="P2")
    upload_dir = tmp_path / "uploads"
    app = create_app(WebConfig(db=db, upload_dir=upload_dir, max_upload_bytes=2 * 2**20))
    yield {"db": db, "app": app, "other_session": other.id, "uploads": upload_dir}
    engine.close(db)


def client_for(env, user: str):
    client = env["app"].test_client()
    assert login(client, user).status_code == 302
    return client


def test_another_clinicians_patient_is_not_found(env) -> None:
    alice = client_for(env, "alice")
    sid = env["other_session"]
    missing = alice.get("/patients/NOPE")
    assert missing.status_code == 404
    for url in ("/patients/P2", "/patients/P2/rules", f"/sessions/{sid}",
                f"/sessions/{sid}/report", f"/sessions/{sid}/report.pdf",
                f"/sessions/{sid}/samples.csv", f"/sessions/{sid}/recording", "/admin"):
        response = alice.get(url)
        assert response.status_code == 404, url
    assert "P2" not in alice.get("/").text
    token = csrf_token(alice.get("/").text)
    response = alice.post("/patients/P2/rules",
                          data={"csrf_token": token, "rules_toml": "[slow-pace]\n"})
    assert response.status_code == 404
    assert store.get_patient_rules(env["db"], "P2") is None
    # bob, assigned to P2, and the admin see it
    assert client_for(env, "bob").get(f"/sessions/{sid}").status_code == 200
    assert client_for(env, "root").get("/patients/P2").status_code == 200


def test_pages_need_a_login(env) -> None:
    anonymous = env["app"].test_client()
    response = anonymous.get("/patients/P1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_form_without_csrf_token_is_refused(env) -> None:
    alice = client_for(env, "alice")
    for data in ({}, {"csrf_token": "forged"}):
        response = alice.post("/patients/P1/rules",
                              data={**data, "rules_toml": "[slow-pace]\nthreshold_spm = 90\n"})
        assert response.status_code == 400
    assert store.get_patient_rules(env["db"], "P1") is None
    assert alice.post("/logout").status_code == 400  # logout is a form too
    assert alice.get("/").status_code == 200
    # a login post without the token of the login page
    fresh = env["app"].test_client()
    response = fresh.post("/login", data={"username": "alice", "password": "alice-secret-pw"})
    assert response.status_code == 400


def test_script_in_patient_id_file_name_and_messages_is_text(env, tmp_path: Path) -> None:
    clinicians.assign_patients(env["db"], "alice", [SCRIPT])
    alice = client_for(env, "alice")
    page = alice.get("/").text
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    url = f"/patients/{SCRIPT}"
    page = alice.get(url).text
    assert SCRIPT not in page and "&lt;script&gt;" in page
    # file name: a recording filed under a scripted name, and a refused one
    token = csrf_token(page)
    walk = write_walk(tmp_path / "walk.csv", walk_s=30.0)
    response = alice.post(f"{url}/upload", content_type="multipart/form-data", data={
        "csrf_token": token, "recording": (walk.open("rb"), f"{SCRIPT}.csv")})
    assert response.status_code == 302
    page = alice.get(url).text
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;.csv" in page
    response = alice.post(f"{url}/upload", content_type="multipart/form-data", data={
        "csrf_token": token, "recording": (io.BytesIO(b"no,samples\n1,2\n"), f"{SCRIPT}.csv")})
    assert response.status_code == 400
    assert SCRIPT not in response.text and "&lt;script&gt;" in response.text
    # rule message: a rules error quoting the text, and a stored flag message
    response = alice.post(f"{url}/rules", data={
        "csrf_token": token, "rules_toml": f'["{SCRIPT}"]\nthreshold_spm = 1\n'})
    assert response.status_code == 400
    error = re.search(r'id="rules-error">(.*?)</p>', response.text, re.S).group(1)
    assert SCRIPT not in response.text and "&lt;script&gt;" in error
    bob = client_for(env, "bob")
    page = bob.get(f"/sessions/{env['other_session']}").text
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_wrong_passwords_are_rate_limited(env) -> None:
    client = env["app"].test_client()
    codes = [login(client, "alice", "wrong-password").status_code
             for _ in range(security.LOGIN_FAILURES_PER_CLIENT)]
    assert codes == [401] * security.LOGIN_FAILURES_PER_CLIENT
    blocked = login(client, "alice")  # even the right password, until the window passes
    assert blocked.status_code == 429 and "too many failed logins" in blocked.text
    # another account is not locked by alice's failures from this address
    assert login(client, "bob").status_code == 302


def test_limiter_window_and_per_user_budget() -> None:
    now = [0.0]
    limiter = security.LoginLimiter(clock=lambda: now[0])
    for i in range(security.LOGIN_FAILURES_PER_USER):
        limiter.failed(f"10.0.0.{i}", "alice")  # spread over addresses
    assert limiter.blocked("10.9.9.9", "alice")
    now[0] += security.LOGIN_WINDOW_S + 1
    assert not limiter.blocked("10.9.9.9", "alice")


class CountingStream(io.RawIOBase):
    """A request body of ``size`` bytes generated on demand, counting what was read."""

    def __init__(self, size: int) -> None:
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"1" * n
        self.position += n
        self.read_bytes += n
        return n


def test_200_mb_upload_refused_without_reading_it(env) -> None:
    alice = client_for(env, "alice")
    token = csrf_token(alice.get("/patients/P1").text)
    body = CountingStream(200 * 2**20)
    response = alice.post(
        "/patients/P1/upload", input_stream=body,
        content_type="multipart/form-data; boundary=x",
        headers={"Content-Length": str(body.size)}, query_string={"csrf_token": token})
    assert response.status_code == 413
    assert "upload limit" in response.text and "nothing was filed" in response.text
    assert body.read_bytes < 2**20  # refused from the header, not by reading 200 MB
    assert not env["uploads"].exists() or not any(env["uploads"].iterdir())
    assert store.list_sessions(env["db"], patient_id="P1") == []


def test_upload_stream_is_cut_at_the_limit(env, tmp_path: Path) -> None:
    """A body without a usable length (chunked) is counted while copied: stopped at the
    limit, the partial file removed, nothing filed."""
    body = CountingStream(50 * 2**20)
    with pytest.raises(recordings.UploadError, match="larger than the 1 MB limit"):
        recordings.file_upload(env["db"], io.BufferedReader(body), "big.csv", "P1",
                               env["uploads"], max_bytes=2**20)
    assert body.read_bytes <= 2**20 + recordings.CHUNK_BYTES
    assert list(env["uploads"].iterdir()) == []
    assert store.list_sessions(env["db"], patient_id="P1") == []


def test_bad_recording_gives_a_message_and_files_nothing(env) -> None:
    alice = client_for(env, "alice")
    token = csrf_token(alice.get("/patients/P1").text)
    response = alice.post("/patients/P1/upload", content_type="multipart/form-data", data={
        "csrf_token": token, "recording": (io.BytesIO(b"t,ax,ay,az\n0,1,2,oops\n"), "w.csv")})
    assert response.status_code == 400
    message = re.search(r'id="error-message">(.*?)</p>', response.text, re.S).group(1)
    assert "w.csv, line 2: column az" in message and "nothing was filed" in message
    assert ".upload-" not in message  # the temporary name is not shown
    assert list(env["uploads"].iterdir()) == []
    assert store.list_sessions(env["db"], patient_id="P1") == []


def test_cookie_flags_headers_and_logout(env, tmp_path: Path) -> None:
    client = env["app"].test_client()
    response = login(client, "alice")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    page = client.get("/")
    assert page.headers["Content-Security-Policy"] == security.APP_CSP
    assert "script-src 'none'" in security.APP_CSP and page.headers["X-Frame-Options"] == "DENY"
    stolen = client.get_cookie("stridewatch_session").value
    assert client.post("/logout", data={"csrf_token": csrf_token(page.text)}).status_code == 302
    replay = env["app"].test_client()
    replay.set_cookie("stridewatch_session", stolen)
    assert replay.get("/").status_code == 302  # the logged-out session is gone server-side
    tls_app = create_app(WebConfig(db=env["db"], upload_dir=tmp_path / "u2", tls=True))
    tls_cookie = login(tls_app.test_client(), "alice").headers["Set-Cookie"]
    assert "Secure" in tls_cookie


def test_serve_binds_locally_unless_told(capsys) -> None:
    assert check_bind("127.0.0.1", None, None, False) is None
    assert check_bind("::1", None, None, False) is None
    assert "TLS" in check_bind("0.0.0.0", None, None, False)
    assert check_bind("0.0.0.0", "c.pem", "k.pem", False) is None
    assert check_bind("192.168.1.5", None, None, True) is None
    assert main(["serve", "--host", "0.0.0.0", "--db", ":memory:"]) == 2
    assert "--insecure-http" in capsys.readouterr().err


def test_users_command_hashes_passwords(tmp_path: Path, monkeypatch, capsys) -> None:
    db = str(tmp_path / "s.sqlite3")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert main(["users", "--db", db, "add", "carol", "--password-stdin",
                 "--assign", "P7"]) == 0
    account = clinicians.get_clinician(db, "carol")
    assert account.password_hash.startswith("$argon2id$")
    assert "a-long-password" not in account.password_hash
    assert clinicians.visible_patients(db, "carol") == ["P7"]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "--db", db, "passwd", "carol", "--password-stdin"]) == 2
    assert "at least" in capsys.readouterr().err
    assert main(["users", "--db", db, "remove", "carol"]) == 0
    assert clinicians.get_clinician(db, "carol") is None
    assert main(["users", "--db", db, "remove", "carol"]) == 2
