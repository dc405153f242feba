"""Display tables of the qa_sample study."""
from __future__ import annotations

import pandas as pd

from ...reporting.display.pages import agent_labels


def plan_display(plan: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """The agents who get reviews: replies, reliability now and after, reviews, reason."""
    p = plan[plan["reviews"] > 0]
    out = pd.DataFrame({"replies": p["n_replies"], "reliability now": p["reliability"].round(2),
                        "reviews": p["reviews"], "reliability after": p["reliability_after"].round(2),
                        "gain": p["gain"].round(2), "reason": p["reason"]}, index=p.index)
    out.index = pd.Index(labels.reindex(p.index.astype(str)).to_numpy(), name="agent")
    return out


def sample_display(sample: pd.DataFrame, labels: pd.Series, n: int = 20) -> pd.DataFrame:
    """The first contacts of the sample (the full list is tables/qa_sample.csv)."""
    s = sample.head(n)
    out = pd.DataFrame({"agent": labels.reindex(s["agent_id"].astype(str)).to_numpy(),
                        "opened": pd.to_datetime(s["opened_at"]).dt.strftime("%Y-%m-%d"), "channel": s["channel"],
                        "policy": s["policy"], "issue type": s["issue_type"]}, index=s.index)
    out.index = pd.Index(s["contact_id"].to_numpy(), name="contact")
    return out


def page(r):
    """The tables this study's page shows, in page order: (name, caption, frame, source CSV, undefined note)."""
    t = r.tables
    plan, sample = t["qa_plan"], t["qa_sample"]
    yield ("qa_plan", "Agents in the plan: reviews, reliability now and after, and why",
           plan_display(plan, agent_labels(r, plan)), "qa_plan", None)
    if len(sample):
        yield ("qa_sample", "The first contacts of the sample",
               sample_display(sample, r.labels(sample["agent_id"].unique())), "qa_sample", None)

