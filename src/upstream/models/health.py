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
        out.append(boundary_statement(fit))
    dropped = list(getattr(fit.fixed, "dropped", []))
    if dropped:
        out.append(f"columns aliased with others were dropped: {', '.join(dropped)}")
    if fit.n_dropped:
        out.append(f"{fit.n_dropped} rows with missing values were left out")
    return out


#: How a statement names the levels of a grouping factor ("agents" for agent_id).
GROUP_WORDS = {"agent_id": ("agents", "agent"), "customer_id": ("customers", "customer"), "team": ("teams", "team"),
               "site": ("sites", "site")}


def boundary_terms(fit, tol: float = 1e-4) -> list[tuple[str, str]]:
    """(grouping factor, term) of every variance estimated at (nearly) zero: a diagonal entry of θ below
    `tol` (lme4's isSingular rule), in formula order."""
    theta = list(getattr(fit, "theta", []))
    out, i = [], 0
    for blk in getattr(fit, "blocks", []):
        for j in range(blk.k):
            for k in range(j, blk.k):
                if k == j and i < len(theta) and abs(theta[i]) < tol:
                    out.append((blk.group, blk.terms[j]))
                i += 1
    return out


def boundary_statement(fit) -> str:
    """What a boundary (singular) fit means, naming the grouping factor: its variance is estimated at
    (nearly) zero, so the model finds no differences between its levels and treats them as alike."""
    terms = boundary_terms(fit)
    if not terms:
        return ("a variance component is estimated at (nearly) zero (a boundary fit): the model finds no detectable "
                "differences for that grouping factor and shrinks its effects to zero")
    parts = []
    for group, term in terms:
        many, one = GROUP_WORDS.get(group, (f"levels of {group}", f"level of {group}"))
        what = f"differences between {many}" + ("" if term == "(Intercept)" else " in this effect"
                                                 if term.startswith("_") else f" in the {term} effect")
        parts.append(f"the variance of {what} ({group}) is estimated at (nearly) zero, so every {one} gets the same "
                     "effect (zero): beyond chance these data show no such differences, which does not prove there "
                     "are none")
    return "; ".join(parts) + " (a boundary fit)"
