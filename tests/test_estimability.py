"""Valid data that leave nothing to estimate stop before any model with a sentence saying what cannot be
estimated (pandas and DuckDB alike, and through the runner: exit 2, nothing published); thin but usable
data (one day, one policy) run, and the studies say what they cannot compare."""
import contextlib
import io
import warnings

import pandas as pd
import pytest
from conftest import build_valid_tables, write_tables

from upstream import cli
from upstream.data import load_dataset
from upstream.data.estimability import estimability_problems
from upstream.data.sql import open_dataset
from upstream.studies import RunCache, comment_sentiment, qa_sample, trends

NO_REPLIES = ("No survey reply carries a CSAT score, so there is nothing to estimate: agent effects, verdicts, "
              "variance shares and policy, channel and trend effects on CSAT all need replies.")


def no_replies(t):
    t["surveys"][["responded_at", "csat", "nps", "comment"]] = None


def one_agent(t):
    t["contacts"]["agent_id"] = t["agents"]["agent_id"].iloc[0]


def one_score(t):
    t["surveys"].loc[t["surveys"]["csat"].notna(), "csat"] = 4


CASES = {
    "no replies": (no_replies, [NO_REPLIES]),
    "one agent": (one_agent, ["All {n} CSAT replies belong to one agent ({agent}): agents cannot be compared with "
                              "each other, so agent effects, verdicts and the agents' share of the variation cannot "
                              "be estimated."]),
    "one score": (one_score, ["Every one of the {n} CSAT replies is 4: with no variation in CSAT there is nothing to "
                              "attribute to agents, policies or channels."]),
    "usable": (lambda t: None, []),
}


def degenerate(folder, edit):
    tables = build_valid_tables()
    edit(tables)
    write_tables(folder, tables)
    n = int(tables["surveys"]["csat"].notna().sum())
    return folder, n, str(tables["agents"]["agent_id"].iloc[0])


@pytest.mark.parametrize("case", CASES)
def test_what_cannot_be_estimated_is_said_in_pandas_and_in_duckdb(tmp_path, case):
    edit, expected = CASES[case]
    folder, n, agent = degenerate(tmp_path / "data", edit)
    expected = [e.format(n=f"{n:,}", agent=agent) for e in expected]
    assert estimability_problems(load_dataset(folder, validate=False)) == expected
    assert estimability_problems(open_dataset(folder, engine="duckdb", validate=False)) == expected


def test_the_runner_stops_before_any_notebook_and_publishes_nothing(tmp_path):
    folder, _, _ = degenerate(tmp_path / "data", no_replies)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["run", "--data", str(folder), "--reports", str(tmp_path / "reports")])
    text = err.getvalue()
    assert code == 2
    assert f"{folder}: the data pass every validation rule, but the studies cannot be estimated from them:\n" \
           f"  - {NO_REPLIES}\n" in text
    assert "[1/1]" not in text and "Traceback" not in text
    study = tmp_path / "reports" / "agent_vs_system"
    assert not (study / "latest").exists() and len(list((study / "_failed").iterdir())) == 1


@pytest.fixture(scope="module")
def one_day():
    """The bundled sample cut to its first day: 600-odd contacts, under 100 replies, agents with one reply."""
    ds = load_dataset("data/sample", validate=False)
    day = ds.contacts["opened_at"].dt.normalize()
    ds.contacts = ds.contacts[day == day.min()].reset_index(drop=True)
    ds.surveys = ds.surveys[ds.surveys["contact_id"].isin(ds.contacts["contact_id"])].reset_index(drop=True)
    ds.fingerprint = f"{ds.fingerprint}-first-day"
    return ds


def test_thin_data_get_sentences_not_exceptions(one_day):
    cache = RunCache()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trend = trends.run(one_day, {"n_boot": 100}, cache)
        plan = qa_sample.run(one_day, {"n_boot": 100}, cache)
        words = comment_sentiment.run(one_day, {"n_boot": 100}, cache)
    assert trend.findings == ["The data cover a single month (2026-07), so there is no change between months to "
                              "measure or to split into contact mix and service; a trend needs contacts from at "
                              "least two months."]
    table = plan.tables["qa_plan"]
    assert plan.values.plan.tau2 == 0            # no detectable agent variation in one day: only the audit reviews
    assert plan.findings[0].startswith("The agent model finds no detectable difference between agents")
    assert (table["reviews"] == table["priority_reviews"]).all() and table["reviews"].sum() > 0
    assert len(plan.tables["qa_sample"]) == int(table["reviews"].sum())
    # counted from the data, not the study: CSAT replies with a comment, and the agents who handled them
    s = one_day.surveys.merge(one_day.contacts[["contact_id", "agent_id"]], on="contact_id")
    commented = s[s["csat"].notna() & s["comment"].fillna("").str.strip().ne("")]
    assert (len(commented), commented["agent_id"].nunique()) == (14, 14)
    assert words.findings[2] == ("The 14 comments come from 14 agents: too few to tell agents' effects on sentiment "
                                 "apart from comment-to-comment variation (that needs at least two agents and more "
                                 "comments than agents), so agents are not compared on sentiment.")
    assert "agent_sentiment" not in words.tables and not words.values.used


def test_qa_plan_without_agent_variance_places_only_the_priority_reviews():
    from upstream.analysis.qa import allocate_reviews

    pev0 = pd.Series(1e-12, index=["a", "b", "c"])
    capacity = pd.Series(10, index=["a", "b", "c"])
    flagged = pd.Series([True, False, False], index=["a", "b", "c"])
    reviews = allocate_reviews(pev0, capacity, 200, 1.0, flagged, 5, by_variance=False)
    assert reviews.tolist() == [5, 0, 0]
    # with variance to reduce, the greedy rule goes where the posterior variance falls most
    assert allocate_reviews(pd.Series([0.5, 0.1, 0.1], index=["a", "b", "c"]), capacity, 3, 1.0).tolist() == [3, 0, 0]
