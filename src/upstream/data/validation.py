"""Validate a loaded data set: the Great Expectations suites, the cross-table rules, the messages.

The rules of data/README.md live in three GX expectation suites kept as JSON in
``upstream/data/expectations/`` (``contacts.json``, ``surveys.json``, ``agents.json``); those files
are the single source of truth, and every expectation carries its human rule text as
``description``. ``suites.py`` loads them and fits them to a data set's ``dataset.yaml`` (its CSAT
scale, the optional columns it lacks, the columns it declares partly empty).
This module is longer than 400 lines because the report classes, the GX run and the translation
of GX results into readable failures share their private helpers; the suites are in ``suites.py``.
The two cross-table rules (every survey is for a known contact, every contact's agent is a known
agent) are plain pandas, in ``CROSS_TABLE_RULES``.

Great Expectations (GX Core 1.x) runs in an in-memory ("ephemeral") context with analytics
disabled (``GX_ANALYTICS_ENABLED=False`` is set when this module is imported, and the context config
says ``analytics_enabled: false``), progress bars off and GX's INFO logging silenced. GX is imported
on first use, so ``import upstream.data`` stays fast. Each table's batch is validated against its
suite with counts and examples (``FIRST_PASS_FORMAT``); the expectations that fail are validated again
with the row positions of their examples (``RESULT_FORMAT``), which GX would otherwise look up for
every expectation. With Data Docs asked for, each table runs through its own ``ValidationDefinition``
in ``RESULT_FORMAT`` (a Checkpoint hands the same ``batch_parameters``, hence the same dataframe, to
all of its definitions), whose stored results ``context.build_data_docs()`` renders. A process keeps
GX's results of the last tables it validated without Data Docs (``_CHECKED``, by table, suite and a
hash of every value): the same tables loaded again are not checked again.

Data Docs: ``validate(ds, docs_dir=...)`` writes GX's static Data Docs site (``index.html``,
``validations/...``, ``expectations/...``, ``static/...``) into ``docs_dir`` and nowhere else.
Those pages are GX's own templates and, when opened in a browser, load CSS and JavaScript from
public CDNs (Bootstrap, bootstrap-table, jQuery, popper.js, Font Awesome, Vega/Vega-Lite from
cdn.jsdelivr.net, cdnjs, unpkg, code.jquery.com, stackpath/maxcdn) and the GX logo from an S3
bucket; nothing is fetched while they are written. No expectation looks at the survey ``comment``
column's values (only that the column exists), so customer free text never reaches the pages.
The study runner does not write Data Docs into reports: it renders Upstream's own offline
``validation.html`` from the same results (``TableResult.expectations``, ``parse_failures``,
``cross_table``; see ``upstream.runner.index_page.validation_html``).
"""
from __future__ import annotations

import os

# Before any import of great_expectations (also read by GX itself): never send usage statistics.
os.environ["GX_ANALYTICS_ENABLED"] = "False"

import hashlib
import html
import json
import logging
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .frames import isin_text
from .schema import (
    OPTIONAL_TABLES,
    DataError,
    Failure,
    TableSource,
    first_rows,
    format_failures,
    frame_ids,
    name_rows,
    table_label,
)
from .suites import EXPECTATIONS_DIR, adapted_suite, build_suite, load_suite

__all__ = [
    "ExpectationResult",
    "TableResult",
    "CrossTableRule",
    "CrossTableResult",
    "ValidationReport",
    "CROSS_TABLE_RULES",
    "RESULT_FORMAT",
    "load_suite",
    "EXPECTATIONS_DIR",
    "adapted_suite",
    "build_gx_context",
    "validate",
]

TABLE_ORDER: tuple[str, ...] = ("contacts", "surveys", "agents")
ALL_TABLE_ORDER = TABLE_ORDER + OPTIONAL_TABLES
#: A contact's weights in ``contact_agents`` sum to 1 within this tolerance.
WEIGHT_SUM_TOL = 1e-6

