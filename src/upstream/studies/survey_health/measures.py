"""The non-response numbers of survey_health, from the rows (pandas) or from counts per contact-feature cell and
per-agent sums (DuckDB, Spark: ``analysis.nonresponse_cells``): response rates, the response model, unweighted
and weighted scores, agent effects without and with the weights, the tipping point and each agent's reply share."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from ...analysis import nonresponse, nonresponse_cells
from ...survey import NpsEstimate, nps, nps_by_group
from .. import steps
from ..base import Parameters, RunCache


@dataclass
class Measures:
    """What the non-response part reports. `per_contact`: every contact with `answered` (rows only) or
    `reply_share`: per agent the share of its contacts with a CSAT reply (SQL); `every_answered`: every invitation
    has a reply."""

    rates: pd.DataFrame
    response: nonresponse.ResponseModel
    scores: pd.DataFrame
    by_channel: pd.DataFrame
    weighted: nonresponse.WeightedAgentEffects
    tipping: nonresponse.TippingPoint
    every_answered: bool
    per_contact: pd.DataFrame | None = None
    reply_share: pd.Series | None = None


def measures_from_rows(ds, params: Parameters, cache: RunCache, inv: pd.DataFrame, every_contact: bool) -> Measures:
    """The pandas path: every number from the invitations and contacts."""
    response = steps.response_model(ds, cache)
    weighted = steps.quietly(lambda: nonresponse.weighted_agent_effects(inv.assign(csat=inv["csat"].astype(float)),
                                                                        response.weights))
    per_contact = nonresponse.contact_replies(ds.contacts, inv)
    tipping = replace(steps.quietly(lambda: nonresponse.tipping_point(per_contact, shift=params.tipping_shift)),
                      every_contact=every_contact)
    return Measures(rates=nonresponse.response_rates(inv), response=response,
                    scores=nonresponse.weighted_scores(inv, response.weights),
                    by_channel=nonresponse.weighted_scores(inv, response.weights, by="channel"), weighted=weighted,
                    tipping=tipping, every_answered=bool(inv["responded"].all()), per_contact=per_contact)


def measures_from_sql(ds, params: Parameters, cache: RunCache, every_contact: bool) -> Measures:
    """The SQL path: the same numbers from the cells, the weighted replies' per-agent sums and per-agent counts."""
    cells = steps.survey_cells(ds, cache)
    response = steps.response_model(ds, cache)
    key = dict(data=ds.fingerprint, engine=ds.engine.name, scale=steps.csat_scale(ds))
    weighted = cache.get("weighted_agent_effects", lambda: steps.quietly(
        lambda: nonresponse_cells.weighted_agent_effects_from_sql(ds, response)), **key)
    tipping = steps.quietly(lambda: nonresponse_cells.tipping_point_from_cells(cells, shift=params.tipping_shift))
    invited = cells[cells["invited"] > 0]
    return Measures(rates=nonresponse_cells.response_rates_from_cells(cells), response=response,
                    scores=nonresponse_cells.weighted_scores_from_cells(cells, response),
                    by_channel=nonresponse_cells.weighted_scores_from_cells(cells, response, by="channel"),
                    weighted=weighted, tipping=replace(tipping, every_contact=every_contact),
                    every_answered=bool((invited["responded"] == invited["invited"]).all()),
                    reply_share=nonresponse_cells.reply_shares(steps.screen_sums(ds, cache)))


def nps_overall_and_by_channel(ds, cache: RunCache, inv: pd.DataFrame | None
                               ) -> tuple[NpsEstimate, pd.DataFrame | None]:
    """NPS of every answered NPS score, and by channel (None without one); from the cells on a SQL data set."""
    if steps.in_sql(ds):
        cells = steps.survey_cells(ds, cache)
        overall = nonresponse_cells.nps_from_cells(cells)
        return overall, nonresponse_cells.nps_by_channel_from_cells(cells) if overall.n else None
    answered = inv[inv["responded"] & inv["nps"].notna()]
    return nps(answered["nps"]), nps_by_group(answered, "nps", "channel") if len(answered) else None


def scale_health(ds, model) -> list[str]:
    """On a SQL data set, the model-health line saying which fit the verdicts behind the verdict tipping points come
    from (the weighted and unweighted agent effects are the one-factor fit's on either path); [] on pandas."""
    if not steps.in_sql(ds):
        return []
    judged = ("the crossed agent × customer model fitted from per-customer and agent × customer sums (moment "
              "variance components and conjugate-gradient GLS, not REML)" if getattr(model, "customers", None)
              is not None else "the one-factor model fitted by REML from per-agent sums")
    return [f"Agent model: in {ds.engine.name} the verdicts whose tipping points are shown come from {judged}."]

