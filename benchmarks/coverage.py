"""Do the intervals cover the truth? Repeated simulated operations with known agent effects.

    .venv/bin/python benchmarks/coverage.py [--reps 200] [--response realistic|mar] [--boot-every 10]

Each replication simulates the bundled sample's operation with a new seed (60,000 contacts, 150
agents, 15% response), fits the agent models and compares with the simulator's truth:

- lmer `csat ~ policy + product + channel + issue_type + (1 | agent_id)`: do the 95% conditional
  intervals (mode ± 1.96 conditional SE) cover each agent's true effect on the CSAT scale
  (truth `effect_csat`, centred)? Every `--boot-every`-th replication also checks the parametric
  bootstrap prediction intervals. Correlation of adjusted and raw scores with the truth, and how
  many agents the raw and adjusted rankings put in the bottom 10% who are not truly there.
- clmm (cumulative logit) of the same formula: coverage of the latent agent effect (`effect_latent`).
- Survey screen: share of the steering agents flagged, and false flags among honest agents.
- Weighting: share of replications where inverse-propensity weighting moves mean CSAT toward the
  population mean.

`--response mar` switches off outcome-dependent response and steering (an engine check free of
survey bias); `realistic` (default) is the sample's operation.

The simulator's latent truth is conditional on the customer (customer effects, unresolved and
escalated contacts add latent variation the clmm does not model), so the clmm's agent effects
estimate a slightly attenuated, customer-averaged version of it. `--model-check` therefore also
simulates directly from the cumulative-logit mixed model (150 agents, 55 replies each) to check the
engine's own interval coverage.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from upstream import clmm, lmer
from upstream.data.frames import CONTACT_MIX
from upstream.analysis.nonresponse import fit_response_model, survey_screen, weighted_scores
from upstream.simulate import PRESETS, simulate, truth_frame


class _Tables:
    def __init__(self, op):
        self.contacts, self.surveys, self.agents = op.contacts, op.surveys, op.agents


def one(seed: int, spec, boot: bool) -> dict:
    from upstream.data.frames import invitations
    op = simulate(spec, seed=seed)
    ds = _Tables(op)
    inv = invitations(ds)
    resp = inv[inv["responded"] & inv["csat"].notna()].copy()
    resp["csat"] = resp["csat"].astype(float)
    truth = truth_frame(op.truth)
    formula = f"csat ~ {' + '.join(CONTACT_MIX)} + (1 | agent_id)"
    out = {}
    fit = lmer(formula, resp)
    re = fit.ranef["agent_id"]
    t = truth.loc[re.index, "effect_csat"]
    t = t - t.mean()
    hit = np.abs(re["mode"] - t) <= 1.96 * re["cond_se"]
    out["lmer_cover"] = float(np.mean(hit))
    honest = ~truth.loc[re.index, "steering"].to_numpy()     # steering agents' replies are manipulated
    out["lmer_cover_honest"] = float(np.mean(hit[honest]))
    raw = resp.groupby("agent_id")["csat"].mean().loc[re.index]
    out["r_adjusted"] = float(np.corrcoef(re["mode"], t)[0, 1])
    out["r_raw"] = float(np.corrcoef(raw, t)[0, 1])
    k = max(1, round(0.1 * len(t)))
    true_bottom = set(t.nsmallest(k).index)
    out["false_bottom_raw"] = len(set(raw.nsmallest(k).index) - true_bottom)
    out["false_bottom_adjusted"] = len(set(re["mode"].nsmallest(k).index) - true_bottom)
    if boot:
        b = fit.bootstrap(100, seed=seed, progress=False).effects("agent_id")
        out["boot_cover"] = float(np.mean((b["lower"] <= t) & (t <= b["upper"])))
    ordinal = clmm(formula, resp.assign(csat=resp["csat"].astype(int)), levels=[1, 2, 3, 4, 5])
    ro = ordinal.ranef["agent_id"]
    tl = truth.loc[ro.index, "effect_latent"]
    tl = tl - tl.mean()
    hit = np.abs(ro["mode"] - tl) <= 1.96 * ro["cond_se"]
    out["clmm_cover"] = float(np.mean(hit))
    out["clmm_cover_honest"] = float(np.mean(hit[~truth.loc[ro.index, "steering"].to_numpy()]))
    screen = survey_screen(op.contacts, inv)
    steer = set(truth.index[truth["steering"]])
    flagged = set(screen.index[screen["flagged"]])
    out["steering_found"] = len(steer & flagged) / max(1, len(steer))
    out["false_flags"] = len(flagged - steer)
    w = fit_response_model(inv)
    s = weighted_scores(inv, w.weights).iloc[0]
    pop = op.truth["population"]["csat_mean"]
    out["weighting_helps"] = float(abs(s["csat_weighted"] - pop) < abs(s["csat"] - pop))
    return out


def clmm_model_check(reps: int) -> float:
    """Coverage of clmm's 95% intervals when the data come from the model itself."""
    import pandas as pd
    cover = []
    for r in range(reps):
        rng = np.random.default_rng(20_000 + r)
        g = np.repeat(np.arange(150), 55)
        u = rng.normal(0, 0.5, 150)
        x = rng.normal(size=g.size)
        latent = 0.6 * x + u[g] + rng.logistic(size=g.size)
        y = 1 + np.searchsorted(np.array([-2.5, -1.5, -0.5, 1.0]), latent)
        df = pd.DataFrame({"csat": y, "x": x, "agent": [f"a{i:03d}" for i in g]})
        fit = clmm("csat ~ x + (1 | agent)", df, levels=[1, 2, 3, 4, 5])
        re = fit.ranef["agent"]
        cover.append(np.mean(np.abs(re["mode"].to_numpy() - u) <= 1.96 * re["cond_se"].to_numpy()))
    return float(np.mean(cover))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--response", choices=("realistic", "mar"), default="realistic")
    ap.add_argument("--boot-every", type=int, default=10, help="bootstrap intervals every k-th replication (0: never)")
    ap.add_argument("--model-check", action="store_true", help="also run the clmm check on data from the model")
    args = ap.parse_args(argv)
    spec = PRESETS["sample"]
    if args.response == "mar":
        spec = spec.replace(outcome_dependent_response=0.0, n_steering=0)
    warnings.simplefilter("ignore")
    rows, t0 = [], time.time()
    for r in range(args.reps):
        rows.append(one(10_000 + r, spec, args.boot_every and r % args.boot_every == 0))
        if (r + 1) % 20 == 0:
            print(f"  {r + 1}/{args.reps} replications, {time.time() - t0:.0f} s", file=sys.stderr)
    import pandas as pd
    df = pd.DataFrame(rows)
    agents = 150
    print(f"{args.reps} replications of the sample operation ({args.response} response), {time.time() - t0:.0f} s")
    print(f"  lmer 95% conditional intervals cover the true agent effect: {df['lmer_cover'].mean():.3f} "
          f"(min per replication {df['lmer_cover'].min():.3f}; ≈{agents} agents × {args.reps})")
    if "boot_cover" in df:
        print(f"  lmer 95% bootstrap prediction intervals cover:               {df['boot_cover'].mean():.3f} "
              f"({df['boot_cover'].notna().sum()} replications, 100 bootstrap samples each)")
    print(f"  clmm 95% intervals cover the true latent agent effect:      {df['clmm_cover'].mean():.3f}")
    if args.response == "realistic":
        print(f"  ... excluding the steering agents (their replies are manipulated): lmer "
              f"{df['lmer_cover_honest'].mean():.3f}, clmm {df['clmm_cover_honest'].mean():.3f}")
    print(f"  correlation with the truth: adjusted {df['r_adjusted'].mean():.3f}, raw average {df['r_raw'].mean():.3f}")
    print(f"  agents wrongly in the bottom 10%: adjusted {df['false_bottom_adjusted'].mean():.2f}, "
          f"raw {df['false_bottom_raw'].mean():.2f} (of {round(0.1 * agents)})")
    if args.response == "realistic":
        print(f"  steering agents flagged: {100 * df['steering_found'].mean():.1f}%; false flags per replication "
              f"{df['false_flags'].mean():.2f} (among {agents - PRESETS['sample'].n_steering} honest agents)")
    print(f"  weighting moves mean CSAT toward the population mean in {100 * df['weighting_helps'].mean():.0f}% of replications")
    if args.model_check:
        print(f"  clmm on data simulated from the model itself: 95% intervals cover {clmm_model_check(args.reps):.3f} "
              f"of the true agent effects ({args.reps} replications × 150 agents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