#: GX result format: counts plus a partial list (and row positions) of the unexpected values.
RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
#: The first pass over a table: the same counts and examples without their row positions, which GX finds
#: at a cost on every expectation (a 40-row table: 0.28 s against 0.43 s for its three suites). Only the
#: expectations that fail are checked again with RESULT_FORMAT.
FIRST_PASS_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 20}

_MAX_EXAMPLES = 5
_MAX_COLUMNS_LISTED = 10


# --------------------------------------------------------------------------------------------
# Failures and the message


# --------------------------------------------------------------------------------------------
# Report


@dataclass
class ExpectationResult:
    """One expectation of a suite and its outcome: ``rule`` is the human rule text (the
    expectation's description), ``n_checked`` the values looked at (rows, less empty cells where
    GX skips them), ``n_failed`` the values that broke it, ``examples`` up to five of those (raw
    values, never escaped here), ``observed`` GX's observed value for table-level rules."""

    type: str
    columns: tuple[str, ...]
    rule: str
    success: bool
    n_checked: int | None = None
    n_failed: int | None = None
    examples: list = field(default_factory=list)
    observed: Any = None
    error: str = ""


@dataclass
class TableResult:
    """The GX suite run on one table: the counts are GX's own statistics; ``expectations`` holds
    every expectation's own outcome in suite order."""

    table: str
    file: str
    rows: int
    suite: str
    evaluated: int
    passed: int
    failed: int
    parse_failures: int = 0
    expectations: list[ExpectationResult] = field(default_factory=list)


@dataclass(frozen=True)
class CrossTableRule:
    """Every non-empty ``table.column`` value must be a value of ``ref_table.ref_column``."""

    table: str
    column: str
    ref_table: str
    ref_column: str
    rule: str


CROSS_TABLE_RULES: tuple[CrossTableRule, ...] = (
    CrossTableRule("surveys", "contact_id", "contacts", "contact_id",
                   "contact_id refers to a contact in contacts"),
    CrossTableRule("contacts", "agent_id", "agents", "agent_id",
                   "agent_id refers to an agent in agents"),
    CrossTableRule("contact_agents", "contact_id", "contacts", "contact_id",
                   "contact_id refers to a contact in contacts"),
    CrossTableRule("contact_agents", "agent_id", "agents", "agent_id",
                   "agent_id refers to an agent in agents"),
)


@dataclass
class CrossTableResult:
    """Outcome of one cross-table rule: status is passed, failed or skipped (with the reason)."""

    rule: CrossTableRule
    status: str
    n_failed: int = 0
    reason: str = ""


@dataclass
class ValidationReport:
    """Everything one validation found. ``ok`` is True when nothing failed. ``engine``: where the rules
    ran (pandas: GX on the frames; duckdb/spark: every rule in SQL over every row, GX on the first
    ``gx_sample_rows`` rows of each table for the Data Docs, see ``upstream.data.sql.rules``)."""

    folder: Path
    tables: dict[str, TableResult]
    cross_table: list[CrossTableResult]
    failures: list[Failure]
    gx_version: str
    docs_index: Path | None = None
    parse_failures: list[Failure] = field(default_factory=list)
    engine: str = "pandas"
    gx_sample_rows: int | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def message(self) -> str:
        """The readable message (the same text as the DataError)."""
        return format_failures(self.failures, self.folder) if self.failures else (
            f"Data validation passed for {self.folder}.")

    def summary(self) -> dict:
        """JSON-able record for a run manifest."""
        return {
            "ok": self.ok,
            "folder": str(self.folder),
            "engine": self.engine,
            **({"gx_sample_rows": self.gx_sample_rows} if self.gx_sample_rows is not None else {}),
            "great_expectations_version": self.gx_version,
            "tables": {
                t.table: {
                    "file": t.file,
                    "rows": t.rows,
                    "suite": t.suite,
                    "expectations_evaluated": t.evaluated,
                    "expectations_passed": t.passed,
                    "expectations_failed": t.failed,
                    "parse_failures": t.parse_failures,
                }
                for t in self.tables.values()
            },
            "cross_table_rules": [
                {
                    "rule": r.rule.rule,
                    "table": r.rule.table,
                    "column": r.rule.column,
                    "references": f"{r.rule.ref_table}.{r.rule.ref_column}",
                    "status": r.status,
                    "n_failed": r.n_failed,
                    **({"reason": r.reason} if r.reason else {}),
                }
                for r in self.cross_table
            ],
            "failures": [f.to_dict() for f in self.failures],
            "data_docs": str(self.docs_index) if self.docs_index else None,
        }

    def raise_if_failed(self) -> None:
        """Raise :class:`DataError` with every failure when anything failed."""
        if self.failures:
            raise DataError(self.failures, self.folder, report=self)


