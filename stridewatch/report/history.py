"""What the history page shows per session and per patient, read through the store's public
functions (``list_sessions``, ``load_session``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stridewatch.report.durations import format_duration
from stridewatch.report.facts import RULE_NAMES, clipped_flags
from stridewatch.report.limits import finite_or_none
from stridewatch.store import database as store


@dataclass(frozen=True)
class HistorySession:
    """One row of the history page (text ready to show; ``report_href`` relative)."""

    recorded: str
    walking: str
    steps: str
    cadence: str
    sagittal: str
    si: str
    flags: str  # "leaning forward ×2, uneven steps"; "" when none
    report_href: str | None


@dataclass(frozen=True)
class PatientEntry:
    label: str
    href: str
    sessions: int
    first: str
    last: str
    walking: str


def _num(value: Any) -> str:
    number = finite_or_none(value)
    return "–" if number is None else f"{number:.0f}".replace("-0", "0")


def flags_text(session: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for flag in clipped_flags(session):
        name = RULE_NAMES.get(str(flag.get("rule")), str(flag.get("rule")))
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(name + (f" ×{n}" if n > 1 else "") for name, n in counts.items())


def _href(target: str | None, page: Path) -> str | None:
    """A link from ``page`` to a report file that still exists (relative when possible)."""
    if not target:
        return None
    path = Path(target)
    if not path.exists():
        return None
    try:
        return Path(os.path.relpath(path.resolve(), page.resolve().parent)).as_posix()
    except ValueError:  # another drive
        return path.resolve().as_uri()


def history_sessions(stored: Sequence[store.StoredSession], db: store.DbLike,
                     page: Path) -> list[HistorySession]:
    rows = []
    for s in stored:
        try:
            full = store.load_session(db, s.id)
        except (KeyError, LookupError, ValueError):
            full = {}
        rows.append(HistorySession(
            recorded=s.started_at.strftime("%Y-%m-%d %H:%M"),
            walking=format_duration(s.walking_s),
            steps=f"{s.steps:,}" if s.steps is not None else "–",
            cadence=_num(s.cadence_spm),
            sagittal=_num(s.sagittal_deg_median),
            si=_num(s.step_time_si_pct),
            flags=flags_text(full),
            report_href=_href((full.get("report") or {}).get("html"), page),
        ))
    return rows


def patient_page_name(index_page: Path, patient_id: str | None) -> str:
    """File name of one patient's page beside the index (patient ids made file-safe)."""
    label = "no-patient" if patient_id is None else patient_id
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)[:60]
    return f"{index_page.stem}-{safe}{index_page.suffix or '.html'}"


def patient_entries(stored: Sequence[store.StoredSession], index_page: Path) -> list[PatientEntry]:
    groups: dict[str | None, list[store.StoredSession]] = {}
    for s in stored:
        groups.setdefault(s.patient_id, []).append(s)
    entries = []
    for patient_id in sorted(groups, key=lambda p: (p is None, p or "")):
        rows = groups[patient_id]
        entries.append(PatientEntry(
            label=patient_id if patient_id is not None else "(no patient)",
            href=patient_page_name(index_page, patient_id),
            sessions=len(rows),
            first=rows[0].session_date.isoformat(),
            last=rows[-1].session_date.isoformat(),
            walking=format_duration(sum(r.walking_s or 0.0 for r in rows)),
        ))
    return entries
