"""An independently written support operation, for judging Upstream's verdicts about people.

    python benchmarks/independent/operation.py --out DIR [--seed N] [--scale 1.0]

Writes ``contacts.csv``, ``surveys.csv``, ``agents.csv`` (the canonical format of data/README.md)
and ``truth.json`` into DIR. Deterministic given the seed. Written from scratch and on purpose
different from the project's own simulator (which this file never imports): it uses only numpy,
pandas and scipy.

The mechanism, in short (README.md beside this file has the full description):

- **Satisfaction** is a latent experience on a continuous scale, rounded to 1-5 by fixed
  thresholds: y* = m_c + a_j + e, CSAT = 1 + #{k: y* > t_k}. The noise e is *not* normal or
  logistic: it is a two-component mixture, a "normal contact" N(0, 1) with weight 0.82 and a
  "something went wrong" component N(-1.8, 1.3^2) with weight 0.18, which gives the J-shaped CSAT
  distribution real operations have. m_c adds intercept, policy, product, channel, issue type, a
  customer effect shared by a customer's contacts, and a penalty for follow-up contacts.
- **Agents**: 200, heterogeneous volumes (log-normal, plus new hires and part-timers with very
  few contacts), teams that fix the channel mix, sites, tenure. The agent's latent effect a_j is
  site + tenure + a heavy-tailed individual part (t with 5 df) + a "struggling" shift for a few.
- **Routing**: experienced agents get harder issue types and, within an issue, more of the
  harmful policies (observed contact features: a mix adjustment can undo it).
- **Contact outcomes** (resolution, escalation, handle time, interactions, credit) depend on the
  same latent experience, so they carry information about how the contact went. Unresolved
  contacts spawn follow-up contacts of the same customer about the same issue.
- **Surveys**: invitation by a logistic model (channel, escalation) with an agent random effect;
  response by a logistic model with a U-shaped dependence on the customer's CSAT and an agent
  random effect. Three "steering" agents, truly below average, withhold the survey from most
  contacts that went badly.

Truth (``truth.json``): every effect is given both on the latent scale and on the CSAT scale.
The CSAT-scale effect of agent j is

    effect_j = mean_c g(b_c + a_j) - mean_k mean_c g(b_c + a_k)

where c runs over all contacts of the period, b_c is contact c's latent mean without its agent,
k over all agents and g(m) = E[CSAT | latent mean m] = 1 + sum_k P(m + e > t_k) exactly (no Monte
Carlo). In words: the expected CSAT of the period's average contact handled by agent j, minus
the average of that over agents. Policy p's effects (also exact):

    effect_vs_average_p  = mean_c g(m_c - pi_{p_c} + pi_p) - mean_c g(m_c)
    effect_vs_standard_p = mean_c g(m_c - pi_{p_c} + pi_p) - mean_c g(m_c - pi_{p_c})

(m_c the full latent mean of contact c including its agent, pi the policy shifts, "standard" the
reference policy with pi = 0). "strongly harmful" = both effects <= -0.3 CSAT points;
"harmless" = latent shift exactly 0 (so effect_vs_standard = 0 exactly).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr

GENERATOR = "upstream-benchmarks/independent/operation.py"
VERSION = 1

PERIOD_START = np.datetime64("2026-01-01T00:00:00")
PERIOD_DAYS = 90

# --- satisfaction: latent experience, mixture noise, rounding thresholds ---------------------
NOISE = [  # (weight, mean, sd) of the latent noise mixture
    (0.82, 0.0, 1.0),
    (0.18, -1.8, 1.3),
]
THRESHOLDS = [-1.55, -0.95, -0.35, 0.45]  # y* above t_k adds one point: CSAT = 1 + #{y* > t_k}
INTERCEPT = 0.75
FOLLOW_UP_PENALTY = -0.20
CUSTOMER_SD = 0.45

CHANNELS = {  # latent shift, invitation logit, response logit
    "phone": (0.10, 0.85, -1.30),
    "chat": (0.00, 0.95, -1.20),
    "messaging": (0.05, 0.90, -1.20),
    "email": (-0.20, 0.90, -1.25),
}
TEAMS = {  # channel mix of the team's contacts, share of agents
    "Voice": ({"phone": 0.92, "chat": 0.0, "messaging": 0.0, "email": 0.08}, 0.34),
    "Digital": ({"phone": 0.0, "chat": 0.62, "messaging": 0.33, "email": 0.05}, 0.34),
    "Written": ({"phone": 0.05, "chat": 0.0, "messaging": 0.10, "email": 0.85}, 0.20),
    "Escalations": ({"phone": 0.45, "chat": 0.15, "messaging": 0.05, "email": 0.35}, 0.12),
}
SITES = {"Lisbon": 0.05, "Manila": -0.05, "Austin": 0.0}  # site part of the agent effect (latent)

PRODUCTS = {  # latent shift, base share
    "Starter plan": (0.0, 0.26),
    "Pro plan": (0.05, 0.22),
    "Business plan": (0.10, 0.12),
    "Mobile app": (-0.10, 0.18),
    "Smart router": (-0.15, 0.12),
    "Add-ons": (0.0, 0.10),
}
ISSUES = {  # latent shift, base share, hardness (routing tilt)
    "how-to": (0.25, 0.24, -1.0),
    "billing": (-0.05, 0.22, 0.0),
    "account access": (-0.10, 0.14, 0.3),
    "delivery": (-0.15, 0.14, 0.3),
    "defect": (-0.30, 0.16, 1.0),
    "cancellation": (-0.35, 0.10, 1.2),
}
# Policies: latent shift and class; the class is checked against the exact CSAT-scale effects.
POLICIES = {
    "standard": (0.0, "reference"),
    "refund above cap": (-0.80, "strongly harmful"),
    "warranty expired": (-0.70, "strongly harmful"),
    "identity re-verification": (-0.60, "strongly harmful"),
    "restocking fee": (-0.15, "mildly harmful"),
    "callback queue": (-0.12, "mildly harmful"),
    "two-step escalation": (-0.20, "mildly harmful"),
    "proof of purchase": (0.0, "harmless"),
    "address confirmation": (0.0, "harmless"),
    "plan change window": (0.0, "harmless"),
    "data export request": (0.0, "harmless"),
    "loyalty goodwill": (0.25, "helpful"),
}
# P(policy | issue type): relative weights; "standard" takes the rest.
POLICY_BY_ISSUE = {
    "how-to": {"callback queue": 0.04, "data export request": 0.05, "standard": 0.91},
    "billing": {"refund above cap": 0.12, "plan change window": 0.12, "loyalty goodwill": 0.05,
                "callback queue": 0.05, "standard": 0.66},
    "account access": {"identity re-verification": 0.22, "data export request": 0.10,
                       "two-step escalation": 0.06, "callback queue": 0.05, "standard": 0.57},
    "delivery": {"address confirmation": 0.22, "restocking fee": 0.12, "proof of purchase": 0.10,
                 "callback queue": 0.05, "standard": 0.51},
    "defect": {"warranty expired": 0.20, "proof of purchase": 0.14, "two-step escalation": 0.12,
               "callback queue": 0.05, "standard": 0.49},
    "cancellation": {"refund above cap": 0.12, "loyalty goodwill": 0.16, "plan change window": 0.12,
                     "restocking fee": 0.08, "data export request": 0.05, "standard": 0.47},
}
ROUTING_ISSUE_TILT = 0.45  # log-odds tilt per unit hardness per SD of tenure
ROUTING_POLICY_TILT = 0.35  # experienced agents: more of the harmful policies within an issue

# --- survey process -----------------------------------------------------------------------------
SEND_ESCALATED = -0.30          # invitation logit shift for escalated contacts (system rule)
SEND_AGENT_SD = 0.12            # ordinary agent-to-agent variation in invitation (logit)
RESP_AGENT_SD = 0.15            # ordinary agent-to-agent variation in response (logit)
RESP_BY_CSAT = {1: 0.70, 2: 0.15, 3: -0.25, 4: -0.10, 5: 0.35}  # U-shaped response
STEER_KEEP = {1: 0.15, 2: 0.20, 3: 0.70, 4: 1.0, 5: 1.0}  # steering agents: share still invited
N_STEERING = 3
CSAT_SKIP = 0.02                # responses that skip the CSAT question
NPS_SKIP = 0.12                 # responses that skip the NPS question


def noise_cdf(x):
    """P(e <= x) for the latent noise mixture."""
    x = np.asarray(x, dtype=float)
    return sum(w * ndtr((x - mu) / sd) for w, mu, sd in NOISE)


def expected_csat(m):
    """g(m) = E[CSAT | latent mean m] = 1 + sum_k P(m + e > t_k), exactly."""
    m = np.asarray(m, dtype=float)
    return 1.0 + sum(1.0 - noise_cdf(t - m) for t in THRESHOLDS)


def draw_noise(rng, n):
    comp = rng.choice(len(NOISE), size=n, p=[w for w, _, _ in NOISE])
    mu = np.array([c[1] for c in NOISE])[comp]
    sd = np.array([c[2] for c in NOISE])[comp]
    return mu + sd * rng.standard_normal(n)


def to_csat(ystar):
    return 1 + (ystar[:, None] > np.array(THRESHOLDS)[None, :]).sum(axis=1)


# --- agents -------------------------------------------------------------------------------------
def make_agents(rng, n_agents: int) -> pd.DataFrame:
    ids = rng.choice(np.arange(1, 1000), size=n_agents, replace=False)
    agent_id = [f"ag{k:03d}" for k in ids]  # leading zeros: ids are text
    team_names = list(TEAMS)
    team = rng.choice(team_names, size=n_agents, p=[TEAMS[t][1] for t in team_names])
    site = rng.choice(list(SITES), size=n_agents, p=[0.4, 0.35, 0.25])
    kind = rng.choice(["regular", "new hire", "part-time"], size=n_agents, p=[0.80, 0.12, 0.08])
    tenure = np.where(kind == "new hire", rng.uniform(0.3, 3.0, n_agents),
                      rng.gamma(2.0, 14.0, n_agents) + 3.0)
    tenure = np.where(team == "Escalations", tenure + rng.uniform(12, 36, n_agents), tenure)
    tenure = np.round(tenure, 1)
    volume = rng.lognormal(0.0, 0.55, n_agents)
    volume = np.where(kind == "new hire", volume * rng.uniform(0.04, 0.35, n_agents), volume)
    volume = np.where(kind == "part-time", volume * rng.uniform(0.02, 0.25, n_agents), volume)
    volume = np.where(team == "Escalations", volume * 0.7, volume)
    # agent effect on the latent scale: site + tenure + heavy-tailed individual + struggling few
    tenure_part = 0.20 * (np.minimum(tenure, 36.0) / 36.0) - 0.10
    individual = 0.20 * rng.standard_t(5, n_agents)
    struggling = rng.random(n_agents) < 0.07
    latent = (np.array([SITES[s] for s in site]) + tenure_part + individual
              - 0.35 * struggling)
    frame = pd.DataFrame({"agent_id": agent_id, "team": team, "site": site, "tenure_months": tenure,
                          "kind": kind, "volume": volume, "latent_effect": latent})
    # steering agents: regular agents in the chat/email-heavy teams with enough volume, truly below
    # average (their latent effect is set to 0.38 .. 0.52 below the agents' mean)
    eligible = np.flatnonzero((frame["kind"] == "regular") & frame["team"].isin(["Digital", "Written"])
                              & (frame["volume"] > np.quantile(frame["volume"], 0.40)))
    steer = rng.choice(eligible, size=N_STEERING, replace=False)
    frame["steering"] = False
    frame.loc[steer, "steering"] = True
    frame.loc[steer, "latent_effect"] = latent.mean() - rng.uniform(0.38, 0.52, N_STEERING)
    frame["send_re"] = rng.normal(0.0, SEND_AGENT_SD, n_agents)
    frame["resp_re"] = rng.normal(0.0, RESP_AGENT_SD, n_agents)
    frame["speed"] = rng.lognormal(0.0, 0.18, n_agents)
    return frame


# --- contacts -----------------------------------------------------------------------------------
def _categorical(rng, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(probs.shape[0])[:, None]
    return (u > cum).sum(axis=1)


def assign_agents(rng, agents: pd.DataFrame, channel: np.ndarray) -> np.ndarray:
    """Agent index for contacts of the given channels: among agents whose team takes the channel,
    proportional to volume times the team's share of that channel."""
    out = np.empty(len(channel), dtype=int)
    for ch in CHANNELS:
        idx = np.flatnonzero(channel == ch)
        if len(idx) == 0:
            continue
        w = agents["volume"].to_numpy() * np.array([TEAMS[t][0][ch] for t in agents["team"]])
        out[idx] = rng.choice(len(agents), size=len(idx), p=w / w.sum())
    return out


