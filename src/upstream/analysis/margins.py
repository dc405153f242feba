"""Effects of a contact-mix level on a rate or on NPS, in the outcome's own units, against the average contact.

Rates (repeat contact, escalation, first-contact resolution) are fitted by a logistic mixed model on
*all* contacts, `outcome ~ policy + product + channel + issue_type + (1 | agent_id)` (glmer, adaptive
quadrature); NPS by a cumulative-logit mixed model on the 0–10 replies (clmm). A level's effect is an
average marginal effect (AME) against the average contact of the period:

    effect_l = mean_i g(η_i with the variable set to l) − mean_i g(η_i)

over all contacts i, where η_i keeps the contact's own agent (its conditional mode; "agent held fixed")
and every other mix variable, and g is P(outcome) for a rate (effect in probability; ×100 =
percentage points) or 100·[P(Y ≥ 9) − P(Y ≤ 6)] for NPS (effect in NPS points). This is the
counterfactual the simulator's truth uses: every contact moved to level l, against every contact as
it was. Standard errors by the delta method over the fixed effects (and, for NPS, the two thresholds
that bound promoters and detractors), conditional on the agents' conditional modes; z intervals,
Bonferroni intervals over the estimable levels (`lower_adj`/`upper_adj`) and Holm p-values, as in
``policies.level_effects``.

The fits expose predictions but not their model matrix, so `design_matrix` rebuilds the treatment
coding from the fixed-effect names and checks it against the fit's own predictions before use.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ..models import clmm, glmer
from .policies import holm

#: NPS categories: detractors score 0–6, promoters 9–10.
DETRACTOR_MAX, PROMOTER_MIN = 6, 9


@dataclass
class ContactModel:
    """A fitted glmer (rate) or clmm (NPS) with the levels of each mix variable it was fitted on."""

    fit: object
    outcome: str
    kind: str                      # "rate" or "nps"
    agent: str
    mix: tuple[str, ...]
    levels: dict                   # variable -> list of level labels present in the fitted rows
    n_rows: int


def _mix_present(frame: pd.DataFrame, mix) -> tuple[str, ...]:
    return tuple(m for m in mix if m in frame and frame[m].nunique() > 1)


def _formula(outcome: str, mix, agent: str) -> str:
    return f"{outcome} ~ {' + '.join(mix) or '1'} + (1 | {agent})"


def fit_rate_model(contacts: pd.DataFrame, outcome: str, mix, agent: str = "agent_id") -> ContactModel:
    """glmer of the boolean column `outcome` on the mix with an agent intercept, on every contact."""
    mix = _mix_present(contacts, mix)
    data = contacts[[outcome, agent, *mix]].dropna().copy()
    data[outcome] = data[outcome].astype(float)
    data[list(mix)] = data[list(mix)].astype(str)
    fit = glmer(_formula(outcome, mix, agent), data, n_agq=1)
    return ContactModel(fit=fit, outcome=outcome, kind="rate", agent=agent, mix=mix,
                        levels={m: sorted(data[m].unique()) for m in mix}, n_rows=len(data))


def fit_nps_model(replies: pd.DataFrame, mix, agent: str = "agent_id") -> ContactModel:
    """clmm of NPS (0–10, flexible thresholds) on the mix with an agent intercept, on the NPS replies."""
    data = replies[replies["nps"].notna()].copy()
    mix = _mix_present(data, mix)
    data = data[["nps", agent, *mix]].copy()
    data["nps"] = data["nps"].astype(int)
    data[list(mix)] = data[list(mix)].astype(str)
    levels = sorted(data["nps"].unique())
    fit = clmm(_formula("nps", mix, agent), data, levels=levels)
    return ContactModel(fit=fit, outcome="nps", kind="nps", agent=agent, mix=mix,
                        levels={m: sorted(data[m].unique()) for m in mix}, n_rows=len(data))


def design_matrix(model: ContactModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Treatment-coded fixed-effect columns of `model` for `rows` (an indicator per non-reference
    level, named variable + level as the engine names them, plus the intercept)."""
    out = {}
    for column in model.fit.fixef.index:
        if column == "(Intercept)":
            out[column] = np.ones(len(rows))
            continue
        owner = [m for m in sorted(model.mix, key=len, reverse=True)
                 if column.startswith(m) and column[len(m):] in model.levels[m]]
        if not owner:
            raise ValueError(f"fixed-effect column {column!r} is not a level of {', '.join(model.mix)}")
        m = owner[0]
        out[column] = (rows[m].astype(str).to_numpy() == column[len(m):]).astype(float)
    return pd.DataFrame(out, index=rows.index)


