"""Recordings in the web app: an upload checked by the readers and filed, and the stored
recording of a session found for its report and downloads, and analysed again when the
patient's rules change.

Uploads are written to the upload folder (outside anything the server serves as files) under
a temporary name, read by ``stridewatch.inputs`` (which decides whether it is a recording at
all), analysed with the patient's rules and only then renamed to its content hash and filed in
the store; any failure removes the file and files nothing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from analysis.rules import RuleSet
from stridewatch.inputs import InputFileError
from stridewatch.store import database as store
from stridewatch.store.filing import analyze_file, resolve_rules
from stridewatch.store.identity import identify

CHUNK_BYTES = 1 << 16


class UploadError(Exception):
    """An upload that was refused; the message is for the clinician."""


@dataclass(frozen=True)
class FiledUpload:
    session_id: int
    created: bool
    stored_path: Path


def sniff_suffix(path: Path) -> str:
    """The file name ending for an upload, from its content (``detect_format``): a device's
    own (``.cwa``, ``.gt3x``, ``.mat``, ``.swtrace``), ``.txt`` for a phone-app or Xsens
    export, else ``.csv`` (the CSV reader, which refuses what is not a recording)."""
    from stridewatch.inputs.detect import FORMAT_SUFFIXES, detect_format

    try:
        return FORMAT_SUFFIXES.get(detect_format(path), ".csv")
    except InputFileError:
        return ".csv"


def _copy_limited(stream: IO[bytes], out: IO[bytes], max_bytes: int) -> int:
    """Copy at most ``max_bytes`` (the bytes copied); UploadError as soon as the stream
    holds more."""
    total = 0
    while True:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            return total
        total += len(chunk)
        if total > max_bytes:
            raise UploadError(f"the file is larger than the {max_bytes // 2**20} MB limit")
        out.write(chunk)


def file_upload(
    db: store.DbLike,
    stream: IO[bytes],
    display_name: str,
    patient_id: str,
    upload_dir: Path,
    max_bytes: int,
) -> FiledUpload:
    """Check, analyse and file one uploaded recording for a patient; UploadError otherwise."""
    upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(dir=upload_dir, prefix=".upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size = _copy_limited(stream, out, max_bytes)
        if size == 0:
            raise UploadError("the file is empty")
        suffix = sniff_suffix(tmp)
        typed = tmp.with_name(tmp.name + suffix)
        tmp.rename(typed)
        tmp = typed
        try:
            rules = resolve_rules(None, patient_id, db)
            # as a stream where the file streams (memory independent of its length, the
            # samples' digest taken on the way for the identity), else read whole
            result, recording, _ = analyze_file(tmp, rules=rules, db=db,
                                                patient_id=patient_id, digest=True)
        except InputFileError as exc:
            raise UploadError(_without_path(str(exc), tmp, display_name)) from exc
        session = result.to_dict(display_name)
        ident = identify(recording, tmp, session.get("duration_s"))
        _refuse_other_patients_recording(db, ident.device, ident.content_sha256, patient_id)
        digest = _sha256(tmp)
        final = upload_dir / f"{digest}{suffix}"
        os.replace(tmp, final)
        tmp = final
        saved = store.store_session(
            db, session, patient_id=patient_id, trace_path=final,
            recorded_at=ident.clock.start_utc, clock=ident.clock.source,
            content_sha256=ident.content_sha256, device=ident.device,
            rules_version=rules.version)
        return FiledUpload(saved.id, saved.created, final)
    except BaseException:
        if tmp.name.startswith(".upload-"):
            tmp.unlink(missing_ok=True)
        raise


def _refuse_other_patients_recording(db: store.DbLike, device: str, content_sha256: str,
                                     patient_id: str) -> None:
    """Saving a stored recording again updates its session and would re-file it: refuse
    that when it belongs to another patient (a clinician could not see it otherwise)."""
    import sqlalchemy as sa

    from stridewatch.store import schema
    from stridewatch.store.engine import reading

    s = schema.sessions
    with reading(store.connect(db)) as conn:
        owner = conn.execute(sa.select(s.c.patient_id).where(
            s.c.device == (device or ""), s.c.content_sha256 == content_sha256)).first()
    if owner is not None and owner.patient_id != patient_id:
        raise UploadError("this recording is already filed for another patient")


def _without_path(message: str, path: Path, display_name: str) -> str:
    """A reader's message about the temporary file, naming the uploaded file instead."""
    return message.replace(str(path), display_name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stored_recording_path(session: store.StoredSession) -> Path | None:
    """The session's stored recording file, or None when it has none (without reading it:
    a long recording takes seconds to decode)."""
    if not session.trace_path or not Path(session.trace_path).is_file():
        return None
    return Path(session.trace_path)


def reanalyse_patient(db: store.DbLike, patient_id: str, rules: RuleSet | None = None) -> int:
    """Analyse again, with the patient's current rules (and stored lean references, as at
    upload), every session of the patient whose recording is stored; their flags are
    replaced in the store. Returns how many."""
    rules = rules or resolve_rules(None, patient_id, db)
    done = 0
    for stored in store.list_sessions(db, patient_id=patient_id):
        path = stored_recording_path(stored)
        if path is None or stored.content_sha256 is None:
            continue
        old = store.load_session(db, stored.id)
        try:  # (as a stream where it streams: a long recording is not held)
            result = analyze_file(path, rules=rules, db=db, patient_id=patient_id)[0]
        except InputFileError:
            continue
        session = result.to_dict(str(old.get("source") or stored.source or ""))
        store.store_session(
            db, session, patient_id=patient_id, trace_path=stored.trace_path,
            recorded_at=stored.recorded_at_utc, clock=stored.clock,
            content_sha256=stored.content_sha256, device=stored.device,
            rules_version=rules.version)
        done += 1
    return done
