"""The mapping file: which vendor field, tag or constant feeds which canonical column.

```yaml
vendor: zendesk
columns:
  policy: {tag_prefix: "policy_"}                  # first tag with the prefix, prefix removed
  product: {field: 360001, map: {router_x1: Router X1}}   # a custom field by id or title
  issue_type: {field: "Issue type", default: unknown}
  team: {value: Support}                           # a constant
  credit_issued: {column: "Goodwill credit"}       # a column of a table/CSV export
csat: {points: 5}                                  # when the export cannot tell the scale
# an export whose ratings come from surveys on different scales (Freshdesk survey_id, Zendesk CSAT
# survey id or "id:version", "legacy" for Zendesk's good/bad ratings) writes each onto one scale:
#   csat: {points: 5, by_survey: {12: {-103: 1, 100: 3, 103: 5}}}
channels: {api: email}                             # vendor channel value -> canonical group
repeat: {same_issue_type: false}
timezone: Europe/Berlin                            # account time zone of CSV exports
```

A table import (vendor ``csv``) may map every canonical column (``contact_id: {column: Ticket}``,
``csat: {column: Rating}`` ...) and state its scale and attribution::

    csat: {points: 2, labels: {1: bad, 2: good}, codes: {Bad: 1, Good: 2}, top_box: [2]}
    attribution: {rule: export_time_assignee}
    date_format: "%d/%m/%Y %H:%M"                      # when times are not ISO 8601

Each rule has exactly one source (``tag_prefix``, ``field``, ``value``, ``column``), an optional
``map`` (vendor value -> canonical value; values not listed pass through and are reported) and an
optional ``default`` (used where the source is empty). For true/false columns a ``tag_prefix``
rule means "has a tag with this prefix". Every error names the mapping file and the key path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..dataset_yaml import code_of, kind_of
from .channels import CHANNEL_GROUPS
from .errors import ImportInputError

SOURCES = ("tag_prefix", "field", "value", "column")
RULE_KEYS = SOURCES + ("map", "default")
TOP_KEYS = ("vendor", "columns", "csat", "channels", "repeat", "timezone", "date_format", "attribution",
            "visibility")
VISIBILITY_KEYS = ("unanswered_invitations", "uninvited_contacts")
VENDORS = ("zendesk", "freshdesk", "intercom", "helpscout", "gorgias", "csv")

#: canonical columns a mapping may fill, and their kind (category, number or bool)
MAPPABLE: dict[str, str] = {
    "team": "category",
    "policy": "category",
    "product": "category",
    "issue_type": "category",
    "handle_time_sec": "number",
    "credit_issued": "number",
    "escalated": "bool",
    "resolved_first_contact": "bool",
    "n_interactions": "number",
}
#: columns a table (csv) import maps, beyond MAPPABLE: the rest of the data model
TABLE_COLUMNS: dict[str, str] = {
    "contact_id": "id", "opened_at": "time", "closed_at": "time", "agent_id": "id", "channel": "category",
    "customer_id": "id", **MAPPABLE, "repeat_within_7d": "bool",
    "sent_at": "time", "responded_at": "time", "csat": "scale", "nps": "number", "comment": "text",
    "site": "category", "tenure_months": "number", "agent_id_at_export": "id",
}
CSAT_POINTS = tuple(range(2, 12))


@dataclass(frozen=True)
class ColumnRule:
    """How one canonical column is filled: ``kind`` is the source (tag_prefix, field, value,
    column) and ``source`` its argument."""

    column: str
    kind: str
    source: Any
    map: dict[str, str] = field(default_factory=dict)
    default: Any = None

    def describe(self) -> str:
        text = {"tag_prefix": f"the first tag starting with {self.source!r}, prefix removed",
                "field": f"custom field {self.source!r}",
                "value": f"the constant {self.source!r}",
                "column": f"column {self.source!r}"}[self.kind]
        if TABLE_COLUMNS.get(self.column) == "bool" and self.kind == "tag_prefix":
            text = f"true when a tag starts with {self.source!r}"
        if self.map:
            text += f", values renamed by the mapping ({len(self.map)} entries)"
        if self.default is not None:
            text += f", {self.default!r} where empty"
        return text


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file (``path`` is None for the built-in empty mapping)."""

    vendor: str | None = None
    columns: dict[str, ColumnRule] = field(default_factory=dict)
    csat_points: int | None = None
    channels: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    repeat_same_issue_type: bool = False
    path: Path | None = None
    csat_labels: dict[int, str] = field(default_factory=dict)
    csat_codes: dict[str, int] = field(default_factory=dict)
    csat_top_box: tuple[int, ...] = ()
    date_format: str | None = None
    attribution_rule: str | None = None
    attribution_description: str | None = None
    #: survey id (or "id:version") -> vendor value (lower-cased text) -> canonical code on ``csat_points``
    csat_by_survey: dict[str, dict[str, int]] = field(default_factory=dict)
    #: what the export shows of the survey process, as stated (dataset.yaml ``visibility``); None: inferred
    visibility: dict[str, bool] | None = None

    @property
    def name(self) -> str:
        return self.path.name if self.path else "mapping"

    def check_vendor(self, vendor: str) -> None:
        """Raise when the mapping was written for another vendor."""
        if self.vendor is not None and self.vendor != vendor:
            raise ImportInputError(
                f"{self.name}: the mapping is for vendor '{self.vendor}', but this is a {vendor} "
                f"import; use a mapping with 'vendor: {vendor}'", self.name)


