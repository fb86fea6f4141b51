"""Guard for work that must change no result: record the analysis output, compare later.

Runs ``stridewatch analyze --json`` (in process) on every recording of
../shared/data/mobgap-lab and ../shared/data/stroke-treadmill, on data/sample-walk.csv
(with and without
``--calibrate 2:12``) and on a 3 h real-signal day (benchmarks/realday.py,
fixed seed: it crosses many 300 s chunk boundaries and a few gaps), and keeps
each whole session object (steps to the sample, sides, bouts, flags, series,
warnings).

    python benchmarks/result_guard.py record /tmp/guard.json   # at the reference commit
    python benchmarks/result_guard.py check /tmp/guard.json    # after a change

``check`` prints every field that differs and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from realday import LAB, write_day  # noqa: E402

STROKE = ROOT.parent / "shared" / "data" / "stroke-treadmill"

from stridewatch.cli import main as cli_main  # noqa: E402

DAY_HOURS = 3.0


def _run(args: list[str]) -> tuple[list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(["analyze", "--json", *args])
    if code != 0:
        raise SystemExit(f"analyze {args} exited {code}: {err.getvalue()}")
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def collect(day: Path) -> dict[str, dict]:
    cases: dict[str, list[str]] = {}
    for path in sorted(LAB.glob("*.csv")) + sorted(STROKE.glob("*.csv")):
        cases[path.name] = [str(path)]  # the stroke walks have a gyro: sides, asymmetry
    sample = ROOT / "data" / "sample-walk.csv"
    cases["sample-walk.csv"] = [str(sample)]
    cases["sample-walk.csv --calibrate 2:12"] = ["--calibrate", "2:12", str(sample)]
    cases[f"realday {DAY_HOURS:g} h"] = [str(day)]
    results = {}
    for name, args in cases.items():
        try:
            sessions, stderr = _run(args)
        except SystemExit as exc:  # a refused file is a result too (e.g. too short)
            results[name] = {"refused": str(exc).split(": ", 1)[-1].strip()}
            continue
        session = sessions[0]
        session.pop("source")
        header = session.get("recording") or {}
        if header.get("started_at_source") == "file modified":  # when the file was written,
            header.pop("started_at")  # not a result (a checkout or copy changes it)
        session["stderr"] = stderr
        results[name] = session
    return results


def differences(old: object, new: object, where: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if key not in old or key not in new:
                out.append(f"{where}.{key}: only in {'new' if key in new else 'recorded'}")
            else:
                out.extend(differences(old[key], new[key], f"{where}.{key}"))
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} items recorded, {len(new)} now"]
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out.extend(differences(a, b, f"{where}[{i}]"))
        return out
    return [] if old == new else [f"{where}: recorded {old!r}, now {new!r}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["record", "check"])
    parser.add_argument("file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        day = Path(tmp) / "realday.csv"
        write_day(day, DAY_HOURS, seed=7)
        results = collect(day)
    if args.mode == "record":
        Path(args.file).write_text(json.dumps(results, indent=1))
        print(f"recorded {len(results)} results in {args.file}")
        return 0
    recorded = json.loads(Path(args.file).read_text())
    found = differences(recorded, results)
    for name in results:
        steps = results[name].get("steps")
        changed = sum(line.startswith(f".{name}.") for line in found)
        print(f"{name}: {steps} steps, {len(results[name].get('flags', []))} flags"
              + (f" — {changed} fields CHANGED" if changed else " — unchanged"))
    if found:
        print(f"RESULTS CHANGED ({len(found)} differences):")
        for line in found[:50]:
            print("  " + line)
        return 1
    print(f"this work changes no result: {len(results)} analyses identical to {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
