"""Screen agents' survey process before judging them: invitations and replies against each agent's
own expected rates, with room for the ordinary variation real operations have.

For each agent and each rate (invitations per contact; replies per invitation):

- expected count E = Σ p̂_i over the agent's contacts (invitations), p̂ from a logistic propensity
  model on contact features (channel, policy, product, issue type, escalation, repeat contact,
  first-contact resolution, credit), so an agent with many phone contacts is compared with what
  phone contacts get;
- observed rate y = O/n against e = E/n with binomial variance s² = Σ p̂(1 − p̂)/n², compared on the
  logit scale (``rate_test``: empirical logit, delta-method variance);
- over-dispersion: agents differ in these rates for ordinary reasons (team practice, shift, channel
  quirks), so the test variance is s² + τ², an additive between-agent variance of the log-odds (a
  logistic-normal random-effects funnel, after Spiegelhalter 2005). τ² is estimated robustly and
  allowing for heavy tails (``winsorised_tau2``): the value at which the mean of min(z², 2²) equals
  its normal value, never below the one at which the median |z| is 0.6745. Agents' ordinary habits are
  not always normal (a few teams far out, t- or mixture-like); the median alone sees only the centre
  and then flags ordinary agents in the shoulders, while the winsorised mean of z² sees them, and a
  steering agent far out counts as 2² only, so a few cannot inflate it much;
- z = (logit y − logit e)/sqrt(s² + τ²) on the logit scale; one-sided flags (each test at its share of
  z_crit, below): too few invitations (z_invitation < −z_crit); too few invitations after an adverse
  contact — unresolved, escalated or repeated, where unhappy customers concentrate and withholding shows
  most (z_invitation_adverse < −z_crit); or a deficit of invitations and an excess of replies at once
  (z_steering = (z_response − min(z_invitation, z_invitation_adverse))/√2 > z_crit, Stouffer's
  combination; each part must point the steering way by more than COMBINED_EACH = 1 SD, so that one
  extreme component cannot flag through the sum).
- an excess of replies alone (z_response > z_crit, `flag_response`) is reported but does not flag: it
  is what engaged customers, or an agent who asks every customer to reply, produce, and neither biases
  the scores; selection needs fewer invitations to the unhappy. On 25 operations of the project's
  simulator and 9 of the independent one it added no steering agent that the other tests missed,
  while it made half of the ordinary agents' flags.
- error control across the flag tests together: Φ(−z_crit) is split equally (Bonferroni; for "any
  flag" also Holm's deciding first step) across the tests that ran — too few invitations, too few after
  adverse contacts, the combined test — so each runs at ``per_test_z`` (2.27 with all three at the
  default). The tests are correlated and the combined one needs each part beyond 1 SD, so Φ(−z_crit) only
  bounds an ordinary agent's chance of a flag (at 2.17: 0.1–0.4% flagged against a stated 1.5%).
- the default z_crit = DEFAULT_Z = 1.81 is calibrated, not read off Φ: the smallest z at which ordinary
  agents are flagged at most CALIBRATED_ORDINARY_RATE = 1.5% on average over simulated operations without
  steering (normal, t(3) and contaminated-normal agent variation, and the project's simulator), with no
  group having more than 5% of its operations above 5% flagged. On held-out operations: 0.98%, 2.21%,
  2.23% of ordinary agents flagged (count-level) and 0.43%, 0.41% (the project's and the heavy-tailed
  simulators); steering agents caught 99.8–100% and 97.0%, 96.4% (92.8%, 92.0% at 2.17). The rule, the
  groups, the seeds and every figure: benchmarks/screen_calibration.py.

Boundaries and visibility: a test runs only where what it tests can vary. An agent whose contacts all have an
expected rate of exactly 0 or 1 (no binomial variance: every contact was invited, every invitation answered, or
none) has nothing to test (z empty, never ±∞), and a part of the screen where that holds for every agent is not
run; nor is a part the data set cannot show (``dataset.yaml`` ``visibility``: contacts listing surveyed contacts
only hide invitation rates, surveys listing answered surveys only hide response rates). ``ScreenResult.skipped``
says, one sentence per part, which parts were not run and why; no agent is flagged by a part that was not run.

`flagged` (possible survey steering) needs that process evidence. A top-box share above what the
contact mix predicts (`z_top_box`, against the *marginal* expectation ∫ logit⁻¹(x'β + b) dN(b; 0, σ_b²)
of a logistic mixed model, with the same robust over-dispersion) is reported, but it is also what a
genuinely good agent produces, so on its own it does not flag. A flag means "review this agent's survey
practice", not a verdict: a flagged agent gets no verdict and no rank."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit

from ..data.description import Visibility
from ..data.frames import ADVERSE, CONTACT_MIX, isin_text
from ..data.model_formula import complete_varying, model_formula, present_mix
from ..models import glmer
from ..survey.constants import AGENT, SCREEN_Z
from .results import AnalysisResult, result

SCREEN_FEATURES = ("channel", "policy", "product", "issue_type", "escalated", "repeat_within_7d",
                   "resolved_first_contact", "credited")
NORMAL_MEDIAN_ABS_Z = 0.6744897501960817
#: z-scores are winsorised at ±WINSOR_CLIP when τ² is matched to ordinary agents' spread (``winsorised_tau2``).
WINSOR_CLIP = 2.0


def usable_features(frame: pd.DataFrame, features=SCREEN_FEATURES) -> list[str]:
    """Features present in `frame` with more than one value (and no missing values)."""
    if "credited" in features and "credited" not in frame and "credit_issued" in frame:
        frame = frame.assign(credited=frame["credit_issued"] > 0)
    return complete_varying(frame, features)


def cell_probabilities(cells: pd.DataFrame, features: list[str]) -> np.ndarray:
    """p̂ per cell (one row per combination of `features`, with `n` rows and `o` of them with the
    outcome) of a logistic propensity model of the outcome on the features: a binomial GLM on the
    counts, which has the row-level model's likelihood and so its estimates. Text features are
    dummy-coded (first level the reference), booleans enter as 0/1; the pooled rate when no feature
    is given or every row has the same outcome."""
    n, o = cells["n"].to_numpy(float), cells["o"].to_numpy(float)
    rate = float(o.sum() / n.sum())
    if not features or rate in (0.0, 1.0):
        return np.full(len(cells), rate)
    from statsmodels.genmod.api import GLM, families

    X = cells[list(features)].copy()
    for col in features:
        if pd.api.types.is_bool_dtype(X[col].dtype) or X[col].dtype == object and X[col].map(type).eq(bool).all():
            X[col] = X[col].astype("float64")
    X = pd.get_dummies(X, drop_first=True, dtype="float64").astype("float64")
    X.insert(0, "Intercept", 1.0)
    fit = GLM(np.column_stack([o, n - o]), X, family=families.Binomial()).fit(tol=1e-12)
    return np.asarray(fit.fittedvalues, dtype=float)


def expected_probabilities(frame: pd.DataFrame, outcome: str, features=SCREEN_FEATURES) -> np.ndarray:
    """p̂_i = P(outcome | contact features) from a logistic propensity model (the pooled rate when no
    feature varies or every row has the same outcome), fitted on the feature cells (``cell_probabilities``)."""
    if "credited" not in frame and "credit_issued" in frame:
        frame = frame.assign(credited=frame["credit_issued"] > 0)
    y = frame[outcome].astype(float).to_numpy()
    rate = float(y.mean())
    use = usable_features(frame, features)
    if not use or rate in (0.0, 1.0):
        return np.full(len(frame), rate)
    grouped = frame.assign(_y=y).groupby(use, sort=True, observed=True)
    cells = grouped["_y"].agg(["size", "sum"]).rename(columns={"size": "n", "sum": "o"}).reset_index()
    return cell_probabilities(cells, use)[grouped.ngroup().to_numpy()]


def robust_tau2(y: np.ndarray, e: np.ndarray, s2: np.ndarray) -> float:
    """Additive between-agent variance τ² ≥ 0 at which median |(y − e)/sqrt(s² + τ²)| = 0.6745."""
    ok = np.isfinite(y) & np.isfinite(e) & (s2 > 0)
    y, e, s2 = y[ok], e[ok], s2[ok]
    if len(y) < 5:
        return 0.0

    def excess(tau2):
        return np.median(np.abs(y - e) / np.sqrt(s2 + tau2)) - NORMAL_MEDIAN_ABS_Z

    if excess(0.0) <= 0:
        return 0.0
    hi = float(np.max((y - e) ** 2)) / NORMAL_MEDIAN_ABS_Z ** 2 + 1e-12     # there the median ratio is ≤ 0.6745
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-12))


def winsorised_tau2(y: np.ndarray, e: np.ndarray, s2: np.ndarray, clip: float = WINSOR_CLIP) -> float:
    """Additive between-agent variance τ² ≥ 0 at which the mean of min(z², clip²) over agents,
    z = (y − e)/sqrt(s² + τ²), equals its value under N(0, 1): a winsorised (Huber proposal 2)
    over-dispersion. Every agent inside ±clip counts with its own z², so heavy tails in ordinary agents'
    variation widen τ², while an agent far out counts as clip² only, so a few steering agents cannot
    inflate it much. Never below ``robust_tau2``."""
    ok = np.isfinite(y) & np.isfinite(e) & (s2 > 0)
    y, e, s2 = y[ok], e[ok], s2[ok]
    floor = robust_tau2(y, e, s2)
    if len(y) < 5:
        return floor
    target = winsorised_normal_z2(clip)

    def excess(tau2):
        return np.mean(np.minimum((y - e) ** 2 / (s2 + tau2), clip ** 2)) - target

    if excess(floor) <= 0:
        return floor
    hi = float(np.max((y - e) ** 2)) / target + 1e-12           # there every z² ≤ target
    return float(optimize.brentq(excess, floor, hi, xtol=1e-12))


def winsorised_normal_z2(clip: float) -> float:
    """E[min(Z², clip²)] for Z ~ N(0, 1)."""
    tail = 2 * stats.norm.sf(clip)
    return float(1 - tail - 2 * clip * stats.norm.pdf(clip) + clip ** 2 * tail)


@result
class RateTest(AnalysisResult):
    """One rate compared with each agent's expected rate (``rate_test``)."""

    table: pd.DataFrame          # per agent: rate, expected_rate, z
    tau2: float                  # the between-agent variance allowed for (logit scale); NaN when no agent was tested
    n_tested: int                # agents whose rate could vary


