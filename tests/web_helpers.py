"""Shared set-up for the web app tests: a store with clinicians, a short simulated walk."""

from __future__ import annotations

import re
from pathlib import Path

from analysis.simulate import DEFAULT_MOUNT, Phase, simulate_walk
from stridewatch.cli.simulate import write_simulation
from stridewatch.store import clinicians
from stridewatch.web.passwords import hash_password

PASSWORDS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw-2", "root": "admin-secret-pw"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_users(db: str) -> None:
    """alice sees P1, bob sees P2, root is an admin."""
    clinicians.add_clinician(db, "alice", hash_password(PASSWORDS["alice"]))
    clinicians.add_clinician(db, "bob", hash_password(PASSWORDS["bob"]))
    clinicians.add_clinician(db, "root", hash_password(PASSWORDS["root"]), role="admin")
    clinicians.assign_patients(db, "alice", ["P1"])
    clinicians.assign_patients(db, "bob", ["P2"])


def write_walk(path: Path, walk_s: float = 60.0, cadence_spm: float = 110.0) -> Path:
    """A simulated recording: 10 s standing then ``walk_s`` of walking (CSV t,ax,ay,az)."""
    sim = simulate_walk([Phase("stand", 10.0, sagittal_deg=0.0),
                         Phase("walk", walk_s, cadence_spm=cadence_spm)],
                        mount=DEFAULT_MOUNT, seed=3)
    write_simulation(sim, path)
    return path


def csrf_token(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def login(client, username: str, password: str | None = None):  # noqa: ANN201
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"username": username, "csrf_token": token,
                                       "password": password or PASSWORDS[username]})
