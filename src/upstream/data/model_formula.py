"""The model formula the analyses fit, and the rule for which contact-mix columns enter it — one
place for the pandas path (``present_mix`` on a frame) and the SQL path (``varying`` on distinct counts
an engine computed); ``complete_varying`` is the same rule for the features of a propensity GLM.

    model_formula("csat", ["policy", "channel"])                 csat ~ policy + channel + (1 | agent_id)
    model_formula("csat", [], random=(AGENT, CUSTOMER))         csat ~ 1 + (1 | agent_id) + (1 | customer_id)
    model_formula("csat", ["policy"], slopes=[("_slope", AGENT)])
                                                   csat ~ policy + (1 | agent_id) + (0 + _slope | agent_id)
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from ..survey.constants import AGENT
from .frames import CONTACT_MIX


def model_formula(outcome: str, fixed: Iterable[str] = (), random: Iterable[str] = (AGENT,),
                  slopes: Iterable[tuple[str, str]] = ()) -> str:
    """`outcome ~ fixed + (1 | g) … + (0 + x | g) …`: the fixed terms in the order given ("1", the
    intercept alone, when there are none), a random intercept per grouping column in `random` (the agent
    by default), then an uncorrelated random slope of x over g per (x, g) in `slopes`."""
    rhs = " + ".join(fixed) or "1"
    terms = [f"(1 | {group})" for group in random] + [f"(0 + {x} | {group})" for x, group in slopes]
    return " + ".join([f"{outcome} ~ {rhs}", *terms])


def varying(distinct: Mapping[str, int], columns: Iterable[str] = CONTACT_MIX) -> tuple[str, ...]:
    """The `columns` (in their order) with more than one distinct value, given `distinct` (column ->
    number of distinct non-missing values; a column it does not name is absent): a column with one
    value cannot be estimated beside the intercept."""
    return tuple(c for c in columns if distinct.get(c, 0) > 1)


def present_mix(frame: pd.DataFrame, mix: Iterable[str] = CONTACT_MIX) -> tuple[str, ...]:
    """The contact-mix columns of `frame` that vary (``varying`` on its distinct counts)."""
    mix = tuple(mix)
    return varying({m: frame[m].nunique() for m in mix if m in frame}, mix)


def complete_varying(frame: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """The `columns` of `frame` that vary and are never missing (``varying``; a column with a missing
    value is left out): the features a propensity model (a GLM on the rows) can use."""
    columns = list(columns)
    return list(varying({c: frame[c].nunique() for c in columns if c in frame and frame[c].notna().all()}, columns))
