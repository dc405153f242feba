"""Survey statistics: NPS with intervals, small-sample proportions, empirical-Bayes shrinkage, and
non-response (response propensity, Kish effective n, funnel limits, steering screens).

Every function is pure (numpy / scipy / pandas / statsmodels) and returns numbers whose meaning the
docstring states. Conventions and their sources:

- NPS = 100 (p − d), p = share of 9–10 (promoters), d = share of 0–6 (detractors); trinomial
  standard error 100·sqrt([p + d − (p − d)²] / n).
- Adjusted-Wald NPS interval (Rocks 2016, *The American Statistician* 70(2), 365–372): add 3/4
  pseudo-responses to promoters and to detractors and 3/2 to passives (n + 3), then take the Wald
  interval of those adjusted counts. The pseudo-counts (0.75, 1.5, 0.75) are the defaults of
  ``nps_test(test = "adjusted.wald", pseudo_observations = c(0.75, 1.5, 0.75))`` in Rocks' own R
  package *NPS*; MeasuringU (Sauro & Lewis) state the same rule ("add 3 to n, ¾ to promoters, ¾ to
  detractors").
- Wilson score interval (Wilson 1927; Newcombe 1998, *Stat Med* 17:857, method 3) and the
  equal-tailed Jeffreys interval, Beta(x + ½, n − x + ½) quantiles with the Brown, Cai & DasGupta
  (2001, *Statistical Science* 16(2)) boundary convention: lower = 0 when x = 0, upper = 1 when
  x = n. (statsmodels' ``proportion_confint(method="jeffreys")`` does not apply that convention.)
- Beta-binomial and Dirichlet-multinomial empirical Bayes: the prior's mean and concentration
  κ (= α + β, or the sum of the Dirichlet parameters) are both fitted by marginal maximum likelihood;
  κ is capped at ``KAPPA_MAX`` — a fit that reaches the cap is flagged ``degenerate`` (no detectable
  between-group variation: every group is shrunk to the common rate).
- Funnel limits (Spiegelhalter 2005, "Funnel plots for comparing institutional performance",
  *Stat Med* 24:1185–1202): normal approximation p0 ± z·sqrt(p0(1 − p0)/n), or exact binomial
  limits with Spiegelhalter's interpolation between attainable counts; multiplicative
  over-dispersion φ from 10%-Winsorised z-scores (Spiegelhalter 2005, *Qual Saf Health Care*
  14:347–351).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = [
    "KAPPA_MAX",
    "NpsEstimate",
    "nps",
    "nps_by_group",
    "shrunken_nps",
    "wilson_interval",
    "jeffreys_interval",
    "beta_posterior",
    "BetaBinomialFit",
    "beta_binomial_shrinkage",
    "PropensityModel",
    "response_propensity",
    "mann_whitney_auc",
    "kish_effective_n",
    "funnel_limits",
    "funnel_flags",
    "steering_flags",
]

PROMOTER_MIN = 9  # 9–10 promoters
DETRACTOR_MAX = 6  # 0–6 detractors
ADJUSTED_WALD_PSEUDO = (0.75, 1.5, 0.75)  # (promoters, passives, detractors), Rocks 2016
KAPPA_MAX = 1e7  # cap on a fitted prior concentration; reaching it = no between-group variation
NPS_METHODS = ("wald", "adjusted-wald")


# ------------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------------
def _z(level: float) -> float:
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")
    return float(stats.norm.ppf(0.5 + level / 2))


def _fmt(values: Iterable[Any], limit: int = 5) -> str:
    """The first ``limit`` distinct values, in order of appearance, as text."""
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
        if len(seen) == limit:
            break
    return ", ".join(f"{v:g}" if isinstance(v, (float, np.floating)) else repr(v) if isinstance(v, str)
                     else str(v) for v in seen)


def _numeric(values: Any, what: str) -> np.ndarray:
    """``values`` as a 1-d float array (NaN for missing); text that is not a number is an error."""
    if not isinstance(values, pd.Series):
        array = np.atleast_1d(np.asarray(values))
        if array.dtype.kind in "fiub":
            return array.astype("float64").reshape(-1)
        values = pd.Series(array.reshape(-1).astype(object))
    series = values.astype("float64") if pd.api.types.is_bool_dtype(values.dtype) else values
    numbers = pd.to_numeric(series, errors="coerce")
    not_numbers = series.notna().to_numpy() & numbers.isna().to_numpy()
    if not_numbers.any():
        bad = series[not_numbers].tolist()
        raise ValueError(f"{what} must be numbers; {int(not_numbers.sum())} value(s) are not: {_fmt(bad)}")
    return numbers.to_numpy(dtype="float64", na_value=np.nan)


# ------------------------------------------------------------------------------------------------
# 1. NPS
# ------------------------------------------------------------------------------------------------
def _nps_categories(scores: Any, what: str) -> np.ndarray:
    """Validated scores without missing values: whole numbers 0–10."""
    values = _numeric(scores, what)
    present = ~np.isnan(values)
    bad = present & ((values < 0) | (values > 10) | (values != np.round(values)))
    if bad.any():
        raise ValueError(f"{what}: NPS scores must be whole numbers from 0 to 10 (missing values are "
                         f"ignored); {int(bad.sum())} offending value(s): {_fmt(values[bad])}")
    return values[present]


def _nps_point(promoters, passives, detractors):
    """(n, p, d, nps, se) from counts (arrays or scalars); NaN where n = 0."""
    P, Pa, D = (np.asarray(x, dtype=float) for x in (promoters, passives, detractors))
    n = P + Pa + D
    with np.errstate(invalid="ignore", divide="ignore"):
        p, d = P / n, D / n
        se = 100 * np.sqrt((p + d - (p - d) ** 2) / n)
    return n, p, d, 100 * (p - d), se


def _nps_interval(promoters, passives, detractors, level: float, method: str):
    """(lower, upper) on the −100..100 scale, clipped."""
    if method not in NPS_METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, NPS_METHODS))}, got {method!r}")
    z = _z(level)
    if method == "adjusted-wald":
        add_p, add_pa, add_d = ADJUSTED_WALD_PSEUDO
        promoters = np.asarray(promoters, float) + add_p
        passives = np.asarray(passives, float) + add_pa
        detractors = np.asarray(detractors, float) + add_d
    _, _, _, centre, se = _nps_point(promoters, passives, detractors)
    return np.clip(centre - z * se, -100, 100), np.clip(centre + z * se, -100, 100)


@dataclass(frozen=True)
class NpsEstimate:
    """Net Promoter Score of one set of responses.

    ``nps`` = 100 (p_promoter − p_detractor) on −100..100; ``se`` is its trinomial standard error,
    100·sqrt([p + d − (p − d)²] / n), in NPS points. Counts exclude missing scores.
    """

    n: int
    promoters: int
    passives: int
    detractors: int
    p_promoter: float
    p_detractor: float
    nps: float
    se: float

    def interval(self, level: float = 0.95, method: str = "wald") -> tuple[float, float]:
        """Two-sided ``level`` interval for the NPS, on −100..100 and clipped to it.

        ``"wald"``: nps ± z·se. ``"adjusted-wald"`` (Rocks 2016): the Wald interval after adding
        3/4 promoter, 3/2 passive and 3/4 detractor pseudo-responses (n + 3); its centre is
        100 (P − D)/(n + 3), pulled slightly toward 0. Wald with n = 0 is (NaN, NaN); adjusted
        Wald with n = 0 is the pseudo-responses' interval around 0.
        """
        lower, upper = _nps_interval(self.promoters, self.passives, self.detractors, level, method)
        return float(lower), float(upper)


def nps(scores: Any) -> NpsEstimate:
    """NPS of 0–10 likelihood-to-recommend scores. Missing values (NaN/NA) are ignored; anything
    outside 0–10 or not a whole number raises ValueError naming up to five offending values."""
    name = scores.name if isinstance(scores, pd.Series) and scores.name is not None else None
    values = _nps_categories(scores, f"column {name!r}" if name is not None else "scores")
    P = int(np.sum(values >= PROMOTER_MIN))
    D = int(np.sum(values <= DETRACTOR_MAX))
    Pa = len(values) - P - D
    n, p, d, score, se = _nps_point(P, Pa, D)
    return NpsEstimate(n=int(n), promoters=P, passives=Pa, detractors=D, p_promoter=float(p),
                       p_detractor=float(d), nps=float(score), se=float(se))


def _nps_counts(df: pd.DataFrame, score_col: str, group_col: str) -> pd.DataFrame:
    for col in (score_col, group_col):
        if col not in df.columns:
            raise ValueError(f"column {col!r} is not in the data frame (columns: {', '.join(map(str, df.columns))})")
    if df[group_col].isna().any():
        raise ValueError(f"column {group_col!r} has {int(df[group_col].isna().sum())} missing group label(s)")
    values = _numeric(df[score_col], f"column {score_col!r}")
    _nps_categories(values, f"column {score_col!r}")  # validation only
    category = np.where(np.isnan(values), "missing",
                        np.where(values >= PROMOTER_MIN, "promoters",
                                 np.where(values <= DETRACTOR_MAX, "detractors", "passives")))
    counts = pd.crosstab(df[group_col].to_numpy(), category)
    counts.index.name = group_col
    counts.columns.name = None
    for col in ("promoters", "passives", "detractors"):
        if col not in counts.columns:
            counts[col] = 0
    return counts[["promoters", "passives", "detractors"]].astype("int64")


def nps_by_group(df: pd.DataFrame, score_col: str, group_col: str, level: float = 0.95,
                 method: str = "adjusted-wald") -> pd.DataFrame:
    """Raw NPS per group, indexed by group: ``n`` (non-missing scores), ``p_promoter``,
    ``p_detractor``, ``nps`` (−100..100), ``se`` (trinomial) and the ``level`` interval
    ``lower``/``upper`` by ``method`` ("adjusted-wald" by default, or "wald")."""
    counts = _nps_counts(df, score_col, group_col)
    P, Pa, D = (counts[c].to_numpy() for c in ("promoters", "passives", "detractors"))
    n, p, d, score, se = _nps_point(P, Pa, D)
    lower, upper = _nps_interval(P, Pa, D, level, method)
    return pd.DataFrame({"n": n.astype("int64"), "p_promoter": p, "p_detractor": d, "nps": score,
                         "se": se, "lower": lower, "upper": upper}, index=counts.index)


# ------------------------------------------------------------------------------------------------
# Dirichlet-multinomial marginal maximum likelihood (the beta-binomial is the K = 2 case)
# ------------------------------------------------------------------------------------------------
@dataclass
class _DmFit:
    shares: np.ndarray  # prior mean m (K,)
    concentration: float  # κ = Σ a_k
    loglik: float  # full marginal log-likelihood (multinomial coefficients included)
    converged: bool
    degenerate: bool  # κ reached KAPPA_MAX: no detectable between-group variation
    theta: np.ndarray  # (logits of m[:-1] against the last category, log κ)
    cov_theta: np.ndarray  # inverse observed information of theta (NaN when degenerate/singular)
    message: str


def _dm_unpack(theta: np.ndarray) -> tuple[np.ndarray, float]:
    logits = np.append(theta[:-1], 0.0)
    m = np.exp(logits - logits.max())
    return m / m.sum(), float(np.exp(theta[-1]))


def _dm_loglik(counts: np.ndarray, m: np.ndarray, kappa: float) -> float:
    n = counts.sum(axis=1)
    a = kappa * m
    const = special.gammaln(n + 1).sum() - special.gammaln(counts + 1).sum()
    return float(const + np.sum(special.gammaln(kappa) - special.gammaln(n + kappa))
                 + np.sum(special.gammaln(counts + a) - special.gammaln(a)))


def _dm_negloglik_and_grad(theta: np.ndarray, counts: np.ndarray) -> tuple[float, np.ndarray]:
    m, kappa = _dm_unpack(theta)
    a = kappa * m
    n = counts.sum(axis=1)
    value = _dm_loglik(counts, m, kappa)
    # ∂ℓ/∂a_k = Σ_g [ψ(κ) − ψ(n_g + κ) + ψ(x_gk + a_k) − ψ(a_k)]
    common = np.sum(special.digamma(kappa) - special.digamma(n + kappa))
    g = common + np.sum(special.digamma(counts + a) - special.digamma(a), axis=0)
    grad_logk = float(np.sum(a * g))
    grad_logits = kappa * m[:-1] * (g[:-1] - np.sum(m * g))
    return -value, -np.append(grad_logits, grad_logk)


def _dm_fit(counts: np.ndarray) -> _DmFit:
    """Fit Dirichlet(κ m) to the rows of ``counts`` (groups × categories) by marginal ML."""
    counts = np.asarray(counts, dtype=float)
    counts = counts[counts.sum(axis=1) > 0]  # empty groups carry no information
    K = counts.shape[1]
    if counts.shape[0] == 0:
        raise ValueError("no group has any responses: the prior cannot be fitted")
    totals = counts.sum(axis=0)
    pooled = np.clip(totals / totals.sum(), 1e-12, None)
    pooled = pooled / pooled.sum()
    start_logits = np.log(pooled[:-1]) - np.log(pooled[-1])
    # start κ: best point of a coarse profile over log κ at the pooled shares
    grid = np.linspace(np.log(0.05), np.log(KAPPA_MAX), 60)
    prof = [_dm_loglik(counts, pooled, float(np.exp(t))) for t in grid]
    start = np.append(start_logits, grid[int(np.argmax(prof))])
    bounds = [(-30.0, 30.0)] * (K - 1) + [(np.log(1e-3), np.log(KAPPA_MAX))]
    res = optimize.minimize(_dm_negloglik_and_grad, start, args=(counts,), jac=True, method="L-BFGS-B",
                            bounds=bounds, options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9})
    theta = np.asarray(res.x, dtype=float)
    m, kappa = _dm_unpack(theta)
    loglik = -float(res.fun)
    # Far out in κ the likelihood is flat and the optimiser may stop short of the cap: if the cap is
    # at least as likely as the optimum, the maximum is at κ = ∞ (no between-group variation).
    at_cap = _dm_loglik(counts, m, KAPPA_MAX)
    degenerate = bool(theta[-1] >= np.log(KAPPA_MAX) - 1e-6 or at_cap >= loglik - 1e-7)
    if degenerate:
        kappa, theta[-1] = KAPPA_MAX, np.log(KAPPA_MAX)
        loglik = max(loglik, at_cap)
    # Converged: the optimiser says so, or the projected gradient (ignoring components that push
    # against an active bound) is negligible — L-BFGS-B's line search can stop "abnormally" on the
    # flat top of this likelihood, in particular at the κ cap.
    grad = _dm_negloglik_and_grad(theta, counts)[1]
    lower_b, upper_b = np.array(bounds).T
    grad[(theta >= upper_b - 1e-9) & (grad < 0)] = 0.0
    grad[(theta <= lower_b + 1e-9) & (grad > 0)] = 0.0
    converged = bool(res.success or np.max(np.abs(grad)) < 1e-6 * max(1.0, abs(loglik)))
    cov = np.full((K, K), np.nan)
    if not degenerate:
        h = 1e-5
        H = np.empty((K, K))
        for j in range(K):
            step = np.zeros(K)
            step[j] = h
            H[:, j] = (_dm_negloglik_and_grad(theta + step, counts)[1]
                       - _dm_negloglik_and_grad(theta - step, counts)[1]) / (2 * h)
        H = (H + H.T) / 2
        if np.all(np.linalg.eigvalsh(H) > 0):
            cov = np.linalg.inv(H)
    return _DmFit(shares=m, concentration=float(kappa), loglik=float(loglik), converged=converged,
                  degenerate=degenerate, theta=theta, cov_theta=cov, message=str(res.message))


def shrunken_nps(df: pd.DataFrame, score_col: str, group_col: str, *, level: float = 0.95,
                 draws: int = 20_000, seed: int | None = 0) -> pd.DataFrame:
    """Empirical-Bayes NPS per group, indexed by group.

    Each group's (promoter, passive, detractor) counts are multinomial with shares drawn from a
    Dirichlet(κ·m) prior; the prior mean shares m and the concentration κ are both fitted by
    marginal maximum likelihood of the Dirichlet-multinomial (``scipy.optimize``, L-BFGS-B with the
    analytic gradient). A group's posterior is Dirichlet(κ·m + counts), so

    - ``shrunken_nps`` = posterior mean = w·raw_nps + (1 − w)·prior_nps, w = ``reliability`` =
      n / (n + κ); ``posterior_sd`` is exact (Dirichlet moments);
    - ``lower``/``upper``: equal-tailed ``level`` interval from ``draws`` Monte Carlo draws of the
      Dirichlet posterior (seeded by ``seed``; Monte Carlo error ≈ 0.1 NPS points at 20,000 draws).

    The prior mean is the fitted population mean of group shares, so with very unequal group sizes
    it sits near the typical group's NPS, not at the all-responses pooled NPS (both are in
    ``attrs``). Intervals are plug-in: they condition on the fitted prior and ignore its estimation
    error, so they understate uncertainty when κ is poorly determined (few groups) or degenerate.

    Columns: n, promoters, passives, detractors, raw_nps, shrunken_nps, posterior_sd, lower, upper,
    reliability. ``attrs``: concentration, prior_shares (dict), prior_nps, pooled_nps,
    log_concentration_se, loglik, converged, degenerate (κ at ``KAPPA_MAX``: every group is shrunk
    to the prior).
    """
    counts = _nps_counts(df, score_col, group_col)
    X = counts.to_numpy(dtype=float)
    fit = _dm_fit(X)
    a = fit.concentration * fit.shares
    post = X + a  # (G, 3): promoters, passives, detractors
    A = post.sum(axis=1)
    mean_p, mean_d = post[:, 0] / A, post[:, 2] / A
    var = (post[:, 0] * (A - post[:, 0]) + post[:, 2] * (A - post[:, 2]) + 2 * post[:, 0] * post[:, 2]) \
        / (A ** 2 * (A + 1))
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    _z(level)
    lower = np.empty(len(X))
    upper = np.empty(len(X))
    for i, row in enumerate(post):
        g = rng.standard_gamma(row, size=(draws, 3))
        diff = 100 * (g[:, 0] - g[:, 2]) / g.sum(axis=1)
        lower[i], upper[i] = np.quantile(diff, [alpha, 1 - alpha])
    n, _, _, raw, _ = _nps_point(X[:, 0], X[:, 1], X[:, 2])
    out = pd.DataFrame({
        "n": n.astype("int64"), "promoters": counts["promoters"].to_numpy(),
        "passives": counts["passives"].to_numpy(), "detractors": counts["detractors"].to_numpy(),
        "raw_nps": raw, "shrunken_nps": 100 * (mean_p - mean_d), "posterior_sd": 100 * np.sqrt(var),
        "lower": lower, "upper": upper, "reliability": n / (n + fit.concentration),
    }, index=counts.index)
    totals = X.sum(axis=0)
    out.attrs.update({
        "concentration": fit.concentration,
        "prior_shares": dict(zip(("promoters", "passives", "detractors"), map(float, fit.shares))),
        "prior_nps": float(100 * (fit.shares[0] - fit.shares[2])),
        "pooled_nps": float(100 * (totals[0] - totals[2]) / totals.sum()),
        "log_concentration_se": float(np.sqrt(fit.cov_theta[-1, -1])),
        "loglik": fit.loglik, "converged": fit.converged, "degenerate": fit.degenerate,
    })
    return out


# ------------------------------------------------------------------------------------------------
# 2. Proportions with few responses
# ------------------------------------------------------------------------------------------------
def _counts(successes: Any, n: Any, index: Any = None) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Validated (successes, n) as float arrays of a common shape; labels for messages."""
    if index is None:
        index = successes.index if isinstance(successes, pd.Series) else (
            n.index if isinstance(n, pd.Series) else None)
    x, m = _numeric(successes, "successes"), _numeric(n, "n")
    x, m = np.broadcast_arrays(x, m)
    labels = pd.Index(index) if index is not None and len(index) == x.size else pd.RangeIndex(x.size)

    def where(mask):
        return ", ".join(f"{labels[i]!s}: {xv:g}/{nv:g}" for i, xv, nv in
                         list(zip(np.flatnonzero(mask), x[mask], m[mask]))[:5])

    missing = np.isnan(x) | np.isnan(m) | np.isinf(x) | np.isinf(m)
    if missing.any():
        raise ValueError(f"successes and n must be finite numbers; {int(missing.sum())} offending "
                         f"group(s) (successes/n): {where(missing)}")
    if (m < 0).any():
        raise ValueError(f"n must be >= 0; {int((m < 0).sum())} offending group(s) (successes/n): {where(m < 0)}")
    if (x < 0).any():
        raise ValueError(f"successes must be >= 0; {int((x < 0).sum())} offending group(s) "
                         f"(successes/n): {where(x < 0)}")
    if (x > m).any():
        raise ValueError(f"successes must not exceed n; {int((x > m).sum())} offending group(s) "
                         f"(successes/n): {where(x > m)}")
    return x.astype(float), m.astype(float), labels


