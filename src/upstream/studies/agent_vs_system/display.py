"""Display tables of the agent_vs_system study. Columns are built on the table's own index and relabelled
last (`with_agent_labels`): a Series put into a frame with a new index is re-aligned to it, and empties."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...reporting.display.common import format_p, interval, with_agent_labels
from ...reporting.display.pages import agent_labels, variance_components


def shares_table(shares: pd.DataFrame) -> pd.DataFrame:
    """Variance shares in % with their intervals and the joint Wald p."""
    part = shares.drop(index="total variance", errors="ignore")
    out = pd.DataFrame({"share (%)": (100 * part["share"]).round(1),
                        "95% interval (%)": interval(part["lower"], part["upper"], ".1f", 100),
                        "p (no effect)": part["p_value"].map(format_p)}, index=part.index)
    out.index = pd.Index([str(i).replace("_", " ") for i in part.index], name="component")
    return out


def policy_display(policy: pd.DataFrame) -> pd.DataFrame:
    """Policy effects: replies, effect, 95% and family-wise intervals, Holm p, agent variation p, and the
    75th-percentile agent's score under each policy with the numbers its finding uses."""
    missing = pd.Series(np.nan, index=policy.index)
    out = pd.DataFrame({
        "contacts": policy["n_contacts"], "replies": policy["n_responses"], "effect": policy["effect"].round(2),
        "95% CI": interval(policy["lower"], policy["upper"]),
        "family-wise 95% CI": interval(policy["lower_adj"], policy["upper_adj"]),
        "p (Holm)": policy["p_holm"].map(format_p),
        "varies by agent (p)": policy.get("agent_variation_p", missing).map(format_p),
        "top quarter of agents": policy.get("top_quarter", missing).round(2),
        "top quarter, family-wise upper bound": policy.get("top_quarter_upper_adj", missing).round(2),
        "agents' SD under it": policy.get("top_quarter_agent_sd", missing).round(2)},
        index=policy.index)
    return out


def verdict_counts(effects: pd.DataFrame) -> pd.DataFrame:
    """Agents by verdict."""
    return effects["verdict"].value_counts().rename_axis("verdict").to_frame("agents")


def rank_movers(effects: pd.DataFrame, labels: pd.Series, n: int = 12) -> pd.DataFrame:
    """The rankable agents whose rank moves most once contact mix is accounted for."""
    movers = effects[effects["raw_rank"].notna()].copy()
    movers["change"] = (movers["raw_rank"] - movers["adjusted_rank"]).astype(float)
    movers = movers.reindex(movers["change"].abs().sort_values(ascending=False, kind="stable").index).head(n)
    out = pd.DataFrame({"replies": movers["n_responses"], "raw score": movers["raw_score"].round(2),
                        "adjusted score": movers["adjusted_score"].round(2),
                        "raw rank": movers["raw_rank"].astype(float),
                        "adjusted rank": movers["adjusted_rank"].astype(float),
                        "rank interval": [f"{a:.0f}–{b:.0f}" if pd.notna(a) and pd.notna(b) else None
                                          for a, b in zip(movers["rank_lower"], movers["rank_upper"])],
                        "P(bottom 10%)": movers["p_bottom_decile"].round(2)}, index=movers.index)
    return with_agent_labels(out, labels)


def flagged_agents(screen: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Agents whose survey process is under review, with the evidence."""
    f = screen[screen["flagged"]]
    out = pd.DataFrame({"contacts": f["contacts"], "invitation rate": f["invitation_rate"].round(3),
                        "expected": f["expected_invitation_rate"].round(3),
                        "z (invitations)": f["z_invitation"].round(1),
                        "z (after adverse contacts)": f["z_invitation_adverse"].round(1),
                        "response rate": f["response_rate"].round(3),
                        "expected ": f["expected_response_rate"].round(3), "z (replies)": f["z_response"].round(1)},
                       index=f.index)
    return with_agent_labels(out, labels)


def page(r):
    """The tables this study's page shows, in page order: (name, caption, frame, source CSV, undefined note)."""
    p, t = r.parameters, r.tables
    yield ("variance_shares", "Share of the variation in CSAT with 95% intervals; p: joint Wald test that the "
           "variable has no effect", shares_table(t["variance_shares"]), "variance_shares",
           "no test (the agents' share is tested by the verdicts; the total has no test)")
    if len(t["policy_effects"]):
        yield ("policy_effects", "Policy effects on CSAT (points) against the average contact: 95% CI (Satterthwaite "
               "df), family-wise 95% CI (Bonferroni), Holm-adjusted p", policy_display(t["policy_effects"]),
               "policy_effects", "not tested for this policy (too few replies or agents)")
    effects, screen = t["agent_effects"], t["survey_screen"]
    yield ("verdict_counts", f"Agents by verdict (reliability threshold {p.reliability_threshold:g}, false sign rate "
           f"at most {p.max_false_sign:.0%})", verdict_counts(effects), "agent_effects", None)
    if screen["flagged"].any():
        yield ("survey_screen", "Survey process under review: invitation or response rate implausible against the "
               "agent's own expected rate", flagged_agents(screen, agent_labels(r, screen)), "survey_screen",
               "no reply to compare")
    yield ("rank_shift", "Largest rank changes (1 = best); rank interval and P(bottom 10%) from the bootstrap",
           rank_movers(effects, agent_labels(r, effects)), "agent_effects", "not estimable")
    yield from variance_components(r)

