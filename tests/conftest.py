"""Shared fixtures: a small, valid, deterministic Upstream data set, and helpers to corrupt it; the
network block and the private pseudonym key folder every test runs with."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

# One BLAS thread per process, set before numpy loads (the workers' kernels and CLI runs inherit it): a test run
# has three worker processes and their kernels on two cores, where OpenBLAS's own threads only wait for each other
# (the model-heavy modules took 7% longer with two per process).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import no_network  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

# The test processes skip rfc3987_syntax's 1.5-2.5 s import, as the `upstream` command does (src/upstream/cli.py).
sys.modules.setdefault("rfc3987_syntax", None)


def _end_worker_without_teardown() -> None:
    """A pytest-xdist worker has sent every result when Python runs its exit functions; this one, registered when
    conftest loads, runs after the exit functions registered later (matplotlib's, multiprocessing's, the tests'),
    then ends the process without the interpreter's teardown. That teardown freed a worker's objects one by one
    (the simulated operations, fitted models, imported modules): 5-6 s at the end of `make test`, while the
    controller waited for the last worker to exit."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if os.environ.get("PYTEST_XDIST_WORKER"):
    atexit.register(_end_worker_without_teardown)

def values_left_on_pages(run: Path) -> dict[str, list[str]]:
    """The Python values that code cells of a run's executed notebooks left on their pages, by notebook (a cell whose
    last line is an expression shows its value: a list of table names, say, under a table): a report shows none."""
    import json

    left = {}
    for notebook in sorted(run.glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        values = ["".join(output["data"].get("text/plain", "")) for cell in cells for output in cell.get("outputs", [])
                  if output.get("output_type") == "execute_result"]
        if values:
            left[notebook.stem] = values
    return left


#: A folder every process of one test run sees (pytest-xdist workers inherit it from the controller): data
#: sets simulated once per run and the run caches of their fitted models (tests/shared_data.py).
SHARED_ENV = "UPSTREAM_TEST_SHARED"

# ----------------------------------------------------------------------------- no network, own config


def pytest_configure(config):
    """Block outbound network in this process and, through a sitecustomize.py on PYTHONPATH, in
    every Python process the tests start (CLI runs, notebook kernels); see tests/no_network.py.
    XDG_CONFIG_HOME points at a fresh folder so that no test reads or creates the developer's
    own pseudonym key (~/.config/upstream/pseudonym.key)."""
    root = Path(tempfile.mkdtemp(prefix="upstream-tests-"))
    config._upstream_tmp = root
    site = root / "site"
    site.mkdir()
    shutil.copy(Path(no_network.__file__), site / "upstream_no_network.py")
    (site / "sitecustomize.py").write_text(no_network.SITECUSTOMIZE, encoding="utf-8")
    (root / "network-log").mkdir()
    os.environ[no_network.ENV_LOG] = str(root / "network-log")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    os.environ.pop("UPSTREAM_PSEUDONYM_SALT", None)
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    no_network.install(log_to_file=False)
    if SHARED_ENV not in os.environ:            # the controller (or a run without workers) owns the folder
        config._upstream_shared = Path(tempfile.mkdtemp(prefix="upstream-shared-"))
        os.environ[SHARED_ENV] = str(config._upstream_shared)


#: The slowest test modules, about slowest first (CPU seconds of one module alone, user+sys, on the 2-core machine under
#: load, issue 17; test_spark also keeps a JVM busy for about 100 s). They are collected first, and `make test` keeps
#: that order (pytest-xdist --no-loadscope-reorder), so no worker starts one of them while the others are finishing:
#: by number of tests, xdist's own order, test_spark, test_study_notebooks and test_verdict_simulations came last.
SLOWEST_MODULES = (
    "test_shapes.py",                   # 40
    "test_pages.py",                    # 40
    "test_runner.py",                   # 35
    "test_published_report.py",         # 33
    "test_insteval.py",                 # 33
    "test_killed_runs.py",              # 26
    "test_study_metric_health.py",      # the larger operation's speed models
    "test_study_channel_audit.py",      # the larger operation's rate models
    "test_study_policy_friction.py",    # the larger operation
    "test_sql_channel_audit.py",        # the DuckDB study beside the pandas one
    "test_sql_metric_health.py",
    "test_sql_scorecards.py",
    "test_sql_survey_health.py",
    "test_bad_input_corpus.py",         # 25
    "test_study_notebooks.py",          # 23
    "test_studies.py",                  # 38, after test_pages: the sample's models are in their shared run cache
    "test_verdict_simulations.py",      # 17
    "test_shared_credit_studies.py",    # 13
    "test_tables_unchanged.py",         # 10
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """The modules of SLOWEST_MODULES first, in its order, then the others by number of tests (most first), as
    pytest-xdist would order them; each module's tests keep their order."""
    rank = {name: i for i, name in enumerate(SLOWEST_MODULES)}
    n_tests: dict[Path, int] = {}
    for item in items:
        n_tests[item.path] = n_tests.get(item.path, 0) + 1
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), -n_tests[item.path], str(item.path)))


