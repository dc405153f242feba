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

import importlib

#: Where each public name lives. The names are imported when first used (PEP 562), so that a module that
#: needs only ``survey.constants`` (the data layer) does not import scipy.stats with the rest.
_HOME = {
    **dict.fromkeys(("FunnelScreen", "SteeringScreen", "funnel_flags", "funnel_limits", "steering_flags"), "funnel"),
    **dict.fromkeys(("NpsEstimate", "nps", "nps_by_group", "nps_from_counts"), "nps"),
    **dict.fromkeys(("PropensityModel", "cell_propensity", "kish_effective_n", "mann_whitney_auc",
                     "response_propensity"), "propensity"),
    **dict.fromkeys(("jeffreys_interval", "wilson_interval"), "proportions"),
    **dict.fromkeys(("KAPPA_MAX", "BetaBinomialFit", "NpsShrinkage", "beta_binomial_shrinkage", "beta_posterior",
                     "shrunken_nps", "shrunken_nps_from_counts"), "shrinkage"),
}


from .nps import nps  # noqa: E402  (bound now: importing the submodule `nps` would otherwise shadow the function)


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KAPPA_MAX",
    "NpsEstimate",
    "nps",
    "nps_by_group",
    "nps_from_counts",
    "shrunken_nps",
    "shrunken_nps_from_counts",
    "wilson_interval",
    "jeffreys_interval",
    "beta_posterior",
    "BetaBinomialFit",
    "NpsShrinkage",
    "beta_binomial_shrinkage",
    "PropensityModel",
    "response_propensity",
    "cell_propensity",
    "mann_whitney_auc",
    "kish_effective_n",
    "funnel_limits",
    "funnel_flags",
    "steering_flags",
    "FunnelScreen",
    "SteeringScreen",
]
