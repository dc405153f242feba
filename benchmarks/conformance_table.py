"""Print the conformance table: every reference case, the largest error per quantity against R.

    .venv/bin/python benchmarks/conformance_table.py

Quantities and tolerances are those of tests/test_lmer_reference.py and tests/test_glmm_reference.py
(defined once in tests/conformance.py).
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conformance import GLMM_TOL, TOL, case_names, fit_glmm_case, fit_lmer_case, glmm_errors, lmer_errors, load_case  # noqa: E402


def table(cases, fit, errors, tol, title):
    print(f"\n{title}")
    keys = list(tol)
    print(f"{'case':28s} " + " ".join(f"{k:>15s}" for k in keys))
    worst = {}
    for case in cases:
        fx, data = load_case(case)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            err = errors(fx, fit(fx, data))
        cells = []
        for k in keys:
            if k in err:
                worst[k] = max(worst.get(k, 0.0), err[k])
                cells.append(f"{err[k]:>13.1e}{'!!' if err[k] > tol[k] else '  '}")
            else:
                cells.append(f"{'–':>15s}")
        print(f"{case:28s} " + " ".join(cells))
    print(f"{'tolerance':28s} " + " ".join(f"{tol[k]:>13.0e}  " for k in keys))
    return all(worst.get(k, 0) <= tol[k] for k in keys)


def main() -> int:
    ok = table(case_names("lmer", studies=True), fit_lmer_case, lmer_errors, TOL,
               "lmer vs lme4/lmerTest/pbkrtest (relative: fixef, std_error, variance, df; absolute: corr, "
               "reml_crit, loglik, mode, cond_se)")
    ok &= table(case_names("glmer") + case_names("clmm"), fit_glmm_case, glmm_errors, GLMM_TOL,
                "glmer/clmm vs lme4::glmer / ordinal::clmm (estimate: relative to max(|est|, SE)); exact_*: vs "
                "exact Laplace in R")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
