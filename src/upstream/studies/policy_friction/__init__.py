"""Policy friction: what the rules cost, whoever handles the contact. Per policy, the effects on CSAT, NPS,
repeat contacts and escalation with the agent held fixed; the goodwill-credit cap and how CSAT follows the
amount; and the words that tie customers' comments to each policy.

    csat    = steps.policy_model(ds, params, cache)            # shared with agent_vs_system
    nps     = steps.nps_model(ds, cache)                       # clmm, AME in NPS points
    repeat  = steps.rate_model(ds, cache, "repeat_within_7d")  # glmer on all contacts, AME in pp
    credit  = pile_up(...), dose_response(...), cap_neighbours(...)
    words   = distinctive_words(redacted comments, policy)     # Fightin' Words

With DuckDB or Spark the words are counted per policy in SQL (``analysis.comment_words``), the credit analysis
comes from credited contacts counted per amount × CSAT and the dose–response from per-agent sums
(``analysis.credit_sums``), and the policy effects from the shared steps' SQL paths.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ...analysis import credit, credit_sums, margins
from ...analysis.comment_words import distinctive_words_from_sql
from ...analysis.words import DistinctiveWords, distinctive_words, words_from_counts
from ...data.frames import CONTACT_MIX, invitations
from ...data.sql import credit as sql_credit
from ...data.sql.comments import has_comments
from ...reporting.privacy import redact_comment
from .. import steps
from ..agent_vs_system.plots import level_effects
from ..agent_vs_system.sentences import policy_sentence
from ..allowed import allowed
from ..base import Parameters, RunCache, StudyDeclaration, StudyResult
from . import display, plots
from . import sentences as say

NAME = "policy_friction"
TITLE = "Policy friction: what the rules cost, whoever handles the contact"
GROUP = "Operations"
POLICY = "policy"
RATES = {"repeat": "repeat_within_7d", "escalation": "escalated"}


@dataclass(frozen=True)
class FrictionValues:
    """What the page and notebook quote: the policy effects per outcome, the credit analysis (None without
    credits), the distinctive words per policy and the outcome's units."""

    effects: dict
    credit: credit.CreditAnalysis | None
    words: DistinctiveWords
    units: object


@dataclass(frozen=True)
class FrictionParameters(Parameters):
    """The study parameters plus: cap_min_share — the share of credited contacts one amount must hold to
    count as a pile-up; min_comments — policies with fewer comments get no word list; words_shown —
    words listed per policy."""

    cap_min_share: float = field(default=0.05, metadata=allowed("number", 0, 1, low_open=True, high_open=True))
    min_comments: int = field(default=20, metadata=allowed("whole number", 1))
    words_shown: int = field(default=5, metadata=allowed("whole number", 1))

    @classmethod
    def from_mapping(cls, values: dict | None = None, **more) -> "FrictionParameters":
        return super().from_mapping(values, **more)


def policy_outcomes(ds, params: Parameters, cache: RunCache) -> tuple[dict, dict]:
    """Per outcome the data set records, the policy effects against the average contact, and the fits."""
    return steps.outcome_effects(ds, params, cache, POLICY, RATES,
                                 {"csat": "CSAT policy model", "nps": "NPS model",
                                  **{name: f"{name.capitalize()} model" for name in RATES}})


def credit_analysis(ds, inv: pd.DataFrame, params: FrictionParameters, linear: bool) -> credit.CreditAnalysis:
    """Pile-up (cap), dose–response with the at-cap term (on a linear CSAT scale), the raw comparison at
    and just below the cap, and CSAT by band of amount."""
    pile = credit.pile_up(ds.contacts["credit_issued"].fillna(0), params.cap_min_share)
    cap = pile.value if pile.is_cap else None
    rep = credit.credited_replies(inv, cap)
    enough = linear and len(rep) >= 30
    dose = steps.quietly(lambda: credit.dose_response(rep, CONTACT_MIX, cap is not None)) if enough else None
    near = credit.cap_neighbours(rep, cap) if cap is not None and linear else None
    bands = credit.amount_bands(ds.contacts, inv, cap) if pile.n_credited and linear else pd.DataFrame()
    return credit.CreditAnalysis(pile=pile, cap=cap, dose=dose, near=near, bands=bands)


def policy_sentences(ds, effects: dict, stacked: pd.DataFrame, units) -> list[str]:
    """Key findings about the policies: CSAT, NPS, repeat contacts, escalation (those recorded)."""
    if not effects:
        only = sql_credit.first_value(ds, POLICY) if steps.in_sql(ds) else ds.contacts[POLICY].iloc[0]
        return [f"Every contact is governed by one policy ('{only}'), so there are no policy differences to "
                "estimate."]
    out = [policy_sentence(effects["csat"], units)]
    if "nps" in effects:
        out.append(say.nps_policy_sentence(stacked.loc["nps"]))
    out.append(say.repeat_sentence(stacked.loc["repeat"]) if "repeat" in effects else "")
    out.append(say.escalation_sentence(stacked.loc["escalation"]) if "escalation" in effects else "")
    return out


def policy_words(ds, params: FrictionParameters, several: bool) -> DistinctiveWords:
    """The distinctive words of each policy's comments (none with a single policy): from the rows, or counted
    in SQL with only the comments redaction could change read in batches (``analysis.comment_words``)."""
    if steps.in_sql(ds):
        if not several or not has_comments(ds):
            return words_from_counts({}, pd.Series(dtype="int64"), params.min_comments, params.words_shown)
        return distinctive_words_from_sql(ds, POLICY, redact_comment, params.min_comments, params.words_shown)
    inv = invitations(ds)
    commented = inv[inv["responded"] & inv["comment"].notna()] if several else inv.iloc[:0]
    return distinctive_words(commented["comment"].map(redact_comment), commented[POLICY], params.min_comments,
                             params.words_shown)


