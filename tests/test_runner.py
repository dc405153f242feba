"""The study runner and the `upstream` command.

End-to-end tests execute the small notebooks in tests/notebooks/ with the `upstream` kernel on a
tiny valid data set (built with the helpers of tests/conftest.py). One successful run is shared
by several tests (module-scoped fixture); the failure and bad-data runs then check that it
survives untouched.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import build_valid_tables, edit_csv, write_tables
from forked import run_upstream

import upstream
from upstream import cli, runner
from upstream.data import load_dataset
from upstream.reporting import notebook as report
from upstream.runner import publish, spec
from upstream.runner import run as run_module

TESTS = Path(__file__).resolve().parent
TEST_NOTEBOOKS = TESTS / "notebooks"
UPSTREAM_SCRIPT = Path(sys.executable).with_name("upstream")
SCRIPT_COMMENT = "<script>alert(1)</script> Call me on +44 20 7946 0958."
STAMP = re.compile(r"^\d{8}-\d{6}(-\d+)?$")


# ----------------------------------------------------------------------------- helpers


def run_cli(argv: list[str]) -> SimpleNamespace:
    """Run ``upstream`` in this process; returns exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:  # argparse
            code = exit_.code
    return SimpleNamespace(code=code, out=out.getvalue(), err=err.getvalue())


