"""Publishing a run atomically: a run is built in ``reports/<study>/.staging-<timestamp>/``, renamed
to ``reports/<study>/<timestamp>/`` when complete (or to ``_failed/<timestamp>/``), and
``reports/<study>/latest`` is repointed with an atomic symlink swap; nothing is ever overwritten.

Runs of one study take turns (``StudyLock``: flock on ``reports/<study>/.lock``); a staging folder
records its owner (pid, host, process start time) in ``.owner.json``, and the next run moves the
staging folders of dead owners to ``_failed/`` (``clear_stale_staging``)."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import uuid
from pathlib import Path
from typing import TextIO

TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def seconds_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s"


def make_unique_dir(parent: Path, name: str) -> Path:
    """Create ``parent/name`` (or ``name-2``, ``name-3`` ...) and return it."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        candidate = parent / (name if n == 1 else f"{name}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a unique folder for {parent / name}")


def move_to_unique(source: Path, parent: Path, name: str) -> Path:
    """Rename ``source`` to ``parent/name`` (or ``name-2`` ...) without replacing anything."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        target = parent / (name if n == 1 else f"{name}-{n}")
        if target.exists() or target.is_symlink():
            continue
        try:
            os.rename(source, target)
            return target
        except OSError as err:
            if target.exists():  # lost a race against another run: try the next name
                continue
            raise err
    raise RuntimeError(f"cannot find a free name for {parent / name}")


def point_latest(study_dir: Path, run_dir: Path) -> Path:
    """Atomically repoint ``study_dir/latest`` (a relative symlink) to ``run_dir``."""
    latest = study_dir / "latest"
    if latest.exists() and not latest.is_symlink():
        raise OSError(f"{latest} exists and is not a symlink; not replacing it")
    tmp = study_dir / f".latest-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(run_dir, study_dir), tmp)
    try:
        os.replace(tmp, latest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return latest




# --------------------------------------------------------------------------------------------
# One run of a study at a time, and the folders of runs that were killed


#: In ``reports/<study>/``: the lock file every run of the study holds (flock) while it runs.
LOCK_FILE = ".lock"
#: In a staging folder: who is building it (pid, host, process start time), for stale detection.
OWNER_FILE = ".owner.json"
STAGING_PREFIX = ".staging-"


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (clock ticks since boot, /proc/<pid>/stat field
    22), which tells a live process from a later one that reuses its pid; None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def owner_record() -> dict:
    """This process as the owner of a staging folder or of the study lock."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "process_start": process_start_time(os.getpid()),
            "started_at": iso(utc_now())}


def write_owner(staging: Path) -> None:
    (staging / OWNER_FILE).write_text(json.dumps(owner_record()) + "\n", encoding="utf-8")


