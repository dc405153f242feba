"""Comment sentiment as a second outcome, validated on the data's own scores before it is used.

- `score_comments`: VADER's compound score (Hutto & Gilbert 2014, ICWSM; the `vaderSentiment` package,
  whose lexicon ships inside it — nothing is downloaded) of each redacted comment, from −1 (most
  negative) to +1 (most positive).
- `auc_delong`: how well a score separates two groups — the AUC, P(score of a random member of the
  group < score of a random other), ties ½, with DeLong's (1988, Biometrics 44) nonparametric standard
  error from the placement values and a normal interval clipped to [0, 1] (pROC's default).
- `validate`: the AUC of sentiment for dissatisfied customers — CSAT below the middle of the scale
  (1–2 of 5, 1–3 of 7, 1 = "bad" of good/bad: the tone of a comment follows the score of the same reply) —
  and, for comparison, for NPS detractors (0–6: likelihood to recommend also carries loyalty the
  comment may not mention). Sentiment is used as an outcome only when the *lower* end of the CSAT
  interval reaches the bar (default 0.70, "acceptable" discrimination in Hosmer & Lemeshow's convention).
- `agent_sentiment`: the agent model with sentiment as the outcome on the comment replies,
  `sentiment ~ mix + (1 | agent_id)`, and the REML likelihood-ratio test of the agent variance against
  the ½χ²₀ + ½χ²₁ boundary mixture.
- `disagreement`: where agents' CSAT and sentiment effects disagree. On the comment replies, the agent
  model of sentiment with the reply's own CSAT score as a further (categorical) term,
  `sentiment ~ csat_score + mix + (1 | agent_id)`: an agent's conditional mode is how much more
  positively (or negatively) its customers write than customers who gave the *same score* to other
  agents — the part of sentiment the score does not explain — with its conditional SE. (A difference of
  standardised effects would not do: sentiment tracks CSAT with a slope below one, so it would mark the
  best-scoring agents as harshly described.) Agents disagree only when the agent variance of that part
  is detectable (boundary LR test, p < 0.05) and the agent's |mode/SE| exceeds the Bonferroni bound over
  the agents compared.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import optimize, stats
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from ..data.description import DEFAULT_CSAT, CsatScale
from ..data.model_formula import model_formula, present_mix
from ..models import lmer, variance_lr_test
from ..survey.constants import AGENT, DETRACTOR_MAX
from .results import AnalysisResult, result

#: NPS detractors: at or below 6.
_ANALYZER = None


def score_comments(redacted: pd.Series) -> pd.Series:
    """VADER compound sentiment (−1..1) of each redacted comment; NaN where there is no text."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = SentimentIntensityAnalyzer()
    return redacted.map(lambda t: _ANALYZER.polarity_scores(t)["compound"]
                        if isinstance(t, str) and t.strip() else np.nan).astype(float)


def auc_delong(score, positive, level: float = 0.95) -> dict:
    """AUC for `positive` (True = the group whose scores should be *lower*), its DeLong SE and interval:
    auc, se, lower, upper, n_positive, n_negative. Placement values with mid-ranks: V10_i = share of
    negatives scoring above positive i (ties ½), V01_j = share of positives scoring below negative j;
    Var = Var(V10)/m + Var(V01)/n."""
    s = -np.asarray(score, dtype=float)               # higher = more likely positive
    y = np.asarray(positive, dtype=bool)
    x, z = s[y], s[~y]
    m, n = len(x), len(z)
    if m < 2 or n < 2:
        return {"auc": np.nan, "se": np.nan, "lower": np.nan, "upper": np.nan, "n_positive": m, "n_negative": n}
    both = stats.rankdata(np.r_[x, z])
    v10 = (both[:m] - stats.rankdata(x)) / n
    v01 = 1.0 - (both[m:] - stats.rankdata(z)) / m
    auc = float(v10.mean())
    se = float(np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n))
    q = stats.norm.ppf(0.5 + level / 2)
    return {"auc": auc, "se": se, "lower": max(0.0, auc - q * se), "upper": min(1.0, auc + q * se),
            "n_positive": m, "n_negative": n}


