"""The studies: one pipeline per study, `run(dataset, params, cache) → StudyResult` (see ``base``).
Notebooks are thin views over these; the runner executes the notebooks with papermill."""
from .base import ParameterError, Parameters, RunCache, StudyResult

#: Upstream's own studies (module and notebook names); each models CSAT replies.
STUDY_NAMES = ("agent_vs_system", "agent_scorecards", "survey_health", "channel_audit", "policy_friction",
               "comment_sentiment", "metric_health", "trends", "qa_sample")

__all__ = ["Parameters", "ParameterError", "RunCache", "StudyResult", "STUDY_NAMES"]