def read_owner(staging: Path) -> dict | None:
    try:
        record = json.loads((staging / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def owner_is_alive(record: dict) -> bool | None:
    """True/False for an owner on this host; None when it ran on another host (cannot tell)."""
    if record.get("host") != socket.gethostname():
        return None
    try:
        pid = int(record["pid"])
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists (another user's process)
    except (KeyError, TypeError, ValueError):
        return False
    started = record.get("process_start")
    return started is None or process_start_time(pid) in (None, started)


#: Failed runs kept in reports/<study>/_failed/ (the newest; older ones are deleted): $UPSTREAM_KEEP_FAILED.
KEEP_FAILED_ENV = "UPSTREAM_KEEP_FAILED"
DEFAULT_KEEP_FAILED = 10
_RUN_FOLDER = re.compile(r"^(\d{8}-\d{6})(?:-(\d+))?$")


def keep_failed_count() -> int:
    """How many failed runs ``_failed/`` keeps: $UPSTREAM_KEEP_FAILED (1 or more), else 10. ValueError
    with a one-line message for anything else."""
    value = os.environ.get(KEEP_FAILED_ENV, "").strip()
    if not value:
        return DEFAULT_KEEP_FAILED
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{KEEP_FAILED_ENV} must be a whole number of failed runs to keep (1 or more), got {value!r}")
    return int(value)


def prune_failed(failed_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` run folders (``<timestamp>[-n]``) of ``_failed/``; anything else
    there is left alone. Returns the folders deleted, oldest first."""
    if not failed_dir.is_dir():
        return []
    runs = []
    for path in failed_dir.iterdir():
        match = _RUN_FOLDER.match(path.name)
        if match and path.is_dir() and not path.is_symlink():
            runs.append(((match.group(1), int(match.group(2) or 1)), path))
    runs.sort()
    deleted = [path for _, path in runs[:max(0, len(runs) - keep)]]
    for path in deleted:
        shutil.rmtree(path, ignore_errors=True)
    return deleted


def clear_stale_staging(study_dir: Path, err: TextIO) -> list[Path]:
    """Move the staging folders of runs that died (owner process gone on this host, or no owner
    recorded) to ``_failed/<timestamp>/`` with a note, and remove leftover ``.latest-*`` links.

    Call it while holding the study lock: every live run of this version holds that lock while
    its staging folder exists, so a folder without an owner record is a leftover too. Folders
    whose owner lives (or ran on another host) are left alone. Returns the folders moved.
    """
    moved = []
    for path in sorted(study_dir.glob(f"{STAGING_PREFIX}*")):
        if not path.is_dir() or path.is_symlink():
            continue
        record = read_owner(path)
        if record is not None and owner_is_alive(record) is not False:
            continue
        who = (f"pid {record.get('pid')} on {record.get('host')}, started {record.get('started_at')}"
               if record else "owner unknown")
        (path / OWNER_FILE).unlink(missing_ok=True)
        shutil.rmtree(path / ".cache", ignore_errors=True)  # the dead run's model cache, as for any failed run
        try:
            (path / "message.txt").write_text(
                f"Abandoned run ({who}): it stopped before finishing (killed or crashed); moved here by "
                f"the run of pid {os.getpid()} at {iso(utc_now())}.\n", encoding="utf-8")
        except OSError:
            pass
        kept = move_to_unique(path, study_dir / "_failed", path.name[len(STAGING_PREFIX):] or "abandoned")
        err.write(f"Moved the folder of an abandoned run ({who}) to {kept}\n")
        moved.append(kept)
    if moved:
        try:
            prune_failed(study_dir / "_failed", keep_failed_count())
        except (ValueError, OSError):
            pass
    for link in study_dir.glob(".latest-*"):
        if link.is_symlink():
            link.unlink(missing_ok=True)
    return moved


class StudyLock:
    """An exclusive flock on ``reports/<study>/.lock`` for the whole run. A second run of the same
    study waits for the first and says so on stderr; the kernel drops the lock when the process
    ends, however it ends (SIGKILL included), so a killed run never blocks the next one."""

    def __init__(self, study_dir: Path, study: str, err: TextIO):
        self.path = study_dir / LOCK_FILE
        self.study = study
        self.err = err
        self.fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _describe_holder(_current_holder(fd))
                self.err.write(f"Another run of study '{self.study}' is in progress{holder}; waiting for it to "
                               f"finish (lock {self.path}) ...\n")
                self.err.flush()
                fcntl.flock(fd, fcntl.LOCK_EX)
                self.err.write("The other run finished; starting.\n")
                self.err.flush()
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(owner_record()) + "\n").encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def release(self) -> None:
        import fcntl

        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)  # no stale holder record for the next waiter to read
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "StudyLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> bool:
        self.release()
        return False


def _current_holder(fd: int) -> dict | None:
    """The holder's record in the lock file. The holder writes it just after taking the lock, and a
    killed holder leaves its record behind: wait briefly for a record of a live process."""
    import time

    record = None
    for _ in range(40):
        try:
            record = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            record = None
        if isinstance(record, dict) and owner_is_alive(record) is not False:
            return record
        time.sleep(0.05)
    return None


def _describe_holder(record: dict | None) -> str:
    try:
        return f" (pid {int(record['pid'])} on {record['host']}, since {record['started_at']})"
    except (KeyError, TypeError, ValueError):
        return ""
