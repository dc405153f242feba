"""A QA review plan: where a fixed number of reviews reduces the uncertainty of agent estimates most.

The model is the agent model's random intercept (the model agents are judged with): agent j's effect
b_j ~ N(0, τ²) and, given b_j, each scored contact y = x'β + b_j + e with noise variance σ² — the
residual variance plus the customer intercept's variance where the model has one (a reviewed contact
comes from a customer it has not seen). On a good/bad or short ordered scale (a logistic or
cumulative-logit model) a scored contact is not a normal observation on the latent scale: what it tells
about b_j is its Fisher information, p(1 − p) for a 0/1 rating at p = logit⁻¹(x'β + b_j), and
Σ_k (f(θ_k − η) − f(θ_{k−1} − η))² / P(Y = k) for an ordered one (f the logistic density) — at most
1/4, far below the 1/(π²/3) ≈ 0.30 of a latent-normal observation when most ratings are good. Each
agent's σ_j² is 1 over that information averaged over the agent's own unrated contacts at its
conditional mode. A QA review of one of the agent's contacts is treated as one more such observation (same scale,
same noise — an assumption to revisit once QA scores exist and their own τ² and σ² can be fitted). The
agent's conditional (posterior) variance today is PEV_j (the squared conditional SE of the fit; τ² for an
agent with no replies) and after r more independent observations precisions add:

    PEV_j(r) = 1 / (1/PEV_j + r/σ_j²)     (= τ²σ²/(σ² + (n_j + r)τ²) with n_j replies and no mix)

Reliability is 1 − PEV_j(r)/τ². The marginal reduction PEV_j(r) − PEV_j(r + 1) falls with r, so
giving each review in turn to the agent whose next review reduces the total posterior variance most
(the greedy rule) minimises Σ_j PEV_j(r_j) for the budget (a separable convex allocation). Agents whose
survey process is under review first get `priority_reviews` each: their survey scores may be steered,
so an independent review is the check they need whatever their reliability says. An agent gets at most
as many reviews as it has eligible contacts (contacts without a CSAT reply: the survey already speaks
for those).

Contacts are drawn at random within each agent: a random order of the agent's eligible contacts (by
contact id) from a generator seeded with the study seed and the agent id, of which the plan takes the
first r_j — reproducible, and a larger budget extends the same sample.
"""
from __future__ import annotations

import hashlib
import heapq

import numpy as np
import pandas as pd
from scipy.special import expit

from ..data.frames import isin_text
from ..data.sql.cells import CELL, MixCounts
from ..survey.constants import AGENT
from .contact_population import CELL_CONTACTS, cell_design, grouping_factors
from .results import AnalysisResult, result

#: The plan's note where agents are judged with shared credit (a contact_agents table).
SHARED_CREDIT_NOTE = ("The plan is made for the agent model with shared credit (contact_agents): τ², σ² and each "
                      "agent's conditional variance are the multiple-membership model's, in which a rating counts for "
                      "every agent who worked on the contact by their weight; a QA review reads one agent's own work "
                      "on a contact, so it counts fully for that agent.")


def posterior_variance(pev0, reviews, sigma2):
    """PEV after `reviews` more observations with residual variance σ² (a number, or one per agent):
    1/(1/PEV₀ + r/σ²)."""
    return 1.0 / (1.0 / np.asarray(pev0, float) + np.asarray(reviews, float) / np.asarray(sigma2, float))


def allocate_reviews(pev0: pd.Series, capacity: pd.Series, budget: int, sigma2: float | pd.Series,
                     priority: pd.Series | None = None, priority_reviews: int = 0,
                     by_variance: bool = True) -> pd.Series:
    """Reviews per agent (index of `pev0`): first `priority_reviews` for each agent with `priority` True
    (while the budget lasts, in order of their current PEV, largest first), then (`by_variance`) greedily
    on the marginal reduction of posterior variance; never more than `capacity` per agent. Ties go to the
    agent id that sorts first. `sigma2`: one review's noise variance, for every agent or per agent.
    The priority reviews among them: ``priority_first``."""
    agents = sorted(pev0.index)
    noise = (sigma2.reindex(agents) if isinstance(sigma2, pd.Series)
             else pd.Series(float(sigma2), index=agents)).to_dict()
    cap = capacity.reindex(agents).fillna(0).astype(int).to_dict()
    given = priority_first(pev0, capacity, budget, priority, priority_reviews)
    left = int(budget) - int(given.sum())
    if not by_variance:
        return given
    r, pev0 = given.to_dict(), pev0.to_dict()          # plain dicts: one look-up per agent and review (20,000 agents)
    heap = []
    for a in agents:
        if r[a] < cap[a]:
            now = posterior_variance(pev0[a], r[a], noise[a])
            gain = now - posterior_variance(pev0[a], r[a] + 1, noise[a])
            heap.append((-float(gain), a))
    heapq.heapify(heap)
    while left > 0 and heap:
        _, a = heapq.heappop(heap)
        r[a] += 1
        left -= 1
        if r[a] < cap[a]:
            now = posterior_variance(pev0[a], r[a], noise[a])
            heapq.heappush(heap, (-float(now - posterior_variance(pev0[a], r[a] + 1, noise[a])), a))
    return pd.Series([r[a] for a in agents], index=given.index, dtype=given.dtype)


