"""Reading recordings from disk: one reader module per format, behind ``read_recordings``.

The only place the analysis input touches files. The format is detected from
the file's content (``stridewatch.inputs.detect``), so a renamed file is still
read right. Errors name the file and, where there is one, the line or offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stridewatch.inputs.detect import SUFFIXES, TEXT_SUFFIXES, detect_format
from stridewatch.inputs.recording import InputFileError, Recording, located

__all__ = ["InputFileError", "InputRef", "Recording", "TRACE_SUFFIX", "expand_inputs",
           "located", "read_input", "read_recording", "read_recordings"]

ACC_COLUMNS = ("ax", "ay", "az")
GYRO_COLUMNS = ("gx", "gy", "gz")
TRACE_SUFFIX = ".swtrace"


@dataclass(frozen=True)
class InputRef:
    """One input of a command, in order: a file to read, or why the name given is not one."""

    name: str
    path: Path | None
    error: str | None = None


def expand_inputs(paths: list[str]) -> list[InputRef]:
    """Files named, with directories expanded to their recordings (sorted by name).

    A directory is searched for the endings in ``detect.SUFFIXES``; files
    named explicitly are read whatever their name. A name that is missing, or
    a directory without recordings, becomes an InputRef carrying the error,
    so every input gets its answer in order.
    """
    out: list[InputRef] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if _is_recording(p))
            if not found:
                out.append(InputRef(name, None, f"{path}: directory has no recordings "
                                                f"({', '.join(SUFFIXES)})"))
            out.extend(InputRef(str(p), p) for p in found)
        elif path.exists():
            out.append(InputRef(name, path))
        else:
            out.append(InputRef(name, None, f"{path}: no such file or directory"))
    return out


def _is_recording(path: Path) -> bool:
    """A file in a directory worth reading: a recording's ending (a .txt only when its
    content is a Polar Sensor Logger or Xsens export, not a README or licence)."""
    suffix = path.suffix.lower()
    if not path.is_file() or suffix not in SUFFIXES:
        return False
    if suffix in TEXT_SUFFIXES:
        try:
            return detect_format(path) in ("polar-sensor-logger", "xsens-text")
        except InputFileError:
            return True  # unreadable: let reading it report why
    return True


def read_recordings(path: str | Path, units: str | None = None,
                    time_unit: str | None = None) -> list[Recording]:
    """Every recording in a file (one, except a Mobilise-D data.mat: one per test/trial).

    ``units`` ("g", "m/s2") and ``time_unit`` ("s", "ms", "us", "ns") override
    what the file states or what is detected.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "swtrace":
        from stridewatch.inputs.swtrace import read_trace_recording

        return [read_trace_recording(path, units)]
    if fmt == "mobilise-d-mat":
        from stridewatch.inputs.mobilised_mat import read_mobilised_mat

        return read_mobilised_mat(path, units, time_unit)
    if fmt == "polar-sensor-logger":
        from stridewatch.inputs.polar_sensor_logger import read_polar_sensor_logger

        return [read_polar_sensor_logger(path, units, time_unit)]
    if fmt == "xsens-text":
        from stridewatch.inputs.xsens_text import read_xsens_text

        return [read_xsens_text(path, units, time_unit)]
    if fmt in ("cwa", "gt3x"):
        from stridewatch.inputs.actfast_files import read_actfast

        return [read_actfast(path, fmt, units)]
    from stridewatch.inputs.csv_file import read_csv_recording

    return [read_csv_recording(path, units, time_unit)]


def read_recording(path: str | Path, units: str | None = None,
                   time_unit: str | None = None) -> Recording:
    """The one recording in a file (a data.mat holding several tests is refused: see
    ``read_recordings``)."""
    recordings = read_recordings(path, units, time_unit)
    if len(recordings) != 1:
        names = ", ".join(r.source.rsplit("#", 1)[-1] for r in recordings)
        raise InputFileError(f"{path}: holds {len(recordings)} recordings ({names}); "
                             "analyse the file to get one result per recording")
    return recordings[0]


#: The name the report and benchmarks use.
read_input = read_recording
