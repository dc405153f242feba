"""The analysis layer on the bundled sample and on synthetic inputs: variance shares, customers,
policy effects, the survey screen and the tipping-point analysis — each against a number it must hit."""
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from upstream import lmer
from upstream.analysis import policies
from upstream.analysis import screen as screen_module
from upstream.analysis import shares as shares_module
from upstream.analysis import verdicts as verdicts_module
from upstream.analysis.agents import AgentModel, agent_effects, fit_agent_model
from upstream.analysis.nonresponse import (
    TippingPoint,
    contact_replies,
    mar_nonrespondent_mean,
    tipping_point,
    verdict_tipping_points,
)
from upstream.data.frames import invitations, responses
from upstream.models.bootstrap import BootstrapResult
from upstream.simulate import truth_frame
from upstream.studies.agent_vs_system import sentences as say
from upstream.studies.survey_health import sentences as survey_say

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def model(sample):
    ds, _ = sample
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_agent_model(responses(ds, "csat"), n_boot=100, seed=1, population=ds.contacts)


@pytest.fixture(scope="module")
def screen(sample):
    ds, _ = sample
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return screen_module.survey_screen(ds.contacts, invitations(ds))


def test_fit_agent_model_defaults_to_1000_replicates():
    """Defect 10: 200 replicates were the default — too few for 2.5% tails."""
    import inspect
    assert inspect.signature(fit_agent_model).parameters["n_boot"].default == 1000


# -- variance shares ------------------------------------------------------------------------------

def frozen_bootstrap(model: AgentModel, n: int = 50) -> AgentModel:
    """The same model with a bootstrap whose every replicate equals the estimates (no noise)."""
    est = model.boot.estimates
    samples = pd.DataFrame([est.to_numpy()] * n, columns=est.index)
    boot = BootstrapResult(n=n, n_failed=0, level=0.95, samples=samples, estimates=est, modes=model.boot.modes,
                           errors={g: np.zeros((n, len(m))) for g, m in model.boot.modes.items()},
                           fixef_names=model.boot.fixef_names)
    return replace(model, boot=boot)


def test_share_interval_pivots_on_the_bootstrap_worlds_truth(model):
    """Defect 1: the basic interval pivoted on the bias-corrected estimate while the draws centre on
    the uncorrected plug-in share, subtracting tr(S·Cov β̂) twice. With a noiseless bootstrap the
    interval must collapse onto the plug-in share (the truth of the bootstrap world), not onto the
    corrected estimate."""
    sh = shares_module.variance_shares(frozen_bootstrap(model))
    t = sh.table
    for row in ("contact mix", "policy"):
        assert t.loc[row, "lower"] == pytest.approx(sh.plug_in[row], rel=1e-9)
        assert t.loc[row, "upper"] == pytest.approx(sh.plug_in[row], rel=1e-9)
        assert sh.plug_in[row] > t.loc[row, "share"] + 1e-4      # the correction is not negligible here
    # the agents' share too: in the bootstrap world its denominator holds the uncorrected mix variance
    assert t.loc["agents", "lower"] == pytest.approx(sh.plug_in["agents"], rel=1e-9)


def test_shares_report_the_agent_sd_in_points_and_separate_customers(model):
    """Defect 7: a customer effect as large as the agent's was hidden in "unexplained"."""
    sh = shares_module.variance_shares(model)
    sd, lo, hi = sh.agent_sd
    assert sd == pytest.approx(float(model.fit.varcorr.loc["agent_id", "sd"]))
    assert lo < sd < hi
    split = shares_module.customer_split(model)
    assert split is not None and split.n_repeat_customers >= 900
    both = shares_module.with_customers(sh, split)
    t = both.table
    assert {"customers", "contact to contact", "unexplained"} <= set(t.index)      # the two parts of unexplained
    u = sh.table.loc["unexplained", "share"]
    assert t.loc["customers", "share"] + t.loc["contact to contact", "share"] == pytest.approx(u)
    # the simulator's customer SD equals the agent SD (latent scale): the two shares are of the same size
    assert 0.5 < t.loc["customers", "share"] / t.loc["agents", "share"] < 2
    # profile interval: the deviance at each end is χ²₁(0.95) above the minimum
    assert split.rho_lower < split.rho < split.rho_upper
    assert 0 < split.rho_lower
    assert "customers" in say.variance_sentence(both)


