"""What the studies ask of the rows, asked in SQL: every query here is written once (``Dialect`` for the
few spellings that differ) and runs on DuckDB or Spark; only per-agent, per-level or per-cell results
come back.

- `prepare_replies`: the replies the agent model is fitted to (``frames.responses``: answered
  invitations with a score), kept as a table `replies` (small next to contacts).
- `mix_design`: the contact-mix factors that vary among the replies, their levels in R's order
  (sorted, reference first) and the fixed-effect column names lmer gives them (`policyrefund above cap`).
- `agent_sums`: per agent the sufficient statistics of `y ~ mix + (1 | agent)` — n, Σw, Σlog w,
  X'W1, X'WX, X'Wy, 1'Wy, y'Wy — with the treatment-contrast dummies built in SQL. X'WX needs only
  the cross-factor products (a dummy times itself is the dummy, two levels of one factor never meet).
- `group_sums`, `agent_customer_cells`: for the crossed agent × customer model fitted in O(N)
  (``upstream.models.crossed``): per level of a grouping column n, X'1 and 1'y; replies per agent ×
  customer cell.
- `contact_cells`: contacts per combination of the mix levels (the average contact; level weights).
- `level_residuals`: per level of a factor, the conditional residuals' n, Σe, Σe², median and the
  sums of |e − median| (Brown–Forsythe), given β̂ and the agents' modes.
- `screen_view`, `screen_cells`, `screen_agent_sums`: the survey screen in two passes over the
  contacts (one in a study run: the counts per feature cell are survey_health's ``survey.survey_cells``,
  shared through the run's cache) — counts per feature cell (a binomial GLM on counts per cell gives the row-level fit's
  estimates), then, given each cell's fitted probabilities, per agent the observed counts, Σp̂ and
  Σp̂(1 − p̂) of invitations, replies and top-box scores.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...survey.constants import AGENT
from ..description import DEFAULT_CSAT, CsatScale
from ..frames import ADVERSE, CONTACT_MIX
from ..model_formula import varying

#: Contact features of the survey screen (``analysis.screen.SCREEN_FEATURES``); credited = credit_issued > 0.
SCREEN_FEATURES = ("channel", "policy", "product", "issue_type", "escalated", "repeat_within_7d",
                   "resolved_first_contact", "credited")


def _i(ds, name: str) -> str:
    return ds.engine.dialect.ident(name)


def _lit(ds, value) -> str:
    return ds.engine.dialect.literal(value)


def prepare_replies(ds, outcome: str = "csat", mix=CONTACT_MIX, extra: dict | None = None) -> int:
    """Materialise `replies` (agent, mix, customer, y = outcome as DOUBLE, and `extra`: name → SQL
    expression over the contact `c` and its survey `s`) and return its row count; the table is made once while
    the same replies are asked for again (a study's steps each ask; one pass over the replies at 10 M is seconds)."""
    if outcome not in ("csat", "nps"):
        raise ValueError(f"outcome must be 'csat' or 'nps', not {outcome!r}")
    i = lambda c: _i(ds, c)  # noqa: E731
    cols = [AGENT, *mix, "customer_id"]
    complete = " AND ".join(f"c.{i(c)} IS NOT NULL" for c in cols)
    more = "".join(f", {expr} AS {i(name)}" for name, expr in (extra or {}).items())
    ds.engine.table_once("replies", f"SELECT {', '.join(f'c.{i(c)}' for c in cols)}, "
                                    f"CAST(s.{i(outcome)} AS DOUBLE) AS y{more} "
                                    f"FROM surveys s JOIN contacts c ON s.{i('contact_id')} = c.{i('contact_id')} "
                                    f"WHERE (s.{i('responded_at')} IS NOT NULL OR s.{i('csat')} IS NOT NULL OR "
                                    f"s.{i('nps')} IS NOT NULL) AND s.{i(outcome)} IS NOT NULL AND {complete}")
    n = int(ds.engine.rows("SELECT count(*) FROM replies")[0][0])
    if n == 0:
        raise ValueError(f"the data set has no survey responses with a {outcome} value")
    return n


@dataclass(frozen=True)
class MixDesign:
    """The fixed-effect columns of `y ~ mix + (1 | agent)` as lmer builds them from the replies."""

    mix: tuple[str, ...]
    levels: dict                 # variable -> level labels, reference first
    level_counts: dict           # variable -> replies per level
    names: tuple[str, ...]       # (Intercept), then f"{variable}{level}" for every non-reference level
    term_of_column: tuple[str, ...]
    columns: tuple               # per column: None (intercept) or (variable, level)


def mix_design(ds, mix, table: str = "replies") -> MixDesign:
    """Levels of each mix variable among the replies (the variables that enter: ``model_formula.varying``,
    the pandas path's rule) and the design's column names (`table`: another table with the replies' columns)."""
    found = {}
    for var in mix:
        rows = ds.engine.rows(f"SELECT {_i(ds, var)}, count(*) FROM {table} GROUP BY {_i(ds, var)}")
        found[var] = dict((str(k), int(n)) for k, n in rows)
    levels, counts = {}, {}
    for var in varying({var: len(found[var]) for var in mix}, mix):
        labels = sorted(found[var])
        levels[var], counts[var] = labels, [found[var][k] for k in labels]
    names, terms, columns = ["(Intercept)"], ["(Intercept)"], [None]
    for var, labels in levels.items():
        for lab in labels[1:]:
            names.append(f"{var}{lab}")
            terms.append(var)
            columns.append((var, lab))
    return MixDesign(tuple(levels), levels, counts, tuple(names), tuple(terms), tuple(columns))


def _is(ds, column) -> str:
    var, lab = column
    return f"{_i(ds, var)} = {_lit(ds, lab)}"


def agent_sums(ds, design: MixDesign, weight: str | None = None, per_group_xtx: bool = True,
               table: str = "replies") -> dict:
    """Per-agent sufficient statistics (see the module docstring) as arrays: levels (sorted agent ids),
    n, s (G×p), xtx (G×p×p), xty (G×p), sy, yty, and with `weight` (a SQL expression of a reply's
    prior weight) sum_w and sum_log_w. `per_group_xtx` False: xtx is None and xtx_sum (p×p) the total
    (G·p² numbers are too many for a wide design and many agents; the fit needs only the total)."""
    d = ds.engine.dialect
    cols = design.columns
    p = len(cols)
    w = "1" if weight is None else f"CAST({weight} AS DOUBLE)"
    parts = ["count(*)", "sum(_w)", f"sum({d.log('_w')})" if weight is not None else "0", "sum(_w * y)",
             "sum(_w * y * y)"]
    parts += [f"sum(CASE WHEN {_is(ds, c)} THEN _w ELSE 0 END)" for c in cols[1:]]
    parts += [f"sum(CASE WHEN {_is(ds, c)} THEN _w * y ELSE 0 END)" for c in cols[1:]]
    pairs = [(a, b) for a in range(1, p) for b in range(a + 1, p) if cols[a][0] != cols[b][0]]
    products = [f"sum(CASE WHEN {_is(ds, cols[a])} AND {_is(ds, cols[b])} THEN _w ELSE 0 END)" for a, b in pairs]
    if not per_group_xtx:
        return _agent_sums_total_xtx(ds, design, parts, products, pairs, w, weight is not None, table)
    parts += products
    frame, v = _per_agent(ds, parts, w, table)
    G = len(frame)
    n, sum_w, sum_log_w, sy, yty = v[:, 0].astype(np.int64), v[:, 1], v[:, 2], v[:, 3], v[:, 4]
    s = np.empty((G, p))
    xty = np.empty((G, p))
    s[:, 0], xty[:, 0] = sum_w, sy
    s[:, 1:], xty[:, 1:] = v[:, 5:5 + p - 1], v[:, 5 + p - 1:5 + 2 * (p - 1)]
    xtx = np.zeros((G, p, p))
    xtx[:, 0, :] = s
    xtx[:, :, 0] = s
    idx = np.arange(1, p)
    xtx[:, idx, idx] = s[:, 1:]
    for k, (a, b) in enumerate(pairs):
        xtx[:, a, b] = xtx[:, b, a] = v[:, 5 + 2 * (p - 1) + k]
    out = dict(levels=list(frame["g"]), n=n, s=s, xtx=xtx, xty=xty, sy=sy, yty=yty)
    if weight is not None:
        out.update(sum_w=sum_w, sum_log_w=sum_log_w)
    return out


def _per_agent(ds, parts: list[str], w: str, table: str = "replies") -> tuple[pd.DataFrame, np.ndarray]:
    """One row per agent (sorted by its id as text) of the SQL sums `parts` over the replies with weight `w`:
    the frame (agent id in `g`) and its sums as a float matrix."""
    select = ", ".join(f"{e} AS a{k}" for k, e in enumerate(parts))
    frame = ds.engine.frame(f"SELECT {_i(ds, AGENT)} AS g, {select} FROM (SELECT *, {w} AS _w FROM {table}) r "
                            f"GROUP BY {_i(ds, AGENT)}")
    frame["g"] = frame["g"].astype(str)
    frame = frame.sort_values("g", kind="stable").reset_index(drop=True)
    return frame, frame.drop(columns="g").to_numpy(dtype=float)


def _agent_sums_total_xtx(ds, design: MixDesign, parts, products, pairs, w: str, weighted: bool,
                          table: str = "replies") -> dict:
    """``agent_sums`` without the per-agent X'X: the per-agent sums, and the cross products as one total."""
    p = len(design.columns)
    frame, v = _per_agent(ds, parts, w, table)
    s = np.empty((len(frame), p))
    xty = np.empty((len(frame), p))
    s[:, 0], xty[:, 0] = v[:, 1], v[:, 3]
    s[:, 1:], xty[:, 1:] = v[:, 5:5 + p - 1], v[:, 5 + p - 1:5 + 2 * (p - 1)]
    total = s.sum(axis=0)
    xtx = np.zeros((p, p))
    xtx[0, :] = xtx[:, 0] = total
    xtx[np.arange(1, p), np.arange(1, p)] = total[1:]
    if pairs:
        row = ds.engine.rows(f"SELECT {', '.join(products)} FROM (SELECT *, {w} AS _w FROM {table}) r")[0]
        for (a, b), value in zip(pairs, row):
            xtx[a, b] = xtx[b, a] = float(value)
    out = dict(levels=list(frame["g"]), n=v[:, 0].astype(np.int64), s=s, xtx=None, xtx_sum=xtx, xty=xty, sy=v[:, 3],
               yty=v[:, 4])
    if weighted:
        out.update(sum_w=v[:, 1], sum_log_w=v[:, 2])
    return out


def group_sums(ds, design: MixDesign, group: str) -> dict:
    """Per level of `group` (sorted as strings): levels, n, s = X'1 (G×p) and sy = 1'y of the replies."""
    cols = design.columns
    parts = ["count(*)", "sum(y)"] + [f"sum(CASE WHEN {_is(ds, c)} THEN 1 ELSE 0 END)" for c in cols[1:]]
    select = ", ".join(f"{e} AS a{k}" for k, e in enumerate(parts))
    frame = ds.engine.frame(f"SELECT {ds.engine.dialect.text(_i(ds, group))} AS g, {select} FROM replies "
                            f"GROUP BY {_i(ds, group)}")
    v = frame.drop(columns="g").to_numpy(dtype=float)
    s = np.empty((len(frame), len(cols)))
    s[:, 0] = v[:, 0]
    s[:, 1:] = v[:, 2:]
    levels = frame["g"].to_numpy(dtype=object)
    order = np.argsort(levels, kind="stable")          # Python's string order, whatever the engine's collation
    return dict(levels=levels[order], n=v[order, 0].astype(np.int64), s=s[order], sy=v[order, 1])


def agent_customer_cells(ds, agent: str = "agent_id", customer: str = "customer_id") -> pd.DataFrame:
    """Replies per agent × customer cell: agent, customer (strings), n."""
    text = ds.engine.dialect.text
    frame = ds.engine.frame(f"SELECT {text(_i(ds, agent))} AS agent, {text(_i(ds, customer))} AS customer, "
                            f"count(*) AS n FROM replies GROUP BY {_i(ds, agent)}, {_i(ds, customer)}")
    return frame.astype({"n": np.int64})


def repeat_customers(ds, customer: str = "customer_id") -> int:
    """Customers with at least two replies."""
    return int(ds.engine.rows(f"SELECT count(*) FROM (SELECT {_i(ds, customer)} FROM replies "
                              f"GROUP BY {_i(ds, customer)} HAVING count(*) >= 2) t")[0][0])


def contact_cells(ds, mix) -> pd.DataFrame:
    """Contacts per combination of the mix variables' levels (all contacts of the period)."""
    cols = ", ".join(_i(ds, v) for v in mix)
    frame = ds.engine.frame(f"SELECT {cols}, count(*) AS n FROM contacts GROUP BY {cols}")
    return frame.astype({v: str for v in mix})


def _xb(ds, design: MixDesign, beta: pd.Series) -> str:
    """x'β̂ of a reply in SQL (columns not in β̂ — dropped as aliased — count 0)."""
    terms = [repr(float(beta.get("(Intercept)", 0.0)))]
    for var in design.mix:
        whens = [f"WHEN {_lit(ds, lab)} THEN {float(beta[name])!r}" for (v, lab), name
                 in zip(design.columns[1:], design.names[1:]) if v == var and name in beta.index]
        if whens:
            terms.append(f"CASE {_i(ds, var)} {' '.join(whens)} ELSE 0.0 END")
    return " + ".join(terms)


def level_residuals(ds, design: MixDesign, beta: pd.Series, modes: pd.Series, variable: str) -> pd.DataFrame:
    """Per level of `variable`: n, sum_e, sum_e2, median, sum_z, sum_z2 of the conditional residuals
    e = y − x'β̂ − b̂_agent and z = |e − median of the level|."""
    ds.engine.register("agent_modes", pd.DataFrame({"g": modes.index.astype(str), "b": modes.to_numpy(float)}))
    v = _i(ds, variable)
    e = (f"SELECT r.{v} AS lvl, r.y - ({_xb(ds, design, beta)}) - coalesce(m.b, 0.0) AS e "
         f"FROM replies r LEFT JOIN agent_modes m ON r.{_i(ds, AGENT)} = m.g")
    frame = ds.engine.frame(
        f"WITH e AS ({e}), med AS (SELECT lvl, median(e) AS med FROM e GROUP BY lvl) "
        "SELECT e.lvl AS level, count(*) AS n, sum(e.e) AS sum_e, sum(e.e * e.e) AS sum_e2, min(med.med) AS median, "
        "sum(abs(e.e - med.med)) AS sum_z, sum((e.e - med.med) * (e.e - med.med)) AS sum_z2 "
        "FROM e JOIN med ON e.lvl = med.lvl GROUP BY e.lvl")
    frame["level"] = frame["level"].astype(str)
    return frame.set_index("level").sort_index()


TREND_MIX = ("policy", "product", "channel", "issue_type")


def prepare_trend_replies(ds, scale: CsatScale = DEFAULT_CSAT, mix=TREND_MIX) -> int:
    """`replies` of the CSAT answers with their week, month, NPS and top box (``analysis.trends``)."""
    d = ds.engine.dialect
    opened = f"c.{_i(ds, 'opened_at')}"
    nps = f"CAST(s.{_i(ds, 'nps')} AS DOUBLE)" if "nps" in ds.columns["surveys"] else "CAST(NULL AS DOUBLE)"
    top = f"CASE WHEN {scale.top_box_sql('s.' + _i(ds, 'csat'))} THEN 1 ELSE 0 END"
    return prepare_replies(ds, "csat", tuple(mix), extra={"week": d.week_start(opened), "month": d.month(opened),
                                                          "nps": nps, "top": top})


def score_sums(ds, by: str) -> pd.DataFrame:
    """Per value of the replies' column `by` (week or month): replies, Σy, Σy², top-box count, and the NPS
    answers with their promoters (9–10), passives and detractors (0–6) — all ``trends.score_table`` needs."""
    b = _i(ds, by)
    frame = ds.engine.frame(
        f"SELECT {b} AS g, count(*) AS replies, sum(y) AS sum_y, sum(y * y) AS sum_y2, sum(top) AS top, "
        "sum(CASE WHEN nps >= 9 THEN 1 ELSE 0 END) AS promoters, "
        "sum(CASE WHEN nps > 6 AND nps < 9 THEN 1 ELSE 0 END) AS passives, "
        f"sum(CASE WHEN nps <= 6 THEN 1 ELSE 0 END) AS detractors FROM replies GROUP BY {b}")
    frame = frame.astype({"g": str}).set_index("g").sort_index()
    frame.index.name = None
    return frame.astype({c: np.int64 for c in ("replies", "top", "promoters", "passives", "detractors")})


def months(ds, table: str = "contacts") -> list[str]:
    """The months with contacts (`table` "contacts") or with CSAT replies ("replies"), sorted."""
    column = ds.engine.dialect.month(_i(ds, "opened_at")) if table == "contacts" else _i(ds, "month")
    return sorted(str(m) for (m,) in ds.engine.rows(f"SELECT DISTINCT {column} FROM {table}") if m is not None)


def period_level_counts(ds, months, variables) -> dict:
    """Contacts of each of `months` per level of each variable (`week` and the mix): {month: {variable: ``Series``
    of counts}}, from one pass over the contacts (counts per month × week × mix cell, summed per variable)."""
    d = ds.engine.dialect
    opened = _i(ds, "opened_at")
    exprs = [d.week_start(opened) if v == "week" else d.text(_i(ds, v)) for v in variables]
    month = d.month(opened)
    cells = ds.engine.frame(f"SELECT {month} AS m, {', '.join(f'{e} AS v{k}' for k, e in enumerate(exprs))}, "
                            f"count(*) AS n FROM contacts WHERE {month} IN ({', '.join(_lit(ds, m) for m in months)}) "
                            f"GROUP BY {month}, {', '.join(exprs)}")
    out = {}
    for m in months:
        of_month = cells[cells["m"].astype(str) == str(m)]
        out[m] = {v: pd.Series({str(k): int(n) for k, n in of_month.groupby(f"v{k}")["n"].sum().items()},
                               dtype=float).sort_index() for k, v in enumerate(variables)}
    return out


def rated_contacts(ds) -> str:
    """The contact ids with a CSAT reply (``frames.responses(ds, "csat")``)."""
    i = lambda c: _i(ds, c)  # noqa: E731
    return (f"SELECT DISTINCT s.{i('contact_id')} AS cid FROM surveys s JOIN contacts c ON s.{i('contact_id')} = "
            f"c.{i('contact_id')} WHERE (s.{i('responded_at')} IS NOT NULL OR s.{i('csat')} IS NOT NULL OR "
            f"s.{i('nps')} IS NOT NULL) AND s.{i('csat')} IS NOT NULL")


def unrated_counts(ds) -> pd.Series:
    """Per agent with contacts: its contacts without a CSAT reply (what a QA review can pick from)."""
    i = lambda c: _i(ds, c)  # noqa: E731
    agent = f"c.{i('agent_id')}"
    rows = ds.engine.rows(f"SELECT {ds.engine.dialect.text(agent)}, sum(CASE WHEN r.cid IS NULL THEN 1 ELSE 0 END) "
                          f"FROM contacts c LEFT JOIN ({rated_contacts(ds)}) r ON c.{i('contact_id')} = r.cid "
                          f"WHERE {agent} IS NOT NULL GROUP BY {agent}")
    return pd.Series({str(a): int(n) for a, n in rows}, dtype=np.int64).sort_index()


def unrated_contacts(ds, agents, columns=("contact_id", "agent_id", "opened_at", "channel", "policy",
                                          "issue_type")) -> pd.DataFrame:
    """The contacts without a CSAT reply of `agents` (the rows a QA sample draws from), in contact_id order."""
    i = lambda c: _i(ds, c)  # noqa: E731
    ds.engine.register("qa_agents", pd.DataFrame({"a": [str(a) for a in agents]}))
    cols = ", ".join(f"c.{i(col)}" for col in columns)
    agent = ds.engine.dialect.text(f"c.{i('agent_id')}")
    frame = ds.engine.frame(f"SELECT {cols} FROM contacts c JOIN qa_agents q ON {agent} = q.a "
                            f"LEFT JOIN ({rated_contacts(ds)}) r ON c.{i('contact_id')} = r.cid WHERE r.cid IS NULL")
    return frame.sort_values("contact_id", kind="stable").reset_index(drop=True)


def contact_feature(ds, f: str) -> str:
    """A contact feature of the contact `c` for the models (screen, response, channel comparison); credited:
    credit_issued > 0, an empty credit_issued counting as no credit (as the pandas path's `credit_issued > 0`
    does; SQL's comparison with NULL would be NULL, a cell of its own)."""
    return f"coalesce(c.{_i(ds, 'credit_issued')} > 0, FALSE)" if f == "credited" else f"c.{_i(ds, f)}"


def screen_view(ds, features=SCREEN_FEATURES, scale: CsatScale = DEFAULT_CSAT) -> list[str]:
    """The view `screen_rows`, one row per contact: agent, adverse (``frames.ADVERSE``), invited (a survey
    was sent), responded (answered: a response time or a score), scored (answered with a CSAT), top (CSAT
    in the scale's declared top box, among the scored), and the contact features the data set has; returns
    those features."""
    i = lambda c: _i(ds, c)  # noqa: E731
    have = set(ds.columns["contacts"])
    feats = [f for f in features if f in have or (f == "credited" and "credit_issued" in have)]
    answered = (f"(s.{i('responded_at')} IS NOT NULL OR s.{i('csat')} IS NOT NULL OR s.{i('nps')} IS NOT NULL)")
    scored = f"({answered} AND s.{i('csat')} IS NOT NULL)"
    cols = ", ".join(f"{contact_feature(ds, f)} AS {i(f)}" for f in feats)
    adverse = " OR ".join(f"c.{i(col)} = {'TRUE' if value else 'FALSE'}" for col, value in ADVERSE if col in have)
    ds.engine.view("screen_rows", f"SELECT c.{i(AGENT)} AS agent, "
                                  f"CASE WHEN {adverse or 'FALSE'} THEN 1 ELSE 0 END AS adverse, "
                                  f"CASE WHEN s.{i('contact_id')} IS NULL THEN 0 ELSE 1 END AS invited, "
                                  f"CASE WHEN {answered} THEN 1 ELSE 0 END AS responded, "
                                  f"CASE WHEN {scored} THEN 1 ELSE 0 END AS scored, "
                                  f"CASE WHEN {scored} AND {scale.top_box_sql('s.' + i('csat'))} "
                                  f"THEN 1 ELSE 0 END AS top{', ' if cols else ''}{cols} "
                                  f"FROM contacts c LEFT JOIN surveys s ON c.{i('contact_id')} = s.{i('contact_id')}")
    return feats


#: The counts per cell of ``screen_cells``.
SCREEN_COUNTS = ("n", "invited", "responded", "scored", "top")


def screen_cells(ds, features: list[str]) -> pd.DataFrame:
    """Contacts per combination of `features` (NULL is a value): n, invited, responded, scored, top."""
    cols = ", ".join(_i(ds, f) for f in features)
    frame = ds.engine.frame(f"SELECT {cols}{', ' if cols else ''}count(*) AS n, sum(invited) AS invited, "
                            f"sum(responded) AS responded, sum(scored) AS scored, sum(top) AS top FROM screen_rows "
                            f"{'GROUP BY ' + cols if cols else ''}")
    return frame.astype({c: np.int64 for c in SCREEN_COUNTS})


def screen_agent_sums(ds, features: list[str], cells: pd.DataFrame) -> pd.DataFrame:
    """Per agent, with the fitted probabilities p_inv, p_resp, p_top of each cell of `cells` (one row per
    combination of `features`): contacts, invited, e_inv = Σp_inv, v_inv = Σp_inv(1 − p_inv) over the
    contacts; adverse, adverse_invited, e_adv, v_adv over the adverse contacts; responded, e_resp, v_resp over the
    invitations; scored, top, e_top, v_top over the replies
    with a CSAT."""
    probs = ["p_inv", "p_resp", "p_top"]
    ds.engine.register("screen_p", cells[list(features) + probs])
    on = " AND ".join(f"t.{_i(ds, f)} IS NOT DISTINCT FROM q.{_i(ds, f)}" for f in features) or "TRUE"
    sums = []
    for flag, p, name in (("1", "q.p_inv", "inv"), ("t.adverse", "q.p_inv", "adv"), ("t.invited", "q.p_resp", "resp"),
                          ("t.scored", "q.p_top", "top")):
        sums.append(f"sum(CASE WHEN {flag} = 1 THEN {p} ELSE 0 END) AS e_{name}")
        sums.append(f"sum(CASE WHEN {flag} = 1 THEN {p} * (1 - {p}) ELSE 0 END) AS v_{name}")
    frame = ds.engine.frame(f"SELECT t.agent AS agent, count(*) AS contacts, sum(t.invited) AS invited, "
                            "sum(t.adverse) AS adverse, sum(t.adverse * t.invited) AS adverse_invited, "
                            "sum(t.responded) AS responded, sum(t.scored) AS scored, sum(t.top) AS top, "
                            f"{', '.join(sums)} FROM screen_rows t JOIN screen_p q ON {on} GROUP BY t.agent")
    frame["agent"] = frame["agent"].astype(str)
    return frame.set_index("agent").sort_index().astype(float)
