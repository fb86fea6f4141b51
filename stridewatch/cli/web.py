"""``stridewatch serve`` (the clinic web app) and ``stridewatch users`` (clinician accounts).

The server binds 127.0.0.1 by default. A non-local ``--host`` needs ``--tls-cert`` and
``--tls-key`` (cookies are then marked Secure) unless ``--insecure-http`` says plain HTTP on
the network is intended.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import signal
import sys
from pathlib import Path
from typing import Any

from stridewatch.cli.lazy import LazyModule

clinicians = LazyModule("stridewatch.store.clinicians")  # SQLAlchemy only when a command runs
_engine = LazyModule("stridewatch.store.engine")
_filing = LazyModule("stridewatch.store.filing")


def db_path(args: argparse.Namespace) -> object:
    return _filing.db_path(args)


def describe(db: object) -> str:
    return _engine.describe(db)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8250
#: Requests served at once (a report being drawn waits in its thread without holding the
#: interpreter: drawing runs in stridewatch.web.reports' worker processes).
SERVER_THREADS = 16


def is_local_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, tls_cert: str | None, tls_key: str | None, insecure: bool) -> str | None:
    """Why this bind is refused, or None when it is allowed."""
    if (tls_cert is None) != (tls_key is None):
        return "give both --tls-cert and --tls-key"
    if not is_local_host(host) and tls_cert is None and not insecure:
        return (f"--host {host} is reachable from the network: serve over TLS "
                "(--tls-cert FILE --tls-key FILE) or pass --insecure-http")
    return None


def default_upload_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("stridewatch")) / "uploads"


def cmd_serve(args: argparse.Namespace) -> int:
    problem = check_bind(args.host, args.tls_cert, args.tls_key, args.insecure_http)
    if problem:
        print(f"error: serve: {problem}", file=sys.stderr)
        return 2
    try:
        from cheroot import wsgi

        from stridewatch.web import reports
        from stridewatch.web.app import WebConfig, create_app
    except ModuleNotFoundError as exc:
        print(f"error: serve needs the web extra ({exc.name} missing): "
              "pip install 'stridewatch[web]'", file=sys.stderr)
        return 2
    db = db_path(args)
    config = WebConfig(db=db, upload_dir=Path(args.upload_dir or default_upload_dir()),
                       max_upload_bytes=int(args.max_upload_mb * 2**20),
                       tls=args.tls_cert is not None)
    app = create_app(config)
    # cheroot: a WSGI server with a fixed pool of request threads (more requests wait for a
    # free thread instead of each starting one) and TLS of its own
    server = wsgi.Server((args.host, args.port), app, numthreads=SERVER_THREADS,
                         server_name="stridewatch")
    # a body larger than the upload limit is refused before it is read
    server.max_request_body_size = app.config["MAX_CONTENT_LENGTH"]
    if args.tls_cert:
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        server.ssl_adapter = BuiltinSSLAdapter(args.tls_cert, args.tls_key)
    scheme = "https" if args.tls_cert else "http"
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        server.prepare()
        reports.start()
        print(f"serving {describe(db)} on {scheme}://{args.host}:{server.bind_addr[1]}/ "
              "(Ctrl+C stops)", flush=True)
        server.serve()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
        reports.shutdown()
        signal.signal(signal.SIGTERM, previous)
    return 0


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    from stridewatch.web.passwords import hash_password

    db = db_path(args)
    try:
        if args.action == "add":
            clinicians.add_clinician(db, args.username, hash_password(_read_password(args)),
                                     "admin" if args.admin else "clinician")
            if args.patients:
                clinicians.assign_patients(db, args.username, args.patients)
            print(f"added {'admin' if args.admin else 'clinician'} {args.username} "
                  f"in {describe(db)}")
        elif args.action == "passwd":
            if clinicians.get_clinician(db, args.username) is None:
                raise KeyError(f"no user {args.username!r}")
            clinicians.set_password_hash(db, args.username, hash_password(_read_password(args)))
            print(f"password of {args.username} changed")
        elif args.action == "remove":
            clinicians.remove_clinician(db, args.username)
            print(f"removed {args.username}")
        elif args.action == "assign":
            n = clinicians.assign_patients(db, args.username, args.patients)
            print(f"{n} patient(s) assigned to {args.username}")
        elif args.action == "unassign":
            n = clinicians.unassign_patients(db, args.username, args.patients)
            print(f"{n} patient(s) unassigned from {args.username}")
        else:
            for user in clinicians.list_clinicians(db):
                seen = ("all" if user.is_admin else
                        " ".join(clinicians.visible_patients(db, user.username)) or "-")
                print(f"{user.username}\t{user.role}\t{seen}")
    except (KeyError, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        print(f"error: users {args.action}: {message}", file=sys.stderr)
        return 2
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="the clinic web app on the session store")
    p.add_argument("--db", help="session store: a file or a postgresql:// URL")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--tls-cert", help="TLS certificate (PEM); needed for a non-local --host")
    p.add_argument("--tls-key", help="TLS private key (PEM)")
    p.add_argument("--insecure-http", action="store_true",
                   help="allow plain HTTP on a non-local --host")
    p.add_argument("--upload-dir", help="where uploaded recordings are kept "
                                        "(default: uploads/ in the user's data folder)")
    p.add_argument("--max-upload-mb", type=float, default=64.0,
                   help="largest accepted upload in MB (default 64)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("users", help="clinician accounts of the web app")
    p.add_argument("--db", help="session store: a file or a postgresql:// URL")
    actions = p.add_subparsers(dest="action", required=True)
    for name, text in (("add", "create an account (asks for the password)"),
                       ("passwd", "change an account's password"),
                       ("remove", "delete an account"),
                       ("assign", "let a clinician see patients"),
                       ("unassign", "stop a clinician seeing patients")):
        a = actions.add_parser(name, help=text)
        a.add_argument("username")
        if name in ("add", "passwd"):
            a.add_argument("--password-stdin", action="store_true",
                           help="read the password from the first line of stdin")
        if name == "add":
            a.add_argument("--admin", action="store_true",
                           help="an admin: sees every patient and assigns them")
            a.add_argument("--assign", dest="patients", action="append", default=[],
                           metavar="PATIENT", help="assign this patient at once (repeatable)")
        if name in ("assign", "unassign"):
            a.add_argument("patients", nargs="+", help="patient IDs")
    actions.add_parser("list", help="accounts and their patients")
    p.set_defaults(func=cmd_users)
