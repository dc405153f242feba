"""Display tables of the survey_health study."""
from __future__ import annotations

from ...reporting.display.common import format_p, with_agent_labels
from ...reporting.display.pages import agent_labels
from ..agent_vs_system.display import flagged_agents


def page(r):
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
               flagged_agents(screen, agent_labels(r, screen)), "survey_screen", "no reply to compare")
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
               with_agent_labels(shown.round(3), agent_labels(r, shown)),
               "verdict_tipping_points", "no shift within the range searched undoes the verdict")