def rate_test(observed: pd.Series, n: pd.Series, expected: pd.Series, variance: pd.Series,
              tau2_method: str = "median") -> RateTest:
    """Per agent: rate, expected_rate, z (over-dispersion allowed for); with τ² (logit scale) and n_tested.

    An agent is tested only where the rate can vary: n > 0 and binomial variance Σp̂(1 − p̂) > 0. Where every
    contact's expected rate is exactly 0 or 1 (the pooled rate is 0 or 1, or every one of the agent's contacts
    sits in a feature cell where it is), there is nothing to test: z is NaN, not ±∞.

    The comparison is on the logit scale: the empirical logit log((O + ½)/(n − O + ½)) against logit(E/n),
    with the binomial variance carried over by the delta method, Σp̂(1 − p̂)/(n e(1 − e))², and the
    between-agent variance τ² added there. Agents' ordinary differences in how often they send surveys are
    shifts in log-odds; near a rate of 0.9 the same shift moves the rate down much more than up, so on the
    rate scale the lower tail (the one that flags "too few invitations") is longer than a normal τ² allows."""
    with np.errstate(invalid="ignore", divide="ignore"):
        o, m = observed.to_numpy(dtype=float), n.to_numpy(dtype=float)
        y = o / m
        e = (expected / n).to_numpy(dtype=float)
        s2 = (variance / n ** 2).to_numpy(dtype=float)
        ec = np.clip(e, 1e-6, 1 - 1e-6)
        y_logit = np.log((o + 0.5) / (m - o + 0.5))
        e_logit = np.log(ec / (1 - ec))
        s2_logit = s2 / (ec * (1 - ec)) ** 2
    tested = (m > 0) & (variance.to_numpy(dtype=float) > 0)
    tau2 = TAU2_METHODS[tau2_method](y_logit[tested], e_logit[tested], s2_logit[tested])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(tested, (y_logit - e_logit) / np.sqrt(s2_logit + tau2), np.nan)
    out = pd.DataFrame({"rate": y, "expected_rate": e, "z": z}, index=observed.index)
    return RateTest(out, tau2 if tested.any() else np.nan, int(tested.sum()))


