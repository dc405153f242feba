"""The study file: a YAML naming the data, the parameters and the notebooks of a study, read and
checked into a ``Study`` (paths absolute, every parameter declared by a notebook that receives it).
Bad study files and command lines raise ``StudyError`` with a one-line message (exit code 2)."""
from __future__ import annotations

import dataclasses
import datetime
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import upstream

from .kernel import quiet_loggers
from .study_file import (
    ENGINES,
    NOTEBOOK_KEYS,
    PARAMETER_NAME,
    RUNNER_PARAMETERS,
    SHOW_NAMES,
    STUDY_KEYS,
    did_you_mean,
    read_study_file,
)

__all__ = ["ENGINES", "NOTEBOOK_KEYS", "RUNNER_PARAMETERS", "SHOW_NAMES", "STUDY_KEYS", "did_you_mean",
           "StudyError", "NotebookSpec", "Study", "load_study", "parse_parameter", "declared_parameters",
           "repo_root", "default_study_path", "display_path", "study_parameters_class", "cli_text", "check_engine",
           "check_kernel", "STUDIES_FOLDER", "DEFAULT_STUDY", "SPARK_INSTALL", "PROJECT_ENV"]

STUDIES_FOLDER = "studies"
DEFAULT_STUDY = Path(STUDIES_FOLDER) / "agent_vs_system.yaml"
#: How to install the optional Spark engine (pyspark; Spark itself needs Java 17).
SPARK_INSTALL = ".venv/bin/pip install -c requirements.lock -e '.[spark]'"


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
    if not PARAMETER_NAME.match(key):
        raise StudyError(f"-p {text}: '{key}' is not a valid parameter name")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, (datetime.date, datetime.datetime)):  # -p change_date=2026-08-16: a date as text
        value = raw.strip()
    return key, value


def declared_parameters(path: Path) -> dict | None:
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
    try:
        content = read_study_file(_read_yaml(yaml_path, label), yaml_path.stem)
    except ValueError as err:
        raise StudyError(f"{label}: {err}") from None
    data = _data_folder(content, yaml_path.parent, data_dir, label)
    overrides = dict(overrides or {})
    for key in overrides:
        if key in RUNNER_PARAMETERS:
            raise StudyError(
                f"-p {key}: '{key}' is set by the runner and cannot be overridden (use --data for the data folder)"
            )
    notebooks = _notebooks(content, yaml_path.parent, label)
    _check_declared(notebooks, content.parameters, overrides, label)
    _check_study_values(notebooks, content.parameters, overrides, label)
    if engine is not None and engine not in ENGINES:
        raise StudyError(f"--engine {engine}: choose one of {', '.join(ENGINES)}")
    return Study(
        name=content.name,
        title=content.title,
        question=content.question,
        yaml_path=yaml_path,
        data_dir=data,
        parameters=dict(content.parameters),
        notebooks=tuple(notebooks),
        overrides=overrides,
        engine=engine if engine is not None else content.engine,
    )


def _read_yaml(yaml_path: Path, label: str) -> Any:
    """The study file's YAML; StudyError when it is missing, unreadable or not YAML."""
    if not yaml_path.is_file():
        raise StudyError(f"study file not found: {label}")
    try:
        return yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise StudyError(f"{label}: not valid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise StudyError(f"{label}: cannot read the study file ({err})") from None


def _data_folder(content, base: Path, data_dir: str | os.PathLike | None, label: str) -> Path:
    """The data folder: ``--data``, else the study's ``data`` relative to the study file; it must exist."""
    if data_dir is not None:
        data = Path(data_dir).expanduser().resolve()
        data_origin = "--data"
    elif content.data is not None:
        data = (base / Path(content.data).expanduser()).resolve()
        data_origin = f"'data' in {label}"
    else:
        raise StudyError(f"{label}: no data folder: set 'data' in the study or pass --data DIR")
    if not data.is_dir():
        raise StudyError(f"data folder not found: {display_path(data)} (from {data_origin})")
    return data


def _notebooks(content, base: Path, label: str) -> list[NotebookSpec]:
    """The study's notebooks, paths relative to the study file: each a .ipynb that exists, no two
    with the same file name."""
    notebooks: list[NotebookSpec] = []
    for i, entry in enumerate(content.notebooks, start=1):
        rel = entry.path
        path = (base / Path(rel).expanduser()).resolve()
        if path.suffix != ".ipynb":
            raise StudyError(f"{label}: notebooks[{i}] is not a .ipynb notebook: {rel}")
        if not path.is_file():
            raise StudyError(f"{label}: notebook not found: {rel} (looked for {display_path(path)})")
        if any(nb.name == path.stem for nb in notebooks):
            raise StudyError(f"{label}: two notebooks are named '{path.stem}'; notebook file names must differ")
        notebooks.append(NotebookSpec(path=path, parameters=dict(entry.parameters)))
    return notebooks


def _check_declared(notebooks: list[NotebookSpec], parameters: dict, overrides: dict, label: str) -> None:
    """Every parameter reaches at least one notebook that declares it in its parameters cell."""
    declared = {nb.name: declared_parameters(nb.path) for nb in notebooks}
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
                    f"{did_you_mean(key, names)}"
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
            raise StudyError(f"{message}{did_you_mean(key, known)}")
    if SHOW_NAMES in overrides and not isinstance(overrides[SHOW_NAMES], bool):
        raise StudyError(f"-p {SHOW_NAMES}: must be true or false")


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
            return f"-p {key}" if key in SECRET_PARAMETERS else f"-p {key}={cli_text(overrides[key])}"
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


def cli_text(value: Any) -> str:
    """A parameter value as it is written on the command line (YAML)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
