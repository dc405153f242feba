"""Display tables of the policy_friction study."""
from __future__ import annotations

import pandas as pd

from ...analysis.words import DistinctiveWords
from ...reporting.display.common import format_p

LABELS = {"csat": "CSAT (points)", "nps": "NPS (points)", "repeat": "repeat within 7 days (pp)",
          "escalation": "escalated (pp)"}


def policy_outcomes_display(effects: pd.DataFrame) -> pd.DataFrame:
    """Policies as rows; per outcome 'effect (family-wise lower to upper)', ordered by the CSAT effect."""
    out = {}
    for outcome, label in LABELS.items():
        if outcome not in effects.index.get_level_values(0):
            continue
        t = effects.loc[outcome]
        f = ".2f" if t["unit"].iloc[0] == "CSAT points" else ".1f"
        if outcome == "csat" and t["unit"].iloc[0] != "CSAT points":
            label = "share of good ratings (pp)"
        out[label] = pd.Series([f"{r['effect']:+{f}} ({r['lower_adj']:+{f}} to {r['upper_adj']:+{f}})"
                                for _, r in t.iterrows()], index=t.index)
    table = pd.DataFrame(out)
    if "csat" in effects.index.get_level_values(0):
        table = table.reindex(effects.loc["csat"].sort_values("effect").index)
    table.index.name = "policy"
    return table


def words_display(result: DistinctiveWords) -> pd.DataFrame:
    """Per policy: its distinctive words with z, then the count of comments."""
    rows = {}
    words, counts = result.table, result.n_comments
    for group, part in words.groupby("group", sort=False):
        hits = part[part["distinctive"]]
        rows[group] = {"comments": counts.get(group, ""),
                       "distinctive words (z)": ", ".join(f"{w} ({z:.1f})" for w, z in zip(hits["word"], hits["z"]))
                       or "none beyond chance"}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "policy"
    return out


def dose_display(dose: pd.DataFrame) -> pd.DataFrame:
    """The dose–response terms with intervals and p."""
    return pd.DataFrame({"estimate (points)": dose["estimate"].round(3),
                         "95% CI": [f"{a:+.2f} to {b:+.2f}" for a, b in zip(dose["lower"], dose["upper"])],
                         "p": dose["p_value"].map(format_p)}, index=dose.index)


def page(r):
    """The tables this study's page shows, in page order: (name, caption, frame, source CSV, undefined note)."""
    t = r.tables
    if "policy_outcomes" in t:
        yield ("policy_outcomes", "Policy effects against the average contact (family-wise 95% intervals)",
               policy_outcomes_display(t["policy_outcomes"]), "policy_outcomes", "not estimable for this outcome")
    if "credit_dose_response" in t and len(t["credit_dose_response"]):
        yield ("credit_dose_response", "CSAT per doubling of the credit, and at the cap against the dose–response "
               "line (Satterthwaite 95% CI)", dose_display(t["credit_dose_response"]), "credit_dose_response", None)
    if "credit_cap_neighbours" in t:
        yield ("credit_cap_neighbours", "Raw mean CSAT at the cap and in the half-doubling just below it (t / Welch "
               "95% intervals)", t["credit_cap_neighbours"].round(3), "credit_cap_neighbours", "fewer than two replies")
    words = r.values.words
    yield ("policy_words", f"Distinctive words per policy (z above {words.z_threshold:.2f}, Bonferroni over "
           f"a {words.vocabulary:,}-word vocabulary)", words_display(words), "policy_words",
           "fewer comments than the word list needs")

