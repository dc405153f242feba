"""Validation of a data set that lives in SQL: the same rules, counts and messages as the pandas path.

The expectation suites (``expectations/*.json``, fitted to ``dataset.yaml`` by ``suites.adapted_suite``)
stay the single source of truth. Every expectation is translated into a SQL flag of an offending
row and evaluated over every row (one scan per table for all counts; a query for the first few
offending rows of a rule that fails), together with the parse rules of the typed views and the two
cross-table rules. A failure reads exactly as on the pandas path: n of N rows, up to five distinct
offending values in row order, the first rows; every expectation's outcome (values checked and
failed, examples) is recorded as GX records it (``TableResult.expectations``, for validation.html).
Great Expectations itself runs the suites on a stated sample — the first ``GX_SAMPLE_ROWS`` rows of
each table, parsed by the pandas loader (its Data Docs when ``docs_dir`` is given) — as a check: a
rule that fails there but not in SQL would be a translation error and is reported as a failure.
"""
from __future__ import annotations

from ..loading import Dataset, parse_table
from ..schema import Failure, first_rows, name_rows, table_label
from ..suites import adapted_suite
from ..validation import (
    ALL_TABLE_ORDER,
    CROSS_TABLE_RULES,
    WEIGHT_SUM_TOL,
    CrossTableResult,
    ExpectationResult,
    TableResult,
    ValidationReport,
    columns_listing,
    distinct_values,
    plain_value,
    run_gx_suites,
)

#: Rows of each table Great Expectations itself validates on the SQL path (a check of the translation).
GX_SAMPLE_ROWS = 50_000
_EXAMPLES = 20          # GX's partial_unexpected_count
_ROWS = 5


def _flag(entry: dict, d) -> str | None:
    """SQL flag of a row that breaks a column-map expectation (None for table-level ones)."""
    kind, kw = entry["type"], entry.get("kwargs", {})
    col = d.ident(kw["column"]) if "column" in kw else None
    if kind == "expect_column_values_to_not_match_regex":
        pattern = kw["regex"]
        test = d.blank(col) if pattern == "^\\s*$" else d.regex(col, pattern)
        return f"({col} IS NOT NULL AND {test})"
    if kind == "expect_column_values_to_be_in_set":
        values = kw.get("value_set") or []
        if not values:
            return f"({col} IS NOT NULL)"
        return f"({col} IS NOT NULL AND {col} NOT IN ({', '.join(d.literal(v) for v in values)}))"
    if kind == "expect_column_values_to_be_between":
        parts = []
        if kw.get("min_value") is not None:
            parts.append(f"{col} < {d.literal(kw['min_value'])}")
        if kw.get("max_value") is not None:
            parts.append(f"{col} > {d.literal(kw['max_value'])}")
        return f"({col} IS NOT NULL AND ({' OR '.join(parts) or 'FALSE'}))"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = d.ident(kw["column_A"]), d.ident(kw["column_B"])
        return f"({a} IS NOT NULL AND {b} IS NOT NULL AND {a} {'<' if kw.get('or_equal') else '<='} {b})"
    return None


def _count(expr: str) -> str:
    return f"SUM(CASE WHEN {expr} THEN 1 ELSE 0 END)"


def _first(ds, table: str, select: str, where: str, limit: int = _EXAMPLES) -> list[tuple]:
    return ds.engine.rows(f"SELECT {select}, _row FROM {table} WHERE {where} ORDER BY _row LIMIT {limit}")


def _values_failure(ds, table, column, rule, n_failed, select, where) -> Failure:
    rows = _first(ds, table, select, where)
    values = [plain_value(r[0]) if len(r) == 2 else tuple(plain_value(v) for v in r[:-1]) for r in rows]
    examples = distinct_values(values)
    return Failure(table=table, file=table_label(ds.paths[table]), column=column, rule=rule, n_failed=n_failed,
                   n_rows=ds.n_rows[table], examples=examples, rows=[int(r[-1]) + 1 for r in rows[:_ROWS]],
                   example_rows=first_rows(values, [int(r[-1]) + 1 for r in rows], examples))


