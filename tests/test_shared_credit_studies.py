"""Shared credit beyond agent_vs_system (issue 22): where the data set has contact_agents, the scorecards, the QA
review plan and the coaching pages use the agent model with shared credit (fitted once per run), and without the
table they are as before; on the SQL path agent_vs_system says it uses rating-time attribution. One 3,000-contact
operation with handoffs (264 of 782 rated contacts shared)."""
from __future__ import annotations

import dataclasses
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from test_agent_pages import LABELS, _tables

from upstream.analysis.agents import agent_effects
from upstream.analysis.shared_credit import membership_table
from upstream.data import load_dataset
from upstream.data.frames import responses
from upstream.data.sql import open_dataset
from upstream.reporting.agent_pages import write_agent_pages
from upstream.simulate.operation import PRESETS, simulate
from upstream.studies import agent_scorecards, agent_vs_system, qa_sample, shared_step, steps
from upstream.studies.base import Parameters, RunCache

PARAMS = {"n_boot": 100, "seed": 7}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    spec = PRESETS["small"].replace(n_contacts=3000, n_agents=20, n_customers=2500, n_teams=2, n_rushing=2,
                                    n_steering=1, n_low_volume=2, handoff_share=1 / 3, seed=5)
    ds = load_dataset(simulate(spec).write(tmp_path_factory.mktemp("ops") / "ops"), validate=False)
    cache = RunCache()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cards = agent_scorecards.run(ds, PARAMS, cache)
        plan = qa_sample.run(ds, {**PARAMS, "budget": 60}, cache)
        plain = dataclasses.replace(ds, contact_agents=None)
        cards_plain = agent_scorecards.run(plain, PARAMS, cache)
        plan_plain = qa_sample.run(plain, {**PARAMS, "budget": 60}, cache)
    params = Parameters.from_mapping(PARAMS)
    model = steps.agent_model(ds, params, cache)
    return ds, cache, model, shared_step.shared_agent_model(ds, params, model, cache), cards, plan, cards_plain, \
        plan_plain


def test_the_shared_model_is_fitted_once_per_run(run):
    ds, cache, model, shared, *_ = run
    params = Parameters.from_mapping(PARAMS)
    assert shared_step.shared_agent_model(ds, params, model, cache) is shared     # the run cache's copy
    assert shared.judged_by.formula.endswith("+ (1 | mm(agent_id)) + (1 | customer_id)")
    assert shared_step.shared_agent_model(dataclasses.replace(ds, contact_agents=None), params, model, cache) is None


def test_scorecards_judge_with_shared_credit(run):
    ds, cache, model, shared, cards, _, plain, _ = run
    card = cards.tables["scorecards"]
    effects = agent_effects(shared, ds.agents, 0.7, steps.verdict_margin(Parameters.from_mapping(PARAMS),
                                                                         steps.csat_scale(ds)), 0.05,
                            flagged=steps.survey_screen(ds, Parameters.from_mapping(PARAMS), cache).table["flagged"])
    pd.testing.assert_series_equal(card["csat_adjusted"], effects.table["adjusted_score"].reindex(card.index),
                                   check_names=False)
    pd.testing.assert_series_equal(card["verdict"], effects.table["verdict"].reindex(card.index), check_names=False)
    before = plain.tables["scorecards"]["csat_adjusted"].reindex(card.index)
    assert float(np.abs(card["csat_adjusted"] - before).max()) > 0.01              # shared credit moved them
    members = membership_table(responses(ds).assign(contact_id=lambda d: d["contact_id"].astype(str)),
                               ds.contact_agents)
    assert card["weighted_responses"].sum() == pytest.approx(782.0)                # every rating shared out once
    assert card["n_shared"].sum() == len(members) and card["n_responses"].sum() == 782
    assert (int((card["n_others"] > 0).sum()), int(card["n_others"].sum())) == (19, 389)
    assert "csat_ordinal_effect" not in card and "csat_ordinal_effect" in plain.tables["scorecards"]
    assert ("Scorecards use shared credit: a rating counts for each agent who worked on the contact by their weight in "
            "contact_agents, so adjusted CSAT, reliability, ranks and verdicts come from the multiple-membership "
            "model; raw CSAT, the top-box shares (raw, shrunken, adjusted) and NPS count each reply for the agent at "
            "rating time. 19 of 20 agents worked on 389 rated contacts that rating-time attribution gives to another "
            "agent. The ordinal check (cumulative-logit model) is not made: it has no multiple-membership term "
            "yet.") in cards.findings
    assert not any(f.startswith("Scorecards use shared credit") for f in plain.findings)
    assert "n_shared" not in plain.tables["scorecards"]


