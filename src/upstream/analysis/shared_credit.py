"""Shared credit: the agent model when several agents worked on a contact (the `contact_agents` table).

Rating-time attribution gives a contact's whole rating to one agent. With shared credit the agent
term is a multiple-membership random intercept,

    csat ~ policy + product + channel + issue_type + (1 | mm(agent_id)),

in which a contact's rating carries Σ_g w_g·b_g over the agents g who worked on it, with the
weights of `contact_agents` (they sum to 1 per contact; a rated contact missing from the table
keeps its rating-time agent with weight 1). Everything downstream — effects, intervals, verdicts
(``agents.agent_effects``) — reads the fit as it reads the rating-time model's. The agent effects'
draws come from the conditional distribution with the variance components drawn from their
likelihood (``upstream.models.random_intercept_draws``, as for the crossed rating-time model): a
parametric bootstrap of the multiple-membership model refits the general engine each time (0.4 s a
refit on the small preset's 1,600 replies against 0.006 s for the one-factor model's grouped refits).

`verdict_changes` compares the two attributions agent by agent: who changes verdict, and who gains
(a higher effect under shared credit).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.frames import CONTACT_MIX, isin_text
from ..data.model_formula import model_formula, present_mix
from ..models import lmer, random_intercept_draws
from ..survey.constants import AGENT
from .agents import MIN_REPEAT_CUSTOMERS, AgentModel, average_contact_prediction, repeat_customers
from .results import AnalysisResult, result

#: The shared-credit agent term: a multiple-membership random intercept over the agents of a contact.
SHARED_AGENT = f"mm({AGENT})"


@dataclass
class SharedAgentModel(AgentModel):
    """The agent model with shared credit (`fit`: the mm() model; where customers repeat, `crossed` and
    `fit` are both the model with the customer term); `boot` is None and the effect draws are
    conditional (`n_draws` of them, seeded)."""

    n_draws: int = 1000

    @property
    def draws_method(self) -> str:
        return "conditional, variance components drawn"

    def effect_draws(self) -> pd.DataFrame:
        return random_intercept_draws(self.judged_by, self.agent, self.n_draws, self.seed)


def membership_table(frame: pd.DataFrame, contact_agents: pd.DataFrame) -> pd.DataFrame:
    """The `contact_agents` rows of the replies in `frame` (contact_id, agent_id, weight); a reply whose
    contact the table does not list keeps its rating-time agent with weight 1."""
    rated = frame["contact_id"].astype(str)
    table = contact_agents[isin_text(contact_agents["contact_id"], rated)]
    table = pd.DataFrame({"contact_id": table["contact_id"].astype(str), "agent_id": table["agent_id"].astype(str),
                          "weight": table["weight"].astype(float)})
    listed = isin_text(rated, table["contact_id"])
    alone = pd.DataFrame({"contact_id": rated[~listed], "agent_id": frame.loc[~listed, AGENT].astype(str),
                          "weight": 1.0})
    return pd.concat([table, alone], ignore_index=True)


def fit_shared_agent_model(frame: pd.DataFrame, contact_agents: pd.DataFrame, outcome: str = "csat",
                           mix=CONTACT_MIX, n_draws: int = 1000, seed: int = 2026,
                           population: pd.DataFrame | None = None,
                           customer: str | None = "customer_id") -> SharedAgentModel:
    """`outcome ~ mix + (1 | mm(agent_id))` by REML, and where customers repeat (as
    ``agents.fit_agent_model``) the crossed model with `(1 | customer)`; `n_draws` effect draws."""
    mix = present_mix(frame, mix)
    frame = frame.assign(contact_id=frame["contact_id"].astype(str))
    weights = {AGENT: membership_table(frame, contact_agents)}
    crossed = None
    if customer is not None and repeat_customers(frame, customer) >= MIN_REPEAT_CUSTOMERS:
        # agents are judged by the crossed model alone (no bootstrap of the one-factor model to feed): fit
        # only it, and let it stand for `fit` too
        crossed = lmer(model_formula(outcome, mix, random=(SHARED_AGENT, customer)), frame, membership=weights)
    fit = crossed if crossed is not None else lmer(model_formula(outcome, mix, random=(SHARED_AGENT,)), frame,
                                                   membership=weights)
    used = frame.loc[fit.rows]
    return SharedAgentModel(fit=fit, boot=None, frame=used, outcome=outcome, agent=AGENT, mix=mix,
                            baseline=average_contact_prediction(crossed or fit, population, mix), crossed=crossed,
                            seed=seed, n_draws=n_draws)


def handled_counts(frame: pd.DataFrame, contact_agents: pd.DataFrame) -> pd.DataFrame:
    """Per agent: rated contacts worked on (`n_shared`), the summed weight (`weighted_responses`) and the rated
    contacts worked on that rating-time attribution gives to another agent (`n_others`)."""
    table = membership_table(frame, contact_agents)
    rated_to = pd.Series(frame[AGENT].astype(str).to_numpy(), index=frame["contact_id"].astype(str).to_numpy())
    table["other"] = table["agent_id"].to_numpy() != rated_to.reindex(table["contact_id"]).to_numpy()
    return table.groupby("agent_id").agg(n_shared=("weight", "size"), weighted_responses=("weight", "sum"),
                                         n_others=("other", "sum"))


def scorecard_credit_sentence(card: pd.DataFrame, ordinal_skipped: bool) -> str:
    """What shared credit does to the scorecards (`card` from ``scorecards.agent_scorecards`` with
    contact_agents): which columns share a rating, and how many agents worked on others' rated contacts."""
    helped = card["n_others"] > 0
    return ("Scorecards use shared credit: a rating counts for each agent who worked on the contact by their weight "
            "in contact_agents, so adjusted CSAT, reliability, ranks and verdicts come from the multiple-membership "
            "model; raw CSAT, the top-box shares (raw, shrunken, adjusted) and NPS count each reply for the agent at "
            f"rating time. {int(helped.sum())} of {len(card)} agents worked on "
            f"{int(card['n_others'].sum()):,} rated contacts that rating-time attribution gives to another agent."
            + (" The ordinal check (cumulative-logit model) is not made: it has no multiple-membership term yet."
               if ordinal_skipped else ""))


