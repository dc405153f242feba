"""A real run of the real studies, looked at as its readers will: in a real browser (headless
Chromium, see tests/browser.py) and by scanning every published file for personal data.

The data is a small simulated operation with two things real exports have: channels the simulator
never makes (``sms``, ``Social / DM``: an open vocabulary) and survey comments full of script
payloads and personal data (on the most recent replies of every policy). The run is the quarterly
review's three study notebooks plus tests/notebooks/customer_comments.ipynb, a page that shows every
comment through the report helpers (the study pages show no customer text at present; should they
again, every check here applies to them too).

Browser tests skip, with the reason, only where no Chromium is installed (.ci/run installs it).
"""
from __future__ import annotations

import json
import os
import re
from html import escape
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from browser import Browser, find_chromium
from conftest import values_left_on_pages
from forked import run_upstream
from test_pii import PII

from upstream.reporting.agent_pages import agent_page_links
from upstream.reporting.privacy import find_in_report
from upstream.simulate import PRESETS, simulate

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["agent_vs_system", "agent_scorecards", "survey_health"]
COMMENTS_PAGE = "customer_comments.html"
PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '"><svg onload=alert(2)>',
    "<iframe src=\"javascript:alert(3)\"></iframe>",
    "</td></tr></table><b onmouseover=alert(4)>bold</b>",
]
NEW_CHANNELS = ["sms", "Social / DM"]
SCREENSHOTS = os.environ.get("UPSTREAM_SCREENSHOTS")  # a folder: keep the screenshots there


