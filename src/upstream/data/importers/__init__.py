"""Helpdesk exports -> Upstream's canonical tables (contacts, surveys, agents), a data-set
description (``dataset.yaml``) and an import report.

Part of the data layer: it imports nothing from analysis/, studies/ or runner/. Formats and
rules: docs/importers/vendor_formats.md and docs/importers/canonical_extensions.md.

    >>> result = import_export("zendesk", "export/", mapping="mapping.yaml")
    >>> result.write("data/acme")        # atomic: a temporary folder renamed into place

``upstream import <vendor> <export> --out <folder> [--mapping mapping.yaml]`` is the command.
"""
from __future__ import annotations

from pathlib import Path

from .channels import CHANNEL_GROUPS, map_channels
from .errors import ImportInputError
from .mapping import ColumnRule, Mapping, load_mapping, parse_mapping
from .pages import FileRead, iter_json_values, iter_pages
from .report import Dropped, ImportReport
from .result import ImportResult
from .scales import (
    GORGIAS,
    HELPSCOUT,
    INTERCOM,
    ZENDESK_LEGACY,
    VendorScale,
    freshdesk_points,
    freshdesk_scale,
    zendesk_new_csat,
)

VENDORS = ("zendesk", "freshdesk", "intercom", "helpscout", "gorgias", "csv")

__all__ = [
    "VENDORS", "import_export", "ImportInputError", "ImportReport", "ImportResult",
    "Dropped", "Mapping", "ColumnRule", "load_mapping", "parse_mapping", "iter_pages",
    "iter_json_values", "FileRead", "VendorScale", "ZENDESK_LEGACY", "HELPSCOUT", "INTERCOM",
    "GORGIAS", "freshdesk_scale", "freshdesk_points", "zendesk_new_csat", "CHANNEL_GROUPS",
    "map_channels",
]


def import_export(vendor: str, export: str | Path, mapping: str | Path | Mapping | None = None) -> ImportResult:
    """Import a helpdesk export: ``vendor`` is one of :data:`VENDORS`; ``export`` the folder of
    saved API pages, or for ``zendesk`` and ``freshdesk`` also the UI's CSV export file, or for
    ``csv`` any table with a mapping. Raises :class:`ImportInputError` for bad input."""
    export = Path(export)
    if vendor not in VENDORS:
        raise ImportInputError(f"unknown vendor {vendor!r}; importers exist for {', '.join(VENDORS)}")
    if not export.exists():
        raise ImportInputError(f"{export.name}: the export does not exist ({export})", export.name)
    csv_file = export.is_file() and export.name.lower().endswith((".csv", ".csv.gz"))
    if vendor == "zendesk":
        if csv_file:
            from .zendesk_csv import import_zendesk_csv
            return import_zendesk_csv(export, mapping)
        from .zendesk import import_zendesk_api
        return import_zendesk_api(export, mapping)
    if vendor == "freshdesk":
        if csv_file:
            from .freshdesk_csv import import_freshdesk_csv
            return import_freshdesk_csv(export, mapping)
        from .freshdesk import import_freshdesk_api
        return import_freshdesk_api(export, mapping)
    if vendor == "intercom":
        from .intercom import import_intercom
        return import_intercom(export, mapping)
    if vendor == "helpscout":
        from .helpscout import import_helpscout
        return import_helpscout(export, mapping)
    if vendor == "gorgias":
        from .gorgias import import_gorgias
        return import_gorgias(export, mapping)
    from .table import import_table
    return import_table(export, mapping)


def import_zendesk_api(export, mapping=None) -> ImportResult:
    """Import a Zendesk Support API export folder (see ``zendesk.py``)."""
    from .zendesk import import_zendesk_api as run
    return run(export, mapping)
