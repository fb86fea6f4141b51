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
from stridewatch.cli.batch import in_order

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


def test_workers_must_be_at_least_one(capsys):
    code, _, err = _run(capsys, ["analyze", "--workers", "0", str(SAMPLES / "data.mat")])
    assert code == 2 and err.strip() == "error: --workers 0: give at least 1"


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
