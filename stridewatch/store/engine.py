"""Where the store lives and how it is opened: a SQLite file (the default) or a PostgreSQL URL.

``--db`` / ``STRIDEWATCH_DB`` name either a file path (SQLite) or a ``postgresql://`` URL
(psycopg 3, the ``postgres`` extra). Both run the same schema and the same Alembic migrations
(``stridewatch/store/migrations``). Opening a store brings its schema up to date once per
process, under a lock, so many processes opening a new store at once migrate it exactly once:
SQLite's write lock (``BEGIN IMMEDIATE``), PostgreSQL's transaction-level advisory lock.

SQLite: WAL journal (readers never block the writer), a 30 s busy timeout, foreign keys on, and
every write transaction starts with ``BEGIN IMMEDIATE`` so two writers queue instead of failing
on a lock upgrade. Databases of the pre-Alembic store (``PRAGMA user_version`` 1 to 3) are
brought to version 2 by their own frozen steps and then adopted at revision 0001; afterwards
``user_version`` is set to ``ADOPTED_USER_VERSION`` so an older stridewatch refuses the file
instead of writing to a schema it does not know.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from stridewatch.store import legacy
from stridewatch.store.errors import StoreError
from stridewatch.store.schema import HEAD_REVISION

DB_FILENAME = "sessions.sqlite3"
ENV_VAR = "STRIDEWATCH_DB"
BUSY_TIMEOUT_MS = 30_000
#: PRAGMA user_version of an Alembic-managed SQLite store: above the pre-Alembic releases' 3.
ADOPTED_USER_VERSION = 4
#: pg_advisory_xact_lock key held while migrating ("stridewatch" in ASCII, truncated).
PG_MIGRATION_LOCK = 0x7374726964657761
_WRITE = "stridewatch_write"

DbLike = Engine | str | Path | None


def default_db_path() -> Path:
    """``<user data dir>/stridewatch/sessions.sqlite3`` (the directory is not created here)."""
    return Path(platformdirs.user_data_dir("stridewatch")) / DB_FILENAME


def is_url(text: str) -> bool:
    return "://" in text


def files_folder(db: str | Path) -> Path:
    """Where files that belong with a store live (synced traces, board clocks): beside a
    SQLite file, or the user's data folder for a server URL."""
    text = str(db)
    if is_url(text):
        return default_db_path().parent
    return Path(text).parent


def store_url(db: str | Path | None = None) -> URL:
    """The SQLAlchemy URL for a path or URL (None: ``STRIDEWATCH_DB``, else the default file)."""
    if db is None:
        db = os.environ.get(ENV_VAR) or default_db_path()
    text = str(db)
    if is_url(text):
        url = make_url(text)
        if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            return url.set(drivername="postgresql+psycopg")
        if url.drivername.startswith("sqlite"):
            return url
        raise StoreError(f"{url.render_as_string(hide_password=True)}: unsupported store; "
                         "give a file path (SQLite) or a postgresql:// URL")
    if text == ":memory:":
        return make_url("sqlite://")
    return make_url(f"sqlite:///{Path(text).expanduser().resolve()}")


def describe(db: DbLike) -> str:
    """The store as shown to people: the file path, or the URL without its password."""
    if isinstance(db, Engine):
        url = db.url
    else:
        url = store_url(db)
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return url.render_as_string(hide_password=True)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _forget_engines_after_fork() -> None:
    """A forked child must not use its parent's pooled connections: start afresh."""
    global _engines_lock
    _engines_lock = threading.Lock()
    for cached in _engines.values():
        cached.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_after_fork)


def open_engine(db: DbLike = None, *, migrate: bool = True) -> Engine:
    """An engine on the store, its schema migrated to the newest revision (once per process)."""
    if isinstance(db, Engine):
        return db
    url = store_url(db)
    key = url.render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create_engine(url)
            if migrate:
                upgrade(engine)
                _engines[key] = engine
    return engine


def close(db: DbLike = None) -> None:
    """Close the pooled connections of an opened store (it is opened again when next used)."""
    url = db.url if isinstance(db, Engine) else store_url(db)
    with _engines_lock:
        engine = _engines.pop(url.render_as_string(hide_password=False), None)
    if engine is not None:
        engine.dispose()
    if isinstance(db, Engine):
        db.dispose()


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={
            "timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if url.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ModuleNotFoundError as exc:
            raise StoreError("a PostgreSQL store needs psycopg 3: "
                             "pip install 'stridewatch[postgres]'") from exc
        return sa.create_engine(url, pool_pre_ping=True)
    raise StoreError(f"unsupported store backend {url.get_backend_name()!r}")


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun by _sqlite_on_begin
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = _enable_wal(cursor)
        if mode not in ("wal", "memory"):
            raise StoreError(f"could not switch the SQLite store to WAL mode (got {mode!r})")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> str:
    """Switch to WAL (persistent in the file) and return the journal mode now in force.

    Switching needs an exclusive lock and SQLite reports "database is locked" for it without
    calling the busy handler when another connection opens the new file at the same moment,
    so this retries until the busy timeout runs out.
    """
    import sqlite3

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay_s = 0.002
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return "wal"
            return str(cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay_s)
        delay_s = min(delay_s * 2, 0.05)


def _sqlite_on_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED)."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


# --------------------------------------------------------------------------- migrations


def current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, target: str = "head") -> str | None:
    """Bring the store's schema to ``target`` (default: the newest revision); return it."""
    with engine.connect() as conn:
        if target == "head" and _at_head(conn):
            return HEAD_REVISION
    with writing(engine) as conn:
        backend = conn.dialect.name
        if backend == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                         {"key": PG_MIGRATION_LOCK})
        revision = current_revision(conn)
        if revision is None and backend == "sqlite":
            if legacy.adopt(conn):
                _alembic_command(conn, "stamp", "0001")
        elif revision is not None and revision not in _known_revisions():
            raise StoreError(
                f"the store's schema revision {revision} is newer than this stridewatch "
                "knows; upgrade stridewatch instead of opening it with an older version")
        _alembic_command(conn, "upgrade", target)
        if backend == "sqlite":
            conn.exec_driver_sql(f"PRAGMA user_version = {ADOPTED_USER_VERSION}")
        return current_revision(conn)


def _at_head(conn: Connection) -> bool:
    try:
        with conn.begin():
            return current_revision(conn) == HEAD_REVISION
    except sa.exc.OperationalError as exc:  # SQLite: a file that is not a database, ...
        raise StoreError(f"cannot open the store: {exc.orig}") from exc


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "stridewatch.store:migrations")
    config.attributes["connection"] = conn
    return config


def _alembic_command(conn: Connection, name: str, revision: str) -> None:
    from alembic import command

    getattr(command, name)(_alembic_config(conn), revision)


def _known_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "stridewatch.store:migrations")
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def head_revision() -> str:
    """The newest revision among the shipped migration files."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "stridewatch.store:migrations")
    return str(ScriptDirectory.from_config(config).get_current_head())
