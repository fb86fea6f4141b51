"""Forward sign and left/right labels under random 3-D rotations of real recordings.

Each real lower-back recording in ../shared/data/mobgap-lab is analysed as
recorded and after 50 random rotations of its three axes (seeded, uniform on
SO(3)), as if the sensor had been clipped on any way round. Truth: unrotated,
ax is vertical and az anteroposterior (the data's README); the forward sign of
az is checked here by the data (the reference L/R labels agree with the
labels implied by forward = +az, and disagree with -az). After a rotation R
the true forward axis is R @ (0, 0, 1).

Prints, per recording and pooled:
- forward sign right: share of reference walking bouts >= 20 s whose
  recording's estimated forward axis points within 90° of the rotated true
  forward axis (target >= 99 %), with the worst angle seen;
- L/R agreement on matched steps (benchmarks/scoring.py, ±0.25 s) unrotated and
  pooled over the rotations (target: within 1 point of unrotated).

The estimate is one per recording, and these files hold a single reference bout
of 20 s or more, so a secondary figure (no target) is printed as well: every
reference bout cut out on its own (widened to at least WINDOW_S with the
recording around it) and analysed under each rotation, so each short walk has
to decide its forward sign alone.

    python benchmarks/rotations.py [--rotations 50] [--seed 20261201]
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

from analysis.errors import InputError  # noqa: E402
from analysis.pipeline import analyze  # noqa: E402
from benchmarks.scoring import Bout, IcScore, score_initial_contacts  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mobgap-lab"
MIN_BOUT_S = 20.0
WINDOW_S = 12.0
TRUE_FORWARD = np.array([0.0, 0.0, 1.0])  # +az, checked below against the reference L/R


def random_rotations(n: int, seed: int) -> list[np.ndarray]:
    """``n`` rotation matrices uniform on SO(3) (QR of Gaussian matrices, sign-fixed)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        q, r = np.linalg.qr(rng.standard_normal((3, 3)))
        q = q @ np.diag(np.sign(np.diag(r)))
        if np.linalg.det(q) < 0:
            q[:, 0] = -q[:, 0]
        out.append(q)
    return out


def _load(csv: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    frame = pd.read_csv(csv)
    truth = json.loads(csv.with_suffix(".truth.json").read_text())
    return frame["t"].to_numpy(), frame[["ax", "ay", "az"]].to_numpy(), truth


def _score(truth: dict, result: object) -> IcScore:
    ref_t = np.array([c["t"] for c in truth["initial_contacts"]])
    ref_sides = [c["side"] for c in truth["initial_contacts"]]
    bouts = [Bout(b["start_s"], b["end_s"]) for b in truth["walking_bouts"]]
    return score_initial_contacts(ref_t, result.ic_t_s, bouts, ref_sides=ref_sides,
                                  det_sides=list(result.sides), tol_s=0.25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rotations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    rotations = random_rotations(args.rotations, args.seed)

    print("sign of the anteroposterior axis, by the reference L/R labels (unrotated):")
    for spec in ("V=x,AP=z", "V=x,AP=-z"):
        total = IcScore()
        for csv in sorted(DATA.glob("*.csv")):
            t, acc, truth = _load(csv)
            try:
                total += _score(truth, analyze(t, acc, acc_units="m/s2", axes=spec))
            except InputError:
                continue
        print(f"  --axes {spec:10s} L/R agreement {100 * total.side_agreement:5.1f} %")

    print(f"\n{'recording':24s} {'bouts>=20s':>10s} {'fwd right':>10s} {'worst°':>7s} "
          f"{'L/R unrot':>10s} {'L/R rot':>8s}")
    sign_ok = sign_n = 0
    worst_all = 0.0
    lr_unrot, lr_rot = IcScore(), IcScore()
    for csv in sorted(DATA.glob("*.csv")):
        t, acc, truth = _load(csv)
        long_bouts = sum(b["end_s"] - b["start_s"] >= MIN_BOUT_S for b in truth["walking_bouts"])
        try:
            base = analyze(t, acc, acc_units="m/s2")
        except InputError as exc:
            print(f"{csv.stem:24s} refused: {exc}")
            continue
        unrot = _score(truth, base)
        rot = IcScore()
        ok = n = 0
        worst = 0.0
        for rotation in rotations:
            result = analyze(t, acc @ rotation.T, acc_units="m/s2")
            rot += _score(truth, result)
            true_forward = rotation @ TRUE_FORWARD
            # compare in the horizontal plane of the estimate (the true axis is tilted
            # with the wearer's posture; the sign is what the analysis decides)
            cos = float(result.axes.forward @ true_forward)
            angle = float(np.degrees(np.arccos(np.clip(cos, -1, 1))))
            worst = max(worst, angle)
            if long_bouts:
                n += long_bouts
                ok += long_bouts * (cos > 0)
        sign_ok += ok
        sign_n += n
        worst_all = max(worst_all, worst if long_bouts else 0.0)
        lr_unrot += unrot
        lr_rot += rot
        right = f"{100 * ok / n:6.1f} %" if n else "      –"
        print(f"{csv.stem:24s} {long_bouts:10d} {right:>10s} {worst:7.1f} "
              f"{100 * unrot.side_agreement:8.1f} % {100 * rot.side_agreement:6.1f} %")
    alone_ok = alone_n = 0
    for csv in sorted(DATA.glob("*.csv")):
        t, acc, truth = _load(csv)
        for b in truth["walking_bouts"]:
            pad = max(2.0, (WINDOW_S - (b["end_s"] - b["start_s"])) / 2)
            sel = (t >= b["start_s"] - pad) & (t <= b["end_s"] + pad)
            for rotation in rotations:
                try:
                    result = analyze(t[sel], acc[sel] @ rotation.T, acc_units="m/s2")
                except InputError:
                    break  # the recording is too short around this bout
                if not result.bouts:
                    continue
                alone_n += 1
                alone_ok += float(result.axes.forward @ (rotation @ TRUE_FORWARD)) > 0
    share = 100 * sign_ok / sign_n if sign_n else float("nan")
    diff = 100 * (lr_rot.side_agreement - lr_unrot.side_agreement)
    print(f"\nforward sign right in {sign_ok}/{sign_n} bouts >= {MIN_BOUT_S:g} s over "
          f"{len(rotations)} rotations: {share:.1f} % (target >= 99 %); worst angle "
          f"{worst_all:.1f}°")
    print(f"secondary: each reference bout analysed alone (>= {WINDOW_S:g} s window): "
          f"forward sign right in {alone_ok}/{alone_n} ({100 * alone_ok / max(alone_n, 1):.1f} %)")
    print(f"L/R agreement: unrotated {100 * lr_unrot.side_agreement:.1f} %, rotated "
          f"{100 * lr_rot.side_agreement:.1f} % ({diff:+.1f} points; target within 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
