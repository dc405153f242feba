"""The default study on Zendesk and Freshdesk exports in their documented shapes (issue 16, "Done when"):
the real importer, then ``agent_vs_system.run``; the harmful policy is named, no ordinary agent is put
under survey review, and what an export cannot show (answered surveys only) is skipped and said. The
exports come from the seeded generators in tests/documented_exports.py (each cites its source)."""
from __future__ import annotations

import pandas as pd
import pytest
from documented_exports import HARMFUL, import_and_study, write_freshdesk, write_zendesk

CASES = {  # case -> (vendor, writer, first contact id)
    "zendesk-score-received": ("zendesk", lambda folder: write_zendesk(folder), 100000),
    "zendesk-csat-2024": ("zendesk", lambda folder: write_zendesk(folder, csat="responses"), 100000),
    "zendesk-switched": ("zendesk", lambda folder: write_zendesk(folder, csat="switch"), 100000),
    "freshdesk": ("freshdesk", write_freshdesk, 40000),
}
ANSWERED_ONLY = {
    "zendesk-csat-2024": ("csat_survey_responses.json lists answered survey responses only (Zendesk's CSAT since "
                          "2024): a survey sent without an answer is not in the export, and the tickets' legacy "
                          "satisfaction_rating does not show it"),
    "zendesk-switched": ("csat_survey_responses.json lists answered survey responses only (Zendesk's CSAT since "
                         "2024): a survey sent without an answer is not in the export, and the tickets' legacy "
                         "satisfaction_rating does not show it"),
    "freshdesk": ("Freshdesk's satisfaction_ratings list only answered surveys: a survey sent without an answer is "
                  "not in the export, so invitation and response rates cannot be computed"),
}


@pytest.fixture(scope="module", params=list(CASES))
def studied(request, tmp_path_factory):
    case = request.param
    vendor, writer, _ = CASES[case]
    return (case, *import_and_study(vendor, writer, tmp_path_factory, case))


def test_every_answered_rating_arrives_with_its_agent_and_no_merged_ticket_is_a_contact(studied):
    case, op, result, ds, _ = studied
    truth = op.contacts
    ids = (CASES[case][2] + truth["n"]).astype(str)
    answered = truth[truth["answered"]]
    s = ds.surveys.set_index("contact_id")
    rated = s[s["csat"].notna()]
    assert len(rated) == op.facts["ratings"] == len(answered)
    assert rated["responded_at"].notna().all()
    assert rated["csat"].astype(int).to_dict() == dict(zip(ids[truth["answered"]], answered["csat"]))
    # legacy ratings and Freshdesk ratings name the agent at rating time; a survey response names none, so its
    # contact goes to the export-time assignee (said in dataset.yaml's attribution)
    on_responses = answered.get("on_responses", pd.Series(False, index=answered.index))
    credited = answered["agent_at_export"].where(on_responses, answered["agent"])
    agent = ds.contacts.set_index("contact_id")["agent_id"]
    assert agent[rated.index].to_dict() == dict(zip(ids[truth["answered"]], credited.astype(str)))
    reassigned = result.report.facts["reassigned_after_rating"]
    assert reassigned == (None if case == "zendesk-csat-2024" else op.facts["reassigned"])
    if case == "zendesk-switched":     # both kinds of rating kept: none lost after the switch
        on = answered["on_responses"]
        assert (int(on.sum()), int((~on).sum())) == (348, 350)
        assert rated.loc[ids[truth["answered"]][~on], "csat"].value_counts().to_dict() == {5: 177, 1: 173}
    # every generated contact, and nothing else: merged tickets (Zendesk, ids 200000+) are dropped
    assert sorted(ds.contacts["contact_id"]) == sorted(ids)
    # policy from the tags policy_* (Zendesk) or the custom field cf_policy (Freshdesk); channel from via.channel
    # (voice is phone) or the source code (1 email, 3 phone, 7 chat)
    contacts = ds.contacts.set_index("contact_id")
    assert contacts.loc[ids, "policy"].tolist() == truth["policy"].tolist()
    assert contacts.loc[ids, "channel"].tolist() == truth["channel"].tolist()
    if case.startswith("zendesk"):
        assert op.facts["merged"] == 84
        assert result.report.dropped_by_reason("contacts")[
            "merged into another ticket (closed by a merge: tag closed_by_merge); not a contact of its own, nor a "
            "repeat"] == op.facts["merged"]
    # no unanswered survey counted as a rating; with score=received the unanswered ones come from the tickets
    assert len(ds.surveys) == op.facts["surveys"]
    if case in ("zendesk-score-received", "zendesk-switched"):
        assert result.report.facts["offered_from_tickets"] == op.facts["offered"] == {
            "zendesk-score-received": 546, "zendesk-switched": 273}[case]
        assert ds.surveys["csat"].isna().sum() == op.facts["offered"]


def test_the_default_study_names_the_harmful_policy(studied):
    case, _, _, _, study = studied
    policy = study.tables["policy_effects"]
    assert list(policy.index[policy["upper_adj"] < 0]) == [HARMFUL]
    outcome = "the share of good ratings" if case == "zendesk-score-received" else "CSAT"
    sentence = next(f for f in study.findings if "of the 4 policies lower" in f)
    assert sentence.startswith(f"1 of the 4 policies lower {outcome} against the average contact")
    assert f"'{HARMFUL}'" in sentence


def test_no_ordinary_agent_is_put_under_survey_review(studied):
    # Every agent here is ordinary (invitations and answers do not depend on the agent). Where the screen can
    # test non-response (score=received with the tickets' offered states) it still flags one ordinary agent by
    # chance on 4 of 26 other seeds (30-35, 40-59: 4 of 520 agents, the screen's documented ~1% per agent at
    # z 2.17); the answered-only exports flagged nobody on 12 seeds each.
    case, op, _, _, study = studied
    screen = study.tables["survey_screen"]
    assert len(screen) == len(op.agents) == 20
    assert not screen["flagged"].any()
    assert study.tables["agent_effects"]["survey_flag"].fillna(False).astype(bool).sum() == 0


def test_what_the_export_cannot_show_is_skipped_and_said(studied):
    case, op, result, ds, study = studied
    screen = study.tables["survey_screen"]
    if case not in ANSWERED_ONLY:
        # non-response is visible (the tickets' offered states): the response part of the screen ran on it
        assert screen["z_response"].notna().all()
        assert screen["response_rate"].between(0.3, 0.8).all()
        return
    note = ANSWERED_ONLY[case]
    assert result.dataset["visibility"] == {"unanswered_invitations": False, "uninvited_contacts": True,
                                            "note": note}
    assert ds.description.visibility.response_rates is False
    assert screen[["z_invitation", "z_invitation_adverse", "z_response"]].isna().all().all()
    said = (f"The survey screen cannot test replies per invitation: the data set lists answered surveys only "
            f"({note}), so replies per invitation cannot be seen.")
    assert said in study.values.screen.skipped and said in study.findings
    assert (f"The survey screen cannot test invitations per contact: the data set lists answered surveys only "
            f"({note}), so a contact without a survey may still have been invited: invitations per contact cannot "
            "be seen.") in study.findings
    # answered surveys only, except the legacy CSAT's unanswered ones before a switch (seen, but the screen
    # cannot use a rate that the later period hides)
    assert ds.surveys["csat"].isna().sum() == op.facts.get("offered", 0) == {"zendesk-switched": 273}.get(case, 0)