def money_analysis(ds, params: FrictionParameters, linear: bool) -> credit.CreditAnalysis | None:
    """The credit analysis when the data set records credit: from the rows, or from counts and sums in SQL."""
    if not steps.recorded(ds, "credit_issued"):
        return None
    if steps.in_sql(ds):
        return steps.quietly(lambda: credit_sums.credit_analysis(ds, params, linear, CONTACT_MIX))
    return credit_analysis(ds, invitations(ds), params, linear)


def credit_sentences(ds, money: credit.CreditAnalysis | None, scale) -> list[str]:
    """Key findings about goodwill credit, or why there are none."""
    if money is None:
        return ["This data set does not record goodwill credit, so there is no cap or dose–response to examine."]
    out = [say.cap_sentence(money.pile)]
    if not scale.linear and money.pile.n_credited:
        return out + [f"On a {scale.points}-point CSAT scale the dose–response of credit is not estimated (it needs a "
                      "score that can be averaged)."]
    return out + [say.dose_sentence(money.dose), say.cap_effect_sentence(money.dose, money.near)]


def run(ds, params: FrictionParameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """The policy_friction study on a validated data set."""
    params = params if isinstance(params, FrictionParameters) else FrictionParameters.from_mapping(params)
    cache = cache or RunCache()
    scale = steps.csat_scale(ds)
    several = len(steps.contact_counts(ds, POLICY)) >= 2
    effects, fits = policy_outcomes(ds, params, cache) if several else ({}, {})
    money = money_analysis(ds, params, scale.linear)
    words = policy_words(ds, params, several)
    if money and money.dose is not None:
        fits["Credit model"] = money.dose.fit
    health = [*steps.sql_level_notes(ds, cache, fits.get("CSAT policy model"), POLICY,
                                     {f"{name.capitalize()} model": column for name, column in RATES.items()
                                      if f"{name.capitalize()} model" in fits},
                                     "NPS model" if "NPS model" in fits else None),
              *(line for label, fit in fits.items() for line in steps.fit_health(label, fit))]
    csat_unit = ("percentage points", 100.0) if scale.is_binary else ("CSAT points", 1.0)
    stacked = margins.stack_effects(effects, POLICY, csat_unit) if effects else pd.DataFrame()
    findings = [*policy_sentences(ds, effects, stacked, steps.units(scale)), *credit_sentences(ds, money, scale),
                say.words_sentence(words), *health]
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         findings=[f for f in findings if f], health=health, fits=fits)
    result.tables = {**({"policy_outcomes": stacked} if effects else {}),
                     "policy_words": words.table.set_index(["group", "rank"]).rename_axis([POLICY, "rank"])}
    if money:
        result.tables.update({"credit_pile_up": money.pile.as_table(), "credit_dose_response": dose_table(money.dose),
                              "credit_bands": money.bands})
        if money.near is not None:
            result.tables["credit_cap_neighbours"] = money.near.rename_axis("group")
    result.values = FrictionValues(effects=effects, credit=money, words=words, units=steps.units(scale))
    result.figures = {**(figures(stacked, steps.units(scale)) if effects else {}), **credit_figure(money)}
    return result


def dose_table(dose: credit.DoseResponse | None) -> pd.DataFrame:
    """tables/credit_dose_response.csv: one row per term (per_doubling, at_cap) with n (no rows without a fit)."""
    return dose.table if dose is not None else credit.dose_terms({}, 0)


def figures(stacked: pd.DataFrame, units) -> dict:
    csat = stacked.loc["csat"].dropna(subset=["effect"])
    worst = csat["effect"].idxmin()
    unit = csat["unit"].iloc[0]
    size = f"{abs(csat.loc[worst, 'effect']):.2f} points" if unit == "CSAT points" else \
        f"{abs(csat.loc[worst, 'effect']):.1f} {unit}"
    out = {"csat": level_effects(csat, POLICY, f"'{worst}' costs {size} of {units.outcome} against the average "
                                                     "contact" if csat.loc[worst, "upper_adj"] < 0
                                       else f"No policy lowers {units.outcome} beyond what chance allows")}
    if "repeat" in stacked.index.get_level_values(0):
        repeat = stacked.loc["repeat"]
        top = repeat["effect"].idxmax()
        out["repeat"] = plots.outcome_effects(
            repeat, f"'{top}' drives repeat contacts: {repeat.loc[top, 'effect']:+.1f} percentage points"
            if repeat.loc[top, "lower_adj"] > 0 else "No policy raises repeat contacts beyond chance",
            "Repeat contact within 7 days, percentage points against the average contact (family-wise 95% CI)")
    return out


def credit_figure(money: credit.CreditAnalysis | None) -> dict:
    if not money or not len(money.bands):
        return {}
    pile = money.pile
    title = (f"{pile.share:.0%} of credited contacts sit at the cap of {pile.value:.2f}" if pile.is_cap
             else "Credited amounts show no cap")
    return {"credit": plots.credit_bands(money.bands, title)}


#: The study, declared once: the runner, the notebook test and `upstream studies` read it from here.
STUDY = StudyDeclaration(
    name=NAME, title=TITLE, group=GROUP, parameters=FrictionParameters, run=run, page=display.page,
    tables=("policy_outcomes", "policy_words", "credit_pile_up", "credit_dose_response", "credit_bands",
            "credit_cap_neighbours"),
    engines=("pandas", "duckdb", "spark"))
