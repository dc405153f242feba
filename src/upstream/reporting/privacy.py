"""Privacy for everything a report shows: customer free text is HTML-escaped and stripped of e-mail
addresses, phone, card and bank account numbers and street addresses; agents are shown under
pseudonyms keyed with a secret salt (HMAC-SHA256).

The salt: ``UPSTREAM_PSEUDONYM_SALT`` when set, otherwise this installation's own random key in
``$XDG_CONFIG_HOME/upstream/pseudonym.key`` (``~/.config/upstream/`` by default), created on first
use with mode 0600 (atomically: concurrent first runs all end up with the same key). It lives
outside the repository and the reports, so pseudonyms are stable across runs on one installation
and cannot be recomputed by someone who only knows the agent ids.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import os
import re
import secrets
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["escape_text", "redact_comment", "clean_comment", "pseudonymise", "is_missing",
           "installation_salt", "salt_key_path", "SALT_ENV", "PseudonymKeyError", "Leak", "find_in_report"]

#: Environment variable that overrides the installation's pseudonym key.
SALT_ENV = "UPSTREAM_PSEUDONYM_SALT"
_KEY_BYTES = 32


class PseudonymKeyError(RuntimeError):
    """The installation's pseudonym key cannot be read or created."""


def salt_key_path() -> Path:
    """``$XDG_CONFIG_HOME/upstream/pseudonym.key`` (``~/.config/upstream/pseudonym.key``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "upstream" / "pseudonym.key"


def installation_salt() -> str:
    """The secret pseudonym salt: ``$UPSTREAM_PSEUDONYM_SALT`` if set, else the installation's key
    file (see the module docstring), created on first use. Raises PseudonymKeyError with a
    readable message when the key file is unusable; an existing key is never replaced."""
    override = os.environ.get(SALT_ENV)
    if override is not None and override.strip():
        return override.strip()
    path = salt_key_path()
    if not path.exists():
        _create_key(path)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.chmod(path, 0o600)  # readable by others: make it private again
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise PseudonymKeyError(f"cannot read the pseudonym key {path}: {_reason(err)}; set {SALT_ENV} "
                                "or fix the file") from None
    if len(key) < 16:
        raise PseudonymKeyError(f"the pseudonym key {path} is empty or too short; it is not replaced "
                                f"automatically (pseudonyms would change): restore it, or delete it to make "
                                f"a new one, or set {SALT_ENV}")
    return key


def _create_key(path: Path) -> None:
    """Write a new random key next to ``path`` (mode 0600) and link it into place; if another
    process got there first, its key wins and ours is discarded."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(_KEY_BYTES) + "\n")
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, path)  # atomic, and never replaces an existing key
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as err:
        raise PseudonymKeyError(f"cannot create the pseudonym key {path}: {_reason(err)}; set {SALT_ENV} "
                                "or XDG_CONFIG_HOME to a writable place") from None


def _reason(err: Exception) -> str:
    return (getattr(err, "strerror", None) or str(err)).rstrip(".").lower()

