"""`stridewatch scan` and `stridewatch record`: find a sensor, record it with a live view.

``--emulate`` runs the same code against an emulated Polar H10 (bumble, in
process) streaming a synthetic walk, so the whole path can be tried without a
sensor or a Bluetooth adapter (needs the ``emulate`` extra: bumble).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from stridewatch.cli.options import (
    add_analysis_options,
    add_store_options,
    parse_calibrate,
    positive_number,
    require_accelerometer,
)
from stridewatch.cli.outputs import check_output
from stridewatch.inputs import InputFileError
from stridewatch.terminal import terminal_text

# numpy, the profiles and the simulator are imported by the functions that use them, so
# registering these commands (every CLI start) stays cheap.
if TYPE_CHECKING:
    from pathlib import Path

    from analysis.simulate import Simulation

EMULATED_RATE_HZ = 200.0


EMULATED_SCAN_S = 1.0


def emulated_walk(fidget_s: float = 0.0) -> Simulation:
    """The walk an emulated strap streams: stand, walk, then lean forward (200 Hz, in g).

    The strap's clock runs from power-on, so the time spent scanning and
    connecting (times ``--emulate-speed``) is cut from the first 40 s of standing
    (the guided calibration needs the last 5 s of it). ``fidget_s`` > 0: the
    wearer sways and shifts from foot to foot (no steps) for that long first,
    then stands still for 15 s.
    """
    import numpy as np

    from analysis.simulate import Phase, simulate_walk

    stand_s = 40.0 if fidget_s <= 0 else fidget_s + 15.0
    sim = simulate_walk(
        [Phase("stand", stand_s, sagittal_deg=0.0), Phase("walk", 90, cadence_spm=110),
         Phase("walk", 50, cadence_spm=110, sagittal_deg=18.0)],
        fs_hz=EMULATED_RATE_HZ, noise_g=0.01, seed=3,
    )
    if fidget_s > 0:
        t = sim.t_s
        sway = np.where(t < fidget_s, 0.12 * np.sin(2 * np.pi * 0.8 * t), 0.0)
        sim.acc[:, 1] += sway  # sideways sway in the sensor's frame (default mount: y right)
    return sim


@contextlib.asynccontextmanager
async def _radio(emulate: bool, speed: float) -> AsyncIterator[tuple[object, object, object]]:
    """(scanner backend, client backend, emulated sensor) — all None for the real radio."""
    from stridewatch.inputs import InputFileError

    if not emulate:
        yield None, None, None
        return
    try:
        from firmware_bridge.emulation import emulated_polar_h10
    except ModuleNotFoundError as exc:
        raise InputFileError(
            f"--emulate needs bumble ({exc.name} missing): pip install bumble"
        ) from exc
    walk = emulated_walk()
    async with emulated_polar_h10(walk.acc, source_rate_hz=EMULATED_RATE_HZ,
                                  time_scale=speed) as sensor:
        yield sensor.scanner_backend, sensor.client_backend, sensor


NO_ADAPTER = (
    "no Bluetooth adapter or BlueZ not running ({detail}); plug in or switch on an adapter "
    "and start BlueZ (`sudo systemctl start bluetooth`; `bluetoothctl list` shows adapters), "
    "or try `stridewatch record --emulate`"
)


@contextlib.contextmanager
def _bluetooth_errors() -> Iterator[None]:
    """A missing adapter or a stopped BlueZ as the one-line error that says how to fix it."""
    from bleak.exc import BleakError

    try:
        yield
    except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
        # bleak's D-Bus connection to BlueZ: no system bus socket, or it refused us
        raise InputFileError(NO_ADAPTER.format(detail=exc.strerror or type(exc).__name__)) \
            from exc
    except BleakError as exc:
        text = str(exc)
        if "adapter" in text.lower() or "bluez" in text.lower() or "dbus" in text.lower():
            raise InputFileError(NO_ADAPTER.format(detail=text)) from exc
        raise InputFileError(f"Bluetooth: {text}") from exc


def _progress(text: str) -> None:
    """What the radio is doing, on stderr (stdout stays for results)."""
    print(text, file=sys.stderr, flush=True)


async def _scan(args: argparse.Namespace) -> int:
    from firmware_bridge.scanner import scan

    timeout = EMULATED_SCAN_S if args.emulate else args.timeout
    async with _radio(args.emulate, 1.0) as (scanner_backend, _, _):
        _progress(f"scanning for supported sensors for {timeout:g} s …")
        with _bluetooth_errors():
            found = await scan(timeout, backend=scanner_backend)
    if not found:
        print(f"no supported sensor found in {args.timeout:g} s "
              "(is it worn, charged, and not connected to a phone?)")
        return 1
    print(f"{'profile':12s} {'name':24s} {'address':20s} {'RSSI':>5s}")
    for f in found:
        print(f"{f.profile.name:12s} {terminal_text(f.name or '?'):24s} "
              f"{terminal_text(f.address):20s} {f.rssi:5d} dBm")
    return 0


async def _record(args: argparse.Namespace) -> int:
    import asyncio

    from firmware_bridge.profiles import StreamConfig, get_profile
    from firmware_bridge.recorder import RecordingError, record
    from firmware_bridge.scanner import AmbiguousDeviceError, find_sensor, scan
    from stridewatch.inputs.wear_prior import device_wear_prior
    from stridewatch.live.calibration import GuidedCalibration
    from stridewatch.live.view import LiveView
    from stridewatch.store import lean_references, paired_sensors
    from stridewatch.store.filing import db_path, resolve_rules

    output = check_output(args.output or time.strftime("walk-%Y%m%d-%H%M%S.swtrace"),
                          overwrite=False)
    calibrate_s = parse_calibrate(args.calibrate)  # checked before connecting
    timeout = EMULATED_SCAN_S if args.emulate else args.timeout
    from firmware_bridge.recorder import RecorderControl
    from stridewatch.cli import record_alerts

    if args.emulate and record_alerts.emulated_streamer(args) == "metawear":
        radio = record_alerts.emulated_metawear_radio(args.emulate_speed, emulated_walk().acc,
                                                      EMULATED_RATE_HZ)
    else:
        radio = _radio(args.emulate, args.emulate_speed)
    async with radio as (scanner_backend, client_backend, sensor):
        if args.device:
            _progress(f"looking for {args.device!r} for up to {timeout:g} s …")
            try:
                with _bluetooth_errors():
                    sensor_found = await find_sensor(args.device, timeout,
                                                     backend=scanner_backend)
            except AmbiguousDeviceError as exc:
                print(f"error: {terminal_text(exc)}", file=sys.stderr)
                return 2
            if sensor_found is None:
                print(f"error: no device {terminal_text(repr(args.device))} found in "
                      f"{timeout:g} s",
                      file=sys.stderr)
                return 1
            device, advertised = sensor_found
            profile = get_profile(args.profile) if args.profile else advertised
            if profile is None:
                raise InputFileError(f"{args.device}: cannot tell its protocol; pass --profile")
        else:
            _progress(f"scanning for supported sensors for {timeout:g} s …")
            with _bluetooth_errors():
                found = await scan(timeout, backend=scanner_backend)
            if args.profile:
                found = [f for f in found if f.profile.name == args.profile]
            if not found:
                print("error: no supported sensor found; try `stridewatch scan`", file=sys.stderr)
                return 1
            device, profile = found[0].device, found[0].profile
        require_accelerometer(profile, device.name or device.address)
        try:
            config = profile.check_config(StreamConfig(args.rate, args.range), device.name)
        except ValueError as exc:
            raise InputFileError(f"{profile.name}: {exc}") from exc
        rate = config.sample_rate_hz or EMULATED_RATE_HZ
        db = db_path(args) if (args.save or args.patient) else None
        rules = resolve_rules(args.rules, args.patient, db)
        stored = lean_references.get_lean_reference(db, args.patient, device.address) if (
            db is not None and args.patient) else None
        if db is not None and args.patient:
            other = paired_sensors.check_sensor(db, args.patient, device.address, device.name)
            if other:
                print(f"warning: {terminal_text(other)}", file=sys.stderr)
        trace_marks: list = []  # the trace writer, once the recorder has opened it
        guide = None if args.no_calibration else GuidedCalibration(
            sys.stdout, mark=lambda label: trace_marks and trace_marks[0].record_mark(label))
        # an emulated sensor without a clock: time is the samples received / rate
        virtual_clock = getattr(sensor, "virtual_clock", None)
        received: list[LiveView] = []
        control = RecorderControl()
        alerts = record_alerts.body_alerts(args, profile.name, control)
        live = LiveView(float(rate), rules=rules,
                        calibrate_s=calibrate_s, axes=args.axes, out=sys.stdout,
                        guide=guide,
                        stored_reference=None if stored is None else stored.as_reference(),
                        wear_prior=device_wear_prior(profile.name, device.name),
                        # an emulated sensor without a clock is timed (and refreshed each
                        # second) on the samples it sent
                        clock=(lambda: received[0].samples / rate) if virtual_clock
                        else time.monotonic,
                        on_alert=alerts.on_alert if alerts is not None else None,
                        print_alerts=args.alert != "sensor" or alerts is None
                        or alerts.send is None)
        received.append(live)
        stop = asyncio.Event()
        if sensor is not None and args.duration is None:
            # the emulated walk has an end: stop when the strap has sent all of it
            async def stop_when_walk_sent() -> None:
                exhausted = getattr(sensor, "source_exhausted", None)
                await (exhausted or sensor.h10.source_exhausted).wait()
                stop.set()

            watcher = asyncio.create_task(stop_when_walk_sent())
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:  # Ctrl-C, kill, a closed terminal: all stop cleanly
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop.set)
        _progress(f"connecting to {terminal_text(device.name or device.address)} …")
        print(terminal_text(f"recording {profile.name} {device.name or ''} [{device.address}] "
                            f"at {rate:g} Hz to {output} — Ctrl-C stops"))
        try:
            with _bluetooth_errors():
                summary = await record(device, profile, config, output,
                                       duration_s=args.duration, on_block=live.on_block,
                                       stop=stop, backend=client_backend,
                                       on_trace=trace_marks.append, control=control)
        except RecordingError as exc:
            kept = f" (what was recorded is in {output})" if output.exists() else ""
            print(f"error: {terminal_text(exc)}{terminal_text(kept)}", file=sys.stderr)
            return 1
        finally:
            for signum in STOP_SIGNALS:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(signum)
            if sensor is not None and args.duration is None:
                watcher.cancel()
    if db is not None and args.patient and summary.samples:
        # the first sensor that really streamed for this patient becomes theirs
        paired, now = paired_sensors.pair_sensor(db, args.patient, device.address, device.name,
                                                 profile.name, source=f"record {output}")
        if now:
            print(terminal_text(f"paired {paired.label()} with patient {args.patient}; "
                                "another sensor answering later is warned about"))
    print(f"\n{summary.notifications} notifications, {summary.samples} samples, "
          f"{summary.link_losses} link loss(es), {len(summary.decode_errors)} bad packet(s); "
          f"trace: {terminal_text(output)}")
    if live.samples:
        save = f" --save --db {db}" if args.save else ""
        how = (f"the trace {output} is complete: analyse it with "
               f"`stridewatch analyze{save} {output}`")
        # a signal now (a second Ctrl-C, a kill) lets the analysis finish and the session
        # be filed; only another one stops without it
        try:
            with _finish_despite_one_signal(
                    f"finishing the final analysis{' and saving the session' if args.save else ''}"
                    f" of the complete trace; another Ctrl-C stops without it ({how})"):
                code = _finish(args, live, output, rules, db, device)
        except KeyboardInterrupt:
            print(terminal_text(f"interrupted during the final analysis; {how}"),
                  file=sys.stderr)
            return 130
        if code:
            return code
    return 0


def _finish(args: argparse.Namespace, live: object, output: Path, rules: object, db: object,
            device: object) -> int:
    """The final analysis of a recording: summary, session filed, upright reference kept."""
    from analysis.errors import InputError
    from stridewatch.report.summary import wearer_summary
    from stridewatch.store import lean_references
    from stridewatch.store.engine import describe
    from stridewatch.store.filing import save_recording_session

    try:
        result = live.finish()
        session = result.to_dict(str(output))
    except InputError as exc:
        print(f"error: {terminal_text(output)}: {terminal_text(exc)} (the trace is complete; "
              "analyse it again with other options)", file=sys.stderr)
        return 2
    print(wearer_summary(session, rules))
    if args.save:
        # filed under the trace's identity and clock, as `report`/`analyze` of the
        # trace will find it (the trace is read back for that); one transaction
        saved = save_recording_session(db, session, output, patient_id=args.patient,
                                       rules=rules)
        print(f"{saved.verb} session {saved.id} in {describe(db)} "
              "(see `stridewatch history`)")
    reference = result.lean_reference
    if (args.patient and db is not None and reference is not None
            and reference.kind in ("calibrated", "standing")
            and reference.gravity_g is not None):
        lean_references.save_lean_reference(
            db, args.patient, device.address, reference.gravity_g, reference.segment_s,
            source=f"record {output}")
        print(terminal_text(f"stored the upright reference of patient {args.patient} for "
                            f"{device.address} (used when a later walk has no standing)"))
    return 0


STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def _finish_despite_one_signal(note: str) -> Iterator[None]:
    """While the final analysis runs (no event loop to stop): the first Ctrl-C, SIGTERM
    or SIGHUP prints ``note`` and lets the work finish (the trace is complete, so its
    session can still be filed); a second one raises KeyboardInterrupt. Every write in
    that work is one store transaction, so an interrupted save leaves nothing half-written.
    """
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt
        print(terminal_text(note), file=sys.stderr, flush=True)

    previous = {}
    for signum in STOP_SIGNALS:
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            previous[signum] = signal.signal(signum, on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def cmd_scan(args: argparse.Namespace) -> int:
    import asyncio  # here: importing asyncio costs more than the rest of a CLI start

    return asyncio.run(_scan(args))


def cmd_record(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_record(args))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="list nearby supported sensors")
    p.add_argument("--timeout", type=positive_number, default=5.0, help="seconds to listen")
    p.add_argument("--emulate", action="store_true", help="scan an emulated Polar H10")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("record", help="record a sensor to a trace with a live view")
    p.add_argument("--device", help="name or address (default: the strongest supported sensor)")
    p.add_argument("--profile", help="protocol (polar-pmd, metawear, witmotion, thingy52, "
                                     "microbit)")
    p.add_argument("--rate", type=positive_number,
                   help="sample rate in Hz (default: the profile's)")
    p.add_argument("--range", type=positive_number, help="range in g (default: the profile's)")
    p.add_argument("--duration", type=positive_number,
                   help="seconds to record (default: until Ctrl-C)")
    p.add_argument("-o", "--output", help="trace file (default: walk-DATE-TIME.swtrace)")
    p.add_argument("--timeout", type=positive_number, default=10.0,
                   help="seconds to look for the sensor")
    add_analysis_options(p, units=False)
    add_store_options(p, save_by_default=True)
    p.add_argument("--no-calibration", action="store_true",
                   help="skip the guided calibration (standing still for 5 s at the start)")
    p.add_argument("--emulate", action="store_true",
                   help="record an emulated Polar H10 walking (no sensor needed)")
    p.add_argument("--emulate-speed", type=positive_number, default=1.0,
                   help="emulated strap clock speed (e.g. 10 = ten times real time)")
    from stridewatch.cli.record_alerts import add_alert_arguments

    add_alert_arguments(p)
    p.set_defaults(func=cmd_record)
