"""Shared credit: the contact_agents table, `upstream simulate --handoffs`, the shared agent model's
recovery of the simulator's truth, and agent_vs_system's comparison with rating-time attribution."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import edit_csv, write_tables

from upstream.analysis.agents import agent_effects, fit_agent_model
from upstream.analysis.screen import ScreenResult
from upstream.analysis.shared_credit import (
    fit_shared_agent_model,
    membership_table,
    recovery_error,
    shared_credit_sentence,
)
from upstream.cli import main
from upstream.data import DataError, load_dataset
from upstream.data.frames import responses
from upstream.data.sql import open_dataset
from upstream.reporting.sentences.common import POINTS
from upstream.simulate.operation import PRESETS, simulate, truth_frame
from upstream.studies import Parameters, agent_vs_system
from upstream.studies.agent_vs_system import shared_effects


def failure_message(folder: Path, *paragraphs: str) -> str:
    return "\n\n".join([f"Data validation failed for {folder}:", *paragraphs])


@pytest.fixture
def shared_folder(tmp_path, valid_tables):
    """The valid data set plus contact_agents: every third contact shared by its agent and the next
    agent (weights 2/3 and 1/3), the others with their own agent alone."""
    contacts, agents = valid_tables["contacts"], valid_tables["agents"]
    ids = list(agents["agent_id"])
    rows = []
    for i, (cid, aid) in enumerate(zip(contacts["contact_id"], contacts["agent_id"])):
        if i % 3 == 0:
            other = ids[(ids.index(aid) + 1) % len(ids)]
            rows += [(cid, other, 1 / 3), (cid, aid, 2 / 3)]
        else:
            rows.append((cid, aid, 1.0))
    tables = {**valid_tables, "contact_agents": pd.DataFrame(rows, columns=["contact_id", "agent_id", "weight"])}
    return write_tables(tmp_path / "dataset", tables)


def test_contact_agents_is_read_and_validated(shared_folder):
    ds = load_dataset(shared_folder)
    assert ds.tables == ("contacts", "surveys", "agents", "contact_agents")
    assert ds.validation.ok and ds.validation.tables["contact_agents"].failed == 0
    assert ds.validation.tables["contact_agents"].evaluated == 10
    assert len(ds.contact_agents) == 400 and ds.contact_agents["weight"].dtype == float
    without = load_dataset(shared_folder, validate=False)
    (shared_folder / "contact_agents.csv").unlink()
    plain = load_dataset(shared_folder)
    assert plain.contact_agents is None and plain.tables == ("contacts", "surveys", "agents")
    assert plain.fingerprint != without.fingerprint


def test_contact_agents_rules_and_messages(shared_folder):
    def corrupt(t):
        t.loc[0, "weight"] = "0.5"                   # the first contact's weights: 0.5 + 2/3
        t.loc[3, "agent_id"] = "999"                 # an unknown agent
        t.loc[4, "weight"] = "1.5"                   # above 1
        t.loc[5, "contact_id"] = "X9"                # an unknown contact (and row 4's contact left at 1.5)

    edit_csv(shared_folder, "contact_agents", corrupt)
    with pytest.raises(DataError) as info:
        load_dataset(shared_folder)
    table = pd.read_csv(shared_folder / "contact_agents.csv", dtype=str)
    c0, c4 = table.loc[0, "contact_id"], table.loc[4, "contact_id"]
    assert str(info.value) == failure_message(
        shared_folder,
        f"contact_agents.csv, column 'weight': rule 'weight is between 0 and 1' failed for 1 of 400 rows; "
        f"e.g. 1.5 (contact_id '{c4}').",
        "contact_agents.csv, column 'contact_id': rule 'contact_id refers to a contact in contacts' failed for 1 of "
        "400 rows; e.g. 'X9' (row 6).",
        f"contact_agents.csv, column 'agent_id': rule 'agent_id refers to an agent in agents' failed for 1 of 400 "
        f"rows; e.g. '999' (contact_id '{table.loc[3, 'contact_id']}').",
        f"contact_agents.csv, column 'weight': rule 'the weights of a contact sum to 1' failed for 4 of 400 rows; "
        f"e.g. 1.166667 (contact_id '{c0}'), 1.5 (contact_id '{c4}'), 0.666667 (contact_id 'X9').")


def test_duckdb_path_reads_and_checks_contact_agents_as_pandas_does(shared_folder):
    sql = open_dataset(shared_folder, engine="duckdb")
    pandas = open_dataset(shared_folder, engine="pandas")
    assert sql.tables == pandas.tables == ("contacts", "surveys", "agents", "contact_agents")
    assert sql.fingerprint == pandas.fingerprint and sql.n_rows["contact_agents"] == 400

    def corrupt(t):
        t.loc[0, "weight"] = "0.5"
        t.loc[3, "agent_id"] = "999"
        t.loc[7, "weight"] = "-0.25"

    edit_csv(shared_folder, "contact_agents", corrupt)
    errors = []
    for engine in ("pandas", "duckdb"):
        with pytest.raises(DataError) as info:
            open_dataset(shared_folder, engine=engine)
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert errors[1].endswith("column 'weight': rule 'the weights of a contact sum to 1' failed for 3 of 400 rows; "
                              "e.g. 1.166667 (contact_id '0000001'), -0.25 (contact_id '0000006').")
    assert "rule 'weight is between 0 and 1' failed for 1 of 400 rows; e.g. -0.25" in errors[1]


def test_dataset_yaml_shared_rule(shared_folder):
    (shared_folder / "dataset.yaml").write_text("attribution:\n  rule: shared\n  weights: handle_time\n")
    ds = load_dataset(shared_folder)
    assert ds.description.attribution.weights == "handle_time"
    assert ds.description.attribution.sentence().endswith("the weights are each agent's share of the contact's "
                                                         "handle time")
    (shared_folder / "dataset.yaml").write_text("attribution:\n  rule: shared\n  weights: replies\n")
    with pytest.raises(DataError, match=r"attribution\.weights: 'replies' is not one of public_replies, "
                                        r"handle_time, equal \(rule shared says how the contact_agents weights "
                                        r"were formed\)"):
        load_dataset(shared_folder)
    (shared_folder / "dataset.yaml").write_text("attribution:\n  rule: shared\n  weights: equal\n")
    (shared_folder / "contact_agents.csv").unlink()
    with pytest.raises(DataError) as info:
        load_dataset(shared_folder)
    assert str(info.value) == failure_message(
        shared_folder, f"dataset.yaml: rule 'attribution rule shared has a contact_agents table' failed; there is "
                       f"no {shared_folder / 'contact_agents.csv'} (or .parquet).")


@pytest.fixture(scope="module")
def handoffs():
    return simulate(PRESETS["small"].replace(handoff_share=1 / 3))


def test_simulated_handoffs(handoffs):
    ca, contacts = handoffs.contact_agents, handoffs.contacts
    per_contact = ca.groupby("contact_id", sort=False)
    sizes = per_contact.size()
    assert set(sizes.unique()) == {1, 2, 3}
    assert int((sizes > 1).sum()) == handoffs.truth["handoffs"]["contacts_with_several_agents"] == 2038
    assert np.allclose(per_contact["weight"].sum(), 1.0, atol=1e-12)
    last = per_contact["agent_id"].last()
    assert (contacts["agent_id"].to_numpy() == last.loc[contacts["contact_id"]].to_numpy()).all()
    plain = simulate(PRESETS["small"])                # handoffs draw from their own stream
    pd.testing.assert_frame_equal(plain.contacts.drop(columns=["agent_id", "team"]),
                                  contacts.drop(columns=["agent_id", "team"]))


def test_cli_simulate_handoffs(tmp_path, capsys, handoffs):
    out = tmp_path / "ops"
    assert main(["simulate", "--preset", "small", "--handoffs", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["agents.csv", "contact_agents.csv", "contacts.csv",
                                                     "dataset.yaml", "surveys.csv", "truth.json"]
    assert (out / "dataset.yaml").read_text() == ("upstream_dataset: 1\nattribution:\n  rule: shared\n"
                                                  "  weights: public_replies\n")
    written = pd.read_csv(out / "contact_agents.csv", dtype={"contact_id": str, "agent_id": str})
    pd.testing.assert_frame_equal(written, handoffs.contact_agents.reset_index(drop=True))
    assert main(["simulate", "--handoffs", "--vendor", "zendesk", "--out", str(tmp_path / "x")]) == 2
    assert "--handoffs writes the canonical tables with contact_agents.csv" in capsys.readouterr().err


def test_shared_credit_recovers_true_agent_effects_better(handoffs):
    """Small preset, a third of contacts handed on (truth: effect_csat). Rating-time attribution:
    RMSE 0.184, correlation 0.78; shared credit: RMSE 0.167, correlation 0.83; no wrong-sign verdict."""
    class Tables:
        contacts, surveys, agents = handoffs.contacts, handoffs.surveys, handoffs.agents

    frame = responses(Tables)
    truth = truth_frame(handoffs.truth)["effect_csat"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rating = fit_agent_model(frame, n_boot=200, seed=1, population=handoffs.contacts, customer=None)
        shared = fit_shared_agent_model(frame, handoffs.contact_agents, n_draws=200, seed=1,
                                        population=handoffs.contacts, customer=None)
    assert shared.formula == "csat ~ policy + product + channel + issue_type + (1 | mm(agent_id))"
    by_rating = recovery_error(agent_effects(rating, handoffs.agents, 0.7, 0.05, 0.05).table, truth)
    by_shared = recovery_error(agent_effects(shared, handoffs.agents, 0.7, 0.05, 0.05).table, truth)
    assert by_rating.rmse == pytest.approx(0.1842, abs=1e-3)
    assert by_shared.rmse == pytest.approx(0.1669, abs=1e-3)
    assert by_shared.corr - by_rating.corr == pytest.approx(0.050, abs=0.005)
    assert by_shared.false_sign_rate <= 0.05 and by_shared.n_verdicts >= by_rating.n_verdicts
    members = membership_table(frame, handoffs.contact_agents)
    assert np.allclose(members.groupby("contact_id")["weight"].sum(), 1.0)
    assert members["contact_id"].nunique() == len(frame)


def test_agent_vs_system_judges_with_shared_credit(tmp_path):
    """The study's shared-credit step on a 3,000-contact operation with handoffs: effects from the mm()
    model, the comparison table, the finding and the method line."""
    spec = PRESETS["small"].replace(n_contacts=3000, n_agents=20, n_customers=2500, n_teams=2, n_rushing=2,
                                    n_steering=1, n_low_volume=2, handoff_share=1 / 3, seed=5)
    ds = load_dataset(simulate(spec).write(tmp_path / "ops"), validate=False)
    frame = responses(ds)
    params = Parameters.from_mapping({"n_boot": 100, "seed": 7})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_agent_model(frame, n_boot=100, seed=7, population=ds.contacts, customer=None)
        screen = ScreenResult(pd.DataFrame({"flagged": False}, index=model.fit.ranef["agent_id"].index), z=2.17,
                              z_test=2.17, n_tests=1, tau2_invitation=0.0, tau2_invitation_adverse=0.0,
                              tau2_response=0.0, tau2_top_box=0.0)
        rating = agent_effects(model, ds.agents, params.reliability_threshold, 0.05, params.max_false_sign)
        judged, credit = shared_effects(ds, params, model, ds.agents, screen, rating)
    assert judged is not rating and credit.n_agents == 20
    assert credit.n_shared_contacts == 264 and credit.n_contacts == 782 == len(frame)
    table = credit.table
    assert list(table.columns) == ["verdict_rating_time", "verdict_shared", "effect_rating_time", "effect_shared",
                                   "changed", "gain", "shared_share"]
    np.testing.assert_allclose(table["gain"], table["effect_shared"] - table["effect_rating_time"])
    assert table["gain"].is_monotonic_decreasing
    assert credit.n_changed == int((table["verdict_rating_time"] != table["verdict_shared"]).sum())
    sentence = shared_credit_sentence(credit, POINTS, "each agent's share of the contact's public replies")
    assert sentence.startswith("264 of 782 rated contacts were handled by more than one agent, so agents are judged "
                               "with shared credit (each agent's share of the contact's public replies). Against "
                               f"giving each rating to the agent assigned when the customer rated, "
                               f"{credit.n_changed} of 20 agents")
    no_table = type("Plain", (), {"contact_agents": None})()
    assert shared_effects(no_table, params, model, ds.agents, screen, rating) == (rating, None)
    assert "multiple-membership" in agent_vs_system.shared_credit.SHARED_METHOD


def test_zendesk_comment_authors_make_contact_agents(tmp_path):
    """A Zendesk API export with ticket_comments.json (comments with their ticket_id, as tap-zendesk's
    ticket_comments stream and Airbyte's source-zendesk-support write them): public comments by agents
    make the weights; end users' comments, internal notes and unknown tickets do not count."""
    import json
    import shutil

    from upstream.data.importers.zendesk import import_zendesk_api

    fixture = Path(__file__).parent / "fixtures" / "vendors" / "zendesk-api"
    export = tmp_path / "export"
    shutil.copytree(fixture, export, ignore=shutil.ignore_patterns("bad"))

    def comment(i, ticket, author, public=True):
        return {"id": i, "ticket_id": ticket, "author_id": author, "public": public, "type": "Comment",
                "body": "…", "created_at": f"2026-03-01T10:{i:02d}:00Z"}

    comments = [comment(1, 1001, 9001), comment(2, 1001, 9001), comment(3, 1001, 9004),
                comment(4, 1001, 555001),                      # the requester (an end user)
                comment(5, 1001, 9006, public=False),          # an internal note
                comment(6, 1002, 9002), comment(7, 9999, 9001)]  # a ticket not in the export
    (export / "ticket_comments.json").write_text(json.dumps({"comments": comments, "next_page": None}))
    result = import_zendesk_api(export, export / "mapping.yaml")
    table = result.contact_agents
    assert table.to_dict("records") == [
        {"contact_id": "1001", "agent_id": "9001", "weight": 2 / 3},
        {"contact_id": "1001", "agent_id": "9004", "weight": 1 / 3},
        {"contact_id": "1002", "agent_id": "9002", "weight": 1.0}]
    facts = result.report.facts
    assert facts["contacts_with_several_agents"] == 1 and facts["rated_contacts_with_several_agents"] == 1
    assert facts["contact_agents_weights"].startswith("ticket_comments.json: each agent's share of the contact's "
                                                      "public comments by agents")
    assert result.dataset["attribution"]["rule"] == "shared"
    assert result.dataset["attribution"]["weights"] == "public_replies"
    assert result.dataset["attribution"]["reassigned_after_rating"] == 3
    out = result.write(tmp_path / "imported", validate=True)
    ds = load_dataset(out)
    assert ds.tables[-1] == "contact_agents" and len(ds.contact_agents) == 3
    assert ds.description.attribution.rule == "shared"
    plain = import_zendesk_api(fixture, fixture / "mapping.yaml")
    assert plain.contact_agents is None and plain.dataset["attribution"]["rule"] == "rating_time_assignee"
