"""Goodwill credit: is there a cap, and does satisfaction follow the amount?

- `pile_up`: the amount most credited contacts received, and whether it is a point mass — a pile-up
  at one value that a smooth distribution of amounts would not produce — found without being told any
  cap. The expected count at one value under a smooth distribution is the count of credited contacts
  in the window [v/1.25, v) just below it divided by the number of values the amounts' resolution
  allows there (cents, or whole units when no amount has cents); the pile-up is a point mass when it
  holds at least `min_share` of credited contacts and a Poisson test against that expectation gives
  p < 0.001. It is a *cap* when, in addition, at most 1% of credited contacts received more.
- `dose_response`: among credited contacts with a CSAT reply, the linear mixed model
  `csat ~ log2(credit) + at_cap + policy + product + channel + issue_type + escalated + unresolved
  + (1 | agent_id)`: `per_doubling` is the change in CSAT points per doubling of the credit, and
  `at_cap` how much lower (or higher) contacts at the cap score than the dose–response line predicts
  for that amount — a comparison with the contacts just below the cap that allows for the small
  difference in amount. Escalation and first-contact resolution are held fixed because larger credits
  tend to go to worse problems. Satterthwaite intervals.
- `cap_neighbours`: the raw version of that comparison — mean CSAT at the cap and in the half-doubling
  just below it ([cap/√2, cap)), with t intervals and a Welch interval for the difference.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import stats

from ..data.model_formula import model_formula, present_mix
from ..models import lmer
from ..survey import wilson_interval
from .results import AnalysisResult, result

#: Share of credited contacts above a point mass that still lets it count as a cap.
ABOVE_CAP_TOLERANCE = 0.01
#: The dose–response terms, in the order of tables/credit_dose_response.csv.
DOSE_TERMS = {"per_doubling": "log2_credit", "at_cap": "at_cap"}
DOSE_COLUMNS = ["estimate", "std_error", "df", "lower", "upper", "p_value"]


@result
class PileUp(AnalysisResult):
    """Credit pile-up: the amount most credited contacts received, and whether it is a point mass or a cap."""

    value: float              # the most common credited amount (NaN: nothing credited)
    n_credited: int           # credited contacts
    count: int                # credited contacts that received ``value``
    share: float              # count / n_credited, with its Wilson interval
    share_of_contacts: float  # count / every contact
    share_lower: float
    share_upper: float
    expected_count: float     # contacts on one value that a smooth spread of amounts would give there
    p_value: float            # Poisson test of count against expected_count
    above_share: float        # credited contacts that received more than ``value``
    resolution: float         # 0.01 (amounts with cents) or 1.0 (whole units)
    point_mass: bool          # a pile-up at one value (see the module docstring)
    is_cap: bool              # a point mass with (almost) nothing above it

    def as_table(self) -> pd.DataFrame:
        """tables/credit_pile_up.csv: one row indexed by value."""
        row = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return pd.DataFrame([row]).set_index("value")


@result
class DoseResponse(AnalysisResult):
    """Credit dose–response: CSAT per doubling of the credit, and at the cap against that line."""

    table: pd.DataFrame    # per term (per_doubling, at_cap): estimate, std_error, df, lower, upper, p_value, n
    n: int                 # credited contacts with a CSAT reply in the fit
    fit: object            # the lmer fit

    def term(self, name: str) -> pd.Series | None:
        """One term's row (``per_doubling`` or ``at_cap``), or None when the model has no such term."""
        return self.table.loc[name] if name in self.table.index else None


def pile_up(credit: pd.Series, min_share: float = 0.05, level: float = 0.95) -> PileUp:
    """The largest pile-up of credited amounts: value, count, share of credited contacts (with a Wilson
    interval), share_of_contacts (of every contact in `credit`), expected_count at one value under a
    smooth distribution, p_value (Poisson), above_share (credited contacts with more), point_mass and
    is_cap (see the module docstring), n_credited."""
    amounts = credit[credit > 0].astype(float).round(2)
    return pile_up_from_counts(amounts.value_counts(), len(credit), min_share, level)


