"""Fuzz `stridewatch analyze` with mutated traces and CSVs (issue 16); seeded, prints counts.

    python benchmarks/fuzz.py [--traces 1000] [--csvs 1000] [--seed 16] [--save]

Each case is a mutation (1-3 of: flipped bytes, deleted/duplicated/swapped lines,
extreme numbers, lying header rates, times in ms, repeated clocks, deep nesting,
long lines, truncation, ...) of a 40 s walk or of 40 s of noise, as a Polar H10 trace,
a micro:bit trace or a CSV. It runs in a forked child (the parent's imports shared)
with a 30 s timeout; peak memory comes from the child's rusage. Printed:
tracebacks, timeouts at 30 s, over 2 GB, and successes with absurd output (NaN,
duration beyond the data, cadence outside 30-250, steps from noise); all should be 0.
``--save``: each case is also saved into a session store in the temporary folder
(``analyze --save --db``), as a clinician files it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.simulate import Phase, simulate_walk  # noqa: E402
from firmware_bridge.emulation.h10_trace import write_h10_trace  # noqa: E402
from firmware_bridge.emulation.microbit_trace import write_microbit_trace  # noqa: E402
from stridewatch.cli import main  # noqa: E402

TIMEOUT_S = 30.0
MEMORY_LIMIT_BYTES = 2 * 1024**3
EXTREMES = ["1e308", "-1e308", "-1", "0", "1e-7", "1e15", "NaN", "Infinity", "9" * 300, "1.5",
            '"x"', "null", "[]", "{}", "true"]


def _walk(fs_hz: float) -> np.ndarray:
    return simulate_walk([Phase("stand", 5), Phase("walk", 35, cadence_spm=105)],
                         fs_hz=fs_hz, noise_g=0.01, seed=16).acc


def _noise(fs_hz: float, rng: np.random.Generator) -> np.ndarray:
    n = int(40 * fs_hz)
    return np.c_[rng.normal(0, 0.3, (n, 2)), 1 + rng.normal(0, 0.3, n)]


def base_inputs(folder: Path) -> dict[str, tuple[bytes, bool]]:
    """name -> (file bytes, is noise)."""
    rng = np.random.default_rng(16)
    out = {}
    for label, acc200, acc50, noise in (("walk", _walk(200), _walk(50), False),
                                        ("noise", _noise(200, rng), _noise(50, rng), True)):
        write_h10_trace(folder / f"{label}-h10.swtrace", acc200)
        write_microbit_trace(folder / f"{label}-microbit.swtrace", acc50)
        t = np.arange(len(acc50)) / 50.0 + rng.normal(0, 0.001, len(acc50))
        t = np.sort(t)
        rows = "\n".join(f"{a:.4f},{x:.4f},{y:.4f},{z:.4f}" for a, (x, y, z) in zip(t, acc50,
                                                                                     strict=True))
        (folder / f"{label}.csv").write_text("t,ax,ay,az\n" + rows + "\n")
        for name in (f"{label}-h10.swtrace", f"{label}-microbit.swtrace", f"{label}.csv"):
            out[name] = ((folder / name).read_bytes(), noise)
    return out


# ---------------------------------------------------------------- mutations (on lines)

def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def m_flip(data: bytes, r: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(r.randint(1, 8)):
        b[r.randrange(len(b))] = r.randrange(256)
    return bytes(b)


def m_delete_line(data: bytes, r: random.Random) -> bytes:
    lines = _lines(data)
    del lines[r.randrange(1, len(lines))]
    return b"\n".join(lines)


def m_duplicate_lines(data: bytes, r: random.Random) -> bytes:
    lines = _lines(data)
    i = r.randrange(1, len(lines))
    k = r.randint(1, 50)
    return b"\n".join(lines[:i] + lines[i:i + k] * r.randint(2, 3) + lines[i + k:])


def m_swap_lines(data: bytes, r: random.Random) -> bytes:
    lines = _lines(data)
    i = r.randrange(1, len(lines) - 2)
    j = min(len(lines) - 2, i + r.randint(1, 20))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def m_number(data: bytes, r: random.Random) -> bytes:
    """Replace one number in a random line (header included) by an extreme value."""
    lines = _lines(data)
    for _ in range(10):
        i = r.randrange(len(lines))
        text = lines[i].decode("utf-8", "replace")
        spots = [k for k, ch in enumerate(text) if ch.isdigit() and (k == 0 or not
                                                                    text[k - 1].isdigit())]
        if spots:
            k = r.choice(spots)
            end = k
            while end < len(text) and (text[end].isdigit() or text[end] in ".e-+"):
                end += 1
            value = r.choice(EXTREMES)
            lines[i] = (text[:k] + value + text[end:]).encode()
            break
    return b"\n".join(lines)


def m_header_rate(data: bytes, r: random.Random) -> bytes:
    lines = _lines(data)
    rate = r.choice(["0.5", "1", "5", "12.5", "1e6", "-3", "0", "2000", "3000"])
    if data.startswith(b"{"):
        head = json.loads(lines[0])
        head.setdefault("config", {})["sample_rate_hz"] = float(rate)
        lines[0] = json.dumps(head).encode()
    return b"\n".join(lines)


def m_scale_times(data: bytes, r: random.Random) -> bytes:
    """All event/row times × 1000 (ms), × 0.001, or all equal."""
    how = r.choice(["ms", "tiny", "equal"])
    out = []
    for n, line in enumerate(_lines(data)):
        if n == 0 or not line:
            out.append(line)
            continue
        try:
            if line.startswith(b"{"):
                event = json.loads(line)
                t = event["t"]
                event["t"] = t * 1000 if how == "ms" else t / 1000 if how == "tiny" else 1.0
                out.append(json.dumps(event).encode())
            else:
                t, rest = line.split(b",", 1)
                v = float(t)
                v = v * 1000 if how == "ms" else v / 1000 if how == "tiny" else 1.0
                out.append(repr(v).encode() + b"," + rest)
        except (ValueError, KeyError, TypeError):
            out.append(line)
    return b"\n".join(out)


def m_repeat_stamps(data: bytes, r: random.Random) -> bytes:
    """PMD frames: copy one frame's device stamp onto a run of frames."""
    lines = _lines(data)
    frames = [i for i, line in enumerate(lines) if b'"hex":"02' in line]
    if len(frames) < 3:
        return m_swap_lines(data, r)
    a = r.randrange(len(frames) - 2)
    stamp = json.loads(lines[frames[a]])["hex"][2:18]
    for i in frames[a:a + r.randint(2, len(frames))]:
        event = json.loads(lines[i])
        event["hex"] = event["hex"][:2] + stamp + event["hex"][18:]
        lines[i] = json.dumps(event).encode()
    return b"\n".join(lines)


