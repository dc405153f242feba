"""What a valid data set cannot support: the checks the runner makes after validation and before any
model, so that data which pass every rule but leave nothing to estimate (no CSAT reply, one agent,
one score) stop with a sentence saying what cannot be estimated and why — not with a model's error
in the middle of a notebook.

Data that are thin but usable (one policy, one channel, one day) pass: the studies say what they
cannot compare (e.g. "This data set does not record which policy governed a contact").
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class ReplySummary:
    """The CSAT replies in a data set: how many, from how many agents, the lowest and highest score,
    and (when one agent holds them all) that agent."""

    replies: int
    agents: int
    lowest: float | None
    highest: float | None
    only_agent: str | None = None


def reply_summary(ds) -> ReplySummary:
    """ReplySummary of a pandas data set, or of a DuckDB/Spark one (one aggregate query)."""
    if hasattr(ds, "engine") and hasattr(ds, "n_rows"):
        i = ds.engine.dialect.ident
        (n, k, lo, hi, one), = ds.engine.rows(
            f"SELECT count(*), count(DISTINCT c.{i('agent_id')}), min(s.{i('csat')}), max(s.{i('csat')}), "
            f"min(c.{i('agent_id')}) FROM surveys s JOIN contacts c ON s.{i('contact_id')} = c.{i('contact_id')} "
            f"WHERE s.{i('csat')} IS NOT NULL")
        return ReplySummary(int(n), int(k), lo, hi, str(one) if int(k) == 1 else None)
    scored = ds.surveys.loc[ds.surveys["csat"].notna(), ["contact_id", "csat"]]
    agents = scored.merge(ds.contacts[["contact_id", "agent_id"]], on="contact_id", how="left")["agent_id"]
    distinct = pd.unique(agents.dropna().astype(str))
    return ReplySummary(len(scored), len(distinct), scored["csat"].min() if len(scored) else None,
                        scored["csat"].max() if len(scored) else None, distinct[0] if len(distinct) == 1 else None)


def _score(value) -> str:
    return f"{float(value):g}"


def estimability_problems(ds) -> list[str]:
    """Sentences, one per reason, for what no study can estimate from `ds`; empty when the data support
    the studies. Every study models CSAT replies (agent effects, variance shares, policy, channel and
    trend effects), so each reason stops the run."""
    s = reply_summary(ds)
    if s.replies == 0:
        return ["No survey reply carries a CSAT score, so there is nothing to estimate: agent effects, verdicts, "
                "variance shares and policy, channel and trend effects on CSAT all need replies."]
    problems = []
    if s.agents < 2:
        problems.append(f"All {s.replies:,} CSAT replies belong to one agent ({s.only_agent}): agents cannot be "
                        "compared with each other, so agent effects, verdicts and the agents' share of the "
                        "variation cannot be estimated.")
    if s.lowest == s.highest:
        problems.append(f"Every one of the {s.replies:,} CSAT replies is {_score(s.lowest)}: with no variation in "
                        "CSAT there is nothing to attribute to agents, policies or channels.")
    return problems