def table_rules(ds, table: str) -> tuple[list[Failure], TableResult]:
    """Parse rules and the suite of one table, over every row: the suite translated to SQL counts
    (``_sql_checks``), one query for all of them, the failures as GX would report them (``_judge``) and a
    result per expectation (``_expectation_results``)."""
    d, n_rows, label = ds.engine.dialect, ds.n_rows[table], table_label(ds.paths[table])
    present = ds.columns[table]
    spec = adapted_suite(table, ds.description, present)
    missing = {e["kwargs"]["column"] for e in spec["expectations"]
               if e["type"] == "expect_column_to_exist" and e["kwargs"]["column"] not in present}
    parse = [(c, k, rule, d.ident(f"_bad_{c}_{k}")) for c, k, rule in ds.parse_rules[table]]
    counted, checks = _sql_checks(spec, parse, missing, d)
    counts = {}
    if counted:
        row = ds.engine.rows(f"SELECT {', '.join(f'{v} AS {k}' for k, v in counted.items())} FROM {table}")[0]
        counts = {k: int(v or 0) for k, v in zip(counted, row)}
    failures = []
    for i, (column, _, rule, flag) in enumerate(parse):
        if counts[f"p{i}"]:
            failures.append(_values_failure(ds, table, column, rule, counts[f"p{i}"], d.ident(f"_raw_{column}"),
                                            flag))
    n_parse = len(failures)
    failed, marks = _judge(ds, table, checks, counts, missing, failures)
    results = _expectation_results(marks, failures, counts, missing, n_rows)
    n = len(spec["expectations"])
    return failures, TableResult(table=table, file=label, rows=n_rows, suite=spec["name"], evaluated=n,
                                 passed=n - failed, failed=failed, parse_failures=n_parse, expectations=results)


def _sql_checks(spec: dict, parse: list, missing: set, d) -> tuple[dict, list]:
    """The SQL counts one query computes (name → expression: `p<i>` rows failing a parse rule, `c<i>` the
    values GX looks at, `e<i>` rows failing an expectation, `g<i>` empty cells as GX sees them) and each
    expectation with its row flag (None: nothing to count in SQL, e.g. a missing column)."""
    counted = {f"p{i}": _count(flag) for i, (_, _, _, flag) in enumerate(parse)}
    checks = []
    for i, entry in enumerate(spec["expectations"]):
        kw = entry.get("kwargs", {})
        columns = {kw[k] for k in ("column", "column_A", "column_B") if k in kw}
        if entry["type"] == "expect_column_to_exist" or columns & missing:
            checks.append((i, entry, None))
            continue
        if columns and entry["type"] != "expect_column_values_to_not_be_null":     # the values GX looks at
            counted[f"c{i}"] = _count(" AND ".join(f"{d.ident(c)} IS NOT NULL" for c in sorted(columns)))
        if entry["type"] == "expect_column_values_to_not_be_null":
            column = kw["column"]
            unparsed = [flag for c, _, _, flag in parse if c == column]
            flag = f"({d.ident(column)} IS NULL" + "".join(f" AND NOT coalesce({u}, FALSE)" for u in unparsed) + ")"
            counted[f"g{i}"] = _count(f"{d.ident(column)} IS NULL")      # as GX sees it: unparsed cells too
        else:
            flag = _flag(entry, d)
        checks.append((i, entry, flag))
        if flag is not None:
            counted[f"e{i}"] = _count(flag)
    return counted, checks


