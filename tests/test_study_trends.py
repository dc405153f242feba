"""The trends study: the Oaxaca–Blinder split recovers the simulator's mix-driven and within-mix change on
the bundled sample and on a larger operation, its parts add up and match a direct prediction, the bootstrap
agrees with the Satterthwaite intervals, and each Key-findings sentence is exact for constructed inputs."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from operations import larger_operation

from upstream.analysis import trends as analysis
from upstream.studies import ParameterError, RunCache, trends
from upstream.studies.trends import sentences as say

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
PARAMS = {"n_boot": 200, "seed": 7}


@pytest.fixture(scope="module")
def result(sample):
    return trends.run(sample[0], PARAMS, RunCache())


@pytest.fixture(scope="module")
def larger():
    ds, truth = larger_operation()
    return trends.run(ds, PARAMS, RunCache()), truth


def covers(row, value):
    return row["lower"] <= value <= row["upper"]


def test_sample_recovers_the_mix_driven_part(result, sample):
    truth = sample[1]["trend"]
    parts, decomposition = result.tables["trend_decomposition"], result.values.decomposition
    assert decomposition.first == truth["first_month"] and decomposition.last == truth["last_month"]
    assert decomposition.table is parts and decomposition.n_boot == result.values.model.n_boot
    assert parts.loc["mix", "lower"] > 0                          # easier contacts lifted CSAT ...
    assert covers(parts.loc["mix: issue_type"], truth["mix_driven_change"])   # ... by the issue-type drift
    assert covers(parts.loc["within"], truth["within_mix_change"])
    # the sample has a small within-mix fall that its interval cannot see: the interval reaches beyond ±δ, so the
    # sentence calls the split uncertain rather than the rise "the mix's doing, not a change in service"
    within = parts.loc["within"]
    assert truth["within_mix_change"] < 0 and within["lower"] < -0.05 < 0 < within["upper"]
    assert result.findings[1] == say.UNCERTAIN[(1, 0)].format(
        within=f"{within['estimate']:+.3f} (95% interval {within['lower']:+.3f} to {within['upper']:+.3f})",
        mix="", margin=0.05)
    assert "mix's doing, not" not in result.findings[1]


def test_larger_operation_recovers_both_parts(larger):
    res, truth = larger
    t = truth["trend"]
    parts = res.tables["trend_decomposition"]
    assert parts.loc["mix", "lower"] > 0 and parts.loc["within", "upper"] < 0
    assert covers(parts.loc["within"], t["within_mix_change"])
    # replies over-represent the extremes (response depends on the score), which stretches the CSAT scale of
    # the mix's effects: the mix part is over-stated by about a quarter, not more
    assert 0.0 < parts.loc["mix: issue_type", "estimate"] - t["mix_driven_change"] < 0.35 * t["mix_driven_change"]
    assert res.findings[1] == say.VERDICTS[(1, -1)]
    assert "with agents held fixed" in res.findings[0]


def test_with_ignorable_response_the_mix_part_covers_the_truth():
    ds, truth = larger_operation(outcome_dependent_response=0.0)
    parts = trends.run(ds, PARAMS, RunCache()).tables["trend_decomposition"]
    assert covers(parts.loc["mix: issue_type"], truth["trend"]["mix_driven_change"])
    assert covers(parts.loc["within"], truth["trend"]["within_mix_change"])


def test_parts_add_up_and_match_a_direct_prediction(result, sample):
    ds, _ = sample
    parts = result.tables["trend_decomposition"]
    est = parts["estimate"]
    np.testing.assert_allclose(est["change"], est["mix"] + est["within"], atol=1e-12)
    np.testing.assert_allclose(est["mix"], est[[i for i in est.index if i.startswith("mix: ")]].sum(), atol=1e-12)
    np.testing.assert_allclose(est["change"], est["last_level"] - est["first_level"], atol=1e-12)
    fit = result.fits["trend model"]
    c = ds.contacts.assign(week=analysis.week_of(ds.contacts["opened_at"]))
    first = c[analysis.month_of(c["opened_at"]) == result.values.decomposition.first]
    direct = fit.predict(first, include_random=False, allow_new_levels=True).mean()
    np.testing.assert_allclose(est["first_level"], direct, rtol=1e-10)
    # the counterfactual: the last month's contacts at the first month's weeks' level = first level + mix part
    last = c[analysis.month_of(c["opened_at"]) == result.values.decomposition.last]
    moved = last.assign(week=first["week"].sample(len(last), replace=True, random_state=0).to_numpy())
    moved_level = fit.predict(moved, include_random=False, allow_new_levels=True).mean()
    assert abs(moved_level - (est["first_level"] + est["mix"])) < 0.01


def test_bootstrap_agrees_with_satterthwaite(result):
    parts = result.tables["trend_decomposition"]
    width = parts["upper"] - parts["lower"]
    s_width = parts["satterthwaite_upper"] - parts["satterthwaite_lower"]
    assert ((width / s_width).between(0.75, 1.25)).all()


def test_weekly_tables(result, sample):
    ds, _ = sample
    weekly = result.tables["weekly_scores"]
    assert weekly["replies"].sum() == ds.surveys["csat"].notna().sum()
    assert ((weekly["csat_lower"] < weekly["csat"]) & (weekly["csat"] < weekly["csat_upper"])).all()
    assert ((weekly["nps_lower"] < weekly["nps"]) & (weekly["nps"] < weekly["nps_upper"])).all()
    levels = result.tables["within_mix_weekly"]
    assert list(levels.index) == list(weekly.index)
    assert {p.name for p in result.publish(Path(pytest.importorskip("tempfile").mkdtemp()))} == {
        "weekly_scores.csv", "period_scores.csv", "trend_decomposition.csv", "mix_shares.csv", "within_mix_weekly.csv"}


def test_parameters_are_checked(sample):
    ds, _ = sample
    assert trends.TrendParameters.from_mapping({"first_period": "2026-08"}).first_period == "2026-08"
    with pytest.raises(ParameterError, match="first_period must be a month written YYYY-MM"):
        trends.TrendParameters.from_mapping({"first_period": "July"})
    with pytest.raises(ParameterError, match="first_period must come before last_period, got 2026-09 and 2026-07"):
        trends.TrendParameters.from_mapping({"first_period": "2026-09", "last_period": "2026-07"})
    with pytest.raises(ParameterError, match="last_period 2026-12 has no contacts; the data cover 2026-07, 2026-08, "
                                             "2026-09"):
        trends.run(ds, {"last_period": "2026-12", "n_boot": 100})


# -- sentences for constructed inputs ------------------------------------------------------------------

def parts_table(mix, within):
    rows = {"first_level": (3.9, 3.85, 3.95), "last_level": (3.9, 3.85, 3.95),
            "change": (mix[0] + within[0], -0.1, 0.2), "mix": mix, "mix: policy": (0.002, 0.001, 0.003),
            "mix: issue_type": (mix[0] - 0.002, 0.01, 0.05), "within": within}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "lower", "upper"])


SHARES = pd.DataFrame({"share_first": [0.24, 0.76], "share_last": [0.43, 0.57], "change": [0.19, -0.19]},
                      index=pd.MultiIndex.from_tuples([("issue_type", "how-to"), ("issue_type", "billing")],
                                                      names=["variable", "level"]))


def test_decomposition_sentence_text():
    parts = analysis.Decomposition(parts_table((0.04, 0.03, 0.05), (-0.03, -0.08, 0.02)), "2026-07", "2026-09", 100)
    text = say.decomposition_sentence(parts, SHARES)
    assert text == ("From Jul 2026 to Sep 2026, expected CSAT over all contacts changed by +0.010 (95% interval -0.100 "
                    "to +0.200) on the fitted model, with agents held fixed (the same average agent: a change in "
                    "which agents handled the contacts is not part of it): +0.040 (95% interval +0.030 to +0.050) "
                    "because the contact mix changed — the largest contribution is the issue type (+0.038), as 'how-to' went from 24% to 43% "
                    "of contacts — and -0.030 (95% interval -0.080 to +0.020) within the same mix.")


@pytest.mark.parametrize("mix, within, key", [
    ((0.04, 0.03, 0.05), (-0.07, -0.1, -0.03), (1, -1)), ((0.04, 0.03, 0.05), (0.07, 0.03, 0.1), (1, 1)),
    ((0.0, -0.01, 0.01), (-0.07, -0.1, -0.03), (0, -1)), ((0.0, -0.01, 0.01), (0.0, -0.05, 0.05), (0, 0)),
    ((-0.04, -0.05, -0.03), (0.07, 0.03, 0.1), (-1, 1)), ((-0.04, -0.05, -0.03), (-0.07, -0.1, -0.03), (-1, -1))])
def test_verdict_sentence_follows_both_intervals(mix, within, key):
    assert say.trend_verdict_sentence(parts_table(mix, within), margin=0.05) == say.VERDICTS[key]


def test_a_part_around_zero_is_called_no_change_only_within_the_margin():
    mix_up, mix_down = (0.04, 0.03, 0.05), (-0.04, -0.05, -0.03)
    assert say.trend_verdict_sentence(parts_table(mix_up, (-0.01, -0.04, 0.02)), margin=0.05) == (
        "The easier contact mix lifted CSAT; on the same mix, CSAT changed by -0.010 (95% interval -0.040 to +0.020) "
        "— within ±0.05 either way — so a rise in the raw score is the mix's doing, not a change in service.")
    assert say.trend_verdict_sentence(parts_table(mix_up, (-0.03, -0.08, 0.02)), margin=0.05) == (
        "The easier contact mix lifted CSAT; whether CSAT also changed on the same mix is uncertain: it changed by "
        "-0.030 (95% interval -0.080 to +0.020), which does not rule out changes larger than ±0.05, so how much of a "
        "rise in the raw score is the mix's doing cannot be told.")
    assert say.trend_verdict_sentence(parts_table(mix_down, (0.01, -0.03, 0.06)), margin=0.05) == (
        "The harder contact mix lowered CSAT; whether CSAT also changed on the same mix is uncertain: it changed by "
        "+0.010 (95% interval -0.030 to +0.060), which does not rule out changes larger than ±0.05, so how much of a "
        "fall in the raw score is the mix's doing cannot be told.")
    assert say.trend_verdict_sentence(parts_table(mix_down, (0.01, -0.03, 0.04)), margin=0.05).endswith(
        "— within ±0.05 either way — so a fall in the raw score is the mix's doing.")
    up = (0.07, 0.03, 0.1)
    assert say.trend_verdict_sentence(parts_table((0.0, -0.01, 0.01), up), margin=0.05) == (
        "CSAT rose on the same contact mix: better results on the same contacts; the mix itself changed CSAT by "
        "+0.000 (95% interval -0.010 to +0.010), within ±0.05 either way.")
    assert say.trend_verdict_sentence(parts_table((0.02, -0.01, 0.06), up), margin=0.05) == (
        "CSAT rose on the same contact mix; whether the mix helped or hurt as well is uncertain: it changed CSAT by "
        "+0.020 (95% interval -0.010 to +0.060), which does not rule out changes larger than ±0.05.")
    # a wider margin (a 1-10 scale's δ) accepts the same interval as "no change"
    assert say.trend_verdict_sentence(parts_table(mix_up, (-0.03, -0.08, 0.02)), margin=0.1).startswith(
        "The easier contact mix lifted CSAT; on the same mix, CSAT changed by -0.030")


def test_weekly_sentence_conditions():
    weeks = pd.Index(["2026-07-06", "2026-07-13", "2026-07-20", "2026-07-27"], name="week")
    noisy = pd.DataFrame({"replies": [500] * 4, "csat": [3.9, 3.95, 3.92, 3.97], "csat_lower": [3.8, 3.85, 3.82, 3.87],
                          "csat_upper": [4.0, 4.05, 4.02, 4.07]}, index=weeks)
    assert say.weekly_sentence(noisy, None) == (
        "Week by week, the replies' CSAT ranged from 3.90 (week of 2026-07-06) to 3.97 (week of 2026-07-27) over the 4 "
        "weeks with at least 100 replies; a week's 95% interval is about ±0.10 points, wider than the typical move of "
        "0.05 from one week to the next, so single weeks say little.")
    moving = noisy.assign(csat=[3.6, 4.0, 3.6, 4.0])
    assert say.weekly_sentence(moving, None).endswith("so weekly moves are worth a look.")
    assert say.weekly_sentence(noisy.assign(replies=50), None) == ""


def test_a_short_csat_scale_is_not_averaged(sample):
    import dataclasses

    from upstream.data import CsatScale
    ds, _ = sample
    short = dataclasses.replace(
        ds, surveys=ds.surveys.assign(csat=ds.surveys["csat"].map({1: 1, 2: 1, 3: 2, 4: 3, 5: 3}).astype("Int64")),
        description=dataclasses.replace(ds.description, csat=CsatScale(points=3, top_box=(3,))))
    res = trends.run(short, PARAMS, RunCache())
    assert res.findings == [say.short_scale_trend_sentence(3)] and res.tables == {}
