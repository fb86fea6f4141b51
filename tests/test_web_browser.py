"""The clinic web app driven by a real Chromium (Debian's /usr/bin/chromium through
/usr/bin/chromedriver and Selenium) against ``stridewatch serve`` on a free local port.

No skip: without Chromium or its driver this test fails (``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stridewatch.store import engine
from stridewatch.web import recordings
from tests.web_helpers import PASSWORDS, add_users, write_walk

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def server(tmp_path: Path):
    db = str(tmp_path / "store.sqlite3")
    uploads = tmp_path / "uploads"
    add_users(db)
    first = write_walk(tmp_path / "first-walk.csv", walk_s=60.0, cadence_spm=110.0)
    with first.open("rb") as handle:
        recordings.file_upload(db, handle, "first-walk.csv", "P1", uploads, 2**24)
    engine.close(db)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stridewatch", "serve", "--db", db, "--port", "0",
         "--upload-dir", str(uploads)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        assert "serving" in line, line + proc.stdout.read()
        url = line.split(" on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        yield {"url": url, "db": db, "tmp": tmp_path}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture()
def browser():
    assert CHROMIUM.exists(), f"{CHROMIUM} missing: apt-get install chromium chromium-driver"
    assert CHROMEDRIVER.exists(), f"{CHROMEDRIVER} missing: apt-get install chromium-driver"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def test_clinician_walkthrough(server, browser) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    def replaced(old):  # noqa: ANN001, ANN202
        """True once ``old`` has left the document. Mid-navigation Chromium may answer
        "node does not belong to the document" instead of a stale reference: also gone."""
        def check(_driver) -> bool:  # noqa: ANN001
            try:
                return bool(expected_conditions.staleness_of(old)(_driver))
            except WebDriverException as error:
                if "does not belong to the document" in (error.msg or ""):
                    return True
                raise
        return check

    def go(by: str, value: str) -> None:
        """Click a link or button and wait until the next page has replaced this one."""
        old = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(by, value).click()
        WebDriverWait(browser, 120).until(replaced(old))

    def flags_cells() -> list[str]:
        return [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#sessions td.flags")]

    base = server["url"].rstrip("/")
    browser.get(base + "/patients/P1")
    assert browser.current_url.endswith("/login")  # not logged in yet
    browser.find_element(By.ID, "username").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys(PASSWORDS["alice"])
    go(By.ID, "login")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Patients"
    assert [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#patients a")][0] == "P1"

    go(By.LINK_TEXT, "P1")
    assert browser.find_element(By.ID, "patient-id").text == "P1"
    before = flags_cells()
    assert len(before) == 1 and "slow-pace" not in before[0]

    go(By.CSS_SELECTOR, "#sessions a")
    go(By.ID, "open-report")
    assert "first-walk.csv" in browser.page_source
    assert browser.find_elements(By.ID, "fig-viewer")  # the report's signal viewer
    shown = browser.find_element(By.ID, "viewer-range").text
    browser.find_element(By.ID, "viewer-zoom-in").click()  # its own script runs under the CSP
    assert browser.find_element(By.ID, "viewer-range").text != shown

    browser.get(base + "/patients/P1")
    assert browser.find_elements(By.ID, "chart-cadence")  # the trends, drawn as inline SVG
    go(By.ID, "edit-rules")
    box = browser.find_element(By.ID, "field-slow-pace-threshold_spm")  # per-field form
    assert box.get_attribute("value") == "100"
    box.clear()
    box.send_keys("150")
    go(By.ID, "save-fields")
    assert "1 session analysed again" in browser.find_element(By.CLASS_NAME, "flash").text
    assert "slow-pace" in flags_cells()[0]  # cadence 110 is now below the threshold
    go(By.ID, "edit-rules")
    assert "[slow-pace] threshold_spm: default → 150" in browser.find_element(
        By.CSS_SELECTOR, "#rules-history td.what").text
    assert browser.find_element(By.CSS_SELECTOR, "#rules-history td.changed-by").text == "alice"
    go(By.ID, "patient-link")

    second = write_walk(server["tmp"] / "second-walk.csv", walk_s=45.0, cadence_spm=100.0)
    browser.find_element(By.ID, "recording").send_keys(str(second))
    go(By.ID, "upload")
    assert "filed as new session" in browser.find_element(By.CLASS_NAME, "flash").text
    sources = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#sessions td.source")]
    assert sorted(sources) == ["first-walk.csv", "second-walk.csv"]

    go(By.ID, "logout")
    assert browser.current_url.endswith("/login")
    browser.get(base + "/patients/P1")
    assert browser.current_url.endswith("/login")


def test_served_upload_over_the_limit_is_refused_before_its_body(server) -> None:
    """The real server (not Flask's test client) answers a 200 MB upload's headers with 413
    without waiting for the body, and keeps serving."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(server["url"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.putrequest("POST", "/patients/P1/upload")
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Content-Length", str(200 * 2**20))
    conn.endheaders()
    conn.send(b"--x\r\n" + b"0" * 65536)  # a little of the body, never the rest
    response = conn.getresponse()
    assert response.status == 413
    conn.close()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", "/login")
    assert conn.getresponse().status == 200
    conn.close()
