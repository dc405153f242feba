"""Typed analysis results (issue 19): side information travels as attributes of a result object, not in
``DataFrame.attrs`` or dict keys; every result prints a plain-text summary and an escaped HTML view."""
import json
import re
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from upstream.analysis.results import SHOWN_ROWS, AnalysisResult, result
from upstream.analysis.screen import RateTest, ScreenResult, screen_table

ROOT = Path(__file__).resolve().parents[1]
#: ``DataFrame.attrs`` (experimental in pandas) is left for pandas interoperability only: at most this many uses.
MAX_ATTRS = 3


def attrs_uses() -> list[str]:
    found = []
    for path in sorted((ROOT / "src" / "upstream").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.attrs\b", line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_side_information_does_not_travel_in_dataframe_attrs():
    uses = attrs_uses()
    assert len(uses) <= MAX_ATTRS, "DataFrame.attrs used for side information:\n" + "\n".join(uses)


def test_notebooks_read_results_by_attribute():
    """No notebook reads a study's values by key or a table's attrs."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert not re.search(r"\.values\[|\.attrs\b|values\.get\(", code), path.name


def counts(o, n, p):
    o, n, p = (np.asarray(x, float) for x in (o, n, p))
    return pd.DataFrame({"o": o, "e": n * p, "v": n * p * (1 - p), "n": n},
                        index=pd.Index([f"a{i}" for i in range(len(o))], name="agent_id"))


def test_screen_result_summary_states_its_numbers_tables_and_notes():
    inv = counts([8, 7, 9, 8, 6, 7], [10] * 6, [0.8] * 6)
    resp = counts([8, 7, 9, 8, 6, 7], [8, 7, 9, 8, 6, 7], [1.0] * 6)
    screen = screen_table(inv, resp, None, 2.17, [], None)
    assert isinstance(screen, ScreenResult) and list(screen.table.index) == [f"a{i}" for i in range(6)]
    assert (screen.z, screen.z_test, screen.n_tests) == (2.17, 2.17, 1)
    assert np.isnan(screen.tau2_response) and np.isnan(screen.tau2_top_box) and screen.tau2_invitation >= 0
    text = screen.summary()
    lines = text.splitlines()
    assert lines[:5] == ["Survey screen: each agent's invitation and response rates against its own expected rates.",
                         "  z: 2.17", "  z_test: 2.17", "  n_tests: 1", f"  tau2_invitation: {screen.tau2_invitation:.4g}"]
    assert "table:" in lines and lines[lines.index("table:") + 1].split()[:3] == ["contacts", "invitations",
                                                                                 "invitation_rate"]
    assert lines[-4:] == [
        "skipped:",
        "  - The survey screen cannot test invitations after adverse contacts (unresolved, escalated or repeated): "
        "the data set records no adverse contact.",
        "  - The survey screen has nothing to test in replies per invitation: every invitation was answered, so no "
        "agent differs from its expected rate.",
        "  - The survey screen cannot test top-box replies: fewer than two agents have scored replies."]
    assert str(screen) == text
    assert "health" not in text and "notes:" not in text          # empty notes are left out


def test_html_escapes_tables_and_notes_and_shows_the_first_rows():
    @result
    class Listing(AnalysisResult):
        """Words <per> group."""

        table: pd.DataFrame
        threshold: float
        notes: tuple[str, ...] = ()

    table = pd.DataFrame({"word": ["<script>alert(1)</script>"] * (SHOWN_ROWS + 5)},
                         index=pd.Index([f"g{i}" for i in range(SHOWN_ROWS + 5)], name="group"))
    html = Listing(table, threshold=3.3712, notes=("a & b",))._repr_html_()
    assert "<script>" not in html and html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == SHOWN_ROWS
    assert "<strong>Words &lt;per&gt; group.</strong>" in html and "<li>threshold: 3.371</li>" in html
    assert f"(first {SHOWN_ROWS} of {SHOWN_ROWS + 5} rows)" in html and "<li>a &amp; b</li>" in html
    text = Listing(table, threshold=3.3712).summary()
    assert f"table (first {SHOWN_ROWS} of {SHOWN_ROWS + 5} rows):" in text and "notes" not in text


def test_results_are_frozen():
    test = RateTest(pd.DataFrame({"z": [0.5]}), tau2=0.1, n_tested=1)
    with pytest.raises(FrozenInstanceError):
        test.tau2 = 0.2
    assert test.tau2 == 0.1
