"""Report helpers: escaping, redaction of customer text, findings files, tables, pseudonyms, periods."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re

import numpy as np
import pandas as pd
import pytest

from upstream.reporting import notebook as report

# ----------------------------------------------------------------------------- escaping


def test_escape_text_escapes_markup_and_quotes():
    assert report.escape_text("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert report.escape_text('a "b" & \'c\'') == "a &quot;b&quot; &amp; &#x27;c&#x27;"
    assert report.escape_text(None) == ""
    assert report.escape_text(3.5) == "3.5"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"),
        ("Mail me: jo.doe+csat@mail.example.co.uk please", "Mail me: [email] please"),
        ("call +44 20 7946 0958!", "call [phone]!"),
        ("ring 07700 900123 or (555) 010-9999", "ring [phone] or [phone]"),
        ("card 4111 1111 1111 1111, again 4111-1111-1111-1111", "card [card], again [card]"),
        ("amex 378282246310005 here", "amex [card] here"),  # 15 digits passing Luhn
        ("number 123456789012345 here", "number [phone] here"),  # 15 digits failing Luhn
        # dates, times, prices, short numbers and expiry dates are kept
        ("on 2026-03-01 14:05 and 01.03.2026 paid $1,299.99 order 12345 exp 12/27",
         "on 2026-03-01 14:05 and 01.03.2026 paid $1,299.99 order 12345 exp 12/27"),
        ("  two\n\nlines\tand   spaces ", "two lines and spaces"),
        ("Bob <bob@example.com> said 5 > 4", "Bob &lt;[email]&gt; said 5 &gt; 4"),
        (None, ""),
        (float("nan"), ""),
        (pd.NA, ""),
    ],
)
def test_clean_comment_examples(raw, clean):
    assert report.clean_comment(raw) == clean


def test_redact_comment_does_not_escape_and_clean_comment_escapes_once():
    raw = "<b>great</b> agent, card 5500 0000 0000 0004"
    assert report.redact_comment(raw) == "<b>great</b> agent, card [card]"
    assert report.clean_comment(raw) == "&lt;b&gt;great&lt;/b&gt; agent, card [card]"


# ----------------------------------------------------------------------------- findings


def test_findings_html_escapes_title_and_every_sentence():
    html = report.findings_html(["9% of CSAT variation is <agents>", "A & B"], title="Key <findings>")
    assert html == (
        '<section class="upstream-findings"><h2>Key &lt;findings&gt;</h2>'
        "<ul><li>9% of CSAT variation is &lt;agents&gt;</li><li>A &amp; B</li></ul></section>"
    )


def test_show_findings_displays_html_and_plain_text(monkeypatch):
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    report.show_findings(["<script>alert(1)</script> in a comment"])
    (bundle, raw), = shown
    assert raw is True
    assert bundle["text/html"] == report.findings_html(["<script>alert(1)</script> in a comment"])
    assert "<script>" not in bundle["text/html"]
    assert bundle["text/plain"] == "Key findings\n- <script>alert(1)</script> in a comment"


def test_publish_findings_writes_json_and_is_a_no_op_without_report_dir(tmp_path):
    assert report.publish_findings(None, "nb", "T", ["x"]) is None
    assert list(tmp_path.iterdir()) == []

    path = report.publish_findings(tmp_path / "run", "agent_vs_system", "Agent or system?",
                                   ["About 9% of the variation is agents.", 42], period="1 Jan – 31 Mar 2026")
    assert path == tmp_path / "run" / "agent_vs_system.findings.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "notebook": "agent_vs_system",
        "title": "Agent or system?",
        "sentences": ["About 9% of the variation is agents.", "42"],
        "period": "1 Jan – 31 Mar 2026",
    }
    assert report.read_findings(path)["sentences"] == ["About 9% of the variation is agents.", "42"]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["agent_vs_system.findings.json"]  # no temp file left


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", ".hidden"])
def test_publish_findings_rejects_names_that_are_not_file_stems(tmp_path, bad):
    with pytest.raises(ValueError, match="notebook must be a plain file stem"):
        report.publish_findings(tmp_path, bad, "T", ["x"])


def test_read_findings_rejects_a_file_without_sentences(tmp_path):
    path = tmp_path / "x.findings.json"
    path.write_text('{"title": "no sentences"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"^x\.findings\.json: a findings file needs a 'sentences' list$"):
        report.read_findings(path)


# ----------------------------------------------------------------------------- tables


def test_table_html_escapes_cells_labels_and_caption():
    df = pd.DataFrame({"<b>comment</b>": ["<script>alert(1)</script>", None], "csat": [5, 3]})
    html = report.table_html(df, caption="Comments <raw>", index=False)
    assert "<caption>Comments &lt;raw&gt;</caption>" in html
    assert "<th>&lt;b&gt;comment&lt;/b&gt;</th>" in html
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in html
    assert "<script" not in html and "<b>" not in html
    assert html.startswith('<table class="dataframe upstream-table">')


def test_table_html_cannot_be_told_not_to_escape():
    html = report.table_html(pd.DataFrame({"c": ["<i>x</i>"]}), escape=False)
    assert "&lt;i&gt;x&lt;/i&gt;" in html and "<i>" not in html


def test_redacted_comments_in_a_table_are_escaped_exactly_once():
    df = pd.DataFrame({"comment": [report.redact_comment("A&B <ok> call 020 7946 0958")]})
    html = report.table_html(df)
    assert "<td>A&amp;B &lt;ok&gt; call [phone]</td>" in html


def test_show_table_displays_the_escaped_table(monkeypatch):
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    df = pd.DataFrame({"x": ["<script>alert(1)</script>"]})
    report.show_table(df, caption="Cap")
    assert shown[0]["text/html"] == report.table_html(df, caption="Cap")
    assert shown[0]["text/plain"].startswith("Cap\n")


def test_study_figures_are_shown_as_png_images(monkeypatch):
    """Figures built without pyplot have no inline-backend formatter; shown as objects they would be
    '<Figure size …>' text in the exported page."""
    from matplotlib.figure import Figure

    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [0, 1])
    result = type("Result", (), {"figures": {"line": fig}})()
    report.StudyView(result).figure("line")
    assert isinstance(shown[0], IPython.display.Image)
    assert shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("route", ["report", "inline"])
def test_a_study_figure_is_laid_out_when_it_is_drawn(route):
    """The studies' figures place their labels (tight layout) when drawn, by the report's PNG or a notebook's
    inline display, not when built: long tick labels are then inside the image, where matplotlib's default
    margins would cut them off."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from upstream.reporting.plots.common import axes, finish

    fig, ax = axes(4, 3)
    ax.barh(range(3), [1, 2, 3])
    ax.set_yticks(range(3), ["policy: replacement part backorder"] * 3)
    finish(fig, ax, "A takeaway title")
    default_left = fig.subplotpars.left
    assert ax.get_position().x0 == pytest.approx(default_left)        # built, not laid out
    if route == "report":
        report.figure_png(fig)
    else:                                                              # what IPython's inline display calls
        from IPython.core.pylabtools import print_figure
        print_figure(fig, "png")
    renderer = FigureCanvasAgg(fig).get_renderer()
    labels = [label.get_window_extent(renderer) for label in ax.get_yticklabels()]
    assert ax.get_position().x0 > 2 * default_left
    assert min(box.x0 for box in labels) >= 0                          # every label inside the figure


