"""What every study shares: its parameters, its result, and a per-run cache of fitted models.

A study is a pipeline `run(dataset, params, cache) → StudyResult`: named steps (functions in
``steps`` and in the study's own module) whose fitted models and bootstrap draws are cached per run,
so a report with several notebooks fits each model once. The StudyResult carries everything a
notebook shows or a run publishes: Key findings (sentences computed from the numbers), tables
(published as CSV under ``tables/``), figures, the health of every fit used, and the period.
"""
from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..reporting import privacy
from ..survey.constants import SCREEN_Z
from .allowed import ParameterError, allowed, allowed_values, check_kind, check_ranges

#: Columns that hold agent ids in published tables; they are pseudonymised unless names are asked for.
AGENT_COLUMNS = ("agent_id",)


@dataclass(frozen=True)
class Parameters:
    """Study parameters (the notebooks' parameters cells and the study YAML set them).

    reliability_threshold: agents below it are "not enough responses to rank".
    practical_margin: δ in score points; a verdict needs P(effect beyond ±δ) ≥ 1 − max_false_sign, and trends
    calls a part of a change "no change" only when its 95% interval lies within ±δ.
    None (default): 1.25% of the scale's range — 0.05 points on CSAT 1–5, 1.25 percentage points on good/bad.
    max_false_sign: the largest acceptable chance that a verdict has the wrong sign.
    n_boot, seed: parametric bootstrap replicates and seed. screen_z: one-sided z of the survey screen (None: the
    default, ``survey.constants.SCREEN_Z``).
    tipping_shift: the change in mean CSAT the tipping-point analysis asks about (score points).
    show_names: agent ids instead of pseudonyms. pseudonym_salt: None = this installation's secret salt.
    """

    reliability_threshold: float = field(default=0.7, metadata=allowed("number", 0, 1, low_open=True, high_open=True))
    practical_margin: float | None = field(default=None, metadata=allowed(
        "number", 0, unit="score points", none="1.25% of the scale's range"))
    max_false_sign: float = field(default=0.05, metadata=allowed("number", 0, 0.5, low_open=True, high_open=True))
    n_boot: int = field(default=1000, metadata=allowed("whole number", 100, unit="for 95% intervals"))
    seed: int = field(default=2026, metadata=allowed("whole number", 1))
    screen_z: float = field(default=SCREEN_Z, metadata=allowed("number", 0, low_open=True,
                                                               none=f"the default, {SCREEN_Z:g}"))
    tipping_shift: float = field(default=0.1, metadata=allowed("number"))
    show_names: bool = field(default=False, metadata=allowed("true or false"))
    pseudonym_salt: str | None = field(default=None, metadata=allowed("text", none="this installation's secret salt",
                                                                      secret=True))

    @classmethod
    def from_mapping(cls, values: dict | None = None, **more) -> "Parameters":
        """Parameters of `cls` (this class or a study's subclass) from a mapping. Each value is checked
        against what its field declares (``allowed``: kind, range, whether None is allowed); an unknown
        name, a wrong kind or a value out of range raise ParameterError. Subclasses add rules between
        parameters. Nothing here repeats a default: a field's default and what it allows are declared once."""
        values = {**(values or {}), **more}
        rules = allowed_values(cls)
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ParameterError(f"unknown study parameter(s): {', '.join(unknown)} (known: {', '.join(known)})")
        checked = {name: check_kind(name, value, rules[name]) for name, value in values.items()}
        # a None where the field's default is a value means that default (notebooks pass screen_z = None)
        params = cls(**{name: value for name, value in checked.items()
                        if value is not None or dataclasses.fields(cls)[known.index(name)].default is None})
        check_ranges(params)  # the ranges declared on the fields (``allowed``), subclasses' own fields too
        return params

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class ModelSummary:
    """The fitted model behind a study's variance-components table: its formula, replies, agents (None: not
    counted), bootstrap replicates and variance components."""

    formula: str
    nobs: int
    n_boot: int
    varcorr: pd.DataFrame
    n_agents: int | None = None


@dataclass(frozen=True)
class StudyDeclaration:
    """What a study package (``upstream.studies.<name>``) declares once, as its ``STUDY``: its name (the
    folder's and the notebook's), title and index group, its parameters class (fields, defaults and what each
    allows: the notebook's parameters cell must agree with them), the names of the tables it may publish as
    ``tables/<name>.csv`` (unique across studies but for ``steps.SHARED_TABLES``), its pipeline
    `run(dataset, params, cache)`, its page, `page(result)`: the tables its notebook shows (``display``), and
    the data engines its pipeline can read a data set with (``engines``: "pandas" holds the rows in memory;
    "duckdb" and "spark" leave them in SQL and need a pipeline that works from aggregates)."""

    name: str
    title: str
    group: str
    parameters: type[Parameters]
    tables: tuple[str, ...]
    run: Callable[..., StudyResult]
    page: Callable[[StudyResult], Any]
    engines: tuple[str, ...] = ("pandas",)


