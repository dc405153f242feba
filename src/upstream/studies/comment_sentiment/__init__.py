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

With DuckDB or Spark the comment replies are streamed in batches, redacted and scored as above, and only counts
per sentiment value × score and per-agent sums are kept (``analysis.sentiment_sums``): the same tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from ...analysis import sentiment, sentiment_sums
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


@dataclass(frozen=True)
class ScoredComments:
    """The scored comment replies as the study uses them, from the rows (pandas) or from sums (SQL engines):
    the validation, the table by score, the counts, and how to fit the two agent models and draw the figure."""

    validation: sentiment.SentimentValidation
    by_score: pd.DataFrame
    n_comments: int
    n_replies: int
    n_agents: int
    models: Callable        # () -> (AgentSentiment, Disagreement)
    figure: Callable        # title -> figure of sentiment by score


def scored_comments(ds, params: SentimentParameters, cache: RunCache) -> ScoredComments:
    """Score the comment replies: in pandas from the rows; in DuckDB or Spark streamed in batches, keeping only
    the sums (``analysis.sentiment_sums``)."""
    scale = steps.csat_scale(ds)
    if steps.in_sql(ds):
        sums = cache.get("comment_sums", lambda: sentiment_sums.comment_sums(ds, CONTACT_MIX, redact_comment),
                         data=ds.fingerprint, engine=ds.engine.name)
        validation = sentiment_sums.validate_from_counts(sums.counts, params.auc_bar, scale=scale,
                                                         nps=steps.nps_recorded(ds))
        return ScoredComments(validation, sentiment_sums.by_score_from_counts(sums.counts), sums.n_comments,
                              sums.n_replies, len(sums.agents),
                              lambda: steps.quietly(lambda: sentiment_sums.agent_models(sums,
                                                                                        params.min_agent_comments)),
                              lambda title: plots.sentiment_by_score_counts(sums.counts, title))
    replies, n_replies = commented_replies(ds)
    validation = sentiment.validate(replies, params.auc_bar, scale=scale, nps=steps.nps_recorded(ds))

    def models():
        level = steps.quietly(lambda: sentiment.agent_sentiment(replies, CONTACT_MIX))
        return level, steps.quietly(lambda: sentiment.disagreement(replies, CONTACT_MIX,
                                                                   min_comments=params.min_agent_comments))
    return ScoredComments(validation, sentiment.by_score(replies), len(replies), n_replies,
                          int(replies["agent_id"].nunique()), models,
                          lambda title: plots.sentiment_by_score(replies, title))


def run(ds, params: SentimentParameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The comment_sentiment study on a validated data set."""
    params = params if isinstance(params, SentimentParameters) else SentimentParameters.from_mapping(params)
    cache = cache or RunCache()
    scored = scored_comments(ds, params, cache)
    validation, n_comments = scored.validation, scored.n_comments
    used = validation.passes
    findings = [say.comment_coverage_sentence(n_comments, scored.n_replies), say.validation_sentence(validation)]
    tables = {"sentiment_validation": validation.table, "sentiment_by_score": scored.by_score}
    fits, figures, models = {}, {}, {}
    if used and not 2 <= scored.n_agents < n_comments:
        findings.append(say.too_few_comments_sentence(n_comments, scored.n_agents))
        used = False
    if used:
        model = steps.agent_model(ds, params, cache)
        level, disagree = scored.models()
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
              if not (label == "Sentiment-given-score model" and "(a boundary fit)" in line)]  # a zero is the answer
    gate = validation.table.loc[validation.gate]
    if n_comments and pd.notna(gate["auc"]):
        figures["by_score"] = scored.figure(f"Comment sentiment separates dissatisfied customers: AUC "
                                            f"{gate['auc']:.2f} for {validation.gate}")
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         findings=findings + health, health=health, fits=fits)
    result.tables, result.figures = tables, figures
    result.values = SentimentValues(validation=validation, used=used, n_comments=n_comments,
                                    n_replies=scored.n_replies, **models)
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
    tables=("sentiment_validation", "sentiment_by_score", "agent_sentiment", "sentiment_models"),
    engines=("pandas", "duckdb", "spark"))
