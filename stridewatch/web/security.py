"""The web app's security policy in one place: login sessions, CSRF tokens, login rate
limits and the response headers (the file report's Content-Security-Policy)."""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

#: Failed logins allowed per (address, user name) and per user name within the window.
LOGIN_FAILURES_PER_CLIENT = 5
LOGIN_FAILURES_PER_USER = 20
LOGIN_WINDOW_S = 15 * 60
#: A login session ends after this long without a request, and after this long in any case.
IDLE_TIMEOUT_S = 30 * 60
ABSOLUTE_TIMEOUT_S = 12 * 3600

#: The file report's policy (stridewatch.report.html), with forms allowed to post to this app.
APP_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; "
           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_META_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"')


def report_csp(report_html: str) -> str:
    """The policy a rendered file report declares for itself (it allows its own script by
    hash); the app's policy when it declares none."""
    import html

    match = _META_CSP.search(report_html)
    if match is None:
        return APP_CSP
    return html.unescape(match.group(1)) + "; frame-ancestors 'none'"


def security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


@dataclass
class LoginSession:
    username: str
    csrf_token: str
    created_s: float
    seen_s: float


class LoginSessions:
    """Server-side login sessions: the cookie carries only a random token, so logging out
    (or a timeout) ends the session even if someone kept a copy of the cookie."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_token: dict[str, LoginSession] = {}

    def start(self, username: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._by_token[token] = LoginSession(username, secrets.token_urlsafe(32), now, now)
        return token

    def get(self, token: str | None) -> LoginSession | None:
        if not token:
            return None
        now = self._clock()
        with self._lock:
            found = self._by_token.get(token)
            if found is None:
                return None
            if now - found.seen_s > IDLE_TIMEOUT_S or now - found.created_s > ABSOLUTE_TIMEOUT_S:
                del self._by_token[token]
                return None
            found.seen_s = now
            return found

    def end(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)

    def end_user(self, username: str) -> None:
        with self._lock:
            for token in [t for t, s in self._by_token.items() if s.username == username]:
                del self._by_token[token]


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given)


class LoginLimiter:
    """Counts failed logins in a sliding window per (address, user) and per user."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, ...], deque[float]] = {}

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float]:
        stamps = self._failures.setdefault(key, deque())
        while stamps and now - stamps[0] > LOGIN_WINDOW_S:
            stamps.popleft()
        return stamps

    def blocked(self, address: str, username: str) -> bool:
        now = self._clock()
        with self._lock:
            return (len(self._recent(("client", address, username), now))
                    >= LOGIN_FAILURES_PER_CLIENT
                    or len(self._recent(("user", username), now)) >= LOGIN_FAILURES_PER_USER)

    def failed(self, address: str, username: str) -> None:
        now = self._clock()
        with self._lock:
            self._recent(("client", address, username), now).append(now)
            self._recent(("user", username), now).append(now)

    def succeeded(self, address: str, username: str) -> None:
        with self._lock:
            self._failures.pop(("client", address, username), None)