def dissatisfied_codes(scale: CsatScale = DEFAULT_CSAT) -> tuple[int, str]:
    """(largest dissatisfied code, its label): the scale's codes below the middle (``CsatScale.dissatisfied``) —
    (2, 'CSAT 1–2') on 5 points, (3, 'CSAT 1–3') on 7, (1, 'CSAT 1 = bad') on good/bad."""
    top = scale.dissatisfied[-1]
    if top > 1:
        return top, f"CSAT 1–{top}"
    name = scale.labels.get(1)
    return 1, f"CSAT 1 = {name}" if name and name != "1" else "CSAT 1"


@result
class SentimentValidation(AnalysisResult):
    """Sentiment validation: how well comment sentiment separates dissatisfied customers (AUC, DeLong)."""

    table: pd.DataFrame    # per detractor definition: auc, se, lower, upper, n_positive, n_negative, passes
    bar: float             # the AUC's lower end must reach it for sentiment to be used
    gate: str              # the row that decides, e.g. 'CSAT 1–2'

    @property
    def passes(self) -> bool:
        """Whether the gate row clears the bar."""
        return bool(self.table.loc[self.gate, "passes"])


def validate(replies: pd.DataFrame, bar: float = 0.7, level: float = 0.95, scale: CsatScale = DEFAULT_CSAT,
             nps: bool = True) -> SentimentValidation:
    """Rows 'CSAT 1–2' (the gate; see ``dissatisfied_codes`` for other scales) and 'NPS 0–6' (when `nps`):
    auc, se, lower, upper, n_positive, n_negative, and passes (lower ≥ bar; the gate row decides).
    `replies` needs sentiment, csat (and nps)."""
    cut, gate = dissatisfied_codes(scale)
    rows = {}
    for name, col, top in ((gate, "csat", cut), ("NPS 0–6", "nps", DETRACTOR_MAX)):
        if col == "nps" and not nps:
            continue
        part = replies[replies["sentiment"].notna() & replies[col].notna()]
        rows[name] = auc_delong(part["sentiment"], part[col].astype(float) <= top, level)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["passes"] = out["lower"] >= bar
    out.index.name = "detractor definition"
    return SentimentValidation(out, bar=bar, gate=gate)


