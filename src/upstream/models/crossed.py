"""Agent × customer crossed random intercepts in O(N): `y ~ X + (1 | agent) + (1 | customer)` from sums.

Exact REML for two crossed factors needs a dense Schur complement of one factor's block (20,000 agents:
3 GB) and every row. At that size this module fits the same model from aggregates that SQL computes in
one pass each (``upstream.data.sql.aggregates``): the totals X'X, X'y, y'y; per agent and per customer
n, X'1, 1'y; per agent × customer cell the count.

- **Variance components by the method of moments** (in the spirit of Gao & Owen 2017, EJS 11): with r
  the OLS residuals, the three quadratic forms Σ_agents (Σ r)², Σ_customers (Σ r)² and Σ r² have
  expectations linear in σ²_agent, σ²_customer, σ² that are computed exactly, including the loss to the
  fitted β (E r'Ar = tr(A M V M), M = I − X(X'X)⁻¹X'), from the same sums; the 3 × 3 system is solved
  and a negative component set to 0 (then the other two re-solved). Unbiased, not REML: on the bundled
  sample the agent SD is within a few per cent of REML's.
- **Fixed effects and conditional modes** given those components: the mixed-model equations
  [X'X, X'Z; Z'X, Z'Z + Λ⁻²] (β, b) = (X'y, Z'y) solved by conjugate gradients preconditioned with the
  block diagonal ((X'X)⁻¹, 1/(n_g + λ_g)) — the Krylov-accelerated form of backfitting (Ghosh, Hastie &
  Owen 2022, Ann. Stat. 50): each iteration is one pass over the cells, and its fixed point is the
  exact GLS/BLUP solution for those components.
- **Conditional SEs of the agents' modes** (β treated as known, as lme4's condVar): σ² / d_i with d_i
  the agent's diagonal of the Schur complement after the customers are eliminated,
  n_i + λ_a − Σ_j n_ij² / (n_j + λ_c); the coupling of two agents through shared customers is left out
  (second order where customers are spread over many agents). Fixed-effect covariance: σ² times the β
  block of the inverse, by p more conjugate-gradient solves.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from .lmm import single_threaded_blas

#: Relative residual at which the conjugate-gradient solve stops.
CG_TOLERANCE = 1e-10
CG_MAX_ITER = 2000


@dataclass(frozen=True)
class CrossedSums:
    """Aggregates of `y ~ X + (1 | agent) + (1 | customer)`: totals (n, xtx, xty, yty), per agent and per
    customer (levels, n, s = X'1, sy = 1'y), and the agent × customer cells (indices into the two level
    lists and their counts)."""

    names: tuple[str, ...]
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    agent_levels: np.ndarray
    agent_n: np.ndarray
    agent_s: np.ndarray
    agent_sy: np.ndarray
    customer_levels: np.ndarray
    customer_n: np.ndarray
    customer_s: np.ndarray
    customer_sy: np.ndarray
    cell_agent: np.ndarray
    cell_customer: np.ndarray
    cell_n: np.ndarray

    @property
    def n(self) -> int:
        return int(self.agent_n.sum())

    @classmethod
    def from_arrays(cls, X: np.ndarray, y, agent, customer, names) -> "CrossedSums":
        """The sums of a model matrix, a response and the two grouping columns (for tests and small data)."""
        X = np.asarray(X, float)
        y = np.asarray(y, float)
        a_levels, a_idx = np.unique(np.asarray(agent).astype(str), return_inverse=True)
        c_levels, c_idx = np.unique(np.asarray(customer).astype(str), return_inverse=True)

        def by(idx, k):
            sums = np.stack([np.bincount(idx, X[:, j], k) for j in range(X.shape[1])], 1)
            return np.bincount(idx, minlength=k), sums, np.bincount(idx, y, k)

        an, as_, asy = by(a_idx, len(a_levels))
        cn, cs, csy = by(c_idx, len(c_levels))
        cells, counts = np.unique(np.stack([a_idx, c_idx], 1), axis=0, return_counts=True)
        return cls(tuple(names), X.T @ X, X.T @ y, float(y @ y), a_levels, an, as_, asy, c_levels, cn, cs, csy,
                   cells[:, 0], cells[:, 1], counts)


@dataclass
class CrossedFit:
    """The moment/GLS fit (see the module docstring). `ranef[agent]` and `ranef[customer]`: mode and
    cond_se per level; `reliability[agent]`: 1 − cond_var / σ²_agent; `varcorr`: SDs per group and the
    residual; `iterations`: conjugate-gradient iterations of the main solve."""

    formula: str
    fixef: pd.Series
    vcov: pd.DataFrame
    sigma: float
    variances: dict
    ranef: dict
    reliability: dict
    nobs: int
    ngroups: dict
    iterations: int
    method: str = "method of moments (variance components) + conjugate-gradient GLS (modes)"
    singular: bool = field(default=False)

    @property
    def varcorr(self) -> pd.DataFrame:
        groups = [g for g in self.variances if g != "Residual"] + ["Residual"]
        var = [self.variances[g] for g in groups]
        return pd.DataFrame({"term": ["(Intercept)"] * (len(groups) - 1) + [""], "variance": var, "sd": np.sqrt(var)},
                            index=pd.Index(groups, name="group"))

    def health(self) -> list[str]:
        """Problems worth reporting: a variance component whose moment estimate was negative (set to 0)."""
        return [f"the {group} variance's moment estimate was negative and is set to 0 (its effects are not separated)"
                for group, v in self.variances.items() if group != "Residual" and v == 0]


def _variance_components(s: CrossedSums, beta_ols: np.ndarray, K: np.ndarray, cells_t) -> np.ndarray:
    """(σ²_agent, σ²_customer, σ²) from the three quadratic forms of the OLS residuals and their exact
    expectations (module docstring); negative components are set to 0 and the rest re-solved. `cells_t`: the
    customer × agent matrix of cell counts N' (sparse)."""
    N = float(s.n)
    Ra = s.agent_sy - s.agent_s @ beta_ols
    Rc = s.customer_sy - s.customer_s @ beta_ols
    rr = s.yty - 2 * beta_ols @ s.xty + beta_ols @ s.xtx @ beta_ols
    q = np.array([Ra @ Ra, Rc @ Rc, rr])
    SaSa = s.agent_s.T @ s.agent_s
    ScSc = s.customer_s.T @ s.customer_s
    nSaSa = (s.agent_s * s.agent_n[:, None]).T @ s.agent_s
    nScSc = (s.customer_s * s.customer_n[:, None]).T @ s.customer_s
    ScNSa = s.customer_s.T @ (cells_t @ s.agent_s)      # Sc'N'Sa without a cells × p array (7M cells: 1.7 GB each)
    sum_na2 = float(s.agent_n.astype(float) @ s.agent_n)
    sum_nc2 = float(s.customer_n.astype(float) @ s.customer_n)
    sum_nac2 = float(s.cell_n.astype(float) @ s.cell_n)
    KSaSa, KScSc = K @ SaSa, K @ ScSc

    def frob(norm_nn, cross, Sp, Sq):          # ||Z_p'MZ_q||² = ||N_pq||² − 2 tr(K S_q'N_qp S_p) + tr(K Sp'Sp K Sq'Sq)
        return norm_nn - 2 * np.trace(K @ cross) + np.trace(K @ Sp @ K @ Sq)

    # rows: the quadratic forms Σ_a R², Σ_c R², r'r; columns: σ²_agent, σ²_customer, σ²
    E = np.array([
        [frob(sum_na2, nSaSa, SaSa, SaSa), frob(sum_nac2, ScNSa, SaSa, ScSc), N - np.trace(KSaSa)],
        [frob(sum_nac2, ScNSa.T, ScSc, SaSa), frob(sum_nc2, nScSc, ScSc, ScSc), N - np.trace(KScSc)],
        [N - np.trace(KSaSa), N - np.trace(KScSc), N - len(beta_ols)],
    ])
    comp = np.linalg.solve(E, q)
    zero: list[int] = []
    while min(comp[0], comp[1]) < 0:           # a negative component is 0; the others from their own equations
        zero.append(int(np.argmin(comp[:2])))
        keep = [j for j in range(3) if j not in zero]
        comp = np.zeros(3)
        comp[keep] = np.linalg.solve(E[np.ix_(keep, keep)], q[keep])
    if comp[2] <= 0:
        raise ValueError("the residual variance's moment estimate is not positive: the data cannot separate "
                         "agents, customers and replies")
    return comp


