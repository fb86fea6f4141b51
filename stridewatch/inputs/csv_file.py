"""stridewatch's own CSV layout (data/csv-format.md), read tolerantly.

Comma, semicolon or tab separated; header names in any case with common
aliases (``timestamp``, ``acc_x``, ``X [mg]``...) and units in the header.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.bounds import check_column_count
from analysis.errors import InputError
from stridewatch.inputs.columns import find_columns
from stridewatch.inputs.recording import InputFileError, Recording, one_line
from stridewatch.inputs.table import recording_from_table


def sniff_delimiter(header_line: str) -> str:
    """The separator of a header line: the most frequent of tab, semicolon and comma."""
    counts = {sep: header_line.count(sep) for sep in ("\t", ";", ",")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def csv_separator(path: Path) -> str:
    """The separator of a CSV, from its header line; InputFileError when the file is missing,
    not UTF-8 text, or its header absurdly wide (refused before pandas allocates every column)."""
    try:
        with open(path, encoding="utf-8-sig", errors="strict") as handle:
            header = handle.readline(1 << 20)
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}, line 1: not a text file (byte {exc.start} is not "
                             "UTF-8)") from exc
    sep = sniff_delimiter(header)
    try:
        check_column_count(header.count(sep) + 1)
    except InputError as exc:
        raise InputFileError(f"{path}, line 1: {exc.problem}") from None
    return sep


def read_csv_recording(path: Path, units: str | None = None,
                       time_unit: str | None = None) -> Recording:
    """Read a CSV with a time column and three acceleration columns (optional gyro)."""
    sep = csv_separator(path)
    try:
        frame = pd.read_csv(path, sep=sep, skip_blank_lines=False, low_memory=False,
                            encoding="utf-8-sig")
    except pd.errors.ParserError as exc:
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if fields:
            expected, line, saw = fields.groups()
            raise InputFileError(
                f"{path}, line {line}: {saw} fields where the header has {expected}"
            ) from exc
        raise InputFileError(f"{path}: not a readable CSV file ({one_line(exc)})") from exc
    except (pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable CSV file "
                             f"({one_line(exc)})") from exc
    columns = find_columns([str(c) for c in frame.columns], str(path))
    return recording_from_table(frame, columns, source=str(path), first_data_line=2,
                                fmt="csv", units=units, time_unit=time_unit)
