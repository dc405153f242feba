"""Formatting shared by every study's sentences: percentages, intervals, score points, p-values, lists."""
from __future__ import annotations




def pct(x: float) -> str:
    """A share as a percentage: one decimal below 10% (0.0912 → '9.1%'), whole above (0.413 → '41%')."""
    v = 100 * x
    return f"{v:.1f}%" if abs(v) < 10 else f"{v:.0f}%"


def pct_interval(lo: float, hi: float) -> str:
    """'4%–7%', or with one decimal when whole percentages would hide the width ('14.6%–15.4%')."""
    a, b = pct(lo), pct(hi)
    if a == b:
        return f"{100 * lo:.1f}%–{100 * hi:.1f}%"
    return f"{a}–{b}"


MIX_LABELS = {"policy": "policy", "product": "product", "channel": "channel", "issue_type": "issue type"}


def listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def points(x: float) -> str:
    """A signed score difference: '+0.25', '-0.69'."""
    return f"{x:+.2f}"


def p_text(p: float) -> str:
    """'< 0.001' or three decimals."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"