def _judge(ds, table: str, checks: list, counts: dict, missing: set, failures: list) -> tuple[int, list]:
    """The expectations that fail, appending their failures to `failures` as GX would report them; returns
    the number failed and, per expectation, (index, entry, failed before it, failures before it) closed by
    a (None, None, failed, failures) mark."""
    d, n_rows, label, present = ds.engine.dialect, ds.n_rows[table], table_label(ds.paths[table]), ds.columns[table]
    failed, marks = 0, []
    for i, entry, flag in checks:
        marks.append((i, entry, failed, len(failures)))
        kw, kind, rule = entry.get("kwargs", {}), entry["type"], entry["description"]
        column = kw.get("column", kw.get("column_A"))
        if kind == "expect_column_to_exist":
            if column in missing:
                failed += 1
                failures.append(Failure(table=table, file=label, column=column, rule=rule, n_failed=0, n_rows=n_rows,
                                        kind="missing_column", detail=columns_listing(present)))
            continue
        if flag is None and {kw.get(k) for k in ("column", "column_A", "column_B")} & missing:
            failed += 1                      # GX fails every rule on a missing column; reported once, above
            continue
        if kind == "expect_table_row_count_to_be_between":
            low, high = kw.get("min_value"), kw.get("max_value")
            if (low is not None and n_rows < low) or (high is not None and n_rows > high):
                failed += 1
                detail = (("the file has a header but no data rows" if ".csv" in label else "the file has no rows")
                          if n_rows == 0 else f"the table has {n_rows:,} rows")
                failures.append(Failure(table=table, file=label, column=None, rule=rule, n_failed=0, n_rows=n_rows,
                                        kind="table", detail=detail))
            continue
        if kind == "expect_column_values_to_be_unique":
            col = d.ident(column)
            dups = f"SELECT {col} FROM {table} WHERE {col} IS NOT NULL GROUP BY {col} HAVING count(*) > 1"
            n_bad = int(ds.engine.rows(f"SELECT coalesce(sum(c), 0) FROM (SELECT count(*) AS c FROM {table} "
                                       f"WHERE {col} IS NOT NULL GROUP BY {col} HAVING count(*) > 1) dup")[0][0])
            if n_bad:
                failed += 1
                failures.append(_values_failure(ds, table, column, rule, n_bad, col, f"{col} IN ({dups})"))
            continue
        if flag is None:
            raise ValueError(f"{table}.json: no SQL translation for the expectation type {kind!r}")
        n_bad = counts[f"e{i}"]
        if not n_bad:
            failed += bool(counts.get(f"g{i}"))     # GX fails "required" on cells a parse failure left empty
            continue
        failed += 1
        failures.append(_expectation_failure(ds, table, entry, column, n_bad, flag))
    marks.append((None, None, failed, len(failures)))
    return failed, marks


def _expectation_failure(ds, table: str, entry: dict, column: str, n_bad: int, flag: str) -> Failure:
    """The failure of a values expectation with `n_bad` rows matching `flag` (empty cells by data row)."""
    d, n_rows, label = ds.engine.dialect, ds.n_rows[table], table_label(ds.paths[table])
    kw, kind, rule = entry.get("kwargs", {}), entry["type"], entry["description"]
    if kind == "expect_column_values_to_not_be_null":
        rows = [int(r[-1]) + 1 for r in _first(ds, table, "1", flag, _ROWS)]
        return Failure(table=table, file=label, column=column, rule=rule, n_failed=n_bad, n_rows=n_rows, rows=rows,
                       detail="empty in data row" + ("s " if len(rows) > 1 else " ") + ", ".join(str(r) for r in rows))
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        select = f"{d.ident(kw['column_A'])}, {d.ident(kw['column_B'])}"
        return _values_failure(ds, table, column, rule, n_bad, select, flag)
    return _values_failure(ds, table, column, rule, n_bad, d.ident(column), flag)


