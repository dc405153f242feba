"""channel_audit from SQL aggregates (issue 20): CPU seconds (user + sys), wall seconds and peak memory of the
study on a data folder with DuckDB, and each model fit behind its level effects (glmer per rate, clmm for NPS)
with the cells it took. The shared agent model (the CSAT effects' model, fitted once per review for several
studies) is fitted and timed first, apart from the study. Target at 10 M contacts: ≤ 120 CPU-s, ≤ 4 GB.

    flock /tmp/large.lock nice -n 10 .venv/bin/python benchmarks/bench_channel_audit.py DIR [--n-boot 100]
"""
from __future__ import annotations

import argparse
import resource
import time

from upstream.analysis import outcome_cells
from upstream.data.sql import open_dataset
from upstream.studies import RunCache, channel_audit, steps
from upstream.studies.base import Parameters


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def timed(label: str, compute):
    """compute() with its wall and CPU seconds printed under `label`."""
    wall, cpu = time.time(), cpu_seconds()
    out = compute()
    print(f"{label}: wall {time.time() - wall:.1f} s, cpu {cpu_seconds() - cpu:.1f} s, peak {peak_gb():.2f} GB",
          flush=True)
    return out


def report_fits() -> None:
    """Print each glmer / clmm fit of ``analysis.outcome_cells`` with its cells as it runs."""
    for name in ("glmer", "clmm"):
        fit = getattr(outcome_cells, name)

        def wrapped(formula, data, *args, _fit=fit, _name=name, **kwargs):
            return timed(f"  {_name} {formula.split('~')[0].strip()} on {len(data):,} cells",
                         lambda: _fit(formula, data, *args, **kwargs))
        setattr(outcome_cells, name, wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--n-boot", type=int, default=100)
    args = parser.parse_args()
    ds = open_dataset(args.data, engine="duckdb", validate=False)
    params, cache = Parameters.from_mapping({"n_boot": args.n_boot}), RunCache()
    report_fits()
    timed("shared agent model", lambda: steps.agent_model(ds, params, cache))
    result = timed("channel_audit", lambda: channel_audit.run(ds, params, cache))
    print("\n".join(line for line in result.health if "fitted on" in line))
    print(f"process: cpu {cpu_seconds():.1f} s, peak {peak_gb():.2f} GB")


if __name__ == "__main__":
    main()
