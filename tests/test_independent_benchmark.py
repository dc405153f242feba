"""The independent operation (benchmarks/independent/operation.py) and the verdict judge."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "independent"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fake_tables  # noqa: E402
import judge_verdicts  # noqa: E402
import operation  # noqa: E402


@pytest.fixture(scope="module")
def small_op(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("op")
    operation.write(out, seed=5, scale=0.25, n_agents=60)
    return out


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("contacts.csv", "surveys.csv", "agents.csv", "truth.json"):
        h.update((folder / name).read_bytes())
    return h.hexdigest()


def test_deterministic_by_seed(small_op, tmp_path):
    operation.write(tmp_path / "again", seed=5, scale=0.25, n_agents=60)
    assert _digest(tmp_path / "again") == _digest(small_op)
    operation.write(tmp_path / "other", seed=6, scale=0.25, n_agents=60)
    assert _digest(tmp_path / "other") != _digest(small_op)


def test_loads_and_validates(small_op):
    import upstream
    ds = upstream.load_dataset(small_op)
    assert len(ds.agents) == 60
    assert ds.contacts["agent_id"].map(type).eq(str).all()


def test_truth_is_consistent(small_op):
    truth = json.loads((small_op / "truth.json").read_text())
    eff = np.array([a["effect"] for a in truth["agents"]])
    assert abs(eff.mean()) < 1e-12
    assert sum(a["steering"] for a in truth["agents"]) == operation.N_STEERING
    assert all(a["effect"] < -0.25 for a in truth["agents"] if a["steering"])
    pol = truth["policies"]
    assert all(v["effect_vs_standard"] == 0.0 for v in pol.values() if v["class"] == "harmless")
    assert all(v["effect_vs_standard"] <= -0.3 and v["effect_vs_average"] <= -0.3
               for v in pol.values() if v["class"] == "strongly harmful")
    assert sum(v["n_contacts"] for v in pol.values()) == truth["summary"]["n_contacts"]


def test_expected_csat_matches_simulation():
    rng = np.random.default_rng(0)
    m = 0.3
    y = operation.to_csat(m + operation.draw_noise(rng, 400_000))
    assert abs(y.mean() - operation.expected_csat(m)) < 0.01


def test_judge_on_fake_and_broken_tables(small_op, tmp_path):
    agents, policies = fake_tables.analyse(small_op)
    truth = json.loads((small_op / "truth.json").read_text())
    res = judge_verdicts.judge(agents, policies, truth)
    names = [c["criterion"] for c in res["criteria"]]
    assert len(names) == 7
    assert res["criteria"][5]["pass"]  # the strongly harmful policies are plain even at this size
    broken_a, broken_p = fake_tables.break_tables(agents, policies)
    bad = judge_verdicts.judge(broken_a, broken_p, truth)
    assert not bad["criteria"][6]["pass"]  # a harmless policy named
    assert not bad["passed"]


def test_judge_cli_exit_codes(small_op, tmp_path):
    subprocess.run([sys.executable, str(ROOT / "benchmarks/independent/fake_tables.py"), "--data", str(small_op),
                    "--out", str(tmp_path / "broken"), "--break"], check=True, capture_output=True)
    judge = [sys.executable, str(ROOT / "benchmarks/judge_verdicts.py"), "--data", str(small_op)]
    proc = subprocess.run(judge + ["--report", str(tmp_path / "broken")], capture_output=True, text=True)
    assert proc.returncode == 1 and "[FAIL] no harmless policy named" in proc.stdout
    proc = subprocess.run(judge + ["--report", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert proc.returncode == 2
