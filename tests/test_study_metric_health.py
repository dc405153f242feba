"""The metric_health study: it recovers the simulator's rushing agents and speed push on the bundled sample
and on a larger operation, the shrinkage-corrected correlation recovers a known correlation, the spline and
the resolution screen behave, and each Key-findings sentence is exact for constructed inputs and says only
what its condition supports."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from operations import larger_cache, larger_operation
from shared_data import shared_cache

from upstream.analysis import interactions, periods, resolution, speed
from upstream.data import load_dataset
from upstream.simulate import truth_frame
from upstream.studies import ParameterError, RunCache, metric_health
from upstream.studies.metric_health import sentences as say

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
PARAMS = {"n_boot": 100, "seed": 7, "show_names": True}


@pytest.fixture(scope="module")
def result(sample):
    """The study on the sample, its speed and agent models shared with test_pages and test_sql_metric_health."""
    return metric_health.run(sample[0], PARAMS, shared_cache("sample"))


@pytest.fixture(scope="module")
def larger():
    ds, truth = larger_operation()
    return metric_health.run(ds, PARAMS, larger_cache()), truth


def true_repeat_change(truth, extra_unresolved):
    """The within-mix rise in P(repeat) from `extra_unresolved` more unresolved contacts: a repeat follows an
    unresolved contact with probability 0.75, unless the 3% background or the repeat policy's extra already
    brought the customer back (simulate/operation.py)."""
    spec = truth["spec"]
    share = 0.05  # the repeat policy's share of contacts (simulate/model.py POLICIES)
    return extra_unresolved * 0.75 * 0.97 * (1 - spec["repeat_policy_extra"] * share)


def check_rushers(res, truth, min_found):
    agents = res.tables["agent_metrics"]
    rushing = truth_frame(truth)["rushing"].reindex(agents.index)
    named = set(agents.index[agents["p_quadrant"] >= res.parameters.quadrant_probability])
    found = named & set(rushing.index[rushing])
    wrong = named - found
    expected_wrong = float((1 - agents.loc[sorted(named), "p_quadrant"]).sum())
    assert len(found) >= min_found
    assert len(wrong) <= max(1, round(3 * expected_wrong))
    assert agents.loc[rushing, "p_quadrant"].mean() > 0.6 > 0.05 > agents.loc[~rushing, "p_quadrant"].mean()
    return named


def check_speed_push(res, truth):
    push = truth["speed_push"]
    change = res.tables["change_point"]
    assert change.index[0] == push["date"] and change["source"].iloc[0] == "found"
    ht, rep = res.tables["period_changes"].loc["handle_time"], res.tables["period_changes"].loc["repeat"]
    assert ht["lower"] <= push["handle_time_factor"] - 1 <= ht["upper"]
    target = true_repeat_change(truth, push["extra_unresolved"])
    assert rep["lower"] <= target <= rep["upper"]
    assert ht["upper"] < 0 < rep["lower"]


def test_sample_recovers_the_rushing_agents(result, sample):
    named = check_rushers(result, sample[1], min_found=9)
    sentence = next(s for s in result.findings if "probably both fast and prone to repeat contacts" in s)
    assert sentence.startswith(f"{len(named)} agents are probably both fast")


def test_sample_recovers_the_speed_push(result, sample):
    check_speed_push(result, sample[1])
    assert result.findings[0].startswith("From 16 Aug 2026 — the break the daily handle times show most clearly")
    change = result.tables["change_point"].iloc[0]           # a clear break, tested against dependent days
    assert change["date_lower"] <= sample[1]["speed_push"]["date"] <= change["date_upper"]
    assert change["critical_95"] > 8.74                       # the independent-days null's critical value
    assert result.values.formulas["handle-time model"].endswith("(1 | agent_id) + (1 | day)")
    assert " while repeat contacts rose " in result.findings[0]


def test_larger_operation_recovers_rushers_and_speed_push(larger):
    res, truth = larger
    check_rushers(res, truth, min_found=12)
    check_speed_push(res, truth)
    assert not any("boundary" in line for line in res.health)        # the repeat model finds its agent variance


def true_speed_repeat_correlation(truth):
    """corr(agent's log handle-time effect, repeat effect) in the simulator: log speed ~ N(0, 0.15²) plus
    log 0.7 for a rusher, and a repeat effect only for rushers (simulate/operation.py), so with a share p of
    rushers ρ = log 0.7 · sqrt(p(1 − p)) / sqrt(0.15² + (log 0.7)² p(1 − p))."""
    p = truth_frame(truth)["rushing"].mean()
    v = p * (1 - p)
    return np.log(0.7) * np.sqrt(v) / np.sqrt(0.15 ** 2 + np.log(0.7) ** 2 * v)


def test_agent_correlations_recover_the_truth(result, sample, larger):
    for res, truth in ((result, sample[1]), larger):
        corr = res.tables["effect_correlations"]
        ht = corr.loc["handle_time~repeat"]
        assert ht["upper"] < 0 and abs(ht["rho"]) > abs(ht["naive"])      # shrinkage attenuates the plain one
        assert ht["lower"] <= true_speed_repeat_correlation(truth) <= ht["upper"]
        agents = res.tables["agent_metrics"].dropna(subset=["csat_effect"])
        t = truth_frame(truth).reindex(agents.index)
        true_rep_csat = np.corrcoef(t["rushing"], t["effect_csat"])[0, 1]  # repeat effects are c·[rushing]
        rc = corr.loc["repeat~csat"]
        assert rc["lower"] <= true_rep_csat <= rc["upper"]


def test_disattenuated_correlation_recovers_a_known_correlation():
    rng = np.random.default_rng(5)
    m, rho, s1, s2 = 4000, -0.6, 0.3, 0.5
    a = rng.multivariate_normal([0, 0], [[s1 ** 2, rho * s1 * s2], [rho * s1 * s2, s2 ** 2]], size=m)
    n1, n2 = rng.integers(5, 400, m), rng.integers(1, 30, m)
    e1, e2 = 1.0 / np.sqrt(n1), 1.2 / np.sqrt(n2)                   # SE of each agent's mean
    lam1, lam2 = s1 ** 2 / (s1 ** 2 + e1 ** 2), s2 ** 2 / (s2 ** 2 + e2 ** 2)
    b1 = lam1 * (a[:, 0] + e1 * rng.standard_normal(m))             # BLUPs: shrunken noisy means
    b2 = lam2 * (a[:, 1] + e2 * rng.standard_normal(m))
    est, naive = speed.disattenuated_correlation(b1, b2, lam1, lam2)
    assert abs(est - rho) < 0.04 and abs(naive) < abs(rho) - 0.1   # the plain correlation is attenuated


def test_contact_level_metrics_match_the_generating_model(result, larger):
    for res in (result, larger[0]):
        c = res.tables["contact_metrics"]
        assert c.loc["marked resolved by the agent", "lower"] > 0.3   # unresolved costs 0.8 on the latent scale
        for name in ("came back within 7 days", "10% longer handle time"):   # no direct effect in the simulator
            assert c.loc[name, "lower"] < 0 < c.loc[name, "upper"]


def test_resolution_agreement_counts_and_screen(sample, result):
    ds, _ = sample
    frame = speed.metric_frame(ds.contacts)
    overall, by_agent = resolution.resolution_agreement(frame)
    disagree = (ds.contacts["resolved_first_contact"] != ~ds.contacts["repeat_within_7d"]).sum()
    assert overall.loc["disagree", "contacts"] == disagree
    assert overall.loc["disagree", "lower"] < disagree / len(frame) < overall.loc["disagree", "upper"]
    assert by_agent["contacts"].sum() == len(frame)
    assert (by_agent["disagree_lower"] <= by_agent["disagree_rate"]).all()
    assert not result.tables["agent_metrics"]["overclaim_flag"].any()   # nobody misreports in the simulator
    liar = by_agent["contacts"].idxmax()
    frame.loc[frame["agent_id"] == liar, "marked_resolved"] = 1          # marks everything resolved
    screen = resolution.overclaim_screen(frame)
    assert screen.table.loc[liar, "flag"] and screen.table["flag"].sum() == 1 and screen.z == 3.09


def test_natural_spline_basis():
    knots = np.array([1.0, 2.0, 4.0, 9.0])
    x = np.linspace(0, 14, 141)
    B = interactions.natural_spline_basis(x, knots)
    assert B.shape == (141, 3)
    for region in (x <= 1.0, x >= 9.0):                 # linear beyond the boundary knots
        second = np.diff(B[region], n=2, axis=0)
        np.testing.assert_allclose(second, 0, atol=1e-9)
    np.testing.assert_allclose(interactions.spline_knots([1, 1, 2, 3, 9]), [1, 9 ** (1 / 3), 9 ** (2 / 3), 9])


def test_the_spline_finds_a_sweet_spot_when_there_is_one(sample, result):
    ds, _ = sample
    replies = result_replies(ds)
    comp = result.tables["interactions_comparisons"]
    assert comp.loc["band − below", "upper"] < 0.2 and "do not support a 5–9 sweet spot" in result.findings[7]
    lifted = replies.assign(csat=np.where(replies["n_interactions"].between(5, 9), np.minimum(replies["csat"] + 1, 5),
                                          replies["csat"]))
    curve = interactions.interaction_curve(lifted, ds.contacts)
    assert curve.comparisons.loc["band − below", "lower"] > 0 and curve.band == (5, 9)
    assert say.interactions_sentence(curve.comparisons, curve.bands, curve.band).endswith(
        "consistent with a 5–9 sweet spot on the side that can be checked, not proof of one.")


def result_replies(ds):
    from upstream.data.frames import responses
    return responses(ds, "csat")


def test_published_tables(result, tmp_path):
    written = {p.name for p in result.publish(tmp_path)}
    assert written == {f"{n}.csv" for n in ("period_changes", "change_point", "monthly_metrics", "agent_metrics",
                                            "effect_correlations", "contact_metrics", "resolution_agreement",
                                            "interactions_curve", "interactions_bands", "interactions_comparisons")}
    agents = pd.read_csv(tmp_path / "tables" / "agent_metrics.csv", dtype={"agent_id": str})
    assert agents.columns[0] == "agent_id" and agents["p_quadrant"].is_monotonic_decreasing
    assert result.group == "Operations"


def test_findings_are_checkable_from_the_tables(result):
    f = result.findings
    corr = result.tables["effect_correlations"].loc["handle_time~repeat"]
    assert f"correlate {corr['rho']:+.2f} (95% interval {corr['lower']:+.2f} to {corr['upper']:+.2f})" in f[1]
    changes = result.tables["period_changes"]
    ht = changes.loc["handle_time"]
    lo, hi = 100 * -ht["upper"], 100 * -ht["lower"]
    assert f"fell {100 * -ht['estimate']:.1f}% (95% interval {lo:.1f}%–{hi:.1f}%)" in f[0]
    overall = result.tables["resolution_agreement"]
    assert f"disagree on {say.pct(overall.loc['disagree', 'share'])} of contacts" in f[6]


def test_parameters_are_checked():
    assert metric_health.MetricHealthParameters.from_mapping({"change_date": "2026-08-16"}).change_date == "2026-08-16"
    with pytest.raises(ParameterError, match="change_date must be a date such as 2026-08-16, got 'soon'"):
        metric_health.MetricHealthParameters.from_mapping({"change_date": "soon"})
    with pytest.raises(ParameterError, match="fast_margin must be between 0 and 1, got 1.5"):
        metric_health.MetricHealthParameters.from_mapping({"fast_margin": 1.5})
    with pytest.raises(ParameterError, match=r"unknown study parameter\(s\): budget \(known: reliability_threshold"):
        metric_health.MetricHealthParameters.from_mapping({"budget": 3})


# -- sentences for constructed inputs ------------------------------------------------------------------

def changes_table(ht, rep):
    rows = {"handle_time": {"first": "before", "last": "after", "estimate": ht[0], "lower": ht[1], "upper": ht[2],
                            "p_value": 0.0, "raw_first": 500.0, "raw_last": 430.0},
            "repeat": {"first": "before", "last": "after", "estimate": rep[0], "lower": rep[1], "upper": rep[2],
                       "p_value": 0.0, "raw_first": 0.15, "raw_last": 0.18}}
    return pd.DataFrame.from_dict(rows, orient="index")


def test_period_sentence_text_and_conditions():
    day = pd.Timestamp("2026-08-16")
    search = periods.ChangePoint(day=day, index=46, sup_f=40.0, p_value=0.0004, before=6.2, after=6.05, n_days=92,
                                 critical_95=12.0, ar_order=1, ar_sum=0.5, day_lower=pd.Timestamp("2026-08-10"),
                                 day_upper=pd.Timestamp("2026-08-22"))
    found = periods.PeriodChange(daily=pd.DataFrame(), source="found", day=day, found=search)
    text = say.period_change_sentence(changes_table((-0.15, -0.16, -0.14), (0.035, 0.029, 0.042)), found)
    assert text == ("From 16 Aug 2026 — the break the daily handle times show most clearly (sup-F test p < 0.001, "
                    "against serially dependent days; the date's 95% interval 10 Aug 2026 to 22 Aug 2026) — "
                    "handle time on the same contact mix fell 15.0% (95% interval 14.0%–16.0%) while repeat contacts "
                    "rose 3.5 percentage points (95% interval 2.9 to 4.2); the raw averages went from 500 to 430 "
                    "seconds and from 15.0% to 18.0% repeats.")
    months = periods.PeriodChange(daily=pd.DataFrame(), source="months", day=None)
    text = say.period_change_sentence(changes_table((-0.01, -0.03, 0.01), (0.002, -0.004, 0.008)), months)
    assert text.startswith("The daily handle times show no clear break, so months are compared: from before to after, "
                           "handle time on the same contact mix did not change detectably (-1.0%, 95% interval -3.0% "
                           "to +1.0%) and repeat contacts did not change detectably (+0.2 percentage points, 95% "
                           "interval -0.4 to +0.8);")


def corr_table(lo, hi, rho=-0.5):
    return pd.DataFrame({"n_agents": [150], "rho": [rho], "lower": [lo], "upper": [hi], "naive": [rho * 0.8]},
                        index=pd.Index(["handle_time~repeat"], name="pair"))


ASSOCIATION = (" This is an association between agents, not evidence that speed causes or prevents repeats: agents who "
               "work faster may differ in other ways too.")


@pytest.mark.parametrize("lo, hi, lead, tail", [
    (-0.7, -0.3, "Across agents, those faster than their contact mix predicts tend to have more repeat contacts",
     ASSOCIATION),
    (0.2, 0.6, "Across agents, those faster than their contact mix predicts tend to have fewer repeat contacts",
     ASSOCIATION),
    (-0.4, 0.1, "Across agents, speed and repeat contacts are not detectably related", "")])
def test_speed_quality_sentence_states_an_association_with_its_interval(lo, hi, lead, tail):
    text = say.speed_quality_sentence(corr_table(lo, hi))
    assert text == (f"{lead}: agents' handle-time and repeat-contact effects correlate -0.50 (95% interval {lo:+.2f} "
                    f"to {hi:+.2f}), across the 150 agents with contacts (corrected for the shrinkage of each agent's "
                    f"estimates; agents resampled; the uncorrected correlation is -0.40).{tail}")
    assert "create" not in text


def test_rushing_and_ranking_sentences():
    params = metric_health.MetricHealthParameters()
    named = pd.DataFrame({"p_quadrant": [0.99, 0.85]}, index=["A1", "A2"])
    labels = pd.Series({"A1": "Agent 01", "A2": "Agent 02"})
    assert say.rushing_sentence(named, labels, params) == (
        "2 agents are probably both fast and prone to repeat contacts (probability at least 0.8 of handling "
        "contacts at least 10% faster and having at least 25% higher odds of a repeat contact than an average agent "
        "on the same contacts): Agent 01 (0.99) and Agent 02 (0.85); probably none of these 2 names is wrong.")
    three = pd.DataFrame({"p_quadrant": [0.81, 0.8, 0.82]}, index=["A1", "A2", "A3"])   # 0.57 expected wrong
    assert say.rushing_sentence(three, pd.Series({"A1": "x", "A2": "y", "A3": "z"}), params).endswith(
        "about one of these 3 names may be wrong.")
    assert say.rushing_sentence(named.iloc[:0], labels, params).startswith("No agent is probably both fast and prone to")
    text = say.ranking_sentence(speed.FastestShare(n_fastest=15, expected_in_quadrant=7.49, fastest=()),
                                corr_table(-0.7, 0.1, -0.5))
    assert text == ("Among the 15 agents with the shortest handle times on their contact mix, about 7 (going by the "
                    "sum of their probabilities) are both fast and prone to repeats; across all agents, differences in "
                    "repeat contacts go with 25% (95% interval 0.0%–49%) of the between-agent differences in handle "
                    "time.")


def test_interactions_sentence_conditions():
    bands = pd.DataFrame({"expected": [4.0, 4.2, 4.0]}, index=["below", "band", "above"])
    both = pd.DataFrame({"estimate": [0.2, 0.3], "lower": [0.1, 0.1], "upper": [0.3, 0.5]},
                        index=["band − below", "band − above"])
    assert say.interactions_sentence(both, bands, (5, 9)) == (
        "On the same contact mix (natural spline), contacts that took 5–9 interactions score +0.20 points against "
        "contacts with fewer than 5 (95% interval +0.10 to +0.30) and +0.30 points against contacts with more than 9 "
        "(95% interval +0.10 to +0.50): the data support a 5–9 sweet spot.")
    mixed = both.assign(lower=[0.1, -0.1])
    assert say.interactions_sentence(mixed, bands, (5, 9)).endswith(
        "(95% interval -0.10 to +0.50; not distinguishable from zero): the data do not support a 5–9 sweet spot.")
    assert say.interactions_sentence(both.iloc[:0], bands.loc[["below"]], (5, 9)) == (
        "No contact took 5–9 interactions, so the 5–9 sweet-spot rule cannot be checked.")


def test_resolution_sentence_names_flagged_agents():
    overall = pd.DataFrame({"contacts": [10, 4, 6], "share": [0.1, 0.04, 0.06], "lower": [0.05, 0.01, 0.02],
                            "upper": [0.18, 0.1, 0.12]},
                           index=["disagree", "over-claimed (marked resolved, came back)",
                                  "under-claimed (marked unresolved, did not come back)"])
    screen = resolution.OverclaimScreen(pd.DataFrame({"flag": [True, False, False]}, index=["A1", "A2", "A3"]),
                                        z=3.09, tau2=0.1)
    assert say.resolution_sentence(overall, screen) == (
        "Agents' own resolution codes and the 7-day repeat measure disagree on 10% of contacts (95% interval "
        "5.0%–18%): 4.0% were marked resolved but the customer came back, 6.0% were marked unresolved but the "
        "customer did not come back; 1 of 3 agents marks contacts resolved that come back implausibly often against "
        "what their own contacts predict, allowing for the ordinary variation between agents (one-sided z > 3.09).")


# -- what a data set does not record ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_folder(tmp_path_factory):
    from upstream.simulate import PRESETS, simulate
    return simulate(PRESETS["small"], seed=3).write(tmp_path_factory.mktemp("small") / "data")


def without(folder, tmp_path, columns):
    import shutil
    out = tmp_path / "data"
    shutil.copytree(folder, out)
    contacts = pd.read_csv(out / "contacts.csv", dtype=str, keep_default_na=False)
    contacts.drop(columns=list(columns)).to_csv(out / "contacts.csv", index=False)
    return load_dataset(out, validate=False)


def test_without_handle_time_there_is_nothing_to_check(small_folder, tmp_path):
    ds = without(small_folder, tmp_path, ["handle_time_sec"])
    res = metric_health.run(ds, PARAMS, RunCache())
    assert res.findings == [say.NOT_RECORDED["handle_time_sec"]] and res.tables == {} and res.figures == {}


def test_parts_the_data_set_does_not_record_say_so(small_folder, tmp_path):
    ds = without(small_folder, tmp_path, ["resolved_first_contact", "n_interactions"])
    res = metric_health.run(ds, PARAMS, RunCache())
    assert say.NOT_RECORDED["resolved_first_contact"] in res.findings
    assert say.NOT_RECORDED["n_interactions"] in res.findings
    assert "resolution_agreement" not in res.tables and "interactions_curve" not in res.tables
    assert set(res.tables["contact_metrics"].index) == {"came back within 7 days", "10% longer handle time"}
    assert res.findings[0].startswith("From 16 Aug 2026")


def test_a_short_csat_scale_skips_the_contact_level_csat_comparisons(small_folder, tmp_path):
    import dataclasses

    from upstream.data import CsatScale
    ds = load_dataset(small_folder, validate=False)
    ds.surveys = ds.surveys.assign(csat=ds.surveys["csat"].map({1: 1, 2: 1, 3: 1, 4: 2, 5: 2}).astype("Int64"))
    ds.description = dataclasses.replace(ds.description, csat=CsatScale(points=2, labels={1: "bad", 2: "good"},
                                                                        top_box=(2,)))
    ds.fingerprint = "small-good-bad"
    res = metric_health.run(ds, PARAMS, RunCache())
    assert say.short_scale_sentence(2) in res.findings
    assert "contact_metrics" not in res.tables and "interactions_curve" not in res.tables
    assert res.tables["effect_correlations"].loc["repeat~csat", "n_agents"] > 0   # latent-scale agent effects


def test_speed_csat_sentence_leaves_out_a_pair_it_cannot_estimate():
    corr = pd.DataFrame({"n_agents": [150, 3], "rho": [0.15, np.nan], "lower": [0.02, np.nan],
                         "upper": [0.3, np.nan]}, index=["handle_time~csat", "repeat~csat"])
    assert say.speed_csat_sentence(corr) == ("Against CSAT, faster agents score lower CSAT (correlation of "
                                             "handle-time and CSAT effects +0.15, 95% interval +0.02 to +0.30).")
    assert say.speed_csat_sentence(corr.iloc[:0]) == ""
