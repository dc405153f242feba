"""The canonical data model: the three tables, their columns and kinds (data/README.md), and the
errors bad input raises.

``Failure`` is one broken rule (file, column, rule, how many rows, a few offending values);
``DataError`` carries the failures of a data set and reads as one paragraph per failure. Loading
(``loading.py``) and validation (``validation.py``) both raise it; neither imports the other's errors.
``TableSource`` and ``ValidationOutcome`` say what validation reads and what a DataError carries, so
this module imports neither of them (no import circle through the data layer).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLES", "OPTIONAL_TABLES", "SUFFIXES", "SCHEMA", "Column", "Failure", "DataError", "format_failures",
           "table_files", "table_label", "optional_columns", "column_of", "TableSource", "ValidationOutcome"]

TABLES: tuple[str, ...] = ("contacts", "surveys", "agents")

#: Tables a data set may have: ``contact_agents`` lists every agent who worked on a contact and the
#: agent's share of its credit (shared credit; ``contacts.agent_id`` stays the rating-time agent).
OPTIONAL_TABLES: tuple[str, ...] = ("contact_agents",)

#: File name endings looked for, in order of preference (then a folder of Parquet files named as the table).
SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet")


def table_files(path: Path) -> list[Path]:
    """The files holding a table: the file itself, or for a table folder every ``*.parquet`` below it
    (partition folders such as ``month=2026-01/`` included), sorted by their path inside the folder —
    the order in which their rows count as the table's rows."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    return sorted((f for f in path.rglob("*.parquet") if f.is_file()), key=lambda f: f.relative_to(path).as_posix())


def table_label(path: Path) -> str:
    """How messages name a table's file: ``contacts.csv``, or ``contacts/`` for a folder of Parquet files."""
    path = Path(path)
    return f"{path.name}/" if path.is_dir() else path.name


@dataclass(frozen=True)
class Column:
    """One column of the data model: ``kind`` is id, category, text, datetime, number, whole or
    bool; ``required`` means every row must have a value.

    ``optional``: the table may lack the column entirely (helpdesks do not record it: handle time,
    credit, escalation, ...); when the column is there, ``required`` still holds for its cells.
    ``partial_ok``: the data set's ``dataset.yaml`` may declare the column partly empty
    (``columns: {contacts: {partial: {handle_time_sec: "why"}}}``), which lifts ``required``.
    Every other column must always exist."""

    name: str
    kind: str
    required: bool = True
    optional: bool = False
    partial_ok: bool = False


SCHEMA: dict[str, tuple[Column, ...]] = {
    "contacts": (
        Column("contact_id", "id"),
        Column("opened_at", "datetime"),
        Column("closed_at", "datetime"),
        Column("agent_id", "id"),
        Column("team", "category"),
        Column("channel", "category"),
        Column("policy", "category"),
        Column("product", "category"),
        Column("issue_type", "category"),
        Column("customer_id", "id"),
        Column("handle_time_sec", "number", optional=True, partial_ok=True),
        Column("n_interactions", "whole", optional=True, partial_ok=True),
        Column("resolved_first_contact", "bool", optional=True, partial_ok=True),
        Column("repeat_within_7d", "bool", partial_ok=True),
        Column("escalated", "bool", optional=True, partial_ok=True),
        Column("credit_issued", "number", optional=True, partial_ok=True),
    ),
    "surveys": (
        Column("contact_id", "id"),
        Column("sent_at", "datetime"),
        Column("responded_at", "datetime", required=False),
        Column("csat", "whole", required=False),
        Column("nps", "whole", required=False),
        Column("comment", "text", required=False),
    ),
    "agents": (
        Column("agent_id", "id"),
        Column("team", "category"),
        Column("site", "category", optional=True, partial_ok=True),
        Column("tenure_months", "number", optional=True, partial_ok=True),
    ),
    "contact_agents": (
        Column("contact_id", "id"),
        Column("agent_id", "id"),
        Column("weight", "number"),
    ),
}


def optional_columns(table: str) -> tuple[str, ...]:
    """The columns ``table`` may lack entirely (see :class:`Column`)."""
    return tuple(c.name for c in SCHEMA[table] if c.optional)


def column_of(table: str, name: str) -> Column | None:
    """The data-model column ``name`` of ``table`` (None when it is not one)."""
    return next((c for c in SCHEMA[table] if c.name == name), None)


#: The column that names a row of each table in messages (a row without one is named by its number).
ID_COLUMNS = {"contacts": "contact_id", "surveys": "contact_id", "agents": "agent_id", "contact_agents": "contact_id"}


