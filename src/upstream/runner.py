"""The study runner: validate the data once, execute a study's notebooks with papermill, export
leadership HTML (no code, offline, printable), and publish the run atomically.

A run is assembled in ``reports/<study>/.staging-<timestamp>/`` and renamed to
``reports/<study>/<timestamp>/`` only when every step succeeded; ``reports/<study>/latest`` is
then repointed to it. A failed run is moved to ``reports/<study>/_failed/<timestamp>/`` and never
touches earlier reports. Exit codes: 0 published, 1 a notebook (or report assembly) failed,
2 bad input (study YAML, command line, data).

The notebook contract: a cell tagged ``parameters`` declares every parameter the study passes
plus the five the runner injects: ``data_dir`` (absolute), ``report_dir`` (the run folder, None
when the notebook is opened by hand), ``validated`` (True: the data passed validation, load it
with ``validate=False``), ``study_title`` and ``show_names``. A notebook publishes its key
findings for the index page with ``upstream.report.publish_findings(report_dir, "<file stem>",
title, sentences)``; any other file it writes into ``report_dir`` is published with the run.
Cells tagged ``remove-cell`` are left out of the leadership HTML, outputs of cells tagged
``remove-output`` too. The kernel process's own stdout/stderr goes to ``kernel.log`` and library
logging to ``run.log`` in the run folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import json
import logging
import os
import platform
import re
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO

import yaml

import upstream
from upstream import report

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

DEFAULT_KERNEL = "upstream"
DEFAULT_STUDY = Path("studies") / "agent_vs_system.yaml"
TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"
TEMPLATES = Path(__file__).with_name("templates")
NOTEBOOK_TEMPLATE = TEMPLATES / "upstream_notebook.html.j2"
INDEX_TEMPLATE = "study_index.html.j2"

STUDY_KEYS = ("name", "title", "data", "parameters", "notebooks")
NOTEBOOK_KEYS = ("path", "parameters")
#: Parameters the runner injects into every notebook and that a study may not set itself.
RUNNER_PARAMETERS = ("data_dir", "report_dir", "validated", "study_title")
#: Injected into every notebook too, but a study may set it (``--name-agents`` forces it on).
SHOW_NAMES = "show_names"
#: Environment for this process and the kernels it starts: no GX analytics, matplotlib renders
#: into the notebook (the non-interactive inline backend, never a GUI window), no debugger noise.
KERNEL_ENVIRONMENT = {
    "GX_ANALYTICS_ENABLED": "False",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
#: Loggers whose chatter goes to the run's run.log instead of stderr.
QUIET_LOGGERS = ("papermill", "nbclient", "nbconvert", "traitlets")
_STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StudyError(Exception):
    """A bad study file or command line; ``str()`` is a one-line message (exit code 2)."""


# --------------------------------------------------------------------------- the study file


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

    @property
    def show_names(self) -> bool:
        return bool({**self.parameters, **self.overrides}.get(SHOW_NAMES, False))


def repo_root() -> Path:
    """The project checkout holding this package (parent of ``src/``), else the cwd."""
    src = Path(upstream.__file__).resolve().parent.parent
    if src.name == "src" and (src.parent / "pyproject.toml").is_file():
        return src.parent
    return Path.cwd()


def default_study_path() -> Path:
    return repo_root() / DEFAULT_STUDY


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _display_path(path: Path) -> str:
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
    """Names declared in the notebook's ``parameters`` cell, or None if it has none."""
    import nbformat
    import papermill

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as err:  # nbformat raises several unrelated types
        raise StudyError(f"{_display_path(path)}: not a readable notebook ({err})") from None
    if not any("parameters" in cell.get("metadata", {}).get("tags", []) for cell in nb.cells):
        return None
    with _quiet_loggers(None):
        return papermill.inspect_notebook(str(path))


def load_study(
    yaml_path: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    overrides: dict | None = None,
) -> Study:
    """Read and validate a study YAML; raises StudyError with a one-line message.

    Relative ``data`` and notebook paths are relative to the YAML file; ``data_dir`` (from
    ``--data``) replaces ``data``. ``overrides`` (from ``-p``) replace study and notebook
    parameters. Every parameter must be declared in the parameters cell of a notebook that
    receives it.
    """
    yaml_path = Path(yaml_path).expanduser().resolve()
    label = _display_path(yaml_path)
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
        raise StudyError(f"data folder not found: {_display_path(data)} (from {data_origin})")

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
            raise StudyError(f"{label}: notebook not found: {rel} (looked for {_display_path(path)})")
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

    return Study(
        name=name,
        title=title.strip(),
        yaml_path=yaml_path,
        data_dir=data,
        parameters=parameters,
        notebooks=tuple(notebooks),
        overrides=overrides,
    )


