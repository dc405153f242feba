"""Every valid data set gets a report (issue 17): the corpus of tests/shapes.py — every contact rated, answered
surveys only, no invitations after adverse contacts, one team/channel/policy/product, customers who never or
always repeat, skewed agent volumes, 2- to 11-point scales, no NPS, no optional column — runs all nine studies'
pipelines to findings (or the estimability refusal); the survey screen puts at most 5% of these ordinary agents
under review and nobody for what the data cannot show; and every published top-box figure is the share of the
declared top box. One shape also goes through the real CLI and papermill.

UPSTREAM_SHAPES_SEED=<n> runs the corpus on shapes the tests never saw (``python tests/shapes.py --seed n`` prints it).
"""
from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from forked import run_upstream
from shapes import CORPUS, SHAPES, run_notebooks, shape_of, write_shape

from upstream.data import load_dataset
from upstream.data.frames import invitations
from upstream.runner.guards import RUN_CACHE_ENV
from upstream.studies import STUDY_NAMES

ROOT = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("UPSTREAM_SHAPES_SEED", "0"))
#: Small data keep the corpus cheap: 240 contacts of 12 agents per data set, 100 bootstrap replicates.
SIZES = {"n_contacts": 240, "n_agents": 12}
PARAMS = {"n_boot": 100, "seed": 5, "show_names": True}
RATED = "rated_seven_point_never_repeat"                 # every contact rated (undeclared), 7 points, no repeats
RATED_DECLARED = "rated_declared_binary_single_levels"   # the same declared in dataset.yaml; good/bad; one of each
ANSWERED = "answered_only_eleven_point_skewed"           # answered surveys only (declared), 11 points
ANSWERED_UNDECLARED = "answered_undeclared_three_point_repeat"
NO_ADVERSE = "no_adverse_invites_top_two_box_bare"       # no invitation after an adverse contact; top box 4–5


@functools.lru_cache(maxsize=None)
def corpus_folder(name: str) -> Path:
    """The folder of one corpus data set at SEED: its data in ``data/``, the run cache of its fitted models in
    ``cache/`` (filled by ``corpus``)."""
    root = Path(tempfile.mkdtemp(prefix=f"upstream-shape-{name}-"))
    write_shape(root / "data", name, SEED, **SIZES)
    return root


@functools.lru_cache(maxsize=None)
def corpus(name: str):
    """(data set, every study's result or {"refused": sentences}) of one corpus data set at SEED: the nine study
    notebooks executed in-process (``shapes.run_notebooks``: pipelines and display code, no kernel; the figures of
    ANSWERED, the shape of the CLI test, rendered to PNG as a run renders them). The data are valid by construction
    (test_corpus_data_sets_are_valid)."""
    root = corpus_folder(name)
    results = run_notebooks(root / "data", PARAMS, root / "cache", render=name == ANSWERED)
    return load_dataset(root / "data", validate=False), results


def test_the_corpus_takes_every_shape():
    assert sorted(s for names in CORPUS.values() for s in names) == sorted(SHAPES)
    assert shape_of(RATED).points == 7 and shape_of(RATED).listed == "rated" and shape_of(RATED).customers == "never"


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_shape_gets_findings_from_all_nine_studies(name):
    ds, results = corpus(name)
    assert "refused" not in results, results.get("refused")
    assert list(results) == list(STUDY_NAMES)
    for study, result in results.items():
        assert result.findings, study
        for sentence in result.findings:      # a number that is not one is a division by an empty set
            assert not any(word in sentence for word in (" nan", "inf ", "-inf", "NaN")), (study, sentence)
    screen = results["agent_vs_system"].tables["survey_screen"]
    for column in ("z_invitation", "z_invitation_adverse", "z_response", "z_top_box"):
        assert not np.isinf(screen[column].astype(float)).any(), column


def screens():
    return {name: corpus(name)[1]["agent_vs_system"].tables["survey_screen"] for name in CORPUS}


def skipped(name: str) -> tuple[str, ...]:
    """The sentences of the parts of the survey screen agent_vs_system could not run on a corpus data set."""
    return corpus(name)[1]["agent_vs_system"].values.screen.skipped


def test_corpus_data_sets_are_valid(tmp_path):
    """Corpus data sets pass every rule of data/README.md (the DuckDB validation: the same rules as Great
    Expectations, faster): a good/bad scale with visibility declared, and one without any optional column. The
    CLI test validates the 11-point answered-only one; ``python tests/shapes.py`` validates every data set."""
    from upstream.data.sql import open_dataset

    for name in (RATED_DECLARED, NO_ADVERSE):    # the others: the CLI test and tests/shapes.py's main
        open_dataset(write_shape(tmp_path / name, name, SEED, **SIZES), engine="duckdb", validate=True)


def test_at_most_five_percent_of_ordinary_agents_under_survey_review():
    flagged = {name: int(screen["flagged"].sum()) for name, screen in screens().items()}
    agents = sum(len(screen) for screen in screens().values())
    assert sum(flagged.values()) <= 0.05 * agents, flagged


