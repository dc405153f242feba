"""A simulated support operation with known truth.

`simulate(spec)` returns the three canonical tables (contacts, surveys, agents; see data/README.md)
and a `truth` dict with every effect the generator used, so that each study can be checked against
what really happened. The generating model, on a latent satisfaction scale η (logit units):

    η_i = agent_j + policy + product + channel + issue_type + customer
          − 0.8·unresolved_i − 0.3·escalated_i + 0.25·credited_i
    P(CSAT_i ≤ k) = logistic(θ_k − η_i),            k = 1..4
    P(NPS_i ≤ k)  = logistic(κ_k − 0.8·η_i − loyalty_customer)

    agent_j = skill_j + tenure_coef·log2(tenure_j / 12) − 0.8·rush_extra·[j rushes]

What a study should be able to see in the data:
- some policies are bad for every agent (refund above cap, warranty expired, ...);
- experienced agents are routed more of the hard policies and issue types (which also escalate
  more), so raw averages punish them;
- rushing agents have short handle times, resolve less on first contact and cause repeat contacts;
- very unhappy and very happy customers answer the survey more often (outcome-dependent response),
  and escalated, credited and repeat contacts answer more often (response depends on features too);
- agents differ in how often they send surveys and are answered for ordinary reasons (agent-level
  over-dispersion in both rates);
- a few agents steer surveys: unhappy customers' invitations are suppressed and happy ones nudged;
- a handful of agents have very few contacts and so very few survey replies.

`truth["agents"]` gives each agent's effect on the latent scale (`effect_latent`) and on the CSAT
scale (`effect_csat`: the change in expected CSAT, averaged over the whole contact mix, relative to
an agent of average effect — the quantity a linear mixed model's agent intercepts estimate; and
`effect_csat_respondents`, the same over the mix of contacts that got a reply), plus the agent's
ordinary shifts in sending and being answered (`invite_shift`, `response_shift`, logit scale).
`truth["policy_effect_csat"]` gives each policy's effect on expected CSAT against the average contact
of the period (every contact moved to that policy, against every contact as it was).

Handoffs (`handoff_share` > 0, `upstream simulate --handoffs`): that share of contacts (the harder
ones more often) is handled by two or three agents — the routed first-line agent, then one or two
others chosen by volume and, for hard contacts, experience (specialists and supervisors take
escalations). Each agent writes 1 + Poisson(1) public replies; the contact's latent satisfaction
carries Σ_g w_g·agent_g with w_g the agent's share of the replies, the last agent is the rating-time
`agent_id`, and `contact_agents` (contact_id, agent_id, weight) lists every agent with its weight.
Handoffs are drawn from their own random stream, so the other draws are the same as without them.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .handoffs import draw_handoffs
from .model import (
    CHANNELS,
    CREDIT_BONUS,
    CREDIT_DOSE,
    CSAT_THRESHOLDS,
    ESCALATION_PENALTY,
    ISSUE_TYPES,
    NPS_LOADING,
    NPS_THRESHOLDS,
    POLICIES,
    PRODUCTS,
    SITES,
    UNRESOLVED_PENALTY,
    logistic,
    ordinal_draw,
)
from .survey_process import survey_process, surveys_frame
from .truth import build_truth


@dataclass(frozen=True)
class OperationSpec:
    """Size and behaviour of the simulated operation. Defaults give the bundled sample."""

    n_contacts: int = 60_000
    n_agents: int = 150
    n_customers: int = 30_000
    n_teams: int = 10
    start: str = "2026-07-01"
    days: int = 91
    survey_send_rate: float = 0.9        # share of contacts that get a survey invitation
    response_rate: float = 0.15          # share of invitations answered (calibrated exactly in expectation)
    agent_sd: float = 0.5                # SD of agents' own skill, latent scale
    customer_sd: float = 0.5             # SD of customer effects, latent scale
    loyalty_sd: float = 0.6              # SD of customer loyalty (NPS only)
    tenure_coef: float = 0.1             # latent shift per doubling of tenure
    n_rushing: int = 12                  # agents who rush: shorter handle time, less first-contact resolution
    rush_extra_unresolved: float = 0.15  # added probability of an unresolved contact for rushers
    n_steering: int = 5                  # agents who steer surveys toward happy customers
    n_low_volume: int = 15               # agents with very few contacts (part-time, new)
    outcome_dependent_response: float = 1.0  # 0: response does not depend on satisfaction
    agent_invite_sd: float = 0.3         # ordinary agent-to-agent variation in sending surveys (logit SD)
    agent_response_sd: float = 0.3       # ordinary agent-to-agent variation in being answered (logit SD)
    mix_shift_to_easy: float = 0.35      # extra share of how-to contacts by the end of the period (a mix trend)
    speed_push_day: int | None = 46      # from this day on, a speed push: shorter handle times ...
    speed_push_factor: float = 0.85      # ... by this factor ...
    speed_push_unresolved: float = 0.05  # ... and this much more unresolved contacts (hence repeats)
    repeat_policy: str = "replacement part backorder"   # a policy that brings customers back
    repeat_policy_extra: float = 0.2     # extra probability of a repeat contact under it
    credit_cap: float = 50.0             # goodwill credit is capped here (a pile-up at one value)
    cap_penalty: float = -0.3            # latent effect of being at the cap (the customer wanted more)
    routing_strength: float = 1.0        # 0: contacts routed at random
    handoff_share: float = 0.0           # share of contacts handled by two or three agents (shared credit)
    seed: int = 20261123

    def replace(self, **changes) -> "OperationSpec":
        return dataclasses.replace(self, **changes)


PRESETS = {
    "sample": OperationSpec(),
    "small": OperationSpec(n_contacts=6_000, n_agents=40, n_customers=3_000, n_teams=4, n_rushing=4,
                           n_steering=2, n_low_volume=4, response_rate=0.3),
    "medium": OperationSpec(n_contacts=1_000_000, n_agents=5_000, n_customers=400_000, n_teams=200,
                            n_rushing=300, n_steering=100, n_low_volume=300, response_rate=0.15),
    # a year of a large support operation: 10M contacts, ~1.5M replies, 20,000 agents (partitioned Parquet)
    "large": OperationSpec(n_contacts=10_000_000, n_agents=20_000, n_customers=4_000_000, n_teams=400,
                           start="2026-01-01", days=365, response_rate=0.167, n_rushing=1_600, n_steering=400,
                           n_low_volume=1_200, speed_push_day=182),
}
#: Presets written month by month as partitioned Parquet (``partitioned.simulate_partitioned``).
PARTITIONED_PRESETS = ("large",)


@dataclass
class SimulatedOperation:
    contacts: pd.DataFrame
    surveys: pd.DataFrame
    agents: pd.DataFrame
    truth: dict = field(repr=False)
    contact_agents: pd.DataFrame | None = None      # with handoffs: every agent of a contact and its weight

    def write(self, out_dir) -> Path:
        """Write contacts.csv, surveys.csv, agents.csv and truth.json into `out_dir` (with handoffs also
        contact_agents.csv and a dataset.yaml saying the credit is shared by public replies)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        fmt = "%Y-%m-%dT%H:%M:%S"
        if self.contact_agents is not None:
            self.contact_agents.to_csv(out / "contact_agents.csv", index=False, float_format="%.17g")
            (out / "dataset.yaml").write_text(SHARED_CREDIT_YAML)
        for name in ("contacts", "surveys", "agents"):
            frame = getattr(self, name).copy()
            for col in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[col]):
                    frame[col] = frame[col].dt.strftime(fmt)
                elif pd.api.types.is_bool_dtype(frame[col]):
                    frame[col] = np.where(frame[col], "true", "false")
            frame.to_csv(out / f"{name}.csv", index=False, float_format="%.6g")
        (out / "truth.json").write_text(json.dumps(self.truth, indent=1, sort_keys=False) + "\n")
        return out


