"""The studies: one package per study, `upstream/studies/<name>/`, holding its pipeline (``__init__``:
`run(dataset, params, cache) → StudyResult`, see ``base``), its sentences, figures and page tables
(``sentences``, ``plots``, ``display``) and its declaration ``STUDY`` (name, title, parameters class, published
tables, page). A study is found from its folder (``registry``): adding one is adding a package here and its
notebook ``notebooks/<name>.ipynb`` (and, to run it by name, ``studies/<name>.yaml``). Notebooks are thin
views over the pipelines; the runner executes the notebooks with papermill."""
from .base import ParameterError, Parameters, RunCache, StudyDeclaration, StudyResult
from .registry import STUDY_NAMES, declared

__all__ = ["Parameters", "ParameterError", "RunCache", "StudyDeclaration", "StudyResult", "STUDY_NAMES",
           "declared"]
