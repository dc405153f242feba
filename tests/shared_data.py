"""Data sets the test modules share across pytest-xdist workers. Each is built once per test run, under a
file lock, in the folder conftest.py names in $UPSTREAM_TEST_SHARED (removed when the run ends), and the
run caches beside them let modules on different workers reuse each other's fitted models."""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from upstream.studies import RunCache


def shared_root() -> Path:
    root = Path(os.environ.get("UPSTREAM_TEST_SHARED") or Path(tempfile.gettempdir()) / "upstream-shared-local")
    root.mkdir(parents=True, exist_ok=True)
    return root


def shared_folder(name: str, build: Callable[[Path], object]) -> Path:
    """``root/name``, made by ``build(folder)`` in the first process that asks; the others wait for it."""
    root = shared_root()
    folder = root / name
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.is_dir():
            partial = root / f".{name}.{os.getpid()}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            build(partial)
            os.rename(partial, folder)
    return folder


def shared_cache(name: str) -> RunCache:
    """A run cache every process of the test run shares (RunCache writes each entry atomically)."""
    return RunCache(shared_root() / f"{name}-cache")