def _pcg(apply, precondition, rhs: np.ndarray, tol: float = CG_TOLERANCE, max_iter: int = CG_MAX_ITER):
    """Preconditioned conjugate gradients for one or more right-hand sides (columns), each column with its
    own step sizes; returns the solution and the iterations used."""
    x = np.zeros_like(rhs)
    r = rhs.copy()
    z = precondition(r)
    p = z.copy()
    rz = np.sum(r * z, axis=0)
    norm0 = np.sqrt(np.sum(rhs * rhs, axis=0))
    norm0[norm0 == 0] = 1.0
    for it in range(1, max_iter + 1):
        Ap = apply(p)
        pAp = np.sum(p * Ap, axis=0)
        alpha = np.divide(rz, pAp, out=np.zeros_like(rz), where=pAp != 0)
        x += alpha * p
        r -= alpha * Ap
        if np.all(np.sqrt(np.sum(r * r, axis=0)) <= tol * norm0):
            return x, it
        z = precondition(r)
        rz_new = np.sum(r * z, axis=0)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz != 0)
        p = z + beta * p
        rz = rz_new
    raise ArithmeticError(f"conjugate gradients did not reach a relative residual of {tol:g} in {max_iter} "
                          "iterations")


def crossed_fit(s: CrossedSums, agent: str = "agent_id", customer: str = "customer_id", response: str = "y",
                fixed_se: bool = True, terms=None) -> CrossedFit:
    """Fit `response ~ X + (1 | agent) + (1 | customer)` from `s` (see the module docstring); `fixed_se`
    False skips the fixed effects' covariance (p more solves; `vcov` is then NaN); `terms`: the variables
    X codes, for the formula (default: its column names)."""
    with single_threaded_blas():       # small dense products: threads cost more than they gain on a busy machine
        fit = _crossed_fit(s, agent, customer, response, fixed_se)
    if terms is not None:
        fit.formula = crossed_formula(response, terms, agent, customer)
    return fit