SHARED_CREDIT_YAML = """upstream_dataset: 1
attribution:
  rule: shared
  weights: public_replies
"""


def _draw(rng, table: dict, n: int, share_index=1):
    names = list(table)
    p = np.array([table[k][share_index] for k in names], dtype=float)
    idx = rng.choice(len(names), size=n, p=p / p.sum())
    return np.array(names, dtype=object)[idx], idx


def simulate(spec: OperationSpec | None = None, seed: int | None = None) -> SimulatedOperation:
    """Simulate a support operation; the same spec and seed always give the same tables."""
    spec = spec or OperationSpec()
    if seed is not None:
        spec = spec.replace(seed=seed)
    if spec.n_agents < 2 or spec.n_contacts < spec.n_agents:
        raise ValueError("a simulated operation needs at least 2 agents and as many contacts as agents")
    rng = np.random.default_rng(spec.seed)
    staff = draw_agents(spec, rng)
    contacts, surveys, draws = operate(spec, rng, staff, spec.n_contacts, (0, spec.days))
    truth = build_truth(draws)
    shared = draws.get("contact_agents")
    if shared is not None:
        truth["handoffs"] = {"share": spec.handoff_share,
                             "contacts_with_several_agents": int((shared.groupby("contact_id").size() > 1).sum())}
    return SimulatedOperation(contacts=contacts, surveys=surveys, agents=staff_table(staff), truth=truth,
                              contact_agents=shared)


