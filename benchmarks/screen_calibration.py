"""The survey screen's default z, calibrated on simulated operations and checked on others (issue 18).

    .venv/bin/python benchmarks/screen_calibration.py [--operations 100] [--project 20] [--rows FILE ...]
                                                      [--holdout-rows FILE ...]

The screen's null (winsorised τ², a Bonferroni split of Φ(−z) across correlated flag tests) is
conservative: Φ(−z) bounds an ordinary agent's chance of a flag, it is not its value. The default z is
the smallest on a 0.01 grid at which ordinary agents are flagged at most at the stated rate, TARGET =
1.5%, averaged over the calibration groups (each weighted equally), while in every group at most 5% of
operations flag more than 5% of their ordinary agents. Calibration groups: benchmarks/screen_null.py's
count-level operations (seeds 0…N−1 of each agent variation: normal, t(3), contaminated normal; no
steering), with `--project N` N operations of the project's own simulator (seeds 8000…; their five
steering agents left out of the ordinary share) and with `--rows` operations recorded by
benchmarks/coverage.py (per-agent z-scores). The chosen z is then checked on operations it was not
chosen on: count-level seeds 1000… (without and with five steering agents) and `--holdout-rows` (e.g.
coverage.py's runs of the project's simulator and of the heavy-tailed generator): the ordinary flag
rate, the share of operations with more than 5% of ordinary agents flagged and the steering agents caught.

Measured when DEFAULT_Z was chosen (`--operations 100 --project 20`, held out on count-level seeds
1000–1099 and coverage.py's seeds 7100–7199 of the project's and the heavy-tailed simulators): at 2.17 the
four calibration groups flagged 0.45%, 1.48%, 1.42% and 0.10% of ordinary agents; at 1.81 1.28%, 2.18%,
2.20% and 0.28% (mean 1.49%; t(3): 1 operation in 100 above 5%, worst 5.3%). Held out: 0.98%, 2.21%,
2.23% (count-level) and 0.43%, 0.41% (simulators), at most 1 operation in 100 above 5% (none on the
simulators); steering agents caught 99.8%, 100%, 100% (count-level, five per operation; 99.2–100% at
2.17) and 97.0% and 96.4% on the simulators (92.8% and 92.0% at 2.17). Before the winsorised τ², the old
rule (median τ², each test at 2.17) flagged 2.1%, 3.5% and 3.2% of ordinary count-level agents, and more
than 5% in 1.5%, 14% and 8.5% of operations.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screen_null import SPEC, VARIATIONS, simulate_counts  # noqa: E402

from upstream.analysis import screen  # noqa: E402

TARGET = 0.015
Z_GRID = np.round(np.arange(1.60, 2.81, 0.01), 2)
Z_COLUMNS = ["z_invitation", "z_invitation_adverse", "z_response", "z_steering"]


def count_operation(seed: int, variation: str, n_steering: int = 0) -> tuple[pd.DataFrame, int, pd.Series]:
    """(z table, tests that ran, steering mask) of one count-level operation of benchmarks/screen_null.py."""
    g_inv, g_resp, g_adv, steer = simulate_counts(seed, variation, n_steering=n_steering)
    result = screen.screen_table(g_inv, g_resp, None, screen.DEFAULT_Z, [], g_adv)
    return result.table[Z_COLUMNS], int(result.n_tests), steer


def project_operation(seed: int) -> tuple[pd.DataFrame, int, pd.Series]:
    """(z table, tests that ran, steering mask) of the project's simulator (the sample preset, five steering
    agents) through ``survey_screen``."""
    from upstream.data.frames import invitations
    from upstream.simulate import PRESETS, simulate, truth_frame

    op = simulate(PRESETS["sample"], seed=seed)

    class Data:
        contacts, surveys, agents = op.contacts, op.surveys, op.agents

    result = screen.survey_screen(op.contacts, invitations(Data))
    steer = truth_frame(op.truth)["steering"].reindex(result.table.index).fillna(False).astype(bool)
    return result.table[Z_COLUMNS], int(result.n_tests), steer


def recorded_operations(paths) -> list[tuple[pd.DataFrame, int, pd.Series]]:
    """The operations in benchmarks/coverage.py's --rows files (rows with the screen's z-scores)."""
    out = []
    for path in paths or ():
        for line in Path(path).read_text().splitlines():
            row = json.loads(line)
            if "screen_z" not in row:
                continue
            z = row["screen_z"]
            table = pd.DataFrame({c: pd.to_numeric(pd.Series(z[c], dtype=object), errors="coerce") for c in Z_COLUMNS})
            out.append((table, int(z["n_tests"]), pd.Series(z["steering"], dtype=bool)))
    return out


def rates(operations, z: float) -> dict:
    """Mean ordinary flag share, share of operations above 5%, steering agents caught, at `z`."""
    shares, caught, steering = [], 0, 0
    for table, n_tests, steer in operations:
        flagged = screen.flags_at(table, z, n_tests)["flagged"].to_numpy()
        s = steer.to_numpy()
        shares.append(flagged[~s].mean())
        caught, steering = caught + int(flagged[s].sum()), steering + int(s.sum())
    shares = np.array(shares)
    return {"ordinary": float(shares.mean()), "over_5pct": float((shares > 0.05).mean()),
            "worst": float(shares.max()), "steering_caught": caught / steering if steering else float("nan"),
            "operations": len(shares)}


def calibrate(groups: dict[str, list], target: float = TARGET, worst_share: float = 0.05) -> float:
    """The smallest z on Z_GRID whose ordinary flag share, averaged over `groups` (each weighted equally),
    is at most `target`, with at most `worst_share` of each group's operations above 5% of ordinary agents."""
    for z in Z_GRID:
        r = [rates(ops, z) for ops in groups.values()]
        if np.mean([x["ordinary"] for x in r]) <= target and max(x["over_5pct"] for x in r) <= worst_share:
            return float(z)
    return float(Z_GRID[-1])


