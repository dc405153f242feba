"""The simulator as the judge of the verdicts: repeated simulated operations with known truth.

    .venv/bin/python benchmarks/coverage.py [--reps 200] [--boot 1000] [--margin 0.0] [--jobs 1]
                                           [--response realistic|mar] [--model-check]
                                           [--generator project|heavy-tailed|both] [--verdicts-only]
                                           [--latent-shares 60] [--small-teams 100] [--rows FILE]

Each replication simulates the bundled sample's operation with a new seed (60,000 contacts, 150
agents, 15% response, U-shaped score-dependent response, ordinary agent-to-agent variation in
invitation and response rates, 5 steering agents) and runs the agent_vs_system steps on it:
the agent model with its parametric bootstrap, the survey screen, the agents' effects and verdicts,
the variance shares and the policy effects. It reports, over the replications:

- for each generator (`--generator`: the project's simulator, benchmarks/heavy_tailed.py's t3 agent
  effects with 1.5x the score-dependent response, or both on the same seeds): realised wrong verdicts
  against the stated number (Σ lfsr, which assumes the model is right) with the issue-18 criterion
  realised ≤ max(2 × stated, stated + 2), the false sign rate, and 95% interval coverage by third of
  |true effect| among the rankable, unflagged agents (the largest third is where verdicts are made);
  the same for the normal model's draws alone (the rule before the scale-mixture check) and the size of
  the wrongly judged agents' true effects; the survey screen's ordinary and steering flags and the
  share of operations with more than 5% of ordinary agents flagged;
- coverage of the 95% agent intervals against each honest agent's true effect on the CSAT scale
  (truth `effect_csat`, centred at the plain mean of the agents in the model: the estimand of
  verdicts.py), by reliability band;
- coverage of the 95% rank intervals (true rank among the ranked agents);
- the survey screen: steering agents flagged, ordinary agents flagged;
- policies: truly harmful policies (truth ≤ −0.3 CSAT points) named, harmless ones (|truth| < 0.05)
  named, and coverage of the family-wise intervals;
- share intervals: a parametric check — y simulated from the fitted linear mixed model on the
  operation's own design, so the true shares are known exactly — coverage of the agents and
  contact-mix share intervals;
- how much better adjusted scores track the truth than raw averages (correlation, agents wrongly in
  the bottom 10%), and whether inverse-propensity weighting moves mean CSAT toward the population mean.

`--response mar` switches off outcome-dependent response and steering (an engine check free of
survey bias). `--verdicts-only` skips policies and share checks (faster). `--latent-shares N` also
checks the latent (logistic) variance shares' intervals on N fits with a known truth; `--small-teams N`
the agent intervals on N 12-agent teams (one-factor and crossed; the crossed path beside the old draws
with θ fixed); `--rows FILE` appends each operation's numbers as a JSON line. `--model-check`
also checks clmm's intervals on data simulated from the cumulative-logit mixed model itself.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from upstream import clmm

BANDS = [(0.7, 0.8), (0.8, 0.9), (0.9, 1.01)]
THIRDS = ("smallest", "middle", "largest")


def one(seed: int, n_boot: int, margin: float, response: str = "realistic", customers: bool = True,
        generator: str = "project", verdicts_only: bool = False) -> dict:
    warnings.simplefilter("ignore")
    from upstream.analysis import policies
    from upstream.analysis import shares as shares_module
    from upstream.analysis.agents import agent_effects
    from upstream.analysis.nonresponse import fit_response_model, weighted_scores
    from upstream.data.frames import invitations
    from upstream.simulate import PRESETS, simulate, truth_frame
    from upstream.studies import Parameters, RunCache, steps

    spec = PRESETS["sample"]
    if response == "mar":
        spec = spec.replace(outcome_dependent_response=0.0, n_steering=0)
    if generator == "heavy-tailed":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from heavy_tailed import simulate_heavy_tailed
        op = simulate_heavy_tailed(seed)
    else:
        op = simulate(spec, seed=seed)
    ds = _Dataset(op, seed)
    params = Parameters(n_boot=n_boot, seed=seed, practical_margin=margin)
    cache = RunCache()
    if customers:
        model = steps.agent_model(ds, params, cache)
    else:                                   # judge agents with the one-factor model's bootstrap
        from upstream.analysis.agents import fit_agent_model
        from upstream.data.frames import responses
        model = steps.quietly(lambda: fit_agent_model(responses(ds, "csat"), n_boot=n_boot, seed=seed,
                                                      population=ds.contacts, customer=None))
    screen = steps.survey_screen(ds, params, cache)
    judged = agent_effects(model, ds.agents, params.reliability_threshold,
                           steps.verdict_margin(params, steps.csat_scale(ds)), params.max_false_sign,
                           flagged=screen.table["flagged"])
    eff = judged.table
    truth = truth_frame(op.truth)
    out: dict = {"seed": seed}
    steer = truth["steering"]
    flagged = screen.table["flagged"].reindex(truth.index).fillna(False)
    out["steering_flagged"] = int((flagged & steer).sum())
    inv = invitations(ds)
    w = fit_response_model(inv)
    s = weighted_scores(inv, w.weights).iloc[0]
    pop = op.truth["population"]["csat_mean"]
    out["weighting_helps"] = int(abs(s["csat_weighted"] - pop) < abs(s["csat"] - pop))
    out["steering_total"] = int(steer.sum())
    out["ordinary_flagged"] = int((flagged & ~steer).sum())
    out["ordinary_total"] = int((~steer).sum())
    # the screen's z-scores per agent, so the flags can be recomputed at another z (screen.flags_at)
    z_cols = ["z_invitation", "z_invitation_adverse", "z_response", "z_steering"]
    zs = screen.table[z_cols].reindex(truth.index)
    out["screen_z"] = {"n_tests": int(screen.n_tests), "steering": steer.astype(int).tolist(),
                       **{c: [None if pd.isna(v) else round(float(v), 4) for v in zs[c]] for c in z_cols}}
    honest = eff.index[~truth.loc[eff.index, "steering"].to_numpy()]
    # The estimand is the effect against the plain mean of the agents in the model (verdicts.py): centre
    # the truth on the plain mean of the same agents' true effects.
    centre = float(truth.loc[eff.index, "effect_csat"].mean())
    t = truth.loc[honest, "effect_csat"] - centre
    e = eff.loc[honest]
    hit = (e["lower"] <= t) & (t <= e["upper"])
    tr = truth.loc[eff.index, "effect_csat_respondents"]
    tr = tr.loc[honest] - float(tr.mean())
    hit_r = (e["lower"] <= tr) & (tr <= e["upper"])
    judged = e.index[e["rankable"] & ~e["survey_flag"]]
    size = t.loc[judged].abs()
    cuts = size.quantile([1 / 3, 2 / 3]).to_numpy() if len(size) >= 3 else np.array([np.inf, np.inf])
    for k, name in enumerate(THIRDS):
        lo, hi = ([-np.inf] + list(cuts))[k], (list(cuts) + [np.inf])[k]
        third = judged[(size > lo).to_numpy() & (size <= hi).to_numpy()] if k else judged[(size <= hi).to_numpy()]
        out[f"cover_third_{name}"] = (int(hit[third].sum()), len(third))
    for lo, hi in BANDS:
        band = (e["reliability"] >= lo) & (e["reliability"] < hi)
        out[f"cover_{lo:.1f}"] = (int(hit[band].sum()), int(band.sum()))
        out[f"cover_resp_{lo:.1f}"] = (int(hit_r[band].sum()), int(band.sum()))
    out["cover_below"] = (int(hit[e["reliability"] < 0.7].sum()), int((e["reliability"] < 0.7).sum()))
    out["r_adjusted"] = float(np.corrcoef(e["effect"], t)[0, 1])
    out["r_raw"] = float(np.corrcoef(e["raw_score"], t)[0, 1])
    k = max(1, round(0.1 * len(t)))
    true_bottom = set(t.nsmallest(k).index)
    out["false_bottom_raw"] = len(set(e["raw_score"].nsmallest(k).index) - true_bottom)
    out["false_bottom_adjusted"] = len(set(e["effect"].nsmallest(k).index) - true_bottom)
    given = eff[eff["verdict"].isin(["above average", "below average"])]
    tg = truth.loc[given.index, "effect_csat"] - centre
    wrong = ((given["verdict"] == "above average") & (tg <= 0)) | ((given["verdict"] == "below average") & (tg >= 0))
    out["verdicts"] = len(given)
    out["wrong_verdicts"] = int(wrong.sum())
    out["expected_wrong"] = float(given["lfsr"].sum())
    out["steering_above"] = int(((given["verdict"] == "above average") & truth.loc[given.index, "steering"]).sum())
    out["wrong_true_effects"] = [round(float(v), 4) for v in tg[wrong]]      # which agents are judged wrongly
    out.update(draws_only_verdicts(model, judged, truth.loc[eff.index, "effect_csat"] - centre, params.max_false_sign))
    out["draws"] = judged.draws
    if verdicts_only:
        return out
    ranked = eff[eff["adjusted_rank"].notna()]
    true_rank = truth.loc[ranked.index, "effect_csat"].rank(ascending=False, method="min")
    out["rank_cover"] = (int(((ranked["rank_lower"] <= true_rank) & (true_rank <= ranked["rank_upper"])).sum()),
                         len(ranked))
    # policies
    split = steps.quietly(lambda: shares_module.customer_split(model))
    pm = steps.quietly(lambda: policies.fit_policy_model(model, "policy", split.fit if split is not None else None))
    pol = policies.level_effects(pm, ds.contacts)
    tp = pd.Series(op.truth["policy_effect_csat"]).reindex(pol.index)
    named = pol["upper_adj"] < 0
    out["harmful_named"] = (int((named & (tp <= -0.3)).sum()), int((tp <= -0.3).sum()))
    out["harmless_named"] = (int((named & (tp.abs() < 0.05)).sum()), int((tp.abs() < 0.05).sum()))
    out["policy_fw_cover"] = (int(((pol["lower_adj"] <= tp) & (tp <= pol["upper_adj"])).sum()), len(pol))
    # share intervals, parametric: y from the fitted model on this design
    out.update(share_check(model, seed, n_boot))
    return out


def draws_only_verdicts(model, judged, truth: pd.Series, max_false_sign: float) -> dict:
    """The verdicts of the rule before the scale-mixture check (the normal model's draws alone) on the same
    operation: verdicts, wrong verdicts and Σ lfsr."""
    from upstream.analysis import verdicts

    eff = judged.table
    draws = verdicts.against_agent_mean(model.effect_draws())[eff.index]
    p = verdicts.sign_probabilities(draws, judged.practical_margin)
    v = verdicts.assign_verdicts(p, eff["rankable"], eff["survey_flag"], max_false_sign)
    given = v.isin([verdicts.ABOVE, verdicts.BELOW])
    wrong = ((v == verdicts.ABOVE) & (truth <= 0)) | ((v == verdicts.BELOW) & (truth >= 0))
    return {"verdicts_draws_only": int(given.sum()), "wrong_verdicts_draws_only": int(wrong.sum()),
            "expected_wrong_draws_only": float(p.loc[given, "lfsr"].sum())}


def share_check(model, seed: int, n_boot: int) -> dict:
    from upstream.analysis.agents import AgentModel
    from upstream.analysis.shares import variance_shares
    from upstream.models import lmer

    fit = model.fit
    rng = np.random.default_rng(seed + 7)
    X = fit.model_matrix.to_numpy()
    beta = fit.fixef.to_numpy()
    tau = float(fit.varcorr.loc[model.agent, "sd"])
    codes = pd.Categorical(model.frame[model.agent].astype(str))
    b = rng.normal(0, tau, len(codes.categories))
    y = X @ beta + b[codes.codes] + rng.normal(0, fit.sigma, len(X))
    frame = model.frame.assign(**{model.outcome: y})
    sim = lmer(model.formula, frame)
    boot = sim.bootstrap(n_boot, seed=seed, progress=False)
    sim_model = AgentModel(fit=sim, boot=boot, frame=frame, outcome=model.outcome, agent=model.agent, mix=model.mix,
                           baseline=0.0)
    table = variance_shares(sim_model).table
    S = np.cov(X, rowvar=False, ddof=0)
    mix = float(beta @ S @ beta)
    total = mix + tau ** 2 + fit.sigma ** 2
    true = {"agents": tau ** 2 / total, "contact mix": mix / total}
    return {f"share_cover_{k}": int(table.loc[k, "lower"] <= v <= table.loc[k, "upper"]) for k, v in true.items()}


class _Dataset:
    def __init__(self, op, seed):
        self.contacts, self.surveys, self.agents = op.contacts, op.surveys, op.agents
        self.fingerprint = f"simulated-{seed}"


def _ratio(rows, key):
    a = sum(r[key][0] for r in rows)
    n = sum(r[key][1] for r in rows)
    return a, n, (a / n if n else float("nan"))


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


def latent_share_check(reps: int, n_sim: int = 2000) -> dict[str, float]:
    """Coverage of latent_shares' 95% intervals over `reps` logistic fits with a known truth (60 agents ×
    30 good/bad replies, a 30-level mix: the case where tr(S·Cov β̂) is large against the interval)."""
    from upstream.analysis.latent import LOGISTIC_VARIANCE, LatentAgentModel, latent_shares
    from upstream.models import glmer

    warnings.simplefilter("ignore")
    hits = {"contact mix": 0, "agents": 0}
    for seed in range(30_000, 30_000 + reps):
        rng = np.random.default_rng(seed)
        agent = np.repeat(np.arange(60), 30)
        product = rng.integers(0, 30, agent.size)
        beta = np.r_[0.3, 0.4 * np.linspace(-1, 1, 29)]
        X = np.column_stack([np.ones(agent.size)] + [(product == j).astype(float) for j in range(1, 30)])
        eta = X @ beta + rng.normal(0, 0.5, 60)[agent]
        frame = pd.DataFrame({"good": (rng.random(agent.size) < 1 / (1 + np.exp(-eta))).astype(int),
                              "product": [f"p{j:02d}" for j in product], "agent_id": [f"a{i:03d}" for i in agent]})
        fit = glmer("good ~ product + (1 | agent_id)", frame)
        model = LatentAgentModel(fit=fit, frame=frame, outcome="good", agent="agent_id", mix=("product",),
                                 population_eta=X @ fit.fixef.to_numpy(), baseline=0.5)
        table = latent_shares(model, n_sim=n_sim, seed=seed).table
        mix = float(beta @ np.cov(X, rowvar=False, ddof=0) @ beta)
        total = mix + 0.25 + LOGISTIC_VARIANCE
        for k, truth in (("contact mix", mix / total), ("agents", 0.25 / total)):
            hits[k] += int(table.loc[k, "lower"] <= truth <= table.loc[k, "upper"])
    return {k: v / reps for k, v in hits.items()}


def small_team_check(reps: int, n_boot: int = 400) -> dict[str, float]:
    """Coverage on 12-agent teams with a known truth (effects against the plain mean of the agents):
    one-factor teams (half the agents with 300 replies, half with 25; τ = 0.5) through agent_effects'
    bootstrap path at 50% and 95%; crossed teams whose 300 customers answer several times (τ = 0.15,
    customer SD 0.6, σ = 1) through the crossed path at 95%, beside the old draws N(mode, cond_se²) with
    τ, σ, β at their estimates."""
    from upstream.analysis.agents import agent_effects, fit_agent_model
    from upstream.analysis.verdicts import against_agent_mean

    warnings.simplefilter("ignore")
    hits = {"one-factor 50%": [], "one-factor 95%": [], "crossed 95%": [], "crossed 95%, θ fixed": []}
    for seed in range(40_000, 40_000 + reps):
        rng = np.random.default_rng(seed)
        n = np.r_[np.full(6, 300), np.full(6, 25)]
        b = rng.normal(0, 0.5, 12)
        agent = np.repeat(np.arange(12), n)
        chat = rng.integers(0, 2, agent.size)
        ids = np.array([f"A{j:02d}" for j in range(12)])
        frame = pd.DataFrame({"csat": 3.5 + 0.3 * chat + b[agent] + rng.normal(0, 1, agent.size),
                              "channel": np.where(chat, "chat", "email"), "agent_id": ids[agent]})
        truth = pd.Series(b - b.mean(), index=ids)
        model = fit_agent_model(frame, "csat", ("channel",), n_boot=n_boot, seed=seed, customer=None)
        for level in (0.5, 0.95):
            eff = agent_effects(model, reliability_threshold=0.0, level=level).table
            t = truth.reindex(eff.index)
            hits[f"one-factor {level:.0%}"] += list((eff["lower"] <= t) & (t <= eff["upper"]))
        n = rng.integers(15, 80, 12)
        b = rng.normal(0, 0.15, 12)
        agent = np.repeat(np.arange(12), n)
        customer = rng.integers(0, 300, agent.size)
        chat = rng.integers(0, 2, agent.size)
        y = 3.5 + 0.3 * chat + b[agent] + rng.normal(0, 0.6, 300)[customer] + rng.normal(0, 1, agent.size)
        frame = pd.DataFrame({"csat": y, "channel": np.where(chat, "chat", "email"), "agent_id": ids[agent],
                              "customer_id": [f"C{k:04d}" for k in customer]})
        truth = pd.Series(b - b.mean(), index=ids)
        model = fit_agent_model(frame, "csat", ("channel",), n_boot=n_boot, seed=seed)
        eff = agent_effects(model, reliability_threshold=0.0).table
        t = truth.reindex(eff.index)
        hits["crossed 95%"] += list((eff["lower"] <= t) & (t <= eff["upper"]))
        re = model.crossed.ranef["agent_id"]
        fixed = pd.DataFrame(re["mode"].to_numpy() + rng.standard_normal((n_boot, len(re))) * re["cond_se"].to_numpy(),
                             columns=re.index)
        fixed = against_agent_mean(fixed)
        t = truth.reindex(fixed.columns)
        hits["crossed 95%, θ fixed"] += list((fixed.quantile(0.025) <= t) & (t <= fixed.quantile(0.975)))
    return {k: float(np.mean(v)) for k, v in hits.items()}


def verdict_report(rows: list[dict], label: str) -> None:
    """Realised against stated wrong verdicts, the false sign rate and coverage by third of |true effect|."""
    verdicts = sum(r["verdicts"] for r in rows)
    wrong = sum(r["wrong_verdicts"] for r in rows)
    expected = sum(r["expected_wrong"] for r in rows)
    bound = max(2 * expected, expected + 2)
    print(f"[{label}] {len(rows)} operations, draws: {rows[0]['draws']}")
    print(f"  verdicts: {verdicts / len(rows):.1f} per operation; realised wrong {wrong}, stated (Σ lfsr) "
          f"{expected:.1f}: realised/stated {wrong / max(expected, 1e-9):.2f}; false sign rate "
          f"{wrong / max(verdicts, 1):.4f} ({wrong} of {verdicts})")
    per_op = sum(r["wrong_verdicts"] <= max(2 * r["expected_wrong"], r["expected_wrong"] + 2) for r in rows)
    print(f"  realised <= max(2 x stated, stated + 2): {'PASS' if wrong <= bound else 'FAIL'} over all operations "
          f"({wrong} <= {bound:.1f}); in {per_op} of {len(rows)} operations one by one")
    print("  95% interval coverage of rankable, unflagged honest agents by third of |true effect|:")
    for name in THIRDS:
        a, n, r = _ratio(rows, f"cover_third_{name}")
        print(f"    {name} third: {r:.3f} ({a} of {n})")
    print(f"  steering agents called above average: {sum(r['steering_above'] for r in rows)}")
    if "verdicts_draws_only" in rows[0]:
        v0, w0 = sum(r["verdicts_draws_only"] for r in rows), sum(r["wrong_verdicts_draws_only"] for r in rows)
        e0 = sum(r["expected_wrong_draws_only"] for r in rows)
        print(f"  the normal model's draws alone (the rule before the scale-mixture check): {v0} verdicts, realised "
              f"wrong {w0}, stated {e0:.1f} (bound {max(2 * e0, e0 + 2):.1f}), false sign rate {w0 / max(v0, 1):.4f}")
    wrong_sizes = np.abs([x for r in rows for x in r.get("wrong_true_effects", [])])
    if len(wrong_sizes):
        print(f"  |true effect| of the wrongly judged agents: median {np.median(wrong_sizes):.3f}, max "
              f"{wrong_sizes.max():.3f} points")
    sf, st = sum(r["steering_flagged"] for r in rows), sum(r["steering_total"] for r in rows)
    of, ot = sum(r["ordinary_flagged"] for r in rows), sum(r["ordinary_total"] for r in rows)
    over = sum(r["ordinary_flagged"] > 0.05 * r["ordinary_total"] for r in rows)
    print(f"  survey screen: ordinary agents flagged {of / max(ot, 1):.4f} ({of} of {ot}); operations with > 5% of "
          f"ordinary agents flagged {over} of {len(rows)} ({over / len(rows):.1%}); steering agents flagged "
          f"{sf / max(st, 1):.3f} ({sf} of {st})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--margin", type=float, default=None, help="δ in points (default: the study's, 0.05 on 1–5)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--response", choices=("realistic", "mar"), default="realistic")
    ap.add_argument("--generator", choices=("project", "heavy-tailed", "both"), default="both",
                    help="the project's simulator, benchmarks/heavy_tailed.py (t3 agents), or both")
    ap.add_argument("--verdicts-only", action="store_true", help="only the verdicts (skip policies and shares)")
    ap.add_argument("--latent-shares", type=int, default=0, metavar="N",
                    help="also N logistic fits checking the latent variance shares' coverage")
    ap.add_argument("--model-check", action="store_true", help="also check clmm on data from the model")
    ap.add_argument("--small-teams", type=int, default=0, metavar="N",
                    help="also N one-factor and N crossed 12-agent teams checking interval coverage")
    ap.add_argument("--rows", default=None, help="append each operation's numbers to this file as a JSON line")
    ap.add_argument("--no-customers", action="store_true", help="judge agents without the customer effect")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    generators = ("project", "heavy-tailed") if args.generator == "both" else (args.generator,)
    seeds = range(args.first_seed, args.first_seed + args.reps)
    results = {g: [] for g in generators}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for g in generators:
            for row in pool.map(one, seeds, [args.boot] * args.reps, [args.margin] * args.reps,
                                [args.response] * args.reps, [not args.no_customers] * args.reps,
                                [g] * args.reps, [args.verdicts_only] * args.reps):
                results[g].append(row)
                if args.rows:                 # one JSON line per operation, for a run stopped part way
                    with open(args.rows, "a") as out:
                        out.write(json.dumps({"generator": g, **row}) + "\n")
    margin = "the study's default" if args.margin is None else f"{args.margin:g} points"
    print(f"{args.reps} simulated operations per generator (sample preset, seeds {args.first_seed}–"
          f"{args.first_seed + args.reps - 1}), {args.boot} bootstrap replicates, margin {margin}, "
          f"{time.perf_counter() - t0:.0f} s")
    for g, rows in results.items():
        verdict_report(rows, g)
    rows = results[generators[0]]
    if args.latent_shares:
        cover = latent_share_check(args.latent_shares)
        print(f"latent variance shares ({args.latent_shares} logistic fits): 95% intervals cover contact mix "
              f"{cover['contact mix']:.3f}, agents {cover['agents']:.3f}")
    if args.small_teams:
        cover = small_team_check(args.small_teams, min(args.boot, 400))
        print(f"12-agent teams ({args.small_teams} of each kind), coverage of effects against the plain mean: "
              + "; ".join(f"{k} {v:.3f}" for k, v in cover.items()))
    if args.verdicts_only:
        return 0
    print(f"[{generators[0]}] agent interval coverage (honest agents, truth effect_csat) by reliability band:")
    for lo, hi in BANDS:
        a, n, r = _ratio(rows, f"cover_{lo:.1f}")
        ar, _, rr = _ratio(rows, f"cover_resp_{lo:.1f}")
        print(f"  reliability {lo:.1f}–{min(hi, 1):.1f}: {r:.3f} ({a} of {n}); against the effect over the replies' "
              "mix "
              f"(truth effect_csat_respondents) {rr:.3f}")
    a, n, r = _ratio(rows, "cover_below")
    print(f"  below 0.7 (not ranked): {r:.3f} ({a} of {n})")
    a, n, r = _ratio(rows, "rank_cover")
    print(f"rank interval coverage: {r:.3f} ({a} of {n})")
    sf, st = sum(r["steering_flagged"] for r in rows), sum(r["steering_total"] for r in rows)
    of, ot = sum(r["ordinary_flagged"] for r in rows), sum(r["ordinary_total"] for r in rows)
    print(f"survey screen: steering agents flagged {sf / max(st, 1):.3f} ({sf} of {st}); ordinary agents flagged "
          f"{of / ot:.4f} ({of} of {ot}); operations with > 5% ordinary flagged: "
          f"{sum(r['ordinary_flagged'] > 0.05 * r['ordinary_total'] for r in rows)}")
    a, n, r = _ratio(rows, "harmful_named")
    print(f"policies: harmful (truth <= -0.3) named {r:.3f} ({a} of {n})", end="; ")
    a, n, r = _ratio(rows, "harmless_named")
    print(f"harmless named {r:.3f} ({a} of {n})", end="; ")
    a, n, r = _ratio(rows, "policy_fw_cover")
    print(f"family-wise interval coverage {r:.3f} ({a} of {n})")
    r_adj, r_raw = np.mean([r["r_adjusted"] for r in rows]), np.mean([r["r_raw"] for r in rows])
    print(f"correlation with the true agent effects: adjusted {r_adj:.3f}, raw average {r_raw:.3f}; agents wrongly "
          f"in the bottom 10%: adjusted {np.mean([r['false_bottom_adjusted'] for r in rows]):.2f}, raw "
          f"{np.mean([r['false_bottom_raw'] for r in rows]):.2f} per operation")
    print(f"weighting moves mean CSAT toward the population mean in "
          f"{100 * np.mean([r['weighting_helps'] for r in rows]):.0f}% of operations")
    if args.model_check:
        print(f"clmm on data simulated from the model itself: 95% intervals cover {clmm_model_check(args.reps):.3f}")
    for k in ("agents", "contact mix"):
        hits = [r[f"share_cover_{k}"] for r in rows]
        print(f"share interval coverage ({k}, data from the fitted model): {np.mean(hits):.3f} ({sum(hits)} of "
              f"{len(hits)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
