"""`stridewatch sync`: download the recordings made on the sensor during a walk.

Only a sensor the user chose is contacted: ``--device`` (name or address), else the
sensor of the last successful sync (remembered in the store's ``synced_recordings``).
``--emulate verity-sense|metawear`` runs the same code against an emulated Verity Sense or
MetaMotion board holding three sample walks (needs the ``emulate`` extra: bumble).
"""

from __future__ import annotations

import argparse
import asyncio
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
    p.add_argument("--rate", type=int, default=52, help="offline sample rate in Hz "
                                                        "(13, 26 or 52; with --start)")
    p.add_argument("--range", type=int, default=8, help="range in g (2, 4, 8, 16; with --start)")
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

        if fault not in (None, "drop"):
            raise InputFileError(f"--emulate-fault {fault} is emulated for verity-sense only")
        board_behaviour = BoardBehaviour(drop_after_entries=3000 if fault == "drop" else None)
        async with emulated_metawear(time_scale=args.emulate_speed,
                                     behaviour=board_behaviour) as b:
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
                raise SyncRefused(f"no device {wanted!r} found in {args.timeout:g} s: is it on "
                                  "and near?")
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
            if kind == "metawear":
                await start_or_stop_logging(device, db, start=args.start,
                                            rate_hz=float(args.rate), range_g=float(args.range),
                                            backend=backend, out=sys.stderr,
                                            wall_clock=wall_clock)
            else:
                await start_or_stop_recording(device, start=args.start, rate_hz=args.rate,
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