def verdict_changes(shared: pd.DataFrame, rating_time: pd.DataFrame) -> pd.DataFrame:
    """Agent by agent (agents in both tables): the verdict and effect under rating-time attribution and
    under shared credit, whether the verdict changed, and the gain (shared − rating-time effect)."""
    both = rating_time.index.intersection(shared.index)
    out = pd.DataFrame({"verdict_rating_time": rating_time.loc[both, "verdict"],
                        "verdict_shared": shared.loc[both, "verdict"],
                        "effect_rating_time": rating_time.loc[both, "effect"],
                        "effect_shared": shared.loc[both, "effect"]}, index=both)
    out["changed"] = out["verdict_rating_time"] != out["verdict_shared"]
    out["gain"] = out["effect_shared"] - out["effect_rating_time"]
    return out.sort_values("gain", ascending=False)


@result
class Recovery(AnalysisResult):
    """Recovery of true agent effects: how close estimated effects and verdicts come to the truth."""

    rmse: float               # root mean squared error of the effects (truth centred on its mean)
    corr: float               # correlation of estimated and true effects
    n_verdicts: int           # agents with a verdict above or below average
    false_sign_rate: float    # the share of those verdicts whose sign is wrong


def recovery_error(effects: pd.DataFrame, truth: pd.Series) -> Recovery:
    """How well `effects["effect"]` recovers `truth` (agents in both, truth centred on their mean as the
    effects are): root mean squared error, correlation, and the share of verdicts whose sign is wrong."""
    both = effects.index.intersection(truth.index)
    est = effects.loc[both, "effect"].astype(float)
    true = truth.loc[both].astype(float)
    true = true - true.mean()
    judged = effects.loc[both, "verdict"].isin(["above average", "below average"])
    says_above = effects.loc[both, "verdict"] == "above average"
    wrong = judged & ((says_above & (true < 0)) | (~says_above & (true > 0)))
    return Recovery(rmse=float(np.sqrt(np.mean((est - true) ** 2))), corr=float(np.corrcoef(est, true)[0, 1]),
                    n_verdicts=int(judged.sum()), false_sign_rate=float(wrong.sum() / max(int(judged.sum()), 1)))