def m_garbage_line(data: bytes, r: random.Random) -> bytes:
    lines = _lines(data)
    junk = r.choice([b"[" * 4096, b"{" * 2000 + b"}" * 2000, b"x" * 100_000, b"\xff\xfe\x00",
                     b"," * 30_000, b'{"t":1,"ev":"notify","char":"x","hex":"zz"}', b"",
                     b'{"t":1e308,"ev":"mark","label":"far"}', b"0.5" + b",1" * 5000])
    lines.insert(r.randrange(1, len(lines)), junk)
    return b"\n".join(lines)


def m_truncate(data: bytes, r: random.Random) -> bytes:
    return data[: r.randrange(len(data))]


def m_burst(data: bytes, r: random.Random) -> bytes:
    """CSV: a burst of rows 1e-7 s apart at the start."""
    lines = _lines(data)
    if data.startswith(b"{"):
        return m_garbage_line(data, r)
    burst = [f"{k * 1e-7:.7f},0.01,0.02,0.99".encode() for k in range(r.randint(10, 800))]
    return b"\n".join(lines[:1] + burst + [b"%.3f" % (float(x.split(b",")[0]) + 0.1) + b","
                                           + x.split(b",", 1)[1] for x in lines[1:] if x])


def m_units(data: bytes, r: random.Random) -> bytes:
    """CSV: acceleration × 9.81 (m/s²) or / 1000 (kg-units nonsense)."""
    if data.startswith(b"{"):
        return m_flip(data, r)
    factor = r.choice([9.81, 0.001, 1000.0])
    out = _lines(data)[:1]
    for line in _lines(data)[1:]:
        parts = line.split(b",")
        if len(parts) == 4:
            with contextlib.suppress(ValueError):
                parts[1:] = [repr(float(p) * factor).encode() for p in parts[1:]]
        out.append(b",".join(parts))
    return b"\n".join(out)