# ----------------------------------------------------------------------------- pseudonyms


def _hmac_hex(value: str, salt: str) -> str:
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest().upper()


def test_pseudonymise_is_a_salted_hmac_and_stable():
    ids = ["007", "A12", "007"]
    labels = report.pseudonymise(ids, salt="s1")
    assert labels == [f"Agent {_hmac_hex('007', 's1')[:4]}", f"Agent {_hmac_hex('A12', 's1')[:4]}",
                      f"Agent {_hmac_hex('007', 's1')[:4]}"]
    assert all(re.fullmatch(r"Agent [0-9A-F]{4}", label) for label in labels)
    assert report.pseudonymise(ids, salt="s1") == labels
    assert report.pseudonymise(ids, salt="s2") != labels


def test_pseudonymise_keeps_series_index_and_missing_values():
    ids = pd.Series(["007", None, "008"], index=[10, 11, 12], name="agent_id")
    out = report.pseudonymise(ids, salt="k")
    assert isinstance(out, pd.Series)
    assert list(out.index) == [10, 11, 12] and out.name == "agent_id"
    assert out[11] is None
    assert out[10] == f"Agent {_hmac_hex('007', 'k')[:4]}"


def test_pseudonymise_lengthens_only_colliding_labels():
    salt = "collide"
    seen: dict[str, str] = {}
    for i in range(100_000):
        ident = f"agent-{i}"
        prefix = _hmac_hex(ident, salt)[:4]
        if prefix in seen:
            first, second = seen[prefix], ident
            break
        seen[prefix] = ident
    else:  # pragma: no cover - 100,000 draws from 65,536 labels always collide
        pytest.fail("no collision found")
    bystander = "agent-bystander"
    labels = report.pseudonymise([first, second, bystander], salt=salt)
    assert labels[0] != labels[1]
    assert len(labels[0]) > len("Agent 0000") and len(labels[1]) > len("Agent 0000")
    assert labels[0] == f"Agent {_hmac_hex(first, salt)[:len(labels[0]) - 6]}"
    assert labels[2] == f"Agent {_hmac_hex(bystander, salt)[:4]}"
    assert report.pseudonymise([first], salt=salt) == [f"Agent {_hmac_hex(first, salt)[:4]}"]


def test_pseudonymise_needs_a_salt():
    with pytest.raises(ValueError, match="needs a non-empty salt"):
        report.pseudonymise(["a"], salt="")


# ----------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        ("2026-01-01", "2026-03-31", "1 Jan – 31 Mar 2026"),
        (pd.Timestamp("2025-12-15 08:00"), pd.Timestamp("2026-03-31 23:59"), "15 Dec 2025 – 31 Mar 2026"),
        (dt.date(2026, 3, 1), dt.datetime(2026, 3, 1, 17, 30), "1 Mar 2026"),
        (np.datetime64("2026-02-03T10:00"), "2026-02-28T09:00:00Z", "3 Feb – 28 Feb 2026"),
    ],
)
def test_period_text(start, end, text):
    assert report.period_text(start, end) == text


def test_period_text_rejects_a_reversed_period():
    with pytest.raises(ValueError, match="is before start"):
        report.period_text("2026-03-01", "2026-02-01")


def test_findings_carry_the_study_group(tmp_path):
    path = report.publish_findings(tmp_path, "metric_health", "Metric health", ["x"], group="Operations")
    assert json.loads(path.read_text(encoding="utf-8"))["group"] == "Operations"
    assert report.read_findings(path)["group"] == "Operations"
    plain = report.publish_findings(tmp_path, "other", "Other", ["y"])
    assert "group" not in json.loads(plain.read_text(encoding="utf-8")) and report.read_findings(plain)["group"] == ""