def crossed_formula(response: str, terms, agent: str, customer: str) -> str:
    """The label of a crossed fit: `response ~ terms + (1 | agent) + (1 | customer)` ("1" without terms)."""
    return f"{response} ~ {' + '.join(terms) or '1'} + (1 | {agent}) + (1 | {customer})"


def _crossed_fit(s: CrossedSums, agent: str, customer: str, response: str, fixed_se: bool) -> CrossedFit:
    p, G, C = len(s.names), len(s.agent_levels), len(s.customer_levels)
    K = np.linalg.pinv(s.xtx)
    beta_ols = K @ s.xty
    cells = sparse.csr_matrix((s.cell_n.astype(float), (s.cell_agent, s.cell_customer)), shape=(G, C))
    cells_t = cells.T.tocsr()
    va, vc, ve = _variance_components(s, beta_ols, K, cells_t)
    lam_a = ve / va if va > 0 else np.inf
    lam_c = ve / vc if vc > 0 else np.inf
    da = s.agent_n + (lam_a if np.isfinite(lam_a) else 0.0)
    dc = s.customer_n + (lam_c if np.isfinite(lam_c) else 0.0)
    on_a, on_c = float(np.isfinite(lam_a)), float(np.isfinite(lam_c))   # a zero component: that block is fixed at 0

    def apply(v):
        shape = (-1,) + (1,) * (v.ndim - 1)
        beta, a, c = v[:p], v[p:p + G] * on_a, v[p + G:] * on_c
        out = np.empty_like(v)
        out[:p] = s.xtx @ beta + s.agent_s.T @ a + s.customer_s.T @ c
        out[p:p + G] = (s.agent_s @ beta + da.reshape(shape) * a + cells @ c) * on_a
        out[p + G:] = (s.customer_s @ beta + dc.reshape(shape) * c + cells_t @ a) * on_c
        return out

    def precondition(r):
        shape = (-1,) + (1,) * (r.ndim - 1)
        out = np.empty_like(r)
        out[:p] = K @ r[:p]
        out[p:p + G] = r[p:p + G] / da.reshape(shape) * on_a
        out[p + G:] = r[p + G:] / dc.reshape(shape) * on_c
        return out

    rhs = np.concatenate([s.xty, s.agent_sy * on_a, s.customer_sy * on_c])[:, None]
    sol, iterations = _pcg(apply, precondition, rhs)
    sol = sol[:, 0]
    beta, modes_a, modes_c = sol[:p], sol[p:p + G], sol[p + G:]
    if fixed_se:
        unit = np.zeros((p + G + C, p))
        unit[:p] = np.eye(p)
        vcov = ve * _pcg(apply, precondition, unit)[0][:p]
        vcov = (vcov + vcov.T) / 2
    else:
        vcov = np.full((p, p), np.nan)
    schur = da - (np.bincount(s.cell_agent, s.cell_n.astype(float) ** 2 / dc[s.cell_customer], minlength=G)
                  if on_c else 0.0)
    var_a = np.where(on_a > 0, ve / schur, 0.0)
    var_c = ve / dc if on_c else np.zeros(C)
    names = list(s.names)
    ranef = {agent: pd.DataFrame({"mode": modes_a, "cond_se": np.sqrt(var_a)},
                                 index=pd.Index(s.agent_levels, name=agent)),
             customer: pd.DataFrame({"mode": modes_c, "cond_se": np.sqrt(var_c)},
                                    index=pd.Index(s.customer_levels, name=customer))}
    reliability = {agent: pd.Series(1 - var_a / va if va > 0 else np.zeros(G), index=ranef[agent].index,
                                    name="reliability")}
    return CrossedFit(formula=crossed_formula(response, [n for n in names if n != "(Intercept)"], agent, customer),
                      fixef=pd.Series(beta, index=names), vcov=pd.DataFrame(vcov, index=names, columns=names),
                      sigma=float(np.sqrt(ve)),
                      variances={agent: float(va), customer: float(vc), "Residual": float(ve)},
                      ranef=ranef, reliability=reliability, nobs=s.n, ngroups={agent: G, customer: C},
                      iterations=iterations, singular=bool(va == 0 or vc == 0))
