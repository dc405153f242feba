"""The command a new user meets first (issue 23): studies by name from any folder, `upstream studies`,
every parameter checked against its declared kind and range before any kernel starts (exit 2), --help
listing presets, engines and vendors, a missing optional engine, and the pruning of _failed/.
Everything here stops before a kernel starts, so the tests take seconds."""
from __future__ import annotations

import dataclasses
import importlib.machinery
import importlib.util
import io
import os
import re
from pathlib import Path

import pytest
import yaml
from conftest import build_valid_tables, edit_csv, write_tables
from test_runner import run_cli

from upstream import runner
from upstream.runner import catalog, publish, spec
from upstream.runner import run as run_module
from upstream.studies import STUDY_NAMES, registry
from upstream.studies.allowed import Allowed, allowed_values
from upstream.studies.registry import engine_for

ROOT = Path(runner.__file__).resolve().parents[3]
#: The project's study files, by name (a study added to studies/ is listed without editing a test).
STUDIES = ", ".join(sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "studies").glob("*.yaml")))


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working directory outside the project."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# ----------------------------------------------------------------------------- studies by name


def test_a_study_is_found_by_name_or_project_path_from_any_folder(elsewhere):
    assert runner.resolve_study("quarterly_review") == ROOT / "studies" / "quarterly_review.yaml"
    assert runner.resolve_study("studies/trends.yaml") == ROOT / "studies" / "trends.yaml"
    study = runner.load_study(runner.resolve_study("quarterly_review"))
    assert study.data_dir == ROOT / "data" / "sample"                         # relative to the study file
    assert len(study.notebooks) == 9 and {nb.name for nb in study.notebooks} <= set(STUDY_NAMES)  # the review's choice
    assert study.question == ("Every study's question in one report, findings grouped by agents, surveys and "
                              "operations.")
    own = elsewhere / "mine.yaml"                                            # a file in the cwd comes first
    own.write_text("name: mine\n")
    assert runner.resolve_study("mine.yaml") == Path("mine.yaml")


def test_upstream_project_names_the_project_of_an_installed_package(tmp_path, monkeypatch, elsewhere):
    (tmp_path / "proj" / "studies").mkdir(parents=True)
    (tmp_path / "proj" / "studies" / "weekly.yaml").write_text("name: weekly\n")
    monkeypatch.setenv("UPSTREAM_PROJECT", str(tmp_path / "proj"))
    assert runner.resolve_study("weekly") == tmp_path / "proj" / "studies" / "weekly.yaml"
    assert run_cli(["run", "weeky"]).err == ("upstream: error: unknown study 'weeky'; did you mean 'weekly'? The "
                                             "studies are: weekly (`upstream studies` describes them).\n")


def test_a_misspelt_study_says_did_you_mean_and_lists_the_studies(elsewhere):
    result = run_cli(["run", "agent_vs_sytem"])
    assert result.code == 2 and result.out == ""
    assert result.err == ("upstream: error: unknown study 'agent_vs_sytem'; did you mean 'agent_vs_system'? The studies "
                          f"are: {STUDIES} (`upstream studies` describes them).\n")
    result = run_cli(["run", "payroll"])
    assert result.err == (f"upstream: error: unknown study 'payroll'. The studies are: {STUDIES} (`upstream studies` "
                          "describes them).\n")
    result = run_cli(["run", "studies/trendz.yaml"])
    assert (result.code, result.err) == (2, "upstream: error: study file not found: studies/trendz.yaml; did you "
                                            "mean 'trends'?\n")


def test_a_study_by_name_runs_from_another_folder_up_to_the_kernel_check(elsewhere):
    result = run_cli(["run", "trends", "--kernel", "no-such-kernel"])
    assert result.code == 2
    assert result.err.startswith("upstream: error: no Jupyter kernel named 'no-such-kernel' (installed: ")


