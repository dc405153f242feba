"""A coaching page per agent (``agents/<label>.html`` in the report folder), written to the agent and their
team lead, built only from the run's published tables (``tables/*.csv``), so every number on it is the
number in a table and the agent is named by the label the tables use (a pseudonym unless ``--name-agents``).

A page says: the agent's adjusted effect with its interval, the verdict in words and the chance that it is
wrong; without a verdict, why, and about how many more replies would make one likely; what the contact mix
did to the raw score, part by part (``agent_mix_parts.csv``: "this part is not yours"); the survey picture
(``survey_screen.csv``); the place among the ranked agents with the rank's interval, speed against repeats
(``agent_metrics.csv``), the trend over the period (``agent_monthly_effects.csv``, ``agent_trend.csv``:
``agent_trend_page``) and the QA contacts chosen (``qa_plan.csv``, ``qa_sample.csv``) where the run has
them, and a sentence where it does not. Where agents were judged with shared credit (``shared_credit.csv``:
several agents worked on some contacts), the page says so and gives the effect and verdict the agent would
have had if each rating went to the agent assigned when the customer rated. No other agent is named: the
distribution is drawn as unlabelled ticks. Pages are rendered with autoescaping; charts are inline SVG; the
page prints on two A4 pages."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
from markupsafe import Markup

from . import svg
from .agent_rows import AgentTables, Ranked, read_table
from .agent_trend_page import trend_section

TEMPLATES = Path(__file__).resolve().parent / "templates"

AGENT_TEMPLATE = "agent_page.html.j2"
FOLDER = "agents"
MIX_NAMES = {"policy": "Policies", "product": "Products", "channel": "Channels", "issue_type": "Issue types"}
ABOVE, BELOW = "above average", "below average"
NEUTRAL, NOT_RANKABLE, UNDER_REVIEW = ("not distinguishable from average", "not enough responses to rank",
                                       "survey process under review")
#: The most replies the page will say are needed (beyond this: "many more than ...").
MAX_EXTRA_FACTOR = 100


def page_file(label: str, taken: set[str]) -> str:
    """A file name for an agent's page: the label with anything but letters, digits, '-' and '_' made '-',
    unique among `taken` (which it is added to)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", str(label)).strip("-") or "agent"
    name, n = f"{stem}.html", 1
    while name.lower() in taken:
        n += 1
        name = f"{stem}-{n}.html"
    taken.add(name.lower())
    return name


def agent_page_links(report_dir: Path) -> dict[str, str]:
    """label → relative href (``agents/<file>``) for every agent in tables/agent_effects.csv, in table order:
    the same names `write_agent_pages` uses."""
    effects = read_table(Path(report_dir), "agent_effects")
    if effects is None:
        return {}
    taken: set[str] = set()
    return {label: f"{FOLDER}/{page_file(label, taken)}" for label in effects["agent_id"].astype(str)}


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def points(value: Any) -> str:
    return f"{float(value):+.2f}".replace("-", "−") if _finite(value) else "—"


def level(value: Any) -> str:
    return f"{float(value):.2f}" if _finite(value) else "—"


def percent(value: Any, digits: int = 0) -> str:
    return f"{100 * float(value):.{digits}f}%" if _finite(value) else "—"


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


# ------------------------------------------------------------------------------------ how many more replies
def replies_for_reliability(n: float, reliability: float, needed: float) -> int | None:
    """More replies until reliability τ²/(τ² + σ²/n) reaches `needed` (from σ²/τ² = n(1 − r)/r); None where it
    cannot be said (no replies, reliability 0 or 1)."""
    if not (n > 0 and 0 < reliability < 1 and 0 < needed < 1):
        return None
    ratio = n * (1 - reliability) / reliability          # σ²/τ²
    return max(0, math.ceil(ratio * needed / (1 - needed) - n))


def replies_for_verdict(n: float, reliability: float, effect: float, cond_se: float, margin: float,
                        max_false_sign: float, needed: float) -> int | None:
    """More replies until a verdict is likely if the agent's unshrunk effect stays where it is estimated now
    (effect / reliability): the smallest extra m with reliability ≥ `needed` and (|shrunk effect| − margin) /
    conditional SD ≥ z(1 − max_false_sign), the shrunk effect and SD those of n + m replies (τ², σ² fixed).
    None where no number of replies would do (the estimate is within ±margin) or beyond MAX_EXTRA_FACTOR × n."""
    if not (n > 0 and 0 < reliability < 1 and _finite(effect) and _finite(cond_se) and cond_se > 0):
        return None
    ratio = n * (1 - reliability) / reliability
    tau2 = cond_se ** 2 / (1 - reliability)
    unshrunk = abs(effect) / reliability
    if unshrunk <= margin:
        return None
    z = NormalDist().inv_cdf(1 - max_false_sign)

    def enough(extra: int) -> bool:
        r = (n + extra) / (n + extra + ratio)
        return r >= needed and (r * unshrunk - margin) / math.sqrt(tau2 * (1 - r)) >= z

    limit = int(MAX_EXTRA_FACTOR * n)
    if not enough(limit):
        return None
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


