"""The studies, found from their folders: every subpackage of ``upstream.studies`` is a study, and its
``STUDY`` (a ``base.StudyDeclaration``) says what it is. Nothing lists the studies by hand."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

PACKAGE = __name__.rsplit(".", 1)[0]


def study_packages() -> tuple[str, ...]:
    """The subpackages of the studies folder, by name: each is a study."""
    folder = Path(__file__).resolve().parent
    return tuple(sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if m.ispkg))


#: Upstream's own studies (package and notebook names); each models CSAT replies.
STUDY_NAMES = study_packages()


def declared(name: str) -> Any:
    """The declaration (``STUDY``, a ``base.StudyDeclaration``; the registry does not import base, which asks
    it for declarations) of the study `name`; KeyError naming the studies for an unknown name."""
    if name not in STUDY_NAMES:
        raise KeyError(f"no study {name!r} in {PACKAGE}; the studies are {', '.join(STUDY_NAMES)}")
    return importlib.import_module(f"{PACKAGE}.{name}").STUDY


def engine_for(name: str, engine: str) -> str:
    """The engine the notebook `name` gets when a run chose `engine` (auto: the run decides later): `engine`
    itself, or pandas for a study whose pipeline cannot read the data with it (``STUDY.engines``)."""
    if engine != "auto" and name in STUDY_NAMES and engine not in declared(name).engines:
        return "pandas"
    return engine
