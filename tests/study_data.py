"""Data for the channel_audit, policy_friction and comment_sentiment study tests: the bundled sample and a
larger simulated operation, each simulated once per test run with one run cache (tests/shared_data.py), so
the three test modules share every fitted model, on whichever pytest-xdist worker they run."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from shared_data import shared_cache, shared_folder

from upstream.data import load_dataset
from upstream.simulate import OperationSpec, simulate

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
#: 150,000 contacts, twice the sample's response rate: about 800 replies at the credit cap (enough to see
#: its penalty of −0.18 CSAT points) and a few hundred comments per policy.
LARGER = OperationSpec(n_contacts=150_000, n_agents=100, n_customers=75_000, n_teams=8, n_rushing=8,
                       n_steering=4, n_low_volume=6, response_rate=0.3)
SEED = 4242
#: Study parameters for the tests: 100 bootstrap replicates keep the shared agent model cheap.
PARAMS = {"n_boot": 100, "seed": 7, "show_names": True}


@functools.lru_cache(maxsize=1)
def sample():
    """(dataset, truth, run cache) of the bundled sample."""
    return load_dataset(SAMPLE, validate=False), json.loads((SAMPLE / "truth.json").read_text()), shared_cache("sample")


@functools.lru_cache(maxsize=1)
def larger_operation():
    """(dataset, truth, run cache) of the larger simulated operation."""
    folder = shared_folder(f"larger-{SEED}", lambda out: simulate(LARGER, seed=SEED).write(out))
    truth = json.loads((folder / "truth.json").read_text())
    return load_dataset(folder, validate=False), truth, shared_cache(f"larger-{SEED}")


def small_operation() -> tuple[Path, Path]:
    """(data folder, run cache folder) of the small simulated operation (seed 3) whose study notebooks run through the
    runner in tests/test_study_notebooks.py and tests/test_study_channel_audit.py: simulated once per test run, the
    models fitted once for both (the runner's $UPSTREAM_RUN_CACHE)."""
    from upstream.simulate import PRESETS

    folder = shared_folder("small-3", lambda out: simulate(PRESETS["small"], seed=3).write(out))
    return folder, shared_cache("small-3").folder


@functools.lru_cache(maxsize=1)
def good_bad_without_extras():
    """(dataset, run cache): the sample on a good/bad CSAT scale (4–5 good), without NPS, and without the
    optional columns escalated, credit_issued and handle_time_sec (as some helpdesk exports)."""
    import dataclasses

    import pandas as pd

    from upstream.data import CsatScale, NpsScale

    ds = load_dataset(SAMPLE, validate=False)
    surveys = ds.surveys.copy()
    surveys["csat"] = surveys["csat"].map({1: 1, 2: 1, 3: 1, 4: 2, 5: 2}).astype("Int64")
    surveys["nps"] = pd.array([pd.NA] * len(surveys), dtype="Int64")
    ds.surveys = surveys
    ds.contacts = ds.contacts.drop(columns=["escalated", "credit_issued", "handle_time_sec"])
    ds.description = dataclasses.replace(ds.description, csat=CsatScale(points=2, labels={1: "bad", 2: "good"},
                                                                        top_box=(2,)),
                                         nps=NpsScale(present=False))
    ds.fingerprint = "sample-good-bad-without-nps-escalation-credit-handle-time"
    return ds, shared_cache("sample-good-bad")


def sample_with_empty_credit(folder: Path) -> Path:
    """A copy of the bundled sample in `folder` with credit_issued empty on every 7th contact (8,572 of them): the
    pandas path reads an empty credit as no credit, and SQL must not make it a third `credited` value."""
    import shutil

    import pandas as pd

    shutil.copytree(SAMPLE, folder)
    contacts = pd.read_csv(folder / "contacts.csv", dtype=str, keep_default_na=False)
    contacts.loc[contacts.index % 7 == 0, "credit_issued"] = ""
    contacts.to_csv(folder / "contacts.csv", index=False)
    return folder