def priority_first(pev0: pd.Series, capacity: pd.Series, budget: int, priority: pd.Series | None = None,
                   priority_reviews: int = 0) -> pd.Series:
    """The reviews ``allocate_reviews`` places first: `priority_reviews` for each agent with `priority` True
    (index of `pev0`, sorted), while the budget lasts, largest current PEV first; never more than `capacity`."""
    agents = sorted(pev0.index)
    cap = capacity.reindex(agents).fillna(0).astype(int)
    left = int(budget)
    given = pd.Series(0, index=agents, dtype=int)
    if priority is not None and priority_reviews > 0:
        flagged = priority.to_dict()
        first = [a for a in agents if bool(flagged.get(a, False))]
        for a in sorted(first, key=lambda a: (-pev0[a], a)):
            given[a] = min(priority_reviews, cap[a], left)
            left -= given[a]
    return given


@result
class ReviewPlan(AnalysisResult):
    """QA review plan: reviews per agent where they sharpen agents' estimates most."""

    table: pd.DataFrame                 # one row per agent with contacts (see ``review_plan``)
    tau2: float                         # the agent variance of the model the plan is made for
    sigma2: float                       # one review's noise variance, mean over agents
    budget: int                         # reviews asked for
    used: int                           # reviews placed
    priority_reviews: int               # reviews first for each agent under survey review
    reliability_threshold: float
    mean_reliability_before: float      # over all agents
    mean_reliability_after: float
    reach_before: int                   # agents at or above the reliability threshold, now and after the reviews
    reach_after: int


def review_plan(model, contacts: pd.DataFrame | None, replied: pd.Index | None, budget: int = 200,
                flagged: pd.Series | None = None, priority_reviews: int = 5,
                reliability_threshold: float = 0.7, eligible: pd.Series | None = None) -> ReviewPlan:
    """One row per agent with contacts: n_replies, eligible (contacts without a CSAT reply), reliability
    now, reviews, reliability_after, gain (reliability after − now), pev_now/pev_after (posterior
    variances, score points² or latent-scale units²), review_variance (σ_j²: one review's noise variance,
    1/information on a latent scale), survey_flag, priority_reviews (of the reviews, those given first because
    the survey process is under review) and the reason the agent gets reviews ('' when none). With no
    detectable between-agent variance (τ² = 0) no review can sharpen an agent's estimate: only the
    priority reviews are placed.
    `model`: the agent model (``agents.AgentModel``); `replied`: contact ids with a CSAT reply; or, for a linear
    model, `eligible` alone (contacts without a CSAT reply per agent with contacts, e.g. counted in SQL), for a
    latent one with `contacts` the unrated contacts' cells (``review_information``) and `replied` None. The
    plan also carries τ², σ² (mean review_variance), budget, reviews used, priority_reviews, mean reliability
    before/after
    over all agents, and how many agents reach `reliability_threshold`."""
    fit, agent = model.judged_by, model.agent
    tau2, sigma2 = variance_parts(fit, agent)
    if eligible is None:
        ids = contacts[AGENT].astype(str)
        all_agents = sorted(ids.unique())
        unrated = ~isin_text(contacts["contact_id"], replied)
        eligible = unrated.groupby(ids).sum().reindex(all_agents).fillna(0).astype(int)
    else:
        all_agents = sorted(eligible.index.astype(str))
        eligible = eligible.reindex(all_agents).fillna(0).astype(int)
    re = fit.ranef[agent]
    pev0 = (re["cond_se"] ** 2).reindex(all_agents).fillna(tau2)
    pev0 = pev0.clip(lower=1e-12)
    replies = (model.reply_counts(agent) if hasattr(model, "reply_counts")     # a latent model, on rows or cells
               else model.frame[agent].astype(str).value_counts() if model.frame is not None
               else model.agent_means()["n_responses"])
    n_replies = replies.reindex(all_agents).fillna(0).astype(int)
    if "Residual" not in fit.varcorr.index:           # a rating's information on the latent scale, per agent
        if contacts is None:
            raise ValueError("review_plan: a latent-scale agent model needs the contacts and replied (a rating's "
                             "information depends on each unrated contact's mix); eligible alone serves a linear model")
        cells = (contacts if isinstance(contacts, MixCounts)
                 else mix_counts(contacts[~isin_text(contacts["contact_id"], replied)], fit, agent))
        sigma2 = 1.0 / review_information(fit, agent, cells, all_agents)
    flag = (pd.Series(False, index=all_agents) if flagged is None
            else flagged.reindex(all_agents).fillna(False).astype(bool))
    # with τ² = 0 the variance rule has nothing to gain: only the priority reviews (an audit) are placed
    reviews = allocate_reviews(pev0, eligible, budget, sigma2, flag, priority_reviews, by_variance=tau2 > 0)
    first = priority_first(pev0, eligible, budget, flag, priority_reviews)
    pev1 = pd.Series(posterior_variance(pev0, reviews.reindex(all_agents), sigma2), index=all_agents)
    rel0 = 1 - pev0 / tau2 if tau2 > 0 else pd.Series(0.0, index=all_agents)
    rel1 = 1 - pev1 / tau2 if tau2 > 0 else pd.Series(0.0, index=all_agents)
    plan = pd.DataFrame({"n_replies": n_replies, "eligible": eligible, "reliability": rel0,
                         "reviews": reviews.reindex(all_agents), "reliability_after": rel1,
                         "gain": rel1 - rel0, "pev_now": pev0, "pev_after": pev1,
                         "review_variance": (sigma2.reindex(all_agents) if isinstance(sigma2, pd.Series)
                                             else pd.Series(sigma2, index=all_agents)),
                         "survey_flag": flag, "priority_reviews": first.reindex(all_agents)},
                        index=pd.Index(all_agents, name=AGENT))
    plan["reason"] = [reason(row) for row in plan.to_dict("records")]
    return ReviewPlan(plan.sort_values(["reviews", "reliability"], ascending=[False, True]), tau2=tau2,
                      sigma2=float(np.mean(plan["review_variance"])), budget=int(budget),
                      used=int(plan["reviews"].sum()), priority_reviews=priority_reviews,
                      reliability_threshold=reliability_threshold, mean_reliability_before=float(rel0.mean()),
                      mean_reliability_after=float(rel1.mean()),
                      reach_before=int((rel0 >= reliability_threshold).sum()),
                      reach_after=int((rel1 >= reliability_threshold).sum()))


