"""Key findings of the metric_health study: the period change, speed against repeats and CSAT across
agents, the agents who are both fast and prone to repeats, the metrics contact by contact,
self-reported against measured resolution, and the interactions folk rule. Each sentence is computed
from the study's tables and says only what its interval supports."""
from __future__ import annotations

import pandas as pd

from ...analysis.periods import PeriodChange
from ...analysis.speed import FastestShare
from ...reporting.sentences.common import listing, pct, pct_interval, whole_count

NOT_RECORDED = {
    "handle_time_sec": "This data set does not record handle time, so the speed metrics cannot be checked against "
                       "repeat contacts and CSAT.",
    "resolved_first_contact": "This data set does not record the agents' own resolution codes, so they cannot be "
                              "checked against repeat contacts.",
    "n_interactions": "This data set does not record interactions per contact, so the 5–9 sweet-spot rule cannot be "
                      "checked.",
}


def constant_repeats_sentence(n_contacts: int, came_back: bool) -> str:
    """Why the speed metrics cannot be checked when repeat contacts never vary."""
    what = "every one" if came_back else "none"
    return (f"Of the {n_contacts:,} contacts with a recorded repeat-contact flag, {what} was followed by a repeat "
            "contact within 7 days, so repeat contacts do not vary: whether fast handling creates repeats, and how "
            "handle time and resolution codes relate to them, cannot be checked.")


def short_scale_sentence(points: int) -> str:
    """Why the contact-by-contact CSAT comparisons are not made on a short scale."""
    return (f"CSAT here is on a {points}-point scale, too short to average, so the contact-by-contact CSAT "
            "comparisons (speed metrics, interactions per contact) are not made.")


def day_text(day) -> str:
    d = pd.Timestamp(day)
    return f"{d.day} {d.strftime('%b %Y')}"


def signed(x: float, digits: int = 2) -> str:
    return f"{x:+.{digits}f}"


def _direction(lower: float, upper: float) -> int:
    """+1 when the interval lies above 0, −1 below, 0 when it contains 0."""
    return 1 if lower > 0 else -1 if upper < 0 else 0


def pct1(x: float) -> str:
    """A share as a percentage with one decimal ('15.1%')."""
    return f"{100 * x:.1f}%"


def _handle_time_phrase(row) -> str:
    e, lo, hi = row["estimate"], row["lower"], row["upper"]
    d = _direction(lo, hi)
    if d < 0:
        return f"handle time on the same contact mix fell {pct1(-e)} (95% interval {pct1(-hi)}–{pct1(-lo)})"
    if d > 0:
        return f"handle time on the same contact mix rose {pct1(e)} (95% interval {pct1(lo)}–{pct1(hi)})"
    return (f"handle time on the same contact mix did not change detectably ({100 * e:+.1f}%, 95% interval "
            f"{100 * lo:+.1f}% to {100 * hi:+.1f}%)")


def _repeat_phrase(row) -> str:
    e, lo, hi = (100 * row[c] for c in ("estimate", "lower", "upper"))
    d = _direction(lo, hi)
    if d == 0:
        return (f"repeat contacts did not change detectably ({e:+.1f} percentage points, 95% interval {lo:+.1f} to "
                f"{hi:+.1f})")
    verb = "rose" if d > 0 else "fell"
    return f"repeat contacts {verb} {abs(e):.1f} percentage points (95% interval {abs(lo if d > 0 else hi):.1f} to " \
           f"{abs(hi if d > 0 else lo):.1f})"


def _date_interval(change: PeriodChange) -> str:
    """'; located to the day' or '; the date's 95% interval 14 Aug 2026 to 18 Aug 2026' (empty when the
    change carries no interval)."""
    if change.found is None:
        return ""
    lo, hi = change.found.day_lower, change.found.day_upper
    if pd.Timestamp(lo) == pd.Timestamp(hi) == pd.Timestamp(change.day):
        return ", against serially dependent days; the date is located to the day"
    return f", against serially dependent days; the date's 95% interval {day_text(lo)} to {day_text(hi)}"