def _shape_like(successes: Any, n: Any, values: np.ndarray):
    if isinstance(successes, pd.Series):
        return pd.Series(values, index=successes.index)
    if isinstance(n, pd.Series):
        return pd.Series(values, index=n.index)
    if np.ndim(successes) == 0 and np.ndim(n) == 0:
        return float(values.reshape(-1)[0])
    return values


def wilson_interval(successes: Any, n: Any, level: float = 0.95):
    """Wilson score interval for a binomial proportion: (lower, upper), each a float, array or
    Series like the input. (x + z²/2)/(n + z²) ± z·sqrt(x(n − x)/n + z²/4)/(n + z²); n = 0 gives
    (0, 1). Non-integer counts (e.g. effective counts) are accepted."""
    x, m, _ = _counts(successes, n)
    z = _z(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.where(m > 0, x * (m - x) / m, 0.0)
    centre = (x + z * z / 2) / (m + z * z)
    half = z * np.sqrt(spread + z * z / 4) / (m + z * z)
    lower = np.where(x == 0, 0.0, np.clip(centre - half, 0, 1))
    upper = np.where(x == m, 1.0, np.clip(centre + half, 0, 1))
    return _shape_like(successes, n, lower), _shape_like(successes, n, upper)


def jeffreys_interval(successes: Any, n: Any, level: float = 0.95):
    """Equal-tailed Jeffreys interval: the (1 − level)/2 and (1 + level)/2 quantiles of
    Beta(x + ½, n − x + ½), with the Brown–Cai–DasGupta (2001) boundary convention lower = 0 when
    x = 0 and upper = 1 when x = n (so n = 0 gives (0, 1))."""
    x, m, _ = _counts(successes, n)
    _z(level)
    tail = (1 - level) / 2
    lower = np.where(x == 0, 0.0, stats.beta.ppf(tail, x + 0.5, m - x + 0.5))
    upper = np.where(x == m, 1.0, stats.beta.ppf(1 - tail, x + 0.5, m - x + 0.5))
    return _shape_like(successes, n, lower), _shape_like(successes, n, upper)


def beta_posterior(successes: Any, n: Any, alpha: float, beta: float, level: float = 0.95,
                   index: Any = None) -> pd.DataFrame:
    """Per-group posterior of a rate under a Beta(alpha, beta) prior: Beta(alpha + x, beta + n − x).

    Columns: n, successes, raw_rate (x/n, NaN when n = 0), shrunken_rate (posterior mean
    (alpha + x)/(alpha + beta + n)), lower/upper (equal-tailed ``level`` posterior quantiles),
    reliability = n/(n + alpha + beta), the weight of the group's own rate in the posterior mean.
    """
    x, m, labels = _counts(successes, n, index)
    if not (alpha > 0 and beta > 0):
        raise ValueError(f"alpha and beta must be > 0, got alpha={alpha!r}, beta={beta!r}")
    tail = (1 - level) / 2
    _z(level)
    a, b = alpha + x, beta + m - x
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(m > 0, x / m, np.nan)
    return pd.DataFrame({
        "n": m, "successes": x, "raw_rate": raw, "shrunken_rate": a / (a + b),
        "lower": stats.beta.ppf(tail, a, b), "upper": stats.beta.ppf(1 - tail, a, b),
        "reliability": m / (m + alpha + beta),
    }, index=labels)


@dataclass
class BetaBinomialFit:
    """Beta-binomial empirical Bayes for per-group rates.

    The prior Beta(alpha, beta) is fitted by marginal maximum likelihood of the beta-binomial,
    optimising (logit prior_mean, log concentration), concentration = alpha + beta. ``prior_sd`` is
    the between-group standard deviation of true rates, sqrt(μ(1 − μ)/(κ + 1)). ``cov_params`` is
    the inverse observed information of (logit prior_mean, log concentration) (NaN when degenerate).
    ``converged``: the optimiser reported success. ``degenerate``: the concentration reached
    ``KAPPA_MAX`` (the likelihood keeps rising as between-group variance → 0): prior_sd ≈ 0,
    reliability ≈ 0, every group shrunk to the common rate. ``table``: see ``beta_posterior``; its
    intervals are plug-in (conditional on the fitted prior, ignoring the prior's estimation error),
    so in the degenerate case they are as narrow as the capped prior and understate uncertainty —
    report the common rate's own interval (e.g. ``jeffreys_interval`` of the totals) instead.
    """

    alpha: float
    beta: float
    prior_mean: float
    prior_sd: float
    concentration: float
    loglik: float
    converged: bool
    degenerate: bool
    n_groups: int
    cov_params: pd.DataFrame
    table: pd.DataFrame = field(repr=False)
    message: str = ""

    def summary(self) -> str:
        """A short text summary of the fitted prior."""
        flag = " (degenerate: no between-group variation detected)" if self.degenerate else ""
        return (f"Beta-binomial prior over {self.n_groups} groups{flag}\n"
                f"  alpha = {self.alpha:.4g}, beta = {self.beta:.4g}, concentration = {self.concentration:.4g}\n"
                f"  prior mean rate = {self.prior_mean:.4f}, between-group SD = {self.prior_sd:.4f}\n"
                f"  log-likelihood = {self.loglik:.4f}, converged = {self.converged}")


def beta_binomial_shrinkage(successes: Any, n: Any, index: Any = None, *, level: float = 0.95) -> BetaBinomialFit:
    """Fit a Beta prior to per-group (successes, n) by beta-binomial marginal ML and shrink each
    group's rate to its posterior mean. Groups with n = 0 are kept in ``table`` (posterior = prior)
    but do not enter the fit. Bad input (successes > n, negative n, missing) raises ValueError."""
    x, m, labels = _counts(successes, n, index)
    fit = _dm_fit(np.column_stack([x, m - x]))
    mu, kappa = float(fit.shares[0]), fit.concentration
    alpha, beta = kappa * mu, kappa * (1 - mu)
    names = ["logit_prior_mean", "log_concentration"]
    return BetaBinomialFit(
        alpha=alpha, beta=beta, prior_mean=mu, prior_sd=float(np.sqrt(mu * (1 - mu) / (kappa + 1))),
        concentration=kappa, loglik=fit.loglik, converged=fit.converged, degenerate=fit.degenerate,
        n_groups=int(np.sum(m > 0)), cov_params=pd.DataFrame(fit.cov_theta, index=names, columns=names),
        table=beta_posterior(x, m, alpha, beta, level=level, index=labels), message=fit.message)


# ------------------------------------------------------------------------------------------------
# 3. Non-response
# ------------------------------------------------------------------------------------------------
def _binary(series: pd.Series, col: str) -> np.ndarray:
    if series.isna().any():
        raise ValueError(f"column {col!r} must be 0/1 (or true/false) for every row; "
                         f"{int(series.isna().sum())} missing value(s)")
    values = series.to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype):
        return values.astype(float)
    numbers = _numeric(series, f"column {col!r}")
    bad = ~np.isin(numbers, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"column {col!r} must be 0/1 (or true/false); {int(bad.sum())} offending "
                         f"value(s): {_fmt(numbers[bad])}")
    return numbers