# --------------------------------------------------------------------------------------------
# Suites and the GX context


def _gx():
    """Import GX on first use, with its INFO logging silenced (unless a level was set already) and
    without its optional Spark support: GX imports pyspark when it is installed (the ``[spark]`` extra
    installs it for Upstream's own Spark engine, which does not go through GX), and pyspark's Spark
    Connect module ends a ``python -c`` process it takes for a doctest run. pyspark is hidden from GX's
    import and put back afterwards."""
    gx_logger = logging.getLogger("great_expectations")
    if gx_logger.level == logging.NOTSET:
        gx_logger.setLevel(logging.WARNING)
    if "great_expectations" in sys.modules:
        return sys.modules["great_expectations"]
    hidden = {name: sys.modules.pop(name) for name in list(sys.modules)
              if name == "pyspark" or name.startswith("pyspark.")}
    sys.modules["pyspark"] = None            # import pyspark → ImportError inside GX's compatibility layer
    try:
        import great_expectations as gx
    finally:
        sys.modules.pop("pyspark", None)
        sys.modules.update(hidden)
    return gx


def build_gx_context(docs_dir: str | Path | None = None):
    """An ephemeral GX context: in-memory stores, analytics off, no progress bars, and, when
    ``docs_dir`` is given, one Data Docs site written to that folder (none otherwise)."""
    gx = _gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if docs_dir is not None:
        sites["upstream"] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(Path(docs_dir).resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


class _CurrentContextKept:
    """gx.get_context() also makes the new context GX's process-wide current one; put back the
    caller's own current context (if any) afterwards."""

    def __enter__(self):
        try:
            from great_expectations.data_context.data_context.context_factory import project_manager

            self._manager = project_manager
            self._previous = project_manager.get_current_project()
        except Exception:  # noqa: BLE001 - none set yet, or GX internals changed
            self._previous = None
        return self

    def __exit__(self, *exc):
        manager = getattr(self, "_manager", None)
        if manager is not None:
            manager.set_project(self._previous)
        return False


# --------------------------------------------------------------------------------------------
# Validation


def validate(ds: TableSource, docs_dir: str | Path | None = None, parse_failures: list[Failure] = (),
             unparsed_rows: dict[tuple[str, str], np.ndarray] | None = None) -> ValidationReport:
    """Run the GX suites and the cross-table rules on ``ds``; write Data Docs into ``docs_dir``.

    ``parse_failures`` (values that did not convert when ``ds`` was loaded) are reported first, and
    ``unparsed_rows`` (per (table, column), the row positions of those values) keeps the cells they
    left empty from being counted again by the "required" rule. Rules on a column that is missing
    are not reported beyond the missing column itself.
    """
    tables, failures, docs_index, gx_version = run_gx_suites(ds, docs_dir, parse_failures, unparsed_rows)
    cross, cross_failures = check_cross_table(ds)
    failures.extend(cross_failures)
    failures.extend(check_weight_sums(ds))
    name_rows(failures, lambda table, column, rows: frame_ids(ds.table(table), column, rows))
    return ValidationReport(folder=ds.folder, tables=tables, cross_table=cross, failures=failures,
                            gx_version=gx_version, docs_index=docs_index, parse_failures=list(parse_failures))


def run_gx_suites(ds, docs_dir: str | Path | None = None, parse_failures: list[Failure] = (),
                  unparsed_rows: dict | None = None) -> tuple[dict[str, TableResult], list[Failure], Path | None, str]:
    """The GX suites on the three tables of ``ds`` (pandas frames): per-table results, the failures
    (parse failures first, grouped by file in the suite's order), the Data Docs index (when
    ``docs_dir`` is given) and GX's version."""
    gx = _gx()
    failures: list[Failure] = list(parse_failures)
    unparsed_rows = unparsed_rows or {}
    tables: dict[str, TableResult] = {}
    docs_index: Path | None = None
    if docs_dir is not None:
        Path(docs_dir).mkdir(parents=True, exist_ok=True)

    with _CurrentContextKept():
        context = datasource = None
        for table in getattr(ds, "tables", TABLE_ORDER):
            frame = ds.table(table)
            file_name = table_label(ds.paths[table])
            spec = adapted_suite(table, getattr(ds, "description", None), frame.columns)
            key = None if docs_dir is not None else _content_key(table, frame, spec)
            if key in _CHECKED:
                results, stats = _CHECKED[key]
            else:
                if context is None:
                    context = build_gx_context(docs_dir)
                    datasource = context.data_sources.add_pandas("upstream")
                suite = context.suites.add(build_suite(gx, table, spec))
                batch = datasource.add_dataframe_asset(table).add_batch_definition_whole_dataframe(table)
                result = _validated(gx, context, batch, suite, frame, stored=docs_dir is not None)
                order = {e.id: i for i, e in enumerate(suite.expectations)}
                results = sorted(result.results,
                                 key=lambda r: order.get(r.expectation_config.id, len(order)))
                stats = result.statistics
                if docs_dir is None:
                    results = _failed_again_in_full(batch, suite, frame, results)
                if key is not None:
                    _remember(key, (results, stats))
            failures.extend(_failures_from_results(unparsed_rows, table, file_name, frame, results))
            tables[table] = TableResult(
                table=table, file=file_name, rows=len(frame), suite=spec["name"],
                evaluated=int(stats["evaluated_expectations"]),
                passed=int(stats["successful_expectations"]),
                failed=int(stats["unsuccessful_expectations"]),
                parse_failures=sum(1 for f in parse_failures if f.table == table),
                expectations=[_expectation_result(r) for r in results],
            )
        if docs_dir is not None:
            _escape_stored_values(context)
            context.build_data_docs()
            docs_index = Path(docs_dir) / "index.html"

    # Grouped by file (stable: parse failures, then the suite's order); cross-table rules last.
    failures.sort(key=lambda f: ALL_TABLE_ORDER.index(f.table) if f.table in ALL_TABLE_ORDER else 0)
    return tables, failures, docs_index, gx.__version__


#: GX's results of the tables this process validated last without Data Docs, by table, content and suite: loading the
#: same files again (a notebook cell run twice, a run validating what an import has just validated) does not run GX
#: again. The failures and their messages are made from them every time (the file's name can differ).
_CHECKED: OrderedDict[str, tuple[list, dict]] = OrderedDict()
_CHECKED_KEPT = 8


def _content_key(table: str, frame: pd.DataFrame, spec: dict) -> str | None:
    """What GX's results of `frame` depend on: the table, its suite, the result formats, the columns and their types,
    and every value with its row (a hash of the rows: 0.01 s for 10,000 rows, where GX takes 0.3 s or more)."""
    try:
        rows = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    except TypeError:                                  # a value pandas cannot hash: GX checks the table each time
        return None
    digest = hashlib.sha256(json.dumps([table, spec, FIRST_PASS_FORMAT, RESULT_FORMAT], sort_keys=True,
                                       default=str).encode())
    digest.update(repr([(str(column), str(dtype)) for column, dtype in frame.dtypes.items()]).encode())
    digest.update(rows)
    return digest.hexdigest()


def _remember(key: str, outcome: tuple[list, dict]) -> None:
    _CHECKED[key] = outcome
    while len(_CHECKED) > _CHECKED_KEPT:
        _CHECKED.popitem(last=False)


def _validated(gx, context, batch_definition, suite, frame: pd.DataFrame, stored: bool):
    """GX's validation of `frame` against `suite`. ``stored``: through a ValidationDefinition, with the full
    RESULT_FORMAT, its results kept in the context's store for Data Docs; otherwise the batch validated
    directly in FIRST_PASS_FORMAT (nothing stored)."""
    if stored:
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=suite))
        return definition.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format=FIRST_PASS_FORMAT)


