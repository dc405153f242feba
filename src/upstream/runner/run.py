"""The study runner: validate the data once, execute a study's notebooks with papermill, export
leadership HTML (no code, offline, printable), and publish the run atomically.

A run is assembled in ``reports/<study>/.staging-<timestamp>/`` and renamed to
``reports/<study>/<timestamp>/`` only when every step succeeded; ``reports/<study>/latest`` is
then repointed to it. A failed run is moved to ``reports/<study>/_failed/<timestamp>/`` and never
touches earlier reports. Exit codes: 0 published, 1 a notebook (or report assembly) failed,
2 bad input (study YAML, command line, data).

The notebook contract: a cell tagged ``parameters`` declares every parameter the study passes
plus the six the runner injects: ``data_dir`` (absolute), ``report_dir`` (the run folder, None
when the notebook is opened by hand), ``cache_dir`` (the run's cache of fitted models, shared by its
notebooks and deleted before publishing), ``validated`` (True: the data passed validation, load it
with ``validate=False``), ``study_title`` and ``show_names``. A notebook publishes its key
findings for the index page with ``upstream.report.publish_findings(report_dir, "<file stem>",
title, sentences)``; any other file it writes into ``report_dir`` is published with the run.
Cells tagged ``remove-cell`` are left out of the leadership HTML, outputs of cells tagged
``remove-output`` too. The kernel process's own stdout/stderr goes to ``kernel.log`` and library
logging to ``run.log`` in the run folder.
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
from upstream.reporting import notebook as report

from .export import export_html
from .index_page import index_html, json_default, short, validation_view, write_json
from .kernel import (DEFAULT_KERNEL, captured_output, kernel_environment, kernel_manager_config,
                     logged_kernel_manager_class, quiet_loggers)
from .publish import TIMESTAMP_FORMAT, iso, make_unique_dir, move_to_unique, point_latest, seconds_text, utc_now
from .spec import SHOW_NAMES, NotebookSpec, Study, display_path, repo_root

CACHE_FOLDER = ".cache"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


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


def notebook_parameters(study: Study, nb: NotebookSpec, report_dir: Path, show_names: bool) -> dict:
    return {
        **study.parameters,
        **nb.parameters,
        **study.overrides,
        "data_dir": str(study.data_dir),
        "report_dir": str(report_dir),
        "cache_dir": str(report_dir / CACHE_FOLDER),
        "validated": True,
        "study_title": study.title,
        SHOW_NAMES: show_names,
    }


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
        self.started = utc_now()
        self.clock = time.perf_counter()
        self.stamp = self.started.strftime(TIMESTAMP_FORMAT)
        self.staging = make_unique_dir(self.study_dir, f".staging-{self.stamp}")
        self.show_names = bool(name_agents or study.show_names)
        self.runs = [
            NotebookRun(nb.name, nb.path, notebook_parameters(study, nb, self.staging, self.show_names))
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
            "started_at": iso(self.started),
            "finished_at": None,
        }

    # -- step 1
    def validate_data(self) -> None:
        """Load and validate the data once, writing Data Docs into the staging folder."""
        study, staging = self.study, self.staging
        self.progress.start(f"Validating {display_path(study.data_dir)}")
        t0 = time.perf_counter()
        try:
            from upstream.data import DataError, load_dataset
        except ImportError as exc:
            self.progress.end("failed")
            raise _Failure(EXIT_BAD_INPUT, "failed", [f"upstream.data is not available ({exc}).", "Nothing was published."],
                           details=traceback.format_exc()) from None
        try:
            with captured_output(staging / "validation.log"):
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
                [f"Loading the data failed: {type(exc).__name__}: {short(exc)}", "Details: {kept}/message.txt",
                 "Nothing was published."],
                details=traceback.format_exc(),
            ) from None
        self.progress.end(f"ok in {seconds_text(time.perf_counter() - t0)}")
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
        kernel_config = kernel_manager_config(kernel_log)
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
                    kernel_manager_class=logged_kernel_manager_class(),
                )
            except Exception as exc:
                run.seconds = time.perf_counter() - t0
                run.status = "failed"
                for later in self.runs[i:]:
                    later.status = "skipped"
                self.progress.end(f"failed after {seconds_text(run.seconds)}")
                raise self._notebook_failure(run, output, exc) from None
            run.seconds = time.perf_counter() - t0
            run.status = "succeeded"
            self.progress.end(f"done in {seconds_text(run.seconds)}")

    def _notebook_failure(self, run: NotebookRun, output: Path, exc: Exception) -> _Failure:
        # PapermillExecutionError carries the cell's exception; kernel deaths and timeouts do not.
        ename = getattr(exc, "ename", None) or type(exc).__name__
        evalue = getattr(exc, "evalue", None)
        evalue = str(exc) if evalue is None else str(evalue)
        cell = getattr(exc, "exec_count", None)
        run.error = {"type": ename, "message": evalue, "execution_count": cell}
        lines = [f"Notebook {run.name} failed{f' in cell [{cell}]' if cell is not None else ''}: {ename}: {short(evalue)}"]
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
                    "seconds_text": seconds_text(run.seconds or 0.0),
                }
            )
        study = self.study
        shown_parameters = {**study.parameters, **study.overrides, SHOW_NAMES: self.show_names}
        index = index_html(
            {
                "title": study.title,
                "period": self.period_label,
                "study_name": study.name,
                "study_yaml": display_path(study.yaml_path),
                "findings": findings,
                "notebooks": pages,
                "tables": sorted(p.relative_to(staging).as_posix() for p in (staging / "tables").glob("*.csv")),
                "validation": validation_view(self.summary),
                "data_docs_href": "data_docs/index.html" if (staging / "data_docs" / "index.html").is_file() else None,
                "data_dir": str(study.data_dir),
                "fingerprint": self.manifest["data_fingerprint"] or "unknown",
                "parameters": [
                    (k, json.dumps(v, ensure_ascii=False, default=json_default)) for k, v in sorted(shown_parameters.items())
                ],
                "version": upstream.__version__,
                "python_version": platform.python_version(),
                "kernel": self.kernel,
                "run_seconds_text": seconds_text(time.perf_counter() - self.clock),
                "finished_at": utc_now().strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        (staging / "index.html").write_text(index, encoding="utf-8")
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
        run_dir = move_to_unique(self.staging, self.study_dir, self.stamp)
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
        kept = move_to_unique(self.staging, self.study_dir / "_failed", self.stamp)
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
        with kernel_environment(), quiet_loggers(run.staging / "run.log"):
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