@result
class AttributionComparison(AnalysisResult):
    """Shared credit against rating-time attribution: whose verdict changes, and who gains or loses."""

    table: pd.DataFrame         # per agent: ``verdict_changes`` with shared_share, highest gain first
    n_changed: int              # agents whose verdict changes
    n_agents: int               # agents compared
    n_shared_contacts: int      # rated contacts that several agents handled
    n_contacts: int             # rated contacts
    top: int                    # how many agents the gain and loss averages take
    gain_top: float             # mean gain of the `top` agents who gain most
    gain_top_shared: float      # and the mean share of their rated contacts that were shared
    loss_top: float             # mean gain (negative) of the `top` agents who lose most
    loss_top_shared: float


def compare_attributions(frame: pd.DataFrame, contact_agents: pd.DataFrame, shared: pd.DataFrame,
                         rating_time: pd.DataFrame, top: int = 5) -> AttributionComparison:
    """What shared credit changes: `table` (``verdict_changes`` with each agent's `shared_share`, the
    share of its rated contacts that several agents handled), the counts of changed verdicts and shared
    contacts, and the mean gain and shared share of the `top` agents who gain and who lose most."""
    table = verdict_changes(shared, rating_time)
    members = membership_table(frame, contact_agents)
    several = members.groupby("contact_id")["agent_id"].transform("size") > 1
    table["shared_share"] = several.groupby(members["agent_id"]).mean().reindex(table.index)
    gainers, losers = table.head(top), table.tail(top)
    return AttributionComparison(
        table=table, n_changed=int(table["changed"].sum()), n_agents=len(table),
        n_shared_contacts=int(members.loc[several, "contact_id"].nunique()),
        n_contacts=int(members["contact_id"].nunique()), top=min(top, len(table)),
        gain_top=float(gainers["gain"].mean()), gain_top_shared=float(gainers["shared_share"].mean()),
        loss_top=float(losers["gain"].mean()), loss_top_shared=float(losers["shared_share"].mean()))


def shared_credit_sentence(summary: AttributionComparison, units, weights: str) -> str:
    """The finding: how many rated contacts were shared, how many verdicts change, who gains."""
    return (f"{summary.n_shared_contacts:,} of {summary.n_contacts:,} rated contacts were handled by more than "
            f"one agent, so agents are judged with shared credit ({weights}). Against giving each rating to the "
            f"agent assigned when the customer rated, {summary.n_changed} of {summary.n_agents} agents "
            f"{'changes' if summary.n_changed == 1 else 'change'} verdict; the {summary.top} who gain most "
            f"({units.size(summary.gain_top)} on average) had "
            f"{summary.gain_top_shared:.0%} of their rated contacts shared, the {summary.top} who lose most "
            f"({units.size(abs(summary.loss_top))}) {summary.loss_top_shared:.0%}.")


SHARED_METHOD = (
    "Shared credit: several agents worked on some contacts (the contact_agents table), so the agent term is a "
    "multiple-membership random intercept: a contact's rating carries Σ w·(agent effect) over its agents, with "
    "weights {weights} that sum to 1 per contact (lme4's model with the agent rows of Zt replaced by the weights; "
    "Upstream's engine matches lme4 fitted that way). Agent effects, intervals and verdicts come from that model, "
    "with draws from the conditional distribution and the variance components drawn from their likelihood; "
    "variance shares and policy effects are from the rating-time model. The rating-time verdicts are kept in the "
    "shared_credit table for comparison.")
