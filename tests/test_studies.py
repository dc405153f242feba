"""The study pipelines against the simulator's truth, the published tables, the run cache, and the
three study notebooks end to end through the runner (tests/test_published_report.py)."""
import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shared_data import shared_cache

from upstream import lmer
from upstream.analysis.agents import agent_effects, fit_agent_model
from upstream.analysis.nonresponse import fit_response_model, weighted_scores
from upstream.analysis.policies import PolicyModel, level_effects
from upstream.analysis.ranking import rank_shift
from upstream.analysis.scorecards import display_scorecards
from upstream.analysis.screen import survey_screen
from upstream.analysis.shares import variance_shares
from upstream.data.frames import invitations, responses
from upstream.reporting.sentences.common import Units
from upstream.simulate import truth_frame
from upstream.studies import (
    ParameterError,
    Parameters,
    RunCache,
    agent_scorecards,
    agent_vs_system,
    steps,
    survey_health,
)
from upstream.studies.agent_vs_system import sentences as say

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
AGENT_COLUMNS = ["agent_id", "n_responses", "raw_score", "effect", "lower", "upper", "reliability", "p_below",
                 "p_above", "lfsr", "p_bottom_decile", "survey_flag", "verdict"]
POLICY_COLUMNS = ["policy", "n_contacts", "n_responses", "effect", "lower", "upper", "lower_adj", "upper_adj",
                  "agent_variation_p"]


#: The study parameters of the sample's study tests (tests/study_data.py, tests/test_pages.py): with the run cache
#: they share, each model on the sample is fitted once per test run.
PARAMS = {"n_boot": 100, "seed": 7}


@pytest.fixture(scope="module")
def cache():
    return shared_cache("sample")


@pytest.fixture(scope="module")
def avs(sample, cache):
    ds, _ = sample
    return agent_vs_system.run(ds, {**PARAMS, "show_names": True}, cache)


def test_agent_vs_system_publishes_the_issue_tables(avs, tmp_path):
    written = avs.publish(tmp_path)
    assert sorted(p.name for p in written) == ["agent_effects.csv", "agent_mix_parts.csv", "agent_monthly_effects.csv",
                                               "agent_trend.csv", "policy_effects.csv", "rank_shift.csv",
                                               "survey_screen.csv", "variance_shares.csv", "verdict_rule.csv"]
    agents = pd.read_csv(tmp_path / "tables" / "agent_effects.csv", dtype={"agent_id": str})
    parts = pd.read_csv(tmp_path / "tables" / "agent_mix_parts.csv", dtype={"agent_id": str}).set_index("agent_id")
    mix = agents.set_index("agent_id")["mix_expected"]
    assert np.allclose(parts["total"], (mix - mix.mean()).reindex(parts.index), atol=1e-8)   # the parts add up
    rule = pd.read_csv(tmp_path / "tables" / "verdict_rule.csv").iloc[0]
    assert (rule["practical_margin"], rule["max_false_sign"], rule["reliability_threshold"]) == (0.05, 0.05, 0.7)
    assert (rule["outcome"], rule["unit"], rule["unit_scale"]) == ("CSAT", "points", 1.0)
    assert list(agents.columns[:len(AGENT_COLUMNS)]) == AGENT_COLUMNS
    policy = pd.read_csv(tmp_path / "tables" / "policy_effects.csv")
    assert set(POLICY_COLUMNS) <= set(policy.columns) and policy.columns[0] == "policy"
    assert set(agents["verdict"]) <= {"above average", "below average", "not distinguishable from average",
                                      "not enough responses to rank", "survey process under review"}


def test_the_samples_steady_agents_show_no_trend(avs):
    """The simulator's agents keep their effect all period: no agent's monthly effects move beyond chance (Holm),
    and the months count only the replies the agent model used."""
    trend, monthly = avs.tables["agent_trend"], avs.tables["agent_monthly_effects"]
    assert len(trend) >= 20 and not trend["changed"].any()
    used = monthly.groupby(level=0)["n_responses"].sum()
    assert (used <= avs.tables["agent_effects"]["n_responses"].reindex(used.index)).all()
    assert (monthly["n_responses"] >= 5).all() and (monthly["lower"] < monthly["effect"]).all()


