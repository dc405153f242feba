"""Two small guards of a run, kept apart from the run itself: secret parameters (the pseudonym salt
never reaches a notebook's injected code, the manifest or the HTML: the kernel gets it as
UPSTREAM_PSEUDONYM_SALT), the test hook that kills the runner at a named stage, and the test hook that gives
the notebooks a run cache of fitted models from outside the run."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from upstream.reporting import privacy
from upstream.studies.allowed import allowed_values
from upstream.studies.base import Parameters

__all__ = ["SECRET_PARAMETERS", "KILL_AT_ENV", "STAGES", "stage_reached", "salt_parameter", "salt_environment",
           "RUN_CACHE_ENV", "run_cache_folder"]

#: Parameters that are secrets (declared ``allowed(..., secret=True)`` on the shared study parameters): never
#: injected into a notebook's code, recorded or shown.
SECRET_PARAMETERS = tuple(name for name, rule in allowed_values(Parameters).items() if rule.secret)
#: Test hook: SIGKILL this process at the named stage (the stages: upstream.runner.run's docstring).
KILL_AT_ENV = "UPSTREAM_KILL_AT"
STAGES = ("validation", "notebook", "export", "publish")
#: Test hook: the folder of fitted models (``upstream.studies.RunCache``) the notebooks share, instead of the run's
#: own ``.cache`` (which is deleted before publishing); the runner never deletes it. A test that fitted the same
#: data's models in its own process hands them to a CLI run this way, so the run re-fits nothing.
RUN_CACHE_ENV = "UPSTREAM_RUN_CACHE"


def run_cache_folder(own: Path) -> Path:
    """The notebooks' run cache: the folder $UPSTREAM_RUN_CACHE names, else ``own`` (the run's .cache)."""
    outside = os.environ.get(RUN_CACHE_ENV, "").strip()
    return Path(outside) if outside else own


def stage_reached(stage: str) -> None:
    """The test hook: die here, as a SIGKILL from outside would, when UPSTREAM_KILL_AT names ``stage``."""
    if os.environ.get(KILL_AT_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def salt_parameter(parameters: dict) -> str | None:
    value = parameters.get("pseudonym_salt")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value)


def salt_environment(salt: str | None) -> dict[str, str]:
    """The environment a notebook's kernel gets for its pseudonym salt: UPSTREAM_PSEUDONYM_SALT, or
    nothing (the kernel then uses the installation's key)."""
    return {} if salt is None else {privacy.SALT_ENV: salt}
