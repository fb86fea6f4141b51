#!/usr/bin/env python3
"""Benchmark stridewatch side by side with mobgap and scikit-digital-health (skdh).

Needs the optional dependency group: ``pip install -e ".[bench]"`` (never needed by the
product or its tests). Run from the project root:

    python benchmarks/peers.py                # full run, writes benchmarks/RESULTS.md
    python benchmarks/peers.py --quick        # short speed runs, for trying things out

Data: ``../shared/data/mobgap-lab`` next to the project root (8 lower-back recordings
with INDIP / stereophotogrammetry reference initial contacts and walking bouts).

What is measured (scoring rules in ``benchmarks/scoring.py``):

1. Accuracy of initial contacts (ICs) inside the reference walking bouts (+-0.25 s,
   one-to-one), step-count error, cadence error per reference bout and left/right
   agreement for stridewatch, mobgap's full Mobilise-D pipelines, mobgap's IC detectors
   run on the true bouts, and skdh's lumbar gait pipeline (own bouts and true bouts).
2. Speed: wall time and peak memory (peak RSS of a fresh worker process during the
   timed call) per minute of data, on the real files and on a long recording made by
   tiling them (24 h by default; a tool whose 24 h run would exceed ``--max-seconds``
   is extrapolated from a shorter probe and marked so), with stridewatch / peer ratios.
3. Robustness: stridewatch's F1 with the sensor frame rotated and with the data
   resampled to 50 and 200 Hz (``--sweep-peers``: mobgap's healthy pipeline too).

Peers are called on the arrays directly (no example-data download): mobgap gets a
``GaitDatasetFromData`` with sensor-frame columns acc_x/y/z (m/s^2) and gyr_x/y/z
(deg/s), x = inferior-superior, y = medio-lateral, z = posterior-anterior, which is
how the CSVs are laid out (ax ~ vertical, ay ~ ML, az ~ AP); skdh gets acceleration
in g and angular rate in rad/s with unix-like timestamps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.metadata as md
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared/data/mobgap-lab"

if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from benchmarks.scoring import (  # noqa: E402
    DEFAULT_TOL_S,
    Bout,
    BoutScore,
    Detections,
    IcScore,
    normalize_side,
    score_bouts,
    score_initial_contacts,
    summarize_bouts,
)

G = 9.80665
FS = 100.0
# Arbitrary midnight (2024-01-01 UTC) added to times for skdh, which expects unix time.
SKDH_EPOCH_S = 1_704_067_200.0
SKDH_MIN_BOUT_S = 10.0
DEFAULT_IMPL = "analysis.pipeline:analyze"
COHORTS = {"healthy adult": "HA", "multiple sclerosis": "MS"}


# --------------------------------------------------------------------------- data


@dataclass
class Signal:
    """One recording as every tool receives it."""

    name: str
    t: np.ndarray  # s
    acc: np.ndarray  # (N, 3) m/s^2, x ~ vertical, y ~ ML, z ~ AP
    gyr: np.ndarray  # (N, 3) deg/s
    fs: float
    cohort: str = "HA"
    height_m: float = 1.70
    ref_ic: np.ndarray = field(default_factory=lambda: np.empty(0))
    ref_sides: list[str | None] = field(default_factory=list)
    ref_bouts: list[Bout] = field(default_factory=list)

    @property
    def minutes(self) -> float:
        return self.t.size / self.fs / 60.0


def load_recordings(data_dir: Path = DATA_DIR) -> list[Signal]:
    if not data_dir.is_dir():
        sys.exit(
            f"peers.py: data folder not found: {data_dir}\n"
            "It should hold the mobgap-lab recordings (NAME.csv + NAME.truth.json) "
            "next to the project root, in ../shared/data/mobgap-lab."
        )
    out = []
    for csv in sorted(data_dir.glob("*.csv")):
        truth_path = csv.with_name(csv.stem + ".truth.json")
        if not truth_path.exists():
            continue
        arr = np.loadtxt(csv, delimiter=",", skiprows=1, dtype=float)
        truth = json.loads(truth_path.read_text())
        ics = truth["initial_contacts"]
        out.append(
            Signal(
                name=csv.stem,
                t=arr[:, 0],
                acc=arr[:, 1:4],
                gyr=arr[:, 4:7],
                fs=float(truth.get("sample_rate_hz", FS)),
                cohort=COHORTS.get(str(truth.get("cohort", "")).lower(), "HA"),
                height_m=float(truth.get("height_m") or 1.70),
                ref_ic=np.array([i["t"] for i in ics], dtype=float),
                ref_sides=[normalize_side(i.get("side")) for i in ics],
                ref_bouts=[
                    Bout(b["start_s"], b["end_s"], b.get("cadence_spm"))
                    for b in truth["walking_bouts"]
                ],
            )
        )
    if not out:
        sys.exit(f"peers.py: no NAME.csv with NAME.truth.json in {data_dir}")
    return out


def tile(recordings: list[Signal], seconds: float) -> Signal:
    """A long recording made by repeating the real ones end to end."""
    n = int(round(seconds * FS))
    acc = np.concatenate([r.acc for r in recordings])
    gyr = np.concatenate([r.gyr for r in recordings])
    reps = -(-n // acc.shape[0])
    acc = np.tile(acc, (reps, 1))[:n]
    gyr = np.tile(gyr, (reps, 1))[:n]
    return Signal(f"tiled {seconds / 3600:g} h", np.arange(n) / FS, acc, gyr, FS)


def rotation(axis: str, degrees: float) -> np.ndarray:
    """Right-handed rotation matrix about the sensor's x, y or z axis."""
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    i = "xyz".index(axis)
    j, k = (i + 1) % 3, (i + 2) % 3
    r = np.eye(3)
    r[j, j], r[j, k], r[k, j], r[k, k] = c, -s, s, c
    return np.round(r, 12)


