"""Speed against quality: do handle time and repeat contacts tell the same story as CSAT?

Agent models, each adjusted for the contact mix (policy, product, channel, issue type) and the period
(before/after the change the data show, or the month; see ``periods``):

    log(1 + handle_time_sec) ~ mix + period + (1 | agent_id) + (1 | day)   lmer (REML), every contact
    repeat_within_7d         ~ mix + period + (1 | agent_id)     glmer (logistic, Laplace), every contact
    csat                     ~ mix + (1 | agent_id)              the agent model (``agents``), replies

An agent's handle-time effect b_h is a log ratio: exp(b_h) is the agent's handle time relative to an
average agent on the same contacts. The repeat effect b_r is a log odds ratio; the CSAT effect is in
score points.

**Correlating agent effects.** Conditional modes (BLUPs) are shrunk toward zero by each agent's
reliability λ_j = 1 − PEV_j/τ², so the plain correlation of two models' modes is attenuated (and more
so where one outcome, CSAT, has few replies per agent). With independent contact-level errors for the
two outcomes given the agent, E[b̂_kj b̂_lj] = λ_kj λ_lj ρ σ_k σ_l and E[b̂_kj²] = λ_kj σ_k² (the law of
total variance), which gives the moment estimator used here (Spearman's disattenuation with each
agent's own reliabilities):

    ρ̂ = [Σ_j b̂_kj b̂_lj / Σ_j λ_kj λ_lj] / sqrt( Σ_j b̂_kj² / Σ_j λ_kj · Σ_j b̂_lj² / Σ_j λ_lj ).

Its interval resamples agents (a percentile bootstrap over the agents, B = 2000): the correlation is a
statement about the population of agents, and resampling them carries both which agents there are and
the noise in each agent's modes. ρ̂ is clipped to [−1, 1] (the clip is reported).

**Fast because they create repeats.** The probability that an agent handles contacts at least
`fast_margin` faster than an average agent on the same mix *and* has at least `repeat_margin` higher odds
of a repeat contact: the product of the two conditional (posterior) probabilities, each from the normal
approximation of the conditional distribution of the agent's effect (conditional mode and conditional
SD, lme4's condVar; variance parameters taken as known; the two models' data errors independent).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..data.frames import CONTACT_MIX
from ..data.model_formula import model_formula, present_mix
from ..models import glmer, lmer
from ..survey.constants import AGENT
from .results import AnalysisResult, result

OUTCOMES = ("handle_time", "repeat", "csat")


@dataclass
class SpeedModels:
    """The handle-time (lmer) and repeat-contact (glmer) agent models on every contact."""

    handle_time: object
    repeat: object
    mix: tuple[str, ...]


def metric_frame(contacts: pd.DataFrame) -> pd.DataFrame:
    """Contacts with the model columns: log_handle_time = log(1 + seconds), came_back (1/0, a repeat
    within 7 days), marked_resolved (1/0, the agent's own first-contact-resolution code) — each only when
    the data set records its source column, NaN where a partly recorded column is empty."""
    out = contacts.copy()
    flags = {True: 1.0, False: 0.0}
    if "handle_time_sec" in out:
        out["log_handle_time"] = np.log1p(pd.to_numeric(out["handle_time_sec"], errors="coerce").astype(float))
    out["came_back"] = out["repeat_within_7d"].map(flags).astype(float)
    if "resolved_first_contact" in out:
        out["marked_resolved"] = out["resolved_first_contact"].map(flags).astype(float)
    return out


def recorded(frame: pd.DataFrame, column: str) -> bool:
    """True when `frame` has `column` with at least one value."""
    return column in frame and bool(frame[column].notna().any())


def fit_speed_models(frame: pd.DataFrame, mix=CONTACT_MIX, period: str | None = "period",
                     day: str | None = "day") -> SpeedModels:
    """Fit the handle-time and repeat-contact agent models (see the module docstring) on `frame`
    (``metric_frame`` rows, with a categorical `period` column unless `period` is None), each on the
    contacts that record its outcome. Where periods are compared and `frame` has a `day` column, the
    handle-time model also has a day random intercept `(1 | day)`: contacts of one day share its
    conditions, so a period change is judged against day-to-day variation, not only contact-to-contact
    (dropped again when its variance is estimated as 0; the logistic repeat model keeps one random term:
    a crossed glmer is too slow for a study run)."""
    mix = present_mix(frame, mix)
    compared = bool(period) and frame[period].nunique() > 1
    fixed = [*mix, *([period] if compared else [])]
    days = (day,) if compared and day and day in frame and frame[day].nunique() > 2 else ()
    rows = frame.dropna(subset=["log_handle_time"])
    ht = lmer(model_formula("log_handle_time", fixed, (AGENT, *days)), rows)
    if days and ht.singular and float(ht.varcorr.loc[day, "sd"]) < 1e-4 * float(ht.varcorr.loc["Residual", "sd"]):
        ht = lmer(model_formula("log_handle_time", fixed), rows)      # no day-to-day variation: drop the term
    rep = glmer(model_formula("came_back", fixed), frame.dropna(subset=["came_back"]))
    return SpeedModels(handle_time=ht, repeat=rep, mix=mix)


def agent_metric_effects(models: SpeedModels, csat_fit) -> pd.DataFrame:
    """One row per agent with contacts: for each outcome k in handle_time, repeat, csat the conditional
    mode `<k>`, its conditional SD `<k>_se` and reliability `<k>_rel` (NaN for CSAT when the agent has no
    reply); `contacts` handled."""
    parts = []
    for name, fit in (("handle_time", models.handle_time), ("repeat", models.repeat), ("csat", csat_fit)):
        re = fit.ranef[AGENT]
        parts.append(pd.DataFrame({name: re["mode"], f"{name}_se": re["cond_se"],
                                   f"{name}_rel": fit.reliability[AGENT].reindex(re.index)}, index=re.index))
    table = parts[0].join(parts[1], how="outer").join(parts[2], how="left")
    table.index = table.index.astype(str)
    table.index.name = AGENT
    return table


def disattenuated_correlation(b1: np.ndarray, b2: np.ndarray, rel1: np.ndarray,
                              rel2: np.ndarray) -> tuple[float, float]:
    """(ρ̂, r): the reliability-disattenuated correlation of true agent effects (module docstring) and
    the plain correlation r of the conditional modes, over the agents given."""
    num = np.sum(b1 * b2) / np.sum(rel1 * rel2)
    den = np.sqrt(np.sum(b1 ** 2) / np.sum(rel1) * np.sum(b2 ** 2) / np.sum(rel2))
    return float(num / den), float(np.corrcoef(b1, b2)[0, 1])


def effect_correlations(effects: pd.DataFrame, n_boot: int = 2000, seed: int = 2026,
                        level: float = 0.95) -> pd.DataFrame:
    """Correlation of agents' true effects for each pair of outcomes (rows `handle_time~repeat`, ...):
    n_agents, rho (disattenuated, clipped to [−1, 1]), rho_unclipped, lower/upper (percentile interval,
    agents resampled `n_boot` times), naive (the plain correlation of the conditional modes, attenuated by
    shrinkage) and its `naive_lower`/`naive_upper` (the same resampling); a pair with fewer than 5 agents whose
    effects are both estimated has n_agents only."""
    rng = np.random.default_rng(seed)
    rows = {}
    a = (1 - level) / 2
    for i, k in enumerate(OUTCOMES):
        for m in OUTCOMES[i + 1:]:
            both = effects[[k, m, f"{k}_rel", f"{m}_rel"]].dropna()
            both = both[(both[f"{k}_rel"] > 0) & (both[f"{m}_rel"] > 0)]
            n = len(both)
            if n < 5:
                rows[f"{k}~{m}"] = {"n_agents": n}
                continue
            cols = [both[c].to_numpy(float) for c in (k, m, f"{k}_rel", f"{m}_rel")]
            rho, naive = disattenuated_correlation(*cols)
            idx = rng.integers(0, n, size=(n_boot, n))
            draws = np.array([disattenuated_correlation(*(c[j] for c in cols)) for j in idx])
            lo, hi = np.nanquantile(np.clip(draws, -1, 1), [a, 1 - a], axis=0)
            rows[f"{k}~{m}"] = {"n_agents": n, "rho": float(np.clip(rho, -1, 1)), "rho_unclipped": rho,
                                "lower": lo[0], "upper": hi[0], "naive": naive, "naive_lower": lo[1],
                                "naive_upper": hi[1]}
    columns = ["n_agents", "rho", "rho_unclipped", "lower", "upper", "naive", "naive_lower", "naive_upper"]
    out = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)   # every column, even when no pair
    out.index.name = "pair"                                                        # has 5 agents to correlate
    return out


def quadrant_probabilities(effects: pd.DataFrame, fast_margin: float = 0.10,
                           repeat_margin: float = 0.25) -> pd.DataFrame:
    """P(fast because of repeats) per agent: P(b_h < log(1 − fast_margin)) · P(b_r > log(1 + repeat_margin))
    under each effect's normal conditional distribution. Columns: handle_time_ratio = exp(b̂_h) (the
    agent's handle time relative to an average agent on the same contacts), repeat_odds_ratio =
    exp(b̂_r), p_fast, p_repeats, p_quadrant; sorted by p_quadrant."""
    cut_h, cut_r = np.log1p(-fast_margin), np.log1p(repeat_margin)
    e = effects.dropna(subset=["handle_time", "repeat"])
    with np.errstate(divide="ignore", invalid="ignore"):
        p_fast = stats.norm.cdf((cut_h - e["handle_time"]) / e["handle_time_se"])
        p_rep = stats.norm.sf((cut_r - e["repeat"]) / e["repeat_se"])
    out = pd.DataFrame({"handle_time_ratio": np.exp(e["handle_time"]), "repeat_odds_ratio": np.exp(e["repeat"]),
                        "p_fast": p_fast, "p_repeats": p_rep, "p_quadrant": p_fast * p_rep}, index=e.index)
    return out.sort_values("p_quadrant", ascending=False)


@result
class FastestShare(AnalysisResult):
    """Fastest agents: how many of the agents with the shortest adjusted handle time are fast because of repeats."""

    n_fastest: int                 # the ⌈fraction·m⌉ agents with the shortest handle time
    expected_in_quadrant: float    # Σ p_quadrant among them
    fastest: tuple[str, ...]       # their agent ids, fastest first


def fastest_share(effects: pd.DataFrame, quadrant: pd.DataFrame, fraction: float = 0.1) -> FastestShare:
    """Among the ⌈fraction·m⌉ agents with the shortest adjusted handle time (conditional modes), the
    expected number that are fast because of repeats (Σ p_quadrant) — how much of the top of the
    handle-time ranking repeat creation explains."""
    ht = effects["handle_time"].dropna()
    k = max(1, int(np.ceil(fraction * len(ht) - 1e-9)))
    fastest = ht.nsmallest(k).index
    expected = float(quadrant["p_quadrant"].reindex(fastest).fillna(0).sum())
    return FastestShare(n_fastest=k, expected_in_quadrant=expected, fastest=tuple(str(a) for a in fastest))


CONTACT_METRICS = (("came back within 7 days", "came_back", 1.0),
                   ("marked resolved by the agent", "marked_resolved", 1.0),
                   ("10% longer handle time", "log_handle_time", float(np.log(1.1))))


def contact_level_model(replies: pd.DataFrame, mix=CONTACT_MIX):
    """CSAT against the speed metrics on the same contact, with the contact mix and the agent held fixed:
    csat ~ mix + log_handle_time + marked_resolved + came_back + (1 | agent_id) on the replies
    (``metric_frame`` columns; a metric the data set does not record is left out, and replies with an
    empty cell in a metric are). Returns (table, fit): per metric the estimate with its Satterthwaite 95%
    interval, in CSAT points for a contact the customer came back about, a contact the agent marked
    resolved, and 10% longer handling (β·log 1.1)."""
    used = [(name, col, scale) for name, col, scale in CONTACT_METRICS if recorded(replies, col)]
    data = replies.dropna(subset=[col for _, col, _ in used])
    fit = lmer(model_formula("csat", [*present_mix(data, mix), *(col for _, col, _ in used)]), data)
    return contact_metric_table(fit, used), fit


def contact_metric_table(fit, used) -> pd.DataFrame:
    """The table of ``contact_level_model`` from its fit, for the metrics `used` (CONTACT_METRICS rows)."""
    rows = {}
    for name, col, scale in used:
        est, lo, hi, p = column_interval(fit, col)
        rows[name] = {"estimate": scale * est, "lower": scale * lo, "upper": scale * hi, "p_value": p}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "contact metric"
    return out


def column_interval(fit, column: str, level: float = 0.95) -> tuple[float, float, float, float]:
    """(estimate, lower, upper, p) of one fixed-effect column of an lmer fit: Satterthwaite t interval."""
    L = (fit.fixef.index == column).astype(float)
    c = fit.contrast(L)
    q = stats.t.ppf(0.5 + level / 2, c["df"])
    return c["estimate"], c["estimate"] - q * c["std_error"], c["estimate"] + q * c["std_error"], c["p_value"]
