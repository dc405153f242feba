"""The sections of ``dataset.yaml`` as pydantic models: ``CsatSection``, ``NpsSection``, ``AttributionSection``,
``VisibilitySection`` and ``TableColumnsSection`` for each table under ``columns``; ``dataset_yaml.DatasetFile``
holds them, each checked on its own so that one bad section does not hide another's problems.

Unlike the study file and the mapping, a broken rule does not stop the reading: a validator records the
problem with its key path (``csat.points: 4.5 is not a whole number from 2 to 11``) in the validation
context's ``problems`` and the key falls back to its default; a section that is not a mapping falls back as a
whole, and so does the CSAT scale when any of its keys is broken (``WHOLE``)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .description import (
    ATTRIBUTION_RULES,
    DEFAULT_CSAT,
    MAX_POINTS,
    SHARED_WEIGHTS,
    Attribution,
    ColumnNotes,
    CsatScale,
    NpsScale,
    Visibility,
    default_top_box,
)
from .schema import SCHEMA, column_of

__all__ = ["Section", "CsatSection", "NpsSection", "AttributionSection", "VisibilitySection", "TableColumnsSection",
           "read_section", "report", "fall_back", "code_of", "kind_of"]


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


def report(info: ValidationInfo, message: str) -> None:
    """Record ``message`` at the key being validated (``csat.points: ...``; the section's own path when no
    key is) in the validation context's problems."""
    where = ".".join(part for part in (info.context["where"], info.field_name) if part)
    info.context["problems"].append(f"{where}: {message}" if where else message)


def fall_back(info: ValidationInfo, message: str, default: Any) -> Any:
    """Record ``message`` (see ``report``) and give ``default`` in place of the broken value."""
    report(info, message)
    return default


def read_section(model: type[Section], raw: Any, where: str, problems: list[str], **context: Any) -> Section | None:
    """``raw`` checked against ``model`` on its own, its problems (key paths under ``where``) appended to
    ``problems``; None when the section falls back as a whole (not a mapping, or ``model.WHOLE`` and broken)."""
    found: list[str] = []
    try:
        section = model.model_validate(raw, context={"where": where, "problems": found, **context})
    except ValidationError as err:                  # only the section's shape raises
        message = str(err.errors(include_url=False)[0]["ctx"]["error"])
        found.append(f"{where}: {message}" if where else message)
        section = None
    problems.extend(found)
    return None if found and model.WHOLE else section


def _true_or_false(value: Any, info: ValidationInfo) -> bool:
    if not isinstance(value, bool):
        return fall_back(info, f"expected true or false, found {kind_of(value)}", True)
    return value


#: A flag: true or false, else a problem and true.
Flag = Annotated[bool, BeforeValidator(_true_or_false)]
#: Free text: anything given is kept as text, nothing (or an empty value) is "".
Text = Annotated[str, BeforeValidator(lambda value: str(value or ""))]