MUTATIONS = [m_flip, m_delete_line, m_duplicate_lines, m_swap_lines, m_number, m_header_rate,
             m_scale_times, m_repeat_stamps, m_garbage_line, m_truncate, m_burst, m_units]


# ---------------------------------------------------------------- running one case

def _data_span_s(data: bytes, is_trace: bool) -> float:
    """How much time the file's own stamps can justify (host span, or CSV t span)."""
    values = []
    for line in _lines(data)[1:]:
        try:
            v = float(json.loads(line)["t"]) if is_trace else float(line.split(b",")[0])
        except Exception:  # noqa: BLE001, S112 - unparsable lines justify nothing
            continue
        if math.isfinite(v):
            values.append(v)
    if len(values) < 2:
        return 0.0
    v = np.sort(np.array(values))
    # times written in ms are legitimately divided by 1000; any span counts
    return float(v[-1] - v[0])


def _absurd(session: dict, noise: bool, span_s: float, is_trace: bool) -> str | None:
    text = json.dumps(session)
    if "NaN" in text or "Infinity" in text:
        return "NaN in output"
    duration = session.get("duration_s") or 0.0
    if duration > max(span_s, span_s / 1000.0 if is_trace else span_s) * 1.05 + 2.0 and not (
        is_trace and duration <= 45.0
    ):
        return f"duration {duration} s beyond the data ({span_s:.1f} s)"
    cadence = session.get("cadence_spm")
    if cadence is not None and not 30 <= cadence <= 250:
        return f"cadence {cadence}"
    if noise and session.get("steps", 0) > 0:
        return f"{session['steps']} steps from noise"
    return None


def run_case(path: Path, save_to: Path | None = None) -> dict:
    out, err = io.StringIO(), io.StringIO()
    save = [] if save_to is None else ["--save", "--db", str(save_to)]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["analyze", "--json", str(path), *save])
        except SystemExit as exc:
            code = exc.code
        except BaseException:  # noqa: BLE001 - the point is to find these
            return {"outcome": "traceback", "detail": traceback.format_exc(limit=-3)}
    if "Traceback" in err.getvalue():
        return {"outcome": "traceback", "detail": err.getvalue()[-600:]}
    if code == 0:
        try:
            return {"outcome": "ok", "session": json.loads(out.getvalue().splitlines()[0])}
        except (json.JSONDecodeError, IndexError):
            return {"outcome": "traceback", "detail": "exit 0 without a JSON line"}
    errors = [line for line in err.getvalue().splitlines() if line.startswith("error: ")]
    if code == 2 and errors:
        return {"outcome": "error", "detail": errors[0][:200]}
    return {"outcome": "traceback", "detail": f"exit {code}: {err.getvalue()[-300:]}"}