def test_key_findings_are_checkable_from_the_tables(avs):
    f = avs.findings
    agents, policy = avs.tables["agent_effects"], avs.tables["policy_effects"]
    counts = agents["verdict"].value_counts()
    verdict = next(s for s in f if s.startswith("Of the ") and "agents with CSAT replies" in s)
    assert f"{counts['above average']} are above average and {counts['below average']} below average" in verdict
    rankable = len(agents) - counts["survey process under review"] - counts["not enough responses to rank"]
    assert verdict.startswith(f"Of the {len(agents)} agents with CSAT replies, {counts['survey process under review']}")
    assert f"which leaves {rankable} rankable" in verdict
    wrong = agents.loc[agents["verdict"].isin(["above average", "below average"]), "lfsr"].sum()
    given = counts["above average"] + counts["below average"]
    assert (f"probably none of these {given} verdicts" if wrong < 0.5 else
            f"about {'one' if wrong < 1.5 else int(wrong + 0.5)} of these {given} verdicts") in verdict
    named = policy[policy["upper_adj"] < 0]
    sentence = next(s for s in f if "policies lower CSAT" in s)
    assert sentence.startswith(f"{len(named)} of the {policy['effect'].notna().sum()} policies")
    value = Units.points("CSAT").value          # 2 decimals, a third where a bound would round to ±0.00
    for lvl, row in named.iterrows():
        assert f"'{lvl}' ({value(row['effect'])} points, family-wise 95% interval {value(row['lower_adj'])} to " \
               f"{value(row['upper_adj'])})" in sentence
        assert float(value(row["upper_adj"])) < 0
    floor = policy[(policy["top_quarter_upper_adj"] < 0) & (policy["upper_adj"] < 0)]
    quarter = [s for s in f if "better than three in four" in s]
    assert len(quarter) == (1 if len(floor) else 0)
    for lvl, row in floor.iterrows():
        assert (f"'{lvl}' ({value(row['top_quarter'])} points, family-wise interval up to "
                f"{value(row['top_quarter_upper_adj'])}; agents' SD under it {row['top_quarter_agent_sd']:.2f} "
                "points)") in quarter[0]
    assert not any("no agent can fix" in s for s in f)
    shares = avs.tables["variance_shares"]
    assert f"About {say.pct(shares.loc['agents', 'share'])} of the variation in CSAT" in f[0]


def test_study_recovers_the_simulators_truth(avs, sample):
    _, truth = sample
    true = truth_frame(truth)
    agents = avs.tables["agent_effects"]
    steering = true.index[true["steering"]]
    assert (agents.loc[agents.index.intersection(steering), "verdict"] == "survey process under review").all()
    assert (agents["survey_flag"] & ~true["steering"].reindex(agents.index)).mean() <= 0.05
    t = true["effect_csat"].reindex(agents.index)
    t = t - t[~true["steering"].reindex(agents.index)].mean()
    assert np.corrcoef(agents["effect"], t)[0, 1] > np.corrcoef(agents["raw_score"], t)[0, 1] + 0.05
    honest = ~agents["survey_flag"]
    cover = ((agents["lower"] <= t) & (t <= agents["upper"]))[honest].mean()
    assert cover >= 0.9                     # one operation; benchmarks/coverage.py runs 200
    policy = avs.tables["policy_effects"]
    named = set(policy.index[policy["upper_adj"] < 0])
    true_policy = pd.Series(truth["policy_effect_csat"])
    assert set(true_policy.index[true_policy <= -0.3]) <= named
    assert not named & set(true_policy.index[true_policy.abs() < 0.05])


