"""Load check of the clinic web app: N concurrent clients browsing for a fixed time.

Builds a store of 100 patients x 50 sessions (one analysed simulated walk stored under each
patient at different times, so every session's report is a real one), 10 clinicians with 10
patients each, starts ``stridewatch serve`` on a free 127.0.0.1 port and lets 20 clients (each
logged in as a clinician) loop: patients list, a search, a patient page, a session page and,
every tenth round, a session report. Prints errors, requests and p50/p95/max page time per
page kind and overall. Local addresses only; loops end at the deadline or after
--max-rounds.

    python benchmarks/web_load.py [--clients 20] [--duration-s 60] [--patients 100]
                                  [--sessions 50]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.simulate import DEFAULT_MOUNT, Phase, simulate_walk  # noqa: E402
from stridewatch.inputs import Recording  # noqa: E402
from stridewatch.store import clinicians, engine  # noqa: E402
from stridewatch.store import database as store  # noqa: E402
from stridewatch.store.filing import analyze_recording, resolve_rules  # noqa: E402
from stridewatch.web.passwords import hash_password  # noqa: E402

PASSWORD = "load-test-password"
#: Every this many rounds a client also opens a session report (drawn with matplotlib, by far
#: the costliest page; the server's two worker processes draw them, the last shown are kept).
REPORT_EVERY = 10
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSION_LINK = re.compile(r'href="/sessions/(\d+)"')


def build_store(db: str, patients: int, sessions: int, clinician_count: int) -> None:
    sim = simulate_walk([Phase("stand", 10.0, sagittal_deg=0.0), Phase("walk", 120.0)],
                        mount=DEFAULT_MOUNT, seed=1)
    recording = Recording("load-walk.csv", sim.t_s, sim.acc, None, "g")
    session = analyze_recording(recording, rules=resolve_rules(None)).to_dict("load-walk.csv")
    start = datetime.now(UTC) - timedelta(days=sessions)
    for p in range(patients):
        for s in range(sessions):
            store.store_session(db, session, patient_id=f"P{p:03d}",
                                recorded_at=start + timedelta(days=s, minutes=p))
    for c in range(clinician_count):
        name = f"clin{c:02d}"
        clinicians.add_clinician(db, name, hash_password(PASSWORD))
        clinicians.assign_patients(db, name, [f"P{p:03d}" for p in range(patients)
                                              if p % clinician_count == c])


class Client:
    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        token = CSRF.search(self.get("/login")[1]).group(1)
        body = urllib.parse.urlencode({"username": username, "password": PASSWORD,
                                       "csrf_token": token}).encode()
        status, page = self._open(urllib.request.Request(base + "/login", data=body))
        if status != 200 or "Patients" not in page:
            raise RuntimeError(f"login of {username} failed ({status})")

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=120) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, ""
        except OSError as exc:  # timeout, connection refused or reset: an error, counted
            return 0, f"{type(exc).__name__}: {exc}"

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))


def browse(client: Client, patients: list[str], deadline: float, max_rounds: int,
           times: dict[str, list[float]], errors: list[str], lock: threading.Lock,
           seed: int) -> None:
    rng = random.Random(seed)

    def timed(kind: str, path: str) -> str:
        t0 = time.perf_counter()
        status, page = client.get(path)
        elapsed = time.perf_counter() - t0
        with lock:
            times.setdefault(kind, []).append(elapsed)
            if status != 200:
                errors.append(f"{status} {path} {page[:80] if status == 0 else ''}")
        return page

    for round_no in range(max_rounds):
        if time.monotonic() > deadline:
            return
        timed("patients", "/")
        timed("search", "/?q=" + rng.choice(patients)[-2:])
        page = timed("patient", "/patients/" + rng.choice(patients))
        ids = SESSION_LINK.findall(page)
        if not ids:
            with lock:
                errors.append("patient page without sessions")
            continue
        sid = rng.choice(ids)
        timed("session", f"/sessions/{sid}")
        if round_no % REPORT_EVERY == REPORT_EVERY - 1:
            timed("report", f"/sessions/{sid}/report")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--clinicians", type=int, default=10)
    parser.add_argument("--max-rounds", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "store.sqlite3")
        t0 = time.perf_counter()
        build_store(db, args.patients, args.sessions, args.clinicians)
        engine.close(db)
        print(f"store: {args.patients} patients x {args.sessions} sessions, "
              f"{args.clinicians} clinicians, built in {time.perf_counter() - t0:.1f} s")
        proc = subprocess.Popen(
            [sys.executable, "-m", "stridewatch", "serve", "--db", db, "--port", "0",
             "--upload-dir", str(Path(folder) / "uploads")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            line = proc.stdout.readline()
            if "serving" not in line:
                print(line + proc.stdout.read(), file=sys.stderr)
                return 1
            base = line.split(" on ", 1)[1].split()[0].rstrip("/")
            assert base.startswith("http://127.0.0.1:")
            users = [f"clin{i % args.clinicians:02d}" for i in range(args.clients)]
            clients = [Client(base, u) for u in users]
            times: dict[str, list[float]] = {}
            errors: list[str] = []
            lock = threading.Lock()
            deadline = time.monotonic() + args.duration_s
            threads = []
            for i, (client, user) in enumerate(zip(clients, users, strict=True)):
                c = int(user[4:])
                mine = [f"P{p:03d}" for p in range(args.patients) if p % args.clinicians == c]
                threads.append(threading.Thread(target=browse, args=(
                    client, mine, deadline, args.max_rounds, times, errors, lock, i)))
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        everything = [x for v in times.values() for x in v]
        print(f"{args.clients} clients for {wall:.1f} s: {len(everything)} requests "
              f"({len(everything) / wall:.1f}/s), errors: {len(errors)}")
        for line_ in errors[:10]:
            print(f"  error: {line_}")
        for kind, values in sorted(times.items()):
            print(f"  {kind:9s} n={len(values):5d}  p50 {pct(values, .5) * 1000:7.0f} ms  "
                  f"p95 {pct(values, .95) * 1000:7.0f} ms  max {max(values) * 1000:7.0f} ms")
        drawn = len(times.get("report", []))
        print(f"reports: {drawn} in {wall:.1f} s ({drawn / wall:.2f}/s; each is drawn by the "
              "server's worker processes, so their wait is the queue of reports ahead of them)")
        pages = [x for k, v in times.items() if k != "report" for x in v]
        print(f"p95 page time (all pages): {pct(everything, .95) * 1000:.0f} ms; "
              f"without reports: {pct(pages, .95) * 1000:.0f} ms")
        return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
