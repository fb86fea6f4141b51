"""Which format a file holds, from its first bytes (the extension is only a tie-breaker).

Signatures (all documented by their makers):
- ``.swtrace``: a JSON first line with ``"format":"stridewatch-trace"`` (data/trace-format.md).
- Axivity ``.cwa``: the header block starts ``MD`` and its length 1020 (OpenMovement cwa.h).
- ActiGraph ``.gt3x``: a ZIP archive (``PK\\x03\\x04``) holding ``info.txt`` and ``log.bin``.
- MATLAB ``.mat`` (Mobilise-D ``data.mat``): a 128-byte text header starting ``MATLAB 5.0 MAT-file``
  (7.3 files say ``MATLAB 7.3 MAT-file`` and are HDF5 inside).
- Polar Sensor Logger ACC export: a ``;``-separated text header naming
  ``sensor timestamp [ns]`` and ``X [mg]``.
- Xsens MT Manager text export: ``//`` comment lines, then a header with ``PacketCounter``
  or ``SampleTimeFine`` and ``Acc_X``.
- Anything else that is text: stridewatch's CSV layout (tolerant headers).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from stridewatch.inputs.recording import InputFileError

FORMATS = ("swtrace", "cwa", "gt3x", "mobilise-d-mat", "polar-sensor-logger", "xsens-text", "csv")
#: The text tables among them (read with pandas; long ones as a stream: ``table_stream``).
TABLE_FORMATS = ("polar-sensor-logger", "xsens-text", "csv")
#: The file name ending each format is kept under (a stored upload).
FORMAT_SUFFIXES = {"swtrace": ".swtrace", "cwa": ".cwa", "gt3x": ".gt3x",
                   "mobilise-d-mat": ".mat", "polar-sensor-logger": ".txt",
                   "xsens-text": ".txt", "csv": ".csv"}
#: File name endings a directory is searched for.
SUFFIXES = (".csv", ".swtrace", ".txt", ".tsv", ".cwa", ".gt3x", ".mat")
#: Endings that also name other text (a README): in a directory, read only when recognised.
TEXT_SUFFIXES = (".txt", ".tsv")


def detect_format(path: Path) -> str:
    """One of ``FORMATS`` for the file at ``path`` (InputFileError when unreadable)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{path}: is a directory") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from exc
    if not head:
        raise InputFileError(f"{path}: the file is empty")
    if head.startswith(b"MATLAB "):
        return "mobilise-d-mat"
    if head.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(path).namelist())
        except zipfile.BadZipFile as exc:
            raise InputFileError(f"{path}: a damaged ZIP archive ({exc})") from exc
        if {"info.txt", "log.bin"} <= names:
            return "gt3x"
        raise InputFileError(f"{path}: a ZIP archive that is not an ActiGraph .gt3x "
                             f"(no info.txt and log.bin; holds {', '.join(sorted(names)[:5])})")
    if head[:4] == b"MD\xfc\x03":  # "MD" and the header block's length, 1020
        return "cwa"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    if first.lstrip().startswith("{") and '"stridewatch-trace"' in first:
        return "swtrace"
    lines = [line.strip() for line in text.splitlines()]
    header = next((line for line in lines if line and not line.startswith("//")), "")
    lowered = header.lower()
    if "sensor timestamp [ns]" in lowered and "x [mg]" in lowered:
        return "polar-sensor-logger"
    if ("packetcounter" in lowered or "sampletimefine" in lowered) and "acc_x" in lowered:
        return "xsens-text"
    if path.suffix.lower() == ".swtrace":
        return "swtrace"  # let the trace reader say what is wrong with it
    return "csv"
