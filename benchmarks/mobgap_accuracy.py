"""stridewatch on the real Mobilise-D lab recordings in ../shared/data/mobgap-lab.

Prints, per recording and pooled: initial-contact precision / recall / F1
(±0.25 s, one-to-one, scored inside the reference walking bouts), left/right
agreement on matched steps, step-count error and cadence error per reference
bout. Scoring rules: benchmarks/scoring.py.

Also a clearly labelled secondary figure (not the target's rule): false positives
that lie between two consecutive same-side reference contacts, where the reference
omits the other foot's contact, left unscored (column gapFP = how many of the fp).

Leave-one-participant-out (LOPO): the settings tuned on these recordings
(``LOPO_GRID``: ``analysis.echoes.ECHO_STRENGTH_RATIO``, 0 = no echo removal, and
the statistic of a bout's stride cadences, mean or median) are chosen for each
held-out participant on the other two only (F1, then own-bout cadence error), and
the held-out participant is scored with them.

    python benchmarks/mobgap_accuracy.py [--gyro] [--no-lopo]
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

import analysis.echoes as echoes  # noqa: E402
from analysis.cadence import cadence_spm, stride_cadences_spm  # noqa: E402
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


LOPO_GRID = {
    "ECHO_STRENGTH_RATIO": (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    "bout cadence": ("mean", "median"),
}
STATISTICS = {"mean": np.mean, "median": np.median}


def participant_of(csv: Path) -> str:
    return "-".join(csv.stem.split("-")[:2])


def _analyse(csv: Path, use_gyro: bool) -> object | None:
    frame = pd.read_csv(csv)
    gyro = frame[["gx", "gy", "gz"]].to_numpy() if use_gyro else None
    try:
        return analyze(frame["t"].to_numpy(), frame[["ax", "ay", "az"]].to_numpy(), gyro,
                       acc_units="m/s2")
    except InputError:
        return None


def _scores(csv: Path, result: object | None, statistic: str) -> tuple[IcScore, list]:
    """IC score and own-bout cadence scores of one recording, bouts' cadence by ``statistic``."""
    ref_t, ref_sides, ref_bouts = load_truth(csv)
    if result is None:
        return IcScore(fn=len(ref_t)), []
    stat = STATISTICS[statistic]
    own = []
    for b in result.bouts:
        rates = stride_cadences_spm(result.ic_t_s[b.first : b.last + 1])
        own.append(Bout(b.start_s, b.end_s, float(stat(rates)) if len(rates) else None))
    det = Detections(result.ic_t_s, list(result.sides), own)
    return (score_initial_contacts(ref_t, det.ic_s, ref_bouts, ref_sides=ref_sides,
                                   det_sides=det.sides),
            score_bouts(ref_t, ref_bouts, det))


def _tied_middle(values: list, scores: list[float]) -> object:
    """The grid value with the best score; among equal bests the middle one."""
    best = max(scores)
    tied = [v for v, s in zip(values, scores, strict=True) if s >= best - 1e-12]
    return tied[(len(tied) - 1) // 2]


def lopo(files: list[Path], use_gyro: bool) -> None:
    """Print the LOPO choice of each tuned setting and the held-out participant's figures."""
    shipped = echoes.ECHO_STRENGTH_RATIO
    ratios = LOPO_GRID["ECHO_STRENGTH_RATIO"]
    results = {}
    try:
        for ratio in ratios:
            echoes.ECHO_STRENGTH_RATIO = ratio
            results[ratio] = {csv: _analyse(csv, use_gyro) for csv in files}
    finally:
        echoes.ECHO_STRENGTH_RATIO = shipped
    people = sorted({participant_of(csv) for csv in files})

    def pooled(ratio: float, statistic: str, who: set[str]) -> tuple[IcScore, float, list]:
        total, bouts = IcScore(), []
        for csv in files:
            if participant_of(csv) in who:
                ic, b = _scores(csv, results[ratio][csv], statistic)
                total += ic
                bouts += b
        return total, summarize_bouts(bouts).cadence_abs_error_median, bouts

    print()
    print("leave-one-participant-out (settings chosen on the other participants only; grid "
          + "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in LOPO_GRID.items()) + "):")
    held_f1, held_cad, held_total, held_bouts = [], [], IcScore(), []
    for person in people:
        others = set(people) - {person}
        f1s = [pooled(r, "median", others)[0].f1 for r in ratios]
        ratio = _tied_middle(list(ratios), f1s)
        stats = list(LOPO_GRID["bout cadence"])
        cads = [-pooled(ratio, st, others)[1] for st in stats]
        statistic = _tied_middle(stats, cads)
        score, cad, bouts = pooled(ratio, statistic, {person})
        held_f1.append(score.f1)
        held_cad.append(cad)
        held_total += score
        held_bouts += bouts
        print(f"  held out {person}: chose ECHO_STRENGTH_RATIO {ratio} (others' F1 "
              f"{max(f1s):.3f}), bout cadence {statistic}; held-out F1 {score.f1:.3f} "
              f"(tp {score.tp}, fp {score.fp}, fn {score.fn}), own-bout cadence error median "
              f"{cad:.2f} steps/min")
    everyone = set(people)
    f1s = [pooled(r, "median", everyone)[0].f1 for r in ratios]
    print(f"  on all participants: ECHO_STRENGTH_RATIO {_tied_middle(list(ratios), f1s)} "
          f"(shipped {shipped}); F1 by ratio: "
          + ", ".join(f"{r} {f:.3f}" for r, f in zip(ratios, f1s, strict=True)))
    print(f"  LOPO pooled over the held-out participants: F1 {held_total.f1:.3f} (tp "
          f"{held_total.tp}, fp {held_total.fp}, fn {held_total.fn}), own-bout cadence error "
          f"median {summarize_bouts(held_bouts).cadence_abs_error_median:.2f} steps/min; per "
          f"participant F1 mean {np.mean(held_f1):.3f}, worst {np.min(held_f1):.3f}, cadence "
          f"error worst {np.max(held_cad):.2f} steps/min")


def run(use_gyro: bool, with_lopo: bool = True) -> int:
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
    print("per participant (shipped settings): " + ", ".join(
        f"{p} {per_participant[p].f1:.3f}" for p in sorted(per_participant)))
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
    if with_lopo:
        lopo(sorted(DATA.glob("*.csv")), use_gyro)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gyro", action="store_true", help="also give the gyro to the analysis")
    parser.add_argument("--no-lopo", action="store_true", help="skip leave-one-participant-out")
    args = parser.parse_args()
    sys.exit(run(args.gyro, not args.no_lopo))
