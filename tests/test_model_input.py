"""Bad input to lmer, glmer, clmm, predict and bootstrap: one exact message per rule (checks.py),
and the engine bugs the property test (test_model_input_property.py) found."""
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from upstream import clmm, glmer, lmer
from upstream.models import FormulaError, ModelInputError
from upstream.models.design import full_rank_columns
from upstream.models.quadrature import CumulativeLogit
from upstream.models.results import hessian_covariance

SLEEP = Path(__file__).parent / "reference" / "datasets" / "sleepstudy.csv"
FORMULA = "Reaction ~ Days + (1|Subject)"


@pytest.fixture
def sleep() -> pd.DataFrame:
    return pd.read_csv(SLEEP)


def message(call, *args, **kwargs) -> str:
    """The ModelInputError message of a call (which must raise it)."""
    with pytest.raises(ModelInputError) as err:
        call(*args, **kwargs)
    return str(err.value)


def sim_ratings(n_groups=12, per_group=8, seed=5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=g.size)
    latent = 0.8 * x + rng.normal(0, 0.7, n_groups)[g] + rng.logistic(size=g.size)
    return pd.DataFrame({"csat": np.digitize(latent, [-1.5, -0.5, 0.5, 1.5]) + 1, "x": x,
                         "top": (latent > 0.5).astype(int), "g": [f"g{i:02d}" for i in g]})


# -- the four cases of issue 13 ---------------------------------------------------------------------

def test_non_finite_response_is_named_with_its_row(sleep):
    sleep.loc[17, "Reaction"] = np.inf
    assert message(lmer, FORMULA, sleep) == \
        "the response 'Reaction' has 1 non-finite value (row 17: inf); a model needs finite numbers"


def test_response_used_as_grouping_factor_or_text(sleep):
    assert message(lmer, "Subject ~ Days + (1|Subject)", sleep) == (
        "the response 'Subject' is also on the right-hand side of 'Subject ~ Days + (1|Subject)'; a column "
        "cannot be the response and a predictor or grouping factor at once")
    sleep["Subject"] = "S" + sleep["Subject"].astype(str)           # as R's factor: text
    assert message(lmer, "Subject ~ Days + (1|Subject)", sleep) == (
        "the response 'Subject' holds text (e.g. 'S308', 'S309', 'S310'); a linear mixed model needs a numeric "
        "response (for ordered ratings use clmm)")


def test_weights_of_the_wrong_length(sleep):
    assert message(lmer, FORMULA, sleep, weights=np.ones(3)) == (
        "weights has 3 values but the data has 180 rows; give one weight per row (or the name of a weights column)")


def test_constant_response_is_refused_not_fitted(sleep):
    sleep["y"] = 1
    assert message(lmer, "y ~ Days + (1|Subject)", sleep) == (
        "the response 'y' has the same value (1) in all 180 rows used; a linear mixed model needs a response "
        "that varies (its residual variance would be 0)")


# -- data and formula -------------------------------------------------------------------------------

def test_every_error_is_a_model_input_error_and_a_value_error(sleep):
    assert issubclass(ModelInputError, ValueError) and issubclass(FormulaError, ModelInputError)
    assert message(lmer, FORMULA, sleep.to_dict()) == "data must be a pandas DataFrame; got dict"
    assert message(lmer, "Reaction ~ Days", sleep) == (
        "the formula 'Reaction ~ Days' has no random term; a mixed model needs at least one, e.g. (1 | agent)")
    assert message(lmer, FORMULA, sleep.iloc[:0]) == "the data has no rows"
    assert message(lmer, "Reaction ~ Days + (1 | )", sleep) == \
        "malformed formula 'Reaction ~ Days + (1 | )': unexpected ')'"


def test_duplicated_column_name(sleep):
    twice = pd.concat([sleep, sleep[["Days"]]], axis=1)
    assert message(lmer, FORMULA, twice) == \
        "the data has 2 columns named 'Days'; a column the model uses must be unique (rename or drop the copies)"


def test_grouping_factor_missing_in_every_row(sleep):
    sleep["Subject"] = np.nan
    assert message(lmer, FORMULA, sleep) == \
        "the grouping factor 'Subject' is missing in all 180 rows; the model has no complete row to use"


def test_non_finite_predictor_lists_rows(sleep):
    sleep["Days"] = sleep["Days"].astype(float)
    sleep.loc[[3, 40], "Days"] = [-np.inf, np.inf]
    assert message(lmer, FORMULA, sleep) == \
        "the predictor 'Days' has 2 non-finite values (rows 3: -inf, 40: inf); a model needs finite numbers"


