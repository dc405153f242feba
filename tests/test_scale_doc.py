"""docs/scale.md's table "Which study computes what where" against the code: one row per study, and each row's
engines are the study's ``STUDY.engines`` — so the page cannot keep saying a study reads rows after it learnt
to work from aggregates, or the reverse."""
from __future__ import annotations

import re
from pathlib import Path

from upstream.studies.registry import STUDY_NAMES, declared

DOC = Path(__file__).resolve().parents[1] / "docs" / "scale.md"
SECTION = "## Which study computes what where"


def engine_rows(text: str) -> dict[str, str]:
    """{study: its engines cell} of the section's table (rows "| `study` | engines | ... |")."""
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]*) \|", section, flags=re.MULTILINE)
    return {study: engines.strip() for study, engines in rows}


def test_every_study_has_a_row_naming_its_declared_engines():
    rows = engine_rows(DOC.read_text(encoding="utf-8"))
    assert sorted(rows) == sorted(STUDY_NAMES)
    assert {study: cell for study, cell in rows.items() if cell != ", ".join(declared(study).engines)} == {}


def test_a_row_that_disagrees_with_the_code_is_found():
    text = (f"{SECTION}\n\n| study | engines | what |\n|---|---|---|\n| `trends` | pandas | rows |\n"
            "| `qa_sample` | pandas, duckdb, spark | sums |\n\n## Next\n| `metric_health` | spark | x |\n")
    rows = engine_rows(text)
    assert rows == {"trends": "pandas", "qa_sample": "pandas, duckdb, spark"}
    assert rows["trends"] != ", ".join(declared("trends").engines) == "pandas, duckdb, spark"
