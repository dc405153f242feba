"""Multiple-membership random term `(1 | mm(agent_id))`: contacts shared by several agents.

Reference values: tests/reference/fixtures/membership_{reml,ml}.json, made by
tests/reference/make_membership_reference.R (lme4 with reTrms$Zt replaced by the weighted matrix).
"""
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conformance import GLMM_TOL, REFERENCE, TOL, case_names, glmm_errors, lmer_errors, load_case

from upstream import glmer, lmer
from upstream.models import Membership, ModelInputError, clmm, membership_from_table


def _case(name):
    fx, data = load_case(name)
    table = pd.read_csv(REFERENCE / fx["membership"])
    return fx, data, table


@pytest.fixture(scope="module")
def reference_fits():
    out = {}
    for name in case_names("lmer_membership"):
        fx, data, table = _case(name)
        out[name] = (fx, data, table, lmer(fx["formula"], data, reml=fx["settings"]["REML"],
                                           membership={"agent_id": table}))
    return out


def test_reference_cases_present():
    assert set(case_names("lmer_membership")) == {"membership_reml", "membership_ml"}


@pytest.mark.parametrize("case", ["membership_reml", "membership_ml"])
def test_matches_lme4_with_weighted_zt(reference_fits, case):
    fx, _, table, res = reference_fits[case]
    errors = lmer_errors(fx, res)
    assert {"fixef", "std_error", "variance", "loglik", "mode", "cond_se", "df_satterthwaite"} <= set(errors)
    too_big = {k: v for k, v in errors.items() if v > TOL[k]}
    assert not too_big, f"{case}: errors above tolerance {too_big}"
    assert res.nobs == fx["nobs"] == 600
    assert res.ngroups == {"agent_id": 40}
    assert np.allclose(res.theta, fx["theta"], rtol=1e-4)
    shared = table.groupby("contact_id").size()
    assert int((shared > 1).sum()) == 200                       # the data set: a third of contacts shared


def test_fitted_values_use_the_weights(reference_fits):
    _, data, table, res = reference_fits["membership_reml"]
    modes = res.ranef["agent_id"]["mode"]
    part = (table.assign(b=table["weight"] * modes.loc[table["agent_id"]].to_numpy())
            .groupby("contact_id")["b"].sum())
    expected = res.predict(include_random=False) + part.loc[data["contact_id"]].to_numpy()
    np.testing.assert_allclose(res.predict(), expected, rtol=1e-12)


def _indicator_table(data, column="agent_id"):
    return pd.DataFrame({"contact_id": data["contact_id"], "agent_id": data[column], "weight": 1.0})


@pytest.mark.parametrize("formula", ["y ~ channel + x + (1 | {g})", "y ~ channel + x + (1 | {g}) + (1 | day)"])
def test_one_agent_per_contact_equals_the_ordinary_term(formula):
    """With every weight 1 the deviance function is today's (to rounding, at any θ), so the fits agree
    to the optimiser's tolerance."""
    _, data, _ = _case("membership_reml")
    day = data["contact_id"] % 30
    data = data.assign(day=day, y=data["y"] + 0.3 * np.sin(day))           # a day effect: no boundary fit
    plain = lmer(formula.format(g="agent_id"), data, engine="general")
    shared = lmer(formula.format(g="mm(agent_id)"), data, membership={"agent_id": _indicator_table(data)})
    assert len(shared.theta) == len(plain.theta) and not plain.singular
    for theta in (plain.theta, plain.theta * 0.5, plain.theta + 0.3):
        for reml in (True, False):
            assert shared.structure.deviance(theta, reml) == pytest.approx(plain.structure.deviance(theta, reml),
                                                                           abs=1e-9)
    assert shared.reml_criterion == pytest.approx(plain.reml_criterion, abs=1e-9)
    np.testing.assert_allclose(shared.theta, plain.theta, rtol=1e-5)
    np.testing.assert_allclose(shared.fixef, plain.fixef, rtol=1e-7)
    np.testing.assert_allclose(shared.vcov, plain.vcov, rtol=1e-5)
    a, b = shared.ranef["agent_id"], plain.ranef["agent_id"]
    np.testing.assert_allclose(a["mode"], b.loc[a.index, "mode"], atol=1e-6)
    np.testing.assert_allclose(a["cond_se"], b.loc[a.index, "cond_se"], atol=1e-6)
    np.testing.assert_allclose(shared.coef_table_for("satterthwaite")["df"],
                               plain.coef_table_for("satterthwaite")["df"], rtol=1e-4)


def test_membership_matrix_api_equals_the_table(reference_fits):
    _, data, table, res = reference_fits["membership_reml"]
    m = membership_from_table(data, table)
    assert m.matrix.shape == (600, 40) and list(m.levels[:2]) == ["G01", "G02"]
    direct = lmer("y ~ channel + x + (1 | mm(agent_id))", data,
                  membership={"agent_id": Membership(sp.csr_matrix(m.matrix), m.levels)})
    assert direct.reml_criterion == pytest.approx(res.reml_criterion, abs=1e-10)


