"""The description of a data set: ``dataset.yaml`` beside the three tables.

It says what the tables cannot say themselves: the CSAT scale the survey used (binary, 3-, 5-,
7-point ..., with labels and the "top box" counted as satisfied), whether NPS was asked, whom a
rating is attributed to, where the data came from, and which columns the source did not record
(missing), recorded only for some rows (partial) or derived by a stated rule. Importers
(``upstream.data.importers``) write it; ``load_dataset`` reads it into ``Dataset.description``.
A folder without ``dataset.yaml`` gets :data:`DEFAULT_DESCRIPTION`: today's 5-point CSAT and
NPS 0-10, every column as the data set gives it.

How a study reads it (``ds = upstream.load_dataset(folder)``)::

    scale = ds.description.csat
    scale.kind            # "binary" (2 points) or "ordinal" (3 or more)
    scale.points          # k: the codes are 1..k, worst to best
    scale.codes           # (1, ..., k)
    scale.labels          # {1: "bad", 2: "good"}
    scale.top_box         # codes counted as satisfied, e.g. (2,) or (4, 5)
    scale.label_of_good   # words for the top box, e.g. "good", "4 or 5"
    scale.satisfied(ds.surveys["csat"])   # boolean Series: in the top box (<NA> when no csat)
    ds.description.nps.present            # False when the source has no NPS question
    ds.description.attribution.rule       # e.g. "rating_time_assignee", "export_time_assignee"
    ds.description.attribution.at_rating_time   # False: ratings may sit with a later assignee
    ds.description.has_column("contacts", "handle_time_sec")

The file format is in data/README.md ("dataset.yaml"). Unknown keys are an error: a typo must
not silently change the scale.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import yaml

from .schema import SCHEMA, TABLES, Failure, column_of

__all__ = ["CsatScale", "NpsScale", "Attribution", "ColumnNotes", "DatasetDescription",
           "DEFAULT_CSAT", "DEFAULT_NPS", "DEFAULT_DESCRIPTION", "DESCRIPTION_FILE",
           "ATTRIBUTION_RULES", "read_description", "parse_description"]

DESCRIPTION_FILE = "dataset.yaml"
FORMAT_VERSION = 1
MAX_POINTS = 11

#: How a data set's agent_id relates to the ratings (``attribution.rule``).
ATTRIBUTION_RULES: dict[str, str] = {
    "rating_time_assignee": "a rating belongs to the agent assigned when the customer rated",
    "rated_reply_author": "a rating belongs to the agent who wrote the reply the customer rated",
    "last_agent_reply": "a rating belongs to the agent who wrote the last agent reply before the survey was sent",
    "export_time_assignee": ("a rating is attributed to the ticket's assignee when the data was exported, "
                             "which may be a later agent than the one the customer rated"),
    "stated": "agent_id is as the data set gives it",
    "simulated": "agent_id is the agent who handled the simulated contact",
}
_AT_RATING_TIME = {"rating_time_assignee", "rated_reply_author", "last_agent_reply", "simulated"}

_RULE = "dataset.yaml describes the data set (data/README.md)"
_TOP_KEYS = ("upstream_dataset", "name", "source", "period", "attribution", "csat", "nps", "columns",
             "channel_groups")
_CSAT_KEYS = ("present", "kind", "points", "labels", "top_box", "label_of_good", "vendor_scale",
              "vendor_codes", "not_answers", "scale_source")
_NPS_KEYS = ("present", "range", "source")
_ATTRIBUTION_KEYS = ("rule", "description", "reassigned_after_rating")
_COLUMN_KEYS = ("missing", "partial", "derived", "sources")


@dataclass(frozen=True)
class CsatScale:
    """The CSAT scale of a data set: the canonical codes are the whole numbers 1..``points``,
    worst to best, whatever the vendor's own codes were.

    ``kind`` is ``binary`` for 2 points (model: logistic on "in the top box") and ``ordinal``
    for 3 or more (cumulative-logit); ``labels`` names each code; ``top_box`` holds the codes
    counted as satisfied (CSAT % = share of answers in it); ``label_of_good`` says the top box
    in words. ``present`` is False when the source has no CSAT question (csat stays empty).
    ``vendor_scale`` names the source scale (e.g. "Zendesk legacy CSAT (good/bad)").
    """

    points: int = 5
    labels: Any = None
    top_box: tuple[int, ...] = (5,)
    label_of_good: str = ""
    present: bool = True
    vendor_scale: str = ""

    def __post_init__(self):
        labels = dict(self.labels) if self.labels else {c: str(c) for c in range(1, self.points + 1)}
        object.__setattr__(self, "labels", MappingProxyType(labels))
        object.__setattr__(self, "top_box", tuple(int(c) for c in self.top_box))
        if not self.label_of_good:
            words = [labels[c] for c in self.top_box]
            object.__setattr__(self, "label_of_good", " or ".join(words))

    @property
    def kind(self) -> str:
        return "binary" if self.points == 2 else "ordinal"

    @property
    def is_binary(self) -> bool:
        return self.points == 2

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(range(1, self.points + 1))

    def label(self, code: int) -> str:
        """The label of one code (``KeyError`` for a code not on the scale)."""
        return self.labels[int(code)]

    def satisfied(self, csat: pd.Series) -> pd.Series:
        """True where ``csat`` is in the top box, False where it is another code, <NA> where empty."""
        values = pd.Series(csat)
        flags = values.isin(self.top_box).astype("boolean")
        return flags.where(values.notna())

    def summary(self) -> str:
        """The scale in a few words, e.g. ``binary scale 1 bad, 2 good``."""
        codes = ", ".join(f"{c} {self.labels[c]}" if self.labels[c] != str(c) else str(c) for c in self.codes)
        return f"{self.kind} {self.points}-point scale {codes}" if not self.is_binary else f"binary scale {codes}"

    def to_dict(self) -> dict:
        out = {"present": self.present, "kind": self.kind, "points": self.points,
               "labels": dict(self.labels), "top_box": list(self.top_box),
               "label_of_good": self.label_of_good}
        if self.vendor_scale:
            out["vendor_scale"] = self.vendor_scale
        return out


@dataclass(frozen=True)
class NpsScale:
    """NPS 0-10 (promoters 9-10, passives 7-8, detractors 0-6); ``present`` is False when the
    source has no NPS question."""

    present: bool = True
    low: int = 0
    high: int = 10
    promoters: tuple[int, ...] = (9, 10)
    detractors: tuple[int, ...] = tuple(range(0, 7))

    def to_dict(self) -> dict:
        return {"present": self.present, "range": [self.low, self.high]}


@dataclass(frozen=True)
class Attribution:
    """Whom a contact's ``agent_id`` (and so its rating) belongs to: ``rule`` is one of
    :data:`ATTRIBUTION_RULES`; ``reassigned_after_rating`` counts rated contacts whose
    export-time assignee was another agent (None when unknown)."""

    rule: str = "stated"
    description: str = ""
    reassigned_after_rating: int | None = None

    @property
    def at_rating_time(self) -> bool:
        """False when a rating may sit with an agent assigned after the customer rated."""
        return self.rule in _AT_RATING_TIME

    def sentence(self) -> str:
        return self.description or ATTRIBUTION_RULES[self.rule]


@dataclass(frozen=True)
class ColumnNotes:
    """Per table: ``missing`` columns the source did not record (absent from the file),
    ``partial`` columns with empty cells and why, ``derived`` columns and their rule,
    ``sources`` where other columns came from."""

    missing: tuple[str, ...] = ()
    partial: Any = field(default_factory=dict)
    derived: Any = field(default_factory=dict)
    sources: Any = field(default_factory=dict)

    def __post_init__(self):
        for name in ("partial", "derived", "sources"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))


@dataclass(frozen=True)
class DatasetDescription:
    """Everything ``dataset.yaml`` says (or the defaults when there is none: ``declared`` False).

    ``source`` and ``period`` are kept as read (vendor, format, export time, files ...);
    ``columns`` maps each table to its :class:`ColumnNotes`; ``channel_groups`` maps raw vendor
    channel values to their group and count (importers write it)."""

    csat: CsatScale = field(default_factory=CsatScale)
    nps: NpsScale = field(default_factory=NpsScale)
    attribution: Attribution = field(default_factory=Attribution)
    columns: Any = field(default_factory=dict)
    name: str = ""
    source: Any = field(default_factory=dict)
    period: Any = field(default_factory=dict)
    channel_groups: Any = field(default_factory=dict)
    declared: bool = False
    path: Path | None = None

    def __post_init__(self):
        notes = {t: self.columns.get(t, ColumnNotes()) for t in TABLES}
        object.__setattr__(self, "columns", MappingProxyType(notes))
        for name in ("source", "period", "channel_groups"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def has_column(self, table: str, column: str) -> bool:
        """False when ``column`` is one the source did not record (absent from ``table``)."""
        return column not in self.columns[table].missing

    def partial(self, table: str) -> dict[str, str]:
        """Columns of ``table`` declared partly empty, with the reason."""
        return dict(self.columns[table].partial)

    @property
    def vendor(self) -> str | None:
        return self.source.get("vendor")

    def with_missing(self, missing: dict[str, tuple[str, ...]]) -> "DatasetDescription":
        """A copy whose ``columns[table].missing`` are the optional columns the files lack."""
        columns = {}
        for table in TABLES:
            old = self.columns[table]
            columns[table] = ColumnNotes(missing=tuple(missing.get(table, ())), partial=old.partial,
                                         derived=old.derived, sources=old.sources)
        return DatasetDescription(csat=self.csat, nps=self.nps, attribution=self.attribution, columns=columns,
                                  name=self.name, source=self.source, period=self.period,
                                  channel_groups=self.channel_groups, declared=self.declared, path=self.path)


DEFAULT_CSAT = CsatScale(points=5, labels={1: "very dissatisfied", 2: "dissatisfied", 3: "neutral",
                                           4: "satisfied", 5: "very satisfied"}, top_box=(5,))
DEFAULT_NPS = NpsScale()
DEFAULT_DESCRIPTION = DatasetDescription(csat=DEFAULT_CSAT, nps=DEFAULT_NPS)


# ------------------------------------------------------------------------------------------------
# reading


def read_description(folder: str | Path) -> tuple[DatasetDescription, list[Failure], bytes | None]:
    """The description in ``folder/dataset.yaml`` (defaults when there is none), the failures
    found in it, and the file's bytes (for the data set's fingerprint; None when absent)."""
    path = Path(folder) / DESCRIPTION_FILE
    if not path.is_file():
        return DEFAULT_DESCRIPTION, [], None
    content = path.read_bytes()
    try:
        data = yaml.safe_load(content.decode("utf-8"))
    except UnicodeDecodeError:
        return DEFAULT_DESCRIPTION, [_failure("the file is not UTF-8 text")], content
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        return DEFAULT_DESCRIPTION, [_failure(f"not valid YAML{where}: {problem}")], content
    description, problems = parse_description(data, path)
    return description, [_failure(p) for p in problems], content


def _failure(detail: str) -> Failure:
    return Failure(table="dataset", file=DESCRIPTION_FILE, column=None, rule=_RULE, n_failed=0, n_rows=0,
                   kind="table", detail=detail)


def parse_description(data: Any, path: Path | None = None) -> tuple[DatasetDescription, list[str]]:
    """Check ``dataset.yaml`` content; returns the description (defaults where a part is bad) and
    the problems, each a phrase naming the key (``csat.points: 4.5 is not a whole number ...``)."""
    problems: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return DEFAULT_DESCRIPTION, [f"expected keys such as csat and nps, found {_kind(data)}"]
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(f"unknown key {key!r}; the keys are {', '.join(_TOP_KEYS)}")
    version = data.get("upstream_dataset", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        problems.append(f"upstream_dataset: {version!r} is not a version this Upstream reads (1)")

    csat = _parse_csat(data.get("csat"), problems)
    nps = _parse_nps(data.get("nps"), problems)
    attribution = _parse_attribution(data.get("attribution"), problems)
    columns = _parse_columns(data.get("columns"), problems)
    extras = {}
    for key in ("source", "period", "channel_groups"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            problems.append(f"{key}: expected keys and values, found {_kind(value)}")
            value = {}
        extras[key] = value
    name = data.get("name")
    name = str(name) if name is not None else (path.parent.name if path else "")
    return DatasetDescription(csat=csat, nps=nps, attribution=attribution, columns=columns, name=name,
                              declared=True, path=path, **extras), problems


def _parse_csat(raw: Any, problems: list[str]) -> CsatScale:
    if raw is None:
        return DEFAULT_CSAT
    if not isinstance(raw, dict):
        problems.append(f"csat: expected keys such as points and labels, found {_kind(raw)}")
        return DEFAULT_CSAT
    n_before = len(problems)
    for key in raw:
        if key not in _CSAT_KEYS:
            problems.append(f"csat: unknown key {key!r}; the keys are {', '.join(_CSAT_KEYS)}")
    present = raw.get("present", True)
    if not isinstance(present, bool):
        problems.append(f"csat.present: expected true or false, found {_kind(present)}")
        present = True
    points = raw.get("points", 5)
    if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= MAX_POINTS:
        problems.append(f"csat.points: {points!r} is not a whole number from 2 to {MAX_POINTS}")
        return DEFAULT_CSAT
    kind = raw.get("kind", "binary" if points == 2 else "ordinal")
    if kind not in ("binary", "ordinal"):
        problems.append(f"csat.kind: {kind!r} is not binary or ordinal")
    elif (kind == "binary") != (points == 2):
        problems.append(f"csat.kind: {kind} does not fit {points} points (binary means 2 points)")
    codes = list(range(1, points + 1))
    labels = raw.get("labels")
    if labels is None:
        labels = DEFAULT_CSAT.labels if points == 5 else {c: str(c) for c in codes}
    elif not isinstance(labels, dict):
        problems.append(f"csat.labels: expected code: label pairs, found {_kind(labels)}")
        labels = {c: str(c) for c in codes}
    else:
        parsed = {}
        for key, value in labels.items():
            code = _as_code(key)
            if code is None or code not in codes:
                problems.append(f"csat.labels: {key!r} is not a code of the {points}-point scale "
                                f"(1 to {points})")
                continue
            parsed[code] = str(value)
        missing = [c for c in codes if c not in parsed]
        if missing and len(problems) == n_before:
            problems.append(f"csat.labels: no label for code{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(map(str, missing))}")
        labels = {c: parsed.get(c, str(c)) for c in codes}
    top = raw.get("top_box", [points] if points != 2 else [2])
    if not isinstance(top, (list, tuple)) or not top:
        problems.append(f"csat.top_box: expected a list of codes, found {_kind(top)}")
        top = [points]
    bad = [c for c in top if _as_code(c) not in codes]
    if bad:
        problems.append(f"csat.top_box: {', '.join(repr(c) for c in bad)} "
                        f"{'is not a code' if len(bad) == 1 else 'are not codes'} of the {points}-point scale")
        top = [points]
    good = raw.get("label_of_good", "")
    vendor_scale = raw.get("vendor_scale", "")
    if len(problems) > n_before:
        return DEFAULT_CSAT
    return CsatScale(points=points, labels=labels, top_box=tuple(sorted(_as_code(c) for c in top)),
                     label_of_good=str(good or ""), present=present, vendor_scale=str(vendor_scale or ""))


def _parse_nps(raw: Any, problems: list[str]) -> NpsScale:
    if raw is None:
        return DEFAULT_NPS
    if not isinstance(raw, dict):
        problems.append(f"nps: expected keys present and range, found {_kind(raw)}")
        return DEFAULT_NPS
    for key in raw:
        if key not in _NPS_KEYS:
            problems.append(f"nps: unknown key {key!r}; the keys are {', '.join(_NPS_KEYS)}")
    present = raw.get("present", True)
    if not isinstance(present, bool):
        problems.append(f"nps.present: expected true or false, found {_kind(present)}")
        present = True
    if list(raw.get("range", [0, 10])) != [0, 10]:
        problems.append(f"nps.range: {raw.get('range')!r}; NPS is asked on 0 to 10 ([0, 10])")
    return NpsScale(present=present)


def _parse_attribution(raw: Any, problems: list[str]) -> Attribution:
    if raw is None:
        return Attribution()
    if not isinstance(raw, dict):
        problems.append(f"attribution: expected keys rule and description, found {_kind(raw)}")
        return Attribution()
    for key in raw:
        if key not in _ATTRIBUTION_KEYS:
            problems.append(f"attribution: unknown key {key!r}; the keys are {', '.join(_ATTRIBUTION_KEYS)}")
    rule = raw.get("rule", "stated")
    if rule not in ATTRIBUTION_RULES:
        problems.append(f"attribution.rule: {rule!r} is not one of {', '.join(ATTRIBUTION_RULES)}")
        rule = "stated"
    moved = raw.get("reassigned_after_rating")
    if moved is not None and (isinstance(moved, bool) or not isinstance(moved, int) or moved < 0):
        problems.append(f"attribution.reassigned_after_rating: {moved!r} is not a count")
        moved = None
    return Attribution(rule=rule, description=str(raw.get("description") or ""), reassigned_after_rating=moved)


def _parse_columns(raw: Any, problems: list[str]) -> dict[str, ColumnNotes]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"columns: expected one entry per table, found {_kind(raw)}")
        return {}
    out: dict[str, ColumnNotes] = {}
    for table, notes in raw.items():
        if table not in TABLES:
            problems.append(f"columns: {table!r} is not a table; the tables are {', '.join(TABLES)}")
            continue
        if not isinstance(notes, dict):
            problems.append(f"columns.{table}: expected keys {', '.join(_COLUMN_KEYS)}, found {_kind(notes)}")
            continue
        for key in notes:
            if key not in _COLUMN_KEYS:
                problems.append(f"columns.{table}: unknown key {key!r}; the keys are {', '.join(_COLUMN_KEYS)}")
        missing = notes.get("missing") or []
        if not isinstance(missing, list):
            problems.append(f"columns.{table}.missing: expected a list of columns, found {_kind(missing)}")
            missing = []
        for name in missing:
            column = column_of(table, str(name))
            if column is None or not column.optional:
                allowed = ", ".join(c.name for c in SCHEMA[table] if c.optional) or "none"
                problems.append(f"columns.{table}.missing: {name!r} is not a column {table} may lack "
                                f"(those are: {allowed})")
        partial = notes.get("partial") or {}
        if isinstance(partial, list):
            partial = {name: "" for name in partial}
        if not isinstance(partial, dict):
            problems.append(f"columns.{table}.partial: expected column: reason pairs, found {_kind(partial)}")
            partial = {}
        for name in partial:
            column = column_of(table, str(name))
            if column is None or not column.partial_ok:
                allowed = ", ".join(c.name for c in SCHEMA[table] if c.partial_ok) or "none"
                problems.append(f"columns.{table}.partial: {name!r} cannot be partly empty "
                                f"(those that can: {allowed})")
        dicts = {}
        for key in ("derived", "sources"):
            value = notes.get(key) or {}
            if not isinstance(value, dict):
                problems.append(f"columns.{table}.{key}: expected column: text pairs, found {_kind(value)}")
                value = {}
            dicts[key] = {str(k): str(v) for k, v in value.items()}
        out[table] = ColumnNotes(missing=tuple(str(m) for m in missing),
                                 partial={str(k): str(v or "") for k, v in partial.items()}, **dicts)
    return out


def _as_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
