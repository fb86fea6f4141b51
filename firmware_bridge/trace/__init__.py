"""The ``.swtrace`` recording format: raw BLE traffic as JSON Lines (UTF-8).

Line 1 is a header::

    {"format":"stridewatch-trace","version":1,"profile":"polar-pmd",
     "device":{"name":…,"address":…},"started_unix_s":…,"config":{…}}

then one event per line (``t`` = host monotonic seconds since the trace started)::

    {"t":1.234567,"ev":"notify","char":"<uuid>","hex":"<payload>"}
    {"t":…,"ev":"write","char":"<uuid>","hex":"<payload>"}
    {"t":…,"ev":"connect"}
    {"t":…,"ev":"disconnect","reason":"…"}
    {"t":…,"ev":"mark","label":"…"}

One module per role: ``events`` (the records and format constants), ``writer``
(``TraceWriter`` records), ``reader`` (``read_trace`` / ``TraceStream`` parse) and
``decode`` (``decode_trace`` turns a trace into samples, t in s and acceleration in g,
with the profile decoders) and ``stream_decode`` (``stream_trace``: the same samples a
piece at a time, in memory independent of the trace's length). The format is documented
for other tools in ``data/trace-format.md``.
"""

from firmware_bridge.trace.decode import DecodedTrace, Gap, Mark, decode_trace
from firmware_bridge.trace.events import (
    DEFAULT_FSYNC_INTERVAL_S,
    FILE_SUFFIX,
    FORMAT_NAME,
    FORMAT_VERSION,
    ConnectEvent,
    DisconnectEvent,
    MarkEvent,
    NotifyEvent,
    Trace,
    TraceEvent,
    TraceFormatError,
    TraceHeader,
    WriteEvent,
)
from firmware_bridge.trace.reader import TraceStream, read_trace
from firmware_bridge.trace.writer import TraceWriter

__all__ = [
    "DEFAULT_FSYNC_INTERVAL_S",
    "FILE_SUFFIX",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ConnectEvent",
    "DecodedTrace",
    "DisconnectEvent",
    "Gap",
    "Mark",
    "MarkEvent",
    "NotifyEvent",
    "Trace",
    "TraceEvent",
    "TraceFormatError",
    "TraceHeader",
    "TraceStream",
    "TraceWriter",
    "WriteEvent",
    "decode_trace",
    "read_trace",
]
