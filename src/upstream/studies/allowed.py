"""What a study parameter accepts, declared once beside its field (``field(metadata=allowed(...))``):
its kind (number, whole number, true or false, text, date, month), its range, and whether None is
allowed and what it means. The study classes check their ranges with it (``check_ranges``), the
runner checks every value a study file or ``-p`` gives before any kernel starts (``check_value``), and
``upstream studies`` lists it (``Allowed.describe``)."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

METADATA_KEY = "allowed"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_KINDS = ("number", "whole number", "true or false", "text", "date", "month")


class ParameterError(ValueError):
    """A study parameter with the wrong name, type or range (one-line message)."""


@dataclass(frozen=True)
class Allowed:
    """The values a parameter accepts. ``low``/``high`` bound numbers (``*_open``: the bound itself is
    excluded); ``unit`` ends the range text ("for 95% intervals", "score points"); ``none`` is what None
    means when None is allowed ("" = None is not allowed)."""

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    unit: str = ""
    none: str = ""
    secret: bool = False

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r} (one of {', '.join(_KINDS)})")

    def range_text(self, strict_words: bool = False) -> str:
        """The range in words: "between 0 and 1" (both ends excluded; "above 0 and below 1" with
        `strict_words`), "at least 0.5 and below 1", "at least 100 for 95% intervals"; "" without one."""
        low, high = _number(self.low), _number(self.high)
        if self.low is not None and self.high is not None:
            if self.low_open and self.high_open and not strict_words:
                text = f"between {low} and {high}"
            else:
                text = (f"{'above' if self.low_open else 'at least'} {low} and "
                        f"{'below' if self.high_open else 'at most'} {high}")
        elif self.low is not None:
            text = f"{'above' if self.low_open else 'at least'} {low}"
        elif self.high is not None:
            text = f"{'below' if self.high_open else 'at most'} {high}"
        else:
            return ""
        return f"{text} {self.unit}" if self.unit else text

    def describe(self) -> str:
        """Kind, range and None in words, e.g. "a number, above 0 and below 1", "a month written YYYY-MM
        (e.g. 2026-07), or null: the first month with contacts"."""
        kind = {"number": "a number", "whole number": "a whole number", "true or false": "true or false",
                "text": "a text", "date": "a date such as 2026-08-16",
                "month": "a month written YYYY-MM (e.g. 2026-07)"}[self.kind]
        text = ", ".join(p for p in (kind, self.range_text(strict_words=True)) if p)
        return f"{text}, or null: {self.none}" if self.none else text

    def in_range(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def accepts(self, value: Any) -> bool:
        """True when `value` is of the kind and within the range (None: when None is allowed)."""
        if value is None:
            return bool(self.none)
        if self.kind == "true or false":
            return isinstance(value, bool)
        if self.kind in ("number", "whole number"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            if self.kind == "whole number" and not isinstance(value, int):
                return False
            return value == value and self.in_range(value)  # NaN is no number here
        if not isinstance(value, str) or not value.strip():
            return False
        if self.kind == "month":
            return bool(_MONTH.match(value))
        if self.kind == "date":
            import pandas as pd

            try:
                pd.Timestamp(value)
            except ValueError:
                return False
        return True


def allowed(kind: str, low: float | None = None, high: float | None = None, *, low_open: bool = False,
            high_open: bool = False, unit: str = "", none: str = "", secret: bool = False) -> dict:
    """Field metadata declaring what a parameter accepts (see :class:`Allowed`; `secret`: a message about a
    wrong value never repeats it)."""
    return {METADATA_KEY: Allowed(kind, low, high, low_open, high_open, unit, none, secret)}


def allowed_values(cls) -> dict[str, Allowed]:
    """Parameter name → Allowed, for every field of the parameters class `cls` that declares one."""
    return {f.name: f.metadata[METADATA_KEY] for f in dataclasses.fields(cls) if METADATA_KEY in f.metadata}


def check_value(cls, name: str, value: Any) -> None:
    """ParameterError naming `name` and what it accepts unless `value` is allowed for the field `name` of `cls`."""
    rule = allowed_values(cls).get(name)
    if rule is not None and not rule.accepts(value):
        raise ParameterError(f"{name} must be {rule.describe()}, got {value!r}")


def check_kind(name: str, value: Any, rule: Allowed) -> Any:
    """`value` if it is of the kind `rule` declares for the parameter `name` (None where None is allowed; a
    whole number where a number is asked, as a float), else ParameterError: "n_boot must be a whole number, got
    2.5", "show_names must be true or false, got 'yes'". Ranges are checked apart (``check_ranges``)."""
    if value is None and rule.none:
        return None
    if rule.kind == "true or false":
        ok, wanted = isinstance(value, bool), "true or false"
    elif rule.kind == "whole number":
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif rule.kind == "number":
        ok, wanted = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        value = float(value) if ok else value
    else:                                   # text, date, month: their own rules check the form
        ok = isinstance(value, str) and bool(value.strip())
        wanted = "a non-empty text or None" if rule.none else "a non-empty text"
    if not ok:
        raise ParameterError(f"{name} must be {wanted}" + ("" if rule.secret else f", got {value!r}"))
    return value


def check_ranges(params) -> None:
    """ParameterError for the first numeric field of `params` outside its declared range (the types are
    checked already): "n_boot must be at least 100 for 95% intervals, got 50"."""
    for name, rule in allowed_values(type(params)).items():
        value = getattr(params, name)
        if rule.kind in ("number", "whole number") and isinstance(value, (int, float)) \
                and not isinstance(value, bool) and not rule.in_range(value):
            raise ParameterError(f"{name} must be {rule.range_text()}, got {value}")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
