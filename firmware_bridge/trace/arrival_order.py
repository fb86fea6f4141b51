"""Notifications put back in the order they arrived, before anything is decoded.

A trace is written in arrival order, so its host times never go back. When lines
were moved (an editor, a merge, a relay that buffers), a frame stamped with a later
device time arrives among earlier ones; decoded in file order, each such frame
sends the device clock back and re-anchoring it on host time adds time (two Polar
frames swapped 18 lines apart made 40 s of data last 46.8 s). Both clocks of such a
line moved with it, so sorting the notifications of each connection by arrival time
restores the device-clock order too.

A single absurd host time (1e308, -1) is not an arrival order: the sort key is the
arrival time, except that one further than ``OUTLIER_S`` from the median of its
neighbours keeps its place (its neighbours' time), as ``sample_times`` repairs it.
"""

from __future__ import annotations

import numpy as np

from firmware_bridge.sample_times import OUTLIER_S
from firmware_bridge.trace.events import ConnectEvent, DisconnectEvent, NotifyEvent, TraceEvent


def _sort_key(t_s: np.ndarray) -> np.ndarray:
    """Arrival times with outliers replaced by their neighbours' median (window of 5)."""
    if len(t_s) < 3:
        return t_s
    finite = np.where(np.isfinite(t_s), t_s, np.nan)
    padded = np.pad(finite, 2, mode="edge")
    median = np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1)
    bad = ~(np.abs(finite - median) <= OUTLIER_S)
    return np.where(bad, median, t_s)


def arrival_permutation(t_s: np.ndarray) -> np.ndarray | None:
    """The order putting one connection's notifications (arrival times ``t_s``) in arrival
    order, or None when they are in it already (also when a time is not a number)."""
    if len(t_s) < 2:
        return None
    t_s = np.asarray(t_s, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if bool(np.all(np.diff(t_s) >= 0)):
            # in order already (and no NaN): every window of sorted times is sorted, so
            # its median is its middle time, nothing is an outlier and the key is t_s
            return None
    key = _sort_key(t_s)
    with np.errstate(invalid="ignore"):
        ordered = bool(np.all(np.diff(key) >= 0)) or bool(np.isnan(key).any())
    return None if ordered else np.argsort(key, kind="stable")


def in_arrival_order(events: list[TraceEvent]) -> tuple[list[TraceEvent], int]:
    """``events`` with the notifications of each connection sorted by arrival time.

    Other events keep their places (a write, connect or mark is never moved past);
    the sort is stable, so notifications with equal times keep the file's order.
    Returns (events, how many notifications changed place).
    """
    out = list(events)
    moved = 0
    slots: list[int] = []

    def flush() -> None:
        nonlocal moved
        order = arrival_permutation(np.array([out[i].t_s for i in slots], dtype=np.float64))
        if order is not None:
            moved += int(np.count_nonzero(order != np.arange(len(order))))
            chosen = [out[slots[k]] for k in order]
            for slot, event in zip(slots, chosen, strict=True):
                out[slot] = event
        slots.clear()

    for i, event in enumerate(out):
        if isinstance(event, ConnectEvent | DisconnectEvent):
            flush()
        elif isinstance(event, NotifyEvent):
            slots.append(i)
    flush()
    return out, moved
