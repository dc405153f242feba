"""What an analyst sees in Jupyter: the README's Python example runs as written; summaries, fits, data sets
and study results show as HTML; random effects as one tidy frame."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from upstream import clmm, glmer, lmer
from upstream.models.results.text import Summary

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using Upstream from Python", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_example_runs_as_written(monkeypatch):
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(readme_example(), "README.md", "exec"), scope)
    replies, m, agents = scope["replies"], scope["m"], scope["agents"]
    assert m.nobs == len(replies) == 7765
    assert len(agents) == replies["agent_id"].nunique() == m.ngroups["agent_id"]
    assert agents["mode"].is_monotonic_increasing
    printed = out.getvalue()
    assert printed.startswith("Linear mixed model fit by REML. t-tests use Satterthwaite's method\n")
    assert f"Number of obs: {len(replies)}, groups:  agent_id, {len(agents)}" in printed
    assert str(agents.iloc[0]["level"]) in printed.splitlines()[-5]      # the lowest agent printed first


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(4)
    groups = np.repeat([f"g{i:02d}" for i in range(12)], 25)
    effect = dict(zip(np.unique(groups), rng.normal(0, 0.8, 12)))
    x = rng.normal(size=len(groups))
    eta = 0.5 * x + np.array([effect[g] for g in groups])
    return pd.DataFrame({"g": groups, "x": x, "y": eta + rng.normal(size=len(groups)),
                         "b": (eta + rng.logistic(size=len(groups)) > 0).astype(int),
                         "r": np.digitize(eta + rng.logistic(size=len(groups)), [-1, 0, 1]) + 1})


def test_summary_is_its_text_and_shows_as_tables(data):
    m = lmer("y ~ x + (1 | g)", data)
    s = m.summary()
    assert isinstance(s, Summary) and isinstance(s, str)
    assert repr(s) == str(s) and "\\n" not in repr(s)             # a cell's last line: the text, not escapes
    assert "Random effects:" in s and s.splitlines()[1] == "Formula: y ~ x + (1 | g)"
    html = s._repr_html_()
    assert "<caption>Random effects</caption>" in html and "<caption>Fixed effects</caption>" in html
    assert "300 observations; g: 12 levels" in html
    assert f"<td>{m.coef_table.loc['x', 'estimate']:#.4g}</td>" in html
    assert m._repr_html_() == html


def test_glmer_and_clmm_show_their_latent_scale_tables(data):
    g = glmer("b ~ x + (1 | g)", data)
    html = g._repr_html_()
    assert "<caption>Random effects (latent logit scale)</caption>" in html
    assert "<caption>Fixed effects (log-odds)</caption>" in html and "Family: binomial" in g.summary()
    c = clmm("r ~ x + (1 | g)", data)
    html = c._repr_html_()
    assert "<caption>Threshold coefficients</caption>" in html and "<caption>Coefficients (log-odds)</caption>" in html
    assert html.count("<tr>") >= 1 + 3                       # the x row and three thresholds at least


def test_random_effects_as_one_tidy_frame_equal_ranef(data):
    m = lmer("y ~ x + (1 + x | g)", data)
    tidy = m.ranef_frame()
    assert list(tidy.columns) == ["group", "level", "term", "mode", "cond_se", "reliability"]
    assert len(tidy) == 12 * 2 and set(tidy["term"]) == {"(Intercept)", "x"}
    wide = m.ranef["g"]
    for term in ("(Intercept)", "x"):
        part = tidy[tidy["term"] == term].set_index("level")
        np.testing.assert_allclose(part["mode"], wide[("mode", term)].reindex(part.index))
        np.testing.assert_allclose(part["cond_se"], wide[("cond_se", term)].reindex(part.index))
        np.testing.assert_allclose(part["reliability"], m.reliability["g"][term].reindex(part.index))
    one = lmer("y ~ x + (1 | g)", data)
    tidy = one.ranef_frame().set_index("level")
    np.testing.assert_allclose(tidy["mode"], one.ranef["g"]["mode"].reindex(tidy.index))
    np.testing.assert_allclose(tidy["reliability"], one.reliability["g"].reindex(tidy.index))


def test_a_data_set_and_a_study_result_show_as_html(sample):
    from upstream.studies import agent_scorecards

    ds, _ = sample
    html = ds._repr_html_()
    assert f"<tr><th>contacts</th><td>{len(ds.contacts):,}</td><td>{ds.contacts.shape[1]}</td>" in html
    assert "not validated on load" in html and "CSAT: " in html
    from upstream.data.sql import open_dataset

    sql = open_dataset(ROOT / "data" / "sample", engine="duckdb", validate=False)
    assert f"<tr><th>contacts</th><td>{len(ds.contacts):,}</td>" in sql._repr_html_() and "duckdb" in sql._repr_html_()
    result = agent_scorecards.run(ds, {"n_boot": 100, "seed": 1})
    html = result._repr_html_()
    assert html.count("<li>") == len(result.findings) + len(result.health)
    assert f"<code>scorecards</code> ({len(result.tables['scorecards']):,} × " in html
