"""A cohort run's output folder: one result file per recording, written as it finishes.

``DIR/results/<key>.json`` holds one recording's result (its source, content hash, session
JSON or error), written by whoever analysed it (this process, or a Dask worker that shares
the folder) to a temporary file and renamed, so a run killed at any moment
leaves only whole results; ``--resume`` reads them back. (No fsync per result: a power cut
may lose the last results, which ``--resume`` then analyses again; syncing each of
thousands of small files costs more than the analysis of a short recording.) The tables
(``tables``) are built from these files, so they never depend on which engine or worker
produced a result, or in which order results arrived.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

RESULTS_FOLDER = "results"
RUN_MARKER_PREFIX = ".run-"
#: What a result kept by a worker sends back instead of the whole result (no session).
RECEIPT_KEYS = ("index", "source", "content_sha256", "error", "skipped", "elapsed_s")


def result_key(source: str) -> str:
    """The file name of a source's result (the same source always has the same file)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:32]


class ResultDir:
    def __init__(self, out_dir: str | Path) -> None:
        self.root = Path(out_dir)
        self.results = self.root / RESULTS_FOLDER
        self.results.mkdir(parents=True, exist_ok=True)

    def path_for(self, source: str) -> Path:
        return self.results / f"{result_key(source)}.json"

    def write(self, result: dict[str, Any]) -> None:
        """Keep one recording's result (replacing an older one for the same source)."""
        keep = {k: result.get(k) for k in ("source", "content_sha256", "session", "error")}
        write_atomic(self.path_for(result["source"]),
                     json.dumps(keep, allow_nan=False, separators=(",", ":")))

    def mark_run(self) -> str:
        """Leave a marker of this run in the folder and return its id: a worker that sees the
        marker shares this folder (the same machine or a shared file system) and keeps its
        results here itself (``sees_run``); one that does not sends them back."""
        run_id = uuid.uuid4().hex
        (self.results / f"{RUN_MARKER_PREFIX}{run_id}").touch()
        return run_id

    def unmark_run(self, run_id: str) -> None:
        (self.results / f"{RUN_MARKER_PREFIX}{run_id}").unlink(missing_ok=True)

    @staticmethod
    def sees_run(out_dir: str, run_id: str) -> bool:
        return (Path(out_dir) / RESULTS_FOLDER / f"{RUN_MARKER_PREFIX}{run_id}").is_file()

    def load(self, source: str) -> dict[str, Any] | None:
        path = self.path_for(source)
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # unreadable: analysed again
        return result if result.get("source") == source else None

    def done_sha256(self, source: str) -> str | None:
        """The content hash of a finished (analysed, not failed) result for ``source``."""
        result = self.load(source)
        if result is None or result.get("session") is None:
            return None
        return result.get("content_sha256")


def receipt(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its session: what the run needs to count and report it."""
    return {k: result.get(k) for k in RECEIPT_KEYS}


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then rename."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
