"""lme4's InstEval as a public real data set end to end: 73,421 course ratings imported as support contacts
with ``upstream import csv`` and a mapping (lecturer = agent, student = customer, department = product,
service course = policy, lecturer's age class = issue type, rating 1–5 = CSAT, every contact rated), the
agent model agent_vs_system fits on it, and the study's published agent effects, all against lme4's fit of
the same models (tests/reference/fixtures/insteval_agent_vs_system_reml.json, crossed, and ..._d_reml.json,
agent only, made by tests/reference/make_reference.R; the data and mapping are in tests/reference/datasets/)."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import yaml
from conformance import REFERENCE, TOL, abs_err, lmer_errors
from shapes import run_notebooks

from upstream.cli import main
from upstream.data.sql import open_dataset
from upstream.models import random_intercept_draws
from upstream.studies import steps
from upstream.studies.base import Parameters, RunCache

FIXTURE = json.loads((REFERENCE / "fixtures" / "insteval_agent_vs_system_reml.json").read_text())
ONE_FACTOR_FIXTURE = json.loads((REFERENCE / "fixtures" / "insteval_agent_vs_system_d_reml.json").read_text())
EXPORT = REFERENCE / FIXTURE["data"]
MAPPING = REFERENCE / FIXTURE["study"]["mapping"]
N_RATINGS, N_LECTURERS, N_STUDENTS = 73421, 1128, 2972
FORMULA = "csat ~ policy + product + issue_type + (1 | agent_id) + (1 | customer_id)"
#: Proposals of θ for the agent effects' draws in the notebook test (the study's: models.intercept_draws.THETA_PROPOSALS).
SIR_PROPOSALS = 40


def canonical_fixture(fx: dict, mapping: dict) -> dict:
    """The lme4 fixture in the imported data set's names: InstEval's columns become the canonical ones the
    mapping sends them to (d -> agent_id, service -> policy, ...) and mapped labels their canonical
    labels (service 1 -> 'service course'), so ``lmer_errors`` can compare it with the study's fit."""
    rules = {rule["column"]: (canonical, {str(k): str(v) for k, v in (rule.get("map") or {}).items()})
             for canonical, rule in mapping["columns"].items() if isinstance(rule, dict) and "column" in rule}
    fixed = [v for v in fx["factors"] if v in rules and f"(1|{v})" not in fx["formula"].replace(" ", "")]

    def term(name: str) -> str:
        for v in fixed:
            level = name[len(v):]
            if name.startswith(v) and level in fx["factors"][v]:
                canonical, labels = rules[v]
                return canonical + labels.get(level, level)
        return name

    out = dict(fx)
    out["fixef"] = {term(k): v for k, v in fx["fixef"].items()}
    out["coef"] = [{**c, "term": term(c["term"])} for c in fx["coef"]]
    out["varcorr"] = [{**r, "grp": rules[r["grp"]][0] if r["grp"] in rules else r["grp"]} for r in fx["varcorr"]]
    out["ranef"] = {rules[g][0]: info for g, info in fx["ranef"].items()}
    out["ngrps"] = {rules[g][0]: n for g, n in fx["ngrps"].items()}
    return out


REFERENCE_FIT = canonical_fixture(FIXTURE, yaml.safe_load(MAPPING.read_text()))
ONE_FACTOR_FIT = canonical_fixture(ONE_FACTOR_FIXTURE, yaml.safe_load(MAPPING.read_text()))


def lme4_agents() -> pd.DataFrame:
    """lme4's conditional modes and conditional SDs of the lecturer (agent) intercepts."""
    info = REFERENCE_FIT["ranef"]["agent_id"]
    return pd.DataFrame({"mode": info["terms"]["(Intercept)"]["mode"],
                         "cond_sd": info["terms"]["(Intercept)"]["cond_sd"]},
                        index=pd.Index([str(v) for v in info["levels"]], name="agent_id"))


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """The data set `upstream import csv` writes from the InstEval export and its mapping."""
    out = tmp_path_factory.mktemp("insteval") / "data"
    assert main(["import", "csv", str(EXPORT), "--out", str(out), "--mapping", str(MAPPING)]) == 0
    return out