def _failed_again_in_full(batch_definition, suite, frame: pd.DataFrame, results: list) -> list:
    """`results` of the first pass, each failed expectation's replaced by its result in RESULT_FORMAT (the
    row positions of its examples); the passed ones are the same in both formats."""
    import copy

    if all(r.success for r in results):
        return results
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    by_id = {e.id: e for e in suite.expectations}
    return [r if r.success else batch.validate(copy.copy(by_id[r.expectation_config.id]), result_format=RESULT_FORMAT)
            for r in results]


def _expectation_result(result) -> ExpectationResult:
    """One GX result as an ExpectationResult (plain Python values)."""
    config = result.expectation_config
    kwargs = config.kwargs
    outcome = result.result or {}
    columns = tuple(kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs)
    checked = outcome.get("element_count")
    if checked is not None and outcome.get("missing_count") is not None:
        checked = int(checked) - int(outcome["missing_count"])
    failed = outcome.get("unexpected_count")
    observed = plain_value(outcome.get("observed_value")) if "observed_value" in outcome else None
    return ExpectationResult(
        type=config.type, columns=columns, rule=config.description or config.type,
        success=bool(result.success),
        n_checked=None if checked is None else int(checked),
        n_failed=None if failed is None else int(failed),
        examples=distinct_values([plain_value(v) for v in outcome.get("partial_unexpected_list") or []]),
        observed=observed, error=_exception_message(result))


