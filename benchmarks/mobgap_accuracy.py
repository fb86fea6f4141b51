"""stridewatch on the real Mobilise-D lab recordings in ../shared/data/mobgap-lab.

Prints, per recording and pooled: initial-contact precision / recall / F1
(±0.25 s, one-to-one, scored inside the reference walking bouts), left/right
agreement on matched steps, step-count error and cadence error per reference
bout. Scoring rules: benchmarks/scoring.py.

Also a clearly labelled secondary figure (not the target's rule): false positives
that lie between two consecutive same-side reference contacts, where the reference
omits the other foot's contact, left unscored (column gapFP = how many of the fp).

    python benchmarks/mobgap_accuracy.py [--gyro]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.cadence import cadence_spm  # noqa: E402
from analysis.errors import InputError  # noqa: E402
from analysis.pipeline import analyze  # noqa: E402
from benchmarks.scoring import (  # noqa: E402
    Bout,
    Detections,
    IcScore,
    score_bouts,
    score_initial_contacts,
    summarize_bouts,
)

DATA = ROOT.parent / "shared" / "data" / "mobgap-lab"


def load_truth(csv: Path) -> tuple[np.ndarray, list[str], list[Bout]]:
    truth = json.loads(csv.with_suffix(".truth.json").read_text())
    ref_t = np.array([c["t"] for c in truth["initial_contacts"]])
    ref_sides = [c["side"] for c in truth["initial_contacts"]]
    bouts = [Bout(b["start_s"], b["end_s"], b.get("cadence_spm")) for b in truth["walking_bouts"]]
    return ref_t, ref_sides, bouts


def run(use_gyro: bool) -> int:
    if not DATA.is_dir():
        print(f"no recordings at {DATA}: the shared data folder is not present", file=sys.stderr)
        return 2
    total = IcScore()
    per_participant: dict[str, IcScore] = {}
    all_bouts = []
    all_inside = []
    print(f"{'recording':24s} {'ref':>4s} {'tp':>4s} {'fp':>4s} {'gapFP':>5s} {'fn':>4s} "
          f"{'F1':>6s} {'L/R':>6s} {'cad err':>8s}")
    for csv in sorted(DATA.glob("*.csv")):
        ref_t, ref_sides, ref_bouts = load_truth(csv)
        frame = pd.read_csv(csv)
        gyro = frame[["gx", "gy", "gz"]].to_numpy() if use_gyro else None
        try:
            result = analyze(frame["t"].to_numpy(), frame[["ax", "ay", "az"]].to_numpy(), gyro,
                             acc_units="m/s2")
        except InputError as exc:
            score = IcScore(fn=len(ref_t))
            total += score
            participant = "-".join(csv.stem.split("-")[:2])
            per_participant[participant] = per_participant.get(participant, IcScore()) + score
            print(f"{csv.stem:24s} {len(ref_t):4d} refused: {exc} (all reference steps missed)")
            continue
        det = Detections(
            result.ic_t_s, list(result.sides),
            [Bout(b.start_s, b.end_s, float(c)) for b, c in zip(result.bouts,
                                                               result.bout_cadence_spm,
                                                               strict=True)],
        )
        score = score_initial_contacts(ref_t, det.ic_s, ref_bouts, ref_sides=ref_sides,
                                       det_sides=det.sides)
        bouts = score_bouts(ref_t, ref_bouts, det)
        all_bouts += bouts
        # Cadence inside each reference bout, from the steps stridewatch found there.
        inside = Detections(det.ic_s, det.sides, [
            Bout(b.start_s, b.end_s, cadence_spm(det.ic_s[(det.ic_s >= b.start_s - 0.25)
                                                          & (det.ic_s <= b.end_s + 0.25)]))
            for b in ref_bouts
        ])
        bouts_inside = score_bouts(ref_t, ref_bouts, inside)
        all_inside += bouts_inside
        total += score
        participant = "-".join(csv.stem.split("-")[:2])
        per_participant[participant] = per_participant.get(participant, IcScore()) + score
        cad = summarize_bouts(bouts_inside).cadence_abs_error_median
        print(f"{csv.stem:24s} {len(ref_t):4d} {score.tp:4d} {score.fp:4d} "
              f"{score.in_reference_gap:5d} {score.fn:4d} "
              f"{score.f1:6.3f} {score.side_agreement:6.3f} {cad:8.2f}")
    summary = summarize_bouts(all_bouts)
    inside = summarize_bouts(all_inside)
    print()
    print(f"pooled: precision {total.precision:.3f}  recall {total.recall:.3f}  "
          f"F1 {total.f1:.3f}  (tp {total.tp}, fp {total.fp}, fn {total.fn}; "
          f"{total.ignored} detections outside reference bouts not scored)")
    print(f"secondary (not the target's rule): {total.in_reference_gap} of the {total.fp} "
          f"false positives lie between two consecutive same-side reference contacts, where "
          f"the reference omits the other foot's contact; leaving those unscored: precision "
          f"{total.precision_excluding_reference_gaps:.3f}  recall {total.recall:.3f}  "
          f"F1 {total.f1_excluding_reference_gaps:.3f}")
    held_out = [per_participant[p].f1 for p in sorted(per_participant)]
    print("leave-one-participant-out (no setting is fitted here, so each held-out "
          "participant's F1 is its score with the fixed settings): " + ", ".join(
              f"{p} {per_participant[p].f1:.3f}" for p in sorted(per_participant))
          + f"; mean {np.mean(held_out):.3f}, worst {np.min(held_out):.3f}  "
          f"(pooled {total.f1:.3f})")
    print(f"left/right agreement on matched steps: {total.side_agreement:.3f} "
          f"({total.side_agree}/{total.side_total})")
    print(f"mean |step-count error| per reference bout: {summary.step_abs_error_mean:.2f} steps "
          f"({summary.n_bouts} bouts; total {summary.det_steps} detected vs "
          f"{summary.ref_steps} reference)")
    print(f"cadence error inside each reference bout: median "
          f"{inside.cadence_abs_error_median:.2f}, mean {inside.cadence_abs_error_mean:.2f} "
          f"steps/min ({inside.n_cadence} bouts)")
    print(f"cadence error of stridewatch's own bouts (overlap-weighted): median "
          f"{summary.cadence_abs_error_median:.2f}, mean {summary.cadence_abs_error_mean:.2f} "
          f"steps/min (its bouts include gait initiation and turns the reference leaves out)")
    print(f"mean |timing error| of matched contacts: {1000 * total.mean_abs_dt_s:.0f} ms")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gyro", action="store_true", help="also give the gyro to the analysis")
    sys.exit(run(parser.parse_args().gyro))
