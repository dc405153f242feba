"""What the simulated operation really did, in the units the studies report (truth.json).

Every effect is given on the latent (logit) scale the generator used and, where a study estimates it,
on the CSAT scale: the change in expected CSAT (E[CSAT | η] under the cumulative-logit model) over a
stated set of contacts. Counterfactuals move one ingredient and keep every contact's other ones.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..data.description import DEFAULT_CSAT
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
    UNRESOLVED_PENALTY,
    expected_csat,
)


def _counterfactual(eta, current, levels, effects) -> dict:
    """Per level: mean expected CSAT with every contact moved to that level, minus the mean as it was."""
    base = expected_csat(eta).mean()
    return {k: float(expected_csat(eta - effects[current] + effects[j]).mean() - base) for j, k in enumerate(levels)}


def agent_truth(d) -> list[dict]:
    """Agent effects on the CSAT scale over all contacts (what the agent does) and over the contacts
    with a CSAT reply (what replies can show when response depends on the score), against an agent of
    average latent effect."""
    rng, n, m = d["rng"], d["n"], d["m"]
    a = d["agent_latent"]
    base = d["eta_system"][rng.choice(n, size=min(n, 5000), replace=False)]
    ec = np.array([expected_csat(base + x).mean() for x in a])
    ref = expected_csat(base + a.mean()).mean()
    replied = np.flatnonzero(d["csat_answered"])
    base_r = d["eta_system"][rng.choice(replied, size=min(len(replied), 5000), replace=False)] if len(replied) else base
    ec_r = np.array([expected_csat(base_r + x).mean() for x in a])
    ref_r = expected_csat(base_r + a.mean()).mean()
    idx, csat = d["agent_idx"], d["csat"]
    counts = np.bincount(idx, minlength=m)
    mean_csat = np.bincount(idx, weights=csat, minlength=m) / np.maximum(counts, 1)
    return [{"agent_id": d["agent_ids"][j], "skill": float(d["skill"][j]),
             "tenure_effect": float(d["tenure_effect"][j]),
             "rush_effect": float(d["rush_effect"][j]), "effect_latent": float(a[j]),
             "effect_csat": float(ec[j] - ref), "effect_csat_respondents": float(ec_r[j] - ref_r),
             "invite_shift": float(d["invite_shift"][j]), "response_shift": float(d["response_shift"][j]),
             "rushing": bool(d["rushing"][j]), "steering": bool(d["steering"][j]),
             "low_volume": bool(d["low_volume"][j]),
             "n_contacts": int(counts[j]), "csat_mean_all_contacts": float(mean_csat[j])} for j in range(m)]


def trend_truth(d, eta_all) -> dict:
    """The change in expected CSAT from the first to the last month, and the part of it the drift of
    the issue-type mix explains: Σ_k (share_k,last − share_k,first) × E[CSAT | issue k, first month]
    (an Oaxaca–Blinder "explained" part with first-month expectations); the rest changed within the mix."""
    month = pd.Series(pd.to_datetime(d["opened"])).dt.strftime("%Y-%m").to_numpy()
    months = sorted(set(month))
    first, last = month == months[0], month == months[-1]
    g = expected_csat(eta_all)
    issue = d["issue"]
    share_first = pd.Series(issue[first]).value_counts(normalize=True)
    share_last = pd.Series(issue[last]).value_counts(normalize=True)
    mean_first = pd.Series(g[first]).groupby(issue[first]).mean()
    kinds = sorted(set(share_first.index) | set(share_last.index))
    mix = float(sum((share_last.get(k, 0.0) - share_first.get(k, 0.0)) * mean_first.get(k, 0.0) for k in kinds))
    total = float(g[last].mean() - g[first].mean())
    return {"months": months, "first_month": months[0], "last_month": months[-1],
            "expected_csat_first": float(g[first].mean()), "expected_csat_last": float(g[last].mean()),
            "expected_change": total, "mix_driven_change": mix, "within_mix_change": total - mix,
            "how_to_share_first": float(share_first.get("how-to", 0.0)),
            "how_to_share_last": float(share_last.get("how-to", 0.0))}


def speed_push_truth(d) -> dict | None:
    spec = d["spec"]
    if spec.speed_push_day is None:
        return None
    pushed, handle, repeat = d["pushed"], d["handle"], d["repeat"]
    date = (np.datetime64(spec.start) + np.timedelta64(spec.speed_push_day, "D")).astype(str)
    return {"day": spec.speed_push_day, "date": date, "handle_time_factor": spec.speed_push_factor,
            "extra_unresolved": spec.speed_push_unresolved,
            "mean_handle_time_before": float(handle[~pushed].mean()),
            "mean_handle_time_after": float(handle[pushed].mean()),
            "repeat_rate_before": float(repeat[~pushed].mean()), "repeat_rate_after": float(repeat[pushed].mean())}


def credit_truth(d, eta_all) -> dict:
    spec, credited, at_cap = d["spec"], d["credited"], d["at_cap"]
    cap_csat = (float((expected_csat(eta_all[at_cap]) - expected_csat(eta_all[at_cap] - spec.cap_penalty)).mean())
                if at_cap.any() else None)
    return {"cap": spec.credit_cap,
            "share_of_credited_at_cap": float(at_cap[credited].mean()) if credited.any() else 0.0,
            "cap_effect_latent": spec.cap_penalty, "cap_effect_csat": cap_csat, "bonus_at_25": CREDIT_BONUS,
            "dose_per_doubling": CREDIT_DOSE}


def build_truth(d) -> dict:
    spec = d["spec"]
    shared_part = d.get("shared_agent_part")                          # handoffs: Σ_g w_g agent_g per contact
    if shared_part is None:
        eta_all = d["eta_system"] + d["skill"][d["agent_idx"]] + d["tenure_effect"][d["agent_idx"]]
    else:
        eta_all = d["eta_system"] + shared_part
    csat, nps, answered = d["csat"], d["nps"].astype(float), d["csat_answered"]
    policy, channel, repeat = d["policy"], d["channel"], d["repeat"]
    under = policy == spec.repeat_policy
    return {
        "description": "Effects used by upstream.simulate; latent = logit scale of the cumulative-logit CSAT model.",
        "population": {   # every contact's CSAT and NPS, answered or not (what full response would show)
            "csat_mean": float(csat.mean()), "csat_top_box": float(DEFAULT_CSAT.in_top_box(csat).mean()),
            "csat_mean_respondents": float(csat[answered].mean()) if answered.any() else None,
            "nps": float(100 * ((nps >= 9).mean() - (nps <= 6).mean())),
            "csat_mean_by_channel": {k: float(csat[channel == k].mean()) for k in CHANNELS},
            "csat_mean_by_policy": {k: float(csat[policy == k].mean()) for k in POLICIES},
        },
        "spec": {k: v for k, v in dataclasses.asdict(spec).items() if k != "handoff_share" or v},
        "csat_thresholds": list(CSAT_THRESHOLDS), "nps_thresholds": list(NPS_THRESHOLDS), "nps_loading": NPS_LOADING,
        "contact_effects": {"unresolved": UNRESOLVED_PENALTY, "escalated": ESCALATION_PENALTY,
                            "credited": CREDIT_BONUS},
        "policy": {k: v[0] for k, v in POLICIES.items()},
        "policy_effect_csat": _counterfactual(eta_all, d["policy_idx"], list(POLICIES), d["policy_eff"]),
        "product": {k: v[0] for k, v in PRODUCTS.items()},
        "channel": {k: v[0] for k, v in CHANNELS.items()},
        "channel_effect_csat": _counterfactual(eta_all, d["channel_idx"], list(CHANNELS), d["channel_eff"]),
        "issue_type": {k: v[0] for k, v in ISSUE_TYPES.items()},
        "customer_sd": spec.customer_sd, "agent_sd": spec.agent_sd,
        "trend": trend_truth(d, eta_all),
        "speed_push": speed_push_truth(d),
        "repeat_policy": {"policy": spec.repeat_policy, "extra_probability": spec.repeat_policy_extra,
                          "repeat_rate_under": float(repeat[under].mean()) if under.any() else None,
                          "repeat_rate_others": float(repeat[~under].mean())},
        "credit": credit_truth(d, eta_all),
        "response_model": {"intercept": float(d["intercept"]),
                           "csat_terms": dict(zip("12345", [1.0, 0.3, -0.3, 0.0, 0.5])),
                           "outcome_dependence": spec.outcome_dependent_response,
                           "channel": dict(zip(CHANNELS, [0.0, 0.2, -0.4, 0.1])),
                           "escalated": 0.3, "credited": 0.2, "repeat_within_7d": 0.3,
                           "steering_nudge_if_csat_4_5": 0.9, "steering_send_factor_if_csat_1_3": 0.35},
        "agents": agent_truth(d),
    }
