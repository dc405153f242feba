"""lmer speed and memory against statsmodels' MixedLM, measured in the same run.

    .venv/bin/python benchmarks/bench_lmer.py [--mixedlm-timeout SECONDS] [--repeat N]

Each fit runs in its own subprocess (benchmarks/_measure.py) so peak memory is per engine. lme4's
times are those recorded by tests/reference/make_reference.R on this kind of machine (R is not
needed here). Targets (issue 3): InstEval (1|d) ≤ 0.3 s; 1,000,000 responses with 5,000 agents and
40 fixed-effect columns ≤ 5 s and ≤ 3 GB (the fit); issue 8: InstEval (1|s)+(1|d) ≤ 3 s with its
Satterthwaite df (the "+df+ranef" column). With --repeat N each fit runs N times (fresh processes):
best and range, and the load average before the runs, since the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "reference" / "fixtures"


def measure(engine: str, case: str, timeout: float) -> dict:
    try:
        proc = subprocess.run([sys.executable, str(HERE / "_measure.py"), engine, case], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def lme4_seconds(case: str) -> str:
    path = FIXTURES / f"{case}_reml.json"
    if not path.exists():
        return "–"
    return f"{json.loads(path.read_text())['elapsed_seconds']:.2f} s"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mixedlm-timeout", type=float, default=300.0)
    ap.add_argument("--repeat", type=int, default=1, help="upstream fits per case: best, and the range")
    args = ap.parse_args(argv)
    rows = [("insteval_d", "InstEval y ~ service + dept + (1|d)", 0.3, True, "seconds_fit"),
            ("insteval_sd", "InstEval y ~ service + dept + (1|s) + (1|d)", 3.0, False, "seconds"),
            ("million", "1M responses, 5,000 agents, 40 columns, (1|agent)", 5.0, True, "seconds_fit")]
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    print(f"{'case':52s} {'upstream fit':>12s} {'+df+ranef':>10s} {'peak MB':>8s} {'target':>7s} "
          f"{'MixedLM':>12s} {'ratio':>7s} {'MixedLM conv':>12s} {'lme4':>8s}")
    ok = True
    for case, label, target, try_mixedlm, timed in rows:
        runs = [measure("upstream", case, 600) for _ in range(max(args.repeat, 1))]
        ours = next((r for r in runs if "error" in r), None) or min(runs, key=lambda r: r[timed])
        peer = measure("mixedlm", case, args.mixedlm_timeout) if try_mixedlm else \
            {"error": "cannot fit crossed factors at this scale"}
        if "error" in ours:
            print(f"{label:52s} ERROR {ours['error']}")
            ok = False
            continue
        if len(runs) > 1:
            print(f"{label:52s} {len(runs)} runs: fit {min(r['seconds_fit'] for r in runs):.2f}–"
                  f"{max(r['seconds_fit'] for r in runs):.2f} s, +df+ranef {min(r['seconds'] for r in runs):.2f}–"
                  f"{max(r['seconds'] for r in runs):.2f} s (best shown below)")
        met = ours[timed] <= target and ours["peak_mb"] <= 3072
        ok &= met
        if "error" in peer:
            mix, ratio, conv = peer["error"], "–", "–"
        else:
            mix, ratio = f"{peer['seconds']:.1f} s", f"{peer['seconds'] / ours['seconds_fit']:.0f}×"
            conv = str(peer["converged"])
        print(f"{label:52s} {ours['seconds_fit']:10.2f} s {ours['seconds']:8.2f} s {ours['peak_mb']:8.0f} "
              f"{'ok' if met else 'MISSED':>7s} {mix:>12s} {ratio:>7s} {conv:>12s} {lme4_seconds(case):>8s}")
        if "sd" in peer:
            print(f"{'':52s} SDs upstream {json.dumps({k: round(v, 4) for k, v in ours['sd'].items()})}; "
                  f"MixedLM {json.dumps({k: round(v, 4) for k, v in peer['sd'].items()})}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