# The local part takes RFC 5322's atext characters too (o'brien@..., a&b@...).
_EMAIL = re.compile(r"[\w.%+\-'!#$&*=?^`{|}~]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Dates and times are matched first so that "2026-03-01 14:05" or "01.03.2026" survive redaction.
_DATE = r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b"
# A run of digits, optionally led by "+", with single separators (space, dot, hyphen, slash) and
# bracketed area codes: a phone or card number candidate, classified by its count of digits.
_NUMBER = r"(?<![\w+])\+?(?:\(\d+\)|\d)(?:[ .\-/]?(?:\(\d+\)|\d))*(?!\w)"
_DATE_OR_NUMBER = re.compile(f"(?P<date>{_DATE})|(?P<number>{_NUMBER})")
_WHITESPACE = re.compile(r"\s+")

# IBAN: country code, check digits, then groups of four (spaces or dashes optional) and a short tail.
# Masked when the ISO 13616 check (mod 97) holds or the candidate carries at least 10 digits, so
# that product codes such as "FW22 ROUTER MODEL X100" survive.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]{4}){2,7}(?:[ \-]?[A-Z0-9]{1,4})?\b", re.IGNORECASE)
# Street addresses: "221B Baker Street", "1600 Amphitheatre Parkway", "Flat 3, 12 High St",
# "Apt 4B, 350 Fifth Avenue": a house number, one to four capitalised words and a street type; a
# flat/unit prefix is taken along. Lower-case "5 main street" too, for the unambiguous types.
_STREET_TYPE = (r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Parkway|Pkwy|Way|Close|"
                r"Court|Ct|Place|Pl|Square|Sq|Terrace|Crescent|Cres|Gardens|Grove|Mews|Highway|Hwy|Plaza)\.?")
_UNIT = r"(?:(?:Flat|Apartment|Apt|Unit|Suite|Ste|Room)\.?\s*#?\d+[A-Za-z]?,?\s+)?"
_HOUSE = r"\d{1,5}[A-Za-z]?(?:-\d{1,5})?,?"
_NOT_A_NAME = (r"(?!(?:the|a|an|to|on|in|at|of|for|my|your|our|their|and|or|but|was|is|it|days?|hours?|"
               r"weeks?|months?|years?|times?|minutes?|calls?|orders?)\b)")
_ADDRESS = re.compile(
    rf"(?:\b{_UNIT}{_HOUSE}\s+(?:[A-Z][A-Za-z'’\-]+\s+){{1,4}}{_STREET_TYPE}(?![\w])"
    rf"|\b(?i:{_UNIT}){_HOUSE}\s+(?:{_NOT_A_NAME}[a-z][a-z'’\-]+\s+){{1,2}}(?:street|avenue|boulevard|parkway|lane)\b"
    # German and Dutch style: the street, then the number ("Hauptstraße 5", "Keizersgracht 123")
    rf"|\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|allee|platz|gasse|damm|gracht|laan|straat)\s+\d{{1,4}}[a-z]?\b"
    # French style: "12 rue de la Paix", "3 bis avenue Victor Hugo"
    rf"|\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai)\s+"
    rf"(?:(?:de|du|des|la|le|l'|d')\s*)*[A-ZÉÈ][\w'’\-]+)")
# UK postcodes ("NW1 6XE", "SW1A 1AA"): the full outward + inward form only.
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b")


def _iban_ok(text: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN without separators."""
    moved = text[4:] + text[:4]
    digits = "".join(str(int(ch, 36)) for ch in moved)
    return int(digits) % 97 == 1


def _redact_iban(match: re.Match) -> str:
    raw = match.group(0)
    # The groups may run on into the next word ("... 1332 about"): an IBAN does not end in letters only.
    parts = re.split(r"([ \-])", raw)
    rest = ""
    while len(parts) > 1 and parts[-1].isalpha():
        rest = parts[-2] + parts[-1] + rest
        parts = parts[:-2]
    candidate = "".join(parts)
    compact = re.sub(r"[ \-]", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return raw
    if _iban_ok(compact) or sum(ch.isdigit() for ch in compact) >= 10:
        return "[iban]" + rest
    return raw


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
    """Customer free text with e-mail addresses, IBANs, street addresses and UK postcodes, phone
    and card numbers replaced by ``[email]``, ``[iban]``, ``[address]``, ``[postcode]``,
    ``[phone]`` and ``[card]`` and whitespace collapsed; NOT escaped. Dates, times and ordinary
    numbers ("order 12", "3 times", "£25.50") stay.

    Use it for text that is escaped later (``show_table`` escapes every cell). Redaction errs on
    the side of removing: any run of 7-19 digits that is not a date counts as a phone or card
    number (13-15 digits count as a card when they pass the Luhn check, 16-19 always).
    Missing values (None, NaN) become the empty string.
    """
    if is_missing(s):
        return ""
    text = _EMAIL.sub("[email]", str(s))
    text = _IBAN.sub(_redact_iban, text)
    text = _ADDRESS.sub("[address]", text)
    text = _POSTCODE.sub("[postcode]", text)
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


def pseudonymise(ids, salt: str | None = None, prefix: str = "Agent ", digits: int = 4):
    """Stable pseudonyms such as ``Agent 0F3A`` from a salted hash (HMAC-SHA256) of each id.

    ``salt`` None (the default, and the notebooks' ``pseudonym_salt`` default) uses
    :func:`installation_salt`. The same id and salt always give the same pseudonym. If two
    distinct ids in ``ids`` share the first ``digits`` hex digits, those ids get longer pseudonyms
    until they differ; so does a code that equals one of the ids (``Agent A042`` must never name
    agent A042). Missing ids stay missing. A pandas Series or Index comes back as the same
    type (same index); any other iterable as a list.
    """
    if salt is None:
        salt = installation_salt()
    if not salt:
        raise ValueError("pseudonymise needs a non-empty salt")
    values = list(ids)
    distinct = {v for v in values if not is_missing(v)}
    digests = {v: _pseudonym_digest(v, salt) for v in distinct}
    length = {v: digits for v in distinct}
    # A code that reads like a real id ("Agent A042" where agents have ids like A042) would point at
    # the wrong person: such codes are lengthened too.
    real_ids = {str(v).strip().upper() for v in distinct}
    while True:
        by_label: dict[str, list] = {}
        for v in distinct:
            by_label.setdefault(digests[v][: length[v]], []).append(v)
        clashes = [group for label, group in by_label.items() if len(group) > 1 or label in real_ids]
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




# --------------------------------------------------------------------------------------------
# Checking a published report


@dataclass(frozen=True)
class Leak:
    """``needle`` found in ``file`` (relative to the report folder), with some ``context``."""

    file: str
    needle: str
    context: str


_DATA_URI = re.compile(r"data:[\w/+.\-]+(?:;[\w=.\-]+)*,[^\"'\s)<>]*")
_TAG = re.compile(r"<[^>]*>")


def report_texts(folder: str | Path) -> dict[str, str]:
    """The text a reader of a report folder can see, per file: every ``*.html`` page and agent page (tags, embedded
    ``data:`` images and entities resolved away; attribute values kept), ``manifest.json``,
    ``*.findings.json`` and the study tables ``tables/*.csv`` when present."""
    folder = Path(folder)
    texts: dict[str, str] = {}
    for path in sorted(folder.glob("*.html")) + sorted(folder.glob("agents/*.html")):
        raw = _DATA_URI.sub(" ", path.read_text(encoding="utf-8", errors="replace"))
        attributes = " ".join(re.findall(r"=\s*\"([^\"]*)\"", raw))
        texts[str(path.relative_to(folder))] = html.unescape(_TAG.sub(" ", raw) + " " + attributes)
    for pattern in ("manifest.json", "*.findings.json", "tables/*.csv"):
        for path in sorted(folder.glob(pattern)):
            texts[str(path.relative_to(folder))] = path.read_text(encoding="utf-8", errors="replace")
    return texts


def find_in_report(folder: str | Path, needles, *, word: bool = True) -> list[Leak]:
    """Where any of ``needles`` (agent ids, e-mail addresses, phone numbers ...) appears in what a
    reader of the report folder can see (``report_texts``). With ``word``, a needle must not be
    part of a longer word or number ("A001" is not found in "A0012", nor "004" in a run time of 8.004 s)."""
    needles = sorted({str(n) for n in needles if str(n).strip()}, key=len, reverse=True)
    if not needles:
        return []
    alternatives = "|".join(re.escape(n) for n in needles)
    pattern = re.compile(rf"(?<![\w@])(?<!\d\.)({alternatives})(?![\w@])(?!\.\d)" if word else f"({alternatives})")
    leaks = []
    for name, text in report_texts(folder).items():
        for match in pattern.finditer(text):
            start, end = max(0, match.start() - 40), match.end() + 40
            leaks.append(Leak(name, match.group(1), _WHITESPACE.sub(" ", text[start:end])))
    return leaks