def draw_agents(spec: OperationSpec, rng) -> dict:
    """The agents: ids, tenure, skill, volume, who is low-volume, rushes or steers, team, site, speed."""
    m = spec.n_agents
    agent_ids = np.array([f"A{j + 1:0{max(3, len(str(m)))}d}" for j in range(m)], dtype=object)
    tenure = np.clip(np.exp(rng.normal(np.log(18.0), 0.9, m)), 0.5, 180.0).round(1)
    skill = rng.normal(0.0, spec.agent_sd, m)
    volume = rng.gamma(5.0, 1.0, m)
    special = rng.permutation(m)
    low_volume = np.zeros(m, bool)
    low_volume[special[: spec.n_low_volume]] = True
    volume[low_volume] *= 0.04
    tenure[low_volume] = np.minimum(tenure[low_volume], rng.uniform(0.5, 4.0, low_volume.sum()).round(1))
    rushing = np.zeros(m, bool)
    rushing[special[spec.n_low_volume: spec.n_low_volume + spec.n_rushing]] = True
    steering = np.zeros(m, bool)
    s0 = spec.n_low_volume + spec.n_rushing
    steering[special[s0: s0 + spec.n_steering]] = True
    tenure_effect = spec.tenure_coef * np.log2(tenure / 12.0)
    rush_effect = UNRESOLVED_PENALTY * spec.rush_extra_unresolved * rushing
    team = np.array([f"Team {k + 1:02d}" for k in range(spec.n_teams)], dtype=object)[np.arange(m) % spec.n_teams]
    site = np.array(SITES, dtype=object)[rng.integers(0, len(SITES), m)]
    speed = np.exp(rng.normal(0.0, 0.15, m)) * np.where(rushing, 0.7, 1.0)
    return dict(agent_ids=agent_ids, tenure=tenure, skill=skill, volume=volume, low_volume=low_volume,
                rushing=rushing, steering=steering, tenure_effect=tenure_effect, rush_effect=rush_effect,
                agent_latent=skill + tenure_effect + rush_effect, team=team, site=site, speed=speed)


def staff_table(staff: dict) -> pd.DataFrame:
    """The agents table of `draw_agents`' agents."""
    return pd.DataFrame({"agent_id": staff["agent_ids"], "team": staff["team"], "site": staff["site"],
                         "tenure_months": staff["tenure"]})


def draw_customers(spec: OperationSpec, rng) -> dict:
    """Customers drawn once for an operation generated in chunks (`operate` draws them itself otherwise)."""
    cust_weight = rng.pareto(1.5, spec.n_customers) + 1.0
    return dict(p=cust_weight / cust_weight.sum(), effect=rng.normal(0.0, spec.customer_sd, spec.n_customers),
                loyalty=rng.normal(0.0, spec.loyalty_sd, spec.n_customers),
                ids=np.array([f"C{k + 1:06d}" for k in range(spec.n_customers)], dtype=object))


