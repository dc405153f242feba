"""Parametric bootstrap of a fitted linear mixed model (lme4's bootMer, type "parametric").

Each replicate simulates y* from the fitted model (random effects b* and residuals drawn with the
estimated variance components), refits it with the same design, and records the variance
components, ICCs and fixed effects. Percentile intervals come from their bootstrap distribution.

For random effects (agent effects) the interval must cover the *realised* effect, not the estimate,
so we record the prediction error b̂* − b* of every replicate and form
    [b̂ − q_{1−α/2}(b̂* − b*),  b̂ − q_{α/2}(b̂* − b*)],
which carries the uncertainty in the variance components as well as the conditional variance.

Three ways to make the replicates (`method`):
- "refit": form y* row by row and refit it with the model's own structure (any model).
- "grouped" (one random intercept, the default for such fits): the same draws of b* and ε* from
  the same random-number stream, hence the same y* and the same estimates as "refit" (to the
  optimiser's tolerance), but y* is never formed: with η₀_j = 1'W^½e_j, η_X = X'W^½e and e'e
  from the standard normals e of the residuals, the replicate's sums are
      sy*_j = s_j'β + w_j b*_j + σ η₀_j,   X'Wy* = X'WXβ + Σ_j s_j b*_j + σ η_X,
      y*'Wy* = β'X'WXβ + 2 Σ_j b*_j s_j'β + Σ_j w_j b*_j² + 2σ β'η_X + 2σ Σ_j b*_j η₀_j + σ² e'e,
  (one matrix product per batch of replicates), and the refit is grouped.py's 1-d root from θ̂.
- "sums" (no n-row arrays: for `lmer_from_stats` fits; needs per-group X_j'WX_j): the noise sums
  are drawn from their exact joint distribution instead — with M_j = A_j'A_j = V_j Λ_j V_j'
  (A_j = W_j^½[1 X_j], rank r_j), A_j'W^½e_j = V_j Λ_j^½ ξ_j, ξ_j ~ N(0, I_{r_j}), and
  e_j'e_j = ξ_j'ξ_j + χ²_{n_j − r_j} independently. Exactly the same distribution as the others,
  but a different random stream, so the same seed gives different (equally valid) replicates.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm import tqdm

from .checks import ModelInputError, check_choice, check_flag, check_level, check_whole
from .grouped import GroupedStructure
from .lmm import single_threaded_blas
from .optimize import optimize_structure

BOOTSTRAP_METHODS = ("auto", "refit", "grouped", "sums")


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
                         level: float = 0.95, method: str = "auto") -> BootstrapResult:
    """n parametric bootstrap replicates of a fitted `lmer` model (see the module doc for `method`;
    "auto": "grouped" for a one-random-intercept fit with rows, "sums" for one from group
    statistics alone, "refit" otherwise)."""
    n = check_whole(n, "n", 2, "the number of bootstrap replicates")
    level = check_level(level)
    check_flag(progress, "progress")
    method = check_choice(method, "method", BOOTSTRAP_METHODS)
    struct = res.structure
    grouped = isinstance(struct, GroupedStructure)
    if method == "auto":
        method = ("grouped" if struct.has_rows else "sums") if grouped else "refit"
    if method in ("grouped", "sums") and not grouped:
        raise ModelInputError(f"method={method!r} needs a model whose only random term is (1 | g); use method='refit'")
    if method == "grouped" and not struct.has_rows:
        raise ModelInputError("method='grouped' draws residuals row by row, but this model was fitted from group "
                              "statistics alone; use method='sums'")
    if method == "sums" and struct.stats.xtx is None and not struct.has_rows:
        raise ModelInputError("method='sums' needs the per-group X'X (GroupStats built with per_group_xtx=True)")
    if method != "refit":
        return _grouped_bootstrap(res, n, seed, progress, level, rows=method == "grouped")
    rng = np.random.default_rng(seed)
    blocks = struct.blocks
    beta = res.fixef.to_numpy()
    T = res.factor.T
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
            y += blk.row_effects(b)
        y += resid_scale * rng.standard_normal(n_obs)
        s = struct.with_response(y)
        opt = optimize_structure(s, res.reml, start=res.theta, check=False)
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
    return _result(res, n, failed, level, rows, errors)


def _result(res, n, failed, level, rows, errors) -> BootstrapResult:
    if not rows:
        raise RuntimeError("every bootstrap refit failed")
    blocks = res.structure.blocks
    names = list(res.fixef.index)
    estimates = pd.Series(_record(res, blocks, res.sigma, res.factor.T, res.fixef.to_numpy(), names))
    modes = {}
    for t, blk in enumerate(blocks):
        if "(Intercept)" not in blk.terms:
            continue
        j = blk.terms.index("(Intercept)")
        modes[blk.group] = pd.Series(res.b[t].reshape(blk.n_levels, blk.k)[:, j], index=blk.levels, name="mode")
    return BootstrapResult(n=n, n_failed=failed, level=level, samples=pd.DataFrame(rows),
                           estimates=estimates, modes=modes,
                           errors={g: np.array(v) for g, v in errors.items()}, fixef_names=tuple(names))


class _RowNoise:
    """Noise sums of a batch from the row-by-row stream: per replicate u (G), then e (n) — the draws
    of the "refit" path — reduced to η₀ = Z'W^½e (G), η_X = X'W^½e (p) and e'e."""

    def __init__(self, struct: GroupedStructure):
        r = struct.rows
        self.n_obs, G = len(r.codes), struct.stats.n_groups
        sw = None if r.weights is None else np.sqrt(r.weights)
        self.Xsw = r.X if sw is None else r.X * sw[:, None]
        self.indicator = sp.csr_matrix((np.ones(self.n_obs) if sw is None else sw, (r.codes, np.arange(self.n_obs))),
                                       shape=(G, self.n_obs))
        self.G = G
        self.batch = max(1, 2_000_000 // (G + self.n_obs))

    def draw(self, rng, m: int):
        z = rng.standard_normal((m, self.G + self.n_obs))
        u, e = z[:, :self.G], z[:, self.G:]
        return u, np.asarray(self.indicator @ e.T).T, e @ self.Xsw, np.einsum("ij,ij->i", e, e)


class _SumNoise:
    """Noise sums drawn from their exact distribution, without rows: with M_j = A_j'A_j = F_jF_j'
    (A_j = W_j^½[1 X_j], F_j = V_jΛ_j^½ on the r_j positive eigenvalues), A_j'W^½e_j = F_jξ_j and
    e_j'e_j = ξ_j'ξ_j + χ²_{n_j − r_j}."""

    def __init__(self, struct: GroupedStructure):
        stats = struct.stats
        G, p = stats.n_groups, stats.p
        M = np.empty((G, p + 1, p + 1))
        M[:, 0, 0] = stats.w
        M[:, 0, 1:] = stats.s
        M[:, 1:, 0] = stats.s
        M[:, 1:, 1:] = struct.group_crossproducts()
        lam, V = np.linalg.eigh(M)                                  # ascending
        keep = lam > 1e-10 * np.maximum(lam[:, -1:], 0.0)
        keep &= np.arange(p + 1)[None, ::-1] < stats.n[:, None]     # rank(A_j) ≤ n_j
        self.F = V * np.sqrt(np.where(keep, lam, 0.0))[:, None, :]
        self.keep = keep.astype(float)
        self.resid_df = stats.n - keep.sum(axis=1)
        self.G, self.p = G, p
        self.batch = max(1, 2_000_000 // (G * (p + 2)))

    def draw(self, rng, m: int):
        G, p1 = self.G, self.p + 1
        u, xi, chi2 = np.empty((m, G)), np.empty((m, G, p1)), np.empty((m, G))
        for i in range(m):                   # replicate by replicate, so the stream does not depend on batching
            z = rng.standard_normal(G * (p1 + 1))
            u[i], xi[i] = z[:G], z[G:].reshape(G, p1)
            chi2[i] = 2.0 * rng.standard_gamma(self.resid_df / 2.0)
        z = np.einsum("gij,mgj->mgi", self.F, xi, optimize=True)
        ee = np.einsum("mgj,mgj,gj->m", xi, xi, self.keep) + chi2.sum(axis=1)
        return u, z[:, :, 0], z[:, :, 1:].sum(axis=1), ee


def _grouped_bootstrap(res, n, seed, progress, level, rows: bool) -> BootstrapResult:
    """Replicates of a one-random-intercept model from group sums (module doc: "grouped", "sums")."""
    rng = np.random.default_rng(seed)
    struct = res.structure
    s, w, p = struct.stats.s, struct.w, struct.p
    beta = res.fixef.to_numpy()
    theta, sigma = float(res.theta[0]), res.sigma
    blocks, names = struct.blocks, list(res.fixef.index)
    sb = s @ beta                                                   # s_j'β
    xtxb = struct.B[:p, :p] @ beta
    bxb = float(beta @ xtxb)
    denom = struct.n - p if res.reml else struct.n
    out, errors, failed, done = [], [], 0, 0
    bar = tqdm(total=n, desc="bootstrap", disable=not progress, file=sys.stderr, leave=False)
    with single_threaded_blas():                    # small matrices: threads only cost (lmm.py)
        noise = _RowNoise(struct) if rows else _SumNoise(struct)
        while done < n:
            m = min(noise.batch, n - done)
            u, eta0, etaX, ee = noise.draw(rng, m)
            b = sigma * (u * theta)                                  # b* = σTu, as the "refit" path
            sy = sb[None, :] + w[None, :] * b + sigma * eta0
            xty = xtxb[None, :] + b @ s + sigma * etaX
            yty = (bxb + 2.0 * b @ sb + (b * b) @ w + 2.0 * sigma * etaX @ beta
                   + 2.0 * sigma * np.einsum("ij,ij->i", b, eta0) + sigma * sigma * ee)
            for i in range(m):
                rep = struct.with_sums(sy[i], xty[i], yty[i])
                opt = rep.optimize(res.reml, start=res.theta, check=False)
                f = rep.factor(opt.theta)
                if f is None or not np.isfinite(opt.value):
                    failed += 1
                    continue
                beta_s, _, b_s = rep.solve(f)
                out.append(_record(res, blocks, np.sqrt(f.pwrss / denom), f.T, beta_s, names))
                errors.append(b_s[0] - b[i])
            done += m
            bar.update(m)
    bar.close()
    return _result(res, n, failed, level, out, {blocks[0].group: errors})