@result
class AgentVariance(AnalysisResult):
    """Agent variance test: the REML likelihood-ratio test of the agent variance and the agent share (ICC)."""

    lr: float          # likelihood-ratio statistic (0 on a boundary fit)
    p_value: float     # against ½χ²₀ + ½χ²₁
    agent_sd: float    # τ
    sigma: float       # σ
    icc: float         # τ²/(τ² + σ²), with its profile-likelihood interval
    icc_lower: float
    icc_upper: float

    def as_row(self) -> dict:
        """The test's numbers in field order (a row of tables/sentiment_models.csv)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@result
class AgentSentiment(AnalysisResult):
    """Agent sentiment: ``sentiment ~ mix + (1 | agent)`` on the comment replies, and its agent variance test."""

    test: AgentVariance
    formula: str
    fit: object


@result
class Disagreement(AnalysisResult):
    """Sentiment beyond the score: per agent, how much more warmly or harshly its customers write than they score."""

    table: pd.DataFrame    # per agent compared: comments, mode, cond_se, z, disagrees (most harshly first)
    test: AgentVariance    # of the agent variance of sentiment given the score
    z_threshold: float     # Bonferroni bound on |z| over the agents compared
    formula: str
    min_comments: int      # agents with fewer comment replies are not compared
    fit: object


def agent_variance_test(fit, agent: str, level: float = 0.95) -> AgentVariance:
    """For a model whose only random term is the agent intercept: the REML LR test of the agent variance
    against 0 (½χ²₀ + ½χ²₁) — lr, p_value — and agent_sd, sigma, the agent share icc = τ²/(τ² + σ²) =
    θ²/(1 + θ²) with its profile-likelihood interval icc_lower/icc_upper ({θ: D(θ) − D(θ̂) ≤ χ²₁(level)},
    as lme4's confint(method = "profile"))."""
    index = fit.theta_names.index(f"{agent}.(Intercept)")
    theta_hat = float(fit.theta[index])

    def criterion(t: float) -> float:
        theta = np.array(fit.theta, dtype=float)
        theta[index] = t
        return fit.criterion_at(theta)

    d_min = min(fit.reml_criterion, criterion(theta_hat))
    lr = max(0.0, criterion(0.0) - d_min) if theta_hat >= 1e-4 else 0.0     # a boundary fit: LR = 0
    cutoff = float(stats.chi2.ppf(level, 1))
    excess = lambda t: criterion(t) - d_min - cutoff  # noqa: E731
    lower = optimize.brentq(excess, 0.0, theta_hat, xtol=1e-7) if theta_hat > 0 and excess(0.0) > 0 else 0.0
    hi = max(theta_hat, 0.05)
    while excess(hi) < 0 and hi < 100:
        hi *= 2
    upper = optimize.brentq(excess, theta_hat, hi, xtol=1e-7)
    tau = float(fit.varcorr.loc[agent, "sd"])
    share = lambda t: t * t / (1 + t * t)  # noqa: E731
    lr, p_value = variance_lr_test(lr)
    return AgentVariance(lr=lr, p_value=p_value, agent_sd=tau, sigma=float(fit.sigma), icc=share(theta_hat),
                         icc_lower=share(lower), icc_upper=share(upper))


def agent_sentiment(replies: pd.DataFrame, mix) -> AgentSentiment:
    """`sentiment ~ mix + (1 | agent)` on the comment replies: fit, test (``agent_variance_test``), formula."""
    formula = model_formula("sentiment", present_mix(replies, mix))
    fit = lmer(formula, replies)
    return AgentSentiment(test=agent_variance_test(fit, AGENT), formula=formula, fit=fit)


def disagreement(replies: pd.DataFrame, mix, min_comments: int = 5, family: float = 0.05) -> Disagreement:
    """Per agent with at least `min_comments` comment replies (``table``): comments, mode (sentiment beyond
    what the score predicts, on the −1..1 scale), cond_se, z, disagrees; with the fit, its agent variance test,
    the z threshold, the formula and min_comments."""
    data = replies[replies["sentiment"].notna() & replies["csat"].notna()].copy()
    data["csat_score"] = data["csat"].astype(int).astype(str)
    formula = model_formula("sentiment", ["csat_score", *present_mix(data, mix)])
    fit = lmer(formula, data)
    return disagreement_from_fit(fit, data[AGENT].astype(str).value_counts(), formula, min_comments, family)


def disagreement_from_fit(fit, counts: pd.Series, formula: str, min_comments: int = 5,
                          family: float = 0.05) -> Disagreement:
    """``disagreement`` given its fit and the comment replies per agent (`counts`, indexed by the agent as text)."""
    test = agent_variance_test(fit, AGENT)
    re = fit.ranef[AGENT]
    table = pd.DataFrame({"comments": counts}).join(re[["mode", "cond_se"]], how="inner")
    table = table[table["comments"] >= min_comments]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["z"] = np.where(table["cond_se"] > 0, table["mode"] / table["cond_se"], 0.0)
    threshold = float(stats.norm.isf(family / (2 * max(len(table), 1))))
    table["disagrees"] = (test.p_value < 0.05) & (table["z"].abs() > threshold)
    table.index.name = AGENT
    return Disagreement(table=table.sort_values("z"), test=test, z_threshold=threshold, formula=formula,
                        min_comments=min_comments, fit=fit)


def by_score(replies: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean sentiment of the comments at each CSAT score, with a t interval: how tone tracks the score."""
    rows = {}
    for score, part in replies.dropna(subset=["sentiment", "csat"]).groupby(replies["csat"].astype(int)):
        y = part["sentiment"]
        half = stats.t.ppf(0.5 + level / 2, len(y) - 1) * y.std(ddof=1) / np.sqrt(len(y)) if len(y) > 1 else np.nan
        rows[int(score)] = {"comments": len(y), "sentiment": y.mean(), "lower": y.mean() - half,
                            "upper": y.mean() + half, "share_negative": float((y < -0.05).mean())}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "csat"
    return out
