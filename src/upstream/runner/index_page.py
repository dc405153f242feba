"""The study index page (index.html) and manifest helpers: the validation summary laid out as tables,
JSON that accepts dates, paths and numpy scalars, and the Jinja rendering with autoescaping."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from .export import TEMPLATES

INDEX_TEMPLATE = "study_index.html.j2"
#: A sentence listing at least this many items after its colon is shortened on the index to its opening.
LIST_ITEMS = 4
#: The few lines of inline script that make the index's (and the notebook pages') tables sortable and filterable.
SORTABLE_SCRIPT = "sortable_tables.js"


def json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=json_default) + "\n", encoding="utf-8")



def validation_view(summary: Any) -> dict:
    """The validation summary laid out for the index page: status, one row per table, one per
    cross-table rule, and any other entries as text."""
    view: dict[str, Any] = {"status": None, "tables": [], "rules": [], "other": []}
    if not isinstance(summary, dict):
        if summary is not None:
            view["other"].append(("summary", str(summary)))
        return view
    shown = {"folder", "data_docs"}
    if "ok" in summary:
        view["status"] = "passed" if summary["ok"] else "failed"
        shown.add("ok")
    tables = summary.get("tables")
    if isinstance(tables, dict) and all(isinstance(t, dict) for t in tables.values()):
        for name, t in tables.items():
            evaluated = t.get("expectations_evaluated")
            passed = t.get("expectations_passed")
            view["tables"].append(
                {
                    "table": name,
                    "file": t.get("file", ""),
                    "rows": f"{t['rows']:,}" if isinstance(t.get("rows"), int) else t.get("rows", ""),
                    "expectations": f"{passed} of {evaluated} passed" if evaluated is not None else "",
                }
            )
        shown.add("tables")
    rules = summary.get("cross_table_rules")
    if isinstance(rules, list) and all(isinstance(r, dict) for r in rules):
        view["rules"] = [{"rule": r.get("rule", ""), "status": r.get("status", "")} for r in rules]
        shown.add("cross_table_rules")
    if summary.get("failures") == []:
        shown.add("failures")
    for key, value in summary.items():
        if key in shown:
            continue
        if isinstance(value, (dict, list, tuple)):
            value = json.dumps(value, ensure_ascii=False, default=json_default)
        view["other"].append((str(key).replace("_", " "), "" if value is None else str(value)))
    return view


def group_findings(findings: list[dict]) -> list[dict]:
    """The notebooks' findings under their study group ("Agents", "Operations", ...), groups in the order
    they first appear in the study; findings without a group form a group with an empty name. A sentence
    (or model note) an earlier study already listed is not repeated: it is shortened to its opening and
    points to that study (see `once_only`)."""
    groups: dict[str, list[dict]] = {}
    for block in once_only(findings):
        groups.setdefault(block.get("group") or "", []).append(block)
    return [{"name": name, "blocks": blocks} for name, blocks in groups.items()]


def once_only(findings: list[dict]) -> list[dict]:
    """`findings` with every sentence and note that an earlier block already lists replaced by its opening
    (up to the first colon or semicolon) and "as under '<earlier title>' above"; notes already listed are
    left out."""
    first: dict[str, str] = {}
    out = []
    for block in findings:
        sentences = []
        for sentence in block.get("sentences", []):
            if sentence in first:
                sentences.append(f"{opening(sentence)} (as under '{first[sentence]}' above).")
            else:
                first[sentence] = block.get("title", "")
                sentences.append(sentence)
        notes = [n for n in block.get("notes", []) if n not in first]
        first.update({n: block.get("title", "") for n in notes})
        out.append({**block, "sentences": sentences, "notes": notes})
    return out


def opening(sentence: str, limit: int = 160) -> str:
    """A sentence's first clause (up to ':' or ';'), without its closing full stop, at most `limit` characters."""
    cut = min([i for i in (sentence.find(":"), sentence.find(";")) if i > 0] or [len(sentence)])
    head = sentence[:cut].rstrip(" .")
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def list_length(sentence: str) -> int:
    """How many items a sentence lists after its first colon: parenthesised groups at the top level, or parts
    between semicolons, whichever is more (0 without a colon)."""
    if ":" not in sentence:
        return 0
    tail = sentence.split(":", 1)[1]
    depth, groups = 0, 0
    for char in tail:
        if char == "(":
            groups += depth == 0
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
    return max(groups, len([p for p in re.split(r";\s", tail) if p.strip()]))


