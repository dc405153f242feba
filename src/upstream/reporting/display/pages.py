"""Every table a study's page shows, built once here from the study's result (the notebooks only call
`StudyView.show(name)`), so a test can compare each one with the CSV the study publishes.

`page_tables(result)` gives, in page order, the tables the data allow: each a `ShownTable` with its
caption, the readable frame (every cell text, a dash where a value is undefined), the notes under it and
the `tables/<source>.csv` its numbers come from (None for the model details of the analyst notes)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ...analysis.scorecards import display_scorecards
from . import metric_health as mh
from . import qa_sample as qa
from . import trends as tr
from .agents import flagged_agents, policy_display, rank_movers, shares_table, verdict_counts
from .channels import channel_table, differences_display, response_display
from .common import format_p, readable, with_agent_labels
from .friction import dose_display, policy_outcomes_display, words_display


@dataclass
class ShownTable:
    """One table of a page: the readable frame, its caption and notes, and the published CSV it shows."""

    name: str
    caption: str
    frame: pd.DataFrame
    source: str | None
    notes: list[str] = field(default_factory=list)


def page_tables(result) -> dict[str, ShownTable]:
    """The tables `result`'s page shows, by name, in page order."""
    builder = BUILDERS.get(result.study)
    if builder is None:
        raise KeyError(f"no page tables for the study {result.study!r}; known: {', '.join(BUILDERS)}")
    shown: dict[str, ShownTable] = {}
    for name, caption, frame, source, undefined in builder(result):
        table, notes = readable(frame, undefined) if undefined else readable(frame)
        shown[name] = ShownTable(name, caption, table, source, notes)
    return shown


def _agents(result, table: pd.DataFrame) -> pd.Series:
    return result.labels(table.index)


def _agent_vs_system(r):
    p, t = r.parameters, r.tables
    yield ("variance_shares", "Share of the variation in CSAT with 95% intervals; p: joint Wald test that the "
           "variable has no effect", shares_table(t["variance_shares"]), "variance_shares",
           "no test (the agents' share is tested by the verdicts; the total has no test)")
    if len(t["policy_effects"]):
        yield ("policy_effects", "Policy effects on CSAT (points) against the average contact: 95% CI (Satterthwaite "
               "df), family-wise 95% CI (Bonferroni), Holm-adjusted p", policy_display(t["policy_effects"]),
               "policy_effects", "not tested for this policy (too few replies or agents)")
    effects, screen = t["agent_effects"], t["survey_screen"]
    yield ("verdict_counts", f"Agents by verdict (reliability threshold {p.reliability_threshold:g}, false sign rate "
           f"at most {p.max_false_sign:.0%})", verdict_counts(effects), "agent_effects", None)
    if screen["flagged"].any():
        yield ("survey_screen", "Survey process under review: invitation or response rate implausible against the "
               "agent's own expected rate", flagged_agents(screen, _agents(r, screen)), "survey_screen",
               "no reply to compare")
    yield ("rank_shift", "Largest rank changes (1 = best); rank interval and P(bottom 10%) from the bootstrap",
           rank_movers(effects, _agents(r, effects)), "agent_effects", "not estimable")
    yield from _variance_components(r.values.model)


def _variance_components(model):
    """The variance-components table of a study's model (``studies.base.ModelSummary``; None: none)."""
    if model is not None:
        agents = f", {model.n_agents} agents" if model.n_agents is not None else ""
        yield ("variance_components", f"Variance components — {model.formula}; {model.nobs:,} replies{agents}, "
               f"{model.n_boot} bootstrap replicates", model.varcorr.round(4), None, "not a parameter of this term")


def _agent_scorecards(r):
    card = r.tables["scorecards"]
    yield ("scorecards", f"Agent scorecards (reliability threshold {r.parameters.reliability_threshold:g})",
           display_scorecards(card, _agents(r, card)), "scorecards", "no NPS reply or no interval")


