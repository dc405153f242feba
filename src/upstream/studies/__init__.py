"""The studies: one pipeline per study, `run(dataset, params, cache) → StudyResult` (see ``base``).
Notebooks are thin views over these; the runner executes the notebooks with papermill."""
from .base import ParameterError, Parameters, RunCache, StudyResult

__all__ = ["Parameters", "ParameterError", "RunCache", "StudyResult"]
