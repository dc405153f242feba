"""The study runner: validate the data once, execute a study's notebooks with papermill, export
leadership HTML (no code, offline, printable), and publish the run atomically.

A run is assembled in ``reports/<study>/.staging-<timestamp>/`` and renamed to
``reports/<study>/<timestamp>/`` only when every step succeeded; ``reports/<study>/latest`` is
then repointed to it. A failed run is moved to ``reports/<study>/_failed/<timestamp>/`` and never
touches earlier reports; ``_failed/`` keeps the newest ``$UPSTREAM_KEEP_FAILED`` failed runs (default 10).
Exit codes: 0 published, 1 a notebook (or report assembly) failed, 2 bad input (study YAML, command line, data).

Notebooks run each in its own kernel: the first alone (it fits the models the others share through
the run's cache), then the rest ``jobs`` at a time (``--jobs``; default ``$UPSTREAM_JOBS``, else 2 on
a machine with two cores or more), each with the machine's cores shared among them for its BLAS
threads (``kernel.blas_threads``); a report lists them in the study's order whatever order they
finished in.

The notebook contract: a cell tagged ``parameters`` declares every parameter the study passes
plus the six the runner injects: ``data_dir`` (absolute), ``report_dir`` (the run folder, None
when the notebook is opened by hand), ``cache_dir`` (the run's cache of fitted models, shared by its
notebooks and deleted before publishing), ``validated`` (True: the data passed validation, load it
with ``validate=False``), ``study_title`` and ``show_names``; a notebook that declares ``engine``
also gets the data engine the run chose (``upstream.data.sql.choose_engine``). A notebook publishes
its key findings for the index page with ``upstream.reporting.notebook.publish_findings(report_dir,
"<file stem>", title, sentences)``; any other file it writes into ``report_dir`` is published with
the run.
Cells tagged ``remove-cell`` are left out of the leadership HTML, outputs of cells tagged
``remove-output`` too. The kernel process's own stdout/stderr goes to ``kernel.log`` and library
logging to ``run.log`` in the run folder.

Runs of one study take turns: each holds ``reports/<study>/.lock`` (flock) from start to end, a
second run waits and says so on stderr. The staging folder records its owner (``.owner.json``:
pid, host, process start time); a run first moves the staging folders of dead runs (a SIGKILL,
a power cut) to ``_failed/``. Validation writes ``validation.html`` (every rule, offline).

Secrets: a ``pseudonym_salt`` parameter never reaches a notebook's injected code, the manifest or
the HTML; the runner hands it to each kernel's environment as ``UPSTREAM_PSEUDONYM_SALT`` instead
(never to its own). Without one,
notebooks use the installation's key (``upstream.reporting.privacy.installation_salt``), which the
runner creates before any notebook runs.

This module is longer than 400 lines because one run's steps (validate, execute, assemble, publish,
keep a failure) share the state of ``_StudyRun``; the guards (``guards.py``), the publishing
primitives and the study lock (``publish.py``) and the pages (``index_page.py``) live apart.

Test hook: ``UPSTREAM_KILL_AT=<stage>`` makes the runner SIGKILL itself when the run reaches the
stage: ``validation`` (data validated, validation.html written), ``notebook`` (the first cell of
the first notebook has run), ``export`` (the first HTML page is written), ``publish`` (the run
folder has its final name, ``latest`` is not yet repointed). tests/test_killed_runs.py uses it.
Test hook: ``UPSTREAM_RUN_CACHE=<folder>`` gives the notebooks that folder as their ``cache_dir`` (kept after
the run): models fitted in the test's own process are not fitted again (tests/test_shapes.py).
"""


from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import upstream
from upstream.reporting import first_screen, privacy
from upstream.reporting import notebook as report
from upstream.reporting.agent_pages import agent_page_links, write_agent_pages
from upstream.reporting.glossary import PAGE as GLOSSARY_PAGE
from upstream.reporting.glossary import glossary_html

