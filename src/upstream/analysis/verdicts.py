"""Verdicts about people, as a multiple-decision problem with a stated error rate.

Every function works on *draws* of the agents' true effects: one row per bootstrap replicate, one
column per agent (``BootstrapResult.effect_draws``: b̂ − (b̂* − b*), which carries each agent's
conditional variance and the uncertainty of the variance components).

The estimand is what the sentence says: an agent's effect against the *average agent*, the plain mean
of the effects of the agents in the model (``against_agent_mean`` centres every draw on it). A model's
random intercepts are deviations from its intercept, which sits near the precision-weighted mean of
the agents (weights 1/(τ² + σ²/n_j)); uncentred draws would judge agents against that weighted mean,
which moves with how many replies each agent has.

- ``against_agent_mean``: each draw minus the plain mean of that draw's agent effects.

- ``sign_probabilities``: P(effect < −δ), P(effect > δ) and the local false sign rate
  lfsr = min(P(effect ≤ 0), P(effect ≥ 0)) (Stephens 2017, Biostatistics 18): the probability that
  a verdict on the sign is wrong.
- ``bottom_probability``: P(the agent is in the bottom `fraction` of agents), from ranking every
  replicate's draws — a rank is uncertain, so this is a probability, not a yes/no.
- ``assign_verdicts``: "above average" when P(effect > δ) ≥ 1 − max_false_sign, "below average"
  likewise, otherwise "not distinguishable from average"; agents whose survey process is flagged are
  "survey process under review" and agents below the reliability threshold "not enough responses to
  rank". With δ = 0 the rule is lfsr ≤ max_false_sign.
- ``expected_wrong_verdicts``: Σ lfsr over the agents given a verdict — the expected number of
  verdicts with the wrong sign (Gelman & Tuerlinckx 2000 call them type S errors) *if the model is
  right*. With a ceiling on the scale, non-normal noise or response that depends on the score it
  can be too small; benchmarks/coverage.py measures realised against stated over simulated operations.

The practical margin δ (``practical_margin``; the studies' default is ``studies.steps.verdict_margin``)
follows one rule: 1.25% of the scale's range (0.05 points on 1–5, 1.25 percentage points on good/bad),
fixed in advance for every data set, never tuned on the data being judged. It was chosen once on the
independent simulated operation (benchmarks/judge_verdicts.py, seeds 1–6) and is checked on operations
it was not chosen on (benchmarks/coverage.py: the project's simulator from seed 1000 and a heavy-tailed
generator, benchmarks/heavy_tailed.py), where realised wrong verdicts must stay ≤ max(2 × stated,
stated + 2) and the false sign rate ≤ 5%. On seeds 5000–5049 of each (400 draws): the project's
simulator 18 wrong of 1,750 verdicts against 9.9 stated (1.81×, false sign rate 1.0%); heavy-tailed
agents 19 of 1,252 against 8.6 (2.20×, 1.5%) — over the bound in aggregate (19 > 17.3), within it in
49 of 50 operations one by one.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ABOVE = "above average"
BELOW = "below average"
NEUTRAL = "not distinguishable from average"
NOT_RANKABLE = "not enough responses to rank"
UNDER_REVIEW = "survey process under review"
VERDICTS = (ABOVE, BELOW, NEUTRAL, NOT_RANKABLE, UNDER_REVIEW)


def against_agent_mean(draws: pd.DataFrame) -> pd.DataFrame:
    """Every draw (row) minus the plain mean of its agents' effects: effects against the average agent."""
    return draws.sub(draws.mean(axis=1), axis=0)


def sign_probabilities(draws: pd.DataFrame, margin: float = 0.0) -> pd.DataFrame:
    """Per agent (column of `draws`): p_below = P(effect < −margin), p_above = P(effect > margin),
    lfsr = min(P(effect ≤ 0), P(effect ≥ 0)), from the share of draws."""
    if margin < 0:
        raise ValueError(f"the practical margin must be >= 0 score points, got {margin!r}")
    d = draws.to_numpy(dtype=float)
    out = pd.DataFrame({
        "p_below": (d < -margin).mean(axis=0),
        "p_above": (d > margin).mean(axis=0),
        "lfsr": np.minimum((d <= 0).mean(axis=0), (d >= 0).mean(axis=0)),
    }, index=draws.columns)
    return out


def bottom_probability(draws: pd.DataFrame, fraction: float = 0.1) -> pd.Series:
    """P(agent among the bottom ⌈fraction·m⌉ of the m agents in `draws`), ranking each replicate."""
    m = draws.shape[1]
    if m == 0:
        return pd.Series(dtype=float)
    k = max(1, int(np.ceil(fraction * m - 1e-9)))
    ranks = draws.to_numpy(dtype=float).argsort(axis=1).argsort(axis=1)    # 0 = lowest
    return pd.Series((ranks < k).mean(axis=0), index=draws.columns, name="p_bottom")


def assign_verdicts(probabilities: pd.DataFrame, rankable: pd.Series, flagged: pd.Series | None = None,
                    max_false_sign: float = 0.05) -> pd.Series:
    """The verdict of each agent (see the module docstring); `probabilities` from sign_probabilities."""
    if not 0 < max_false_sign < 0.5:
        raise ValueError(f"max_false_sign must be between 0 and 0.5, got {max_false_sign!r}")
    index = probabilities.index
    rankable = rankable.reindex(index).fillna(False).astype(bool)
    flagged = (pd.Series(False, index=index) if flagged is None
               else flagged.reindex(index).fillna(False).astype(bool))
    need = 1.0 - max_false_sign
    verdict = np.where(probabilities["p_above"] >= need, ABOVE,
                       np.where(probabilities["p_below"] >= need, BELOW, NEUTRAL))
    verdict = np.where(rankable, verdict, NOT_RANKABLE)
    verdict = np.where(flagged, UNDER_REVIEW, verdict)
    return pd.Series(verdict, index=index, name="verdict")


def expected_wrong_verdicts(table: pd.DataFrame) -> float:
    """Σ lfsr over agents whose verdict is above or below average."""
    given = table["verdict"].isin([ABOVE, BELOW])
    return float(table.loc[given, "lfsr"].sum())
