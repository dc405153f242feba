"""Display tables of the comment_sentiment study."""
from __future__ import annotations

from ...reporting.display.common import with_agent_labels
from ...reporting.display.pages import agent_labels


def page(r):
    """The tables this study's page shows, in page order: (name, caption, frame, source CSV, undefined note)."""
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
               "its SE)", with_agent_labels(shown.round(3), agent_labels(r, shown)), "agent_sentiment", "not estimable")