from .export import export_html
from .guards import KILL_AT_ENV, SECRET_PARAMETERS, run_cache_folder, salt_environment, salt_parameter, stage_reached
from .index_page import (
    group_findings,
    index_html,
    json_default,
    lists_to_tables,
    short,
    validation_html,
    validation_view,
    write_json,
)
from .kernel import (
    DEFAULT_KERNEL,
    blas_threads,
    captured_output,
    kernel_environment,
    kernel_manager_config,
    logged_kernel_manager_class,
    quiet_loggers,
)
from .publish import (
    OWNER_FILE,
    TIMESTAMP_FORMAT,
    StudyLock,
    clear_stale_staging,
    iso,
    keep_failed_count,
    make_unique_dir,
    move_to_unique,
    point_latest,
    prune_failed,
    seconds_text,
    utc_now,
    write_owner,
)
from .spec import SHOW_NAMES, NotebookSpec, Study, StudyError, display_path, repo_root

CACHE_FOLDER = ".cache"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
VALIDATION_PAGE = "validation.html"

@dataclass
class NotebookRun:
    name: str
    path: Path
    parameters: dict
    salt: str | None = None  # the pseudonym salt this notebook's kernel gets (a secret)
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


def _merged(study: Study, nb: NotebookSpec | None = None) -> dict:
    return {**study.parameters, **(nb.parameters if nb is not None else {}), **study.overrides}


def notebook_parameters(study: Study, nb: NotebookSpec, report_dir: Path, show_names: bool,
                        engine: str | None = None) -> dict:
    """What papermill injects into ``nb``: the study's, the notebook entry's and the command line's
    parameters (secrets left out) and the runner's own; `engine` (the data engine the run chose) only
    when the notebook declares it."""
    return {
        **{k: v for k, v in _merged(study, nb).items() if k not in SECRET_PARAMETERS},
        "data_dir": str(study.data_dir),
        "report_dir": str(report_dir),
        "cache_dir": str(run_cache_folder(report_dir / CACHE_FOLDER)),
        "validated": True,
        "study_title": study.title,
        SHOW_NAMES: show_names,
        **({"engine": engine} if engine is not None and declares(nb, "engine") else {}),
    }


def declares(nb: NotebookSpec, name: str) -> bool:
    """True when the notebook's parameters cell declares `name`."""
    from .spec import declared_parameters

    return name in (declared_parameters(nb.path) or {})


