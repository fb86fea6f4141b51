"""A downloaded offline recording kept as a ``.swtrace`` (profile ``polar-offline``).

The trace holds the raw transfer: for each part file, the request air packets the host
wrote and the response air packets the sensor sent, byte for byte, on the PSFTP MTU
characteristic. ``decode_trace`` re-decodes it (``firmware_bridge.profiles.polar_offline``);
``files_in_trace`` joins the packets again into the files, to check a stored copy.
The file is written under a temporary name and renamed, so it is either whole or absent.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware_bridge.offline import pftp_messages as pftp
from firmware_bridge.offline.psftp import (
    PSFTP_MTU_UUID,
    RequestAssembler,
    ResponseAssembler,
    parse_rfc60_request,
)
from firmware_bridge.trace import NotifyEvent, Trace, TraceWriter, WriteEvent

PROFILE_NAME = "polar-offline"


@dataclass
class FileTransfer:
    """The packets of one GET of a part file, in order, with when they went (host s)."""

    path: str
    #: (host time s, "write" | "notify", payload)
    packets: list[tuple[float, str, bytes]] = field(default_factory=list)


def content_sha256(files: Sequence[bytes]) -> str:
    """The recording's content hash: SHA-256 over its part files in order."""
    digest = hashlib.sha256()
    for data in files:
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def write_events_trace(
    path: Path,
    profile: str,
    events: Sequence[tuple[float, str, str, bytes]],
    *,
    device_name: str | None,
    device_address: str | None,
    started_unix_s: float,
    config: dict[str, Any],
    marks: Sequence[tuple[float, str]] = (),
) -> None:
    """Write (host s, "write"|"notify", char uuid, payload) events as one trace at ``path``.

    Times are made relative to the first event; the file appears whole (temp + rename).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.unlink(missing_ok=True)
    t0 = events[0][0] if events else 0.0
    pending_marks = sorted(marks)
    try:
        with TraceWriter(
            tmp, profile, device_name=device_name, device_address=device_address,
            config=config, started_unix_s=started_unix_s, fsync_interval_s=3600.0,
        ) as writer:
            writer.record_connect(t_s=0.0)
            for t, direction, char, payload in events:
                t_rel = max(t - t0, 0.0)
                while pending_marks and pending_marks[0][0] <= t:
                    writer.record_mark(pending_marks.pop(0)[1], t_s=t_rel)
                if direction == "write":
                    writer.record_write(char, payload, t_s=t_rel)
                else:
                    writer.record_notify(char, payload, t_s=t_rel)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_offline_trace(
    path: Path,
    transfers: Sequence[FileTransfer],
    *,
    device_name: str | None,
    device_address: str | None,
    started_unix_s: float,
    config: dict[str, Any],
) -> None:
    """Write the PSFTP transfers of one recording as a ``polar-offline`` trace."""
    events = [(t, direction, PSFTP_MTU_UUID, payload)
              for transfer in transfers for t, direction, payload in transfer.packets]
    marks = [(transfer.packets[0][0], f"file {transfer.path}")
             for transfer in transfers if transfer.packets]
    write_events_trace(path, PROFILE_NAME, events, device_name=device_name,
                       device_address=device_address, started_unix_s=started_unix_s,
                       config=config, marks=marks)


def files_in_trace(trace: Trace) -> list[tuple[str, bytes]]:
    """(path, content) of every complete GET response in a ``polar-offline`` trace."""
    files: list[tuple[str, bytes]] = []
    request = RequestAssembler()
    response: ResponseAssembler | None = None
    current: str | None = None
    for event in trace.events:
        if isinstance(event, WriteEvent) and event.char_uuid == PSFTP_MTU_UUID:
            message = request.feed(event.payload)
            if message is not None:
                command, current = pftp.parse_operation(parse_rfc60_request(message)[0])
                response = ResponseAssembler() if command == pftp.Command.GET else None
        elif isinstance(event, NotifyEvent) and event.char_uuid == PSFTP_MTU_UUID:
            if response is None:
                continue
            content = response.feed(event.payload)
            if content is not None and current is not None:
                files.append((current, content))
                response = None
    return files
