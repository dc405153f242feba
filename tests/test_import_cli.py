"""``upstream import`` and ``upstream simulate --vendor`` through the command line: exact messages
for bad input, exit status 2, and nothing written to --out (not even a partial folder)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import upstream
from upstream.cli import main

VENDORS = Path(__file__).parent / "fixtures" / "vendors"
ZD = VENDORS / "zendesk-api"
EXPECTED_ZD = ('expected Zendesk API pages such as {"tickets": [...], "next_page": ...} (one page object, several '
               "one after another, or one per line)")


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(map(str, argv)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _export(tmp_path, source=ZD, replace=None) -> Path:
    export = tmp_path / "export"
    shutil.copytree(source, export, ignore=shutil.ignore_patterns("bad"))
    for name, new in (replace or {}).items():
        (export / name).unlink()
        if new is not None:
            shutil.copy(new, export / name)
    return export


def _nothing_written(parent: Path, out: Path) -> None:
    assert not out.exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(f".{out.name}.partial")]


def test_import_writes_the_data_set_and_its_report(tmp_path, capsys):
    out = tmp_path / "acme"
    code, stdout, stderr = run(capsys, "import", "zendesk", ZD, "--out", out, "--mapping", ZD / "mapping.yaml")
    assert (code, stderr) == (0, "")
    lines = stdout.splitlines()
    assert lines[0] == f"Imported zendesk (zendesk-api) from {ZD}:"
    assert lines[1:6] == ["  contacts: 19 kept of 25 read, 6 dropped", "  surveys: 16 kept of 21 read, 5 dropped",
                          "  agents: 7", "  CSAT: Zendesk legacy CSAT (good/bad) -> codes 1..2 (binary), top box [2]",
                          "  attribution: rating_time_assignee"]
    assert lines[-1] == str(out.absolute())
    assert sorted(p.name for p in out.iterdir()) == [
        "agents.csv", "contacts.csv", "dataset.yaml", "import_report.html", "import_report.json", "mapping.yaml",
        "surveys.csv"]
    report = json.loads((out / "import_report.json").read_text())
    assert report["rows"] == {"contacts": {"read": 25, "kept": 19, "dropped": 6},
                              "surveys": {"read": 21, "kept": 16, "dropped": 5},
                              "agents": {"read": 6, "kept": 7, "dropped": 0}}
    description = yaml.safe_load((out / "dataset.yaml").read_text())
    assert description["csat"]["labels"] == {1: "bad", 2: "good"}
    assert description["columns"]["contacts"]["missing"] == ["credit_issued"]
    ds = upstream.load_dataset(out)
    assert ds.validation.ok and ds.description.csat.is_binary and len(ds.contacts) == 19


@pytest.mark.parametrize("case, message", [
    ("not the vendor's format",
     "tickets.json: line 1: found a JSON object with keys type, conversations, total_count, pages; " + EXPECTED_ZD),
    ("missing required file",
     "ticket_metrics.json: required file missing from {export}; a Zendesk API export needs tickets.json, "
     "ticket_metrics.json (or tickets pages with side-loaded metric_sets) and satisfaction_ratings.json or "
     "csat_survey_responses.json"),
    ("empty export", "tickets.json: the export holds no tickets (1 page(s), all empty); expected at least one ticket"),
    ("mapping names a nonexistent field",
     "mapping.unknown-field.yaml: columns.product: no custom field 360999 in tickets.json or ticket_fields.json; "
     "fields present: 360001 (Product), 360002 (Issue type), 360003 (Total time spent (sec)), 360004 (Time spent "
     "last update (sec))"),
])
def test_bad_input_names_the_file_exits_2_and_writes_nothing(tmp_path, capsys, case, message):
    replace, mapping = {}, ZD / "mapping.yaml"
    if case == "not the vendor's format":
        replace = {"tickets.json": ZD / "bad" / "tickets.intercom-page.json"}
    elif case == "missing required file":
        replace = {"ticket_metrics.json": None}
    elif case == "empty export":
        replace = {"tickets.json": ZD / "bad" / "tickets.no-tickets.json"}
    else:
        mapping = ZD / "bad" / "mapping.unknown-field.yaml"
    export = _export(tmp_path, replace=replace)
    out = tmp_path / "out" / "acme"
    (tmp_path / "out").mkdir()
    code, stdout, stderr = run(capsys, "import", "zendesk", export, "--out", out, "--mapping", mapping)
    assert (code, stdout) == (2, "")
    assert stderr == f"upstream: error: {message.replace('{export}', str(export))}\nNothing was written to {out}.\n"
    _nothing_written(tmp_path / "out", out)


@pytest.mark.parametrize("vendor, folder, bad, target, message", [
    ("freshdesk", "freshdesk-api", "tickets.zendesk-page.json", "tickets.json",
     "tickets.json: line 1: found a JSON object with keys tickets, next_page; expected a Freshdesk API list response: "
     "a JSON array of records (several arrays one after another, or one per line, are fine)"),
    ("freshdesk", "freshdesk-api", "tickets.empty-array.json", "tickets.json",
     "tickets.json: the export holds no tickets; expected at least one ticket"),
    ("intercom", "intercom", None, "conversations.json",
     "conversations.json: required file missing from {export}; an Intercom export needs conversations.json "
     "(GET /conversations pages)"),
    ("helpscout", "helpscout", None, "ratings.json",
     "ratings.json: required file missing from {export}; a Help Scout export needs conversations.json (Mailbox API "
     "conversations) and ratings.json (the happiness ratings report)"),
    ("gorgias", "gorgias", "satisfaction_surveys.score-zero.json", "satisfaction_surveys.json",
     "satisfaction_surveys.json: score must be 1 to 5 (Gorgias' scale); found 0 (survey 9101)"),
])
def test_bad_input_for_every_vendor(tmp_path, capsys, vendor, folder, bad, target, message):
    source = VENDORS / folder
    export = _export(tmp_path, source, {target: None if bad is None else source / "bad" / bad})
    out = tmp_path / "acme"
    code, stdout, stderr = run(capsys, "import", vendor, export, "--out", out, "--mapping", source / "mapping.yaml")
    assert (code, stdout) == (2, "")
    assert stderr == f"upstream: error: {message.replace('{export}', str(export))}\nNothing was written to {out}.\n"
    _nothing_written(tmp_path, out)


def test_a_csv_export_that_is_not_the_vendors(tmp_path, capsys):
    out = tmp_path / "acme"
    bad = VENDORS / "zendesk-csv" / "bad" / "not-a-zendesk-export.csv"
    code, _stdout, stderr = run(capsys, "import", "zendesk", bad, "--out", out)
    assert code == 2
    assert stderr == (
        "upstream: error: not-a-zendesk-export.csv: not a Zendesk ticket export (Admin Center > Reports > CSV): the "
        "header has Ticket ID, Subject, Status, Priority, Source, Type, Agent, Group, ...; expected columns such as "
        f"Id, Requester id, Assignee, Group, Status, Via\nNothing was written to {out}.\n")
    _nothing_written(tmp_path, out)


def test_nothing_already_published_is_overwritten(tmp_path, capsys):
    out = tmp_path / "acme"
    out.mkdir()
    (out / "contacts.csv").write_text("keep me\n")
    code, _stdout, stderr = run(capsys, "import", "zendesk", ZD, "--out", out, "--mapping", ZD / "mapping.yaml")
    assert code == 2
    assert stderr == (f"upstream: error: {out}: the output folder exists and is not empty; nothing was written "
                      "(choose a new folder)\n")
    assert [p.name for p in out.iterdir()] == ["contacts.csv"] and (out / "contacts.csv").read_text() == "keep me\n"


def test_a_missing_mapping_file_and_an_unknown_vendor(tmp_path, capsys):
    out = tmp_path / "acme"
    code, _stdout, stderr = run(capsys, "import", "zendesk", ZD, "--out", out, "--mapping", tmp_path / "nope.yaml")
    assert (code, stderr) == (2, f"upstream: error: nope.yaml: mapping file not found ({tmp_path / 'nope.yaml'})\n"
                                 f"Nothing was written to {out}.\n")
    with pytest.raises(SystemExit) as exit_:
        main(["import", "kayako", str(ZD), "--out", str(out)])
    stderr = capsys.readouterr().err
    assert exit_.value.code == 2 and len(stderr.splitlines()) == 1   # argparse's one line, no usage dump
    assert stderr.startswith("upstream import: error: argument vendor: invalid choice: 'kayako' (choose from ")
    _nothing_written(tmp_path, out)


def test_simulate_a_vendor_export_then_import_it(tmp_path):
    """The console script end to end: upstream simulate --vendor, then upstream import."""
    exe = Path(sys.executable).with_name("upstream")
    export, out = tmp_path / "zd", tmp_path / "data"
    done = subprocess.run([str(exe), "simulate", "--vendor", "zendesk", "--preset", "small", "--out", str(export)],
                          capture_output=True, text=True, timeout=600)
    assert (done.returncode, done.stdout) == (0, f"{export.absolute()}\n")
    mapping = export.absolute() / "mapping.yaml"
    assert done.stderr == (f"Wrote the mapping of the export's tags and fields to {mapping}; import with\n"
                           f"  upstream import zendesk {export.absolute()} --out DIR --mapping {mapping}\n")
    assert sorted(p.name for p in export.iterdir()) == [
        "groups.json", "mapping.yaml", "satisfaction_ratings.json", "ticket_fields.json", "ticket_metrics.json",
        "tickets.json", "truth.json", "truth_contacts.csv", "users.json"]
    done = subprocess.run([str(exe), "import", "zendesk", str(export), "--mapping", str(export / "mapping.yaml"),
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    truth = pd.read_csv(export / "truth_contacts.csv")
    n_sent = int(truth["surveyed"].sum())
    assert done.stdout.splitlines()[1:4] == ["  contacts: 6,000 kept of 6,000 read",
                                             f"  surveys: {n_sent:,} kept of {n_sent:,} read", "  agents: 40"]
    assert done.stdout.splitlines()[-1] == str(out.absolute())
    again = subprocess.run([str(exe), "simulate", "--vendor", "zendesk", "--preset", "small", "--out", str(export)],
                           capture_output=True, text=True, timeout=600)
    assert (again.returncode, again.stderr) == (
        2, f"upstream: error: {export}: the folder exists and is not empty; choose a new one\n")


def test_parquet_tables(tmp_path, capsys):
    out = tmp_path / "acme"
    source = VENDORS / "intercom"
    code, _stdout, stderr = run(capsys, "import", "intercom", source, "--out", out, "--mapping",
                                source / "mapping.yaml", "--format", "parquet")
    assert code == 0    # the fixture's mapping names no product field: said on stderr
    assert stderr.startswith("upstream: warning: product is 'unknown' for every contact: the mapping does not name")
    assert sorted(p.name for p in out.glob("*.parquet")) == ["agents.parquet", "contacts.parquet", "surveys.parquet"]
    ds = upstream.load_dataset(out)
    assert ds.validation.ok and ds.description.attribution.rule == "rating_time_assignee"
    assert ds.surveys.set_index("contact_id")["csat"].dropna().astype(int).to_dict() == {
        "215001": 5, "215002": 1, "215004": 4, "215007": 3, "215008": 2, "215009": 5, "215010": 5}


MAPPING_HELP = ('A mapping names the tags or custom fields that hold them: see "The mapping" in '
                "docs/importers/README.md (an example to copy) or the mapping.yaml `upstream simulate --vendor` "
                "writes beside its export; then import again with --mapping mapping.yaml.")


def test_an_import_without_a_mapping_says_what_is_unknown_and_what_it_costs(tmp_path, capsys):
    out = tmp_path / "acme"
    code, stdout, stderr = run(capsys, "import", "zendesk", ZD, "--out", out)
    assert code == 0 and stdout.splitlines()[-1] == str(out.absolute())
    assert stderr == (
        "upstream: warning: policy, product and issue type are 'unknown' for every contact: no --mapping names "
        "where the export keeps them.\n"
        "  The studies then estimate no policy, product or issue type effects (policy_friction has no policies to "
        "compare) and cannot tell what they do to CSAT apart from the agents.\n"
        f"  {MAPPING_HELP} (--require-mapping makes this an error.)\n")
    contacts = pd.read_csv(out / "contacts.csv")
    assert set(contacts["policy"]) == set(contacts["product"]) == set(contacts["issue_type"]) == {"unknown"}


def test_a_mapping_without_product_warns_about_product_only(tmp_path, capsys):
    mapping = yaml.safe_load((ZD / "mapping.yaml").read_text())
    del mapping["columns"]["product"]
    (tmp_path / "mapping.yaml").write_text(yaml.safe_dump(mapping))
    code, _stdout, stderr = run(capsys, "import", "zendesk", ZD, "--out", tmp_path / "acme", "--mapping",
                                tmp_path / "mapping.yaml")
    assert code == 0
    assert stderr.splitlines()[:2] == [
        "upstream: warning: product is 'unknown' for every contact: the mapping does not name where the export "
        "keeps it.",
        "  The studies then estimate no product effects and cannot tell what it does to CSAT apart from the agents."]


def test_require_mapping_refuses_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "acme"
    code, stdout, stderr = run(capsys, "import", "zendesk", ZD, "--out", out, "--require-mapping")
    assert (code, stdout) == (2, "")
    assert stderr == ("upstream: error: zendesk-api: policy, product and issue type would be 'unknown' for every "
                      f"contact (without --mapping) and --require-mapping was given; nothing was written to {out}. "
                      f"{MAPPING_HELP}\n")
    _nothing_written(tmp_path, out)
    code, _stdout, stderr = run(capsys, "import", "zendesk", ZD, "--out", out, "--require-mapping", "--mapping",
                                ZD / "mapping.yaml")
    assert (code, stderr) == (0, "")