def pile_up_from_counts(counts: pd.Series, n_contacts: int, min_share: float = 0.05, level: float = 0.95) -> PileUp:
    """``pile_up`` from the credited contacts per amount (rounded to cents; most common first) and the number of
    contacts."""
    n = int(counts.sum())
    if n == 0:
        return PileUp(n_credited=0, point_mass=False, is_cap=False, value=np.nan, count=0, share=np.nan,
                      share_of_contacts=0.0, share_lower=np.nan, share_upper=np.nan, expected_count=np.nan,
                      p_value=np.nan, above_share=np.nan, resolution=np.nan)
    value, count = float(counts.index[0]), int(counts.iloc[0])
    amounts, k = counts.index.to_numpy(float), counts.to_numpy(np.int64)
    resolution = 0.01 if (np.abs(amounts * 100 - np.round(amounts) * 100) > 0.5).any() else 1.0
    below = int(k[(amounts >= value / 1.25) & (amounts < value)].sum())
    slots = max(1.0, (value - value / 1.25) / resolution)
    expected = max(below / slots, 1.0 / slots)
    p = float(stats.poisson.sf(count - 1, expected))
    lo, hi = wilson_interval(count, n, level)
    share = count / n
    above = float(k[amounts > value].sum() / n)
    point = bool(share >= min_share and p < 0.001)
    return PileUp(n_credited=n, value=value, count=count, share=share, share_of_contacts=count / n_contacts,
                  share_lower=float(lo), share_upper=float(hi), expected_count=expected, p_value=p,
                  above_share=above, resolution=resolution, point_mass=point,
                  is_cap=bool(point and above <= ABOVE_CAP_TOLERANCE))


def credited_replies(inv: pd.DataFrame, cap: float | None) -> pd.DataFrame:
    """Credited invitations with a CSAT reply, with log2_credit, at_cap, escalated and unresolved as 0/1."""
    rep = inv[inv["responded"] & inv["csat"].notna() & (inv["credit_issued"] > 0)].copy()
    rep["csat"] = rep["csat"].astype(float)
    rep["log2_credit"] = np.log2(rep["credit_issued"].astype(float))
    rep["at_cap"] = (rep["credit_issued"].round(2) >= cap).astype(float) if cap is not None else 0.0
    rep["escalated_"] = rep["escalated"].astype(float)
    rep["unresolved_"] = (~rep["resolved_first_contact"].astype(bool)).astype(float)
    return rep


def dose_response(rep: pd.DataFrame, mix, with_cap: bool, level: float = 0.95) -> DoseResponse:
    """The dose–response model (module docstring) on `credited_replies`: fit, n, and per term
    (per_doubling, at_cap) estimate, std_error, df, lower, upper, p_value."""
    extra = present_mix(rep, ("escalated_", "unresolved_"))
    terms = ["log2_credit"] + (["at_cap"] if with_cap else []) + [*extra, *present_mix(rep, mix)]
    return dose_from_fit(lmer(model_formula("csat", terms), rep), level)


def dose_from_fit(fit, level: float = 0.95) -> DoseResponse:
    """The dose–response terms (per_doubling, at_cap) of a fitted dose–response model."""
    names = list(fit.fixef.index)
    rows = {}
    for name, term in DOSE_TERMS.items():
        if term in names:
            test = fit.contrast(np.eye(len(names))[names.index(term)])
            half = stats.t.ppf(0.5 + level / 2, test["df"]) * test["std_error"]
            rows[name] = {"estimate": float(test["estimate"]), "std_error": float(test["std_error"]),
                          "df": float(test["df"]), "lower": float(test["estimate"] - half),
                          "upper": float(test["estimate"] + half), "p_value": float(test["p_value"])}
    return DoseResponse(table=dose_terms(rows, int(fit.nobs)), n=int(fit.nobs), fit=fit)


def dose_terms(rows: dict, n: int) -> pd.DataFrame:
    """tables/credit_dose_response.csv: one row per term (per_doubling, at_cap) with n."""
    table = pd.DataFrame.from_dict(rows, orient="index", columns=DOSE_COLUMNS)
    table["n"] = n
    table.index.name = "term"
    return table


