"""Plain statements of anything in a fit that a reader must know before trusting its numbers — the same
checks for every model type (lmer, glmer, clmm): convergence (convergence.py's verdict: the optimiser's
stop, lme4's gradient and Hessian checks, estimates that diverged), boundary (singular) estimates,
aliased fixed-effect columns and rows left out for missing values."""
from __future__ import annotations


def health(fit) -> list[str]:
    """Empty when the fit converged, no variance is on the boundary, no column was aliased and no row
    was dropped; otherwise one sentence per problem."""
    out = []
    if not fit.converged:
        out.append("did not converge: " + ("; ".join(fit.messages) or "the optimiser stopped early"))
    if fit.singular:
        out.append("a variance component is estimated at (nearly) zero (a boundary fit): the data show no "
                   "detectable variation for that grouping factor, so its effects are all shrunk to zero")
    dropped = list(getattr(fit.fixed, "dropped", []))
    if dropped:
        out.append(f"columns aliased with others were dropped: {', '.join(dropped)}")
    if fit.n_dropped:
        out.append(f"{fit.n_dropped} rows with missing values were left out")
    return out
