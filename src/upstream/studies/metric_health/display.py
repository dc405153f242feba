"""Display tables of the metric_health study."""
from __future__ import annotations

import pandas as pd

from ...reporting.display.common import format_p, interval, with_agent_labels
from ...reporting.display.pages import agent_labels


def period_display(changes: pd.DataFrame) -> pd.DataFrame:
    """The change from the first to the last period on the same contact mix and agent."""
    if changes.empty:
        return changes
    ht, rep = changes.loc["handle_time"], changes.loc["repeat"]
    return pd.DataFrame({
        "periods": [f"{ht['first']} → {ht['last']}"] * 2,
        "raw": [f"{ht['raw_first']:.0f} s → {ht['raw_last']:.0f} s",
                f"{100 * rep['raw_first']:.1f}% → {100 * rep['raw_last']:.1f}%"],
        "change, same contact mix": [f"{100 * ht['estimate']:+.1f}%", f"{100 * rep['estimate']:+.1f} points"],
        "95% interval": [f"{100 * ht['lower']:+.1f}% to {100 * ht['upper']:+.1f}%",
                         f"{100 * rep['lower']:+.1f} to {100 * rep['upper']:+.1f} points"],
        "p": [format_p(ht["p_value"]), format_p(rep["p_value"])]},
        index=pd.Index(["handle time", "repeat contacts"], name="metric"))


def monthly_display(monthly: pd.DataFrame) -> pd.DataFrame:
    """Raw monthly figures with intervals."""
    return pd.DataFrame({
        "contacts": monthly["contacts"],
        "mean handle time (s)": monthly["handle_time_mean"].round(0).astype(int),
        "95% CI": interval(monthly["handle_time_lower"], monthly["handle_time_upper"], ".0f"),
        "median (s)": monthly["handle_time_median"].round(0).astype(int),
        "repeat contacts (%)": (100 * monthly["repeat_rate"]).round(1),
        "95% CI ": interval(monthly["repeat_lower"], monthly["repeat_upper"], ".1f", 100),
        "marked resolved (%)": (100 * monthly["marked_resolved_rate"]).round(1),
        "95% CI  ": interval(monthly["marked_resolved_lower"], monthly["marked_resolved_upper"], ".1f", 100)},
        index=monthly.index)


relabel = with_agent_labels


PAIRS = {"handle_time~repeat": "handle time and repeat contacts", "handle_time~csat": "handle time and CSAT",
         "repeat~csat": "repeat contacts and CSAT"}


def correlation_display(correlations: pd.DataFrame) -> pd.DataFrame:
    """Correlations of agents' effects: corrected for shrinkage and plain, with intervals."""
    c = correlations.dropna(subset=["rho"])
    out = pd.DataFrame({"agents": c["n_agents"].astype(int), "correlation": c["rho"].round(2),
                        "95% interval": interval(c["lower"], c["upper"]),
                        "plain correlation of estimates": c["naive"].round(2),
                        "95% interval ": interval(c["naive_lower"], c["naive_upper"])}, index=c.index)
    out.index = pd.Index([PAIRS.get(i, i) for i in c.index], name="agents' effects on")
    return out


def rushing_display(agents: pd.DataFrame, labels: pd.Series, n: int = 15) -> pd.DataFrame:
    """The agents most probably both fast and prone to repeats."""
    top = agents.dropna(subset=["p_quadrant"]).head(n)
    out = pd.DataFrame({"contacts": top["contacts"],
                        "handle time vs average agent": [f"{100 * (r - 1):+.0f}%" for r in top["handle_time_ratio"]],
                        "repeat odds vs average agent": [f"×{r:.2f}" for r in top["repeat_odds_ratio"]],
                        "P(fast)": top["p_fast"].round(2), "P(more repeats)": top["p_repeats"].round(2),
                        "P(both)": top["p_quadrant"].round(2)}, index=top.index)
    return relabel(out, labels)


def contact_metrics_display(contact: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"CSAT difference (points)": contact["estimate"].round(3),
                         "95% interval": interval(contact["lower"], contact["upper"], ".3f"),
                         "p": contact["p_value"].map(format_p)}, index=contact.index)


