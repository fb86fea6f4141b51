"""What the host must remember about a MetaWear board between `sync --start` and `sync`.

A board's log entries carry ticks counted from its last reset, so their times need a
clock reference per reset uid taken while that uid was current (a tick seen at a known
Unix time), and the ids of the loggers that hold x,y and z. They are kept per board
address in ``metawear-boards.json`` next to the session store (written whole: temp file
and rename).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

FILE_NAME = "metawear-boards.json"


@dataclass
class BoardMemory:
    xy_logger: int = 0
    z_logger: int = 1
    rate_hz: float = 50.0
    range_g: float = 16.0
    clocks: dict[int, tuple[int, float]] = field(default_factory=dict)  # uid -> (tick, unix s)
    #: The reset uid under which the loggers were created (a reset removes them), or None.
    loggers_uid: int | None = None


def _path(db: str | Path) -> Path:
    from stridewatch.store.engine import files_folder

    return files_folder(db) / FILE_NAME


def load(db: Path, address: str) -> BoardMemory | None:
    try:
        data = json.loads(_path(db).read_text(encoding="utf-8")).get(address.upper())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return BoardMemory(
        int(data.get("xy_logger", 0)), int(data.get("z_logger", 1)),
        float(data.get("rate_hz", 50.0)), float(data.get("range_g", 16.0)),
        {int(uid): (int(v[0]), float(v[1])) for uid, v in data.get("clocks", {}).items()},
        None if data.get("loggers_uid") is None else int(data["loggers_uid"]),
    )


def save(db: Path, address: str, memory: BoardMemory) -> None:
    path = _path(db)
    try:
        everything = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        everything = {}
    everything[address.upper()] = {
        "xy_logger": memory.xy_logger, "z_logger": memory.z_logger,
        "rate_hz": memory.rate_hz, "range_g": memory.range_g,
        "clocks": {str(uid): [tick, unix] for uid, (tick, unix) in memory.clocks.items()},
        "loggers_uid": memory.loggers_uid,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps(everything, indent=1), encoding="utf-8")
    os.replace(tmp, path)
