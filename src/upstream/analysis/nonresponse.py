"""Who answers the survey, and what that does to the scores.

- `response_rates`: response rate overall and by contact feature, with Wilson intervals.
- `fit_response_model`: a response-propensity model from contact features (who answers) and
  inverse-propensity weights for the replies, with Kish's effective n.
- `weighted_scores`: CSAT, top-box and NPS, unweighted and weighted, overall and by a feature.
- `weighted_agent_effects`: the agent model refitted with the weights, as a sensitivity analysis.
- `survey_screen`: agents whose invitation rate, response rate or share of top scores is
  implausible given their volume and contact mix (possible survey steering) — for review.

Weighting corrects only for what the contact features explain about who answers; case-mix
adjustment, not weighting, is the main tool for comparing agents (Elliott et al. 2005, HSR 40), so
weighted results are reported as a sensitivity analysis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.frames import CONTACT_MIX
from ..models import glmer, lmer
from ..survey import (PropensityModel, funnel_flags, kish_effective_n, nps, response_propensity, steering_flags,
                     wilson_interval)

RESPONSE_FEATURES = ("channel", "policy", "product", "issue_type", "escalated", "repeat_within_7d",
                     "resolved_first_contact", "credited")


def _with_credited(frame: pd.DataFrame) -> pd.DataFrame:
    if "credited" not in frame and "credit_issued" in frame:
        frame = frame.assign(credited=frame["credit_issued"] > 0)
    return frame


def response_rates(inv: pd.DataFrame, by=("channel", "escalated", "repeat_within_7d", "credited", "policy"),
                   level: float = 0.95) -> pd.DataFrame:
    """Share of invitations answered, overall and per level of each feature, with Wilson intervals."""
    inv = _with_credited(inv)
    rows = [("overall", "all", int(inv["responded"].sum()), len(inv))]
    for col in by:
        for lvl, grp in inv.groupby(col, sort=True):
            rows.append((col, str(lvl), int(grp["responded"].sum()), len(grp)))
    table = pd.DataFrame(rows, columns=["feature", "level", "responses", "invitations"])
    lo, hi = wilson_interval(table["responses"].to_numpy(), table["invitations"].to_numpy(), level)
    table["rate"] = table["responses"] / table["invitations"]
    table["lower"], table["upper"] = lo, hi
    return table.set_index(["feature", "level"])


@dataclass
class ResponseModel:
    propensity: PropensityModel
    weights: pd.Series          # inverse-propensity weights of the replies (index = invitation rows)
    effective_n: float          # Kish effective number of replies under the weights
    n_responses: int
    references: dict            # feature -> its reference level (what an odds ratio compares with)

    def describe_term(self, term: str) -> str:
        """'channel email vs chat' for a dummy term, 'escalated vs not' for a boolean."""
        for feature, ref in self.references.items():
            if term == feature:
                return f"{feature.replace('_', ' ')} vs not"
            if term.startswith(feature + "_"):
                return f"{feature.replace('_', ' ')} {term[len(feature) + 1:]} vs {ref}"
        return term.replace("_", " ")


def fit_response_model(inv: pd.DataFrame, features=RESPONSE_FEATURES) -> ResponseModel:
    """Logistic model of responding on contact features; weights 1/p̂ for the replies."""
    inv = _with_credited(inv)
    features = [f for f in features if f in inv.columns and inv[f].nunique() > 1]
    model = response_propensity(inv, "responded", features)
    w = model.weights.dropna()
    refs = {}
    for f in features:
        col = inv[f]
        if pd.api.types.is_bool_dtype(col.dtype):
            refs[f] = False
        elif isinstance(col.dtype, pd.CategoricalDtype):
            refs[f] = col.cat.categories[0]
        elif not pd.api.types.is_numeric_dtype(col.dtype):
            refs[f] = sorted(col.dropna().unique())[0]
    return ResponseModel(propensity=model, weights=w, effective_n=kish_effective_n(w), n_responses=len(w),
                         references=refs)


def weighted_scores(inv: pd.DataFrame, weights: pd.Series, by: str | None = None) -> pd.DataFrame:
    """Mean CSAT, top-box share and NPS among replies, unweighted and inverse-propensity weighted."""
    resp = inv.loc[weights.index]
    groups = [("all", resp)] if by is None else list(resp.groupby(by, sort=True))
    rows = []
    for name, g in groups:
        w = weights.loc[g.index]
        c = g["csat"].astype(float)
        ok = c.notna()
        nps_scores = g["nps"].astype(float)
        nok = nps_scores.notna()
        wn = w[nok]
        prom = ((nps_scores[nok] >= 9) * wn).sum() / wn.sum() if nok.any() else np.nan
        det = ((nps_scores[nok] <= 6) * wn).sum() / wn.sum() if nok.any() else np.nan
        has = bool(ok.any())
        rows.append({by or "group": name, "replies": int(ok.sum()),
                     "csat": c[ok].mean() if has else np.nan,
                     "csat_weighted": np.average(c[ok], weights=w[ok]) if has else np.nan,
                     "top_box": (c[ok] == 5).mean() if has else np.nan,
                     "top_box_weighted": np.average(c[ok] == 5, weights=w[ok]) if has else np.nan,
                     "nps": nps(nps_scores[nok]).nps if nok.any() else np.nan,
                     "nps_weighted": 100 * (prom - det) if nok.any() else np.nan,
                     "kish_n": kish_effective_n(w[ok]) if has else np.nan})
    return pd.DataFrame(rows).set_index(by or "group")


def weighted_agent_effects(resp: pd.DataFrame, weights: pd.Series, outcome: str = "csat", mix=CONTACT_MIX,
                           agent: str = "agent_id") -> pd.DataFrame:
    """Agent effects (conditional modes) from the mixed model without and with the inverse-propensity
    weights. The weights enter lmer as precision weights scaled to sum to each agent's number of
    replies (the cluster-size scaling of Pfeffermann et al. 1998), a sensitivity analysis rather
    than a design-based estimator."""
    data = resp.loc[weights.index.intersection(resp.index)].copy()
    data = data[data[outcome].notna()]
    w = weights.loc[data.index]
    data["_w"] = w * data.groupby(agent)[agent].transform("size") / w.groupby(data[agent]).transform("sum")
    mix = [m for m in mix if data[m].nunique() > 1]
    formula = f"{outcome} ~ {' + '.join(mix) or '1'} + (1 | {agent})"
    base = lmer(formula, data)
    weighted = lmer(formula, data, weights="_w")
    out = pd.DataFrame({"effect": base.ranef[agent]["mode"], "cond_se": base.ranef[agent]["cond_se"],
                        "effect_weighted": weighted.ranef[agent]["mode"],
                        "cond_se_weighted": weighted.ranef[agent]["cond_se"]})
    out["shift"] = out["effect_weighted"] - out["effect"]
    out.attrs.update({"sd": float(base.varcorr.loc[agent, "sd"]), "sd_weighted": float(weighted.varcorr.loc[agent, "sd"]),
                      "formula": formula})
    return out


def survey_screen(contacts: pd.DataFrame, inv: pd.DataFrame, z: float = 3.09, mix=CONTACT_MIX) -> pd.DataFrame:
    """Per agent: invitation rate (invitations per contact), response rate and top-box share, each
    against what volume (and, for top-box, the contact mix: a logistic mixed model of top-box on the
    mix, predictions without the agent effect) makes plausible. Tests are one-sided at z (3.09 ↔
    0.1% per agent per test): too few invitations, too many replies, too many top scores.
    `flagged` (possible survey steering) needs process evidence — too few invitations or too many
    replies; `flag_scores` alone is also the signature of a genuinely good agent. A flag means
    "review this agent's survey practice", not a verdict."""
    inv = inv.copy()
    scored = inv[inv["responded"] & inv["csat"].notna()].copy()
    scored["top"] = (scored["csat"] == 5).astype(int)
    mix = [m for m in mix if scored[m].nunique() > 1]
    casemix = glmer(f"top ~ {' + '.join(mix) or '1'} + (1 | agent_id)", scored)
    inv["p_top"] = np.nan
    inv.loc[scored.index, "p_top"] = casemix.predict(scored, include_random=False).to_numpy()
    screen = steering_flags(inv, "agent_id", "responded", "csat", expected_score_col="p_top", z=z)
    screen = screen.set_index("agent")
    per_agent = contacts.groupby("agent_id").size().rename("contacts")
    invited = inv.groupby("agent_id").size().rename("invitations")
    counts = pd.concat([per_agent, invited], axis=1).fillna(0)
    # every agent with contacts is screened, including one who sent no surveys at all
    screen = screen.reindex(counts.index)
    for col in ("flag_response", "flag_scores"):
        screen[col] = screen[col].fillna(False).astype(bool)
    screen["n_contacts"] = screen["n_contacts"].fillna(0)
    screen["n_responses"] = screen["n_responses"].fillna(0)
    inv_flags = funnel_flags(counts["invitations"].to_numpy(), counts["contacts"].to_numpy(), z=z,
                             index=counts.index)
    screen = screen.drop(columns=["contacts", "invitations"], errors="ignore").join(counts).join(inv_flags[["rate", "z"]].rename(columns={"rate": "invitation_rate",
                                                                                "z": "z_invitation"}))
    screen["flag_invitations"] = screen["z_invitation"] < -z
    # Possible steering = evidence in the survey process itself: too few invitations or too many
    # replies. A top-box share above the contact mix's expectation is also what a genuinely good
    # agent produces, so on its own it is reported (flag_scores) but does not make the flag.
    screen["flagged"] = screen["flag_response"] | screen["flag_invitations"]
    screen.attrs.update(inv_flags.attrs)
    screen.attrs["pooled_invitation_rate"] = float(counts["invitations"].sum() / counts["contacts"].sum())
    screen.index.name = "agent_id"
    return screen
