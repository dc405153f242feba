"""Issue 18 items 3 and 8 over many simulated operations with a known truth.

    .venv/bin/python benchmarks/bench_nonresponse_qa.py [--reps 100]

- Tipping point under MAR (``tests/test_analysis.mar_operation``: 40,000 contacts, who is invited and
  who answers depends on the channel only): the error of μ(0), the δ = 0 mean over every contact, against
  the simulated truth — `tipping_point` (non-respondents at the (1 − p)/p-weighted reply mean, per
  contact) next to the old formula (the inverse-propensity mean, replies per invitation).
- QA plan on a good/bad scale (``tests/test_study_qa_sample.good_bad_operation``: 200 agents, 1,200
  reviews rated from the truth, then the logistic model refitted): mean predicted reliability after the
  plan against the refit's own, with each review's information p(1 − p) (now) and 1/(π²/3) (before).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
warnings.simplefilter("ignore")

from test_analysis import mar_operation  # noqa: E402
from test_study_qa_sample import good_bad_operation  # noqa: E402

from upstream.analysis import qa  # noqa: E402
from upstream.analysis.latent import fit_latent_agent_model  # noqa: E402
from upstream.analysis.nonresponse import contact_replies, fit_response_model, tipping_point  # noqa: E402
from upstream.models import glmer  # noqa: E402


def tipping_errors(seed: int) -> tuple[float, float]:
    contacts, inv, score, _ = mar_operation(seed=seed)
    new = tipping_point(contact_replies(contacts, inv)).mean_mar
    weights = fit_response_model(inv).weights
    y = inv.loc[weights.index, "csat"].to_numpy(float)
    r = len(weights) / len(inv)
    old = r * y.mean() + (1 - r) * np.average(y, weights=weights)
    return new - score.mean(), old - score.mean()


def old_plan(model, contacts: pd.DataFrame, rated: pd.Series, budget: int) -> pd.DataFrame:
    """The plan as before issue 18: every review worth 1/(π²/3) on the latent scale."""
    fit = model.judged_by
    tau2 = float(fit.varcorr.loc["agent_id", "variance"])
    agents = sorted(contacts["agent_id"].astype(str).unique())
    pev0 = (fit.ranef["agent_id"]["cond_se"] ** 2).reindex(agents).fillna(tau2)
    eligible = (~contacts["contact_id"].isin(rated)).groupby(contacts["agent_id"]).sum().reindex(agents)
    reviews = qa.allocate_reviews(pev0, eligible, budget, np.pi ** 2 / 3)
    after = 1 - qa.posterior_variance(pev0, reviews.reindex(agents), np.pi ** 2 / 3) / tau2
    return pd.DataFrame({"reviews": reviews.reindex(agents), "reliability_after": after, "reason": "few replies"},
                        index=pd.Index(agents, name="agent_id"))


def realised(plan: pd.DataFrame, frame: pd.DataFrame, replies: pd.DataFrame, rated: pd.Series, seed: int) -> float:
    sample = qa.sample_contacts(plan, frame, rated, seed)
    refit = glmer("good ~ channel + (1 | agent_id)",
                  pd.concat([replies, frame[frame["contact_id"].isin(sample["contact_id"])]]))
    pev = refit.ranef["agent_id"]["cond_se"].reindex(plan.index) ** 2
    return float((1 - pev / refit.varcorr.loc["agent_id", "variance"]).mean())


def qa_reliabilities(seed: int) -> tuple[float, float, float, float]:
    frame, rated = good_bad_operation(seed)
    replies = frame[frame["contact_id"].isin(rated)]
    model = fit_latent_agent_model(replies, "good", ("channel",), frame)
    new = qa.review_plan(model, frame.drop(columns="good"), rated, budget=1200, priority_reviews=0).table
    old = old_plan(model, frame, rated, 1200)
    return (new["reliability_after"].mean(), realised(new, frame, replies, rated, seed),
            old["reliability_after"].mean(), realised(old, frame, replies, rated, seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    args = parser.parse_args()
    start = time.perf_counter()
    errors = np.array([tipping_errors(1000 + s) for s in range(args.reps)])
    print(f"Tipping point, mean over every contact at δ = 0, error against the truth over {args.reps} MAR operations:")
    for label, col in (("(1 − p)/p, per contact (now)", 0), ("1/p, per invitation (before)", 1)):
        e = errors[:, col]
        print(f"  {label:32s} mean {e.mean():+.4f}  RMSE {np.sqrt(np.mean(e ** 2)):.4f}")
    rel = np.array([qa_reliabilities(2000 + s) for s in range(args.reps)])
    print(f"QA plan on a good/bad scale, mean reliability after 1,200 reviews over {args.reps} operations:")
    print(f"  p(1 − p) (now):      predicted {rel[:, 0].mean():.3f}  realised {rel[:, 1].mean():.3f}")
    print(f"  1/(π²/3) (before):   predicted {rel[:, 2].mean():.3f}  realised {rel[:, 3].mean():.3f}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
