"""What metric_health asks of the contacts, asked in SQL (DuckDB or Spark): only per-agent, per-day,
per-month, per-cell and per-value results come back (``analysis.metric_sums`` turns them into the pandas
path's inputs).

- `prepare_metric_rows`: `metric_rows`, one row per contact with the columns of ``speed.metric_frame``
  (log_handle_time = ln(1 + seconds), came_back and marked_resolved as 1/0) and its day, month and period
  (before/after a change day, or the month): a view (`set_metric_period`) over the table `metric_base`.
- `design`: the fixed-effect columns of a model on a table's rows — treatment dummies of factors in lmer's
  order (levels sorted, or the order given; reference first) and numeric columns — as SQL expressions.
- `totals`, `group_sums`: X'X, X'y, y'y over the rows, and per level of a grouping column n, X'1, X'y, 1'y,
  y'y (the sums a one-factor `lmer` needs, and with `cells` the crossed agent × day model).
- `cells`: counts (and sums) per combination of columns: the repeat model's binomial cells, the screen's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...survey.constants import AGENT
from ..model_formula import varying

METRIC_ROWS = "metric_rows"
METRIC_BASE = "metric_base"
#: The contact's flags as 1/0 (NULL where empty), named as in ``speed.metric_frame``.
FLAGS = {"came_back": "repeat_within_7d", "marked_resolved": "resolved_first_contact", "escalated": "escalated"}


def _i(ds, name: str) -> str:
    return ds.engine.dialect.ident(name)


def day_text(ds, expr: str) -> str:
    """The timestamp's day as text ('2026-08-16')."""
    if ds.engine.dialect.name == "spark":
        return f"date_format({expr}, 'yyyy-MM-dd')"
    return f"strftime({expr}, '%Y-%m-%d')"


def flag(ds, column: str, table: str = "") -> str:
    """A boolean column as 1.0/0.0 (NULL stays NULL)."""
    c = f"{table}{_i(ds, column)}"
    return f"CAST(CASE WHEN {c} THEN 1 WHEN NOT {c} THEN 0 END AS DOUBLE)"


def prepare_metric_rows(ds, mix, change_day=None) -> int:
    """Materialise the contacts' columns of `metric_rows` (module docstring) as the table `metric_base`, with
    `metric_rows` a view over it adding the period (``set_metric_period``); return the row count."""
    d, have = ds.engine.dialect, set(ds.columns["contacts"])
    opened = _i(ds, "opened_at")
    cols = [f"{d.text(_i(ds, c))} AS {_i(ds, c)}" for c in (AGENT, *mix) if c in have]
    cols += [f"{opened} AS opened_at", f"{day_text(ds, opened)} AS day"]
    if "handle_time_sec" in have:
        cols.append(f"CAST({_i(ds, 'handle_time_sec')} AS DOUBLE) AS handle_time_sec")
    cols += [f"{flag(ds, source)} AS {name}" for name, source in FLAGS.items() if source in have]
    if "n_interactions" in have:
        cols.append(f"CAST({_i(ds, 'n_interactions')} AS DOUBLE) AS n_interactions")
    ds.engine.table(METRIC_BASE, f"SELECT {', '.join(cols)} FROM contacts")
    set_metric_period(ds, change_day)
    return int(ds.engine.rows(f"SELECT count(*) FROM {METRIC_BASE}")[0][0])


def set_metric_period(ds, change_day=None) -> None:
    """The view `metric_rows`: `metric_base` with the month (of the day), log_handle_time (where handle times are
    recorded) and the period, 'before'/'after' `change_day`, else the month (a new change day re-reads nothing: at
    10 M contacts re-materialising the rows took 20–30 s; month and log_handle_time are computed on each scan
    instead of stored, 200 MB fewer in memory)."""
    period = (f"CASE WHEN opened_at >= TIMESTAMP '{pd.Timestamp(change_day):%Y-%m-%d %H:%M:%S}' THEN 'after' "
              "ELSE 'before' END" if change_day is not None else "substr(day, 1, 7)")
    stored = list(ds.engine.frame(f"SELECT * FROM {METRIC_BASE} LIMIT 0").columns)
    logged = ", ln(1 + handle_time_sec) AS log_handle_time" if "handle_time_sec" in stored else ""
    ds.engine.view(METRIC_ROWS, f"SELECT *, substr(day, 1, 7) AS month{logged}, {period} AS period "
                                f"FROM {METRIC_BASE}")


