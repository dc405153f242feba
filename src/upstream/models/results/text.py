"""Numbers as R prints them, and the blocks of text every `summary()` shares."""
from __future__ import annotations

import numpy as np
import pandas as pd


def fmt(x: float) -> str:
    """Four significant digits, keeping trailing zeros (42.00, 0.2455), as R prints them."""
    if x == 0 or not np.isfinite(x):
        return f"{x:.4g}"
    return f"{x:#.4g}".rstrip(".") if abs(x) < 1e6 else f"{x:.4e}"


def fmt_p(p: float) -> str:
    return "< 2e-16" if p < 2e-16 else f"{p:.3g}"


def stars(p: float) -> str:
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "." if p < 0.1 else ""


def random_effect_lines(varcorr: pd.DataFrame) -> list[str]:
    """lme4's "Random effects:" table (groups, names, variances, SDs, correlations)."""
    has_corr = "corr" in varcorr.columns
    lines = [f" {'Groups':<12} {'Name':<12} {'Variance':>10} {'Std.Dev.':>10}" + ("  Corr" if has_corr else "")]
    prev = None
    for group, row in varcorr.iterrows():
        g = group if group != prev else ""
        prev = group
        corr = f"  {row['corr']:5.2f}" if has_corr and not pd.isna(row["corr"]) else ""
        lines.append(f" {g:<12} {row['term']:<12} {fmt(row['variance']):>10} {fmt(row['sd']):>10}{corr}")
    return lines


def coefficient_lines(tab: pd.DataFrame) -> list[str]:
    """A coefficient table: t tests with df (lmer) or Wald z tests (glmer, clmm)."""
    w = max([12, *map(len, tab.index)])
    if "df" in tab.columns:
        out = [f"{'':<{w}} {'Estimate':>11} {'Std. Error':>11} {'df':>9} {'t value':>8} {'Pr(>|t|)':>10}"]
        for name, r in tab.iterrows():
            out.append(f"{name:<{w}} {fmt(r['estimate']):>11} {fmt(r['std_error']):>11} {r['df']:9.2f} {r['t']:8.3f} "
                       f"{fmt_p(r['p_value']):>10} {stars(r['p_value'])}")
        return out
    out = [f"{'':<{w}} {'Estimate':>10} {'Std. Error':>11} {'z value':>8} {'Pr(>|z|)':>10}"]
    for name, r in tab.iterrows():
        out.append(f"{name:<{w}} {fmt(r['estimate']):>10} {fmt(r['std_error']):>11} {r['z']:8.3f} "
                   f"{fmt_p(r['p_value']):>10} {stars(r['p_value'])}")
    return out


SIGNIF_LINE = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


class Summary(str):
    """A fit's `summary()`: the text in lme4's / ordinal's layout (it is that `str`, so `print`, `in` and
    comparisons work as before) that Jupyter shows as HTML: the title, the variance components and the
    coefficient tables as tables, the notes, and the text itself under "as text"."""

    def __new__(cls, text: str, title: str = "", tables: list[tuple[str, pd.DataFrame]] | None = None,
                notes: list[str] | None = None):
        out = super().__new__(cls, text)
        out.title, out.tables, out.notes = title, list(tables or []), list(notes or [])
        return out

    def __repr__(self) -> str:          # a cell's last line shows the text, not an escaped one-line string
        return str(self)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from html import escape

        parts = [f"<p><strong>{escape(line)}</strong></p>" for line in self.title.splitlines() if line.strip()]
        for caption, frame in self.tables:
            table = frame.to_html(border=0, escape=True, float_format=fmt, na_rep="")
            end = table.index(">", table.index("<table")) + 1
            parts.append(f"{table[:end]}<caption>{escape(caption)}</caption>{table[end:]}")
        parts += [f"<p>{escape(note)}</p>" for note in self.notes]
        parts.append(f"<details><summary>as text</summary><pre>{escape(str(self))}</pre></details>")
        return f'<div class="upstream-summary">{"".join(parts)}</div>'
