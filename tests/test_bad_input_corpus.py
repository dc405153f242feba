"""A generated corpus of bad (and good) input: every column of every table of the data model, every
rule it has, and the file level (encodings, separators, quoting, empty files, two files for one
table, unreadable files).

The generators are driven by the data model, not by a list written here: the columns come from
``upstream.data.schema.SCHEMA`` (name, kind, required), the value rules from the GX expectation
suites (``load_suite``: blank, unique, between, in-set, column-pair rules with their descriptions),
the cross-table rules from ``CROSS_TABLE_RULES``. A column, rule or table added by another change
is corrupted here without editing this file; only a new *kind* of rule needs a new action below.

Each invalid case must be refused with a ``DataError`` whose failures are exactly the broken
rules (file, column, rule, offending values) and whose message names them; each valid variant
(BOM, CRLF, quoted fields, unknown extra columns, shuffled columns, .csv.gz, Parquet) must load
to the same parsed tables. Hypothesis runs derandomized with a small budget (GX validation costs
about half a second per data set), so the corpus is deterministic and fast.
"""
from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import build_valid_tables, to_csv_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upstream import cli
from upstream.data import SCHEMA, TABLES, DataError, load_dataset
from upstream.data.validation import CROSS_TABLE_RULES, load_suite
from upstream.runner import point_latest

TESTS = Path(__file__).resolve().parent

CORPUS = settings(derandomize=True, deadline=None, database=None, print_blob=False,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.function_scoped_fixture])

# ----------------------------------------------------------------------------- the valid base data set


def _base_tables() -> dict[str, pd.DataFrame]:
    """The conftest data set, small, plus one agent without contacts (whose id can be broken
    without also breaking the contacts' cross-table rule)."""
    tables = build_valid_tables(n_contacts=24, n_agents=3)
    spare = tables["agents"].iloc[[0]].copy()
    spare["agent_id"] = pd.array(["099"], dtype="str")
    tables["agents"] = pd.concat([tables["agents"], spare], ignore_index=True)
    return tables


BASE = _base_tables()
BASE_TEXT = {t: to_csv_text(f) for t, f in BASE.items()}
SUITES = {t: load_suite(t)["expectations"] for t in TABLES}
COLUMNS = {t: {c.name: c for c in SCHEMA[t]} for t in TABLES}

# Rows an action may change: a contact that is surveyed or an agent with contacts must keep its id,
# or the cross-table rules would fail as well.
SURVEYED = set(BASE["surveys"]["contact_id"])
FREE_ID_ROWS = {
    ("contacts", "contact_id"): [i for i, v in enumerate(BASE["contacts"]["contact_id"]) if v not in SURVEYED],
    ("agents", "agent_id"): [i for i, v in enumerate(BASE["agents"]["agent_id"])
                             if v not in set(BASE["contacts"]["agent_id"])],
}
REFERENCED = {(r.ref_table, r.ref_column) for r in CROSS_TABLE_RULES}


def _description(table: str, etype: str, column: str) -> str:
    (entry,) = [e for e in SUITES[table] if e["type"] == etype and e["kwargs"].get("column") == column]
    return entry["description"]


# ----------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Action:
    """One way to break one column: ``make(value)`` edits the text table in place at ``row``;
    ``expected`` is (file, column, rule); ``example(value)`` the offending value the message must show
    (None: no example, e.g. an empty cell). ``needs_absent``: columns that must not be dropped in the
    same data set for the failure to be reported (a rule on a missing column is not checked)."""

    table: str
    column: str
    kind: str
    rule: str
    default: Any
    strategy: st.SearchStrategy
    apply: Callable[[pd.DataFrame, int, Any], None]
    example: Callable[[Any, pd.DataFrame, int], Any]
    rows: tuple[int, ...]
    needs_present: tuple[tuple[str, str], ...] = ()

    @property
    def file(self) -> str:
        return f"{self.table}.csv"


def _set(column):
    def apply(text, row, value):
        text.loc[row, column] = value
    return apply


