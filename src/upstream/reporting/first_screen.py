"""The index's first screen for leadership, and the agent and policy tables, from the run's published tables.

The rule for the leading findings (at most LIMIT, in this order), fixed here so that it can be checked:

1. A survey-process review: when the survey screen (tables/survey_screen.csv) puts any agent under review,
   that comes first, whatever its size: those agents get no verdict until it is looked into.
2. Then the largest effects in score points whose 95% interval excludes zero, by absolute size: the policies
   (tables/policy_effects.csv, family-wise intervals `lower_adj`/`upper_adj`: all of a table's levels at
   once) and the channels' CSAT differences with the mix held fixed (tables/channel_differences.csv, metric
   `csat`, family-wise intervals),
   at most PER_TABLE from one table so that one long list does not fill the screen; and the trends study's
   change between the two months it compares (tables/trend_decomposition.csv, bootstrap intervals): the change
   on the same contact mix (`within`: a change in service) and the change the contact mix made (`mix`), each
   where its interval excludes zero, competing with the others by size (all are CSAT points).

Each finding has its one picture: the table's estimates with their intervals, the finding's row in colour
(or, for the review, the share of agents under review). Long lists go to the tables below the findings."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from . import svg
from .agent_pages import Rule, points, read_table

LIMIT = 5
PER_TABLE = 3


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _unit(folder: Path) -> str:
    """The unit the studies state for CSAT effects ('CSAT points' on a linear scale)."""
    for name, key, value in (("channel_differences", "metric", "csat"), ("policy_outcomes", "outcome", "csat")):
        table = read_table(folder, name)
        if table is not None and "unit" in table and len(rows := table[table[key] == value]):
            return str(rows["unit"].iloc[0])
    return "CSAT points"


def _interval_findings(table: pd.DataFrame, name_column: str, what: str, unit: str, href: str) -> list[dict]:
    lower = "lower_adj" if "lower_adj" in table else "lower"
    upper = "upper_adj" if "upper_adj" in table else "upper"
    kind = "family-wise 95% interval" if lower == "lower_adj" else "95% interval"
    rows = table[table["effect"].map(_finite)]
    forest_rows = [(str(r[name_column]), float(r["effect"]), float(r[lower]), float(r[upper]))
                   for _, r in rows.sort_values("effect").iterrows()]
    out = []
    for _, r in rows.iterrows():
        lo, hi = float(r[lower]), float(r[upper])
        if not (_finite(lo) and _finite(hi)) or lo <= 0 <= hi:
            continue
        name, effect = str(r[name_column]), float(r["effect"])
        direction = "raises" if effect > 0 else "lowers"
        out.append({
            "size": abs(effect), "href": href, "value": effect,
            "sentence": f"{what} '{name}' {direction} CSAT by {points(abs(effect)).lstrip('+')} {unit} against the "
                        f"average contact, whoever handles it ({kind} {points(lo)} to {points(hi)}).",
            "chart": svg.forest(forest_rows, name, f"{what} effects with {kind}s; '{name}' in colour"),
        })
    return sorted(out, key=lambda f: -f["size"])[:PER_TABLE]


TREND_PARTS = {"within": "Same contact mix", "mix": "Contact mix", "change": "Total change"}


def _months(folder: Path) -> str:
    """'from 2026-01 to 2026-03' (the months tables/period_scores.csv compares), or 'between the months compared'."""
    periods = read_table(folder, "period_scores")
    months = [str(p) for p in periods["period"] if str(p) != "change"] if periods is not None and "period" in \
        periods else []
    return f"from {months[0]} to {months[1]}" if len(months) == 2 else "between the two months compared"


def _trend_findings(folder: Path, unit: str, href: str) -> list[dict]:
    """The trends study's within-mix and mix changes whose 95% interval excludes zero (module docstring)."""
    parts = read_table(folder, "trend_decomposition")
    if parts is None or not {"part", "estimate", "lower", "upper"} <= set(parts):
        return []
    parts = parts.set_index("part")
    shown = [k for k in TREND_PARTS if k in parts.index and _finite(parts.loc[k, "estimate"])]
    forest_rows = [(TREND_PARTS[k], *(float(parts.loc[k, c]) for c in ("estimate", "lower", "upper"))) for k in shown]
    out = []
    for key in ("within", "mix"):
        if key not in shown:
            continue
        effect, lo, hi = (float(parts.loc[key, c]) for c in ("estimate", "lower", "upper"))
        if not (_finite(lo) and _finite(hi)) or lo <= 0 <= hi:
            continue
        direction = "rose" if effect > 0 else "fell"
        size = f"{points(abs(effect)).lstrip('+')} {unit} {_months(folder)} (95% interval {points(lo)} to {points(hi)})"
        sentence = (f"On the same contact mix, CSAT {direction} by {size}: a change in service, not in the contacts."
                    if key == "within" else
                    f"The change in the contact mix {'raised' if effect > 0 else 'lowered'} CSAT by {size}, whoever "
                    "handled the contacts: not a change in service.")
        out.append({"size": abs(effect), "href": href, "value": effect, "sentence": sentence,
                    "chart": svg.forest(forest_rows, TREND_PARTS[key],
                                        f"The change in expected CSAT and its parts; '{TREND_PARTS[key]}' in colour")})
    return sorted(out, key=lambda f: -f["size"])


