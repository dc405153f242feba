"""Reply volume: how many contacts each channel handled and how many carry a CSAT reply (a census, no
model). The smallest study: an example of a study as one package."""
from __future__ import annotations

from ...data.frames import responses
from .. import steps
from ..base import Parameters, RunCache, StudyDeclaration, StudyResult
from . import display

NAME = "reply_volume"
TITLE = "Reply volume by channel"
GROUP = "Operations"


def run(ds, params: Parameters | dict | None = None, cache: RunCache | None = None) -> StudyResult:
    """Contacts, CSAT replies and the reply rate per channel."""
    params = params if isinstance(params, Parameters) else Parameters.from_mapping(params)
    replied = ds.contacts["contact_id"].isin(responses(ds, "csat")["contact_id"])
    table = ds.contacts.assign(replied=replied).groupby("channel").agg(contacts=("contact_id", "size"),
                                                                      replies=("replied", "sum"))
    table["reply_rate"] = table["replies"] / table["contacts"]
    findings = [f"{int(table['replies'].sum()):,} of {int(table['contacts'].sum()):,} contacts carry a CSAT reply."]
    result = StudyResult(study=NAME, title=TITLE, group=GROUP, period=steps.period(ds), parameters=params,
                         agent_ids=tuple(ds.agents["agent_id"].astype(str)), findings=findings)
    result.tables = {"reply_volume": table}
    return result


STUDY = StudyDeclaration(name=NAME, title=TITLE, group=GROUP, parameters=Parameters, run=run, page=display.page,
                         tables=("reply_volume",))