def mann_whitney_auc(score: Any, label: Any) -> float:
    """Area under the ROC curve = P(score of a random positive > score of a random negative), ties
    counted ½, from the Mann–Whitney U statistic with mid-ranks: (R₁ − n₁(n₁ + 1)/2)/(n₁ n₀)."""
    s = np.asarray(score, dtype=float)
    y = np.asarray(label, dtype=float)
    n1, n0 = int(np.sum(y == 1)), int(np.sum(y == 0))
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = stats.rankdata(s)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass
class PropensityModel:
    """A fitted response-propensity model (logistic regression of responded on contact features).

    ``propensity``: fitted P(respond | features) per row of the frame. ``weights``: inverse-propensity
    weights 1/propensity for responders, NaN for non-responders. ``coef_table``: one row per term
    (estimate and std_error on the log-odds scale, Wald z, two-sided p_value, odds_ratio = exp
    estimate). ``auc``: in-sample discrimination (Mann–Whitney form). ``effective_n``: Kish
    effective number of responders under the weights.
    """

    result: Any
    propensity: pd.Series
    weights: pd.Series
    coef_table: pd.DataFrame
    auc: float
    features: list[str]
    design_columns: list[str]

    @property
    def effective_n(self) -> float:
        return kish_effective_n(self.weights)

    def summary(self):
        return self.result.summary()


