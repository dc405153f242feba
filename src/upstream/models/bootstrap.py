"""Parametric bootstrap of a fitted linear mixed model (lme4's bootMer, type "parametric").

Each replicate simulates y* from the fitted model (random effects b* and residuals drawn with the
estimated variance components), refits it with the same design, and records the variance
components, ICCs and fixed effects. Percentile intervals come from their bootstrap distribution.

For random effects (agent effects) the interval must cover the *realised* effect, not the estimate,
so we record the prediction error b̂* − b* of every replicate and form
    [b̂ − q_{1−α/2}(b̂* − b*),  b̂ − q_{α/2}(b̂* − b*)],
which carries the uncertainty in the variance components as well as the conditional variance.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from .optimize import optimize_theta


@dataclass
class BootstrapResult:
    n: int
    n_failed: int
    level: float
    samples: pd.DataFrame                 # one row per replicate: sd_<group>_<term>, sigma, icc_<group>, fixef
    estimates: pd.Series                  # the same quantities from the original fit
    modes: dict[str, pd.Series]           # original conditional modes, intercept terms
    errors: dict[str, np.ndarray]         # replicate × level prediction errors b̂* − b*
    fixef_names: tuple[str, ...] = ()     # names of the fixed-effect columns in `samples`

    def intervals(self) -> pd.DataFrame:
        """Estimate and percentile interval for every recorded quantity."""
        a = (1 - self.level) / 2
        q = self.samples.quantile([a, 1 - a])
        return pd.DataFrame({"estimate": self.estimates, "lower": q.iloc[0], "upper": q.iloc[1]})

    def fixef(self) -> pd.DataFrame:
        """Fixed-effect estimates of every replicate (replicate × column)."""
        return self.samples[list(self.fixef_names)]

    def sd(self, group: str, term: str = "(Intercept)") -> pd.Series:
        """Random-effect SD of `group`'s `term` in every replicate."""
        column = f"sd_{group}_{term}"
        if column not in self.samples:
            raise KeyError(f"no random term {term!r} for {group!r} in this bootstrap")
        return self.samples[column]

    @property
    def sigma(self) -> pd.Series:
        """Residual SD in every replicate."""
        return self.samples["sigma"]

    def effect_draws(self, group: str) -> pd.DataFrame:
        """Plausible true random intercepts of `group`, one row per replicate: b̂ − (b̂* − b*), the
        estimate minus the replicate's prediction error (its spread carries the conditional variance
        and the uncertainty of the variance components)."""
        if group not in self.modes:
            raise KeyError(f"no random intercept for {group!r}; have {', '.join(self.modes)}")
        mode = self.modes[group]
        return pd.DataFrame(mode.to_numpy()[None, :] - self.errors[group], columns=mode.index)

    def effects(self, group: str) -> pd.DataFrame:
        """Random intercepts of `group` with bootstrap prediction intervals."""
        if group not in self.modes:
            raise KeyError(f"no random intercept for {group!r}; have {', '.join(self.modes)}")
        a = (1 - self.level) / 2
        e = self.errors[group]
        mode = self.modes[group]
        lo, hi = np.quantile(e, [a, 1 - a], axis=0)
        return pd.DataFrame({"mode": mode, "lower": mode.to_numpy() - hi, "upper": mode.to_numpy() - lo},
                            index=mode.index)


def _record(result_like, blocks, sigma, T, beta, fixef_names) -> dict:
    out = {}
    icc_num = {}
    for blk, Tt in zip(blocks, T):
        cov = sigma ** 2 * (Tt @ Tt.T)
        for j, term in enumerate(blk.terms):
            out[f"sd_{blk.group}_{term}"] = float(np.sqrt(cov[j, j]))
            if term == "(Intercept)":
                icc_num[blk.group] = icc_num.get(blk.group, 0.0) + cov[j, j]
    out["sigma"] = float(sigma)
    total = sum(icc_num.values()) + sigma ** 2
    for g, v in icc_num.items():
        out[f"icc_{g}"] = float(v / total)
    for name, b in zip(fixef_names, beta):
        out[name] = float(b)
    return out


def parametric_bootstrap(res, n: int = 500, seed: int | None = None, progress: bool = True,
                         level: float = 0.95) -> BootstrapResult:
    if n < 2:
        raise ValueError("a bootstrap needs at least 2 replicates")
    rng = np.random.default_rng(seed)
    struct = res.structure
    blocks = struct.blocks
    beta = res.fixef.to_numpy()
    T = res._factor.T
    sigma = res.sigma
    xb = struct.X @ beta
    resid_scale = sigma / struct.sw if struct.sw is not None else sigma
    n_obs = struct.n
    names = list(res.fixef.index)
    intercept_blocks = [t for t, b in enumerate(blocks) if "(Intercept)" in b.terms]
    rows, errors = [], {blocks[t].group: [] for t in intercept_blocks}
    failed = 0
    bar = tqdm(total=n, desc="bootstrap", disable=not progress, file=sys.stderr, leave=False)
    for _ in range(n):
        b_true = []
        y = xb.copy()
        for blk, Tt in zip(blocks, T):
            u = rng.standard_normal((blk.n_levels, blk.k))
            b = sigma * (u @ Tt.T)
            b_true.append(b)
            y += np.einsum("ij,ij->i", blk.values, b[blk.codes])
        y += resid_scale * rng.standard_normal(n_obs)
        s = struct.with_response(y)
        opt = optimize_theta(lambda th: s.deviance(th, res.reml), s.n_theta, s.lower, start=res.theta,
                             check=False)
        f = s.factor(opt.theta)
        if f is None or not np.isfinite(opt.value):
            failed += 1
            bar.update()
            continue
        beta_s, _, b_s = s.solve(f)
        sigma_s = np.sqrt(f.pwrss / (s.n - s.p if res.reml else s.n))
        rows.append(_record(res, blocks, sigma_s, f.T, beta_s, names))
        for t in intercept_blocks:
            blk = blocks[t]
            j = blk.terms.index("(Intercept)")
            est = b_s[t].reshape(blk.n_levels, blk.k)[:, j]
            errors[blk.group].append(est - b_true[t][:, j])
        bar.update()
    bar.close()
    if not rows:
        raise RuntimeError("every bootstrap refit failed")
    estimates = pd.Series(_record(res, blocks, sigma, T, beta, names))
    modes = {}
    for t in intercept_blocks:
        blk = blocks[t]
        j = blk.terms.index("(Intercept)")
        modes[blk.group] = pd.Series(res._b[t].reshape(blk.n_levels, blk.k)[:, j], index=blk.levels, name="mode")
    return BootstrapResult(n=n, n_failed=failed, level=level, samples=pd.DataFrame(rows),
                           estimates=estimates, modes=modes,
                           errors={g: np.array(v) for g, v in errors.items()}, fixef_names=tuple(names))
