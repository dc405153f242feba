"""Run every benchmark (make bench): lmer speed vs MixedLM, glmer/clmm vs R, the bootstrap and fits
from group statistics, conformance, coverage.

    .venv/bin/python benchmarks/run_all.py [--quick]

--quick runs the coverage study with 20 replications instead of 200.
"""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    quick = "--quick" in sys.argv
    status = 0
    for script, args in [("bench_lmer.py", []), ("bench_glmm.py", []), ("bench_bootstrap.py", []),
                         ("conformance_table.py", []),
                         ("coverage.py", ["--reps", "20" if quick else "200"])]:
        print(f"\n=== {script} {' '.join(args)}", flush=True)
        status |= subprocess.run([sys.executable, str(HERE / script), *args]).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
