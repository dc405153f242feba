"""Readable versions of the studies' tables for the leadership pages (rounded, percentages, intervals
as text, p-values formatted, agent ids replaced by labels): pure functions, one module per study, and
`pages.page_tables(result)`: every table a study's page shows (what `StudyView.show` displays), each cell
the number of a published tables/*.csv, a dash with a note where a value is undefined."""
from . import metric_health, qa_sample, trends
from .agents import flagged_agents, policy_display, rank_movers, shares_table, verdict_counts
from .channels import channel_table, differences_display, response_display
from .common import DASH, format_p, interval, readable
from .friction import dose_display, policy_outcomes_display, words_display

__all__ = ["interval", "format_p", "shares_table", "policy_display", "verdict_counts", "rank_movers", "flagged_agents",
           "channel_table", "differences_display", "response_display", "policy_outcomes_display", "words_display",
           "dose_display", "metric_health", "trends", "qa_sample", "DASH", "readable"]
