"""Mobilise-D ``data.mat`` files (the format mobgap loads): one recording per test/trial.

Layout (Mobilise-D data format, as read by mobgap's
``load_mobilised_matlab_format``): a MATLAB struct ``data`` nested by level,
e.g. ``data.TimeMeasure1.Test5.Trial1``; a level holding ``SU`` (the
single-sensor unit) is one test. ``SU.LowerBack`` holds ``Acc`` (N×3, in g),
``Gyr`` (N×3, deg/s), ``Fs.Acc`` (Hz) and optionally ``Timestamp`` (N, Unix s);
the test level may carry ``StartDateTime`` and ``TimeZone``.

Files saved by MATLAB ``-v7.3`` (the usual Mobilise-D export) are HDF5 inside,
after a 512-byte header that starts ``MATLAB 7.3 MAT-file``: a struct is a
group (attribute ``MATLAB_class`` = ``struct``, field order in
``MATLAB_fields``), a numeric array a dataset stored column-major (an N×3
matrix is a 3×N dataset), a ``char`` array uint16 codes. They are read with
``h5py``, an optional dependency: ``pip install "stridewatch[matlab]"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stridewatch.inputs.recording import InputFileError, Recording

H5PY_EXTRA = "matlab"
SENSOR = "SU"
POSITION = "LowerBack"


def read_mobilised_mat(path: Path, units: str | None = None,
                       time_unit: str | None = None) -> list[Recording]:
    """One Recording per test/trial with a lower-back single sensor, in file order."""
    from scipy import io as sio

    with open(path, "rb") as handle:
        is_hdf5 = b"MATLAB 7.3" in handle.read(128)
    if is_hdf5:
        mat = _load_hdf5_mat(path)
    else:
        try:
            mat = sio.loadmat(str(path), squeeze_me=True, struct_as_record=False,
                              mat_dtype=True)
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


class _MatStruct:
    """A MATLAB struct read from a 7.3 file, shaped like scipy's ``mat_struct``."""

    def __init__(self, fields: dict[str, object]) -> None:
        self._fieldnames = list(fields)
        for key, value in fields.items():
            setattr(self, key, value)


def _load_hdf5_mat(path: Path) -> dict[str, object]:
    """The variables of a MATLAB 7.3 file as scipy's ``loadmat(squeeze_me=True)`` gives them."""
    try:
        import h5py
    except ModuleNotFoundError as exc:
        raise InputFileError(
            f"{path}: a MATLAB 7.3 (HDF5) .mat file; reading it needs the h5py library: "
            f'pip install "stridewatch[{H5PY_EXTRA}]"'
        ) from exc
    try:
        with h5py.File(path, "r") as root:
            return {key: _hdf5_value(root[key], root, h5py)
                    for key in _field_order(root) if not key.startswith("#")}
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputFileError(f"{path}: damaged or unreadable MATLAB 7.3 .mat file ({exc})") \
            from exc


def _field_order(group: object) -> list[str]:
    """Field names in MATLAB's order (``MATLAB_fields``) when stored, else the group's."""
    stored = group.attrs.get("MATLAB_fields")
    if stored is None:
        return list(group.keys())
    names = [b"".join(np.asarray(name).astype("S1").tolist()).decode("ascii") for name in stored]
    return [n for n in names if n in group] + [k for k in group.keys() if k not in names]


def _hdf5_value(node: object, root: object, h5py: object) -> object:
    if isinstance(node, h5py.Group):
        return _MatStruct({key: _hdf5_value(node[key], root, h5py) for key in _field_order(node)})
    matlab_class = node.attrs.get("MATLAB_class", b"double")
    matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
    if node.attrs.get("MATLAB_empty", 0):
        return np.zeros(0)
    data = node[()]
    if node.dtype == h5py.ref_dtype:  # cell or struct array: a 1-element one is its element
        cells = [_hdf5_value(root[ref], root, h5py) for ref in np.ravel(data)]
        return cells[0] if len(cells) == 1 else cells
    array = np.asarray(data).T  # HDF5 holds MATLAB's column-major dimensions reversed
    if matlab_class == "char":
        return "".join(chr(code) for code in np.ravel(array, order="F"))
    array = np.squeeze(array)
    return array.item() if array.ndim == 0 else array


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