def _set_number(column_name, column, number):
    """An ``apply`` writing ``number(value)`` as text, a whole number for a whole column."""
    def apply(text, row, value):
        text.loc[row, column_name] = _num_text(number(value), column)
    return apply


def _number_ok(value: str) -> bool:
    return np.isfinite(pd.to_numeric(pd.Series([value.strip()]), errors="coerce").astype("float64")).all()


def _time_ok(value: str) -> bool:
    return pd.to_datetime(pd.Series([value.strip()]), format="ISO8601", utc=True, errors="coerce").notna().all()


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"],
                                       include_characters=" ,;\"'"), min_size=1, max_size=12)
NOT_A_NUMBER = st.one_of(st.sampled_from(["abc", "NA", "null", "None", "1,5", "12 min", "inf", "NaN", "--1", "€12"]),
                         _TEXT).filter(lambda v: v.strip() != "" and not _number_ok(v))
FRACTIONS = st.one_of(st.sampled_from(["2.5", "1.25", "3.000001"]),
                      st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda x: x != round(x))
                      .map(repr))
BAD_TIMES = st.one_of(st.sampled_from(["yesterday", "2026-13-01T00:00:00", "31/12/2026", "2026-02-30", "12:00",
                                       "2026-03-01T25:00:00", "TBD"]),
                      _TEXT).filter(lambda v: v.strip() != "" and not _time_ok(v))
BAD_BOOLS = st.one_of(st.sampled_from(["maybe", "2", "y", "t", "TRUE!", "nope", "-1"]),
                      _TEXT).filter(lambda v: v.strip() != "" and v.strip().lower() not in
                                    {"true", "false", "1", "0", "yes", "no"})
BLANKS = st.text(alphabet=" \t\u00a0\u2003", min_size=1, max_size=4)
UNKNOWN_IDS = st.from_regex(r"[A-Z]{1,3}[0-9]{1,7}", fullmatch=True)


