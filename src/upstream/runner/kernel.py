"""The environment notebooks run in: the kernel must exist, GX analytics stay off, matplotlib renders
inline, and library chatter (papermill, nbclient, the kernel process's own output) goes to the run's
log files rather than the terminal."""
from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

DEFAULT_KERNEL = "upstream"
#: Environment for this process and the kernels it starts: no GX analytics, matplotlib renders
#: into the notebook (the non-interactive inline backend, never a GUI window), no debugger noise.
KERNEL_ENVIRONMENT = {
    "GX_ANALYTICS_ENABLED": "False",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
#: The thread counts of the BLAS libraries numpy and scipy may use (OpenBLAS, OpenMP builds, MKL).
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: Loggers whose chatter goes to the run's run.log instead of stderr.
QUIET_LOGGERS = ("papermill", "nbclient", "nbconvert", "traitlets")


def blas_threads(jobs: int) -> dict[str, str]:
    """BLAS threads per kernel when `jobs` notebooks run side by side: the machine's cores shared among them
    (at least one each). Each BLAS library otherwise starts a thread per core in every kernel, and two kernels'
    threads on two cores wait for each other: the quarterly review on the sample took 38.4 s with two threads per
    kernel and 34.9 s with one. Empty (the user's setting stands) when any of BLAS_THREAD_VARIABLES is set."""
    if any(os.environ.get(name) for name in BLAS_THREAD_VARIABLES):
        return {}
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    return {name: str(threads) for name in BLAS_THREAD_VARIABLES}


@contextlib.contextmanager
def kernel_environment(extra: dict[str, str] | None = None) -> Iterator[None]:
    """Set KERNEL_ENVIRONMENT and `extra` for this process (kernels inherit them); restore them afterwards,
    except GX_ANALYTICS_ENABLED, which stays off for the rest of the process."""
    settings = {**KERNEL_ENVIRONMENT, **(extra or {})}
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            if key == "GX_ANALYTICS_ENABLED":
                continue
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def quiet_loggers(log_path: Path | None) -> Iterator[None]:
    """Route papermill/nbclient/nbconvert log records to ``log_path`` (or nowhere) instead of
    the terminal, so cron logs only hold the runner's own lines."""
    handler: logging.Handler
    if log_path is None:
        handler = logging.NullHandler()
    else:
        handler = logging.FileHandler(log_path, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    saved = []
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level))
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, propagate, level in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)
        handler.close()


@contextlib.contextmanager
def captured_output(log_path: Path) -> Iterator[None]:
    """Send Python-level stdout/stderr (progress bars, prints, last-resort logging) to
    ``log_path``; the file is removed again if nothing was written."""
    try:
        with (open(log_path, "w", encoding="utf-8") as log, contextlib.redirect_stdout(log),
              contextlib.redirect_stderr(log)):
            yield
    finally:
        if log_path.exists() and log_path.stat().st_size == 0:
            log_path.unlink()


@functools.lru_cache(maxsize=None)
def ipc_folder() -> str:
    """A folder of this process for its kernels' IPC socket files (removed when the process ends)."""
    folder = tempfile.mkdtemp(prefix="upstream-kernels-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def logged_kernel_manager_class(environment: dict[str, str] | None = None, cwd: str | None = None) -> type:
    """See ``_manager_class``; one class per distinct environment and working folder."""
    return _manager_class(tuple(sorted((environment or {}).items())), cwd)


@functools.lru_cache(maxsize=None)
def _manager_class(environment: tuple[tuple[str, str], ...], cwd: str | None = None) -> type:
    """An AsyncKernelManager whose kernel process writes its own stdout/stderr (ipykernel's
    start-up and shutdown messages, C-level warnings, crash output) to ``kernel_log`` instead of
    the runner's terminal, and starts with ``environment`` added to its environment (the pseudonym
    salt: given to this kernel only, never set in the runner's own environment, so notebooks can run
    side by side), in the working folder `cwd` (papermill's own ``cwd`` changes the runner's folder while
    a notebook runs, which two notebooks at once would undo in the wrong order). Cell output is
    unaffected: it travels over the kernel protocol.

    All of it goes through jupyter_client's public ``start_kernel(**kw)``, whose keywords reach the
    kernel's ``Popen`` (``env``, ``cwd``, ``stdout``, ``stderr``; nbclient documents ``cwd`` there)."""
    from jupyter_client import AsyncKernelManager
    from traitlets import CaselessStrEnum, Unicode

    extra = dict(environment)

    class LoggedKernelManager(AsyncKernelManager):
        kernel_log = Unicode("", config=True, help="File that receives the kernel process's stdout and stderr.")
        # IPC: the kernel's sockets are files named after its own connection file. Over TCP, a free port is found by
        # binding and releasing it, and a kernel another process started meanwhile could take it first (a test
        # run's kernel died with "zmq.error.ZMQError: Address already in use", and the notebook failed 60 s later).
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        async def start_kernel(self, **kw):
            """Start the kernel with ``environment`` added to its environment, in ``cwd``, its
            output appended to ``kernel_log``."""
            if self.transport == "ipc":          # absolute: the kernel runs in `cwd`, the runner elsewhere
                self.ip = os.path.join(ipc_folder(), f"{uuid.uuid4().hex}-ipc")
            if extra:
                kw["env"] = {**(kw.get("env") or os.environ), **extra}
            if cwd is not None:
                kw["cwd"] = cwd
            if not self.kernel_log:
                return await super().start_kernel(**kw)
            with open(self.kernel_log, "ab") as log:  # the child keeps its own copy of the descriptor
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                return await super().start_kernel(**kw)

    return LoggedKernelManager


def kernel_manager_config(kernel_log: Path):
    """Kernel settings: process output to ``kernel_log``; Curve-encrypted transport when
    available (otherwise local IPC sockets), so no plain-TCP kernel traffic."""
    import zmq
    from traitlets.config import Config

    config = Config()
    config.LoggedKernelManager.kernel_log = str(kernel_log)
    if zmq.has("curve"):
        config.LoggedKernelManager.transport_encryption = "auto"
    else:  # pragma: no cover - depends on the libzmq build
        config.LoggedKernelManager.transport = "ipc"
    return config