def rating_information(fit, eta) -> np.ndarray:
    """Fisher information about the linear predictor η of one rating: p(1 − p) for a logistic model,
    Σ_k (f(θ_k − η) − f(θ_{k−1} − η))² / P(Y = k) for a cumulative-logit one (θ its thresholds)."""
    eta = np.asarray(eta, dtype=float)
    thresholds = getattr(fit, "thresholds", None)
    if thresholds is None:
        p = expit(eta)
        return p * (1 - p)
    theta = thresholds.to_numpy(float)
    cum = np.column_stack([np.zeros(eta.size), expit(theta[None, :] - eta.reshape(-1, 1)), np.ones(eta.size)])
    density = cum * (1 - cum)                      # f(θ − η); 0 at θ = ±∞
    prob = np.clip(np.diff(cum, axis=1), 1e-300, None)
    return (np.diff(density, axis=1) ** 2 / prob).sum(axis=1).reshape(eta.shape)


def mix_factors(fit, agent: str) -> list[str]:
    """The fit's categorical variables that enter x'β (not the agent, not another grouping factor)."""
    grouping = grouping_factors(fit)
    return [v for v in fit.factor_names() if v != agent and v not in grouping]


def mix_counts(contacts: pd.DataFrame, fit, agent: str) -> MixCounts:
    """The contacts (rows) counted per agent × contact-mix cell of `fit` (``mix_factors`` that `contacts` has;
    a missing value is a level of its own), each distinct mix once."""
    mix = [v for v in mix_factors(fit, agent) if v in contacts]
    cell = (contacts.groupby(mix, dropna=False, sort=True).ngroup().to_numpy() if mix
            else np.zeros(len(contacts), dtype=np.int64))
    first = pd.Series(np.arange(len(contacts))).groupby(cell).first().to_numpy()   # a row of each cell, in order
    cells = contacts[mix].iloc[first].reset_index(drop=True)
    counts = (pd.DataFrame({agent: contacts[agent].astype(str).to_numpy(), CELL: cell})
              .groupby([agent, CELL], sort=True).size().rename(CELL_CONTACTS).reset_index())
    return MixCounts(mix=cells, counts=counts)


