"""One recording analysed: the unit of work of a cohort run; on Dask a task analyses a few
short recordings one after the other (``analyze_group``) and keeps each result itself."""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from stridewatch.cohort.results import ResultDir, receipt
from stridewatch.inputs import InputFileError, read_input


@dataclass(frozen=True)
class AnalysisOptions:
    """What every recording of a run is analysed with (picklable, sent to workers)."""

    rules: str | None = None  # rules TOML path; None: the shipped defaults
    calibrate_s: tuple[float, float] | None = None
    axes: str | None = None
    units: str | None = None


@lru_cache(maxsize=8)
def _rules(path: str | None) -> Any:
    from stridewatch.store.filing import resolve_rules

    return resolve_rules(path)


def prepare(options: AnalysisOptions) -> None:
    """Import the analysis and load the rules once per worker, before its first task."""
    import analysis.pipeline  # noqa: F401
    import stridewatch.store.identity  # noqa: F401

    _rules(options.rules)


def content_sha256(recording: Any, path: Path) -> str:
    """The recording's content hash, as the session store identifies it (of a recording
    analysed as a stream: the digest its chunks left)."""
    from stridewatch.store.identity import content_digest

    return content_digest(recording, path)[0]


def unchanged(path: Path, options: AnalysisOptions, known_sha256: str) -> bool:
    """Whether the file's content hash, found by reading it as a stream (memory independent
    of its length, no analysis), is still ``known_sha256``: a trace's lines, the samples of a
    file the analysis streams. False when it is not read as a stream, or hashes otherwise
    so: a resumed run then reads it whole to compare, as a file analysed whole was hashed."""
    from firmware_bridge.trace import TraceFormatError
    from stridewatch.inputs import TRACE_SUFFIX
    from stridewatch.store.filing import streamed_samples_sha256
    from stridewatch.store.identity import trace_content

    if path.suffix == TRACE_SUFFIX:
        try:
            return trace_content(path)[0] == known_sha256
        except (TraceFormatError, OSError, ValueError):
            return False
    return streamed_samples_sha256(path, options.units) == known_sha256


def _analyzed_as_stream(path: Path, options: AnalysisOptions) -> tuple[Any, Any] | None:
    """The result and sample-less recording of a file the analysis streams (memory
    independent of its length: a long recording does not fill a worker), else None (read
    whole). A recording the analysis refuses is read whole too (its error is kept with its
    content hash, as reading it whole keeps it)."""
    from stridewatch.store.filing import analyze_streamed

    try:
        return analyze_streamed(path, options.units, rules=_rules(options.rules),
                                calibrate_s=options.calibrate_s, axes=options.axes,
                                digest=True)
    except InputFileError:
        return None


def analyze_one(index: int, source: str, options: AnalysisOptions,
                known_sha256: str | None = None) -> dict[str, Any]:
    """Read and analyse one input. Never raises for a bad recording: the result then holds
    ``error`` (one line, naming the file). ``known_sha256``: the content hash of the result
    already kept for this input; when the content still hashes to it the analysis is
    skipped (``skipped: True``)."""
    from stridewatch.store.filing import analyze_recording, session_json

    started = time.perf_counter()
    result: dict[str, Any] = {"index": index, "source": source, "content_sha256": None,
                              "session": None, "error": None, "skipped": False}
    path = Path(source)
    try:
        if known_sha256 is not None and unchanged(path, options, known_sha256):
            result["content_sha256"], result["skipped"] = known_sha256, True
            return result
        if streamed := _analyzed_as_stream(path, options):
            analysed, recording = streamed
            result["content_sha256"] = content_sha256(recording, path)
            result["session"] = session_json(analysed, recording)
            return result
        recording = read_input(path, options.units)
        result["content_sha256"] = content_sha256(recording, path)
        if known_sha256 is not None and result["content_sha256"] == known_sha256:
            result["skipped"] = True
            return result
        analysed = analyze_recording(recording, rules=_rules(options.rules),
                                     calibrate_s=options.calibrate_s, axes=options.axes)
        result["session"] = session_json(analysed, recording)
    except InputFileError as exc:
        result["error"] = " ".join(str(exc).split())  # one line
    except Exception as exc:  # noqa: BLE001 - one bad recording never stops a cohort run
        last = traceback.extract_tb(exc.__traceback__)[-1]
        result["error"] = (f"{source}: internal error {type(exc).__name__}: {exc} "
                           f"({Path(last.filename).name}:{last.lineno})")
    finally:
        result["elapsed_s"] = round(time.perf_counter() - started, 4)
    return result


def analyze_group(items: Sequence[tuple[int, str, str | None]], options: AnalysisOptions,
                  out_dir: str, run_id: str) -> list[dict[str, Any]]:
    """Analyse ``items`` (index, source, known content hash) one after the other, each on
    its own (one failing does not touch the others). When this worker shares the run's
    output folder (``ResultDir.sees_run``) each result is kept there as it finishes and only
    its receipt (no session) goes back; otherwise the whole results go back for the client
    to keep."""
    results = ResultDir(out_dir) if ResultDir.sees_run(out_dir, run_id) else None
    answers = []
    for index, source, known in items:
        result = analyze_one(index, source, options, known)
        if results is not None and not result["skipped"]:
            results.write(result)
            result = receipt(result) | {"kept": True}
        answers.append(result)
    return answers
