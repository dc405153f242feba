"""Policy friction: the rules no agent can fix. Per policy, the effects on CSAT, NPS, repeat contacts and
escalation with the agent held fixed; the goodwill-credit cap and how CSAT follows the amount; and the words
that tie customers' comments to each policy.

    csat    = steps.policy_model(ds, params, cache)            # shared with agent_vs_system
    nps     = steps.nps_model(ds, cache)                       # clmm, AME in NPS points
    repeat  = steps.rate_model(ds, cache, "repeat_within_7d")  # glmer on all contacts, AME in pp
    credit  = pile_up(...), dose_response(...), cap_neighbours(...)
    words   = distinctive_words(redacted comments, policy)     # Fightin' Words
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..analysis import binary, credit, margins, policies
from ..analysis.words import distinctive_words
from ..data.frames import CONTACT_MIX, invitations
from ..reporting import plots
from ..reporting import sentences as say
from ..reporting.privacy import redact_comment
from . import steps
from .base import ParameterError, Parameters, RunCache, StudyResult

NAME = "policy_friction"
TITLE = "Policy friction: the rules no agent can fix"
POLICY = "policy"
RATES = {"repeat": "repeat_within_7d", "escalation": "escalated"}


@dataclass(frozen=True)
class FrictionParameters(Parameters):
    """The study parameters plus: cap_min_share — the share of credited contacts one amount must hold to
    count as a pile-up; min_comments — policies with fewer comments get no word list; words_shown —
    words listed per policy."""

    cap_min_share: float = 0.05
    min_comments: int = 20
    words_shown: int = 5

    @classmethod
    def from_mapping(cls, values: dict | None = None, **more) -> "FrictionParameters":
        params = super().from_mapping(values, **more)
        if not 0 < params.cap_min_share < 1:
            raise ParameterError(f"cap_min_share must be between 0 and 1, got {params.cap_min_share}")
        return params


def policy_outcomes(ds, params: Parameters, cache: RunCache) -> tuple[dict, dict]:
    """Per outcome, the policy effects against the average contact, and the fits behind them."""
    csat_model = steps.policy_model(ds, params, cache, POLICY)
    nps_model = steps.nps_model(ds, cache)
    effects = {"csat": policies.level_effects(csat_model, ds.contacts),
               "nps": margins.nps_level_effects(nps_model, ds.contacts, POLICY)}
    fits = {"CSAT policy model": csat_model.fit, "NPS model": nps_model.fit}
    for outcome, column in RATES.items():
        model = steps.rate_model(ds, cache, column)
        effects[outcome] = binary.level_effects(model, ds.contacts, POLICY)
        fits[f"{outcome.capitalize()} model"] = model.fit
    return effects, fits


def credit_analysis(ds, inv: pd.DataFrame, params: FrictionParameters) -> dict:
    """Pile-up (cap), dose–response with the at-cap term, the raw comparison at and just below the cap,
    and CSAT by band of amount."""
    pile = credit.pile_up(ds.contacts["credit_issued"], params.cap_min_share)
    cap = pile["value"] if pile.get("is_cap") else None
    rep = credit.credited_replies(inv, cap)
    dose = steps.quietly(lambda: credit.dose_response(rep, CONTACT_MIX, cap is not None)) if len(rep) >= 30 else None
    near = credit.cap_neighbours(rep, cap) if cap is not None else None
    bands = credit.amount_bands(ds.contacts, inv, cap) if pile["n_credited"] else pd.DataFrame()
    return {"pile": pile, "cap": cap, "dose": dose, "near": near, "bands": bands}


def run(ds, params: FrictionParameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The policy_friction study on a validated data set."""
    params = params if isinstance(params, FrictionParameters) else FrictionParameters.from_mapping(params)
    cache = cache or RunCache()
    inv = invitations(ds)
    several = ds.contacts[POLICY].astype(str).nunique() >= 2
    effects, fits = policy_outcomes(ds, params, cache) if several else ({}, {})
    money = credit_analysis(ds, inv, params)
    commented = inv[inv["responded"] & inv["comment"].notna()] if several else inv.iloc[:0]
    words = distinctive_words(commented["comment"].map(redact_comment), commented[POLICY], params.min_comments,
                              params.words_shown)
    dose = money["dose"]
    if dose is not None:
        fits["Credit model"] = dose["fit"]
    health = [line for label, fit in fits.items() for line in steps.fit_health(label, fit)]
    if several:
        stacked = margins.stack_effects(effects, POLICY)       # rates in percentage points
        about_policies = [say.policy_sentence(effects["csat"]), say.nps_policy_sentence(stacked.loc["nps"]),
                          say.repeat_sentence(stacked.loc["repeat"]),
                          say.escalation_sentence(stacked.loc["escalation"])]
    else:
        stacked = pd.DataFrame()
        about_policies = [f"Every contact is governed by one policy ('{ds.contacts[POLICY].iloc[0]}'), so there are "
                          "no policy differences to estimate."]
    findings = [*about_policies, say.cap_sentence(money["pile"]), say.dose_sentence(dose),
                say.cap_effect_sentence(dose, money["near"]), say.words_sentence(words), *health]
    result = StudyResult(study=NAME, title=TITLE, period=steps.period(ds), parameters=params,
                         findings=[f for f in findings if f], health=health, fits=fits)
    result.tables = {**({"policy_effects": stacked} if several else {}),
                     "credit_pile_up": pd.DataFrame([money["pile"]]).set_index("value"),
                     "credit_dose_response": dose_table(dose), "credit_bands": money["bands"],
                     "policy_words": words.set_index(["group", "rank"]).rename_axis([POLICY, "rank"])}
    if money["near"] is not None:
        result.tables["credit_cap_neighbours"] = money["near"].rename_axis("group")
    result.values = {"effects": effects, "credit": money, "words": words}
    result.figures = figures(stacked, money) if several else credit_figure(money)
    return result


def dose_table(dose: dict | None) -> pd.DataFrame:
    """tables/credit_dose_response.csv: one row per term (per_doubling, at_cap) with n."""
    rows = {k: v for k, v in (dose or {}).items() if k in ("per_doubling", "at_cap")}
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=["estimate", "std_error", "df", "lower", "upper", "p_value"])
    table["n"] = dose["n"] if dose else 0
    table.index.name = "term"
    return table


def figures(stacked: pd.DataFrame, money: dict) -> dict:
    repeat = stacked.loc["repeat"]
    top = repeat["effect"].idxmax()
    csat = stacked.loc["csat"].dropna(subset=["effect"])
    worst = csat["effect"].idxmin()
    return {
        "csat": plots.level_effects(csat, POLICY, f"'{worst}' costs {abs(csat.loc[worst, 'effect']):.2f} CSAT points "
                                                   "against the average contact" if csat.loc[worst, "upper_adj"] < 0
                                    else "No policy lowers CSAT beyond what chance allows"),
        "repeat": plots.outcome_effects(repeat, f"'{top}' drives repeat contacts: {repeat.loc[top, 'effect']:+.1f} "
                                                "percentage points" if repeat.loc[top, "lower_adj"] > 0
                                        else "No policy raises repeat contacts beyond chance",
                                        "Repeat contact within 7 days, percentage points against the average contact "
                                        "(family-wise 95% CI)"),
        **credit_figure(money),
    }


def credit_figure(money: dict) -> dict:
    pile = money["pile"]
    if not len(money["bands"]):
        return {}
    title = (f"{pile['share']:.0%} of credited contacts sit at the cap of {pile['value']:.2f}" if pile["is_cap"]
             else "Credited amounts show no cap")
    return {"credit": plots.credit_bands(money["bands"], title)}