def period_change_sentence(changes: pd.DataFrame, change: PeriodChange) -> str:
    """'From <date> …, handle time … fell X% while repeat contacts rose Y points': the change at the break
    the data show (or the given date), or from the first to the last month when there is none."""
    if changes.empty:
        return ""
    ht, rep = changes.loc["handle_time"], changes.loc["repeat"]
    if change.source == "found":
        p = change.p_value
        p_txt = "< 0.001" if p < 0.001 else f"= {p:.3f}"
        head = (f"From {day_text(change.day)} — the break the daily handle times show most clearly (sup-F test "
                f"p {p_txt}{_date_interval(change)}) —")
    elif change.source == "given":
        head = f"From {day_text(change.day)} (the date given for the change),"
    else:
        head = (f"The daily handle times show no clear break, so months are compared: from {ht['first']} to "
                f"{ht['last']},")
    fell_rose = _direction(ht["lower"], ht["upper"]) < 0 and _direction(rep["lower"], rep["upper"]) > 0
    joint = "while" if fell_rose else "and"
    return (f"{head} {_handle_time_phrase(ht)} {joint} {_repeat_phrase(rep)}; the raw averages went from "
            f"{ht['raw_first']:.0f} to {ht['raw_last']:.0f} seconds and from {pct1(rep['raw_first'])} to "
            f"{pct1(rep['raw_last'])} repeats.")


def period_title(ht, changes: pd.DataFrame, change: PeriodChange) -> str:
    """The period figure's takeaway."""
    if ht is None:
        return "Daily handle time on the same contact mix"
    rep = changes.loc["repeat"]
    when = f"from {day_text(change.day)}" if change.day is not None else f"from {ht['first']} to {ht['last']}"
    return (f"Handle time {'fell' if ht['estimate'] < 0 else 'rose'} {pct1(abs(ht['estimate']))} {when}; repeats "
            f"{'rose' if rep['estimate'] > 0 else 'fell'} {100 * abs(rep['estimate']):.1f} points")


def _corr(row) -> str:
    return f"{row['rho']:+.2f} (95% interval {row['lower']:+.2f} to {row['upper']:+.2f})"


def speed_quality_sentence(correlations: pd.DataFrame) -> str:
    """Across agents: handle-time effects against repeat-contact effects (a negative correlation means
    the faster agents have more repeats) — an association at the agent level, worded as one."""
    if "handle_time~repeat" not in correlations.index or pd.isna(correlations.loc["handle_time~repeat"].get("rho")):
        return ""
    row = correlations.loc["handle_time~repeat"]
    d = _direction(row["lower"], row["upper"])
    if d == 0:
        lead, tail = "Across agents, speed and repeat contacts are not detectably related", ""
    else:
        lead = ("Across agents, those faster than their contact mix predicts tend to have "
                f"{'more' if d < 0 else 'fewer'} repeat contacts")
        tail = (" This is an association between agents, not evidence that speed causes or prevents repeats: agents "
                "who work faster may differ in other ways too.")
    return (f"{lead}: agents' handle-time and repeat-contact effects correlate {_corr(row)}, across the "
            f"{int(row['n_agents'])} agents with contacts (corrected for the shrinkage of each agent's estimates; "
            f"agents resampled; the uncorrected correlation is {row['naive']:+.2f}).{tail}")