#: How ``rate_test`` estimates τ²: "median" (median |z| = 0.6745; normal tails) or "winsorised" (heavy tails allowed).
TAU2_METHODS = {"median": robust_tau2, "winsorised": winsorised_tau2}


def _grouped(agent: pd.Series, outcome: np.ndarray, p: np.ndarray, index) -> pd.DataFrame:
    frame = pd.DataFrame({"agent": agent.to_numpy(), "o": outcome, "e": p, "v": p * (1 - p), "n": 1})
    return frame.groupby("agent")[["o", "e", "v", "n"]].sum().reindex(index).fillna(0)


def marginal_top_box(scored: pd.DataFrame, mix, n_nodes: int = 20) -> tuple[np.ndarray, list[str]]:
    """Each reply's marginal probability of a top-box score (`scored["top_box"]`: CSAT in the data set's
    declared top box, ``data.frames.invitations``) given its contact mix: Gauss–Hermite integration of
    logit⁻¹(x'β + b) over b ~ N(0, σ_b²) of a logistic mixed model; and the fit's health."""
    data = scored.assign(_top=scored["top_box"].astype("boolean").fillna(False).astype(int))
    if data["_top"].nunique() < 2:
        return np.full(len(data), float(data["_top"].mean())), []
    fit = glmer(model_formula("_top", present_mix(data, mix)), data)
    eta = fit.predict(data, include_random=False, type="link").to_numpy()
    x, w = np.polynomial.hermite.hermgauss(n_nodes)
    return (expit(eta[:, None] + np.sqrt(2) * fit.sd * x[None, :]) @ w) / np.sqrt(np.pi), fit.health()


