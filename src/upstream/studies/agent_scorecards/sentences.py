"""Key findings of the agent_scorecards study."""
from __future__ import annotations

import pandas as pd

from ...reporting.sentences.common import expected_people, pct, verb


def scorecard_sentences(card: pd.DataFrame, params) -> list[str]:
    """Key findings of the agent-scorecard study."""
    n = len(card)
    threshold = params.reliability_threshold
    review = int(card["survey_flag"].sum())
    rankable = card[card["rankable"] & ~card["survey_flag"]]
    unrankable = int((~card["rankable"] & ~card["survey_flag"]).sum())
    out = [f"{len(rankable)} of the {n} agents with CSAT replies {verb(len(rankable), 'has', 'have')} enough replies "
           f"to be ranked (reliability at least {threshold:g}); {unrankable} {verb(unrankable, 'is', 'are')} shown as "
           "'not enough responses to rank'"
           + (f" and {review} as 'survey process under review' (no rank until their survey practice is reviewed)."
              if review else ".")]
    given = card[card["verdict"].isin(["above average", "below average"])]
    if len(given):
        out.append(f"{len(given)} {verb(len(given), 'scorecard carries', 'scorecards carry')} an above- or "
                   f"below-average verdict, each with at most a {params.max_false_sign:.0%} chance of the wrong sign; "
                   f"{expected_people(float(given['lfsr'].sum()), len(given), 'verdicts', 'the wrong sign')}.")
    if len(rankable):
        width = (rankable["rank_upper"] - rankable["rank_lower"]).astype(float).median()
        out.append(f"Even among rankable agents a rank is uncertain: the median 95% rank interval spans {width:.0f} "
                   "places.")
    small = card[card["n_responses"] < 20]
    if len(small) >= 3:
        out.append("Agents with fewer than 20 replies have raw top-box shares from "
                   f"{pct(small['top_box_raw'].min())} to "
                   f"{pct(small['top_box_raw'].max())}; after shrinkage the range is "
                   f"{pct(small['top_box_shrunken'].min())} "
                   f"to {pct(small['top_box_shrunken'].max())}.")
    both = card[["csat_adjusted", "csat_ordinal_effect"]].dropna() if "csat_ordinal_effect" in card else card.iloc[:0]
    if len(both) > 2:
        rho = both.rank().corr().iloc[0, 1]
        flat = [name for name, col in (("linear", "csat_adjusted"), ("ordinal", "csat_ordinal_effect"))
                if both[col].nunique() < 2]
        if flat:          # a model that puts every agent at one value ranks no one: no correlation to report
            out.append(f"The {' and the '.join(flat)} model{'s' if len(flat) > 1 else ''} of CSAT "
                       f"put{'' if len(flat) > 1 else 's'} every agent at the same value (no detectable variation "
                       "between agents), so the two models' rankings cannot be compared.")
        elif rho >= 0.9:
            out.append(f"The ordinal model of CSAT ranks agents almost as the linear model does (rank correlation "
                       f"{rho:.2f}), so the scorecards do not hinge on averaging a 1–5 scale.")
        else:
            out.append(f"The ordinal model of CSAT ranks agents differently from the linear model (rank correlation "
                       f"{rho:.2f}): treat rankings built on average CSAT with caution.")
    return out