def check_kernel(kernel: str) -> None:
    """Raise StudyError unless a Jupyter kernel named ``kernel`` is installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(kernel)
    except NoSuchKernel:
        available = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise StudyError(f"no Jupyter kernel named '{kernel}' (installed: {available}); run `make kernel`") from None


# --------------------------------------------------------------------------- environment and output


@contextlib.contextmanager
def kernel_environment() -> Iterator[None]:
    """Set KERNEL_ENVIRONMENT for this process (kernels inherit it); restore it afterwards,
    except GX_ANALYTICS_ENABLED, which stays off for the rest of the process."""
    saved = {key: os.environ.get(key) for key in KERNEL_ENVIRONMENT}
    os.environ.update(KERNEL_ENVIRONMENT)
    try:
        yield
    finally:
        for key, value in saved.items():
            if key == "GX_ANALYTICS_ENABLED":
                continue
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _quiet_loggers(log_path: Path | None) -> Iterator[None]:
    """Route papermill/nbclient/nbconvert log records to ``log_path`` (or nowhere) instead of
    the terminal, so cron logs only hold the runner's own lines."""
    handler: logging.Handler
    if log_path is None:
        handler = logging.NullHandler()
    else:
        handler = logging.FileHandler(log_path, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    saved = []
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level))
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, propagate, level in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)
        handler.close()


@contextlib.contextmanager
def _captured_output(log_path: Path) -> Iterator[None]:
    """Send Python-level stdout/stderr (progress bars, prints, last-resort logging) to
    ``log_path``; the file is removed again if nothing was written."""
    try:
        with open(log_path, "w", encoding="utf-8") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            yield
    finally:
        if log_path.exists() and log_path.stat().st_size == 0:
            log_path.unlink()


@functools.lru_cache(maxsize=None)
def _logged_kernel_manager_class() -> type:
    """An AsyncKernelManager whose kernel process writes its own stdout/stderr (ipykernel's
    start-up and shutdown messages, C-level warnings, crash output) to ``kernel_log`` instead of
    the runner's terminal. Cell output is unaffected: it travels over the kernel protocol."""
    from jupyter_client import AsyncKernelManager
    from traitlets import Unicode

    class LoggedKernelManager(AsyncKernelManager):
        kernel_log = Unicode("", config=True, help="File that receives the kernel process's stdout and stderr.")

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            if not self.kernel_log:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            with open(self.kernel_log, "ab") as log:  # the child keeps its own copy of the descriptor
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return LoggedKernelManager


def _kernel_manager_config(kernel_log: Path):
    """Kernel settings: process output to ``kernel_log``; Curve-encrypted transport when
    available (otherwise local IPC sockets), so no plain-TCP kernel traffic."""
    import zmq
    from traitlets.config import Config

    config = Config()
    config.LoggedKernelManager.kernel_log = str(kernel_log)
    if zmq.has("curve"):
        config.LoggedKernelManager.transport_encryption = "auto"
    else:  # pragma: no cover - depends on the libzmq build
        config.LoggedKernelManager.transport = "ipc"
    return config


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _seconds_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s"


def _make_unique_dir(parent: Path, name: str) -> Path:
    """Create ``parent/name`` (or ``name-2``, ``name-3`` ...) and return it."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        candidate = parent / (name if n == 1 else f"{name}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a unique folder for {parent / name}")


def _move_to_unique(source: Path, parent: Path, name: str) -> Path:
    """Rename ``source`` to ``parent/name`` (or ``name-2`` ...) without replacing anything."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        target = parent / (name if n == 1 else f"{name}-{n}")
        if target.exists() or target.is_symlink():
            continue
        try:
            os.rename(source, target)
            return target
        except OSError as err:
            if target.exists():  # lost a race against another run: try the next name
                continue
            raise err
    raise RuntimeError(f"cannot find a free name for {parent / name}")


