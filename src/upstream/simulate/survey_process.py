"""The survey process of a simulated operation: which contacts get a survey, which customers answer
(and when, with what comment), and the surveys table they make."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .comments import make_comments
from .model import logistic


def survey_process(spec, rng, n: int, shifts: dict, agent_idx, steering, csat, channel_idx,
                   escalated, credited, repeat, closed, policy, product) -> dict:
    """Who is invited and who answers: ordinary agent-to-agent variation in both rates (team habits,
    shifts), steering agents' suppressed invitations and nudged replies, response that depends on the
    outcome and the contact; answer times and comments. ``spec``: the OperationSpec; ``shifts``: the
    agents' invitation and response shifts (``operation.draw_shifts``)."""
    invite_shift, response_shift = shifts["invite"], shifts["response"]
    unhappy = csat <= 3
    base_send = np.log(spec.survey_send_rate / (1 - spec.survey_send_rate))
    send_p = logistic(base_send + invite_shift[agent_idx])
    send_p[steering[agent_idx] & unhappy] *= 0.35        # steering: suppress invitations after bad contacts
    sent = rng.random(n) < send_p
    outcome_term = spec.outcome_dependent_response * np.array([0.0, 1.0, 0.3, -0.3, 0.0, 0.5])[csat]
    feature_term = (np.array([0.0, 0.2, -0.4, 0.1])[channel_idx] + 0.3 * escalated + 0.2 * credited
                    + 0.3 * repeat)
    nudge = 0.9 * (steering[agent_idx] & ~unhappy)      # steering: happy customers asked to reply
    lin = outcome_term + feature_term + nudge + response_shift[agent_idx]
    intercept = calibrate_intercept(lin[sent], spec.response_rate)
    p_respond = logistic(intercept + lin)
    responded = sent & (rng.random(n) < p_respond)
    sent_at = closed + rng.integers(300, 7200, n).astype("timedelta64[s]")
    responded_at = sent_at + np.round(rng.exponential(6 * 3600, n) + 60).astype("timedelta64[s]")
    csat_answered = responded & (rng.random(n) > 0.02)
    nps_answered = responded & (rng.random(n) > 0.10)
    comment = make_comments(rng, np.flatnonzero(responded & (rng.random(n) < 0.3)), csat, policy, product, n)
    return dict(invite_shift=invite_shift, response_shift=response_shift, sent=sent, intercept=intercept,
                sent_at=sent_at, responded=responded, responded_at=responded_at, csat_answered=csat_answered,
                nps_answered=nps_answered, comment=comment)


def surveys_frame(contact_ids: np.ndarray, survey: dict, csat: np.ndarray, nps: np.ndarray) -> pd.DataFrame:
    """The surveys table: one row per invitation, in the order they were sent."""
    sent, responded = survey["sent"], survey["responded"]
    csat_answered, nps_answered = survey["csat_answered"], survey["nps_answered"]
    sent_at, responded_at, comment = survey["sent_at"], survey["responded_at"], survey["comment"]
    surveys = pd.DataFrame({
        "contact_id": contact_ids, "sent_at": sent_at,
        "responded_at": pd.Series(responded_at).where(responded),
        "csat": pd.array(np.where(csat_answered, csat, 0), dtype="Int64"),
        "nps": pd.array(np.where(nps_answered, nps, 0), dtype="Int64"),
        "comment": pd.Series(comment, dtype=object),
    })
    surveys.loc[~csat_answered, "csat"] = pd.NA
    surveys.loc[~nps_answered, "nps"] = pd.NA
    surveys = surveys[sent].sort_values("sent_at", kind="stable").reset_index(drop=True)
    return surveys


def calibrate_intercept(lin: np.ndarray, target: float) -> float:
    """Intercept a with mean(logistic(a + lin)) = target (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if logistic(mid + lin).mean() < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