def recorded_counts(ds, columns) -> dict:
    """Per column of `metric_rows` the rows with a value (0 for a column the table lacks), and `came_back_values`:
    its distinct values."""
    have = [c for c in columns if c in metric_columns(ds)]
    row = ds.engine.rows(f"SELECT {', '.join(f'count({c})' for c in have) or '0'} FROM {METRIC_ROWS}")[0]
    out = {c: 0 for c in columns} | {c: int(v) for c, v in zip(have, row)}
    values = ds.engine.rows(f"SELECT DISTINCT came_back FROM {METRIC_ROWS} WHERE came_back IS NOT NULL")
    out["came_back_values"] = sorted(float(v) for (v,) in values)
    return out


def metric_columns(ds) -> list[str]:
    """The columns of `metric_rows`."""
    return list(ds.engine.frame(f"SELECT * FROM {METRIC_ROWS} LIMIT 0").columns)


@dataclass(frozen=True)
class Design:
    """Fixed-effect columns: names as lmer gives them, their SQL expressions, each column's formula term, and
    each factor's levels (reference first) with its rows per level."""

    names: tuple[str, ...]
    exprs: tuple[str, ...]
    term_of_column: tuple[str, ...]
    factors: dict
    level_counts: dict

    @property
    def terms(self) -> tuple[str, ...]:
        """The formula's terms in order (no intercept)."""
        return tuple(dict.fromkeys(t for t in self.term_of_column if t != "(Intercept)"))


def design(ds, table: str, factors, numeric=(), where: str = "TRUE", order: dict | None = None) -> Design:
    """The columns of `~ factors + numeric` on the rows of `table` meeting `where`: a factor enters when it
    varies there (``model_formula.varying``), its levels sorted as text (or in `order[factor]`); `numeric`:
    (name, SQL expression) pairs."""
    found = level_counts(ds, table, factors, where)
    names, exprs, terms, levels, counts = ["(Intercept)"], [_double("1")], ["(Intercept)"], {}, {}
    d = ds.engine.dialect
    for var in varying({v: len(found[v]) for v in factors}, factors):
        labels = [lab for lab in (order or {}).get(var, sorted(found[var])) if lab in found[var]]
        levels[var], counts[var] = tuple(labels), tuple(found[var][lab] for lab in labels)
        for lab in labels[1:]:
            names.append(f"{var}{lab}")
            exprs.append(_double(f"CASE WHEN {_i(ds, var)} = {d.literal(lab)} THEN 1 ELSE 0 END"))
            terms.append(var)
    for name, expr in numeric:
        names.append(name)
        exprs.append(_double(expr))
        terms.append(name)
    return Design(tuple(names), tuple(exprs), tuple(terms), levels, counts)


def level_counts(ds, table: str, factors, where: str = "TRUE") -> dict:
    """Per factor its rows per level (as text; an empty value is no level) among the rows of `table` meeting `where`,
    in one scan (GROUPING SETS: a row of the set of one factor has that factor's level and NULL for the others)."""
    factors = list(factors)
    if not factors:
        return {}
    cols = ", ".join(_i(ds, v) for v in factors)
    sets = ", ".join(f"({_i(ds, v)})" for v in factors)
    found = {var: {} for var in factors}
    for *values, n in ds.engine.rows(f"SELECT {cols}, count(*) FROM {table} WHERE {where} "
                                     f"GROUP BY GROUPING SETS ({sets})"):
        for var, value in zip(factors, values):
            if value is not None:
                found[var][str(value)] = int(n)
    return found


