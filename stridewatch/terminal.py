"""Text from outside (file names, device names, messages quoting them) made safe to print.

A file or a Bluetooth device can be named with terminal escape sequences (clear the
screen, retitle the window, fake a prompt) or with invisible direction overrides.
``terminal_text`` shows every such character as a visible escape (``\\x1b``,
``\\u202e``) instead; everything else, including non-ASCII letters, is unchanged.
"""

from __future__ import annotations

import unicodedata

# Control (Cc), format (Cf: direction overrides, zero-width), separators that end a
# line (Zl, Zp), surrogates left by undecodable file names (Cs) and unassigned (Cn).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp", "Co"})


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def terminal_text(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` (made a str) with control and invisible format characters escaped.

    ``keep_newlines`` leaves ``\\n`` as it is (for multi-line text we wrote ourselves).
    """
    value = str(text)
    if value.isprintable():
        return value
    return "".join(
        ch
        if (keep_newlines and ch == "\n")
        or (ch.isprintable() and unicodedata.category(ch) not in _UNSAFE_CATEGORIES)
        else _escape(ch)
        for ch in value
    )