def _actions() -> list[Action]:
    """Every way to break every column, from the schema, the suites and the cross-table rules."""
    out: list[Action] = []
    n_rows = {t: len(BASE[t]) for t in TABLES}
    for table in TABLES:
        all_rows = tuple(range(n_rows[table]))
        for column in SCHEMA[table]:
            c = column.name
            id_rows = tuple(FREE_ID_ROWS.get((table, c), all_rows)) if column.kind == "id" else all_rows
            if not getattr(column, "optional", False):  # an optional column may be absent (a valid variant)
                out.append(Action(table, c, "drop", _description(table, "expect_column_to_exist", c), None,
                                  st.none(), lambda text, row, value, c=c: text.pop(c),
                                  lambda value, text, row: None, (0,)))
            if column.required:
                out.append(Action(table, c, "empty", _description(table, "expect_column_values_to_not_be_null", c),
                                  "", st.just(""), _set(c), lambda value, text, row: None, id_rows))
            if column.kind in ("number", "whole"):
                out.append(Action(table, c, "not a number", f"{c} is a number", "abc", NOT_A_NUMBER, _set(c),
                                  lambda value, text, row: value, all_rows))
            if column.kind == "whole":
                out.append(Action(table, c, "fraction", f"{c} is a whole number", "2.5", FRACTIONS, _set(c),
                                  lambda value, text, row: value, all_rows))
            if column.kind == "datetime":
                out.append(Action(table, c, "bad time", f"{c} is an ISO 8601 date/time", "yesterday", BAD_TIMES,
                                  _set(c), lambda value, text, row: value, all_rows))
            if column.kind == "bool":
                out.append(Action(table, c, "bad bool", f"{c} is true or false (also 1/0, yes/no)", "maybe",
                                  BAD_BOOLS, _set(c), lambda value, text, row: value, all_rows))
        for entry in SUITES[table]:
            kwargs, etype, rule = entry["kwargs"], entry["type"], entry["description"]
            c = kwargs.get("column") or kwargs.get("column_A")
            if c is None:
                continue  # table-level (row count): the file-level tests below
            if etype in ("expect_column_to_exist", "expect_column_values_to_not_be_null"):
                continue  # the schema's "drop" and "empty" actions above
            column = COLUMNS[table][c]
            rows = tuple(FREE_ID_ROWS.get((table, c), range(n_rows[table])))
            parse = float if column.kind == "number" else int
            if etype == "expect_column_values_to_not_match_regex" and kwargs["regex"] == r"^\s*$":
                out.append(Action(table, c, "blank", rule, "  ", BLANKS, _set(c), lambda value, text, row: value, rows))
            elif etype == "expect_column_values_to_be_unique":
                def duplicate(text, row, value, c=c):
                    text.loc[row, c] = text.loc[value, c]
                other_rows = st.sampled_from([r for r in range(n_rows[table])])
                out.append(Action(table, c, "duplicate", rule, None, other_rows, duplicate,
                                  lambda value, text, row, c=c, table=table: BASE_TEXT[table].loc[value, c], rows))
            elif etype == "expect_column_values_to_be_between":
                low, high = kwargs.get("min_value"), kwargs.get("max_value")
                if low is not None:
                    step = st.sampled_from([1, 1000, 10**9]) if column.kind == "whole" else \
                        st.sampled_from([0.5, 1, 1e6, 1e-3])
                    out.append(Action(table, c, "below min", rule, 1, step,
                                      _set_number(c, column, lambda value, low=low: low - value),
                                      lambda value, text, row, low=low, parse=parse: parse(low - value), rows))
                if high is not None:
                    out.append(Action(table, c, "above max", rule, 1, st.sampled_from([1, 1000]),
                                      _set_number(c, column, lambda value, high=high: high + value),
                                      lambda value, text, row, high=high, parse=parse: parse(high + value), rows))
            elif etype == "expect_column_values_to_be_in_set":
                allowed = set(kwargs["value_set"])
                outside = st.integers(-1000, 1000).filter(lambda v, allowed=allowed: v not in allowed)
                out.append(Action(table, c, "outside set", rule, max(allowed) + 1, outside,
                                  _set_number(c, column, lambda value: value),
                                  lambda value, text, row: value, rows))
            elif etype == "expect_column_pair_values_a_to_be_greater_than_b":
                b = kwargs["column_B"]

                def earlier(text, row, value, c=c, b=b):
                    before = pd.Timestamp(text.loc[row, b]) - pd.Timedelta(seconds=value)
                    text.loc[row, c] = before.strftime("%Y-%m-%dT%H:%M:%S")

                def pair_example(value, text, row, c=c, b=b):
                    return (str(pd.Timestamp(text.loc[row, c])), str(pd.Timestamp(text.loc[row, b])))
                out.append(Action(table, c, "pair order", rule, 3600, st.integers(1, 10**8), earlier, pair_example,
                                  rows, needs_present=((table, b),)))
            else:  # a new kind of rule: the corpus must be taught how to break it
                raise AssertionError(f"{table}.json: no corpus action for {etype} on {c}")
    for rule in CROSS_TABLE_RULES:
        if rule.table not in BASE:      # an optional table (contact_agents): tests/test_shared_credit.py
            continue
        ref_values = set(BASE[rule.ref_table][rule.ref_column])
        unknown = UNKNOWN_IDS.filter(lambda v, ref_values=ref_values: v not in ref_values)
        rows = tuple(FREE_ID_ROWS.get((rule.table, rule.column), range(len(BASE[rule.table]))))
        out.append(Action(rule.table, rule.column, "unknown reference", rule.rule, "ZZ999", unknown, _set(rule.column),
                          lambda value, text, row: value, rows, needs_present=((rule.ref_table, rule.ref_column),)))
    return out


def _num_text(value, column) -> str:
    return str(int(value)) if column.kind == "whole" else repr(float(value))


ACTIONS = _actions()


