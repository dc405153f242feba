"""The ``upstream`` command run in a forked copy of the test process: its own pid, environment, stdout and
stderr (file descriptors 1 and 2, so what a kernel or any other child writes there is caught too), and a SIGKILL
ends only the copy, as with a subprocess; but upstream, pandas and Great Expectations are imported already, which
saves the 2-4 CPU seconds a new ``python -m upstream.cli`` process spends importing them. Not for a run on the
DuckDB or Spark engine: the worker threads of a DuckDB database (or the JVM gateway) do not survive a fork: a
child running DuckDB after the test process had used it ended with SIGSEGV (test_sql_study keeps a subprocess)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from types import SimpleNamespace

import pytest

from upstream import cli
from upstream.data.validation import build_gx_context


class ForkedRun:
    """``upstream <argv>`` started in a forked child (``pid``) with environment ``env`` (default: this process's);
    ``finish()`` waits for it."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None):
        build_gx_context()                                    # GX imported here once, not in every child
        self._out, self._err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:                                     # the child: never returns into pytest
            code = 1
            try:
                os.dup2(self._out.fileno(), 1)
                os.dup2(self._err.fileno(), 2)
                sys.stdout = open(1, "w", closefd=False)      # noqa: SIM115 - flushed below, the fd stays
                sys.stderr = open(2, "w", closefd=False)      # noqa: SIM115
                if env is not None:
                    os.environ.clear()
                    os.environ.update(env)
                code = cli.main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:                             # noqa: BLE001 - shown on the run's stderr
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)

    def finish(self, timeout: float = 900) -> SimpleNamespace:
        """Wait for the run: ``returncode`` (minus the signal number when a signal ended it, as subprocess
        gives), ``stdout``, ``stderr`` and ``pid``."""
        deadline = time.monotonic() + timeout
        while (done := os.waitpid(self.pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                pytest.fail(f"upstream run (pid {self.pid}) still running after {timeout} s")
            time.sleep(0.05)
        texts = []
        for stream in (self._out, self._err):
            stream.seek(0)
            texts.append(stream.read())
            stream.close()
        return SimpleNamespace(pid=self.pid, returncode=os.waitstatus_to_exitcode(done[1]), stdout=texts[0],
                               stderr=texts[1])


def run_upstream(argv: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> SimpleNamespace:
    """``upstream <argv>`` to its end in a forked child, as ``subprocess.run([..., "upstream", *argv],
    capture_output=True, text=True)`` would: ``returncode``, ``stdout``, ``stderr``. In a new process instead
    where this one has loaded DuckDB or Spark (another test module in the same pytest-xdist worker may have): a
    forked child then died with SIGSEGV while importing, in a fresh-clone make test."""
    if "duckdb" in sys.modules or "pyspark" in sys.modules:
        proc = subprocess.Popen([sys.executable, "-m", "upstream.cli", *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"upstream run (pid {proc.pid}) still running after {timeout} s")
        return SimpleNamespace(pid=proc.pid, returncode=proc.returncode, stdout=stdout, stderr=stderr)
    return ForkedRun(argv, env).finish(timeout)
