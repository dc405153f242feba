"""validation.html: Upstream's own offline page of a validation (it replaces GX's Data Docs, which
load Bootstrap, jQuery, Font Awesome and Vega from CDNs and end in a newsletter link)."""
from __future__ import annotations

import re

import pytest
from conftest import edit_csv

from upstream.data import TABLES, DataError, load_dataset
from upstream.data.validation import CROSS_TABLE_RULES, load_suite
from upstream.runner.index_page import validation_html


@pytest.fixture
def failed_report(valid_folder):
    def agents(t):
        t.loc[[0, 1], "agent_id"] = "<script>alert(1)</script>"
    def surveys(t):
        t.loc[0, "csat"] = "9"
        t.loc[1, "nps"] = "ten"
    edit_csv(valid_folder, "agents", agents)
    edit_csv(valid_folder, "surveys", surveys)
    with pytest.raises(DataError) as info:
        load_dataset(valid_folder)
    return info.value.report


def _rows(page: str) -> list[tuple[str, str]]:
    """(row class, first cell) of every rule row."""
    return re.findall(r'<tr class="(passed|failed|skipped)"><td>([^<]*)</td>', page)


def test_every_rule_of_every_suite_and_the_cross_table_rules_are_listed(failed_report):
    page = validation_html(failed_report, title="Study <x>", version="9.9")
    listed = [rule for _, rule in _rows(page)]
    expected = [e["description"] for t in TABLES for e in load_suite(t)["expectations"]]
    parse = [f.rule for f in failed_report.parse_failures]
    suite_rows = [rule for rule in listed if rule.replace("&#39;", "'") in expected]
    assert suite_rows == [r.replace("'", "&#39;") for r in expected]  # in suite order, table by table
    assert sorted(listed) == sorted(
        [r.replace("'", "&#39;") for r in expected] + parse
        + [r.rule for r in CROSS_TABLE_RULES if r.table in TABLES])      # no contact_agents table here
    assert 'Validation <strong class="status-failed">failed</strong>' in page
    assert "<title>Data validation · Study &lt;x&gt;</title>" in page


def test_failed_rules_show_counts_and_escaped_examples(failed_report):
    page = validation_html(failed_report, title="S", version="9.9")
    assert ('<tr class="failed"><td>CSAT is a whole number from 1 to 5</td><td>csat</td>'
            '<td class="result status-failed">failed</td><td class="num">') in page
    assert "<code>9 (contact_id &#39;0000001&#39;)</code>" in page       # each value with the row it is in
    # a parse failure ("ten" is not a number) is shown among the values that could not be read
    assert '<tr class="failed"><td>nps is a number</td><td>nps</td>' in page and "<code>&#39;ten&#39; (contact_id &#39;0000003&#39;)</code>" in page
    # the duplicated, script-like agent id is shown, escaped, never as markup
    assert "<code>&#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39; (row 1)</code>" in page   # the id itself: row number
    assert "<script>alert(1)" not in page
    # the cross-table rule names the unknown agent ids the contacts use
    cross = page.split('id="cross-table"', 1)[1]
    assert re.search(r'<tr class="failed"><td>agent_id refers to an agent in agents</td><td>contacts.agent_id</td>'
                     r'<td>agents.agent_id</td><td class="result status-failed">failed</td><td class="num">\d+</td>',
                     cross)


def test_the_page_is_offline_and_has_no_third_party_links(failed_report):
    page = validation_html(failed_report, title="S", version="9.9")
    assert not re.search(r"(?i)(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert "@import" not in page and "url(" not in page.replace("url(data:", "")
    assert "<script" not in page.lower()
    assert "subscribe" not in page.lower() and "greatexpectations.io" not in page
    assert '<a href="index.html">← S</a>' in page


def test_a_passed_validation_shows_every_rule_passed(valid_folder):
    report = load_dataset(valid_folder).validation
    page = validation_html(report, title="S", version="9.9")
    classes = [c for c, _ in _rows(page)]
    n_rules = (sum(len(load_suite(t)["expectations"]) for t in TABLES)
               + len([r for r in CROSS_TABLE_RULES if r.table in TABLES]))          # contact_agents absent
    assert classes == ["passed"] * n_rules
    assert f"{n_rules} of {n_rules} rules passed" in page
    assert "<code>" not in page.split("<main>", 1)[1].split("</main>")[0]  # no data values at all