def test_pseudonyms_in_published_tables_unless_names_are_asked_for(sample, avs, tmp_path):
    """The module's result (agent ids asked for) published as a run without names publishes it: the labels come
    from the parameters at publishing (a run of the study with them: tests/test_pages.py)."""
    ds, _ = sample
    unnamed = dataclasses.replace(avs.parameters, show_names=False, pseudonym_salt="test-salt")
    result = dataclasses.replace(avs, parameters=unnamed, _labels=None)
    result.publish(tmp_path)
    table = pd.read_csv(tmp_path / "tables" / "agent_effects.csv", dtype={"agent_id": str})
    assert table["agent_id"].str.fullmatch(r"Agent [0-9A-F]{4,}").all()
    assert not set(table["agent_id"]) & set(ds.agents["agent_id"])


def test_tables_are_byte_identical_on_a_rerun(sample, avs, tmp_path):
    """A second run from nothing (a new run cache: every model refitted, every draw redrawn) publishes the
    same bytes as the module's run."""
    ds, _ = sample
    avs.publish(tmp_path / "first")
    agent_vs_system.run(ds, {**PARAMS, "show_names": True}, RunCache()).publish(tmp_path / "second")
    first = sorted((tmp_path / "first" / "tables").glob("*.csv"))
    assert len(first) == len(avs.tables) >= 5
    for path in first:
        assert path.read_bytes() == (tmp_path / "second" / "tables" / path.name).read_bytes(), path.name


def test_the_run_cache_fits_each_model_once(sample, cache, avs, monkeypatch):
    """A second notebook's process, sharing only the run cache's folder (here with the other modules' tests of the
    sample), takes the agent model from it: fitting it again fails the test."""
    ds, _ = sample
    assert any(p.name.startswith("agent_model-") for p in cache.folder.glob("*.pkl"))
    other = RunCache(cache.folder)

    def refit(*args, **kwargs):
        raise AssertionError("the agent model was fitted a second time")

    monkeypatch.setattr(steps, "fit_agent_model", refit)
    card = agent_scorecards.run(ds, {**PARAMS, "show_names": True}, other)
    shared = card.tables["scorecards"]["csat_adjusted"]
    adjusted = avs.tables["agent_effects"]["adjusted_score"].reindex(shared.index)
    np.testing.assert_allclose(shared, adjusted)


def test_scorecards_apply_the_reliability_rule(sample, cache):
    ds, _ = sample
    result = agent_scorecards.run(ds, {**PARAMS, "reliability_threshold": 0.8, "show_names": True}, cache)
    card = result.tables["scorecards"]
    shown = display_scorecards(card, card.index.to_series())
    unrankable = card.index[~card["rankable"] & ~card["survey_flag"]]
    assert (shown.loc[unrankable, "rank (interval)"] == "not enough responses to rank").all()
    assert (shown.loc[card.index[card["survey_flag"]], "rank (interval)"] == "survey process under review").all()
    assert card.loc[card["rankable"], "reliability"].min() >= 0.8
    small, large = card[card["n_responses"] < 20], card[card["n_responses"] > 80]
    prior = float(np.average(card["top_box_raw"], weights=card["n_responses"]))
    move = (card["top_box_raw"] - card["top_box_shrunken"]).abs() / (card["top_box_raw"] - prior).abs().clip(lower=1e-9)
    assert move[small.index].median() > move[large.index].median()


