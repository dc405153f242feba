"""The mapping file's shape as pydantic models (``MappingFile`` and the models of its keys): the keys
each part may have, the columns a mapping can fill and how (``ColumnRule``), and the message each broken
rule gives with its key path (``broken_rule``). ``mapping.parse_mapping`` turns a checked file into a
``Mapping``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ..dataset_yaml import code_of, kind_of
from .channels import CHANNEL_GROUPS

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


# Each validator raises ValueError with the message; a Broken(where, message) when the rule belongs
# to another key than the one being read. broken_rule turns pydantic's first error into (key path,
# message); a key that is not allowed, or a value that is not a mapping where one is expected, gets
# the message of the mapping it is in (SHAPES).

ATTRIBUTION_RULES = ("rating_time_assignee", "rated_reply_author", "last_agent_reply", "export_time_assignee",
                     "stated")
CSAT_SHAPE = ("expected {points: 2|3|5|7} (and by_survey for exports mixing surveys; for table imports, "
              "labels, codes and top_box)")
REPEAT_SHAPE = "expected {same_issue_type: true|false}"
ATTRIBUTION_SHAPE = "expected {rule: ..., description: ...}"
VISIBILITY_SHAPE = ("expected {unanswered_invitations: true|false, uninvited_contacts: true|false} "
                    "(does the table list unanswered surveys, and contacts never surveyed?)")


class Broken(ValueError):
    """A broken rule reported at ``where`` (a key path) rather than at the key being read."""

    def __init__(self, where: str, message: str):
        super().__init__(message)
        self.where = where


def _empty_if_missing(value: Any) -> Any:
    return value or {}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class RuleFile(_Strict):
    """One rule of ``columns``: exactly one source, an optional ``map`` and ``default``."""

    tag_prefix: Any = None
    field: Any = None
    value: Any = None
    column: Any = None
    map: dict = Field(default_factory=dict)
    default: Any = None

    @model_validator(mode="before")
    @classmethod
    def _one_source(cls, rule: Any) -> Any:
        if isinstance(rule, dict):
            bad = [k for k in rule if k not in RULE_KEYS]
            if bad:
                raise ValueError(f"unknown rule key {bad[0]!r}; a rule has one of {', '.join(SOURCES)} "
                                 "and optionally map and default")
            sources = [k for k in SOURCES if k in rule]
            if len(sources) != 1:
                found = f"found {' and '.join(sources)}" if sources else "found none"
                raise ValueError(f"a rule needs exactly one of {', '.join(SOURCES)}; {found}")
        return rule

    @field_validator("tag_prefix", "column", mode="before")
    @classmethod
    def _text(cls, source: Any) -> Any:
        if not isinstance(source, str) or not source:
            raise ValueError(f"expected non-empty text, found {kind_of(source)}")
        return source

    @field_validator("field", mode="before")
    @classmethod
    def _field(cls, source: Any) -> Any:
        if isinstance(source, bool) or not isinstance(source, (str, int)) or source == "":
            raise ValueError(f"expected a field id or title, found {kind_of(source)}")
        return source

    @field_validator("value", mode="before")
    @classmethod
    def _constant(cls, source: Any) -> Any:
        if not isinstance(source, (str, int, float, bool)):
            raise ValueError(f"expected a constant, found {kind_of(source)}")
        return source

    @field_validator("map", mode="before")
    @classmethod
    def _pairs(cls, value_map: Any) -> dict:
        value_map = value_map or {}
        if not isinstance(value_map, dict) or any(isinstance(v, (dict, list)) or v is None
                                                   for v in value_map.values()):
            raise ValueError("expected vendor value: canonical value pairs")
        return {str(k): v for k, v in value_map.items()}

    def rule_for(self, column: str) -> ColumnRule:
        kind = next(k for k in SOURCES if k in self.model_fields_set)
        return ColumnRule(column=column, kind=kind, source=getattr(self, kind), map=dict(self.map),
                          default=self.default)


class CsatFile(_Strict):
    """``csat``: the scale's points, and for table imports its labels, vendor codes and top box;
    ``by_survey`` writes each survey's answers onto the one scale."""

    points: Any = None
    labels: Any = Field(default_factory=dict)
    codes: Any = Field(default_factory=dict)
    top_box: Any = Field(default_factory=list)
    by_survey: Any = Field(default_factory=dict)

    @field_validator("points", mode="before")
    @classmethod
    def _points(cls, points: Any) -> Any:
        if points is not None and (isinstance(points, bool) or points not in CSAT_POINTS):
            raise ValueError(f"{points!r} is not one of 2, 3, 5, 7 (or another whole number up to 11)")
        return points

    @field_validator("labels", "codes", "top_box", mode="before")
    @classmethod
    def _codes(cls, value: Any, info: ValidationInfo) -> Any:
        points = info.data.get("points")
        value = value or ([] if info.field_name == "top_box" else {})
        if value and points is None:
            raise Broken("csat", "labels, codes and top_box need points")
        span = range(1, (points or 0) + 1)
        if info.field_name == "labels" and (not isinstance(value, dict) or any(code_of(k) not in span for k in value)):
            raise ValueError(f"expected code: label pairs with codes 1 to {points}")
        if info.field_name == "codes" and (not isinstance(value, dict)
                                           or any(code_of(v) not in span for v in value.values())):
            raise ValueError(f"expected vendor value: code pairs with codes 1 to {points}")
        if info.field_name == "top_box" and (not isinstance(value, list) or any(code_of(c) not in span for c in value)):
            raise ValueError(f"expected a list of codes 1 to {points}")
        return value

    @field_validator("by_survey", mode="before")
    @classmethod
    def _surveys(cls, by_survey: Any, info: ValidationInfo) -> Any:
        points = info.data.get("points")
        by_survey = by_survey or {}
        if by_survey and points is None:
            raise ValueError("needs points: the scale every survey's answers are written onto")
        if not isinstance(by_survey, dict):
            raise ValueError(f"expected survey id: {{vendor code: code}} pairs, found {kind_of(by_survey)}")
        span = range(1, (points or 0) + 1)
        for survey, codes in by_survey.items():
            if not isinstance(codes, dict) or not codes or any(code_of(v) not in span for v in codes.values()):
                raise Broken(f"csat.by_survey.{survey}", f"expected vendor code: code pairs with codes 1 to "
                                                         f"{points}, e.g. {{-103: 1, 100: 3, 103: {points}}}")
        return by_survey