def test_nobody_is_flagged_for_what_the_data_cannot_show():
    s = screens()
    for name in (RATED, RATED_DECLARED):    # 100% invited and answered: nothing to test, or not visible
        assert s[name][["z_invitation", "z_invitation_adverse", "z_response"]].isna().all().all(), name
        assert not s[name]["flagged"].any()
    assert skipped(RATED)[:3] == (
        "The survey screen has nothing to test in invitations per contact: every contact got a survey invitation, "
        "so no agent differs from its expected rate.",
        "The survey screen has nothing to test in invitations after adverse contacts (unresolved, escalated or "
        "repeated): every adverse contact got a survey invitation, so no agent differs from its expected rate.",
        "The survey screen has nothing to test in replies per invitation: every invitation was answered, so no agent "
        "differs from its expected rate.")
    assert skipped(RATED_DECLARED)[0] == (
        "The survey screen cannot test invitations per contact: the data set lists only surveyed contacts (an export "
        "of rated tickets), so invitations per contact cannot be seen.")
    answered = s[ANSWERED]          # declared: unanswered invitations are not listed
    assert answered[["z_invitation", "z_invitation_adverse", "z_response"]].isna().all().all()
    assert not answered["flagged"].any()
    assert skipped(ANSWERED)[0] == (
        "The survey screen cannot test invitations per contact: the data set lists answered surveys only (the survey "
        "API lists answered surveys only), so a contact without a survey may still have been invited: invitations "
        "per contact cannot be seen.")
    undeclared = s[ANSWERED_UNDECLARED]   # the data show every listed survey answered: nothing to test
    assert undeclared["z_response"].isna().all() and undeclared["z_invitation"].notna().all()
    adverse = s[NO_ADVERSE]
    assert adverse["z_invitation_adverse"].isna().all() and not adverse["flag_invitations"].any()
    assert ("The survey screen has nothing to test in invitations after adverse contacts (unresolved, escalated or "
            "repeated): no adverse contact got a survey invitation, so no agent differs from its expected rate."
            in skipped(NO_ADVERSE))
    findings = corpus(RATED)[1]["agent_vs_system"].findings
    assert "The survey screen could test neither invitations nor replies in these data, so no agent is under survey " \
           "review." not in findings    # that sentence belongs to survey_health; agent_vs_system lists the parts
    assert skipped(RATED)[0] in findings


def test_survey_health_says_what_answered_surveys_only_cannot_show():
    _ds, results = corpus(ANSWERED)
    health = results["survey_health"]
    assert health.findings[0] == (
        "The data set lists answered surveys only (the survey API lists answered surveys only), so how many "
        "invitations went unanswered cannot be seen: response rates, who answers, weighting for non-response and how "
        "far non-response could move the scores are not estimated.")
    assert not {"response_rates", "response_model", "weighted_scores", "tipping_point"} & set(health.tables)
    rated = corpus(RATED)[1]["survey_health"].findings
    assert "Every invitation was answered, so there is no non-response to weight for." in rated
    assert ("Every one of the period's contacts has a CSAT reply, so there are no non-respondents whose scores could "
            "differ (a δ-adjusted pattern-mixture analysis needs some).") in rated
    assert ("The survey screen could test neither invitations nor replies in these data, so no agent is under survey "
            "review.") in rated


def test_a_study_with_nothing_to_say_on_a_point_says_so():
    never = corpus(RATED)
    contacts = len(never[0].contacts)
    assert never[1]["metric_health"].findings == [
        f"Of the {contacts:,} contacts with a recorded repeat-contact flag, none was followed by a repeat contact "
        "within 7 days, so repeat contacts do not vary: whether fast handling creates repeats, and how handle time "
        "and resolution codes relate to them, cannot be checked."]
    shift = corpus(RATED)[1]["agent_vs_system"].values.shift
    assert shift.n_under_review == 0 and shift.n_agents == 12


