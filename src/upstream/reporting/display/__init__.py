"""Readable versions of the studies' tables for the leadership pages (rounded, percentages, intervals
as text, p-values formatted, agent ids replaced by labels): pure functions, one module per study."""
from .agents import flagged_agents, policy_display, rank_movers, shares_table, verdict_counts
from .common import format_p, interval
from . import metric_health, qa_sample, trends

__all__ = ["interval", "format_p", "shares_table", "policy_display", "verdict_counts", "rank_movers", "flagged_agents",
           "metric_health", "trends", "qa_sample"]
