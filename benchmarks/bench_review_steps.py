"""Seconds (wall and CPU), peak memory and a profile of the quarterly review's shared steps and of the studies
no other issue-20 branch cuts, in one process with one run cache folder, as a notebook kernel runs them.

    python benchmarks/bench_review_steps.py DATA_DIR [--phases validate,agent_model,...] [--profile DIR]

Phases, in this order (each given the run cache the earlier ones filled): ``validate`` (open_dataset with
validate=True, as the runner does once per run), ``open`` (without), ``agent_model`` and ``survey_screen``
(steps), then the studies agent_vs_system, policy_friction, comment_sentiment, trends and qa_sample. CPU seconds
are the process's (every DuckDB and BLAS thread); peak is ru_maxrss so far. ``--profile DIR`` writes a cProfile
of each phase and prints its 15 largest cumulative upstream functions.
"""
from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import resource
import tempfile
import time
from pathlib import Path

STUDIES = ("agent_vs_system", "policy_friction", "comment_sentiment", "trends", "qa_sample")
PHASES = ("validate", "open", "agent_model", "survey_screen", *STUDIES)


def phase_call(name: str, data: Path, state: dict):
    """The callable of one phase; `state` carries the open data set and the run cache between phases."""
    from upstream.data.sql import open_dataset
    from upstream.studies import Parameters, RunCache, steps

    if name in ("validate", "open"):
        return lambda: state.update(ds=open_dataset(data, engine="duckdb", validate=name == "validate"))
    cache = RunCache(state["cache_dir"])
    if name in ("agent_model", "survey_screen"):
        return lambda: getattr(steps, name)(state["ds"], Parameters(), cache)
    study = importlib.import_module(f"upstream.studies.{name}")
    return lambda: study.run(state["ds"], {"reliability_threshold": 0.7, "show_names": False}, cache)


def measure(name: str, call, profile_dir: Path | None) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    profiler = cProfile.Profile(time.process_time) if profile_dir else None   # CPU of every thread
    if profiler:
        profiler.enable()
    call()
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{name:18s} wall {wall:7.1f} s  cpu {cpu:7.1f} s  peak so far {peak:5.2f} GB", flush=True)
    if profiler:
        path = profile_dir / f"{name}.prof"
        profiler.dump_stats(path)
        stats = pstats.Stats(str(path))
        stats.sort_stats("cumulative").print_stats(r"upstream/", 15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=None, help="the run cache folder (default: a new one)")
    args = parser.parse_args()
    phases = args.phases.split(",")
    if "validate" not in phases and "open" not in phases:
        phases.insert(0, "open")
    state = {"cache_dir": args.cache or Path(tempfile.mkdtemp(prefix="review-cache-"))}
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    for name in phases:
        measure(name, phase_call(name, args.data, state), args.profile)


if __name__ == "__main__":
    main()
