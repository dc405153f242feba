"""The NPS posterior's quantiles by quadrature (survey.nps_interval) against a closed form and Monte Carlo."""
import numpy as np
import pandas as pd
import pytest

from upstream.survey import shrunken_nps_from_counts
from upstream.survey.nps_interval import nps_posterior_quantiles


def test_uniform_dirichlet_quantiles_match_the_closed_form():
    """Under Dirichlet(1, 1, 1) (uniform on the simplex) P(p − d ≥ t) = (1 − t)²/2 for t ≥ 0, so the 2.5% and
    97.5% quantiles are ∓100(1 − √0.05) = ∓77.6393 and the 90% one 100(1 − √0.2) = 55.2786."""
    q = nps_posterior_quantiles(np.array([[1.0, 1.0, 1.0]]), [0.025, 0.9, 0.975])[0]
    np.testing.assert_allclose(q, [-77.6393, 55.2786, 77.6393], atol=0.005)


def test_quantiles_match_many_draws():
    """Against 400,000 Monte Carlo draws (their error ≤ ~0.05 points here) for posteriors from a handful of replies
    to thousands, balanced and lopsided; each posterior's outer variable is picked either way."""
    posts = np.array([[30.5, 20.2, 10.1], [40.0, 20.0, 1.0], [2.1, 1.3, 0.8], [150.0, 2.0, 149.0],
                      [80.0, 5.0, 0.3], [0.4, 30.0, 0.5], [3000.0, 1000.0, 50.0]])
    exact = nps_posterior_quantiles(posts, [0.025, 0.5, 0.975])
    rng = np.random.default_rng(7)
    for post, q in zip(posts, exact):
        g = rng.standard_gamma(post, size=(400_000, 3))
        draws = 100 * (g[:, 0] - g[:, 2]) / g.sum(axis=1)
        np.testing.assert_allclose(q, np.quantile(draws, [0.025, 0.5, 0.975]), atol=0.15, err_msg=str(post))
    assert exact[3, 1] == pytest.approx(100 * (150 - 149) / 301, abs=0.05)        # near-symmetric: median ≈ mean


def test_shrunken_nps_intervals_are_the_exact_quantiles_within_the_draws_error():
    counts = pd.DataFrame({"promoters": [12, 3, 40, 0], "passives": [5, 1, 30, 2], "detractors": [4, 2, 10, 1]},
                          index=["a", "b", "c", "d"])
    exact = shrunken_nps_from_counts(counts).table
    drawn = shrunken_nps_from_counts(counts, draws=20_000, seed=3).table
    np.testing.assert_allclose(exact[["lower", "upper"]], drawn[["lower", "upper"]], atol=0.6)
    assert (exact["lower"] < exact["shrunken_nps"]).all() and (exact["shrunken_nps"] < exact["upper"]).all()
