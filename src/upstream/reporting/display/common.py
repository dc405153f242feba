"""Formatting shared by the studies' display tables: intervals as text, p-values."""
from __future__ import annotations

import pandas as pd

from ..notebook import format_p

__all__ = ["interval", "format_p"]


def interval(lower, upper, fmt: str = ".2f", scale: float = 1.0) -> list[str]:
    """'a to b' per row (empty where either end is missing)."""
    return [f"{scale * a:{fmt}} to {scale * b:{fmt}}" if pd.notna(a) and pd.notna(b) else ""
            for a, b in zip(lower, upper)]