@dataclass
class StudyResult:
    """One study's output. `tables` hold real agent ids; `publish` pseudonymises them unless the
    parameters ask for names. `health` holds "<model>: <statement>" for every fit that has a problem;
    `values` holds what the notebook narrative and the page quote, as the study's own frozen values object
    (e.g. ``agent_vs_system.AgentVsSystemValues``; None when the study had nothing to compute); `group` is the
    study module's GROUP, under
    which the index page lists the study's findings."""

    study: str
    title: str
    period: str
    parameters: Parameters
    findings: list[str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    health: list[str] = field(default_factory=list)
    values: Any = None
    fits: dict[str, Any] = field(default_factory=dict, repr=False)
    agent_ids: tuple[str, ...] = ()            # every agent of the data set (pseudonyms are made over all)
    _labels: pd.Series | None = field(default=None, repr=False)
    group: str = ""                       # the index page's group of studies, e.g. "Agents", "Operations"

    def labels(self, ids) -> pd.Series:
        """Agent labels: ids themselves with show_names, else the installation's pseudonyms. Every
        table gets the same label for an agent: the pseudonyms are made once, over all the data set's
        agents (`agent_ids`) and any other id asked for, so a lengthened code is lengthened everywhere."""
        ids = pd.Index(ids).astype(str)
        if self.parameters.show_names:
            return pd.Series(ids, index=ids)
        known = self._labels.index if self._labels is not None else pd.Index([])
        if self._labels is None or not ids.isin(known).all():
            everyone = pd.Index(self.agent_ids).astype(str).union(known).union(ids.unique())  # a table may repeat an id
            self._labels = privacy.pseudonymise(pd.Series(everyone, index=everyone),
                                                self.parameters.pseudonym_salt)  # None: the installation's key
        return self._labels.reindex(ids)

    def published_table(self, name: str) -> pd.DataFrame:
        """A table as it is published: index as a column, agent ids replaced by their labels."""
        table = self.tables[name]
        out = table.reset_index() if any(n is not None for n in table.index.names) else table.copy()
        for column in AGENT_COLUMNS:
            if column in out:
                out[column] = self.labels(out[column]).to_numpy()
        return out

    def page_tables(self) -> dict:
        """The tables this study's page shows, readable, by name in page order (its package's ``display.page``;
        see ``reporting.display.pages``)."""
        from ..reporting.display.pages import page_tables
        from .registry import declared

        return page_tables(self, declared(self.study).page)

    def _repr_html_(self) -> str:
        """Jupyter: the title and period, the Key findings, the tables (as `tables/<name>.csv` publishes
        them: rows × columns) and the model notes."""
        from html import escape

        items = "".join(f"<li>{escape(s)}</li>" for s in self.findings)
        tables = ", ".join(f"<code>{escape(name)}</code> ({len(t):,} × {t.shape[1]})"
                           for name, t in self.tables.items())
        notes = "".join(f"<li>{escape(s)}</li>" for s in self.health)
        return (f'<div class="upstream-study"><p><strong>{escape(self.title)}</strong>: {escape(self.period)}</p>'
                f"<p>Key findings</p><ul>{items}</ul><p>Tables: {tables or 'none'}</p>"
                + (f"<p>Model notes</p><ul>{notes}</ul>" if notes else "") + "</div>")

    def publish(self, report_dir: str | os.PathLike | None) -> list[Path]:
        """Write `tables/<name>.csv` (floats to 10 significant digits, so reruns are byte-identical)
        into `report_dir`; nothing when `report_dir` is None (a notebook opened by hand)."""
        if report_dir is None:
            return []
        self.check_table_names()
        folder = Path(report_dir) / "tables"
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name in self.tables:
            path = folder / f"{name}.csv"
            tmp = path.with_name(f".{path.name}.tmp")
            self.published_table(name).to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")
            os.replace(tmp, path)
            written.append(path)
        return written


    def check_table_names(self) -> None:
        """ValueError when an Upstream study holds a table its package does not declare (``STUDY.tables``): a
        name published unannounced could overwrite another study's CSV in a run's shared tables/ folder."""
        from .registry import STUDY_NAMES, declared

        if self.study not in STUDY_NAMES:
            return
        undeclared = [name for name in self.tables if name not in declared(self.study).tables]
        if undeclared:
            raise ValueError(f"{self.study} made the table(s) {', '.join(undeclared)}, which upstream.studies."
                             f"{self.study}.STUDY.tables does not declare")


class RunCache:
    """Fitted models and bootstrap draws shared by the notebooks of one run: kept in memory, and in
    `folder` (pickles) when the runner gives one, so a second notebook reuses what the first fitted.
    Keys combine the step name, the data fingerprint and the parameters the step depends on.

    With a folder each key is computed once per run across processes: the first to ask holds an exclusive
    lock on ``<key>.lock`` (``fcntl.flock``) while it computes and writes ``<key>.pkl``; another kernel asking
    for the same key waits on the lock, then loads the pickle. The kernel releases a lock when its process
    dies, so a killed notebook leaves no deadlock: the next process to ask computes the key itself."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = None if folder is None else Path(folder)
        self.memory: dict[str, Any] = {}

    @staticmethod
    def key(step: str, **parts) -> str:
        text = json.dumps(parts, sort_keys=True, default=str)
        return f"{step}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    def get(self, step: str, compute: Callable[[], Any], **parts) -> Any:
        key = self.key(step, **parts)
        if key in self.memory:
            return self.memory[key]
        value = compute() if self.folder is None else self._shared(key, compute)
        self.memory[key] = value
        return value

    def _shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """The value of `key` from the folder, computed by this process under the key's lock when no process
        has written it yet."""
        path = self.folder / f"{key}.pkl"
        if not path.is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / f"{key}.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)         # released when the file closes or the process dies
                if not path.is_file():                   # no other process wrote it while this one waited
                    value = compute()
                    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                    with open(tmp, "wb") as handle:
                        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
                    os.replace(tmp, path)
                    return value
        with open(path, "rb") as handle:
            return pickle.load(handle)
