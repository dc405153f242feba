"""The handle-time break test on simulated daily series with a known truth (issue 18 item 5).

    .venv/bin/python benchmarks/bench_change_point.py [--series 200] [--days 91] [--sims 1000]

Each series is `days` daily means of mix-adjusted log handle time: AR(1) day effects (SD 0.02, coefficient φ)
plus each day's sampling noise (600 contacts, contact SD 0.37). It prints, for φ = 0, 0.3 and 0.5:

- the false-break rate (p < 0.05 with no break) of `change_point` (day effects modelled as AR by BIC,
  sampling noise apart) and, measured on the same series in the same run, of the old null (independent days,
  sampling noise only);
- with a break of 2 and 4 day-effect SDs in the middle: how often it is found, and how often the break
  date's 95% interval holds the true day.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_change_point import daily_series  # noqa: E402

from upstream.analysis import periods  # noqa: E402


def old_p_value(daily, n_sim: int, seed: int) -> float:
    """The sup-F p-value against independent normal days with variance 1/n (the code before issue 18)."""
    T = len(daily)
    w, y = daily["n"].to_numpy(float), daily["value"].to_numpy(float)
    lo, hi = max(1, int(np.floor(periods.TRIM * T))), min(T - 1, int(np.ceil((1 - periods.TRIM) * T)))
    F, _ = periods._sup_f(y[None, :], w, lo, hi + 1)
    null = np.random.default_rng(seed).standard_normal((n_sim, T)) / np.sqrt(w)[None, :]
    F0, _ = periods._sup_f(null, w, lo, hi + 1)
    return float((1 + np.sum(F0.max(axis=1) >= F[0].max())) / (1 + n_sim))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--days", type=int, default=91)
    parser.add_argument("--sims", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"{args.series} series of {args.days} days, {args.sims} simulated null series each")
    print(f"{'phi':>4} {'break (SD)':>10} {'found':>7} {'old null':>9} {'date covered':>13}")
    for phi in (0.0, 0.3, 0.5):
        for size in (0.0, 2.0, 4.0):
            rng = np.random.default_rng(int(1000 * phi + size))
            found = old = covered = 0
            for i in range(args.series):
                daily = daily_series(phi, rng, shift=0.02 * size, days=args.days)
                out = periods.change_point(daily, n_sim=args.sims, seed=i)
                found += out.p_value < 0.05
                old += old_p_value(daily, args.sims, i) < 0.05
                covered += out.day_lower <= daily.index[args.days // 2] <= out.day_upper
            date = f"{covered / args.series:13.1%}" if size else f"{'':>13}"
            print(f"{phi:4.1f} {size:10.0f} {found / args.series:7.1%} {old / args.series:9.1%} {date}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
