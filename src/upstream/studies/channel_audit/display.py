"""Display tables of the channel_audit study."""
from __future__ import annotations

import pandas as pd

from ...reporting.display.common import format_p, interval

ROWS = [  # (label, column, scale, format)
    ("contacts", "contacts", 1, ",.0f"), ("share of contacts (%)", "share", 100, ".1f"),
    ("contacts per day", "per_day", 1, ".0f"),
    ("opening to closing, median (hours)", "resolution_hours", 1, ".2f"),
    ("open with no agent working, median (hours) — bound on first response", "first_response_bound_hours", 1, ".2f"),
    ("handle time, median (minutes)", "handle_minutes", 1, ".1f"),
    ("CSAT (mean of replies)", "csat", 1, ".2f"), ("NPS", "nps", 1, ".0f"),
    ("first-contact resolution (%)", "fcr", 100, ".1f"), ("escalated (%)", "escalation", 100, ".1f"),
    ("repeat within 7 days (%)", "repeat", 100, ".1f"), ("survey response rate (%)", "response_rate", 100, ".1f"),
]


def channel_table(summary: pd.DataFrame, share_good: bool = False) -> pd.DataFrame:
    """Metrics as rows, channels as columns: 'estimate (lower–upper)'; counts without an interval; 'not
    recorded' where the data set lacks the column. On a good/bad scale (`share_good`: the summary's
    csat_measure is "share good") the CSAT row is the share of good ratings."""
    labels = [label for label, *_ in ROWS]
    if share_good:
        labels[labels.index("CSAT (mean of replies)")] = "share of good ratings (%)"
        summary = summary.assign(**{c: 100 * summary[c] for c in ("csat", "csat_lower", "csat_upper")})
    out = {}
    for lab, r in summary.iterrows():
        cells = []
        for _, col, scale, fmt in ROWS:
            if pd.isna(r[col]):
                cells.append("not recorded")
                continue
            fmt = ".1f" if share_good and col == "csat" else fmt
            value = f"{scale * r[col]:{fmt}}"
            if f"{col}_lower" in summary:
                value += f" ({scale * r[f'{col}_lower']:{fmt}}–{scale * r[f'{col}_upper']:{fmt}})"
            cells.append(value)
        out[lab] = cells
    table = pd.DataFrame(out, index=labels)
    table.index.name = "metric (95% interval)"
    return table


def differences_display(differences: pd.DataFrame) -> pd.DataFrame:
    """Raw and adjusted differences per metric and channel, intervals as text."""
    d = differences
    digits = [".2f" if u == "CSAT points" else ".1f" for u in d["unit"]]
    fmt = lambda col: [f"{v:{f}}" for v, f in zip(d[col], digits)]  # noqa: E731
    return pd.DataFrame({
        "unit": d["unit"], "raw": fmt("raw"),
        "raw 95% CI": [f"{a:{f}} to {b:{f}}" for a, b, f in zip(d["raw_lower"], d["raw_upper"], digits)],
        "adjusted": fmt("effect"),
        "adjusted family-wise 95% CI": [f"{a:{f}} to {b:{f}}"
                                        for a, b, f in zip(d["lower_adj"], d["upper_adj"], digits)],
        "p (Holm)": d["p_holm"].map(format_p)}, index=d.index)


def response_display(comparison: pd.DataFrame) -> pd.DataFrame:
    """Reply share, raw and weighted CSAT, adjusted effect and its tipping point per channel."""
    c = comparison
    return pd.DataFrame({
        "contacts with a CSAT reply (%)": (100 * c["reply_share"]).round(1),
        "CSAT of replies": c["csat"].round(3), "weighted for who answers": c["csat_weighted"].round(3),
        "adjusted effect": c["effect"].round(2),
        "family-wise 95% CI": interval(c["lower_adj"], c["upper_adj"]),
        "tipping point δ (points)": c["tipping_delta"].round(2)}, index=c.index)


def page(r):
    """The tables this study's page shows, in page order: (name, caption, frame, source CSV, undefined note)."""
    t = r.tables
    yield ("channel_summary", "Each channel's numbers with 95% intervals (counts and shares of contacts are a "
           "census)", channel_table(t["channel_summary"], r.values.summary.csat_measure == "share good"),
           "channel_summary", None)
    if "channel_differences" in t:
        yield ("channel_differences", "Raw and adjusted differences from the average contact: CSAT and NPS in "
               "points, rates in percentage points", differences_display(t["channel_differences"]),
               "channel_differences", "not estimable")
    if "channel_response" in t:
        yield ("channel_response", "Replies, weighting and tipping points by channel (χ² test of equal response "
               f"rates: p = {format_p(r.values.comparison.chi2_p)})", response_display(t["channel_response"]),
               "channel_response", "no shift within the range searched reverses the effect's sign")

