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
The file's shape is checked by pydantic models (``MappingFile`` and the models of its keys).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..dataset_yaml import code_of
from .errors import ImportInputError
from .mapping_shape import (
    CSAT_POINTS,
    MAPPABLE,
    RULE_KEYS,
    SOURCES,
    TABLE_COLUMNS,
    TOP_KEYS,
    VENDORS,
    ColumnRule,
    MappingFile,
    broken_rule,
)

__all__ = ["Mapping", "EMPTY", "load_mapping", "parse_mapping", "ColumnRule", "MAPPABLE", "TABLE_COLUMNS", "SOURCES",
           "RULE_KEYS", "TOP_KEYS", "VENDORS", "CSAT_POINTS"]


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
    try:
        model = MappingFile.model_validate({} if data is None else data)
    except ValidationError as err:
        where, message = broken_rule(err)
        raise ImportInputError(f"{name}: {where}: {message}" if where else f"{name}: {message}", name) from None
    csat = model.csat
    return Mapping(vendor=model.vendor, columns=model.columns, csat_points=csat.points,
                   channels={str(k): v for k, v in model.channels.items()},
                   timezone=model.timezone, repeat_same_issue_type=model.repeat.same_issue_type, path=path,
                   csat_labels={code_of(k): str(v) for k, v in csat.labels.items()},
                   csat_codes={str(k): code_of(v) for k, v in csat.codes.items()},
                   csat_top_box=tuple(code_of(c) for c in csat.top_box), date_format=model.date_format,
                   attribution_rule=model.attribution.rule, attribution_description=model.attribution.description,
                   csat_by_survey={str(k): {str(v).strip().lower(): code_of(c) for v, c in m.items()}
                                   for k, m in csat.by_survey.items()},
                   visibility=None if model.visibility is None else model.visibility.model_dump(exclude_unset=True))