def response_propensity(frame: pd.DataFrame, responded_col: str, features: Sequence[str],
                        seed: int | None = None) -> PropensityModel:
    """Logistic regression (statsmodels GLM, Binomial family, logit link) of ``responded_col``
    (0/1 or boolean) on ``features``. Text/categorical features are one-hot encoded with
    ``pandas.get_dummies(drop_first=True)`` (terms named ``feature_level``; the first level —
    alphabetical for text, category order for categoricals — is the reference); boolean features
    enter as 0/1 and numeric features as they are; an ``Intercept`` is added. Missing feature
    values raise ValueError naming the column.

    ``seed`` is accepted for interface compatibility and not used: the fit and the AUC are
    deterministic.
    """
    import statsmodels.api as sm

    features = list(features)
    missing_cols = [c for c in [responded_col, *features] if c not in frame.columns]
    if missing_cols:
        raise ValueError(f"column(s) not in the data frame: {', '.join(map(repr, missing_cols))}")
    y = _binary(frame[responded_col], responded_col)
    X = frame[features].copy()
    for col in features:
        if X[col].isna().any():
            rows = list(X.index[X[col].isna()][:5])
            raise ValueError(f"column {col!r} has {int(X[col].isna().sum())} missing value(s) "
                             f"(rows {', '.join(map(str, rows))}); propensity features must be complete")
        if pd.api.types.is_bool_dtype(X[col].dtype):
            X[col] = X[col].astype("float64")
    X = pd.get_dummies(X, drop_first=True, dtype="float64").astype("float64")
    X.insert(0, "Intercept", 1.0)
    result = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    p = pd.Series(np.asarray(result.fittedvalues, dtype=float), index=frame.index, name="propensity")
    weights = pd.Series(np.where(y == 1, 1 / p.to_numpy(), np.nan), index=frame.index, name="weight")
    params, bse = result.params, result.bse
    table = pd.DataFrame({"term": list(X.columns), "estimate": params.to_numpy(),
                          "std_error": bse.to_numpy(), "z": (params / bse).to_numpy(),
                          "p_value": result.pvalues.to_numpy(), "odds_ratio": np.exp(params.to_numpy())})
    return PropensityModel(result=result, propensity=p, weights=weights, coef_table=table,
                           auc=mann_whitney_auc(p.to_numpy(), y), features=features,
                           design_columns=list(X.columns))