def test_the_profile_interval_ends_are_where_the_deviance_rises_by_the_chi2_cutoff(model):
    split = shares_module.customer_split(model)
    fit = split.fit
    ci, ai = fit.theta_names.index("customer_id.(Intercept)"), fit.theta_names.index("agent_id.(Intercept)")

    def profile(rho):
        theta_c = np.sqrt(rho / (1 - rho))
        best = np.inf
        for theta_a in np.linspace(0, 0.6, 121):
            theta = np.empty(2)
            theta[ci], theta[ai] = theta_c, theta_a
            best = min(best, fit.criterion_at(theta))
        return best

    cut = stats.chi2.ppf(0.95, 1)
    for end in (split.rho_lower, split.rho_upper):
        assert profile(end) - fit.reml_criterion == pytest.approx(cut, abs=0.05)


def test_comparison_sentence_only_when_the_difference_is_clear():
    table = pd.DataFrame({"share": [0.05, 0.06, 0.03, 0.86, 2.0], "lower": [0.04, 0.05, 0.02, 0.8, 1.9],
                          "upper": [0.06, 0.07, 0.04, 0.9, 2.1], "p_value": [np.nan, 0.0, 0.0, np.nan, np.nan]},
                         index=["agents", "contact mix", "policy", "unexplained", "total variance"])
    sh = shares_module.Shares(table=table, agent_sd=(0.3, 0.25, 0.35), level=0.95, draws=pd.DataFrame(),
                              plug_in=pd.Series(dtype=float))
    unclear = pd.Series({"estimate": -0.02, "lower": -0.04, "upper": 0.001, "clear": False})
    clear = pd.Series({"estimate": -0.02, "lower": -0.035, "upper": -0.005, "clear": True})
    assert say.mix_part_sentence(sh, "policy", unclear) == (
        "Of the contact mix, policy matters most: it accounts for 3.0% (2.0%–4.0%) of the variation; whether that is "
        "more or less than differences between agents cannot be told from these data (difference -2.0 points of share, "
        "95% interval -4.0 to +0.1).")
    assert say.mix_part_sentence(sh, "policy", clear).endswith(
        ", less than differences between agents (difference -2.0 points of share, 95% interval -3.5 to -0.5).")


def test_share_difference_uses_the_same_pivot(model):
    sh = shares_module.variance_shares(frozen_bootstrap(model))
    d = shares_module.share_difference(sh, "policy", "agents")
    plug = sh.plug_in["policy"] - sh.plug_in["agents"]
    assert d["lower"] == pytest.approx(plug) and d["upper"] == pytest.approx(plug)


# -- policies ------------------------------------------------------------------------------------

def test_policy_effects_are_against_the_average_contact_of_all_contacts(sample, model):
    """Defect 8: "the average contact" was averaged over replies, not all contacts."""
    ds, _ = sample
    pm = policies.PolicyModel(fit=model.fit, variable="policy", customer_effect=False, weighted=False,
                              residual_sd=pd.Series(dtype=float), heterogeneity_p=np.nan)
    eff = policies.level_effects(pm, ds.contacts)
    fit = model.fit
    shares = ds.contacts["policy"].value_counts(normalize=True)
    beta = {lab: (fit.fixef.get(f"policy{lab}", 0.0)) for lab in fit.factor_levels("policy")}
    average = sum(shares[lab] * beta[lab] for lab in beta)
    for lab in ("refund above cap", "loyalty credit"):
        assert eff.loc[lab, "effect"] == pytest.approx(beta[lab] - average, abs=1e-12)
    assert eff.loc["standard", "n_contacts"] == int((ds.contacts["policy"] == "standard").sum())
    by_replies = fit.level_contrasts("policy")
    assert abs(by_replies.loc["refund above cap", "estimate"] - eff.loc["refund above cap", "effect"]) > 1e-4


