"""Mobilise-D ``data.mat`` files (the format mobgap loads): one recording per test/trial.

Layout (Mobilise-D data format, as read by mobgap's
``load_mobilised_matlab_format``): a MATLAB struct ``data`` nested by level,
e.g. ``data.TimeMeasure1.Test5.Trial1``; a level holding ``SU`` (the
single-sensor unit) is one test. ``SU.LowerBack`` holds ``Acc`` (N×3, in g),
``Gyr`` (N×3, deg/s), ``Fs.Acc`` (Hz) and optionally ``Timestamp`` (N, Unix s);
the test level may carry ``StartDateTime`` and ``TimeZone``. Files saved by
MATLAB ``-v7.3`` are HDF5 inside and need ``h5py``, not installed by default.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stridewatch.inputs.recording import InputFileError, Recording

SENSOR = "SU"
POSITION = "LowerBack"


def read_mobilised_mat(path: Path, units: str | None = None,
                       time_unit: str | None = None) -> list[Recording]:
    """One Recording per test/trial with a lower-back single sensor, in file order."""
    from scipy import io as sio

    with open(path, "rb") as handle:
        if b"MATLAB 7.3" in handle.read(128):
            raise InputFileError(f"{path}: a MATLAB 7.3 (HDF5) .mat file; save it with -v7 "
                                 "or convert it (7.3 files are not read yet)")
    try:
        mat = sio.loadmat(str(path), squeeze_me=True, struct_as_record=False, mat_dtype=True)
    except (ValueError, TypeError, OSError, EOFError) as exc:
        raise InputFileError(f"{path}: damaged or unreadable .mat file ({exc})") from exc
    if "data" not in mat:
        raise InputFileError(f"{path}: no 'data' struct (not a Mobilise-D data.mat); "
                             f"variables: {', '.join(k for k in mat if not k.startswith('__'))}")
    recordings = [
        _recording(path, name, test, units, time_unit) for name, test in _tests(mat["data"], ())
    ]
    if not recordings:
        raise InputFileError(f"{path}: no test holds {SENSOR}.{POSITION} sensor data")
    return recordings


def _tests(node: object, name: tuple[str, ...]) -> list[tuple[tuple[str, ...], object]]:
    fields = getattr(node, "_fieldnames", None)
    if fields is None:
        return []
    if SENSOR in fields:
        return [(name, node)]
    out = []
    for key in fields:
        out += _tests(getattr(node, key), (*name, key))
    return out


def _recording(path: Path, name: tuple[str, ...], test: object, units: str | None,
               time_unit: str | None) -> Recording:
    where = f"{path}, {'.'.join(('data', *name, SENSOR, POSITION))}"
    sensor = getattr(getattr(test, SENSOR), POSITION, None)
    if sensor is None:
        raise InputFileError(f"{where}: missing (no lower-back sensor in this test)")
    acc = _matrix(sensor, "Acc", where)
    gyro = _matrix(sensor, "Gyr", where) if "Gyr" in sensor._fieldnames else None
    if gyro is not None and gyro.shape != acc.shape:
        raise InputFileError(f"{where}.Gyr: {gyro.shape[0]} samples but Acc has {acc.shape[0]}")
    try:
        fs = float(np.asarray(sensor.Fs.Acc, dtype=float))
    except (AttributeError, TypeError, ValueError) as exc:
        raise InputFileError(f"{where}.Fs.Acc: missing or not a number") from exc
    if not fs > 0:
        raise InputFileError(f"{where}.Fs.Acc: sampling rate {fs} is not positive")
    meta = {"test": "/".join(name)}
    start = getattr(test, "StartDateTime", None)
    if isinstance(start, str):
        meta["start_date_time_iso"] = start
    stamps = getattr(sensor, "Timestamp", None)
    t_s = np.arange(len(acc)) / fs
    if stamps is not None and np.size(stamps) == len(acc):
        stamps = np.asarray(stamps, dtype=np.float64)
        if np.isfinite(stamps).all():
            meta["start_unix_s"] = float(stamps[0])
    return Recording(
        source=f"{path}#{'/'.join(name)}", t_s=t_s, acc=acc, gyro_dps=gyro,
        acc_units=units or "g", nominal_rate_hz=fs, meta=meta, format="mobilise-d-mat",
        time_unit=f"samples at Fs.Acc = {fs:g} Hz", first_data_line=None,
    )


def _matrix(sensor: object, field: str, where: str) -> np.ndarray:
    value = getattr(sensor, field, None)
    if value is None:
        raise InputFileError(f"{where}.{field}: missing")
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3:
        raise InputFileError(f"{where}.{field}: expected N×3 samples, got shape {array.shape}")
    return array