def cell_predictions(fit, agent: str, mix: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(known, x'β̂): which mix cells the fit knows (every level of its mix variables seen in the fit) and the
    fixed part of the linear predictor of each known cell."""
    known = np.ones(len(mix), dtype=bool)
    for variable in mix_factors(fit, agent):
        if variable in mix:
            known &= mix[variable].astype(str).isin(fit.factor_levels(variable)).to_numpy()
    xb = cell_design(fit, mix[known]) @ fit.fixef.to_numpy() if known.any() else np.zeros(0)
    return known, xb


def review_information(fit, agent: str, cells: MixCounts, agents) -> pd.Series:
    """Per agent in `agents`: the mean information (``rating_information``) of one more rating of the
    agent's contacts (`cells`: counted per agent × mix cell) at η = x'β̂ + b̂_j (the agent's conditional mode;
    0 without replies). Contacts whose contact mix the fit does not know are left out; an agent with none left
    gets the mean over every agent's known contacts at its own mode."""
    modes = fit.ranef[agent]["mode"].reindex(agents).fillna(0.0)
    known, xb_known = cell_predictions(fit, agent, cells.mix)
    xb_cell = np.full(len(cells.mix), np.nan)
    xb_cell[known] = xb_known
    counts = cells.counts
    counts = counts[known[counts[CELL].to_numpy()]] if len(counts) else counts
    ids = counts[agent].astype(str)
    w = counts[CELL_CONTACTS].to_numpy(float)
    xb = xb_cell[counts[CELL].to_numpy()]
    info = rating_information(fit, xb + modes.reindex(ids).fillna(0.0).to_numpy())
    per_agent = (pd.Series(info * w).groupby(ids.to_numpy()).sum()
                 / pd.Series(w).groupby(ids.to_numpy()).sum()).reindex(agents)
    if per_agent.isna().any():
        pooled_w = np.bincount(counts[CELL].to_numpy(), weights=w, minlength=len(cells.mix))[known]
        pooled, weights = (xb_known, pooled_w) if pooled_w.sum() > 0 else (np.zeros(1), np.ones(1))
        for a in per_agent.index[per_agent.isna()]:
            per_agent[a] = float(np.average(rating_information(fit, pooled + modes[a]), weights=weights))
    return per_agent.clip(lower=1e-6)


def variance_parts(fit, agent: str = AGENT) -> tuple[float, float]:
    """(τ², σ²): the agents' variance and the noise variance of one more scored contact — the residual
    variance plus every other random intercept's variance (a reviewed contact comes from a customer the
    model has not seen), or π²/3 on the latent scale of a logistic or cumulative-logit model (where
    ``review_plan`` uses each agent's ``review_information`` instead)."""
    vc = fit.varcorr
    tau2 = float(vc.loc[agent, "variance"]) if agent in vc.index else 0.0
    others = float(vc.drop(index=[agent, "Residual"], errors="ignore")["variance"].sum())
    residual = float(vc.loc["Residual", "variance"]) if "Residual" in vc.index else float(np.pi ** 2 / 3)
    return tau2, residual + others


def reason(row) -> str:
    """Why the agent gets reviews, in words."""
    if row["reviews"] == 0:
        return ""
    now = (f"reliability {row['reliability']:.2f} from {int(row['n_replies'])} "
           f"{'reply' if row['n_replies'] == 1 else 'replies'}")
    if row["survey_flag"] and row["priority_reviews"] > 0:
        return f"survey process under review: {int(row['priority_reviews'])} priority reviews; {now}"
    if row["n_replies"] == 0:
        return "no survey replies: nothing is known about the agent yet"
    return f"few replies: {now}"


def agent_generator(seed: int, agent_id: str) -> np.random.Generator:
    """A generator for one agent: seeded with the study seed and a hash of the agent id, so an agent's
    sample does not depend on which other agents are in the data."""
    h = int.from_bytes(hashlib.sha256(str(agent_id).encode("utf-8")).digest()[:8], "big")
    return np.random.default_rng([int(seed), h])


def sample_contacts(plan: pd.DataFrame, contacts: pd.DataFrame, replied: pd.Index | None, seed: int) -> pd.DataFrame:
    """The contacts to review (one row each): contact_id, agent_id, opened_at, channel, policy, issue_type,
    reason — drawn at random within each agent (module docstring). `replied` None: `contacts` are already
    the contacts without a CSAT reply (of the agents with reviews, e.g. from SQL)."""
    pool = contacts if replied is None else contacts[~isin_text(contacts["contact_id"], replied)]
    pool = pool.assign(_agent=pool[AGENT].astype(str)).sort_values("contact_id")
    groups = pool.groupby("_agent").indices
    rows = []
    for agent, r in plan["reviews"].items():
        if r <= 0:
            continue
        idx = groups.get(agent, np.array([], dtype=int))
        order = agent_generator(seed, agent).permutation(len(idx))[: int(r)]
        picked = pool.iloc[idx[order]]
        rows.append(picked.assign(reason=plan.loc[agent, "reason"]))
    if not rows:
        return pd.DataFrame(columns=["contact_id", AGENT, "opened_at", "channel", "policy", "issue_type", "reason"])
    cols = ["contact_id", AGENT, "opened_at", "channel", "policy", "issue_type", "reason"]
    out = pd.concat(rows)[cols].reset_index(drop=True)
    return out
