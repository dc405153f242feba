"""What a study notebook shows: escaped headings, paragraphs, tables and Key findings, the findings
file the index page reads, and the human period text.

Everything a notebook shows to leadership goes through these helpers so that customer text is
escaped (and stripped of contact and payment details, see ``privacy``) and agents are
pseudonymised by default. Pure functions build strings; the ``show_*`` functions only add an
IPython ``display`` call.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .privacy import clean_comment, escape_text, pseudonymise, redact_comment

__all__ = [
    "escape_text",
    "redact_comment",
    "clean_comment",
    "findings_html",
    "show_findings",
    "show_heading",
    "show_text",
    "format_p",
    "publish_findings",
    "read_findings",
    "table_html",
    "show_table",
    "pseudonymise",
    "period_text",
    "FINDINGS_SUFFIX",
    "MODEL_NOTES",
    "split_model_notes",
]

FINDINGS_SUFFIX = ".findings.json"
MODEL_NOTES = "Model notes"


def split_model_notes(findings: Sequence[Any], health: Sequence[Any]) -> tuple[list[str], list[str]]:
    """(findings, model notes): the sentences about the fits (a study's `health`) are notes, shown below the
    findings rather than among them; every health sentence is a note, listed once."""
    notes = list(dict.fromkeys(str(h) for h in health))
    return [str(s) for s in findings if str(s) not in notes], notes

def findings_html(sentences: Iterable[Any], title: str = "Key findings") -> str:
    """An HTML block with a heading and one list item per sentence, everything escaped."""
    items = "".join(f"<li>{escape_text(s)}</li>" for s in sentences)
    return (
        f'<section class="upstream-findings"><h2>{escape_text(title)}</h2>'
        f"<ul>{items}</ul></section>"
    )


def _display_html(html_text: str, plain_text: str) -> None:
    from IPython.display import display

    display({"text/html": html_text, "text/plain": plain_text}, raw=True)


def show_findings(sentences: Sequence[Any], title: str = "Key findings") -> None:
    """Display the key findings of a notebook (plain sentences) as an escaped HTML block."""
    sentences = [str(s) for s in sentences]
    plain = "\n".join([title, *[f"- {s}" for s in sentences]])
    _display_html(findings_html(sentences, title), plain)


def format_p(p: Any) -> str:
    """A p-value for a report table: '<0.001', '0.012', '0.35'; '' where there is none."""
    from .display.common import format_p as shown

    return shown(p) or ""


def show_text(text: Any) -> None:
    """Display one escaped paragraph (for sentences built from data)."""
    _display_html(f"<p>{escape_text(text)}</p>", str(text))


def show_heading(text: Any, level: int = 1) -> None:
    """Display an escaped HTML heading (for headings built from data, e.g. the study period)."""
    level = min(max(int(level), 1), 6)
    _display_html(f"<h{level}>{escape_text(text)}</h{level}>", str(text))


def publish_findings(
    report_dir: str | os.PathLike | None,
    notebook: str,
    title: str,
    sentences: Sequence[Any],
    period: str | None = None,
    group: str | None = None,
    notes: Sequence[Any] = (),
) -> Path | None:
    """Write ``<report_dir>/<notebook>.findings.json`` for the study index page.

    Does nothing and returns None when ``report_dir`` is None (the notebook was opened by hand).
    ``period`` is a ready-made text (see ``period_text``) or None. ``group`` (e.g. "Agents",
    "Operations") is the heading the index page lists the findings under; None lists them ungrouped.
    ``notes``: the model notes (what a reader must know about the fits) the index lists below the findings.
    """
    if report_dir is None:
        return None
    if not notebook or "/" in notebook or "\\" in notebook or notebook.startswith("."):
        raise ValueError(f"publish_findings: notebook must be a plain file stem, got {notebook!r}")
    record = {
        "notebook": notebook,
        "title": str(title),
        "sentences": [str(s) for s in sentences],
        "period": None if period is None else str(period),
    }
    if group:
        record["group"] = str(group)
    if notes:
        record["notes"] = [str(n) for n in notes]
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}{FINDINGS_SUFFIX}"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_findings(path: str | os.PathLike) -> dict:
    """Read a findings file written by ``publish_findings``; raises ValueError if malformed."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path.name}: not a readable findings file ({err})") from None
    if not isinstance(record, dict) or not isinstance(record.get("sentences"), list):
        raise ValueError(f"{path.name}: a findings file needs a 'sentences' list")
    return {
        "notebook": str(record.get("notebook") or path.name[: -len(FINDINGS_SUFFIX)]),
        "title": str(record.get("title") or ""),
        "sentences": [str(s) for s in record["sentences"]],
        "period": None if record.get("period") is None else str(record["period"]),
        "group": str(record.get("group") or ""),
        "notes": [str(n) for n in record.get("notes") or []],
    }


