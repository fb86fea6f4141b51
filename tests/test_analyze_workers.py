"""`analyze` of several inputs in worker processes: the same answers, in the same order.

The inputs are the real lower-back recordings of ../shared/data/mobgap-lab (copied to a
temporary folder with a broken file, a file of another format holding two trials and a
missing name between them), so the workers run the whole analysis on real walking.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import threading
from pathlib import Path

import pytest

from stridewatch.cli import main
from stridewatch.cli.batch import default_workers, in_order

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT.parent / "shared" / "data" / "mobgap-lab"
SAMPLES = ROOT / "tests" / "samples"


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("batch")
    walks = sorted(LAB.glob("*.csv"))
    assert len(walks) == 8, "the shared mobgap-lab recordings are missing"
    for walk in walks:
        shutil.copy(walk, folder / walk.name)
    (folder / "zz-broken.csv").write_text("t,ax,ay,az\n0.00,1,0,0\n0.01,x,0,0\n")
    return [str(folder), str(SAMPLES / "data.mat"), str(folder / "missing.csv"),
            str(LAB / walks[0].name)]


def _run(capsys, args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_workers_give_the_answers_of_one_process_in_input_order(batch, capsys):
    one = _run(capsys, ["analyze", "--json", "--workers", "1", *batch])
    two = _run(capsys, ["analyze", "--json", "--workers", "2", *batch])
    assert two == one  # exit status, every JSON line and every error line, byte for byte
    code, out, err = two
    assert code == 1  # some of several inputs failed
    answers = [json.loads(line) for line in out.splitlines()]
    # 9 files of the folder, the two trials of data.mat, the missing name, the repeat
    assert len(answers) == 13
    sources = [a["source"] for a in answers]
    assert sources[:8] == sorted(str(Path(batch[0]) / p.name) for p in LAB.glob("*.csv"))[:8]
    assert "broken" in sources[8] and "error" in answers[8]
    assert sources[9].endswith("Trial1") and sources[10].endswith("Trial2")
    assert "error" in answers[11] and sources[12] == batch[3]
    assert all(a["steps"] > 5 for k, a in enumerate(answers) if k not in (8, 11))
    assert answers[12]["initial_contacts_s"] == answers[0]["initial_contacts_s"]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "broken" in errors[0] and "missing.csv" in errors[1]


def test_the_wearer_summary_is_the_same_with_workers(batch, capsys):
    one = _run(capsys, ["analyze", "--workers", "1", batch[1], batch[3]])
    two = _run(capsys, ["analyze", "--workers", "2", batch[1], batch[3]])
    assert two == one and one[0] == 0 and one[1].count("\n\n") >= 3


@pytest.fixture(scope="module")
def damaged_trace(tmp_path_factory) -> Path:
    """A short H10 trace with two damaged notifications: its reader warns on stderr."""
    from analysis.simulate import Phase, simulate_walk
    from firmware_bridge.emulation.h10_trace import RATE_HZ, write_h10_trace

    path = tmp_path_factory.mktemp("trace") / "damaged.swtrace"
    walk = simulate_walk([Phase("walk", 40, cadence_spm=108)], fs_hz=RATE_HZ, seed=5)
    write_h10_trace(path, walk.acc, total_samples=len(walk.acc), frame_samples=36)
    lines = path.read_text().splitlines()
    data = [i for i, line in enumerate(lines) if '"fb005c82' in line]
    for i in (data[20], data[200]):
        lines[i] = lines[i].rsplit('"hex":', 1)[0] + '"hex":"02ff"}'
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_workers_warnings_come_with_its_answer(batch, damaged_trace, capsys):
    inputs = [batch[3], str(damaged_trace), batch[3]]
    one = _run(capsys, ["analyze", "--json", "--workers", "1", *inputs])
    two = _run(capsys, ["analyze", "--json", "--workers", "2", *inputs])
    assert two == one
    warned = [line for line in one[2].splitlines() if "damaged.swtrace" in line]
    assert len(warned) >= 2 and all(line.startswith("warning:") for line in warned)


def test_workers_must_be_at_least_one(capsys):
    code, _, err = _run(capsys, ["analyze", "--workers", "0", str(SAMPLES / "data.mat")])
    assert code == 2 and err.strip() == "error: --workers 0: give at least 1"


def test_default_workers_follow_the_container_quota(tmp_path):
    cores = len(os.sched_getaffinity(0))
    limit = tmp_path / "cpu.max"
    limit.write_text("max 100000\n")
    assert default_workers(limit) == cores
    limit.write_text("50000 100000\n")  # half a CPU: one worker
    assert default_workers(limit) == 1
    limit.write_text(f"{100000 * (cores + 8)} 100000\n")  # a quota above the cores
    assert default_workers(limit) == cores
    assert default_workers(tmp_path / "absent") == cores


def _pid(_item: int) -> int:
    return os.getpid()


def test_the_work_runs_in_other_processes():
    assert threading.active_count() == 1, f"threads left by earlier tests: {threading.enumerate()}"
    pids = list(in_order(_pid, list(range(40)), workers=2))
    assert pids[0] == os.getpid()  # the first is done here (it loads what the others need)
    assert set(pids[1:]) and os.getpid() not in pids[1:]
    assert not multiprocessing.active_children()  # the workers are gone afterwards


def test_a_process_running_threads_does_not_fork():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert set(in_order(_pid, list(range(10)), workers=2)) == {os.getpid()}
    finally:
        stop.set()
        other.join()


def test_prepared_workers_do_every_item():
    assert threading.active_count() == 1, f"threads left by earlier tests: {threading.enumerate()}"
    prepared = []
    pids = list(in_order(_pid, list(range(12)), workers=2,
                         prepare=lambda: prepared.append(os.getpid())))
    assert prepared == [os.getpid()] and os.getpid() not in pids and len(pids) == 12


def _die_in_a_worker(item: int) -> int:
    if item == 5 and multiprocessing.parent_process() is not None:
        os.kill(os.getpid(), signal.SIGKILL)  # a worker killed (say, out of memory)
    return item * item


def test_a_killed_worker_loses_no_answer(capsys):
    answers = list(in_order(_die_in_a_worker, list(range(30)), workers=2))
    assert answers == [i * i for i in range(30)]
    assert "a worker process stopped" in capsys.readouterr().err


def _fails_at_seven(item: int) -> int:
    if item == 7:
        raise LookupError("item seven")
    return item


def test_an_unexpected_error_comes_in_its_place():
    assert threading.active_count() == 1, f"threads left by earlier tests: {threading.enumerate()}"
    got = []
    with pytest.raises(LookupError, match="item seven") as raised:
        for answer in in_order(_fails_at_seven, list(range(40)), workers=2):
            got.append(answer)
    assert got == list(range(7))  # every answer before it, none after
    assert "in a worker process" in "".join(raised.value.__notes__)


def _slow(item: int) -> int:
    if item > 1 and multiprocessing.parent_process() is not None:
        signal.pause()  # never returns: only stopping the worker ends it
    return item


def test_stopping_early_stops_the_workers():
    assert threading.active_count() == 1, f"threads left by earlier tests: {threading.enumerate()}"
    answers = in_order(_slow, list(range(10)), workers=2)
    assert next(answers) == 0 and next(answers) == 1  # the second from a worker

    def hung(*_args: object) -> None:
        raise TimeoutError("closing waited for workers that never finish")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)  # not a speed limit: without the stop, closing never returns
    try:
        answers.close()  # the reader went away (`analyze ... | head -1`), or Ctrl-C
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert not multiprocessing.active_children()


ORPHAN_CHECK = """
import os, signal, sys, time
sys.path.insert(0, sys.argv[1])
from stridewatch.cli.batch import default_workers, in_order

def slow(item):
    if item:
        signal.pause()
    return os.getpid()

answers = in_order(slow, list(range(4)), workers=2, prepare=lambda: None)
next(answers)  # from a worker; the others wait in theirs
print(" ".join(str(p.pid) for p in __import__("multiprocessing").active_children()), flush=True)
time.sleep(600)
"""


def test_workers_die_with_their_parent(tmp_path):
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, "-c", ORPHAN_CHECK, str(ROOT)],
                             stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in child.stdout.readline().split()]
    finally:
        child.kill()  # the parent alone, as `kill -9 PID` or a timeout does
        child.wait()
    assert workers
    for _ in range(600):  # not a time limit: the workers' exit is what is checked
        if not any(Path(f"/proc/{pid}").exists() and "zombie" not in
                   Path(f"/proc/{pid}/status").read_text() for pid in workers):
            break
        time.sleep(0.05)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()
             and "(zombie)" not in Path(f"/proc/{pid}/status").read_text()]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "workers outlived their parent"