def leading_findings(report_dir: str | Path, hrefs: dict[str, str] | None = None) -> list[dict]:
    """The first screen's findings (see the module docstring), each {sentence, chart, href}."""
    folder = Path(report_dir)
    hrefs = hrefs or {}
    found: list[dict] = []
    screen = read_table(folder, "survey_screen")
    if screen is not None and "flagged" in screen and len(screen):
        flagged = int(screen["flagged"].astype(str).str.lower().eq("true").sum())
        if flagged:
            total = len(screen)
            found.append({"href": hrefs.get("survey_health", hrefs.get("agent_vs_system", "")), "value": flagged,
                          "sentence": f"The survey process of {flagged} of {total} agents is under review: fewer "
                                      "surveys were sent than their own contacts predict (or fewer together with "
                                      "more replies). They get no verdict until it is looked into.",
                          "chart": svg.share_bar(flagged, total, "Agents whose survey process is under review",
                                                 f"{flagged} under review", f"{total - flagged} not")})
    unit = _unit(folder)
    effects: list[dict] = []
    policy = read_table(folder, "policy_effects")
    if policy is not None and {"policy", "effect"} <= set(policy):
        # a share's effects are in its own units (0.18) and the unit is percentage points: scaled as the study states
        # them (tables/verdict_rule.csv unit_scale), so the policy and channel cards agree and compare
        scale = Rule.read(folder).unit_scale
        shown = policy.assign(**{c: policy[c] * scale for c in ("effect", "lower", "upper", "lower_adj", "upper_adj")
                                 if c in policy})
        effects += _interval_findings(shown, "policy", "Policy", unit, hrefs.get("agent_vs_system", ""))
    channels = read_table(folder, "channel_differences")
    if channels is not None and {"metric", "channel", "effect"} <= set(channels):
        effects += _interval_findings(channels[channels["metric"] == "csat"], "channel", "Channel", unit,
                                      hrefs.get("channel_audit", ""))
    effects += _trend_findings(folder, unit, hrefs.get("trends", ""))
    found += sorted(effects, key=lambda f: -f["size"])
    return found[:LIMIT]


AGENT_COLUMNS = [("agent_id", "Agent", "text"), ("verdict", "Verdict", "text"), ("n_responses", "Replies", "count"),
                 ("effect", "Effect", "points"), ("lower", "Lower 95%", "points"), ("upper", "Upper 95%", "points"),
                 ("reliability", "Reliability", "level"), ("lfsr", "Chance of wrong sign", "level"),
                 ("adjusted_rank", "Rank", "count"), ("team", "Team", "text")]
POLICY_COLUMNS = [("policy", "Policy", "text"), ("n_contacts", "Contacts", "count"),
                  ("n_responses", "Replies", "count"), ("effect", "Effect", "points"),
                  ("lower_adj", "Lower 95% (Holm)", "points"), ("upper_adj", "Upper 95% (Holm)", "points"),
                  ("p_holm", "p (Holm)", "p"), ("top_quarter", "Top quarter of agents", "points")]


def _cell(value, kind: str) -> dict:
    """A table cell: the shown text and the CSV's value (data-value, which the sort uses)."""
    raw = "" if value is None or (isinstance(value, float) and math.isnan(value)) else value
    if raw == "":
        return {"text": "—", "value": ""}
    if kind == "points":
        text = points(raw)
    elif kind == "level":
        text = f"{float(raw):.2f}"
    elif kind == "count":
        text = f"{int(float(raw)):,}"
    elif kind == "p":
        text = "<0.001" if float(raw) < 0.001 else f"{float(raw):.3f}"
    else:
        text = str(raw)
    return {"text": text, "value": str(raw)}


def _table(frame: pd.DataFrame | None, columns, links: dict[str, str] | None = None, key: str = "") -> dict | None:
    if frame is None or not len(frame):
        return None
    present = [(c, head, kind) for c, head, kind in columns if c in frame]
    rows = []
    for _, r in frame.iterrows():
        cells = [_cell(r[c], kind) for c, _, kind in present]
        rows.append({"cells": cells, "href": (links or {}).get(str(r[key])) if key else None})
    return {"headers": [{"text": head, "numeric": kind != "text"} for _, head, kind in present], "rows": rows}


def agent_table(report_dir: str | Path, links: dict[str, str]) -> dict | None:
    """tables/agent_effects.csv as a sortable table, each agent linked to their page."""
    return _table(read_table(Path(report_dir), "agent_effects"), AGENT_COLUMNS, links, "agent_id")


def policy_table(report_dir: str | Path) -> dict | None:
    """tables/policy_effects.csv as a sortable table."""
    return _table(read_table(Path(report_dir), "policy_effects"), POLICY_COLUMNS)