@pytest.fixture(scope="module")
def dataset(imported):
    """The imported data set as the study opens it (the import validated it as load_dataset does, and
    `upstream run` validates once before the notebooks open it unvalidated)."""
    return open_dataset(imported, validate=False)


def test_the_canonical_fixture_names_the_study_formula():
    assert FIXTURE["formula"] == "y ~ service + dept + lectage + (1|d) + (1|s)"
    assert list(REFERENCE_FIT["fixef"])[:3] == ["(Intercept)", "policyservice course", "product10"]
    assert list(REFERENCE_FIT["fixef"])[-1] == "issue_type6"
    assert REFERENCE_FIT["ngrps"] == {"customer_id": N_STUDENTS, "agent_id": N_LECTURERS}


def test_import_keeps_every_rating_as_a_rated_contact(dataset):
    export = pd.read_csv(EXPORT, dtype=str)
    contacts = dataset.contacts.set_index(dataset.contacts["contact_id"].astype(str))
    contacts = contacts.loc[export["contact_id"]]
    assert len(dataset.contacts) == len(dataset.surveys) == N_RATINGS
    assert dataset.surveys["csat"].notna().all()
    assert len(dataset.agents) == N_LECTURERS and contacts["customer_id"].nunique() == N_STUDENTS
    assert (contacts["agent_id"].astype(str).to_numpy() == export["d"].to_numpy()).all()
    assert (contacts["customer_id"].astype(str).to_numpy() == export["s"].to_numpy()).all()
    assert (contacts["product"].astype(str).to_numpy() == export["dept"].to_numpy()).all()
    assert (contacts["issue_type"].astype(str).to_numpy() == export["lectage"].to_numpy()).all()
    policy = export["service"].map({"0": "own department", "1": "service course"})
    assert (contacts["policy"].astype(str).to_numpy() == policy.to_numpy()).all()
    assert set(contacts["channel"].astype(str)) == {"other"}
    surveys = dataset.surveys.set_index(dataset.surveys["contact_id"].astype(str)).loc[export["contact_id"]]
    assert (surveys["csat"].astype(int).to_numpy() == export["y"].astype(int).to_numpy()).all()
    assert dataset.description.csat.top_box == (4, 5)
    assert str(contacts["opened_at"].min()) == "2025-01-01 08:00:00"
    assert str(contacts["opened_at"].max()) == "2025-03-31 17:00:00"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """The run cache the agent model is fitted into once, for the model tests and the study's notebook."""
    return tmp_path_factory.mktemp("insteval-cache")


@pytest.fixture(scope="module")
def agent_model(dataset, cache_dir):
    """The study's agent model, through the step agent_vs_system calls (100 bootstrap replicates, the
    smallest the study allows; the crossed model's modes and conditional SEs do not depend on them). The step
    makes the agent effects' draws with the model, into the run cache: with SIR_PROPOSALS proposals, as the
    default-study test (below) explains."""
    fewer_proposals = functools.partial(random_intercept_draws, n_proposals=SIR_PROPOSALS)
    with mock.patch("upstream.analysis.agents.random_intercept_draws", fewer_proposals):
        return steps.agent_model(dataset, Parameters.from_mapping({"n_boot": 100}), RunCache(cache_dir))


def test_agent_model_is_the_crossed_model_lme4_fits(agent_model):
    """Channel is constant, so it drops out of the contact mix; students rate many lecturers, so agents are
    judged with the crossed agent × customer model and their draws come from its conditional distribution."""
    assert agent_model.mix == ("policy", "product", "issue_type")
    assert agent_model.judged_by is agent_model.crossed
    assert agent_model.crossed.formula == FORMULA
    assert agent_model.draws_method == "conditional, variance components drawn"
    assert agent_model.crossed.nobs == FIXTURE["nobs"] == N_RATINGS
    assert agent_model.crossed.ngroups == {"agent_id": N_LECTURERS, "customer_id": N_STUDENTS}
    assert agent_model.crossed.fixed.dropped == FIXTURE["dropped_columns"] == []


