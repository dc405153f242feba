"""Killed and concurrent runs, and secrets in a run: what an unattended, scheduled runner must survive.

One module-scoped history, on the tiny smoke study (tests/notebooks/smoke_report.ipynb):

1. a good run (with a secret ``-p pseudonym_salt=...``) publishes report A;
2. four runs are SIGKILLed, one at each stage (the runner's ``UPSTREAM_KILL_AT`` test hook:
   validation, notebook, export, publish);
3. two runs are started together (one with ``--name-agents``) while a watcher checks that
   ``latest`` only ever points at a complete report.

The tests then check each recorded state. Each run is the ``upstream run`` command in a forked copy of the
test process (tests/forked.py: its own pid, stdout, stderr and environment; a SIGKILL ends only it), which has
upstream and Great Expectations imported already: 36 → 25 CPU seconds for the seven runs.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import build_valid_tables, write_tables
from forked import ForkedRun

from upstream.data import load_dataset
from upstream.reporting.privacy import find_in_report, installation_salt
from upstream.runner import publish
from upstream.runner.guards import KILL_AT_ENV, STAGES

TESTS = Path(__file__).resolve().parent
SECRET = "s3cr3t-salt-Zq81"
STAMP = re.compile(r"^\d{8}-\d{6}(-\d+)?$")


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _state(study_dir: Path) -> SimpleNamespace:
    latest = study_dir / "latest"
    return SimpleNamespace(
        latest=os.readlink(latest) if latest.is_symlink() else None,
        runs=sorted(p.name for p in study_dir.iterdir() if STAMP.match(p.name)),
        staging={p.name: publish.read_owner(p) for p in study_dir.glob(".staging-*")},
        failed=sorted(p.name for p in (study_dir / "_failed").iterdir()) if (study_dir / "_failed").exists() else [],
    )


def _kernel_pids(cwd: Path) -> set[int]:
    """Live ipykernel processes started in ``cwd`` (the study's notebook folder)."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(os.readlink(proc / "cwd")) == cwd and b"ipykernel" in (proc / "cmdline").read_bytes():
                state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
                if state != "Z":
                    pids.add(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("killed")
    shutil.copytree(TESTS / "notebooks", root / "notebooks")
    data = write_tables(root / "data", build_valid_tables(n_contacts=60, n_agents=4))
    study = root / "studies" / "smoke.yaml"
    study.parent.mkdir()
    study.write_text(yaml.safe_dump({"name": "smoke", "title": "Killed runs", "data": "../data",
                                     "notebooks": ["../notebooks/smoke_report.ipynb"]}), encoding="utf-8")
    reports = root / "reports"
    study_dir = reports / "smoke"

    load_dataset(data)                          # GX imported (and its first validation's set-up done) once here

    def start(*extra: str, kill: str | None = None) -> ForkedRun:
        env = {k: v for k, v in os.environ.items() if k != KILL_AT_ENV}
        if kill:
            env[KILL_AT_ENV] = kill
        return ForkedRun(["run", str(study), "--reports", str(reports), *extra], env)

    def finish(run: ForkedRun) -> SimpleNamespace:
        done = run.finish(timeout=300)
        return SimpleNamespace(pid=done.pid, code=done.returncode, out=done.stdout, err=done.stderr)

    good = finish(start("-p", f"pseudonym_salt={SECRET}"))
    assert good.code == 0, good.err
    a_name = _state(study_dir).latest
    a_hashes = _hashes(study_dir / a_name)

    kills = {}
    for stage in STAGES:
        before = _state(study_dir)
        result = finish(start(kill=stage))
        deadline = time.monotonic() + 15  # an orphaned kernel notices its parent is gone and exits
        while _kernel_pids(root / "notebooks") and time.monotonic() < deadline:
            time.sleep(0.2)
        kills[stage] = SimpleNamespace(result=result, before=before, after=_state(study_dir),
                                       a_hashes=_hashes(study_dir / a_name),
                                       kernels=_kernel_pids(root / "notebooks"))

    # Two runs together; a watcher checks every target latest ever has.
    seen, bad, stop = [], [], threading.Event()

    def watch():
        while not stop.is_set():
            target = study_dir / "latest"
            if target.is_symlink():
                name = os.readlink(target)
                folder = study_dir / name
                try:
                    status = json.loads((folder / "manifest.json").read_text())["status"]
                    complete = status == "succeeded" and (folder / "index.html").is_file()
                except (OSError, ValueError, KeyError):
                    complete = False
                if name not in seen:
                    seen.append(name)
                if not complete:
                    bad.append(name)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    plain, named = start(), start("--name-agents")
    concurrent = SimpleNamespace(plain=finish(plain), named=finish(named))
    stop.set()
    watcher.join(timeout=10)
    concurrent.seen, concurrent.bad, concurrent.after = seen, bad, _state(study_dir)
    return SimpleNamespace(root=root, data=data, study_dir=study_dir, good=good, a_name=a_name, a_hashes=a_hashes,
                           kills=kills, concurrent=concurrent)


@pytest.mark.parametrize("stage", STAGES)
def test_a_killed_run_keeps_the_last_good_report_and_latest(history, stage):
    kill = history.kills[stage]
    assert kill.result.code == -signal.SIGKILL, kill.result.err
    assert kill.result.out == ""
    assert kill.after.latest == history.a_name  # latest untouched ...
    assert kill.a_hashes == history.a_hashes  # ... and the report it points at byte for byte
    manifest = json.loads((history.study_dir / history.a_name / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    assert not kill.kernels, f"kernel processes outlived the killed run: {kill.kernels}"


@pytest.mark.parametrize("stage", ["validation", "notebook", "export"])
def test_a_run_killed_before_publishing_leaves_a_staging_folder_naming_its_owner(history, stage):
    """Found by its owner, not by a new name: two runs started in the same second use the same staging name (the
    second moves the first's folder to _failed/ before making its own)."""
    kill = history.kills[stage]
    owned = {name: owner for name, owner in kill.after.staging.items() if owner and owner["pid"] == kill.result.pid}
    assert len(owned) == 1, kill.after.staging
    (owner,) = owned.values()
    assert owner["host"] == socket.gethostname()
    assert kill.after.runs == kill.before.runs  # nothing published


def moved_to_failed(study_dir: Path, pid: int) -> Path:
    """The _failed/ folder a later run moved the dead run `pid`'s staging folder to (its note names the run)."""
    (folder,) = [path.parent for path in (study_dir / "_failed").glob("*/message.txt")
                 if path.read_text(encoding="utf-8").startswith(f"Abandoned run (pid {pid} on ")]
    return folder


def test_stage_files_show_where_each_run_was_killed(history):
    # the staging folders were moved to _failed/ by the next run; find them there by the note naming the dead run
    moved = {stage: moved_to_failed(history.study_dir, history.kills[stage].result.pid)
             for stage in ("validation", "notebook", "export")}
    assert (moved["validation"] / "validation.html").is_file()
    assert not (moved["validation"] / "smoke_report.ipynb").exists()
    assert (moved["notebook"] / "smoke_report.ipynb").is_file()  # executed part-way
    assert not (moved["notebook"] / "smoke_report.html").exists()
    assert (moved["export"] / "smoke_report.html").is_file()
    assert not (moved["export"] / "index.html").exists()


def test_a_run_killed_while_publishing_leaves_a_complete_folder_and_the_old_latest(history):
    kill = history.kills["publish"]
    (new,) = set(kill.after.runs) - set(kill.before.runs)
    folder = history.study_dir / new
    assert json.loads((folder / "manifest.json").read_text())["status"] == "succeeded"
    assert (folder / "index.html").is_file() and not (folder / ".owner.json").exists()
    assert kill.after.latest == history.a_name
    # its staging folder had been renamed already: none is left with its pid
    assert [o for o in kill.after.staging.values() if o and o["pid"] == kill.result.pid] == []


def test_each_next_run_moves_the_dead_runs_staging_folders_to_failed(history):
    """The run after a killed one (here: the next killed run, or the two last runs) moves the
    leftover staging folder to _failed/ with a note naming the dead run."""
    assert history.concurrent.after.staging == {}
    assert history.kills["export"].after.staging.keys() == {
        n for n, o in history.kills["export"].after.staging.items() if o["pid"] == history.kills["export"].result.pid}
    pids = {history.kills[s].result.pid for s in ("validation", "notebook", "export")}
    failed = history.study_dir / "_failed"
    notes = [(failed / name / "message.txt").read_text() for name in history.concurrent.after.failed]
    abandoned = [n for n in notes if n.startswith("Abandoned run (pid ")]
    assert len(abandoned) == 3
    assert {int(re.match(r"Abandoned run \(pid (\d+) on ", n).group(1)) for n in abandoned} == pids
    assert all(f" on {socket.gethostname()}, started " in n and "killed or crashed" in n for n in abandoned)
    later_errs = "".join(history.kills[s].result.err for s in ("notebook", "export", "publish"))
    later_errs += history.concurrent.plain.err + history.concurrent.named.err
    assert later_errs.count("Moved the folder of an abandoned run (pid ") == 3
    assert "Moved the folder" not in history.kills["validation"].result.err  # nothing stale before it
    assert not [p for p in history.study_dir.iterdir() if p.name.startswith(".latest-")]


def test_two_runs_started_together_take_turns_and_both_publish(history):
    c = history.concurrent
    assert c.plain.code == 0, c.plain.err
    assert c.named.code == 0, c.named.err
    waited = [r for r in (c.plain, c.named) if "Another run of study 'smoke' is in progress" in r.err]
    assert len(waited) == 1, (c.plain.err, c.named.err)
    first = c.named if waited[0] is c.plain else c.plain
    host = re.escape(socket.gethostname())
    assert re.search(rf"Another run of study 'smoke' is in progress \(pid {first.pid} on {host}, "
                     r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\); waiting for it to finish "
                     r"\(lock .*/smoke/\.lock\) \.\.\.\n"
                     r"The other run finished; starting\.\n", waited[0].err)
    published = [Path(r.out.strip()).parent.name for r in (first, waited[0])]
    assert len(set(published)) == 2
    assert c.after.latest == published[1]  # the run that finished last
    assert c.bad == [], f"latest pointed at an incomplete folder: {c.bad}"
    assert set(c.seen) <= set(c.after.runs)


def test_a_live_or_foreign_owner_is_left_alone(tmp_path, capsys):
    import io

    live = tmp_path / ".staging-20260101-000000"
    live.mkdir()
    publish.write_owner(live)  # this very process: alive
    foreign = tmp_path / ".staging-20260101-000001"
    foreign.mkdir()
    (foreign / publish.OWNER_FILE).write_text(json.dumps({"pid": 1, "host": "another-host", "started_at": "x"}))
    reused = tmp_path / ".staging-20260101-000002"  # our pid, but another process start time: pid reused
    reused.mkdir()
    (reused / publish.OWNER_FILE).write_text(json.dumps(
        {**publish.owner_record(), "process_start": "1"}))
    err = io.StringIO()
    moved = publish.clear_stale_staging(tmp_path, err)
    assert [p.name for p in moved] == ["20260101-000002"]
    assert live.is_dir() and foreign.is_dir() and not reused.exists()
    assert err.getvalue().startswith(f"Moved the folder of an abandoned run (pid {os.getpid()} on ")


# ----------------------------------------------------------------------------- secrets and names in the reports


def test_a_salt_given_as_parameter_is_used_but_never_written(history):
    run = history.study_dir / history.a_name
    for path in run.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path.name
    manifest = json.loads((run / "manifest.json").read_text())
    assert "pseudonym_salt" not in manifest["parameters"]
    assert manifest["pseudonyms"] == {"agents_shown_as": "pseudonyms", "salt": "study parameter (secret, not recorded)"}
    assert all("pseudonym_salt" not in nb["parameters"] for nb in manifest["notebooks"])
    ids = sorted(build_valid_tables(n_contacts=60, n_agents=4)["agents"]["agent_id"])
    labels = sorted("Agent " + hmac.new(SECRET.encode(), i.encode(), hashlib.sha256).hexdigest().upper()[:4]
                    for i in ids)
    assert f"agents: {', '.join(labels)}" in (run / "smoke_report.html").read_text()


def test_the_installation_key_never_reaches_a_report(history):
    key = installation_salt().encode()
    for path in history.study_dir.rglob("*"):
        if path.is_file():
            assert key not in path.read_bytes(), path


def test_agent_ids_appear_only_with_name_agents(history):
    ids = list(build_valid_tables(n_contacts=60, n_agents=4)["agents"]["agent_id"])
    plain = Path(history.concurrent.plain.out.strip()).parent
    named = Path(history.concurrent.named.out.strip()).parent
    assert find_in_report(plain, ids) == []
    assert find_in_report(history.study_dir / history.a_name, ids) == []
    leaks = find_in_report(named, ids)
    assert {(leak.file, leak.needle) for leak in leaks} >= {("smoke_report.html", i) for i in ids}
