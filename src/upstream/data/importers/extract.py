"""What a vendor importer extracted from an export, in vendor-neutral frames and facts, for
``assemble`` to turn into the canonical tables, dataset.yaml and the import report."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .mapping import Mapping
from .report import ImportReport
from .scales import VendorScale


@dataclass
class Extract:
    """What a vendor importer read (``assemble``'s module docstring lists the frames' columns)."""

    vendor: str
    format: str
    export: Path
    tickets_file: str
    ratings_file: str
    tickets: pd.DataFrame
    ratings: pd.DataFrame
    scale: VendorScale
    mapping: Mapping
    report: ImportReport
    exported_at: pd.Timestamp
    attribution_rule: str
    attribution_description: str
    #: ordered vendor-specific reasons to drop a ticket: (mask over tickets, reason)
    drops: list = field(default_factory=list)
    #: tickets counted as contacts a customer made, for repeats (default: every ticket)
    alive: pd.Series | None = None
    scale_source: str | None = None
    #: report.sources texts
    sources: dict[str, str] = field(default_factory=dict)
    #: canonical column -> (rule text, "source" or "derived") for the ``v:<column>`` columns
    vendor_columns: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: canonical column -> why it is not in this export (when neither vendor nor mapping has it)
    missing: dict[str, str] = field(default_factory=dict)
    #: policy/product/issue_type -> (ticket column, source text) used when the mapping has no rule
    defaults: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: what this export can show of the survey process (dataset.yaml ``visibility``; data/README.md):
    #: ``unanswered_invitations`` False when only answered surveys are listed, ``uninvited_contacts``
    #: False when only surveyed contacts are listed, ``note`` why
    visibility: dict = field(default_factory=lambda: {"unanswered_invitations": True, "uninvited_contacts": True})
    nps_present: bool = False
    #: agents: id, team (name or missing), created_at (text or missing)
    staff: pd.DataFrame | None = None
    users_file: str | None = None
    staff_team_source: str = ""
    read: dict[str, int] = field(default_factory=dict)
    timezone: str = "UTC"
    mapping_text: str | None = None
    agent_noun: str = "agent"
    #: the vendor's rating field (named in the unreadable-rating message); ``ratings`` may carry
    #: ``raw_csat`` (the vendor value): a value present whose ``csat`` is empty stops the import
    #: (:func:`upstream.data.importers.ratings.refuse_unreadable_ratings`)
    rating_field: str = "rating"
    #: vendor values of that field that mean "no answer" (besides the scale's ``not_answers``)
    rating_not_answers: tuple = ()
    #: what the field should hold, for that message
    rating_expected: str = ""
