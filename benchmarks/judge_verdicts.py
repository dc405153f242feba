"""Judge the agent_vs_system study's verdicts against an independently simulated operation (issue 7).

    .venv/bin/python benchmarks/judge_verdicts.py --data DIR [--report REPORT_DIR]
    .venv/bin/python benchmarks/judge_verdicts.py --seeds 1 2 3 [--workdir DIR]

DIR holds contacts/surveys/agents and ``truth.json`` written by
``benchmarks/independent/operation.py``. Without ``--report`` the judge runs

    upstream run studies/agent_vs_system.yaml --data <blind copy of DIR> --name-agents --reports <tmp>

(the blind copy links the three tables only, so the study never sees truth.json) and reads the
published ``tables/agent_effects.csv`` and ``tables/policy_effects.csv``. ``--report`` reads an
existing report instead: a run folder (holding ``tables/``), the ``tables/`` folder itself, or a
reports root holding ``agent_vs_system/latest``. ``--seeds`` generates one operation per seed
under ``--workdir`` (reusing an existing one), runs the study on each, judges and summarises.

The criteria (issue 7), each printed with the measured number and PASS/FAIL:

1. at least 15 verdicts ("above average" / "below average") among the 200 agents;
2. false sign rate <= 5%: verdicts whose sign disagrees with the true agent effect, over verdicts;
3. every steering agent flagged (``survey_flag`` true);
4. no steering agent called "above average";
5. <= 5% of the other agents flagged;
6. every strongly harmful policy named ("named": ``upper_adj < 0``);
7. no harmless policy named.

Exit code: 0 every criterion passed (for every seed), 1 a criterion failed, 2 the study could not
be run or its tables could not be read.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "independent"))

STUDY = ROOT / "studies" / "agent_vs_system.yaml"
UPSTREAM = ROOT / ".venv" / "bin" / "upstream"
TABLES = ("agent_effects.csv", "policy_effects.csv")
ABOVE, BELOW = "above average", "below average"
VERDICTS = {ABOVE, BELOW}
KNOWN_VERDICTS = {ABOVE, BELOW, "not distinguishable from average", "not enough responses to rank",
                  "survey process under review"}

MIN_VERDICTS = 15
MAX_FALSE_SIGN = 0.05
MAX_OTHER_FLAGGED = 0.05
RELIABILITY_BANDS = [0.0, 0.5, 0.7, 0.85, 1.0001]


class JudgeError(Exception):
    """The study could not be run, or its tables could not be read."""


# --- running the study / finding its tables ---------------------------------------------------------
def blind_copy(data: Path, into: Path) -> Path:
    """A folder with links to the three tables only (no truth.json)."""
    into.mkdir(parents=True, exist_ok=True)
    found = 0
    for table in ("contacts", "surveys", "agents"):
        for ext in (".csv", ".parquet"):
            src = data / f"{table}{ext}"
            if src.exists():
                dst = into / src.name
                if not dst.exists():
                    os.symlink(src.resolve(), dst)
                found += 1
    if found < 3:
        raise JudgeError(f"{data}: contacts, surveys and agents tables expected")
    return into


def run_study(data: Path, reports: Path, study: Path = STUDY, upstream: Path = UPSTREAM,
              extra: list[str] = ()) -> Path:
    """Run the study on a blind copy of ``data``; return the published run folder."""
    blind = blind_copy(data, reports / "_blind_data")
    cmd = [str(upstream), "run", str(study), "--data", str(blind), "--name-agents", "--reports", str(reports),
           *extra]
    print(f"$ {' '.join(cmd)}", flush=True)
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    took = time.time() - t0
    (reports / "judge_run.log").write_text(f"$ {' '.join(cmd)}\nexit {proc.returncode}\n--- stdout\n"
                                           f"{proc.stdout}\n--- stderr\n{proc.stderr}\n")
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise JudgeError(f"upstream run exited {proc.returncode} after {took:.0f} s "
                         f"(log: {reports / 'judge_run.log'}):\n{tail}")
    print(f"  study ran in {took:.0f} s", flush=True)
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    if lines and lines[-1].endswith("index.html") and Path(lines[-1]).exists():
        return Path(lines[-1]).parent
    return find_tables(reports).parent


def find_tables(report: Path) -> Path:
    """The tables/ folder of a report given as tables/, a run folder or a reports root."""
    candidates = [report, report / "tables", report / "latest" / "tables",
                  report / "agent_vs_system" / "latest" / "tables"]
    for c in candidates:
        if all((c / t).exists() for t in TABLES):
            return c
    raise JudgeError(f"no {' and '.join(TABLES)} under {report} (looked in: "
                     f"{', '.join(str(c) for c in candidates)})")


# --- reading ----------------------------------------------------------------------------------------
def _bool(col: pd.Series) -> pd.Series:
    if col.dtype == bool:
        return col
    text = col.astype(str).str.strip().str.lower()
    return text.isin(["true", "1", "1.0", "yes", "t", "y"])


def read_tables(tables: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    agents = pd.read_csv(tables / "agent_effects.csv", dtype={"agent_id": str})
    policies = pd.read_csv(tables / "policy_effects.csv", dtype={"policy": str})
    need_a = ["agent_id", "n_responses", "effect", "lower", "upper", "reliability", "lfsr", "survey_flag", "verdict"]
    need_p = ["policy", "effect", "upper_adj"]
    for name, frame, need in (("agent_effects.csv", agents, need_a), ("policy_effects.csv", policies, need_p)):
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise JudgeError(f"{name} lacks column(s) {', '.join(missing)} (has: {', '.join(frame.columns)})")
    agents["survey_flag"] = _bool(agents["survey_flag"].fillna(False))
    agents["verdict"] = agents["verdict"].fillna("").astype(str).str.strip()
    return agents, policies


def read_truth(data: Path) -> dict:
    path = data / "truth.json"
    if not path.exists():
        raise JudgeError(f"{path} not found: generate the data with benchmarks/independent/operation.py")
    return json.loads(path.read_text())


# --- judging ----------------------------------------------------------------------------------------
def judge(agents_tab: pd.DataFrame, policies_tab: pd.DataFrame, truth: dict) -> dict:
    """Criteria and diagnostics. Returns a dict with 'criteria' (list) and diagnostics."""
    t_agents = pd.DataFrame(truth["agents"]).rename(columns={"effect": "true_effect",
                                                             "n_responses": "true_n_responses"})
    t_agents = t_agents[["agent_id", "true_effect", "steering", "kind", "n_contacts", "n_csat"]]
    tab = agents_tab.copy()
    unknown = sorted(set(tab["agent_id"]) - set(t_agents["agent_id"]))
    if len(unknown) == len(tab):
        raise JudgeError("no agent_id in agent_effects.csv is an agent of the truth file "
                         f"(e.g. {unknown[:3]}): was the study run with --name-agents?")
    a = t_agents.merge(tab, on="agent_id", how="left")
    a["in_table"] = a["agent_id"].isin(tab["agent_id"])
    a["survey_flag"] = a["survey_flag"].fillna(False).astype(bool)
    a["verdict"] = a["verdict"].fillna("(not in table)")
    is_verdict = a["verdict"].isin(VERDICTS)
    wrong = is_verdict & (((a["verdict"] == ABOVE) & (a["true_effect"] <= 0))
                          | ((a["verdict"] == BELOW) & (a["true_effect"] >= 0)))
    n_verdicts = int(is_verdict.sum())
    n_wrong = int(wrong.sum())
    fsr = n_wrong / n_verdicts if n_verdicts else float("nan")
    steer = a[a["steering"]]
    other = a[~a["steering"]]
    other_flag_share = float(other["survey_flag"].mean())

    pol_truth = pd.DataFrame([{"policy": k, **v} for k, v in truth["policies"].items()])
    pol_truth = pol_truth.rename(columns={"n_contacts": "true_n_contacts", "n_responses": "true_n_responses"})
    p = pol_truth.merge(policies_tab, on="policy", how="left")
    p["in_table"] = p["policy"].isin(policies_tab["policy"])
    p["named"] = p["upper_adj"] < 0  # NaN (absent) -> False
    strong = p[p["class"] == "strongly harmful"]
    harmless = p[p["class"] == "harmless"]

    criteria = [
        {"criterion": f"at least {MIN_VERDICTS} verdicts (above/below average)",
         "measured": f"{n_verdicts} verdicts among {len(a)} agents", "value": n_verdicts,
         "pass": n_verdicts >= MIN_VERDICTS},
        {"criterion": f"false sign rate <= {MAX_FALSE_SIGN:.0%}",
         "measured": (f"{n_wrong}/{n_verdicts} = {fsr:.1%}" if n_verdicts else "no verdicts"),
         "value": fsr, "pass": bool(n_verdicts and fsr <= MAX_FALSE_SIGN)},
        {"criterion": "every steering agent flagged",
         "measured": f"{int(steer['survey_flag'].sum())}/{len(steer)} flagged "
                     f"({', '.join(f'{r.agent_id}:{r.verdict}' for r in steer.itertuples())})",
         "value": int(steer["survey_flag"].sum()), "pass": bool(steer["survey_flag"].all())},
        {"criterion": "no steering agent called above average",
         "measured": f"{int((steer['verdict'] == ABOVE).sum())} called above average",
         "value": int((steer["verdict"] == ABOVE).sum()), "pass": bool((steer["verdict"] != ABOVE).all())},
        {"criterion": f"<= {MAX_OTHER_FLAGGED:.0%} of the other agents flagged",
         "measured": f"{int(other['survey_flag'].sum())}/{len(other)} = {other_flag_share:.1%}",
         "value": other_flag_share, "pass": other_flag_share <= MAX_OTHER_FLAGGED},
        {"criterion": "every strongly harmful policy named (upper_adj < 0)",
         "measured": f"{int(strong['named'].sum())}/{len(strong)} named "
                     f"({', '.join(f'{r.policy}: upper_adj {r.upper_adj:.3f}' for r in strong.itertuples())})",
         "value": int(strong["named"].sum()), "pass": bool(strong["named"].all())},
        {"criterion": "no harmless policy named",
         "measured": f"{int(harmless['named'].sum())}/{len(harmless)} named"
                     + (f" ({', '.join(harmless.loc[harmless['named'], 'policy'])})"
                        if harmless["named"].any() else ""),
         "value": int(harmless["named"].sum()), "pass": not bool(harmless["named"].any())},
    ]

    # diagnostics ------------------------------------------------------------------------------
    has_ci = a["in_table"] & a["lower"].notna() & a["upper"].notna()
    cov_rows = []
    band = pd.cut(a["reliability"], RELIABILITY_BANDS, right=False)
    for subset, label in ((~a["steering"], "honest"), (a["steering"] | ~a["steering"], "all")):
        sel = has_ci & subset
        covered = (a["lower"] <= a["true_effect"]) & (a["true_effect"] <= a["upper"])
        for b, grp in a[sel].groupby(band[sel], observed=False):
            if len(grp):
                cov_rows.append({"agents": label, "reliability": str(b), "n": len(grp),
                                 "coverage": float(covered[grp.index].mean()),
                                 "mean_error": float((grp["effect"] - grp["true_effect"]).mean()),
                                 "mean_width": float((grp["upper"] - grp["lower"]).mean())})
        cov_rows.append({"agents": label, "reliability": "any", "n": int(sel.sum()),
                         "coverage": float(covered[sel].mean()) if sel.any() else float("nan"),
                         "mean_error": float((a.loc[sel, "effect"] - a.loc[sel, "true_effect"]).mean()),
                         "mean_width": float((a.loc[sel, "upper"] - a.loc[sel, "lower"]).mean())})
    est = a[has_ci & ~a["steering"]]
    corr = {"effect": float(est["effect"].corr(est["true_effect"], method="spearman"))}
    if "raw_score" in a:
        corr["raw_score"] = float(est["raw_score"].corr(est["true_effect"], method="spearman"))
    show = [c for c in ["agent_id", "verdict", "true_effect", "effect", "lower", "upper", "lfsr", "reliability",
                        "n_responses", "raw_score", "survey_flag", "steering"] if c in a]
    # policy comparison: the study's effect against both truths
    p_show = p[["policy", "class", "effect_vs_standard", "effect_vs_average", "true_n_contacts", "in_table"]
               + [c for c in ("n_responses", "effect", "lower_adj", "upper_adj", "agent_variation_p") if c in p]
               + ["named"]]
    p_show = p_show.rename(columns={"effect_vs_standard": "true_vs_std", "effect_vs_average": "true_vs_avg",
                                    "true_n_contacts": "n_contacts"})
    return {
        "criteria": criteria,
        "passed": all(c["pass"] for c in criteria),
        "n_verdicts": n_verdicts, "n_wrong": n_wrong, "false_sign_rate": fsr,
        "expected_wrong": float(a.loc[is_verdict, "lfsr"].sum()),
        "verdict_counts": a["verdict"].value_counts().to_dict(),
        "agents_not_in_table": int((~a["in_table"]).sum()),
        "unknown_agents_in_table": unknown,
        "flag_without_review_verdict": int((a["survey_flag"] & (a["verdict"] != "survey process under review")).sum()),
        "unknown_verdicts": sorted(set(a.loc[a["in_table"], "verdict"]) - KNOWN_VERDICTS),
        "coverage": pd.DataFrame(cov_rows),
        "spearman_with_truth": corr,
        "wrong": a.loc[wrong, show].sort_values("lfsr"),
        "steering": a.loc[a["steering"], show],
        "flagged_others": a.loc[~a["steering"] & a["survey_flag"], show],
        "policies": p_show,
        "policies_not_in_truth": sorted(set(policies_tab["policy"]) - set(pol_truth["policy"])),
    }


# --- printing ---------------------------------------------------------------------------------------
def _fmt(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "  (none)"
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_colwidth", 40):
        return "\n".join("  " + ln for ln in frame.round(3).to_string(index=False).splitlines())


def report(result: dict, title: str) -> None:
    print(f"\n=== {title}")
    for c in result["criteria"]:
        print(f"  [{'PASS' if c['pass'] else 'FAIL'}] {c['criterion']}: {c['measured']}")
    print(f"  => {'all criteria pass' if result['passed'] else 'FAILED'}")
    print("\n  verdicts: " + ", ".join(f"{k}: {v}" for k, v in sorted(result["verdict_counts"].items())))
    print(f"  wrong-sign verdicts: {result['n_wrong']} (sum of lfsr over verdicts, the study's own expectation: "
          f"{result['expected_wrong']:.2f})")
    if result["agents_not_in_table"]:
        print(f"  agents of the truth absent from agent_effects.csv: {result['agents_not_in_table']}")
    if result["unknown_agents_in_table"]:
        print(f"  agent ids in the table unknown to the truth: {result['unknown_agents_in_table'][:10]}")
    if result["unknown_verdicts"]:
        print(f"  verdicts outside the documented set: {result['unknown_verdicts']}")
    if result["flag_without_review_verdict"]:
        print(f"  agents flagged but with a verdict other than 'survey process under review': "
              f"{result['flag_without_review_verdict']}")
    print("  Spearman correlation with the true effects (honest agents with an interval): "
          + ", ".join(f"{k} {v:.3f}" for k, v in result["spearman_with_truth"].items()))
    print("\n  coverage of [lower, upper] against the true agent effects, by reliability:")
    print(_fmt(result["coverage"]))
    print("\n  wrong-sign verdicts:")
    print(_fmt(result["wrong"]))
    print("\n  steering agents:")
    print(_fmt(result["steering"]))
    print("\n  other agents flagged:")
    print(_fmt(result["flagged_others"]))
    print("\n  policies (truth: effect_vs_standard / effect_vs_average in CSAT points; named = upper_adj < 0):")
    print(_fmt(result["policies"]))
    if result["policies_not_in_truth"]:
        print(f"  policies in the table unknown to the truth: {result['policies_not_in_truth']}")


def summarise(results: dict[int, dict]) -> None:
    print("\n=== summary over seeds")
    names = [c["criterion"] for c in next(iter(results.values()))["criteria"]]
    rows = []
    for seed, r in results.items():
        row = {"seed": seed}
        for c in r["criteria"]:
            row[c["criterion"]] = f"{'PASS' if c['pass'] else 'FAIL'} ({c['measured'].split(' (')[0]})"
        rows.append(row)
    for i, name in enumerate(names):
        n_pass = sum(r["criteria"][i]["pass"] for r in results.values())
        print(f"  {name}: {n_pass}/{len(results)} seeds pass")
        for row in rows:
            print(f"    seed {row['seed']}: {row[name]}")
    nv = sum(r["n_verdicts"] for r in results.values())
    nw = sum(r["n_wrong"] for r in results.values())
    ew = sum(r["expected_wrong"] for r in results.values())
    print(f"  pooled false sign rate: {nw}/{nv} = {nw / nv:.1%} (expected from lfsr: {ew:.2f})" if nv else
          "  pooled: no verdicts")
    cov = pd.concat([r["coverage"].assign(seed=s) for s, r in results.items()])
    cov = cov[cov["agents"] == "honest"]
    pooled = cov.assign(k=cov["coverage"] * cov["n"]).groupby("reliability", sort=False)[["n", "k"]].sum()
    pooled["coverage"] = pooled["k"] / pooled["n"]
    print("  pooled coverage (honest agents):")
    print(_fmt(pooled[["n", "coverage"]].reset_index()))
    ok = sum(r["passed"] for r in results.values())
    print(f"  seeds with every criterion passing: {ok}/{len(results)}")


# --- main ---------------------------------------------------------------------------------------------
def judge_one(data: Path, report_dir: Path | None, reports_root: Path | None, args) -> dict:
    truth = read_truth(data)
    if report_dir is None and args.fake:
        import fake_tables
        report_dir = (reports_root or Path(tempfile.mkdtemp(prefix="judge-fake-"))) / "fake"
        fake_tables.main(["--data", str(data), "--out", str(report_dir)])
    if report_dir is None:
        reports_root = Path(tempfile.mkdtemp(prefix="judge-reports-")) if reports_root is None else reports_root
        reports_root.mkdir(parents=True, exist_ok=True)
        run_folder = run_study(data, reports_root, study=args.study, upstream=args.upstream,
                               extra=[x for p in args.parameter for x in ("-p", p)])
        tables = find_tables(run_folder)
    else:
        tables = find_tables(report_dir)
    print(f"  tables: {tables}")
    agents_tab, policies_tab = read_tables(tables)
    return judge(agents_tab, policies_tab, truth)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", type=Path, help="operation folder (tables + truth.json)")
    ap.add_argument("--report", type=Path, help="existing report (run folder, tables/ or reports root)")
    ap.add_argument("--seeds", type=int, nargs="+", help="generate and judge one operation per seed")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "upstream-judge",
                    help="with --seeds: where operations and reports go (default: %(default)s)")
    ap.add_argument("--study", type=Path, default=STUDY)
    ap.add_argument("--upstream", type=Path, default=UPSTREAM, help="the upstream command")
    ap.add_argument("-p", "--parameter", action="append", default=[], help="passed on to upstream run")
    ap.add_argument("--json", type=Path, help="also write the criteria as JSON here")
    ap.add_argument("--fake", action="store_true",
                    help="judge stand-in tables from benchmarks/independent/fake_tables.py instead of running "
                         "the study (tests the judge itself)")
    args = ap.parse_args(argv)
    if bool(args.data) == bool(args.seeds):
        ap.error("give --data DIR or --seeds N [N ...]")
    if args.seeds and args.report:
        ap.error("--report goes with --data")

    results: dict = {}
    try:
        if args.data:
            res = judge_one(args.data, args.report, None, args)
            report(res, f"{args.data}")
            results[0] = res
        else:
            import operation
            for seed in args.seeds:
                data = args.workdir / f"operation-seed{seed}"
                if not (data / "truth.json").exists():
                    t0 = time.time()
                    operation.write(data, seed=seed)
                    print(f"generated {data} in {time.time() - t0:.0f} s", flush=True)
                reports = args.workdir / f"reports-seed{seed}"
                res = judge_one(data, None, reports, args)
                report(res, f"seed {seed} ({data})")
                results[seed] = res
            summarise(results)
    except JudgeError as err:
        print(f"judge: {err}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps({str(k): {"passed": r["passed"], "criteria": r["criteria"],
                                                  "n_verdicts": r["n_verdicts"], "n_wrong": r["n_wrong"],
                                                  "expected_wrong": r["expected_wrong"]}
                                         for k, r in results.items()}, indent=1, default=float) + "\n")
    return 0 if all(r["passed"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
