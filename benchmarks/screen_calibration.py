"""The survey screen's default z, calibrated on simulated operations and checked on others (issue 18).

    .venv/bin/python benchmarks/screen_calibration.py [--operations 100] [--rows FILE ...] [--holdout-rows FILE ...]

The screen's null (winsorised τ², a Bonferroni split of Φ(−z) across the flag tests) is conservative:
Φ(−z) is a bound on an ordinary agent's chance of a flag, not its value. The default z is the one at
which ordinary agents are flagged at the stated rate, TARGET = 1.5%, on calibration operations without
steering: benchmarks/screen_null.py's count-level operations (seeds 0…N−1 of each agent variation:
normal, t(3), contaminated normal; every variation weighted equally) and, with `--rows`, operations of
the project's simulator recorded by benchmarks/coverage.py (each row's per-agent z-scores; their
steering agents left out). The chosen z is then checked on operations it was not chosen on: count-level
seeds 1000…, `--holdout-rows` (e.g. coverage.py's heavy-tailed generator), for the ordinary flag rate,
the share of operations with more than 5% of ordinary agents flagged (must stay ≤ 5%) and the steering
agents caught (count-level operations with five steering agents, and the rows' own steering agents).
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
    table = screen.screen_table(g_inv, g_resp, None, screen.DEFAULT_Z, [], g_adv)
    return table[Z_COLUMNS], int(table.attrs["n_tests"]), steer


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


def calibrate(groups: dict[str, list], target: float = TARGET) -> float:
    """The smallest z on Z_GRID whose ordinary flag share, averaged over `groups` (each weighted equally),
    is at most `target`."""
    for z in Z_GRID:
        if np.mean([rates(ops, z)["ordinary"] for ops in groups.values()]) <= target:
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
    ap.add_argument("--rows", nargs="*", default=[], help="coverage.py --rows files to calibrate on")
    ap.add_argument("--holdout-rows", nargs="*", default=[], help="coverage.py --rows files to check on")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    calibration = {v: [count_operation(k, v) for k in range(args.operations)] for v in VARIATIONS}
    if args.rows:
        calibration["project (recorded)"] = [op for op in recorded_operations(args.rows)
                                             if op[2].any() or True]
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
