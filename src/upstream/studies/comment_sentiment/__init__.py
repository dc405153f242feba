"""Comment sentiment: do customers' words agree with their scores? An offline sentiment scorer, validated on
the data's own replies before it is used; if it passes, sentiment as a second outcome in the agent model, and
the agents whose customers write more warmly or harshly than they score.

A study of its own rather than a section of policy_friction: its question is about the measure and about
agents, not about rules; it has a gate (the scorer must separate dissatisfied customers well enough on these
data) whose failure must leave the other studies untouched; and its model is the agent model on a second
outcome. (The words that tie comments to policies are in policy_friction.)

    replies  = CSAT replies with a comment, redacted, scored by VADER
    gate     = validate(replies, bar)                         # AUC for CSAT 1–2 with a DeLong interval
    model    = agent_sentiment(replies)                       # sentiment ~ mix + (1 | agent)
    disagree = disagreement(replies)                          # sentiment ~ csat score + mix + (1 | agent)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ...analysis import sentiment
from ...data.frames import CONTACT_MIX, invitations
from ...reporting.privacy import redact_comment
from .. import steps
from ..allowed import allowed
from ..base import Parameters, RunCache, StudyDeclaration, StudyResult
from . import display, plots
from . import sentences as say

NAME = "comment_sentiment"
TITLE = "Comment sentiment: whether customers' words agree with their scores"
GROUP = "Surveys"


@dataclass(frozen=True)
class SentimentValues:
    """What the page and notebook quote: the validation, whether sentiment is used as an outcome, the counts of
    comments and replies, and (when used) the sentiment and disagreement models' results."""

    validation: sentiment.SentimentValidation
    used: bool
    n_comments: int
    n_replies: int
    sentiment: sentiment.AgentSentiment | None = None
    disagreement: sentiment.Disagreement | None = None


@dataclass(frozen=True)
class SentimentParameters(Parameters):
    """The study parameters plus: auc_bar — the lower end of the 95% interval of the AUC for dissatisfied
    customers must reach it before sentiment is used as an outcome; min_agent_comments — agents with fewer
    comment replies are not compared."""

    auc_bar: float = field(default=0.7, metadata=allowed("number", 0.5, 1, high_open=True))
    min_agent_comments: int = field(default=5, metadata=allowed("whole number", 1))

    @classmethod
    def from_mapping(cls, values: dict | None = None, **more) -> "SentimentParameters":
        return super().from_mapping(values, **more)


def commented_replies(ds) -> tuple[pd.DataFrame, int]:
    """CSAT replies with a non-empty comment, redacted and scored; and the number of CSAT replies."""
    inv = invitations(ds)
    replies = inv[inv["responded"] & inv["csat"].notna()]
    text = replies["comment"].map(redact_comment)
    out = replies[text != ""].copy()
    out["comment"] = text[text != ""]
    out["csat"] = out["csat"].astype(float)
    out["sentiment"] = sentiment.score_comments(out["comment"])
    return out, len(replies)


def run(ds, params: SentimentParameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The comment_sentiment study on a validated data set."""
    params = params if isinstance(params, SentimentParameters) else SentimentParameters.from_mapping(params)
    cache = cache or RunCache()
    replies, n_replies = commented_replies(ds)
    scale = steps.csat_scale(ds)
    validation = sentiment.validate(replies, params.auc_bar, scale=scale, nps=steps.nps_recorded(ds))
    used = validation.passes
    findings = [say.comment_coverage_sentence(len(replies), n_replies), say.validation_sentence(validation)]
    tables = {"sentiment_validation": validation.table, "sentiment_by_score": sentiment.by_score(replies)}
    fits, figures, models = {}, {}, {}
    n_agents = int(replies["agent_id"].nunique())
    if used and not 2 <= n_agents < len(replies):
        findings.append(say.too_few_comments_sentence(len(replies), n_agents))
        used = False
    if used:
        model = steps.agent_model(ds, params, cache)
        level = steps.quietly(lambda: sentiment.agent_sentiment(replies, CONTACT_MIX))
        disagree = steps.quietly(lambda: sentiment.disagreement(replies, CONTACT_MIX,
                                                                min_comments=params.min_agent_comments))
        fits = {"Sentiment model": level.fit, "Sentiment-given-score model": disagree.fit}
        agents = agent_table(disagree.table, level.fit, model)
        tables["agent_sentiment"] = agents
        tables["sentiment_models"] = pd.DataFrame(
            {"sentiment": {**level.test.as_row(), "formula": level.formula, "n": level.fit.nobs},
             "sentiment given the score": {**disagree.test.as_row(), "formula": disagree.formula,
                                           "n": disagree.fit.nobs}}
        ).T.rename_axis("model")
        findings += [say.sentiment_agent_sentence(level.test), say.disagreement_sentence(disagree)]
        models = {"sentiment": level, "disagreement": disagree}
        n_off = int(agents["disagrees"].sum())
        figures["agents"] = plots.agent_agreement(
            agents, f"{n_off} agents' customers write differently from how they score" if n_off
            else "No agent's customers write differently from how they score")
    health = [line for label, fit in fits.items() for line in steps.fit_health(label, fit)
              if not (label == "Sentiment-given-score model" and "variance component" in line)]  # a zero is the answer
    gate = validation.table.loc[validation.gate]
    if len(replies) and pd.notna(gate["auc"]):
        figures["by_score"] = plots.sentiment_by_score(
            replies, f"Comment sentiment separates dissatisfied customers: AUC {gate['auc']:.2f} for "
                     f"{validation.gate}")
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         findings=findings + health, health=health, fits=fits)
    result.tables, result.figures = tables, figures
    result.values = SentimentValues(validation=validation, used=used, n_comments=len(replies), n_replies=n_replies,
                                    **models)
    return result


def agent_table(gaps: pd.DataFrame, sentiment_fit, model) -> pd.DataFrame:
    """tables/agent_sentiment.csv: per agent compared — comments, csat_effect (the agent model's
    conditional mode, all CSAT replies), sentiment_effect (+ cond SE), beyond_score (sentiment beyond what
    the reply's score predicts, −1..1 scale) with its conditional SE and z, disagrees."""
    csat = model.judged_by.ranef[model.agent]["mode"]
    sent = sentiment_fit.ranef[model.agent]
    out = pd.DataFrame({"comments": gaps["comments"], "csat_effect": csat.reindex(gaps.index),
                        "sentiment_effect": sent["mode"].reindex(gaps.index),
                        "sentiment_cond_se": sent["cond_se"].reindex(gaps.index),
                        "beyond_score": gaps["mode"], "beyond_score_cond_se": gaps["cond_se"],
                        "beyond_score_z": gaps["z"], "disagrees": gaps["disagrees"]})
    out.index.name = "agent_id"
    return out


#: The study, declared once: the runner, the notebook test and `upstream studies` read it from here.
STUDY = StudyDeclaration(
    name=NAME, title=TITLE, group=GROUP, parameters=SentimentParameters, run=run, page=display.page,
    tables=("sentiment_validation", "sentiment_by_score", "agent_sentiment", "sentiment_models"))