def base_contacts(rng, agents: pd.DataFrame, n: int, n_customers: int) -> pd.DataFrame:
    # agent first (by volume), then the channel from the team's mix
    vol = agents["volume"].to_numpy()
    j = rng.choice(len(agents), size=n, p=vol / vol.sum())
    chan_names = list(CHANNELS)
    team_mix = np.array([[TEAMS[t][0][c] for c in chan_names] for t in agents["team"]])
    channel = np.array(chan_names)[_categorical(rng, team_mix[j])]
    # routing: experienced agents get harder issues ...
    tz = ((agents["tenure_months"] - agents["tenure_months"].mean()) / agents["tenure_months"].std()).to_numpy()
    issue_names = list(ISSUES)
    base = np.array([ISSUES[i][1] for i in issue_names])
    hard = np.array([ISSUES[i][2] for i in issue_names])
    probs = base[None, :] * np.exp(ROUTING_ISSUE_TILT * tz[j][:, None] * hard[None, :])
    issue = np.array(issue_names)[_categorical(rng, probs)]
    # ... and, within an issue, more of the harmful policies
    pol_names = list(POLICIES)
    shift = np.array([POLICIES[p][0] for p in pol_names])
    policy = np.empty(n, dtype=object)
    for it in issue_names:
        idx = np.flatnonzero(issue == it)
        w = np.array([POLICY_BY_ISSUE[it].get(p, 0.0) for p in pol_names])
        tilt = np.exp(ROUTING_POLICY_TILT * tz[j[idx]][:, None] * (shift < -0.1)[None, :])
        policy[idx] = np.array(pol_names)[_categorical(rng, w[None, :] * tilt)]
    # products: defects mostly on devices and the app
    prod_names = list(PRODUCTS)
    pbase = np.array([PRODUCTS[p][1] for p in prod_names])
    device = np.array([p in ("Smart router", "Mobile app") for p in prod_names])
    pmat = np.where((issue == "defect")[:, None], pbase * np.where(device, 3.0, 1.0), pbase)
    product = np.array(prod_names)[_categorical(rng, pmat)]
    # customers: heavy-tailed contact propensity, so some customers come back often
    cw = rng.gamma(1.0, 1.0, n_customers)
    customer = rng.choice(n_customers, size=n, p=cw / cw.sum())
    # time: weekdays busier, business hours
    day = rng.choice(PERIOD_DAYS, size=n, p=_day_weights())
    hour = rng.choice(24, size=n, p=_hour_weights())
    secs = day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    return pd.DataFrame({"agent_ix": j, "channel": channel, "issue_type": issue, "policy": policy,
                         "product": product, "customer_ix": customer, "open_s": secs,
                         "follow_up": False, "parent": -1})