# ------------------------------------------------------------------------------------ the page's sections
@dataclass
class Rule:
    """The rule the verdicts followed (tables/verdict_rule.csv)."""

    margin: float | None = None
    max_false_sign: float | None = None
    reliability_threshold: float | None = None
    outcome: str = "CSAT"
    unit: str = "points"
    unit_scale: float = 1.0

    @classmethod
    def read(cls, folder: Path) -> Rule:
        table = read_table(folder, "verdict_rule")
        if table is None or not len(table):
            return cls()
        row = table.iloc[0]
        get = lambda k: float(row[k]) if k in row and _finite(row[k]) else None  # noqa: E731
        text = lambda k, default: str(row[k]) if k in row and _finite_text(row[k]) else default  # noqa: E731
        return cls(get("practical_margin"), get("max_false_sign"), get("reliability_threshold"),
                   text("outcome", "CSAT"), text("unit", "points"), get("unit_scale") or 1.0)

    def effect(self, value: Any) -> str:
        """An effect as the study states it: '+0.62' points, '+12.3' percentage points of a share."""
        if not _finite(value):
            return "—"
        digits = 1 if self.unit_scale >= 100 else 2
        return f"{self.unit_scale * float(value):+.{digits}f}".replace("-", "−")


def verdict_section(row: dict, rule: Rule) -> dict:
    """The verdict in words, the chance it is wrong, and, without a verdict, why and what would give one."""
    verdict = str(row.get("verdict", ""))
    n = float(row["n_responses"])
    rel = float(row["reliability"]) if _finite(row.get("reliability")) else float("nan")
    margin = rule.margin if rule.margin is not None else 0.0
    lines: list[str] = []
    wrong = None
    if verdict in (ABOVE, BELOW):
        wrong = float(row["lfsr"]) if _finite(row.get("lfsr")) else None
        headline = f"Verdict: {verdict}."
        lines.append(f"The chance that this verdict points the wrong way is {percent(wrong, 1)} (the local false "
                     "sign rate; it assumes the model is right).")
    elif verdict == UNDER_REVIEW:
        headline = "No verdict: the survey process is under review."
        lines.append("The survey screen found the pattern described under 'Survey picture' below. Until that is "
                     "looked into, the replies cannot be trusted to judge the agent, and more replies would not "
                     "change this.")
    elif verdict == NOT_RANKABLE:
        headline = "No verdict yet: too few replies to rank."
        more = replies_for_reliability(n, rel, rule.reliability_threshold or float("nan"))
        needs = (f"ranking needs {level(rule.reliability_threshold)}" if rule.reliability_threshold is not None
                 else "that is below what ranking needs")
        lines.append(f"The estimate rests on {int(n)} {'reply' if n == 1 else 'replies'}: its reliability is "
                     f"{level(rel)}, and {needs}."
                     + (f" About {more} more {'reply' if more == 1 else 'replies'} would reach that." if more else ""))
    elif verdict == NEUTRAL:
        headline = "No verdict: not distinguishable from the average agent."
        lines.append(f"The chance of being below the average by more than {rule.effect(margin).lstrip('+')} "
                     f"{rule.unit} is "
                     f"{percent(row.get('p_below'))}, of being above it by more than that "
                     f"{percent(row.get('p_above'))}; a verdict needs one of them at "
                     f"{percent(1 - (rule.max_false_sign or 0.05))} or more.")
    else:
        headline = f"Verdict: {verdict or 'none'}."
    if verdict in (NOT_RANKABLE, NEUTRAL) and rule.max_false_sign is not None and rule.reliability_threshold:
        extra = replies_for_verdict(n, rel, float(row["effect"]), float(row["cond_se"]), margin,
                                    rule.max_false_sign, rule.reliability_threshold)
        if extra is None:
            lines.append(f"At the current estimate the effect is within ±{rule.effect(margin).lstrip('+')} {rule.unit} "
                         "of the average agent's "
                         "(or too close to it to separate with any likely number of replies): more replies would "
                         "most likely confirm 'not distinguishable from average'.")
        else:
            lines.append(f"If the effect stays where it is estimated now, about {extra} more "
                         f"{'reply' if extra == 1 else 'replies'} ({int(n + extra)} in all) would make a verdict "
                         "likely.")
    return {"verdict": verdict, "headline": headline, "lines": lines, "wrong": wrong}


