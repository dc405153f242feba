"""Goodwill credit from a data set that lives in SQL: the pandas path's credit analysis (``analysis.credit``)
from credited contacts counted per amount × CSAT of the reply (``data.sql.credit.credit_cells``: a few thousand
rows) and the dose–response model from per-agent sums of the credited replies streamed in batches
(``stream_sums``; REML from the sums is the same fit as from the rows)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..data.model_formula import varying
from ..data.sql import credit as sql
from ..models import lmer_from_stats
from . import credit
from .stream_sums import AgentSums, factor_design


def amount_counts(cells: pd.DataFrame) -> pd.Series:
    """Credited contacts per amount rounded to cents, most common first (``Series.value_counts``)."""
    rounded = cells.assign(amount=cells["credit"].round(2)).groupby("amount")["n"].sum()
    return rounded.sort_values(ascending=False, kind="stable").astype("int64")


def _mean_interval(y: np.ndarray, w: np.ndarray, level: float = 0.95) -> dict:
    """n, mean, lower, upper (t interval) of values `y` occurring `w` times."""
    n = int(w.sum())
    mean = float((w * y).sum() / n) if n else np.nan
    if n < 2:
        return {"n": n, "mean": mean, "lower": np.nan, "upper": np.nan, "var": np.nan}
    var = float((w * (y - mean) ** 2).sum() / (n - 1))
    half = stats.t.ppf(0.5 + level / 2, n - 1) * np.sqrt(var / n)
    return {"n": n, "mean": mean, "lower": mean - half, "upper": mean + half, "var": var}


def cap_neighbours(cells: pd.DataFrame, cap: float, level: float = 0.95) -> pd.DataFrame:
    """``credit.cap_neighbours`` from the cells (the credited contacts with a scored reply)."""
    rep = cells[cells["csat"].notna()]
    amount = rep["credit"].round(2)
    parts = {"at cap": rep[amount >= cap], "just below": rep[(rep["credit"] >= cap / np.sqrt(2)) & (amount < cap)]}
    rows = {name: _mean_interval(p["csat"].to_numpy(float), p["n"].to_numpy(float), level) for name, p in parts.items()}
    at, near = rows["at cap"], rows["just below"]
    if at["n"] > 1 and near["n"] > 1:
        va, vb = at["var"] / at["n"], near["var"] / near["n"]
        df = (va + vb) ** 2 / (va ** 2 / (at["n"] - 1) + vb ** 2 / (near["n"] - 1))
        d, half = at["mean"] - near["mean"], stats.t.ppf(0.5 + level / 2, df) * np.sqrt(va + vb)
        rows["difference"] = {"n": at["n"] + near["n"], "mean": d, "lower": d - half, "upper": d + half}
    return pd.DataFrame.from_dict({k: {c: v[c] for c in ("n", "mean", "lower", "upper")} for k, v in rows.items()},
                                  orient="index")


def quantiles(values: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
    """np.quantile (linear, numpy's own interpolation) of sorted `values` occurring `counts` times."""
    cum = np.cumsum(counts)
    h = (cum[-1] - 1) * np.asarray(q, float)
    lo = np.floor(h).astype(np.int64)
    a = values[np.searchsorted(cum, lo, side="right")]
    b = values[np.searchsorted(cum, np.minimum(lo + 1, cum[-1] - 1), side="right")]
    t = h - lo
    return np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)


def amount_bands(cells: pd.DataFrame, cap: float | None, n_bands: int = 5) -> pd.DataFrame:
    """``credit.amount_bands`` from the cells: credited contacts per band of amount (quantile bands below the
    cap, and the cap itself) with low/high amount, replies and mean CSAT with a t interval."""
    c = cells.assign(amount=cells["credit"].round(2))
    per_amount = c.groupby("amount")["n"].sum()
    below = per_amount[per_amount.index < cap] if cap is not None else per_amount
    edges = (np.unique(quantiles(below.index.to_numpy(float), below.to_numpy(), np.linspace(0, 1, n_bands + 1)))
             if len(below) else np.array([]))
    band = credit.band_of(per_amount.index.to_series(), edges, cap)
    c["band"] = c["amount"].map(band)
    rows = []
    for name, part in c.dropna(subset=["band"]).groupby("band", sort=False):
        scored = part[part["csat"].notna()]
        y = _mean_interval(scored["csat"].to_numpy(float), scored["n"].to_numpy(float), 0.95)
        rows.append({"band": name, "contacts": int(part["n"].sum()), "low": float(part["amount"].min()),
                     "high": float(part["amount"].max()), "replies": y["n"], "csat": y["mean"], "lower": y["lower"],
                     "upper": y["upper"]})
    return pd.DataFrame(rows).sort_values("low").set_index("band")


def dose_response(ds, mix, cap: float | None, level: float = 0.95, rows: int = 100_000) -> credit.DoseResponse:
    """``credit.dose_response`` of the credited replies, fitted from per-agent sums streamed from the engine."""
    found = sql.prepare_credited_replies(ds, mix)
    extra = [v for v in ("escalated_", "unresolved_") if len(found[v]) > 1]
    present = varying({m: len(found[m]) for m in mix}, mix)
    levels = {m: list(found[m].index) for m in present}
    sums = AgentSums(*factor_design(levels, ["log2_credit", *(["at_cap"] if cap is not None else []), *extra]))
    for batch in sql.credited_reply_batches(ds, rows):
        amount = batch["credit"].to_numpy(float)
        batch = batch.assign(log2_credit=np.log2(amount),
                             at_cap=(np.round(amount, 2) >= cap).astype(float) if cap is not None else 0.0)
        sums.add(batch, batch["csat"].to_numpy(float))
    stats_ = sums.group_stats("csat", levels, {m: tuple(int(x) for x in found[m]) for m in present})
    return credit.dose_from_fit(lmer_from_stats(stats_), level)


def credit_analysis(ds, params, linear: bool, mix) -> credit.CreditAnalysis:
    """``policy_friction.credit_analysis`` from SQL: pile-up, dose–response (from sums), cap neighbours, bands."""
    cells, n_contacts = sql.credit_cells(ds)
    pile = credit.pile_up_from_counts(amount_counts(cells), n_contacts, params.cap_min_share)
    cap = pile.value if pile.is_cap else None
    n_replies = int(cells.loc[cells["csat"].notna(), "n"].sum())
    dose = dose_response(ds, mix, cap) if linear and n_replies >= 30 else None
    near = cap_neighbours(cells, cap) if cap is not None and linear else None
    bands = amount_bands(cells, cap) if pile.n_credited and linear else pd.DataFrame()
    return credit.CreditAnalysis(pile=pile, cap=cap, dose=dose, near=near, bands=bands)
