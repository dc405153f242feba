"""The import report: what was read, kept and dropped (and why), where every canonical column
came from, what was derived and how, and what is missing."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

from .pages import FileRead

_MAX_EXAMPLES = 5
TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class Dropped:
    """Rows of one table dropped for one reason (``examples``: a few vendor ids)."""

    table: str
    reason: str
    count: int
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"table": self.table, "reason": self.reason, "count": self.count,
                "examples": self.examples}


@dataclass
class ImportReport:
    """Everything a reviewer needs to trust (or distrust) an import.

    ``read``/``kept``: rows per table (``read`` counts vendor records, e.g. ticket records
    including repeated copies); ``dropped``: rows dropped, by reason; ``sources``: canonical
    column -> where it came from; ``derived``: column -> rule; ``missing``: column -> why it is
    absent or partly empty; ``channels``: raw channel value -> group, count, known;
    ``warnings``: things to check (reassignments after rating, unknown channels, ...);
    ``scale``: the CSAT scale (dataset.yaml's ``csat`` block); ``attribution``: whom ratings
    belong to.
    """

    vendor: str
    format: str
    export: str
    files: list[FileRead] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    dropped: list[Dropped] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    channels: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)
    scale: dict = field(default_factory=dict)
    attribution: dict = field(default_factory=dict)

    def drop(self, table: str, reason: str, ids) -> int:
        """Record that the rows with vendor ids ``ids`` of ``table`` were dropped for ``reason``
        (nothing is recorded for zero rows). Returns the count."""
        ids = [str(i) for i in ids]
        if ids:
            self.dropped.append(Dropped(table, reason, len(ids), ids[:_MAX_EXAMPLES]))
        return len(ids)

    def dropped_by_reason(self, table: str) -> dict[str, int]:
        """reason -> count for one table."""
        return {d.reason: d.count for d in self.dropped if d.table == table}

    def to_dict(self) -> dict:
        return {
            "vendor": self.vendor, "format": self.format, "export": self.export,
            "files": [f.to_dict() for f in self.files],
            "rows": {t: {"read": self.read.get(t, 0), "kept": self.kept.get(t, 0),
                         "dropped": sum(d.count for d in self.dropped if d.table == t)}
                     for t in ("contacts", "surveys", "agents")},
            "dropped": [d.to_dict() for d in self.dropped],
            "sources": self.sources, "derived": self.derived, "missing": self.missing,
            "channels": self.channels, "warnings": self.warnings, "facts": self.facts,
            "csat_scale": self.scale, "attribution": self.attribution,
        }

    def summary(self) -> dict:
        """The short form printed by ``upstream import``: rows, drops by reason, the scale and
        attribution, what is missing and the warnings."""
        d = self.to_dict()
        return {
            "vendor": self.vendor, "format": self.format, "rows": d["rows"],
            "dropped": {t: {x["reason"]: x["count"] for x in d["dropped"] if x["table"] == t}
                        for t in ("contacts", "surveys") if any(x["table"] == t for x in d["dropped"])},
            "csat": {k: self.scale.get(k) for k in ("kind", "points", "labels", "top_box", "vendor_scale")
                     if k in self.scale},
            "attribution": self.attribution.get("rule"),
            "reassigned_after_rating": self.facts.get("reassigned_after_rating"),
            "derived": sorted(self.derived), "missing": sorted(self.missing),
            "channels_other": {c["value"]: c["contacts"] for c in self.channels if not c["known"]},
            "warnings": len(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"

    def sections(self) -> list[ReportSection]:
        """The report page's tables, in order: rows, CSAT scale and attribution (when known), dropped
        rows, column sources, derived and missing columns, channels, warnings, files read."""
        d = self.to_dict()
        out = [ReportSection("Rows", ("table", "read", "kept", "dropped"),
                             [(table, row["read"], row["kept"], row["dropped"]) for table, row in d["rows"].items()])]
        if self.scale:
            scale = self.scale
            labels = ", ".join(f"{k} = {v}" for k, v in (scale.get("labels") or {}).items())
            out.append(ReportSection("CSAT scale", ("what", "value"), [
                ("vendor scale", scale.get("vendor_scale", "")), ("kind", scale.get("kind", "")),
                ("points (canonical codes 1..k, worst to best)", scale.get("points", "")),
                ("labels", labels), ("top box (counted as satisfied)", ", ".join(map(str, scale.get("top_box", [])))),
                ("vendor values", ", ".join(f"{k} \u2192 {v}" for k, v in (scale.get("vendor_codes") or {}).items())),
                ("not answers", ", ".join(f"{k}: {v}" for k, v in (scale.get("not_answers") or {}).items())),
                ("scale from", scale.get("scale_source", "the vendor's fixed scale"))]))
        if self.attribution:
            moved = self.attribution.get("reassigned_after_rating")
            out.append(ReportSection("Attribution", ("what", "value"), [
                ("rule", self.attribution.get("rule", "")), ("meaning", self.attribution.get("description", "")),
                ("rated contacts reassigned after the rating",
                 "not visible in this export" if moved is None else moved)]))
        return out + [
            ReportSection("Dropped rows", ("table", "reason", "count", "examples"),
                          [(x["table"], x["reason"], x["count"], ", ".join(x["examples"])) for x in d["dropped"]]),
            ReportSection("Where each column came from", ("column", "source"), list(d["sources"].items())),
            ReportSection("Derived columns", ("column", "rule"), list(d["derived"].items())),
            ReportSection("Missing or partly empty", ("column", "why"), list(d["missing"].items())),
            ReportSection("Channels", ("vendor value", "group", "contacts", "known"),
                          [(c["value"], c["group"], c["contacts"], "yes" if c["known"] else "no (other)")
                           for c in d["channels"]]),
            ReportSection("Warnings", ("warning",), [(w,) for w in d["warnings"]]),
            ReportSection("Files read", ("file", "bytes", "pages", "records", "sha256"),
                          [(f["name"], f["bytes"], f["pages"], f["records"], f["sha256"]) for f in d["files"]]),
        ]

    def to_html(self) -> str:
        """A readable, self-contained page (templates/import_report.html.j2, rendered by jinja2 with
        autoescaping, so all vendor text is escaped)."""
        return _page_template().render(vendor=self.vendor, format=self.format, export=self.export,
                                       sections=self.sections())


@dataclass(frozen=True)
class ReportSection:
    """One table of the report page: a title, the column names and the rows (cells shown as text)."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple]


@functools.lru_cache(maxsize=1)
def _page_template():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    return env.get_template("import_report.html.j2")