def mix_section(row: dict, agents: AgentTables) -> dict:
    """What the contact mix did to the raw score against the average agent's mix, part by part, with the waterfall
    from the average agent's raw score to this agent's."""
    average_raw = agents.average_raw
    raw = float(row["raw_score"])
    parts = agents.rows("agent_mix_parts", str(row["agent_id"]))
    if not parts:
        total = float(row["mix_expected"]) - agents.average_mix_expected if _finite(row.get("mix_expected")) else None
        return {"available": False, "total": total, "rows": [], "chart": None, "average_raw": average_raw,
                "raw": raw, "rest": None}
    own = parts[0]
    names = [c for c in agents.columns("agent_mix_parts") if c not in ("agent_id", "total")]
    rows = [{"part": MIX_NAMES.get(c, c.replace("_", " ").capitalize()), "column": c, "value": float(own[c]),
             "csv": own[c]} for c in names]
    total = float(own["total"])
    rest = raw - average_raw - total
    steps = [(r["part"], r["value"], "mix") for r in rows] + [("Yours, and chance", rest, "own")]
    chart = svg.waterfall(steps, ("Average agent's raw score", average_raw), ("Raw score", raw),
                          "How the contact mix and the agent moved the raw score from the average agent's")
    return {"available": True, "total": total, "rows": rows, "chart": chart, "average_raw": average_raw,
            "raw": raw, "rest": rest}


def survey_section(screen: list[dict] | None, scored: Any = None) -> dict:
    """Invitations, replies and rates against the expected ones, and the screen's finding in words; where the
    screen's replies (every answered survey) outnumber the `scored` replies the estimate rests on, a note says
    what each counts. `screen`: the agent's rows of survey_screen.csv."""
    if not screen:
        return {"available": False}
    row = screen[0]
    found = []
    if _flag(row.get("flag_invitations")):
        found.append("fewer surveys were sent than the agent's own contacts predict (overall or after adverse "
                     "contacts)")
    if _flag(row.get("flag_combined")):
        found.append("fewer surveys together with more replies than expected")
    if _flag(row.get("flag_response")):
        found.append("more of the surveys were answered than expected (noted, not a reason for review on its own)")
    if _flag(row.get("flag_scores")):
        found.append("more top-box scores than expected (noted, not a reason for review on its own)")
    not_run = [what for what, z in (("invitations", "z_invitation"), ("replies", "z_response"))
               if z in row and not _finite(row[z])]
    if _flag(row.get("flagged")):
        finding = "Under review: " + "; ".join(found or ["the screen flagged the survey process"]) + "."
    elif found:
        finding = "Not under review. The screen noted: " + "; ".join(found) + "."
    else:
        finding = "Nothing unusual: invitations and replies are where the agent's own contacts predict them."
    if not_run:
        finding += f" The data cannot show the {' and the '.join(not_run)} test, so it was not run."
    replies = int(row["n_responses"]) if _finite(row.get("n_responses")) else None
    note = (f"The replies count every answered survey; {int(scored)} of these {replies} carry the CSAT score that "
            "the estimate above rests on." if replies is not None and _finite(scored) and int(scored) != replies
            else None)
    return {"available": True, "row": row, "finding": finding, "note": note}


def position_section(row: dict, ranked: Ranked) -> dict:
    """Where the agent stands among the ranked agents: a strip of every ranked agent's effect (unlabelled)
    with this one marked, the rank and its 95% interval."""
    chart = ranked.strip.draw(float(row["effect"]) if _finite(row.get("effect")) else None)
    if _finite(row.get("adjusted_rank")):
        text = (f"Rank {int(row['adjusted_rank'])} of {ranked.count} ranked agents (1 = best once the contact mix "
                f"is accounted for); with the uncertainty of the estimates the rank could be anywhere from "
                f"{int(row['rank_lower'])} to {int(row['rank_upper'])} (95%).")
    else:
        text = (f"Not ranked ({row.get('verdict')}); the blue dot shows where the estimate falls among the "
                f"{ranked.count} ranked agents.")
    team = row.get("team")
    if _finite(row.get("adjusted_rank")) and ranked.teams and _finite_text(team):
        place, mates = ranked.team_place(team, float(row["effect"]))
        text += f" Within {team}: {place} of {mates} ranked agents."
    return {"chart": chart, "text": text}