def test_policy_model_adds_customers_and_policy_variances(sample, model):
    ds, truth = sample
    split = shares_module.customer_split(model)
    pm = policies.fit_policy_model(model, "policy", split.fit)
    assert pm.customer_effect and "(1 | customer_id)" in pm.fit.formula
    assert pm.heterogeneity_p < 0.01 and pm.weighted      # ordinal scores: the spread differs by policy
    eff = policies.level_effects(pm, ds.contacts)
    harmful = [p for p, v in truth["policy_effect_csat"].items() if v <= -0.3]
    harmless = [p for p, v in truth["policy_effect_csat"].items() if abs(v) < 0.05]
    named = set(eff.index[eff["upper_adj"] < 0])
    assert set(harmful) <= named and not named & set(harmless)
    assert eff["p_holm"].min() >= eff["p_value"].min()
    fw = eff.dropna()
    assert ((fw["lower_adj"] <= fw["lower"]) & (fw["upper"] <= fw["upper_adj"])).all()


def test_policy_sentence_names_every_policy_below_zero_with_its_family_wise_interval():
    """Defect 2: the sentence named two of four policies (a hard-coded k=2) and printed the
    unadjusted interval next to "significant after adjusting"."""
    pol = pd.DataFrame({"effect": [-0.7, -0.4, -0.35, -0.3, 0.0, 0.2], "lower": [-0.8, -0.5, -0.45, -0.4, -0.1, 0.1],
                        "upper": [-0.6, -0.3, -0.25, -0.2, 0.1, 0.3],
                        "lower_adj": [-0.9, -0.6, -0.55, -0.5, -0.2, 0.0],
                        "upper_adj": [-0.5, -0.2, -0.15, -0.1, 0.2, 0.4]}, index=list("abcdef"))
    text = say.policy_sentence(pol)
    assert text == ("4 of the 6 policies lower CSAT against the average contact of the period with the agent held "
                    "fixed, after adjusting for the 6 compared: 'a' (-0.70 points, family-wise 95% interval -0.90 to "
                    "-0.50), 'b' (-0.40 points, family-wise 95% interval -0.60 to -0.20), 'c' (-0.35 points, "
                    "family-wise 95% interval -0.55 to -0.15) and 'd' (-0.30 points, family-wise 95% interval -0.50 "
                    "to -0.10).")
    none = say.policy_sentence(pol.assign(upper_adj=0.1))
    assert none == ("No policy lowers CSAT below the average contact by more than chance allows across the 6 policies "
                    "compared (family-wise 95% intervals).")


def test_random_slope_test_uses_the_boundary_mixture(model):
    tests = policies.agent_variation(model, "policy")
    var = tests.table
    assert tests.reference == "standard"
    assert set(var.index) == set(model.frame["policy"].unique()) - {"standard"}
    for _, row in var.iterrows():
        expected = 0.5 * stats.chi2.sf(row["lr"], 1) if row["lr"] > 0 else 1.0
        assert row["p_value"] == pytest.approx(expected)
    assert (var["p_holm"] >= var["p_value"] - 1e-15).all()


def test_random_slope_test_finds_a_policy_whose_effect_varies_by_agent():
    rng = np.random.default_rng(5)
    agents = np.repeat(np.arange(60), 80)
    policy = rng.choice(["a", "b", "c"], len(agents))
    skill = rng.normal(0, 0.3, 60)
    slope = rng.normal(0, 0.6, 60)                    # policy "c" helps some agents, hurts others
    y = 4 + skill[agents] + (policy == "c") * (-0.3 + slope[agents]) + rng.normal(0, 1, len(agents))
    frame = pd.DataFrame({"y": y, "policy": policy, "agent_id": agents.astype(str)})
    fit = lmer("y ~ policy + (1 | agent_id)", frame)
    m = AgentModel(fit=fit, boot=None, frame=frame, outcome="y", agent="agent_id", mix=("policy",), baseline=0.0)
    var = policies.agent_variation(m, "policy", reference="a").table
    assert var.loc["c", "p_holm"] < 0.001
    assert 0.4 < var.loc["c", "slope_sd"] < 0.8
    assert var.loc["b", "p_holm"] > 0.05            # b against a: no variation, and c does not leak into it


