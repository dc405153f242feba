"""A stand-in for the study's two tables, for testing the judge (not a judgement of anything).

    python benchmarks/independent/fake_tables.py --data DIR --out REPORT_DIR

Writes REPORT_DIR/tables/agent_effects.csv and REPORT_DIR/tables/policy_effects.csv in the
columns the agent_vs_system study publishes, from a deliberately simple analysis of the data (it
never reads truth.json):

- agents: OLS of CSAT on policy + product + channel + issue type, per-agent mean residual,
  method-of-moments empirical Bayes shrinkage (normal prior), lfsr from the normal posterior,
  verdict when reliability >= 0.7 and lfsr < 0.05;
- survey screen: per agent, the invitation rate of contacts with a bad signal (unresolved,
  escalated or repeated within 7 days) against the agent's own rate on the other contacts, each
  against its channel's pooled rate; a log ratio z-score, over-dispersion by a winsorised
  multiplicative factor (Spiegelhalter 2005), flag when z < -3;
- policies: the OLS coefficients against "standard" with Bonferroni-adjusted intervals.

``--break`` writes deliberately wrong tables (flips three verdicts, unflags the first flagged agent
and calls it above average, names a harmless policy) so the judge's FAIL paths can be tested.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

MIX = ["policy", "product", "channel", "issue_type"]


def _design(frame: pd.DataFrame, reference: dict) -> tuple[np.ndarray, list[str]]:
    cols, names = [np.ones(len(frame))], ["(Intercept)"]
    for var in MIX:
        levels = sorted(frame[var].unique())
        ref = reference.get(var) or frame[var].value_counts().index[0]
        for lev in levels:
            if lev != ref:
                cols.append((frame[var] == lev).to_numpy(float))
                names.append(f"{var}[{lev}]")
    return np.column_stack(cols), names


def analyse(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    contacts = pd.read_csv(data / "contacts.csv", dtype={"contact_id": str, "agent_id": str, "customer_id": str})
    surveys = pd.read_csv(data / "surveys.csv", dtype={"contact_id": str})
    agents = pd.read_csv(data / "agents.csv", dtype={"agent_id": str})
    for col in ("resolved_first_contact", "repeat_within_7d", "escalated"):
        contacts[col] = contacts[col].astype(str).str.lower().isin(["true", "1", "yes"])
    inv = contacts.merge(surveys, on="contact_id", how="left")
    inv["sent"] = inv["sent_at"].notna()
    resp = inv[inv["responded_at"].notna() & inv["csat"].notna()].copy()
    y = resp["csat"].to_numpy(float)

    X, names = _design(resp, {"policy": "standard"})
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    dof = len(y) - X.shape[1]
    sigma2 = float(resid @ resid / dof)
    xtx_inv = np.linalg.inv(X.T @ X)

    # agents: empirical Bayes on per-agent mean residuals
    resp["r"] = resid
    g = resp.groupby("agent_id")["r"].agg(["mean", "size"])
    se2 = sigma2 / g["size"]
    tau2 = max(float(np.average((g["mean"] - np.average(g["mean"], weights=g["size"])) ** 2) - se2.mean()), 1e-4)
    lam = tau2 / (tau2 + se2)
    post_mean = lam * g["mean"]
    post_sd = np.sqrt(lam * se2)
    table = pd.DataFrame({"agent_id": g.index, "n_responses": g["size"].to_numpy()})
    table["raw_score"] = resp.groupby("agent_id")["csat"].mean().reindex(g.index).to_numpy()
    table["effect"] = post_mean.to_numpy()
    table["lower"] = (post_mean - 1.96 * post_sd).to_numpy()
    table["upper"] = (post_mean + 1.96 * post_sd).to_numpy()
    table["reliability"] = lam.to_numpy()
    table["p_below"] = norm.cdf(-(post_mean / post_sd).to_numpy())
    table["p_above"] = 1 - table["p_below"]
    table["lfsr"] = np.minimum(table["p_below"], table["p_above"])
    cut = np.quantile(table["effect"], 0.1)
    table["p_bottom_decile"] = norm.cdf(((cut - post_mean) / post_sd).to_numpy())

    # survey screen
    inv["bad"] = (~inv["resolved_first_contact"]) | inv["escalated"] | inv["repeat_within_7d"]
    rate = inv.groupby(["channel", "bad"])["sent"].mean().rename("p0")
    inv = inv.join(rate, on=["channel", "bad"])
    per = inv.groupby(["agent_id", "bad"]).agg(o=("sent", "sum"), e=("p0", "sum"), n=("sent", "size")).unstack("bad")
    o_b, e_b, o_g, e_g = (per[("o", True)], per[("e", True)], per[("o", False)], per[("e", False)])
    log_ratio = np.log((o_b + 0.5) / (e_b + 0.5)) - np.log((o_g + 0.5) / (e_g + 0.5))
    se = np.sqrt(1 / (o_b + 0.5) + 1 / (o_g + 0.5))
    z = (log_ratio / se).fillna(0.0)
    zw = z.clip(z.quantile(0.1), z.quantile(0.9))
    phi = max(float((zw ** 2).mean()), 1.0)
    flag_ratio = (z / np.sqrt(phi)) < -3.0
    # ... and the agent's invitation rate against its expected rate, additive over-dispersion on logits
    tot = inv.groupby("agent_id").agg(o=("sent", "sum"), e=("p0", "sum"), n=("sent", "size"))
    lo = np.log((tot["o"] + 0.5) / (tot["n"] - tot["o"] + 0.5))
    le = np.log(tot["e"] / (tot["n"] - tot["e"]))
    se2 = 1 / (tot["o"] + 0.5) + 1 / (tot["n"] - tot["o"] + 0.5)
    d = lo - le
    core = d.between(d.quantile(0.1), d.quantile(0.9))
    # 0.4377: variance of a N(0, 1) truncated to its central 80%
    tau2_inv = max(float(d[core].var() / 0.4377 - se2[core].mean()), 0.0)
    z_rate = (d - d.median()) / np.sqrt(se2 + tau2_inv)
    flag = flag_ratio | (z_rate < -3.0).reindex(flag_ratio.index).fillna(False)
    table["survey_flag"] = table["agent_id"].map(flag).fillna(False).astype(bool)

    verdict = np.where(table["lfsr"] >= 0.05, "not distinguishable from average",
                       np.where(table["effect"] > 0, "above average", "below average"))
    verdict = np.where(table["reliability"] < 0.7, "not enough responses to rank", verdict)
    verdict = np.where(table["survey_flag"], "survey process under review", verdict)
    table["verdict"] = verdict
    missing = agents.loc[~agents["agent_id"].isin(table["agent_id"]), "agent_id"]
    if len(missing):
        extra = pd.DataFrame({"agent_id": missing, "n_responses": 0, "verdict": "not enough responses to rank",
                              "survey_flag": False})
        table = pd.concat([table, extra], ignore_index=True)

    # policies
    rows = []
    pol = [(i, n[len("policy["):-1]) for i, n in enumerate(names) if n.startswith("policy[")]
    z_adj = norm.ppf(1 - 0.025 / len(pol))
    n_contacts = contacts["policy"].value_counts()
    n_resp = resp["policy"].value_counts()
    for i, p in pol:
        se_p = np.sqrt(sigma2 * xtx_inv[i, i])
        rows.append({"policy": p, "n_contacts": int(n_contacts.get(p, 0)), "n_responses": int(n_resp.get(p, 0)),
                     "effect": beta[i], "lower": beta[i] - 1.96 * se_p, "upper": beta[i] + 1.96 * se_p,
                     "lower_adj": beta[i] - z_adj * se_p, "upper_adj": beta[i] + z_adj * se_p,
                     "agent_variation_p": np.nan})
    return table, pd.DataFrame(rows)


def break_tables(agents: pd.DataFrame, policies: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    agents = agents.copy()
    flip = {"above average": "below average", "below average": "above average"}
    idx = agents.index[agents["verdict"].isin(flip)][:3]
    agents.loc[idx, "verdict"] = agents.loc[idx, "verdict"].map(flip)
    flagged = agents.index[agents["survey_flag"]]
    if len(flagged):
        agents.loc[flagged[0], ["survey_flag", "verdict"]] = [False, "above average"]
    policies = policies.copy()
    harmless = policies["policy"].isin(["proof of purchase"])
    policies.loc[harmless, ["upper_adj"]] = -0.01
    return agents, policies


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path, help="report folder; tables/ is written inside")
    ap.add_argument("--break", dest="broken", action="store_true", help="write deliberately wrong tables")
    args = ap.parse_args(argv)
    agents, policies = analyse(args.data)
    if args.broken:
        agents, policies = break_tables(agents, policies)
    out = args.out / "tables"
    out.mkdir(parents=True, exist_ok=True)
    cols = ["agent_id", "n_responses", "raw_score", "effect", "lower", "upper", "reliability", "p_below",
            "p_above", "lfsr", "p_bottom_decile", "survey_flag", "verdict"]
    agents[cols].to_csv(out / "agent_effects.csv", index=False)
    policies.to_csv(out / "policy_effects.csv", index=False)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
