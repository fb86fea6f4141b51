"""What every reader returns: samples as read, with where they came from and what was repaired."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is not imported by every CLI start (this module is)
    import numpy as np

    from analysis.errors import InputError


@dataclass
class Recording:
    """Samples as read: time in s, acceleration (N,3) in ``acc_units`` (None = detect).

    ``format`` names the reader; ``time_unit`` says how the file wrote time
    (e.g. "ms (Unix time, detected)"); ``warnings`` what the reader repaired or
    assumed; ``first_data_line`` the 1-based file line of sample 0 (for error
    messages; None where samples are not lines). A recording analysed as a stream holds
    no samples; ``samples_sha256`` is then their digest when it was asked for (the
    store's identity, ``stridewatch.store.identity``).
    """

    source: str
    t_s: np.ndarray
    acc: np.ndarray
    gyro_dps: np.ndarray | None
    acc_units: str | None
    nominal_rate_hz: float | None = None
    meta: dict = field(default_factory=dict)
    format: str = "csv"
    time_unit: str = "s"
    warnings: list[str] = field(default_factory=list)
    first_data_line: int | None = 2
    samples_sha256: str | None = None

    def describe(self) -> dict:
        """How the input was read, for the session output (``"input"``)."""
        out = {"format": self.format, "time_unit": self.time_unit}
        if self.acc_units:
            out["acc_units"] = self.acc_units
        start = self.meta.get("start_unix_s")
        if isinstance(start, int | float):
            out["start_unix_s"] = round(float(start), 6)
        return out


class InputFileError(Exception):
    """A file that cannot be read or analysed; the message names the file (and line)."""


def located(error: InputError, recording: Recording) -> InputFileError:
    """An analysis InputError turned into a message naming the file and line (or sample)."""
    if recording.first_data_line is None and error.row is not None:
        return InputFileError(f"{recording.source}, sample {error.row}: {error.problem}")
    return InputFileError(error.located(recording.source, recording.first_data_line or 2))


def one_line(exc: BaseException) -> str:
    """A library's error message on one line (parsers put newlines in theirs)."""
    return " ".join(str(exc).split())
