"""Zendesk and Freshdesk exports as the vendors document them (issue 16, part A), and broken
exports of any vendor.

Every fixture here is built in the test, field by field, from a documented shape; the comment next
to each says where the shape comes from. None comes from the project's simulator.
"""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from upstream.data.importers import ImportInputError, import_export

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"


def _message(err) -> str:
    return str(err.value)


def _pages(path: Path) -> list[dict]:
    from upstream.data.importers.pages import iter_json_values
    return [value for value, _line in iter_json_values(path)]


# =================================================================================================
# broken exports (item 7): a message naming the file and what was expected, nothing written
# =================================================================================================
HTML_503 = (b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n"
            b"<body><h1>Service Unavailable</h1></body></html>\n")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)


def _broken(tmp_path: Path, vendor_dir: str, stem: str, name: str, content: bytes) -> Path:
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / vendor_dir, export, ignore=shutil.ignore_patterns("bad"))
    for old in export.glob(f"{stem}.*"):
        old.unlink()
    (export / name).write_bytes(content)
    return export


@pytest.mark.parametrize("vendor, folder, stem, name, content, message", [
    ("zendesk", "zendesk-api", "tickets", "tickets.json", HTML_503,
     "tickets.json: line 1, column 1: expected a JSON object or array, found '<!DOCTYPE html>' (an HTML or XML "
     "page, e.g. an error or sign-in page saved instead of the API response; expected the JSON the API returns)"),
    ("freshdesk", "freshdesk-api", "satisfaction_ratings", "satisfaction_ratings.json", PNG,
     "satisfaction_ratings.json: the file is a PNG image, not JSON text; expected a JSON export (API pages saved "
     "as .json, .jsonl or .ndjson, optionally gzipped)"),
    ("freshdesk", "freshdesk-api", "tickets", "tickets.json", b"Ticket ID,Subject,Status\n2001,Refund,Closed\n",
     "tickets.json: line 1, column 1: expected a JSON object or array, found 'Ticket ID,Subject,St' (it looks "
     "like a CSV table (a header row); expected the JSON pages the API returns)"),
    ("zendesk", "zendesk-api", "satisfaction_ratings", "satisfaction_ratings.json",
     b'{"satisfaction_ratings": [{"id": 35436, "score": "go',
     "satisfaction_ratings.json: not valid JSON at line 1, column 50: Unterminated string starting at (the file "
     "ends in the middle of a value: truncated?)"),
])
def test_broken_exports_name_the_file_and_what_was_expected(tmp_path, vendor, folder, stem, name, content,
                                                            message):
    export = _broken(tmp_path, folder, stem, name, content)
    with pytest.raises(ImportInputError) as err:
        import_export(vendor, export)
    assert _message(err) == message


def test_a_download_cut_off_mid_gzip_says_so(tmp_path):
    whole = (FIXTURES / "zendesk-api" / "tickets.json").read_bytes()
    export = _broken(tmp_path, "zendesk-api", "tickets", "tickets.json.gz", gzip.compress(whole)[:400])
    with pytest.raises(ImportInputError) as err:
        import_export("zendesk", export)
    assert _message(err) == (
        "tickets.json.gz: cannot be read (Compressed file ended before the end-of-stream marker was reached); the "
        "gzip file ends early: the download was cut off?; expected a JSON export (optionally gzipped)")


def test_gzipped_json_lines_import_and_a_gzip_saved_as_json_is_read(tmp_path):
    source = FIXTURES / "freshdesk-api" / "tickets.json"
    lines = "\n".join(json.dumps(r) for page in _pages(source) for r in page).encode()
    plain = import_export("freshdesk", FIXTURES / "freshdesk-api")
    export = _broken(tmp_path, "freshdesk-api", "tickets", "tickets.jsonl.gz", gzip.compress(lines))
    gzipped = import_export("freshdesk", export)
    pd.testing.assert_frame_equal(gzipped.contacts, plain.contacts)
    # a browser that saved the gzip body under the .json name: the content decides
    export2 = _broken(tmp_path / "b", "zendesk-api", "tickets", "tickets.json",
                      gzip.compress((FIXTURES / "zendesk-api" / "tickets.json").read_bytes()))
    assert len(import_export("zendesk", export2).contacts) == 19


def test_a_broken_export_writes_nothing(tmp_path):
    from upstream.cli import main

    export = _broken(tmp_path, "zendesk-api", "tickets", "tickets.json", HTML_503)
    out = tmp_path / "out"
    assert main(["import", "zendesk", str(export), "--out", str(out)]) == 2
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))