def _comments(n: int = 8) -> list[str]:
    """``n`` comments that hold every payload and every piece of personal data between them, so
    that the ``n`` comments the study shows for one policy show them all."""
    return [f"Bad service {PAYLOADS[k % len(PAYLOADS)]} really. "
            + " ".join(f"Reach me at {pii} about order 12, I called 3 times." for pii, _ in PII[k::n])
            for k in range(n)]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    data = simulate(PRESETS["small"], seed=3).write(root / "data")
    contacts = pd.read_csv(data / "contacts.csv", dtype=str, keep_default_na=False)
    rows = contacts.sample(frac=0.2, random_state=5).index
    contacts.loc[rows, "channel"] = [NEW_CHANNELS[i % 2] for i in range(len(rows))]
    contacts.to_csv(data / "contacts.csv", index=False)

    surveys = pd.read_csv(data / "surveys.csv", dtype=str, keep_default_na=False)
    policy = surveys["contact_id"].map(contacts.set_index("contact_id")["policy"])
    answered = surveys[(surveys["responded_at"] != "") & (surveys["csat"] != "")]
    comments = _comments()
    for _, group in answered.groupby(policy[answered.index]):
        latest = group.sort_values("responded_at", ascending=False).index[:len(comments)]
        assert len(latest) == len(comments)
        surveys.loc[latest, "comment"] = comments
    surveys.to_csv(data / "surveys.csv", index=False)

    study = root / "review.yaml"
    study.write_text(
        "name: review\ntitle: Quarterly review <check>\ndata: data\nparameters:\n  reliability_threshold: 0.6\n"
        "  n_boot: 100\nnotebooks:\n" + "".join(f"  - {ROOT / 'notebooks' / n}.ipynb\n" for n in NOTEBOOKS)
        + f"  - {ROOT / 'tests' / 'notebooks' / 'customer_comments.ipynb'}\n")
    # A fixed salt (through the environment override) keeps the pseudonyms, and so this test, the same
    # on every run; the installation key itself is exercised by tests/test_killed_runs.py.
    env = {**os.environ, "UPSTREAM_PSEUDONYM_SALT": "published-report-tests"}
    proc = run_upstream(["run", str(study), "--reports", str(root / "reports")], env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = Path(proc.stdout.strip().splitlines()[-1]).parent
    agents = pd.read_csv(data / "agents.csv", dtype=str)["agent_id"].tolist()
    labels = pd.read_csv(run_dir / "tables" / "agent_effects.csv", dtype=str, keep_default_na=False)
    links = agent_page_links(run_dir)
    verdicts = dict(zip(labels["agent_id"], labels["verdict"]))
    # an agent page of each verdict the run gave (in the browser); every page is checked as a file
    shown = list({verdicts[label]: href for label, href in reversed(list(links.items()))}.values())
    pages = (["index.html", "validation.html"] + [f"{n}.html" for n in NOTEBOOKS] + [COMMENTS_PAGE] + shown)
    return SimpleNamespace(root=root, data=data, run_dir=run_dir, agents=agents, pages=pages, stderr=proc.stderr,
                           links=links, agent_pages=shown)


# ----------------------------------------------------------------------------- the run itself


def test_the_three_study_notebooks_publish_findings_an_index_and_their_tables(real_run):
    """The quarterly review's three study notebooks through the real runner: pages with Key findings and no
    code or errors, findings files, the index's sentences and glossary, the tables in the manifest, no cache."""
    run = real_run.run_dir
    index = (run / "index.html").read_text()
    for name in NOTEBOOKS:
        html = (run / f"{name}.html").read_text()
        assert "Key findings" in html
        assert "import " not in html and "Traceback" not in html      # code hidden, no errors
        assert json.loads((run / f"{name}.findings.json").read_text())["sentences"]
    assert values_left_on_pages(run) == {}
    assert "of the variation in CSAT" in index
    assert "survey invitations were answered" in index
    assert "agents with CSAT replies have enough replies to be ranked" in index
    assert "Glossary" in index and (run / "glossary.html").is_file()
    manifest = json.loads((run / "manifest.json").read_text())
    assert "tables/agent_effects.csv" in manifest["tables"] and "tables/scorecards.csv" in manifest["tables"]
    assert not (run / ".cache").exists()


# ----------------------------------------------------------------------------- every published file


def test_the_unseen_channels_went_through_the_analysis(real_run):
    health = (real_run.run_dir / "survey_health.html").read_text(encoding="utf-8")
    for channel in NEW_CHANNELS:
        assert re.search(rf"<th[^>]*>{re.escape(channel)}</th>", health), channel  # a row of the by-channel tables
    validation = (real_run.run_dir / "validation.html").read_text(encoding="utf-8")
    assert 'class="status-passed">passed</strong>' in validation


def test_comments_are_shown_escaped_and_redacted(real_run):
    html = (real_run.run_dir / COMMENTS_PAGE).read_text(encoding="utf-8")
    for payload in PAYLOADS:  # shown, escaped
        assert f"Bad service {escape(payload, quote=False)} really." in html, payload
    for token in sorted({token for _, token in PII}):
        assert f"Reach me at {token} about order 12, I called 3 times." in html, token
    for page in real_run.pages:
        text = (real_run.run_dir / page).read_text(encoding="utf-8")
        assert "onerror=alert(1)>" not in text and "<script>alert(1)" not in text and "<svg onload" not in text


def test_no_personal_data_anywhere_in_the_report(real_run):
    """Every e-mail address, phone, card and bank account number and street address of the comments,
    in every page, the manifest, the findings files and tables/*.csv (when the study writes them)."""
    needles = [pii for pii, _ in PII]
    assert find_in_report(real_run.run_dir, needles) == []
    texts = "\n".join((real_run.run_dir / p).read_text(encoding="utf-8") for p in real_run.pages)
    for pii, _ in PII:
        digits = re.sub(r"\D", "", pii)
        if len(digits) >= 7:
            assert digits not in re.sub(r"data:[^\"']+", "", texts).replace(" ", ""), pii


def test_agent_ids_never_appear_without_name_agents(real_run):
    assert len(real_run.agents) >= 20
    leaks = find_in_report(real_run.run_dir, real_run.agents)
    assert leaks == [], leaks[:5]


def test_one_agent_page_per_agent_naming_only_that_agent(real_run):
    labels = list(real_run.links)
    assert len(labels) >= 20 and len(set(real_run.links.values())) == len(labels)
    pattern = re.compile(r"(?<![\w])(" + "|".join(map(re.escape, sorted(labels, key=len, reverse=True))) + r")(?![\w])")
    for label, href in real_run.links.items():
        raw = (real_run.run_dir / href).read_text(encoding="utf-8")
        named = set(pattern.findall(re.sub(r"<[^>]*>", " ", raw))) | set(pattern.findall(" ".join(
            re.findall(r'="([^"]*)"', raw))))
        assert named == {label}, (href, named)
        assert "What the contact mix did to your raw score" in raw and 'id="mix-parts"' in raw, href
        assert 'id="screen-finding"' in raw and 'id="verdict"' in raw, href
    index = (real_run.run_dir / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{escape(href)}"' in index for href in real_run.links.values())


def test_the_manifest_holds_no_personal_data(real_run):
    manifest = (real_run.run_dir / "manifest.json").read_text(encoding="utf-8")
    assert not [a for a in real_run.agents if re.search(rf"\b{re.escape(a)}\b", manifest)]
    assert "comment" not in json.loads(manifest)["parameters"]
    assert "Reach me at" not in manifest and "Bad service" not in manifest
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", manifest)


# ----------------------------------------------------------------------------- in a real browser

chromium = pytest.mark.skipif(find_chromium() is None,
                              reason="no Chromium installed (Debian: apt-get install chromium chromium-driver; "
                                     ".ci/run installs it)")


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def visits(real_run, browser):
    return {page: browser.open(real_run.run_dir / page) for page in real_run.pages}


@chromium
def test_every_page_loads_offline_without_errors_or_dialogs(real_run, visits):
    for page, visit in visits.items():
        assert visit.requests and visit.requests[0] == visit.url, page
        assert visit.external_requests == [], (page, visit.external_requests)
        assert all(u.startswith(("file:", "data:")) for u in visit.requests), page
        assert visit.console_errors == [], (page, visit.console_errors)
        assert visit.exceptions == [], (page, visit.exceptions)
        assert visit.dialogs == [], (page, visit.dialogs)


@chromium
def test_comment_payloads_are_inert_text_in_the_browser(visits):
    visit = visits[COMMENTS_PAGE]
    text = visit.evaluate("document.body.innerText")
    for payload in PAYLOADS:
        assert f"Bad service {payload} really." in text, payload
    markup = "img[src=\"x\"], svg[onload], iframe, b[onmouseover]"
    assert visit.evaluate(f"document.querySelectorAll('{markup}').length") == 0
    assert visit.evaluate("[...document.scripts].filter(s => s.textContent.includes('alert(')).length") == 0
    assert visit.dialogs == []


@chromium
def test_pages_show_no_agent_id(real_run, visits):
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, real_run.agents)) + r")\b")
    for page, visit in visits.items():
        assert not pattern.findall(visit.evaluate("document.body.innerText")), page