def test_survey_health_study(sample, cache):
    ds, truth = sample
    result = survey_health.run(ds, PARAMS, cache)
    assert set(result.tables) == {"response_rates", "response_model", "nps_by_channel", "survey_screen",
                                  "weighted_scores", "weighted_agent_effects", "tipping_point",
                                  "verdict_tipping_points"}
    tip = next(s for s in result.findings if "δ-adjusted pattern-mixture" in s)
    r = result.values.tipping.response_share
    replied = invitations(ds).query("responded")["csat"].notna().sum()
    assert r == pytest.approx(replied / len(ds.contacts))              # per contact, never-invited ones included
    assert f"of the period's contacts have a CSAT reply, so if the others would score just {0.1 / (1 - r):.2f} " \
           "points lower" in tip
    fragile = result.tables["verdict_tipping_points"]
    weakest = next(s for s in result.findings if s.startswith("The most fragile of the"))
    assert weakest.startswith(f"The most fragile of the {len(fragile)} agent verdicts") and \
        f"scored {fragile['tipping_delta'].abs().min():.2f} points differently" in weakest
    screen = next(s for s in result.findings if "under review for their survey process" in s)
    assert screen.startswith(f"{int(result.tables['survey_screen']['flagged'].sum())} of the 150 agents with contacts")
    weighting = next(s for s in result.findings if s.startswith("Weighting replies"))
    shifts, terms = result.tables["weighted_agent_effects"], set(result.tables["response_model"].index)
    assert f"agent effects by a median {shifts['shift'].abs().median():.2f} points" in weighting
    assert {"escalated", "repeat_within_7d", "resolved_first_contact", "credited"} <= terms
    assert ("The agent model already adjusts for channel, policy, product and issue type, so for agent effects the "
            "weights only reweight replies across them and cannot move what that adjustment already did; an agent's "
            "effect can move only through escalated, repeat within 7 days, resolved first contact and credited; "
            "no weighting") in weighting


def test_weighting_moves_csat_toward_the_truth(sample):
    ds, truth = sample
    inv = invitations(ds)
    model = fit_response_model(inv)
    overall = weighted_scores(inv, model.weights).iloc[0]
    pop = truth["population"]["csat_mean"]
    assert abs(overall["csat_weighted"] - pop) < abs(overall["csat"] - pop)
    coef = model.propensity.coef_table.set_index("term")["estimate"]
    assert coef["escalated"] > 0 and coef["repeat_within_7d"] > 0 and coef["channel_email"] < 0
    assert model.effective_n < model.n_responses


def test_parameters_are_checked():
    assert Parameters.from_mapping({"n_boot": 500}).n_boot == 500
    with pytest.raises(ParameterError, match=r"unknown study parameter\(s\): nboot \(known: reliability_threshold"):
        Parameters.from_mapping({"nboot": 500})
    with pytest.raises(ParameterError, match="n_boot must be at least 100 for 95% intervals, got 50"):
        Parameters.from_mapping({"n_boot": 50})
    with pytest.raises(ParameterError, match="max_false_sign must be between 0 and 0.5, got 0.7"):
        Parameters.from_mapping({"max_false_sign": 0.7})
    with pytest.raises(ParameterError, match="show_names must be true or false, got 'yes'"):
        Parameters.from_mapping({"show_names": "yes"})
    # the kind each field declares (``allowed``) decides, not the type of its default
    with pytest.raises(ParameterError, match="n_boot must be a whole number, got 250.0"):
        Parameters.from_mapping({"n_boot": 250.0})
    with pytest.raises(ParameterError, match="practical_margin must be a number, got 'small'"):
        Parameters.from_mapping({"practical_margin": "small"})
    assert Parameters.from_mapping({"practical_margin": None, "screen_z": 3}).screen_z == 3.0
    with pytest.raises(ParameterError) as err:          # a secret is never repeated
        Parameters.from_mapping({"pseudonym_salt": ""})
    assert str(err.value) == "pseudonym_salt must be a non-empty text or None"
    assert Parameters.from_mapping({"screen_z": None}).screen_z == Parameters().screen_z == 1.81   # the declared default
    assert Parameters.from_mapping({"screen_z": 2.5}).screen_z == 2.5


# -- degenerate inputs -----------------------------------------------------------------------------