def _escape_stored_values(context) -> None:
    """HTML-escape the data values kept in the stored validation results before Data Docs are
    rendered: GX 1.24 writes the table of unexpected values into the page without escaping it
    (a value ``<script>...</script>`` would run in the browser). Our own failures are built from
    the unescaped results first."""
    store = context.validation_results_store
    for key in store.list_keys():
        suite_result = store.get(key)
        for result in suite_result.results:
            outcome = result.result or {}
            if "partial_unexpected_list" in outcome:
                outcome["partial_unexpected_list"] = [
                    _escaped(v) for v in outcome["partial_unexpected_list"]]
            for entry in outcome.get("partial_unexpected_counts") or []:
                if isinstance(entry, dict) and "value" in entry:
                    entry["value"] = _escaped(entry["value"])
            if isinstance(outcome.get("observed_value"), str):
                outcome["observed_value"] = html.escape(outcome["observed_value"])
        store.set(key, suite_result)


def _escaped(value: Any) -> Any:
    value = plain_value(value)
    if isinstance(value, tuple):
        return tuple(_escaped(v) for v in value)
    return html.escape(value) if isinstance(value, str) else value


def _failures_from_results(unparsed_rows: dict, table: str, file_name: str, frame: pd.DataFrame,
                           results: list) -> list[Failure]:
    """Turn GX validation results (in suite order) into Failures."""
    n_rows = len(frame)
    missing = {
        r.expectation_config.kwargs["column"]
        for r in results
        if r.expectation_config.type == "expect_column_to_exist" and not r.success
    }
    failures: list[Failure] = []
    for r in results:
        if r.success:
            continue
        config = r.expectation_config
        kwargs = config.kwargs
        rule = config.description or config.type
        columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
        column = columns[0] if columns else None
        outcome = r.result or {}

        if config.type == "expect_column_to_exist":
            failures.append(Failure(table=table, file=file_name, column=column, rule=rule,
                                    n_failed=0, n_rows=n_rows, kind="missing_column",
                                    detail=columns_listing(frame.columns)))
            continue
        if missing.intersection(columns):
            continue  # reported once, as the missing column
        exception = _exception_message(r)
        if exception:
            failures.append(Failure(table=table, file=file_name, column=column, rule=rule,
                                    n_failed=0, n_rows=n_rows, kind="table",
                                    detail=f"Great Expectations could not check it: {exception}"))
            continue
        if config.type == "expect_table_row_count_to_be_between":
            observed = int(outcome.get("observed_value", n_rows))
            if observed == 0:
                detail = ("the file has a header but no data rows" if ".csv" in file_name
                          else "the file has no rows")
            else:
                detail = f"the table has {observed:,} rows"
            failures.append(Failure(table=table, file=file_name, column=None, rule=rule,
                                    n_failed=0, n_rows=n_rows, kind="table", detail=detail))
            continue
        if config.type == "expect_column_values_to_not_be_null":
            failure = _empty_cells_failure(unparsed_rows, table, file_name, frame, column, rule)
            if failure is not None:
                failures.append(failure)
            continue
        if "unexpected_count" in outcome:
            values = [plain_value(v) for v in outcome.get("partial_unexpected_list", [])]
            index = [int(i) + 1 if isinstance(i, (int, np.integer)) else None
                     for i in (outcome.get("partial_unexpected_index_list") or [])]
            examples = distinct_values(values)
            failures.append(Failure(
                table=table, file=file_name, column=column, rule=rule,
                n_failed=int(outcome["unexpected_count"]), n_rows=n_rows,
                examples=examples,
                rows=[i for i in index[:_MAX_EXAMPLES] if i is not None],
                example_rows=first_rows(values, index, examples) if len(index) == len(values) else [],
            ))
            continue
        failures.append(Failure(table=table, file=file_name, column=column, rule=rule,
                                n_failed=0, n_rows=n_rows, kind="table",
                                detail=f"observed {plain_value(outcome.get('observed_value'))!r}"))
    return failures