def _day_weights():
    dow = (np.arange(PERIOD_DAYS) + 3) % 7  # 2026-01-01 is a Thursday (0 = Monday)
    w = np.where(dow >= 5, 0.45, 1.0) * (1 + 0.1 * np.sin(np.arange(PERIOD_DAYS) / 9))
    return w / w.sum()


def _hour_weights():
    h = np.arange(24)
    w = 0.08 + np.exp(-0.5 * ((h - 13) / 3.2) ** 2)
    return w / w.sum()


def contact_outcomes(rng, c: pd.DataFrame, agents: pd.DataFrame, customer_eff: np.ndarray) -> pd.DataFrame:
    """Latent experience, CSAT the customer would give, and the operational outcomes."""
    n = len(c)
    a = agents["latent_effect"].to_numpy()[c["agent_ix"]]
    b = (INTERCEPT + c["policy"].map(lambda p: POLICIES[p][0]).to_numpy(float)
         + c["product"].map(lambda p: PRODUCTS[p][0]).to_numpy(float)
         + c["channel"].map(lambda p: CHANNELS[p][0]).to_numpy(float)
         + c["issue_type"].map(lambda p: ISSUES[p][0]).to_numpy(float)
         + customer_eff[c["customer_ix"].to_numpy()]
         + FOLLOW_UP_PENALTY * c["follow_up"].to_numpy())
    ystar = b + a + draw_noise(rng, n)
    c = c.copy()
    c["b"] = b
    c["m"] = b + a
    c["ystar"] = ystar
    c["csat_potential"] = to_csat(ystar)
    dev = ystar - INTERCEPT
    c["resolved_first_contact"] = rng.random(n) < expit(1.0 + 0.9 * dev)
    c["escalated"] = rng.random(n) < expit(-2.7 - 0.7 * dev + 0.9 * (c["policy"] == "two-step escalation")
                                           + 0.4 * (c["issue_type"] == "defect")
                                           + 0.5 * (agents["team"].to_numpy()[c["agent_ix"]] == "Escalations"))
    ch_base = c["channel"].map({"phone": 420.0, "chat": 660.0, "messaging": 780.0, "email": 540.0}).to_numpy()
    iss_mult = c["issue_type"].map({"how-to": 0.8, "billing": 1.0, "account access": 1.0, "delivery": 0.9,
                                    "defect": 1.35, "cancellation": 1.2}).to_numpy()
    speed = agents["speed"].to_numpy()[c["agent_ix"]]
    ht = ch_base * iss_mult * speed * np.exp(-0.15 * dev) * rng.lognormal(0, 0.5, n)
    ht = ht * np.where(c["escalated"], 1.35, 1.0)
    c["handle_time_sec"] = np.round(ht).astype(int)
    lam = c["channel"].map({"phone": 0.15, "chat": 7.0, "messaging": 9.0, "email": 1.8}).to_numpy()
    lam = lam * np.exp(-0.12 * dev) * np.where(c["escalated"], 1.4, 1.0)
    c["n_interactions"] = 1 + rng.poisson(lam)
    p_credit = c["policy"].map({"loyalty goodwill": 0.55, "refund above cap": 0.20,
                                "restocking fee": 0.10}).fillna(0.04).to_numpy()
    p_credit = p_credit * np.where(dev < -1, 1.6, 1.0)
    credit = np.where(rng.random(n) < np.minimum(p_credit, 0.95), np.round(rng.lognormal(3.0, 0.7, n), 2), 0.0)
    c["credit_issued"] = credit
    # how long the contact stays open
    dur = np.select([c["channel"] == "phone", c["channel"] == "chat", c["channel"] == "messaging"],
                    [ht, ht * 1.15, ht * 3 + rng.exponential(5400, n)],
                    default=rng.lognormal(np.log(6 * 3600), 0.9, n))
    c["close_s"] = c["open_s"] + np.round(np.maximum(dur, ht)).astype(np.int64)
    return c


