"""policy_friction: policy effects on CSAT, NPS, repeat contacts and escalation, the goodwill-credit cap and
dose–response, and the words that tie comments to policies, against the simulator's truth (bundled sample
and a larger operation); exact sentences and their conditions."""
import dataclasses
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from study_data import PARAMS, larger_operation, sample

from upstream.analysis import credit, margins, words
from upstream.data.frames import CONTACT_MIX, invitations, responses
from upstream.reporting.privacy import redact_comment
from upstream.simulate.comments import POLICY_WORDS
from upstream.studies import ParameterError, policy_friction
from upstream.studies.policy_friction import FrictionParameters
from upstream.studies.policy_friction import sentences as say


@pytest.fixture(scope="module")
def on_sample():
    ds, truth, cache = sample()
    return policy_friction.run(ds, PARAMS, cache), truth


@pytest.fixture(scope="module")
def on_larger():
    ds, truth, cache = larger_operation()
    return policy_friction.run(ds, PARAMS, cache), truth


def policy_vocabulary(policy: str) -> set[str]:
    """The words of the simulator's policy fragments (simulate/comments.py POLICY_WORDS)."""
    return {w for text in POLICY_WORDS[policy] for w in words.tokens(text)}


def test_publishes_the_issue_tables(on_sample, tmp_path):
    result, _ = on_sample
    written = sorted(p.name for p in result.publish(tmp_path))
    assert written == ["credit_bands.csv", "credit_cap_neighbours.csv", "credit_dose_response.csv",
                       "credit_pile_up.csv", "policy_outcomes.csv", "policy_words.csv"]
    effects = pd.read_csv(tmp_path / "tables" / "policy_outcomes.csv")
    assert list(effects.columns[:3]) == ["outcome", "policy", "unit"]
    assert set(effects["outcome"]) == {"csat", "nps", "repeat", "escalation"}
    words_csv = pd.read_csv(tmp_path / "tables" / "policy_words.csv")
    assert list(words_csv.columns[:3]) == ["policy", "rank", "word"]


def test_findings_are_checkable_from_the_tables(on_sample):
    result, _ = on_sample
    effects = result.tables["policy_outcomes"]
    repeat = effects.loc["repeat"].sort_values("effect", ascending=False)
    top = repeat.iloc[0]
    sentence = next(f for f in result.findings if "repeat contact within 7 days" in f)
    assert sentence.startswith(f"'{repeat.index[0]}' raises the chance of a repeat contact within 7 days by "
                               f"{top['effect']:.1f} percentage points")
    assert f"(family-wise 95% interval {top['lower_adj']:.1f} to {top['upper_adj']:.1f})" in sentence
    pile = result.tables["credit_pile_up"].iloc[0]
    cap = next(f for f in result.findings if "credited contacts" in f)
    assert f"received exactly {result.tables['credit_pile_up'].index[0]:.2f}" in cap
    assert f"not {int(pile['count']):,}." in cap
    dose = result.tables["credit_dose_response"]
    at_cap = next(f for f in result.findings if "at the cap" in f)
    assert f"{dose.loc['at_cap', 'estimate']:+.2f} points against the dose–response line" in at_cap