def test_upstream_studies_lists_questions_and_parameters(elsewhere):
    result = run_cli(["studies"])
    assert result.code == 0 and result.err == ""
    blocks = result.out.split("\n\n")
    assert [b.split(":")[0] for b in blocks[:-1]] == [
        f"{name} (default)" if name == "agent_vs_system" else name for name in STUDIES.split(", ")]
    assert {"agent_vs_system", "quarterly_review", "trends", "qa_sample"} <= set(STUDIES.split(", "))
    by_name = {b.split(":")[0].removesuffix(" (default)"): b for b in blocks[:-1]}
    assert by_name["trends"] == (
        "trends: Trends — did CSAT get better\n"
        "  Did CSAT get better, and how much of the change is the contact mix?\n"
        "  parameters (-p NAME=VALUE; default, allowed):\n"
        "    show_names             false   true or false\n"
        "    reliability_threshold  0.7     a number, above 0 and below 1\n"
        "    n_boot                 1000    a whole number, at least 100 for 95% intervals\n"
        "    seed                   2026    a whole number, at least 1\n"
        "    first_period           null    a month written YYYY-MM (e.g. 2026-07), or null: the first month with "
        "contacts\n"
        "    last_period            null    a month written YYYY-MM (e.g. 2026-07), or null: the last month with "
        "contacts")
    quarterly = by_name["quarterly_review"]
    assert quarterly.splitlines()[2] == ("  notebooks: agent_vs_system, agent_scorecards, survey_health, channel_audit, "
                                        "policy_friction, comment_sentiment, metric_health, trends, qa_sample")
    assert "    budget                 200     a whole number, at least 1 review" in quarterly.splitlines()
    assert "pseudonym_salt" not in result.out and "data_dir" not in result.out      # secret, set by the runner
    assert run_cli(["run", "--list"]).out == result.out


@pytest.mark.parametrize("name", STUDY_NAMES)
def test_every_parameter_a_study_notebook_declares_has_its_kind_and_range(name):
    """The declaration the runner checks -p against covers every parameter a notebook takes."""
    notebook = ROOT / "notebooks" / f"{name}.ipynb"
    cls = spec.study_parameters_class(notebook)
    declared = set(spec.declared_parameters(notebook)) - set(spec.RUNNER_PARAMETERS)
    assert declared <= set(allowed_values(cls))
    assert set(allowed_values(cls)) == {f.name for f in dataclasses.fields(cls)}


def test_allowed_says_kind_range_and_none_in_words():
    assert Allowed("number", 0, 1, low_open=True, high_open=True).describe() == "a number, above 0 and below 1"
    assert Allowed("number", 0, 1, low_open=True, high_open=True).range_text() == "between 0 and 1"
    assert Allowed("number", 0.5, 1, high_open=True).describe() == "a number, at least 0.5 and below 1"
    assert Allowed("number", 0, unit="score points", none="1.25% of the scale's range").describe() == (
        "a number, at least 0 score points, or null: 1.25% of the scale's range")
    whole = Allowed("whole number", 1)
    assert [whole.accepts(v) for v in (1, 7, 0, 2.0, True, "3", None)] == [True, True, False, False, False, False,
                                                                           False]
    month = Allowed("month", none="the first month")
    assert [month.accepts(v) for v in ("2026-07", "2026-13", "July", None)] == [True, False, False, True]
    with pytest.raises(ValueError, match="unknown parameter kind 'colour'"):
        Allowed("colour")


# ----------------------------------------------------------------------------- parameters before any kernel


