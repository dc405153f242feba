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


def verb(n: int, one: str, many: str) -> str:
    """The verb that agrees with a count: verb(1, 'has', 'have') → 'has'."""
    return one if n == 1 else many


def whole_count(x: float) -> str:
    """An expected number of people (a sum of probabilities) as a whole number: 'none' below one half,
    'one' below one and a half, else the nearest whole number ('8' for 7.5): never 'about 7.5 people'."""
    return "none" if x < 0.5 else "one" if x < 1.5 else str(int(x + 0.5))


def expected_people(x: float, n: int, noun: str, outcome: str) -> str:
    """An expected number among `n` as a whole number with its verb: 'probably none of these 4 verdicts has the
    wrong sign', 'about one of these 30 verdicts can be expected to have …', 'about 8 of these 15 …'.
    `outcome` follows 'has'/'have' ('the wrong sign')."""
    count = whole_count(x)
    if count == "none":
        return f"probably none of these {n} {noun} has {outcome}"
    return f"about {count} of these {n} {noun} can be expected to have {outcome}"


def points(x: float) -> str:
    """A signed score difference: '+0.25', '-0.69'."""
    return f"{x:+.2f}"


def p_text(p: float) -> str:
    """'< 0.001' or three decimals."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


class Units:
    """How a study speaks about its outcome: its name, how an effect reads, and how the agents' SD
    reads. `Units.points()` for a score averaged as a number (CSAT 1–5, 1–7); `Units.share(label)`
    for a good/bad scale (effects in percentage points of the share of good ratings); `Units.ordinal`
    for a short ordered scale (effects in expected-score points, SD on the log-odds scale)."""

    def __init__(self, outcome: str, scale: float, unit: str, digits: int, sd_text: str):
        self.outcome, self.scale, self.unit, self.digits, self.sd_text = outcome, scale, unit, digits, sd_text

    @classmethod
    def points(cls, outcome: str = "CSAT") -> "Units":
        return cls(outcome, 1.0, "points", 2, "points")

    @classmethod
    def share(cls, label: str = "good") -> "Units":
        return cls(f"the share of {label} ratings", 100.0, "percentage points", 1, "on the log-odds scale")

    @classmethod
    def ordinal(cls, outcome: str = "CSAT") -> "Units":
        return cls(outcome, 1.0, "points", 2, "on the log-odds scale")

    def effect(self, x: float) -> str:
        """'-0.69 points' or '-12.3 percentage points'."""
        return f"{self.value(x)} {self.unit}"

    def value(self, x: float) -> str:
        """'-0.69' or '-12.3' (the unit said elsewhere); a digit more where rounding would print a
        nonzero bound as '-0.00' ('-0.005'), so a sign is never shown without a number behind it."""
        v = self.scale * x
        for digits in range(self.digits, self.digits + 4):
            text = f"{v:+.{digits}f}"
            if v == 0 or float(text) != 0:
                return text
        return f"{v:+.{self.digits}f}"

    def size(self, x: float) -> str:
        """An unsigned size: '0.25 points' or '2.5 percentage points'."""
        return f"{self.scale * x:.{self.digits}f} {self.unit}"


POINTS = Units.points()
