"""The description of a data set: ``dataset.yaml`` beside the three tables.

It says what the tables cannot say themselves: the CSAT scale the survey used (binary, 3-, 5-,
7-point ..., with labels and the "top box" counted as satisfied), whether NPS was asked, whom a
rating is attributed to, where the data came from, and which columns the source did not record
(missing), recorded only for some rows (partial) or derived by a stated rule. Importers
(``upstream.data.importers``) write it; ``load_dataset`` reads it into ``Dataset.description``.
A folder without ``dataset.yaml`` gets :data:`DEFAULT_DESCRIPTION`: today's 5-point CSAT and
NPS 0-10, every column as the data set gives it.

How a study reads it (``ds = upstream.load_dataset(folder)``)::

    scale = ds.description.csat
    scale.kind            # "binary" (2 points) or "ordinal" (3 or more)
    scale.points          # k: the codes are 1..k, worst to best
    scale.codes           # (1, ..., k)
    scale.labels          # {1: "bad", 2: "good"}
    scale.top_box         # codes counted as satisfied, e.g. (2,) or (4, 5): every top-box figure
    scale.label_of_good   # words for the top box, e.g. "good", "4 or 5"
    scale.satisfied(ds.surveys["csat"])   # boolean Series: in the top box (<NA> when no csat)
    scale.in_top_box(values)              # bool array: in the top box (False when empty)
    scale.top_box_sql("s.csat")           # the same as SQL: "s.csat IN (6, 7)"
    scale.range, scale.linear             # span in reported units; averaged as a number (5+ points)?
    csat_scale_of(ds)                     # the scale of any data set (DEFAULT_CSAT without a description)
    ds.description.nps.present            # False when the source has no NPS question
    ds.description.attribution.rule       # e.g. "rating_time_assignee", "export_time_assignee"
    ds.description.attribution.at_rating_time   # False: ratings may sit with a later assignee
    ds.description.has_column("contacts", "handle_time_sec")

The file format is in data/README.md ("dataset.yaml"); ``dataset_yaml.py`` reads the file and checks it
with the pydantic models of ``dataset_shape.py`` (unknown keys are an error: a typo must not silently
change the scale).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ..survey.constants import DETRACTOR_MAX, PROMOTER_MIN
from .schema import TABLES

__all__ = ["CsatScale", "NpsScale", "Attribution", "ColumnNotes", "DatasetDescription",
           "DEFAULT_CSAT", "DEFAULT_NPS", "DEFAULT_DESCRIPTION", "DESCRIPTION_FILE",
           "ATTRIBUTION_RULES", "SHARED_WEIGHTS", "MAX_POINTS", "FORMAT_VERSION", "Visibility", "csat_scale_of",
           "default_top_box", "visibility_of"]

DESCRIPTION_FILE = "dataset.yaml"
FORMAT_VERSION = 1
MAX_POINTS = 11

#: How a data set's agent_id relates to the ratings (``attribution.rule``).
ATTRIBUTION_RULES: dict[str, str] = {
    "rating_time_assignee": "a rating belongs to the agent assigned when the customer rated",
    "rated_reply_author": "a rating belongs to the agent who wrote the reply the customer rated",
    "last_agent_reply": "a rating belongs to the agent who wrote the last agent reply before the survey was sent",
    "export_time_assignee": ("a rating is attributed to the ticket's assignee when the data was exported, "
                             "which may be a later agent than the one the customer rated"),
    "stated": "agent_id is as the data set gives it",
    "simulated": "agent_id is the agent who handled the simulated contact",
    "shared": ("a rating is shared among the agents who worked on the contact, with the weights of the "
               "contact_agents table; agent_id is the agent assigned when the customer rated"),
}
_AT_RATING_TIME = {"rating_time_assignee", "rated_reply_author", "last_agent_reply", "simulated", "shared"}
#: How the ``contact_agents`` weights were formed (``attribution.weights``, with ``rule: shared``).
SHARED_WEIGHTS: dict[str, str] = {
    "public_replies": "each agent's share of the contact's public replies",
    "handle_time": "each agent's share of the contact's handle time",
    "equal": "equal shares for every agent who worked on the contact",
}
#: Scales averaged as numbers (the linear agent model, score means, trends' decomposition) have this many points
#: or more; shorter ones get a latent model (logistic for 2 points, cumulative logit for 3 or 4).
LINEAR_POINTS = 5


def default_top_box(points: int) -> tuple[int, ...]:
    """The top box of a scale that does not declare one: its highest code."""
    return (int(points),)


@dataclass(frozen=True)
class CsatScale:
    """The CSAT scale of a data set: the canonical codes are the whole numbers 1..``points``,
    worst to best, whatever the vendor's own codes were.

    ``kind`` is ``binary`` for 2 points (model: logistic on "in the top box") and ``ordinal``
    for 3 or more (cumulative-logit); ``labels`` names each code; ``top_box`` holds the codes
    counted as satisfied (CSAT % = share of answers in it); ``label_of_good`` says the top box
    in words. ``present`` is False when the source has no CSAT question (csat stays empty).
    ``vendor_scale`` names the source scale (e.g. "Zendesk legacy CSAT (good/bad)").
    """

    points: int = 5
    labels: Any = None
    top_box: tuple[int, ...] = ()          # empty: the highest code (``default_top_box``)
    label_of_good: str = ""
    present: bool = True
    vendor_scale: str = ""

    def __post_init__(self):
        labels = dict(self.labels) if self.labels else {c: str(c) for c in range(1, self.points + 1)}
        labels = {**{c: str(c) for c in range(1, self.points + 1)}, **{int(c): str(v) for c, v in labels.items()}}
        object.__setattr__(self, "labels", MappingProxyType(labels))
        object.__setattr__(self, "top_box", tuple(int(c) for c in self.top_box) or default_top_box(self.points))
        if not self.label_of_good:
            words = [labels[c] for c in self.top_box]
            object.__setattr__(self, "label_of_good", " or ".join(words))

    @property
    def kind(self) -> str:
        return "binary" if self.points == 2 else "ordinal"

    @property
    def is_binary(self) -> bool:
        return self.points == 2

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(range(1, self.points + 1))

    @property
    def range(self) -> float:
        """The span of the scale in its reported units: points − 1, or 1 (a share) for good/bad."""
        return 1.0 if self.is_binary else float(self.points - 1)

    @property
    def linear(self) -> bool:
        """True when scores are averaged as numbers (5 points or more); else a latent model is used."""
        return not self.is_binary and self.points >= LINEAR_POINTS

    @property
    def dissatisfied(self) -> tuple[int, ...]:
        """The codes below the middle of the scale (1–2 of 5, 1–3 of 7, 1 of 2 or 3): the dissatisfied replies."""
        return tuple(range(1, int(np.ceil((self.points + 1) / 2))))

    def in_top_box(self, csat) -> "np.ndarray":
        """A boolean array: True where ``csat`` is a top-box code (False where empty or another code)."""
        values = pd.Series(csat)
        return values.isin(self.top_box).to_numpy(dtype=bool)

    def top_box_sql(self, column: str) -> str:
        """The top box as an SQL condition on ``column``, e.g. ``s.csat IN (6, 7)``."""
        return f"{column} IN ({', '.join(str(c) for c in self.top_box)})"

    @classmethod
    def of(cls, scale) -> "CsatScale":
        """``scale`` as a CsatScale: itself, DEFAULT_CSAT for None, or one built from an object with the same
        attributes (points, labels, top_box, label_of_good)."""
        if isinstance(scale, cls):
            return scale
        if scale is None:
            return DEFAULT_CSAT
        points = int(getattr(scale, "points", 5))
        return cls(points=points, labels=getattr(scale, "labels", None) or None,
                   top_box=tuple(getattr(scale, "top_box", None) or default_top_box(points)),
                   label_of_good=str(getattr(scale, "label_of_good", "") or ""),
                   present=bool(getattr(scale, "present", True)))

    def __reduce__(self):
        return (CsatScale, (self.points, dict(self.labels), self.top_box, self.label_of_good, self.present,
                            self.vendor_scale))

    def label(self, code: int) -> str:
        """The label of one code (``KeyError`` for a code not on the scale)."""
        return self.labels[int(code)]

    def satisfied(self, csat: pd.Series) -> pd.Series:
        """True where ``csat`` is in the top box, False where it is another code, <NA> where empty."""
        values = pd.Series(csat)
        flags = values.isin(self.top_box).astype("boolean")
        return flags.where(values.notna())

    def summary(self) -> str:
        """The scale in a few words, e.g. ``binary scale 1 bad, 2 good``."""
        codes = ", ".join(f"{c} {self.labels[c]}" if self.labels[c] != str(c) else str(c) for c in self.codes)
        return f"{self.kind} {self.points}-point scale {codes}" if not self.is_binary else f"binary scale {codes}"

    def to_dict(self) -> dict:
        out = {"present": self.present, "kind": self.kind, "points": self.points,
               "labels": dict(self.labels), "top_box": list(self.top_box),
               "label_of_good": self.label_of_good}
        if self.vendor_scale:
            out["vendor_scale"] = self.vendor_scale
        return out


@dataclass(frozen=True)
class NpsScale:
    """NPS 0-10 (promoters 9-10, passives 7-8, detractors 0-6); ``present`` is False when the
    source has no NPS question."""

    present: bool = True
    low: int = 0
    high: int = 10
    promoters: tuple[int, ...] = tuple(range(PROMOTER_MIN, 11))
    detractors: tuple[int, ...] = tuple(range(0, DETRACTOR_MAX + 1))

    def to_dict(self) -> dict:
        return {"present": self.present, "range": [self.low, self.high]}


@dataclass(frozen=True)
class Attribution:
    """Whom a contact's ``agent_id`` (and so its rating) belongs to: ``rule`` is one of
    :data:`ATTRIBUTION_RULES`; ``reassigned_after_rating`` counts rated contacts whose
    export-time assignee was another agent (None when unknown)."""

    rule: str = "stated"
    description: str = ""
    reassigned_after_rating: int | None = None
    weights: str | None = None            # rule "shared": a key of SHARED_WEIGHTS

    @property
    def at_rating_time(self) -> bool:
        """False when a rating may sit with an agent assigned after the customer rated."""
        return self.rule in _AT_RATING_TIME

    def sentence(self) -> str:
        if self.description:
            return self.description
        if self.rule == "shared" and self.weights:
            return f"{ATTRIBUTION_RULES['shared']}; the weights are {SHARED_WEIGHTS[self.weights]}"
        return ATTRIBUTION_RULES[self.rule]


@dataclass(frozen=True)
class Visibility:
    """What the export lets the data show about the survey process (``visibility`` in
    ``dataset.yaml``).

    ``unanswered_invitations`` is False when ``surveys`` lists answered surveys only (e.g. an
    export of ratings): response rates (replies per invitation) cannot be seen.
    ``uninvited_contacts`` is False when ``contacts`` lists only the contacts that were surveyed:
    invitation rates (invitations per contact) cannot be seen. ``note`` says why, for a sentence.
    A screen, rate or sentence that needs what is not visible is skipped, and says so."""

    unanswered_invitations: bool = True
    uninvited_contacts: bool = True
    note: str = ""

    @property
    def response_rates(self) -> bool:
        """True when replies per invitation can be measured."""
        return self.unanswered_invitations

    @property
    def invitation_rates(self) -> bool:
        """True when invitations per contact can be measured: contacts list the uninvited ones too, and surveys
        list unanswered invitations (otherwise a contact without a survey row may have been invited)."""
        return self.uninvited_contacts and self.unanswered_invitations

    def to_dict(self) -> dict:
        out = {"unanswered_invitations": self.unanswered_invitations,
               "uninvited_contacts": self.uninvited_contacts}
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class ColumnNotes:
    """Per table: ``missing`` columns the source did not record (absent from the file),
    ``partial`` columns with empty cells and why, ``derived`` columns and their rule,
    ``sources`` where other columns came from."""

    missing: tuple[str, ...] = ()
    partial: Any = field(default_factory=dict)
    derived: Any = field(default_factory=dict)
    sources: Any = field(default_factory=dict)

    def __post_init__(self):
        for name in ("partial", "derived", "sources"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))


@dataclass(frozen=True)
class DatasetDescription:
    """Everything ``dataset.yaml`` says (or the defaults when there is none: ``declared`` False).

    ``source`` and ``period`` are kept as read (vendor, format, export time, files ...);
    ``columns`` maps each table to its :class:`ColumnNotes`; ``channel_groups`` maps raw vendor
    channel values to their group and count (importers write it)."""

    csat: CsatScale = field(default_factory=CsatScale)
    nps: NpsScale = field(default_factory=NpsScale)
    attribution: Attribution = field(default_factory=Attribution)
    columns: Any = field(default_factory=dict)
    name: str = ""
    source: Any = field(default_factory=dict)
    period: Any = field(default_factory=dict)
    channel_groups: Any = field(default_factory=dict)
    visibility: Visibility = field(default_factory=Visibility)
    declared: bool = False
    path: Path | None = None

    def __post_init__(self):
        notes = {t: self.columns.get(t, ColumnNotes()) for t in TABLES}
        object.__setattr__(self, "columns", MappingProxyType(notes))
        for name in ("source", "period", "channel_groups"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def has_column(self, table: str, column: str) -> bool:
        """False when ``column`` is one the source did not record (absent from ``table``)."""
        return column not in self.columns[table].missing

    def partial(self, table: str) -> dict[str, str]:
        """Columns of ``table`` declared partly empty, with the reason."""
        return dict(self.columns[table].partial) if table in self.columns else {}

    @property
    def vendor(self) -> str | None:
        return self.source.get("vendor")

    def with_missing(self, missing: dict[str, tuple[str, ...]]) -> "DatasetDescription":
        """A copy whose ``columns[table].missing`` are the optional columns the files lack."""
        columns = {}
        for table in TABLES:
            old = self.columns[table]
            columns[table] = ColumnNotes(missing=tuple(missing.get(table, ())), partial=old.partial,
                                         derived=old.derived, sources=old.sources)
        return DatasetDescription(csat=self.csat, nps=self.nps, attribution=self.attribution, columns=columns,
                                  name=self.name, source=self.source, period=self.period,
                                  channel_groups=self.channel_groups, visibility=self.visibility,
                                  declared=self.declared, path=self.path)


DEFAULT_CSAT = CsatScale(points=5, labels={1: "very dissatisfied", 2: "dissatisfied", 3: "neutral",
                                           4: "satisfied", 5: "very satisfied"}, top_box=(5,))
DEFAULT_NPS = NpsScale()
DEFAULT_DESCRIPTION = DatasetDescription(csat=DEFAULT_CSAT, nps=DEFAULT_NPS)


def csat_scale_of(ds) -> CsatScale:
    """The CSAT scale of a data set (``ds.description.csat``; DEFAULT_CSAT when it has no description)."""
    return CsatScale.of(getattr(getattr(ds, "description", None), "csat", None))


def visibility_of(ds) -> Visibility:
    """What a data set can show of the survey process (``ds.description.visibility``; everything by default)."""
    visibility = getattr(getattr(ds, "description", None), "visibility", None)
    return visibility if isinstance(visibility, Visibility) else Visibility()
