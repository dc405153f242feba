"""What every study shares: its parameters, its result, and a per-run cache of fitted models.

A study is a pipeline `run(dataset, params, cache) → StudyResult`: named steps (functions in
``steps`` and in the study's own module) whose fitted models and bootstrap draws are cached per run,
so a report with several notebooks fits each model once. The StudyResult carries everything a
notebook shows or a run publishes: Key findings (sentences computed from the numbers), tables
(published as CSV under ``tables/``), figures, the health of every fit used, and the period.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..reporting import privacy
from .allowed import ParameterError, allowed, check_ranges

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
    n_boot, seed: parametric bootstrap replicates and seed. screen_z: one-sided z of the survey screen.
    tipping_shift: the change in mean CSAT the tipping-point analysis asks about (score points).
    show_names: agent ids instead of pseudonyms. pseudonym_salt: None = this installation's secret salt.
    """

    reliability_threshold: float = field(default=0.7, metadata=allowed("number", 0, 1, low_open=True, high_open=True))
    practical_margin: float | None = field(default=None, metadata=allowed(
        "number", 0, unit="score points", none="1.25% of the scale's range"))
    max_false_sign: float = field(default=0.05, metadata=allowed("number", 0, 0.5, low_open=True, high_open=True))
    n_boot: int = field(default=1000, metadata=allowed("whole number", 100, unit="for 95% intervals"))
    seed: int = field(default=2026, metadata=allowed("whole number", 1))
    screen_z: float = field(default=1.81, metadata=allowed("number", 0, low_open=True))   # screen.DEFAULT_Z
    tipping_shift: float = field(default=0.1, metadata=allowed("number"))
    show_names: bool = field(default=False, metadata=allowed("true or false"))
    pseudonym_salt: str | None = field(default=None, metadata=allowed("text", none="this installation's secret salt"))

    @classmethod
    def from_mapping(cls, values: dict | None = None, **more) -> "Parameters":
        """Parameters from a mapping (unknown names and wrong types raise ParameterError)."""
        values = {**(values or {}), **more}
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ParameterError(f"unknown study parameter(s): {', '.join(unknown)} (known: {', '.join(known)})")
        out = {}
        for name, value in values.items():
            default = known[name].default
            if name == "practical_margin" and value is None:
                pass
            elif name == "pseudonym_salt":
                if value is not None and (not isinstance(value, str) or not value):
                    raise ParameterError("pseudonym_salt must be a non-empty text or None")
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ParameterError(f"{name} must be true or false, got {value!r}")
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ParameterError(f"{name} must be a whole number >= 1, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParameterError(f"{name} must be a number, got {value!r}")
            out[name] = value
        params = cls(**out)
        check_ranges(params)  # the ranges declared on the fields (``allowed``), subclasses' own fields too
        return params

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class StudyResult:
    """One study's output. `tables` hold real agent ids; `publish` pseudonymises them unless the
    parameters ask for names. `health` holds "<model>: <statement>" for every fit that has a problem;
    `values` holds numbers the notebook narrative quotes; `group` is the study module's GROUP, under
    which the index page lists the study's findings."""

    study: str
    title: str
    period: str
    parameters: Parameters
    findings: list[str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    health: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
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


class RunCache:
    """Fitted models and bootstrap draws shared by the notebooks of one run: kept in memory, and in
    `folder` (pickles) when the runner gives one, so a second notebook reuses what the first fitted.
    Keys combine the step name, the data fingerprint and the parameters the step depends on."""

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
        path = None if self.folder is None else self.folder / f"{key}.pkl"
        if path is not None and path.is_file():
            with open(path, "rb") as handle:
                value = pickle.load(handle)
        else:
            value = compute()
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.tmp")
                with open(tmp, "wb") as handle:
                    pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, path)
        self.memory[key] = value
        return value
