"""``analyze``'s answer to one input, as the lines it prints (``AnalyzeJob``), so that a
worker process can compute them and the command print them in input order
(``stridewatch.cli.batch``)."""

from __future__ import annotations

import argparse
import json
import sys

from stridewatch.error_record import error_record
from stridewatch.inputs import InputFileError
from stridewatch.terminal import terminal_text


def write(stream: str, text: str) -> None:
    """``text`` as it is on standard output ("out") or error ("err"), flushed."""
    target = sys.stdout if stream == "out" else sys.stderr
    target.write(text)
    target.flush()


#: What one input prints, in order: ("out" or "err", text written as it is, False), and
#: (None, "", failed) after each of its answers (a file may hold several recordings).
Lines = list[tuple[str | None, str, bool]]


class AnalyzeJob:
    """The answers of ``analyze`` to one input (``answer``). ``live``: printed as they come
    (one process); else returned, with whatever the analysis wrote on stderr (a reader's
    warnings) in its place, so a worker process can compute them and this one print them
    in input order."""

    def __init__(self, args: argparse.Namespace, rules: object, calibrate: object,
                 db: object, *, live: bool = True) -> None:
        self.args, self.rules, self.calibrate, self.db = args, rules, calibrate, db
        self.live = live

    def prepare(self, refs: list) -> None:
        """Load what answering ``refs`` needs, before worker processes are forked: the
        analysis and report modules, the filter kernel, and pandas when a file is read
        by it (a large or not plain CSV; never a trace). Workers load anything else
        themselves."""
        from analysis.filters import load_filter_kernel
        from analysis.pipeline import analyze  # noqa: F401
        from stridewatch.inputs import TRACE_SUFFIX, read_recordings  # noqa: F401
        from stridewatch.inputs.chunks import STREAM_ABOVE_BYTES, streamable
        from stridewatch.report.header import recording_header  # noqa: F401
        from stridewatch.report.summary import wearer_summary  # noqa: F401

        load_filter_kernel()
        time_unit = getattr(self.args, "time_unit", None)
        for ref in refs:
            if ref.path is None or ref.path.suffix == TRACE_SUFFIX:
                continue
            try:
                plain_and_small = (streamable(ref.path, time_unit)
                                   and ref.path.stat().st_size <= STREAM_ABOVE_BYTES)
            except OSError:  # answered (as an error) by the worker
                continue
            if not plain_and_small:
                import pandas  # noqa: F401
                return

    def answer(self, ref: object) -> Lines:
        lines: Lines = []
        if self.live:
            self._answer(ref, lines)
            return lines
        import contextlib

        with contextlib.redirect_stderr(_KeptStderr(lines)):
            self._answer(ref, lines)
        return lines

    def _emit(self, lines: Lines, stream: str, text: str) -> None:
        if self.live:
            write(stream, text)
        else:
            lines.append((stream, text, False))

    def _answer(self, ref: object, lines: Lines) -> None:
        from stridewatch.inputs import read_recordings
        from stridewatch.store.filing import (
            analyze_recording,
            analyze_streamed,
            stored_lean_reference,
        )

        args = self.args
        time_unit = getattr(args, "time_unit", None)
        streamed = None
        try:
            if ref.error is not None:
                raise InputFileError(ref.error)
            # A plain CSV, a trace, or a long CSV, Polar Sensor Logger or Xsens export, is
            # analysed as a stream (memory independent of its length; to be saved, with the
            # digest of its samples) unless it needs the whole-file reader (its clock needs
            # repairs, a cell is not a number): ``analyze_streamed`` says None then.
            streamed = analyze_streamed(ref.path, args.units, time_unit,
                                        rules=self.rules, calibrate_s=self.calibrate,
                                        axes=args.axes, db=self.db, patient_id=args.patient,
                                        digest=bool(args.save))
            recordings = ([streamed[1]] if streamed is not None
                          else read_recordings(ref.path, args.units, time_unit))
        except InputFileError as exc:
            self._error(lines, ref.name, exc)
            return
        for recording in recordings:
            try:
                result = streamed[0] if streamed is not None else analyze_recording(
                    recording, rules=self.rules, calibrate_s=self.calibrate, axes=args.axes,
                    stored_reference=stored_lean_reference(self.db, args.patient, recording))
            except InputFileError as exc:
                self._error(lines, recording.source, exc)
                continue
            self._session(lines, ref, recording, result)

    def _session(self, lines: Lines, ref: object, recording: object, result: object) -> None:
        from stridewatch.report.header import recording_header
        from stridewatch.report.summary import wearer_summary
        from stridewatch.store.filing import save_recording_session, session_json

        args = self.args
        session = session_json(result, recording)
        session["recording"] = recording_header(recording, session, patient_id=args.patient)
        if args.save:
            from stridewatch.store.engine import describe

            saved = save_recording_session(self.db, session, ref.path, recording=recording,
                                           patient_id=args.patient, rules=self.rules)
            self._emit(lines, "err", f"{saved.verb} session {saved.id} in {describe(self.db)}\n")
        if args.json:
            self._emit(lines, "out", json.dumps(session, separators=(",", ":")) + "\n")
        else:
            self._emit(lines, "out", wearer_summary(session, self.rules) + "\n\n")
        lines.append((None, "", False))

    def _error(self, lines: Lines, source: str, exc: InputFileError) -> None:
        """The error line on stderr; with --json also the error object in the output's order."""
        if self.args.json:
            self._emit(lines, "out", json.dumps(error_record(source, str(exc)),
                                                separators=(",", ":")) + "\n")
        self._emit(lines, "err", f"error: {terminal_text(exc)}\n")
        lines.append((None, "", True))


class _KeptStderr:
    """Standard error of a worker's analysis, kept in its input's lines in order."""

    def __init__(self, lines: Lines) -> None:
        self.lines = lines

    def write(self, text: str) -> int:
        if text:
            self.lines.append(("err", text, False))
        return len(text)

    encoding = "utf-8"

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False