def pytest_unconfigure(config):
    for owned in ("_upstream_tmp", "_upstream_shared"):
        root = getattr(config, owned, None)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_network_attempts():
    """Fail the test if it, or any process it started, tried to reach the network (even when
    the library swallowed the refusal)."""
    log = Path(os.environ[no_network.ENV_LOG])
    seen = len(no_network.ATTEMPTS)
    before = {p: p.stat().st_size for p in log.iterdir()}
    yield
    attempts = no_network.ATTEMPTS[seen:]
    for path in log.iterdir():
        if path.stat().st_size != before.get(path, 0):
            attempts.append(path.read_text(encoding="utf-8", errors="replace")[before.get(path, 0):])
    if attempts:
        pytest.fail("network access attempted (blocked):\n" + "\n".join(attempts), pytrace=False)

N_CONTACTS = 300
N_AGENTS = 6
SEED = 20260301


def build_valid_tables(n_contacts: int = N_CONTACTS, n_agents: int = N_AGENTS,
                       seed: int = SEED) -> dict[str, pd.DataFrame]:
    """The three tables as ``load_dataset`` must return them (parsed types), satisfying every rule
    of data/README.md. Identifiers have leading zeros; half the contacts are surveyed, half of
    those surveys answered; some answers skip csat or nps."""
    rng = np.random.default_rng(seed)
    teams = np.array(["north", "south"])
    agents = pd.DataFrame({
        "agent_id": pd.array([f"{i:03d}" for i in range(1, n_agents + 1)], dtype="str"),
        "team": pd.array(teams[np.arange(n_agents) % 2], dtype="str"),
        "site": pd.array(np.where(np.arange(n_agents) < n_agents // 2, "Leeds", "Manila"), dtype="str"),
        "tenure_months": np.round(rng.uniform(0, 48, n_agents), 1),
    })
    agent_of_contact = np.arange(n_contacts) % n_agents  # every agent has contacts
    opened = (pd.Timestamp("2026-01-05 08:00:00")
              + pd.to_timedelta(np.sort(rng.integers(0, 60 * 86400, n_contacts)), unit="s"))
    duration = pd.to_timedelta(rng.integers(0, 3 * 86400, n_contacts), unit="s")
    contacts = pd.DataFrame({
        "contact_id": pd.array([f"{i:07d}" for i in range(1, n_contacts + 1)], dtype="str"),
        "opened_at": opened.astype("datetime64[us]"),
        "closed_at": (opened + duration).astype("datetime64[us]"),
        "agent_id": agents["agent_id"].to_numpy()[agent_of_contact],
        "team": agents["team"].to_numpy()[agent_of_contact],
        "channel": rng.choice(["phone", "chat", "email", "messaging"], n_contacts),
        "policy": rng.choice(["standard", "refund above cap", "warranty expired"], n_contacts),
        "product": rng.choice(["router", "mesh kit", "set-top box"], n_contacts),
        "issue_type": rng.choice(["billing", "defect", "how-to"], n_contacts),
        "customer_id": [f"{i:06d}" for i in rng.integers(0, n_contacts // 2, n_contacts)],
        "handle_time_sec": np.round(rng.gamma(2.0, 240.0, n_contacts), 1),
        "n_interactions": rng.integers(1, 7, n_contacts).astype("int64"),
        "resolved_first_contact": rng.random(n_contacts) < 0.7,
        "repeat_within_7d": rng.random(n_contacts) < 0.1,
        "escalated": rng.random(n_contacts) < 0.05,
        "credit_issued": np.where(rng.random(n_contacts) < 0.1, 12.5, 0.0),
    })
    contacts.loc[0, "handle_time_sec"] = 0.0  # boundary values are valid
    contacts.loc[0, "closed_at"] = contacts.loc[0, "opened_at"]
    for column in ("agent_id", "team", "channel", "policy", "product", "issue_type", "customer_id"):
        contacts[column] = contacts[column].astype("str")

    surveyed = np.arange(0, n_contacts, 2)
    n_surveys = len(surveyed)
    sent = contacts["closed_at"].to_numpy()[surveyed] + np.timedelta64(3600, "s")
    answered = np.arange(n_surveys) % 2 == 0
    responded = pd.Series(sent + rng.integers(60, 5 * 86400, n_surveys).astype("timedelta64[s]"))
    responded[~answered] = pd.NaT
    csat = pd.array(1 + np.arange(n_surveys) % 5, dtype="Int64")  # 1..5 all present
    nps = pd.array(np.arange(n_surveys) % 11, dtype="Int64")  # 0..10 all present
    csat[~answered] = pd.NA
    nps[~answered] = pd.NA
    csat[4] = pd.NA  # an answer that skipped CSAT
    nps[8] = pd.NA  # an answer that skipped NPS
    comment = pd.array([None] * n_surveys, dtype="str")
    comment[2] = "Quick and friendly, thanks."
    comment[6] = 'Said "call back", never did.'
    surveys = pd.DataFrame({
        "contact_id": contacts["contact_id"].to_numpy()[surveyed],
        "sent_at": pd.Series(sent).astype("datetime64[us]"),
        "responded_at": responded.astype("datetime64[us]"),
        "csat": csat,
        "nps": nps,
        "comment": comment,
    })
    surveys["contact_id"] = surveys["contact_id"].astype("str")
    return {"contacts": contacts, "surveys": surveys, "agents": agents}


def to_csv_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the text an export would write: ISO 8601 times, true/false, empty = missing."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            text = values.dt.strftime("%Y-%m-%dT%H:%M:%S")
        elif pd.api.types.is_bool_dtype(values.dtype):
            text = values.map({True: "true", False: "false"})
        else:
            text = values.astype("str")
        out[column] = text.where(values.notna(), "")
    return out


def write_tables(folder: Path, tables: dict[str, pd.DataFrame], fmt: str = "csv") -> Path:
    """Write the tables into ``folder`` as ``csv``, ``csv.gz`` or ``parquet``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            to_csv_text(frame).to_csv(folder / f"{name}.{fmt}", index=False)
    return folder


def read_csv_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def edit_csv(folder: Path, table: str, edit: Callable[[pd.DataFrame], pd.DataFrame | None]) -> None:
    """Corrupt one CSV table: ``edit`` gets the table as text (empty string = empty cell) and
    changes it in place or returns a new frame, which is written back."""
    path = folder / f"{table}.csv"
    text = read_csv_text(path)
    changed = edit(text)
    (text if changed is None else changed).to_csv(path, index=False)


@pytest.fixture
def valid_tables() -> dict[str, pd.DataFrame]:
    return build_valid_tables()


@pytest.fixture
def valid_folder(tmp_path: Path, valid_tables: dict[str, pd.DataFrame]) -> Path:
    """A folder with a valid CSV data set (300 contacts, 150 surveys, 6 agents)."""
    return write_tables(tmp_path / "dataset", valid_tables)


@pytest.fixture(scope="module")
def sample():
    """(dataset, truth) of the bundled sample, loaded once per test module (a module may change it)."""
    import json

    from upstream.data import load_dataset

    folder = Path(__file__).resolve().parents[1] / "data" / "sample"
    return load_dataset(folder, validate=False), json.loads((folder / "truth.json").read_text())