class RepeatFile(_Strict):
    """``repeat``: whether a repeat contact must have the same issue type."""

    same_issue_type: Any = False

    @field_validator("same_issue_type", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Broken("repeat", REPEAT_SHAPE)
        return value


class AttributionFile(_Strict):
    """``attribution``: whom a rating belongs to, as the table's owner states it."""

    rule: Any = None
    description: Any = None

    @field_validator("rule", mode="before")
    @classmethod
    def _rule(cls, rule: Any) -> Any:
        if rule is not None and rule not in ATTRIBUTION_RULES:
            raise ValueError(f"{rule!r} is not one of {', '.join(ATTRIBUTION_RULES)}")
        return rule


class VisibilityFile(_Strict):
    """``visibility``: what the table shows of the survey process (dataset.yaml's ``visibility``)."""

    unanswered_invitations: bool | None = None
    uninvited_contacts: bool | None = None

    @field_validator("unanswered_invitations", "uninvited_contacts", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Broken("visibility", VISIBILITY_SHAPE)
        return value


class MappingFile(_Strict):
    """The keys of a mapping file, in the order they are checked (TOP_KEYS)."""

    vendor: str | None = None
    columns: dict[str, ColumnRule] = Field(default_factory=dict)
    csat: CsatFile = Field(default_factory=CsatFile)
    channels: dict = Field(default_factory=dict)
    repeat: RepeatFile = Field(default_factory=RepeatFile)
    date_format: str | None = None
    attribution: AttributionFile = Field(default_factory=AttributionFile)
    visibility: VisibilityFile | None = None
    timezone: str | None = None

    @field_validator("vendor", mode="before")
    @classmethod
    def _vendor(cls, vendor: Any) -> Any:
        if vendor is not None and vendor not in VENDORS:
            raise ValueError(f"{vendor!r} is not one of {', '.join(VENDORS)}")
        return vendor

    @field_validator("columns", mode="before")
    @classmethod
    def _rules(cls, raw: Any, info: ValidationInfo) -> dict[str, ColumnRule]:
        raw = raw or {}
        if not isinstance(raw, dict):
            raise ValueError(f"expected canonical column names with one rule each, found {kind_of(raw)}")
        fillable = TABLE_COLUMNS if info.data.get("vendor") == "csv" else MAPPABLE
        rules = {}
        for column, rule in raw.items():
            where = f"columns.{column}"
            if column not in fillable:
                raise Broken(where, f"{column!r} is not a column a mapping can fill; those are {', '.join(fillable)}")
            if not isinstance(rule, dict):
                raise Broken(where, f"expected a rule such as {{field: 360001}}, found {kind_of(rule)}")
            try:
                rules[column] = RuleFile.model_validate(rule).rule_for(column)
            except ValidationError as err:
                inner, message = broken_rule(err)
                raise Broken(f"{where}.{inner}" if inner else where, message) from None
        return rules

    @field_validator("csat", "repeat", "attribution", mode="before")
    @classmethod
    def _missing_is_empty(cls, value: Any) -> Any:
        return _empty_if_missing(value)

    @field_validator("channels", mode="before")
    @classmethod
    def _groups(cls, channels: Any) -> dict:
        channels = channels or {}
        if not isinstance(channels, dict):
            raise ValueError(f"expected vendor value: group pairs, found {kind_of(channels)}")
        for value, group in channels.items():
            if group not in CHANNEL_GROUPS:
                raise Broken(f"channels.{value}", f"{group!r} is not a channel group; the groups are "
                                                  f"{', '.join(CHANNEL_GROUPS)}")
        return channels

    @field_validator("date_format", mode="before")
    @classmethod
    def _pattern(cls, date_format: Any) -> Any:
        if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
            raise ValueError(f"expected a strftime pattern such as '%d/%m/%Y %H:%M', found {kind_of(date_format)}")
        return date_format

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, timezone: Any) -> Any:
        if timezone is None:
            return None
        try:
            from zoneinfo import ZoneInfo
            ZoneInfo(str(timezone))
        except Exception:  # noqa: BLE001 - any failure means an unknown zone
            raise ValueError(f"{timezone!r} is not a time zone name such as Europe/Berlin or UTC") from None
        return str(timezone)


#: The message for a key that is not allowed, or a value that is not a mapping, inside each mapping.
SHAPES = {
    (): lambda key, found: (f"unknown key {key!r}; the keys are {', '.join(TOP_KEYS)}" if key is not None else
                            f"expected a mapping of keys ({', '.join(TOP_KEYS)}), found {kind_of(found)}"),
    ("csat",): lambda key, found: CSAT_SHAPE,
    ("repeat",): lambda key, found: REPEAT_SHAPE,
    ("attribution",): lambda key, found: ATTRIBUTION_SHAPE,
    ("visibility",): lambda key, found: VISIBILITY_SHAPE,
}


def broken_rule(err: ValidationError) -> tuple[str, str]:
    """(key path, message) of the first rule a mapping breaks: an unknown key first, then the keys in
    the order they are checked, a mapping's own shape before its values."""
    order = list(MappingFile.model_fields)

    def checked_when(error: dict) -> tuple:
        loc, extra = error["loc"], error["type"] == "extra_forbidden"
        top = order.index(loc[0]) if loc and loc[0] in order else -1
        return (not (extra and len(loc) == 1), top, not extra)

    first = min(err.errors(include_url=False), key=checked_when)
    loc = tuple(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return ".".join(loc[:-1]), SHAPES[loc[:-1]](loc[-1], None)
    if first["type"] in ("model_type", "model_attributes_type"):
        return ".".join(loc), SHAPES[loc](None, first["input"])
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, Broken):
        return cause.where, str(cause)
    if isinstance(cause, ValueError):
        return ".".join(loc), str(cause)
    return ".".join(loc), first["msg"]  # pragma: no cover - every key has its own message
