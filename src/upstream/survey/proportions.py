"""Intervals for a proportion with few responses (Brown, Cai & DasGupta 2001, Statistical Science
16(2)): the Wilson score interval and the equal-tailed Jeffreys interval with the boundary convention
lower = 0 when x = 0, upper = 1 when x = n (statsmodels' jeffreys does not apply it)."""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from ._checks import checked_counts, shaped_like, z_of_level


def wilson_interval(successes: Any, n: Any, level: float = 0.95):
    """Wilson score interval for a binomial proportion: (lower, upper), each a float, array or
    Series like the input. (x + z²/2)/(n + z²) ± z·sqrt(x(n − x)/n + z²/4)/(n + z²); n = 0 gives
    (0, 1). Non-integer counts (e.g. effective counts) are accepted."""
    x, m, _ = checked_counts(successes, n)
    z = z_of_level(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.where(m > 0, x * (m - x) / m, 0.0)
    centre = (x + z * z / 2) / (m + z * z)
    half = z * np.sqrt(spread + z * z / 4) / (m + z * z)
    lower = np.where(x == 0, 0.0, np.clip(centre - half, 0, 1))
    upper = np.where(x == m, 1.0, np.clip(centre + half, 0, 1))
    return shaped_like(successes, n, lower), shaped_like(successes, n, upper)


def jeffreys_interval(successes: Any, n: Any, level: float = 0.95):
    """Equal-tailed Jeffreys interval: the (1 − level)/2 and (1 + level)/2 quantiles of
    Beta(x + ½, n − x + ½), with the Brown–Cai–DasGupta (2001) boundary convention lower = 0 when
    x = 0 and upper = 1 when x = n (so n = 0 gives (0, 1))."""
    x, m, _ = checked_counts(successes, n)
    z_of_level(level)
    tail = (1 - level) / 2
    lower = np.where(x == 0, 0.0, stats.beta.ppf(tail, x + 0.5, m - x + 0.5))
    upper = np.where(x == m, 1.0, stats.beta.ppf(1 - tail, x + 0.5, m - x + 0.5))
    return shaped_like(successes, n, lower), shaped_like(successes, n, upper)