def report(label: str, operations, zs) -> None:
    for z in zs:
        r = rates(operations, z)
        print(f"  {label:<34} z {z:.2f}: ordinary flagged {r['ordinary']:.4f} (worst {r['worst']:.3f}), operations "
              f"> 5% {r['over_5pct']:.3f} of {r['operations']}, steering caught {r['steering_caught']:.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--operations", type=int, default=100, help="count-level operations per variation and set")
    ap.add_argument("--project", type=int, default=0, help="also calibrate on N operations of the project's simulator")
    ap.add_argument("--rows", nargs="*", default=[], help="coverage.py --rows files to calibrate on")
    ap.add_argument("--holdout-rows", nargs="*", default=[], help="coverage.py --rows files to check on")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    calibration = {v: [count_operation(k, v) for k in range(args.operations)] for v in VARIATIONS}
    if args.project:
        calibration["project's simulator"] = [project_operation(8000 + k) for k in range(args.project)]
    if args.rows:
        calibration["recorded"] = recorded_operations(args.rows)
    z = calibrate(calibration)
    print(f"calibration: {', '.join(f'{k} ({len(v)})' for k, v in calibration.items())} operations without "
          f"steering; target {TARGET:.1%} of ordinary agents flagged → z = {z:.2f} (now {screen.DEFAULT_Z})")
    for name, ops in calibration.items():
        report(f"calibration {name}", ops, (screen.DEFAULT_Z, z))
    print("held out:")
    for v in VARIATIONS:
        report(f"count-level {v}", [count_operation(1000 + k, v) for k in range(args.operations)],
               (screen.DEFAULT_Z, z))
        report(f"count-level {v}, 5 steering", [count_operation(1000 + k, v, SPEC.n_steering)
                                                for k in range(args.operations)], (screen.DEFAULT_Z, z))
    if args.holdout_rows:
        report("recorded (held out)", recorded_operations(args.holdout_rows), (screen.DEFAULT_Z, z))
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
