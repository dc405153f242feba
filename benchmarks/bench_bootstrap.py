"""Parametric bootstrap and one-factor fits from group statistics: speed against today's refit.

    .venv/bin/python benchmarks/bench_bootstrap.py [--repeat 3] [--replicates 1000] [--skip-naive]

1. The agent model `csat ~ policy + product + channel + issue_type + (1 | agent_id)` on the bundled
   sample (~8,000 replies, ~150 agents, ~27 columns): `replicates` bootstrap replicates with the
   row-by-row refit (lmm.py engine, COBYQA per replicate: today's `parametric_bootstrap`) and with
   the grouped replicates (same seed, same draws; grouped.py's 1-d exact refit). Prints seconds
   (best of `repeat` runs and their range), the ratio, and the largest absolute difference between
   the two sets of draws (every recorded quantity and every agent's b̂* − b*). Target: fast ≤ 3 s.
2. `y ~ 27 columns + (1 | agent)` simulated at 20,000 agents and 1,500,000 replies: the time to
   build the per-group statistics from the arrays (with and without per-group X'X), to fit from
   the statistics alone (`lmer_from_stats`), and to get Satterthwaite df and conditional modes; and
   100 replicates of the statistics-only bootstrap (method "sums"). Target: fit ≤ 10 s.

Timings are wall-clock on whatever else the machine is doing; run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
warnings.simplefilter("ignore")

FORMULA = "csat ~ policy + product + channel + issue_type + (1 | agent_id)"


def timed(fn, repeat: int):
    """(result of the last run, best seconds, slowest seconds) over `repeat` runs."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times), max(times)


def fmt(best: float, worst: float) -> str:
    return f"{best:8.3f} s (range {best:.3f}–{worst:.3f})"


def sample_bootstrap(repeat: int, replicates: int, naive: bool) -> bool:
    from upstream import lmer
    from upstream.data import load_dataset
    from upstream.data.frames import responses
    from upstream.models.bootstrap import parametric_bootstrap

    frame = responses(load_dataset(ROOT / "data" / "sample", validate=False), "csat")
    grouped = lmer(FORMULA, frame)
    general = lmer(FORMULA, frame, engine="general")
    print(f"sample: {grouped.nobs} replies, {grouped.ngroups['agent_id']} agents, {len(grouped.fixef)} columns; "
          f"{replicates} replicates, seed 1")
    fast, f_best, f_worst = timed(lambda: grouped.bootstrap(replicates, seed=1, progress=False), repeat)
    verdict = "ok" if f_best <= 3 else "MISSED"
    print(f"  grouped replicates (fast)         {fmt(f_best, f_worst)}   target ≤ 3 s: {verdict}")
    if not naive:
        return f_best <= 3
    slow, n_best, n_worst = timed(lambda: parametric_bootstrap(general, replicates, seed=1, progress=False), repeat)
    print(f"  row-by-row refit (today)          {fmt(n_best, n_worst)}")
    print(f"  ratio (best / best)               {n_best / f_best:8.1f}×")
    d_samples = np.abs(fast.samples.to_numpy() - slow.samples.to_numpy())
    worst_col = fast.samples.columns[int(np.argmax(d_samples.max(axis=0)))]
    d_err = np.abs(fast.errors["agent_id"] - slow.errors["agent_id"]).max()
    print(f"  largest |fast − naive| over the draws: {d_samples.max():.2e} ({worst_col}); "
          f"agent prediction errors b̂* − b*: {d_err:.2e}; failed refits {fast.n_failed} / {slow.n_failed}")
    return f_best <= 3


def simulate(n: int = 1_500_000, groups: int = 20_000, seed: int = 1):
    """An intercept, 26 dummy columns (factors of 12, 8, 4 and 6 levels), agent SD 0.3, residual SD 1."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    cols = [np.ones(n)]
    for k in (12, 8, 4, 6):
        c = rng.integers(0, k, n)
        cols += [(c == j).astype(float) for j in range(1, k)]
    X = np.column_stack(cols)
    y = 3.5 + X[:, 1:] @ rng.normal(0, 0.1, X.shape[1] - 1) + rng.normal(0, 0.3, groups)[g] + rng.normal(0, 1, n)
    return X, y, g


def build_statistics(repeat: int):
    """Time building the statistics of the simulated data; returns those with per-group X'X."""
    from upstream.models import GroupStats

    X, y, g = simulate()
    levels = [f"A{i:05d}" for i in range(20_000)]
    print(f"simulated: {X.shape[0]:,} replies, 20,000 agents, {X.shape[1]} columns")
    _, b_best, b_worst = timed(lambda: GroupStats.from_arrays(X, y, g, levels=levels, per_group_xtx=False), repeat)
    print(f"  build statistics (X'X summed)     {fmt(b_best, b_worst)}")
    stats, s_best, s_worst = timed(lambda: GroupStats.from_arrays(X, y, g, levels=levels), repeat)
    print(f"  build statistics (per-group X'X)  {fmt(s_best, s_worst)}")
    return stats


def large_fit(repeat: int) -> bool:
    from upstream.models import lmer_from_stats

    stats = build_statistics(repeat)
    fit, f_best, f_worst = timed(lambda: lmer_from_stats(stats), repeat)
    print(f"  fit from statistics               {fmt(f_best, f_worst)}   target ≤ 10 s: "
          f"{'ok' if f_best <= 10 else 'MISSED'}   θ = {fit.theta[0]:.6f}, σ = {fit.sigma:.6f}, "
          f"{fit.optimum.n_evals} evaluations")

    def inference():
        fresh = lmer_from_stats(stats)
        return fresh.coef_table, fresh.ranef, fresh.pev_reliability

    _, i_best, i_worst = timed(inference, repeat)
    print(f"  fit + Satterthwaite df + modes    {fmt(i_best, i_worst)}")
    _, r_best, r_worst = timed(lambda: fit.bootstrap(100, seed=1, progress=False), 1)
    print(f"  100 replicates from statistics    {fmt(r_best, r_worst)}  (method 'sums', incl. per-group factors)")
    print(f"  peak memory of this process       {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MB")
    return f_best <= 10


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--skip-naive", action="store_true", help="time only the fast bootstrap")
    args = ap.parse_args(argv)
    ok = sample_bootstrap(args.repeat, args.replicates, not args.skip_naive)
    ok &= large_fit(args.repeat)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