@pytest.mark.parametrize(("argv", "message"), [
    (["agent_vs_system", "-p", "reliability_threshold=1.5"],
     "-p reliability_threshold=1.5: reliability_threshold must be a number, above 0 and below 1, got 1.5"),
    (["agent_vs_system", "-p", "reliability_threshold=abc"],
     "-p reliability_threshold=abc: reliability_threshold must be a number, above 0 and below 1, got 'abc'"),
    (["quarterly_review", "-p", "n_boot=50"],
     "-p n_boot=50: n_boot must be a whole number, at least 100 for 95% intervals, got 50"),
    (["quarterly_review", "-p", "budget=0"], "-p budget=0: budget must be a whole number, at least 1 review, got 0"),
    (["agent_vs_system", "-p", "show_names=maybe"], "-p show_names: must be true or false"),
    (["agent_vs_system", "-p", "practical_margin=-0.1"],
     "-p practical_margin=-0.1: practical_margin must be a number, at least 0 score points, or null: 1.25% of the "
     "scale's range, got -0.1"),
    (["trends", "-p", "first_period=2026-13"],
     "-p first_period=2026-13: first_period must be a month written YYYY-MM (e.g. 2026-07), or null: the first "
     "month with contacts, got '2026-13'"),
    (["trends", "-p", "first_period=2026-09", "-p", "last_period=2026-07"],   # a rule between two parameters
     "-p first_period=2026-09: first_period must come before last_period, got 2026-09 and 2026-07"),
    (["metric_health", "-p", "change_date=soon"],
     "-p change_date=soon: change_date must be a date such as 2026-08-16, or null: finds the break in the data, "
     "got 'soon'"),
    (["agent_vs_system", "-p", "reliabilty_threshold=0.5"],
     "-p reliabilty_threshold: unknown parameter: no notebook of the study declares it; did you mean "
     "'reliability_threshold'?"),
])
def test_a_bad_parameter_exits_2_before_any_kernel_starts(tmp_path, argv, message):
    reports = tmp_path / "reports"
    result = run_cli(["run", *argv, "--reports", str(reports), "--kernel", "no-such-kernel"])  # never runs
    assert (result.code, result.err, result.out) == (2, f"upstream: error: {message}\n", "")
    assert not reports.exists()                                   # nothing staged, no kernel started


def test_a_bad_secret_is_refused_without_showing_it(tmp_path):
    result = run_cli(["run", "trends", "-p", "pseudonym_salt=123456", "--kernel", "none"])
    assert (result.code, result.err) == (2, "upstream: error: -p pseudonym_salt: pseudonym_salt must be a text, or "
                                            "null: this installation's secret salt (the value given is not shown: "
                                            "it is a secret)\n")


def test_a_date_on_the_command_line_is_passed_as_text():
    assert runner.parse_parameter("change_date=2026-08-16") == ("change_date", "2026-08-16")
    study = runner.load_study(runner.resolve_study("metric_health"), overrides={"change_date": "2026-08-16"})
    assert study.overrides == {"change_date": "2026-08-16"}


def test_a_bad_value_in_a_study_file_names_the_file(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "data": str(ROOT / "data" / "sample"),
                                    "parameters": {"max_false_sign": 0.7},
                                    "notebooks": [str(ROOT / "notebooks" / "agent_scorecards.ipynb")]}))
    with pytest.raises(runner.StudyError) as err:
        runner.load_study(path)
    assert str(err.value) == (f"{path}: parameter 'max_false_sign': max_false_sign must be a number, above 0 and "
                              "below 0.5, got 0.7")


# ----------------------------------------------------------------------------- --help and engines


def test_help_lists_presets_engines_and_vendors():
    simulate = run_cli(["simulate", "--help"])
    assert simulate.code == 0
    assert "simulation preset: sample, small, medium, large (default:" in " ".join(simulate.out.split())
    assert ("this helpdesk's export (zendesk, zendesk-csv, freshdesk, intercom, helpscout, gorgias)"
            in " ".join(simulate.out.split()))
    assert "[--engine {auto,pandas,duckdb,spark}]" in run_cli(["run", "--help"]).out
    assert "{zendesk,freshdesk,intercom,helpscout,gorgias,csv}" in run_cli(["import", "--help"]).out
    assert "studies             list the studies with their questions and parameters" in run_cli(["--help"]).out