def _same_factor(dsg: Design, a: int, b: int) -> bool:
    return a != b and dsg.term_of_column[a] == dsg.term_of_column[b] and dsg.term_of_column[a] in dsg.factors


def _columns(ds, table: str, dsg: Design, y: str, where: str, keep=()) -> str:
    """The rows of `table` meeting `where` as the design's columns x0, x1, … (each expression evaluated once per
    row), the response `_y` and the columns `keep`."""
    cols = [f"{e} AS x{k}" for k, e in enumerate(dsg.exprs)] + [f"CAST({y} AS DOUBLE) AS _y"]
    cols += [_i(ds, c) for c in keep]
    return f"(SELECT {', '.join(cols)} FROM {table} WHERE {where}) t"


def totals(ds, table: str, dsg: Design, y: str, where: str = "TRUE") -> dict:
    """Over the rows: n, xtx (p×p), xty (p), sy, yty (two levels of one factor never meet: no sum for them). A
    design of factors only is summed per combination of their levels (``factor_totals``)."""
    if all(t == "(Intercept)" or t in dsg.factors for t in dsg.term_of_column):
        return factor_totals(ds, table, dsg, y, where)
    p = len(dsg.names)
    pairs = [(a, b) for a in range(p) for b in range(a, p) if not _same_factor(dsg, a, b)]
    parts = ["count(*)", "sum(_y)", "sum(_y * _y)"]
    parts += [f"sum(x{a} * x{b})" for a, b in pairs]
    parts += [f"sum(x{k} * _y)" for k in range(p)]
    row = ds.engine.rows(f"SELECT {', '.join(parts)} FROM {_columns(ds, table, dsg, y, where)}")[0]
    v = np.array([float(x or 0) for x in row])
    xtx = np.zeros((p, p))
    for k, (a, b) in enumerate(pairs):
        xtx[a, b] = xtx[b, a] = v[3 + k]
    return dict(n=int(v[0]), sy=v[1], yty=v[2], xtx=xtx, xty=v[3 + len(pairs):])


def factor_totals(ds, table: str, dsg: Design, y: str, where: str = "TRUE") -> dict:
    """``totals`` of a design of factors only, from n, Σy, Σy² per combination of the factors' levels (at most a few
    thousand): X'X = Σ n x x', X'y = Σ x Σy over the combinations. At 10 M contacts one GROUP BY instead of the
    p(p+1)/2 sums of products per row (about 500 with the mix and the period)."""
    factors = list(dsg.factors)
    keys = ", ".join(_i(ds, v) for v in factors)
    frame = ds.engine.frame(f"SELECT {keys}{', ' if keys else ''}count(*) AS _n, sum(_y) AS _sy, sum(_y * _y) AS _syy "
                            f"FROM (SELECT {keys}{', ' if keys else ''}CAST({y} AS DOUBLE) AS _y FROM {table} "
                            f"WHERE {where}) t{' GROUP BY ' + keys if keys else ''}")
    x = np.ones((len(frame), len(dsg.names)))
    for k, (name, term) in enumerate(zip(dsg.names, dsg.term_of_column)):
        if term in dsg.factors:
            label = name[len(term):]
            x[:, k] = [v is not None and v == v and str(v) == label for v in frame[term].to_numpy(dtype=object)]
    n, sy = frame["_n"].to_numpy(dtype=float), frame["_sy"].fillna(0.0).to_numpy(dtype=float)
    return dict(n=int(n.sum()), sy=float(sy.sum()), yty=float(frame["_syy"].fillna(0.0).sum()),
                xtx=(x * n[:, None]).T @ x, xty=x.T @ sy)


