"""The agent page's trend over the period, from tables/agent_monthly_effects.csv (the agent's effect month by
month against the average agent that month, with 95% intervals) and tables/agent_trend.csv (the slope over the
months, its interval and the Holm-adjusted test across the agents): a small chart, the months' numbers and one
sentence saying whether the change can be told apart from noise (``analysis.agent_trend`` says how)."""
from __future__ import annotations

import math

from . import svg

#: Replies a month needs to count (analysis.agent_trend.MIN_MONTH_REPLIES; this page reads only the tables).
MIN_MONTH_REPLIES = 5


def _p(value: float) -> str:
    """'p < 0.001', 'p = 0.012', 'p = 0.35'."""
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}" if value < 0.1 else f"p = {value:.2f}"


def trend_sentence(test: dict, rule) -> str:
    """Whether the agent's effect moved over the months, in words, with the slope's interval and p-values."""
    slope, lower, upper = (float(test[k]) for k in ("slope", "slope_lower", "slope_upper"))
    per_month = f"{rule.unit} a month"
    interval = f"95% interval {rule.effect(lower)} to {rule.effect(upper)}"
    p_value, p_holm = _p(float(test["p_value"])), _p(float(test["p_holm"]))
    if str(test["changed"]).strip().lower() == "true":
        direction = "rose" if slope > 0 else "fell"
        return (f"From {test['first_month']} to {test['last_month']} your effect {direction} by about "
                f"{rule.effect(abs(slope)).lstrip('+')} {per_month} ({interval}): more than chance alone gives "
                f"({p_value}; adjusted for testing every agent, {p_holm}).")
    return (f"From {test['first_month']} to {test['last_month']} your effect moved by {rule.effect(slope)} "
            f"{per_month} ({interval}; {p_value}; adjusted for testing every agent, {p_holm}): not "
            "distinguishable from noise, so this page reads no change into it.")


#: Where the run shares credit, the months still credit each rating to one agent (analysis.agent_trend fits the
#: rating-time model): the page says so under the months.
RATING_TIME_NOTE = ("The months credit each rating to the agent assigned when the customer rated, not shared by each "
                    "agent's part of the work as the estimate at the top is: a month can hold ratings of work others "
                    "did on contacts you shared, and miss ratings of your part of theirs.")


def trend_section(monthly: list[dict] | None, tests: list[dict] | None, rule, min_replies: int = MIN_MONTH_REPLIES,
                  shared_credit: bool = False) -> dict:
    """{available, rows (month, n_responses, effect, lower, upper as in the CSV), chart, sentence, attribution
    (RATING_TIME_NOTE where the run shares credit, else empty)} from the agent's rows of agent_monthly_effects.csv
    (None: the run has no such table) and of agent_trend.csv."""
    if monthly is None:
        return {"available": False, "rows": [], "chart": None,
                "sentence": "This run has no estimate per agent and month (only the linear agent model fitted on the "
                            "replies gives one)."}
    rows = [{k: month[k] for k in ("month", "n_responses", "effect", "lower", "upper")} for month in monthly]
    test = tests or []
    if not test:
        return {"available": False, "rows": rows, "chart": None,
                "sentence": f"Too few replies to follow a trend: a month counts with at least {min_replies} replies, "
                            f"and a trend needs two such months ({'one' if len(rows) == 1 else 'none'} here)."}
    k = rule.unit_scale
    chart = svg.monthly_chart([(str(r["month"]), k * float(r["effect"]), k * float(r["lower"]),
                                k * float(r["upper"])) for r in rows if math.isfinite(float(r["effect"]))],
                              k * (rule.margin or 0.0),
                              "Your effect month by month against the average agent that month, with 95% intervals")
    return {"available": True, "rows": rows, "chart": chart, "sentence": trend_sentence(test[0], rule),
            "test": test[0], "attribution": RATING_TIME_NOTE if shared_credit else ""}