def _choices_missing_from_help(parser, command: str) -> list[str]:
    """Every choice of every option of ``parser`` and its subcommands that its own --help does not show."""
    import argparse

    text = " ".join(parser.format_help().split())
    missing = []
    for action in parser._actions:  # argparse has no public list of a parser's options
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _choices_missing_from_help(sub, f"{command} {name}")
        elif action.choices and action.help != argparse.SUPPRESS:
            missing += [f"{command} {'/'.join(action.option_strings) or action.dest}: {c}" for c in action.choices
                        if not re.search(rf"(?<![\w-]){re.escape(str(c))}(?![\w-])", text)]
    return missing


def test_every_choice_a_user_can_make_is_listed_in_help():
    from upstream.cli import build_parser

    assert _choices_missing_from_help(build_parser(), "upstream") == []
    bad = run_cli(["simulate", "--preset", "huge", "--out", "x"])
    assert (bad.code, bad.err) == (2, "upstream simulate: error: argument --preset: invalid choice: 'huge' (choose "
                                      "from 'sample', 'small', 'medium', 'large')\n")


def test_spark_without_pyspark_says_how_to_install_it(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    result = run_cli(["run", "trends", "--engine", "spark", "--reports", str(tmp_path / "r"), "--kernel", "none"])
    assert (result.code, result.out) == (2, "")
    assert result.err == ("upstream: error: the spark engine needs pyspark, which is not installed: run "
                          "`.venv/bin/pip install -c requirements.lock -e '.[spark]'` (Spark needs Java 17; "
                          "docs/spark.md), or choose --engine auto, pandas or duckdb\n")



def test_the_runner_hands_each_notebook_an_engine_its_study_can_read_with(tmp_path, monkeypatch):
    """Every study of the quarterly review reads with duckdb (``STUDY.engines``). An engine named on the command
    line that a study cannot use stops the run before any kernel (exit 2), naming every such study; one chosen by
    auto (duckdb for large data) reaches only the studies that declare it, the others get pandas."""
    study = runner.load_study(ROOT / "studies" / "quarterly_review.yaml")
    assert {nb.name: engine_for(nb.name, "duckdb") for nb in study.notebooks} == {
        nb.name: "duckdb" for nb in study.notebooks}
    real = registry.declared
    monkeypatch.setattr(registry, "declared", lambda name: dataclasses.replace(real(name), engines=("pandas",))
                        if name in ("channel_audit", "metric_health") else real(name))
    engines = {nb.name: engine_for(nb.name, "duckdb") for nb in study.notebooks}
    assert [name for name, engine in engines.items() if engine == "pandas"] == ["channel_audit", "metric_health"]
    assert spec.check_engine("duckdb", study.notebooks[:1]) is None      # agent_vs_system alone reads with duckdb
    result = run_cli(["run", "quarterly_review", "--engine", "duckdb", "--reports", str(tmp_path / "r"),
                      "--kernel", "none"])
    assert (result.code, result.out) == (2, "")
    assert result.err == ("upstream: error: --engine duckdb: channel_audit, metric_health read the data with "
                          "pandas only (their steps need the rows in memory); choose --engine auto or pandas, or "
                          "leave them out of the study\n")


def test_a_study_file_whose_studies_all_declare_the_engine_runs_them_all_with_it(tmp_path, monkeypatch):
    """With every study declaring the SQL engines, `--engine duckdb|spark` passes the engine check (the run
    goes on to the kernel check) and every notebook gets the engine; the runner validates once, and each
    notebook opens the data set with ``validate=False`` (tests/test_notebook_parameters.py)."""
    real = registry.declared
    monkeypatch.setattr(registry, "declared", lambda name: dataclasses.replace(
        real(name), engines=("pandas", "duckdb", "spark")))
    found = importlib.util.find_spec       # pyspark as if installed (`make test` does not install the spark extra)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
        importlib.machinery.ModuleSpec("pyspark", None) if name == "pyspark" else found(name, *a)))
    for engine in ("duckdb", "spark"):
        result = run_cli(["run", "quarterly_review", "--engine", engine, "--reports", str(tmp_path / "r"),
                          "--kernel", "no-such-kernel"])
        assert result.code == 2 and result.err.startswith("upstream: error: no Jupyter kernel named 'no-such-kernel'")
    study = runner.load_study(ROOT / "studies" / "quarterly_review.yaml", engine="duckdb")
    assert spec.check_engine("duckdb", study.notebooks) is None
    run = run_module._StudyRun(study, tmp_path / "reports", "python3", False, io.StringIO())
    assert run.engine == run.manifest["engine"] == "duckdb"
    assert [(r.name, r.parameters["engine"], r.parameters["validated"]) for r in run.runs] == [
        (nb.name, "duckdb", True) for nb in study.notebooks]
    assert len(run.runs) == 9


