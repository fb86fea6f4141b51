"""Seconds to render the walk report for a 1-hour recording at 100 Hz (target: HTML < 3 s).

    python benchmarks/report_speed.py                 # 1 h simulated walk through the pipeline
    python benchmarks/report_speed.py --synthetic     # hand-made session dict, no analysis

Prints one ``name: seconds`` line per timed step; render times are the best of ``--repeat``.
Exit status 1 when the HTML render misses the target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import numpy as np  # noqa: E402

from stridewatch.report.render import render_pdf, render_report  # noqa: E402
from stridewatch.report.signal import ReportSignal  # noqa: E402

TARGET_HTML_S = 3.0
HOUR_S = 3600.0
RATE_HZ = 100.0


def pipeline_session() -> tuple[dict, ReportSignal]:
    """A 1 h recording: walks of 5-12 min with short standing pauses, analysed for real."""
    from analysis.pipeline import analyze
    from analysis.simulate import Phase, simulate_walk

    rng = np.random.default_rng(3)
    phases = [Phase("stand", 20.0, sagittal_deg=0.0)]
    total = 20.0
    while total < HOUR_S - 60:
        walk_s = min(float(rng.uniform(300, 720)), HOUR_S - 60 - total)
        phases.append(Phase("walk", walk_s, cadence_spm=float(rng.uniform(95, 118)),
                            si_pct=float(rng.uniform(-12, 12)),
                            sagittal_deg=float(rng.uniform(3, 13))))
        phases.append(Phase("stand", 60.0, sagittal_deg=0.0))
        total += walk_s + 60.0
    start = time.perf_counter()
    sim = simulate_walk(phases, fs_hz=RATE_HZ, seed=5)
    print(f"simulate_1h_s: {time.perf_counter() - start:.2f}")
    start = time.perf_counter()
    result = analyze(sim.t_s, sim.acc, acc_units=sim.acc_units, calibrate_s=(2.0, 18.0),
                     fs_hz=RATE_HZ)
    session = result.to_dict("simulated-1h.csv")
    print(f"analyze_1h_s: {time.perf_counter() - start:.2f}")
    up = np.asarray(session["axes"]["up"])
    return session, ReportSignal(t_s=sim.t_s, vertical_g=sim.acc @ up, sample_rate_hz=RATE_HZ)


def synthetic_session() -> tuple[dict, ReportSignal]:
    """The test fixture stretched to 1 h: two long bouts, flags, 1 Hz series."""
    from tests.fixtures_session import BoutSpec, make_session, make_signal

    bouts = (BoutSpec(30.0, 1700.0, 108.0, 4.0), BoutSpec(1800.0, 3550.0, 97.0, 12.0))
    session = make_session(duration_s=HOUR_S, bouts=bouts, source="synthetic-1h.csv")
    return session, make_signal(session, RATE_HZ)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", action="store_true",
                        help="use a hand-made session dict instead of the analysis pipeline")
    parser.add_argument("--repeat", type=int, default=3, help="renders to time (best of)")
    args = parser.parse_args(argv)

    session, signal = synthetic_session() if args.synthetic else pipeline_session()
    print(f"samples: {len(signal.t_s)}  steps: {session['steps']}  "
          f"bouts: {len(session['bouts'])}  flags: {len(session['flags'])}")
    provenance = {"input_file": session["source"], "calibration": "standing segment"}

    html_times, pdf_times = [], []
    size = 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            page = render_report(session, signal, provenance, patient_id="bench")
            html_times.append(time.perf_counter() - start)
            size = len(page.encode("utf-8"))
            start = time.perf_counter()
            render_pdf(session, signal, provenance, Path(tmp) / "r.pdf", patient_id="bench")
            pdf_times.append(time.perf_counter() - start)
    best = min(html_times)
    print(f"report_html_s: {best:.2f}  (target < {TARGET_HTML_S:g}; {size / 1e6:.2f} MB)")
    print(f"report_pdf_s: {min(pdf_times):.2f}")
    return 0 if best < TARGET_HTML_S else 1


if __name__ == "__main__":
    sys.exit(main())
