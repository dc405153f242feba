"""The mapping's rules applied: the values of one canonical column from a tag, a custom field, a
table column or a constant (``mapped_values``), and a contact column in its canonical type
(``typed_column``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .mapping import MAPPABLE, TABLE_COLUMNS, ColumnRule
from .report import ImportReport

UNKNOWN = "unknown"


def mapped_values(column: str, rule: ColumnRule, raw: pd.Series | None, report: ImportReport, n: int) -> pd.Series:
    """Values of the canonical ``column`` under the mapping ``rule``; ``raw`` holds the source
    values (the first tag with the prefix, prefix removed; the custom field's value as text; the
    table column). Categories get ``default`` (else ``unknown``) where empty; numbers and
    booleans stay empty unless the rule has a default; gaps are written into ``report.missing``."""
    kind = TABLE_COLUMNS.get(column, MAPPABLE.get(column, "category"))
    report.sources[f"contacts.{column}"] = rule.describe()
    if rule.kind == "value":
        if kind in ("number",):
            return pd.Series(float(rule.source), index=range(n))
        if kind == "bool":
            return pd.Series(bool(rule.source), index=range(n), dtype="boolean")
        return pd.Series(str(rule.source), index=range(n), dtype="str")
    values = raw.reset_index(drop=True) if raw is not None else pd.Series([None] * n, dtype="object")
    if kind == "bool" and rule.kind == "tag_prefix":
        return values.notna().astype("boolean")
    text = values.astype("str").str.strip().where(values.notna())
    empty = text.isna() | (text == "")
    if rule.map:
        passed = sorted(set(text[~empty]) - set(rule.map))
        text = text.map(lambda v: rule.map.get(v, v) if isinstance(v, str) else v).astype("str").where(~empty)
        if passed and kind == "category":
            report.sources[f"contacts.{column}"] += ("; values not in the map kept as they are: "
                                                     + ", ".join(passed[:10]))
    if kind == "bool":
        lowered = text.str.lower()
        flags = pd.Series(pd.NA, index=text.index, dtype="boolean")
        flags[lowered.isin(["true", "1", "yes", "y"]).to_numpy()] = True
        flags[lowered.isin(["false", "0", "no", "n"]).to_numpy()] = False
        bad = ~empty & flags.isna()
        if bad.any():
            report.warnings.append(f"{column}: {int(bad.sum())} values are not true/false and were left empty "
                                   f"(e.g. {text[bad].iloc[0]!r})")
        if rule.default is not None:
            flags = flags.fillna(bool(rule.default))
        return flags
    if kind == "number":
        numbers = pd.to_numeric(text.where(~empty), errors="coerce").astype("float64")
        not_number = ~empty & numbers.isna()
        if not_number.any():
            report.warnings.append(f"{column}: {int(not_number.sum())} values are not numbers and were "
                                   f"left empty (e.g. {text[not_number].iloc[0]!r})")
        if rule.default is not None:
            numbers = numbers.fillna(float(rule.default))
        return numbers
    default = UNKNOWN if rule.default is None else str(rule.default)
    n_empty = int(empty.sum())
    if n_empty:
        report.missing[f"contacts.{column}"] = (
            f"{n_empty} of {n} contacts have no value ({rule.describe()}); set to '{default}'")
    return text.where(~empty, default).astype("str")


def typed_column(column: str, values: pd.Series) -> np.ndarray | pd.arrays.ExtensionArray:
    values = pd.Series(values).reset_index(drop=True)
    if column in ("resolved_first_contact", "escalated"):
        flags = values.astype("boolean")
        return flags.to_numpy(dtype=bool) if not flags.isna().any() else flags.array
    if column == "n_interactions":  # a contact takes at least one interaction
        numbers = pd.to_numeric(values, errors="coerce").clip(lower=1)
        whole = numbers.round().astype("Int64")
        return whole.to_numpy(dtype="int64") if not whole.isna().any() else whole.array
    return pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