def in_child(path: Path, save_to: Path | None = None) -> tuple[dict, float, float]:
    """Run one case in a forked child; (result, seconds, peak RSS bytes)."""
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        try:
            soft = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 + MEMORY_LIMIT_BYTES
            resource.setrlimit(resource.RLIMIT_AS, (soft * 2, soft * 2))  # runaway guard only
            result = run_case(path, save_to)
        except MemoryError:
            result = {"outcome": "memory", "detail": "MemoryError"}
        with os.fdopen(write_fd, "w") as pipe:
            pipe.write(json.dumps(result))
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        os.set_blocking(pipe.fileno(), False)
        chunks = []
        while True:
            waited, status, usage = os.wait4(pid, os.WNOHANG)
            with contextlib.suppress(BlockingIOError, TypeError):
                part = pipe.read()
                if part:
                    chunks.append(part)
            if waited:
                break
            if time.monotonic() - started > TIMEOUT_S:
                os.kill(pid, signal.SIGKILL)
                _, status, usage = os.wait4(pid, 0)
                return {"outcome": "timeout"}, TIMEOUT_S, usage.ru_maxrss * 1024
            time.sleep(0.005)
        with contextlib.suppress(BlockingIOError, TypeError):
            chunks.append(pipe.read() or "")
    seconds = time.monotonic() - started
    try:
        result = json.loads("".join(chunks))
    except json.JSONDecodeError:
        result = {"outcome": "traceback", "detail": f"child died (status {status})"}
    return result, seconds, usage.ru_maxrss * 1024


def main_fuzz() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1000)
    parser.add_argument("--csvs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--show", type=int, default=5, help="examples shown per failure kind")
    parser.add_argument("--save", action="store_true", help="also save each case (--save)")
    args = parser.parse_args()
    r = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bases = base_inputs(folder)
        plan = ([n for n in bases if n.endswith(".swtrace")],
                [n for n in bases if n.endswith(".csv")])
        counts: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}
        peak_rss = 0.0
        slowest = 0.0
        total = {"trace": args.traces, "csv": args.csvs}
        for kind, names in zip(("trace", "csv"), plan, strict=True):
            for case in range(total[kind]):
                name = r.choice(names)
                data, noise = bases[name]
                chosen = r.sample(MUTATIONS, r.randint(1, 3))
                for mutate in chosen:
                    if len(data) > 2:
                        try:
                            data = mutate(data, r)
                        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
                            data = m_flip(data, r)  # an earlier mutation left no structure
                path = folder / f"case-{kind}-{case}{Path(name).suffix}"
                path.write_bytes(data)
                result, seconds, rss = in_child(path, folder / "store.db" if args.save else None)
                peak_rss, slowest = max(peak_rss, rss), max(slowest, seconds)
                outcome = result["outcome"]
                if outcome == "ok":
                    why = _absurd(result["session"], noise, _data_span_s(data, kind == "trace"),
                                  kind == "trace")
                    outcome = "absurd" if why else "ok"
                    result["detail"] = why
                if rss > MEMORY_LIMIT_BYTES:
                    outcome = "memory"
                counts[outcome] += 1
                if outcome not in ("ok", "error"):
                    label = f"{kind} {case} {name} [{', '.join(m.__name__ for m in chosen)}]"
                    examples.setdefault(outcome, []).append(
                        f"{label}: {str(result.get('detail'))[-400:]}")
                path.unlink()
    print(f"fuzz seed {args.seed}: {args.traces} mutated traces, {args.csvs} mutated CSVs")
    print(f"  clean errors (exit 2)        {counts['error']}")
    print(f"  analysed (exit 0)            {counts['ok'] + counts['absurd']}")
    print(f"  tracebacks                   {counts['traceback']}")
    print(f"  timeouts at {TIMEOUT_S:g} s            {counts['timeout']}")
    print(f"  over 2 GB                    {counts['memory']}")
    print(f"  successes with absurd output {counts['absurd']}")
    print(f"  slowest case {slowest:.1f} s, largest peak RSS {peak_rss / 1e6:.0f} MB")
    for outcome, lines in examples.items():
        print(f"\n{outcome}: {len(lines)}")
        for line in lines[: args.show]:
            print("  " + line.replace("\n", " | "))
    bad = counts["traceback"] + counts["timeout"] + counts["memory"] + counts["absurd"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main_fuzz())
