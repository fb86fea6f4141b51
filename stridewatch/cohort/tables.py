"""The cohort tables: one row per session, bout and step, as Parquet (pyarrow) and JSON Lines.

Column names and units follow the session JSON (``stridewatch.session/1``): ``source`` first,
seconds ``_s``, steps/min ``_spm``, degrees ``_deg``, percent ``_pct``, Hz ``_hz``. A recording
that failed is a ``sessions`` row with its ``error`` and no numbers, and in the JSON Lines the
error object ``analyze --json`` prints (``stridewatch.error/1``). Rows are in input order.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stridewatch.cohort.results import write_atomic
from stridewatch.error_record import error_record

SESSION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "string"), ("content_sha256", "string"), ("error", "string"),
    ("sample_rate_hz", "float64"), ("duration_s", "float64"), ("walking_s", "float64"),
    ("steps", "int64"), ("cadence_spm", "float64"), ("step_time_si_pct", "float64"),
    ("step_regularity", "float64"), ("stride_regularity", "float64"),
    ("lean_reference", "string"), ("sagittal_deg_median", "float64"),
    ("frontal_deg_median", "float64"), ("sagittal_deg_p95", "float64"), ("bouts", "int64"),
    ("flags", "string"), ("rules_version", "string"),
)
BOUT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "string"), ("bout", "int64"), ("start_s", "float64"), ("end_s", "float64"),
    ("steps", "int64"), ("cadence_spm", "float64"), ("step_time_si_pct", "float64"),
)
STEP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "string"), ("step", "int64"), ("t_s", "float64"), ("side", "string"),
)
TABLE_FILES = {"sessions": "sessions.parquet", "bouts": "bouts.parquet",
               "steps": "steps.parquet"}
JSONL_FILE = "sessions.jsonl"


def session_row(result: dict[str, Any]) -> dict[str, Any]:
    s = result.get("session") or {}
    asym, lean = s.get("asymmetry") or {}, s.get("lean") or {}
    return {
        "source": result["source"], "content_sha256": result.get("content_sha256"),
        "error": result.get("error"), "sample_rate_hz": s.get("sample_rate_hz"),
        "duration_s": s.get("duration_s"), "walking_s": s.get("walking_s"),
        "steps": s.get("steps"), "cadence_spm": s.get("cadence_spm"),
        "step_time_si_pct": asym.get("step_time_si_pct"),
        "step_regularity": asym.get("step_regularity"),
        "stride_regularity": asym.get("stride_regularity"),
        "lean_reference": lean.get("reference"),
        "sagittal_deg_median": lean.get("sagittal_deg_median"),
        "frontal_deg_median": lean.get("frontal_deg_median"),
        "sagittal_deg_p95": lean.get("sagittal_deg_p95"),
        "bouts": len(s["bouts"]) if s else None,
        "flags": ",".join(f["rule"] for f in s.get("flags") or []) if s else None,
        "rules_version": s.get("rules_version"),
    }


def bout_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    s = result.get("session") or {}
    return [{"source": result["source"], "bout": i, "start_s": b.get("start_s"),
             "end_s": b.get("end_s"), "steps": b.get("steps"),
             "cadence_spm": b.get("cadence_spm"), "step_time_si_pct": b.get("step_time_si_pct")}
            for i, b in enumerate(s.get("bouts") or [])]


def step_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    s = result.get("session") or {}
    times, sides = s.get("initial_contacts_s") or [], s.get("sides") or []
    return [{"source": result["source"], "step": i, "t_s": t,
             "side": sides[i] if i < len(sides) else None} for i, t in enumerate(times)]


def _table(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> Any:
    import pyarrow as pa

    schema = pa.schema([(name, pa.string() if kind == "string" else pa.from_numpy_dtype(kind))
                        for name, kind in columns])
    return pa.Table.from_pylist(rows, schema=schema)


def write_tables(out_dir: Path, results: Sequence[dict[str, Any]]) -> dict[str, Path]:
    """Write the three Parquet tables and the JSON Lines for ``results`` (in that order), each
    whole or not at all. Returns the files written."""
    import pyarrow.parquet as pq

    tables = {
        "sessions": _table([session_row(r) for r in results], SESSION_COLUMNS),
        "bouts": _table([row for r in results for row in bout_rows(r)], BOUT_COLUMNS),
        "steps": _table([row for r in results for row in step_rows(r)], STEP_COLUMNS),
    }
    written: dict[str, Path] = {}
    for name, table in tables.items():
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        path = out_dir / TABLE_FILES[name]
        write_atomic(path, buffer.getvalue())
        written[name] = path
    lines = []
    for r in results:
        if r.get("session") is not None:
            lines.append(json.dumps(r["session"], separators=(",", ":")))
        else:
            lines.append(json.dumps(error_record(r["source"], r.get("error") or ""),
                                    separators=(",", ":")))
    write_atomic(out_dir / JSONL_FILE, "".join(line + "\n" for line in lines))
    written["jsonl"] = out_dir / JSONL_FILE
    return written
