"""The import report: what was read, kept and dropped (and why), where every canonical column
came from, what was derived and how, and what is missing."""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

from .pages import FileRead

_MAX_EXAMPLES = 5


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

    def to_html(self) -> str:
        """A readable, self-contained page (all vendor text escaped)."""
        e = html.escape
        d = self.to_dict()
        parts = [f"<!doctype html><meta charset='utf-8'><title>Import report: {e(self.vendor)}</title>",
                 "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
                 "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
                 "text-align:left;vertical-align:top}</style>",
                 f"<h1>Import report: {e(self.vendor)} ({e(self.format)})</h1>",
                 f"<p>Export: <code>{e(self.export)}</code></p>", "<h2>Rows</h2><table>",
                 "<tr><th>table</th><th>read</th><th>kept</th><th>dropped</th></tr>"]
        for table, row in d["rows"].items():
            parts.append(f"<tr><td>{e(table)}</td><td>{row['read']}</td><td>{row['kept']}</td>"
                         f"<td>{row['dropped']}</td></tr>")
        parts.append("</table>")

        def table_of(title: str, header: tuple[str, ...], rows) -> None:
            parts.append(f"<h2>{e(title)}</h2><table><tr>"
                         + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
            for row in rows:
                parts.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>")
            parts.append("</table>")

        if self.scale:
            scale = self.scale
            labels = ", ".join(f"{k} = {v}" for k, v in (scale.get("labels") or {}).items())
            table_of("CSAT scale", ("what", "value"), [
                ("vendor scale", scale.get("vendor_scale", "")), ("kind", scale.get("kind", "")),
                ("points (canonical codes 1..k, worst to best)", scale.get("points", "")),
                ("labels", labels), ("top box (counted as satisfied)", ", ".join(map(str, scale.get("top_box", [])))),
                ("vendor values", ", ".join(f"{k} \u2192 {v}" for k, v in (scale.get("vendor_codes") or {}).items())),
                ("not answers", ", ".join(f"{k}: {v}" for k, v in (scale.get("not_answers") or {}).items())),
                ("scale from", scale.get("scale_source", "the vendor's fixed scale"))])
        if self.attribution:
            moved = self.attribution.get("reassigned_after_rating")
            table_of("Attribution", ("what", "value"), [
                ("rule", self.attribution.get("rule", "")), ("meaning", self.attribution.get("description", "")),
                ("rated contacts reassigned after the rating",
                 "not visible in this export" if moved is None else moved)])
        table_of("Dropped rows", ("table", "reason", "count", "examples"),
                 [(x["table"], x["reason"], x["count"], ", ".join(x["examples"])) for x in d["dropped"]])
        table_of("Where each column came from", ("column", "source"), d["sources"].items())
        table_of("Derived columns", ("column", "rule"), d["derived"].items())
        table_of("Missing or partly empty", ("column", "why"), d["missing"].items())
        table_of("Channels", ("vendor value", "group", "contacts", "known"),
                 [(c["value"], c["group"], c["contacts"], "yes" if c["known"] else "no (other)")
                  for c in d["channels"]])
        table_of("Warnings", ("warning",), [(w,) for w in d["warnings"]])
        table_of("Files read", ("file", "bytes", "pages", "records", "sha256"),
                 [(f["name"], f["bytes"], f["pages"], f["records"], f["sha256"]) for f in d["files"]])
        return "\n".join(parts) + "\n"
