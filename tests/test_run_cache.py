"""RunCache computes each key once per run across processes (two notebook kernels started together)."""
from __future__ import annotations

import multiprocessing
import os
import time

from upstream.studies import RunCache

FORK = multiprocessing.get_context("fork")


def _counted_compute(calls, value, pause=0.0):
    """A compute that records each call (one line per call in `calls`) and takes `pause` seconds (long enough
    for another process to ask for the same key meanwhile)."""
    def compute():
        with open(calls, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(pause)
        return value
    return compute


def _ask(folder, calls, value, start, results):
    start.wait()                                  # both processes ask at the same moment
    got = RunCache(folder).get("agent_model", _counted_compute(calls, value, 0.4), data="abc", n_boot=100)
    results.put(got)


def test_two_processes_compute_a_key_once(tmp_path):
    """Two processes sharing a folder ask for one key together: one computes it, the other waits and loads it."""
    calls, start, results = tmp_path / "calls.txt", FORK.Barrier(2), FORK.Queue()
    workers = [FORK.Process(target=_ask, args=(tmp_path / "cache", calls, {"sd": 0.361, "by": who}, start, results))
               for who in ("first", "second")]
    for worker in workers:
        worker.start()
    got = [results.get(timeout=20) for _ in workers]
    for worker in workers:
        worker.join(timeout=20)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert len(calls.read_text().splitlines()) == 1
    assert got[0] == got[1] and got[0]["sd"] == 0.361
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if p.suffix == ".pkl") == [
        f"{RunCache.key('agent_model', data='abc', n_boot=100)}.pkl"]


def _die_computing(folder):
    def compute():
        os._exit(3)                               # a kernel killed while it holds the key's lock
    RunCache(folder).get("agent_model", compute, data="abc")


def test_a_process_that_dies_holding_the_lock_leaves_no_deadlock(tmp_path):
    """The kernel releases a dead process's lock: the next process computes the key itself."""
    worker = FORK.Process(target=_die_computing, args=(tmp_path,))
    worker.start()
    worker.join(timeout=20)
    assert worker.exitcode == 3
    assert not list(tmp_path.glob("*.pkl"))
    calls = tmp_path / "calls.txt"
    assert RunCache(tmp_path).get("agent_model", _counted_compute(calls, 0.5), data="abc") == 0.5
    assert RunCache(tmp_path).get("agent_model", _counted_compute(calls, 9.0), data="abc") == 0.5   # from the pickle
    assert len(calls.read_text().splitlines()) == 1


def test_without_a_folder_the_cache_is_memory_only(tmp_path):
    calls = tmp_path / "calls.txt"
    cache = RunCache()
    assert cache.get("survey_screen", _counted_compute(calls, 1.5), z=2.0) == 1.5
    assert cache.get("survey_screen", _counted_compute(calls, 7.0), z=2.0) == 1.5
    assert RunCache().get("survey_screen", _counted_compute(calls, 7.0), z=2.0) == 7.0
    assert len(calls.read_text().splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["calls.txt"]


def test_a_sql_table_is_made_once_while_its_query_is_the_same():
    """SqlEngine.table_once makes `replies` anew only when asked for other replies (trends asked three times)."""
    from upstream.data.sql.engines import DuckDBEngine

    engine = DuckDBEngine(threads=1)
    engine.table("numbers", "SELECT * FROM range(10) t(x)")
    assert engine.table_once("replies", "SELECT x FROM numbers WHERE x < 4") is True
    engine.con.execute("INSERT INTO replies VALUES (99)")        # a remade table would lose this row
    assert engine.table_once("replies", "SELECT x FROM numbers WHERE x < 4") is False
    assert engine.rows("SELECT count(*), max(x) FROM replies") == [(5, 99)]
    assert engine.table_once("replies", "SELECT x FROM numbers WHERE x < 7") is True
    assert engine.rows("SELECT count(*), max(x) FROM replies") == [(7, 6)]
