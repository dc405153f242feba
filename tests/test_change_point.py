"""The handle-time break (issue 18 item 5): the sup-F test's null respects serially dependent days, the
break date comes with an interval, and the before/after model has a day random intercept — each checked on
simulated series with a known truth."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from upstream.analysis import periods, speed
from upstream.studies.metric_health import sentences as say

CONTACT_SD = 0.37            # log handle time's contact-level SD in the simulator
DAY_SD = 0.02                # SD of the day effects


def daily_series(phi: float, rng, shift: float = 0.0, days: int = 91, contacts: int = 600) -> pd.DataFrame:
    """`days` daily means of mix-adjusted log handle time: AR(1) day effects (coefficient phi, SD DAY_SD),
    each day's sampling noise from `contacts` contacts, and a step of `shift` from the middle day on."""
    z = rng.standard_normal(days)
    effect = np.zeros(days)
    for t in range(days):
        effect[t] = (phi * effect[t - 1] if t else 0.0) + z[t] * np.sqrt(1 - phi ** 2)
    value = (6.0 + DAY_SD * effect + rng.normal(0, CONTACT_SD / np.sqrt(contacts), days)
             + np.where(np.arange(days) >= days // 2, shift, 0.0))
    return pd.DataFrame({"n": contacts, "value": value, "var": CONTACT_SD ** 2},
                        index=pd.date_range("2026-07-01", periods=days, name="day"))


def test_no_break_is_found_in_serially_dependent_days():
    """60 series with AR(1) day effects (φ = 0.5) and no break: at most 5% may show a break at p < 0.05.
    The old null (independent days, contact noise only) found one in 23 of these 60 series."""
    rng = np.random.default_rng(18)
    p = np.array([periods.change_point(daily_series(0.5, rng), n_sim=400, seed=i).p_value for i in range(60)])
    assert np.sum(p < 0.05) <= 3


def test_a_real_break_is_found_and_its_date_interval_covers_the_truth():
    """A step of 4 day-effect SDs on 20 Aug under the same AR(1) days: found in 55 of 60 series, and the
    date's 95% interval holds the true day in 55 of 60."""
    rng = np.random.default_rng(19)
    found = covered = 0
    for i in range(60):
        daily = daily_series(0.5, rng, shift=0.08)
        out = periods.change_point(daily, n_sim=400, seed=i)
        found += out.p_value < 0.05
        covered += out.day_lower <= daily.index[45] <= out.day_upper
    assert found >= 54 and covered >= 54


def test_the_null_model_separates_day_effects_from_sampling_noise():
    """A long AR(1) series (φ = 0.5) with as much sampling noise as day-effect variance: the day effects'
    AR coefficient comes back near 0.5 (the noisy series' own lag-1 autocorrelation is only 0.25)."""
    rng = np.random.default_rng(3)
    daily = daily_series(0.5, rng, days=3000, contacts=int(CONTACT_SD ** 2 / DAY_SD ** 2))
    u = daily["value"].to_numpy() - daily["value"].mean()
    coef, innovation_var = periods.day_effect_ar(u, (daily["var"] / daily["n"]).to_numpy())
    assert coef.sum() == pytest.approx(0.5, abs=0.06)
    assert innovation_var == pytest.approx(DAY_SD ** 2 * (1 - 0.25), rel=0.15)
    assert np.corrcoef(u[1:], u[:-1])[0, 1] == pytest.approx(0.25, abs=0.05)


def contacts_around_a_change(seed: int, n: int = 3000) -> pd.DataFrame:
    """Contacts over 40 days with day effects (SD 0.1), 20 agents and a 10% fall in handle time from day 20
    (21 Jul): the metric frame's columns for the speed models."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-07-01", periods=40)
    day, agent = rng.integers(0, 40, n), rng.integers(0, 20, n)
    log_ht = (6 + np.log(0.9) * (day >= 20) + rng.normal(0, 0.1, 40)[day] + rng.normal(0, 0.3, 20)[agent]
              + rng.normal(0, CONTACT_SD, n))
    frame = pd.DataFrame({"agent_id": agent.astype(str), "opened_at": days[day], "log_handle_time": log_ht,
                          "came_back": (rng.random(n) < 0.15).astype(float)})
    frame["period"] = periods.period_labels(frame["opened_at"], "2026-07-21")
    frame["day"] = frame["opened_at"].dt.strftime("%Y-%m-%d")
    return frame


def test_the_before_after_model_has_a_day_intercept():
    """The handle-time model compares periods with (1 | day): its Satterthwaite df is that of a comparison
    of 40 days, and over 10 simulated operations its 95% interval holds the true change (log 0.9) in 9;
    without the day intercept (the old model) in 5 (30 operations: 29 against 21)."""
    frame = contacts_around_a_change(0)
    models = speed.fit_speed_models(frame, mix=())
    assert models.handle_time.formula == "log_handle_time ~ period + (1 | agent_id) + (1 | day)"
    assert 30 < models.handle_time.contrast([0.0, 1.0])["df"] < 40
    covered = {"with days": 0, "without": 0}
    for seed in range(10):
        frame = contacts_around_a_change(seed)
        for key, fit in (("with days", speed.fit_speed_models(frame, mix=()).handle_time),
                         ("without", speed.fit_speed_models(frame, mix=(), day=None).handle_time)):
            c = fit.contrast([0.0, 1.0])
            covered[key] += abs(c["estimate"] - np.log(0.9)) <= stats.t.ppf(0.975, c["df"]) * c["std_error"]
    assert covered["with days"] >= 9 and covered["without"] <= 6


def found_change(day: str, p_value: float, lower: str, upper: str) -> periods.PeriodChange:
    """A break found at `day` (p_value) with the date interval lower–upper; the other numbers do not enter a sentence."""
    found = periods.ChangePoint(day=pd.Timestamp(day), index=46, sup_f=40.0, p_value=p_value, before=6.2, after=6.05,
                                n_days=92, critical_95=12.0, ar_order=1, ar_sum=0.5, day_lower=pd.Timestamp(lower),
                                day_upper=pd.Timestamp(upper))
    return periods.PeriodChange(daily=pd.DataFrame(), source="found", day=found.day, found=found)


def test_the_period_sentence_gives_the_break_dates_interval():
    changes = pd.DataFrame.from_dict({
        "handle_time": {"first": "before", "last": "after", "estimate": -0.15, "lower": -0.16, "upper": -0.14,
                        "p_value": 0.0, "raw_first": 500.0, "raw_last": 430.0},
        "repeat": {"first": "before", "last": "after", "estimate": 0.035, "lower": 0.029, "upper": 0.042,
                   "p_value": 0.0, "raw_first": 0.15, "raw_last": 0.18}}, orient="index")
    found = found_change("2026-08-16", 0.0004, "2026-08-14", "2026-08-19")
    assert say.period_change_sentence(changes, found).startswith(
        "From 16 Aug 2026 — the break the daily handle times show most clearly (sup-F test p < 0.001, against "
        "serially dependent days; the date's 95% interval 14 Aug 2026 to 19 Aug 2026) — handle time")
    exact = found_change("2026-08-16", 0.0004, "2026-08-16", "2026-08-16")
    assert "(sup-F test p < 0.001, against serially dependent days; the date is located to the day) —" in \
        say.period_change_sentence(changes, exact)