def follow_ups(rng, parents: pd.DataFrame, agents: pd.DataFrame) -> pd.DataFrame:
    """Unresolved contacts bring the same customer back about the same issue within 7 days."""
    go = (~parents["resolved_first_contact"]) & (rng.random(len(parents)) < 0.45)
    p = parents[go]
    n = len(p)
    if n == 0:
        return parents.iloc[:0][["agent_ix", "channel", "issue_type", "policy", "product", "customer_ix",
                                 "open_s", "follow_up", "parent"]]
    channel = np.where(rng.random(n) < 0.7, p["channel"].to_numpy(),
                       rng.choice(list(CHANNELS), size=n, p=[0.35, 0.3, 0.15, 0.2]))
    # the follow-up goes back to the same agent 40% of the time (if the channel fits the team)
    same = (rng.random(n) < 0.4) & (np.array([TEAMS[t][0][ch] for t, ch in
                                              zip(agents["team"].to_numpy()[p["agent_ix"]], channel)]) > 0)
    j = np.where(same, p["agent_ix"].to_numpy(), assign_agents(rng, agents, channel))
    gap = rng.uniform(0.1, 7.0, n) * 86400
    return pd.DataFrame({"agent_ix": j, "channel": channel, "issue_type": p["issue_type"].to_numpy(),
                         "policy": p["policy"].to_numpy(), "product": p["product"].to_numpy(),
                         "customer_ix": p["customer_ix"].to_numpy(),
                         "open_s": p["close_s"].to_numpy() + gap.astype(np.int64),
                         "follow_up": True, "parent": p.index.to_numpy()})


