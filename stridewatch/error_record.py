"""The error answer for an input that could not be analysed: one shape everywhere.

``analyze --json`` prints it in place of the session (in input order), and a cohort run's
``sessions.jsonl`` holds it for a recording that failed, so a reader of either handles
failures the same way: ``{"schema": "stridewatch.error/1", "source": ..., "error": ...}``
where ``error`` is the one-line message that also goes to stderr after ``error: ``.
"""

from __future__ import annotations

ERROR_SCHEMA = "stridewatch.error/1"


def error_record(source: str, error: str) -> dict[str, str]:
    """The error object for ``source``; ``error`` is the one-line message (names the file)."""
    return {"schema": ERROR_SCHEMA, "source": source, "error": " ".join(str(error).split())}