def write_study(path: Path, **content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


def write_dataset(folder: Path, *, bad_csat: bool = False) -> Path:
    tables = build_valid_tables(n_contacts=60, n_agents=4)
    answered = tables["surveys"].index[tables["surveys"]["responded_at"].notna()]
    tables["surveys"].loc[answered[1], "comment"] = SCRIPT_COMMENT
    write_tables(folder, tables)
    if bad_csat:
        def set_csat(text):
            text.loc[answered[0], "csat"] = "7"
        edit_csv(folder, "surveys", set_csat)
    return folder


class _ExternalReferences(HTMLParser):
    """Collects every URL a browser would fetch from the network while loading the page."""

    FETCHING = {"script": "src", "img": "src", "iframe": "src", "embed": "src", "source": "src",
                "audio": "src", "video": "src", "input": "src", "object": "data", "link": "href"}

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_style_or_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ({self.FETCHING[tag]} if tag in self.FETCHING else set()) | {"srcset", "poster"}:
            value = (attrs.get(name) or "").strip()
            if re.match(r"(?i)^(https?:)?//", value):
                self.found.append(f"<{tag} {name}={value}>")
        style = attrs.get("style") or ""
        self.found += [f"style url({u})" for u in re.findall(r"(?i)url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", style)]
        self._in_style_or_script = tag in ("style", "script")

    def handle_endtag(self, tag):
        self._in_style_or_script = False

    def handle_data(self, data):
        if self._in_style_or_script:
            self.found += [f"css url({u})" for u in re.findall(r"(?i)url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", data)]
            self.found += [f"@import {u}" for u in re.findall(r"(?i)@import\s+(?:url\()?['\"]?((?:https?:)?//[^'\"\s)]+)", data)]
            self.found += [f"import({u})" for u in re.findall(r"(?i)import\(\s*['\"]((?:https?:)?//[^'\"]+)", data)]


def external_references(html: str) -> list[str]:
    parser = _ExternalReferences()
    parser.feed(html)
    parser.close()
    return parser.found


def run_folders(study_dir: Path) -> set[str]:
    return {p.name for p in study_dir.iterdir() if STAMP.match(p.name)}


# ----------------------------------------------------------------------------- one successful run


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """`upstream run` on a study of tests/notebooks/smoke_report.ipynb, with parameters from the
    study, the notebook entry and -p."""
    root = tmp_path_factory.mktemp("study")
    shutil.copytree(TEST_NOTEBOOKS, root / "notebooks")
    data = write_dataset(root / "data")
    study_yaml = write_study(
        root / "studies" / "smoke.yaml",
        name="smoke",
        title="Agent or system? <Smoke> & test",
        data="../data",
        parameters={"reliability_threshold": 0.8},
        notebooks=[{"path": "../notebooks/smoke_report.ipynb", "parameters": {"greeting": "hola"}}],
    )
    reports = root / "reports"
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    mplbackend = os.environ.get("MPLBACKEND")
    result = run_cli(["run", str(study_yaml), "--reports", str(reports), "-p", "greeting=bonjour"])
    after = dt.datetime.now(dt.timezone.utc)
    assert result.code == 0, result.err
    assert os.environ.get("MPLBACKEND") == mplbackend  # the kernels' setting does not stick to this process
    study_dir = reports / "smoke"
    (run_name,) = run_folders(study_dir)
    run_dir = study_dir / run_name
    return SimpleNamespace(
        root=root, data=data, study_yaml=study_yaml, reports=reports, study_dir=study_dir, run_dir=run_dir,
        result=result, before=before, after=after,
        html=(run_dir / "smoke_report.html").read_text(encoding="utf-8"),
        index=(run_dir / "index.html").read_text(encoding="utf-8"),
        manifest=json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")),
    )


def test_run_prints_the_index_path_last_and_points_latest_at_the_new_run(published):
    index = published.run_dir / "index.html"
    assert published.result.out.splitlines()[-1] == str(index)
    assert index.is_file()
    latest = published.study_dir / "latest"
    assert latest.is_symlink()
    assert os.readlink(latest) == published.run_dir.name  # relative link
    assert latest.resolve() == published.run_dir.resolve()
    # no staging left; the study's lock file stays (deleting a lock file races with the next run)
    assert [p.name for p in published.study_dir.iterdir() if p.name.startswith(".")] == [".lock"]


def test_run_folder_holds_the_report_the_executed_notebook_and_the_validation_page(published):
    names = {p.name for p in published.run_dir.iterdir()}
    assert {"index.html", "manifest.json", "smoke_report.html", "smoke_report.ipynb",
            "smoke_report.findings.json", "validation.html"} <= names
    assert "data_docs" not in names and ".owner.json" not in names  # no GX Data Docs (CDN pages), no owner record
    stamp = dt.datetime.strptime(published.run_dir.name, publish.TIMESTAMP_FORMAT).replace(tzinfo=dt.timezone.utc)
    assert published.before <= stamp <= published.after


def test_progress_goes_to_stderr_one_line_per_step_without_library_noise(published):
    err = published.result.err
    assert "\r" not in err
    lines = err.splitlines()
    assert re.fullmatch(r"Validating .*data \.\.\. ok in \d+\.\d s", lines[0]), lines
    assert re.fullmatch(r"\[1/1\] smoke_report \.\.\. done in \d+\.\d s", lines[1]), lines
    assert len(lines) == 2, lines  # no papermill / nbconvert warnings
    assert published.result.out.count("\n") == 1


def test_leadership_html_has_outputs_but_no_code(published):
    html = published.html
    assert "printed output 7F3A" in html  # the cell's output ...
    assert "CODE-ONLY-" not in html  # ... but not its source
    assert "import matplotlib" not in html and "load_dataset(" not in html
    body = html.split("<body", 1)[1]
    assert "In&nbsp;[" not in body and "Out[" not in body  # prompts hidden
    code_cells = re.findall(r'<div class="jp-Cell jp-CodeCell[^"]*"', body)
    assert len(code_cells) == 7 and all("jp-mod-noInput" in c for c in code_cells)
    assert "jp-InputArea-editor" not in body and 'class="highlight' not in body  # no code block at all
    assert 'greeting = "bonjour"' not in html  # nor the injected parameters cell
    assert "Smoke report" in html  # markdown narrative stays
    assert "<title>Agent or system? &lt;Smoke&gt; &amp; test</title>" in html


def test_leadership_html_embeds_the_figure_and_prints_cleanly(published):
    assert re.search(r'<img[^>]+src="data:image/png;base64,', published.html)
    assert "@media print" in published.html
    assert "@media print" in published.index


def test_customer_comment_is_escaped_and_redacted_in_the_html(published):
    html = published.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Call me on [phone]." in html
    assert "<script>alert(1)" not in html.lower()
    assert "7946" not in html


def test_agents_are_pseudonymised_by_default(published):
    agent_ids = load_dataset(published.data, validate=False).agents["agent_id"]
    # the kernel used this installation's key (tests: a fresh XDG_CONFIG_HOME, see conftest.py)
    expected = ", ".join(sorted(report.pseudonymise(agent_ids)))
    assert f"agents: {expected}" in published.html


def test_reports_load_nothing_from_the_network(published):
    validation = (published.run_dir / "validation.html").read_text(encoding="utf-8")
    for page in [published.html, published.index, validation]:
        assert external_references(page) == []


def test_the_offline_check_catches_nbconvert_default_cdn_scripts(published):
    from nbconvert import HTMLExporter

    default_html, _ = HTMLExporter(template_name="lab").from_filename(str(published.run_dir / "smoke_report.ipynb"))
    found = external_references(default_html)
    assert any("require" in ref for ref in found), found
    assert any("mathjax" in ref.lower() for ref in found), found
    assert any(ref.startswith("import(") for ref in found), found  # mermaid


def test_executed_notebook_keeps_code_and_the_injected_parameters(published):
    import nbformat

    nb = nbformat.read(str(published.run_dir / "smoke_report.ipynb"), as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    source = injected[0].source
    assert 'greeting = "bonjour"' in source  # -p beats the notebook entry's "hola"
    assert "reliability_threshold = 0.8" in source
    assert "validated = True" in source and "show_names = False" in source
    assert f'data_dir = "{published.data.resolve()}"' in source
    assert any("CODE-ONLY-" in c.source for c in nb.cells)
    (env_cell,) = [c for c in nb.cells if "remove-output" in c.metadata.get("tags", [])]
    assert env_cell.outputs[0]["text"] == (
        "kernel environment: GX_ANALYTICS_ENABLED=False MPLBACKEND=module://matplotlib_inline.backend_inline\n")
    assert "kernel environment:" not in published.html  # the remove-output tag is honoured
    assert "Reliability threshold 0.8; greeting bonjour." in published.html


def test_index_page_has_title_period_findings_links_validation_and_footer(published):
    index = published.index
    contacts = load_dataset(published.data, validate=False).contacts
    period = report.period_text(contacts["opened_at"].min(), contacts["opened_at"].max())
    h1 = re.search(r"<h1>(.*?)</h1>", index, re.S).group(1)
    assert h1 == f'Agent or system? &lt;Smoke&gt; &amp; test <span class="period">· {period}</span>'
    findings = index.split('<section id="key-findings">', 1)[1].split("</section>", 1)[0]
    assert f"<li>60 contacts and 15 survey responses from {period}.</li>" in findings
    assert "<li>Reliability threshold 0.8; greeting bonjour.</li>" in findings
    assert index.index('id="key-findings"') < index.index('id="reports"') < index.index('id="data-validation"')
    assert 'href="smoke_report.html"' in index and 'href="smoke_report.ipynb"' in index
    assert '<a href="validation.html">Validation details</a>' in index and "data_docs" not in index
    assert 'class="status-passed">passed<' in index
    assert "<td>surveys</td><td>surveys.csv</td><td class=\"num\">30</td>" in index
    footer = index.split("<footer>", 1)[1]
    fingerprint = load_dataset(published.data, validate=False).fingerprint
    assert f"<code>{fingerprint}</code>" in footer
    assert f"upstream {upstream.__version__}" in footer
    assert "<code>greeting = &#34;bonjour&#34;</code>" in footer
    assert "<code>reliability_threshold = 0.8</code>" in footer
    assert re.search(r"<dt>Run time</dt><dd>(\d+\.\d s|\d+ min \d\d s)</dd>", footer)   # a minute on a busy machine
    assert re.search(r"<dt>Finished</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\)</dd>", footer)


def test_manifest_records_the_run(published):
    m = published.manifest
    assert {"study", "title", "study_yaml", "parameters", "data_dir", "data_fingerprint", "package_version",
            "python_version", "notebooks", "total_seconds", "validation", "started_at", "finished_at",
            "status"} <= set(m)
    assert m["study"] == "smoke" and m["title"] == "Agent or system? <Smoke> & test"
    assert m["status"] == "succeeded"
    assert m["study_yaml"] == str(published.study_yaml.resolve())
    assert m["data_dir"] == str(published.data.resolve())
    assert m["data_fingerprint"] == load_dataset(published.data, validate=False).fingerprint
    assert m["package_version"] == upstream.__version__
    assert m["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert m["parameters"] == {
        "reliability_threshold": 0.8, "greeting": "bonjour", "data_dir": str(published.data.resolve()),
        "validated": True, "study_title": "Agent or system? <Smoke> & test", "show_names": False,
    }
    (nb,) = m["notebooks"]
    assert nb["name"] == "smoke_report" and nb["status"] == "succeeded"
    assert nb["html"] == "smoke_report.html" and nb["ipynb"] == "smoke_report.ipynb"
    assert nb["parameters"]["greeting"] == "bonjour"
    assert nb["parameters"]["report_dir"].startswith(str(published.study_dir.resolve() / ".staging-"))
    assert 0 < nb["seconds"] <= m["total_seconds"]
    assert m["validation"]["ok"] is True
    assert m["validation"]["data_docs"] is None  # GX's Data Docs are not written into reports
    started = dt.datetime.fromisoformat(m["started_at"].replace("Z", "+00:00"))
    finished = dt.datetime.fromisoformat(m["finished_at"].replace("Z", "+00:00"))
    assert m["started_at"].endswith("Z") and started.utcoffset() == dt.timedelta(0)
    assert published.before <= started <= finished <= published.after
    assert m["period"]["text"] in published.index


# ----------------------------------------------------------------------------- failures keep the last good report


def _snapshot(study_dir: Path) -> dict:
    latest = study_dir / "latest"
    return {
        "latest": os.readlink(latest),
        "index": (latest / "index.html").read_bytes(),
        "runs": run_folders(study_dir),
    }


def test_notebook_failure_is_kept_apart_and_changes_nothing_published(published):
    before = _snapshot(published.study_dir)
    failed_before = set((published.study_dir / "_failed").glob("*")) if (published.study_dir / "_failed").exists() else set()
    study_yaml = write_study(published.root / "studies" / "failing.yaml", name="smoke", title="Failing",
                             data="../data", notebooks=["../notebooks/raises.ipynb"])
    # In a child process whose stderr is file descriptor 2 (tests/forked.py), so that anything the kernel process
    # writes to stderr would show up.
    proc = run_upstream(["run", str(study_yaml), "--reports", str(published.reports)], timeout=300)
    result = SimpleNamespace(code=proc.returncode, out=proc.stdout, err=proc.stderr)

    assert result.code == 1, result.err
    assert result.out == ""
    assert _snapshot(published.study_dir) == before
    assert not [p for p in published.study_dir.iterdir() if p.name.startswith(".staging")]
    (kept,) = set((published.study_dir / "_failed").glob("*")) - failed_before
    assert STAMP.match(kept.name)
    executed = (kept / "raises.ipynb").read_text(encoding="utf-8")
    assert "An Exception was encountered at" in executed
    failed_html = (kept / "raises.html").read_text(encoding="utf-8")
    assert "An Exception was encountered at" in failed_html
    failed_text = re.sub(r"<[^>]+>", "", failed_html)
    assert 'raise RuntimeError("deliberate failure' in failed_text.replace("&quot;", '"')  # the analyst's copy keeps the code ...
    assert "deliberate failure: the runner must keep the last good report" in failed_html  # ... and the error
    assert external_references(failed_html) == []
    assert "raw kernel stderr" not in result.err  # the kernel process's own output goes to a file
    assert (kept / "kernel.log").read_text(encoding="utf-8").count("raw kernel stderr: must land in kernel.log") == 1
    manifest = json.loads((kept / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"
    assert manifest["notebooks"][0]["error"]["type"] == "RuntimeError"

    lines = result.err.splitlines()
    assert len(lines) == 5, result.err  # nothing from papermill, nbclient or the kernel
    assert re.fullmatch(r"Validating .*data \.\.\. ok in \d+\.\d s", lines[0])
    assert re.fullmatch(r"\[1/1\] raises \.\.\. failed after \d+\.\d s", lines[1])
    assert lines[2] == ("Notebook raises failed in cell [4]: RuntimeError: deliberate failure: "
                        "the runner must keep the last good report")
    assert lines[3] == (f"Executed notebook with the error: {kept}/raises.ipynb (HTML with code: {kept}/raises.html)")
    assert lines[4] == "Nothing was published; earlier reports are unchanged."
    assert "Traceback" not in result.err


def test_bad_data_stops_before_any_notebook_and_publishes_nothing(published):
    before = _snapshot(published.study_dir)
    bad = write_dataset(published.root / "bad_data", bad_csat=True)
    study_yaml = write_study(published.root / "studies" / "bad.yaml", name="smoke", title="Bad",
                             data="../bad_data", notebooks=["../notebooks/smoke_report.ipynb"])
    failed_before = set((published.study_dir / "_failed").glob("*")) if (published.study_dir / "_failed").exists() else set()
    result = run_cli(["run", str(study_yaml), "--reports", str(published.reports)])

    assert result.code == 2
    assert result.out == ""
    assert _snapshot(published.study_dir) == before
    assert not [p for p in published.study_dir.iterdir() if p.name.startswith(".staging")]
    (kept,) = set((published.study_dir / "_failed").glob("*")) - failed_before
    message = (kept / "message.txt").read_text(encoding="utf-8").strip()
    assert message.startswith(f"Data validation failed for {bad.resolve()}:")
    assert "surveys.csv, column 'csat'" in message and "e.g. 7 (contact_id '0000001')." in message
    page = (kept / "validation.html").read_text(encoding="utf-8")
    assert '<tr class="failed"><td>CSAT is a whole number from 1 to 5</td><td>csat</td>' in page
    assert "<code>7 (contact_id &#39;0000001&#39;)</code>" in page and external_references(page) == []
    assert not list(kept.glob("*.ipynb"))  # no notebook ran
    assert message in result.err
    assert result.err.endswith(f"\nThe validation output is kept in {kept}\nNothing was published.\n")
    assert "Traceback" not in result.err and "[1/1]" not in result.err
    assert json.loads((kept / "manifest.json").read_text(encoding="utf-8"))["status"] == "invalid data"


# ----------------------------------------------------------------------------- the study file and the command line


@pytest.fixture
def study_dir(tmp_path):
    """A folder with notebooks/, an (empty) data/ folder and a studies/ folder."""
    shutil.copytree(TEST_NOTEBOOKS, tmp_path / "notebooks")
    (tmp_path / "data").mkdir()
    return tmp_path


def _study(study_dir: Path, **overrides) -> Path:
    content = {"name": "s", "title": "S", "data": "../data", "parameters": {"reliability_threshold": 0.7},
               "notebooks": ["../notebooks/smoke_report.ipynb"]}
    content.update(overrides)
    return write_study(study_dir / "studies" / "s.yaml", **content)


def test_load_study_resolves_paths_relative_to_the_yaml(study_dir):
    study = runner.load_study(_study(study_dir), overrides={"greeting": "x"})
    assert study.name == "s" and study.title == "S"
    assert study.data_dir == (study_dir / "data").resolve()
    assert [nb.path for nb in study.notebooks] == [(study_dir / "notebooks" / "smoke_report.ipynb").resolve()]
    assert study.parameters == {"reliability_threshold": 0.7} and study.overrides == {"greeting": "x"}
    other = study_dir / "elsewhere"
    other.mkdir()
    assert runner.load_study(_study(study_dir), data_dir=other).data_dir == other.resolve()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"notebook": ["x.ipynb"]}, "unknown key 'notebook' (allowed: name, title, question, data, engine, parameters, notebooks); did you mean 'notebooks'?"),
        ({"notebooks": ["../notebooks/missing.ipynb"]}, "notebook not found: ../notebooks/missing.ipynb"),
        ({"parameters": {"reliabilty_threshold": 0.7}}, "unknown parameter 'reliabilty_threshold': no notebook of the study declares it; did you mean 'reliability_threshold'?"),
        ({"parameters": {"data_dir": "x"}}, "parameter 'data_dir' in 'parameters' is set by the runner and cannot be given in a study (use --data for the data folder)"),
        ({"parameters": {"show_names": "yes"}}, "'show_names' must be true or false"),
        ({"notebooks": [{"path": "../notebooks/smoke_report.ipynb", "parameters": {"colour": 1}}]}, "unknown parameter 'colour' for smoke_report.ipynb: not in its parameters cell"),
        ({"notebooks": [{"path": "../notebooks/smoke_report.ipynb", "params": {}}]}, "unknown key 'params' in notebooks[1] (allowed: path, parameters); did you mean 'parameters'?"),
        ({"notebooks": ["../notebooks/smoke_report.ipynb", "../notebooks/./smoke_report.ipynb"]}, "two notebooks are named 'smoke_report'; notebook file names must differ"),
        ({"notebooks": []}, "'notebooks' must be a non-empty list of notebook paths"),
        ({"name": "../x"}, "'name' must be a folder name"),
        ({"data": "../nowhere"}, "data folder not found: "),
    ],
)
def test_load_study_rejects_bad_study_files_with_a_clear_message(study_dir, overrides, message):
    path = _study(study_dir, **overrides)
    with pytest.raises(runner.StudyError) as info:
        runner.load_study(path)
    text = str(info.value)
    assert "\n" not in text
    assert message in text
    assert text.startswith(f"{path}: ") or text.startswith("data folder not found: ")