# --- surveys --------------------------------------------------------------------------------------
def survey_process(rng, c: pd.DataFrame, agents: pd.DataFrame) -> pd.DataFrame:
    n = len(c)
    j = c["agent_ix"].to_numpy()
    send_logit = (c["channel"].map(lambda ch: CHANNELS[ch][1]).to_numpy(float)
                  + SEND_ESCALATED * c["escalated"].to_numpy() + agents["send_re"].to_numpy()[j])
    p_send = expit(send_logit)
    steering = agents["steering"].to_numpy()[j]
    keep = np.array([STEER_KEEP[k] for k in range(1, 6)])[c["csat_potential"].to_numpy() - 1]
    p_send = np.where(steering, p_send * keep, p_send)
    sent = rng.random(n) < p_send
    resp_logit = (c["channel"].map(lambda ch: CHANNELS[ch][2]).to_numpy(float)
                  + np.array([RESP_BY_CSAT[k] for k in range(1, 6)])[c["csat_potential"].to_numpy() - 1]
                  + agents["resp_re"].to_numpy()[j])
    responded = sent & (rng.random(n) < expit(resp_logit))
    c = c.copy()
    c["sent"] = sent
    c["p_send_ordinary"] = expit(send_logit)
    c["responded"] = responded
    return c


def nps_from(rng, ystar: np.ndarray) -> np.ndarray:
    z = 0.8 * (ystar - INTERCEPT) / 1.3 + 0.6 * rng.standard_normal(len(ystar))
    cuts = np.array([-2.2, -1.9, -1.6, -1.3, -1.0, -0.75, -0.45, -0.1, 0.35, 0.95])
    return (z[:, None] > cuts[None, :]).sum(axis=1)