def _expectation_results(marks: list, failures: list, counts: dict, missing: set, n_rows: int) -> list:
    """One ExpectationResult per expectation, from the marks ``_judge`` left between them."""
    results = []
    for (i, entry, f0, n0), (_, _, f1, n1) in zip(marks, marks[1:]):
        kw, kind, new = entry.get("kwargs", {}), entry["type"], failures[n0:n1]
        names = tuple(kw[k] for k in ("column", "column_A", "column_B") if k in kw)
        if kind != "expect_column_to_exist" and set(names) & missing:
            results.append(ExpectationResult(type=kind, columns=names, rule=entry["description"], success=False,
                                             error=f"the column {', '.join(sorted(set(names) & missing))} is missing"))
            continue
        if kind == "expect_column_values_to_not_be_null" and f"g{i}" in counts:
            results.append(ExpectationResult(type=kind, columns=(kw["column"],), rule=entry["description"],
                                             success=not counts[f"g{i}"], n_checked=n_rows, n_failed=counts[f"g{i}"],
                                             examples=[None] if counts[f"g{i}"] else []))
            continue
        results.append(ExpectationResult(
            type=kind, columns=names, rule=entry["description"], success=f1 == f0,
            n_checked=n_rows if kind == "expect_column_values_to_not_be_null" else counts.get(f"c{i}"),
            n_failed=(new[0].n_failed if new and new[0].kind == "values" else
                      0 if f1 == f0 and (f"e{i}" in counts or kind == "expect_column_values_to_be_unique") else None),
            examples=list(new[0].examples) if new else [],
            observed=n_rows if kind == "expect_table_row_count_to_be_between" else None))
    return results


def cross_table_rules(ds) -> tuple[list[CrossTableResult], list[Failure]]:
    """The cross-table rules as anti-joins (non-empty, non-blank values only, as the pandas path)."""
    d = ds.engine.dialect
    results, failures = [], []
    for rule in CROSS_TABLE_RULES:
        if rule.table not in ds.columns:
            continue                                            # an optional table the data set lacks
        if rule.column not in ds.columns[rule.table] or rule.ref_column not in ds.columns[rule.ref_table]:
            results.append(CrossTableResult(rule, "skipped", reason="a column is missing"))
            continue
        if ds.n_rows[rule.ref_table] == 0:
            results.append(CrossTableResult(rule, "skipped", reason=f"{rule.ref_table} is empty"))
            continue
        col, ref = d.ident(rule.column), d.ident(rule.ref_column)
        known = f"(SELECT DISTINCT {ref} AS _k FROM {rule.ref_table} WHERE {ref} IS NOT NULL)"
        source = f"{rule.table} x LEFT JOIN {known} r ON x.{col} = r._k"
        where = f"x.{col} IS NOT NULL AND NOT {d.blank('x.' + col)} AND r._k IS NULL"
        n_bad = int(ds.engine.rows(f"SELECT count(*) FROM {source} WHERE {where}")[0][0])
        results.append(CrossTableResult(rule, "failed" if n_bad else "passed", n_bad))
        if n_bad:
            rows = ds.engine.rows(f"SELECT x.{col}, x._row FROM {source} WHERE {where} ORDER BY x._row LIMIT 50")
            values = [plain_value(r[0]) for r in rows]
            examples = distinct_values(values)
            failures.append(Failure(table=rule.table, file=table_label(ds.paths[rule.table]), column=rule.column,
                                    rule=rule.rule, n_failed=n_bad, n_rows=ds.n_rows[rule.table],
                                    examples=examples, rows=[int(r[1]) + 1 for r in rows[:_ROWS]],
                                    example_rows=first_rows(values, [int(r[1]) + 1 for r in rows], examples)))
    return results, failures


def weight_sum_rule(ds) -> list[Failure]:
    """contact_agents: each contact's weights sum to 1 (``validation.check_weight_sums`` in SQL)."""
    if "contact_agents" not in ds.columns or not {"contact_id", "weight"} <= set(ds.columns["contact_agents"]):
        return []
    sums = ("contact_agents x JOIN (SELECT contact_id AS _c, sum(weight) AS _total FROM contact_agents "
            "WHERE contact_id IS NOT NULL GROUP BY contact_id) s ON x.contact_id = s._c")
    where = f"abs(s._total - 1) > {WEIGHT_SUM_TOL!r}"
    n_bad = int(ds.engine.rows(f"SELECT count(*) FROM {sums} WHERE {where}")[0][0])
    if not n_bad:
        return []
    rows = ds.engine.rows(f"SELECT x._row FROM {sums} WHERE {where} ORDER BY x._row LIMIT {_ROWS}")
    firsts = ds.engine.rows(f"SELECT min(s._total), min(x._row) AS _first FROM {sums} WHERE {where} "
                            f"GROUP BY x.contact_id ORDER BY _first LIMIT {_ROWS}")
    return [Failure(table="contact_agents", file=table_label(ds.paths["contact_agents"]), column="weight",
                    rule="the weights of a contact sum to 1", n_failed=n_bad, n_rows=ds.n_rows["contact_agents"],
                    examples=[round(float(r[0]), 6) for r in firsts], rows=[int(r[0]) + 1 for r in rows],
                    example_rows=[int(r[1]) + 1 for r in firsts])]


