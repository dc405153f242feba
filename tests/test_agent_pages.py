"""The agent coaching pages and the index's first screen, built from a run's published tables: each page names
its own agent only, its numbers are the CSV's, hostile labels are escaped, the replies-needed arithmetic is
right, and the first screen follows its rule. (The pages in a real run and in Chromium: test_published_report.)"""
from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from upstream.analysis.agent_trend import MIN_MONTH_REPLIES
from upstream.analysis.agents import fit_agent_model
from upstream.analysis.mix_parts import mix_parts
from upstream.reporting import agent_pages, agent_rows, agent_trend_page, first_screen
from upstream.reporting.agent_pages import replies_for_reliability, replies_for_verdict, write_agent_pages
from upstream.runner.export import json_for_script
from upstream.runner.index_page import lists_to_tables

HOSTILE = '<script>alert("x")</script> Bob & "Co"'
LABELS = ["Agent 0F3A", "Agent 7C21", "Agent B9D0", HOSTILE]
VERDICTS = ["above average", "not distinguishable from average", "not enough responses to rank",
            "survey process under review"]


def _tables(folder: Path) -> Path:
    tables = folder / "tables"
    tables.mkdir(parents=True)
    effects = pd.DataFrame({
        "agent_id": LABELS, "n_responses": [64, 40, 10, 30], "raw_score": [4.53125, 4.1, 4.4, 3.9],
        "effect": [0.6219136462, 0.0312, 0.15, -0.2], "lower": [0.3286605589, -0.2, -0.25, -0.5],
        "upper": [0.9206278765, 0.25, 0.55, 0.1], "reliability": [0.813374782, 0.75, 0.5, 0.7],
        "p_below": [0.0, 0.3, 0.1, 0.8], "p_above": [1.0, 0.4, 0.7, 0.1], "lfsr": [0.0012, 0.4, 0.25, 0.1],
        "survey_flag": [False, False, False, True], "verdict": VERDICTS, "cond_se": [0.1586, 0.12, 0.2, 0.15],
        "mix_expected": [3.774614469, 4.0, 4.1, 3.8], "adjusted_rank": [1, 2, None, None],
        "rank_lower": [1, 1, None, None], "rank_upper": [2, 2, None, None], "team": ["Team 03"] * 4})
    effects.to_csv(tables / "agent_effects.csv", index=False)
    parts = pd.DataFrame({"agent_id": LABELS, "policy": [-0.12, 0.05, 0.03, 0.04], "product": [-0.02, 0.0, 0.01, 0.01],
                          "channel": [-0.01, 0.02, -0.01, 0.0], "issue_type": [-0.04, 0.01, 0.02, 0.01]})
    parts["total"] = parts[["policy", "product", "channel", "issue_type"]].sum(axis=1)
    parts.to_csv(tables / "agent_mix_parts.csv", index=False, float_format="%.10g")
    pd.DataFrame({"agent_id": [LABELS[0]] * 3 + [LABELS[1]] * 2 + [LABELS[2]],
                  "month": ["2026-01", "2026-02", "2026-03", "2026-01", "2026-02", "2026-03"],
                  "n_responses": [20, 22, 22, 15, 14, 6], "effect": [-0.1012, 0.4987, 1.0034, 0.02, -0.03, 0.1],
                  "std_error": [0.2, 0.2, 0.2, 0.2, 0.2, 0.3], "lower": [-0.4932, 0.1067, 0.6114, -0.37, -0.42, -0.49],
                  "upper": [0.2908, 0.8907, 1.3954, 0.41, 0.36, 0.69]}).to_csv(tables / "agent_monthly_effects.csv",
                                                                                 index=False)
    pd.DataFrame({"agent_id": LABELS[:2], "months": [3, 2], "first_month": ["2026-01"] * 2,
                  "last_month": ["2026-03", "2026-02"], "slope": [0.5523, -0.05], "slope_lower": [0.2751, -0.4044],
                  "slope_upper": [0.8295, 0.3044], "slope_se": [0.1414, 0.1808], "p_value": [9.4e-5, 0.78],
                  "p_holm": [0.00019, 1.0], "changed": [True, False]}).to_csv(tables / "agent_trend.csv", index=False)
    pd.DataFrame([{"practical_margin": 0.05, "max_false_sign": 0.05, "reliability_threshold": 0.7,
                   "expected_wrong": 0.3, "baseline": 4.0}]).to_csv(tables / "verdict_rule.csv", index=False)
    pd.DataFrame({"agent_id": LABELS, "contacts": [721, 500, 200, 400], "invitations": [658, 450, 180, 200],
                  "invitation_rate": [0.9126, 0.9, 0.9, 0.5], "expected_invitation_rate": [0.893, 0.9, 0.9, 0.9],
                  "z_invitation": [0.5, 0.0, 0.0, -4.0], "n_responses": [66, 40, 10, 30],
                  "response_rate": [0.1003, 0.089, 0.056, 0.15], "expected_response_rate": [0.149, 0.1, 0.1, 0.1],
                  "z_response": [-1.0, 0.0, 0.0, 1.0], "flag_invitations": [False, False, False, True],
                  "flag_combined": [False] * 4, "flag_response": [False] * 4, "flag_scores": [False] * 4,
                  "flagged": [False, False, False, True]}).to_csv(tables / "survey_screen.csv", index=False)
    pd.DataFrame({"policy": ["refund above cap", "loyalty credit", "standard", "<b>odd</b>"],
                  "effect": [-0.6667934106, 0.46, 0.01, -0.9], "lower_adj": [-0.85, 0.29, -0.05, -2.0],
                  "upper_adj": [-0.48, 0.64, 0.07, 0.2]}).to_csv(tables / "policy_effects.csv", index=False)
    pd.DataFrame({"metric": ["csat"] * 3 + ["nps"], "channel": ["email", "chat", "phone", "email"],
                  "unit": ["CSAT points"] * 3 + ["NPS points"], "effect": [-0.24, 0.04, 0.5, -30.0],
                  "lower_adj": [-0.33, -0.02, 0.3, -40.0], "upper_adj": [-0.16, 0.10, 0.7, -20.0]}
                 ).to_csv(tables / "channel_differences.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = _tables(tmp_path_factory.mktemp("run"))
    links = write_agent_pages(folder, title="Review <i>Q1</i>", period="1 Jan – 31 Mar 2026", version="test")
    return folder, links


def test_a_page_reads_its_agent_rows_from_an_index_built_once(report):
    """Each page reads its agent's rows from tables indexed once (agent_rows.AgentTables): for every agent and
    per-agent table, the rows found by label are that table's rows of the agent, in order; an agent absent from
    a table gets [] and a table the run did not publish None; the place within the team counts the ranked mates
    with a larger effect."""
    folder, _ = report
    agents = agent_rows.AgentTables.read(folder)
    effects = agents.effects
    for label in effects["agent_id"]:
        for name in agent_rows.PER_AGENT:
            table = agent_pages.read_table(folder, name)
            found = agents.rows(name, label)
            if table is None:
                assert found is None and agents.columns(name) == []
            else:
                expected = table[table["agent_id"] == label].to_dict("records")
                assert repr(found) == repr(expected) and agents.columns(name) == list(table.columns)
    assert agents.rows("agent_trend", LABELS[3]) == [] and agents.rows("qa_plan", LABELS[3]) is None
    ranked = effects[effects["adjusted_rank"].notna()]
    assert agents.ranked.count == len(ranked) == 2
    for effect in (-1.0, 0.0312, 0.3, 0.6219136462, 2.0):
        assert agents.ranked.team_place("Team 03", effect) == (int((ranked["effect"] > effect).sum()) + 1, 2)
    assert agents.average_raw == pytest.approx(effects["raw_score"].mean(), rel=1e-15)


def _text(page: Path) -> str:
    raw = page.read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]*>", " ", raw)) + " " + html.unescape(" ".join(re.findall(r'="([^"]*)"', raw)))


def _value(raw: str, element: str) -> str:
    return html.unescape(re.search(rf'id="{element}" data-value="([^"]*)"', raw).group(1))


def test_one_page_per_agent_each_naming_only_its_own_agent(report):
    folder, links = report
    assert list(links) == LABELS
    assert sorted(p.name for p in (folder / "agents").iterdir()) == sorted(Path(h).name for h in links.values())
    assert links[HOSTILE] == "agents/script-alert-x-script-Bob-Co.html"
    for label, href in links.items():
        text = _text(folder / href)
        assert label in text, label
        for other in LABELS:
            if other != label:
                assert other not in text, (label, other)


def test_numbers_on_the_page_are_the_csv_numbers(report):
    folder, links = report
    effects = pd.read_csv(folder / "tables" / "agent_effects.csv", dtype={"agent_id": str})
    parts = pd.read_csv(folder / "tables" / "agent_mix_parts.csv", dtype={"agent_id": str})
    for _, row in effects.iterrows():
        raw = (folder / links[row["agent_id"]]).read_text(encoding="utf-8")
        for element, column in [("effect-value", "effect"), ("effect-lower", "lower"), ("effect-upper", "upper"),
                                ("replies", "n_responses"), ("reliability", "reliability")]:
            assert float(_value(raw, element)) == row[column], (row["agent_id"], column)
        assert f">{row['effect']:+.2f}<".replace("-", "−") in raw
        own = parts[parts["agent_id"] == row["agent_id"]].iloc[0]
        for column in ("policy", "product", "channel", "issue_type"):
            shown = re.search(rf'data-column="{column}" data-value="([^"]*)">([^<]*)<', raw)
            assert float(shown.group(1)) == own[column] and shown.group(2) == f"{own[column]:+.2f}".replace("-", "−")
        assert float(_value(raw, "mix-total")) == pytest.approx(own["total"], abs=1e-12)


def test_verdicts_in_words_with_the_chance_of_being_wrong_and_the_replies_needed(report):
    folder, links = report
    above = _text(folder / links["Agent 0F3A"])
    assert "Verdict: above average." in above
    assert "The chance that this verdict points the wrong way is 0.1%" in above
    assert "could be anywhere from 1 to 2 (95%). Within Team 03: 1 of 2 ranked agents." in above
    neutral = _text(folder / links["Agent 7C21"])
    assert "No verdict: not distinguishable from the average agent." in neutral
    # |0.0312| / 0.75 = 0.0416 < the 0.05 margin: no number of replies would give a verdict
    assert "more replies would most likely confirm 'not distinguishable from average'" in neutral
    few = _text(folder / links["Agent B9D0"])
    assert "its reliability is 0.50, and ranking needs 0.70. About 14 more replies would reach that." in few
    assert "about 37 more replies (47 in all) would make a verdict likely" in few
    review = _text(folder / links[HOSTILE])
    assert "No verdict: the survey process is under review." in review
    assert ("Under review: fewer surveys were sent than the agent's own contacts predict (overall or after adverse "
            "contacts).") in review


def test_the_trend_in_words_with_the_months_as_in_the_csv(report):
    folder, links = report
    monthly = pd.read_csv(folder / "tables" / "agent_monthly_effects.csv", dtype={"agent_id": str})
    for label in LABELS[:2]:
        raw = (folder / links[label]).read_text(encoding="utf-8")
        table = raw[raw.index('id="trend-months"'):]
        table = table[:table.index("</table>")]
        for column in ("n_responses", "effect", "lower", "upper"):
            shown = [float(v) for v in re.findall(rf'data-column="{column}" data-value="([^"]*)"', table)]
            assert shown == monthly.loc[monthly["agent_id"] == label, column].tolist(), (label, column)
        assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in raw[raw.index('id="trend"'):]
    text = {label: re.sub(r"\s+", " ", _text(folder / href)) for label, href in links.items()}
    assert ("Trend over the period. From 2026-01 to 2026-03 your effect rose by about 0.55 points a month (95% "
            "interval +0.28 to +0.83): more than chance alone gives (p < 0.001; adjusted for testing every agent, "
            "p < 0.001).") in text[LABELS[0]]
    assert "−0.10 −0.49 to +0.29" in text[LABELS[0]] and "2026-03 22 +1.00 +0.61 to +1.40" in text[LABELS[0]]
    assert ("From 2026-01 to 2026-02 your effect moved by −0.05 points a month (95% interval −0.40 to +0.30; "
            "p = 0.78; adjusted for testing every agent, p = 1.00): not distinguishable from noise, so this page reads "
            "no change into it.") in text[LABELS[1]]
    assert ("Too few replies to follow a trend: a month counts with at least 5 replies, and a trend needs two such "
            "months (one here).") in text[LABELS[2]]
    assert "a trend needs two such months (none here)." in text[HOSTILE]
    assert 'id="trend-months"' not in (folder / links[HOSTILE]).read_text(encoding="utf-8")
    assert agent_trend_page.MIN_MONTH_REPLIES == MIN_MONTH_REPLIES


def test_the_survey_picture_says_what_its_replies_count(report):
    folder, links = report
    raw = (folder / links["Agent 0F3A"]).read_text(encoding="utf-8")
    assert (_value(raw, "survey-replies"), _value(raw, "replies")) == ("66", "64")   # survey_screen, agent_effects
    assert ("The replies count every answered survey; 64 of these 66 carry the CSAT score that the estimate above "
            "rests on.") in _text(folder / links["Agent 0F3A"])
    assert 'id="replies-note"' not in (folder / links["Agent 7C21"]).read_text(encoding="utf-8")  # 40 and 40


def test_a_hostile_agent_label_is_escaped(report):
    folder, links = report
    raw = (folder / links[HOSTILE]).read_text(encoding="utf-8")
    assert "<script" not in raw
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Bob &amp; &#34;Co&#34;" in raw
    assert "Review &lt;i&gt;Q1&lt;/i&gt;" in raw


def test_replies_needed_for_reliability_and_for_a_verdict():
    # σ²/τ² = 10·(1 − 0.5)/0.5 = 10; reliability 0.7 needs n ≥ 10·0.7/0.3 = 23.3: 24 replies, 14 more
    assert replies_for_reliability(10, 0.5, 0.7) == 14
    assert 24 / (24 + 10) >= 0.7 > 23 / (23 + 10)
    # τ² = 0.2²/0.5 = 0.08, unshrunk effect 0.3: with n' replies r' = n'/(n'+10) and the verdict needs
    # (0.3 r' − 0.05)/√(0.08(1 − r')) ≥ 1.645 — 1.666 at n' = 47, 1.6435 at 46
    assert replies_for_verdict(10, 0.5, 0.15, 0.2, 0.05, 0.05, 0.7) == 37
    assert replies_for_verdict(10, 0.5, 0.02, 0.2, 0.05, 0.05, 0.7) is None
    assert replies_for_reliability(0, 0.5, 0.7) is None


def test_first_screen_follows_its_rule(report):
    folder, _ = report
    found = first_screen.leading_findings(folder, {"survey_health": "survey_health.html",
                                                   "agent_vs_system": "agent_vs_system.html",
                                                   "channel_audit": "channel_audit.html"})
    assert [f["sentence"] for f in found] == [
        "The survey process of 1 of 4 agents is under review: fewer surveys were sent than their own contacts "
        "predict (or fewer together with more replies). They get no verdict until it is looked into.",
        "Policy 'refund above cap' lowers CSAT by 0.67 CSAT points against the average contact, whoever handles it "
        "(family-wise 95% interval −0.85 to −0.48).",
        "Channel 'phone' raises CSAT by 0.50 CSAT points against the average contact, whoever handles it "
        "(family-wise 95% interval +0.30 to +0.70).",
        "Policy 'loyalty credit' raises CSAT by 0.46 CSAT points against the average contact, whoever handles it "
        "(family-wise 95% interval +0.29 to +0.64).",
        "Channel 'email' lowers CSAT by 0.24 CSAT points against the average contact, whoever handles it "
        "(family-wise 95% interval −0.33 to −0.16)."]
    assert [f["href"] for f in found] == ["survey_health.html", "agent_vs_system.html", "channel_audit.html",
                                          "agent_vs_system.html", "channel_audit.html"]
    assert all(str(f["chart"]).startswith("<svg") for f in found)
    assert "&lt;b&gt;odd&lt;/b&gt;" in str(found[1]["chart"]) and "<b>" not in str(found[1]["chart"])


def _trend_tables(folder: Path, within: tuple, mix: tuple) -> None:
    pd.DataFrame({"part": ["first_level", "last_level", "change", "mix", "mix: policy", "within"],
                  "estimate": [4.0, 4.0 + within[0] + mix[0], within[0] + mix[0], mix[0], mix[0], within[0]],
                  "lower": [3.9, 3.9, -1.0, mix[1], mix[1], within[1]],
                  "upper": [4.1, 4.1, 1.0, mix[2], mix[2], within[2]]}).to_csv(
        folder / "tables" / "trend_decomposition.csv", index=False)
    pd.DataFrame({"period": ["2026-01", "2026-03", "change"], "csat": [4.0, 4.3, 0.3]}).to_csv(
        folder / "tables" / "period_scores.csv", index=False)


def test_first_screen_weighs_the_trends_period_change(tmp_path):
    folder = _tables(tmp_path)
    hrefs = {"survey_health": "survey_health.html", "agent_vs_system": "agent_vs_system.html",
             "channel_audit": "channel_audit.html", "trends": "trends.html"}
    _trend_tables(folder, within=(0.5512, 0.3021, 0.7987), mix=(-0.12, -0.30, 0.05))
    found = first_screen.leading_findings(folder, hrefs)
    assert [f["href"] for f in found] == ["survey_health.html", "agent_vs_system.html", "trends.html",
                                          "channel_audit.html", "agent_vs_system.html"]
    assert found[2]["sentence"] == ("On the same contact mix, CSAT rose by 0.55 CSAT points from 2026-01 to 2026-03 "
                                    "(95% interval +0.30 to +0.80): a change in service, not in the contacts.")
    assert "Same contact mix" in str(found[2]["chart"]) and str(found[2]["chart"]).startswith("<svg")
    _trend_tables(folder, within=(0.02, -0.10, 0.14), mix=(-0.7049, -0.9, -0.51))
    found = first_screen.leading_findings(folder, hrefs)
    assert [f["href"] for f in found] == ["survey_health.html", "trends.html", "agent_vs_system.html",
                                          "channel_audit.html", "agent_vs_system.html"]
    assert found[1]["sentence"] == ("The change in the contact mix lowered CSAT by 0.70 CSAT points from 2026-01 to "
                                    "2026-03 (95% interval −0.90 to −0.51), whoever handled the contacts: not a "
                                    "change in service.")
    _trend_tables(folder, within=(0.02, -0.10, 0.14), mix=(-0.12, -0.30, 0.05))   # neither excludes zero
    assert "trends.html" not in [f["href"] for f in first_screen.leading_findings(folder, hrefs)]


def test_first_screen_states_a_shares_policy_effects_in_percentage_points(tmp_path):
    """On a good/bad scale policy_effects.csv holds share differences (-0.1789) and the studies state them in
    percentage points (verdict_rule.csv unit_scale 100), as channel_differences.csv already does: the policy card
    says 17.89 percentage points, not 0.18, and it outranks a channel's 5.54."""
    folder = _tables(tmp_path)
    rule = pd.read_csv(folder / "tables" / "verdict_rule.csv")
    rule.assign(unit="percentage points", unit_scale=100).to_csv(folder / "tables" / "verdict_rule.csv", index=False)
    pd.DataFrame({"policy": ["refund above cap", "standard"], "effect": [-0.1788801763, 0.002],
                  "lower_adj": [-0.1830069491, -0.003], "upper_adj": [-0.1747534035, 0.007]}).to_csv(
        folder / "tables" / "policy_effects.csv", index=False)
    pd.DataFrame({"metric": ["csat", "csat"], "channel": ["email", "phone"], "unit": ["percentage points"] * 2,
                  "effect": [-5.537565723, 2.0], "lower_adj": [-5.71731554, 1.5], "upper_adj": [-5.357815905, 2.5]}
                 ).to_csv(folder / "tables" / "channel_differences.csv", index=False)
    found = first_screen.leading_findings(folder, {"agent_vs_system": "avs.html", "channel_audit": "ch.html"})
    cards = [f for f in found if f["sentence"].startswith(("Policy", "Channel"))]
    assert cards[0]["sentence"] == ("Policy 'refund above cap' lowers CSAT by 17.89 percentage points against the "
                                    "average contact, whoever handles it (family-wise 95% interval −18.30 to "
                                    "−17.48).")
    assert [round(f["value"], 2) for f in cards] == [-17.89, -5.54, 2.0]


def test_agent_and_policy_tables_show_the_csv_numbers(report):
    folder, links = report
    table = first_screen.agent_table(folder, links)
    effects = pd.read_csv(folder / "tables" / "agent_effects.csv", dtype={"agent_id": str})
    headers = [h["text"] for h in table["headers"]]
    assert headers[:4] == ["Agent", "Verdict", "Replies", "Effect"]
    for (_, row), shown in zip(effects.iterrows(), table["rows"]):
        assert shown["href"] == links[row["agent_id"]]
        assert float(shown["cells"][3]["value"]) == row["effect"]
        assert shown["cells"][3]["text"] == f"{row['effect']:+.2f}".replace("-", "−")
    policies = first_screen.policy_table(folder)
    assert [r["cells"][0]["text"] for r in policies["rows"]] == ["refund above cap", "loyalty credit", "standard",
                                                                 "<b>odd</b>"]


def test_mix_parts_add_up_to_what_the_mix_did(tmp_path):
    rng = np.random.default_rng(4)
    n = 600
    frame = pd.DataFrame({"agent_id": rng.choice([f"A{i}" for i in range(12)], n),
                          "policy": rng.choice(["p1", "p2", "p3"], n), "channel": rng.choice(["chat", "phone"], n)})
    frame["csat"] = np.clip(np.round(3.5 + 0.8 * (frame["policy"] == "p2") - 0.5 * (frame["channel"] == "phone")
                                     + rng.normal(0, 1, n)), 1, 5)
    model = fit_agent_model(frame, mix=("policy", "channel"), customer=None, n_boot=20, seed=1)
    parts = mix_parts(model)
    means = model.agent_means()
    expected = means["mix_expected"] - means["mix_expected"].mean()
    assert list(parts.columns) == ["policy", "channel", "total"]
    assert np.allclose(parts["total"], expected.reindex(parts.index), atol=1e-12)
    assert np.allclose(parts[["policy", "channel"]].mean(), 0.0, atol=1e-12)
    beta = model.fit.fixef
    own = frame[frame["agent_id"] == "A0"]
    by_hand = (own["policy"].map({"p1": 0.0, "p2": beta["policyp2"], "p3": beta["policyp3"]}).mean()
               - frame.groupby("agent_id")["policy"].apply(
                   lambda s: s.map({"p1": 0.0, "p2": beta["policyp2"], "p3": beta["policyp3"]}).mean()).mean())
    assert math.isclose(parts.loc["A0", "policy"], by_hand, abs_tol=1e-12)


def test_agent_links_cannot_end_the_script_element_they_sit_in():
    text = json_for_script({HOSTILE: "agents/x.html", "</script><b>": "agents/y.html"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {HOSTILE: "agents/x.html", "</script><b>": "agents/y.html"}


def test_a_share_scale_reads_in_percentage_points(tmp_path):
    folder = _tables(tmp_path)
    (folder / "tables" / "agent_mix_parts.csv").unlink()      # a latent-scale model publishes no additive split
    (folder / "tables" / "agent_monthly_effects.csv").unlink()  # nor monthly effects
    (folder / "tables" / "agent_trend.csv").unlink()
    pd.DataFrame([{"practical_margin": 0.0125, "max_false_sign": 0.05, "reliability_threshold": 0.7,
                   "outcome": "the share of good ratings", "unit": "percentage points", "unit_scale": 100.0}]
                 ).to_csv(folder / "tables" / "verdict_rule.csv", index=False)
    links = write_agent_pages(folder, title="Review", period=None, version="test")
    text = re.sub(r"\s+", " ", _text(folder / links["Agent 0F3A"]))
    assert ("your effect on the share of good ratings is +62.2 percentage points against the average agent on the "
            "same contacts (95% interval +32.9 to +92.1 )") in text
    assert "The shaded band (±1.2 percentage points)" in text
    assert "This run has no split of it by policy, product, channel and issue type" in text
    assert ("Trend over the period. This run has no estimate per agent and month (only the linear agent model fitted "
            "on the replies gives one).") in text


def test_long_lists_leave_the_index_for_the_study_page():
    listing = ("5 of the 12 policies lower CSAT against the average contact: 'a' (-0.67 points, 95% interval -0.85 to "
               "-0.48), 'b' (-0.44 points), 'c' (-0.30 points), 'd' (-0.2 points) and 'e' (-0.1 points).")
    words = "Comments name the rules: 'a': 'x' (z = 3.5); 'b': 'y'; 'c': 'z'; 'd': 'w'."
    short = "Two channels differ: email (-0.24 points) and phone (+0.12 points)."
    groups = [{"name": "Agents", "blocks": [{"title": "T", "href": "t.html", "sentences": [listing, words, short]}]}]
    assert lists_to_tables(groups)[0]["blocks"][0]["sentences"] == [
        "5 of the 12 policies lower CSAT against the average contact: the 5 are listed, with their numbers, on the "
        "study page.",
        "Comments name the rules: the 4 are listed, with their numbers, on the study page.",
        short]


def test_the_position_strip_is_bounded_by_its_width_and_as_dark_as_overlapping_ticks():
    """20,000 agents make at most one tick per pixel column, each as opaque as the ticks it stands for would be
    drawn over each other (1 − 0.4ⁿ): the page does not grow with the number of agents."""
    from upstream.reporting import svg
    values = list(np.random.default_rng(3).normal(0, 0.3, 20_000))
    chart = str(svg.strip(values, 0.1, "ticks"))
    ticks = re.findall(r'<line x1="(\d+)" y1="12" x2="\d+" y2="32" stroke="#8c959f" stroke-opacity="([0-9.]+)"/>', chart)
    assert 100 < len(ticks) <= 520 - 30 + 1 and len(chart) < 60_000
    few = str(svg.strip([0.0, 0.0, 0.5], None, "ticks"))
    opacities = re.findall(r'stroke-opacity="([0-9.]+)"', few)
    assert opacities == ["0.84", "0.6"]          # two agents on one pixel: 1 − 0.4²; one alone: 0.6
    chart = svg.StripChart(values, "ticks")      # one strip for every page: ticks counted once per axis span
    for mark in (0.1, 5.0, None, -0.2, 5.0, float("nan")):
        assert chart.draw(mark) == svg.strip(values, mark, "ticks")
    assert len(chart.ticks) == 2                 # a mark beyond the values widens the axis: its own ticks


def test_the_trend_axis_does_not_print_an_end_label_over_the_zero_label():
    """Every month below zero puts 0 near the top: the top label (+0.26 on the sample's Agent 0033) would print over
    the 0; it is left out, the bottom one kept."""
    from upstream.reporting import svg
    chart = str(svg.monthly_chart([("2026-07", -0.85, -1.39, -0.31), ("2026-08", -1.46, -1.95, -0.97)], 0.05,
                                  "months"))
    labels = re.findall(r'text-anchor="end" fill="[^"]+">([^<]+)</text>', chart)
    assert labels == ["-2.15", "0"]                 # -1.95 less a tenth of the span -1.95 … +0.05
    spread = str(svg.monthly_chart([("2026-07", 0.4, 0.1, 0.7), ("2026-08", -0.4, -0.7, -0.1)], 0.05, "months"))
    assert re.findall(r'text-anchor="end" fill="[^"]+">([^<]+)</text>', spread) == ["+0.84", "-0.84", "0"]