def test_load_study_rejects_an_unknown_command_line_parameter(study_dir):
    with pytest.raises(runner.StudyError) as info:
        runner.load_study(_study(study_dir), overrides={"greting": "hi"})
    assert str(info.value) == "-p greting: unknown parameter: no notebook of the study declares it; did you mean 'greeting'?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("greeting=bonjour", ("greeting", "bonjour")), ("reliability_threshold=0.85", ("reliability_threshold", 0.85)),
     ("show_names=true", ("show_names", True)), ("ids=[1, 2]", ("ids", [1, 2])), ("note=a=b", ("note", "a=b")),
     ("empty=", ("empty", ""))],
)
def test_parse_parameter_reads_values_as_yaml(text, expected):
    assert runner.parse_parameter(text) == expected


@pytest.mark.parametrize("text", ["greeting", "=x", "1st=x"])
def test_parse_parameter_rejects_malformed_input(text):
    with pytest.raises(runner.StudyError):
        runner.parse_parameter(text)


def test_name_agents_and_the_study_set_show_names(study_dir):
    study = runner.load_study(_study(study_dir))
    nb = study.notebooks[0]
    assert run_module.notebook_parameters(study, nb, Path("/r"), show_names=False)["show_names"] is False
    assert run_module.notebook_parameters(study, nb, Path("/r"), show_names=True)["show_names"] is True
    assert runner.load_study(_study(study_dir, parameters={"show_names": True})).show_names is True
    assert runner.load_study(_study(study_dir), overrides={"show_names": True}).show_names is True
    params = run_module.notebook_parameters(study, nb, Path("/r"), show_names=False)
    assert params["report_dir"] == "/r" and params["validated"] is True and params["study_title"] == "S"