def known_rows(model: ContactModel, population: pd.DataFrame) -> pd.DataFrame:
    """The contacts of `population` whose mix levels the model was fitted on."""
    keep = np.ones(len(population), bool)
    for m in model.mix:
        keep &= population[m].astype(str).isin(model.levels[m]).to_numpy()
    return population.loc[keep]


def _thresholds(model: ContactModel) -> tuple[float, float, str, str]:
    """(θ for P(Y ≤ 8), θ for P(Y ≤ 6), their names) of an NPS clmm."""
    th = model.fit.thresholds
    names = {str(k).split("|")[0]: k for k in th.index}
    promoter, detractor = names[str(PROMOTER_MIN - 1)], names[str(DETRACTOR_MAX)]
    return float(th[promoter]), float(th[detractor]), promoter, detractor


def _check_design(model: ContactModel, rows: pd.DataFrame, X: pd.DataFrame) -> None:
    """The rebuilt design must reproduce the fit's own fixed-part predictions."""
    sample = rows.iloc[: min(len(rows), 2000)]
    eta = X.loc[sample.index].to_numpy() @ model.fit.fixef.to_numpy()
    if model.kind == "rate":
        own = model.fit.predict(sample, include_random=False, type="link", allow_new_levels=True).to_numpy()
        gap = np.max(np.abs(own - eta)) if len(own) else 0.0
    else:
        th = model.fit.thresholds.to_numpy()
        cum = expit(th[None, :] - eta[:, None])
        probs = np.diff(np.hstack([np.zeros((len(eta), 1)), cum, np.ones((len(eta), 1))]), axis=1)
        own = model.fit.predict(sample, include_random=False, allow_new_levels=True).to_numpy()
        gap = np.max(np.abs(own - probs)) if len(own) else 0.0
    if gap > 1e-6:
        raise RuntimeError(f"the rebuilt design of {model.fit.formula!r} does not reproduce its predictions "
                           f"(largest gap {gap:.2e})")


def _score(model: ContactModel, eta: np.ndarray, X: np.ndarray):
    """Per contact: g(η) and the gradient of mean g over the parameters in fit.vcov's order."""
    fit = model.fit
    if model.kind == "rate":
        p = expit(eta)
        return p, (p * (1 - p)) @ X / len(eta)
    a, b, promoter, detractor = _thresholds(model)
    fa, fb = expit(a - eta), expit(b - eta)
    da, db = fa * (1 - fa), fb * (1 - fb)
    g = 100 * (1 - fa - fb)
    grad = pd.Series(0.0, index=fit.vcov.index)
    grad[list(fit.fixef.index)] = 100 * ((da + db) @ X) / len(eta)
    grad[promoter] += -100 * da.mean()
    grad[detractor] += -100 * db.mean()
    return g, grad.to_numpy()


