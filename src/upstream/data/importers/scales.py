"""CSAT scales: each vendor's values mapped onto the canonical codes 1..k, worst to best.

The canonical ``csat`` of a data set with a k-point scale is a whole number 1..k (a 5-point
scale stays 1..5). ``dataset.yaml`` records the scale (``upstream.data.description.CsatScale``):
labels, the top box (the codes counted as satisfied), and here also every vendor spelling of
each code and the vendor values that are not answers. Vendor facts and URLs:
docs/importers/vendor_formats.md; the coding table: docs/importers/canonical_extensions.md §2.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..description import CsatScale, default_top_box
from .errors import ImportInputError


@dataclass(frozen=True)
class VendorScale:
    """A vendor's CSAT scale: ``points`` codes 1..points with ``labels``; ``vendor_codes`` maps
    each accepted vendor spelling (text, compared lower-cased) to its canonical code;
    ``not_answers`` maps vendor values that are not answers to their meaning."""

    name: str
    points: int
    labels: dict[int, str]
    vendor_codes: dict[str, int]
    top_box: tuple[int, ...]
    not_answers: dict[str, str] = field(default_factory=dict)
    label_of_good: str = ""

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

    def codes_of(self, values) -> tuple[list, list]:
        """Codes of many vendor values (None stays None, non-answers become None) and the
        distinct values that are on no side of the scale (for the error message)."""
        out, off = [], []
        for v in values:
            if v is None or (isinstance(v, float) and v != v):
                out.append(None)
                continue
            try:
                out.append(self.code(v))
            except KeyError:
                out.append(None)
                if v not in off:
                    off.append(v)
        return out, off

    def canonical(self) -> CsatScale:
        """The data-layer scale (what ``load_dataset`` gives the studies)."""
        return CsatScale(points=self.points, labels=dict(self.labels), top_box=self.top_box,
                         label_of_good=self.label_of_good, vendor_scale=self.name)

    def describe(self, scale_source: str | None = None) -> dict:
        """The ``csat:`` block of dataset.yaml."""
        out = self.canonical().to_dict()
        out["vendor_codes"] = dict(self.vendor_codes)
        if self.not_answers:
            out["not_answers"] = dict(self.not_answers)
        if scale_source:
            out["scale_source"] = scale_source
        return out


def _key(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def _numeric(name: str, points: int, top_box: tuple[int, ...], words: dict[str, int] | None = None,
             labels: dict[int, str] | None = None) -> VendorScale:
    codes = {str(i): i for i in range(1, points + 1)}
    codes.update(words or {})
    return VendorScale(name=name, points=points, labels=labels or {i: str(i) for i in range(1, points + 1)},
                       vendor_codes=codes, top_box=top_box)


ZENDESK_LEGACY = VendorScale(
    name="Zendesk legacy CSAT (good/bad)", points=2, labels={1: "bad", 2: "good"},
    vendor_codes={"bad": 1, "good": 2}, top_box=(2,), label_of_good="good",
    not_answers={"offered": "survey sent, no answer", "unoffered": "no survey sent",
                 "not offered": "no survey sent"},
)

HELPSCOUT = VendorScale(
    name="Help Scout happiness rating (great/okay/not good)", points=3,
    labels={1: "not good", 2: "okay", 3: "great"},
    vendor_codes={"not_good": 1, "not-good": 1, "not good": 1, "bad": 1,
                  "okay": 2, "ok": 2, "great": 3},
    top_box=(3,), label_of_good="great", not_answers={"unknown": "rating value unknown"},
)

INTERCOM = _numeric("Intercom conversation rating (1-5)", 5, (4, 5),
                    words={"terrible": 1, "bad": 2, "ok": 3, "good": 4, "amazing": 5})

GORGIAS = _numeric("Gorgias satisfaction survey score (1-5)", 5, (4, 5))

_FRESHDESK = {
    3: ((-103, "Unhappy"), (100, "Neutral"), (103, "Happy")),
    5: ((-103, "Very Unhappy"), (-102, "Unhappy"), (100, "Neutral"), (102, "Happy"),
        (103, "Very Happy")),
    7: ((-103, "Extremely Unhappy"), (-102, "Very Unhappy"), (-101, "Unhappy"), (100, "Neutral"),
        (101, "Happy"), (102, "Very Happy"), (103, "Extremely Happy")),
}
TOP_BOX = {2: (2,), 3: (3,), 5: (4, 5), 7: (6, 7)}


def freshdesk_codes(points: int) -> tuple[int, ...]:
    """The Freshdesk rating codes of a 3-, 5- or 7-point survey, worst to best."""
    return tuple(c for c, _label in _FRESHDESK[points])


def freshdesk_scale(points: int) -> VendorScale:
    """Freshdesk's 3-, 5- or 7-point survey: codes -103..103 (and the survey's labels) to 1..k."""
    if points not in _FRESHDESK:
        raise ValueError(f"Freshdesk surveys have 3, 5 or 7 points, not {points}")
    rows = _FRESHDESK[points]
    codes: dict[str, int] = {}
    for i, (code, label) in enumerate(rows, start=1):
        codes[str(code)] = i
        codes[label.lower()] = i
    return VendorScale(name=f"Freshdesk {points}-point survey", points=points,
                       labels={i: label for i, (_c, label) in enumerate(rows, start=1)},
                       vendor_codes=codes, top_box=TOP_BOX[points])


def freshdesk_points(codes, declared: int | None, file: str) -> int:
    """The Freshdesk survey scale: the declared one (mapping or surveys.json), else the codes
    when they prove it (a ±101 exists only on 7-point surveys). Raises :class:`ImportInputError`
    when the scale cannot be told or a code is not on the declared scale."""
    seen = sorted({int(c) for c in codes})
    if declared is not None:
        if declared not in _FRESHDESK:
            raise ImportInputError(f"{file}: Freshdesk surveys have 3, 5 or 7 points, not {declared}", file)
        valid = set(freshdesk_codes(declared))
        off = [c for c in seen if c not in valid]
        if off:
            raise ImportInputError(
                f"{file}: rating codes {', '.join(map(str, off))} are not on a {declared}-point "
                f"Freshdesk survey (its codes are {', '.join(map(str, freshdesk_codes(declared)))})",
                file)
        return declared
    if any(abs(c) == 101 for c in seen):
        return 7
    raise ImportInputError(
        f"{file}: the survey scale cannot be told from the ratings (codes seen: "
        f"{', '.join(map(str, seen))}); add 'csat: {{points: 3}}' (or 5 or 7) to the mapping, or "
        "include surveys.json", file)


def freshdesk_label_points(labels, declared: int | None, file: str, column: str) -> int:
    """The scale of a Freshdesk UI export's survey labels (``Extremely Happy`` ...): declared,
    else proved by a label that exists on one scale only."""
    seen = sorted({str(v).strip() for v in labels})
    known = {p: {label.lower() for _c, label in rows} for p, rows in _FRESHDESK.items()}
    off = [v for v in seen if not any(v.lower() in k for k in known.values())]
    if off:
        raise ImportInputError(
            f"{file}: column '{column}': {', '.join(repr(v) for v in off[:5])} "
            f"{'is not a label' if len(off) == 1 else 'are not labels'} of a Freshdesk survey (labels such as "
            "'Extremely Happy', 'Very Happy', 'Happy', 'Neutral', 'Unhappy')", file)
    if declared is not None:
        bad = [v for v in seen if v.lower() not in known[declared]]
        if bad:
            raise ImportInputError(
                f"{file}: column '{column}': {', '.join(repr(v) for v in bad[:5])} not on a {declared}-point "
                f"Freshdesk survey (its labels are {', '.join(label for _c, label in _FRESHDESK[declared])})", file)
        return declared
    candidates = [p for p in (3, 5, 7) if all(v.lower() in known[p] for v in seen)]
    if len(candidates) == 1:
        return candidates[0]
    raise ImportInputError(
        f"{file}: column '{column}': the survey scale cannot be told from the labels (seen: "
        f"{', '.join(seen)}); add 'csat: {{points: 3}}' (or 5 or 7) to the mapping", file)


def zendesk_new_csat(points: int) -> VendorScale:
    """Zendesk's customizable CSAT (survey responses): ratings 1..points for 2, 3 or 5 points."""
    if points not in (2, 3, 5):
        raise ValueError(f"Zendesk CSAT surveys have 2, 3 or 5 points, not {points}")
    return _numeric(f"Zendesk CSAT survey, {points}-point", points, TOP_BOX[points])


