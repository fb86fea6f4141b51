"""Cohort runs: the in-process engine and Dask (LocalCluster) give the same tables, a killed
worker loses and doubles nothing, --resume finishes only what an interrupted run left."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.simulate import Phase, simulate_walk
from stridewatch.cli import main
from stridewatch.cohort.run import run_cohort

N_WALKS = 6


def write_walk(path: Path, seed: int, cadence_spm: float) -> list[float]:
    sim = simulate_walk([Phase("stand", 5), Phase("walk", 60, cadence_spm=cadence_spm)],
                        fs_hz=100.0, seed=seed)
    frame = pd.DataFrame({"t": sim.t_s, "ax": sim.acc[:, 0], "ay": sim.acc[:, 1],
                          "az": sim.acc[:, 2]})
    frame.to_csv(path, index=False, float_format="%.5f")
    return list(sim.truth["initial_contacts"])


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> tuple[list[Path], dict[str, int]]:
    folder = tmp_path_factory.mktemp("cohort")
    paths, true_steps = [], {}
    for k in range(N_WALKS):
        path = folder / f"walk-{k}.csv"
        true_steps[str(path)] = len(write_walk(path, seed=k, cadence_spm=100 + 4 * k))
        paths.append(path)
    broken = folder / "broken.csv"
    broken.write_text("t,ax,ay\n0,1,2\n")
    paths.insert(2, broken)
    return paths, true_steps


def tables(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in
            ("sessions", "bouts", "steps")}


def test_in_process_tables_hold_every_session_bout_and_step(cohort, tmp_path, capsys):
    paths, true_steps = cohort
    out = tmp_path / "out"
    assert main(["analyze", "--out", str(out), *map(str, paths)]) == 1  # one input failed
    err = capsys.readouterr().err
    assert "error: " in err and "broken.csv, line 1: missing column(s) az" in err
    t = tables(out)
    sessions = t["sessions"]
    assert list(sessions["source"]) == [str(p) for p in paths]  # input order
    failed = sessions[sessions["error"].notna()]
    assert list(failed["source"]) == [str(paths[2])] and failed["steps"].isna().all()
    ok = sessions[sessions["error"].isna()].set_index("source")
    for source, truth in true_steps.items():  # steps found against the simulation's truth
        assert abs(ok.loc[source, "steps"] - truth) <= 2
    assert len(t["steps"]) == ok["steps"].sum()
    assert (t["steps"].groupby("source").size() == ok["steps"]).all()
    assert set(t["steps"]["side"]) <= {"L", "R", "?"}
    assert t["bouts"].groupby("source")["steps"].sum().le(ok["steps"]).all()
    assert {"duration_s", "walking_s", "cadence_spm", "sagittal_deg_median",
            "step_time_si_pct", "content_sha256"} <= set(sessions.columns)
    lines = (out / "sessions.jsonl").read_text().splitlines()
    assert [json.loads(line)["source"] for line in lines] == [str(p) for p in paths]
    error = json.loads(lines[2])
    assert error["schema"] == "stridewatch.error/1" and error["source"] == str(paths[2])
    assert error["error"].startswith(f"{paths[2]}, line 1: missing column(s) az")
    capsys.readouterr()
    assert main(["analyze", "--json", str(paths[2])]) == 2  # the error object analyze prints
    assert json.loads(capsys.readouterr().out) == error
    # and a session line is analyze's session, warnings and input included; only the
    # recording header (local times of the machine that analysed it) is left out
    assert main(["analyze", "--json", str(paths[0])]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer.pop("recording") and answer["input"]["format"] == "csv"
    assert json.loads(lines[0]) == answer


@pytest.mark.parametrize("grouped", [False, True], ids=["one-per-task", "grouped"])
def test_dask_tables_equal_in_process_even_when_a_worker_is_killed(cohort, tmp_path, grouped,
                                                                   monkeypatch):
    import distributed  # the 'cluster' extra (in 'test'): a missing one fails, not skips

    from stridewatch.cohort import dask_engine

    paths, _ = cohort
    if grouped:  # 7 inputs on 2 workers in groups of 3, 3, 1: a killed worker loses a group
        monkeypatch.setattr(dask_engine, "MIN_GROUPS_PER_WORKER", 1)
        items = [(i, str(p), None) for i, p in enumerate(paths)]
        assert [len(g) for g in dask_engine.plan_groups(items, 2)] == [3, 3, 1]
    local = tmp_path / "local"
    run_cohort(paths, local, progress=None)

    killed: list[tuple[str, list[str]]] = []
    # one per task on a default LocalCluster (as an existing cluster may be set up); grouped
    # on the cluster a run starts itself (every task handed out at once: the dead worker's
    # queue goes elsewhere too)
    cluster = (dask_engine.start_local_cluster(2) if grouped else
               distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                        dashboard_address=None))
    with cluster, distributed.Client(cluster) as client:

        def kill_a_busy_worker(_result: dict) -> None:
            if killed:
                return
            for address, keys in client.processing().items():
                if keys:
                    pid = client.run(os.getpid, workers=[address])[address]
                    os.kill(pid, signal.SIGKILL)
                    killed.append((address, list(keys)))
                    return

        seen: list[str] = []
        summary = run_cohort(paths, tmp_path / "dask", engine="dask", client=client,
                             progress=None,
                             on_result=lambda r: (seen.append(r["source"]),
                                                  kill_a_busy_worker(r)))
    assert killed, "no worker was busy when the first result came back"
    assert sorted(seen) == sorted(map(str, paths))  # each recording kept exactly once
    assert (summary.analysed, summary.failed) == (N_WALKS, 1)
    for name, frame in tables(local).items():
        pd.testing.assert_frame_equal(tables(tmp_path / "dask")[name], frame, obj=name)
    assert (tmp_path / "dask" / "sessions.jsonl").read_text() == \
        (local / "sessions.jsonl").read_text()


def test_resume_after_an_interrupted_run_finishes_only_the_missing(cohort, tmp_path):
    paths, _ = cohort
    out = tmp_path / "out"
    analysed: list[str] = []

    def interrupt_after_three(result: dict) -> None:
        analysed.append(result["source"])
        if len(analysed) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_cohort(paths, out, progress=None, on_result=interrupt_after_three)
    assert len(tables(out)["sessions"]) == 3  # what it finished is in the tables

    analysed.clear()
    def note(result: dict) -> None:
        analysed.append(result["source"])

    summary = run_cohort(paths, out, resume=True, progress=None, on_result=note)
    assert sorted(analysed) == sorted(map(str, paths[2:]))  # the failed one is tried again
    assert (summary.skipped, summary.analysed, summary.failed) == (2, N_WALKS - 2, 1)
    full = tables(out)["sessions"]
    assert list(full["source"]) == [str(p) for p in paths]

    # a recording whose content changed is analysed again; the others are kept
    changed = paths[4]
    text = changed.read_text().splitlines()
    text[-1] = ",".join(text[-1].split(",")[:-1] + ["0.12345"])
    changed.write_text("\n".join(text) + "\n")
    try:
        analysed.clear()
        run_cohort(paths, out, resume=True, progress=None, on_result=note)
        assert sorted(analysed) == sorted([str(changed), str(paths[2])])
        after = tables(out)["sessions"].set_index("source")
        assert after.loc[str(changed), "content_sha256"] != \
            full.set_index("source").loc[str(changed), "content_sha256"]
    finally:
        write_walk(changed, seed=3, cadence_spm=112)


def test_identical_results_do_not_depend_on_arrival_order(cohort, tmp_path):
    paths, _ = cohort
    a, b = tmp_path / "a", tmp_path / "b"
    run_cohort(paths, a, progress=None)
    run_cohort(list(reversed(paths)), b, progress=None)
    sa_, sb = tables(a)["sessions"], tables(b)["sessions"]
    assert list(sb["source"]) == list(reversed(list(sa_["source"])))
    merged = sb.set_index("source").loc[list(sa_["source"])].reset_index()
    pd.testing.assert_frame_equal(merged, sa_)
    assert np.isfinite(sa_["cadence_spm"].dropna()).all()


def test_groups_follow_input_size_and_keep_every_worker_busy(tmp_path):
    from stridewatch.cohort.dask_engine import GROUP_TARGET_BYTES, plan_groups

    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_bytes(b"x" * (GROUP_TARGET_BYTES // 10))
    big.write_bytes(b"x" * (GROUP_TARGET_BYTES * 2))
    items = [(i, str(small), None) for i in range(400)]
    groups = plan_groups(items, n_workers=2)
    assert [item for group in groups for item in group] == items  # all, once, in order
    assert {len(g) for g in groups[:-1]} == {10}  # ~GROUP_TARGET_BYTES of input each
    # a long recording is a task of its own; a missing file (fails fast) counts as nothing
    mixed = [(0, str(small), None), (1, str(big), None), (2, str(small), None),
             (3, str(tmp_path / "missing.csv"), None)] * 100
    assert all(len(g) == 1 for g in plan_groups(mixed, 2) if str(big) in {s for _, s, _ in g})
    # few recordings: at least 8 tasks per worker, so one recording per task here
    assert [len(g) for g in plan_groups(items[:15], n_workers=2)] == [1] * 15
    assert [len(g) for g in plan_groups(items[:40], n_workers=2)] == [2] * 20


def test_a_worker_keeps_results_only_where_it_sees_the_run_folder(cohort, tmp_path):
    from stridewatch.cohort.results import ResultDir
    from stridewatch.cohort.task import AnalysisOptions, analyze_group

    paths, true_steps = cohort
    items = [(0, str(paths[0]), None), (2, str(paths[2]), None)]  # a walk and the broken one
    results = ResultDir(tmp_path / "out")
    run_id = results.mark_run()
    kept = analyze_group(items, AnalysisOptions(), str(results.root), run_id)
    assert [r["source"] for r in kept] == [str(paths[0]), str(paths[2])]
    assert all(r["kept"] and "session" not in r for r in kept)  # receipts only
    assert abs(results.load(str(paths[0]))["session"]["steps"] - true_steps[str(paths[0])]) <= 2
    assert "missing column" in results.load(str(paths[2]))["error"]
    assert kept[1]["error"] == results.load(str(paths[2]))["error"]

    # a worker on another machine (no marker of this run in its view of the folder): whole
    # results go back, nothing is written there
    elsewhere = ResultDir(tmp_path / "elsewhere")
    sent = analyze_group(items, AnalysisOptions(), str(elsewhere.root), run_id)
    assert not any(r.get("kept") for r in sent)
    assert sent[0]["session"]["steps"] == results.load(str(paths[0]))["session"]["steps"]
    assert list(elsewhere.results.iterdir()) == []
    results.unmark_run(run_id)
    assert not ResultDir.sees_run(str(results.root), run_id)