def test_variance_share_of_a_useless_mix_is_not_inflated(sample):
    """Shuffled contact-mix columns carry no information: the bias-corrected share must be near 0 and
    its interval must contain 0 (the plug-in β̂'Sβ̂ would report several percent)."""
    ds, _ = sample
    resp = responses(ds, "csat").sample(600, random_state=1).reset_index(drop=True)
    rng = np.random.default_rng(2)
    for col in ("policy", "product", "channel", "issue_type"):
        resp[col] = rng.permutation(resp[col].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_agent_model(resp, n_boot=100, seed=3)
    shares = variance_shares(model).table
    assert shares.loc["contact mix", "lower"] == 0.0
    assert shares.loc["contact mix", "share"] < 0.02
    assert shares.loc["contact mix", "p_value"] > 0.01
    pm = PolicyModel(fit=model.fit, variable="policy", customer_effect=False, weighted=False,
                     residual_sd=pd.Series(dtype=float), heterogeneity_p=np.nan)
    assert say.policy_sentence(level_effects(pm, ds.contacts)).startswith("No policy lowers CSAT")


def test_singular_agent_variance_gives_an_honest_sentence(sample):
    ds, _ = sample
    resp = responses(ds, "csat").sample(1500, random_state=4).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(40):                   # shuffled agents carry no signal; find a shuffle with τ̂ = 0
            shuffled = resp.assign(agent_id=np.random.default_rng(seed).permutation(resp["agent_id"].to_numpy()))
            if lmer(agent_vs_system_formula(), shuffled).singular:
                break
        model = fit_agent_model(shuffled, n_boot=100, seed=3)
    assert model.fit.singular
    eff = agent_effects(model, ds.agents, 0.7).table
    assert not eff["rankable"].any() and (eff["verdict"] == "not enough responses to rank").all()
    shift = rank_shift(eff)
    assert shift.n_rankable == 0 and shift.n_not_rankable == shift.bottom_size
    assert "no detectable differences" in say.verdict_sentence(eff, Parameters(), singular=True)


def agent_vs_system_formula():
    return "csat ~ policy + product + channel + issue_type + (1 | agent_id)"


def test_aliased_level_is_not_estimable_rather_than_zero(sample):
    ds, _ = sample
    resp = responses(ds, "csat").copy()
    resp.loc[resp["policy"] == "price match", "product"] = "Smart Plug"
    resp.loc[(resp["product"] == "Smart Plug") & (resp["policy"] != "price match"), "product"] = "Hub H1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_agent_model(resp, n_boot=100, seed=1)
    assert model.fit.fixed.dropped, "the construction should alias one column"
    lost = []
    for variable in ("product", "policy"):
        table = model.fit.level_contrasts(variable)
        lost += list(table.index[~table["estimable"]])
        assert table.loc[~table["estimable"], "estimate"].isna().all()
    assert len(lost) == 1
    assert model.fit.health() == [f"columns aliased with others were dropped: {', '.join(model.fit.fixed.dropped)}"]


def test_agent_who_sends_no_surveys_is_screened(sample):
    ds, _ = sample
    inv = invitations(ds)
    busy = ds.contacts["agent_id"].value_counts().index[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        screen = survey_screen(ds.contacts, inv[inv["agent_id"] != busy]).table
    assert busy in screen.index
    assert screen.loc[busy, "invitations"] == 0 and screen.loc[busy, "flag_invitations"]




def test_agent_vs_system_and_policy_friction_fit_the_policy_model_and_the_slope_tests_once(valid_folder, monkeypatch):
    """The two studies of a run share the policy model and the random-slope tests through the run cache."""
    from collections import Counter

    from upstream.analysis import policies
    from upstream.data import load_dataset
    from upstream.studies import policy_friction

    calls = Counter()

    def counting(name):
        real = getattr(policies, name)

        def counted(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return counted
    for name in ("fit_policy_model", "agent_variation"):
        monkeypatch.setattr(policies, name, counting(name))
    ds = load_dataset(valid_folder, validate=False)
    cache = RunCache()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        policy = agent_vs_system.run(ds, PARAMS, cache).tables["policy_effects"]
        friction = policy_friction.run(ds, PARAMS, cache)
    assert calls == {"fit_policy_model": 1, "agent_variation": 1}
    assert "agent_variation_p" in policy and len(friction.findings) > 0