@pytest.mark.parametrize("name", [RATED_DECLARED, ANSWERED_UNDECLARED, "ordinary", NO_ADVERSE, RATED, ANSWERED])
def test_every_top_box_figure_is_the_share_of_the_declared_top_box(name):
    """2-, 3-, 5- (top box 5 and 4–5), 7- and 11-point scales."""
    ds, results = corpus(name)
    top = shape_of(name).top_box
    assert ds.description.csat.top_box == top
    replies = invitations(ds)
    replies = replies[replies["responded"] & replies["csat"].notna()]
    in_top = replies["csat"].isin(top)
    by_agent = in_top.groupby(replies["agent_id"].astype(str)).mean()
    card = results["agent_scorecards"].tables["scorecards"]
    np.testing.assert_allclose(card["top_box_raw"].to_numpy(float), by_agent.reindex(card.index).to_numpy(), rtol=1e-12)
    screen = results["agent_vs_system"].tables["survey_screen"]
    np.testing.assert_allclose(screen["top_box_rate"].dropna().to_numpy(float),
                               by_agent.reindex(screen["top_box_rate"].dropna().index).to_numpy(), rtol=1e-12)
    if "weighted_scores" in results["survey_health"].tables:
        ws = results["survey_health"].tables["weighted_scores"]
        by_channel = in_top.groupby(replies["channel"].astype(str)).mean()
        np.testing.assert_allclose(ws["top_box"].to_numpy(float), by_channel.reindex(ws.index).to_numpy(), rtol=1e-12)
    if len(top) > 1 or top[0] != shape_of(name).points:     # the declared top box is not "the highest code"
        assert not np.allclose(by_agent, replies["csat"].eq(replies["csat"].max()).groupby(
            replies["agent_id"].astype(str)).mean())
    if ds.description.csat.linear:                        # trends runs on 5 points or more
        weekly = results["trends"].tables["weekly_scores"]
        monday = (replies["opened_at"].dt.floor("D")
                  - pd.to_timedelta(replies["opened_at"].dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
        np.testing.assert_allclose(weekly["top_box"].to_numpy(float),
                                   in_top.groupby(monday).mean().reindex(weekly.index).to_numpy(), rtol=1e-12)
        period = results["trends"].tables["period_scores"]
        month = replies["opened_at"].dt.strftime("%Y-%m")
        for label in period.index[:2]:
            assert period.loc[label, "top_box"] == pytest.approx(in_top[month == label].mean(), rel=1e-12)


def test_seven_point_trends_count_six_and_seven_only():
    """The issue's case: top box [6, 7] declared; the weekly top box is the share of 6–7, not of 5–7."""
    ds, results = corpus(RATED)
    replies = invitations(ds)
    replies = replies[replies["responded"] & replies["csat"].notna()]
    weekly = results["trends"].tables["weekly_scores"]
    total = (weekly["top_box"] * weekly["replies"]).sum()
    assert round(total) == int(replies["csat"].isin([6, 7]).sum())
    assert round(total) < int((replies["csat"] >= 5).sum())


#: The quarterly review's studies the CLI test runs in their kernels: the main study, the one this shape broke, and the
#: agent pages. All nine run on this shape in-process, figures rendered (``corpus``); a kernel costs ~3 CPU-s.
CLI_STUDIES = ("agent_vs_system", "agent_scorecards", "survey_health")


@pytest.mark.slow
def test_answered_surveys_only_through_the_cli_gives_a_report(tmp_path):
    """The quarterly review (its CLI_STUDIES) through `upstream run` (validation, papermill, each notebook in its
    kernel, HTML, index) on the shape that broke survey_health: all contacts, only answered surveys listed. Its
    notebooks take the models from the run cache of the in-process run of the same data and parameters (``corpus``;
    the runner's $UPSTREAM_RUN_CACHE), so the CLI run fits none of them again: it adds no entry to that cache."""
    corpus(ANSWERED)
    root = corpus_folder(ANSWERED)
    fitted = sorted(path.name for path in (root / "cache").iterdir())
    review = yaml.safe_load((ROOT / "studies" / "quarterly_review.yaml").read_text(encoding="utf-8"))
    review["notebooks"] = [str((ROOT / "studies" / path).resolve()) for path in review["notebooks"]
                           if Path(path).stem in CLI_STUDIES]
    (tmp_path / "quarterly_review.yaml").write_text(yaml.safe_dump(review), encoding="utf-8")
    proc = run_upstream(["run", str(tmp_path / "quarterly_review.yaml"), "--data", str(root / "data"),
                         "--reports", str(tmp_path / "r"), "-p", f"n_boot={PARAMS['n_boot']}",
                         "-p", f"seed={PARAMS['seed']}"], env={**os.environ, RUN_CACHE_ENV: str(root / "cache")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(path.name for path in (root / "cache").iterdir()) == fitted
    run = tmp_path / "r" / "quarterly_review" / "latest"
    assert sorted(path.stem for path in run.glob("*.ipynb")) == sorted(CLI_STUDIES)
    for study in CLI_STUDIES:
        html = (run / f"{study}.html").read_text()
        assert "Traceback" not in html and "Key findings" in html
        assert json.loads((run / f"{study}.findings.json").read_text())["sentences"]
    index = (run / "index.html").read_text()
    assert "The data set lists answered surveys only (the survey API lists answered surveys only)" in index
    manifest = json.loads((run / "manifest.json").read_text())
    assert "tables/response_rates.csv" not in manifest["tables"]
    assert {nb["parameters"]["cache_dir"] for nb in manifest["notebooks"]} == {str(root / "cache")}


def test_duckdb_screen_counts_the_declared_top_box(tmp_path):
    """The aggregates of large data (DuckDB, the same SQL on Spark) count the declared top box, 6–7 of 7 here."""
    from upstream.analysis.aggregated import survey_screen_from_sql
    from upstream.data.sql import open_dataset

    folder = write_shape(tmp_path / "seven", "seven_point", SEED, **SIZES)
    sds = open_dataset(folder, engine="duckdb", validate=False)
    screen = survey_screen_from_sql(sds).table
    replies = invitations(load_dataset(folder, validate=False))
    replies = replies[replies["responded"] & replies["csat"].notna()]
    share = replies["csat"].isin([6, 7]).groupby(replies["agent_id"].astype(str)).mean()
    np.testing.assert_allclose(screen["top_box_rate"].to_numpy(float), share.reindex(screen.index).to_numpy(),
                               rtol=1e-12)
