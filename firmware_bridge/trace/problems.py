"""Problems summarised: one line per kind of problem with a count, never one per packet.

A trace with one event stamped 1e308 s used to print 1,406 "time goes back" lines;
a device clock that repeats printed one re-anchoring line per frame. Problems of the
same kind (the same message once numbers are set aside) beyond a few are shown
once, the first one, with how many more there were.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", re.IGNORECASE)


def problem_kind(message: str) -> str:
    """The message with every number (line, packet, seconds) replaced by ``#``."""
    return _NUMBER.sub("#", message)


#: Up to this many problems of one kind are all shown (each names its packet/line).
SHOWN_EACH = 3


def summarize_problems(problems: list[str]) -> list[str]:
    """Problems in order, but of a kind met more than ``SHOWN_EACH`` times only the first,
    with a count of the others: ``"<first> (and 1405 more like it)"``."""
    by_kind: dict[str, list[str]] = {}
    for message in problems:
        by_kind.setdefault(problem_kind(message), []).append(message)
    out: list[str] = []
    for messages in by_kind.values():
        if len(messages) <= SHOWN_EACH:
            out.extend(messages)
        else:
            out.append(f"{messages[0]} (and {len(messages) - 1} more like it)")
    return out