def rotated(sig: Signal, r: np.ndarray) -> Signal:
    return replace(sig, acc=sig.acc @ r.T, gyr=sig.gyr @ r.T)


def resampled(sig: Signal, fs_new: float) -> Signal:
    from scipy.signal import resample_poly

    frac = (fs_new / sig.fs).as_integer_ratio()
    up, down = frac
    acc = resample_poly(sig.acc, up, down, axis=0, padtype="line")
    gyr = resample_poly(sig.gyr, up, down, axis=0, padtype="line")
    t = sig.t[0] + np.arange(acc.shape[0]) / fs_new
    return replace(sig, t=t, acc=acc, gyr=gyr, fs=fs_new)


VARIANTS: list[tuple[str, Callable[[Signal], Signal]]] = [
    ("original", lambda s: s),
    ("upside down (180° about AP z)", lambda s: rotated(s, rotation("z", 180))),
    ("90° about vertical x", lambda s: rotated(s, rotation("x", 90))),
    ("90° about ML y", lambda s: rotated(s, rotation("y", 90))),
    ("90° about AP z", lambda s: rotated(s, rotation("z", 90))),
    ("30° tilt (about ML y)", lambda s: rotated(s, rotation("y", 30))),
    ("resampled to 50 Hz", lambda s: resampled(s, 50.0)),
    ("resampled to 200 Hz", lambda s: resampled(s, 200.0)),
]


# --------------------------------------------------------------------------- tools


def run_stridewatch(sig: Signal, impl: str = DEFAULT_IMPL) -> Detections:
    module, _, func = impl.partition(":")
    analyze = getattr(importlib.import_module(module), func or "analyze")
    result = analyze(sig.t, sig.acc, sig.gyr, acc_units="m/s2")
    d = result.to_dict("benchmarks/peers.py")
    ics = np.asarray(d.get("initial_contacts_s") or [], dtype=float)
    sides = [normalize_side(s) for s in (d.get("sides") or [])]
    bouts = [
        Bout(float(b["start_s"]), float(b["end_s"]), b.get("cadence_spm"))
        for b in d.get("bouts") or []
    ]
    return Detections(ics, sides if len(sides) == ics.size else [], bouts)


def _mobgap_sensor_frame(sig: Signal):
    import pandas as pd

    cols = {}
    for i, ax in enumerate("xyz"):
        cols[f"acc_{ax}"] = sig.acc[:, i]
    for i, ax in enumerate("xyz"):
        cols[f"gyr_{ax}"] = sig.gyr[:, i]
    return pd.DataFrame(cols)


