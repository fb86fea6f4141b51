"""A read recording turned into a session result, and that session kept in the store."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.errors import InputError
from analysis.rules import RuleSet
from stridewatch.inputs import TRACE_SUFFIX, InputFileError, Recording, located, read_input
from stridewatch.inputs.wear_prior import recording_wear_prior
from stridewatch.terminal import terminal_text

# The analysis is imported only when a recording is analysed, and the store (SQLAlchemy,
# ~0.4 s to import) only when it is used: `analyze` without --save or --patient never is.
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import TypeVar

    from analysis.lean import LeanReference
    from analysis.pipeline import SessionResult
    from analysis.streaming import SampleChunk
    from stridewatch.store import database as store

    #: what a stream's chunks pass through on their way to the analysis
    Tap = Callable[[Iterator[SampleChunk]], Iterator[SampleChunk]]
    T = TypeVar("T")


def analyze_recording(
    recording: Recording,
    *,
    rules: RuleSet,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    stored_reference: LeanReference | None = None,
) -> SessionResult:
    """Run the analysis on a read recording; InputError becomes a located InputFileError."""
    from analysis.pipeline import analyze

    try:
        return analyze(
            recording.t_s,
            recording.acc,
            recording.gyro_dps,
            acc_units=recording.acc_units,
            rules=rules,
            calibrate_s=calibrate_s,
            axes=axes,
            fs_hz=recording.nominal_rate_hz,
            stored_reference=stored_reference,
            wear_prior=recording_wear_prior(recording.meta),
        )
    except InputError as exc:
        raise located(exc, recording) from exc


def session_json(result: SessionResult, recording: Recording) -> dict:
    """The session object of a read recording, as ``analyze --json`` prints it (before its
    ``recording`` header) and a cohort run keeps it: the analysis, the reader's warnings
    (what it repaired) first, and ``input`` (what was read)."""
    session = result.to_dict(recording.source)
    session["warnings"][:0] = recording.warnings
    session["input"] = recording.describe()
    return session


def analyze_file(
    path: Path,
    units: str | None = None,
    time_unit: str | None = None,
    *,
    rules: RuleSet,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    db: store.DbLike = None,
    patient_id: str | None = None,
    digest: bool = False,
    tap: Tap | None = None,
) -> tuple[SessionResult, Recording, bool]:
    """Analyse one recording file: as a stream where ``analyze_streamed`` streams it, else
    read whole (``read_input``) and analysed; with the stored upright reference of
    ``patient_id``'s sensor in ``db`` either way. Returns the result, the recording (no
    samples when streamed) and whether it was streamed (then ``tap`` saw every chunk)."""
    streamed = analyze_streamed(path, units, time_unit, rules=rules, calibrate_s=calibrate_s,
                                axes=axes, db=db, patient_id=patient_id, digest=digest,
                                tap=tap)
    if streamed is not None:
        return (*streamed, True)
    recording = read_input(path, units, time_unit)
    result = analyze_recording(recording, rules=rules, calibrate_s=calibrate_s, axes=axes,
                               stored_reference=stored_lean_reference(db, patient_id,
                                                                      recording))
    return result, recording, False


def analyze_streamed(
    path: Path,
    units: str | None = None,
    time_unit: str | None = None,
    *,
    rules: RuleSet,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    db: store.DbLike = None,
    patient_id: str | None = None,
    digest: bool = False,
    tap: Tap | None = None,
) -> tuple[SessionResult, Recording] | None:
    """Analyse a file as a stream of chunks, memory independent of its length, no samples
    kept: a plain-layout CSV (``stridewatch.inputs.chunks.streamable``), a ``.swtrace``
    trace (``analyze_streamed_trace``), or a long CSV in another layout, Polar Sensor
    Logger or Xsens text export (``stridewatch.inputs.table_stream``), or a long Axivity
    ``.cwa`` or ActiGraph ``.gt3x`` (``stridewatch.inputs.actfast_stream``).
    Returns the result and a recording holding no samples (how the input was read; with
    ``digest``, the samples' ``samples_sha256``, to save the session: a trace's identity
    is its lines), or None when the file is not streamed (another format, or it needs the
    whole-file reader: its clock needs repairs, a cell is not a number; for a table, any
    error): read it whole then. ``tap``: what the chunks pass through on their way to the
    analysis (e.g. the report keeping its signal)."""
    options = {"rules": rules, "calibrate_s": calibrate_s, "axes": axes, "db": db,
               "patient_id": patient_id, "digest": digest, "tap": tap}

    def analysed(chunks: Iterator[SampleChunk], acc_units: str | None, recording: Recording,
                 meta: Recording | None) -> tuple[SessionResult, Recording] | None:
        return _analyzed_stream(chunks, acc_units, recording, meta, **options)

    done = _through_stream(path, units, time_unit, analysed)
    if done is _A_TRACE:
        return analyze_streamed_trace(path, units, rules=rules, calibrate_s=calibrate_s,
                                      axes=axes, db=db, patient_id=patient_id, tap=tap)
    return done


def streamed_samples_sha256(
    path: Path, units: str | None = None, time_unit: str | None = None
) -> str | None:
    """The ``samples_sha256`` of a file's samples read as ``analyze_streamed`` reads them,
    without analysing them (memory independent of the length): the content hash a session
    or cohort result of the file has when it was analysed as a stream. None for a file not
    read as a stream here (another format, a trace, or a file the reader refuses)."""
    done = _through_stream(path, units, time_unit, _chunks_digest)
    return None if done is _A_TRACE else done


def _chunks_digest(chunks: Iterator[SampleChunk], acc_units: str | None,
                   recording: Recording, meta: Recording | None) -> str | None:
    from analysis.streaming import NotStreamable
    from stridewatch.inputs.chunks import TimeNotInSeconds
    from stridewatch.store.identity import SamplesDigest

    samples = SamplesDigest()
    try:
        for _ in samples.tap(chunks):
            pass
        return samples.hexdigest()
    except TimeNotInSeconds:
        raise
    except (NotStreamable, InputError, InputFileError, OSError):
        return None
    finally:
        samples.close()


def read_as_stream(path: Path, use: Callable[[Iterator[SampleChunk], str | None], T],
                   ) -> T | None:
    """What ``use(chunks, acc_units)`` returns for a recording file's samples read as a
    stream, memory independent of its length: a ``.swtrace`` trace decoded as a stream
    (in g), another file as ``analyze_streamed`` reads it. None when the file is not read
    as a stream, also when the stream gives up part-way (``use`` may have seen some
    chunks): read it whole then, in place of what ``use`` made. A file that cannot be read
    raises as reading it does (``InputFileError``, ``TraceReadError``, ``OSError``)."""
    from analysis.streaming import NotStreamable
    from firmware_bridge.trace.stream_decode import NotStreamed, stream_trace
    from stridewatch.inputs.swtrace import trace_chunks

    try:
        if path.suffix == TRACE_SUFFIX:
            return use(trace_chunks(stream_trace(path)), "g")
        done = _through_stream(path, None, None,
                               lambda chunks, acc_units, _recording, _meta: use(chunks, acc_units))
    except (NotStreamed, NotStreamable):
        return None
    return None if done is _A_TRACE else done


_A_TRACE = object()  # ``_through_stream``: the file is a trace (decoded by its own stream)


def _through_stream(path: Path, units: str | None, time_unit: str | None,
                    use: Callable[..., object]) -> object:
    """``use(chunks, acc_units, recording, meta)`` on the file's samples as a stream, and
    what it returns: a plain-layout CSV (``meta`` None), a table (a CSV in another layout,
    Polar Sensor Logger or Xsens text; ``meta`` its recording) or a long Axivity ``.cwa`` or
    ActiGraph ``.gt3x`` (``stridewatch.inputs.actfast_stream``; ``meta`` its recording);
    ``_A_TRACE`` for a trace;
    None for a file not streamed (another format, or a table the stream cannot read)."""
    import numpy as np

    from analysis.timebase import TimeUnit
    from stridewatch.inputs.chunks import TimeNotInSeconds, recording_chunks, streamable

    if streamable(path, time_unit):
        recording = Recording(source=str(path), t_s=np.zeros(0), acc=np.zeros((0, 3)),
                              gyro_dps=None, acc_units=units,
                              time_unit=TimeUnit("s", False, time_unit is None).describe())
        try:
            return use(recording_chunks(path), units, recording, None)
        except TimeNotInSeconds:  # ms or Unix time under a plain header: a table, below
            fmt = "csv"
    else:
        from stridewatch.inputs.detect import TABLE_FORMATS, detect_format

        try:
            fmt = detect_format(path)
        except InputFileError:  # the whole-file reader says why
            return None
        if fmt == "swtrace":
            return _A_TRACE
        from stridewatch.inputs.actfast_stream import PIECE_FORMATS, piece_stream

        if fmt in PIECE_FORMATS:
            pieces = piece_stream(path, fmt, units)
            if pieces is None:
                return None
            return use(pieces.chunks(), pieces.acc_units, pieces.recording, pieces.recording)
        if fmt not in TABLE_FORMATS:  # (a data.mat is read whole, no pandas)
            return None
    from stridewatch.inputs.table_stream import table_stream  # (imports pandas)

    table = table_stream(path, fmt, units, time_unit)
    if table is None:
        return None
    return use(table.chunks(), table.acc_units, table.recording, table.recording)


def _analyzed_stream(
    chunks: Iterator[SampleChunk], acc_units: str | None, recording: Recording,
    meta: Recording | None, *, rules: RuleSet, calibrate_s: tuple[float, float] | None,
    axes: str | None, db: store.DbLike, patient_id: str | None, digest: bool,
    tap: Tap | None,
) -> tuple[SessionResult, Recording] | None:
    """``analyze_streamed`` of a file's chunks (``meta``: a table's recording, for its
    device; None for a plain CSV, whose analysis errors are its own)."""
    from analysis.streaming import NotStreamable, analyze_stream
    from stridewatch.inputs.chunks import TimeNotInSeconds

    samples = None
    if digest:
        from stridewatch.store.identity import SamplesDigest

        samples = SamplesDigest()
        chunks = samples.tap(chunks)
    if tap is not None:
        chunks = tap(chunks)
    try:
        result = analyze_stream(
            chunks, acc_units=acc_units, rules=rules, calibrate_s=calibrate_s,
            axes=axes, fs_hz=recording.nominal_rate_hz,
            stored_reference=stored_lean_reference(db, patient_id, meta),
            wear_prior=recording_wear_prior(None if meta is None else meta.meta),
        )
        if samples is not None:
            recording.samples_sha256 = samples.hexdigest()
    except TimeNotInSeconds:
        raise
    except (NotStreamable, OSError):  # (OSError: the digest's temporary file)
        return None
    except InputError as exc:
        if meta is not None:  # its error as the whole-file reading words and places it
            return None
        raise located(exc, recording) from exc
    finally:
        if samples is not None:
            samples.close()
    return result, recording


def analyze_streamed_trace(
    path: Path,
    units: str | None = None,
    *,
    rules: RuleSet,
    calibrate_s: tuple[float, float] | None = None,
    axes: str | None = None,
    db: store.DbLike = None,
    patient_id: str | None = None,
    tap: Tap | None = None,
) -> tuple[SessionResult, Recording] | None:
    """Analyse a ``.swtrace`` trace as a stream of decoded chunks (memory independent of
    its length, ``firmware_bridge.trace.stream_decode``), with the result, and the
    warnings on stderr, that reading it whole and ``analyze_recording`` give.

    Returns the result and a recording holding no samples, or None (nothing printed)
    when the trace is to be read and analysed whole: the trace is not streamed (see
    ``stream_decode``), ``--units`` other than g, no samples, or the analysis could
    decide otherwise on the whole recording. For that, a long trace (from
    ``analysis.streaming.WINDOW_SAMPLES`` samples, which ``analyze_stream`` checks chunk
    by chunk) goes whole for what ``analysis.pipeline.analyze`` checks over the whole:
    no configured rate (it is estimated from every sample), a configured rate that
    changed during the trace, a rate or a time span the analysis refuses, a median
    acceleration (on the same evenly spaced samples) not ~1 g; and every trace whose
    stream the analysis refuses (an ``InputError``, such as time stamps needing repair),
    so that the error is the whole path's. ``tap``: as ``analyze_streamed``'s.
    """
    import itertools

    import numpy as np

    from analysis.bounds import MAX_DURATION_S, MAX_GRID_POINTS_PER_SAMPLE, check_analysis_rate_hz
    from analysis.streaming import WINDOW_SAMPLES, analyze_stream
    from firmware_bridge.trace import TraceFormatError
    from firmware_bridge.trace.stream_decode import NotStreamed, stream_trace
    from stridewatch.inputs.swtrace import (
        AccelerationCensus,
        TraceReadError,
        trace_chunks,
        trace_recording,
    )

    if units not in (None, "g"):
        return None
    try:
        streamed = stream_trace(path)
    except NotStreamed:
        return None
    except (TraceFormatError, OSError, ValueError) as exc:
        raise InputFileError(f"{path}: {exc}") from exc
    header = streamed.header
    device = {"profile": header.profile, "device_name": header.device_name,
              "device_address": header.device_address}
    kept = AccelerationCensus(trace_chunks(streamed))
    try:
        first = next(kept, None)
        if first is None:  # no samples: said by the whole path
            return None
        rate = (streamed.rate_hint_hz() if streamed.metadata is None
                else streamed.metadata.nominal_sample_rate_hz)
        chunks = itertools.chain([first], kept)
        result = analyze_stream(
            chunks if tap is None else tap(chunks), acc_units="g", rules=rules,
            calibrate_s=calibrate_s, axes=axes,
            fs_hz=None if rate is None else float(rate),  # (analyze takes float(fs_hz))
            stored_reference=stored_lean_reference(db, patient_id, Recording(
                str(path), np.zeros(0), np.zeros((0, 3)), None, "g", meta=device)),
            wear_prior=recording_wear_prior(device),
        )
    except (InputError, NotStreamed):
        return None
    except TraceReadError as exc:  # as reading it whole says
        raise InputFileError(f"{path}: {exc.error}") from exc.error
    meta = streamed.metadata
    assert meta is not None  # every chunk was read
    if meta.nominal_sample_rate_hz != rate:
        return None
    n = meta.n_samples
    if n >= WINDOW_SAMPLES:
        if rate is None:
            return None
        try:
            check_analysis_rate_hz(rate)
        except InputError:
            return None
        span_s = streamed.span_s  # check_grid: steps of at most 0.5 s sum to at most the span
        if not (span_s <= MAX_DURATION_S and kept.median_surely_about_1g(n)
                and span_s * (1 + 1e-9) * rate <= MAX_GRID_POINTS_PER_SAMPLE * n + rate):
            return None
    return result, trace_recording(path, meta)


def stored_lean_reference(
    db: store.DbLike, patient_id: str | None, recording: Recording | None
) -> LeanReference | None:
    """The patient's stored lean reference for the recording's sensor, if any."""
    if db is None or patient_id is None:
        return None
    from stridewatch.store.lean_references import device_key, get_lean_reference

    meta = recording.meta if recording is not None else None
    stored = get_lean_reference(db, patient_id, device_key(meta))
    return None if stored is None else stored.as_reference()


def recorded_at(recording: Recording, path: Path) -> datetime:
    """When the walk was recorded (aware, UTC), by the store's one recording clock
    (``stridewatch.store.identity``)."""
    from stridewatch.store.identity import identify

    return identify(recording, path).clock.start_utc


def save_recording_session(
    db: store.DbLike,
    session: dict,
    path: Path,
    *,
    recording: Recording | None = None,
    patient_id: str | None = None,
    rules: RuleSet | None = None,
    session_date: date | datetime | None = None,
) -> store.SavedSession:
    """Store an analysed session under its recording's identity (saving the same recording
    again updates its session), with its patient, rules version and a link to its trace.

    ``recording``: the samples as read from ``path`` (read again when not given: a trace
    only as a description, its identity being its lines).
    ``session_date``: a date or time the user gave; default: the recording clock.
    """
    from stridewatch.store import database as store
    from stridewatch.store.identity import identify

    if recording is None and Path(path).suffix == TRACE_SUFFIX:  # e.g. `record` has finished
        from stridewatch.inputs.swtrace import trace_description

        recording = trace_description(Path(path))
    elif recording is None:
        recording = read_input(path)
    ident = identify(recording, Path(path), session.get("duration_s"), session_date)
    if ident.clock.note:
        print(f"warning: {path}: {ident.clock.note}", file=sys.stderr)
    trace = Path(path).resolve() if Path(path).suffix == TRACE_SUFFIX else None
    return store.store_session(
        db, session, patient_id=patient_id, trace_path=trace,
        recorded_at=ident.clock.start_utc, clock=ident.clock.source,
        content_sha256=ident.content_sha256, device=ident.device,
        rules_version=None if rules is None else rules.version,
    )


def resolve_rules(
    rules: str | Path | RuleSet | None,
    patient_id: str | None = None,
    db: store.DbLike = None,
) -> RuleSet:
    """The rules for an analysis: a RuleSet as given; a TOML file applied over the defaults;
    else the patient's rules stored in ``db``; else the shipped defaults."""
    from stridewatch.cli.options import default_rules, load_rules  # (cli imports this module)

    if isinstance(rules, RuleSet):
        return rules
    if rules is not None:
        return load_rules(rules)
    base = default_rules()
    if patient_id is not None and db is not None:
        from stridewatch.store import database as store

        stored = store.get_patient_rules(db, patient_id)
        if stored is not None:
            source = f"patient {patient_id} rules v{stored.version}"
            try:
                return base.with_overrides(stored.toml_text, source)
            except InputError as exc:
                # stored under older, looser checks: keep it, say so, analyse with defaults
                print(f"warning: {terminal_text(str(exc))}; the stored rules no longer pass "
                      f"the checks, so the default rules apply (fix them with `stridewatch "
                      f"patient set-rules {terminal_text(patient_id)} FILE`)", file=sys.stderr)
    return base


def db_path(args: argparse.Namespace) -> str | Path:
    """The session store named by ``--db`` (a path or a ``postgresql://`` URL), else by
    ``STRIDEWATCH_DB``, else the default file in the user's data folder."""
    from stridewatch.store import database as store

    chosen = getattr(args, "db", None) or os.environ.get(store.ENV_VAR)
    return chosen if chosen else store.default_db_path()