class Section(BaseModel):
    """A mapping of ``dataset.yaml``: ``KEYS`` are the keys it may have (an unknown one is a problem and
    is left out), ``SHAPE`` says what it should be when it is not a mapping; ``described()`` gives the
    part of the description it holds."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    KEYS: ClassVar[tuple[str, ...]] = ()
    SHAPE: ClassVar[str] = ""
    WHOLE: ClassVar[bool] = False           # any problem makes the whole section its default

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, raw: Any, info: ValidationInfo) -> dict:
        if not isinstance(raw, dict):
            raise ValueError(f"{cls.SHAPE}, found {kind_of(raw)}")
        for key in raw:
            if key not in cls.KEYS:
                report(info, f"unknown key {key!r}; the keys are {', '.join(cls.KEYS)}")
        return {key: value for key, value in raw.items() if key in cls.model_fields}


class CsatSection(Section):
    """``csat``: the scale's points (2 to 11), labels, top box and the words for it. A broken key makes the
    whole scale the default 5-point one; points that are not a scale stop its other checks."""

    KEYS = ("present", "kind", "points", "labels", "top_box", "label_of_good", "vendor_scale", "vendor_codes",
            "not_answers", "scale_source")
    SHAPE = "expected keys such as points and labels"
    WHOLE = True

    present: Flag = True
    points: int | None = 5                  # None: not a scale (the checks that need it are skipped)
    kind: Any = None
    labels: dict[int, str] | None = None
    top_box: tuple[int, ...] | None = None
    label_of_good: Text = ""
    vendor_scale: Text = ""

    @field_validator("points", mode="before")
    @classmethod
    def _a_scale(cls, points: Any, info: ValidationInfo) -> int | None:
        if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= MAX_POINTS:
            return fall_back(info, f"{points!r} is not a whole number from 2 to {MAX_POINTS}", None)
        return points

    @field_validator("kind", mode="before")
    @classmethod
    def _fits_the_points(cls, kind: Any, info: ValidationInfo) -> Any:
        points = info.data.get("points")
        if points is None:
            return kind
        if kind not in ("binary", "ordinal"):
            report(info, f"{kind!r} is not binary or ordinal")
        elif (kind == "binary") != (points == 2):
            report(info, f"{kind} does not fit {points} points (binary means 2 points)")
        return kind

    @field_validator("labels", mode="before")
    @classmethod
    def _a_label_per_code(cls, labels: Any, info: ValidationInfo) -> dict[int, str] | None:
        points = info.data.get("points")
        if points is None or labels is None:
            return None
        if not isinstance(labels, dict):
            return fall_back(info, f"expected code: label pairs, found {kind_of(labels)}", None)
        parsed = {}
        for key, label in labels.items():
            code = code_of(key)
            if code is None or not 1 <= code <= points:
                report(info, f"{key!r} is not a code of the {points}-point scale (1 to {points})")
                continue
            parsed[code] = str(label)
        missing = [c for c in range(1, points + 1) if c not in parsed]
        if missing and not info.context["problems"]:
            report(info, f"no label for code{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))}")
        return parsed

    @field_validator("top_box", mode="before")
    @classmethod
    def _codes_of_the_scale(cls, top: Any, info: ValidationInfo) -> tuple[int, ...] | None:
        points = info.data.get("points")
        if points is None:
            return None
        if not isinstance(top, (list, tuple)) or not top:
            return fall_back(info, f"expected a list of codes, found {kind_of(top)}", None)
        bad = [c for c in top if code_of(c) not in range(1, points + 1)]
        if bad:
            return fall_back(info, f"{', '.join(repr(c) for c in bad)} "
                                   f"{'is not a code' if len(bad) == 1 else 'are not codes'} of the "
                                   f"{points}-point scale", None)
        return tuple(sorted(code_of(c) for c in top))

    def described(self) -> CsatScale:
        labels = self.labels if self.labels is not None else (DEFAULT_CSAT.labels if self.points == 5 else None)
        return CsatScale(points=self.points, labels=labels, top_box=self.top_box or default_top_box(self.points),
                         label_of_good=self.label_of_good, present=self.present, vendor_scale=self.vendor_scale)


class NpsSection(Section):
    """``nps``: whether the source asked NPS; the range is always 0 to 10."""

    KEYS = ("present", "range", "source")
    SHAPE = "expected keys present and range"

    present: Flag = True
    range: Any = None

    @field_validator("range", mode="before")
    @classmethod
    def _zero_to_ten(cls, span: Any, info: ValidationInfo) -> Any:
        try:
            fits = list(span) == [0, 10]
        except TypeError:
            fits = False
        if not fits:
            report(info, f"{span!r}; NPS is asked on 0 to 10 ([0, 10])")
        return span

    def described(self) -> NpsScale:
        return NpsScale(present=self.present)


class AttributionSection(Section):
    """``attribution``: whom a rating belongs to (a rule of ATTRIBUTION_RULES), and for rule shared how the
    contact_agents weights were formed (SHARED_WEIGHTS)."""

    KEYS = ("rule", "description", "reassigned_after_rating", "weights")
    SHAPE = "expected keys rule and description"

    rule: str = "stated"
    description: Text = ""
    reassigned_after_rating: int | None = None
    weights: str | None = Field(default=None, validate_default=True)

    @field_validator("rule", mode="before")
    @classmethod
    def _a_rule(cls, rule: Any, info: ValidationInfo) -> str:
        if not isinstance(rule, str) or rule not in ATTRIBUTION_RULES:
            return fall_back(info, f"{rule!r} is not one of {', '.join(ATTRIBUTION_RULES)}", "stated")
        return rule

    @field_validator("reassigned_after_rating", mode="before")
    @classmethod
    def _a_count(cls, moved: Any, info: ValidationInfo) -> int | None:
        if moved is not None and (isinstance(moved, bool) or not isinstance(moved, int) or moved < 0):
            return fall_back(info, f"{moved!r} is not a count", None)
        return moved

    @field_validator("weights", mode="before")
    @classmethod
    def _weights_of_rule_shared(cls, weights: Any, info: ValidationInfo) -> str | None:
        rule = info.data["rule"]
        if rule == "shared" and not (isinstance(weights, str) and weights in SHARED_WEIGHTS):
            return fall_back(info, f"{weights!r} is not one of {', '.join(SHARED_WEIGHTS)} "
                                   "(rule shared says how the contact_agents weights were formed)", None)
        if rule != "shared" and weights is not None:
            return fall_back(info, f"only rule shared takes weights; the rule is {rule!r}", None)
        return weights

    def described(self) -> Attribution:
        return Attribution(rule=self.rule, description=self.description,
                           reassigned_after_rating=self.reassigned_after_rating, weights=self.weights)


class VisibilitySection(Section):
    """``visibility``: whether surveys list unanswered invitations and contacts list the uninvited ones."""

    KEYS = ("unanswered_invitations", "uninvited_contacts", "note")
    SHAPE = f"expected keys {', '.join(KEYS)}"

    unanswered_invitations: Flag = True
    uninvited_contacts: Flag = True
    note: Text = ""

    def described(self) -> Visibility:
        return Visibility(unanswered_invitations=self.unanswered_invitations,
                          uninvited_contacts=self.uninvited_contacts, note=self.note)


class TableColumnsSection(Section):
    """``columns.<table>``: the optional columns the source did not record (``missing``), the columns
    with empty cells and why (``partial``), ``derived`` columns and ``sources``. The context names the
    ``table``; a column named wrongly is a problem but stays listed."""

    KEYS = ("missing", "partial", "derived", "sources")
    SHAPE = f"expected keys {', '.join(KEYS)}"

    missing: tuple[str, ...] = ()
    partial: dict[str, str] = Field(default_factory=dict)
    derived: dict[str, str] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)

    @field_validator("missing", mode="before")
    @classmethod
    def _optional_columns(cls, missing: Any, info: ValidationInfo) -> tuple[str, ...]:
        table, missing = info.context["table"], missing or []
        if not isinstance(missing, list):
            return fall_back(info, f"expected a list of columns, found {kind_of(missing)}", ())
        for name in missing:
            column = column_of(table, str(name))
            if column is None or not column.optional:
                allowed = ", ".join(c.name for c in SCHEMA[table] if c.optional) or "none"
                report(info, f"{name!r} is not a column {table} may lack (those are: {allowed})")
        return tuple(str(name) for name in missing)

    @field_validator("partial", mode="before")
    @classmethod
    def _columns_that_may_be_empty(cls, partial: Any, info: ValidationInfo) -> dict[str, str]:
        table, partial = info.context["table"], partial or {}
        if isinstance(partial, list):
            partial = {name: "" for name in partial}
        if not isinstance(partial, dict):
            return fall_back(info, f"expected column: reason pairs, found {kind_of(partial)}", {})
        for name in partial:
            column = column_of(table, str(name))
            if column is None or not column.partial_ok:
                allowed = ", ".join(c.name for c in SCHEMA[table] if c.partial_ok) or "none"
                report(info, f"{name!r} cannot be partly empty (those that can: {allowed})")
        return {str(name): str(reason or "") for name, reason in partial.items()}

    @field_validator("derived", "sources", mode="before")
    @classmethod
    def _column_texts(cls, texts: Any, info: ValidationInfo) -> dict[str, str]:
        texts = texts or {}
        if not isinstance(texts, dict):
            return fall_back(info, f"expected column: text pairs, found {kind_of(texts)}", {})
        return {str(name): str(text) for name, text in texts.items()}

    def described(self) -> ColumnNotes:
        return ColumnNotes(missing=self.missing, partial=self.partial, derived=self.derived, sources=self.sources)
