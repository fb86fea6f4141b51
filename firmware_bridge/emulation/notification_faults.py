"""Ways an emulated sensor can mangle one data frame on its way to the air.

A fault is a function from the frame the device built to the notifications
it actually sends instead (possibly none, one or several).
"""

from __future__ import annotations

from collections.abc import Callable

FrameFault = Callable[[bytes], list[bytes]]


def split_frame(*cut_at: int) -> FrameFault:
    """Send the frame as several notifications, cut at the given byte offsets."""
    cuts = sorted(cut_at)

    def fault(frame: bytes) -> list[bytes]:
        bounds = [0, *(c for c in cuts if 0 < c < len(frame)), len(frame)]
        return [frame[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    return fault


def truncate_frame(keep_bytes: int) -> FrameFault:
    """Send only the first ``keep_bytes`` bytes of the frame."""

    def fault(frame: bytes) -> list[bytes]:
        return [frame[:keep_bytes]]

    return fault


def insert_before(*extra: bytes) -> FrameFault:
    """Send extra (e.g. malformed) notifications, then the intact frame."""

    def fault(frame: bytes) -> list[bytes]:
        return [*extra, frame]

    return fault


def replace_frame(*replacement: bytes) -> FrameFault:
    """Send ``replacement`` notifications instead of the frame."""

    def fault(frame: bytes) -> list[bytes]:
        return list(replacement)

    return fault
