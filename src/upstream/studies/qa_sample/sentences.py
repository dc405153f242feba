"""Key findings of the qa_sample study: what the plan buys in reliability, the priority given to agents
under survey review, where the rest of the reviews go, and how the contacts were drawn."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...analysis.qa import ReviewPlan


def replies(n: float) -> str:
    """'1 reply', '2.5 replies'."""
    text = f"{n:.1f}".removesuffix(".0")
    return f"{text} {'reply' if text == '1' else 'replies'}"


def before_after(before: float, after: float) -> tuple[str, str]:
    """The two numbers with 2 decimals, or as many more (up to 4) as it takes for a change to show:
    ('0.79', '0.80'), ('0.7912', '0.7941') where 2 would read '0.79 to 0.79'."""
    for digits in (2, 3, 4):
        a, b = f"{before:.{digits}f}", f"{after:.{digits}f}"
        if a != b:
            break
    return a, b


def plan_sentence(plan: ReviewPlan) -> str:
    """Reviews placed, agents reviewed, and the expected gain in reliability (mean and threshold count)."""
    a = plan
    k = int((plan.table["reviews"] > 0).sum())
    if a.tau2 <= 0:
        return ("The agent model finds no detectable difference between agents in these data (the agents' SD is "
                "estimated at 0), so no review can sharpen an agent's estimate and the reliability rule places "
                f"none of the {a.budget} reviews; only reviews of agents under survey review are planned "
                f"({a.used}).")
    placed = (f"All {a.budget} reviews" if a.used == a.budget else
              f"Only {a.used} of the {a.budget} reviews could be placed (the agents have no more contacts "
              "without a survey reply), and they")
    before, after = before_after(a.mean_reliability_before, a.mean_reliability_after)
    mean = (f"from {before} to {after}" if before != after else    # 200 reviews among 20,000 agents: < 0.0001
            f"by less than 0.0001 (from {before})")
    reach = (f"from {a.reach_before:,} to {a.reach_after:,}" if a.reach_after != a.reach_before
             else f"would stay at {a.reach_before:,}")
    return (f"{placed} go to {k:,} of the {len(plan.table):,} agents with contacts and would raise the mean "
            f"reliability of the agents' estimates {mean}; the number of agents at or above the "
            f"{a.reliability_threshold:g} reliability threshold (agents under survey review included) {reach} — "
            "expected gains if a review measures an agent as well as a survey reply does.")


def priority_sentence(plan: ReviewPlan) -> str:
    """The agents under survey review and the reviews reserved for them."""
    flagged = plan.table[plan.table["survey_flag"]]
    p = plan.priority_reviews
    if flagged.empty:
        return "No agent's survey process is under review, so no reviews are reserved."
    if p == 0:
        who = "agent is" if len(flagged) == 1 else "agents are"
        return (f"{len(flagged)} {who} under review for their survey process; this plan reserves no reviews for them "
                "(priority_reviews = 0).")
    first = int(flagged["priority_reviews"].sum())
    extra = int(flagged["reviews"].sum()) - first
    more = f", and {extra} more where the variance rule puts them" if extra else ""
    unserved = flagged[flagged["priority_reviews"] == 0]
    if len(unserved) and (unserved["eligible"] > 0).any():            # the budget ran out before them
        return (f"The budget reaches {len(flagged) - len(unserved):,} of the {len(flagged):,} agents whose survey "
                f"process is under review, the least reliable estimates first ({first:,} reviews, up to {p} each"
                f"{more}); the other {len(unserved):,} get none (a budget of {len(flagged) * p:,} would give each "
                f"{p}). Their survey scores may be steered, so an independent review is the check they need.")
    who = ("The agent whose survey process is under review gets" if len(flagged) == 1 else
           f"The {len(flagged)} agents whose survey process is under review get")
    return (f"{who} {first} reviews before anyone else (up to {p} each){more}, whatever their reliability: their "
            "survey scores may be steered, so an independent review is the check they need.")


def allocation_sentence(plan: ReviewPlan) -> str:
    """Where the other reviews go: agents with few replies first (medians in and out of the plan)."""
    plan = plan.table
    chosen = plan[(plan["reviews"] - plan["priority_reviews"]) > 0]
    if chosen.empty:
        return ""
    none = chosen[chosen["n_replies"] == 0]
    n_other = int((chosen["reviews"] - chosen["priority_reviews"]).sum())
    text = (f"The other {n_other} reviews go where they reduce the posterior variance of agent "
            f"effects most, agents with few replies first: the {len(chosen)} agents chosen have a median of "
            f"{replies(np.median(chosen['n_replies']))} (median reliability {chosen['reliability'].median():.2f}) "
            f"against {replies(np.median(plan['n_replies']))} ({plan['reliability'].median():.2f}) over all agents")
    if len(none):
        who = "1 agent with no survey reply at all gets" if len(none) == 1 else \
            f"{len(none)} agents with no survey reply at all get"
        text += f"; {who} {int(none['reviews'].sum())}"
    return text + "."


def sample_sentence(sample: pd.DataFrame, plan: ReviewPlan, seed: int) -> str:
    if sample.empty:
        return "No contacts are drawn for review."
    return (f"The {len(sample)} contacts to review are drawn at random within each agent from the contacts without a "
            f"CSAT reply (seed {seed}; the same seed gives the same sample); tables/qa_sample.csv lists them with the "
            "reason each agent was chosen.")


def plan_title(plan: ReviewPlan) -> str:
    """The reliability figure's title: the mean before and after, with the digits ``before_after`` gives."""
    before, after = before_after(plan.mean_reliability_before, plan.mean_reliability_after)
    if before == after:
        return f"{plan.used:,} reviews raise mean reliability by less than 0.0001 (from {before})"
    return f"{plan.used:,} reviews raise mean reliability from {before} to {after}"
