"""Reading and checking ``dataset.yaml`` (data/README.md): every problem is a phrase naming the
key (``csat.points: 4.5 is not a whole number from 2 to 11``), reported by ``load_dataset`` like
a broken rule; the parts that are fine are kept, a bad part falls back to its default."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .description import (
    ATTRIBUTION_RULES,
    DEFAULT_CSAT,
    DEFAULT_DESCRIPTION,
    DEFAULT_NPS,
    DESCRIPTION_FILE,
    FORMAT_VERSION,
    MAX_POINTS,
    SHARED_WEIGHTS,
    Attribution,
    ColumnNotes,
    CsatScale,
    DatasetDescription,
    NpsScale,
    Visibility,
    default_top_box,
)
from .schema import SCHEMA, TABLES, Failure, column_of

__all__ = ["read_description", "parse_description"]

_RULE = "dataset.yaml describes the data set (data/README.md)"
_TOP_KEYS = ("upstream_dataset", "name", "source", "period", "attribution", "csat", "nps", "columns",
             "channel_groups", "visibility")
_VISIBILITY_KEYS = ("unanswered_invitations", "uninvited_contacts", "note")
_CSAT_KEYS = ("present", "kind", "points", "labels", "top_box", "label_of_good", "vendor_scale",
              "vendor_codes", "not_answers", "scale_source")
_NPS_KEYS = ("present", "range", "source")
_ATTRIBUTION_KEYS = ("rule", "description", "reassigned_after_rating", "weights")
_COLUMN_KEYS = ("missing", "partial", "derived", "sources")



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
        return DEFAULT_DESCRIPTION, [f"expected keys such as csat and nps, found {kind_of(data)}"]
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
    visibility = _parse_visibility(data.get("visibility"), problems)
    extras = {}
    for key in ("source", "period", "channel_groups"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            problems.append(f"{key}: expected keys and values, found {kind_of(value)}")
            value = {}
        extras[key] = value
    name = data.get("name")
    name = str(name) if name is not None else (path.parent.name if path else "")
    return DatasetDescription(csat=csat, nps=nps, attribution=attribution, columns=columns, name=name,
                              visibility=visibility, declared=True, path=path, **extras), problems


def _parse_visibility(raw: Any, problems: list[str]) -> Visibility:
    if raw is None:
        return Visibility()
    if not isinstance(raw, dict):
        problems.append(f"visibility: expected keys {', '.join(_VISIBILITY_KEYS)}, found {kind_of(raw)}")
        return Visibility()
    for key in raw:
        if key not in _VISIBILITY_KEYS:
            problems.append(f"visibility: unknown key {key!r}; the keys are {', '.join(_VISIBILITY_KEYS)}")
    flags = {}
    for key in ("unanswered_invitations", "uninvited_contacts"):
        value = raw.get(key, True)
        if not isinstance(value, bool):
            problems.append(f"visibility.{key}: expected true or false, found {kind_of(value)}")
            value = True
        flags[key] = value
    return Visibility(note=str(raw.get("note") or ""), **flags)


def _parse_csat(raw: Any, problems: list[str]) -> CsatScale:
    if raw is None:
        return DEFAULT_CSAT
    if not isinstance(raw, dict):
        problems.append(f"csat: expected keys such as points and labels, found {kind_of(raw)}")
        return DEFAULT_CSAT
    n_before = len(problems)
    for key in raw:
        if key not in _CSAT_KEYS:
            problems.append(f"csat: unknown key {key!r}; the keys are {', '.join(_CSAT_KEYS)}")
    present = raw.get("present", True)
    if not isinstance(present, bool):
        problems.append(f"csat.present: expected true or false, found {kind_of(present)}")
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
        problems.append(f"csat.labels: expected code: label pairs, found {kind_of(labels)}")
        labels = {c: str(c) for c in codes}
    else:
        parsed = {}
        for key, value in labels.items():
            code = code_of(key)
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
    top = raw.get("top_box", list(default_top_box(points)))
    if not isinstance(top, (list, tuple)) or not top:
        problems.append(f"csat.top_box: expected a list of codes, found {kind_of(top)}")
        top = [points]
    bad = [c for c in top if code_of(c) not in codes]
    if bad:
        problems.append(f"csat.top_box: {', '.join(repr(c) for c in bad)} "
                        f"{'is not a code' if len(bad) == 1 else 'are not codes'} of the {points}-point scale")
        top = [points]
    good = raw.get("label_of_good", "")
    vendor_scale = raw.get("vendor_scale", "")
    if len(problems) > n_before:
        return DEFAULT_CSAT
    return CsatScale(points=points, labels=labels, top_box=tuple(sorted(code_of(c) for c in top)),
                     label_of_good=str(good or ""), present=present, vendor_scale=str(vendor_scale or ""))


def _parse_nps(raw: Any, problems: list[str]) -> NpsScale:
    if raw is None:
        return DEFAULT_NPS
    if not isinstance(raw, dict):
        problems.append(f"nps: expected keys present and range, found {kind_of(raw)}")
        return DEFAULT_NPS
    for key in raw:
        if key not in _NPS_KEYS:
            problems.append(f"nps: unknown key {key!r}; the keys are {', '.join(_NPS_KEYS)}")
    present = raw.get("present", True)
    if not isinstance(present, bool):
        problems.append(f"nps.present: expected true or false, found {kind_of(present)}")
        present = True
    if list(raw.get("range", [0, 10])) != [0, 10]:
        problems.append(f"nps.range: {raw.get('range')!r}; NPS is asked on 0 to 10 ([0, 10])")
    return NpsScale(present=present)


def _parse_attribution(raw: Any, problems: list[str]) -> Attribution:
    if raw is None:
        return Attribution()
    if not isinstance(raw, dict):
        problems.append(f"attribution: expected keys rule and description, found {kind_of(raw)}")
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
    weights = raw.get("weights")
    if rule == "shared" and weights not in SHARED_WEIGHTS:
        problems.append(f"attribution.weights: {weights!r} is not one of {', '.join(SHARED_WEIGHTS)} "
                        "(rule shared says how the contact_agents weights were formed)")
        weights = None
    elif rule != "shared" and weights is not None:
        problems.append(f"attribution.weights: only rule shared takes weights; the rule is {rule!r}")
        weights = None
    return Attribution(rule=rule, description=str(raw.get("description") or ""), reassigned_after_rating=moved,
                       weights=weights)


def _parse_columns(raw: Any, problems: list[str]) -> dict[str, ColumnNotes]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"columns: expected one entry per table, found {kind_of(raw)}")
        return {}
    out: dict[str, ColumnNotes] = {}
    for table, notes in raw.items():
        if table not in TABLES:
            problems.append(f"columns: {table!r} is not a table; the tables are {', '.join(TABLES)}")
            continue
        if not isinstance(notes, dict):
            problems.append(f"columns.{table}: expected keys {', '.join(_COLUMN_KEYS)}, found {kind_of(notes)}")
            continue
        for key in notes:
            if key not in _COLUMN_KEYS:
                problems.append(f"columns.{table}: unknown key {key!r}; the keys are {', '.join(_COLUMN_KEYS)}")
        missing = notes.get("missing") or []
        if not isinstance(missing, list):
            problems.append(f"columns.{table}.missing: expected a list of columns, found {kind_of(missing)}")
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
            problems.append(f"columns.{table}.partial: expected column: reason pairs, found {kind_of(partial)}")
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
                problems.append(f"columns.{table}.{key}: expected column: text pairs, found {kind_of(value)}")
                value = {}
            dicts[key] = {str(k): str(v) for k, v in value.items()}
        out[table] = ColumnNotes(missing=tuple(str(m) for m in missing),
                                 partial={str(k): str(v or "") for k, v in partial.items()}, **dicts)
    return out


def code_of(value: Any) -> int | None:
    """A scale code written in YAML (an int, or digits as text); None for anything else (booleans too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def kind_of(value: Any) -> str:
    """What a YAML value is, for a message: 'nothing', 'a mapping', 'a list', or its type and value."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
