"""Real lower-back recordings with reference steps (../shared/data/mobgap-lab).

The full figures (F1, cadence error, side agreement) are printed by
benchmarks/mobgap_accuracy.py; this test guards against regressions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.pipeline import analyze
from benchmarks.scoring import Bout, IcScore, score_initial_contacts

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mobgap-lab"
pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real recordings not present at {DATA} (shared/ is not checked out)"
)


def _recordings():
    return sorted(DATA.glob("*.csv"))


def test_pooled_initial_contact_f1_and_sides():
    total = IcScore()
    for csv in _recordings():
        truth = json.loads(csv.with_suffix(".truth.json").read_text())
        ref_t = np.array([c["t"] for c in truth["initial_contacts"]])
        ref_sides = np.array([c["side"] for c in truth["initial_contacts"]])
        bouts = [Bout(b["start_s"], b["end_s"]) for b in truth["walking_bouts"]]
        frame = pd.read_csv(csv)
        # every recording is analysed, the 7.8 s walk test too (issue 10)
        result = analyze(frame["t"].to_numpy(), frame[["ax", "ay", "az"]].to_numpy(),
                         acc_units="m/s2")
        total += score_initial_contacts(ref_t, result.ic_t_s, bouts, ref_sides=list(ref_sides),
                                        det_sides=list(result.sides), tol_s=0.25)
    assert total.f1 >= 0.90, f"pooled F1 {total.f1:.3f} ({total})"
    assert total.side_agreement >= 0.85
