"""Steps several studies share, each cached per run (see ``RunCache``): the analysis frames, the
agent model with its bootstrap, the survey screen and the response-propensity model."""
from __future__ import annotations

import warnings

from ..analysis import screen as screen_module
from ..analysis.agents import AgentModel, fit_agent_model
from ..analysis.nonresponse import ResponseModel, fit_response_model
from ..data.frames import CONTACT_MIX, invitations, responses
from ..models import ConvergenceWarning, RankDeficiencyWarning, SingularFitWarning, single_threaded_blas
from ..reporting.notebook import period_text
from .base import Parameters, RunCache

#: Warnings the engine raises that a study reports through model health instead (and only those).
REPORTED_WARNINGS = (SingularFitWarning, ConvergenceWarning, RankDeficiencyWarning)


def quietly(compute):
    """Run `compute` with the engine's fit warnings silenced — their content reaches the reader
    through each fit's `health()` in the study's model-health section, not as stray warnings — and
    BLAS on one thread (the engine's matrices are small; see models.single_threaded_blas)."""
    with warnings.catch_warnings(), single_threaded_blas():
        for category in REPORTED_WARNINGS:
            warnings.simplefilter("ignore", category)
        return compute()


def period(ds) -> str:
    """The period the data cover, e.g. '1 Jul – 29 Sep 2026'."""
    opened = ds.contacts["opened_at"].dropna()
    return period_text(opened.min(), opened.max())


def agent_model(ds, params: Parameters, cache: RunCache, outcome: str = "csat") -> AgentModel:
    """The agent model of `outcome` with its parametric bootstrap (the expensive step)."""
    def compute():
        return quietly(lambda: fit_agent_model(responses(ds, outcome), outcome, CONTACT_MIX, n_boot=params.n_boot,
                                               seed=params.seed, population=ds.contacts))
    return cache.get("agent_model", compute, data=ds.fingerprint, outcome=outcome, n_boot=params.n_boot,
                     seed=params.seed)


def survey_screen(ds, params: Parameters, cache: RunCache):
    """Every agent's invitation and response rate against its own expected rate (see analysis.screen)."""
    def compute():
        return quietly(lambda: screen_module.survey_screen(ds.contacts, invitations(ds), z=params.screen_z))
    return cache.get("survey_screen", compute, data=ds.fingerprint, z=params.screen_z)


def response_model(ds, cache: RunCache) -> ResponseModel:
    """Who answers: the response-propensity model and its inverse-propensity weights."""
    return cache.get("response_model", lambda: fit_response_model(invitations(ds)), data=ds.fingerprint)


def fit_health(label: str, fit) -> list[str]:
    """'<label>: <statement>.' for each problem `fit.health()` reports."""
    return [f"{label}: {line}." for line in fit.health()]


def noted_health(label: str, lines) -> list[str]:
    """'<label>, <statement>.' for problems an analysis step collected from its own fits."""
    return [f"{label}, {line}." for line in lines]