#: The screen's default one-sided z, calibrated on simulated operations (see the module docstring).
DEFAULT_Z = SCREEN_Z
#: The share of ordinary agents DEFAULT_Z flags on average over the calibration operations.
CALIBRATED_ORDINARY_RATE = 0.015
#: The combined flag needs each part beyond this many SDs in the steering direction (see the module docstring).
COMBINED_EACH = 1.0


def adverse_contacts(contacts: pd.DataFrame) -> pd.Series | None:
    """True for contacts with an adverse outcome (``data.frames.ADVERSE``); None when the data set records none."""
    parts = [contacts[col].astype("boolean") == value for col, value in ADVERSE if col in contacts]
    if not parts:
        return None
    out = parts[0].fillna(False)
    for part in parts[1:]:
        out = out | part.fillna(False)
    return out.astype(bool)


@result
class ScreenResult(AnalysisResult):
    """Survey screen: each agent's invitation and response rates against its own expected rates."""

    table: pd.DataFrame               # one row per agent (see ``survey_screen``)
    z: float                          # the screen's z_crit: an ordinary agent's chance of a flag in all is Φ(−z)
    z_test: float                     # each flag test's one-sided threshold (``per_test_z``)
    n_tests: int                      # flag tests that ran
    tau2_invitation: float            # between-agent variances allowed for (logit scale; NaN: the part did not run)
    tau2_invitation_adverse: float
    tau2_response: float
    tau2_top_box: float
    health: tuple[str, ...] = ()      # problems of the top-box model's fit
    skipped: tuple[str, ...] = ()     # one sentence per part of the screen that was not run, and why
    notes: tuple[str, ...] = ()       # how this screen differs from the row-level one (the SQL path)