@dataclass
class Failure:
    """One broken rule.

    ``file`` is the file name (for a missing table: the path looked for), ``column`` is None for a
    table-level rule, ``n_failed`` of ``n_rows`` rows broke ``rule``, ``examples`` holds up to five
    distinct offending values (tuples for a column pair), ``rows`` the 1-based data-row numbers of
    the first few offending rows, ``detail`` the explanation of a table-level failure, and ``kind``
    one of ``values`` (the default), ``table``, ``missing_column``, ``missing_file``.
    ``example_rows`` is the data row of each example's first occurrence, ``ids`` names the rows of the
    examples (or, without examples, of ``rows``) by their id, e.g. ``contact_id 'C0003'``, or by their
    number when the id is the offending column or empty (``name_rows`` fills it).
    """

    table: str
    file: str
    column: str | None
    rule: str
    n_failed: int
    n_rows: int
    examples: list = field(default_factory=list)
    detail: str = ""
    rows: list[int] = field(default_factory=list)
    kind: str = "values"
    example_rows: list = field(default_factory=list)
    ids: list = field(default_factory=list)

    @property
    def message(self) -> str:
        """The failure as one readable paragraph (see ``format_failures``)."""
        if self.kind == "missing_file":
            return (f"{self.file} (or {self.table}.parquet) is missing: every data set needs "
                    "contacts, surveys and agents tables.")
        if self.kind == "missing_column":
            return f"{self.file}: required column '{self.column}' is missing; {self.detail}."
        if self.column is None or self.kind == "table":
            where = self.file if self.column is None else f"{self.file}, column '{self.column}'"
            return f"{where}: rule '{self.rule}' failed; {self.detail}."
        text = (f"{self.file}, column '{self.column}': rule '{self.rule}' failed for "
                f"{self.n_failed:,} of {self.n_rows:,} rows")
        if self.examples:
            named = self.ids if len(self.ids) == len(self.examples) else [""] * len(self.examples)
            shown = (f"{_show(v)} ({label})" if label else _show(v) for v, label in zip(self.examples, named))
            return f"{text}; e.g. {', '.join(shown)}."
        if self.detail:
            by_id = [label.split(" ", 1) for label in self.ids if label and not label.startswith("row ")]
            named = f" ({by_id[0][0]} {', '.join(value for _, value in by_id)})" if by_id else ""
            return f"{text}; {self.detail}{named}."
        return f"{text}."

    def to_dict(self) -> dict:
        """JSON-able form (tuples become lists), with the message."""
        out = asdict(self)
        out["examples"] = [list(v) if isinstance(v, tuple) else v for v in self.examples]
        out["message"] = self.message
        return out


def _show(value: Any) -> str:
    return repr(value)


def first_rows(values, rows, examples: list) -> list:
    """The row of each example's first occurrence among `values` (iterables aligned with `rows`); None
    when absent. Stops as soon as every example is found."""
    wanted = {repr(example) for example in examples}
    first: dict[str, int] = {}
    for value, row in zip(values, rows):
        key = repr(value)
        if key in wanted and key not in first:
            first[key] = int(row)
            if len(first) == len(wanted):
                break
    return [first.get(repr(example)) for example in examples]


def name_rows(failures: list[Failure], ids_of) -> None:
    """Fill ``ids`` of each value failure: `ids_of(table, id_column, rows)` gives {1-based row: id} for the
    rows asked (the pandas and the SQL path each read them their own way; the labels are the same)."""
    for failure in failures:
        id_column = ID_COLUMNS.get(failure.table)
        rows = failure.example_rows if failure.examples else failure.rows
        if failure.kind != "values" or id_column is None or not rows:
            continue
        by_number = failure.column == id_column
        found = {} if by_number else ids_of(failure.table, id_column, sorted({r for r in rows if r}))
        failure.ids = [_row_label(row, found.get(row), id_column) for row in rows]


def frame_ids(frame, column: str, rows: list[int]) -> dict:
    """{1-based data row: the row's `column` value (None when empty)} for `rows` of a parsed table (pandas)."""
    import pandas as pd

    if column not in frame.columns:
        return {}
    out = {}
    for row in rows:
        if 1 <= row <= len(frame):
            value = frame[column].iloc[row - 1]
            out[row] = None if pd.isna(value) else (value.item() if hasattr(value, "item") else value)
    return out


def _row_label(row: int | None, value: Any, id_column: str) -> str:
    if row is None:
        return ""
    if value is None or (isinstance(value, str) and not value.strip()) or value != value:
        return f"row {row}"
    return f"{id_column} {_show(value)}"


def format_failures(failures: list[Failure], folder: str | Path) -> str:
    """``Data validation failed for <folder>:`` and one paragraph per failure, blank-line separated."""
    return "\n\n".join([f"Data validation failed for {folder}:", *(f.message for f in failures)])


class TableSource(Protocol):
    """The three tables of a data set by name, with the files they came from (``loading.Dataset``)."""

    folder: Path
    paths: dict[str, Path]

    def table(self, name: str) -> pd.DataFrame: ...


class ValidationOutcome(Protocol):
    """What a validation found (``validation.ValidationReport``): its failures, readable message and
    JSON-able summary."""

    failures: list[Failure]

    @property
    def ok(self) -> bool: ...

    @property
    def message(self) -> str: ...

    def summary(self) -> dict: ...


class DataError(Exception):
    """Bad input data. ``failures`` lists what is wrong; ``str(err)`` is the readable message;
    ``report`` is the full validation report (``validation.ValidationReport``) when the error came
    from a validation."""

    def __init__(self, failures: list[Failure], folder: str | Path,
                 report: ValidationOutcome | None = None) -> None:
        self.failures = list(failures)
        self.folder = Path(folder)
        self.report = report
        super().__init__(format_failures(self.failures, self.folder))

    def __reduce__(self):
        return (self.__class__, (self.failures, self.folder, self.report))