@chromium
def test_every_page_prints_to_pdf(visits, tmp_path):
    for page, visit in visits.items():
        pdf = visit.pdf()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF"), page
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1, page
        (tmp_path / f"{Path(page).name}.pdf").write_bytes(pdf)


@chromium
def test_screenshots_of_the_index_and_a_study_page(visits, tmp_path):
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    for page, name in [("index.html", "index.png"), ("agent_vs_system.html", "agent_vs_system.png"),
                       ("validation.html", "validation.png")]:
        path = visits[page].screenshot(folder / name)
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width == 1200 and 600 <= height <= 2400, (name, width, height)
    comments = visits[COMMENTS_PAGE].screenshot_element("document.querySelector('table')", folder / "comments.png",
                                                        max_height=900)
    assert comments.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@chromium
def test_agent_pages_print_on_at_most_two_pages(real_run, visits):
    assert len(real_run.agent_pages) >= 2
    for page in real_run.agent_pages:
        pdf = visits[page].pdf()
        assert 1 <= len(re.findall(rb"/Type\s*/Page\b", pdf)) <= 2, page


@chromium
def test_the_index_first_screen_shows_a_chart_and_at_most_five_findings(real_run, browser):
    visit = browser.open(real_run.run_dir / "index.html")
    browser.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1,
                                                         "mobile": False}, session=visit.session)
    findings = visit.evaluate("document.querySelectorAll('#first-screen .leading-finding').length")
    charts_in_view = visit.evaluate("[...document.querySelectorAll('#first-screen svg.chart')]"
                                    ".filter(s => s.getBoundingClientRect().top < 800).length")
    assert 1 <= findings <= 5 and charts_in_view >= 1, (findings, charts_in_view)
    assert visit.external_requests == [] and visit.console_errors == [] and visit.exceptions == []


@chromium
def test_the_agent_table_sorts_and_filters_in_the_browser(real_run, browser):
    visit = browser.open(real_run.run_dir / "index.html")
    table = "document.querySelector('#agents-table table')"
    column = [h.strip() for h in visit.evaluate(f"[...{table}.tHead.rows[0].cells].map(c => c.textContent)")].index(
        "Effect")
    values = f"[...{table}.tBodies[0].rows].map(r => r.cells[{column}].getAttribute('data-value'))"
    effects = pd.read_csv(real_run.run_dir / "tables" / "agent_effects.csv")["effect"]
    assert [float(v) for v in visit.evaluate(values)] == effects.tolist()       # the CSV's order and numbers
    visit.evaluate(f"{table}.tHead.rows[0].cells[{column}].click()")
    assert [float(v) for v in visit.evaluate(values)] == sorted(effects.tolist())
    visit.evaluate(f"{table}.tHead.rows[0].cells[{column}].click()")
    assert [float(v) for v in visit.evaluate(values)] == sorted(effects.tolist(), reverse=True)
    label = next(iter(real_run.links))
    visit.evaluate(f"(() => {{ const box = document.querySelector('#agents-table input.table-filter'); "
                   f"box.value = {json.dumps(label)}; box.dispatchEvent(new Event('input')); }})()")
    shown = visit.evaluate(f"[...{table}.tBodies[0].rows].filter(r => r.style.display !== 'none')"
                           ".map(r => r.cells[0].textContent)")
    assert shown == [label]


