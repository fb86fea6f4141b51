"""``stridewatch simulate``: write a synthetic walk and its truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from stridewatch.cli.outputs import check_output, replacing
from stridewatch.terminal import terminal_text

# numpy and the simulator are imported when a phase is parsed or a walk written, so
# registering the command (every CLI start) stays cheap.
if TYPE_CHECKING:
    from analysis.simulate import Phase, Simulation


def _phase(text: str) -> Phase:
    """``walk:DUR[:CADENCE[:SI[:SAGITTAL[:FRONTAL]]]]`` or ``stand:DUR``."""
    from analysis.simulate import Phase

    parts = text.split(":")
    kind = parts[0]
    if kind not in ("walk", "stand") or len(parts) < 2:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected stand:SECONDS or "
            "walk:SECONDS[:CADENCE[:SI%[:SAGITTAL°[:FRONTAL°]]]]"
        )
    try:
        values = [float(p) for p in parts[1:]]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: numbers expected after the kind") from exc
    if kind == "stand":
        return Phase("stand", values[0], sagittal_deg=0.0)
    names = ["duration_s", "cadence_spm", "si_pct", "sagittal_deg", "frontal_deg"]
    return Phase("walk", **dict(zip(names, values, strict=False)))


def _gap(text: str) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in text.split(":"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: expected START:END seconds") from exc
    return a, b


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", default="simulated-walk.csv", help="CSV to write")
    p.add_argument("--phase", action="append", type=_phase, dest="phases",
                   help="stand:S or walk:S[:CADENCE[:SI[:SAGITTAL[:FRONTAL]]]] (repeatable, "
                        "default: stand 15 s then walk 5 min at 110 steps/min)")
    p.add_argument("--rate", type=float, default=100.0, help="sample rate in Hz")
    p.add_argument("--mount", default="0,0,0",
                   help="extra sensor rotation as yaw,pitch,roll degrees "
                        "(e.g. 0,180,0 upside down)")
    p.add_argument("--noise", type=float, default=0.01, help="white noise std in g")
    p.add_argument("--jitter", type=float, default=0.0, help="time-stamp jitter std in s")
    p.add_argument("--gap", action="append", type=_gap, default=[],
                   help="START:END with no samples")
    p.add_argument("--units", choices=["g", "m/s2"], default="g")
    p.add_argument("--seed", type=int, default=0)


def run_simulate(args: argparse.Namespace) -> int:
    from analysis.simulate import DEFAULT_MOUNT, Phase, rotation_matrix, simulate_walk
    check_output(args.output)
    phases = args.phases or [Phase("stand", 15, sagittal_deg=0.0), Phase("walk", 300)]
    yaw, pitch, roll = (float(x) for x in args.mount.split(","))
    sim = simulate_walk(
        phases, fs_hz=args.rate, mount=rotation_matrix(yaw, pitch, roll) @ DEFAULT_MOUNT,
        noise_g=args.noise, jitter_s=args.jitter, gaps_s=args.gap, units=args.units,
        seed=args.seed,
    )
    write_simulation(sim, Path(args.output))
    print(terminal_text(f"wrote {args.output} ({len(sim.t_s)} samples) and "
                        f"{truth_path(Path(args.output))}"))
    return 0


def truth_path(csv_path: Path) -> Path:
    return csv_path.with_suffix(".truth.json")


def write_simulation(sim: Simulation, csv_path: Path) -> None:
    """Write the samples as CSV (t,ax,ay,az) and the truth JSON beside it."""
    import numpy as np

    data = np.column_stack([sim.t_s, sim.acc])
    header = "t,ax,ay,az"
    with replacing(csv_path) as csv_tmp, replacing(truth_path(csv_path)) as truth_tmp:
        np.savetxt(csv_tmp, data, delimiter=",", header=header, comments="", fmt="%.5f")
        truth_tmp.write_text(json.dumps(sim.truth, indent=1) + "\n", encoding="utf-8")
