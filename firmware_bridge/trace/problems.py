"""Problems summarised: one line per kind of problem with a count, never one per packet.

A trace with one event stamped 1e308 s used to print 1,406 "time goes back" lines;
a device clock that repeats printed one re-anchoring line per frame. Problems of the
same kind (the same message once numbers are set aside) are shown once, the first
one, with how many more there were.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", re.IGNORECASE)


def problem_kind(message: str) -> str:
    """The message with every number (line, packet, seconds) replaced by ``#``."""
    return _NUMBER.sub("#", message)


def summarize_problems(problems: list[str]) -> list[str]:
    """The first message of each kind, in order of first appearance, with a count of
    the others of that kind: ``"<first> (and 1405 more like it)"``."""
    first: dict[str, str] = {}
    count: dict[str, int] = {}
    for message in problems:
        kind = problem_kind(message)
        if kind not in first:
            first[kind] = message
            count[kind] = 0
        count[kind] += 1
    return [
        first[kind] if count[kind] == 1 else f"{first[kind]} (and {count[kind] - 1} more like it)"
        for kind in first
    ]