def test_policy_variation_and_top_quarter_sentences():
    pol = pd.DataFrame({"effect": [-0.7, -0.3], "upper_adj": [-0.5, -0.1], "agent_variation_p": [0.6, 0.01],
                        "slope_sd": [0.02, 0.4], "top_quarter": [-0.45, -0.05], "top_quarter_upper_adj": [-0.3, 0.1]},
                       index=["refund above cap", "warranty expired"])
    out = say.policy_variation_sentences(pol)
    assert out == ["The effect of 'warranty expired' (SD across agents 0.40 points, p = 0.010) varies between agents: "
                   "some agents handle it better, so part of that cost is the agent's.",
                   "Under 'refund above cap' (-0.45 points, family-wise interval up to -0.30), even an agent better than "
                   "three in four scores below the average contact: most agents cannot make up for it, though the best "
                   "few may."]
    with_sd = say.policy_variation_sentences(pol.assign(top_quarter_agent_sd=[0.25, 0.6]))
    assert with_sd[1] == ("Under 'refund above cap' (-0.45 points, family-wise interval up to -0.30; agents' SD under "
                          "it 0.25 points), even an agent better than three in four scores below the average contact: "
                          "most agents cannot make up for it, though the best few may.")


def test_top_quarter_is_the_effect_plus_the_75th_percentile_agent(sample, model):
    ds, _ = sample
    pm = policies.PolicyModel(fit=model.fit, variable="policy", customer_effect=False, weighted=False,
                              residual_sd=pd.Series(dtype=float), heterogeneity_p=np.nan)
    eff = policies.level_effects(pm, ds.contacts)
    top = policies.top_quarter(model, eff, ds.contacts)
    tau = float(model.fit.varcorr.loc["agent_id", "sd"])
    np.testing.assert_allclose(top["top_quarter"], eff.loc[top.index, "effect"] + stats.norm.ppf(0.75) * tau)
    np.testing.assert_allclose(top["top_quarter_agent_sd"], tau)
    assert (top["top_quarter_lower_adj"] < top["top_quarter"]).all()
    assert (top["top_quarter"] < top["top_quarter_upper_adj"]).all()


# -- survey screen ---------------------------------------------------------------------------------

def test_robust_tau2_matches_the_generating_spread():
    rng = np.random.default_rng(3)
    n = rng.integers(200, 2000, 400).astype(float)
    e = np.full(400, 0.3)
    s2 = e * (1 - e) / n
    y = e + rng.normal(0, 0.04, 400) + rng.normal(0, np.sqrt(s2))
    y[:10] -= 0.3                                        # a few manipulated agents do not inflate it
    tau2 = screen_module.robust_tau2(y, e, s2)
    assert 0.033 < np.sqrt(tau2) < 0.047
    assert screen_module.robust_tau2(e + rng.normal(0, np.sqrt(s2)), e, s2) < 1e-4


def test_screen_allows_for_ordinary_variation_and_catches_steering(sample, screen):
    """Defect 4: rates were tested against the pooled rate with no allowance for over-dispersion."""
    _, truth = sample
    steer = truth_frame(truth)["steering"]
    flagged = screen.table["flagged"].reindex(steer.index)
    assert flagged[steer].all()
    assert flagged[~steer].mean() <= 0.05
    assert screen.tau2_response > 0 and screen.tau2_invitation > 0
    # a binomial test against the pooled rate flags far more ordinary agents
    screen = screen.table
    naive = (screen["n_responses"] / screen["invitations"] - screen["n_responses"].sum() / screen["invitations"].sum())
    pooled = screen["n_responses"].sum() / screen["invitations"].sum()
    z_naive = naive / np.sqrt(pooled * (1 - pooled) / screen["invitations"])
    assert (z_naive.abs() > 3.09).reindex(steer.index)[~steer].sum() > 2 * flagged[~steer].sum()


