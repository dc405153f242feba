"""Privacy for everything a report shows: customer free text is HTML-escaped and stripped of e-mail
addresses, phone and card numbers; agents are shown under salted pseudonyms (HMAC-SHA256)."""
from __future__ import annotations

import hashlib
import hmac
import html
import re
from typing import Any

__all__ = ["escape_text", "redact_comment", "clean_comment", "pseudonymise", "is_missing"]

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Dates and times are matched first so that "2026-03-01 14:05" or "01.03.2026" survive redaction.
_DATE = r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b"
# A run of digits, optionally led by "+", with single separators (space, dot, hyphen, slash) and
# bracketed area codes: a phone or card number candidate, classified by its count of digits.
_NUMBER = r"(?<![\w+])\+?(?:\(\d+\)|\d)(?:[ .\-/]?(?:\(\d+\)|\d))*(?!\w)"
_DATE_OR_NUMBER = re.compile(f"(?P<date>{_DATE})|(?P<number>{_NUMBER})")
_WHITESPACE = re.compile(r"\s+")


def escape_text(s: Any) -> str:
    """HTML-escape ``s`` (quotes included); ``None`` becomes the empty string."""
    if s is None:
        return ""
    return html.escape(str(s), quote=True)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _redact_number(match: re.Match) -> str:
    text = match.group(0)
    if match.group("date"):
        return text
    digits = re.sub(r"\D", "", text)
    n = len(digits)
    if n >= 16 and n <= 19:
        return "[card]"
    if 13 <= n <= 15:
        return "[card]" if _luhn_ok(digits) else "[phone]"
    if 7 <= n <= 12:
        return "[phone]"
    return text


def is_missing(s: Any) -> bool:
    """True for None, NaN, NaT and pd.NA."""
    if s is None:
        return True
    if isinstance(s, str):
        return False
    try:
        import pandas as pd

        missing = pd.isna(s)
    except (ImportError, TypeError, ValueError):  # pragma: no cover - odd objects
        return False
    return missing is True or (type(missing).__name__ == "bool_" and bool(missing))


def redact_comment(s: Any) -> str:
    """Customer free text with e-mail addresses, phone and card numbers replaced by
    ``[email]``, ``[phone]`` and ``[card]`` and whitespace collapsed; NOT escaped.

    Use it for text that is escaped later (``show_table`` escapes every cell). Redaction errs on
    the side of removing: any run of 7-19 digits that is not a date counts as a phone or card
    number (13-15 digits count as a card when they pass the Luhn check, 16-19 always).
    Missing values (None, NaN) become the empty string.
    """
    if is_missing(s):
        return ""
    text = _EMAIL.sub("[email]", str(s))
    text = _DATE_OR_NUMBER.sub(_redact_number, text)
    return _WHITESPACE.sub(" ", text).strip()


def clean_comment(s: Any) -> str:
    """``redact_comment`` followed by HTML escaping: safe to put straight into HTML.

    Do not pass the result to ``show_table`` (it would be escaped twice); use
    ``redact_comment`` for table cells.
    """
    return escape_text(redact_comment(s))


def _pseudonym_digest(value: Any, salt: str) -> str:
    return hmac.new(str(salt).encode(), str(value).encode(), hashlib.sha256).hexdigest().upper()


def pseudonymise(ids, salt: str, prefix: str = "Agent ", digits: int = 4):
    """Stable pseudonyms such as ``Agent 0F3A`` from a salted hash (HMAC-SHA256) of each id.

    The same id and salt always give the same pseudonym. If two distinct ids in ``ids`` share
    the first ``digits`` hex digits, those ids get longer pseudonyms until they differ.
    Missing ids stay missing. A pandas Series or Index comes back as the same type (same index);
    any other iterable as a list.
    """
    if not salt:
        raise ValueError("pseudonymise needs a non-empty salt")
    values = list(ids)
    distinct = {v for v in values if not is_missing(v)}
    digests = {v: _pseudonym_digest(v, salt) for v in distinct}
    length = {v: digits for v in distinct}
    while True:
        by_label: dict[str, list] = {}
        for v in distinct:
            by_label.setdefault(digests[v][: length[v]], []).append(v)
        clashes = [group for group in by_label.values() if len(group) > 1]
        if not clashes:
            break
        for group in clashes:
            for v in group:
                length[v] += 1
    labels = [None if is_missing(v) else f"{prefix}{digests[v][: length[v]]}" for v in values]
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return labels
    if isinstance(ids, pd.Series):
        return pd.Series(labels, index=ids.index, name=ids.name, dtype=object)
    if isinstance(ids, pd.Index):
        return pd.Index(labels, name=ids.name, dtype=object)
    return labels