def test_the_corpus_covers_every_column_and_every_rule():
    """Every column of the data model is dropped, emptied (if required) and mis-typed, and every
    value rule of every suite and every cross-table rule has an action that breaks it."""
    for table in TABLES:
        for column in SCHEMA[table]:
            kinds = {a.kind for a in ACTIONS if (a.table, a.column) == (table, column.name)}
            assert ("drop" in kinds) != getattr(column, "optional", False), (table, column.name)
            assert ("empty" in kinds) == column.required, (table, column.name)
        optional = {c.name for c in SCHEMA[table] if getattr(c, "optional", False)}
        suite_rules = {e["description"] for e in SUITES[table] if e["type"] != "expect_table_row_count_to_be_between"
                       and not (e["type"] == "expect_column_to_exist" and e["kwargs"]["column"] in optional)}
        assert suite_rules <= {a.rule for a in ACTIONS if a.table == table}, table
    assert {r.rule for r in CROSS_TABLE_RULES if r.table in TABLES} <= {a.rule for a in ACTIONS}


# ----------------------------------------------------------------------------- running a plan


def _write_text_tables(folder: Path, texts: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, text in texts.items():
        text.to_csv(folder / f"{table}.csv", index=False)
    return folder


def _check_plan(plan: list[tuple[Action, int, Any]], folder: Path) -> None:
    texts = {t: BASE_TEXT[t].copy() for t in TABLES}
    expected = {}
    for action, row, value in plan:
        expected[(action.file, action.column, action.rule)] = action.example(value, texts[action.table], row) \
            if action.kind == "pair order" else None
    for action, row, value in plan:
        action.apply(texts[action.table], row, value)
    for action, row, value in plan:
        key = (action.file, action.column, action.rule)
        if action.kind != "pair order":
            expected[key] = action.example(value, texts[action.table], row)
        else:
            expected[key] = (str(pd.Timestamp(texts[action.table].loc[row, action.column])),
                             str(pd.Timestamp(texts[action.table].loc[row, _pair_b(action)])))
    _write_text_tables(folder, texts)
    with pytest.raises(DataError) as info:
        load_dataset(folder)
    err = info.value
    found = {(f.file, f.column, f.rule): f for f in err.failures}
    assert set(found) == set(expected), f"plan {[(a.table, a.column, a.kind, r, v) for a, r, v in plan]}:\n{err}"
    message = str(err)
    assert message.startswith(f"Data validation failed for {folder}:\n\n") and "Traceback" not in message
    for (file, column, rule), example in expected.items():
        failure = found[(file, column, rule)]
        assert failure.message in message
        assert failure.message.startswith(f"{file}")
        if failure.kind == "missing_column":
            assert failure.message.startswith(f"{file}: required column '{column}' is missing; the file has columns ")
        else:
            assert failure.message.startswith(f"{file}, column '{column}': rule '{rule}' failed for ")
        if example is not None:
            assert example in failure.examples, (failure.examples, example)
            assert repr(example) in failure.message
        elif failure.kind == "values":
            assert failure.n_failed >= 1 and "empty in data row" in failure.message


def _pair_b(action: Action) -> str:
    return action.needs_present[0][1]


def _compatible(plan: list[tuple[Action, int, Any]], action: Action, row: int) -> bool:
    columns = {(a.table, a.column) for a, _, _ in plan}
    dropped = {(a.table, a.column) for a, _, _ in plan if a.kind == "drop"}
    needs = {n for a, _, _ in plan for n in a.needs_present}
    rows = {(a.table, r) for a, r, _ in plan if a.kind != "drop"}
    if (action.table, action.column) in columns:
        return False
    if action.kind == "drop" and (action.table, action.column) in needs:
        return False
    if action.kind == "drop" and sum(1 for t, _ in dropped if t == action.table) >= 2:
        return False  # keep most columns: a file without any is reported as empty instead
    if set(action.needs_present) & dropped:
        return False
    return action.kind == "drop" or (action.table, row) not in rows


def test_every_action_once_with_its_default_value(tmp_path):
    """Deterministic coverage: the actions are packed into a few data sets (one action per column,
    one changed row per action); every data set is refused with exactly its failures."""
    remaining = list(ACTIONS)
    rounds = 0
    while remaining:
        plan: list[tuple[Action, int, Any]] = []
        for action in list(remaining):
            free = [r for r in action.rows if _compatible(plan, action, r)]
            if free:
                plan.append((action, free[0], action.default if action.kind != "duplicate" else
                             next(r for r in range(len(BASE[action.table])) if r != free[0])))
                remaining.remove(action)
        assert plan, "no action fits a fresh data set"
        rounds += 1
        _check_plan(plan, tmp_path / f"round{rounds}")
    assert rounds <= 8  # the packing keeps the corpus cheap


@st.composite
def plans(draw):
    """1-6 compatible actions on different columns, with drawn rows and values."""
    n = draw(st.integers(1, 6))
    plan: list[tuple[Action, int, Any]] = []
    for _ in range(n):
        action = draw(st.sampled_from(ACTIONS))
        free = [r for r in action.rows if _compatible(plan, action, r)]
        if not free:
            continue
        row = draw(st.sampled_from(free))
        value = draw(action.strategy)
        if action.kind == "duplicate":
            others = [r for r in range(len(BASE[action.table])) if r != row]
            value = draw(st.sampled_from(others))
        plan.append((action, row, value))
    return plan


@settings(CORPUS, max_examples=14)
@given(plan=plans())
def test_generated_bad_values_are_refused_with_exact_failures(plan):
    if not plan:
        return
    with tempfile.TemporaryDirectory() as tmp:
        _check_plan(plan, Path(tmp) / "data")


# ----------------------------------------------------------------------------- valid variants of the same data


def _expected_frames() -> dict[str, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as tmp:
        ds = load_dataset(_write_text_tables(Path(tmp), BASE_TEXT), validate=False)
        return {t: ds.table(t) for t in TABLES}


EXPECTED = _expected_frames()


@st.composite
def variants(draw):
    out = {}
    for table in TABLES:
        extra = draw(st.lists(st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True).filter(
            lambda n, table=table: n not in COLUMNS[table]), max_size=2, unique=True))
        optional = [c.name for c in SCHEMA[table] if getattr(c, "optional", False)]
        dropped = draw(st.lists(st.sampled_from(optional), unique=True, max_size=len(optional))) if optional else []
        order = draw(st.permutations([c for c in BASE[table].columns if c not in dropped] + extra))
        out[table] = dict(
            fmt=draw(st.sampled_from(["csv", "csv", "csv.gz", "parquet"])),
            bom=draw(st.booleans()), crlf=draw(st.booleans()), dropped=dropped,
            quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])),
            extra=extra, order=order)
    return out


