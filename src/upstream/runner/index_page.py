"""The study index page (index.html) and manifest helpers: the validation summary laid out as tables,
JSON that accepts dates, paths and numpy scalars, and the Jinja rendering with autoescaping."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from .export import TEMPLATES

INDEX_TEMPLATE = "study_index.html.j2"


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
    return env.get_template(INDEX_TEMPLATE).render(css=css, **context)


