"""Helpdesk exports -> Upstream's canonical tables (contacts, surveys, agents), a data-set
description (``dataset.yaml``) and an import report.

Self-contained on purpose (relative imports only): it moves to ``upstream.data.importers`` when
the data package is restructured. Formats and rules: docs/importers/vendor_formats.md and
docs/importers/canonical_extensions.md.

    >>> result = import_export("zendesk", "export/", mapping="mapping.yaml")
    >>> result.write("data/acme")        # atomic: a temporary folder renamed into place
"""
from __future__ import annotations

from pathlib import Path

from .channels import CHANNEL_GROUPS, map_channels
from .errors import ImportInputError
from .mapping import ColumnRule, Mapping, load_mapping, parse_mapping
from .pages import FileRead, iter_json_values, iter_pages
from .report import Dropped, ImportReport
from .result import ImportResult
from .scales import (GORGIAS, HELPSCOUT, INTERCOM, ZENDESK_LEGACY, CsatScale, freshdesk_points,
                     freshdesk_scale, zendesk_new_csat)
from .freshdesk import import_freshdesk_api
from .zendesk import import_zendesk_api

IMPORTERS = {"zendesk": import_zendesk_api, "freshdesk": import_freshdesk_api}
PLANNED = ("intercom", "helpscout", "gorgias", "csv")

__all__ = [
    "import_export", "import_zendesk_api", "import_freshdesk_api", "ImportInputError", "ImportReport", "ImportResult",
    "Dropped", "Mapping", "ColumnRule", "load_mapping", "parse_mapping", "iter_pages",
    "iter_json_values", "FileRead", "CsatScale", "ZENDESK_LEGACY", "HELPSCOUT", "INTERCOM",
    "GORGIAS", "freshdesk_scale", "freshdesk_points", "zendesk_new_csat", "CHANNEL_GROUPS",
    "map_channels",
]


def import_export(vendor: str, export: str | Path, mapping: str | Path | Mapping | None = None) -> ImportResult:
    """Import a helpdesk export of ``vendor`` (``zendesk`` and ``freshdesk`` API exports for now;
    Intercom, Help Scout, Gorgias, the UI CSV exports and any table are planned)."""
    if vendor not in IMPORTERS:
        planned = f" ({vendor} is planned, not written yet)" if vendor in PLANNED else ""
        raise ImportInputError(f"unknown vendor {vendor!r}{planned}; importers exist for "
                               f"{', '.join(IMPORTERS)}")
    return IMPORTERS[vendor](export, mapping)