def test_non_finite_cells_in_rows_dropped_for_missing_values_do_not_count(sleep):
    sleep.loc[17, ["Reaction", "Days"]] = [np.inf, np.nan]           # row 17 is dropped anyway (as R)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert lmer(FORMULA, sleep).n_dropped == 1


def test_numbers_too_large_to_square_and_a_response_too_flat(sleep):
    sleep["Days"] = sleep["Days"].astype(float)
    sleep.loc[7, "Days"] = 1e200
    assert message(lmer, FORMULA, sleep) == ("the predictor 'Days' has 1 value above 1e+100 in size (row 7: 1e+200); "
                                             "their squares overflow: rescale the column")
    sleep.loc[7, "Days"] = 7.0
    sleep["Reaction"] = sleep["Reaction"] * 1e-200
    assert message(lmer, FORMULA, sleep) == (
        "the response 'Reaction' varies by only 2.72e-198 in the rows used; its squares underflow: rescale it "
        "(a model needs a spread above 1e-100)")


def test_date_time_predictor_is_refused(sleep):
    sleep["when"] = pd.Timestamp("2026-01-05") + pd.to_timedelta(sleep["Days"], unit="D")
    assert message(lmer, "Reaction ~ when + (1|Subject)", sleep) == (
        "the predictor 'when' has type datetime64[us]; a predictor must be numbers or a factor: convert it "
        "(e.g. date-times to days since a start date) or write factor(when)")


def test_factor_mixing_text_and_numbers(sleep):
    sleep["shift"] = pd.Series(["early", 3] * 90, dtype=object)
    assert message(lmer, "Reaction ~ shift + (1|Subject)", sleep) == (
        "the predictor 'shift' mixes kinds of values (text, number: rows 0: 'early', 1: 3); give the column one "
        "type, e.g. .astype(str)")


def test_factor_with_one_level_in_the_rows_used(sleep):
    sleep["shift"] = np.where(sleep["Days"] < 9, "day", "night")
    sleep.loc[sleep["shift"] == "night", "Reaction"] = np.nan
    assert message(lmer, "Reaction ~ shift + (1|Subject)", sleep) == (
        "the predictor 'shift' has only 1 level in the 162 rows used ('day'); a factor in a model needs at least "
        "2 levels (drop it from the formula)")


def test_categorical_and_date_time_responses(sleep):
    sleep["grade"] = pd.Categorical(np.where(sleep["Reaction"] > 300, "slow", "fast"))
    assert message(lmer, "grade ~ Days + (1|Subject)", sleep) == (
        "the response 'grade' is categorical (levels 'fast', 'slow'); a linear mixed model needs a numeric "
        "response (for ordered ratings use clmm)")
    sleep["when"] = pd.Timestamp("2026-01-05") + pd.to_timedelta(sleep["Days"], unit="D")
    assert message(lmer, "when ~ Days + (1|Subject)", sleep) == \
        "the response 'when' has type datetime64[us]; a linear mixed model needs a numeric response"


# -- weights ------------------------------------------------------------------------------------------

def test_weights_rules(sleep):
    w = sleep["w"].copy()
    sleep.loc[5, "w"] = np.inf
    assert message(lmer, FORMULA, sleep, weights="w") == \
        "the weights column 'w' has 1 non-finite value (row 5: inf); a model needs finite numbers"
    sleep["w"] = w
    sleep.loc[2, "w"] = -1.5
    assert message(lmer, FORMULA, sleep, weights="w") == \
        "the weights column 'w' must be non-negative; found 1 negative value (row 2: -1.5)"
    assert message(lmer, FORMULA, sleep, weights=np.zeros(len(sleep))) == \
        "the weights argument is 0 in all 180 rows used; a model needs some weight"
    text = np.array(["1"] * len(sleep), dtype=object)
    text[4] = "heavy"
    assert message(lmer, FORMULA, sleep, weights=text) == \
        "the weights argument must be numbers; found 1 other value (row 4: 'heavy')"
    assert message(lmer, FORMULA, sleep, weights=np.ones((180, 2))) == \
        "weights must be a column name or one value per row; got ndarray of shape (180, 2)"
    assert message(lmer, FORMULA, sleep, weights="weight") == "weights column 'weight' is not in the data"
    assert message(lmer, FORMULA, sleep, weights=np.full(len(sleep), np.nan)) == \
        "the weights argument is missing in all 180 rows; the model has no complete row to use"


# -- what lmer can identify ------------------------------------------------------------------------------

def test_one_row_per_group_is_refused_as_lme4_does(sleep):
    sleep["visit"] = [f"v{i}" for i in range(len(sleep))]
    assert message(lmer, "Reaction ~ Days + (1|visit)", sleep) == (
        "the random term (1 | visit) has 180 random effects (180 levels of 'visit' × 1 column) for only 180 rows; "
        "lmer needs more rows than random effects in each term, or the random-effect and residual variances "
        "cannot be told apart")


