"""The survey screen's null under heavy-tailed agent variation (issue 18, item 6).

    .venv/bin/python benchmarks/screen_null.py [--operations 200] [--seed 0] [--project 0]

Simulates operations at the level of the screen's counts: each agent's contacts split by adverse outcome
and by an unhappy customer, invitations and replies drawn with the project simulator's survey process
(``upstream.simulate.operation``: 90% of contacts invited, 15% of invitations answered, ordinary agent
shifts of SD 0.3 on the logit scale in both rates; steering agents send 0.35 × the invitations after an
unhappy contact and get +0.9 log-odds of replies from happy ones). The agents' ordinary shifts are normal,
t(3) (as benchmarks/heavy_tailed.py draws skill) or contaminated normal (10% of agents with 3 × the SD),
each scaled to SD 0.3. The expected rates are the pooled rates within adverse and other contacts, as the
screen's propensity model on contact features gives them (it cannot see the customer's mood).

Prints, per variation, the share of operations with more than 5% of ordinary agents flagged, the mean and
worst ordinary flag share (operations without steering), and the share of steering agents caught (the same
operations with five steering agents), for the old rule (normal null from the
median |z|, each test at z_crit alone) and the screen as it is now. `--project N` also runs N operations per
variation of the project's own simulator (the bundled sample's operation, 60,000 contacts, with its invitation
and response shifts drawn as above) through ``survey_screen`` itself: a few seconds each."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from upstream.analysis import screen
from upstream.simulate import OperationSpec

SPEC = OperationSpec()
VARIATIONS = ("normal", "t3", "contaminated")
STEERING_SEND_FACTOR, STEERING_NUDGE = 0.35, 0.9       # as upstream.simulate.operation steers
CONTAMINATED_SHARE, CONTAMINATED_SCALE = 0.1, 3.0


def agent_shifts(rng: np.random.Generator, m: int, sd: float, variation: str) -> np.ndarray:
    """m ordinary shifts (logit scale) of standard deviation `sd`: normal, t(3) or contaminated normal."""
    if variation == "normal":
        return rng.normal(0.0, sd, m)
    if variation == "t3":
        return rng.standard_t(3, m) * sd / np.sqrt(3.0)
    if variation == "contaminated":
        wide = rng.random(m) < CONTAMINATED_SHARE
        base = sd / np.sqrt(1 - CONTAMINATED_SHARE + CONTAMINATED_SHARE * CONTAMINATED_SCALE ** 2)
        return rng.normal(0.0, base, m) * np.where(wide, CONTAMINATED_SCALE, 1.0)
    raise ValueError(f"unknown variation {variation!r}: use one of {', '.join(VARIATIONS)}")


def _counts(o: np.ndarray, n: np.ndarray, p_hat: np.ndarray, agents: pd.Index) -> pd.DataFrame:
    """Per-agent counts as ``screen.screen_table`` takes them; `o`, `n`, `p_hat` are (agents × cells)."""
    return pd.DataFrame({"o": o.sum(1), "e": (n * p_hat).sum(1), "v": (n * p_hat * (1 - p_hat)).sum(1),
                         "n": n.sum(1)}, index=agents).astype(float)


def simulate_counts(seed: int, variation: str = "normal", n_agents: int = SPEC.n_agents,
                    n_steering: int = SPEC.n_steering, n_low_volume: int = SPEC.n_low_volume,
                    contacts_per_agent: float = SPEC.n_contacts / SPEC.n_agents):
    """(invitation counts, reply counts, adverse-contact invitation counts, steering mask) of one operation."""
    rng = np.random.default_rng([seed, VARIATIONS.index(variation)])
    m = n_agents
    volume = rng.poisson(contacts_per_agent * rng.lognormal(-0.08, 0.4, m))
    volume[:n_low_volume] = rng.poisson(contacts_per_agent / 10, n_low_volume)
    steering = np.zeros(m, bool)
    steering[n_low_volume: n_low_volume + n_steering] = True
    # cells: (adverse, unhappy) = (0,0), (0,1), (1,0), (1,1); unhappy customers concentrate after adverse contacts
    n = rng.multinomial(volume, [0.65 * 0.85, 0.65 * 0.15, 0.35 * 0.4, 0.35 * 0.6])
    adverse, unhappy = np.array([0, 0, 1, 1], bool), np.array([0, 1, 0, 1], bool)
    invite_shift = agent_shifts(rng, m, SPEC.agent_invite_sd, variation)
    response_shift = agent_shifts(rng, m, SPEC.agent_response_sd, variation)
    send = expit(logit(SPEC.survey_send_rate) + invite_shift)[:, None] * np.ones(4)
    send[np.ix_(steering, unhappy)] *= STEERING_SEND_FACTOR
    invited = rng.binomial(n, send)
    lin = logit(SPEC.response_rate) + response_shift[:, None] + 0.3 * adverse + 0.5 * unhappy
    lin = lin + STEERING_NUDGE * (steering[:, None] & ~unhappy)
    replied = rng.binomial(invited, expit(lin))
    agents = pd.Index([f"A{j:04d}" for j in range(m)], name="agent_id")

    def by_feature(o, k, cells):            # the screen's expectation: pooled rate within adverse/other contacts
        p = np.empty(4)
        for flag in (False, True):
            cols = adverse == flag
            p[cols] = o[:, cols].sum() / max(k[:, cols].sum(), 1)
        keep = cells
        return _counts(o[:, keep], k[:, keep], np.broadcast_to(p[keep], (m, keep.sum())), agents)

    every = np.ones(4, bool)
    return (by_feature(invited, n, every), by_feature(replied, invited, every), by_feature(invited, n, adverse),
            pd.Series(steering, index=agents))


def old_rule(g_inv, g_resp, g_adv, z: float = 2.17) -> pd.Series:
    """The screen before issue 18 item 6: τ² from the median |z| (normal null), each flag test at z alone."""
    def part(g):
        t = screen.rate_test(g["o"], g["n"], g["e"], g["v"], tau2_method="median")
        return t.table["z"]
    zi, za, zr = part(g_inv), part(g_adv), part(g_resp)
    deficit = np.fmin(zi, za)
    steering = (zr - deficit) / np.sqrt(2)
    combined = (steering > z) & (zr > screen.COMBINED_EACH) & (-deficit > screen.COMBINED_EACH)
    return (zi < -z) | (za < -z) | combined


def one_operation(seed: int, variation: str, n_steering: int) -> dict:
    g_inv, g_resp, g_adv, steer = simulate_counts(seed, variation, n_steering=n_steering)
    new = screen.screen_table(g_inv, g_resp, None, screen.DEFAULT_Z, [], g_adv).table["flagged"]
    old = old_rule(g_inv, g_resp, g_adv)
    out = {}
    for name, flagged in (("old", old), ("new", new)):
        out[f"{name}_ordinary"] = float(flagged[~steer].mean())
        out[f"{name}_steering"] = int(flagged[steer].sum())
    out["n_steering"] = int(steer.sum())
    return out


def project_operation(seed: int, variation: str) -> dict:
    """One operation of the project's simulator (the sample preset) with `variation` agent shifts, screened by
    ``survey_screen`` now and by the old rule (τ² from the median |z|, every test at z_crit alone)."""
    from upstream.data import load_dataset
    from upstream.data.frames import invitations
    from upstream.simulate import PRESETS, SimulatedOperation
    from upstream.simulate.operation import draw_agents, operate, staff_table, truth_frame
    from upstream.simulate.truth import build_truth

    spec = PRESETS["sample"].replace(seed=seed)
    rng = np.random.default_rng(spec.seed)
    staff = draw_agents(spec, rng)
    shift_rng = np.random.default_rng([seed, 7, VARIATIONS.index(variation)])
    shifts = dict(invite=agent_shifts(shift_rng, spec.n_agents, spec.agent_invite_sd, variation),
                  response=agent_shifts(shift_rng, spec.n_agents, spec.agent_response_sd, variation))
    contacts, surveys, draws = operate(spec, rng, staff, spec.n_contacts, (0, spec.days), shifts=shifts)
    op = SimulatedOperation(contacts=contacts, surveys=surveys, agents=staff_table(staff), truth=build_truth(draws))
    with tempfile.TemporaryDirectory(prefix="upstream-screen-null-") as root:
        ds = load_dataset(op.write(Path(root) / "data"), validate=False)
        inv = invitations(ds)
        new = screen.survey_screen(ds.contacts, inv).table["flagged"]
        keep = screen.TAU2_METHODS["winsorised"], screen.per_test_z
        screen.TAU2_METHODS["winsorised"], screen.per_test_z = screen.robust_tau2, lambda z, n_tests: z
        try:
            old = screen.survey_screen(ds.contacts, inv).table["flagged"]
        finally:
            screen.TAU2_METHODS["winsorised"], screen.per_test_z = keep
    steer = truth_frame(op.truth)["steering"].reindex(new.index).fillna(False).astype(bool)
    out = {"n_steering": int(steer.sum())}
    for name, flagged in (("old", old), ("new", new)):
        out[f"{name}_ordinary"] = float(flagged[~steer].mean())
        out[f"{name}_steering"] = int(flagged[steer].sum())
    return out


def summarise(rows: list[dict], rule: str) -> dict:
    share = np.array([r[f"{rule}_ordinary"] for r in rows])
    caught, total = sum(r[f"{rule}_steering"] for r in rows), sum(r["n_steering"] for r in rows)
    return {"over_5pct": float((share > 0.05).mean()), "mean": float(share.mean()), "worst": float(share.max()),
            "steering_caught": caught / total if total else float("nan")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--operations", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--project", type=int, default=0, help="operations of the project's simulator per variation")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    print(f"survey screen null: {args.operations} simulated operations per variation, {SPEC.n_agents} agents, "
          f"none steering (ordinary flags) or {SPEC.n_steering} (steering caught), z_crit {screen.DEFAULT_Z}")
    print(f"{'variation':<13} {'rule':<4} {'ops >5% ordinary flagged':>24} {'mean':>7} {'worst':>7} "
          f"{'steering caught':>16}")
    for variation in VARIATIONS:
        rows = [one_operation(args.seed + k, variation, 0) for k in range(args.operations)]
        steered = [one_operation(args.seed + k, variation, SPEC.n_steering) for k in range(args.operations)]
        for rule in ("old", "new"):
            s = summarise(rows, rule) | {"steering_caught": summarise(steered, rule)["steering_caught"]}
            print(f"{variation:<13} {rule:<4} {s['over_5pct']:>24.3f} {s['mean']:>7.4f} {s['worst']:>7.4f} "
                  f"{s['steering_caught']:>16.3f}")
    if args.project:
        print(f"the project's simulator (sample preset), {args.project} operations per variation:")
        for variation in VARIATIONS:
            rows = [project_operation(args.seed + k, variation) for k in range(args.project)]
            for rule in ("old", "new"):
                s = summarise(rows, rule)
                print(f"{variation:<13} {rule:<4} {s['over_5pct']:>24.3f} {s['mean']:>7.4f} {s['worst']:>7.4f} "
                      f"{s['steering_caught']:>16.3f}")
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