def _empty_cells_failure(unparsed_rows: dict, table: str, file_name: str, frame: pd.DataFrame,
                         column: str, rule: str) -> Failure | None:
    """The "required" rule, counting only cells that were empty in the file (a value that did not
    parse is missing after parsing too, but it is reported as a parse failure already)."""
    empty = frame[column].isna().to_numpy()
    unparsed = unparsed_rows.get((table, column))
    if unparsed is not None and len(unparsed):
        empty = empty.copy()
        empty[unparsed] = False
    n_empty = int(empty.sum())
    if n_empty == 0:
        return None
    rows = [int(i) + 1 for i in np.flatnonzero(empty)[:_MAX_EXAMPLES]]
    return Failure(table=table, file=file_name, column=column, rule=rule, n_failed=n_empty,
                   n_rows=len(frame), rows=rows,
                   detail="empty in data row" + ("s " if len(rows) > 1 else " ")
                   + ", ".join(str(r) for r in rows))


def check_cross_table(ds: TableSource) -> tuple[list[CrossTableResult], list[Failure]]:
    """Apply ``CROSS_TABLE_RULES`` to the non-empty, non-blank values; a rule is skipped when a
    column is missing or the referenced table is empty (the suites report both already)."""
    results: list[CrossTableResult] = []
    failures: list[Failure] = []
    for rule in CROSS_TABLE_RULES:
        if rule.table not in getattr(ds, "tables", TABLE_ORDER):
            continue                                            # an optional table the data set lacks
        frame, ref = ds.table(rule.table), ds.table(rule.ref_table)
        if rule.column not in frame.columns or rule.ref_column not in ref.columns:
            results.append(CrossTableResult(rule, "skipped", reason="a column is missing"))
            continue
        if len(ref) == 0:
            results.append(CrossTableResult(rule, "skipped", reason=f"{rule.ref_table} is empty"))
            continue
        values = frame[rule.column]
        given = values.notna() & (values.astype("str").str.strip() != "")  # blanks: own rule
        unknown = (given & ~isin_text(values, ref[rule.ref_column])).to_numpy()
        n_unknown = int(unknown.sum())
        results.append(CrossTableResult(rule, "failed" if n_unknown else "passed", n_unknown))
        if n_unknown:
            shown = [plain_value(v) for v in values[unknown].head(50)]
            examples = distinct_values(shown)
            failures.append(Failure(
                table=rule.table, file=table_label(ds.paths[rule.table]), column=rule.column,
                rule=rule.rule, n_failed=n_unknown, n_rows=len(frame),
                examples=examples,
                rows=[int(i) + 1 for i in np.flatnonzero(unknown)[:_MAX_EXAMPLES]],
                example_rows=first_rows(shown, np.flatnonzero(unknown)[:50] + 1, examples),
            ))
    return results, failures