def test_shared_credit_recovers_simulated_agent_effects():
    """On the reference data (true agent SD 0.5, residual SD 0.8), shared credit estimates the agent
    variance and the modes; crediting the last agent only blurs them."""
    _, data, table = _case("membership_reml")
    shared = lmer("y ~ channel + x + (1 | mm(agent_id))", data, membership={"agent_id": table})
    last = lmer("y ~ channel + x + (1 | agent_id)", data)
    assert shared.varcorr.loc["agent_id", "variance"] == pytest.approx(0.2274, abs=1e-4)     # truth 0.25
    assert last.varcorr.loc["agent_id", "variance"] == pytest.approx(0.1507, abs=1e-4)
    assert shared.loglik - last.loglik == pytest.approx(12.28, abs=0.01)


def test_bootstrap_refits_the_membership_model(reference_fits):
    _, _, _, res = reference_fits["membership_reml"]
    boot = res.bootstrap(n=20, seed=1, progress=False)
    sd = boot.samples["sd_agent_id_(Intercept)"]
    assert boot.n_failed == 0 and len(sd) == 20
    assert abs(float(np.median(sd)) - 0.4768) < 0.1                # replicates centre on the fitted SD


def test_glmer_laplace_with_membership():
    """Top box (y ≥ 4): with every weight 1, the mm() term's Laplace fit (PIRLS, dense) equals the
    ordinary (1 | agent_id) fit (single-factor Laplace); with the shared weights it matches lme4's
    glmer with the weighted Zt (membership_topbox_laplace.json) at the glmer conformance tolerances."""
    _, data, table = _case("membership_reml")
    data = data.assign(top=(data["y"] >= 4).astype(int))
    plain = glmer("top ~ channel + x + (1 | agent_id)", data)
    same = glmer("top ~ channel + x + (1 | mm(agent_id))", data, membership={"agent_id": _indicator_table(data)})
    assert same.loglik == pytest.approx(plain.loglik, abs=1e-6)
    np.testing.assert_allclose(same.fixef, plain.fixef, rtol=1e-5)
    shared = glmer("top ~ channel + x + (1 | mm(agent_id))", data, membership={"agent_id": table})
    assert shared.loglik - plain.loglik == pytest.approx(8.43, abs=0.01)
    fx, _ = load_case("membership_topbox_laplace")            # lme4 glmer with the weighted Zt, Laplace
    assert fx["formula"] == "top ~ channel + x + (1 | mm(agent_id))"
    errors = glmm_errors(fx, shared)
    assert {"estimate", "std_error", "loglik", "sd", "mode", "cond_se"} <= set(errors)
    too_big = {k: v for k, v in errors.items() if v > GLMM_TOL[k]}
    assert not too_big, f"errors above tolerance {too_big}"
    with pytest.raises(ModelInputError, match=r"n_agq > 1 needs exactly one random-intercept term"):
        glmer("top ~ x + (1 | mm(agent_id))", data, n_agq=5, membership={"agent_id": table})


def test_bad_membership_input_messages():
    _, data, table = _case("membership_reml")
    f = "y ~ channel + x + (1 | mm(agent_id))"
    with pytest.raises(ModelInputError, match=r"^the formula's term mm\(agent_id\) needs its weights: "
                                              r"lmer\(\.\.\., membership=\{'agent_id': weights\}\)$"):
        lmer(f, data)
    bad = table.copy()
    bad.loc[bad["contact_id"] == 3, "weight"] = 0.7
    with pytest.raises(ModelInputError, match=r"each row's weights must sum to 1; 1 row\(s\) do not \(row 2: 1\.4\)"):
        lmer(f, data, membership={"agent_id": bad})
    neg = table.copy()
    neg.loc[0, "weight"] = -1
    with pytest.raises(ModelInputError, match=r"column 'weight' must be a number ≥ 0; found -1"):
        lmer(f, data, membership={"agent_id": neg})
    unknown = pd.concat([table, pd.DataFrame({"contact_id": [9999], "agent_id": ["G01"], "weight": [1.0]})])
    with pytest.raises(ModelInputError, match=r"1 weight row\(s\) name a 'contact_id' that is not in the data: 9999"):
        lmer(f, data, membership={"agent_id": unknown})
    with pytest.raises(ModelInputError, match=r"membership names 'agent' but the formula"):
        lmer(f, data, membership={"agent_id": table, "agent": table})
    res = lmer(f, data, membership={"agent_id": table})
    with pytest.raises(ModelInputError, match=r"^predictions for new data with random effects are not available "
                                              r"with a multiple-membership term \(\(1 \| mm\(agent_id\)\)\)"):
        res.predict(data.head())
    np.testing.assert_allclose(res.predict(data.head(), include_random=False),
                               res.predict(include_random=False)[:5], rtol=1e-12)
    with pytest.raises(ModelInputError, match=r"^clmm does not fit a multiple-membership term"):
        clmm("y ~ x + (1 | mm(agent_id))", data.assign(y=data["y"].round().clip(1, 5).astype(int)))


def test_missing_rows_drop_their_weights():
    _, data, table = _case("membership_reml")
    data = data.copy()
    data.loc[data["contact_id"].isin([3, 6]), "y"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lmer("y ~ channel + x + (1 | mm(agent_id))", data, membership={"agent_id": table})
    kept = data.dropna(subset=["y"])
    ref = lmer("y ~ channel + x + (1 | mm(agent_id))", kept,
               membership={"agent_id": table[table["contact_id"].isin(kept["contact_id"])]})
    assert res.nobs == 598
    assert res.reml_criterion == pytest.approx(ref.reml_criterion, abs=1e-10)
