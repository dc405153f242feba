"""A year of a large support operation on one machine (issue 12): seconds and peak memory of

1. `study`: agent_vs_system on the large preset with DuckDB, validation included (n_boot 1000)
   — target ≤ 5 min, peak ≤ 6 GB;
2. `sums`: the one-factor agent model from sufficient statistics — aggregation in DuckDB (replies,
   levels, per-agent sums) — target ≤ 60 s — and the fit (REML + Satterthwaite) — target ≤ 10 s;
   beside its peer in the same run, `pandas_sums`: the same replies read from the Parquet files into
   pandas, joined, dummy-coded and summed with GroupStats.from_arrays, then the same fit;
3. `sql_studies`: the studies that run from SQL aggregates — agent_vs_system, trends and qa_sample — one after
   the other in one process with one RunCache, as the quarterly review's notebooks would (validation once;
   seconds per study, peak memory of the whole);
4. `crossed`: the crossed agent × customer model in O(N) (issue 20; upstream.models.crossed) — per-customer
   sums and agent × customer cells aggregated in DuckDB, then the moment/conjugate-gradient fit (seconds,
   iterations, variance components); `study` includes it where 30+ customers answered twice;
5. `spark` (with --spark): the sample in Spark local mode beside DuckDB and pandas (seconds, and the
   largest difference of the agent model's estimates from the pandas path's);
6. `--quarterly`: the whole quarterly review through the runner (``upstream run``) on --data with --engine, on
   its good/bad variant (CSAT recoded to 2 points, built in a temporary folder), and with pandas on --medium;
   seconds per notebook, CPU seconds and peak memory of the process tree (runner and kernels); on --medium
   both with --engine and with pandas (stopped after --pandas-limit seconds: at 1 M contacts the pandas path's exact
   crossed REML alone takes over 40 minutes). See _quarterly.py.

Each workload runs in its own process (peak memory = that process's maximum resident set), `--repeat`
times; the machine's load average is printed before and after (the machine is shared).

    .venv/bin/python benchmarks/bench_scale.py [--data DIR] [--repeat 3] [--spark]
        [--only study,sums,crossed,sql_studies]
    .venv/bin/python benchmarks/bench_scale.py --quarterly [--data DIR] [--medium DIR] [--engine duckdb|spark]
        [--n-boot N] [--with-rows] [--no-good-bad] [--pandas-limit SECONDS]

Without --data the large preset is simulated into benchmarks/.data/large (once; ~3 min, ~270 MB).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIX = ("policy", "product", "channel", "issue_type")
SQL_STUDIES = ("agent_vs_system", "trends", "qa_sample")


def child(workload: str, data: str) -> dict:
    """One workload in this process; returns its figures."""
    import warnings
    warnings.simplefilter("ignore")
    out: dict = {}
    t0 = time.perf_counter()
    if workload == "study":
        from upstream.data.sql import open_dataset
        from upstream.studies import RunCache, agent_vs_system
        ds = open_dataset(data, engine="duckdb", validate=True)
        out["validation_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = agent_vs_system.run(ds, {"n_boot": 1000, "seed": 2026}, RunCache())
        out["study_s"] = time.perf_counter() - t1
        out["agents"] = len(result.tables["agent_effects"])
        out["replies"] = int(result.values.model.nobs)
        out["judged_by"] = result.values.model.formula
    elif workload == "sums":
        from upstream.analysis.aggregated import group_stats
        from upstream.data.sql import aggregates as sql
        from upstream.data.sql import open_dataset
        from upstream.models import lmer_from_stats
        ds = open_dataset(data, engine="duckdb", validate=False)
        t1 = time.perf_counter()
        out["replies"] = sql.prepare_replies(ds, "csat", MIX)
        design = sql.mix_design(ds, MIX)
        stats = group_stats(ds, design, "csat")
        out["aggregate_s"] = time.perf_counter() - t1
        out.update(fit_figures(lmer_from_stats, stats))
    elif workload.startswith("sql_studies"):
        from upstream.data.sql import open_dataset
        from upstream.studies import RunCache, agent_vs_system, qa_sample, trends
        chosen = workload.partition(":")[2].split(",") if ":" in workload else SQL_STUDIES
        ds = open_dataset(data, engine="duckdb", validate=True)
        out["validation_s"] = time.perf_counter() - t0
        cache = RunCache()
        from upstream.studies import Parameters, steps
        t1 = time.perf_counter()          # the shared agent model first (with the crossed fit), then the studies
        model = steps.agent_model(ds, Parameters.from_mapping({"n_boot": 1000, "seed": 2026}), cache)
        out["agent_model_s"] = time.perf_counter() - t1
        if model.customers is not None:
            fit = model.customers
            out["crossed"] = {"customers": fit.ngroups["customer_id"], "repeat_customers": model.repeat,
                              "iterations": fit.iterations, "sd": {g: v ** 0.5 for g, v in fit.variances.items()}}
        for study in [s for s in (agent_vs_system, trends, qa_sample) if s.NAME in chosen]:
            t1 = time.perf_counter()
            result = study.run(ds, {"n_boot": 1000, "seed": 2026}, cache)
            out[f"{study.NAME}_s"] = time.perf_counter() - t1
            out[f"{study.NAME}_tables"] = {k: len(v) for k, v in result.tables.items()}
    elif workload == "crossed":
        from upstream.analysis.aggregated import crossed_sums, group_stats
        from upstream.data.sql import aggregates as sql
        from upstream.data.sql import open_dataset
        from upstream.models.crossed import crossed_fit
        ds = open_dataset(data, engine="duckdb", validate=False)
        out["replies"] = sql.prepare_replies(ds, "csat", MIX)
        design = sql.mix_design(ds, MIX)
        stats = group_stats(ds, design, "csat")
        t1 = time.perf_counter()
        sums = crossed_sums(ds, design, stats)
        out["aggregate_s"] = time.perf_counter() - t1
        out["repeat_customers"] = sql.repeat_customers(ds)
        t1 = time.perf_counter()
        fit = crossed_fit(sums, response="csat", fixed_se=False)
        out["fit_s"] = time.perf_counter() - t1
        out.update(iterations=fit.iterations, agents=fit.ngroups["agent_id"], customers=fit.ngroups["customer_id"],
                   cells=len(sums.cell_n), sd={g: float(v) ** 0.5 for g, v in fit.variances.items()})
    elif workload == "pandas_sums":
        import pyarrow.dataset as pads

        from upstream.models import GroupStats, lmer_from_stats
        t1 = time.perf_counter()
        contacts = pads.dataset(Path(data) / "contacts", format="parquet").to_table(
            columns=["contact_id", "agent_id", *MIX]).to_pandas()
        surveys = pads.dataset(Path(data) / "surveys", format="parquet").to_table(
            columns=["contact_id", "responded_at", "csat", "nps"]).to_pandas()
        replies = surveys[surveys["csat"].notna()].merge(contacts, on="contact_id")
        del contacts, surveys
        X, names = design_matrix(replies)
        stats = GroupStats.from_arrays(X, replies["csat"].astype(float), replies["agent_id"].astype(str),
                                       names=names, group="agent_id", response="csat")
        out["replies"] = len(replies)
        out["aggregate_s"] = time.perf_counter() - t1
        out.update(fit_figures(lmer_from_stats, stats))
    elif workload.startswith("spark_") or workload in ("duckdb_sample", "pandas_sample"):
        out.update(sample_run(workload))
    out["total_s"] = time.perf_counter() - t0
    return out


def design_matrix(frame):
    """Treatment-contrast dummies with lmer's level order and names (the peer's own code)."""
    import numpy as np
    cols, names = [np.ones(len(frame))], ["(Intercept)"]
    for var in MIX:
        codes, levels = frame[var].astype(str).factorize(sort=True)
        for k, lab in enumerate(levels[1:], start=1):
            cols.append((codes == k).astype(float))
            names.append(f"{var}{lab}")
    return np.column_stack(cols), names


def fit_figures(lmer_from_stats, stats) -> dict:
    t = time.perf_counter()
    fit = lmer_from_stats(stats)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    df = fit.coef_table["df"]
    return {"fit_s": fit_s, "satterthwaite_s": time.perf_counter() - t, "agents": stats.n_groups,
            "theta": float(fit.theta[0]), "sigma": fit.sigma, "min_df": float(df.min()),
            "fixef": [float(v) for v in fit.fixef.to_numpy()]}


def sample_run(workload: str) -> dict:
    """agent_vs_system's agent model on the sample with one engine; estimates for the comparison."""
    from upstream.analysis.agents import fit_agent_model
    from upstream.analysis.aggregated import fit_agent_model_from_sql
    from upstream.data import load_dataset
    from upstream.data.frames import CONTACT_MIX, responses
    from upstream.data.sql import open_dataset
    sample = ROOT / "data" / "sample"
    t = time.perf_counter()
    if workload == "pandas_sample":
        ds = load_dataset(sample)
        model = fit_agent_model(responses(ds), "csat", CONTACT_MIX, n_boot=200, seed=11, population=ds.contacts,
                                customer=None, boot_method="sums")
    else:
        ds = open_dataset(sample, engine="spark" if workload.startswith("spark") else "duckdb")
        model = fit_agent_model_from_sql(ds, n_boot=200, seed=11, customer=None)
    fit = model.fit
    return {"seconds": time.perf_counter() - t, "fixef": [float(v) for v in fit.fixef.to_numpy()],
            "modes": [float(v) for v in fit.ranef["agent_id"]["mode"].to_numpy()], "theta": float(fit.theta[0]),
            "df": [float(v) for v in fit.coef_table["df"].to_numpy()]}


