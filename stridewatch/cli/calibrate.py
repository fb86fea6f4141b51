"""`stridewatch calibrate`: keep a wearer's upright standing reference for a sensor.

The reference is the gravity vector the sensor read while the wearer stood tall
and still, taken from a recording (``--segment A:B``, else the quiet standing
found in it). Later sessions of the same patient and sensor use it when they
have no standing segment of their own (see ``analysis.lean``).
"""

from __future__ import annotations

import argparse

from stridewatch.cli.options import default_rules, parse_calibrate


def cmd_calibrate(args: argparse.Namespace) -> int:
    # imported here, not at module level: registering the command (every CLI start) stays cheap
    from analysis.lean import MIN_STANDING_S
    from stridewatch.inputs import InputFileError, read_input
    from stridewatch.store.filing import analyze_recording, db_path
    from stridewatch.store.lean_references import device_key, save_lean_reference

    segment = parse_calibrate(args.segment)
    recording = read_input(args.input, args.units)
    result = analyze_recording(recording, rules=default_rules(), calibrate_s=segment,
                               axes=args.axes)
    reference = result.lean_reference
    if reference.kind not in ("calibrated", "standing") or reference.gravity_g is None:
        raise InputFileError(
            f"{args.input}: no quiet upright standing of {MIN_STANDING_S:g} s or more found; "
            "record the wearer standing tall and still for 5 s, or give the segment with "
            "--segment START:END"
        )
    device = args.device or device_key(recording.meta)
    db = db_path(args)
    saved = save_lean_reference(db, args.patient, device, reference.gravity_g,
                                reference.segment_s, source=f"calibrate {args.input}")
    start, end = reference.segment_s  # type: ignore[misc]
    g = ", ".join(f"{v:+.3f}" for v in saved.gravity_g)
    print(f"stored the lean reference of patient {args.patient} for {device}: standing "
          f"{start:.1f}–{end:.1f} s of {args.input} (gravity {g} g) in {db}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="store a patient's upright standing reference for "
                                         "a sensor (lean reference for later sessions)")
    p.add_argument("input", help="a recording (.swtrace or .csv) with the wearer standing "
                                 "tall and still")
    p.add_argument("--patient", required=True, help="patient id")
    p.add_argument("--segment", metavar="START:END",
                   help="the standing segment in seconds (default: found automatically)")
    p.add_argument("--device", help="sensor the reference is for (default: the trace's "
                                    "device address; CSV files: 'unknown device')")
    p.add_argument("--axes", help="sensor mounting, e.g. 'V=x,AP=-z,ML=y' (up, forward, right)")
    p.add_argument("--units", choices=["g", "m/s2"], help="acceleration units (default: detect)")
    p.add_argument("--db", help="session store (default: in the user's data folder)")
    p.set_defaults(func=cmd_calibrate)