def _write_variant(folder: Path, spec: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for table, v in spec.items():
        if v["fmt"] == "parquet":
            frame = BASE[table].copy()
            for name in v["extra"]:
                frame[name] = pd.array(["x"] * len(frame), dtype="str")
            frame[v["order"]].to_parquet(folder / f"{table}.parquet", index=False)
            continue
        text = BASE_TEXT[table].copy()
        for name in v["extra"]:
            text[name] = "note, \"quoted\""
        data = text[v["order"]].to_csv(index=False, quoting=v["quoting"],
                                       lineterminator="\r\n" if v["crlf"] else "\n").encode("utf-8")
        if v["bom"]:
            data = b"\xef\xbb\xbf" + data
        if v["fmt"] == "csv.gz":
            (folder / f"{table}.csv.gz").write_bytes(gzip.compress(data))
        else:
            (folder / f"{table}.csv").write_bytes(data)


@settings(CORPUS, max_examples=8)
@given(spec=variants())
def test_valid_variants_load_to_the_same_tables(spec):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        _write_variant(folder, spec)
        ds = load_dataset(folder)
        assert ds.validation.ok
        for table in TABLES:
            names = [c.name for c in SCHEMA[table] if c.name not in spec[table]["dropped"]]
            frame = ds.table(table)
            assert not set(spec[table]["dropped"]) & set(frame.columns)
            assert list(frame.columns) == spec[table]["order"]
            pd.testing.assert_frame_equal(frame[names], EXPECTED[table][names])
            for name in spec[table]["extra"]:
                assert set(frame[name]) <= {"note, \"quoted\"", "x"}


# ----------------------------------------------------------------------------- the file level


def _latin1(table: str, text: str) -> bytes:
    return text.replace(BASE_TEXT[table].columns[-1], BASE_TEXT[table].columns[-1], 1).encode("latin-1", "replace")


FILE_FAULTS: dict[str, tuple[Callable[[str, str, Any], dict[str, bytes]], st.SearchStrategy, str, str]] = {}


def _fault(name: str, strategy: st.SearchStrategy, rule: str, detail: str):
    def register(make):
        FILE_FAULTS[name] = (make, strategy, rule, detail)
        return make
    return register


def _csv(table: str) -> str:
    return BASE_TEXT[table].to_csv(index=False)


@_fault("latin-1", st.sampled_from(["Besançon", "Zürich", "Ålesund", "São Paulo"]),
        "the file is a readable UTF-8 CSV table with a header row", r"'utf-8' codec can't decode byte 0x[0-9a-f]{2} in "
        r"line \d+ \(the file looks Latin-1 or Windows-1252 encoded\); save it as UTF-8")
def _(table, text, value):
    first_text = next(c.name for c in SCHEMA[table] if c.kind in ("category", "text", "id"))
    frame = BASE_TEXT[table].copy()
    frame.loc[1, first_text] = value
    return {f"{table}.csv": frame.to_csv(index=False).encode("latin-1")}


@_fault("windows-1252", st.sampled_from(["€5 voucher", "“quoted”", "em—dash"]),
        "the file is a readable UTF-8 CSV table with a header row",
        r"'utf-8' codec can't decode byte 0x[0-9a-f]{2} in line 3 \(the file looks Latin-1 or Windows-1252 encoded\); "
        r"save it as UTF-8")
def _(table, text, value):
    frame = BASE_TEXT[table].copy()
    first_text = next(c.name for c in SCHEMA[table] if c.kind in ("category", "text", "id"))
    frame.loc[1, first_text] = value
    return {f"{table}.csv": frame.to_csv(index=False).encode("cp1252")}


@_fault("utf-16", st.sampled_from(["utf-16", "utf-16-be"]), "the file is a readable UTF-8 CSV table with a header row",
        r"the file is UTF-16 \((little|big)-endian\) encoded; save it as UTF-8")
def _(table, text, value):
    data = text.encode(value)
    if value == "utf-16-be":
        data = b"\xfe\xff" + data
    return {f"{table}.csv": data}


CSV_RULE = "the file is a readable UTF-8 CSV table with a header row"


@_fault("utf-16 without BOM", st.sampled_from(["utf-16-le"]), CSV_RULE,
        r"the file contains NUL bytes \(is it UTF-16 encoded, or not a text file\?\); save it as UTF-8 CSV")
def _(table, text, value):
    return {f"{table}.csv": text.encode(value)}


@_fault("separator", st.sampled_from([";", "\t", "|"]), "the file is comma separated",
        r"the header row is separated by (semicolons|tabs|vertical bars) instead of commas \('.+'\); export the "
        r"table as comma-separated CSV")
def _(table, text, value):
    return {f"{table}.csv": BASE_TEXT[table].to_csv(index=False, sep=value).encode()}


@_fault("empty file", st.sampled_from([b"", b"\n", b"\r\n\r\n"]), CSV_RULE,
        r"the file is empty \(not even a header row\)")
def _(table, text, value):
    return {f"{table}.csv": value}


@_fault("unbalanced quote", st.integers(2, 6), "the file is a readable UTF-8 CSV table with a header row",
        r"Error tokenizing data\. C error: EOF inside string starting at row \d+")
def _(table, text, value):
    lines = text.splitlines()
    lines[value % len(lines) or 1] = '"' + lines[value % len(lines) or 1]
    return {f"{table}.csv": ("\n".join(lines) + "\n").encode()}


@_fault("too many fields", st.integers(0, 5), "the file is a readable UTF-8 CSV table with a header row",
        r"(Error tokenizing data\. C error: Expected \d+ fields in line \d+, saw \d+|line 2 has (\d+) fields but the "
        r"header row has \d+: quote values that contain commas)")
def _(table, text, value):
    lines = text.splitlines()
    lines[1 + value % (len(lines) - 1)] += ",surplus"
    return {f"{table}.csv": ("\n".join(lines) + "\n").encode()}


@_fault("binary garbage", st.binary(min_size=8, max_size=64).map(lambda b: b"\x89PNG\x00" + b),
        "the file is a readable UTF-8 CSV table with a header row", r".+")
def _(table, text, value):
    return {f"{table}.csv": value}


@_fault("broken gzip", st.integers(10, 60), "the file is a readable UTF-8 CSV table with a header row",
        r"(Compressed file ended before the end-of-stream marker was reached|Not a gzipped file.*|.*CRC.*)")
def _(table, text, value):
    return {f"{table}.csv.gz": gzip.compress(text.encode())[:value]}


@_fault("broken parquet", st.binary(min_size=0, max_size=40), "the file is a readable Parquet table", r".+")
def _(table, text, value):
    return {f"{table}.parquet": b"PAR1" + value}


@_fault("two files", st.sampled_from([("csv", "parquet"), ("csv", "csv.gz"), ("csv.gz", "parquet")]),
        "each table is in exactly one file",
        r"\w+\.[\w.]+ and \w+\.[\w.]+ are both in the folder and Upstream will not guess which one is current; move "
        r"or delete all but one")
def _(table, text, value):
    files = {}
    for fmt in value:
        if fmt == "parquet":
            buffer = io.BytesIO()
            BASE[table].to_parquet(buffer, index=False)
            files[f"{table}.parquet"] = buffer.getvalue()
        elif fmt == "csv.gz":
            files[f"{table}.csv.gz"] = gzip.compress(text.encode())
        else:
            files[f"{table}.csv"] = text.encode()
    return files


@pytest.mark.parametrize("fault", sorted(FILE_FAULTS))
def test_broken_files_are_refused_naming_file_and_rule(fault, tmp_path):
    make, strategy, rule, detail = FILE_FAULTS[fault]

    @settings(CORPUS, max_examples=3)
    @given(table=st.sampled_from(TABLES), value=strategy)
    def check(table, value):
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        _write_text_tables(folder, {t: BASE_TEXT[t] for t in TABLES if t != table})
        files = make(table, _csv(table), value)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        with pytest.raises(DataError) as info:
            load_dataset(folder)
        failures = info.value.failures
        if fault == "unbalanced quote" and len(failures) > 1:
            # the stray quote balanced against a later one (a quoted field may span lines): the rows in
            # between were read as one, and their values break the rules of that file
            assert {f.file for f in failures} == {f"{table}.csv"}, str(info.value)
            assert all(f.message in str(info.value) for f in failures)
            return
        (failure,) = failures
        assert failure.table == table and failure.column is None and failure.rule == rule
        names = sorted(files)
        assert failure.file == (", ".join(sorted(names, key=_suffix_order)) if len(names) > 1 else names[0])
        assert re.fullmatch(detail, failure.detail), failure.detail
        assert str(info.value) == f"Data validation failed for {folder}:\n\n{failure.file}: rule '{rule}' failed; " \
                                  f"{failure.detail}."
        shutil.rmtree(folder)

    check()


def _suffix_order(name: str) -> int:
    return [".csv", ".csv.gz", ".parquet"].index(name[name.index("."):])


@pytest.mark.parametrize("table", TABLES)
def test_header_only_file_is_refused_by_the_row_count_rule(table, tmp_path):
    _write_text_tables(tmp_path, {**BASE_TEXT, table: BASE_TEXT[table].iloc[:0]})
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path)
    rule = next(e["description"] for e in SUITES[table] if e["type"] == "expect_table_row_count_to_be_between")
    assert f"{table}.csv: rule '{rule}' failed; the file has a header but no data rows." in str(info.value)