COMMENTS = {
    1: ["Nobody solved my problem.", "Terrible, I had to explain everything three times.",
        "Your policy makes no sense to me.", "Still waiting for a fix."],
    2: ["Not helpful.", "Took far too long.", "The rules are the rules, apparently."],
    3: ["It was ok.", "Fine, but slow.", "Partly solved."],
    4: ["Good service.", "Helpful agent, thanks.", "Quick answer."],
    5: ["Excellent, thank you!", "Problem solved in minutes.", "Very friendly and clear."],
}


# --- truth ------------------------------------------------------------------------------------------
def agent_truth(c: pd.DataFrame, agents: pd.DataFrame) -> np.ndarray:
    b = c["b"].to_numpy()
    g = np.array([expected_csat(b + a).mean() for a in agents["latent_effect"].to_numpy()])
    return g - g.mean(), g


def policy_truth(c: pd.DataFrame) -> dict:
    m = c["m"].to_numpy()
    own = c["policy"].map(lambda p: POLICIES[p][0]).to_numpy(float)
    g_actual = expected_csat(m).mean()
    g_standard = expected_csat(m - own).mean()
    out = {}
    for p, (shift, klass) in POLICIES.items():
        g_p = expected_csat(m - own + shift).mean()
        out[p] = {"latent_shift": shift, "class": klass,
                  "effect_vs_average": float(g_p - g_actual),
                  "effect_vs_standard": float(g_p - g_standard)}
    return out


def naive_flag_share(counts: np.ndarray, trials: np.ndarray, alpha: float = 0.05) -> float:
    """Share of agents a two-sided exact binomial test against the pooled rate flags."""
    from scipy.stats import binomtest
    p0 = counts.sum() / trials.sum()
    flags = [binomtest(int(k), int(nn), p0).pvalue < alpha for k, nn in zip(counts, trials) if nn > 0]
    return float(np.mean(flags))


