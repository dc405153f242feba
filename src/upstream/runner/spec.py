"""The study file: a YAML naming the data, the parameters and the notebooks of a study, read and
checked into a ``Study`` (paths absolute, every parameter declared by a notebook that receives it).
Bad study files and command lines raise ``StudyError`` with a one-line message (exit code 2)."""
from __future__ import annotations

import dataclasses
import datetime
import difflib
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import upstream

from .kernel import quiet_loggers

STUDIES_FOLDER = "studies"
DEFAULT_STUDY = Path(STUDIES_FOLDER) / "agent_vs_system.yaml"
STUDY_KEYS = ("name", "title", "question", "data", "engine", "parameters", "notebooks")
#: Where the data are read and aggregated: see ``upstream.data.sql.choose_engine`` ("auto": pandas for small
#: data, DuckDB from AUTO_DUCKDB_BYTES of table files on).
ENGINES = ("auto", "pandas", "duckdb", "spark")
#: How to install the optional Spark engine (pyspark; Spark itself needs Java 17).
SPARK_INSTALL = ".venv/bin/pip install -c requirements.lock -e '.[spark]'"
NOTEBOOK_KEYS = ("path", "parameters")
#: Parameters the runner injects into every notebook and that a study may not set itself.
RUNNER_PARAMETERS = ("data_dir", "report_dir", "cache_dir", "validated", "study_title", "engine")
#: Injected into every notebook too, but a study may set it (``--name-agents`` forces it on).
SHOW_NAMES = "show_names"
_STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StudyError(Exception):
    """A bad study file or command line; ``str()`` is a one-line message (exit code 2)."""



@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of a study and the parameters only it receives."""

    path: Path
    parameters: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class Study:
    """A validated study: YAML contents with paths made absolute, plus command-line overrides."""

    name: str
    title: str
    yaml_path: Path
    data_dir: Path
    parameters: dict
    notebooks: tuple[NotebookSpec, ...]
    overrides: dict = field(default_factory=dict)
    engine: str = "auto"
    question: str = ""

    @property
    def show_names(self) -> bool:
        return bool({**self.parameters, **self.overrides}.get(SHOW_NAMES, False))


#: The project folder (studies/, reports/) when the package is not installed from a checkout (editable).
PROJECT_ENV = "UPSTREAM_PROJECT"


def repo_root() -> Path:
    """The project: $UPSTREAM_PROJECT, else the checkout holding this package (parent of ``src/``; an
    editable install, from any working directory), else the cwd."""
    given = os.environ.get(PROJECT_ENV, "").strip()
    if given:
        return Path(given).expanduser().resolve()
    src = Path(upstream.__file__).resolve().parent.parent
    if src.name == "src" and (src.parent / "pyproject.toml").is_file():
        return src.parent
    return Path.cwd()


def default_study_path() -> Path:
    return repo_root() / DEFAULT_STUDY


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def display_path(path: Path) -> str:
    """``path`` relative to the cwd when it is below it (shorter messages), else absolute."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_parameter(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as YAML (``0.8``, ``true``, ``[1, 2]``)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise StudyError(f"-p expects key=value, got '{text}'")
    if not _PARAMETER_NAME.match(key):
        raise StudyError(f"-p {text}: '{key}' is not a valid parameter name")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, (datetime.date, datetime.datetime)):  # -p change_date=2026-08-16: a date as text
        value = raw.strip()
    return key, value


def _check_parameter_mapping(params: Any, where: str, yaml_label: str) -> dict:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise StudyError(f"{yaml_label}: '{where}' must be a mapping of name: value")
    for key in params:
        if not isinstance(key, str) or not _PARAMETER_NAME.match(key):
            raise StudyError(f"{yaml_label}: '{where}' has an invalid parameter name {key!r}")
        if key in RUNNER_PARAMETERS:
            raise StudyError(
                f"{yaml_label}: parameter '{key}' in '{where}' is set by the runner and cannot be "
                "given in a study (use --data for the data folder)"
            )
    if SHOW_NAMES in params and not isinstance(params[SHOW_NAMES], bool):
        raise StudyError(f"{yaml_label}: '{SHOW_NAMES}' must be true or false")
    return dict(params)


def _declared_parameters(path: Path) -> dict | None:
    """Names declared in the notebook's ``parameters`` cell (name → papermill's description: default,
    inferred type, help), or None if it has none."""
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None
    return _inspect_parameters(path, stamp)


@functools.lru_cache(maxsize=64)
def _inspect_parameters(path: Path, stamp: int | None) -> dict | None:
    import nbformat
    import papermill

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as err:  # nbformat raises several unrelated types
        raise StudyError(f"{display_path(path)}: not a readable notebook ({err})") from None
    if not any("parameters" in cell.get("metadata", {}).get("tags", []) for cell in nb.cells):
        return None
    with quiet_loggers(None):
        return papermill.inspect_notebook(str(path))