def test_unreadable_file_is_refused(tmp_path):
    folder = _write_text_tables(tmp_path / "data", BASE_TEXT)
    path = folder / "agents.csv"
    path.chmod(0)
    try:
        readable = os.access(path, os.R_OK)
        if readable:
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): chmod 000 does not stop this process "
                        "reading the file; test_unreadable_file_message covers the message")
        with pytest.raises(DataError) as info:
            load_dataset(folder)
        assert str(info.value) == (f"Data validation failed for {folder}:\n\nagents.csv: rule 'the file can be "
                                   "read' failed; permission denied.")
    finally:
        path.chmod(0o644)


def test_unreadable_file_message(tmp_path, monkeypatch):
    """The same failure as above, where the OS refuses the read (simulated: root can read anything)."""
    folder = _write_text_tables(tmp_path / "data", BASE_TEXT)
    real = Path.read_bytes

    def refuse(self):
        if self.name == "agents.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(DataError) as info:
        load_dataset(folder)
    assert str(info.value) == (f"Data validation failed for {folder}:\n\nagents.csv: rule 'the file can be read' "
                               "failed; permission denied.")


# ----------------------------------------------------------------------------- through `upstream run --data`


def _cli_case(name: str, folder: Path) -> str:
    """Write bad data set ``name`` into ``folder``; returns a paragraph the message must hold."""
    _write_text_tables(folder, BASE_TEXT)
    if name == "two files":
        BASE["agents"].to_parquet(folder / "agents.parquet", index=False)
        return ("agents.csv, agents.parquet: rule 'each table is in exactly one file' failed; agents.csv and "
                "agents.parquet are both in the folder and Upstream will not guess which one is current; move or "
                "delete all but one.")
    if name == "utf-16":
        (folder / "surveys.csv").write_bytes(_csv("surveys").encode("utf-16"))
        return ("surveys.csv: rule 'the file is a readable UTF-8 CSV table with a header row' failed; the file is "
                "UTF-16 (little-endian) encoded; save it as UTF-8.")
    if name == "semicolons":
        (folder / "contacts.csv").write_text(BASE_TEXT["contacts"].to_csv(index=False, sep=";"))
        return "contacts.csv: rule 'the file is comma separated' failed; the header row is separated by semicolons"
    if name == "bad values":
        text = BASE_TEXT["surveys"].copy()
        text.loc[3, "nps"] = "11"
        text.to_csv(folder / "surveys.csv", index=False)
        return ("surveys.csv, column 'nps': rule 'NPS is a whole number from 0 to 10' failed for 1 of 12 rows; "
                "e.g. 11 (contact_id '0000007').")
    raise KeyError(name)


