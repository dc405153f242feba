"""Publishing a run atomically: a run is built in ``reports/<study>/.staging-<timestamp>/``, renamed
to ``reports/<study>/<timestamp>/`` when complete (or to ``_failed/<timestamp>/``), and
``reports/<study>/latest`` is repointed with an atomic symlink swap; nothing is ever overwritten."""
from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

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


