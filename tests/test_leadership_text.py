"""Leadership text helpers: whole numbers of people, model notes apart from findings, the boundary-fit note
naming its grouping factor, sentences listed once on the index, and the glossary every page links to."""
from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from upstream import lmer
from upstream.models.health import boundary_statement
from upstream.reporting import notebook as report
from upstream.reporting.glossary import TERMS, glossary_html
from upstream.reporting.sentences.common import expected_people, whole_count
from upstream.runner.index_page import group_findings, index_html, validation_view


@pytest.mark.parametrize("x, text", [(0.0, "none"), (0.49, "none"), (0.5, "one"), (1.49, "one"), (1.5, "2"),
                                     (7.5, "8"), (7.49, "7")])
def test_expected_counts_of_people_are_whole_numbers(x, text):
    assert whole_count(x) == text


def test_expected_people_agrees_with_its_count():
    assert expected_people(0.2, 30, "verdicts", "the wrong sign") == "probably none of these 30 verdicts has the wrong sign"
    assert expected_people(1.2, 4, "verdicts", "the wrong sign") == \
        "about one of these 4 verdicts can be expected to have the wrong sign"
    assert expected_people(2.6, 4, "verdicts", "the wrong sign") == \
        "about 3 of these 4 verdicts can be expected to have the wrong sign"


def test_a_boundary_fit_names_its_grouping_factor():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(30):                    # groups with no effect: find a draw whose variance is estimated at 0
            data = pd.DataFrame({"agent_id": np.repeat([f"a{i}" for i in range(8)], 5),
                                 "y": np.random.default_rng(seed).normal(size=40)})
            fit = lmer("y ~ 1 + (1 | agent_id)", data)
            if fit.singular:
                break
    assert fit.singular
    assert boundary_statement(fit) == (
        "the variance of differences between agents (agent_id) is estimated at (nearly) zero, so every agent gets the "
        "same effect (zero): beyond chance these data show no such differences, which does not prove there are none "
        "(a boundary fit)")
    assert fit.health() == [boundary_statement(fit)]


class _Result:
    study, title, period, group = "demo", "Demo study", "1 Jan – 31 Mar 2026", "Agents"
    findings = ["Finding one.", "Model A: a note about the fit.", "Finding two."]
    health = ["Model A: a note about the fit."]

    def publish(self, report_dir):
        return []


def test_model_notes_are_shown_and_published_below_the_findings(monkeypatch, tmp_path):
    shown = []
    monkeypatch.setattr(report, "_display_html", lambda html, plain: shown.append(html))
    report.StudyView(_Result()).open(tmp_path)
    findings = [h for h in shown if "upstream-findings" in h]
    assert findings[0].count("<li>") == 2 and "note about the fit" not in findings[0]
    assert "<h2>Model notes</h2>" in findings[1] and "<li>Model A: a note about the fit.</li>" in findings[1]
    record = json.loads((tmp_path / "demo.findings.json").read_text())
    assert record["sentences"] == ["Finding one.", "Finding two."]
    assert record["notes"] == ["Model A: a note about the fit."]
    assert report.read_findings(tmp_path / "demo.findings.json")["notes"] == record["notes"]


def test_the_index_lists_a_sentence_once_and_the_model_notes_apart():
    shared = "5 of the 12 policies lower CSAT against the average contact: 'a' (-0.67 points) and 'b' (-0.4 points)."
    note = "Escalation model: the variance of differences between agents (agent_id) is estimated at (nearly) zero."
    blocks = [{"title": "Agent or system?", "sentences": ["First.", shared], "notes": [], "group": "Agents",
               "href": "avs.html"},
              {"title": "Channel audit", "sentences": ["Second."], "notes": [note], "group": "Operations",
               "href": "ch.html"},
              {"title": "Policy friction", "sentences": [shared, "Third."], "notes": [note], "group": "Operations",
               "href": "pf.html"}]
    groups = group_findings(blocks)
    friction = groups[1]["blocks"][1]
    assert friction["sentences"] == ["5 of the 12 policies lower CSAT against the average contact (as under 'Agent or "
                                     "system?' above).", "Third."]
    assert friction["notes"] == [] and groups[1]["blocks"][0]["notes"] == [note]
    html = index_html({"title": "Review", "period": None, "study_name": "review", "study_yaml": "review.yaml",
                       "findings": blocks, "groups": groups, "notebooks": [], "tables": [],
                       "validation": validation_view(None), "validation_href": None, "data_dir": "data",
                       "fingerprint": "f", "parameters": [], "version": "0", "python_version": "3.11",
                       "kernel": "k", "run_seconds_text": "1 s", "finished_at": "now"})
    assert '<a href="glossary.html">Glossary of the terms used</a>' in html
    assert html.count("<summary>Model notes</summary>") == 1
    assert html.index("Second.") < html.index("<summary>Model notes</summary>") < html.index(note[:40])


@pytest.mark.parametrize("word", ["family-wise", "log-odds", "sup-F", "posterior", "Dirichlet prior",
                                  "pattern-mixture", "Holm", "Satterthwaite", "reliability", "top-box", "AUC"])
def test_the_glossary_explains_the_jargon_the_findings_use(word):
    assert any(word.lower() in term.lower() for term, _ in TERMS)


def test_the_glossary_page_is_escaped_offline_and_links_back():
    page = glossary_html()
    assert page.count("<dt ") == len(TERMS) and '<a href="index.html">' in page
    assert "Fightin&#x27; Words" in page and "http" not in page
    assert not re.search(r"<(script|link|img)", page)


def test_every_notebook_page_links_to_the_glossary():
    from upstream.runner.export import TEMPLATES

    template = (TEMPLATES / "upstream_notebook.html.j2").read_text(encoding="utf-8")
    assert '<a href="glossary.html">Glossary of the terms used</a>' in template