def speed_section(metrics: list[dict] | None) -> str | None:
    """Speed against repeats in a sentence, from the agent's row of agent_metrics.csv; None without one."""
    if not metrics:
        return None
    row = metrics[0]
    return (f"Handle time {level(row.get('handle_time_ratio'))} × the average agent's on the same contacts, "
            f"odds of a repeat contact {level(row.get('repeat_odds_ratio'))} ×; probability of being faster than "
            f"average {percent(row.get('p_fast'))}, of more repeats {percent(row.get('p_repeats'))}, of both "
            f"{percent(row.get('p_quadrant'))} (an association, not a cause).")


def qa_section(plan: list[dict] | None, sample: list[dict] | None, sample_columns: list[str]) -> dict | None:
    """The agent's QA reviews (their rows of qa_plan.csv and qa_sample.csv); None without a plan row."""
    if not plan:
        return None
    row = plan[0]
    reviews = int(row["reviews"]) if _finite(row.get("reviews")) else 0
    columns = [c for c in ("contact_id", "opened_at", "channel", "policy", "issue_type") if c in sample_columns]
    return {"reviews": reviews, "reason": str(row.get("reason") or ""),
            "reliability_after": row.get("reliability_after"),
            "contacts": [{c: contact[c] for c in columns} for contact in sample or []], "columns": columns}


def credit_section(credit: list[dict] | None, rule: Rule) -> dict | None:
    """Shared credit (tables/shared_credit.csv from agent_vs_system): how much of the agent's work was shared and
    the effect and verdict under rating-time attribution beside those under shared credit; None without it."""
    if not credit:
        return None
    row = credit[0]
    changed = _flag(row.get("changed"))
    text = (f"Several agents worked on some contacts, so each rating counts for every agent who worked on the contact "
            f"by their share of the work (shared credit); {percent(row.get('shared_share'))} of the rated contacts "
            f"you worked on were shared. Had each rating gone to the agent assigned when the customer rated, your "
            f"effect would be {rule.effect(row.get('effect_rating_time'))} {rule.unit} "
            f"({row.get('verdict_rating_time')}) instead of {rule.effect(row.get('effect_shared'))} "
            f"({row.get('verdict_shared')}){': the verdict changes' if changed else ''}.")
    return {"text": text, "changed": changed, "row": row}


def agent_context(row: dict, agents: AgentTables, rule: Rule) -> dict:
    """Everything the page template shows for the agent of `row` (a row of agent_effects.csv)."""
    label = str(row["agent_id"])
    own = lambda name: agents.rows(name, label)  # noqa: E731
    k = rule.unit_scale
    effect_chart = (svg.interval_chart(k * float(row["effect"]), k * float(row["lower"]), k * float(row["upper"]),
                                       k * (rule.margin or 0.0), "The agent's effect with its 95% interval")
                    if all(_finite(row.get(k)) for k in ("effect", "lower", "upper")) else None)
    return {
        "label": label, "row": row, "team": row.get("team") if _finite_text(row.get("team")) else None,
        "effect_chart": effect_chart, "verdict": verdict_section(row, rule), "mix": mix_section(row, agents),
        "survey": survey_section(own("survey_screen"), row.get("n_responses")),
        "position": position_section(row, agents.ranked),
        "speed": speed_section(own("agent_metrics")),
        "qa": qa_section(own("qa_plan"), own("qa_sample"), agents.columns("qa_sample")),
        "credit": credit_section(own("shared_credit"), rule),
        "trend": trend_section(own("agent_monthly_effects"), own("agent_trend"), rule,
                               shared_credit=agents.tables["shared_credit"] is not None),
        "margin": rule.margin, "rule": rule,
    }


def _finite_text(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and str(value).strip() != ""


def write_agent_pages(report_dir: str | Path, *, title: str, period: str | None, version: str) -> dict[str, str]:
    """Write ``agents/<label>.html`` for every agent in tables/agent_effects.csv; returns label → href (relative
    to the report folder). Nothing (an empty dict) when the run published no agent table."""
    import jinja2

    folder = Path(report_dir)
    agents = AgentTables.read(folder)
    if agents is None:
        return {}
    rule = Rule.read(folder)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(points=points, level=level, percent=percent, effect=rule.effect)
    template = env.get_template(AGENT_TEMPLATE)
    css = Markup((TEMPLATES / "agent_page.css").read_text(encoding="utf-8"))  # our own file
    out = folder / FOLDER
    out.mkdir(exist_ok=True)
    links = agent_page_links(folder)
    for row in agents.effects.to_dict("records"):
        html = template.render(css=css, title=title, period=period, version=version,
                               **agent_context(row, agents, rule))
        (folder / links[str(row["agent_id"])]).write_text(html, encoding="utf-8")
    return links
