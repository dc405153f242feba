"""The metric_health, trends and qa_sample notebooks end to end through the real runner on a small simulated
operation: each page opens with Key findings, hides code, publishes its tables, and the index lists the
findings under their study group."""
import json
import os
import re
from pathlib import Path

import pytest
from conftest import values_left_on_pages
from forked import run_upstream
from study_data import small_operation

from upstream.runner.guards import RUN_CACHE_ENV

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("metric_health", "trends", "qa_sample")


@pytest.mark.slow
def test_operations_notebooks_run_end_to_end(tmp_path):
    data, cache = small_operation()
    study = tmp_path / "ops.yaml"
    listed = "".join(f"  - {ROOT / 'notebooks' / f'{n}.ipynb'}\n" for n in NOTEBOOKS)
    study.write_text(f"name: ops\ntitle: Operations review\ndata: {data}\nparameters:\n  reliability_threshold: 0.6\n"
                     f"  n_boot: 100\n  budget: 50\nnotebooks:\n{listed}")
    proc = run_upstream(["run", str(study), "--reports", str(tmp_path / "r")], env={**os.environ, RUN_CACHE_ENV: str(cache)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "r" / "ops" / "latest"
    for name in NOTEBOOKS:
        html = (run / f"{name}.html").read_text()
        assert html.index("Key findings") < html.index("<img")             # findings first, figures rendered
        assert "import " not in html and "Traceback" not in html and "<Figure size" not in html
        record = json.loads((run / f"{name}.findings.json").read_text())
        assert record["sentences"] and record["group"] in ("Operations", "Agents")
    assert values_left_on_pages(run) == {}
    index = (run / "index.html").read_text()
    groups = re.findall(r'<h3 class="group">(.*?)</h3>', index)
    assert groups == ["Operations", "Agents"]
    assert "handle time on the same contact mix" in index and "because the contact mix changed" in index
    manifest = json.loads((run / "manifest.json").read_text())
    published = set(manifest["tables"])
    assert {"tables/agent_metrics.csv", "tables/trend_decomposition.csv", "tables/qa_sample.csv"} <= published
    assert len((run / "tables" / "qa_sample.csv").read_text().splitlines()) == 51