def test_cli_missing_study_file_exits_2_with_one_line(tmp_path):
    proc = subprocess.run([str(UPSTREAM_SCRIPT), "run", "missing.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == "upstream: error: study file not found: missing.yaml\n"
    assert proc.stdout == ""


def test_cli_unknown_parameter_exits_2_with_one_line(study_dir):
    path = _study(study_dir)
    proc = subprocess.run([str(UPSTREAM_SCRIPT), "run", str(path), "-p", "greting=hi", "--reports", str(study_dir / "r")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == ("upstream: error: -p greting: unknown parameter: no notebook of the study declares it; "
                           "did you mean 'greeting'?\n")
    assert not (study_dir / "r").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "x.yaml", "--bogus"], "upstream: error: unrecognized arguments: --bogus\n"),
        (["run", "x.yaml", "-p", "novalue"], "upstream: error: -p expects key=value, got 'novalue'\n"),
        (["simulate"], "upstream simulate: error: the following arguments are required: --out\n"),
    ],
)
def test_cli_argument_errors_exit_2_with_one_line(argv, message):
    result = run_cli(argv)
    assert result.code == 2
    assert result.err == message


def test_cli_unknown_kernel_exits_2(study_dir):
    result = run_cli(["run", str(_study(study_dir)), "--kernel", "no-such-kernel"])
    assert result.code == 2
    assert result.err.startswith("upstream: error: no Jupyter kernel named 'no-such-kernel' (installed: ")
    assert result.err.count("\n") == 1