def _data_period(dataset) -> tuple[Any, Any] | None:
    if hasattr(dataset, "period") and callable(dataset.period):        # a data set in SQL
        start, end = dataset.period()
        return (start, end) if start is not None else None
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

    def __init__(self, study: Study, reports_root: Path, kernel: str, name_agents: bool, err: TextIO,
                 jobs: int = 1):
        self.study = study
        self.kernel = kernel
        self.jobs = max(1, int(jobs))
        self.err = err
        self.progress = _Progress(err)
        self.study_dir = reports_root / study.name
        self.started = utc_now()
        self.clock = time.perf_counter()
        self.stamp = self.started.strftime(TIMESTAMP_FORMAT)
        self.staging = make_unique_dir(self.study_dir, f".staging-{self.stamp}")
        write_owner(self.staging)
        self.show_names = bool(name_agents or study.show_names)
        from upstream.data.sql import choose_engine
        from upstream.studies.registry import engine_for

        self.engine = choose_engine(study.data_dir, getattr(study, "engine", "auto"))
        self.runs = [
            NotebookRun(nb.name, nb.path, notebook_parameters(study, nb, self.staging, self.show_names,
                                                              engine_for(nb.name, self.engine)),
                        salt=salt_parameter(_merged(study, nb)))
            for nb in study.notebooks
        ]
        public = {k: v for k, v in _merged(study).items() if k not in SECRET_PARAMETERS}
        self.summary: Any = None
        self.period_label: str | None = None
        self.manifest: dict[str, Any] = {
            "study": study.name,
            "title": study.title,
            "study_yaml": str(study.yaml_path),
            "status": "running",
            "parameters": {
                **public,
                "data_dir": str(study.data_dir),
                "validated": True,
                "study_title": study.title,
                SHOW_NAMES: self.show_names,
            },
            "engine": self.engine,
            "data_dir": str(study.data_dir),
            "data_fingerprint": None,
            "period": None,
            "package_version": upstream.__version__,
            "python_version": platform.python_version(),
            "kernel": kernel,
            "notebooks": [],
            "total_seconds": None,
            "validation": None,
            "pseudonyms": {"agents_shown_as": "agent ids" if self.show_names else "pseudonyms",
                           "salt": self._salt_source()},
            "started_at": iso(self.started),
            "finished_at": None,
        }

    def _salt_source(self) -> str:
        if any(run.salt is not None for run in self.runs):
            return "study parameter (secret, not recorded)"
        if os.environ.get(privacy.SALT_ENV, "").strip():
            return f"{privacy.SALT_ENV} (secret, not recorded)"
        return "this installation's key (secret, not recorded)"

    def check_pseudonym_key(self) -> None:
        """Create (or read) the installation's pseudonym key now, in this process, so that a
        notebook never fails on it and concurrent kernels only read it."""
        if all(run.salt is not None for run in self.runs) or os.environ.get(privacy.SALT_ENV, "").strip():
            return
        try:
            privacy.installation_salt()
        except privacy.PseudonymKeyError as exc:
            raise _Failure(EXIT_FAILED, "failed", [f"Pseudonyms: {exc}.", "Nothing was published."],
                           details=f"{exc}\n") from None

    def write_validation_page(self, validation) -> None:
        if validation is None:
            return
        with contextlib.suppress(Exception):  # the page is a courtesy; the message says it all
            (self.staging / VALIDATION_PAGE).write_text(
                validation_html(validation, title=self.study.title, version=upstream.__version__),
                encoding="utf-8")

    # -- step 1
    def validate_data(self) -> None:
        """Load and validate the data once, writing validation.html into the staging folder."""
        study, staging = self.study, self.staging
        self.check_pseudonym_key()
        engine = "" if self.engine == "pandas" else f" with {self.engine}"
        self.progress.start(f"Validating {display_path(study.data_dir)}{engine}")
        t0 = time.perf_counter()
        try:
            from upstream.data import DataError
            from upstream.data.sql import open_dataset
        except ImportError as exc:
            self.progress.end("failed")
            raise _Failure(EXIT_BAD_INPUT, "failed", [f"upstream.data is not available ({exc}).", "Nothing was "
                                                                                                  "published."],
                           details=traceback.format_exc()) from None
        try:
            with captured_output(staging / "validation.log"):
                dataset = open_dataset(study.data_dir, engine=self.engine, validate=True)
            validation = getattr(dataset, "validation", None)
            if validation is not None and getattr(validation, "ok", True) is False:
                raise DataError(validation.failures, study.data_dir, report=validation)
        except DataError as exc:
            self.progress.end("failed")
            message = str(exc).rstrip()
            report_obj = getattr(exc, "report", None)
            if report_obj is not None and hasattr(report_obj, "summary"):
                self.manifest["validation"] = _relocate(report_obj.summary(), staging)
                self.write_validation_page(report_obj)
            raise _Failure(EXIT_BAD_INPUT, "invalid data",
                           ["", message, "", "The validation output is kept in {kept}", "Nothing was published."],
                           message=message, details=message + "\n") from None
        except Exception as exc:  # a bug or an environment problem, not bad data
            self.progress.end("failed")
            raise _Failure(
                EXIT_FAILED, "failed",
                [f"Loading the data failed: {type(exc).__name__}: {short(exc)}", "Details: {kept}/message.txt",
                 "Nothing was published."],
                details=traceback.format_exc(),
            ) from None
        validation = getattr(dataset, "validation", None)
        self.write_validation_page(validation)
        stage_reached("validation")
        self.progress.end(f"ok in {seconds_text(time.perf_counter() - t0)}")
        self.summary = _relocate(validation.summary(), staging) if validation is not None else None
        self.manifest["validation"] = self.summary
        self.check_estimable(dataset)
        self.manifest["data_fingerprint"] = getattr(dataset, "fingerprint", None)
        period = _data_period(dataset)
        if period:
            self.period_label = report.period_text(*period)
            self.manifest["period"] = {"start": period[0], "end": period[1], "text": self.period_label}
        if hasattr(dataset, "engine"):      # each notebook opens its own (a Spark session: its own application)
            dataset.engine.close()

    def check_estimable(self, dataset) -> None:
        """Valid data that leave nothing to estimate stop here, before any model (exit 2) — for a run of
        Upstream's own studies (an analyst's own notebook may need no CSAT model at all)."""
        from upstream.data.estimability import estimability_problems
        from upstream.studies import STUDY_NAMES

        if not any(run.name in STUDY_NAMES for run in self.runs):
            return
        problems = estimability_problems(dataset)
        if problems:
            message = (f"{display_path(self.study.data_dir)}: the data pass every validation rule, but the studies "
                       "cannot be estimated from them:\n" + "\n".join(f"  - {p}" for p in problems))
            raise _Failure(EXIT_BAD_INPUT, "cannot be estimated",
                           ["", message, "", "The validation output is kept in {kept}", "Nothing was published."],
                           message=message, details=message + "\n")

    # -- step 2
    def execute_notebooks(self) -> None:
        """Execute the notebooks (see ``_execute_all``); stop at the first failure."""
        kernel_log = self.staging / "kernel.log"
        kernel_config = kernel_manager_config(kernel_log)
        try:
            self._execute_all(kernel_config)
        finally:
            if kernel_log.exists() and kernel_log.stat().st_size == 0:
                kernel_log.unlink()

    def _execute_all(self, kernel_config) -> None:
        """The first notebook alone (it fits the models the others share through the run's cache), then
        the rest `self.jobs` at a time, in order; each in its own kernel. After a failure no further
        notebook starts; those running finish, and the first failure is reported."""
        total = len(self.runs)
        first = self.runs[0]
        self.progress.start(f"[1/{total}] {first.name}")
        error = self._execute(first, kernel_config)
        self.progress.end(f"failed after {seconds_text(first.seconds)}" if error else
                          f"done in {seconds_text(first.seconds)}")
        if error is None and total > 1:
            error = self._execute_rest(kernel_config, total)
        if error is not None:
            run, exc = error
            for later in self.runs:
                if later.status == "pending":
                    later.status = "skipped"
            raise self._notebook_failure(run, self.staging / f"{run.name}.ipynb", exc) from None

    def _execute_rest(self, kernel_config, total: int):
        """Notebooks 2..n, `self.jobs` at a time; a progress line as each finishes. (run, exception) of
        the first failure, or None."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        waiting = list(enumerate(self.runs[1:], start=2))
        error = None
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="notebook") as pool:
            running = {}
            while waiting or running:
                while waiting and error is None and len(running) < self.jobs:
                    i, run = waiting.pop(0)
                    running[pool.submit(self._execute, run, kernel_config)] = (i, run)
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f][0]):
                    i, run = running.pop(future)
                    failed = future.result()
                    self.progress.start(f"[{i}/{total}] {run.name}")
                    self.progress.end(f"failed after {seconds_text(run.seconds)}" if failed else
                                      f"done in {seconds_text(run.seconds)}")
                    error = error or failed
        return error

    def _execute(self, run: NotebookRun, kernel_config):
        """Execute one notebook with papermill in its own kernel; (run, exception) if it failed, else None."""
        import papermill

        t0 = time.perf_counter()
        run.status = "running"
        hooks = {}
        if os.environ.get(KILL_AT_ENV) == "notebook":
            hooks["on_cell_executed"] = lambda **_: stage_reached("notebook")
        try:
            papermill.execute_notebook(
                str(run.path),
                str(self.staging / f"{run.name}.ipynb"),
                parameters=run.parameters,
                kernel_name=self.kernel,
                progress_bar=False,
                log_output=False,
                config=kernel_config,
                kernel_manager_class=logged_kernel_manager_class(salt_environment(run.salt), str(run.path.parent)),
                **hooks,
            )
        except Exception as exc:  # noqa: BLE001 - reported as the notebook's failure
            run.seconds, run.status = time.perf_counter() - t0, "failed"
            return run, exc
        run.seconds, run.status = time.perf_counter() - t0, "succeeded"
        return None

    def _notebook_failure(self, run: NotebookRun, output: Path, exc: Exception) -> _Failure:
        # PapermillExecutionError carries the cell's exception; kernel deaths and timeouts do not.
        ename = getattr(exc, "ename", None) or type(exc).__name__
        evalue = getattr(exc, "evalue", None)
        evalue = str(exc) if evalue is None else str(evalue)
        cell = getattr(exc, "exec_count", None)
        run.error = {"type": ename, "message": evalue, "execution_count": cell}
        lines = [f"Notebook {run.name} failed{f' in cell [{cell}]' if cell is not None else ''}: {ename}: "
                 f"{short(evalue)}"]
        if output.exists():
            try:  # the analyst's view of the failure: code and traceback
                export_html(output, self.staging / f"{run.name}.html", with_code=True, title=f"{run.name} (failed)")
                lines.append(f"Executed notebook with the error: {{kept}}/{output.name} (HTML with code: "
                             f"{{kept}}/{run.name}.html)")
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
        links = agent_page_links(staging)  # the agent pages written below; notebook tables link to them
        for run in self.runs:
            findings_path = staging / f"{run.name}{report.FINDINGS_SUFFIX}"
            record = report.read_findings(findings_path) if findings_path.exists() else None
            title = (record or {}).get("title") or run.name
            export_html(staging / f"{run.name}.ipynb", staging / f"{run.name}.html", with_code=False, title=title,
                        agent_links=links)
            stage_reached("export")
            if record and record["sentences"]:
                findings.append({"title": title, "sentences": record["sentences"], "href": f"{run.name}.html",
                                 "group": record.get("group", ""), "notes": record.get("notes", [])})
            pages.append(
                {
                    "title": title,
                    "html": f"{run.name}.html",
                    "ipynb": f"{run.name}.ipynb",
                    "seconds_text": seconds_text(run.seconds or 0.0),
                }
            )
        study = self.study
        write_agent_pages(staging, title=study.title, period=self.period_label, version=upstream.__version__)
        shown_parameters = {**{k: v for k, v in _merged(study).items() if k not in SECRET_PARAMETERS},
                            SHOW_NAMES: self.show_names}
        index = index_html(
            {
                "title": study.title,
                "period": self.period_label,
                "study_name": study.name,
                "study_yaml": display_path(study.yaml_path),
                "findings": findings,
                "groups": lists_to_tables(group_findings(findings)),
                "leading": first_screen.leading_findings(staging, {run.name: f"{run.name}.html" for run in self.runs}),
                "agent_table": first_screen.agent_table(staging, links),
                "policy_table": first_screen.policy_table(staging),
                "notebooks": pages,
                "tables": sorted(p.relative_to(staging).as_posix() for p in (staging / "tables").glob("*.csv")),
                "validation": validation_view(self.summary),
                "validation_href": VALIDATION_PAGE if (staging / VALIDATION_PAGE).is_file() else None,
                "data_dir": str(study.data_dir),
                "fingerprint": self.manifest["data_fingerprint"] or "unknown",
                "parameters": [
                    (k, json.dumps(v, ensure_ascii=False, default=json_default))
                    for k, v in sorted(shown_parameters.items())
                ],
                "version": upstream.__version__,
                "python_version": platform.python_version(),
                "kernel": self.kernel,
                "run_seconds_text": seconds_text(time.perf_counter() - self.clock),
                "finished_at": utc_now().strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        (staging / "index.html").write_text(index, encoding="utf-8")
        (staging / GLOSSARY_PAGE).write_text(glossary_html(), encoding="utf-8")
        self.write_manifest("succeeded")

    def write_manifest(self, status: str) -> None:
        self.manifest["status"] = status
        self.manifest["tables"] = sorted(p.relative_to(self.staging).as_posix()
                                         for p in (self.staging / "tables").glob("*.csv"))
        self.manifest["notebooks"] = [run.record() for run in self.runs]
        self.manifest["total_seconds"] = round(time.perf_counter() - self.clock, 3)
        self.manifest["finished_at"] = iso(utc_now())
        write_json(self.staging / "manifest.json", self.manifest)

    # -- step 5
    def publish(self) -> Path:
        """Rename staging to reports/<study>/<timestamp>/ and repoint latest to it."""
        shutil.rmtree(self.staging / CACHE_FOLDER, ignore_errors=True)
        (self.staging / OWNER_FILE).unlink(missing_ok=True)
        run_dir = move_to_unique(self.staging, self.study_dir, self.stamp)
        stage_reached("publish")
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
        shutil.rmtree(self.staging / CACHE_FOLDER, ignore_errors=True)
        with contextlib.suppress(OSError):
            (self.staging / OWNER_FILE).unlink(missing_ok=True)
        kept = move_to_unique(self.staging, self.study_dir / "_failed", self.stamp)
        with contextlib.suppress(ValueError, OSError):  # a bad $UPSTREAM_KEEP_FAILED is refused before the run
            prune_failed(self.study_dir / "_failed", keep_failed_count())
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
    jobs: int | None = None,
) -> RunResult:
    """Run ``study`` end to end (see the module docstring). Progress and problems go to
    ``stderr`` (default sys.stderr); the caller prints ``RunResult.index_path``. ``jobs``: notebooks
    run side by side after the first (default: $UPSTREAM_JOBS, else 2 on a machine with two cores or
    more)."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"  # before anything imports great_expectations
    reports_root = Path(reports_dir).resolve() if reports_dir is not None else repo_root() / "reports"
    err = stderr if stderr is not None else sys.stderr
    study_dir = reports_root / study.name
    try:
        study_dir.mkdir(parents=True, exist_ok=True)
        lock = StudyLock(study_dir, study.name, err)
        lock.acquire()
    except OSError as exc:
        err.write(f"upstream: error: cannot create the run folder under {study_dir}: {exc.strerror or exc}\n")
        return RunResult(EXIT_BAD_INPUT, message=str(exc))
    try:
        return _run_locked(study, reports_root, kernel, name_agents, err, default_jobs() if jobs is None else jobs)
    finally:
        lock.release()