def declared_scale(points: int, labels: dict | None, codes: dict | None, top_box, name: str) -> VendorScale:
    """A scale stated in a mapping (table imports): ``points``, optional ``labels`` and vendor
    ``codes`` (value -> canonical code); the numbers 1..points are always accepted. Without ``top_box`` the top
    box is the highest code, as for a dataset.yaml that declares none (``description.default_top_box``)."""
    labels = {int(k): str(v) for k, v in (labels or {}).items()} or {i: str(i) for i in range(1, points + 1)}
    vendor = {str(i): i for i in range(1, points + 1)}
    vendor.update({str(k).strip().lower(): int(v) for k, v in (codes or {}).items()})
    for label_code, label in labels.items():
        vendor.setdefault(label.strip().lower(), label_code)
    top = tuple(int(c) for c in top_box) if top_box else default_top_box(points)   # the one undeclared rule
    return VendorScale(name=name, points=points, labels=labels, vendor_codes=vendor, top_box=top)


# ------------------------------------------------------------------------------------------------
# several surveys (or survey versions) in one export: one declared scale


@dataclass(frozen=True)
class SurveyScale:
    """The ratings of one survey (or survey version) of an export: ``key`` as a mapping's
    ``csat.by_survey`` names it, its own ``scale`` (None when neither the export nor the mapping
    tells it), the distinct vendor ``values`` seen and the number of ratings ``n``."""

    key: str
    scale: VendorScale | None
    values: tuple
    n: int
    label: str = "survey"