def table_html(df, caption: str | None = None, notes: Sequence[str] = (), **to_html_kwargs: Any) -> str:
    """``df.to_html`` with every cell, label, the caption and the notes under the table escaped (``escape`` is
    forced on)."""
    to_html_kwargs = {"border": 0, "na_rep": "", **to_html_kwargs, "escape": True}
    classes = to_html_kwargs.pop("classes", None)
    to_html_kwargs["classes"] = ["upstream-table"] + ([classes] if isinstance(classes, str) else list(classes or []))
    table = df.to_html(**to_html_kwargs)
    if caption is not None:
        end = table.index(">", table.index("<table")) + 1
        table = f"{table[:end]}\n  <caption>{escape_text(caption)}</caption>{table[end:]}"
    for note in notes:
        table += f'\n<p class="upstream-table-note">{escape_text(note)}</p>'
    return table


def show_table(df, caption: str | None = None, notes: Sequence[str] = (), **to_html_kwargs: Any) -> None:
    """Display a DataFrame as escaped HTML with an optional caption and notes (see ``table_html``)."""
    plain = "\n".join([*([caption] if caption is not None else []), df.to_string(), *notes])
    _display_html(table_html(df, caption, notes, **to_html_kwargs), plain)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _as_datetime(value: Any) -> dt.date:
    if isinstance(value, dt.date):  # datetime and pandas Timestamp included
        return value
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    import pandas as pd

    return pd.Timestamp(value).to_pydatetime()


def period_text(start: Any, end: Any) -> str:
    """A human period such as ``1 Jan – 31 Mar 2026`` (``15 Dec 2025 – 31 Mar 2026`` across years,
    ``1 Mar 2026`` for a single day). Accepts dates, datetimes, pandas Timestamps or ISO strings."""
    a, b = _as_datetime(start), _as_datetime(end)
    a_day, b_day = (a.year, a.month, a.day), (b.year, b.month, b.day)
    if b_day < a_day:
        raise ValueError(f"period_text: end {end} is before start {start}")
    a_text = f"{a.day} {_MONTHS[a.month - 1]}"
    b_text = f"{b.day} {_MONTHS[b.month - 1]} {b.year}"
    if a_day == b_day:
        return b_text
    if a.year != b.year:
        a_text = f"{a_text} {a.year}"
    return f"{a_text} \u2013 {b_text}"


class StudyView:
    """What a study notebook shows, from a study's result (anything with study, title, period,
    findings, tables, figures and `labels`/`publish`/`page_tables`): the heading and Key findings, figures, tables.

    `open(report_dir)` shows the heading and the findings and, in a run, publishes the findings file
    for the index page and the tables as CSV."""

    def __init__(self, result, study_title: str | None = None):
        self.result = result
        self.study_title = study_title
        self._tables = None

    def open(self, report_dir: str | os.PathLike | None = None) -> None:
        """The heading, the Key findings and below them the model notes (the fits' health: about the model,
        not findings about the operation), and the glossary link; in a run, the findings file and tables."""
        r = self.result
        show_heading(f"{r.title}: {r.period}")
        if self.study_title and self.study_title != r.title:
            show_text(f"Part of the study: {self.study_title}")
        findings, notes = split_model_notes(r.findings, getattr(r, "health", []))
        show_findings(findings)
        if notes:
            show_findings(notes, MODEL_NOTES)
        publish_findings(report_dir, r.study, r.title, findings, period=r.period, group=getattr(r, "group", None),
                         notes=notes)
        r.publish(report_dir)

    def model_checks(self, all_well: str) -> None:
        """At the end of the page: `all_well` when no fit has a problem, else where the model notes are."""
        elsewhere = f"Model checks: see the {MODEL_NOTES.lower()} below the Key findings."
        show_text(elsewhere if getattr(self.result, "health", []) else all_well)

    def figure(self, name: str, otherwise: str | None = None) -> None:
        """Display one of the study's figures (built without pyplot, so shown only here); a study that
        did not make it (the data do not allow it) shows `otherwise` instead, if given."""
        from IPython.display import Image, display

        if name in self.result.figures:
            display(Image(data=figure_png(self.result.figures[name])))
        elif otherwise is not None:
            show_text(otherwise)
        else:
            raise KeyError(f"the study made no figure {name!r}; it made {', '.join(self.result.figures)}")

    def table(self, frame, caption: str | None = None) -> None:
        """Display a (formatted) table, escaped."""
        show_table(frame, caption)

    def show(self, *names: str) -> None:
        """Display the page tables `names` (the result's `page_tables()`: its study's ``display.page``, see
        ``reporting.display.pages``) that the data allowed, with their captions and notes. Returns nothing: a cell
        that ends with it would print the value on the report's page."""
        if self._tables is None:
            self._tables = self.result.page_tables()
        for table in (self._tables[name] for name in names if name in self._tables):
            show_table(table.frame, table.caption, table.notes)

    def text(self, sentence: str) -> None:
        show_text(sentence)


def figure_png(fig, dpi: int = 110) -> bytes:
    """A matplotlib Figure as PNG bytes (figures are built without pyplot, so no display formatter is
    registered for them; the notebook shows the image itself, which nbconvert embeds)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()