def draw_shifts(spec: OperationSpec, rng) -> dict:
    """Agents' ordinary shifts in sending surveys and being answered (logit scale)."""
    return dict(invite=rng.normal(0.0, spec.agent_invite_sd, spec.n_agents),
                response=rng.normal(0.0, spec.agent_response_sd, spec.n_agents))


def operate(spec: OperationSpec, rng, staff: dict, n: int, day_range: tuple[int, int], customers: dict | None = None,
            shifts: dict | None = None, first_contact: int = 0):
    """`n` contacts opened on days [day_range) of the period, their surveys and the draws the truth needs.
    `customers`/`shifts` None: drawn here, in the stream order of a one-piece operation (the bundled
    sample); given: drawn once for an operation generated in chunks (``partitioned``)."""
    m = spec.n_agents
    agent_ids, tenure, skill, volume = staff["agent_ids"], staff["tenure"], staff["skill"], staff["volume"]
    rushing, steering, team, speed = staff["rushing"], staff["steering"], staff["team"], staff["speed"]
    tenure_effect = staff["tenure_effect"]

    # --- contacts: when, and what the contact is about ------------------------------------------
    day = rng.integers(day_range[0], day_range[1], n)
    policy, policy_idx = _draw(rng, POLICIES, n)
    product, product_idx = _draw(rng, PRODUCTS, n)
    channel, channel_idx = _draw(rng, CHANNELS, n)
    issue, issue_idx = _draw(rng, ISSUE_TYPES, n)
    # the mix drifts toward easy contacts: by the end, an extra `mix_shift_to_easy` share are how-to
    easy = rng.random(n) < spec.mix_shift_to_easy * day / max(spec.days - 1, 1)
    issue_idx = np.where(easy, list(ISSUE_TYPES).index("how-to"), issue_idx)
    issue = np.array(list(ISSUE_TYPES), dtype=object)[issue_idx]
    policy_eff, product_eff, channel_eff, issue_eff = (np.array([v[0] for v in levels.values()])
                                                       for levels in (POLICIES, PRODUCTS, CHANNELS, ISSUE_TYPES))
    issue_cx = np.array([v[2] for v in ISSUE_TYPES.values()])
    complexity = -policy_eff[policy_idx] + issue_cx[issue_idx]          # hard contacts

    customer_idx, customer_eff, loyalty, customer_ids = _customers(spec, rng, n, customers)

    agent_idx = _route(spec, rng, n, complexity, tenure, volume)

    # --- what happened on the contact ----------------------------------------------------------
    pushed = (day >= spec.speed_push_day) if spec.speed_push_day is not None else np.zeros(n, bool)
    escalated, unresolved, repeat = _resolution(spec, rng, n, complexity, rushing[agent_idx], pushed, policy)
    credited, credit, at_cap, credit_effect = _credits(spec, rng, n, policy_eff[policy_idx], escalated)
    base_ht = np.array([v[2] for v in CHANNELS.values()])[channel_idx]
    handle = base_ht * np.exp(0.25 * complexity + 0.35 * rng.standard_normal(n) + 0.3 * escalated) * speed[agent_idx]
    handle = np.round(handle * np.where(pushed, spec.speed_push_factor, 1.0), 0)
    n_inter = 1 + rng.poisson(np.clip(0.4 + 0.5 * complexity + 0.8 * unresolved + 0.5 * (channel == "email"),
                                      0.05, None))
    opened, closed = _contact_times(spec, rng, n, day, handle, channel)

    # --- satisfaction ---------------------------------------------------------------------------
    eta_system = (policy_eff[policy_idx] + product_eff[product_idx] + channel_eff[channel_idx]
                  + issue_eff[issue_idx] + customer_eff[customer_idx]
                  + UNRESOLVED_PENALTY * unresolved + ESCALATION_PENALTY * escalated + credit_effect)
    shared_part, agent_idx, members = _handoffs(spec, staff, agent_idx, complexity, n)
    # rushing acts through `unresolved`; with handoffs Σ_g w_g agent_g, and the rated agent is the last
    eta = eta_system + skill[agent_idx] + tenure_effect[agent_idx] if members is None else eta_system + shared_part
    csat = ordinal_draw(rng, eta, CSAT_THRESHOLDS)
    nps = ordinal_draw(rng, NPS_LOADING * eta + loyalty[customer_idx], NPS_THRESHOLDS) - 1

    shifts = draw_shifts(spec, rng) if shifts is None else shifts
    survey = survey_process(spec, rng, n, shifts, agent_idx, steering, csat, channel_idx, escalated, credited,
                            repeat, closed, policy, product)

    contact_ids = np.array([f"K{i + 1:07d}" for i in range(first_contact, first_contact + n)], dtype=object)
    contacts = _contacts_frame(dict(
        contact_id=contact_ids, opened_at=opened, closed_at=closed, agent_id=agent_ids[agent_idx],
        team=team[agent_idx], channel=channel, policy=policy, product=product, issue_type=issue,
        customer_id=customer_ids[customer_idx], handle_time_sec=handle, n_interactions=n_inter.astype(np.int64),
        resolved_first_contact=~unresolved, repeat_within_7d=repeat, escalated=escalated, credit_issued=credit))
    surveys = surveys_frame(contact_ids, survey, csat, nps)
    # --- truth ------------------------------------------------------------------------------------
    draws = dict(spec=spec, rng=rng, n=n, m=m, agent_ids=agent_ids, agent_idx=agent_idx, skill=skill,
                 tenure_effect=tenure_effect, rush_effect=staff["rush_effect"], agent_latent=staff["agent_latent"],
                 rushing=rushing, steering=steering, low_volume=staff["low_volume"],
                 invite_shift=survey["invite_shift"], response_shift=survey["response_shift"],
                 eta_system=eta_system, csat=csat, nps=nps, csat_answered=survey["csat_answered"], policy=policy,
                 policy_idx=policy_idx, policy_eff=policy_eff, channel=channel, channel_idx=channel_idx,
                 channel_eff=channel_eff, issue=issue, day=day, opened=opened, pushed=pushed, handle=handle,
                 repeat=repeat, credited=credited, credit=credit, at_cap=at_cap, intercept=survey["intercept"],
                 contact_agents=None if members is None else pd.DataFrame({
                     "contact_id": contact_ids[members["contact"]], "agent_id": agent_ids[members["agent"]],
                     "weight": members["weight"]}),
                 shared_agent_part=None if members is None else eta - eta_system)
    return contacts, surveys, draws


