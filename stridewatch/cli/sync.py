"""`stridewatch sync`: download the recordings made on the sensor during a walk.

Only a sensor the user chose is contacted: ``--device`` (name or address), else the
sensor of the last successful sync (remembered in the store's ``synced_recordings``).
``--emulate verity-sense|metawear`` runs the same code against an emulated Verity Sense or
MetaMotion board holding three sample walks (needs the ``emulate`` extra: bumble).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from stridewatch.cli.lazy import LazyModule
from stridewatch.cli.options import add_store_options
from stridewatch.inputs import InputFileError
from stridewatch.sync.messages import NO_DEVICE, SyncRefused
from stridewatch.terminal import terminal_text

_filing = LazyModule("stridewatch.store.filing")  # the store only when a command runs


def db_path(args: argparse.Namespace) -> object:
    return _filing.db_path(args)

EMULATED_SENSORS = ("verity-sense", "metawear")
EMULATED_FAULTS = ("busy", "full", "unbonded", "drop")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="download recordings made on the sensor and file them")
    p.add_argument("--device", help="name or address of your sensor (remembered after a sync)")
    p.add_argument("--delete", action="store_true",
                   help="delete each recording on the sensor once its stored copy is verified")
    p.add_argument("--traces", help="folder for the downloaded traces (default: next to the "
                                    "session store)")
    p.add_argument("--start", action="store_true", help="start an offline recording")
    p.add_argument("--stop", action="store_true", help="stop the offline recording")
    p.add_argument("--rate", type=float, help="sample rate of the recording in Hz, with "
                                             "--start (Verity Sense: 13, 26 or 52, default "
                                             "52; MetaWear: 12.5–400, default 50)")
    p.add_argument("--range", type=int, default=8, help="range in g (2, 4, 8, 16; with --start)")
    p.add_argument("--no-calibration", action="store_true",
                   help="with --start: skip the guided calibration (standing still for 5 s "
                        "before the walk; it runs when you are at the terminal)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to look for the sensor")
    add_store_options(p, save_by_default=True)
    p.add_argument("--emulate", choices=EMULATED_SENSORS,
                   help="sync an emulated sensor holding three sample walks")
    p.add_argument("--emulate-speed", type=float, default=20.0,
                   help="emulated sensor clock speed (default 20× real time)")
    p.add_argument("--emulate-fault", choices=EMULATED_FAULTS,
                   help="make the emulated sensor busy, full, unbonded or drop the link once")
    p.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    if args.start and args.stop:
        print("error: --start and --stop exclude each other", file=sys.stderr)
        return 2
    import asyncio  # here: `stridewatch --help` and the other verbs start without it

    try:
        return asyncio.run(_sync(args))
    except SyncRefused as refused:
        print(f"sync: {refused}", file=sys.stderr)
        return 1


@contextlib.asynccontextmanager
async def _emulated(args: argparse.Namespace) -> AsyncIterator[Any]:
    if not args.emulate:
        yield None
        return
    try:
        from firmware_bridge.emulation.emulated_offline import emulated_verity_sense
        from firmware_bridge.emulation.verity_sense import SenseBehaviour
    except ModuleNotFoundError as exc:
        raise InputFileError(
            f"--emulate needs bumble ({exc.name} missing): pip install -e '.[emulate]'"
        ) from exc
    fault = args.emulate_fault
    if args.emulate == "metawear":
        from firmware_bridge.emulation.emulated_offline import emulated_metawear
        from firmware_bridge.emulation.metawear_board import BoardBehaviour

        if fault == "unbonded":
            raise InputFileError("--emulate-fault unbonded: MetaWear boards do not use bonding "
                                 "(there is no such fault on them); try busy, full or drop")
        # busy: connected to another app; full: the log memory holds no more than the walks
        board_behaviour = BoardBehaviour(drop_after_entries=3000 if fault == "drop" else None,
                                         other_central=fault == "busy")
        async with emulated_metawear(time_scale=args.emulate_speed,
                                     behaviour=board_behaviour) as b:
            if fault == "full":
                import dataclasses

                b.board.behaviour = dataclasses.replace(
                    board_behaviour, log_capacity_entries=len(b.board.entries))
            # what `sync --start` would have remembered when each walk's logging started
            from stridewatch.sync import board_memory

            memory = board_memory.load(db_path(args), b.board.address) or \
                board_memory.BoardMemory()
            for uid, ref in b.clock_references.items():
                memory.clocks.setdefault(uid, ref)
            board_memory.save(db_path(args), b.board.address, memory)
            yield b
        return
    behaviour = SenseBehaviour(
        bonded=fault != "unbonded", recording_active=fault == "busy",
        memory_full=fault == "full",
        drop_after_bytes={"/U/0/20250106/R/110700/ACC0.REC": 9000} if fault == "drop" else {},
    )
    async with emulated_verity_sense(time_scale=args.emulate_speed, behaviour=behaviour) as s:
        yield s


async def _sync(args: argparse.Namespace) -> int:
    from firmware_bridge.scanner import find_sensor
    from stridewatch.store import paired_sensors
    from stridewatch.store import synced_recordings as ledger
    from stridewatch.sync.metawear import start_or_stop_logging, sync_metawear
    from stridewatch.sync.polar import SyncOptions, start_or_stop_recording, sync_polar

    db = db_path(args)
    async with _emulated(args) as emulated:
        backend = emulated.client_backend if emulated else None
        kind = "polar"
        wall_clock = time.time
        if emulated is not None:
            device = emulated.ble_device
            if args.emulate == "metawear":
                kind, wall_clock = "metawear", emulated.board.unix_now
        else:
            wanted = args.device or ledger.last_synced_device(db)
            if wanted is None:
                raise SyncRefused(NO_DEVICE)
            found = await find_sensor(wanted, args.timeout)
            if found is None:
                raise SyncRefused(f"no device {wanted!r} found in {args.timeout:g} s: is it on, "
                                  "near, and not connected to another app (a MetaWear "
                                  "connected to MetaBase does not advertise)?")
            device, profile = found
            if profile is not None and profile.name == "metawear":
                kind = "metawear"
            elif profile is None or profile.name != "polar-pmd":
                raise SyncRefused(f"{wanted}: not a sensor that records on its own "
                                  "(Polar Verity Sense or MetaWear)")
        if args.patient:
            other = paired_sensors.check_sensor(db, args.patient, device.address, device.name)
            if other:
                print(f"warning: {terminal_text(other)}", file=sys.stderr)
        if args.start or args.stop:
            rate_hz = _start_rate_hz(args, kind)  # checked before the calibration
            if args.start:
                await _calibrate(args, device, kind, db, backend, emulated is not None)
            if kind == "metawear":
                await start_or_stop_logging(device, db, start=args.start,
                                            rate_hz=rate_hz, range_g=float(args.range),
                                            backend=backend, out=sys.stderr,
                                            wall_clock=wall_clock)
            else:
                await start_or_stop_recording(device, start=args.start, rate_hz=int(rate_hz),
                                              range_g=args.range, backend=backend)
            return 0
        from stridewatch.store.engine import files_folder

        traces = Path(args.traces) if args.traces else files_folder(db) / "traces"
        options = SyncOptions(db=db, traces_dir=traces,
                              rules=_filing.resolve_rules(None, args.patient, db),
                              patient_id=args.patient, delete=args.delete,
                              wall_clock=wall_clock)
        if kind == "metawear":
            report = await sync_metawear(device, options, backend=backend)
        else:
            report = await sync_polar(device, options, backend=backend)
    if args.patient:
        paired, now = paired_sensors.pair_sensor(db, args.patient, device.address, device.name,
                                                 kind, source="sync")
        if now:
            print(terminal_text(f"paired {paired.label()} with patient {args.patient}"))
    print(f"sync: {len(report.stored)} stored, {len(report.already)} already stored, "
          f"{len(report.deleted)} deleted on the sensor"
          + (f", {report.reconnects} reconnect(s)" if report.reconnects else ""))
    return 0


#: Offline sample rates (Hz) per sensor kind: the allowed ones and the default.
START_RATES_HZ = {"polar": ((13.0, 26.0, 52.0), 52.0)}
DEFAULT_LOG_RATE_HZ = 50.0


def _start_rate_hz(args: argparse.Namespace, kind: str) -> float:
    """``--rate`` for this sensor, checked (a bad one is a one-line error, exit 2)."""
    if kind == "metawear":
        from firmware_bridge.profiles import METAWEAR, StreamConfig

        rate = args.rate or DEFAULT_LOG_RATE_HZ
        try:
            METAWEAR.check_config(StreamConfig(rate, float(args.range)))
        except ValueError as error:
            raise InputFileError(f"--rate/--range: {error}") from error
        return float(rate)
    allowed, default = START_RATES_HZ["polar"]
    rate = args.rate or default
    if rate not in allowed:
        raise InputFileError(f"--rate {rate:g}: a Verity Sense records offline at 13, 26 or "
                             "52 Hz")
    return float(rate)


#: Live stream of the guided calibration, per sensor kind: (rate Hz, range g).
CALIBRATION_STREAM = {"polar": (52.0, 8.0), "metawear": (50.0, 8.0)}


def wearer_present() -> bool:
    """Someone is at the terminal to follow the guided calibration."""
    return sys.stdin.isatty() and sys.stdout.isatty()


async def _calibrate(args: argparse.Namespace, device: Any, kind: str, db: Any,
                     backend: Any, emulated: bool) -> None:
    """``sync --start``: the guided standing calibration, its reference stored for the
    patient and sensor (the synced walk is judged against it)."""
    if args.no_calibration:
        return
    if not wearer_present():
        print("note: no guided calibration (nobody at the terminal to follow it); posture "
              "is judged against a stored upright reference or standing in the walk",
              file=sys.stderr)
        return
    if not args.patient:
        print("note: no guided calibration without --patient ID (the upright reference is "
              "kept per patient and sensor)", file=sys.stderr)
        return
    from firmware_bridge.profiles import METAWEAR, POLAR_PMD, StreamConfig
    from firmware_bridge.recorder import RecordingError
    from stridewatch.store.engine import files_folder
    from stridewatch.store.lean_references import save_lean_reference
    from stridewatch.sync.calibration import guided_standing
    from stridewatch.terminal import terminal_text

    profile = METAWEAR if kind == "metawear" else POLAR_PMD
    rate_hz, range_g = CALIBRATION_STREAM[kind]
    config = profile.check_config(StreamConfig(rate_hz, range_g), device.name)
    traces = Path(args.traces) if args.traces else files_folder(db) / "traces"
    safe = "".join(c for c in device.address if c.isalnum())
    trace = traces / f"{safe}_calibration_{time.strftime('%Y%m%d_%H%M%S')}.swtrace"
    try:
        standing = await guided_standing(
            device, profile, config, trace, rules=_filing.resolve_rules(None, args.patient, db),
            out=sys.stdout, backend=backend, sample_clock=emulated)
    except RecordingError as error:
        print(f"note: guided calibration not possible ({terminal_text(error)}); starting "
              "without it", file=sys.stderr)
        return
    if standing is None:
        return  # the guide said why (the wearer did not stand still)
    save_lean_reference(db, args.patient, device.address, standing.gravity_g,
                        standing.segment_s, source=f"sync --start {standing.trace_path}")
    print(terminal_text(f"stored the upright reference of patient {args.patient} for "
                        f"{device.address} (the synced walk is judged against it)"))
