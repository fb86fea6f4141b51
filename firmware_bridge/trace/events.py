"""Trace format constants, the error for unreadable traces, and the event records.

The format itself is described in ``firmware_bridge.trace`` and ``data/trace-format.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_NAME = "stridewatch-trace"
FORMAT_VERSION = 1
FILE_SUFFIX = ".swtrace"
DEFAULT_FSYNC_INTERVAL_S = 1.0


class TraceFormatError(ValueError):
    """A trace file that cannot be read; the message names the file and line."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        where = f"{file} line {line}" if line is not None else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


# ---------------------------------------------------------------------------------------
# events


@dataclass(frozen=True)
class TraceHeader:
    profile: str
    device_name: str | None
    device_address: str | None
    started_unix_s: float
    config: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class NotifyEvent:
    """A notification or indication received from the device."""

    t_s: float
    char_uuid: str
    payload: bytes
    line: int = 0


@dataclass(frozen=True)
class WriteEvent:
    """A GATT write the host sent."""

    t_s: float
    char_uuid: str
    payload: bytes
    line: int = 0


@dataclass(frozen=True)
class ConnectEvent:
    t_s: float
    line: int = 0


@dataclass(frozen=True)
class DisconnectEvent:
    t_s: float
    reason: str | None = None
    line: int = 0


@dataclass(frozen=True)
class MarkEvent:
    """A user annotation (e.g. "standing still", "start walk")."""

    t_s: float
    label: str
    line: int = 0


TraceEvent = NotifyEvent | WriteEvent | ConnectEvent | DisconnectEvent | MarkEvent


@dataclass
class Trace:
    """A parsed trace: header, events in file order, and non-fatal reading problems."""

    path: Path
    header: TraceHeader
    events: list[TraceEvent]
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


#: Unix times a real recording can start at: 1970-01-01 to 2200-01-01.
MAX_UNIX_S = 7_258_118_400.0


def plausible_unix_s(t: float | None) -> bool:
    """True for a Unix time a recording could have been made at (1970 to 2200)."""
    return t is not None and 0.0 <= t <= MAX_UNIX_S