def cap_neighbours(rep: pd.DataFrame, cap: float, level: float = 0.95) -> pd.DataFrame:
    """Mean CSAT at the cap and just below it ([cap/√2, cap)), and the difference (at cap − below):
    rows 'at cap', 'just below', 'difference'; columns n, mean, lower, upper (t / Welch)."""
    at = rep.loc[rep["credit_issued"].round(2) >= cap, "csat"]
    near = rep.loc[(rep["credit_issued"] >= cap / np.sqrt(2)) & (rep["credit_issued"].round(2) < cap), "csat"]
    rows = {}
    for name, y in (("at cap", at), ("just below", near)):
        se = y.std(ddof=1) / np.sqrt(len(y)) if len(y) > 1 else np.nan
        q = stats.t.ppf(0.5 + level / 2, len(y) - 1) if len(y) > 1 else np.nan
        rows[name] = {"n": len(y), "mean": y.mean(), "lower": y.mean() - q * se, "upper": y.mean() + q * se}
    if len(at) > 1 and len(near) > 1:
        va, vb = at.var(ddof=1) / len(at), near.var(ddof=1) / len(near)
        df = (va + vb) ** 2 / (va ** 2 / (len(at) - 1) + vb ** 2 / (len(near) - 1))
        d, half = at.mean() - near.mean(), stats.t.ppf(0.5 + level / 2, df) * np.sqrt(va + vb)
        rows["difference"] = {"n": len(at) + len(near), "mean": d, "lower": d - half, "upper": d + half}
    return pd.DataFrame.from_dict(rows, orient="index")


def band_of(amount: pd.Series, edges: np.ndarray, cap: float | None) -> pd.Series:
    """Each amount's band: 'low–high' between consecutive `edges` below the cap (the last band closed), or
    'at cap (…)'; NA for an amount in no band."""
    band = pd.Series(pd.NA, index=amount.index, dtype="object")
    for j in range(len(edges) - 1):
        last = j == len(edges) - 2
        inside = (amount >= edges[j]) & ((amount <= edges[j + 1]) if last else (amount < edges[j + 1]))
        band[inside & ((amount < cap) if cap is not None else True)] = f"{edges[j]:.2f}–{edges[j + 1]:.2f}"
    if cap is not None:
        band[amount >= cap] = f"at cap ({cap:.2f})"
    return band


def amount_bands(contacts: pd.DataFrame, inv: pd.DataFrame, cap: float | None, n_bands: int = 5) -> pd.DataFrame:
    """Credited contacts in bands of amount (quantile bands below the cap, and the cap itself): contacts,
    low/high amount, replies, mean CSAT with a t interval — the picture behind the dose–response."""
    credited = contacts[contacts["credit_issued"] > 0]
    amount = credited["credit_issued"].round(2)
    below = amount[amount < cap] if cap is not None else amount
    edges = np.unique(np.quantile(below, np.linspace(0, 1, n_bands + 1))) if len(below) else np.array([])
    band = band_of(amount, edges, cap)
    replies = inv[inv["responded"] & inv["csat"].notna()].set_index("contact_id")["csat"].astype(float)
    csat = credited["contact_id"].map(replies)
    rows = []
    for name in pd.unique(band.dropna()):
        inside = band == name
        y = csat[inside].dropna()
        se = y.std(ddof=1) / np.sqrt(len(y)) if len(y) > 1 else np.nan
        q = stats.t.ppf(0.975, len(y) - 1) if len(y) > 1 else np.nan
        rows.append({"band": name, "contacts": int(inside.sum()), "low": float(amount[inside].min()),
                     "high": float(amount[inside].max()), "replies": len(y), "csat": y.mean(),
                     "lower": y.mean() - q * se, "upper": y.mean() + q * se})
    return pd.DataFrame(rows).sort_values("low").set_index("band")


@result
class CreditAnalysis(AnalysisResult):
    """Goodwill credit: the pile-up (cap), the dose–response, CSAT at and just below the cap, and by amount."""

    pile: PileUp
    cap: float | None                   # the pile-up's value when it is a cap
    dose: DoseResponse | None           # None: on a scale that cannot be averaged, or under 30 credited replies
    near: pd.DataFrame | None           # ``cap_neighbours`` (None without a cap)
    bands: pd.DataFrame                 # ``amount_bands`` (empty when nothing is credited)