def suggested_codes(source: VendorScale, points: int) -> dict[str, int]:
    """A suggestion (never applied without the mapping) for writing a ``source``-scale survey onto
    ``points`` codes: worst stays worst, best stays best, the middle spread evenly (rounded away
    from the middle, so no answer moves across it)."""
    k = source.points
    seen: dict[int, str] = {}
    for value, code in source.vendor_codes.items():   # the first spelling of each code: the vendor's code
        seen.setdefault(code, value)
    out: dict[str, int] = {}
    for code in sorted(seen):
        x = 1 + (code - 1) * (points - 1) / (k - 1)
        mid = (points + 1) / 2
        out[seen[code]] = int(x) if x < mid else (int(x) if x == int(x) else int(x) + 1)
    return out


def one_scale(surveys: list[SurveyScale], points: int | None, by_survey: dict[str, dict[str, int]],
              make: Callable[[int], VendorScale], *, file: str, mapping: str,
              field: str) -> tuple[VendorScale, dict[str, dict]]:
    """The one CSAT scale of an export whose ratings come from several surveys, and for each survey
    the map vendor value (lower-cased text) -> canonical code.

    A survey listed in ``by_survey`` (the mapping's ``csat.by_survey``) is written onto the declared
    ``points`` as listed (every value seen must be listed). Any other survey must be on the declared
    scale (or, without ``points``, all of them on the same scale). Otherwise :class:`ImportInputError`
    shows the mapping lines to write: a 3-point "Happy" is never taken for 5 of 5. ``make(points)``
    builds the target scale.
    """
    unknown = [s for s in surveys if s.scale is None and s.key not in by_survey]
    if unknown:
        raise ValueError("one_scale needs the scale of every survey not in by_survey")
    for key in by_survey:
        if key not in {s.key for s in surveys}:
            listed = ", ".join(s.key for s in surveys)
            raise ImportInputError(f"{mapping}: csat.by_survey.{key}: no ratings of {surveys[0].label} {key} in "
                                   f"{file}; the {surveys[0].label}s there are {listed}", mapping)
    natives = {s.scale.points for s in surveys if s.key not in by_survey}
    target_points = points if points is not None else (natives.pop() if len(natives) == 1 else None)
    off = [s for s in surveys if s.key not in by_survey and s.scale.points != target_points]
    if target_points is None or off:
        _refuse_mixed(surveys, points, by_survey, file=file, mapping=mapping)
    target = make(target_points)
    maps: dict[str, dict] = {}
    for s in surveys:
        if s.key in by_survey:
            given = {str(k).strip().lower(): int(v) for k, v in by_survey[s.key].items()}
            missing = [v for v in s.values if _key(v) not in given]
            if missing:
                raise ImportInputError(
                    f"{mapping}: csat.by_survey.{s.key}: no code for {', '.join(repr(str(v)) for v in missing[:5])} "
                    f"({field} values of {s.label} {s.key} in {file}); list every value the {s.label} uses", mapping)
            maps[s.key] = given
        else:
            maps[s.key] = dict(s.scale.vendor_codes)
    return target, maps


def _refuse_mixed(surveys: list[SurveyScale], points: int | None, by_survey: dict, *, file: str,
                  mapping: str) -> None:
    label = surveys[0].label
    declared = points
    listed = "; ".join(f"{label} {s.key}: {s.scale.points}-point ({s.n} rating{'s' if s.n != 1 else ''})"
                       if s.scale else f"{label} {s.key}: mapped ({s.n})" for s in surveys)
    if points is None:
        counts: dict[int, int] = {}
        for s in surveys:
            if s.key not in by_survey:
                counts[s.scale.points] = counts.get(s.scale.points, 0) + s.n
        points = max(counts, key=lambda p: (counts[p], p))
    lines = [f"    {s.key}: {{{', '.join(f'{v}: {c}' for v, c in suggested_codes(s.scale, points).items())}}}"
             for s in surveys if s.key not in by_survey and s.scale.points != points]
    lines += [f"    {k}: {{{', '.join(f'{v}: {c}' for v, c in m.items())}}}" for k, m in by_survey.items()]
    what = (f"the ratings come from {label}s on different scales ({listed}); a data set has one CSAT scale"
            if len(surveys) > 1 or declared is None else
            f"the ratings are on a different scale ({listed}) than the mapping declares (csat.points: {points})")
    raise ImportInputError(
        f"{file}: {what}, and an answer on one scale is not the same answer on another (a 3-point 'Happy' is not "
        "5 of 5). "
        "Nothing was imported. State in the mapping how each survey's answers map onto one scale, for example "
        "(check every code; this is a suggestion, not applied):\n\ncsat:\n"
        f"  points: {points}\n  by_survey:\n" + "\n".join(lines), file)
