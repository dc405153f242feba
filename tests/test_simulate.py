"""The simulated support operation: reproducible, consistent with its truth file, and the bundled
sample is exactly what the simulator makes."""
import filecmp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from upstream.simulate import PRESETS, OperationSpec, expected_csat, simulate, simulate_to_folder, truth_frame

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small():
    return simulate(PRESETS["small"], seed=7)


def test_same_seed_same_data_other_seed_other_data(small):
    again = simulate(PRESETS["small"], seed=7)
    for name in ("contacts", "surveys", "agents"):
        pd.testing.assert_frame_equal(getattr(small, name), getattr(again, name))
    assert small.truth == again.truth
    other = simulate(PRESETS["small"], seed=8)
    assert not small.contacts["agent_id"].equals(other.contacts["agent_id"])


def test_bundled_sample_is_the_simulators_output(tmp_path):
    out = simulate_to_folder(tmp_path / "sample", preset="sample")
    for name in ("contacts.csv", "surveys.csv", "agents.csv", "truth.json"):
        assert filecmp.cmp(out / name, ROOT / "data" / "sample" / name, shallow=False), name


def test_cli_simulate_writes_the_tables(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "upstream.cli", "simulate", "--preset", "small", "--seed", "7",
                           "--out", str(tmp_path / "sim")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    contacts = pd.read_csv(tmp_path / "sim" / "contacts.csv", dtype=str)
    assert len(contacts) == PRESETS["small"].n_contacts


def test_truth_matches_the_tables(small):
    truth = truth_frame(small.truth)
    contacts, agents, surveys = small.contacts, small.agents, small.surveys
    assert set(truth.index) == set(agents["agent_id"])
    counts = contacts["agent_id"].value_counts().reindex(truth.index, fill_value=0)
    assert (counts == truth["n_contacts"]).all()
    spec = PRESETS["small"]
    assert truth["steering"].sum() == spec.n_steering and truth["rushing"].sum() == spec.n_rushing
    assert truth["low_volume"].sum() == spec.n_low_volume
    # the agent effect is the sum of its parts
    np.testing.assert_allclose(truth["effect_latent"], truth["skill"] + truth["tenure_effect"] + truth["rush_effect"])
    # the population CSAT mean is the contact-weighted mean of the agents' means
    pop = np.average(truth["csat_mean_all_contacts"], weights=truth["n_contacts"])
    assert pop == pytest.approx(small.truth["population"]["csat_mean"])
    # response rate among invitations is the calibrated one
    assert surveys["responded_at"].notna().mean() == pytest.approx(spec.response_rate, abs=0.02)


def test_the_data_show_the_truths_mechanisms():
    op = simulate(OperationSpec(), seed=11)
    truth = truth_frame(op.truth)
    c = op.contacts.merge(op.agents, on="agent_id", suffixes=("", "_agent"))
    inv = op.surveys.merge(op.contacts, on="contact_id")
    # bad policies score worse: observed mean CSAT by policy follows the policy effects
    resp = inv[inv["csat"].notna()]
    by_policy = resp.groupby("policy")["csat"].mean()
    effects = pd.Series(op.truth["policy"]).reindex(by_policy.index)
    assert np.corrcoef(by_policy, effects)[0, 1] > 0.9
    # routing: experienced agents get more of the hard policies
    hard = c["policy"].isin(["refund above cap", "warranty expired", "return window exceeded"])
    senior = c["tenure_months"] > c["tenure_months"].median()
    assert hard[senior].mean() > hard[~senior].mean() + 0.02
    # rushing agents: shorter handle time, more repeat contacts
    rush = c["agent_id"].map(truth["rushing"])
    assert c.loc[rush, "handle_time_sec"].median() < 0.85 * c.loc[~rush, "handle_time_sec"].median()
    assert c.loc[rush, "repeat_within_7d"].mean() > c.loc[~rush, "repeat_within_7d"].mean() + 0.05
    # steering agents invite fewer of their contacts
    invited = op.surveys.merge(op.contacts[["contact_id", "agent_id"]]).groupby("agent_id").size()
    rate = (invited / op.contacts.groupby("agent_id").size()).reindex(truth.index)
    assert rate[truth["steering"]].max() < rate[~truth["steering"] & ~truth["low_volume"]].median()
    # very unhappy and very happy customers answer more often than the middle: the same operation
    # without outcome-dependent response (same draws of CSAT) has fewer 1s and 5s among its replies
    flat = simulate(OperationSpec(outcome_dependent_response=0.0), seed=11)
    pd.testing.assert_frame_equal(flat.contacts, op.contacts)
    def extremes(sim):
        return sim.surveys["csat"].dropna().isin([1, 5]).mean()
    assert extremes(op) > extremes(flat) + 0.03
    # agents differ in how often they are answered for ordinary reasons (over-dispersion)
    answered = inv.assign(r=inv["responded_at"].notna()).groupby("agent_id")["r"].agg(["sum", "size"])
    honest = answered.loc[~truth["steering"].reindex(answered.index) & (answered["size"] >= 100)]
    rate = honest["sum"] / honest["size"]
    binomial_var = (rate.mean() * (1 - rate.mean()) / honest["size"]).mean()
    assert rate.var() > 1.5 * binomial_var


def test_expected_csat_is_monotone_and_on_the_scale():
    e = expected_csat(np.linspace(-6, 6, 50))
    assert np.all(np.diff(e) > 0) and e.min() > 1 and e.max() < 5


def test_invalid_spec_is_refused():
    with pytest.raises(ValueError, match="at least 2 agents"):
        simulate(OperationSpec(n_agents=1))
    with pytest.raises(ValueError, match="unknown preset 'huge'; choose one of sample, small, medium, large"):
        simulate_to_folder("/tmp/never", preset="huge")


def test_large_preset_is_written_month_by_month_as_partitioned_parquet(tmp_path):
    """A small operation through the large preset's writer: one folder per month, every contact once,
    the truth's exact per-agent counts, and the agent effects recovered from DuckDB's per-agent sums."""
    import json

    from upstream.analysis.aggregated import fit_agent_model_from_sql
    from upstream.data.sql import open_dataset
    from upstream.simulate.partitioned import month_plan, simulate_partitioned

    spec = PRESETS["large"].replace(n_contacts=60_000, n_agents=150, n_customers=30_000, n_teams=10, days=90,
                                    n_rushing=10, n_steering=4, n_low_volume=10, speed_push_day=45)
    out = simulate_partitioned(tmp_path / "large", spec)
    plan = month_plan(spec)
    assert [m for m, *_ in plan] == ["2026-01", "2026-02", "2026-03"] and sum(n for *_, n in plan) == 60_000
    assert sorted(p.parent.name for p in (out / "contacts").rglob("*.parquet")) == [f"month={m}" for m, *_ in plan]
    contacts = pd.read_parquet(out / "contacts" / "month=2026-02" / "part-0.parquet")
    assert contacts["opened_at"].dt.strftime("%Y-%m").eq("2026-02").all()
    truth = json.loads((out / "truth.json").read_text())
    ds = open_dataset(out, engine="duckdb")                       # validates every rule over every row
    assert ds.n_rows["contacts"] == sum(a["n_contacts"] for a in truth["agents"]) == 60_000
    replies = ds.engine.rows("SELECT count(*) FROM surveys WHERE responded_at IS NOT NULL")[0][0]
    assert replies / ds.n_rows["surveys"] == pytest.approx(spec.response_rate, abs=0.01)
    model = fit_agent_model_from_sql(ds, n_boot=100, seed=3)
    effect = model.fit.ranef["agent_id"]["mode"]
    true = truth_frame(truth)["effect_csat_respondents"].reindex(effect.index)
    raw = model.agent_means()["raw_score"]
    assert effect.corr(true) > 0.8 and effect.corr(true) > raw.corr(true)
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        simulate_partitioned(out, spec)
