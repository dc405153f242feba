"""Formatting shared by the studies' display tables: intervals as text, p-values, agent labels, and the
last step every shown table goes through (`readable`): every cell as text, a dash where a value is undefined."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["interval", "format_p", "with_agent_labels", "readable", "DASH"]

#: What a page shows where a value is undefined (never nan, NaN or <NA>); the table's note says why.
DASH = "–"


def format_p(p) -> str | None:
    """A p-value for a table ('<0.001', '0.012', '0.35'); None where there is none (`readable` shows a dash)."""
    try:
        p = float(p)
    except (TypeError, ValueError):
        return None
    if p != p:
        return None
    return "<0.001" if p < 0.001 else f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def interval(lower, upper, fmt: str = ".2f", scale: float = 1.0) -> list[str | None]:
    """'a to b' per row (None where either end is missing: `readable` shows a dash)."""
    return [f"{scale * a:{fmt}} to {scale * b:{fmt}}" if pd.notna(a) and pd.notna(b) else None
            for a, b in zip(lower, upper)]


def with_agent_labels(table: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """`table` (indexed by agent id) with the agents' labels as its index, named 'agent'. The columns are
    built on the agent ids first, so no column is re-aligned to the labels (which would empty it)."""
    out = table.copy()
    out.index = pd.Index(labels.reindex(pd.Index(table.index).astype(str)).to_numpy(), name="agent")
    return out


def _decimals(values: np.ndarray) -> int:
    """The fewest decimals (at most 6) that write every value exactly as it was rounded."""
    for digits in range(7):
        if np.allclose(values, np.round(values, digits), rtol=0, atol=1e-9):
            return digits
    return 6


def _number(value, digits: int) -> str:
    """`value` with `digits` decimals and thousands separators; never '-0' or '-0.00'."""
    text = f"{float(value):,.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def _missing(column: pd.Series) -> pd.Series:
    return column.isna() | column.map(lambda v: isinstance(v, str) and v.strip().lower() in {"nan", "<na>", "none"})


def readable(frame: pd.DataFrame, undefined: str = "not defined for this row") -> tuple[pd.DataFrame, list[str]]:
    """The table as a page shows it, and its notes: every cell as text (a numeric column with one number
    of decimals throughout), a dash with a note where a value is undefined, and no column that is empty
    in every row (it is left out)."""
    out = frame.copy()
    keep = [c for c in out.columns if not (_missing(out[c]) | (out[c].astype(str).str.strip() == "")).all()]
    out = out[keep]
    dashed = False
    for column in out.columns:
        col = out[column]
        gaps = _missing(col)
        dashed |= bool(gaps.any())
        if pd.api.types.is_bool_dtype(col.dtype):
            text = col.map({True: "yes", False: "no"})
        elif pd.api.types.is_numeric_dtype(col.dtype):
            values = col[~gaps].to_numpy(dtype=float)
            digits = _decimals(values) if len(values) else 0
            text = col.map(lambda v, d=digits: _number(v, d) if pd.notna(v) else DASH)
        else:
            text = col.map(lambda v: DASH if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
        out[column] = text.where(~gaps, DASH).astype(object)
    if not isinstance(out.index, pd.MultiIndex) and out.index.hasnans:
        out.index = pd.Index([DASH if pd.isna(v) else v for v in out.index], name=out.index.name)
        dashed = True
    return out, ([f"{DASH}: {undefined}."] if dashed else [])