def lists_to_tables(groups: list[dict]) -> list[dict]:
    """The index's groups with every sentence that lists LIST_ITEMS or more items (policies, agents, words) cut to
    its opening and pointed to the study page, where the full sentence and the tables are."""
    out = []
    for group in groups:
        blocks = []
        for block in group["blocks"]:
            sentences = []
            for sentence in block["sentences"]:
                n = list_length(sentence)
                listed = f"{opening(sentence)}: the {n} are listed, with their numbers, on the study page."
                sentences.append(sentence if n < LIST_ITEMS else listed)
            blocks.append({**block, "sentences": sentences})
        out.append({**group, "blocks": blocks})
    return out


def short(text: Any, limit: int = 300) -> str:
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def index_html(context: dict) -> str:
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    css = Markup((TEMPLATES / "upstream_index.css").read_text(encoding="utf-8"))  # our own file
    script = Markup((TEMPLATES / SORTABLE_SCRIPT).read_text(encoding="utf-8"))  # our own file
    return env.get_template(INDEX_TEMPLATE).render(css=css, script=script, **context)




VALIDATION_TEMPLATE = "validation.html.j2"


def _example_text(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " / ".join(_example_text(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


def _examples(examples: list, failure: Any = None) -> list[str]:
    """The offending values as text, each with the row it was found in ("7 (contact_id '0000001')") when
    the failure names its rows."""
    ids = list(getattr(failure, "ids", None) or [])
    if failure is None or list(failure.examples) != list(examples) or len(ids) != len(examples):
        ids = [""] * len(examples)
    return [f"{_example_text(v)} ({label})" if label else _example_text(v) for v, label in zip(examples, ids)]


def _count(value: Any) -> str:
    return "" if value is None else f"{value:,}"


def validation_view_full(report: Any) -> dict:
    """A ValidationReport laid out for validation.html: per table, the values that could not be
    read and every expectation (rule text, columns, passed/failed, values checked and failed, up
    to five offending values); then the cross-table rules. Values are left raw: the template
    escapes them."""
    tables = []
    n_rules = n_passed = 0
    for t in report.tables.values():
        parse = [
            {"rule": f.rule, "column": f.column or "", "failed": _count(f.n_failed),
             "examples": _examples(f.examples, f)}
            for f in report.parse_failures if f.table == t.table
        ]
        expectations = []
        for e in t.expectations:
            status = "passed" if e.success else "failed"
            n_rules += 1
            n_passed += e.success
            note = ""
            if e.error:
                note = f"could not be checked: {short(e.error, 200)}"
            elif e.type == "expect_table_row_count_to_be_between" and e.observed is not None:
                note = f"{_count(e.observed)} rows"
            expectations.append({
                "rule": e.rule, "columns": ", ".join(e.columns), "status": status,
                "checked": _count(e.n_checked), "failed": _count(e.n_failed),
                "examples": _examples(e.examples, next((f for f in report.failures if f.table == t.table
                                                        and f.rule == e.rule), None)), "note": note,
            })
        tables.append({"table": t.table, "file": t.file, "rows": f"{t.rows:,}", "parse_failures": parse,
                       "expectations": expectations})
    cross = []
    for r in report.cross_table:
        failure = next((f for f in report.failures if f.table == r.rule.table and f.column == r.rule.column
                        and f.rule == r.rule.rule), None)
        n_rules += 1
        n_passed += r.status == "passed"
        cross.append({"rule": r.rule.rule, "column": f"{r.rule.table}.{r.rule.column}",
                      "references": f"{r.rule.ref_table}.{r.rule.ref_column}", "status": r.status,
                      "failed": _count(r.n_failed) if r.status != "skipped" else "",
                      "examples": _examples(failure.examples if failure else [], failure),
                      "reason": r.reason})
    n_rules += sum(len(t["parse_failures"]) for t in tables)
    return {"status": "passed" if report.ok else "failed", "folder": str(report.folder), "tables": tables,
            "cross_table": cross, "n_rules": n_rules, "n_passed": n_passed, "gx_version": report.gx_version}


def validation_html(report: Any, *, title: str, version: str, index_href: str | None = "index.html") -> str:
    """validation.html: Upstream's own, offline page of a validation (replaces GX's Data Docs,
    which load Bootstrap, jQuery, Font Awesome and Vega from CDNs)."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    css = Markup((TEMPLATES / "upstream_index.css").read_text(encoding="utf-8"))  # our own file
    return env.get_template(VALIDATION_TEMPLATE).render(
        css=css, title=title, version=version, index_href=index_href, **validation_view_full(report))