def test_qa_plan_is_made_for_the_shared_model(run):
    ds, cache, model, shared, _, plan, _, plain = run
    table = plan.tables["qa_plan"]
    tau2 = float(shared.judged_by.varcorr.loc["agent_id", "variance"])
    assert plan.values.plan.tau2 == pytest.approx(tau2)
    assert plain.values.plan.tau2 == pytest.approx(float(model.judged_by.varcorr.loc["agent_id", "variance"]))
    assert abs(plan.values.plan.tau2 - plain.values.plan.tau2) > 1e-3
    cond_se = shared.judged_by.ranef["agent_id"]["cond_se"]
    np.testing.assert_allclose(table["pev_now"], (cond_se ** 2).reindex(table.index), rtol=1e-12)
    assert plan.values.formula == shared.judged_by.formula
    note = next(f for f in plan.findings if f.startswith("The plan is made for the agent model with shared credit"))
    assert note.endswith("a QA review reads one agent's own work on a contact, so it counts fully for that agent.")
    assert not any(f.startswith("The plan is made for the agent model with shared credit") for f in plain.findings)


def test_coaching_pages_give_the_rating_time_effect_beside_the_shared_one(tmp_path):
    folder = _tables(tmp_path / "run")
    pd.DataFrame({"agent_id": LABELS[:2], "verdict_rating_time": ["not distinguishable from average"] * 2,
                  "verdict_shared": ["above average", "not distinguishable from average"],
                  "effect_rating_time": [0.1234, 0.05], "effect_shared": [0.6219136462, 0.0312],
                  "changed": [True, False], "gain": [0.4985, -0.0188], "shared_share": [0.4, 0.0]}
                 ).to_csv(folder / "tables" / "shared_credit.csv", index=False)
    links = write_agent_pages(folder, title="Review", period=None, version="test")
    first = (folder / links[LABELS[0]]).read_text(encoding="utf-8")
    text = re.search(r'<p id="shared-credit" data-value="0.1234">([^<]*)</p>', first).group(1)
    assert text == ("Several agents worked on some contacts, so each rating counts for every agent who worked on the "
                    "contact by their share of the work (shared credit); 40% of the rated contacts you worked on were "
                    "shared. Had each rating gone to the agent assigned when the customer rated, your effect would be "
                    "+0.12 points (not distinguishable from average) instead of +0.62 (above average): the verdict "
                    "changes.")
    second = (folder / links[LABELS[1]]).read_text(encoding="utf-8")
    assert "(not distinguishable from average) instead of +0.03 (not distinguishable from average)." in second
    assert 'id="shared-credit"' not in (folder / links[LABELS[2]]).read_text(encoding="utf-8")   # not in the table
    note = re.search(r'<p class="note" id="trend-attribution">([^<]*)</p>', first).group(1)
    assert note == ("The months credit each rating to the agent assigned when the customer rated, not shared by each "
                    "agent&#39;s part of the work as the estimate at the top is: a month can hold ratings of work others "
                    "did on contacts you shared, and miss ratings of your part of theirs.")
    (folder / "tables" / "shared_credit.csv").unlink()
    write_agent_pages(folder, title="Review", period=None, version="test")
    assert 'id="trend-attribution"' not in (folder / links[LABELS[0]]).read_text(encoding="utf-8")


def test_the_sql_path_says_it_uses_rating_time_attribution(run):
    ds = run[0]
    sql = open_dataset(ds.folder, engine="duckdb")
    note = ("Shared credit is not used: contact_agents lists 264 rated contacts handled by more than one agent, but "
            "the duckdb engine fits the agent model from per-agent sums, which give each rating to one agent, so "
            "agents are judged with rating-time attribution (contacts.agent_id). Run the study with --engine pandas "
            "to judge them with shared credit.")
    assert shared_step.sql_attribution_note(sql) == note
    assert shared_step.sql_attribution_note(ds) == ""                              # pandas: shared credit is used
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cache = RunCache()
        result = agent_vs_system.run(sql, PARAMS, cache)
        cards = agent_scorecards.run(sql, PARAMS, cache)                   # the scorecards say so too
    assert note in result.findings and "shared_credit" not in result.tables
    assert note in cards.findings and "n_shared" not in cards.tables["scorecards"]
