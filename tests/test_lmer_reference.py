"""lmer against lme4 / lmerTest / pbkrtest: every reference case within the issue's tolerances.

Reference values: tests/reference/fixtures/*.json, made by tests/reference/make_reference.R.
"""
import warnings

import pytest
from conformance import TOL, case_names, fit_lmer_case, lmer_errors, load_case

CASES = case_names("lmer")


def test_reference_cases_present():
    expected = {"dyestuff_reml", "dyestuff_ml", "penicillin_reml", "pastes_reml", "sleepstudy_reml",
                "insteval_d_reml", "insteval_sd_reml", "ham_reml", "carrots_reml"}
    assert expected <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_matches_lme4(case):
    fx, data = load_case(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_lmer_case(fx, data)
    errors = lmer_errors(fx, res)
    too_big = {k: v for k, v in errors.items() if v > TOL[k]}
    assert not too_big, f"{case}: errors above tolerance {too_big}"
    assert res.nobs == fx["nobs"]
    assert sorted(res.ngroups.values()) == sorted(fx["ngrps"].values())
    assert res.singular == fx["singular"]
    assert res.fixed.dropped == fx["dropped_columns"]
    if fx.get("aic") is not None:
        assert res.aic == pytest.approx(fx["aic"], abs=1e-3)
        assert res.bic == pytest.approx(fx["bic"], abs=1e-3)
