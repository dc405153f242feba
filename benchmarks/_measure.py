"""Run one benchmark fit in this (fresh) process and print a JSON line: seconds, peak memory, result.

Called by the benchmark scripts as a subprocess so that each engine's peak memory is its own.
    python benchmarks/_measure.py ENGINE CASE
"""
from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
warnings.simplefilter("ignore")


def insteval():
    from conformance import load_case
    return load_case("insteval_d_reml")[1]


def million(seed: int = 1):
    """1,000,000 responses, 5,000 agents and 40 fixed-effect columns (policy 12, product 8, channel 4,
    issue type 6, month 12 and two numeric/boolean covariates), agent SD 0.3, residual SD 1."""
    rng = np.random.default_rng(seed)
    n, agents = 1_000_000, 5000
    a = rng.integers(0, agents, n)

    def cat(k, prefix):
        return pd.Categorical.from_codes(rng.integers(0, k, n), [f"{prefix}{i:02d}" for i in range(k)])

    df = pd.DataFrame({"agent": pd.Categorical.from_codes(a, [f"A{i:04d}" for i in range(agents)]),
                       "policy": cat(12, "p"), "product": cat(8, "r"), "channel": cat(4, "c"),
                       "issue": cat(6, "i"), "month": cat(12, "m"), "handle": rng.normal(size=n),
                       "escalated": rng.random(n) < 0.1})
    effect = rng.normal(0, 0.3, agents)
    df["y"] = 3.5 + effect[a] + 0.05 * df["policy"].cat.codes.to_numpy() + rng.normal(0, 1, n)
    return df


CASES = {
    "insteval_d": (insteval, "y ~ service + dept + (1|d)", "y ~ service + dept", "d"),
    "insteval_sd": (insteval, "y ~ service + dept + (1|s) + (1|d)", None, None),
    "insteval_topbox": (insteval, None, None, None),
    "insteval_clmm": (insteval, None, None, None),
    "million": (million, "y ~ policy + product + channel + issue + month + handle + escalated + (1|agent)",
                "y ~ policy + product + channel + issue + month + handle + escalated", "agent"),
}


def run(engine: str, case: str) -> dict:
    make, formula, fixed_formula, group = CASES[case]
    data = make()
    import statsmodels.formula.api as smf

    from upstream import lmer  # imports are not part of the timing
    t0 = time.perf_counter()
    if engine == "upstream":
        fit = lmer(formula, data)
        seconds_fit = time.perf_counter() - t0
        _ = fit.coef_table                           # Satterthwaite df
        _ = fit.ranef                                # conditional modes and SEs
        seconds = time.perf_counter() - t0
        out = {"seconds_fit": seconds_fit, "seconds": seconds, "converged": fit.converged,
               "sd": {g: float(v) for g, v in fit.varcorr["sd"].items()}, "reml_criterion": fit.reml_criterion,
               "n_evals": fit.optimum.n_evals}
    elif engine == "mixedlm":
        model = smf.mixedlm(fixed_formula, data, groups=data[group])
        res = model.fit(reml=True)
        seconds = time.perf_counter() - t0
        out = {"seconds": seconds, "converged": bool(res.converged),
               "sd": {group: float(np.sqrt(res.cov_re.iloc[0, 0])), "Residual": float(np.sqrt(res.scale))}}
    elif engine in ("glmer", "clmm"):
        from upstream import clmm, glmer
        if engine == "glmer":
            fit = glmer("top ~ service + dept + (1|d)", data)
        else:
            fit = clmm("y ~ service + dept + (1|d)", data, levels=[1, 2, 3, 4, 5])
        seconds = time.perf_counter() - t0
        out = {"seconds_fit": seconds, "seconds": seconds, "converged": fit.converged, "loglik": fit.loglik,
               "sd": {"d": fit.sd}, "n_evals": fit.n_evals}
    else:
        raise SystemExit(f"unknown engine {engine}")
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2])))