def point_latest(study_dir: Path, run_dir: Path) -> Path:
    """Atomically repoint ``study_dir/latest`` (a relative symlink) to ``run_dir``."""
    latest = study_dir / "latest"
    if latest.exists() and not latest.is_symlink():
        raise OSError(f"{latest} exists and is not a symlink; not replacing it")
    tmp = study_dir / f".latest-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(run_dir, study_dir), tmp)
    try:
        os.replace(tmp, latest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return latest


# --------------------------------------------------------------------------- HTML export


def export_html(notebook_path: Path, html_path: Path, *, with_code: bool, title: str) -> Path:
    """Export an executed notebook to self-contained, offline HTML.

    Leadership pages (``with_code=False``) hide code cells and prompts; cells tagged
    ``remove-cell`` are dropped and outputs of cells tagged ``remove-output`` hidden. The
    analyst page of a failed run (``with_code=True``) keeps code and tracebacks.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "remove_cell"}
    config.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output", "remove_output"}
    config.TagRemovePreprocessor.remove_input_tags = {"remove-input", "remove_input"}
    exporter = HTMLExporter(
        config=config,
        template_name="lab",
        template_file=str(NOTEBOOK_TEMPLATE),
        exclude_input=not with_code,
        exclude_input_prompt=not with_code,
        exclude_output_prompt=not with_code,
        embed_images=True,
        theme="light",
    )
    nb = nbformat.read(str(notebook_path), as_version=4)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    html_path.write_text(body, encoding="utf-8")
    return html_path


# --------------------------------------------------------------------------- running


@dataclass
class NotebookRun:
    name: str
    path: Path
    parameters: dict
    status: str = "pending"  # pending, succeeded, failed, skipped
    seconds: float | None = None
    error: dict | None = None

    def record(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "status": self.status,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "html": f"{self.name}.html" if self.status == "succeeded" else None,
            "ipynb": f"{self.name}.ipynb" if self.status in ("succeeded", "failed") else None,
            "parameters": self.parameters,
            "error": self.error,
        }


@dataclass
class RunResult:
    """Outcome of ``run_study``: exit code, and the folder the run ended up in."""

    exit_code: int
    folder: Path | None = None
    index_path: Path | None = None
    message: str = ""


class _Progress:
    """One line per step on stderr, ``[1/3] name ... done in 2.3 s``; no carriage returns."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def start(self, text: str) -> None:
        self.stream.write(f"{text} ... ")
        self.stream.flush()

    def end(self, text: str) -> None:
        self.stream.write(f"{text}\n")
        self.stream.flush()


def _notebook_parameters(study: Study, nb: NotebookSpec, report_dir: Path, show_names: bool) -> dict:
    return {
        **study.parameters,
        **nb.parameters,
        **study.overrides,
        "data_dir": str(study.data_dir),
        "report_dir": str(report_dir),
        "validated": True,
        "study_title": study.title,
        SHOW_NAMES: show_names,
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8")


def _data_period(dataset) -> tuple[Any, Any] | None:
    try:
        opened = dataset.contacts["opened_at"].dropna()
    except (AttributeError, KeyError, TypeError):
        return None
    if opened.empty:
        return None
    return opened.min(), opened.max()


def _relocate(value: Any, old: Path, new: str = "") -> Any:
    """``value`` with every string path under ``old`` made relative to it (prefixed ``new``)."""
    prefix = f"{old}{os.sep}"
    if isinstance(value, str):
        return new + value[len(prefix):] if value.startswith(prefix) else value
    if isinstance(value, dict):
        return {k: _relocate(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_relocate(v, old, new) for v in value]
    return value


def _validation_view(summary: Any) -> dict:
    """The validation summary laid out for the index page: status, one row per table, one per
    cross-table rule, and any other entries as text."""
    view: dict[str, Any] = {"status": None, "tables": [], "rules": [], "other": []}
    if not isinstance(summary, dict):
        if summary is not None:
            view["other"].append(("summary", str(summary)))
        return view
    shown = {"folder", "data_docs"}
    if "ok" in summary:
        view["status"] = "passed" if summary["ok"] else "failed"
        shown.add("ok")
    tables = summary.get("tables")
    if isinstance(tables, dict) and all(isinstance(t, dict) for t in tables.values()):
        for name, t in tables.items():
            evaluated = t.get("expectations_evaluated")
            passed = t.get("expectations_passed")
            view["tables"].append(
                {
                    "table": name,
                    "file": t.get("file", ""),
                    "rows": f"{t['rows']:,}" if isinstance(t.get("rows"), int) else t.get("rows", ""),
                    "expectations": f"{passed} of {evaluated} passed" if evaluated is not None else "",
                }
            )
        shown.add("tables")
    rules = summary.get("cross_table_rules")
    if isinstance(rules, list) and all(isinstance(r, dict) for r in rules):
        view["rules"] = [{"rule": r.get("rule", ""), "status": r.get("status", "")} for r in rules]
        shown.add("cross_table_rules")
    if summary.get("failures") == []:
        shown.add("failures")
    for key, value in summary.items():
        if key in shown:
            continue
        if isinstance(value, (dict, list, tuple)):
            value = json.dumps(value, ensure_ascii=False, default=_json_default)
        view["other"].append((str(key).replace("_", " "), "" if value is None else str(value)))
    return view


def _short(text: Any, limit: int = 300) -> str:
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _index_html(context: dict) -> str:
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    css = Markup((TEMPLATES / "upstream_index.css").read_text(encoding="utf-8"))  # our own file
    return env.get_template(INDEX_TEMPLATE).render(css=css, **context)


class _Failure(Exception):
    """A run step failed; the staging folder goes to _failed/ and the run ends with ``exit_code``.
    ``lines`` are printed on stderr (no traceback)."""

    def __init__(self, exit_code: int, status: str, lines: list[str], message: str = "", details: str | None = None):
        super().__init__(message or (lines[0] if lines else status))
        self.exit_code = exit_code
        self.status = status
        self.lines = lines
        self.details = details  # written to message.txt in the failed folder


class _StudyRun:
    """One run of a study, step by step: validate_data, execute_notebooks, assemble_report,
    publish; or keep_failed when a step fails."""

    def __init__(self, study: Study, reports_root: Path, kernel: str, name_agents: bool, err: TextIO):
        self.study = study
        self.kernel = kernel
        self.err = err
        self.progress = _Progress(err)
        self.study_dir = reports_root / study.name
        self.started = _utc_now()
        self.clock = time.perf_counter()
        self.stamp = self.started.strftime(TIMESTAMP_FORMAT)
        self.staging = _make_unique_dir(self.study_dir, f".staging-{self.stamp}")
        self.show_names = bool(name_agents or study.show_names)
        self.runs = [
            NotebookRun(nb.name, nb.path, _notebook_parameters(study, nb, self.staging, self.show_names))
            for nb in study.notebooks
        ]
        self.summary: Any = None
        self.period_label: str | None = None
        self.manifest: dict[str, Any] = {
            "study": study.name,
            "title": study.title,
            "study_yaml": str(study.yaml_path),
            "status": "running",
            "parameters": {
                **study.parameters,
                **study.overrides,
                "data_dir": str(study.data_dir),
                "validated": True,
                "study_title": study.title,
                SHOW_NAMES: self.show_names,
            },
            "data_dir": str(study.data_dir),
            "data_fingerprint": None,
            "period": None,
            "package_version": upstream.__version__,
            "python_version": platform.python_version(),
            "kernel": kernel,
            "notebooks": [],
            "total_seconds": None,
            "validation": None,
            "started_at": _iso(self.started),
            "finished_at": None,
        }

    # -- step 1
    def validate_data(self) -> None:
        """Load and validate the data once, writing Data Docs into the staging folder."""
        study, staging = self.study, self.staging
        self.progress.start(f"Validating {_display_path(study.data_dir)}")
        t0 = time.perf_counter()
        try:
            from upstream.data import DataError, load_dataset
        except ImportError as exc:
            self.progress.end("failed")
            raise _Failure(EXIT_BAD_INPUT, "failed", [f"upstream.data is not available ({exc}).", "Nothing was published."],
                           details=traceback.format_exc()) from None
        try:
            with _captured_output(staging / "validation.log"):
                dataset = load_dataset(study.data_dir, validate=True, docs_dir=staging / "data_docs")
            validation = getattr(dataset, "validation", None)
            if validation is not None and getattr(validation, "ok", True) is False:
                raise DataError(validation.failures, study.data_dir, report=validation)
        except DataError as exc:
            self.progress.end("failed")
            message = str(exc).rstrip()
            report_obj = getattr(exc, "report", None)
            if report_obj is not None and hasattr(report_obj, "summary"):
                self.manifest["validation"] = _relocate(report_obj.summary(), staging)
            raise _Failure(EXIT_BAD_INPUT, "invalid data", ["", message, "", "The validation output is kept in {kept}", "Nothing was published."],
                           message=message, details=message + "\n") from None
        except Exception as exc:  # a bug or an environment problem, not bad data
            self.progress.end("failed")
            raise _Failure(
                EXIT_FAILED, "failed",
                [f"Loading the data failed: {type(exc).__name__}: {_short(exc)}", "Details: {kept}/message.txt",
                 "Nothing was published."],
                details=traceback.format_exc(),
            ) from None
        self.progress.end(f"ok in {_seconds_text(time.perf_counter() - t0)}")
        validation = getattr(dataset, "validation", None)
        self.summary = _relocate(validation.summary(), staging) if validation is not None else None
        self.manifest["validation"] = self.summary
        self.manifest["data_fingerprint"] = getattr(dataset, "fingerprint", None)
        period = _data_period(dataset)
        if period:
            self.period_label = report.period_text(*period)
            self.manifest["period"] = {"start": period[0], "end": period[1], "text": self.period_label}

    # -- step 2
    def execute_notebooks(self) -> None:
        """Execute the notebooks in order, one kernel each; stop at the first failure."""
        kernel_log = self.staging / "kernel.log"
        kernel_config = _kernel_manager_config(kernel_log)
        try:
            self._execute_all(kernel_config)
        finally:
            if kernel_log.exists() and kernel_log.stat().st_size == 0:
                kernel_log.unlink()

    def _execute_all(self, kernel_config) -> None:
        import papermill

        total = len(self.runs)
        for i, run in enumerate(self.runs, start=1):
            self.progress.start(f"[{i}/{total}] {run.name}")
            t0 = time.perf_counter()
            output = self.staging / f"{run.name}.ipynb"
            try:
                papermill.execute_notebook(
                    str(run.path),
                    str(output),
                    parameters=run.parameters,
                    kernel_name=self.kernel,
                    progress_bar=False,
                    log_output=False,
                    cwd=str(run.path.parent),
                    config=kernel_config,
                    kernel_manager_class=_logged_kernel_manager_class(),
                )
            except Exception as exc:
                run.seconds = time.perf_counter() - t0
                run.status = "failed"
                for later in self.runs[i:]:
                    later.status = "skipped"
                self.progress.end(f"failed after {_seconds_text(run.seconds)}")
                raise self._notebook_failure(run, output, exc) from None
            run.seconds = time.perf_counter() - t0
            run.status = "succeeded"
            self.progress.end(f"done in {_seconds_text(run.seconds)}")

    def _notebook_failure(self, run: NotebookRun, output: Path, exc: Exception) -> _Failure:
        # PapermillExecutionError carries the cell's exception; kernel deaths and timeouts do not.
        ename = getattr(exc, "ename", None) or type(exc).__name__
        evalue = getattr(exc, "evalue", None)
        evalue = str(exc) if evalue is None else str(evalue)
        cell = getattr(exc, "exec_count", None)
        run.error = {"type": ename, "message": evalue, "execution_count": cell}
        lines = [f"Notebook {run.name} failed{f' in cell [{cell}]' if cell is not None else ''}: {ename}: {_short(evalue)}"]
        if output.exists():
            try:  # the analyst's view of the failure: code and traceback
                export_html(output, self.staging / f"{run.name}.html", with_code=True, title=f"{run.name} (failed)")
                lines.append(f"Executed notebook with the error: {{kept}}/{output.name} (HTML with code: {{kept}}/{run.name}.html)")
            except Exception:  # noqa: BLE001 - the .ipynb is what matters
                lines.append(f"Executed notebook with the error: {{kept}}/{output.name}")
        else:
            lines.append("Run folder: {kept}")
        lines.append("Nothing was published; earlier reports are unchanged.")
        details = None if getattr(exc, "ename", None) else "".join(traceback.format_exception(exc))
        return _Failure(EXIT_FAILED, "failed", lines, message=f"{ename}: {evalue}", details=details)

    # -- steps 3 and 4
    def assemble_report(self) -> None:
        """Leadership HTML per notebook, then index.html and manifest.json."""
        staging = self.staging
        findings, pages = [], []
        for run in self.runs:
            findings_path = staging / f"{run.name}{report.FINDINGS_SUFFIX}"
            record = report.read_findings(findings_path) if findings_path.exists() else None
            title = (record or {}).get("title") or run.name
            export_html(staging / f"{run.name}.ipynb", staging / f"{run.name}.html", with_code=False, title=title)
            if record and record["sentences"]:
                findings.append({"title": title, "sentences": record["sentences"], "href": f"{run.name}.html"})
            pages.append(
                {
                    "title": title,
                    "html": f"{run.name}.html",
                    "ipynb": f"{run.name}.ipynb",
                    "seconds_text": _seconds_text(run.seconds or 0.0),
                }
            )
        study = self.study
        shown_parameters = {**study.parameters, **study.overrides, SHOW_NAMES: self.show_names}
        index = _index_html(
            {
                "title": study.title,
                "period": self.period_label,
                "study_name": study.name,
                "study_yaml": _display_path(study.yaml_path),
                "findings": findings,
                "notebooks": pages,
                "validation": _validation_view(self.summary),
                "data_docs_href": "data_docs/index.html" if (staging / "data_docs" / "index.html").is_file() else None,
                "data_dir": str(study.data_dir),
                "fingerprint": self.manifest["data_fingerprint"] or "unknown",
                "parameters": [
                    (k, json.dumps(v, ensure_ascii=False, default=_json_default)) for k, v in sorted(shown_parameters.items())
                ],
                "version": upstream.__version__,
                "python_version": platform.python_version(),
                "kernel": self.kernel,
                "run_seconds_text": _seconds_text(time.perf_counter() - self.clock),
                "finished_at": _utc_now().strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        (staging / "index.html").write_text(index, encoding="utf-8")
        self.write_manifest("succeeded")

    def write_manifest(self, status: str) -> None:
        self.manifest["status"] = status
        self.manifest["notebooks"] = [run.record() for run in self.runs]
        self.manifest["total_seconds"] = round(time.perf_counter() - self.clock, 3)
        self.manifest["finished_at"] = _iso(_utc_now())
        _write_json(self.staging / "manifest.json", self.manifest)

    # -- step 5
    def publish(self) -> Path:
        """Rename staging to reports/<study>/<timestamp>/ and repoint latest to it."""
        run_dir = _move_to_unique(self.staging, self.study_dir, self.stamp)
        try:
            point_latest(self.study_dir, run_dir)
        except OSError as exc:
            self.err.write(f"Published {run_dir}, but could not repoint {self.study_dir / 'latest'}: {exc}\n")
        return run_dir

    def keep_failed(self, failure: _Failure) -> Path:
        """Move staging to reports/<study>/_failed/<timestamp>/ and say what went wrong."""
        with contextlib.suppress(Exception):
            if failure.details:
                (self.staging / "message.txt").write_text(failure.details, encoding="utf-8")
        with contextlib.suppress(Exception):
            self.write_manifest(failure.status)
        kept = _move_to_unique(self.staging, self.study_dir / "_failed", self.stamp)
        self.err.write("".join(line.replace("{kept}", str(kept)) + "\n" for line in failure.lines))
        self.err.flush()
        return kept


def run_study(
    study: Study,
    *,
    reports_dir: str | os.PathLike | None = None,
    kernel: str = DEFAULT_KERNEL,
    name_agents: bool = False,
    stderr: TextIO | None = None,
) -> RunResult:
    """Run ``study`` end to end (see the module docstring). Progress and problems go to
    ``stderr`` (default sys.stderr); the caller prints ``RunResult.index_path``."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"  # before anything imports great_expectations
    reports_root = Path(reports_dir).resolve() if reports_dir is not None else repo_root() / "reports"
    err = stderr if stderr is not None else sys.stderr
    try:
        run = _StudyRun(study, reports_root, kernel, name_agents, err)
    except OSError as exc:
        err.write(f"upstream: error: cannot create the run folder under {reports_root / study.name}: {exc.strerror or exc}\n")
        return RunResult(EXIT_BAD_INPUT, message=str(exc))
    try:
        with kernel_environment(), _quiet_loggers(run.staging / "run.log"):
            run.validate_data()
            run.execute_notebooks()
            run.assemble_report()
    except _Failure as failure:
        return RunResult(failure.exit_code, run.keep_failed(failure), message=str(failure))
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            run.keep_failed(_Failure(130, "interrupted", [], details="Interrupted.\n"))
        raise
    except Exception as exc:  # report assembly (HTML export, templates) or a bug
        failure = _Failure(
            EXIT_FAILED, "failed",
            [f"Assembling the report failed: {type(exc).__name__}: {_short(exc)}", "Details: {kept}/message.txt",
             "Nothing was published; earlier reports are unchanged."],
            details=traceback.format_exc(),
        )
        return RunResult(EXIT_FAILED, run.keep_failed(failure), message=str(exc))
    run_dir = run.publish()
    return RunResult(EXIT_OK, run_dir, run_dir / "index.html")