def check_weight_sums(ds: TableSource) -> list[Failure]:
    """``contact_agents``: each contact's weights sum to 1 (within WEIGHT_SUM_TOL). The failure counts
    the rows of the contacts whose weights do not, and shows a few of those contacts' sums."""
    if "contact_agents" not in getattr(ds, "tables", TABLE_ORDER):
        return []
    frame = ds.table("contact_agents")
    if not {"contact_id", "weight"} <= set(frame.columns):
        return []
    weights = pd.to_numeric(frame["weight"], errors="coerce")
    sums = weights.groupby(frame["contact_id"], sort=False).transform("sum")
    bad = ((sums - 1.0).abs() > WEIGHT_SUM_TOL).to_numpy() & frame["contact_id"].notna().to_numpy()
    if not bad.any():
        return []
    positions = np.flatnonzero(bad)
    firsts = frame.loc[bad, "contact_id"].drop_duplicates().index[:_MAX_EXAMPLES]
    rows = [int(frame.index.get_loc(i)) + 1 for i in firsts]
    return [Failure(table="contact_agents", file=table_label(ds.paths["contact_agents"]), column="weight",
                    rule="the weights of a contact sum to 1", n_failed=int(bad.sum()), n_rows=len(frame),
                    examples=[round(float(sums.iloc[r - 1]), 6) for r in rows],
                    rows=[int(i) + 1 for i in positions[:_MAX_EXAMPLES]], example_rows=rows)]


# --------------------------------------------------------------------------------------------
# Helpers


def columns_listing(columns) -> str:
    """The columns a file has, for a message about a missing one."""
    names = [str(c) for c in columns]
    if not names:
        return "the file has no columns"
    shown = ", ".join(names[:_MAX_COLUMNS_LISTED])
    more = len(names) - _MAX_COLUMNS_LISTED
    return f"the file has columns {shown}" + (f" and {more} more" if more > 0 else "")


def _exception_message(result) -> str:
    info = result.exception_info or {}
    if "raised_exception" in info:  # one expectation-level entry
        info = {"": info}
    for entry in info.values():
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "unknown error").strip()
    return ""


def plain_value(value: Any) -> Any:
    """A GX/numpy/pandas value as a plain Python one (times as text) for messages and JSON."""
    if isinstance(value, (tuple, list)):
        return tuple(plain_value(v) for v in value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.datetime64, pd.Timestamp, datetime, date)):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else str(stamp)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def distinct_values(values: list) -> list:
    """The first few distinct values (at most ``_MAX_EXAMPLES``), in order of first appearance."""
    out: list = []
    for v in values:
        if v not in out:
            out.append(v)
        if len(out) == _MAX_EXAMPLES:
            break
    return out
