"""Writing output files so a failed command leaves nothing half-written.

Every command that writes a file checks its folder before doing any work
(``check_output``) and writes through ``replacing`` (a temporary file in the same
folder, renamed over the target only once it is complete).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from stridewatch.inputs import InputFileError


def check_output(path: str | Path, *, overwrite: bool = True) -> Path:
    """``path`` as a Path, or an ``InputFileError`` naming what is wrong with writing there."""
    out = Path(path)
    folder = out.parent
    if out.is_dir():
        raise InputFileError(f"{out}: is a folder; name a file to write")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputFileError(f"{out}: cannot write there: folder {folder} {what}")
    if not os.access(folder, os.W_OK):
        raise InputFileError(f"{out}: cannot write there: folder {folder} is not writable")
    if not overwrite and out.exists():
        raise InputFileError(f"{out}: already exists; recordings are never overwritten")
    return out


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed to ``path`` when the block ends normally,
    removed when it raises."""
    out = check_output(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(0o666 & ~_umask())  # as an ordinary new file (mkstemp makes it private)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