def test_response_reproduced_by_the_fixed_effects(sleep):
    sleep["y"] = 2.0 * sleep["Days"] + 1.0
    assert message(lmer, "y ~ Days + (1|Subject)", sleep) == (
        "the fixed effects reproduce the response 'y' exactly (180 rows, 2 fixed-effect columns); lmer needs "
        "residual variation to estimate the variances (use fewer fixed effects or more rows)")


# -- glmer and clmm -------------------------------------------------------------------------------------

def test_glmer_response_rules():
    df = sim_ratings()
    df["yes"] = np.where(df["top"] == 1, "yes", "no")
    assert message(glmer, "yes ~ x + (1 | g)", df) == (
        "the response 'yes' of a logistic model must be 0/1 (or true/false); found 96 other values "
        "(rows 0: 'yes', 1: 'no', 2: 'no', 3: 'no', 4: 'no', ...)")
    df["s"], df["f"] = df["top"] * 3.0, (1 - df["top"]) * 2.0
    df.loc[3, "s"] = 1.5
    assert message(glmer, "cbind(s, f) ~ x + (1 | g)", df) == \
        "cbind(s, f) needs non-negative whole counts; found 1 bad row (row 3: (1.5, 2.0))"
    df["s"] = 0.0
    assert message(glmer, "cbind(s, f) ~ x + (1 | g)", df) == (
        "the response cbind(s, f) has only one outcome (0 successes in all 96 rows used); a logistic model needs "
        "both outcomes")
    assert message(glmer, "top ~ x + (1 | g)", df, n_agq=0) == \
        "n_agq (quadrature points per random effect) must be a whole number ≥ 1; got 0"


def test_clmm_response_rules():
    df = sim_ratings().astype({"csat": float})
    df.loc[4, "csat"] = np.inf
    assert message(clmm, "csat ~ x + (1 | g)", df) == \
        "the response 'csat' has 1 non-finite value (row 4: inf); a model needs finite numbers"
    df.loc[4, "csat"] = 3.0
    assert message(clmm, "csat ~ x + (1 | g)", df, levels=[1, 2, 3, 3, 4, 5]) == \
        "levels lists 3 more than once; each category of the scale must appear once"
    df["csat"] = pd.Series([1, "two"] * 48, dtype=object)
    assert message(clmm, "csat ~ x + (1 | g)", df) == (
        "the response 'csat' mixes kinds of values (number, text: rows 0: 1, 1: 'two'); give the column one "
        "type, e.g. .astype(str)")


# -- arguments -------------------------------------------------------------------------------------------

def test_lmer_arguments(sleep):
    assert message(lmer, FORMULA, sleep, reml="ML") == "reml must be True or False; got 'ML'"
    assert message(lmer, FORMULA, sleep, max_evals=0) == \
        "max_evals (deviance evaluations) must be a whole number ≥ 1; got 0"
    assert message(lmer, FORMULA, sleep, start=[1.0, 0.5]) == (
        "start has 2 values but the model has 1 covariance parameter θ (one per entry of the relative covariance "
        "factors, lme4's getME(fit, 'theta'))")
    assert message(lmer, FORMULA, sleep, start=[-1.0]) == "start must be finite with diagonal entries ≥ 0; got [-1.0]"


def test_bootstrap_arguments(sleep):
    fit = lmer(FORMULA, sleep)
    assert message(fit.bootstrap, 2.5) == \
        "n (the number of bootstrap replicates) must be a whole number ≥ 2; got 2.5"
    assert message(fit.bootstrap, 1) == "n (the number of bootstrap replicates) must be a whole number ≥ 2; got 1"
    assert message(fit.bootstrap, 10, level=95) == \
        "level must be a probability between 0 and 1 (e.g. 0.95); got 95"


# -- predict ---------------------------------------------------------------------------------------------