def survey_screen(contacts: pd.DataFrame, inv: pd.DataFrame, z: float = DEFAULT_Z, mix=CONTACT_MIX,
                  features=SCREEN_FEATURES, visibility: Visibility | None = None
                  ) -> ScreenResult:
    """One row per agent with contacts (see the module docstring): contacts, invitations,
    invitation_rate, expected_invitation_rate, z_invitation, z_invitation_adverse, n_responses, response_rate,
    expected_response_rate, z_response, top_box_rate, expected_top_box_rate, z_top_box, z_steering,
    flag_invitations, flag_response, flag_combined, flag_scores, flagged. `inv`: ``data.frames.invitations``
    (its `top_box` column is the declared top box); `visibility`: what the data set can show (default: all).
    The result also carries z, the τ² of each part, the top-box model's health and the parts skipped."""
    agents = pd.Index(sorted(contacts[AGENT].astype(str).unique()), name=AGENT)
    invited = isin_text(contacts["contact_id"], inv["contact_id"])
    p_inv = expected_probabilities(contacts.assign(_invited=invited), "_invited", features)
    g_inv = _grouped(contacts[AGENT].astype(str), invited.to_numpy(float), p_inv, agents)
    adverse, g_adv = adverse_contacts(contacts), None
    if adverse is not None and adverse.any():
        a = adverse.to_numpy()
        g_adv = _grouped(contacts.loc[adverse, AGENT].astype(str), invited.to_numpy(float)[a], p_inv[a], agents)
    responded = inv["responded"].astype(bool)
    p_resp = expected_probabilities(inv.assign(_responded=responded), "_responded", features)
    g_resp = _grouped(inv[AGENT].astype(str), responded.to_numpy(float), p_resp, agents)
    scored = inv[responded & inv["csat"].notna()].copy()
    g_top, health = None, []
    if len(scored) and scored[AGENT].nunique() > 1:
        p_top, health = marginal_top_box(scored, mix)
        top = scored["top_box"].astype("boolean").fillna(False).to_numpy(float)
        g_top = _grouped(scored[AGENT].astype(str), top, p_top, agents)
    return screen_table(g_inv, g_resp, g_top, z, [f"top-box model: {line}" for line in health], g_adv,
                        visibility)


#: What each part of the screen compares, and the words for its outcome when every unit has it or none has.
PARTS = {
    "invitation": ("invitations per contact", "every contact got a survey invitation",
                   "no contact got a survey invitation"),
    "adverse": ("invitations after adverse contacts (unresolved, escalated or repeated)",
                "every adverse contact got a survey invitation", "no adverse contact got a survey invitation"),
    "response": ("replies per invitation", "every invitation was answered", "no invitation was answered"),
    "top_box": ("top-box replies", "every scored reply is in the top box", "no scored reply is in the top box"),
}


def part_test(part: str, counts: pd.DataFrame | None, agents: pd.Index, hidden: str | None = None,
              absent: str = "") -> tuple[RateTest, str | None]:
    """(rate_test of one part of the screen, or an all-empty table; the sentence saying why it was not run,
    or None when it ran): not run when the data cannot show it (`hidden`: why), when `counts` is None
    (`absent`: why), when the pooled rate is 0 or 1, or when no agent's rate can vary (``rate_test``)."""
    empty = RateTest(pd.DataFrame({"rate": np.nan, "expected_rate": np.nan, "z": np.nan}, index=agents), np.nan, 0)
    what, every, none = PARTS[part]
    if hidden:
        return empty, f"The survey screen cannot test {what}: {hidden}."
    if counts is None or counts["n"].sum() == 0:
        return empty, f"The survey screen cannot test {what}: {absent}." if absent else None
    pooled = counts["o"].sum() / counts["n"].sum()
    test = rate_test(counts["o"], counts["n"], counts["e"], counts["v"], tau2_method="winsorised")
    if 0 < pooled < 1 and test.n_tested:
        return test, None
    if pooled in (0, 1):       # a propensity fit near 0 or 1 in some cells would otherwise leave tiny variances
        test = RateTest(empty.table.assign(rate=test.table["rate"], expected_rate=test.table["expected_rate"]),
                        np.nan, 0)
    why = every if pooled >= 1 else none if pooled <= 0 else "each agent's rate is fixed at 0 or 1 by its contact mix"
    return test, f"The survey screen has nothing to test in {what}: {why}, so no agent differs from its expected rate."


def hidden_reasons(visibility: Visibility | None) -> dict[str, str | None]:
    """Per part of the screen, why the data set cannot show it (None: it can), from dataset.yaml's visibility."""
    visibility = visibility or Visibility()
    note = f" ({visibility.note})" if visibility.note else ""
    contacts = (None if visibility.invitation_rates else
                f"the data set lists only surveyed contacts{note}, so invitations per contact cannot be seen"
                if not visibility.uninvited_contacts else
                f"the data set lists answered surveys only{note}, so a contact without a survey may still have been "
                "invited: invitations per contact cannot be seen")
    answers = (f"the data set lists answered surveys only{note}, so replies per invitation cannot be seen"
               if not visibility.response_rates else None)
    return {"invitation": contacts, "adverse": contacts, "response": answers, "top_box": None}


