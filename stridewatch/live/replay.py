"""Replay a recorded trace through the live pipeline, byte for byte.

Each recorded notification goes through the profile's decoder exactly as it
did while recording, then into the same ``LiveView`` that ``record`` uses;
only the transport differs (a file instead of the radio). ``--speed`` paces
the notifications by their recorded host times (``max``: as fast as possible).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from analysis.pipeline import SessionResult
from analysis.rules import RuleSet
from firmware_bridge.profiles import StreamConfig, get_profile
from firmware_bridge.profiles.base import DecodeError
from firmware_bridge.trace import (
    ConnectEvent,
    DisconnectEvent,
    NotifyEvent,
    TraceStream,
    WriteEvent,
)
from firmware_bridge.trace.problems import summarize_problems
from stridewatch.inputs.wear_prior import device_wear_prior
from stridewatch.live.view import LiveView


def replay_trace(
    path: Path,
    *,
    rules: RuleSet,
    speed: float | None = None,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    out: TextIO | None = None,
    problems: list[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SessionResult:
    """Feed ``path`` through a LiveView and return the final session result.

    ``speed`` None = as fast as possible; 1.0 = real time. Undecodable packets
    are skipped and listed in ``problems`` (as the recorder does live).
    """
    trace = TraceStream(path)  # event by event: memory stays flat however long the trace
    problems = problems if problems is not None else []
    spec = get_profile(trace.header.profile)
    config = spec.check_config(StreamConfig.from_dict(trace.header.config or {}),
                               trace.header.device_name)
    decoder = spec.new_decoder(config)
    rate = config.sample_rate_hz or decoder.sample_rate_hz
    # With nothing to show (``out`` None: --json) the view never refreshes: a refresh only
    # prints the status line and alerts, and costs a whole provisional analysis every second
    # (more as the trace gets longer); the final result does not depend on it.
    view = LiveView(float(rate), rules=rules, calibrate_s=calibrate_s, axes=axes, out=out,
                    clock=clock, refresh_s=1.0 if out is not None else float("inf"),
                    wear_prior=device_wear_prior(trace.header.profile,
                                                 trace.header.device_name))
    started = clock()
    packet = 0
    for event in trace:
        if speed is not None:
            wait = event.t_s / speed - (clock() - started)
            if wait > 0:
                sleep(wait)
        if isinstance(event, ConnectEvent | DisconnectEvent):
            decoder.reset()
            view.new_connection()
        elif isinstance(event, WriteEvent):
            decoder.note_write(event.char_uuid, event.payload)
        elif isinstance(event, NotifyEvent):
            try:
                block = decoder.feed(event.char_uuid, event.payload, packet)
            except DecodeError as exc:
                problems.append(f"{path}: {exc}")
                block = None
            packet += 1
            if block is not None:
                view.on_block(block, host_t_s=event.t_s)
    problems.extend(trace.problems)
    problems[:] = summarize_problems(problems)  # one line per kind, with a count
    result = view.finish()
    if out is not None:
        view.refresh()
    return result