def run_mobgap_pipeline(sig: Signal, kind: str) -> Detections:
    """mobgap's full Mobilise-D pipeline; ICs are those inside its final walking bouts."""
    from mobgap.data import GaitDatasetFromData
    from mobgap.pipeline import MobilisedPipelineHealthy, MobilisedPipelineImpaired

    cls = MobilisedPipelineHealthy if kind == "healthy" else MobilisedPipelineImpaired
    key = "rec"
    ds = GaitDatasetFromData(
        {key: {"LowerBack": _mobgap_sensor_frame(sig)}},
        sig.fs,
        {
            key: {
                "height_m": sig.height_m,
                "sensor_height_m": 0.53 * sig.height_m,
                "cohort": sig.cohort,
            }
        },
        {key: {"measurement_condition": "laboratory"}},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = cls().run(ds[0])
    ic = pipe.raw_ic_list_
    wbs = pipe.per_wb_parameters_
    ic_idx = ic["ic"].to_numpy(dtype=float)
    labels = list(ic["lr_label"]) if "lr_label" in ic else [None] * ic_idx.size
    keep = np.zeros(ic_idx.size, dtype=bool)
    bouts = []
    for _, wb in wbs.iterrows():
        keep |= (ic_idx >= wb["start"]) & (ic_idx <= wb["end"])
        cad = wb.get("cadence_spm")
        bouts.append(
            Bout(
                sig.t[0] + float(wb["start"]) / sig.fs,
                sig.t[0] + float(wb["end"]) / sig.fs,
                float(cad) if cad is not None and np.isfinite(cad) else None,
            )
        )
    sides = [normalize_side(s) for s, k in zip(labels, keep, strict=True) if k]
    return Detections(sig.t[0] + ic_idx[keep] / sig.fs, sides, bouts)


def _bout_slices(sig: Signal) -> list[slice]:
    out = []
    for b in sig.ref_bouts:
        i0 = max(0, int(round((b.start_s - sig.t[0]) * sig.fs)))
        i1 = min(sig.t.size, int(round((b.end_s - sig.t[0]) * sig.fs)) + 1)
        if i1 > i0:
            out.append(slice(i0, i1))
    return out


def run_mobgap_icd(sig: Signal, detector: str) -> Detections:
    """One mobgap IC detector on each true walking bout, sides from LrcUllrich."""
    from mobgap import initial_contacts
    from mobgap.laterality import LrcUllrich
    from mobgap.utils.conversions import to_body_frame

    body = to_body_frame(_mobgap_sensor_frame(sig))
    icd = getattr(initial_contacts, detector)()
    lrc = LrcUllrich(**LrcUllrich.PredefinedParameters.msproject_all)
    ics: list[float] = []
    sides: list[str | None] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sl in _bout_slices(sig):
            seg = body.iloc[sl].reset_index(drop=True)
            found = icd.clone().detect(seg, sampling_rate_hz=sig.fs).ic_list_
            if found.empty:
                continue
            lr = lrc.clone().predict(seg, found, sampling_rate_hz=sig.fs).ic_lr_list_
            for idx, label in zip(lr["ic"], lr["lr_label"], strict=True):
                ics.append(sig.t[sl.start] + float(idx) / sig.fs)
                sides.append(normalize_side(label))
    return Detections(np.array(ics), sides)


def _skdh_detections(sig: Signal, res: dict) -> Detections:
    ic_t = np.asarray(res.get("IC Timestamp", []), dtype=float) - SKDH_EPOCH_S
    bout_n = np.asarray(res.get("Bout N", []))
    starts = np.asarray(res.get("Bout Starts", []), dtype=float) - SKDH_EPOCH_S
    durations = np.asarray(res.get("Bout Duration", []), dtype=float)
    cadence = np.asarray(res.get("cadence", np.full(ic_t.size, np.nan)), dtype=float)
    bouts = []
    for n in np.unique(bout_n):
        sel = bout_n == n
        cad = cadence[sel]
        cad = float(np.nanmean(cad)) if np.isfinite(cad).any() else None
        s0 = float(starts[sel][0])
        bouts.append(Bout(s0, s0 + float(durations[sel][0]), cad))
    order = np.argsort(ic_t)
    return Detections(ic_t[order], [], bouts)


def _skdh_inputs(sig: Signal) -> dict:
    return {
        "time": sig.t + SKDH_EPOCH_S,
        "accel": sig.acc / G,
        "gyro": np.deg2rad(sig.gyr),
        "fs": sig.fs,
        "height": sig.height_m,
    }


def run_skdh(sig: Signal) -> Detections:
    """skdh's gait classifier (LightGBM) followed by GaitLumbar, all defaults."""
    import skdh
    from skdh.context import PredictGaitLumbarLgbm
    from skdh.gait import GaitLumbar

    pipe = skdh.Pipeline()
    pipe.add(PredictGaitLumbarLgbm())
    pipe.add(GaitLumbar())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pipe.run(**_skdh_inputs(sig))
    return _skdh_detections(sig, res["GaitLumbar"])


def run_skdh_true_bouts(sig: Signal) -> Detections:
    """skdh's GaitLumbar on the true walking bouts.

    GaitLumbar estimates the step time from 5 s windows and fails on shorter bouts,
    so each bout shorter than ``SKDH_MIN_BOUT_S`` is widened symmetrically to that
    length (detections outside the reference bouts are not scored anyway), and its
    own minimum bout time (8 s) is lifted.
    """
    from skdh.gait import GaitLumbar

    half = int(round(SKDH_MIN_BOUT_S * sig.fs / 2))
    bouts = []
    for sl in _bout_slices(sig):
        mid = (sl.start + sl.stop) // 2
        bouts.append([max(0, min(sl.start, mid - half)), min(sig.t.size, max(sl.stop, mid + half))])
    if not bouts:
        return Detections(np.empty(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = GaitLumbar(min_bout_time=0.0).predict(gait_bouts=np.array(bouts), **_skdh_inputs(sig))
    if isinstance(res, tuple):  # (kwargs, results) outside a pipeline
        res = res[-1]
    return _skdh_detections(sig, res)


def run_skdh_50hz(sig: Signal) -> Detections:
    """skdh defaults on the input resampled to 50 Hz.

    skdh's gait classifier designs its band-pass filter with the input rate but
    applies it after downsampling to 50 Hz, so 100 Hz input gets a different filter
    than the model was made for; feeding 50 Hz avoids that.
    """
    return run_skdh(resampled(sig, 50.0) if sig.fs != 50.0 else sig)


@dataclass(frozen=True)
class Tool:
    key: str
    label: str
    run: Callable[[Signal], Detections]
    given_true_bouts: bool = False
    package: str = "stridewatch"
    speed: bool = False


def make_tools(impl: str) -> list[Tool]:
    def sw(s: Signal) -> Detections:
        return run_stridewatch(s, impl)

    def pipe(kind: str) -> Callable[[Signal], Detections]:
        return lambda s: run_mobgap_pipeline(s, kind)

    def icd(name: str) -> Callable[[Signal], Detections]:
        return lambda s: run_mobgap_icd(s, name)

    return [
        Tool("stridewatch", "stridewatch analyze()", sw, speed=True),
        Tool(
            "mobgap-healthy",
            "mobgap MobilisedPipelineHealthy",
            pipe("healthy"),
            package="mobgap",
            speed=True,
        ),
        Tool(
            "mobgap-impaired",
            "mobgap MobilisedPipelineImpaired",
            pipe("impaired"),
            package="mobgap",
            speed=True,
        ),
        Tool(
            "skdh",
            "skdh PredictGaitLumbarLgbm + GaitLumbar",
            run_skdh,
            package="scikit-digital-health",
            speed=True,
        ),
        Tool(
            "mobgap-IcdIonescu",
            "mobgap IcdIonescu (+LrcUllrich)",
            icd("IcdIonescu"),
            True,
            "mobgap",
        ),
        Tool(
            "mobgap-IcdShinImproved",
            "mobgap IcdShinImproved (+LrcUllrich)",
            icd("IcdShinImproved"),
            True,
            "mobgap",
        ),
        Tool(
            "mobgap-IcdHKLeeImproved",
            "mobgap IcdHKLeeImproved (+LrcUllrich)",
            icd("IcdHKLeeImproved"),
            True,
            "mobgap",
        ),
        Tool(
            "skdh-50Hz",
            "skdh PredictGaitLumbarLgbm + GaitLumbar, input at 50 Hz",
            run_skdh_50hz,
            package="scikit-digital-health",
        ),
        Tool(
            "skdh-true-bouts",
            f"skdh GaitLumbar (bouts widened to ≥ {SKDH_MIN_BOUT_S:g} s)",
            run_skdh_true_bouts,
            True,
            "scikit-digital-health",
        ),
    ]


# --------------------------------------------------------------------------- accuracy


@dataclass
class ToolAccuracy:
    tool: Tool
    per_rec: dict[str, IcScore] = field(default_factory=dict)
    bouts: list[BoutScore] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def pooled(self) -> IcScore:
        total = IcScore()
        for s in self.per_rec.values():
            total = total + s
        return total


def evaluate(tool: Tool, recordings: list[Signal], verbose: bool = True) -> ToolAccuracy:
    acc = ToolAccuracy(tool)
    t0 = time.perf_counter()
    for rec in recordings:
        try:
            det = tool.run(rec)
        except Exception as exc:  # a tool failing on one file must not stop the run
            acc.errors[rec.name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            if verbose and not isinstance(exc, ImportError):
                traceback.print_exc(limit=3)
            det = Detections(np.empty(0))  # a failure reports no steps: scored as misses
        acc.per_rec[rec.name] = score_initial_contacts(
            rec.ref_ic,
            det.ic_s,
            rec.ref_bouts,
            ref_sides=rec.ref_sides,
            det_sides=det.sides,
            tol_s=DEFAULT_TOL_S,
        )
        acc.bouts.extend(score_bouts(rec.ref_ic, rec.ref_bouts, det, DEFAULT_TOL_S))
    acc.seconds = time.perf_counter() - t0
    return acc


# --------------------------------------------------------------------------- speed


def _proc_status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return None


def _rss_now_mb() -> float:
    now = _proc_status_mb("VmRSS")
    return now if now is not None else _rss_peak_mb()


def _rss_peak_mb() -> float:
    """Peak resident set size of this process in MB.

    /proc's VmHWM belongs to the process image and starts afresh at exec, whereas
    getrusage's ru_maxrss also keeps the parent's peak from before the fork.
    """
    hwm = _proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _reset_rss_peak() -> None:
    try:  # Linux: "5" resets the peak RSS (VmHWM) to the current RSS
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def worker(tool_key: str, span: str, impl: str, repeat: int = 1) -> None:
    """Runs in a fresh process: time one tool on the real files or a tiled recording.

    With ``repeat`` > 1 the timed section runs that many times and the fastest run is
    reported (the others only absorb noise from other work on the machine).
    """
    tools = {t.key: t for t in make_tools(impl)}
    tool = tools[tool_key]
    recordings = load_recordings()
    signals = recordings if span == "real" else [tile(recordings, float(span))]
    # Warm-up on one minute (imports, JIT compilation, model loading) -- not timed.
    warm = tile(recordings, 60.0)
    try:
        tool.run(warm)
    except Exception:
        pass
    base = _rss_now_mb()
    _reset_rss_peak()
    best: dict | None = None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        n_ic = 0
        failed = []
        minutes = 0.0
        for sig in signals:
            try:
                n_ic += tool.run(sig).ic_s.size
                minutes += sig.minutes
            except Exception as exc:
                if len(signals) == 1:
                    raise
                failed.append(f"{sig.name}: {type(exc).__name__}")
        run = {
            "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - cpu0,
            "minutes": minutes,
            "failed": failed,
            "n_ic": n_ic,
        }
        if best is None or run["wall_s"] < best["wall_s"]:
            best = run
    assert best is not None
    best.update(peak_rss_mb=_rss_peak_mb(), base_rss_mb=base, repeat=max(1, repeat))
    print(json.dumps(best))


@dataclass
class SpeedRow:
    tool: Tool
    span: str  # "real files" or "24 h tiled"
    minutes: float = float("nan")
    wall_s: float = float("nan")
    cpu_s: float = float("nan")
    peak_rss_mb: float = float("nan")
    base_rss_mb: float = float("nan")
    note: str = ""

    @property
    def s_per_min(self) -> float:
        return self.wall_s / self.minutes if self.minutes else float("nan")


def spawn(tool: Tool, span: str, impl: str, timeout_s: float, repeat: int = 1) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--impl",
        impl,
        "--repeat",
        str(repeat),
        "--worker",
        tool.key,
        span,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"worker failed ({proc.returncode}): {tail[:200]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_speed(
    tools: list[Tool],
    impl: str,
    hours: float,
    probe_hours: float,
    max_seconds: float,
    repeat: int = 3,
) -> list[SpeedRow]:
    rows: list[SpeedRow] = []
    long_label = f"{hours:g} h tiled"
    for tool in tools:
        print(f"[speed] {tool.key}: real files ...", flush=True)
        row = SpeedRow(tool, "real files")
        try:
            r = spawn(tool, "real", impl, timeout_s=max_seconds * 2 + 300, repeat=repeat)
            row = SpeedRow(
                tool,
                "real files",
                r["minutes"],
                r["wall_s"],
                r["cpu_s"],
                r["peak_rss_mb"],
                r["base_rss_mb"],
            )
            if r.get("failed"):
                row.note = "failed (minutes exclude them): " + "; ".join(r["failed"])
        except Exception as exc:
            row.note = str(exc)
        rows.append(row)

        print(f"[speed] {tool.key}: {probe_hours:g} h probe ...", flush=True)
        long = SpeedRow(tool, long_label)
        try:
            probe = spawn(tool, str(probe_hours * 3600), impl, timeout_s=max_seconds + 300)
        except Exception as exc:
            long.note = f"probe failed: {exc}"
            rows.append(long)
            continue
        projected = probe["wall_s"] * hours / probe_hours
        if probe_hours >= hours or projected > max_seconds:
            long = SpeedRow(
                tool,
                long_label,
                hours * 60,
                projected,
                probe["cpu_s"] * hours / probe_hours,
                probe["peak_rss_mb"],
                probe["base_rss_mb"],
            )
            if probe_hours < hours:
                long.note = (
                    f"extrapolated from a {probe_hours:g} h run "
                    f"({probe['wall_s']:.1f} s); memory is that run's"
                )
        else:
            print(f"[speed] {tool.key}: {hours:g} h (projected {projected:.0f} s) ...", flush=True)
            try:
                r = spawn(tool, str(hours * 3600), impl, timeout_s=max(4 * projected, 600))
                long = SpeedRow(
                    tool,
                    long_label,
                    r["minutes"],
                    r["wall_s"],
                    r["cpu_s"],
                    r["peak_rss_mb"],
                    r["base_rss_mb"],
                )
            except Exception as exc:
                long.note = f"failed: {exc}"
        rows.append(long)
    return rows


# --------------------------------------------------------------------------- report


def fmt(x: float | None, digits: int = 2, pct: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{100 * x:.0f} %" if pct else f"{x:.{digits}f}"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in (
        "stridewatch",
        "numpy",
        "scipy",
        "pandas",
        "mobgap",
        "tpcp",
        "numba",
        "scikit-digital-health",
        "lightgbm",
        "scikit-learn",
        "pywavelets",
    ):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_state() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown commit (not a git checkout)"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "analysis")
    return f"commit {commit}" + (" + uncommitted changes in analysis/" if dirty else "")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    blas = (
        ", ".join(
            f"{k}={os.environ[k]}"
            for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
            if k in os.environ
        )
        or "no OPENBLAS_* overrides"
    )
    return (
        f"{cpu}, {os.cpu_count()} logical cores, {ram} RAM, "
        f"{platform.system()} {platform.release()}, {blas}"
    )


def accuracy_table(results: list[ToolAccuracy], n_recs: int) -> list[str]:
    lines = [
        "| tool | bouts | P | R | F1 | F1 per file (min–max) | F1 counting outside | "
        "F1 excl. reference gaps | steps vs ref | "
        "mean abs step err / bout | cadence abs err median (mean), spm | "
        "bouts with cadence | L/R agree | mean abs IC dt, s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for a in results:
        if len(a.errors) == n_recs:
            why = "; ".join(sorted(set(a.errors.values())))
            lines.append(f"| {a.tool.label} | – | not run: {why} |" + " |" * 11)
            continue
        p = a.pooled
        f1s = [s.f1 for s in a.per_rec.values() if np.isfinite(s.f1)]
        b = summarize_bouts(a.bouts)
        files = f" ({len(a.errors)} file(s) failed, scored as no steps)" if a.errors else ""
        lines.append(
            f"| {a.tool.label}{files} | {'true' if a.tool.given_true_bouts else 'own'} "
            f"| {fmt(p.precision)} | {fmt(p.recall)} | **{fmt(p.f1)}** "
            f"| {fmt(min(f1s))}–{fmt(max(f1s))} | {fmt(p.f1_counting_outside)} "
            f"| {fmt(p.f1_excluding_reference_gaps)} ({p.in_reference_gap} fp) "
            f"| {b.det_steps}/{b.ref_steps} ({b.step_error_pct:+.0f} %) "
            f"| {fmt(b.step_abs_error_mean, 1)} "
            f"| {fmt(b.cadence_abs_error_median, 1)} ({fmt(b.cadence_abs_error_mean, 1)}) "
            f"| {b.n_cadence}/{b.n_bouts} | {fmt(p.side_agreement, pct=True)} "
            f"| {fmt(p.mean_abs_dt_s, 3)} |"
        )
    return lines


def per_file_table(results: list[ToolAccuracy], recordings: list[Signal]) -> list[str]:
    shown = [a for a in results if len(a.errors) < len(recordings)]
    head = "| recording | ref ICs | " + " | ".join(a.tool.key for a in shown) + " |"
    lines = [head, "|---|---|" + "---|" * len(shown)]
    for rec in recordings:
        cells = ["failed" if rec.name in a.errors else fmt(a.per_rec[rec.name].f1) for a in shown]
        lines.append(f"| {rec.name} | {rec.ref_ic.size} | " + " | ".join(cells) + " |")
    return lines


def speed_table(rows: list[SpeedRow]) -> list[str]:
    lines = [
        "| tool | data | minutes of data | wall s | wall ms / min of data | "
        "CPU s | peak RSS MB (before call) | stridewatch / tool (time) | "
        "stridewatch / tool (peak RSS) | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    sw = {r.span: r for r in rows if r.tool.key == "stridewatch"}
    for r in rows:
        ref = sw.get(r.span)
        t_ratio = m_ratio = "–"
        if ref is not None and r.tool.key != "stridewatch":
            t_ratio = fmt(ref.s_per_min / r.s_per_min, 3)
            m_ratio = fmt(ref.peak_rss_mb / r.peak_rss_mb, 2)
        lines.append(
            f"| {r.tool.label} | {r.span} | {fmt(r.minutes, 1)} | {fmt(r.wall_s, 2)} "
            f"| {fmt(1000 * r.s_per_min, 1)} | {fmt(r.cpu_s, 2)} "
            f"| {fmt(r.peak_rss_mb, 0)} ({fmt(r.base_rss_mb, 0)}) | {t_ratio} | {m_ratio} "
            f"| {r.note} |"
        )
    return lines


def sweep_table(sweep: dict[str, dict[str, ToolAccuracy]]) -> list[str]:
    tools = list(next(iter(sweep.values())).keys())
    lines = [
        "| variant | " + " | ".join(f"{k} F1 | {k} ΔF1 | {k} L/R agree" for k in tools) + " |",
        "|---|" + "---|---|---|" * len(tools),
    ]
    base = {k: sweep["original"][k].pooled.f1 for k in tools}
    for variant, per_tool in sweep.items():
        cells = []
        for k in tools:
            a = per_tool[k]
            p = a.pooled
            f1 = fmt(p.f1) + (f" ({len(a.errors)} file(s) failed)" if a.errors else "")
            delta = "" if variant == "original" else f"{p.f1 - base[k]:+.2f}"
            cells += [f1, delta, fmt(p.side_agreement, pct=True)]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return lines


def write_report(
    path: Path,
    command: str,
    recordings: list[Signal],
    results: list[ToolAccuracy],
    speed: list[SpeedRow],
    sweep: dict[str, dict[str, ToolAccuracy]] | None,
    started: dt.datetime,
    impl: str,
) -> str:
    n_ref = sum(r.ref_ic.size for r in recordings)
    minutes = sum(r.minutes for r in recordings)
    lines = [
        "# stridewatch vs mobgap vs scikit-digital-health",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC (run took "
        f"{(dt.datetime.now(dt.UTC) - started).total_seconds() / 60:.1f} min)",
        f"- Machine: {machine()}",
        "- Load average (1/5/15 min) at the end of the run: "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (other work on the machine inflates wall times; real-file timings are the "
        "fastest of `--repeat` runs)",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        f"- stridewatch implementation: `{impl}` at {git_state()}",
        f"- Command (from the project root): `{command}`",
        f"- Data: {len(recordings)} recordings of mobgap-lab, {minutes:.1f} min at 100 Hz, "
        f"{n_ref} reference initial contacts in "
        f"{sum(len(r.ref_bouts) for r in recordings)} reference walking bouts.",
        "",
        "## Accuracy",
        "",
        f"Initial contacts within ±{DEFAULT_TOL_S} s, matched one-to-one; only detections "
        "inside the reference walking bouts (±0.25 s) are scored, others count neither "
        "way. P/R/F1 pooled over all files. 'bouts': *own* = the tool finds walking "
        "itself in the whole recording; *true* = the tool is run on the reference bouts "
        "only (an upper bound for its step detection). Steps vs ref: detections in the "
        "reference bouts against reference ICs. Cadence: the tool's own bout cadence "
        "(overlap-weighted) where it reports bouts, else from its ICs in the bout; "
        "error against the reference bout cadence, over the bouts where the tool gave one. "
        "L/R: share of matched steps with the same side (skdh reports no sides). "
        "'F1 counting outside' is *not* the benchmark's rule: it also counts every "
        "unmatched detection outside the reference bouts as false (for comparison with "
        "whole-recording evaluations). 'F1 excl. reference gaps' is not the benchmark's "
        "rule either: false positives between two consecutive same-side reference "
        "contacts (where the reference omits the other foot's contact; how many in "
        "brackets) are left unscored, see benchmarks/scoring.py.",
        "",
        *accuracy_table(results, len(recordings)),
        "",
        "F1 per recording:",
        "",
        *per_file_table(results, recordings),
        "",
    ]
    if speed:
        lines += [
            "## Speed",
            "",
            "Each cell is a fresh worker process (`peers.py --worker`): the input is "
            "loaded and the tool warmed up on one minute of data (imports, JIT, models), "
            "then the timed call(s) run. Wall and CPU time of the call(s) only. Peak RSS is "
            "the process's highest resident set size during the timed call(s) (Linux "
            "VmHWM, reset just before the call), with the RSS just before the call in "
            "brackets (interpreter, imported libraries and the input arrays). "
            "Ratios < 1 mean stridewatch is faster / smaller. Tiled = the real files "
            "repeated end to end into one long recording.",
            "",
            *speed_table(speed),
            "",
        ]
    if sweep:
        lines += [
            "## Robustness",
            "",
            "The same recordings with the sensor frame rotated (acceleration and "
            "angular rate both rotated; axes: x vertical, y ML, z AP) or resampled with "
            "`scipy.signal.resample_poly`; pooled F1 as above and change from the "
            "original.",
            "",
            *sweep_table(sweep),
            "",
        ]
    errors = [(a.tool.label, n, e) for a in results for n, e in a.errors.items()]
    seen = {(a.tool.key, n, e) for a in results for n, e in a.errors.items()}
    for variant, per_tool in (sweep or {}).items():
        errors += [
            (f"{a.tool.label} [{variant}]", n, e)
            for a in per_tool.values()
            for n, e in a.errors.items()
            if (a.tool.key, n, e) not in seen  # same failure as on the original: once
        ]
    if errors:
        lines += ["## Failures", ""]
        lines += [f"- {label} on {name}: {err}" for label, name, err in errors]
        lines.append("")
    text = "\n".join(lines)
    path.write_text(text)
    return text


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # mobgap's LrcUllrich models were pickled with scikit-learn 1.6.1; newer versions
    # warn on loading. Checked: same ICs, sides and F1 with 1.6.1 and 1.9.1.
    warnings.filterwarnings("ignore", message="Trying to unpickle estimator")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--impl",
        default=DEFAULT_IMPL,
        help="stridewatch analyze function as module:function (default %(default)s)",
    )
    ap.add_argument("--tools", default="", help="comma-separated tool keys to run (default: all)")
    ap.add_argument("--hours", type=float, default=24.0, help="long tiled recording length")
    ap.add_argument(
        "--probe-hours",
        type=float,
        default=1.0,
        help="shorter tiled run used to decide whether the long run is done or extrapolated",
    )
    ap.add_argument(
        "--max-seconds",
        type=float,
        default=600.0,
        help="a tool whose long run is projected longer than this is extrapolated from the probe",
    )
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument(
        "--sweep-peers",
        action="store_true",
        help="also run mobgap's healthy pipeline in the robustness sweep",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="speed on 0.5 h tiles only (probe 0.25 h); for development",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed runs on the real files, fastest reported (default %(default)s)",
    )
    ap.add_argument("--worker", nargs=2, metavar=("TOOL", "SPAN"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        worker(args.worker[0], args.worker[1], args.impl, args.repeat)
        return 0
    if args.quick:
        args.hours, args.probe_hours = 0.5, 0.25

    started = dt.datetime.now(dt.UTC)
    recordings = load_recordings()
    tools = make_tools(args.impl)
    if args.tools:
        wanted = {k.strip() for k in args.tools.split(",")}
        tools = [t for t in tools if t.key in wanted]

    results = []
    for tool in tools:
        print(f"[accuracy] {tool.key} ...", flush=True)
        res = evaluate(tool, recordings)
        print(
            f"[accuracy] {tool.key}: F1 {res.pooled.f1:.3f} ({res.seconds:.1f} s)"
            + (f", {len(res.errors)} file(s) failed" if res.errors else ""),
            flush=True,
        )
        results.append(res)

    speed: list[SpeedRow] = []
    if not args.skip_speed:
        speed = measure_speed(
            [t for t in tools if t.speed],
            args.impl,
            args.hours,
            args.probe_hours,
            args.max_seconds,
            args.repeat,
        )

    sweep = None
    sw_tools = [t for t in tools if t.key == "stridewatch"]
    if args.sweep_peers:
        sw_tools += [t for t in tools if t.key == "mobgap-healthy"]
    if not args.skip_sweep and sw_tools:
        sweep = {}
        for name, make in VARIANTS:
            print(f"[robustness] {name} ...", flush=True)
            variant = [make(r) for r in recordings]
            sweep[name] = {t.key: evaluate(t, variant, verbose=False) for t in sw_tools}

    command = shlex.join(["python", "benchmarks/peers.py", *argv])
    text = write_report(args.out, command, recordings, results, speed, sweep, started, args.impl)
    print(text)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
