"""The one CSAT scale object, and rates, rankings and shares at their boundaries (issue 17 items 1–2): a rate that is
0 or 1 for everyone, or that the data cannot show, is "nothing to test" (never z = ±∞); no ranking or share divides
by an empty set."""
import pickle

import numpy as np
import pandas as pd
import pytest

from upstream.analysis.nonresponse import tipping_point, verdict_tipping_points
from upstream.analysis.ranking import rank_shift
from upstream.analysis.screen import rate_test, robust_tau2, screen_table
from upstream.data import CsatScale
from upstream.data.description import DEFAULT_CSAT, Visibility, csat_scale_of
from upstream.studies.agent_vs_system.sentences import rank_shift_sentence
from upstream.studies.survey_health.sentences import screen_sentence


def test_one_scale_owns_codes_range_top_box_and_satisfied():
    seven = CsatScale(points=7, top_box=(6, 7))
    assert (seven.codes, seven.range, seven.linear, seven.dissatisfied) == ((1, 2, 3, 4, 5, 6, 7), 6.0, True, (1, 2, 3))
    assert seven.in_top_box(pd.Series([5, 6, 7, None], dtype="Int64")).tolist() == [False, True, True, False]
    assert seven.satisfied(pd.Series([5.0, 7.0, np.nan])).tolist() == [False, True, pd.NA]
    assert seven.top_box_sql('s."csat"') == 's."csat" IN (6, 7)'
    assert [CsatScale(points=k).top_box for k in (2, 3, 5, 11)] == [(2,), (3,), (5,), (11,)]
    binary = CsatScale(points=2, labels={1: "bad", 2: "good"})
    assert (binary.range, binary.linear, binary.label_of_good, binary.dissatisfied) == (1.0, False, "good", (1,))
    assert not CsatScale(points=3).linear and CsatScale(points=11).range == 10.0
    assert pickle.loads(pickle.dumps(seven)) == seven                  # cached with the studies' results
    assert csat_scale_of(object()) is DEFAULT_CSAT and DEFAULT_CSAT.top_box == (5,)


def test_a_scale_stated_by_an_object_with_the_same_fields_becomes_the_scale():
    from types import SimpleNamespace

    scale = CsatScale.of(SimpleNamespace(kind="ordinal", points=7, labels={}, top_box=(6, 7)))
    assert isinstance(scale, CsatScale) and scale.top_box == (6, 7) and dict(scale.labels)[7] == "7"


def test_visibility_invitation_rates_need_unanswered_invitations_too():
    assert Visibility().invitation_rates and Visibility().response_rates
    answered_only = Visibility(unanswered_invitations=False)
    assert not answered_only.invitation_rates and not answered_only.response_rates
    assert not Visibility(uninvited_contacts=False).invitation_rates


def counts(o, n, p):
    """Per-agent counts (o, e, v, n) with every contact at expected rate p."""
    o, n, p = (np.asarray(x, float) for x in (o, n, p))
    return pd.DataFrame({"o": o, "e": n * p, "v": n * p * (1 - p), "n": n},
                        index=pd.Index([f"a{i}" for i in range(len(o))], name="agent_id"))


def test_a_rate_of_one_for_everyone_is_nothing_to_test():
    c = counts([10, 20, 5], [10, 20, 5], [1.0, 1.0, 1.0])
    t = rate_test(c["o"], c["n"], c["e"], c["v"])
    assert t.table["z"].isna().all() and t.n_tested == 0 and np.isnan(t.tau2)
    mixed = counts([10, 3, 0], [10, 6, 4], [1.0, 0.5, 0.5])      # one agent's contacts all certain: not tested
    t = rate_test(mixed["o"], mixed["n"], mixed["e"], mixed["v"])
    assert np.isnan(t.table.loc["a0", "z"]) and t.n_tested == 2 and np.isfinite(t.table["z"].iloc[1:]).all()


def test_robust_tau2_when_every_agent_is_equally_far_from_expected():
    """All |y − e| equal: the upper end of the search must bracket the root (it raised 'f(a) and f(b) must have
    different signs' before)."""
    y, e, s2 = np.full(8, -3.0), np.zeros(8), np.full(8, 0.01)
    tau2 = robust_tau2(y, e, s2)
    assert np.median(np.abs(y - e) / np.sqrt(s2 + tau2)) == pytest.approx(0.6744897501960817, abs=1e-9)
    assert tau2 == pytest.approx(9 / 0.6744897501960817 ** 2 - 0.01, rel=1e-9)