def speed_csat_sentence(correlations: pd.DataFrame) -> str:
    """Across agents: handle time and repeats against CSAT (positive handle-time~csat: slower agents score
    higher, i.e. faster agents lower); a pair without enough agents with both effects is left out."""
    def usable(pair):
        return pair in correlations.index and pd.notna(correlations.loc[pair].get("rho"))

    parts = []
    if usable("handle_time~csat"):
        ht = correlations.loc["handle_time~csat"]
        d = _direction(ht["lower"], ht["upper"])
        faster = ("faster agents score lower CSAT" if d > 0 else "faster agents score higher CSAT" if d < 0
                  else "faster agents do not score detectably differently")
        parts.append(f"{faster} (correlation of handle-time and CSAT effects {ht['rho']:+.2f}, 95% interval "
                     f"{ht['lower']:+.2f} to {ht['upper']:+.2f})")
    if usable("repeat~csat"):
        rep = correlations.loc["repeat~csat"]
        r = _direction(rep["lower"], rep["upper"])
        repeats = ("agents with more repeats score lower CSAT" if r < 0 else
                   "agents with more repeats score higher CSAT" if r > 0 else
                   "agents' repeat rates and CSAT are not detectably related")
        parts.append(f"{repeats} (correlation of repeat and CSAT effects {rep['rho']:+.2f}, {rep['lower']:+.2f} to "
                     f"{rep['upper']:+.2f})")
    return f"Against CSAT, {listing(parts)}." if parts else ""


def rushing_sentence(named: pd.DataFrame, labels: pd.Series, params) -> str:
    """The agents with P(fast and more repeats) at or above the study's threshold, each with that
    probability, and the expected number of wrong names."""
    rule = (f"probability at least {params.quadrant_probability:g} of handling contacts at least "
            f"{pct(params.fast_margin)} faster and having at least {pct(params.repeat_margin)} higher odds of a "
            "repeat contact than an average agent on the same contacts")
    if named.empty:
        return f"No agent is probably both fast and prone to repeat contacts ({rule})."
    parts = [f"{labels[a]} ({p:.2f})" for a, p in named["p_quadrant"].items()]
    wrong = float((1 - named["p_quadrant"]).sum())
    who = "1 agent is" if len(named) == 1 else f"{len(named)} agents are"
    count = whole_count(wrong)
    doubt = (f"probably none of these {len(named)} names is wrong" if count == "none" else
             f"about {count} of these {len(named)} names may be wrong")
    return f"{who} probably both fast and prone to repeat contacts ({rule}): {listing(parts)}; {doubt}."


def ranking_sentence(fastest: FastestShare, correlations: pd.DataFrame) -> str:
    """How much of the handle-time ranking goes with repeats: the expected number of such agents
    among the fastest tenth, and ρ² of handle time and repeats with its interval."""
    count = whole_count(fastest.expected_in_quadrant)
    text = (f"Among the {fastest.n_fastest} agents with the shortest handle times on their contact mix, "
            + ("probably none is both fast and prone to repeats" if count == "none" else
               f"about {count} (going by the sum of their probabilities) {'is' if count == 'one' else 'are'} "
               "both fast and prone to repeats"))
    if "handle_time~repeat" in correlations.index and pd.notna(correlations.loc["handle_time~repeat"].get("rho")):
        row = correlations.loc["handle_time~repeat"]
        lo, hi = sorted((row["lower"] ** 2, row["upper"] ** 2))
        lo = 0.0 if row["lower"] < 0 < row["upper"] else lo
        text += (f"; across all agents, differences in repeat contacts go with {pct(row['rho'] ** 2)} (95% interval "
                 f"{pct_interval(lo, hi)}) of the between-agent differences in handle time")
    return text + "."


def _metric_phrase(name: str, row, unit: str = "points") -> str:
    d = _direction(row["lower"], row["upper"])
    iv = f"95% interval {signed(row['lower'], 3)} to {signed(row['upper'], 3)}"
    if d == 0:
        return f"{name} makes no detectable difference ({signed(row['estimate'], 3)}, {iv})"
    return f"{name} goes with {abs(row['estimate']):.3f} {unit} {'higher' if d > 0 else 'lower'} CSAT ({iv})"


CONTACT_PHRASES = (("marked resolved by the agent", "a contact the agent marked resolved"),
                   ("came back within 7 days", "a repeat contact within 7 days"),
                   ("10% longer handle time", "10% longer handling"))