@pytest.fixture(scope="module")
def cli_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(TESTS / "notebooks", root / "notebooks")
    study = root / "smoke.yaml"
    study.write_text(yaml.safe_dump({"name": "smoke", "title": "Bad input", "data": "good",
                                     "notebooks": ["notebooks/smoke_report.ipynb"]}))
    (root / "good").mkdir()
    # a previously published report that no bad run may touch
    previous = root / "reports" / "smoke" / "20260101-000000"
    previous.mkdir(parents=True)
    (previous / "index.html").write_text("<p>the last good report</p>")
    point_latest(previous.parent, previous)
    return root


@pytest.mark.parametrize("case", ["two files", "utf-16", "semicolons", "bad values"])
def test_upstream_run_refuses_bad_data_with_exit_2(cli_study, case):
    data = cli_study / "data" / case.replace(" ", "-")
    paragraph = _cli_case(case, data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["run", str(cli_study / "smoke.yaml"), "--data", str(data),
                         "--reports", str(cli_study / "reports")])
    assert code == 2
    assert out.getvalue() == ""
    assert paragraph in err.getvalue()
    assert f"Data validation failed for {data}:" in err.getvalue() and "Traceback" not in err.getvalue()
    assert "[1/1]" not in err.getvalue()  # no notebook started
    study_dir = cli_study / "reports" / "smoke"
    assert os.readlink(study_dir / "latest") == "20260101-000000"
    assert (study_dir / "latest" / "index.html").read_text() == "<p>the last good report</p>"
    assert sorted(p.name for p in study_dir.iterdir() if not p.name.startswith(("_", "."))) == [
        "20260101-000000", "latest"]