def _counts(o, e, n):
    e = np.asarray(e, float)
    return pd.DataFrame({"o": o, "e": e, "v": e * (1 - np.asarray(e) / np.asarray(n)), "n": n},
                        index=pd.Index([f"a{i:02d}" for i in range(len(o))], name="agent_id"))


def test_more_replies_alone_do_not_put_an_agent_under_review():
    """Only fewer invitations (overall or after adverse contacts), or fewer invitations with more replies
    together, flag: an excess of replies alone is reported, not flagged."""
    rng = np.random.default_rng(5)
    m, n = 60, 400
    inv_o = rng.binomial(n, 0.5, m).astype(float)
    resp_o = rng.binomial(inv_o.astype(int), 0.3).astype(float)
    inv_o[0] = 140                                           # a00: far fewer invitations than its contacts predict
    resp_o[1] = inv_o[1] * 0.6                               # a01: far more replies, invitations as expected
    inv_o[2], resp_o[2] = 178, 178 * 0.39                    # a02: moderate deficit and moderate excess together
    out = screen_module.screen_table(_counts(inv_o, np.full(m, 0.5 * n), np.full(m, n)),
                                     _counts(resp_o, 0.3 * inv_o, inv_o), None, 2.58, [])
    result, out = out, out.table
    assert out.loc["a00", "flag_invitations"] and out.loc["a00", "flagged"]
    assert out.loc["a01", "flag_response"] and not out.loc["a01", "flagged"]
    a02 = out.loc["a02"]
    # two tests ran (invitations, the combined one): each at the z splitting 2.58's one-sided 0.49% between them
    z_test = result.z_test
    assert (result.n_tests, round(z_test, 4)) == (2, 2.8109)
    assert -z_test < a02["z_invitation"] and a02["z_response"] < z_test < a02["z_steering"] and a02["flagged"]
    assert out["flagged"].sum() == 2
    text = survey_say.screen_sentence(result)
    assert text.startswith("2 of the 60 agents with contacts are under review for their survey process: 1 sends fewer surveys than their own "
                           "contacts predict (overall or after unresolved, escalated or repeated contacts) and 1 "
                           "combines fewer surveys with more replies than predicted, each moderate alone, beyond an "
                           "ordinary between-agent SD of")
    assert text.endswith("(one-sided z > 2.81 on each of 2 tests, a 0.5% chance of a flag for an ordinary agent in "
                         "all). They get no verdict until the process is reviewed; more replies alone "
                         "do not put an agent under review.")
    quiet = replace(result, table=out.assign(flag_invitations=False, flag_combined=False, flagged=False))
    assert survey_say.screen_sentence(quiet).startswith("No agent's invitation or response rate is implausible")