def contact_metrics_sentence(contact: pd.DataFrame) -> str:
    """Contact by contact (same mix and agent, each metric holding the others fixed)."""
    parts = [_metric_phrase(phrase, contact.loc[row]) for row, phrase in CONTACT_PHRASES if row in contact.index]
    if not parts:
        return ""
    others = "the other two" if len(parts) == 3 else "the other"
    held = f", each metric holding {others} fixed" if len(parts) > 1 else ""
    return f"Contact by contact (same contact mix and agent{held}), {listing(parts)}."


def resolution_sentence(overall: pd.DataFrame, screen) -> str:
    """How often the agent's resolution code and the 7-day repeat measure disagree, and which agents'
    over-claim share is implausible for their contacts."""
    d = overall.loc["disagree"]
    over = overall.loc["over-claimed (marked resolved, came back)"]
    under = overall.loc["under-claimed (marked unresolved, did not come back)"]
    text = (f"Agents' own resolution codes and the 7-day repeat measure disagree on {pct(d['share'])} of contacts "
            f"(95% interval {pct_interval(d['lower'], d['upper'])}): {pct(over['share'])} were marked resolved but the "
            f"customer came back, {pct(under['share'])} were marked unresolved but the customer did not come back")
    flagged, n_agents = int(screen.table["flag"].sum()), len(screen.table)
    rule = (f"against what their own contacts predict, allowing for the ordinary variation between agents "
            f"(one-sided z > {screen.z:g})")
    if flagged:
        verb = "marks" if flagged == 1 else "mark"
        return text + (f"; {flagged} of {n_agents} agents {verb} contacts resolved that come back implausibly often "
                       f"{rule}.")
    return text + f"; no agent's share of resolved contacts that came back is implausible {rule}."


def interactions_sentence(comparisons: pd.DataFrame, bands: pd.DataFrame, band) -> str:
    """The folk rule that `band` interactions is a sweet spot, against contacts with fewer and more
    interactions (spline model; a side with no contacts cannot be compared)."""
    lo_b, hi_b = band
    name = f"{lo_b}–{hi_b}"
    if "band" not in bands.index:
        return f"No contact took {name} interactions, so the {name} sweet-spot rule cannot be checked."
    parts, dirs = [], []
    for side, words in (("below", f"fewer than {lo_b}"), ("above", f"more than {hi_b}")):
        key = f"band − {side}"
        if key not in comparisons.index:
            continue
        row = comparisons.loc[key]
        d = _direction(row["lower"], row["upper"])
        dirs.append(d)
        iv = f"95% interval {signed(row['lower'])} to {signed(row['upper'])}"
        verdict = "; not distinguishable from zero" if d == 0 else ""
        parts.append(f"{signed(row['estimate'])} points against contacts with {words} ({iv}{verdict})")
    if not parts:
        return f"Every contact took {name} interactions, so the {name} sweet-spot rule cannot be checked."
    text = (f"On the same contact mix (natural spline), contacts that took {name} interactions score "
            f"{listing(parts)}")
    missing = [w for s, w in (("below", f"fewer than {lo_b}"), ("above", f"more than {hi_b}"))
               if f"band − {s}" not in comparisons.index]
    if missing:
        text += f"; no contact took {missing[0]} interactions, so that side cannot be compared"
    supported = dirs and all(d > 0 for d in dirs) and not missing
    if supported:
        return text + f": the data support a {name} sweet spot."
    if dirs and all(d > 0 for d in dirs):
        return text + f": consistent with a {name} sweet spot on the side that can be checked, not proof of one."
    return text + f": the data do not support a {name} sweet spot."


def interactions_title(comparisons: pd.DataFrame) -> str:
    if "band − below" not in comparisons.index:
        return "Expected CSAT by interactions per contact"
    row = comparisons.loc["band − below"]
    d = _direction(row["lower"], row["upper"])
    return ("Contacts in the 'sweet spot' score " +
            ("higher" if d > 0 else "lower" if d < 0 else "no differently") + " than those with fewer interactions")
