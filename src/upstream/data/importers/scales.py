"""CSAT scales: each vendor's codes mapped onto the canonical 1..k, worst to best.

The canonical ``csat`` of a data set with a k-point scale is a whole number 1..k (a 5-point
scale stays 1..5). ``dataset.yaml`` records the scale: labels, the vendor code of each
canonical value and the "top box" (the codes counted as satisfied). Vendor facts and URLs:
docs/importers/vendor_formats.md; the proposal: docs/importers/canonical_extensions.md §2.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ImportInputError


@dataclass(frozen=True)
class CsatScale:
    """A CSAT scale: ``points`` codes 1..points with ``labels``; ``vendor_codes`` maps each
    accepted vendor spelling (text, compared lower-cased) to its canonical code."""

    name: str
    points: int
    labels: dict[int, str]
    vendor_codes: dict[str, int]
    top_box: tuple[int, ...]
    not_answers: dict[str, str] = field(default_factory=dict)  # vendor value -> meaning

    @property
    def kind(self) -> str:
        return "binary" if self.points == 2 else "ordinal"

    def code(self, value) -> int | None:
        """The canonical code of a vendor value; ``None`` for a non-answer (``not_answers``);
        ``KeyError`` for a value that is not on the scale."""
        key = _key(value)
        if key in self.not_answers:
            return None
        return self.vendor_codes[key]

    def describe(self) -> dict:
        """The ``csat:`` block of dataset.yaml."""
        return {
            "present": True, "kind": self.kind, "points": self.points,
            "labels": dict(self.labels), "top_box": list(self.top_box),
            "vendor_codes": dict(self.vendor_codes),
            "not_answers": dict(self.not_answers),
            "vendor_scale": self.name,
        }


def _key(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


ZENDESK_LEGACY = CsatScale(
    name="Zendesk legacy CSAT (good/bad)", points=2, labels={1: "bad", 2: "good"},
    vendor_codes={"bad": 1, "good": 2}, top_box=(2,),
    not_answers={"offered": "survey sent, no answer", "unoffered": "no survey sent"},
)

HELPSCOUT = CsatScale(
    name="Help Scout happiness rating (great/okay/not good)", points=3,
    labels={1: "not good", 2: "okay", 3: "great"},
    vendor_codes={"not_good": 1, "not-good": 1, "not good": 1, "bad": 1,
                  "okay": 2, "ok": 2, "great": 3},
    top_box=(3,), not_answers={"unknown": "rating value unknown"},
)

INTERCOM = CsatScale(
    name="Intercom conversation rating (1-5)", points=5,
    labels={1: "1", 2: "2", 3: "3", 4: "4", 5: "5"},
    vendor_codes={"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "terrible": 1, "bad": 2, "ok": 3,
                  "good": 4, "amazing": 5},
    top_box=(4, 5),
)

GORGIAS = CsatScale(
    name="Gorgias satisfaction survey score (1-5)", points=5,
    labels={1: "1", 2: "2", 3: "3", 4: "4", 5: "5"},
    vendor_codes={"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}, top_box=(4, 5),
)

_FRESHDESK = {
    3: ((-103, "Unhappy"), (100, "Neutral"), (103, "Happy")),
    5: ((-103, "Very Unhappy"), (-102, "Unhappy"), (100, "Neutral"), (102, "Happy"),
        (103, "Very Happy")),
    7: ((-103, "Extremely Unhappy"), (-102, "Very Unhappy"), (-101, "Unhappy"), (100, "Neutral"),
        (101, "Happy"), (102, "Very Happy"), (103, "Extremely Happy")),
}
_TOP_BOX = {2: (2,), 3: (3,), 5: (4, 5), 7: (6, 7)}


def freshdesk_scale(points: int) -> CsatScale:
    """Freshdesk's 3-, 5- or 7-point survey: codes -103..103 (and the survey's labels) to 1..k."""
    if points not in _FRESHDESK:
        raise ValueError(f"Freshdesk surveys have 3, 5 or 7 points, not {points}")
    rows = _FRESHDESK[points]
    codes: dict[str, int] = {}
    for i, (code, label) in enumerate(rows, start=1):
        codes[str(code)] = i
        codes[label.lower()] = i
    return CsatScale(name=f"Freshdesk {points}-point survey", points=points,
                     labels={i: label for i, (_c, label) in enumerate(rows, start=1)},
                     vendor_codes=codes, top_box=_TOP_BOX[points])


def freshdesk_points(codes, declared: int | None, file: str) -> int:
    """The Freshdesk survey scale: the declared one (mapping or surveys.json), else the codes
    when they prove it (a ±101 exists only on 7-point surveys). Raises :class:`ImportInputError`
    when the scale cannot be told or a code is not on the declared scale."""
    seen = sorted({int(c) for c in codes})
    if declared is not None:
        valid = {c for c, _label in _FRESHDESK[declared]}
        off = [c for c in seen if c not in valid]
        if off:
            raise ImportInputError(
                f"{file}: rating codes {', '.join(map(str, off))} are not on a {declared}-point "
                f"Freshdesk survey (its codes are {', '.join(str(c) for c, _ in _FRESHDESK[declared])})",
                file)
        return declared
    if any(abs(c) == 101 for c in seen):
        return 7
    raise ImportInputError(
        f"{file}: the survey scale cannot be told from the ratings (codes seen: "
        f"{', '.join(map(str, seen))}); add 'csat: {{points: 3}}' (or 5 or 7) to the mapping, or "
        "include surveys.json", file)


def zendesk_new_csat(points: int) -> CsatScale:
    """Zendesk's customizable CSAT (survey responses): ratings 1..points for 2, 3 or 5 points."""
    if points not in (2, 3, 5):
        raise ValueError(f"Zendesk CSAT surveys have 2, 3 or 5 points, not {points}")
    labels = {i: str(i) for i in range(1, points + 1)}
    return CsatScale(name=f"Zendesk CSAT survey, {points}-point", points=points, labels=labels,
                     vendor_codes={str(i): i for i in labels}, top_box=_TOP_BOX[points])