def test_agent_model_matches_lme4(agent_model):
    """Fixed effects and SEs, variance components, REML criterion, log-likelihood, every lecturer's and
    student's conditional mode and conditional SE, Satterthwaite df: within the reference tests' tolerances."""
    fit = agent_model.crossed
    errors = lmer_errors(REFERENCE_FIT, fit)
    assert set(errors) == {"fixef", "std_error", "variance", "reml_crit", "loglik", "mode", "cond_se",
                           "df_satterthwaite"}
    too_big = {k: v for k, v in errors.items() if v > TOL[k]}
    assert not too_big, f"errors above tolerance: {too_big}"
    assert fit.reml_criterion == pytest.approx(237644.3978, abs=1e-3)
    variances = fit.varcorr["variance"]
    assert variances["agent_id"] == pytest.approx(0.261711, abs=1e-6)
    assert variances["customer_id"] == pytest.approx(0.107398, abs=1e-6)
    assert fit.sigma ** 2 == pytest.approx(1.383638, abs=1e-6)


def test_one_factor_agent_model_matches_lme4(agent_model):
    """The model without the customer term, which the study bootstraps for its variance shares, against
    lme4's `y ~ service + dept + lectage + (1|d)` within the same tolerances."""
    fit = agent_model.fit
    assert ONE_FACTOR_FIXTURE["formula"] == "y ~ service + dept + lectage + (1|d)"
    assert fit.formula == "csat ~ policy + product + issue_type + (1 | agent_id)"
    assert fit.nobs == N_RATINGS and fit.ngroups == {"agent_id": N_LECTURERS}
    errors = lmer_errors(ONE_FACTOR_FIT, fit)
    assert set(errors) == {"fixef", "std_error", "variance", "reml_crit", "loglik", "mode", "cond_se",
                           "df_satterthwaite"}
    too_big = {k: v for k, v in errors.items() if v > TOL[k]}
    assert not too_big, f"errors above tolerance: {too_big}"


@pytest.mark.slow
def test_default_study_publishes_lme4s_agent_effects(imported, cache_dir, agent_model, tmp_path):
    """The default study's notebook (agent_vs_system.ipynb, every cell, as `upstream run studies/agent_vs_system.yaml
    --data <imported> --name-agents` executes it, in this process with the run cache the model tests fitted
    into; tests/test_runner.py and tests/test_shapes.py run the runner and its kernels) publishes agent effects
    and conditional SEs that are lme4's conditional modes and SDs for every lecturer, with the reliability
    1 − cond_se²/τ² of lme4's τ², and puts (almost) nobody under survey review for what a table of rated
    contacts cannot show. None of these numbers comes from the draws of the agent effects (their intervals, verdicts
    and ranks), so the draws' sampling-importance-resampling of θ takes 40 proposals here, not 400 (each one a REML
    criterion of the crossed model: 26 of the test's 40 CPU seconds); the agent_model fixture made them so, into the
    run cache this test reads."""
    report = tmp_path / "report"
    fewer_proposals = functools.partial(random_intercept_draws, n_proposals=SIR_PROPOSALS)
    with mock.patch("upstream.analysis.agents.random_intercept_draws", fewer_proposals):
        run_notebooks(imported, {"n_boot": 100, "show_names": True, "report_dir": str(report)}, cache_dir,
                      studies=("agent_vs_system",))
    published = report / "tables" / "agent_effects.csv"
    table = pd.read_csv(published, dtype={"agent_id": str}).set_index("agent_id")
    ref = lme4_agents()
    assert sorted(table.index) == sorted(ref.index)
    table = table.loc[ref.index]
    assert abs_err(table["effect"], ref["mode"]) < TOL["mode"]
    assert abs_err(table["cond_se"], ref["cond_sd"]) < TOL["cond_se"]
    tau2 = next(r["vcov"] for r in REFERENCE_FIT["varcorr"] if r["grp"] == "agent_id")
    assert abs_err(table["reliability"], 1 - ref["cond_sd"] ** 2 / tau2) < 1e-3
    assert table["n_responses"].sum() == N_RATINGS
    # the conditional distribution, not a rounding: lme4's most precisely estimated lecturer
    best = ref["cond_sd"].idxmin()
    assert table.loc[best, "cond_se"] == pytest.approx(ref.loc[best, "cond_sd"], abs=1e-6)
    assert np.mean(table["survey_flag"].astype(bool)) <= 0.05