def resolution_display(overall: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"contacts": overall["contacts"], "share (%)": (100 * overall["share"]).round(2),
                         "95% interval (%)": interval(overall["lower"], overall["upper"], ".2f", 100)},
                        index=overall.index)


def overclaim_display(agents: pd.DataFrame, labels: pd.Series, n: int = 10) -> pd.DataFrame:
    """Agents whose resolved contacts come back most often against their own contacts' expectation."""
    a = agents.dropna(subset=["overclaim_z"]).sort_values("overclaim_z", ascending=False).head(n)
    out = pd.DataFrame({"contacts": a["contacts"], "marked resolved (%)": (100 * a["marked_resolved"]).round(1),
                        "resolved but came back (%)": (100 * a["overclaim_rate"]).round(1),
                        "95% interval": interval(a["overclaim_lower"], a["overclaim_upper"], ".1f", 100),
                        "expected (%)": (100 * a["overclaim_expected"]).round(1), "z": a["overclaim_z"].round(1),
                        "flagged": a["overclaim_flag"].map({True: "yes", False: "no"})}, index=a.index)
    return relabel(out, labels)


def interactions_display(curve: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"contacts": curve["contacts"], "replies": curve["replies"],
                         "raw CSAT": curve["raw_csat"].round(2), "expected CSAT (same mix)": curve["expected"].round(2),
                         "95% interval": interval(curve["lower"], curve["upper"])}, index=curve.index)


def bands_display(bands: pd.DataFrame, comparisons: pd.DataFrame) -> pd.DataFrame:
    rows = pd.DataFrame({"interactions": bands["counts"], "contacts": bands["contacts"].astype(int),
                         "expected CSAT": bands["expected"].round(2),
                         "95% interval": interval(bands["lower"], bands["upper"])}, index=bands.index)
    comp = pd.DataFrame({"interactions": "", "contacts": "", "expected CSAT": comparisons["estimate"].round(2),
                         "95% interval": interval(comparisons["lower"], comparisons["upper"])}, index=comparisons.index)
    return pd.concat([rows, comp])


def page(r):
    """The tables this study's page shows, in page order: (name, caption, frame, source CSV, undefined note)."""
    t = r.tables
    if "agent_metrics" in t:
        agents = t["agent_metrics"]
        yield ("rushing", "Agents most probably both fast and prone to repeat contacts (P from the conditional "
               "distributions)", rushing_display(agents, agent_labels(r, agents)), "agent_metrics", None)
        yield ("effect_correlations", "Correlation of agents' own effects across the three metrics: corrected for "
               "shrinkage (reliability-weighted moments), 95% percentile intervals resampling agents",
               correlation_display(t["effect_correlations"]), "effect_correlations", "not estimable")
    if "period_changes" in t:
        yield ("period_changes", "Change from the first to the last period: handle time (geometric mean) in %, "
               "repeat contacts in percentage points", period_display(t["period_changes"]), "period_changes", None)
        yield ("monthly_metrics", "Raw monthly figures (intervals treat contacts as independent: a description, not "
               "a model)", monthly_display(t["monthly_metrics"]), "monthly_metrics", "no contacts to measure")
    if "contact_metrics" in t:
        yield ("contact_metrics", "Difference in CSAT (points), 95% Satterthwaite intervals",
               contact_metrics_display(t["contact_metrics"]), "contact_metrics", "not estimable")
    if "resolution_agreement" in t:
        agents = t["agent_metrics"]
        yield ("resolution_agreement", "All contacts, 95% Jeffreys intervals",
               resolution_display(t["resolution_agreement"]), "resolution_agreement", None)
        yield ("overclaim", "Agents whose resolved contacts come back most often against their contacts' expectation",
               overclaim_display(agents, agent_labels(r, agents)), "agent_metrics", "no resolved contact")
    if "interactions_curve" in t:
        yield ("interactions_bands", "Expected CSAT of each band and the differences, 95% Satterthwaite intervals",
               bands_display(t["interactions_bands"], t["interactions_comparisons"]), "interactions_bands",
               "not estimable")
        yield ("interactions_curve", "The curve, count by count", interactions_display(t["interactions_curve"]),
               "interactions_curve", "not estimable")