def test_recovers_the_policy_that_drives_repeats_the_cap_and_the_words_on_the_sample(on_sample):
    result, truth = on_sample
    effects = result.tables["policy_outcomes"]
    repeat = effects.loc["repeat"]
    assert repeat["effect"].idxmax() == truth["repeat_policy"]["policy"]
    others = repeat.drop(index=truth["repeat_policy"]["policy"])
    assert repeat.loc[truth["repeat_policy"]["policy"], "lower_adj"] > others["upper_adj"].max()
    raw_gap = 100 * (truth["repeat_policy"]["repeat_rate_under"] - truth["repeat_policy"]["repeat_rate_others"])
    assert abs(repeat.loc[truth["repeat_policy"]["policy"], "effect"] - raw_gap) < 3     # mix barely differs
    csat = effects.loc["csat"]
    true_policy = pd.Series(truth["policy_effect_csat"])
    assert set(true_policy.index[true_policy <= -0.3]) <= set(csat.index[csat["upper_adj"] < 0])
    nps = effects.loc["nps"]
    assert np.corrcoef(nps["effect"], pd.Series(truth["policy"]).reindex(nps.index))[0, 1] > 0.9
    pile = result.values.credit.pile
    assert pile.is_cap and pile.value == truth["credit"]["cap"]
    assert pile.share_lower <= truth["credit"]["share_of_credited_at_cap"] <= pile.share_upper
    at_cap = result.tables["credit_dose_response"].loc["at_cap"]
    assert at_cap["lower"] <= truth["credit"]["cap_effect_csat"] <= at_cap["upper"]   # too few replies to see it
    table = result.values.words.table
    for policy in POLICY_WORDS:
        top = table[(table["group"] == policy) & table["distinctive"]].head(3)
        assert set(top["word"]) & policy_vocabulary(policy), policy


def test_recovers_the_cap_penalty_and_dose_response_on_a_larger_operation(on_larger):
    result, truth = on_larger
    dose = result.tables["credit_dose_response"]
    at_cap = dose.loc["at_cap"]
    assert at_cap["upper"] < 0                                           # contacts at the cap score lower ...
    assert at_cap["lower"] <= truth["credit"]["cap_effect_csat"] <= at_cap["upper"]   # ... by the true amount
    assert dose.loc["per_doubling", "lower"] > 0                         # more credit, more satisfaction
    pile = result.values.credit.pile
    assert pile.value == 50.0 and abs(pile.share - truth["credit"]["share_of_credited_at_cap"]) < 1e-12
    repeat = result.tables["policy_outcomes"].loc["repeat"]
    assert repeat["effect"].idxmax() == truth["repeat_policy"]["policy"]
    table = result.values.words.table
    for policy in POLICY_WORDS:
        assert table.loc[(table["group"] == policy) & table["distinctive"], "word"].head(3).isin(
            policy_vocabulary(policy)).all(), policy


def test_comments_are_redacted_before_any_word_is_counted(on_sample):
    result, _ = on_sample
    assert not {"jo", "bloggs", "example"} & set(result.values.words.table["word"])
    text = "Email me at jo.bloggs@example.com or 07700 900123, card 4111 1111 1111 1111"
    assert words.tokens(redact_comment(text)) == ["email", "card"]
    ds, _, _ = sample()
    inv = invitations(ds)
    commented = inv[inv["responded"] & inv["comment"].notna()]
    everything = words.distinctive_words(commented["comment"].map(redact_comment), commented["policy"], top=1000).table
    raw = words.distinctive_words(commented["comment"], commented["policy"], top=1000).table
    assert "bloggs" in set(raw["word"]) and "bloggs" not in set(everything["word"])   # the check can fail


def test_fightin_words_follow_monroe_colaresi_quinn():
    """δ_w with the informative Dirichlet prior α_w = α₀·π_w and z = δ/σ, by hand for a three-word corpus."""
    group, other = Counter({"cap": 8, "refund": 4, "thanks": 2}), Counter({"cap": 1, "refund": 3, "thanks": 10})
    table = words.fightin_words(group, other, prior_share=0.5)
    n_i, n_j, total = 14, 14, 28
    a0 = 0.5 * total
    alpha = a0 * 9 / total                                              # "cap": 9 of 28 tokens
    delta = np.log((8 + alpha) / (n_i + a0 - 8 - alpha)) - np.log((1 + alpha) / (n_j + a0 - 1 - alpha))
    assert table.loc["cap", "log_odds"] == pytest.approx(delta)
    assert table.loc["cap", "z"] == pytest.approx(delta / np.sqrt(1 / (8 + alpha) + 1 / (1 + alpha)))
    assert list(table.index) == ["cap", "refund", "thanks"]