def test_predict_newdata_rules(sleep):
    fit = lmer(FORMULA, sleep)
    new = pd.DataFrame({"Days": [0.0, 1.0, 2.0], "Subject": [308, 309, 310]})
    assert message(fit.predict, new[["Subject"]]) == "newdata lacks column(s) 'Days' that the model uses"
    assert message(fit.predict, new.assign(Days=[0.0, np.inf, 2.0])) == \
        "newdata column 'Days' has 1 non-finite value (row 1: inf); predictions need finite numbers"
    assert message(fit.predict, new.assign(Days=[0.0, 1.0, np.nan])) == \
        "newdata has missing values in 'Days' (1 row: 2); predictions need complete rows"
    assert message(fit.predict, new.assign(Days=["0", "three", "2"])) == \
        "newdata column 'Days' must hold numbers, as in the fit; found 1 other value (row 1: 'three')"
    assert message(fit.predict, new.assign(Subject=[308, 999, 310])) == (
        "newdata has levels of grouping factor 'Subject' that were not in the fitted data: 999 (use "
        "allow_new_levels=True to predict them with a zero random effect)")
    assert message(fit.predict, new.to_dict()) == "newdata must be a pandas DataFrame; got dict"
    assert message(fit.predict, new, allow_new_levels="yes") == "allow_new_levels must be True or False; got 'yes'"
    top = sim_ratings()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # a singular fit on these few groups is fine here
        logit = glmer("top ~ x + (1 | g)", top)
    assert message(logit.predict, top, type="prob") == "type must be one of response, link; got 'prob'"


# -- engine bugs found by the property test --------------------------------------------------------------

def test_more_columns_than_rows_drops_the_aliased_ones():
    X = np.array([[1.0, 0.0, 2.0, 5.0], [1.0, 1.0, 3.0, 7.0]])        # 2 rows, 4 columns
    assert full_rank_columns(X).tolist() == [True, True, False, False]


def test_cumulative_logit_far_tails_stay_finite():
    """A lowest-category row far below its upper threshold used its (absent) lower threshold."""
    model = CumulativeLogit(np.array([0, 1, 1]), 2, np.zeros((3, 0)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ll, d1, d2, d3 = model.derivs([np.array([-20.8, -1e-6, 40.0]), np.array([0.08, -20.9, 38.0])], order=3)
    assert np.isfinite(ll).all() and all(np.isfinite(v).all() for row in d2 for v in row)
    assert ll[0] == pytest.approx(-20.8, abs=1e-6)                    # log P(Y = 0) = log expit(−20.8)
    assert d1[0][0] == pytest.approx(1.0, abs=1e-6)                   # ∂/∂a log expit(a) = 1 − expit(a)


def test_glmer_with_a_separating_factor_fits_with_a_warning():
    """The working response of a separated model is fitted exactly by X; the blocked Cholesky
    factor used to fail on that last pivot (AttributeError 'lrr')."""
    df = sim_ratings()
    df["h"] = np.where(df["top"] == 1, "up", "down")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = glmer("top ~ h + (0 + x | g)", df)
    assert np.isfinite(fit.loglik) and fit.loglik > -1e-3                # the data are fitted perfectly
    assert any("perfect separation" in str(w.message) for w in caught)


def test_summary_without_fixed_effects():
    df = sim_ratings()
    text = clmm("csat ~ 1 + (1 | g)", df).summary()
    assert "Coefficients:" in text and "Threshold coefficients:" in text


def test_covariance_of_a_saddle_is_not_reported():
    H = np.array([[2.0, 0.0], [0.0, -1.0]])
    assert np.isnan(hessian_covariance(H, np.array([True, True]))).all()
    np.testing.assert_allclose(hessian_covariance(np.diag([2.0, 4.0]), np.array([True, True])), np.diag([1.0, 0.5]))


def test_cbind_response_only_for_glmer(sleep):
    assert message(lmer, "cbind(Reaction, Days) ~ 1 + (1|Subject)", sleep) == \
        "a linear mixed model needs a single numeric response, not cbind(Reaction, Days)"
    df = sim_ratings()
    assert message(clmm, "cbind(csat, top) ~ x + (1 | g)", df) == \
        "an ordinal model needs a single response of ordered categories, not cbind(csat, top)"


def test_one_outcome_per_level_for_glmer_and_clmm_but_counts_may():
    df = sim_ratings()
    df["contact"] = [f"c{i}" for i in range(len(df))]
    assert message(glmer, "top ~ x + (1 | contact)", df) == (
        "the random term (1 | contact) has 96 random effects (96 levels of 'contact' × 1 column) for only 96 rows; "
        "with 0/1 outcomes a model needs more rows than random effects in each term (binomial counts, "
        "cbind(successes, failures), may have one row per level)")
    assert message(clmm, "csat ~ x + (1 | contact)", df) == (
        "the random term (1 | contact) has 96 random effects (96 levels of 'contact' × 1 column) for only 96 rows; "
        "an ordinal model needs more rows than random effects in each term")
    small = df.iloc[:24].assign(s=lambda d: d["csat"] - 1, f=lambda d: 5 - d["csat"])   # 4 trials per row
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = glmer("cbind(s, f) ~ x + (1 | g) + (1 | contact)", small)  # an observation-level effect
    assert fit.ngroups["contact"] == 24 and np.isfinite(fit.loglik)
