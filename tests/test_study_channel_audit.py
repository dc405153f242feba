"""channel_audit: the per-channel table, raw and adjusted channel differences and the response comparison
against the simulator's truth (bundled sample and a larger operation), exact sentences and their conditions."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from study_data import PARAMS, larger_operation, sample

from upstream.analysis import channels, margins
from upstream.studies import channel_audit
from upstream.studies.channel_audit import sentences as say

#: simulate/operation.py: e-mail contacts wait Exp(mean 6 h) before handling, the others Exp(mean 120 s).
EMAIL_WAIT_MEDIAN_H = 6 * np.log(2)
OTHER_WAIT_MEDIAN_H = 120 * np.log(2) / 3600


@pytest.fixture(scope="module")
def on_sample():
    ds, truth, cache = sample()
    return channel_audit.run(ds, PARAMS, cache), truth


@pytest.fixture(scope="module")
def on_larger():
    ds, truth, cache = larger_operation()
    return channel_audit.run(ds, PARAMS, cache), truth


def test_publishes_one_table_per_channel_and_the_comparisons(on_sample, tmp_path):
    result, _ = on_sample
    written = sorted(p.name for p in result.publish(tmp_path))
    assert written == ["channel_differences.csv", "channel_response.csv", "channel_summary.csv"]
    summary = pd.read_csv(tmp_path / "tables" / "channel_summary.csv")
    assert list(summary["channel"]) == ["chat", "email", "messaging", "phone"]
    for col in ("per_day", "resolution_hours", "first_response_bound_hours", "handle_minutes", "csat", "nps", "fcr",
                "escalation", "repeat", "response_rate"):
        assert (summary[f"{col}_lower"] <= summary[col]).all() and (summary[col] <= summary[f"{col}_upper"]).all(), col
    diffs = pd.read_csv(tmp_path / "tables" / "channel_differences.csv")
    assert set(diffs["metric"]) == {"csat", "nps", "fcr", "escalation", "repeat"}
    assert {"raw", "raw_lower", "raw_upper", "effect", "lower_adj", "upper_adj", "p_holm"} <= set(diffs.columns)


def test_findings_come_first_and_are_checkable_from_the_tables(on_sample):
    result, _ = on_sample
    summary, diffs = result.tables["channel_summary"], result.tables["channel_differences"]
    assert result.findings[0].startswith(f"Of {summary['contacts'].sum():,} contacts, phone 35% ")
    csat = diffs.loc["csat"]
    text = next(f for f in result.findings if "CSAT differs by channel" in f)
    for lab, r in csat[(csat["upper_adj"] < 0) | (csat["lower_adj"] > 0)].iterrows():
        assert (f"{lab} {r['effect']:+.2f} points (family-wise 95% interval {r['lower_adj']:+.2f} to "
                f"{r['upper_adj']:+.2f}; raw {r['raw']:+.2f}") in text
    response = result.tables["channel_response"]
    tip = next(f for f in result.findings if "pattern-mixture" in f)
    assert f"email's would vanish if its non-respondents scored {response.loc['email', 'tipping_delta']:.2f}" in tip


def test_recovers_the_channel_truth_on_the_sample(on_sample):
    result, truth = on_sample
    csat = result.tables["channel_differences"].loc["csat"]
    true = pd.Series(truth["channel_effect_csat"])
    assert csat["effect"].idxmin() == "email" == true.idxmin()
    assert csat.loc["email", "upper_adj"] < 0                          # named, as the truth (-0.16) says
    assert (csat["effect"] - true.reindex(csat.index)).abs().max() < 0.1
    # who answers: the simulator's channel terms of the response model order the response rates
    summary = result.tables["channel_summary"]
    order = pd.Series(truth["response_model"]["channel"]).sort_values().index
    assert list(summary["response_rate"].sort_values().index) == list(order)
    # times: e-mail waits Exp(6 h), the other channels Exp(120 s) before the agent's handle time
    email = summary.loc["email"]
    assert email["first_response_bound_hours_lower"] <= EMAIL_WAIT_MEDIAN_H <= email["first_response_bound_hours_upper"]
    others = summary.drop(index="email")["first_response_bound_hours"]
    assert np.allclose(others, OTHER_WAIT_MEDIAN_H, rtol=0.1)


def test_recovers_the_channel_truth_on_a_larger_operation(on_larger):
    result, truth = on_larger
    diffs = result.tables["channel_differences"]
    csat, true = diffs.loc["csat"], pd.Series(truth["channel_effect_csat"])
    assert list(csat["effect"].sort_values().index) == list(true.sort_values().index)
    assert (csat["effect"] - true.reindex(csat.index)).abs().max() < 0.06
    assert csat.loc["email", "upper_adj"] < 0 and csat.loc["phone", "lower_adj"] > 0
    # repeat contacts, escalation and first-contact resolution do not depend on the channel in the simulator
    for metric in ("fcr", "escalation", "repeat"):
        t = diffs.loc[metric]
        assert ((t["lower_adj"] <= 0) & (t["upper_adj"] >= 0)).all(), metric
    assert result.values.comparison.chi2_p < 1e-6 and result.values.comparison.table is result.tables["channel_response"]
    assert result.values.summary.csat_measure == "mean" and result.values.summary.handle_exceeds_elapsed == 0


def test_median_interval_is_the_binomial_order_statistic_interval():
    x = np.arange(1.0, 11.0)                                         # n = 10: j = 2, coverage 1 − 2·P(B ≤ 1)
    assert channels.median_interval(x) == (5.5, 2.0, 9.0)
    assert 1 - 2 * stats.binom.cdf(1, 10, 0.5) > 0.95 > 1 - 2 * stats.binom.cdf(2, 10, 0.5)
    assert np.isnan(channels.median_interval([])[0])


def test_first_response_bound_is_elapsed_minus_handle_time_never_negative():
    opened = pd.Series(pd.to_datetime(["2026-07-01 09:00", "2026-07-01 10:00"]))
    contacts = pd.DataFrame({"opened_at": opened, "closed_at": opened + pd.to_timedelta([3600, 60], unit="s"),
                             "handle_time_sec": [600.0, 120.0]})
    times = channels.contact_times(contacts)
    assert times["first_response_bound_hours"].tolist() == [50 / 60, 0.0]
    assert times["handle_exceeds_elapsed"].tolist() == [False, True]
    assert times["resolution_hours"].tolist() == [1.0, 1 / 60]


def test_raw_difference_is_the_group_against_all_rows():
    y = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    g = pd.Series(["a", "a", "b", "b", "b", "b"])
    raw = margins.raw_differences(y, g)
    assert raw.loc["a", "raw"] == pytest.approx(1.5 - 3.5)
    se = (1 - 2 / 6) * np.sqrt(np.var([1, 2], ddof=1) / 2 + np.var([3, 4, 5, 6], ddof=1) / 4)
    assert raw.loc["a", "raw_upper"] - raw.loc["a", "raw"] == pytest.approx(stats.norm.ppf(0.975) * se)
    assert margins.nps_points(pd.Series([10, 8, 3, None])).tolist()[:3] == [100.0, 0.0, -100.0]


# -- sentences: exact text and the condition behind each ------------------------------------------

def _summary(**changes):
    base = pd.DataFrame({
        "contacts": [600, 400], "share": [0.6, 0.4], "per_day": [20.0, 13.3], "per_day_lower": [18.0, 12.0],
        "per_day_upper": [22.0, 14.6], "resolution_hours": [4.2, 0.15], "resolution_hours_lower": [4.1, 0.14],
        "resolution_hours_upper": [4.3, 0.16], "first_response_bound_hours": [4.1, 0.02],
        "first_response_bound_hours_lower": [4.0, 0.01], "first_response_bound_hours_upper": [4.2, 0.03],
        "response_rate": [0.10, 0.18], "response_rate_lower": [0.09, 0.17], "response_rate_upper": [0.11, 0.19]},
        index=pd.Index(["email", "phone"], name="channel"))
    for k, v in changes.items():
        base[k] = v
    return base


def test_volume_and_speed_sentences():
    s = _summary()
    assert say.volume_sentence(s) == ("Of 1,000 contacts, email 60% (20 a day, 95% interval 18–22) and phone 40% "
                                      "(13 a day, 95% interval 12–15).")
    assert say.speed_sentence(s) == (
        "Median time from opening to closing: email 4.2 hours (95% interval 4.1–4.3 hours), phone 9 minutes "
        "(8–10 minutes); on email a contact sits a median 4.1 hours (4.0–4.2 hours) open with no agent working on "
        "it — an upper bound on its time to first response, which the data do not record.")
    overlap = _summary(resolution_hours=[0.2, 0.15], resolution_hours_lower=[0.1, 0.1],
                       resolution_hours_upper=[0.3, 0.2])
    assert say.speed_sentence(overlap).endswith("; no channel is clearly slower than another.")


def _diffs(metric, unit, rows):
    t = pd.DataFrame(rows, columns=["channel", "raw", "raw_lower", "raw_upper", "effect", "lower_adj", "upper_adj"])
    t.insert(0, "unit", unit)
    t.insert(0, "metric", metric)
    return t.set_index(["metric", "channel"])


def test_csat_channel_sentence_names_only_family_wise_differences_and_explained_raw_gaps():
    d = _diffs("csat", "CSAT points", [("email", -0.26, -0.34, -0.19, -0.24, -0.33, -0.16),
                                       ("chat", 0.10, 0.05, 0.15, 0.04, -0.02, 0.10)])
    assert say.csat_channel_sentence(d) == (
        "Against the average contact of the period, with the agent, policy, product and issue type held fixed, CSAT "
        "differs by channel: email -0.24 points (family-wise 95% interval -0.33 to -0.16; raw -0.26, 95% interval "
        "-0.34 to -0.19). The raw gap of chat (+0.10) is not distinguishable from zero once what the channel handles "
        "is held fixed.")
    none = _diffs("csat", "CSAT points", [("email", -0.05, -0.12, 0.02, -0.04, -0.13, 0.05)])
    assert say.csat_channel_sentence(none) == (
        "No channel's CSAT differs from the average contact of the period with the agent, policy, product and issue "
        "type held fixed (family-wise 95% intervals over the 1 channels).")


def test_metric_sentences_name_differences_and_group_the_rest():
    d = pd.concat([_diffs("nps", "NPS points", [("email", -7.1, -11.3, -2.8, -7.2, -11.7, -2.6)]),
                   _diffs("repeat", "percentage points", [("email", 0.1, -0.4, 0.6, 0.2, -0.5, 0.8)]),
                   _diffs("fcr", "percentage points", [("email", 0.1, -0.4, 0.6, 0.2, -0.5, 0.8)])])
    assert say.metric_sentences(d) == [
        "NPS, against the average contact with the agent and the mix held fixed: email -7.2 NPS points (family-wise "
        "95% interval -11.7 to -2.6; raw -7.1).",
        "First-contact resolution and repeat contacts within 7 days do not differ by channel beyond chance once the "
        "agent, policy, product and issue type are held fixed (family-wise 95% intervals)."]


def test_response_sentences_report_weighting_and_tipping_points_only_when_rates_differ():
    s = _summary()
    table = pd.DataFrame({"reply_share": [0.10, 0.15], "csat": [3.66, 4.03], "csat_weighted": [3.69, 4.04],
                          "weighting_shift": [0.03, 0.01], "effect": [-0.24, 0.02], "lower_adj": [-0.33, -0.05],
                          "upper_adj": [-0.16, 0.09], "tipping_delta": [0.16 / 0.9, np.nan]},
                         index=pd.Index(["email", "phone"], name="channel"))
    comparison = channels.ResponseComparison(table, chi2_p=1e-9)
    assert say.channel_response_sentences(s, comparison) == [
        "Survey response rates differ by channel (χ² p < 0.001): from 10% on email (95% interval 9.0%–11%) to 18% on "
        "phone (17%–19%). Weighting each channel's replies for who answers (inverse response propensity on contact "
        "features) moves its mean CSAT by at most 0.03 points (email: 3.66 → 3.69).",
        "Replies cannot show how non-respondents would score: of the adjusted CSAT differences, email's would vanish "
        "if its non-respondents scored 0.18 points higher than the model predicts for them (only 10% of its "
        "contacts have a CSAT reply) — a δ-adjusted pattern-mixture bound, not an estimate."]
    comparison = channels.ResponseComparison(table, chi2_p=0.4)
    assert say.channel_response_sentences(s, comparison) == [
        "Survey response rates do not differ detectably by channel (χ² p = 0.400; from 10% on email (95% interval "
        "9.0%–11%) to 18% on phone (17%–19%))."]


def test_tipping_point_is_the_bound_over_the_non_response_share_per_contact():
    """Channel a: 20 contacts, 10 invited, 2 replies — 10% of its contacts reply (20% of its invitations)."""
    contacts = pd.DataFrame({"contact_id": range(30), "channel": ["a"] * 20 + ["b"] * 10})
    inv = pd.DataFrame({"contact_id": list(range(10)) + list(range(20, 30)), "channel": ["a"] * 10 + ["b"] * 10,
                        "responded": [True] * 2 + [False] * 8 + [True] * 5 + [False] * 5,
                        "csat": [4.0, 5.0] + [np.nan] * 8 + [3.0] * 5 + [np.nan] * 5})
    weights = pd.Series(1.0, index=inv.index[inv["responded"]])
    effects = pd.DataFrame({"effect": [-0.3, 0.1], "lower_adj": [-0.5, -0.1], "upper_adj": [-0.1, 0.3]},
                           index=["a", "b"])
    out = channels.response_comparison(contacts, inv, weights, effects).table
    assert out.loc["a", "reply_share"] == 0.1 and out.loc["b", "reply_share"] == 0.5
    assert out.loc["a", "tipping_delta"] == pytest.approx(0.1 / (1 - 0.1))
    assert np.isnan(out.loc["b", "tipping_delta"])
    assert out.loc["a", "csat"] == 4.5


def test_tipping_delta_moves_the_mean_over_every_contact_by_the_bound():
    """Known truth: every contact has a score; channel a invites 40% of its contacts, b all; 25% of the
    invited reply at random. Shifting every contact without a reply (invited or not) by the tipping δ
    moves a channel's mean over all its contacts by exactly the bound nearest 0 (per invitation it
    moved it by (1 − r_contact)/(1 − r_invitation) of that: 0.91 of it here)."""
    rng = np.random.default_rng(5)
    n = 4000
    contacts = pd.DataFrame({"contact_id": range(n), "channel": np.where(np.arange(n) < n // 2, "a", "b"),
                             "score": rng.normal(4.0, 1.0, n)})
    invited = np.where(contacts["channel"] == "a", rng.random(n) < 0.4, True)
    inv = contacts[invited].assign(responded=lambda f: rng.random(len(f)) < 0.25)
    inv["csat"] = inv["score"].where(inv["responded"])
    weights = pd.Series(1.0, index=inv.index[inv["responded"]])
    effects = pd.DataFrame({"effect": [-0.3, 0.2], "lower_adj": [-0.45, 0.05], "upper_adj": [-0.15, 0.35]},
                           index=["a", "b"])
    out = channels.response_comparison(contacts, inv, weights, effects).table
    replied = contacts["contact_id"].isin(inv.loc[inv["responded"], "contact_id"])
    for lab, bound in (("a", -0.15), ("b", 0.05)):
        own = contacts["channel"] == lab
        shifted = contacts["score"].where(replied, contacts["score"] + out.loc[lab, "tipping_delta"])
        assert shifted[own].mean() - contacts.loc[own, "score"].mean() == pytest.approx(-bound, rel=1e-9)


@pytest.mark.slow
def test_the_three_issue_10b_notebooks_run_end_to_end(tmp_path):
    """channel_audit, policy_friction and comment_sentiment through the real runner on a small simulated
    operation: Key findings first, code hidden, tables published, findings on the index page."""
    import html as html_module
    import json
    import os
    from pathlib import Path

    from conftest import values_left_on_pages
    from forked import run_upstream
    from study_data import small_operation

    from upstream.runner.guards import RUN_CACHE_ENV

    data, cache = small_operation()       # the models fitted once for these and test_study_notebooks' notebooks
    nb = Path(__file__).resolve().parents[1] / "notebooks"
    names = ("channel_audit", "policy_friction", "comment_sentiment")
    study = tmp_path / "review.yaml"
    study.write_text(f"name: review\ntitle: Test review\ndata: {data}\nparameters:\n  n_boot: 100\nnotebooks:\n"
                     + "".join(f"  - {nb / name}.ipynb\n" for name in names))
    proc = run_upstream(["run", str(study), "--reports", str(tmp_path / "rep")], env={**os.environ, RUN_CACHE_ENV: str(cache)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "rep" / "review" / "latest"
    index = html_module.unescape((run / "index.html").read_text())
    for name in names:
        html = (run / f"{name}.html").read_text()
        assert html.index("Key findings") < html.index("<h2", html.index("Key findings") + 20)
        assert "import " not in html and "Traceback" not in html and "&lt;Figure size" not in html
        assert json.loads((run / f"{name}.findings.json").read_text())["sentences"][0] in index
    assert values_left_on_pages(run) == {}
    manifest = json.loads((run / "manifest.json").read_text())
    for table in ("channel_summary", "policy_outcomes", "policy_words", "sentiment_validation"):
        assert f"tables/{table}.csv" in manifest["tables"]


def test_one_channel_gives_its_table_and_no_comparison():
    import dataclasses

    ds, _, _ = sample()
    email = ds.contacts["channel"] == "email"
    one = dataclasses.replace(ds, contacts=ds.contacts[email].reset_index(drop=True),
                              surveys=ds.surveys[ds.surveys["contact_id"].isin(ds.contacts.loc[email, "contact_id"])],
                              fingerprint=ds.fingerprint + "-email-only")
    result = channel_audit.run(one, PARAMS)
    assert list(result.tables) == ["channel_summary"]
    assert result.findings[-1] == "All contacts came through one channel ('email'), so there are no channel " \
                                  "differences to estimate."


def test_runs_on_a_good_bad_scale_without_nps_escalation_or_handle_time():
    from study_data import good_bad_without_extras

    ds, cache = good_bad_without_extras()
    result = channel_audit.run(ds, PARAMS, cache)
    diffs = result.tables["channel_differences"]
    assert set(diffs.index.get_level_values(0)) == {"csat", "fcr", "repeat"}
    csat = diffs.loc["csat"]
    assert (csat["unit"] == "percentage points").all() and csat.loc["email", "upper_adj"] < 0
    sentence = next(f for f in result.findings if "differs by channel" in f)
    assert "the share of good ratings differs by channel: email -" in sentence and "percentage points" in sentence
    summary = result.tables["channel_summary"]
    assert summary["csat"].between(0, 1).all() and summary["handle_minutes"].isna().all()
    assert summary["escalation"].isna().all() and summary["nps"].isna().all()
    assert not any("moves its mean" in f or "nan" in f for f in result.findings)