def _survey_health(r):
    """The survey page's tables; the response, weighting and tipping parts only where the data set shows
    unanswered invitations (dataset.yaml visibility)."""
    t, v = r.tables, r.values
    if "response_model" in t:
        coef = t["response_model"][["odds_ratio", "estimate", "std_error", "p_value"]]
        yield ("response_model", f"Response model (logistic): odds ratios; AUC {v.response.propensity.auc:.2f}",
               coef.round(3).assign(p_value=coef["p_value"].map(format_p)), "response_model", None)
    if "nps_by_channel" in t:
        yield ("nps_by_channel", "NPS by channel with adjusted-Wald 95% intervals",
               t["nps_by_channel"].round({"p_promoter": 3, "p_detractor": 3, "nps": 1, "se": 2, "lower": 1,
                                          "upper": 1}), "nps_by_channel", "no NPS reply")
    screen = t["survey_screen"]
    if screen["flagged"].any():
        yield ("survey_screen", f"Agents under review (one-sided z > {r.parameters.screen_z:g})",
               flagged_agents(screen, _agents(r, screen)), "survey_screen", "no reply to compare")
    if "weighted_scores" in t:
        yield _weighted_scores(t["weighted_scores"], v.scores.iloc[0], v.response)
    if "tipping_point" in t:
        yield from _tipping(r, t["tipping_point"], v.tipping, t["verdict_tipping_points"])


def _weighted_scores(weighted, scores, response):
    table = weighted[["replies", "csat", "csat_weighted", "top_box", "top_box_weighted", "nps", "nps_weighted",
                      "kish_n"]]
    return ("weighted_scores", f"Unweighted and weighted scores by channel (all replies: CSAT {scores['csat']:.3f} → "
            f"{scores['csat_weighted']:.3f}; Kish effective n {response.effective_n:,.0f} of {response.n_responses:,})",
            table.round(3), "weighted_scores", "no NPS reply")


def _tipping(r, table, tip, fragile):
    yield ("tipping_point", f"Mean CSAT if non-respondents scored δ points away from comparable respondents "
           f"(replies: {tip.respondent_mean:.3f}; δ = 0: {tip.mean_mar:.3f})",
           table.round(3).rename(columns={"mean": "mean CSAT over all contacts"}), "tipping_point", None)
    if len(fragile):
        shown = fragile.reindex(fragile["tipping_delta"].abs().sort_values(kind="stable").index).head(10)
        yield ("verdict_tipping_points", "The most fragile verdicts: the shift in that agent's non-respondents at "
               "which the study's rule (P(beyond the margin) ≥ 1 − max_false_sign) withdraws the verdict",
               with_agent_labels(shown.round(3), _agents(r, shown)),
               "verdict_tipping_points", "no shift within the range searched undoes the verdict")


def _channel_audit(r):
    t = r.tables
    yield ("channel_summary", "Each channel's numbers with 95% intervals (counts and shares of contacts are a "
           "census)", channel_table(t["channel_summary"], r.values.summary.csat_measure == "share good"),
           "channel_summary", None)
    if "channel_differences" in t:
        yield ("channel_differences", "Raw and adjusted differences from the average contact: CSAT and NPS in "
               "points, rates in percentage points", differences_display(t["channel_differences"]),
               "channel_differences", "not estimable")
    if "channel_response" in t:
        yield ("channel_response", "Replies, weighting and tipping points by channel (χ² test of equal response "
               f"rates: p = {format_p(r.values.comparison.chi2_p)})", response_display(t["channel_response"]),
               "channel_response", "no shift within the range searched reverses the effect's sign")


def _policy_friction(r):
    t = r.tables
    if "policy_outcomes" in t:
        yield ("policy_outcomes", "Policy effects against the average contact (family-wise 95% intervals)",
               policy_outcomes_display(t["policy_outcomes"]), "policy_outcomes", "not estimable for this outcome")
    if "credit_dose_response" in t and len(t["credit_dose_response"]):
        yield ("credit_dose_response", "CSAT per doubling of the credit, and at the cap against the dose–response "
               "line (Satterthwaite 95% CI)", dose_display(t["credit_dose_response"]), "credit_dose_response", None)
    if "credit_cap_neighbours" in t:
        yield ("credit_cap_neighbours", "Raw mean CSAT at the cap and in the half-doubling just below it (t / Welch "
               "95% intervals)", t["credit_cap_neighbours"].round(3), "credit_cap_neighbours", "fewer than two replies")
    words = r.values.words
    yield ("policy_words", f"Distinctive words per policy (z above {words.z_threshold:.2f}, Bonferroni over "
           f"a {words.vocabulary:,}-word vocabulary)", words_display(words), "policy_words",
           "fewer comments than the word list needs")


def _comment_sentiment(r):
    t = r.tables
    validation = t["sentiment_validation"]
    yield ("sentiment_validation", f"AUC of sentiment for detractors with DeLong 95% intervals (bar for use: lower "
           f"end ≥ {r.parameters.auc_bar:g}, {r.values.validation.gate})", validation.round(3),
           "sentiment_validation", "no score of this kind")
    yield ("sentiment_by_score", "Mean sentiment of the comments at each CSAT score",
           t["sentiment_by_score"].round(3), "sentiment_by_score", "too few comments")
    if r.values.used:
        agents = t["agent_sentiment"]
        shown = agents.reindex(agents["beyond_score_z"].abs().sort_values(ascending=False, kind="stable").index)
        shown = shown.head(10)
        yield ("agent_sentiment", "Agents whose customers' words differ most from their scores (z = beyond_score / "
               "its SE)", with_agent_labels(shown.round(3), _agents(r, shown)), "agent_sentiment", "not estimable")


