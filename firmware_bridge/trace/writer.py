"""Crash-safe, append-only writing of ``.swtrace`` files (``TraceWriter``).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from firmware_bridge.profiles import full_uuid
from firmware_bridge.trace.events import (
    DEFAULT_FSYNC_INTERVAL_S,
    FORMAT_NAME,
    FORMAT_VERSION,
)


def _json_line(obj: Mapping[str, Any]) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text + "\n").encode("utf-8")


def _fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class TraceWriter:
    """Append-only ``.swtrace`` writer; use as a context manager.

    Crash safety: the file is created exclusively (an existing file is never
    overwritten); every line goes to the OS in a single ``os.write`` of the whole line
    (no user-space buffering, so a killed process loses nothing it has recorded); a
    background thread calls ``os.fsync`` at most every ``fsync_interval_s`` seconds when
    something new was written (so at most about that much is lost on power failure), and
    ``close`` syncs once more. Earlier lines are never rewritten.

    ``verified`` (what the recorder checked the connected device offers) goes into the
    header's ``device`` object. ``clock`` is the monotonic clock used for ``t`` (seconds);
    events may pass their own
    ``t_s`` (seconds since the trace started, e.g. taken when a notification arrived).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        profile: str,
        *,
        device_name: str | None = None,
        device_address: str | None = None,
        config: Mapping[str, Any] | None = None,
        started_unix_s: float | None = None,
        verified: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        fsync_interval_s: float = DEFAULT_FSYNC_INTERVAL_S,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "profile": profile,
            "device": {"name": device_name, "address": device_address,
                       **({"verified": dict(verified)} if verified is not None else {})},
            "started_unix_s": time.time() if started_unix_s is None else float(started_unix_s),
            "config": dict(config or {}),
        }
        header_line = _json_line(header)  # fails before creating the file if not JSON-able
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o644)
        self._start = clock()
        self._lock = threading.Lock()
        self._dirty = False
        try:
            self._write_line(header_line)
            os.fsync(self._fd)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise
        _fsync_directory(self.path.parent)  # make the new directory entry durable too
        self._interval = fsync_interval_s
        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, name="swtrace-fsync", daemon=True)
        self._syncer.start()

    # -- context manager
    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._fd is None

    def elapsed_s(self) -> float:
        """Seconds since the trace started, on the writer's clock."""
        return self._clock() - self._start

    # -- events
    def record_notify(self, char_uuid: str, payload: bytes, t_s: float | None = None) -> None:
        """A notification/indication from the device (raw bytes)."""
        self._event("notify", t_s, char=full_uuid(char_uuid), hex=bytes(payload).hex())

    def record_write(self, char_uuid: str, payload: bytes, t_s: float | None = None) -> None:
        """A GATT write the host sent (raw bytes)."""
        self._event("write", t_s, char=full_uuid(char_uuid), hex=bytes(payload).hex())

    def record_connect(self, t_s: float | None = None) -> None:
        self._event("connect", t_s)

    def record_disconnect(self, reason: str | None = None, t_s: float | None = None) -> None:
        self._event("disconnect", t_s, reason=reason)

    def record_mark(self, label: str, t_s: float | None = None) -> None:
        self._event("mark", t_s, label=str(label))

    def close(self) -> None:
        """Stop the sync thread, fsync and close. Safe to call twice."""
        if self._fd is None:
            return
        self._stop.set()
        self._syncer.join()
        with self._lock:
            fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- internals
    def _event(self, kind: str, t_s: float | None, **fields: Any) -> None:
        t = self.elapsed_s() if t_s is None else float(t_s)
        if not math.isfinite(t):
            raise ValueError(f"event time must be finite, got {t_s!r}")
        self._write_line(_json_line({"t": round(t, 6), "ev": kind, **fields}))

    def _write_line(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                raise ValueError(f"{self.path.name}: trace writer is closed")
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._dirty = True

    def _sync_loop(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                if not self._dirty or self._fd is None:
                    continue
                self._dirty = False
                fd = self._fd
            try:
                os.fsync(fd)
            except OSError:
                self._dirty = True