def kish_effective_n(weights: Any) -> float:
    """Kish's effective sample size (Σw)²/Σw² of a set of weights, ignoring NaN: the number of
    equally weighted observations that would give the same variance of a weighted mean."""
    w = _numeric(weights, "weights")
    w = w[~np.isnan(w)]
    if (w < 0).any() or np.isinf(w).any():
        raise ValueError(f"weights must be finite and >= 0; offending value(s): {_fmt(w[(w < 0) | np.isinf(w)])}")
    total_sq = float(np.sum(w ** 2))
    return float(np.sum(w) ** 2 / total_sq) if total_sq > 0 else float("nan")


def _z_label(z: float) -> str:
    return f"{z:g}"


def _exact_limit(n: np.ndarray, p0: float, prob: float) -> np.ndarray:
    """Spiegelhalter (2005) exact binomial limit for a proportion at tail probability ``prob``:
    r = the ``prob`` quantile of Binomial(n, p0) (smallest r with P(R ≤ r) ≥ prob),
    α = [P(R ≤ r) − prob] / [P(R ≤ r) − P(R ≤ r − 1)], limit = (r − α)/n."""
    r = stats.binom.ppf(prob, n, p0)
    F_r = stats.binom.cdf(r, n, p0)
    F_below = stats.binom.cdf(r - 1, n, p0)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(F_r > F_below, (F_r - prob) / (F_r - F_below), 0.0)
    return np.clip((r - alpha) / n, 0, 1)


