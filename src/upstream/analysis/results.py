"""Typed analysis results, statsmodels-style: an analysis returns a small frozen object whose tables are
DataFrame attributes and whose side information (τ², thresholds, health notes, sentences about parts that
were not run) are typed attributes, with ``summary()`` (plain text) and ``_repr_html_`` (the tables, escaped,
and the notes) so an analyst in JupyterLab sees something readable.

A result class is a ``@result`` dataclass deriving from ``AnalysisResult``: DataFrame (or Series) fields are
its tables, tuple-of-text fields its notes, result fields its parts (a credit analysis's pile-up), the rest its
numbers and settings.
"""
from __future__ import annotations

import dataclasses
from html import escape

import numpy as np
import pandas as pd

#: How many rows of each table ``summary()`` and ``_repr_html_`` show.
SHOWN_ROWS = 20


def result(cls):
    """A frozen result dataclass (no generated ``==``: its tables are DataFrames)."""
    return dataclasses.dataclass(frozen=True, eq=False)(cls)


def _is_table(value) -> bool:
    return isinstance(value, (pd.DataFrame, pd.Series))


def _is_notes(value) -> bool:
    return isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value)


def _scalar_text(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


class AnalysisResult:
    """What every analysis result shares: its title (the class docstring's first line), ``summary()`` and
    ``_repr_html_``. Subclasses are ``@result`` dataclasses."""

    def _parts(self):
        tables, notes, scalars, parts = [], [], [], []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if _is_table(value):
                tables.append((f.name, value))
            elif isinstance(value, AnalysisResult):
                parts.append((f.name, value))
            elif _is_notes(value):
                if value:
                    notes.append((f.name, list(value)))
            elif isinstance(value, (str, int, float, bool, np.number, pd.Timestamp)) or value is None:
                scalars.append((f.name, value))
        return tables, notes, scalars, parts

    def _title(self) -> str:
        doc = (type(self).__doc__ or type(self).__name__).strip()
        return doc.splitlines()[0]

    def summary(self) -> str:
        """Plain text: the title, the numbers, each table (its first rows), the notes and each part's summary
        (indented)."""
        tables, notes, scalars, parts = self._parts()
        lines = [self._title()]
        lines += [f"  {name}: {_scalar_text(value)}" for name, value in scalars]
        for name, table in tables:
            shown = table.head(SHOWN_ROWS)
            more = f" (first {SHOWN_ROWS} of {len(table):,} rows)" if len(table) > SHOWN_ROWS else ""
            lines += ["", f"{name}{more}:", shown.to_string() if len(table) else "(no rows)"]
        for name, items in notes:
            lines += ["", f"{name}:"] + [f"  - {item}" for item in items]
        for name, part in parts:
            lines += ["", f"{name}:"] + [f"  {line}" if line else "" for line in part.summary().splitlines()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """Jupyter: the title, the numbers, each table (escaped; its first rows), the notes and each part."""
        tables, notes, scalars, parts = self._parts()
        out = [f'<div class="upstream-result"><p><strong>{escape(self._title())}</strong></p>']
        if scalars:
            out.append("<ul>" + "".join(f"<li>{escape(name)}: {escape(_scalar_text(value))}</li>"
                                        for name, value in scalars) + "</ul>")
        for name, table in tables:
            frame = table.to_frame() if isinstance(table, pd.Series) else table
            more = f" (first {SHOWN_ROWS} of {len(frame):,} rows)" if len(frame) > SHOWN_ROWS else ""
            out.append(f"<p><code>{escape(name)}</code>{escape(more)}</p>"
                       + frame.head(SHOWN_ROWS).to_html(escape=True, float_format=lambda v: f"{v:.4g}"))
        for name, items in notes:
            out.append(f"<p>{escape(name)}</p><ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>")
        for name, part in parts:
            out.append(f"<p><code>{escape(name)}</code></p>" + part._repr_html_())
        return "".join(out) + "</div>"
