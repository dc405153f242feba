"""The study file's shape as pydantic models: which keys a study YAML and each of its notebook entries
may have, the kind of each value, and the message each broken rule gives (the file, the key path such
as ``notebooks[2].parameters``, what is allowed). What needs the disk (the data folder, the notebooks
and their parameters cells) is checked by ``spec.load_study`` after the shape."""
from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

STUDY_KEYS = ("name", "title", "question", "data", "engine", "parameters", "notebooks")
NOTEBOOK_KEYS = ("path", "parameters")
#: Where the data are read and aggregated: see ``upstream.data.sql.choose_engine`` ("auto": pandas for small
#: data, DuckDB from AUTO_DUCKDB_BYTES of table files on).
ENGINES = ("auto", "pandas", "duckdb", "spark")
#: Parameters the runner injects into every notebook and that a study may not set itself.
RUNNER_PARAMETERS = ("data_dir", "report_dir", "cache_dir", "validated", "study_title", "engine")
#: Injected into every notebook too, but a study may set it (``--name-agents`` forces it on).
SHOW_NAMES = "show_names"
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Stands for the key path in a validator's message; ``shape_error`` puts the path in.
WHERE = "{where}"


def did_you_mean(name: str, known) -> str:
    """"; did you mean 'x'?" for the closest known name, or "" when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def checked_parameters(params: Any) -> dict:
    """A ``parameters`` mapping (name: value): names are identifiers, none is set by the runner,
    ``show_names`` is true or false. Messages say ``{where}`` for the key path."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValueError(f"'{WHERE}' must be a mapping of name: value")
    for key in params:
        if not isinstance(key, str) or not PARAMETER_NAME.match(key):
            raise ValueError(f"'{WHERE}' has an invalid parameter name {key!r}")
        if key in RUNNER_PARAMETERS:
            raise ValueError(f"parameter '{key}' in '{WHERE}' is set by the runner and cannot be given in a study "
                             "(use --data for the data folder)")
    if SHOW_NAMES in params and not isinstance(params[SHOW_NAMES], bool):
        raise ValueError(f"'{SHOW_NAMES}' must be true or false")
    return dict(params)


class NotebookEntry(BaseModel):
    """One entry of ``notebooks``: a notebook path (relative to the study file) and the parameters
    only it receives. A bare path is an entry without parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(default=None, validate_default=True)
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("path", mode="before")
    @classmethod
    def _a_path(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{WHERE} needs a notebook path")
        return value

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters(cls, value: Any) -> dict:
        return checked_parameters(value)


class StudyFile(BaseModel):
    """The keys of a study YAML. ``name`` defaults to the file's stem (the caller fills it in),
    ``title`` to the name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    question: str = ""
    data: str | None = None
    engine: str = "auto"
    parameters: dict[str, Any] = Field(default_factory=dict)
    notebooks: list[NotebookEntry] = Field(default=None, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _title_defaults_to_the_name(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "title" not in raw:
            return {**raw, "title": raw.get("name")}
        return raw

    @field_validator("name", mode="before")
    @classmethod
    def _a_folder_name(cls, value: Any) -> str:
        if not isinstance(value, str) or not STUDY_NAME.match(value):
            raise ValueError("'name' must be a folder name of letters, digits, '_', '-' or '.' "
                             f"not starting with '.', '_' or '-', got {value!r}")
        return value

    @field_validator("title", mode="before")
    @classmethod
    def _a_title(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("'title' must be a non-empty text")
        return value.strip()

    @field_validator("question", mode="before")
    @classmethod
    def _a_question(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("'question' must be a text (the question the study answers)")
        return " ".join(value.split())

    @field_validator("data", mode="before")
    @classmethod
    def _a_folder(cls, value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise ValueError("'data' must be a folder path")
        return value

    @field_validator("engine", mode="before")
    @classmethod
    def _an_engine(cls, value: Any) -> str:
        if value not in ENGINES:
            raise ValueError(f"'engine' must be one of {', '.join(ENGINES)}, got {value!r}")
        return value

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters(cls, value: Any) -> dict:
        return checked_parameters(value)

    @field_validator("notebooks", mode="before")
    @classmethod
    def _a_list_of_notebooks(cls, value: Any) -> list:
        if not isinstance(value, list) or not value:
            raise ValueError("'notebooks' must be a non-empty list of notebook paths")
        return [entry if isinstance(entry, dict) else {"path": entry} for entry in value]


def key_path(loc: tuple) -> str:
    """pydantic's error location as the study file writes it: ``("notebooks", 1, "parameters")`` →
    ``notebooks[2].parameters`` (entries counted from 1)."""
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def shape_error(err: ValidationError) -> str:
    """The first broken rule of a study file as one line without the file name: an unknown key
    (with the allowed ones) before anything else, then the keys in the file's documented order."""
    errors = err.errors(include_url=False)
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    first = (unknown or errors)[0]
    loc = tuple(first["loc"])
    if first["type"] == "extra_forbidden":
        key, parent = str(loc[-1]), loc[:-1]
        allowed = NOTEBOOK_KEYS if parent else STUDY_KEYS
        inside = f" in {key_path(parent)}" if parent else ""
        return f"unknown key '{key}'{inside} (allowed: {', '.join(allowed)}){did_you_mean(key, allowed)}"
    if first["type"] == "model_type" and not loc:
        return f"a study file must be a mapping with keys {', '.join(STUDY_KEYS)}"
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError):
        where = key_path(loc[:-1]) if loc[-1] == "path" else key_path(loc)
        return str(cause).replace(WHERE, where)
    return f"'{key_path(loc)}': {first['msg']}"  # pragma: no cover - every field has its own message


def read_study_file(raw: Any, stem: str) -> StudyFile:
    """The study file's contents checked against ``StudyFile`` (``name`` defaults to ``stem``);
    ValueError with ``shape_error``'s one-line message when a rule is broken."""
    try:
        return StudyFile.model_validate({"name": stem, **raw} if isinstance(raw, dict) else raw)
    except ValidationError as err:
        raise ValueError(shape_error(err)) from None
