"""policy_friction from a SQL data set (DuckDB) against the pandas path on the bundled sample: the parts computed
from counts and sums rather than rows.

- The words per policy: tokens counted per policy × word in SQL; only the comments redaction could change (a
  digit, an '@', non-ASCII text: 381 of the sample's 2,403) are streamed and redacted in Python. The table,
  the vocabulary, the Bonferroni bound and the comments per policy equal the pandas path's exactly.
- Goodwill credit: the pile-up, the bands of amount and the raw comparison at the cap from credited contacts
  counted per amount × CSAT (3,143 cells for 5,374 credited contacts), the dose–response model by REML from
  per-agent sums of the credited replies streamed in batches — within 1e-8 of the row fits.
(The policy effects come from the shared steps, ``steps.outcome_effects``, SQL-aware on branch sqlchannel.)
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from study_data import sample

from upstream.analysis import comment_words, credit_sums
from upstream.analysis.words import STOPWORDS, distinctive_words
from upstream.data.frames import invitations
from upstream.data.sql import comments as sql_comments
from upstream.data.sql import open_dataset
from upstream.reporting.privacy import redact_comment
from upstream.studies import policy_friction
from upstream.studies.policy_friction import FrictionParameters

PARAMS = FrictionParameters.from_mapping({"n_boot": 100, "seed": 7})


@pytest.fixture(scope="module")
def datasets():
    pds, _, _ = sample()
    return pds, open_dataset("data/sample", engine="duckdb", validate=False)


def test_words_per_policy_equal_the_pandas_paths(datasets):
    pds, sds = datasets
    inv = invitations(pds)
    commented = inv[inv["responded"] & inv["comment"].notna()]
    rows = distinctive_words(commented["comment"].map(redact_comment), commented["policy"], PARAMS.min_comments,
                             PARAMS.words_shown)
    counted = policy_friction.policy_words(sds, PARAMS, several=True)
    pd.testing.assert_frame_equal(rows.table, counted.table)
    assert (counted.vocabulary, counted.z_threshold, counted.skipped) == (rows.vocabulary, rows.z_threshold, ())
    assert counted.n_comments == rows.n_comments and sum(counted.n_comments.values()) == 2403
    top = counted.table.iloc[0]
    assert (top["group"], top["rank"], top["word"]) == ("account security hold", 1, rows.table.iloc[0]["word"])
    assert top["z"] == pytest.approx(10.857502, abs=1e-6)


def test_only_comments_redaction_could_change_reach_python(datasets):
    _, sds = datasets
    words, plain = sql_comments.word_counts(sds, "policy", STOPWORDS)
    streamed = sum(len(b) for b in sql_comments.comments_to_redact(sds, "policy", rows=2048))
    assert (int(plain.sum()), streamed) == (2022, 381)
    per_group, n_comments = comment_words.group_word_counts(sds, "policy", redact_comment)
    assert int(n_comments.sum()) == 2403 and list(per_group) == sorted(n_comments.index)
    # a masked phone number and an e-mail address never become words
    assert not {"example", "com"} & set(words["word"])


def test_tokens_in_sql_are_pythons(datasets):
    _, sds = datasets
    sds.engine.register("tiny", pd.DataFrame({"comment": ["Don't REFUND it's [phone] the-cap; ok a b", "x [card]y"]}))
    d = sds.engine.dialect
    text = f"lower({d.replace_all('comment', sql_comments.MASK, ' ')})"
    got = [w for (w,) in sds.engine.rows(f"SELECT {d.unnest(d.find_all(text, sql_comments.TOKEN))} FROM tiny")]
    assert got == ["don't", "refund", "it's", "the", "cap", "ok", "a", "b", "x", "y"]


def test_credit_analysis_from_counts_and_sums_equals_the_row_path(datasets):
    pds, sds = datasets
    rows = policy_friction.credit_analysis(pds, invitations(pds), PARAMS, True)
    counted = policy_friction.money_analysis(sds, PARAMS, True)
    pd.testing.assert_frame_equal(rows.pile.as_table(), counted.pile.as_table(), rtol=1e-12)
    assert (counted.pile.n_credited, counted.pile.count, counted.cap) == (5374, 1027, 50.0)
    pd.testing.assert_frame_equal(rows.near, counted.near, rtol=1e-10)
    pd.testing.assert_frame_equal(rows.bands, counted.bands, rtol=1e-10)
    pd.testing.assert_frame_equal(rows.dose.table, counted.dose.table, rtol=1e-8)
    assert counted.dose.n == 828 and counted.dose.term("at_cap")["estimate"] == pytest.approx(0.013410, abs=1e-6)


def test_quantiles_from_counts_are_numpys():
    values = np.array([1.45, 2.0, 3.5, 7.25, 11.2])
    counts = np.array([3, 1, 4, 1, 5])
    q = np.linspace(0, 1, 11)
    expected = np.quantile(np.repeat(values, counts), q)
    np.testing.assert_array_equal(credit_sums.quantiles(values, counts, q), expected)


def test_declares_the_sql_engines():
    assert policy_friction.STUDY.engines == ("pandas", "duckdb", "spark")