# ----------------------------------------------------------------------------- _failed/ keeps the last N


def test_prune_failed_keeps_the_newest_runs_and_nothing_else(tmp_path):
    failed = tmp_path / "_failed"
    names = ["20260101-000000", "20260101-000000-2", "20260101-000000-10", "20260102-000000", "20251231-235959"]
    for name in names:
        (failed / name).mkdir(parents=True)
    (failed / "notes.txt").write_text("mine")
    deleted = publish.prune_failed(failed, 2)
    assert [p.name for p in deleted] == ["20251231-235959", "20260101-000000", "20260101-000000-2"]
    assert sorted(p.name for p in failed.iterdir()) == ["20260101-000000-10", "20260102-000000", "notes.txt"]


@pytest.mark.parametrize(("value", "expected"), [("", 10), ("3", 3)])
def test_keep_failed_count(monkeypatch, value, expected):
    monkeypatch.setenv("UPSTREAM_KEEP_FAILED", value)
    assert publish.keep_failed_count() == expected


def test_a_bad_keep_failed_value_exits_2(monkeypatch, tmp_path):
    monkeypatch.setenv("UPSTREAM_KEEP_FAILED", "0")
    result = run_cli(["run", "trends", "--reports", str(tmp_path / "r"), "--kernel", "none"])
    assert (result.code, result.err) == (2, "upstream: error: UPSTREAM_KEEP_FAILED must be a whole number of "
                                            "failed runs to keep (1 or more), got '0'\n")


def test_failed_runs_beyond_keep_failed_are_deleted(tmp_path, monkeypatch):
    """Three runs on bad data (stopped at validation, no kernel) with UPSTREAM_KEEP_FAILED=2: two are kept."""
    data = write_tables(tmp_path / "data", build_valid_tables(n_contacts=60, n_agents=4))
    edit_csv(data, "surveys", lambda t: t.loc.__setitem__((0, "csat"), "9"))
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({"name": "bad", "data": str(data),
                                     "notebooks": [str(ROOT / "tests" / "notebooks" / "smoke_report.ipynb")]}))
    monkeypatch.setenv("UPSTREAM_KEEP_FAILED", "2")
    kept = []
    for _ in range(3):
        result = run_cli(["run", str(study), "--reports", str(tmp_path / "reports")])
        assert result.code == 2
        kept.append(next(line for line in result.err.splitlines() if "The validation output is kept in" in line)
                    .rsplit(" ", 1)[1])
    failed = tmp_path / "reports" / "bad" / "_failed"
    assert sorted(str(p) for p in failed.iterdir()) == sorted(kept[1:])
    assert not os.path.exists(kept[0])


def test_catalog_reads_a_study_without_its_data(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"title": "T", "question": "Q?", "data": "/nowhere",
                                    "parameters": {"budget": 50},
                                    "notebooks": [str(ROOT / "notebooks" / "qa_sample.ipynb")]}))
    info = catalog.describe_study(path)
    assert (info.name, info.title, info.question, info.notebooks) == ("s", "T", "Q?", ("qa_sample",))
    budget = next(p for p in info.parameters if p.name == "budget")
    assert (budget.default, budget.allowed, budget.help) == ("50", "a whole number, at least 1 review",
                                                             "QA reviews to place")