def test_screen_runs_only_what_the_data_show_and_says_why():
    inv = counts([8, 7, 9, 8, 6, 7], [10] * 6, [0.8] * 6)
    resp = counts([8, 7, 9, 8, 6, 7], [8, 7, 9, 8, 6, 7], [1.0] * 6)
    out = screen_table(inv, resp, None, 2.17, [], None, Visibility(unanswered_invitations=False, note="ratings API"))
    assert out.table[["z_invitation", "z_response", "z_invitation_adverse", "z_top_box"]].isna().all().all()
    assert not out.table["flagged"].any()
    assert out.skipped == (
        "The survey screen cannot test invitations per contact: the data set lists answered surveys only (ratings "
        "API), so a contact without a survey may still have been invited: invitations per contact cannot be seen.",
        "The survey screen cannot test invitations after adverse contacts (unresolved, escalated or repeated): the "
        "data set lists answered surveys only (ratings API), so a contact without a survey may still have been "
        "invited: invitations per contact cannot be seen.",
        "The survey screen cannot test replies per invitation: the data set lists answered surveys only (ratings "
        "API), so replies per invitation cannot be seen.",
        "The survey screen cannot test top-box replies: fewer than two agents have scored replies.")
    assert screen_sentence(out) == ("The survey screen could test neither invitations nor replies in these data, so "
                                    "no agent is under survey review.")
    visible = screen_table(inv, resp, None, 2.17, [], None)      # everything visible: the replies are at 100%
    assert visible.table["z_invitation"].notna().all() and visible.table["z_response"].isna().all()
    assert visible.skipped[:2] == (
        "The survey screen cannot test invitations after adverse contacts (unresolved, escalated or repeated): the data "
        "set records no adverse contact.",
        "The survey screen has nothing to test in replies per invitation: every invitation was answered, so no agent "
        "differs from its expected rate.")
    assert screen_sentence(visible).startswith("No agent's invitation or response rate is implausible against its "
                                               "own expected rate, allowing for an ordinary between-agent SD of ")
    assert "in the log-odds of sending a survey." in screen_sentence(visible)


def agents_under_review(n: int, flagged: bool) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"raw_score": rng.normal(4, 0.3, n), "n_responses": rng.integers(1, 30, n),
                         "mix_expected": 4.0, "adjusted_score": 4.0, "effect": rng.normal(0, 0.1, n), "reliability": 0.5,
                         "rankable": True, "p_bottom_decile": 0.1, "survey_flag": flagged},
                        index=pd.Index([f"a{i:02d}" for i in range(n)], name="agent_id"))


def test_rank_shift_with_every_agent_under_review_says_so():
    summary = rank_shift(agents_under_review(12, True))
    assert summary.table.empty and (summary.n_agents, summary.bottom_size, summary.n_under_review) == (0, 0, 12)
    assert rank_shift_sentence(summary) == ("Every agent's survey process is under review (12), so no raw-average "
                                            "ranking is compared with the adjusted one.")
    some = rank_shift(agents_under_review(12, False))
    assert (some.n_agents, some.bottom_size, some.n_under_review) == (12, 2, 0)


def test_tipping_points_when_every_invitation_has_a_reply():
    per_contact = pd.DataFrame({"csat": [4.0, 5.0, 3.0, 5.0], "answered": True, "agent_id": ["a", "a", "b", "b"]})
    tip = tipping_point(per_contact)
    assert tip.response_share == 1 and np.isnan(tip.delta_for_shift)
    effects = pd.DataFrame({"verdict": ["above average", "below average"], "lower": [0.1, -0.5], "upper": [0.5, -0.1]},
                           index=pd.Index(["a", "b"], name="agent_id"))
    rng = np.random.default_rng(1)
    draws = pd.DataFrame({"a": rng.normal(0.3, 0.1, 200), "b": rng.normal(-0.3, 0.1, 200)})
    assert verdict_tipping_points(effects, per_contact, draws)["tipping_delta"].isna().all()


def test_adjusted_top_box_when_no_reply_is_in_the_top_box():
    from upstream.analysis.scorecards import adjusted_top_box

    frame = pd.DataFrame({"csat": [3.0, 4.0, 2.0, 5.0], "agent_id": ["a", "b", "a", "c"], "policy": ["x", "y", "x", "y"]})
    shares, fit = adjusted_top_box(frame, ["policy"], CsatScale(points=7, top_box=(6, 7)))
    assert fit is None and shares.to_dict() == {"a": 0.0, "b": 0.0, "c": 0.0}