# --- the whole operation ------------------------------------------------------------------------------
def simulate(seed: int = 1, scale: float = 1.0, n_agents: int = 200):
    rng = np.random.default_rng([20260, seed])
    agents = make_agents(rng, n_agents)
    n_base = int(round(92000 * scale))
    n_customers = int(round(250000 * scale))
    customer_eff = rng.normal(0.0, CUSTOMER_SD, n_customers)
    gen = contact_outcomes(rng, base_contacts(rng, agents, n_base, n_customers), agents, customer_eff)
    parts = [gen]
    offset = len(gen)
    for _ in range(3):  # follow-ups of follow-ups, three generations at most
        nxt = follow_ups(rng, parts[-1], agents)
        nxt = nxt[nxt["open_s"] < PERIOD_DAYS * 86400]
        if len(nxt) == 0:
            break
        nxt.index = np.arange(offset, offset + len(nxt))
        offset += len(nxt)
        parts.append(contact_outcomes(rng, nxt, agents, customer_eff))
    c = pd.concat(parts)
    c = c.sort_values("open_s", kind="stable")
    c = survey_process(rng, c, agents)
    c["contact_id"] = [f"C{k:07d}" for k in rng.permutation(len(c)) + 1]

    # repeat_within_7d, from the data: the same customer about the same issue within 7 days
    c = c.sort_values(["customer_ix", "issue_type", "open_s"], kind="stable")
    same = ((c["customer_ix"].shift(-1) == c["customer_ix"]) & (c["issue_type"].shift(-1) == c["issue_type"]))
    c["repeat_within_7d"] = same & ((c["open_s"].shift(-1) - c["open_s"]) <= 7 * 86400)
    c = c.sort_values("open_s", kind="stable").reset_index(drop=True)

    def ts(s):
        return (PERIOD_START + s.to_numpy().astype("timedelta64[s]")).astype("datetime64[s]")

    contacts = pd.DataFrame({
        "contact_id": c["contact_id"],
        "opened_at": ts(c["open_s"]),
        "closed_at": ts(c["close_s"]),
        "agent_id": agents["agent_id"].to_numpy()[c["agent_ix"]],
        "team": agents["team"].to_numpy()[c["agent_ix"]],
        "channel": c["channel"],
        "policy": c["policy"],
        "product": c["product"],
        "issue_type": c["issue_type"],
        "customer_id": [f"cu{k:06d}" for k in c["customer_ix"]],
        "handle_time_sec": c["handle_time_sec"],
        "n_interactions": c["n_interactions"],
        "resolved_first_contact": c["resolved_first_contact"],
        "repeat_within_7d": c["repeat_within_7d"],
        "escalated": c["escalated"],
        "credit_issued": c["credit_issued"],
    })

    s = c[c["sent"]].copy()
    ns = len(s)
    sent_s = s["close_s"].to_numpy() + np.round(rng.lognormal(np.log(1200), 0.8, ns)).astype(np.int64)
    resp_s = sent_s + np.round(rng.lognormal(np.log(3 * 3600), 1.2, ns)).astype(np.int64)
    r = s["responded"].to_numpy()
    csat = s["csat_potential"].to_numpy().astype(float)
    csat_skip = rng.random(ns) < CSAT_SKIP
    nps = nps_from(rng, s["ystar"].to_numpy()).astype(float)
    nps_skip = rng.random(ns) < NPS_SKIP
    comment = np.array([rng.choice(COMMENTS[int(k)]) if rng.random() < 0.25 else "" for k in csat], dtype=object)
    surveys = pd.DataFrame({
        "contact_id": s["contact_id"].to_numpy(),
        "sent_at": (PERIOD_START + sent_s.astype("timedelta64[s]")).astype("datetime64[s]"),
        "responded_at": pd.Series((PERIOD_START + resp_s.astype("timedelta64[s]")).astype("datetime64[s]")).where(r),
        "csat": pd.Series(csat).where(r & ~csat_skip).astype("Int64"),
        "nps": pd.Series(nps).where(r & ~nps_skip).astype("Int64"),
        "comment": pd.Series(comment).where(r & (comment != ""), None),
    })
    surveys = surveys.sort_values("sent_at", kind="stable").reset_index(drop=True)

    # --- truth
    eff, g_agent = agent_truth(c, agents)
    agents["effect"] = eff
    agents["expected_csat_average_contact"] = g_agent
    per = c.groupby("agent_ix").agg(n_contacts=("sent", "size"), n_surveys=("sent", "sum"),
                                    n_responses=("responded", "sum"))
    # responses with a CSAT score (what the study can use)
    with_csat = c.loc[c["sent"], ["agent_ix", "contact_id"]].merge(
        surveys[["contact_id", "csat"]], on="contact_id")
    per["n_csat"] = with_csat[with_csat["csat"].notna()].groupby("agent_ix").size()
    agents = agents.join(per)
    for col in ("n_contacts", "n_surveys", "n_responses", "n_csat"):
        agents[col] = agents[col].fillna(0).astype(int)
    honest = ~agents["steering"] & (agents["n_contacts"] > 0)
    pol = policy_truth(c)
    for p in pol:
        pol[p]["n_contacts"] = int((c["policy"] == p).sum())
        pol[p]["n_responses"] = int(((c["policy"] == p) & c["responded"]).sum())
        if pol[p]["class"] == "strongly harmful":
            assert pol[p]["effect_vs_average"] <= -0.3 and pol[p]["effect_vs_standard"] <= -0.3, (p, pol[p])
        if pol[p]["class"] == "mildly harmful":
            assert pol[p]["effect_vs_standard"] > -0.3, (p, pol[p])
    g_all = expected_csat(c["m"].to_numpy())
    truth = {
        "generator": GENERATOR,
        "version": VERSION,
        "seed": seed,
        "scale": scale,
        "definitions": {
            "agent effect": ("effect_j = mean_c g(b_c + a_j) - mean_k mean_c g(b_c + a_k): expected CSAT of the "
                             "period's average contact handled by agent j minus the average of that over all "
                             "agents (unweighted); c runs over all contacts of the period, b_c is contact c's "
                             "latent mean without its agent, g(m) = E[CSAT | latent mean m] computed exactly."),
            "policy effect_vs_average": ("mean_c g(m_c - pi_{p_c} + pi_p) - mean_c g(m_c): every contact of the "
                                         "period governed by policy p instead of its own, minus the period's "
                                         "actual expected CSAT."),
            "policy effect_vs_standard": ("mean_c g(m_c - pi_{p_c} + pi_p) - mean_c g(m_c - pi_{p_c}): every "
                                          "contact governed by p instead of the reference policy 'standard'."),
            "strongly harmful": "both policy effects <= -0.3 CSAT points",
            "harmless": "latent shift exactly 0 (effect_vs_standard exactly 0)",
            "steering": ("the agent withholds the survey invitation from most contacts that went badly "
                         f"(share still invited by the CSAT the customer would give: {STEER_KEEP})"),
        },
        "latent_model": {
            "ystar": "INTERCEPT + policy + product + channel + issue_type + customer + follow_up + agent + noise",
            "intercept": INTERCEPT, "thresholds": THRESHOLDS,
            "noise_mixture": [{"weight": w, "mean": mu, "sd": sd} for w, mu, sd in NOISE],
            "customer_sd": CUSTOMER_SD, "follow_up_penalty": FOLLOW_UP_PENALTY,
            "channels": {k: v[0] for k, v in CHANNELS.items()},
            "products": {k: v[0] for k, v in PRODUCTS.items()},
            "issue_types": {k: v[0] for k, v in ISSUES.items()},
            "sites": SITES,
        },
        "survey_model": {
            "invitation_logit_by_channel": {k: v[1] for k, v in CHANNELS.items()},
            "invitation_escalated_shift": SEND_ESCALATED,
            "invitation_agent_sd": SEND_AGENT_SD,
            "response_logit_by_channel": {k: v[2] for k, v in CHANNELS.items()},
            "response_shift_by_csat": RESP_BY_CSAT,
            "response_agent_sd": RESP_AGENT_SD,
            "steering_keep_by_csat": STEER_KEEP,
        },
        "summary": {
            "n_contacts": len(contacts), "n_surveys": len(surveys), "n_responses": int(r.sum()),
            "n_customers": int(c["customer_ix"].nunique()),
            "repeat_customer_share_of_contacts": float(c["customer_ix"].duplicated(keep=False).mean()),
            "follow_up_contacts": int(c["follow_up"].sum()),
            "mean_expected_csat": float(g_all.mean()),
            "csat_distribution_all_contacts": {int(k): float(v) for k, v in
                                               c["csat_potential"].value_counts(normalize=True).sort_index().items()},
            "csat_distribution_respondents": {int(k): float(v) for k, v in
                                              c.loc[c["responded"], "csat_potential"]
                                              .value_counts(normalize=True).sort_index().items()},
            "agent_effect_sd": float(eff.std()),
            "naive_binomial_flag_share_invitation": naive_flag_share(
                agents.loc[honest, "n_surveys"].to_numpy(), agents.loc[honest, "n_contacts"].to_numpy()),
            "naive_binomial_flag_share_response_per_survey": naive_flag_share(
                agents.loc[honest, "n_responses"].to_numpy(), agents.loc[honest, "n_surveys"].to_numpy()),
            "naive_binomial_flag_share_response_per_contact": naive_flag_share(
                agents.loc[honest, "n_responses"].to_numpy(), agents.loc[honest, "n_contacts"].to_numpy()),
            "agents_under_30_contacts": int((agents["n_contacts"] < 30).sum()),
            "agents_under_10_csat": int((agents["n_csat"] < 10).sum()),
        },
        "agents": [
            {"agent_id": a.agent_id, "team": a.team, "site": a.site, "tenure_months": float(a.tenure_months),
             "kind": a.kind, "effect": float(a.effect), "latent_effect": float(a.latent_effect),
             "expected_csat_average_contact": float(a.expected_csat_average_contact),
             "steering": bool(a.steering), "invitation_re": float(a.send_re), "response_re": float(a.resp_re),
             "n_contacts": int(a.n_contacts), "n_surveys": int(a.n_surveys), "n_responses": int(a.n_responses),
             "n_csat": int(a.n_csat)}
            for a in agents.itertuples()
        ],
        "policies": pol,
    }
    agents_out = agents[["agent_id", "team", "site", "tenure_months"]]
    return contacts, surveys, agents_out, truth


