"""Key findings of the comment_sentiment study: how many replies carry a comment, whether the sentiment scorer
separates dissatisfied customers well enough to be used (the gate), how much agents move sentiment, and where
agents' sentiment and CSAT effects disagree. Each sentence is computed from the study's tables."""
from __future__ import annotations

import pandas as pd

from ...analysis.sentiment import AgentVariance, Disagreement, SentimentValidation
from ...reporting.sentences.common import p_text, pct, pct_interval


def comment_coverage_sentence(n_comments: int, n_replies: int) -> str:
    """How many CSAT replies carry a comment (a census of the replies: no interval)."""
    share = n_comments / n_replies if n_replies else 0.0
    return (f"{n_comments:,} of {n_replies:,} CSAT replies ({pct(share)}) carry a comment; everything below rests on "
            "those, and customers who write may differ from those who do not.")


def validation_sentence(validation: SentimentValidation) -> str:
    """The AUC for dissatisfied customers with its DeLong interval against the bar, and the NPS-detractor
    AUC for comparison; says whether sentiment is used as an outcome."""
    gate = validation.table.loc[validation.gate]
    bar, name, validation = validation.bar, validation.gate, validation.table
    if pd.isna(gate["auc"]):
        return (f"Too few comments to validate the sentiment scorer ({int(gate['n_positive'])} from dissatisfied "
                f"customers, {int(gate['n_negative'])} from the others; at least two of each are needed), so sentiment "
                "is not used as an outcome in this study.")
    text = (f"VADER's compound sentiment separates dissatisfied customers ({name}) from the rest "
            f"with an AUC of "
            f"{gate['auc']:.3f} (95% DeLong interval {gate['lower']:.3f}–{gate['upper']:.3f}) on "
            f"{int(gate['n_positive'] + gate['n_negative']):,} comments")
    if "NPS 0–6" in validation.index and pd.notna(validation.loc["NPS 0–6", "auc"]):
        n = validation.loc["NPS 0–6"]
        text += f" (NPS detractors, 0–6: {n['auc']:.3f}, {n['lower']:.3f}–{n['upper']:.3f})"
    if gate["passes"]:
        return text + f"; the lower end clears the bar of {bar:.2f}, so sentiment is used as a second outcome below."
    return (text + f"; the lower end does not clear the bar of {bar:.2f}, so sentiment is not used as an outcome in "
            "this study.")


def sentiment_agent_sentence(test: AgentVariance) -> str:
    """The agent share of the variation in sentiment with its profile interval and LR test."""
    share = f"{pct(test.icc)} (95% profile interval {pct_interval(test.icc_lower, test.icc_upper)})"
    if test.p_value < 0.05:
        return (f"With the contact mix held fixed, agents account for {share} of the variation in comment sentiment "
                f"(agent SD {test.agent_sd:.3f} on the −1 to 1 scale; likelihood-ratio p {p_text(test.p_value)}"
                ").")
    return (f"Comment sentiment shows no detectable differences between agents once the contact mix is held fixed "
            f"(agent share {share}; likelihood-ratio p = {p_text(test.p_value)}).")


def disagreement_sentence(info: Disagreement) -> str:
    """Whether any agent's customers write more warmly or harshly than they score, beyond chance."""
    test, table = info.test, info.table
    n = len(table)
    share = f"{pct(test.icc)}, 95% profile interval {pct_interval(test.icc_lower, test.icc_upper)}"
    if not test.p_value < 0.05:
        return (f"Agents' sentiment and CSAT effects agree: on the same comment replies, the part of sentiment that "
                f"the score does not explain shows no detectable agent-to-agent variation (agent share {share}; "
                f"likelihood-ratio p = {p_text(test.p_value)}), so none of the {n} agents with at least "
                f"{info.min_comments} comments can be said to have customers who write more warmly or harshly than "
                "they score.")
    warm = int((table["disagrees"] & (table["z"] > 0)).sum())
    harsh = int((table["disagrees"] & (table["z"] < 0)).sum())
    head = (f"The part of sentiment that the score does not explain varies between agents (agent share {share}; "
            f"likelihood-ratio p {p_text(test.p_value)})")
    if warm + harsh == 0:
        return head + (f", but no single agent of the {n} with at least {info.min_comments} comments stands out "
                       f"beyond the Bonferroni bound (|z| > {info.z_threshold:.2f}).")
    return head + (f": of {n} agents with at least {info.min_comments} comments, {harsh} "
                   f"{'has' if harsh == 1 else 'have'} customers who write "
                   f"more harshly and {warm} more warmly than they score (|z| > {info.z_threshold:.2f}, Bonferroni "
                   "over the agents) — worth a look at their comments, not a verdict.")


def too_few_comments_sentence(comments: int, agents: int) -> str:
    """Why sentiment passed its check but agents are not compared on it: the model of sentiment by agent
    needs at least two agents and more comments than agents (a variance between agents and one within)."""
    return (f"The {comments:,} comment{'s' if comments != 1 else ''} come from {agents:,} agent"
            f"{'s' if agents != 1 else ''}: too few to tell agents' effects on sentiment apart from comment-to-"
            "comment variation (that needs at least two agents and more comments than agents), so agents are not "
            "compared on sentiment.")
