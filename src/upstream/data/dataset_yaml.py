"""Reading ``dataset.yaml`` (data/README.md), checked by the pydantic models of ``dataset_shape``: every
problem is a phrase naming the key (``csat.points: 4.5 is not a whole number from 2 to 11``), reported by
``load_dataset`` like a broken rule; the parts that are fine are kept, a bad part falls back to its default."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationInfo, field_validator

from .dataset_shape import (
    AttributionSection,
    CsatSection,
    NpsSection,
    Section,
    TableColumnsSection,
    VisibilitySection,
    code_of,
    fall_back,
    kind_of,
    read_section,
    report,
)
from .description import (
    DEFAULT_CSAT,
    DEFAULT_DESCRIPTION,
    DEFAULT_NPS,
    DESCRIPTION_FILE,
    FORMAT_VERSION,
    Attribution,
    ColumnNotes,
    CsatScale,
    DatasetDescription,
    NpsScale,
    Visibility,
)
from .schema import TABLES, Failure

__all__ = ["DatasetFile", "read_description", "parse_description", "code_of", "kind_of"]

_RULE = "dataset.yaml describes the data set (data/README.md)"


#: The sections of DatasetFile read by their own model.
SECTIONS: dict[str, type[Section]] = {"csat": CsatSection, "nps": NpsSection, "attribution": AttributionSection,
                                      "visibility": VisibilitySection}


class DatasetFile(Section):
    """The keys of ``dataset.yaml``, in the order they are checked. Each section is read by its own model
    (SECTIONS, TableColumnsSection per table) and kept as the description's dataclass (CsatScale ...);
    ``name`` None means the folder's name."""

    KEYS = ("upstream_dataset", "name", "source", "period", "attribution", "csat", "nps", "columns",
            "channel_groups", "visibility")
    SHAPE = "expected keys such as csat and nps"

    upstream_dataset: Any = FORMAT_VERSION
    csat: CsatScale = DEFAULT_CSAT
    nps: NpsScale = DEFAULT_NPS
    attribution: Attribution = Attribution()
    columns: dict[str, ColumnNotes] = Field(default_factory=dict)
    visibility: Visibility = Visibility()
    source: dict = Field(default_factory=dict)
    period: dict = Field(default_factory=dict)
    channel_groups: dict = Field(default_factory=dict)
    name: str | None = None

    @field_validator("upstream_dataset", mode="before")
    @classmethod
    def _a_version_read_here(cls, version: Any, info: ValidationInfo) -> Any:
        if version != FORMAT_VERSION:
            report(info, f"{version!r} is not a version this Upstream reads ({FORMAT_VERSION})")
        return version

    @field_validator(*SECTIONS, mode="before")
    @classmethod
    def _section(cls, raw: Any, info: ValidationInfo) -> Any:
        section = None if raw is None else read_section(SECTIONS[info.field_name], raw, info.field_name,
                                                         info.context["problems"])
        return cls.model_fields[info.field_name].default if section is None else section.described()

    @field_validator("columns", mode="before")
    @classmethod
    def _notes_per_table(cls, raw: Any, info: ValidationInfo) -> dict[str, ColumnNotes]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            return fall_back(info, f"expected one entry per table, found {kind_of(raw)}", {})
        notes = {}
        for table, raw_notes in raw.items():
            if table not in TABLES:
                report(info, f"{table!r} is not a table; the tables are {', '.join(TABLES)}")
                continue
            section = read_section(TableColumnsSection, raw_notes, f"columns.{table}", info.context["problems"],
                                   table=table)
            if section is not None:
                notes[table] = section.described()
        return notes

    @field_validator("source", "period", "channel_groups", mode="before")
    @classmethod
    def _keys_and_values(cls, value: Any, info: ValidationInfo) -> dict:
        value = value or {}
        if not isinstance(value, dict):
            return fall_back(info, f"expected keys and values, found {kind_of(value)}", {})
        return value

    @field_validator("name", mode="before")
    @classmethod
    def _as_text(cls, name: Any) -> str | None:
        return None if name is None else str(name)

    def described(self, name: str, path) -> DatasetDescription:
        return DatasetDescription(csat=self.csat, nps=self.nps, attribution=self.attribution, columns=self.columns,
                                  name=name, source=self.source, period=self.period,
                                  channel_groups=self.channel_groups, visibility=self.visibility, declared=True,
                                  path=path)


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
    """Check ``dataset.yaml`` content against ``DatasetFile``; returns the description (defaults where a
    part is bad) and the problems, each a phrase naming the key (``csat.points: 4.5 is not a whole number ...``)."""
    problems: list[str] = []
    file = read_section(DatasetFile, {} if data is None else data, "", problems)
    if file is None:
        return DEFAULT_DESCRIPTION, problems
    name = file.name if file.name is not None else (path.parent.name if path else "")
    return file.described(name, path), problems
