"""TEMPORARY stand-in for analysis.pipeline.analyze -- DELETE before finishing.

Only here so the benchmark harness can be developed before the real pipeline lands.
Deliberately trivial: peaks of low-passed vertical acceleration.
"""

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, find_peaks, sosfiltfilt


@dataclass
class _Result:
    ics: np.ndarray
    sides: list
    bouts: list

    def to_dict(self, source):
        return {
            "source": source,
            "initial_contacts_s": self.ics.tolist(),
            "sides": self.sides,
            "bouts": self.bouts,
            "cadence_spm": None,
        }


def analyze(t_s, acc, gyro_dps=None, *, acc_units=None, **_):
    t = np.asarray(t_s, float)
    fs = 1.0 / np.median(np.diff(t))
    v = np.asarray(acc, float)[:, 0]
    sos = butter(2, [0.5, 3.0], btype="band", fs=fs, output="sos")
    v = sosfiltfilt(sos, v)
    peaks, _ = find_peaks(v, height=0.5, distance=int(0.3 * fs))
    ics = t[peaks]
    bouts, sides, keep = [], [], []
    start = 0
    for i in range(1, len(ics) + 1):
        if i == len(ics) or ics[i] - ics[i - 1] > 1.5:
            if i - start >= 4:
                seg = ics[start:i]
                bouts.append(
                    {
                        "start_s": float(seg[0]),
                        "end_s": float(seg[-1]),
                        "steps": int(seg.size),
                        "cadence_spm": 60.0 * (seg.size - 1) / float(seg[-1] - seg[0]),
                    }
                )
                keep.extend(range(start, i))
            start = i
    ics = ics[keep]
    sides = ["L" if k % 2 == 0 else "R" for k in range(ics.size)]
    return _Result(ics, sides, bouts)
