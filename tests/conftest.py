"""Shared fixtures. ``store_db``: a fresh, empty session store on each backend.

The PostgreSQL backend needs a server: ``.ci/run`` starts one and exports its URL in
``STRIDEWATCH_TEST_PG_URL`` (locally: ``.ci/pg_server start DIR``). Without it the PostgreSQL
cases fail under CI (``CI=true``) and skip locally, saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL_VAR = "STRIDEWATCH_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(autouse=True, scope="session")
def _own_user_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commands run without ``--db`` use the user's data folder: point it (and
    STRIDEWATCH_DB) at a folder of the test run, so tests never touch a real store."""
    home = tmp_path_factory.mktemp("user-data")
    saved = {k: os.environ.get(k) for k in ("XDG_DATA_HOME", "STRIDEWATCH_DB")}
    os.environ["XDG_DATA_HOME"] = str(home)
    os.environ.pop("STRIDEWATCH_DB", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def postgres_admin_url() -> str:
    """The test server's URL, or fail (CI) / skip (locally) when there is none."""
    url = os.environ.get(PG_URL_VAR)
    if url:
        return url
    reason = (f"{PG_URL_VAR} is not set: no PostgreSQL server for the store tests "
              "(.ci/run starts one; locally run `.ci/pg_server start DIR` and export its URL)")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def new_store(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new empty store on ``backend``: a SQLite path, or a fresh PostgreSQL database."""
    from stridewatch.store import engine

    if backend == "sqlite":
        path = str(tmp_path / "store.sqlite3")
        yield path
        engine.close(path)
        return
    import sqlalchemy as sa

    admin_url = postgres_admin_url()
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(engine.store_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = engine.store_url(admin_url).set(database=name)
        text = url.render_as_string(hide_password=False)
        yield text
        engine.close(text)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from new_store(request.param, tmp_path)