def measure(workload: str, data: str) -> dict:
    """Run `workload` in a fresh process; its figures plus its own peak resident memory (GB)."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", workload, "--data", data],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    text = proc.stdout.read()
    if status != 0:
        raise RuntimeError(f"{workload} failed (status {status})")
    out = json.loads(text.strip().splitlines()[-1])
    out["peak_gb"] = usage.ru_maxrss / 1e6
    return out


def span(values) -> str:
    values = sorted(values)
    return f"{values[len(values) // 2]:.2f} (range {values[0]:.2f}–{values[-1]:.2f})"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="study,sums,crossed")
    ap.add_argument("--spark", action="store_true")
    ap.add_argument("--studies", default=",".join(SQL_STUDIES), help="the studies of the sql_studies workload")
    ap.add_argument("--child", default=None)
    ap.add_argument("--quarterly", action="store_true", help="the whole quarterly review through the runner")
    ap.add_argument("--medium", default="", help="--quarterly: the data set of the pandas run beside it")
    ap.add_argument("--engine", default="duckdb", choices=("duckdb", "spark"), help="--quarterly: the SQL engine")
    ap.add_argument("--n-boot", type=int, default=None, help="--quarterly: n_boot of every study")
    ap.add_argument("--with-rows", action="store_true",
                    help="--quarterly: run the studies that read rows too (with pandas; ~15 GB a kernel at 10 M)")
    ap.add_argument("--no-good-bad", action="store_true", help="--quarterly: leave out the good/bad variant")
    ap.add_argument("--pandas-limit", type=float, default=1800,
                    help="--quarterly: stop the pandas run on --medium after this many seconds (0: no limit)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.data)))
        return 0
    data = args.data or str(HERE / ".data" / "large")
    if args.quarterly:
        import _quarterly
        return _quarterly.main(data, args.medium, args.engine, args.n_boot, args.with_rows, not args.no_good_bad,
                               args.pandas_limit or None)
    if not Path(data).exists():
        t = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "upstream"), "simulate", "--preset", "large", "--out", data],
                       check=True)
        print(f"simulated the large preset into {data} in {time.perf_counter() - t:.0f} s")
    print(f"load average before: {os.getloadavg()}  (2 cores)")
    ok = True
    only = args.only.split(",")
    if "study" in only:
        runs = [measure("study", data) for _ in range(args.repeat)]
        total = [r["total_s"] for r in runs]
        peak = [r["peak_gb"] for r in runs]
        print(f"agent_vs_system, large preset ({runs[0]['replies']:,} replies, {runs[0]['agents']:,} agents), "
              f"DuckDB, validation included: {span(total)} s; validation {span([r['validation_s'] for r in runs])} s, "
              f"study {span([r['study_s'] for r in runs])} s; peak {span(peak)} GB   [target ≤ 300 s, ≤ 6 GB]")
        crossed = "(1 | customer_id)" in runs[0]["judged_by"]
        print(f"  agents judged with {'the crossed model (O(N) fit)' if crossed else 'the one-factor model'}")
        ok &= max(total) <= 300 and max(peak) <= 6
    if "sql_studies" in only:
        chosen = args.studies.split(",")
        runs = [measure(f"sql_studies:{args.studies}", data) for _ in range(args.repeat)]
        parts = ", ".join(f"{name} {span([r[f'{name}_s'] for r in runs])} s" for name in chosen)
        print(f"{' + '.join(chosen)} from SQL aggregates (DuckDB, one process, n_boot 1000): "
              f"total {span([r['total_s'] for r in runs])} s; validation {span([r['validation_s'] for r in runs])} s, "
              f"{parts}; peak {span([r['peak_gb'] for r in runs])} GB")
        print(f"  of which the shared agent model (REML from per-agent sums, bootstrap 1000 from the sums, and the "
              f"crossed O(N) fit): {span([r['agent_model_s'] for r in runs])} s; crossed: {runs[0].get('crossed')}")
    if "crossed" in only:
        runs = [measure("crossed", data) for _ in range(args.repeat)]
        r = runs[0]
        sd = ", ".join(f"{g} {v:.3f}" for g, v in r["sd"].items())
        print(f"crossed agent × customer model in O(N) ({r['replies']:,} replies, {r['agents']:,} agents, "
              f"{r['customers']:,} customers of whom {r['repeat_customers']:,} answered twice or more, "
              f"{r['cells']:,} agent × customer cells): sums in DuckDB {span([x['aggregate_s'] for x in runs])} s, "
              f"fit {span([x['fit_s'] for x in runs])} s ({r['iterations']} conjugate-gradient iterations), "
              f"peak {span([x['peak_gb'] for x in runs])} GB; SDs {sd}")
    if "sums" in only:
        ours = [measure("sums", data) for _ in range(args.repeat)]
        peer = [measure("pandas_sums", data) for _ in range(args.repeat)]
        a, b = [r["aggregate_s"] for r in ours], [r["aggregate_s"] for r in peer]
        print(f"agent sums in DuckDB ({ours[0]['replies']:,} replies, {ours[0]['agents']:,} agents): "
              f"{span(a)} s, peak {span([r['peak_gb'] for r in ours])} GB   [target ≤ 60 s]")
        print(f"  peer, pandas from the same Parquet files (read, join, dummies, GroupStats.from_arrays): {span(b)} s, "
              f"peak {span([r['peak_gb'] for r in peer])} GB; ratio pandas/DuckDB {min(b) / min(a):.1f}×")
        print(f"  fit from the sums (REML): {span([r['fit_s'] for r in ours])} s, Satterthwaite df "
              f"{span([r['satterthwaite_s'] for r in ours])} s   [target ≤ 10 s]")
        diff = max(abs(x - y) for x, y in zip(ours[0]["fixef"], peer[0]["fixef"]))
        print(f"  largest |β̂(DuckDB sums) − β̂(pandas sums)|: {diff:.1e}")
        ok &= max(a) <= 60 and max(r["fit_s"] + r["satterthwaite_s"] for r in ours) <= 10
    if args.spark:
        for name in ("pandas_sample", "duckdb_sample", "spark_sample"):
            runs = [measure(name, data) for _ in range(args.repeat)]
            line = f"sample, agent model + bootstrap 200, {name.split('_')[0]}: {span([r['seconds'] for r in runs])} s"
            if name == "pandas_sample":
                reference = runs[0]
            else:
                d = max(max(abs(x - y) for x, y in zip(runs[0][k], reference[k])) for k in ("fixef", "modes", "df"))
                line += f"; largest difference from pandas (β̂, modes, df): {d:.1e}"
            print(line + f"; peak {span([r['peak_gb'] for r in runs])} GB")
    print(f"load average after: {os.getloadavg()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