def test_pile_up_is_found_without_being_told_the_cap():
    rng = np.random.default_rng(1)
    smooth = pd.Series(np.round(np.exp(rng.normal(np.log(25), 0.8, 4000)), 2))
    assert not credit.pile_up(smooth).point_mass
    capped = smooth.clip(upper=40.0)
    found = credit.pile_up(capped)
    assert found.is_cap and found.value == 40.0 and found.share == pytest.approx((smooth >= 40).mean())
    common = pd.concat([smooth, pd.Series([10.0] * 400)])               # a round amount, not the largest
    found = credit.pile_up(common)
    assert found.point_mass and not found.is_cap and found.value == 10.0
    whole = pd.Series(np.round(np.exp(rng.normal(np.log(25), 0.8, 4000))).clip(1, 60))
    assert credit.pile_up(whole).resolution == 1.0
    assert credit.pile_up(pd.Series([0.0, 0.0])).n_credited == 0


def test_nps_effects_are_average_marginal_effects_with_a_delta_method_se():
    ds, _, cache = sample()
    from upstream.studies import steps
    model = steps.nps_model(ds, cache)
    fit = model.fit
    table = margins.nps_level_effects(model, ds.contacts, "channel")
    # the effect from the fit's own predicted category probabilities, every contact moved to e-mail
    def nps_of(rows):
        p = fit.predict(rows, include_random=False, allow_new_levels=True).to_numpy()
        return 100 * (p[:, 9:].sum(axis=1) - p[:, :7].sum(axis=1)).mean()
    moved = ds.contacts.assign(channel="email")
    assert table.loc["email", "effect"] == pytest.approx(nps_of(moved) - nps_of(ds.contacts), abs=1e-9)
    # the analytic gradient against central differences of the mean NPS over the parameters
    X0 = fit.fixed_design(ds.contacts).to_numpy()
    names, params = list(fit.vcov.index), pd.concat([fit.thresholds, fit.fixef])
    def mean_g(values):
        fake = SimpleNamespace(thresholds=values.iloc[:len(fit.thresholds)], fixef=values.iloc[len(fit.thresholds):],
                               vcov=fit.vcov)
        return margins._nps_score(fake, X0)[0].mean()
    _, grad = margins._nps_score(fit, X0)
    for j in (0, 6, 8, len(names) - 1):
        step = pd.Series(0.0, index=params.index)
        step.iloc[j] = 1e-6
        assert grad[j] == pytest.approx((mean_g(params + step) - mean_g(params - step)) / 2e-6, rel=1e-4, abs=1e-6)


# -- sentences: exact text and the condition behind each ------------------------------------------

def _effects(rows):
    return pd.DataFrame(rows, columns=["policy", "effect", "lower_adj", "upper_adj"]).set_index("policy")


def test_repeat_sentence_says_more_than_any_other_only_when_the_intervals_separate():
    clear = _effects([("backorder", 17.2, 14.8, 19.6), ("refund", 3.6, 1.9, 5.3), ("standard", -2.4, -3.0, -1.9)])
    assert say.repeat_sentence(clear) == (
        "'backorder' raises the chance of a repeat contact within 7 days by 17.2 percentage points against the "
        "average contact with the agent held fixed (family-wise 95% interval 14.8 to 19.6) — more than any other "
        "policy; 'refund' (+3.6, +1.9 to +5.3) also raise repeats beyond chance.")
    close = _effects([("backorder", 4.0, 1.0, 7.0), ("refund", 3.6, 1.9, 5.3)])
    assert "the largest estimate, though not clearly above every other" in say.repeat_sentence(close)
    none = _effects([("backorder", 1.0, -1.0, 3.0), ("refund", 0.5, -1.0, 2.0)])
    assert say.repeat_sentence(none) == (
        "No policy raises repeat contacts within 7 days beyond chance with the agent held fixed (largest: "
        "'backorder', +1.0 percentage points, family-wise 95% interval -1.0 to +3.0).")


