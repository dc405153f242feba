"""Zendesk's ratings: the legacy satisfaction ratings (good/bad), the CSAT survey responses of
Zendesk's CSAT since 2024, or both (an account that switched mid-period), on one declared scale.

- ``satisfaction_ratings.json`` (``GET /api/v2/satisfaction_ratings``): ``score`` ``good``/``bad``
  (answers; the list filter's ``*_with_comment``/``*_without_comment`` spellings are read as
  ``good``/``bad``), ``offered`` (sent, no answer), ``unoffered`` (no survey). Any other score stops
  the import.
- ``csat_survey_responses.json`` (survey responses; the shape of singer-io/tap-zendesk
  ``tap_zendesk/schemas/csat_survey_responses.json``): ``subjects[{type: ticket, id}]``,
  ``answers[{type: rating_scale, rating, rating_category, comment, created_at, updated_at}]``,
  ``survey{id, version}``, ``responder_id``. The scale (2, 3 or 5 choices) comes from the mapping
  (``csat.points``, ``csat.by_survey``) or from ratings that prove it (a 4 or 5: 5 choices).
- Ratings pulled with ``score=received`` list answers only: the ``offered`` state still on each
  ticket's embedded ``satisfaction_rating`` then makes non-response visible; when neither shows
  it, ``dataset.yaml`` says unanswered invitations are not visible and the report warns.
- Survey responses are answers only and the legacy rating stays ``unoffered`` once the new CSAT is
  on, so an export with survey responses cannot show unanswered invitations: ``dataset.yaml`` says
  so (``visibility``) and the report warns.
- One survey per ticket: the latest record (legacy or survey response) decides.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..frames import isin_text
from .derive import to_utc_naive
from .errors import ImportInputError
from .mapping import Mapping
from .pages import FileRead, iter_pages
from .ratings import refuse_unreadable_ratings
from .records import RecordSpec, read_records
from .report import ImportReport
from .scales import ZENDESK_LEGACY, SurveyScale, one_scale, zendesk_new_csat
from .source import ids_as_text, latest_rows

LEGACY_KEY = "legacy"
ANSWERED = ("good", "bad")
NOT_ANSWERS = ("offered", "unoffered", "not offered")
NEW_CSAT_POINTS = (2, 3, 5)
RESPONSES_EXPECTED = ('Zendesk CSAT survey responses: pages such as {"survey_responses": [...]}, a JSON array of '
                      "responses, or one response per line")
_TICKET_ZRN = re.compile(r"^zen:ticket:(\d+)$")


@dataclass
class ZendeskRatings:
    """The rating records of one export (columns as ``assemble.Extract.ratings``, plus ``raw_csat``)."""

    frame: pd.DataFrame
    scale: object
    scale_source: str | None
    file: str
    field: str
    read: int
    sources: dict[str, str] = field(default_factory=dict)
    visibility: dict = field(default_factory=lambda: {"unanswered_invitations": True, "uninvited_contacts": True})
    attribution: str = ""


def read_ratings(paths: dict, tickets: pd.DataFrame, mapping: Mapping, report: ImportReport, tickets_name: str,
                 folder: Path, expected_legacy: str) -> ZendeskRatings:
    """The ratings of a Zendesk API export (see the module docstring). ``tickets`` has ``id``,
    ``closed`` (solve time), ``updated`` and ``sr_score`` (the embedded satisfaction_rating.score)."""
    new_path = paths["csat_survey_responses"]
    legacy, responses, parts, files, n_read, answered_new = _rating_files(paths, report, folder, expected_legacy)
    r = pd.concat(parts, ignore_index=True)
    # the latest record per ticket decides (a legacy rating and a later survey response, a changed answer)
    r = _latest_offered(r, tickets, tickets_name, report)
    r, visibility, sources = _non_response(r, legacy, tickets, tickets_name, files, new_path, answered_new, report)
    scale, maps, scale_source = _one_zendesk_scale(r, mapping, files[-1] if responses is not None else files[0])
    r["csat"] = _codes(r, maps)
    if responses is not None:
        mine = (r["score"] == "answered").to_numpy()
        refuse_unreadable_ratings(r.loc[mine, "raw_csat"], r.loc[mine, "csat"], file=new_path.name,
                                  field="answers[].rating", ids=r.loc[mine, "id"],
                                  expected=f"a rating of 1 to {scale.points} (the {scale.points}-point scale)")
    r["nps"] = pd.array([pd.NA] * len(r), dtype="Int64")
    r["responded_at"] = r["answered_at"].where(r["csat"].notna())
    attribution = ""
    if responses is not None and len(responses):
        attribution = (f"{new_path.name}: a survey response names no agent, so its contact is credited to the "
                       f"ticket's assignee at export time ({tickets_name} assignee_id)")
    return ZendeskRatings(frame=r, scale=scale, scale_source=scale_source,
                          file=files[0] if len(files) == 1 else " and ".join(files),
                          field="score" if responses is None else ("answers[].rating" if legacy is None else
                                                                   "score / answers[].rating"),
                          read=n_read, sources=sources, visibility=visibility, attribution=attribution)


def _rating_files(paths: dict, report: ImportReport, folder: Path, expected_legacy: str):
    """The legacy ratings (satisfaction_ratings.json) and the survey responses (csat_survey_responses.json),
    None for a file the export does not have (at least one is needed, with an answered or offered
    survey); the frames read, the files, the records read and the number of answered survey responses."""
    legacy_path, new_path = paths["satisfaction_ratings"], paths["csat_survey_responses"]
    if legacy_path is None and new_path is None:
        raise ImportInputError(
            f"satisfaction_ratings.json: required file missing from {folder}; a Zendesk API export needs its ratings: "
            "satisfaction_ratings.json (the legacy CSAT, GET /api/v2/satisfaction_ratings) or "
            "csat_survey_responses.json (Zendesk's CSAT since 2024: survey responses), or both",
            "satisfaction_ratings.json")
    parts, files, n_read = [], [], 0
    legacy = None
    if legacy_path is not None:
        legacy = _legacy(legacy_path, report, expected_legacy)
        n_read += len(legacy)
        files.append(legacy_path.name)
        parts.append(legacy)
    responses = None
    if new_path is not None:
        responses = _responses(new_path, report)
        n_read += len(responses)
        files.append(new_path.name)
        parts.append(responses)
    answered_legacy = 0 if legacy is None else int(legacy["score"].isin(ANSWERED).sum())
    answered_new = 0 if responses is None else int(responses["raw_csat"].notna().sum())
    if answered_legacy + answered_new == 0 and not (legacy is not None and legacy["score"].eq("offered").any()):
        names = " and ".join(files)
        raise ImportInputError(
            f"{files[0]}: the export holds no ratings ({names} list no answered or offered survey); an account on "
            "Zendesk's CSAT since 2024 "
            "answers through CSAT survey responses (save them as csat_survey_responses.json), the legacy CSAT "
            "through satisfaction_ratings.json", files[0])
    return legacy, responses, parts, files, n_read, answered_new


def _latest_offered(r: pd.DataFrame, tickets: pd.DataFrame, tickets_name: str, report: ImportReport) -> pd.DataFrame:
    """The rating records of tickets in the export, the latest per ticket, that were offered; the
    others dropped with their reason."""
    outside = ~isin_text(r["ticket_id"], tickets["id"])
    report.drop("surveys", f"its ticket is not in {tickets_name}", r.loc[outside, "id"])
    r = r[~outside]
    superseded = ~latest_rows(r["ticket_id"], r["updated"])
    report.drop("surveys", "an older rating record of a ticket that has a newer one", r.loc[superseded, "id"])
    r = r[~superseded]
    unoffered = r["score"].isin(("unoffered", "not offered"))
    report.drop("surveys", "no survey was sent (score unoffered)", r.loc[unoffered, "id"])
    r = r[~unoffered].reset_index(drop=True)
    return r


def _non_response(r: pd.DataFrame, legacy, tickets: pd.DataFrame, tickets_name: str, files: list, new_path,
                  answered_new: int, report: ImportReport):
    """Whether surveys sent without an answer can be seen: listed (legacy offered records), else taken
    from the tickets' embedded satisfaction_rating (added to ``r``), else not visible; survey responses
    list answers only. The ratings, dataset.yaml's visibility and the report's sources."""
    visibility = {"unanswered_invitations": True, "uninvited_contacts": True}
    sources: dict[str, str] = {}
    listed_offers = legacy is not None and bool(legacy["score"].isin(NOT_ANSWERS).any())
    if not listed_offers:
        embedded = tickets["sr_score"].astype("str").str.strip().str.lower().where(tickets["sr_score"].notna())
        if embedded.notna().any():
            offered = (embedded == "offered") & ~isin_text(tickets["id"], r["ticket_id"])
            extra = pd.DataFrame({
                "id": "ticket:" + tickets.loc[offered, "id"].astype("str"), "ticket_id": tickets.loc[offered, "id"],
                "agent": pd.Series(pd.NA, index=tickets.index[offered], dtype="str"),
                "group": pd.Series(pd.NA, index=tickets.index[offered], dtype="str"),
                "score": "offered", "survey": LEGACY_KEY,
                # no answer: no raw value, as for an offered record of the list (a scale has no code for it)
                "raw_csat": pd.Series(pd.NA, index=tickets.index[offered], dtype="object"),
                "comment": pd.Series(pd.NA, index=tickets.index[offered], dtype="str"),
                "sent_at": tickets.loc[offered, "closed"], "updated": tickets.loc[offered, "updated"],
                "answered_at": pd.Series(pd.NaT, index=tickets.index[offered], dtype="datetime64[us]")})
            r = pd.concat([r, extra], ignore_index=True)
            lost = embedded.isin(ANSWERED) & ~isin_text(tickets["id"], r["ticket_id"])
            n_offered = int(offered.sum())
            report.facts["offered_from_tickets"] = n_offered
            if n_offered:
                report.warnings.append(
                    f"{' and '.join(files)} list answered ratings only (pulled with score=received?): the "
                    f"{n_offered} surveys offered without an answer were taken from the tickets' embedded "
                    f"satisfaction_rating (score offered) in {tickets_name}; their send time is the solve time")
            sources["surveys.offered"] = (f"{tickets_name}: satisfaction_rating.score offered, for tickets without a "
                                          "rating record (sent_at = ticket_metrics solved_at)")
            if lost.any():
                ids = ", ".join(tickets.loc[lost, "id"].astype("str").head(5))
                report.warnings.append(
                    f"{int(lost.sum())} ticket(s) carry an answered satisfaction_rating (good or bad) in "
                    f"{tickets_name} that is in none of {', '.join(files)} (tickets {ids}); they have no rating time "
                    "and were not imported as ratings: export the ratings for the whole period")
        else:
            note = (f"{' and '.join(files)} list answered ratings only and {tickets_name} carries no embedded "
                    "satisfaction_rating, so surveys sent without an answer cannot be seen")
            visibility = {"unanswered_invitations": False, "uninvited_contacts": True, "note": note}
            report.warnings.append(note + ": response rates and non-response studies need the offered ratings "
                                          "(export satisfaction_ratings without a score filter)")
    if answered_new:
        # survey responses are answers only, and an account on this CSAT has legacy CSAT switched off, so the
        # tickets' embedded satisfaction_rating stays unoffered: a survey sent without an answer is in no file
        note = (f"{new_path.name} lists answered survey responses only (Zendesk's CSAT since 2024): a survey sent "
                "without an answer is not in the export, and the tickets' legacy satisfaction_rating does not show it")
        visibility = {"unanswered_invitations": False, "uninvited_contacts": True, "note": note}
        report.warnings.append(note + ": response and invitation rates cannot be computed for the period on survey "
                                      "responses")
    return r, visibility, sources


def _codes(r: pd.DataFrame, maps: dict[str, dict]) -> pd.Series:
    """Canonical codes of ``raw_csat``, each survey through its own map (vectorised per survey)."""
    out = pd.Series(pd.NA, index=r.index, dtype="Int64")
    present = r["raw_csat"].notna()
    for key, by_value in maps.items():
        mask = present & (r["survey"] == key)
        if mask.any():
            text = r.loc[mask, "raw_csat"].astype("str").str.strip().str.lower().str.replace(
                r"^(-?\d+)\.0+$", r"\1", regex=True)
            out[mask] = pd.array(text.map(by_value), dtype="Int64")
    return out


def _value_key(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def _legacy(path: Path, report: ImportReport, expected: str) -> pd.DataFrame:
    info = FileRead(name=path.name, path=path)
    spec = RecordSpec(
        key=("satisfaction_ratings",), singular="satisfaction_rating", expected=expected,
        scalars={"id": (("id",), pa.int64()), "ticket_id": (("ticket_id",), pa.int64()),
                 "assignee_id": (("assignee_id",), pa.int64()), "group_id": (("group_id",), pa.int64()),
                 "score": (("score",), pa.string()), "comment": (("comment",), pa.string()),
                 "created_at": (("created_at",), pa.string()), "updated_at": (("updated_at",), pa.string())})
    rr = read_records(path, spec, info).frame
    report.files.append(info)
    raw = rr["score"].astype("str").str.strip().where(rr["score"].notna())
    score = raw.str.lower().str.replace(r"_with(out)?_comment$", "", regex=True)
    ids = ids_as_text(rr["id"])
    known = score.isin(ANSWERED + NOT_ANSWERS) | score.isna()
    refuse_unreadable_ratings(raw, pd.Series(np.where(known, 1, None)), file=path.name, field="score",
                              expected="good, bad, offered or unoffered", ids=ids)
    r = pd.DataFrame({"id": ids, "ticket_id": ids_as_text(rr["ticket_id"]), "agent": ids_as_text(rr["assignee_id"]),
                      "group": ids_as_text(rr["group_id"]), "score": score, "comment": rr["comment"]})
    r["raw_csat"] = score.where(score.isin(ANSWERED))
    r["survey"] = LEGACY_KEY
    r["sent_at"], _ = to_utc_naive(rr["created_at"])
    r["updated"], _ = to_utc_naive(rr["updated_at"])
    r["answered_at"] = r["updated"]
    return r


def _responses(path: Path, report: ImportReport) -> pd.DataFrame:
    info = FileRead(name=path.name, path=path)
    records: list[dict] = []
    for page in iter_pages(path, "survey_responses", singular="survey_response", expected=RESPONSES_EXPECTED,
                           info=info):
        records.extend(page)
    report.files.append(info)
    rows, no_ticket, no_answer = [], [], []
    for rec in records:
        rid = str(rec.get("id"))
        ticket = _ticket_of(rec.get("subjects"))
        if ticket is None:
            no_ticket.append(rid)
            continue
        answers = [a for a in (rec.get("answers") or ()) if isinstance(a, dict)]
        rating = next((a for a in answers if a.get("type") == "rating_scale" or "rating" in a), None)
        if rating is None or rating.get("rating") is None:
            no_answer.append(rid)
            continue
        survey = rec.get("survey") or {}
        sid, version = survey.get("id"), survey.get("version")
        sid = "(no survey id)" if sid is None else sid
        key = str(sid) if version is None else f"{sid}:{version}"
        comment = next((a.get("comment") for a in answers if a.get("comment")), None)
        rows.append({"id": rid, "ticket_id": ticket, "score": "answered", "raw_csat": rating.get("rating"),
                     "survey": key, "comment": comment, "created_at": rating.get("created_at"),
                     "updated_at": rating.get("updated_at") or rating.get("created_at")})
    report.drop("surveys", f"a survey response about no ticket ({path.name}: subjects has no ticket)", no_ticket)
    report.drop("surveys", f"a survey response without a rating answer ({path.name})", no_answer)
    frame = pd.DataFrame(rows, columns=["id", "ticket_id", "score", "raw_csat", "survey", "comment", "created_at",
                                        "updated_at"])
    out = pd.DataFrame({"id": frame["id"].astype("str"), "ticket_id": frame["ticket_id"].astype("str"),
                        "agent": pd.Series(pd.NA, index=frame.index, dtype="str"),
                        "group": pd.Series(pd.NA, index=frame.index, dtype="str"),
                        "score": frame["score"], "comment": frame["comment"].astype("object"),
                        "raw_csat": frame["raw_csat"].astype("object"), "survey": frame["survey"].astype("str")})
    # the response's send time is not exported: the rating answer's created_at stands for both
    out["sent_at"], _ = to_utc_naive(frame["created_at"].astype("object"))
    out["updated"], _ = to_utc_naive(frame["updated_at"].astype("object"))
    out["answered_at"] = out["updated"]
    return out


def _ticket_of(subjects) -> str | None:
    """The ticket a survey response is about: ``subjects[{type: ticket, id}]`` (or its ``zrn``
    ``zen:ticket:<id>``)."""
    for s in subjects or ():
        if not isinstance(s, dict):
            continue
        if str(s.get("type", "")).lower() == "ticket" and s.get("id") is not None:
            return str(s["id"]).strip()
        m = _TICKET_ZRN.match(str(s.get("zrn") or ""))
        if m:
            return m[1]
    return None


def _one_zendesk_scale(r: pd.DataFrame, mapping: Mapping, file: str):
    """The export's one scale and each survey's map (see ``scales.one_scale``): the legacy ratings are
    good/bad (2 points); a CSAT survey (version) has 2, 3 or 5 choices, from the mapping or proven by a
    rating of 4 or 5."""
    declared, given = mapping.csat_points, mapping.csat_by_survey
    keys = list(dict.fromkeys(r["survey"]))
    by_survey: dict[str, dict] = {}
    for key in keys:
        if key in given:
            by_survey[key] = given[key]
        elif key.split(":")[0] in given:
            by_survey[key] = given[key.split(":")[0]]
    stray = [k for k in given if k not in keys and k not in {x.split(":")[0] for x in keys}]
    if stray:
        raise ImportInputError(f"{mapping.name}: csat.by_survey.{stray[0]}: no ratings of survey {stray[0]} in {file}; "
                               f"the surveys there are {', '.join(keys)}", mapping.name)
    new_keys = [k for k in keys if k != LEGACY_KEY]
    if new_keys and declared is not None and declared not in NEW_CSAT_POINTS:
        raise ImportInputError(f"{mapping.name}: csat.points: {declared} is not a Zendesk CSAT scale; Zendesk's CSAT "
                               "has 2, 3 or 5 choices", mapping.name)
    surveys = []
    for key in keys:
        part = r.loc[(r["survey"] == key) & r["raw_csat"].notna(), "raw_csat"]
        values = tuple(dict.fromkeys(_value_key(v) for v in part))
        if len(part) == 0 and key not in by_survey:
            continue   # offered only: no answer on any scale
        if key in by_survey:
            surveys.append(SurveyScale(key, None, values, len(part)))
        elif key == LEGACY_KEY:
            surveys.append(SurveyScale(key, ZENDESK_LEGACY, values, len(part)))
        else:
            numbers = pd.to_numeric(part, errors="coerce")
            top = numbers.max()
            if pd.notna(top) and 3 < top <= 5:
                points = 5
            elif declared is not None:
                points = declared     # ratings off it stop the import (refuse_unreadable_ratings)
            elif pd.notna(top) and top > 5:
                points = 5            # more choices than any Zendesk survey: those ratings stop the import
            else:
                seen = ", ".join(str(v) for v in sorted(set(values)))
                raise ImportInputError(
                    f"{file}: the scale of CSAT survey {key} cannot be told from its ratings ({seen}): Zendesk's "
                    "CSAT has 2, 3 or 5 choices; state it in the mapping (csat: {points: 3}, or 2 or 5)", file)
            surveys.append(SurveyScale(key, zendesk_new_csat(points), values, len(part)))
    only_legacy = all(s.key == LEGACY_KEY for s in surveys)

    def make(points: int):
        if only_legacy and points == 2:
            return ZENDESK_LEGACY
        if points not in NEW_CSAT_POINTS:
            raise ImportInputError(f"{mapping.name}: csat.points: {points} is not a Zendesk CSAT scale; Zendesk's "
                                   "CSAT has 2, 3 or 5 choices", mapping.name)
        return zendesk_new_csat(points)

    if not surveys:
        return ZENDESK_LEGACY, {}, None
    scale, maps = one_scale(surveys, declared, by_survey, make, file=file, mapping=mapping.name,
                            field="score" if only_legacy else "answers[].rating")
    if by_survey:
        source = f"the mapping (csat.points, csat.by_survey for {', '.join(by_survey)})"
    elif declared is not None:
        source = "the mapping (csat.points)"
    elif only_legacy:
        source = None
    else:
        source = "the survey responses' ratings (a 4 or 5 exists only on 5-choice surveys)" if any(
            s.scale is not None and s.scale.points == 5 and s.key != LEGACY_KEY for s in surveys) else None
    return scale, maps, source