def load_study(
    yaml_path: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    overrides: dict | None = None,
    engine: str | None = None,
) -> Study:
    """Read and validate a study YAML; raises StudyError with a one-line message.

    Relative ``data`` and notebook paths are relative to the YAML file; ``data_dir`` (from
    ``--data``) replaces ``data``. ``overrides`` (from ``-p``) replace study and notebook
    parameters. Every parameter must be declared in the parameters cell of a notebook that
    receives it.
    """
    yaml_path = Path(yaml_path).expanduser().resolve()
    label = display_path(yaml_path)
    if not yaml_path.is_file():
        raise StudyError(f"study file not found: {label}")
    try:
        raw = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise StudyError(f"{label}: not valid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise StudyError(f"{label}: cannot read the study file ({err})") from None
    if not isinstance(raw, dict):
        raise StudyError(f"{label}: a study file must be a mapping with keys {', '.join(STUDY_KEYS)}")
    for key in raw:
        if key not in STUDY_KEYS:
            raise StudyError(
                f"{label}: unknown key '{key}' (allowed: {', '.join(STUDY_KEYS)}){_suggest(str(key), STUDY_KEYS)}"
            )
    base = yaml_path.parent

    name = raw.get("name", yaml_path.stem)
    if not isinstance(name, str) or not _STUDY_NAME.match(name):
        raise StudyError(
            f"{label}: 'name' must be a folder name of letters, digits, '_', '-' or '.' "
            f"not starting with '.', '_' or '-', got {name!r}"
        )
    title = raw.get("title", name)
    if not isinstance(title, str) or not title.strip():
        raise StudyError(f"{label}: 'title' must be a non-empty text")
    question = raw.get("question", "")
    if not isinstance(question, str):
        raise StudyError(f"{label}: 'question' must be a text (the question the study answers)")

    if data_dir is not None:
        data = Path(data_dir).expanduser().resolve()
        data_origin = "--data"
    elif raw.get("data") is not None:
        if not isinstance(raw["data"], str):
            raise StudyError(f"{label}: 'data' must be a folder path")
        data = (base / Path(raw["data"]).expanduser()).resolve()
        data_origin = f"'data' in {label}"
    else:
        raise StudyError(f"{label}: no data folder: set 'data' in the study or pass --data DIR")
    if not data.is_dir():
        raise StudyError(f"data folder not found: {display_path(data)} (from {data_origin})")

    parameters = _check_parameter_mapping(raw.get("parameters"), "parameters", label)
    overrides = dict(overrides or {})
    for key in overrides:
        if key in RUNNER_PARAMETERS:
            raise StudyError(
                f"-p {key}: '{key}' is set by the runner and cannot be overridden (use --data for the data folder)"
            )

    entries = raw.get("notebooks")
    if not isinstance(entries, list) or not entries:
        raise StudyError(f"{label}: 'notebooks' must be a non-empty list of notebook paths")
    notebooks: list[NotebookSpec] = []
    for i, entry in enumerate(entries, start=1):
        where = f"notebooks[{i}]"
        if isinstance(entry, dict):
            for key in entry:
                if key not in NOTEBOOK_KEYS:
                    raise StudyError(
                        f"{label}: unknown key '{key}' in {where} (allowed: {', '.join(NOTEBOOK_KEYS)})"
                        f"{_suggest(str(key), NOTEBOOK_KEYS)}"
                    )
            rel = entry.get("path")
            nb_params = _check_parameter_mapping(entry.get("parameters"), f"{where}.parameters", label)
        else:
            rel, nb_params = entry, {}
        if not isinstance(rel, str) or not rel.strip():
            raise StudyError(f"{label}: {where} needs a notebook path")
        path = (base / Path(rel).expanduser()).resolve()
        if path.suffix != ".ipynb":
            raise StudyError(f"{label}: {where} is not a .ipynb notebook: {rel}")
        if not path.is_file():
            raise StudyError(f"{label}: notebook not found: {rel} (looked for {display_path(path)})")
        if any(nb.name == path.stem for nb in notebooks):
            raise StudyError(f"{label}: two notebooks are named '{path.stem}'; notebook file names must differ")
        notebooks.append(NotebookSpec(path=path, parameters=nb_params))

    # Every parameter must reach at least one notebook that declares it.
    declared = {nb.name: _declared_parameters(nb.path) for nb in notebooks}
    for nb in notebooks:
        names = declared[nb.name]
        for key in nb.parameters:
            if names is None:
                raise StudyError(
                    f"{label}: parameter '{key}' is given to {nb.path.name}, which has no cell tagged 'parameters'"
                )
            if key not in names:
                raise StudyError(
                    f"{label}: unknown parameter '{key}' for {nb.path.name}: not in its parameters cell"
                    f"{_suggest(key, names)}"
                )
    known = set().union(*[set(n or ()) for n in declared.values()])
    for source, params in ((label, parameters), ("-p", overrides)):
        for key in params:
            if key == SHOW_NAMES or key in known:
                continue
            if source == "-p":
                message = f"-p {key}: unknown parameter: no notebook of the study declares it"
            else:
                message = f"{label}: unknown parameter '{key}': no notebook of the study declares it"
            raise StudyError(f"{message}{_suggest(key, known)}")
    if SHOW_NAMES in overrides and not isinstance(overrides[SHOW_NAMES], bool):
        raise StudyError(f"-p {SHOW_NAMES}: must be true or false")
    _check_study_values(notebooks, parameters, overrides, label)

    return Study(
        name=name,
        title=title.strip(),
        question=" ".join(question.split()),
        yaml_path=yaml_path,
        data_dir=data,
        parameters=parameters,
        notebooks=tuple(notebooks),
        overrides=overrides,
        engine=_engine(raw, engine, label),
    )


def study_parameters_class(notebook: Path):
    """The parameters class of the Upstream study a notebook shows (``notebooks/trends.ipynb`` →
    ``TrendParameters``), or None for a notebook of one's own."""
    from upstream.studies import STUDY_NAMES, declared

    name = Path(notebook).stem
    return declared(name).parameters if name in STUDY_NAMES else None


def _check_study_values(notebooks: list[NotebookSpec], parameters: dict, overrides: dict, label: str) -> None:
    """Every value an Upstream study's notebook will receive, checked against the kind and range its
    parameters class declares (``upstream.studies.allowed``) and by the class itself (rules between
    parameters), so that a bad value stops the run before any kernel starts."""
    from upstream.studies.allowed import ParameterError, allowed_values, check_value

    from .guards import SECRET_PARAMETERS

    def source(key: str) -> str:
        if key in overrides:
            return f"-p {key}" if key in SECRET_PARAMETERS else f"-p {key}={_shown(overrides[key])}"
        return f"{label}: parameter '{key}'"

    for nb in notebooks:
        cls = study_parameters_class(nb.path)
        if cls is None:
            continue
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in {**parameters, **nb.parameters, **overrides}.items() if k in fields}
        for key, value in values.items():
            try:
                check_value(cls, key, value)
            except ParameterError as err:
                if key in SECRET_PARAMETERS:  # never echo a secret
                    raise StudyError(f"{source(key)}: {key} must be {allowed_values(cls)[key].describe()} (the "
                                     "value given is not shown: it is a secret)") from None
                raise StudyError(f"{source(key)}: {err}") from None
        try:
            cls.from_mapping(values)
        except ParameterError as err:
            named = next((k for k in values if str(err).startswith(k)), None)
            raise StudyError(f"{source(named) if named else label}: {err}") from None