def default_jobs() -> int:
    """Notebooks run side by side: $UPSTREAM_JOBS, else min(2, CPU count). Each kernel holds its own copy
    of the data's frames, so more than two buys little on the sample and costs memory on large data."""
    value = os.environ.get("UPSTREAM_JOBS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise StudyError(f"UPSTREAM_JOBS must be a whole number of notebooks (1 or more), got {value!r}")
        return int(value)
    return max(1, min(2, os.cpu_count() or 1))


def _run_locked(study: Study, reports_root: Path, kernel: str, name_agents: bool, err: TextIO,
                jobs: int = 1) -> RunResult:
    """``run_study`` once the study lock is held: clear dead runs' folders, then run."""
    try:
        clear_stale_staging(reports_root / study.name, err)
        run = _StudyRun(study, reports_root, kernel, name_agents, err, jobs)
    except OSError as exc:
        err.write(f"upstream: error: cannot create the run folder under {reports_root / study.name}: "
                  f"{exc.strerror or exc}\n")
        return RunResult(EXIT_BAD_INPUT, message=str(exc))
    try:
        with kernel_environment(blas_threads(jobs)), quiet_loggers(run.staging / "run.log"):
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
            [f"Assembling the report failed: {type(exc).__name__}: {short(exc)}", "Details: {kept}/message.txt",
             "Nothing was published; earlier reports are unchanged."],
            details=traceback.format_exc(),
        )
        return RunResult(EXIT_FAILED, run.keep_failed(failure), message=str(exc))
    run_dir = run.publish()
    return RunResult(EXIT_OK, run_dir, run_dir / "index.html")

