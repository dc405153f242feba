"""agent_scorecards from cells counted in DuckDB (issue 20), step by step, in CPU seconds.

    .venv/bin/python benchmarks/bench_scorecards_cells.py DATA [--good-bad]

DATA: a data set folder (the large preset: through the shared lock, flock /tmp/large.lock). --good-bad first
writes DATA's good/bad variant (CSAT 4–5 good, 1–3 bad; ``_quarterly.good_bad_variant``) into a temporary folder.
Prints the CPU seconds (this process, every thread) of the steps a quarterly run shares through its cache — the
agent model and the survey screen — and of the study's own part (the ordinal check, the top-box glmer, NPS and
the table), and the peak resident memory. CPU rather than wall: the machine is shared.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def cpu_step(label: str, run):
    """Run `run()`, print its CPU and wall seconds, return its result."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = run()
    print(f"  {label:40s} {time.process_time() - cpu:8.1f} CPU-s {time.perf_counter() - wall:8.1f} s wall", flush=True)
    return out


def main(data: str, good_bad: bool) -> int:
    from upstream.data.sql import open_dataset
    from upstream.studies import agent_scorecards, steps
    from upstream.studies.base import Parameters, RunCache

    folder = Path(tempfile.mkdtemp(prefix="bench-scorecards-")) if good_bad else None
    try:
        if good_bad:
            from _quarterly import good_bad_variant
            data = str(cpu_step("good/bad variant written", lambda: good_bad_variant(data, folder)))
        ds = cpu_step("open (no validation)", lambda: open_dataset(data, engine="duckdb", validate=False))
        params, cache = Parameters.from_mapping({}), RunCache()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cpu_step("agent model (shared in a run)", lambda: steps.agent_model(ds, params, cache))
            cpu_step("survey screen (shared in a run)", lambda: steps.survey_screen(ds, params, cache))
            result = cpu_step("agent_scorecards given those", lambda: agent_scorecards.run(ds, params, cache))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"  {len(result.tables['scorecards']):,} agents; peak {peak:.2f} GB resident")
        for line in result.health:
            print(f"  health: {line}")
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--good-bad", action="store_true", help="the data set's good/bad variant")
    args = parser.parse_args()
    sys.exit(main(args.data, args.good_bad))