def _sql_ids(ds, table: str, column: str, rows: list[int]) -> dict:
    """{1-based data row: the row's `column` value} for `rows` of a table in SQL."""
    if column not in ds.columns[table] or not rows:
        return {}
    found = ds.engine.rows(f"SELECT {ds.engine.dialect.ident(column)}, _row FROM {table} "
                           f"WHERE _row IN ({', '.join(str(int(r) - 1) for r in rows)})")
    return {int(r[1]) + 1: plain_value(r[0]) for r in found}


def gx_sample(ds, rows: int) -> tuple[Dataset, list[Failure], dict]:
    """The first `rows` rows of each table, read and parsed by the pandas loader's parser."""
    d = ds.engine.dialect
    frames, parse_failures, unparsed = {}, [], {}
    for table in ds.tables:
        cols = ", ".join(d.ident(c if c in ds.columns[table] else c) for c in ds.columns[table])
        # the first `rows` rows of the table are among the first `rows` of each file: a top-N over those, not every row
        raw = ds.engine.frame(f"SELECT {cols} FROM raw_{table} WHERE _file_row < {int(rows)} "
                              f"ORDER BY _file, _file_row LIMIT {int(rows)}")
        frame, problems, bad = parse_table(table, raw, table_label(ds.paths[table]))
        frames[table] = frame
        parse_failures += problems
        unparsed.update({(table, c): r for c, r in bad.items()})
    sample = Dataset(folder=ds.folder, contacts=frames["contacts"], surveys=frames["surveys"], agents=frames["agents"],
                     paths=ds.paths, fingerprint=ds.fingerprint, description=ds.description,
                     contact_agents=frames.get("contact_agents"))
    return sample, parse_failures, unparsed


def validate_sql(ds, docs_dir=None, sample_rows: int | None = None) -> ValidationReport:
    """Every rule over every row in SQL, GX on a sample as a check (see the module docstring)."""
    rows = GX_SAMPLE_ROWS if sample_rows is None else sample_rows
    failures, tables = [], {}
    for table in ds.tables:
        found, tables[table] = table_rules(ds, table)
        failures += found
    sample, parse_failures, unparsed = gx_sample(ds, rows)
    _, gx_failures, docs_index, gx_version = run_gx_suites(sample, docs_dir, parse_failures, unparsed)
    seen = {(f.table, f.column, f.rule) for f in failures}
    for f in gx_failures:
        if (f.table, f.column, f.rule) not in seen:
            failures.append(Failure(table=f.table, file=f.file, column=f.column, rule=f.rule, n_failed=0,
                                    n_rows=ds.n_rows[f.table], kind="table",
                                    detail="Great Expectations found it broken in the first rows but the SQL "
                                           f"translation of the rule did not ({f.message}); please report this"))
    failures.sort(key=lambda f: ALL_TABLE_ORDER.index(f.table))
    cross, cross_failures = cross_table_rules(ds)
    cross_failures += weight_sum_rule(ds)
    name_rows(failures + cross_failures, lambda table, column, rows: _sql_ids(ds, table, column, rows))
    parse = [f for table in ds.tables for f in failures if f.table == table and
             any(f.rule == rule for _, _, rule in ds.parse_rules[table])]
    return ValidationReport(folder=ds.folder, tables=tables, cross_table=cross, failures=failures + cross_failures,
                            gx_version=gx_version, docs_index=docs_index, parse_failures=parse,
                            engine=ds.engine.name, gx_sample_rows=rows)