def _resolution(spec: OperationSpec, rng, n: int, complexity: np.ndarray, rushing: np.ndarray, pushed: np.ndarray,
                policy: np.ndarray):
    """Whether each contact was escalated (more often when hard), left unresolved (hard, escalated, a rushing
    agent, the speed push) and came back within 7 days (mostly the unresolved ones, and the repeat policy)."""
    escalated = rng.random(n) < logistic(-3.0 + 1.0 * complexity)
    p_unresolved = np.clip(0.12 + 0.08 * complexity + 0.1 * escalated, 0.02, 0.85) \
        + spec.rush_extra_unresolved * rushing + spec.speed_push_unresolved * pushed
    unresolved = rng.random(n) < p_unresolved
    repeat_policy = policy == spec.repeat_policy
    repeat = ((unresolved & (rng.random(n) < 0.75)) | (rng.random(n) < 0.03)
              | (repeat_policy & (rng.random(n) < spec.repeat_policy_extra)))
    return escalated, unresolved, repeat


def _credits(spec: OperationSpec, rng, n: int, policy_effect: np.ndarray, escalated: np.ndarray):
    """Goodwill credit: whether a contact got one (more often under harsh policies and on escalations),
    the amount (log-normal around 25, capped), whether it hit the cap, and its effect on satisfaction
    (a bonus growing with log2 of the amount, less at the cap)."""
    credited = rng.random(n) < np.clip(0.05 + 0.1 * (policy_effect < -0.4) + 0.15 * escalated, 0, 1)
    credit = np.where(credited, np.minimum(np.round(np.exp(rng.normal(np.log(25.0), 0.8, n)), 2), spec.credit_cap), 0.0)
    at_cap = credited & (credit >= spec.credit_cap)
    credit_effect = np.where(credited, CREDIT_BONUS + CREDIT_DOSE * np.log2(np.maximum(credit, 0.01) / 25.0)
                             + spec.cap_penalty * at_cap, 0.0)
    return credited, credit, at_cap, credit_effect