def test_kernels_share_the_cores_for_their_blas_threads_unless_the_user_set_them(monkeypatch):
    from upstream.runner.kernel import BLAS_THREAD_VARIABLES, blas_threads, kernel_environment

    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert blas_threads(2) == {name: "4" for name in BLAS_THREAD_VARIABLES}
    assert blas_threads(3) == {name: "2" for name in BLAS_THREAD_VARIABLES}
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert blas_threads(4) == {name: "1" for name in BLAS_THREAD_VARIABLES}
    with kernel_environment(blas_threads(2)):            # what the kernels of a run inherit
        assert [os.environ[name] for name in BLAS_THREAD_VARIABLES] == ["1", "1", "1"]
        assert os.environ["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"
    assert not any(name in os.environ for name in BLAS_THREAD_VARIABLES)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")                # the user's setting stands
    assert blas_threads(2) == {}


def test_cli_version():
    result = run_cli(["--version"])
    assert result.code == 0 and result.out == f"upstream {upstream.__version__}\n"


def test_default_study_is_the_repository_agent_vs_system_yaml():
    root = Path(runner.__file__).resolve().parents[3]
    assert runner.repo_root() == root
    path = runner.default_study_path()
    assert path == root / "studies" / "agent_vs_system.yaml"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(content) <= set(spec.STUDY_KEYS)
    assert content["name"] == "agent_vs_system"
    assert (path.parent / content["data"]).resolve() == root / "data" / "sample"
    assert [(path.parent / nb).resolve() for nb in content["notebooks"]] == [root / "notebooks" / "agent_vs_system.ipynb"]


# ----------------------------------------------------------------------------- publishing primitives


def test_move_to_unique_never_replaces_an_existing_run(tmp_path):
    (tmp_path / "20260101-000000").mkdir()
    (tmp_path / "20260101-000000-2").mkdir()  # even an empty folder is kept
    staging = tmp_path / ".staging"
    staging.mkdir()
    (staging / "index.html").write_text("new")
    target = publish.move_to_unique(staging, tmp_path, "20260101-000000")
    assert target == tmp_path / "20260101-000000-3"
    assert (target / "index.html").read_text() == "new" and not staging.exists()


def test_point_latest_replaces_the_link_with_a_relative_one(tmp_path):
    first, second = tmp_path / "20260101-000000", tmp_path / "20260102-000000"
    first.mkdir()
    second.mkdir()
    runner.point_latest(tmp_path, first)
    runner.point_latest(tmp_path, second)
    assert os.readlink(tmp_path / "latest") == "20260102-000000"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20260101-000000", "20260102-000000", "latest"]
    (tmp_path / "latest").unlink()
    (tmp_path / "latest").mkdir()
    with pytest.raises(OSError, match="is not a symlink"):
        runner.point_latest(tmp_path, first)


def test_index_page_groups_the_findings_by_study_group():
    from upstream.runner.index_page import group_findings, index_html, validation_view

    blocks = [{"title": t, "sentences": [f"{t} finding."], "href": f"{n}.html", "group": g}
              for n, t, g in (("avs", "Agent or system?", "Agents"), ("mh", "Metric health", "Operations"),
                              ("qa", "QA plan", "Agents"), ("old", "Ungrouped <page>", ""))]
    groups = group_findings(blocks)
    assert [(g["name"], [b["href"] for b in g["blocks"]]) for g in groups] == [
        ("Agents", ["avs.html", "qa.html"]), ("Operations", ["mh.html"]), ("", ["old.html"])]
    html = index_html({"title": "Review", "period": None, "study_name": "review", "study_yaml": "review.yaml",
                       "findings": blocks, "groups": groups, "notebooks": [], "tables": [],
                       "validation": validation_view(None), "validation_href": None, "data_dir": "data",
                       "fingerprint": "f", "parameters": [], "version": "0", "python_version": "3.11",
                       "kernel": "k", "run_seconds_text": "1 s", "finished_at": "now"})
    findings = html.split('<section id="key-findings">', 1)[1].split("</section>", 1)[0]
    assert findings.index('<h3 class="group">Agents</h3>') < findings.index('href="qa.html"') \
        < findings.index('<h3 class="group">Operations</h3>') < findings.index('href="mh.html"')
    assert '<h3><a href="old.html">Ungrouped &lt;page&gt;</a></h3>' in findings     # escaped, no group heading


@pytest.mark.parametrize("notebook", sorted((TESTS.parent / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_parameter_of_a_study_notebook_can_be_set_with_p(notebook):
    """papermill reads a parameters cell line by line and silently skips a line it cannot parse (a comment
    with '=' or ';' once hid practical_margin and screen_z): every name assigned in the cell must be one the
    runner can override."""
    import nbformat
    import papermill

    cell = next(c for c in nbformat.read(str(notebook), as_version=4).cells
                if "parameters" in c.metadata.get("tags", []))
    assigned = re.findall(r"^(\w+)\s*=", cell.source, flags=re.M)
    assert assigned and list(papermill.inspect_notebook(str(notebook))) == assigned


# ----------------------------------------------------------------------------- notebooks side by side


def _copies(published, names: dict[str, str]) -> list[str]:
    """Copies of the test notebooks under new names (a study needs distinct file names)."""
    folder = published.root / "notebooks"
    for new, source in names.items():
        shutil.copy(folder / f"{source}.ipynb", folder / f"{new}.ipynb")
    return [f"../notebooks/{new}.ipynb" for new in names]


def test_notebooks_run_two_at_a_time_and_publish_in_the_study_order(published):
    notebooks = _copies(published, {"n1": "smoke_report", "n2": "smoke_report", "n3": "smoke_report"})
    study_yaml = write_study(published.root / "studies" / "side.yaml", name="side", title="Side by side",
                             data="../data", notebooks=notebooks)
    before = os.getcwd()
    result = run_cli(["run", str(study_yaml), "--reports", str(published.reports), "--jobs", "2"])
    assert result.code == 0, result.err
    assert os.getcwd() == before          # kernels start in the notebooks' folder; the runner's own stays put
    from upstream.runner.kernel import ipc_folder, logged_kernel_manager_class
    assert logged_kernel_manager_class()().transport == "ipc"    # no TCP port two kernels started at once can race for
    assert os.listdir(ipc_folder()) == []                          # each kernel's socket files removed at its shutdown
    progress = [line for line in result.err.splitlines() if line.startswith("[")]
    assert progress[0].startswith("[1/3] n1 ... done in")                    # the first runs alone
    assert sorted(line.split(" ... ")[0] for line in progress[1:]) == ["[2/3] n2", "[3/3] n3"]   # then side by side
    run = published.reports / "side" / "latest"
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert [nb["name"] for nb in manifest["notebooks"]] == ["n1", "n2", "n3"]
    assert {nb["status"] for nb in manifest["notebooks"]} == {"succeeded"}
    index = (run / "index.html").read_text(encoding="utf-8")
    assert [index.index(f'href="n{i}.html"') for i in range(1, 4)] == sorted(
        index.index(f'href="n{i}.html"') for i in range(1, 4))


def test_after_a_failure_no_further_notebook_starts(published):
    notebooks = _copies(published, {"m1": "smoke_report", "m2": "raises", "m3": "smoke_report",
                                    "m4": "smoke_report", "m5": "smoke_report"})
    study_yaml = write_study(published.root / "studies" / "side_fail.yaml", name="side_fail", title="Failing",
                             data="../data", notebooks=notebooks)
    result = run_cli(["run", str(study_yaml), "--reports", str(published.reports), "--jobs", "2"])
    assert result.code == 1
    assert "Notebook m2 failed in cell [4]: RuntimeError: deliberate failure" in result.err
    (kept,) = (published.reports / "side_fail" / "_failed").iterdir()
    status = {nb["name"]: nb["status"] for nb in json.loads((kept / "manifest.json").read_text())["notebooks"]}
    assert status["m1"] == "succeeded" and status["m2"] == "failed" and status["m5"] == "skipped"
    assert set(status.values()) <= {"succeeded", "failed", "skipped"}
    assert not (published.reports / "side_fail" / "latest").exists()


@pytest.mark.parametrize("argv, env, message", [
    (["--jobs", "0"], None, "upstream: error: --jobs must be 1 or more, got 0"),
    ([], "two", "upstream: error: UPSTREAM_JOBS must be a whole number of notebooks (1 or more), got 'two'"),
])
def test_bad_jobs_are_refused_in_one_line(published, monkeypatch, argv, env, message):
    if env is not None:
        monkeypatch.setenv("UPSTREAM_JOBS", env)
    study_yaml = published.root / "studies" / "smoke.yaml"
    result = run_cli(["run", str(study_yaml), "--reports", str(published.reports / "never"), *argv])
    assert result.code == 2 and result.err.strip() == message