def per_test_z(z: float, n_tests: int) -> float:
    """The one-sided critical value of each of `n_tests` flag tests that together keep an ordinary agent's chance
    of a flag at Φ(−z) (Bonferroni; for "any flag" it is also Holm's first, deciding step): z itself for one test."""
    if n_tests <= 1:
        return float(z)
    return float(stats.norm.isf(stats.norm.sf(z) / n_tests))


def flags_at(table: pd.DataFrame, z: float, n_tests: int) -> pd.DataFrame:
    """flag_invitations, flag_combined and flagged from a screen table's z_invitation, z_invitation_adverse,
    z_response and z_steering at the screen's z (each of the `n_tests` tests that ran at ``per_test_z``): the
    flags at another z without refitting (benchmarks/screen_calibration.py)."""
    z_test = per_test_z(z, n_tests)
    deficit = np.fmin(table["z_invitation"], table["z_invitation_adverse"])
    low = (table["z_invitation"] < -z_test) | (table["z_invitation_adverse"] < -z_test)
    combined = (table["z_steering"] > z_test) & (table["z_response"] > COMBINED_EACH) & (-deficit > COMBINED_EACH)
    out = pd.DataFrame({"flag_invitations": low, "flag_combined": combined}, index=table.index)
    out["flagged"] = out["flag_invitations"] | out["flag_combined"]
    return out


def screen_table(g_inv: pd.DataFrame, g_resp: pd.DataFrame, g_top: pd.DataFrame | None, z: float,
                 health: list[str], g_adverse: pd.DataFrame | None = None,
                 visibility: Visibility | None = None) -> ScreenResult:
    """The screen's table from per-agent counts (columns o, e, v, n, index the agents): invitations
    per contact (`g_inv`), replies per invitation (`g_resp`), top-box replies per scored reply
    (`g_top`, None when there are none) and invitations per adverse contact (`g_adverse`, None when
    the data set records no adverse outcome) — see ``survey_screen``. A part the data set cannot show
    (`visibility`) or where no rate can vary is not run (its z empty; ``ScreenResult.skipped`` says why)."""
    agents = g_inv.index
    hidden = hidden_reasons(visibility)
    t_inv, why_inv = part_test("invitation", g_inv, agents, hidden["invitation"])
    t_adv, why_adv = part_test("adverse", g_adverse, agents, hidden["adverse"],
                               "the data set records no adverse contact")
    t_resp, why_resp = part_test("response", g_resp, agents, hidden["response"])
    t_top, why_top = part_test("top_box", g_top, agents, None, "fewer than two agents have scored replies")
    z_adverse = t_adv.table["z"]
    out = pd.DataFrame({
        "contacts": g_inv["n"].astype(int), "invitations": g_inv["o"].astype(int),
        "invitation_rate": t_inv.table["rate"], "expected_invitation_rate": t_inv.table["expected_rate"],
        "z_invitation": t_inv.table["z"], "z_invitation_adverse": z_adverse,
        "n_responses": g_resp["o"].astype(int), "response_rate": t_resp.table["rate"],
        "expected_response_rate": t_resp.table["expected_rate"], "z_response": t_resp.table["z"]}, index=agents)
    out["top_box_rate"], out["expected_top_box_rate"], out["z_top_box"] = \
        t_top.table["rate"], t_top.table["expected_rate"], t_top.table["z"]
    deficit = np.fmin(out["z_invitation"], out["z_invitation_adverse"])
    out["z_steering"] = (out["z_response"] - deficit) / np.sqrt(2)
    ran = {"invitation": why_inv is None, "adverse": why_adv is None,
           "combined": why_resp is None and (why_inv is None or why_adv is None)}
    n_tests = sum(ran.values())
    z_test = per_test_z(z, n_tests)
    flags = flags_at(out, z, n_tests)
    out["flag_invitations"] = flags["flag_invitations"]
    out["flag_response"] = out["z_response"] > z
    out["flag_combined"] = flags["flag_combined"]
    out["flag_scores"] = out["z_top_box"] > z
    out["flagged"] = flags["flagged"]
    return ScreenResult(out, z=z, z_test=z_test, n_tests=n_tests, tau2_invitation=t_inv.tau2,
                        tau2_invitation_adverse=t_adv.tau2, tau2_response=t_resp.tau2, tau2_top_box=t_top.tau2,
                        health=tuple(health),
                        skipped=tuple(why for why in (why_inv, why_adv, why_resp, why_top) if why))