def funnel_limits(n: Any, p0: float, z: float | Sequence[float] = (1.96, 3.09),
                  method: str = "normal") -> pd.DataFrame:
    """Funnel-plot control limits for a rate with target ``p0`` at each denominator ``n``.

    One row per n: ``n``, ``p0`` and ``lower_<z>``/``upper_<z>`` for each z (e.g. ``lower_1.96``,
    ``upper_3.09``; 1.96 ↔ 95%, 3.09 ↔ 99.8% two-sided). ``method="normal"``:
    p0 ± z·sqrt(p0(1 − p0)/n), clipped to [0, 1]. ``method="exact"``: binomial limits at tail
    probabilities Φ(−z) and Φ(z) with Spiegelhalter's (2005, Appendix) interpolation between
    attainable counts (see ``_exact_limit``), clipped to [0, 1].
    """
    if method not in ("normal", "exact"):
        raise ValueError(f"method must be 'normal' or 'exact', got {method!r}")
    if not (0 < p0 < 1):
        raise ValueError(f"p0 must be strictly between 0 and 1, got {p0!r}")
    m = _numeric(n, "n")
    if np.isnan(m).any() or (m <= 0).any():
        raise ValueError(f"n must be > 0 for funnel limits; offending value(s): {_fmt(m[np.isnan(m) | (m <= 0)])}")
    zs = [float(v) for v in np.atleast_1d(z)]
    out = pd.DataFrame({"n": m, "p0": p0})
    for zv in zs:
        if method == "normal":
            half = zv * np.sqrt(p0 * (1 - p0) / m)
            lower, upper = np.clip(p0 - half, 0, 1), np.clip(p0 + half, 0, 1)
        else:
            lower = _exact_limit(m, p0, float(stats.norm.cdf(-zv)))
            upper = _exact_limit(m, p0, float(stats.norm.cdf(zv)))
        out[f"lower_{_z_label(zv)}"] = lower
        out[f"upper_{_z_label(zv)}"] = upper
    return out