def _shown(value: Any) -> str:
    """A parameter value as it is written on the command line (YAML)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _engine(raw: dict, given: str | None, label: str) -> str:
    """The study's engine: --engine, else the study file's `engine:`, else "auto"."""
    if given is not None:
        if given not in ENGINES:
            raise StudyError(f"--engine {given}: choose one of {', '.join(ENGINES)}")
        return given
    value = raw.get("engine", "auto")
    if value not in ENGINES:
        raise StudyError(f"{label}: 'engine' must be one of {', '.join(ENGINES)}, got {value!r}")
    return value


def check_engine(engine: str, notebooks: tuple[NotebookSpec, ...] = ()) -> None:
    """Raise StudyError when `engine` needs an optional package that is not installed (pyspark for spark), or
    when an Upstream study among `notebooks` cannot read the data with it (``studies.registry.engine_for``)."""
    import importlib.util

    from upstream.studies.registry import engine_for

    if engine == "spark" and importlib.util.find_spec("pyspark") is None:
        raise StudyError(f"the spark engine needs pyspark, which is not installed: run `{SPARK_INSTALL}` "
                         "(Spark needs Java 17; docs/spark.md), or choose --engine auto, pandas or duckdb")
    if pandas_only := [nb.name for nb in notebooks if engine_for(nb.name, engine) != engine]:
        raise StudyError(f"--engine {engine}: {', '.join(pandas_only)} read the data with pandas only (their steps "
                         "need the rows in memory); choose --engine auto or pandas, or leave them out of the study")


def check_kernel(kernel: str) -> None:
    """Raise StudyError unless a Jupyter kernel named ``kernel`` is installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(kernel)
    except NoSuchKernel:
        available = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise StudyError(f"no Jupyter kernel named '{kernel}' (installed: {available}); run `make kernel`") from None