def level_margins(model: ContactModel, population: pd.DataFrame, variable: str,
                  level: float = 0.95) -> pd.DataFrame:
    """One row per level of `variable` the model knows: n_contacts (in `population`), n_rows (fitted
    rows), effect (probability, or NPS points, against the average contact of `population`),
    std_error, lower/upper, lower_adj/upper_adj (Bonferroni over the levels), p_value, p_holm; sorted
    by effect. attrs: baseline (mean g over the population as it is), unit, n_population."""
    fit = model.fit
    rows = known_rows(model, population)
    X = design_matrix(model, rows)
    _check_design(model, rows, X)
    modes = fit.ranef[model.agent]["mode"]
    u = rows[model.agent].astype(str).map(modes).fillna(0.0).to_numpy()
    Xn = X.to_numpy()
    beta = fit.fixef.to_numpy()
    eta = Xn @ beta + u
    g0, grad0 = _score(model, eta, Xn)
    names = list(fit.fixef.index)
    own = [j for j, c in enumerate(names) if c != "(Intercept)" and c.startswith(variable)
           and c[len(variable):] in model.levels[variable]]
    V = fit.vcov.to_numpy()          # glmer: the fixed effects; clmm: thresholds then fixed effects
    counts = population[variable].astype(str).value_counts()
    rows_out = {}
    for lab in model.levels[variable]:
        Xl = Xn.copy()
        Xl[:, own] = 0.0
        column = f"{variable}{lab}"
        if column in names:
            Xl[:, names.index(column)] = 1.0
        gl, gradl = _score(model, Xl @ beta + u, Xl)
        grad = gradl - grad0
        rows_out[lab] = {"effect": float(gl.mean() - g0.mean()), "std_error": float(np.sqrt(grad @ V @ grad))}
    out = pd.DataFrame.from_dict(rows_out, orient="index")
    k = len(out)
    q = stats.norm.ppf(0.5 + level / 2)
    qa = stats.norm.ppf(1 - (1 - level) / (2 * max(k, 1)))
    out.insert(0, "n_contacts", counts.reindex(out.index).fillna(0).astype(int))
    out["lower"], out["upper"] = out["effect"] - q * out["std_error"], out["effect"] + q * out["std_error"]
    out["lower_adj"] = out["effect"] - qa * out["std_error"]
    out["upper_adj"] = out["effect"] + qa * out["std_error"]
    out["p_value"] = 2 * stats.norm.sf(np.abs(out["effect"] / out["std_error"]))
    out["p_holm"] = holm(out["p_value"])
    out.index.name = variable
    out.attrs.update({"baseline": float(g0.mean()), "unit": "NPS points" if model.kind == "nps" else "probability",
                      "n_population": len(rows), "outcome": model.outcome})
    return out.sort_values("effect")


def raw_differences(values: pd.Series, groups: pd.Series, level: float = 0.95) -> pd.DataFrame:
    """Per group: n, mean, and raw = mean of the group − mean of all rows, with a normal interval.
    raw = (1 − w)(ȳ_g − ȳ_rest), w = n_g/n, so its SE is (1 − w)·√(s_g²/n_g + s_rest²/n_rest) — groups
    treated as independent samples of rows. For NPS pass 100·(promoter − detractor) per reply."""
    ok = values.notna()
    y, g = values[ok].astype(float), groups[ok].astype(str)
    n, total = len(y), float(y.mean())
    q = stats.norm.ppf(0.5 + level / 2)
    rows = {}
    for lab, part in y.groupby(g):
        rest = y[g != lab]
        w = len(part) / n
        se = (1 - w) * np.sqrt(part.var(ddof=1) / len(part) + (rest.var(ddof=1) / len(rest) if len(rest) > 1 else 0))
        d = float(part.mean() - total)
        rows[lab] = {"n": len(part), "mean": float(part.mean()), "raw": d, "raw_lower": d - q * se,
                     "raw_upper": d + q * se}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.attrs["overall"] = total
    return out


def nps_points(scores: pd.Series) -> pd.Series:
    """100 for a promoter (9–10), −100 for a detractor (0–6), 0 for a passive; NaN stays NaN. The
    mean of these is the NPS and their SD/√n its trinomial standard error."""
    s = scores.astype(float)
    return (100.0 * ((s >= PROMOTER_MIN).astype(float) - (s <= DETRACTOR_MAX).astype(float))).where(s.notna())


#: Units of each outcome's effects once stacked (rates in percentage points).
UNITS = {"csat": "CSAT points", "nps": "NPS points"}


def stack_effects(effects: dict[str, pd.DataFrame], variable: str) -> pd.DataFrame:
    """One long table from per-outcome level tables (``policies.level_effects`` for CSAT,
    ``level_margins`` for the others): outcome, level, unit, n_contacts, effect, std_error, lower, upper,
    lower_adj, upper_adj, p_value, p_holm. Rates (any outcome not in UNITS) are converted to
    percentage points."""
    cols = ["n_contacts", "effect", "std_error", "lower", "upper", "lower_adj", "upper_adj", "p_value", "p_holm"]
    parts = []
    for outcome, table in effects.items():
        t = table[cols].copy()
        if outcome not in UNITS:
            t[["effect", "std_error", "lower", "upper", "lower_adj", "upper_adj"]] *= 100
        t.insert(0, "unit", UNITS.get(outcome, "percentage points"))
        t.insert(0, "outcome", outcome)
        t.index.name = variable
        parts.append(t.reset_index())
    return pd.concat(parts, ignore_index=True).set_index(["outcome", variable])
