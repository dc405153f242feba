"""Self-reported resolution against what customers did: the agent's first-contact-resolution code
(`resolved_first_contact`) against resolution measured as no repeat contact within 7 days.

The two disagree in two ways: *over-claimed* — marked resolved but the customer came back within 7
days — and *under-claimed* — marked unresolved but the customer did not come back (some customers
give up or solve it themselves, so this one is not necessarily an error).

`resolution_agreement` gives the overall shares and, per agent, the disagreement and over-claim
shares with Jeffreys intervals (Brown, Cai & DasGupta 2001; few contacts per agent need them).
`overclaim_screen` compares each agent's over-claim share with what the agent's own contacts predict
(a logistic model of "came back although marked resolved" on the contact mix and escalation), allowing
for ordinary between-agent variation (a robust additive over-dispersion, as in the survey screen,
``screen.rate_test``): z > z_crit flags an agent whose resolution codes deserve a look.
"""
from __future__ import annotations

import pandas as pd

from ..data.frames import CONTACT_MIX
from ..survey import jeffreys_interval
from ..survey.constants import AGENT
from .results import AnalysisResult, result
from .screen import expected_probabilities, rate_test


def _with_interval(k: pd.Series, n: pd.Series, prefix: str, level: float) -> pd.DataFrame:
    lo, hi = jeffreys_interval(k.to_numpy(), n.to_numpy(), level)
    return pd.DataFrame({f"{prefix}_rate": k / n.where(n > 0), f"{prefix}_lower": lo, f"{prefix}_upper": hi},
                        index=k.index)


def resolution_agreement(frame: pd.DataFrame, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(overall, by_agent) from ``speed.metric_frame`` rows.

    overall (one row per kind: disagree, over-claimed, under-claimed): share of all contacts with its
    Jeffreys interval, and the count. by_agent: contacts, marked_resolved (the agent's own FCR rate),
    measured_resolved (no repeat within 7 days), disagree_rate/lower/upper (share of the agent's contacts
    where the two disagree), overclaim_rate/lower/upper (share of the contacts the agent marked resolved
    that came back). Contacts with either column empty are left out."""
    frame = frame.dropna(subset=["marked_resolved", "came_back"])
    marked = frame["marked_resolved"].astype(bool)
    back = frame["came_back"].astype(bool)
    over = marked & back
    ids = frame[AGENT].astype(str)
    parts = pd.DataFrame({"n": 1, "marked": marked, "back": back, "disagree": over | (~marked & ~back), "over": over})
    return agreement_from_counts(parts.groupby(ids.to_numpy()).sum(), level)


def agreement_from_counts(s: pd.DataFrame, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``resolution_agreement`` from per-agent counts (index: agent id): n contacts with both codes, marked
    resolved, back (came back), disagree, over (marked resolved and came back)."""
    n = int(s["n"].sum())
    kinds = {"disagree": s["disagree"], "over-claimed (marked resolved, came back)": s["over"],
             "under-claimed (marked unresolved, did not come back)": s["disagree"] - s["over"]}
    counts = pd.Series({k: int(v.sum()) for k, v in kinds.items()})
    overall = _with_interval(counts, pd.Series(n, index=counts.index), "share", level).rename(
        columns={"share_rate": "share", "share_lower": "lower", "share_upper": "upper"})
    overall.insert(0, "contacts", counts)
    overall.index.name = "kind"
    by_agent = pd.DataFrame({"contacts": s["n"], "marked_resolved": s["marked"] / s["n"],
                             "measured_resolved": 1 - s["back"] / s["n"]})
    by_agent = by_agent.join(_with_interval(s["disagree"], s["n"], "disagree", level))
    by_agent = by_agent.join(_with_interval(s["over"], s["marked"], "overclaim", level))
    by_agent.index.name = AGENT
    return overall, by_agent


@result
class OverclaimScreen(AnalysisResult):
    """Over-claim screen: contacts marked resolved that came back, against each agent's expected share."""

    table: pd.DataFrame     # per agent: marked, overclaimed, rate, expected_rate, z, flag
    z: float                # the one-sided threshold of `flag`
    tau2: float             # the ordinary between-agent variance allowed for (logit scale)


def overclaim_screen(frame: pd.DataFrame, z: float = 3.09, mix=CONTACT_MIX) -> OverclaimScreen:
    """Per agent with contacts marked resolved: marked (n), overclaimed (O), rate, expected_rate, z and
    `flag` (z > `z`); with τ² (the ordinary between-agent variance allowed for) and z."""
    frame = frame.dropna(subset=["marked_resolved", "came_back"])
    marked = frame[frame["marked_resolved"].astype(bool)]
    features = [m for m in (*mix, "escalated") if m in marked]
    p = expected_probabilities(marked, "came_back", features)
    ids = marked[AGENT].astype(str).to_numpy()
    g = pd.DataFrame({"o": marked["came_back"].astype(float).to_numpy(), "e": p, "v": p * (1 - p), "n": 1.0},
                     index=marked.index).groupby(ids).sum()
    return screen_from_sums(g, z)


def screen_from_sums(g: pd.DataFrame, z: float = 3.09) -> OverclaimScreen:
    """``overclaim_screen`` from per-agent sums over the contacts marked resolved (index: agent id): n, o (came
    back), e = Σp̂ and v = Σp̂(1 − p̂) of the expected probabilities."""
    test = rate_test(g["o"], g["n"], g["e"], g["v"])
    out = pd.DataFrame({"marked": g["n"].astype(int), "overclaimed": g["o"].astype(int)}).join(test.table)
    out["flag"] = out["z"] > z
    out.index.name = AGENT
    return OverclaimScreen(out, z=z, tau2=test.tau2)