def group_sums(ds, table: str, dsg: Design, y: str, group: str, where: str = "TRUE") -> dict:
    """Per level of `group` (sorted as text): levels, n, s = X'1 (G×p), xty = X'y (G×p), sy, yty."""
    p = len(dsg.names)
    parts = ["count(*)", "sum(_y)", "sum(_y * _y)", *(f"sum(x{k})" for k in range(p)),
             *(f"sum(x{k} * _y)" for k in range(p))]
    select = ", ".join(f"{e} AS a{k}" for k, e in enumerate(parts))
    g = _i(ds, group)
    frame = ds.engine.frame(f"SELECT {ds.engine.dialect.text(g)} AS g, {select} "
                            f"FROM {_columns(ds, table, dsg, y, where, (group,))} GROUP BY {g}")
    levels = frame["g"].astype(str).to_numpy(dtype=object)
    order = np.argsort(levels, kind="stable")
    v = frame.drop(columns="g").to_numpy(dtype=float)[order]
    return dict(levels=levels[order], n=v[:, 0].astype(np.int64), sy=v[:, 1], yty=v[:, 2], s=v[:, 3:3 + p],
                xty=v[:, 3 + p:3 + 2 * p])


def cells(ds, table: str, by, sums: dict | None = None, where: str = "TRUE") -> pd.DataFrame:
    """Rows per combination of the columns `by` (`n`) and the sums `sums` (name → SQL expression)."""
    cols = ", ".join(_i(ds, c) for c in by)
    more = "".join(f", sum({e}) AS {_i(ds, name)}" for name, e in (sums or {}).items())
    frame = ds.engine.frame(f"SELECT {cols}, count(*) AS n{more} FROM {table} WHERE {where} GROUP BY {cols}")
    return frame.astype({"n": np.int64})


def indexed_cells(ds, table: str, levels: dict, where: str = "TRUE") -> pd.DataFrame:
    """Rows per combination of the columns of `levels` (column → its level list, text), each column given as the
    position of its value in that list (int32; a value not listed drops the row), and `n` (int64). No text per cell
    comes back: the handle-time model's 7 million agent × day cells at 10 M contacts would be two Python strings
    each (about 1 GB) before they became positions."""
    joins, keys = [], []
    for k, (column, labels) in enumerate(levels.items()):
        ds.engine.register(f"cell_levels_{k}", pd.DataFrame({"lvl": [str(v) for v in labels],
                                                              "pos": np.arange(len(labels), dtype=np.int64)}))
        joins.append(f"JOIN cell_levels_{k} l{k} ON t.{_i(ds, column)} = l{k}.lvl")
        keys.append(f"l{k}.pos")
    select = ", ".join(f"{key} AS {_i(ds, column)}" for key, column in zip(keys, levels))
    frame = ds.engine.frame(f"SELECT {select}, count(*) AS n FROM (SELECT * FROM {table} WHERE {where}) t "
                            f"{' '.join(joins)} GROUP BY {', '.join(keys)}")
    return frame.astype({**{column: np.int32 for column in levels}, "n": np.int64})


def by_value(ds, table: str, column: str, sums: dict, where: str = "TRUE") -> pd.DataFrame:
    """Per value of `column` (sorted): rows `n` and `sums` (name → SQL aggregate expression)."""
    c = _i(ds, column)
    more = "".join(f", {e} AS {_i(ds, name)}" for name, e in sums.items())
    frame = ds.engine.frame(f"SELECT {c} AS v, count(*) AS n{more} FROM {table} WHERE {where} AND {c} IS NOT NULL "
                            f"GROUP BY {c}")
    return frame.set_index("v").sort_index().astype({"n": np.int64})


def linear_prediction(ds, dsg: Design, beta: pd.Series) -> str:
    """x'β in SQL (a column not in `beta` counts 0)."""
    return " + ".join(f"{e} * {_double(repr(float(beta.get(n, 0.0))))}" for n, e in zip(dsg.names, dsg.exprs))


def _double(expr: str) -> str:
    """`expr` as DOUBLE (DuckDB reads 0.25 as a DECIMAL, whose products overflow)."""
    return f"CAST({expr} AS DOUBLE)"