INTERVALS = ["10.1–12.0", "−0.85 to −0.48", "4.24–4.84", "–", "−0.85 to −0.20", "0.5 to 0.6", "12% to 15%",
             "-1.5 to 2.0"]


def _column(visit, table: str, column: int) -> list[str]:
    return visit.evaluate(f"[...{table}.tBodies[0].rows].map(r => r.cells[{column}].textContent.trim())")


@chromium
def test_interval_columns_sort_by_their_lower_end_then_their_upper(browser, tmp_path):
    script = (ROOT / "src" / "upstream" / "reporting" / "templates" / "sortable_tables.js").read_text(encoding="utf-8")
    rows = "".join(f"<tr><td>{i}</td><td>{escape(text)}</td></tr>" for i, text in enumerate(INTERVALS))
    page = tmp_path / "intervals.html"
    page.write_text(f"<!DOCTYPE html><html><body><table class='upstream-table'><thead><tr><th>Row</th>"
                    f"<th>95% interval</th></tr></thead><tbody>{rows}</tbody></table><script>{script}</script>"
                    "</body></html>", encoding="utf-8")
    visit = browser.open(page)
    table = "document.querySelector('table')"
    visit.evaluate(f"{table}.tHead.rows[0].cells[1].click()")
    assert _column(visit, table, 1) == ["-1.5 to 2.0", "−0.85 to −0.48", "−0.85 to −0.20", "0.5 to 0.6", "4.24–4.84",
                                        "10.1–12.0", "12% to 15%", "–"]         # a dash (no value) last
    visit.evaluate(f"{table}.tHead.rows[0].cells[1].click()")
    assert _column(visit, table, 1) == ["–", "12% to 15%", "10.1–12.0", "4.24–4.84", "0.5 to 0.6", "−0.85 to −0.20",
                                        "−0.85 to −0.48", "-1.5 to 2.0"]
    assert visit.console_errors == [] and visit.exceptions == []


@chromium
def test_an_interval_column_on_a_notebook_page_sorts_as_numbers(real_run, browser):
    visit = browser.open(real_run.run_dir / "agent_vs_system.html")
    found = visit.evaluate("[...document.querySelectorAll('table.upstream-table')].map((t, i) => [i, "
                           "[...t.tHead.rows[0].cells].findIndex(c => /interval|\\bCI\\b/.test(c.textContent)), "
                           "t.tBodies[0].rows.length]).filter(p => p[1] >= 0)")
    assert found, "no interval column on agent_vs_system.html"
    index, column, _ = max(found, key=lambda p: p[2])      # the longest table with one ('95% CI' of the policies)
    table = f"document.querySelectorAll('table.upstream-table')[{index}]"
    visit.evaluate(f"{table}.tHead.rows[0].cells[{column}].click()")
    shown = [t for t in _column(visit, table, column) if t not in ("–", "")]
    ends = [re.fullmatch(r"([−-]?[\d.,]+)%?\s*(?:to|–)\s*([−-]?[\d.,]+)%?", t) for t in shown]
    assert len(shown) >= 5 and all(ends), shown[:5]
    keys = [tuple(float(g.replace("−", "-").replace(",", "")) for g in m.groups()) for m in ends]
    assert keys == sorted(keys), shown


@chromium
def test_the_scorecards_and_the_agent_table_link_to_the_agent_pages(real_run, visits):
    for page, least in (("agent_scorecards.html", len(real_run.links)), ("agent_vs_system.html", 10)):
        linked = visits[page].evaluate("[...document.querySelectorAll('table.upstream-table a')]"
                                       ".map(a => [a.textContent, a.getAttribute('href')])")
        cells = visits[page].evaluate("[...document.querySelectorAll('table.upstream-table td, "
                                      "table.upstream-table tbody th')].map(c => c.textContent.trim())")
        assert [label for label, _ in linked] == [c for c in cells if c in real_run.links], page  # every one
        assert len(linked) >= least, (page, len(linked))
        assert all(real_run.links[label] == href for label, href in linked), page


@chromium
def test_the_browser_check_can_fail(browser, tmp_path):
    """The same checks on a page that breaks every rule: each is caught, and the remote request
    never left (failed by the test before resolution, which Chromium cannot do here anyway)."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><img src='https://cdn.example.invalid/x.png'>"
                    "<link rel='stylesheet' href='https://fonts.example.invalid/f.css'>"
                    "<script>console.error('broken'); alert('xss'); undefinedFunction();</script></body></html>")
    visit = browser.open(page)
    assert sorted(visit.external_requests) == ["https://cdn.example.invalid/x.png",
                                               "https://fonts.example.invalid/f.css"]
    assert set(visit.blocked) == set(visit.external_requests)
    assert "broken" in visit.console_errors
    assert visit.dialogs == ["alert: xss"]
    assert any("undefinedFunction" in e for e in visit.exceptions)