def test_nps_and_escalation_sentences():
    nps = _effects([("refund", -24.9, -34.5, -15.3), ("standard", 8.1, 5.0, 11.3)])
    assert say.nps_policy_sentence(nps) == (
        "On NPS (promoters minus detractors, cumulative-logit model), 1 of the 2 policies cost points against the "
        "average contact with the agent held fixed: 'refund' (-24.9 NPS points, family-wise 95% interval -34.5 to "
        "-15.3).")
    assert say.nps_policy_sentence(nps.iloc[1:]).startswith("No policy lowers NPS below the average contact")
    esc = _effects([("refund", 5.9, 4.5, 7.3), ("standard", -1.7, -2.0, -1.3)])
    assert say.escalation_sentence(esc) == (
        "1 of the 2 policies raise escalations against the average contact with the agent held fixed: 'refund' "
        "(+5.9 percentage points, family-wise 95% interval +4.5 to +7.3).")
    assert say.escalation_sentence(esc.iloc[1:]).startswith("No policy raises the escalation rate beyond chance")


def pile_of(**changes) -> credit.PileUp:
    fields = {"n_credited": 5374, "value": 50.0, "count": 1027, "share": 0.1911, "share_of_contacts": 0.05,
              "share_lower": 0.1808, "share_upper": 0.2018, "expected_count": 0.443, "p_value": 1e-12,
              "above_share": 0.0, "resolution": 0.01, "point_mass": True, "is_cap": True}
    return credit.PileUp(**{**fields, **changes})


def dose_of(n: int, **terms) -> credit.DoseResponse:
    rows = {name: {"estimate": e, "std_error": np.nan, "df": np.nan, "lower": lo, "upper": hi, "p_value": np.nan}
            for name, (e, lo, hi) in terms.items()}
    return credit.DoseResponse(table=credit.dose_terms(rows, n), n=n, fit=None)


def test_credit_sentences_follow_their_conditions():
    assert say.cap_sentence(pile_of()) == (
        "19% of the 5,374 credited contacts (95% interval 18%–20%) received exactly 50.00, the largest amount issued "
        "— a cap: a smooth spread of amounts would put about 0.4 contacts on any one value there, not 1,027.")
    assert say.cap_sentence(pile_of(is_cap=False, above_share=0.3)).endswith(
        "a pile-up at one value; 30% received more, so it is a common amount rather than a cap.")
    assert say.cap_sentence(pile_of(point_mass=False, is_cap=False)) == (
        "Credited amounts show no pile-up at one value and so no cap: the most common amount, 50.00, went to 19% of "
        "the 5,374 credited contacts.")
    assert say.dose_sentence(dose_of(4131, per_doubling=(0.08, 0.02, 0.13))) == (
        "Among the 4,131 credited contacts with a CSAT reply, CSAT rises by 0.08 points per doubling of the credit "
        "(95% interval +0.02 to +0.13), with policy, product, channel, issue type, escalation, resolution and the "
        "agent held fixed.")
    flat = dose_of(828, per_doubling=(0.04, -0.08, 0.17))
    assert say.dose_sentence(flat) == ("Among the 828 credited contacts with a CSAT reply, CSAT shows no clear "
                                       "dose–response: +0.04 points per doubling of the credit (95% interval -0.08 to "
                                       "+0.17).")
    near = pd.DataFrame({"n": [797, 556], "mean": [3.78, 4.03]}, index=["at cap", "just below"])
    lower = dose_of(4131, at_cap=(-0.17, -0.30, -0.04))
    assert say.cap_effect_sentence(lower, near) == (
        "Contacts at the cap score 0.17 points lower than the dose–response line predicts for that amount, that is "
        "than contacts just below the cap (95% interval -0.30 to -0.04; raw means 3.78 at the cap (797 replies) and "
        "4.03 in the half-doubling just below it (556)).")
    unclear = dose_of(828, at_cap=(0.01, -0.31, 0.34))
    assert say.cap_effect_sentence(unclear, near).startswith(
        "Contacts at the cap do not score detectably differently from contacts just below it: +0.01 points")
    assert say.cap_effect_sentence(None, near) == "" and say.dose_sentence(None) == ""
    assert say.dose_sentence(lower) == "" and say.cap_effect_sentence(flat, near) == ""     # the term is not there
    table = pile_of().as_table()
    assert list(table.index) == [50.0] and table.index.name == "value" and list(table.columns) == [
        "n_credited", "count", "share", "share_of_contacts", "share_lower", "share_upper", "expected_count",
        "p_value", "above_share", "resolution", "point_mass", "is_cap"]