def _metric_health(r):
    t = r.tables
    if "agent_metrics" in t:
        agents = t["agent_metrics"]
        yield ("rushing", "Agents most probably both fast and prone to repeat contacts (P from the conditional "
               "distributions)", mh.rushing_display(agents, _agents(r, agents)), "agent_metrics", None)
        yield ("effect_correlations", "Correlation of agents' own effects across the three metrics: corrected for "
               "shrinkage (reliability-weighted moments), 95% percentile intervals resampling agents",
               mh.correlation_display(t["effect_correlations"]), "effect_correlations", "not estimable")
    if "period_changes" in t:
        yield ("period_changes", "Change from the first to the last period: handle time (geometric mean) in %, "
               "repeat contacts in percentage points", mh.period_display(t["period_changes"]), "period_changes", None)
        yield ("monthly_metrics", "Raw monthly figures (intervals treat contacts as independent: a description, not "
               "a model)", mh.monthly_display(t["monthly_metrics"]), "monthly_metrics", "no contacts to measure")
    if "contact_metrics" in t:
        yield ("contact_metrics", "Difference in CSAT (points), 95% Satterthwaite intervals",
               mh.contact_metrics_display(t["contact_metrics"]), "contact_metrics", "not estimable")
    if "resolution_agreement" in t:
        agents = t["agent_metrics"]
        yield ("resolution_agreement", "All contacts, 95% Jeffreys intervals",
               mh.resolution_display(t["resolution_agreement"]), "resolution_agreement", None)
        yield ("overclaim", "Agents whose resolved contacts come back most often against their contacts' expectation",
               mh.overclaim_display(agents, _agents(r, agents)), "agent_metrics", "no resolved contact")
    if "interactions_curve" in t:
        yield ("interactions_bands", "Expected CSAT of each band and the differences, 95% Satterthwaite intervals",
               mh.bands_display(t["interactions_bands"], t["interactions_comparisons"]), "interactions_bands",
               "not estimable")
        yield ("interactions_curve", "The curve, count by count", mh.interactions_display(t["interactions_curve"]),
               "interactions_curve", "not estimable")


def _trends(r):
    t = r.tables
    if "trend_decomposition" in t:
        yield ("trend_decomposition", "Oaxaca–Blinder decomposition on the fitted model (CSAT points); bootstrap "
               "percentile and Satterthwaite intervals", tr.decomposition_display(t["trend_decomposition"]),
               "trend_decomposition", "no Satterthwaite interval for a sum of parts")
        yield ("mix_shares", "The contact-mix levels whose share of contacts moved most",
               tr.shares_display(t["mix_shares"]), "mix_shares", None)
    if "weekly_scores" in t:
        yield ("weekly_scores", "Weekly scores of the replies (CSAT: t interval; top-box: Wilson; NPS: adjusted "
               "Wald) and the level on the first month's mix (bootstrap)",
               tr.weekly_display(t["weekly_scores"], t["within_mix_weekly"]), "weekly_scores",
               "too few replies that week")
        yield ("period_scores", "The replies' own averages in the two months and the change (not adjusted for the "
               "contact mix)", tr.period_display(t["period_scores"]), "period_scores",
               "the change has no count of replies")
    yield from _variance_components(r.values.model if r.values is not None else None)


def _qa_sample(r):
    t = r.tables
    plan, sample = t["qa_plan"], t["qa_sample"]
    yield ("qa_plan", "Agents in the plan: reviews, reliability now and after, and why",
           qa.plan_display(plan, _agents(r, plan)), "qa_plan", None)
    if len(sample):
        yield ("qa_sample", "The first contacts of the sample",
               qa.sample_display(sample, r.labels(sample["agent_id"].unique())), "qa_sample", None)


BUILDERS = {"agent_vs_system": _agent_vs_system, "agent_scorecards": _agent_scorecards,
            "survey_health": _survey_health, "channel_audit": _channel_audit, "policy_friction": _policy_friction,
            "comment_sentiment": _comment_sentiment, "metric_health": _metric_health, "trends": _trends,
            "qa_sample": _qa_sample}