def _contact_times(spec: OperationSpec, rng, n: int, day: np.ndarray, handle: np.ndarray, channel: np.ndarray):
    """When each contact opened (a time between 08:00 and 20:00 of its day) and closed (after its
    handle time and the customer's wait: hours for email, minutes otherwise)."""
    start = np.datetime64(spec.start + "T00:00:00")
    second = rng.integers(8 * 3600, 20 * 3600, n)
    opened = start + (day * 86400 + second).astype("timedelta64[s]")
    wait = np.where(channel == "email", rng.exponential(6 * 3600, n), rng.exponential(120, n))
    closed = opened + (handle + wait).round().astype("timedelta64[s]")
    return opened, closed


def _contacts_frame(columns: dict) -> pd.DataFrame:
    """The contacts table (the data model's column order), in the order the contacts opened."""
    return pd.DataFrame(columns).sort_values("opened_at", kind="stable").reset_index(drop=True)


def _customers(spec: OperationSpec, rng, n: int, customers: dict | None):
    """Each contact's customer (a skewed number of contacts each: repeat customers) and the customers'
    effects on CSAT and loyalty (NPS); drawn here unless ``customers`` holds them (chunked operations)."""
    if customers is None:
        cust_weight = rng.pareto(1.5, spec.n_customers) + 1.0
        customer_idx = rng.choice(spec.n_customers, size=n, p=cust_weight / cust_weight.sum())
        customer_eff = rng.normal(0.0, spec.customer_sd, spec.n_customers)
        loyalty = rng.normal(0.0, spec.loyalty_sd, spec.n_customers)
        customer_ids = np.array([f"C{k + 1:06d}" for k in range(spec.n_customers)], dtype=object)
    else:
        customer_idx = rng.choice(spec.n_customers, size=n, p=customers["p"])
        customer_eff, loyalty, customer_ids = customers["effect"], customers["loyalty"], customers["ids"]
    return customer_idx, customer_eff, loyalty, customer_ids


def _handoffs(spec: OperationSpec, staff: dict, routed: np.ndarray, complexity: np.ndarray, n: int):
    """With handoffs (``spec.handoff_share`` > 0): each contact's shared agent part Σ_g w_g (skill_g + tenure
    effect_g), its rating-time (last) agent and the member rows; without: (None, routed, None)."""
    if spec.handoff_share <= 0:
        return None, routed, None
    handoffs = draw_handoffs(spec, staff, routed, complexity, _z_tenure(staff["tenure"]))
    members, own = handoffs["members"], staff["skill"] + staff["tenure_effect"]
    part = np.bincount(members["contact"], weights=members["weight"] * own[members["agent"]], minlength=n)
    return part, handoffs["last"], members


def _z_tenure(tenure: np.ndarray) -> np.ndarray:
    """Agents' standardised log tenure (routing and handoffs favour experience on hard contacts)."""
    return (np.log(tenure) - np.log(tenure).mean()) / np.log(tenure).std()


def _route(spec: OperationSpec, rng, n: int, complexity: np.ndarray, tenure: np.ndarray, volume: np.ndarray):
    """Each contact's agent: by volume, experienced agents getting more of the hard contacts."""
    m = spec.n_agents
    z_tenure = _z_tenure(tenure)
    agent_idx = np.empty(n, dtype=np.int64)
    groups = pd.Series(np.round(complexity, 6)).groupby(np.round(complexity, 6)).indices
    for cx, rows in groups.items():
        w = volume * np.exp(spec.routing_strength * 0.8 * cx * z_tenure)
        agent_idx[rows] = rng.choice(m, size=len(rows), p=w / w.sum())
    return agent_idx


def truth_frame(truth: dict) -> pd.DataFrame:
    """The per-agent truth as a DataFrame indexed by agent_id."""
    return pd.DataFrame(truth["agents"]).set_index("agent_id")
