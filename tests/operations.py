"""A larger simulated operation shared by the studies' tests (simulated and loaded once per test session):
100,000 contacts, 250 agents of whom 20 rush, 40% survey response (so weekly and monthly contrasts are
sharp enough to test), and a stronger speed push than the sample's (+15 points unresolved from day 46),
so the within-mix part of the trend is clearly negative."""
from __future__ import annotations

import functools
import json

from shared_data import shared_cache, shared_folder

from upstream.data import load_dataset
from upstream.simulate import OperationSpec, simulate
from upstream.studies import RunCache

LARGER = OperationSpec(n_contacts=100_000, n_agents=250, n_customers=50_000, n_teams=10, n_rushing=20, n_steering=5,
                       n_low_volume=10, response_rate=0.4, speed_push_unresolved=0.15)
SEED = 11


@functools.lru_cache(maxsize=None)
def larger_operation(outcome_dependent_response: float = 1.0):
    """(dataset, truth) of the larger operation; response depends on the score unless told otherwise.
    Simulated once per test run (tests/shared_data.py)."""
    spec = LARGER.replace(outcome_dependent_response=outcome_dependent_response)
    folder = shared_folder(f"operations-{SEED}-{outcome_dependent_response:g}",
                           lambda out: simulate(spec, seed=SEED).write(out))
    return load_dataset(folder, validate=False), json.loads((folder / "truth.json").read_text())


def larger_cache(outcome_dependent_response: float = 1.0) -> RunCache:
    """The run cache of the larger operation that every process of the test run shares: a model the studies' tests
    fit on it with the same parameters (the agent model of qa_sample and metric_health, say) is fitted once."""
    return shared_cache(f"operations-{SEED}-{outcome_dependent_response:g}")
