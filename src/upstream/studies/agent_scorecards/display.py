"""Display tables of the agent_scorecards study."""
from __future__ import annotations

from ...analysis.scorecards import display_scorecards
from ...reporting.display.pages import agent_labels


def page(r):
    """The tables this study's page shows, in page order: (name, caption, frame, source CSV, undefined note)."""
    card = r.tables["scorecards"]
    yield ("scorecards", f"Agent scorecards (reliability threshold {r.parameters.reliability_threshold:g})",
           display_scorecards(card, agent_labels(r, card)), "scorecards", "no NPS reply or no interval")