def test_top_box_expectation_is_marginal_over_agents(sample):
    ds, _ = sample
    inv = invitations(ds)
    scored = inv[inv["responded"] & inv["csat"].notna()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, health = screen_module.marginal_top_box(scored, ("policy", "product", "channel", "issue_type"))
    assert health == []
    # averaged over replies the marginal expectation reproduces the observed top-box share
    assert p.mean() == pytest.approx((scored["csat"] == 5).mean(), abs=0.01)


# -- non-response ------------------------------------------------------------------------------------

def mar_operation(n=40_000, seed=3):
    """Contacts in two channels: chat is invited more often (90% vs 50%), answers more often (60% vs 15%)
    and scores higher (4.4 vs 3.4); given the channel, who is invited and who answers is random (MAR).
    Every contact has a score; only the replies are observed."""
    rng = np.random.default_rng(seed)
    chat = rng.random(n) < 0.5
    score = np.where(chat, 4.4, 3.4) + rng.normal(0, 0.8, n)
    invited = rng.random(n) < np.where(chat, 0.9, 0.5)
    replied = invited & (rng.random(n) < np.where(chat, 0.6, 0.15))
    contacts = pd.DataFrame({"contact_id": np.arange(n), "agent_id": rng.integers(0, 40, n).astype(str),
                             "channel": np.where(chat, "chat", "email")})
    inv = contacts[invited].assign(responded=replied[invited], csat=np.where(replied, score, np.nan)[invited])
    return contacts, inv, score, replied


def test_tipping_point_starts_non_respondents_at_their_mar_mean_over_every_contact():
    """Issue 18 item 3: under MAR the non-respondents' mean is the (1 − p)/p-weighted mean of the replies,
    and non-respondents are counted per contact (never-invited contacts have no reply either). In this MAR
    simulation the truth is known: μ(0) must be the mean over all contacts. The old code (1/p weights,
    replies per invitation) put μ(0) at 4.137 against the true 3.898 (0.24 points off) and started the
    non-respondents at 4.033 against their true 3.734."""
    contacts, inv, score, replied = mar_operation()
    frame = contact_replies(contacts, inv)
    assert frame["answered"].sum() == replied.sum() and len(frame) == len(contacts)
    tip = tipping_point(frame, shift=0.1)
    r = replied.mean()
    assert tip.response_share == pytest.approx(r)
    assert tip.nonrespondent_mar_mean == pytest.approx(score[~replied].mean(), abs=0.03)
    assert tip.mean_mar == pytest.approx(score.mean(), abs=0.03)
    assert tip.delta_for_shift == pytest.approx(0.1 / (1 - r))
    table = tip.table
    assert table.loc[0.0, "mean"] == pytest.approx(tip.mean_mar)
    assert table.loc[0.5, "mean"] - table.loc[0.0, "mean"] == pytest.approx(0.5 * (1 - r))
    # the inverse-propensity mean estimates the mean over everyone, not over the non-respondents
    y = frame.loc[frame["answered"], "csat"].to_numpy()
    p = np.where(frame.loc[frame["answered"], "channel"] == "chat", 0.54, 0.075)
    assert mar_nonrespondent_mean(y, p) == pytest.approx(np.average(y, weights=(1 - p) / p))
    assert mar_nonrespondent_mean(y, p) < np.average(y, weights=1 / p) - 0.05


def test_tipping_sentence_says_whose_replies_it_counts():
    """Per contact when the export lists every contact; per surveyed contact when it lists only those; and
    nothing to shift when every listed contact replied."""
    tip = TippingPoint(pd.DataFrame(), response_share=0.2, respondent_mean=4.0, nonrespondent_mar_mean=3.9,
                       mean_mar=3.92, shift=0.1, delta_for_shift=0.125, contacts=1000)
    assert survey_say.tipping_sentences(tip, pd.DataFrame())[0].startswith(
        "Only 20% of the period's contacts have a CSAT reply, so if the others would score just 0.12 points lower "
        "than replies from comparable contacts, mean CSAT over all contacts would be 0.10 points lower")
    assert survey_say.tipping_sentences(replace(tip, every_contact=False), pd.DataFrame())[0].startswith(
        "Only 20% of the surveyed contacts (the export lists no others) have a CSAT reply, so if the others would "
        "score just 0.12 points lower than replies from comparable contacts, mean CSAT over all surveyed contacts")
    contacts = pd.DataFrame({"contact_id": [1, 2, 3], "agent_id": ["a", "a", "b"], "channel": ["chat"] * 3})
    answered = contacts.assign(responded=True, csat=[5.0, 4.0, 3.0])
    everyone = tipping_point(contact_replies(contacts, answered))
    assert (everyone.response_share, everyone.mean_mar) == (1.0, 4.0) and np.isnan(everyone.delta_for_shift)
    assert survey_say.tipping_sentences(replace(everyone, every_contact=False), pd.DataFrame()) == [
        "Every one of the surveyed contacts (the export lists no others) has a CSAT reply, so there are no "
        "non-respondents whose scores could differ (a δ-adjusted pattern-mixture analysis needs some)."]


def test_verdict_tipping_point_is_where_the_studys_own_rule_withdraws_the_verdict():
    """Issue 18 item 3: a verdict holds while P(effect beyond the margin) ≥ 1 − max_false_sign, so the
    tipping shift is the one at which that probability crosses 1 − α — checked by shifting the agent's
    draws just short of and just past it. The old rule (the two-sided 95% bound reaching 0, margin
    ignored) reported shifts 0.97–1.21× (median 1.10×) the right ones here."""
    rng = np.random.default_rng(5)
    means = np.array([0.45, 0.30, -0.35, -0.6, 0.0])
    draws = pd.DataFrame(rng.normal(means, [0.1, 0.08, 0.12, 0.2, 0.1], (4000, 5)), columns=list("ABCDE"))
    margin, alpha = 0.05, 0.05
    probs = verdicts_module.sign_probabilities(draws, margin)
    verdict = verdicts_module.assign_verdicts(probs, pd.Series(True, index=draws.columns), max_false_sign=alpha)
    assert verdict.tolist() == ["above average"] * 2 + ["below average"] * 2 + ["not distinguishable from average"]
    effects = probs.assign(verdict=verdict, effect=means)
    answered = {"A": [True, False], "B": [True, True, False, False, False], "C": [True, False, False],
                "D": [True, True, True, False], "E": [True, False]}
    frame = pd.DataFrame([(a, x) for a, xs in answered.items() for x in xs], columns=["agent_id", "answered"])
    out = verdict_tipping_points(effects, frame, draws, practical_margin=margin, max_false_sign=alpha)
    assert list(out.index) == list("ABCD")
    assert out["reply_share"].tolist() == [0.5, 0.4, 1 / 3, 0.75]
    assert (np.sign(out["tipping_delta"]) == [-1, -1, 1, 1]).all()
    for agent, row in out.iterrows():
        for factor, holds in ((0.99, True), (1.01, False)):
            moved = draws[[agent]] + factor * (1 - row["reply_share"]) * row["tipping_delta"]
            p = verdicts_module.sign_probabilities(moved, margin)
            again = verdicts_module.assign_verdicts(p, pd.Series(True, index=[agent]), max_false_sign=alpha)
            assert (again[agent] == row["verdict"]) is holds, (agent, factor)


def test_agent_effects_table_on_the_sample(sample, model, screen):
    ds, truth = sample
    judged = agent_effects(model, ds.agents, 0.7, flagged=screen.table["flagged"])
    eff = judged.table
    true = truth_frame(truth)
    steer = true["steering"].reindex(eff.index)
    assert (eff.loc[steer[steer].index, "verdict"] == "survey process under review").all()
    assert eff.loc[eff["survey_flag"], "adjusted_rank"].isna().all()
    given = eff[eff["verdict"].isin(["above average", "below average"])]
    assert (given["lfsr"] <= 0.05).all() and len(given) >= 15
    t = true["effect_csat"].reindex(given.index) - true.loc[~true["steering"], "effect_csat"].mean()
    wrong = ((given["verdict"] == "above average") & (t < 0)) | ((given["verdict"] == "below average") & (t > 0))
    assert wrong.sum() <= 2
    assert judged.expected_wrong == pytest.approx(given["lfsr"].sum())
    assert (judged.practical_margin, judged.max_false_sign, judged.reliability_threshold) == (0.0, 0.05, 0.7)
    assert judged.baseline == model.baseline and judged.draws == model.draws_method
    ranked = eff[eff["adjusted_rank"].notna()]
    assert ranked["p_bottom_decile"].notna().all() and eff.loc[~eff["rankable"], "p_bottom_decile"].isna().all()