def _iso(col: pd.Series) -> pd.Series:
    return col.dt.strftime("%Y-%m-%dT%H:%M:%S").where(col.notna(), "")


def write(out: Path, seed: int = 1, scale: float = 1.0, n_agents: int = 200) -> dict:
    contacts, surveys, agents, truth = simulate(seed=seed, scale=scale, n_agents=n_agents)
    out.mkdir(parents=True, exist_ok=True)
    contacts = contacts.copy()
    for col in ("opened_at", "closed_at"):
        contacts[col] = _iso(pd.to_datetime(contacts[col]))
    for col in ("resolved_first_contact", "repeat_within_7d", "escalated"):
        contacts[col] = contacts[col].map({True: "true", False: "false"})
    surveys = surveys.copy()
    for col in ("sent_at", "responded_at"):
        surveys[col] = _iso(pd.to_datetime(surveys[col]))
    contacts.to_csv(out / "contacts.csv", index=False)
    surveys.to_csv(out / "surveys.csv", index=False)
    agents.to_csv(out / "agents.csv", index=False)
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0, help="contacts and customers x this (tests)")
    ap.add_argument("--agents", type=int, default=200)
    args = ap.parse_args(argv)
    truth = write(args.out, seed=args.seed, scale=args.scale, n_agents=args.agents)
    s = truth["summary"]
    print(f"{args.out}: {s['n_contacts']} contacts, {s['n_surveys']} surveys, {s['n_responses']} responses, "
          f"{len(truth['agents'])} agents "
          f"(steering: {', '.join(a['agent_id'] for a in truth['agents'] if a['steering'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