EMPTY = Mapping()


def load_mapping(path: str | Path | None) -> Mapping:
    """Read and check a mapping file; ``None`` gives the empty mapping (vendor defaults only)."""
    if path is None:
        return EMPTY
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ImportInputError(f"{name}: mapping file not found ({path})", name) from err
    except (OSError, UnicodeDecodeError) as err:
        raise ImportInputError(f"{name}: cannot be read as UTF-8 text ({err})", name) from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ImportInputError(f"{name}: not valid YAML{where}: {problem}", name) from err
    return parse_mapping(data, path)


def parse_mapping(data: Any, path: str | Path | None = None) -> Mapping:
    """Check a mapping already loaded from YAML (``path`` only names it in messages)."""
    path = Path(path) if path is not None else None
    name = path.name if path else "mapping"

    def fail(where: str, message: str):
        raise ImportInputError(f"{name}: {where}: {message}" if where else f"{name}: {message}", name)

    if data is None:
        data = {}
    if not isinstance(data, dict):
        fail("", f"expected a mapping of keys ({', '.join(TOP_KEYS)}), found {kind_of(data)}")
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        fail("", f"unknown key {unknown[0]!r}; the keys are {', '.join(TOP_KEYS)}")

    vendor = data.get("vendor")
    if vendor is not None and vendor not in VENDORS:
        fail("vendor", f"{vendor!r} is not one of {', '.join(VENDORS)}")

    columns: dict[str, ColumnRule] = {}
    raw_columns = data.get("columns") or {}
    if not isinstance(raw_columns, dict):
        fail("columns", f"expected canonical column names with one rule each, found {kind_of(raw_columns)}")
    fillable = TABLE_COLUMNS if vendor == "csv" else MAPPABLE
    for column, rule in raw_columns.items():
        where = f"columns.{column}"
        if column not in fillable:
            fail(where, f"{column!r} is not a column a mapping can fill; those are "
                        f"{', '.join(fillable)}")
        if not isinstance(rule, dict):
            fail(where, f"expected a rule such as {{field: 360001}}, found {kind_of(rule)}")
        bad = [k for k in rule if k not in RULE_KEYS]
        if bad:
            fail(where, f"unknown rule key {bad[0]!r}; a rule has one of {', '.join(SOURCES)} "
                        "and optionally map and default")
        sources = [k for k in SOURCES if k in rule]
        if len(sources) != 1:
            found = f"found {' and '.join(sources)}" if sources else "found none"
            fail(where, f"a rule needs exactly one of {', '.join(SOURCES)}; {found}")
        kind = sources[0]
        source = rule[kind]
        if kind in ("tag_prefix", "column") and (not isinstance(source, str) or not source):
            fail(f"{where}.{kind}", f"expected non-empty text, found {kind_of(source)}")
        if kind == "field" and (isinstance(source, bool) or not isinstance(source, (str, int))
                                or source == ""):
            fail(f"{where}.field", f"expected a field id or title, found {kind_of(source)}")
        if kind == "value" and not isinstance(source, (str, int, float, bool)):
            fail(f"{where}.value", f"expected a constant, found {kind_of(source)}")
        value_map = rule.get("map") or {}
        if not isinstance(value_map, dict) or any(
                isinstance(v, (dict, list)) or v is None for v in value_map.values()):
            fail(f"{where}.map", "expected vendor value: canonical value pairs")
        columns[column] = ColumnRule(column=column, kind=kind, source=source,
                                     map={str(k): v for k, v in value_map.items()},
                                     default=rule.get("default"))

    csat = data.get("csat") or {}
    if not isinstance(csat, dict) or set(csat) - {"points", "labels", "codes", "top_box", "by_survey"}:
        fail("csat", "expected {points: 2|3|5|7} (and by_survey for exports mixing surveys; for table imports, "
                     "labels, codes and top_box)")
    points = csat.get("points")
    if points is not None and (isinstance(points, bool) or points not in CSAT_POINTS):
        fail("csat.points", f"{points!r} is not one of 2, 3, 5, 7 (or another whole number up to 11)")
    labels, codes, top_box = csat.get("labels") or {}, csat.get("codes") or {}, csat.get("top_box") or []
    if (labels or codes or top_box) and points is None:
        fail("csat", "labels, codes and top_box need points")
    span = range(1, (points or 0) + 1)
    if not isinstance(labels, dict) or any(code_of(k) not in span for k in labels):
        fail("csat.labels", f"expected code: label pairs with codes 1 to {points}")
    if not isinstance(codes, dict) or any(code_of(v) not in span for v in codes.values()):
        fail("csat.codes", f"expected vendor value: code pairs with codes 1 to {points}")
    if not isinstance(top_box, list) or any(code_of(c) not in span for c in top_box):
        fail("csat.top_box", f"expected a list of codes 1 to {points}")
    by_survey = csat.get("by_survey") or {}
    if by_survey and points is None:
        fail("csat.by_survey", "needs points: the scale every survey's answers are written onto")
    if not isinstance(by_survey, dict):
        fail("csat.by_survey", f"expected survey id: {{vendor code: code}} pairs, found {kind_of(by_survey)}")
    for survey, codes_of_survey in by_survey.items():
        if not isinstance(codes_of_survey, dict) or not codes_of_survey or any(
                code_of(v) not in span for v in codes_of_survey.values()):
            fail(f"csat.by_survey.{survey}", f"expected vendor code: code pairs with codes 1 to {points}, e.g. "
                                             f"{{-103: 1, 100: 3, 103: {points}}}")

    channels = data.get("channels") or {}
    if not isinstance(channels, dict):
        fail("channels", f"expected vendor value: group pairs, found {kind_of(channels)}")
    for value, group in channels.items():
        if group not in CHANNEL_GROUPS:
            fail(f"channels.{value}", f"{group!r} is not a channel group; the groups are "
                                      f"{', '.join(CHANNEL_GROUPS)}")

    repeat = data.get("repeat") or {}
    if not isinstance(repeat, dict) or set(repeat) - {"same_issue_type"} or not isinstance(
            repeat.get("same_issue_type", False), bool):
        fail("repeat", "expected {same_issue_type: true|false}")

    date_format = data.get("date_format")
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        fail("date_format", f"expected a strftime pattern such as '%d/%m/%Y %H:%M', found {kind_of(date_format)}")

    attribution = data.get("attribution") or {}
    if not isinstance(attribution, dict) or set(attribution) - {"rule", "description"}:
        fail("attribution", "expected {rule: ..., description: ...}")
    rule = attribution.get("rule")
    rules = ("rating_time_assignee", "rated_reply_author", "last_agent_reply", "export_time_assignee", "stated")
    if rule is not None and rule not in rules:
        fail("attribution.rule", f"{rule!r} is not one of {', '.join(rules)}")

    visibility = data.get("visibility")
    if visibility is not None and (not isinstance(visibility, dict) or set(visibility) - set(VISIBILITY_KEYS)
                                   or any(not isinstance(v, bool) for v in visibility.values())):
        fail("visibility", "expected {unanswered_invitations: true|false, uninvited_contacts: true|false} "
                           "(does the table list unanswered surveys, and contacts never surveyed?)")

    timezone = data.get("timezone")
    if timezone is not None:
        try:
            from zoneinfo import ZoneInfo
            ZoneInfo(str(timezone))
        except Exception:  # noqa: BLE001 - any failure means an unknown zone
            fail("timezone", f"{timezone!r} is not a time zone name such as Europe/Berlin or UTC")

    return Mapping(vendor=vendor, columns=columns, csat_points=points,
                   channels={str(k): v for k, v in channels.items()},
                   timezone=None if timezone is None else str(timezone),
                   repeat_same_issue_type=bool(repeat.get("same_issue_type", False)), path=path,
                   csat_labels={code_of(k): str(v) for k, v in labels.items()},
                   csat_codes={str(k): code_of(v) for k, v in codes.items()},
                   csat_top_box=tuple(code_of(c) for c in top_box), date_format=date_format,
                   attribution_rule=rule, attribution_description=attribution.get("description"),
                   csat_by_survey={str(k): {str(v).strip().lower(): code_of(c) for v, c in m.items()}
                                   for k, m in by_survey.items()},
                   visibility=None if visibility is None else dict(visibility))