def test_words_sentence_lists_distinctive_words_and_counts_the_rest():
    table = pd.DataFrame({"group": ["refund above cap", "refund above cap", "standard"], "rank": [1, 2, 1],
                          "word": ["refund", "cap", "thanks"], "z": [12.6, 10.0, 1.2],
                          "distinctive": [True, True, False]})
    listed = words.DistinctiveWords(table, z_threshold=3.37, vocabulary=134, n_comments={})
    assert say.words_sentence(listed) == (
        "Comments name the rules: the words that most distinguish each policy's comments from all others (log-odds "
        "with an informative Dirichlet prior, z above 3.37, the Bonferroni bound over the 134-word vocabulary) are "
        "'refund above cap': 'refund' (z = 12.6), 'cap' (z = 10.0); the comments under the other 1 policies use no "
        "word distinctively.")
    assert say.words_sentence(dataclasses.replace(listed, table=table[table["group"] == "standard"])).startswith(
        "No policy's comments use any word distinctively (z above 3.37")


def test_friction_parameters_are_checked():
    assert FrictionParameters.from_mapping({"cap_min_share": 0.1, "n_boot": 200}).cap_min_share == 0.1
    with pytest.raises(ParameterError, match="cap_min_share must be between 0 and 1, got 1.5"):
        FrictionParameters.from_mapping({"cap_min_share": 1.5})
    with pytest.raises(ParameterError, match="min_comments must be at least 1, got 0"):
        FrictionParameters.from_mapping({"min_comments": 0})


def test_dose_response_holds_severity_fixed():
    ds, _, _ = sample()
    rep = credit.credited_replies(invitations(ds), 50.0)
    dose = credit.dose_response(rep, CONTACT_MIX, with_cap=True)
    fit = dose.fit
    assert list(dose.table.index) == ["per_doubling", "at_cap"] and (dose.table["n"] == dose.n).all() and dose.n == fit.nobs
    assert {"log2_credit", "at_cap", "escalated_", "unresolved_"} <= set(fit.fixef.index)
    assert len(rep) == fit.nobs == int((responses(ds, "csat")["credit_issued"] > 0).sum())


def test_one_policy_keeps_the_credit_analysis_and_compares_nothing():
    import dataclasses

    ds, _, _ = sample()
    one = dataclasses.replace(ds, contacts=ds.contacts.assign(policy="standard"),
                              fingerprint=ds.fingerprint + "-one-policy")
    result = policy_friction.run(one, PARAMS)
    assert "policy_outcomes" not in result.tables and result.tables["policy_words"].empty
    assert result.findings[0] == ("Every contact is governed by one policy ('standard'), so there are no policy "
                                  "differences to estimate.")
    assert result.values.credit.pile.is_cap


def test_runs_on_a_good_bad_scale_without_nps_escalation_or_credit():
    from study_data import good_bad_without_extras

    ds, cache = good_bad_without_extras()
    result = policy_friction.run(ds, PARAMS, cache)
    effects = result.tables["policy_outcomes"]
    assert set(effects.index.get_level_values(0)) == {"csat", "repeat"}
    assert (effects.loc["csat", "unit"] == "percentage points").all()
    repeat = "'replacement part backorder' raises the chance of a repeat contact"
    assert any(f.startswith(repeat) for f in result.findings)
    assert "This data set does not record goodwill credit, so there is no cap or dose–response to examine." in \
        result.findings
    assert "credit_pile_up" not in result.tables and "credit" not in result.figures