def _winsorised_phi(zscores: np.ndarray, winsor: float) -> float:
    lo, hi = np.quantile(zscores, [winsor, 1 - winsor])
    return float(np.mean(np.clip(zscores, lo, hi) ** 2))


def funnel_flags(successes: Any, n: Any, p0: float | None = None, z: float = 3.09, *,
                 overdispersion: bool = False, winsor: float = 0.1, index: Any = None) -> pd.DataFrame:
    """Per-group funnel screen of a rate against a target ``p0`` (default: the pooled rate Σx/Σn).

    Columns: successes, n, rate, p0, z (= (rate − p0)/sqrt(p0(1 − p0)/n)), lower/upper (the control
    limits p0 ± z·sqrt(φ·p0(1 − p0)/n), clipped to [0, 1]) and flag ("above", "below" or "").
    With ``overdispersion=True`` a multiplicative over-dispersion factor φ is estimated as the mean
    of the squared z-scores after Winsorising the lowest and highest ``winsor`` fraction (10%) to the
    corresponding percentiles (Spiegelhalter 2005); the limits are widened by sqrt(φ) only when
    φ > 1. ``attrs``: phi (the estimate, or None), phi_used (1 unless widened), p0, z.
    Groups with n = 0 get rate/z NaN and no flag.
    """
    x, m, labels = _counts(successes, n, index)
    target = float(x.sum() / m.sum()) if p0 is None else float(p0)
    if not (0 < target < 1):
        raise ValueError(f"p0 must be strictly between 0 and 1, got {target!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(m > 0, x / m, np.nan)
        sd = np.where(m > 0, np.sqrt(target * (1 - target) / m), np.nan)
        zs = (rate - target) / sd
    phi = None
    phi_used = 1.0
    if overdispersion:
        phi = _winsorised_phi(zs[~np.isnan(zs)], winsor)
        phi_used = max(phi, 1.0)
    lower = np.clip(target - z * np.sqrt(phi_used) * sd, 0, 1)
    upper = np.clip(target + z * np.sqrt(phi_used) * sd, 0, 1)
    flag = np.where(rate > upper, "above", np.where(rate < lower, "below", ""))
    out = pd.DataFrame({"successes": x, "n": m, "rate": rate, "p0": target, "z": zs, "lower": lower,
                        "upper": upper, "flag": flag}, index=labels)
    out.attrs.update({"phi": phi, "phi_used": phi_used, "p0": target, "z": z})
    return out


def steering_flags(df: pd.DataFrame, agent_col: str, responded_col: str, score_col: str,
                   expected_score_col: str | None = None, z: float = 3.09, *,
                   top_box: float | None = None) -> pd.DataFrame:
    """Screen agents for possible survey steering: a response rate, or a share of top scores, that
    is implausibly high given the agent's volume (and contact mix).

    One row per survey invitation in ``df``. Per agent: n_contacts (invitations = rows),
    n_responses, response_rate, top_box_rate (share of top scores among responses with a score),
    expected_top_box_rate, z_response, z_top_box, flag_response, flag_scores, flagged, n_scored.

    - z_response = (r − r̄)/sqrt(r̄(1 − r̄)/n_contacts), r̄ = pooled response rate (a funnel against
      the pooled rate); flag_response = z_response > z.
    - Top scores are scores ≥ ``top_box`` (default: the highest score observed among responses —
      5 on a 1–5 CSAT scale; pass 9 for NPS promoters). With ``expected_score_col`` (each contact's
      case-mix-predicted probability of a top score): O = observed top scores, E = Σp,
      z_top_box = (O − E)/sqrt(Σp(1 − p)) over the agent's scored responses; without it p is the
      pooled top-box rate for every response. flag_scores = z_top_box > z.

    Both tests are one-sided at z (3.09 ↔ 0.1% per agent per test). This is a screening tool: a flag
    says "look at this agent's survey process", not "this agent steers"; real differences in
    contact mix not captured by the case-mix model, chance (with many agents), or team practices
    can all produce flags.
    """
    for col in [agent_col, responded_col, score_col] + ([expected_score_col] if expected_score_col else []):
        if col not in df.columns:
            raise ValueError(f"column {col!r} is not in the data frame")
    if df[agent_col].isna().any():
        raise ValueError(f"column {agent_col!r} has {int(df[agent_col].isna().sum())} missing agent id(s)")
    responded = _binary(df[responded_col], responded_col) == 1
    score = _numeric(df[score_col], f"column {score_col!r}")
    scored = responded & ~np.isnan(score)
    if not scored.any():
        raise ValueError(f"column {score_col!r} has no scores among responses")
    cut = float(np.nanmax(score[scored])) if top_box is None else float(top_box)
    top = scored & (score >= cut)
    if expected_score_col is not None:
        expected = _numeric(df[expected_score_col], f"column {expected_score_col!r}")
        bad = scored & (np.isnan(expected) | (expected < 0) | (expected > 1))
        if bad.any():
            raise ValueError(f"column {expected_score_col!r} must hold probabilities in [0, 1] for every "
                             f"scored response; {int(bad.sum())} offending value(s): {_fmt(expected[bad])}")
    else:
        expected = np.full(len(df), top.sum() / scored.sum())
    frame = pd.DataFrame({
        "agent": df[agent_col].to_numpy(), "contact": 1, "responded": responded.astype(int),
        "scored": scored.astype(int), "top": top.astype(int),
        "e": np.where(scored, expected, 0.0), "v": np.where(scored, expected * (1 - expected), 0.0),
    })
    g = frame.groupby("agent", sort=True)[["contact", "responded", "scored", "top", "e", "v"]].sum()
    r_bar = g["responded"].sum() / g["contact"].sum()
    response_rate = g["responded"] / g["contact"]
    with np.errstate(invalid="ignore", divide="ignore"):
        z_response = (response_rate - r_bar) / np.sqrt(r_bar * (1 - r_bar) / g["contact"])
        top_rate = (g["top"] / g["scored"]).where(g["scored"] > 0)
        expected_rate = (g["e"] / g["scored"]).where(g["scored"] > 0)
        z_top = ((g["top"] - g["e"]) / np.sqrt(g["v"])).where(g["v"] > 0)
    out = pd.DataFrame({
        "agent": g.index.to_numpy(), "n_contacts": g["contact"].to_numpy(),
        "n_responses": g["responded"].to_numpy(), "response_rate": response_rate.to_numpy(),
        "top_box_rate": top_rate.to_numpy(), "expected_top_box_rate": expected_rate.to_numpy(),
        "z_response": z_response.to_numpy(), "z_top_box": z_top.to_numpy(),
    })
    out["flag_response"] = out["z_response"].to_numpy() > z
    out["flag_scores"] = (out["z_top_box"] > z).to_numpy()
    out["flagged"] = out["flag_response"] | out["flag_scores"]
    out["n_scored"] = g["scored"].to_numpy()
    out.attrs.update({"pooled_response_rate": float(r_bar), "top_box": cut, "z": z,
                      "case_mix": expected_score_col is not None})
    return out
