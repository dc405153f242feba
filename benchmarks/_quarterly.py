"""The quarterly review through the runner at scale (``bench_scale.py --quarterly``; issue 20).

Each run is ``upstream run quarterly_review --engine ENGINE --data DIR`` in a fresh process, timed, with the
peak memory of its whole process tree — the runner and its notebook kernels (and Spark's JVM), sampled with
psutil every half second: the sum over the processes alive at one moment — beside the largest single process
(``ru_maxrss`` of the runner and its waited-for descendants).

The runner refuses a SQL engine for a study file with a study that reads rows (``STUDY.engines``; exit 2). Such
studies run here in a second runner run of their own with ``--engine pandas`` when ``--with-rows`` is given
(their figures are reported apart and added to the total), and are otherwise left out and named: at ten
million contacts a kernel holding every row needs ~15 GB, more than the machine can spare.

The good/bad variant is the large preset with CSAT recoded to 2 points (4–5 good, 1–3 bad) and a dataset.yaml
declaring the binary scale: contacts and agents are linked, only the surveys are rewritten, by DuckDB, into a
temporary folder (the preset stays untouched).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STUDY_FILE = ROOT / "studies" / "quarterly_review.yaml"
UPSTREAM = ROOT / ".venv" / "bin" / "upstream"
GOOD_BAD_YAML = {"upstream_dataset": 1, "name": "good/bad variant of the large preset (CSAT 4-5 good, 1-3 bad)",
                 "csat": {"present": True, "kind": "binary", "points": 2, "labels": {1: "bad", 2: "good"},
                          "top_box": [2], "label_of_good": "good"}}
DURATION = r"((?:\d+ min )?[\d.]+ s)"                 # the runner's seconds_text: "12.3 s", "2 min 05 s"
NOTEBOOK_LINE = re.compile(rf"\[\d+/\d+\] (\w+) \.\.\. (done|failed) (?:after|in) {DURATION}")
VALIDATION_LINE = re.compile(rf"Validating .* \.\.\. ok in {DURATION}")


def seconds(text: str) -> float:
    """Seconds of the runner's "2 min 05 s" or "12.3 s"."""
    minutes, _, rest = text.rpartition(" min ")
    return 60 * int(minutes or 0) + float(rest.removesuffix(" s"))


def split_by_engine(engine: str) -> tuple[list[str], list[str]]:
    """The quarterly review's notebooks (paths) whose study reads with `engine`, and those that read rows."""
    from upstream.studies.registry import engine_for

    spec = yaml.safe_load(STUDY_FILE.read_text())
    paths = [str((STUDY_FILE.parent / p).resolve()) for p in spec["notebooks"]]
    reads = [p for p in paths if engine_for(Path(p).stem, engine) == engine]
    return reads, [p for p in paths if p not in reads]


def study_file(folder: Path, name: str, notebooks: list[str]) -> Path:
    """A copy of quarterly_review.yaml with only `notebooks`."""
    spec = yaml.safe_load(STUDY_FILE.read_text())
    spec.update(name=name, notebooks=notebooks, data=str(ROOT / "data" / "sample"))
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


class TreeMemory(threading.Thread):
    """The largest total resident memory of a process and its descendants, sampled every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.stopped = pid, every, 0, threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.stopped.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                break
            self.peak = max(self.peak, total)
            self.stopped.wait(self.every)


def stop_tree(pid: int) -> None:
    """Kill process `pid` and every descendant (notebook kernels run in sessions of their own)."""
    import psutil

    try:
        root = psutil.Process(pid)
        for proc in [*root.children(recursive=True), root]:
            proc.send_signal(signal.SIGKILL)
    except psutil.Error:
        pass


def run_review(study: Path | str, data: str, engine: str, reports: Path, n_boot: int | None,
               limit: float | None = None) -> dict:
    """One runner run: seconds, exit code, validation and per-notebook seconds, CPU seconds (user + system of the
    runner and its kernels), peak memory (tree and largest process, GB), and the last lines of stderr when it
    failed. After `limit` seconds the run and its kernels are stopped (``stopped``: a lower bound on its time)."""
    argv = [str(UPSTREAM), "run", str(study), "--engine", engine, "--data", data, "--reports", str(reports)]
    if n_boot is not None:
        argv += ["-p", f"n_boot={n_boot}"]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    stopper = threading.Timer(limit, stop_tree, (proc.pid,)) if limit else None
    if stopper is not None:
        stopper.start()
    sampler = TreeMemory(proc.pid)
    sampler.start()
    err_lines: list[tuple[float, str]] = []            # (seconds since start, line) as the runner writes them
    reader = threading.Thread(target=lambda: err_lines.extend((time.perf_counter() - started, line)
                                                              for line in proc.stderr), daemon=True)
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if stopper is not None:
        stopper.cancel()
    stopped = bool(limit) and elapsed >= limit
    sampler.stopped.set()
    sampler.join()
    reader.join()
    err = "".join(line for _, line in err_lines)
    validation = VALIDATION_LINE.search(err)
    notebooks_done = max((at for at, line in err_lines if NOTEBOOK_LINE.search(line)), default=elapsed)
    return {"engine": engine, "code": os.waitstatus_to_exitcode(status), "seconds": elapsed,
            "validation_s": seconds(validation.group(1)) if validation else None,
            "notebooks": {m.group(1): (m.group(2), seconds(m.group(3))) for m in NOTEBOOK_LINE.finditer(err)},
            "after_notebooks_s": elapsed - notebooks_done,           # the report: HTML pages, agent pages, index
            "tree_peak_gb": sampler.peak / 1e9, "largest_gb": usage.ru_maxrss / 1e6,
            "cpu_s": usage.ru_utime + usage.ru_stime, "stopped": stopped,
            "error": "" if status == 0 else " | ".join(err.strip().splitlines()[-3:])}


def quarterly(data: str, engine: str, reports: Path, n_boot: int | None, with_rows: bool,
              limit: float | None = None) -> dict:
    """The whole quarterly review on `data` with `engine`: one runner run of the studies that read with it and,
    with `with_rows`, a second (pandas) of those that read rows; totals over both."""
    reads, rows = split_by_engine(engine)
    folder = Path(tempfile.mkdtemp(prefix="quarterly-"))
    parts = {}
    try:
        if reads:
            parts[engine] = run_review(study_file(folder, "quarterly_review", reads), data, engine, reports, n_boot,
                                       limit)
            print(f"  (done: {part_line(engine, parts[engine])})", flush=True)
        if rows and with_rows:
            parts["pandas"] = run_review(study_file(folder, "quarterly_review_rows", rows), data, "pandas", reports,
                                         n_boot)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"parts": parts, "left_out": [] if with_rows else [Path(p).stem for p in rows],
            "seconds": sum(p["seconds"] for p in parts.values()),
            "tree_peak_gb": max((p["tree_peak_gb"] for p in parts.values()), default=0.0),
            "cpu_s": sum(p["cpu_s"] for p in parts.values()),
            "stopped": any(p["stopped"] for p in parts.values()),
            "ok": all(p["code"] == 0 for p in parts.values())}


def good_bad_variant(data: str, folder: Path) -> Path:
    """`data` with CSAT recoded to good (4–5 → 2) / bad (1–3 → 1) and a dataset.yaml saying so, in `folder`:
    contacts and agents linked, surveys rewritten by DuckDB in the same layout (a CSV, or Parquet per month)."""
    import duckdb

    from upstream.data.loading import find_table_file
    from upstream.data.schema import table_files

    source, out = Path(data), folder / "good_bad"
    out.mkdir(parents=True)
    for table in ("contacts", "agents", "contact_agents"):
        path = find_table_file(source, table)
        if path is not None:
            (out / path.name).symlink_to(path.resolve())
    surveys = find_table_file(source, "surveys")
    con = duckdb.connect(config={"threads": 2, "memory_limit": "2GB"})
    recode = "CASE WHEN csat IS NULL THEN NULL WHEN CAST(csat AS INTEGER) >= 4 THEN 2 ELSE 1 END"
    if surveys.name.endswith((".csv", ".csv.gz")):
        con.execute(f"COPY (SELECT * REPLACE ({recode} AS csat) FROM read_csv('{surveys}', all_varchar = true, "
                    f"header = true)) TO '{out / 'surveys.csv'}' (HEADER, DELIMITER ',')")
    else:
        for file in table_files(surveys):
            target = out / file.relative_to(surveys.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY (SELECT * REPLACE ({recode} AS csat) FROM read_parquet('{file}', "
                        f"hive_partitioning = false)) TO '{target}' (FORMAT parquet)")
    (out / "dataset.yaml").write_text(yaml.safe_dump(GOOD_BAD_YAML, sort_keys=False))
    return out


def part_line(engine: str, part: dict) -> str:
    """One runner run in a line: exit code, seconds (validation, each notebook, the report), peak memory."""
    notebooks = ", ".join(f"{name} {taken:.0f} s{'' if status == 'done' else ' (failed)'}"
                          for name, (status, taken) in part["notebooks"].items())
    validation = f"validation {part['validation_s']:.0f} s, " if part["validation_s"] is not None else ""
    code = f"stopped after {part['seconds']:.0f} s (--pandas-limit)" if part["stopped"] else f"exit {part['code']}"
    return (f"--engine {engine}: {code}, {part['seconds']:.0f} s ({part['cpu_s']:.0f} CPU-s); {validation}{notebooks}; "
            f"report after the notebooks {part['after_notebooks_s']:.0f} s; peak {part['tree_peak_gb']:.2f} GB tree, "
            f"{part['largest_gb']:.2f} GB largest process")


def describe(label: str, result: dict) -> list[str]:
    """Lines for one quarterly review."""
    state = "STOPPED (a lower bound)" if result["stopped"] else "ok" if result["ok"] else "FAILED"
    lines = [f"{label}: {state}, {result['seconds']:.0f} s in all ({result['cpu_s']:.0f} CPU-s), peak "
             f"{result['tree_peak_gb']:.2f} GB (process tree)"]
    for engine, part in result["parts"].items():
        lines.append(f"  {part_line(engine, part)}")
        if part["error"]:
            lines.append(f"    stderr: {part['error']}")
    if result["left_out"]:
        lines.append(f"  left out (they read every row; --with-rows runs them with pandas): "
                     f"{', '.join(result['left_out'])}")
    return lines


def print_ratios(results: dict, medium: str) -> None:
    """Each review's time and peak memory over the pandas path's on `medium` (a stopped pandas run makes the time
    ratio an upper bound: "< x")."""
    ref = results.get("pandas")
    for key, result in results.items():
        if ref is not None and key != "pandas" and ref["seconds"]:
            time_ratio = result["seconds"] / ref["seconds"]
            memory_ratio = result["tree_peak_gb"] / max(ref["tree_peak_gb"], 1e-9)
            bound = "< " if ref["stopped"] else ""
            print(f"ratio {key} / pandas on {Path(medium).name}: time {bound}{time_ratio:.2f}×, "
                  f"peak memory {memory_ratio:.2f}×{' (pandas stopped: its peak so far)' if ref['stopped'] else ''}")


def main(data: str, medium: str, engine: str, n_boot: int | None, with_rows: bool, good_bad: bool,
         pandas_limit: float | None = None) -> int:
    """The quarterly review on `data` with `engine`, on its good/bad variant, and on `medium` with `engine` and with
    pandas (stopped after `pandas_limit` seconds)."""
    reports = Path(tempfile.mkdtemp(prefix="quarterly-reports-"))
    work = Path(tempfile.mkdtemp(prefix="quarterly-data-"))
    print(f"load average before: {os.getloadavg()}  (2 cores); n_boot {n_boot or 'the notebooks’ default'}")
    results = {}
    try:
        results["scale"] = quarterly(data, engine, reports, n_boot, with_rows)
        print("\n".join(describe(f"quarterly review, {data}, --engine {engine}", results["scale"])), flush=True)
        if medium:
            results["medium"] = quarterly(medium, engine, reports, n_boot, with_rows)
            print("\n".join(describe(f"quarterly review, {medium}, --engine {engine}", results["medium"])), flush=True)
            results["pandas"] = quarterly(medium, "pandas", reports, n_boot, True, pandas_limit)
            print("\n".join(describe(f"quarterly review, {medium}, --engine pandas", results["pandas"])), flush=True)
        if good_bad:
            t = time.perf_counter()
            variant = good_bad_variant(data, work)
            print(f"good/bad variant written in {time.perf_counter() - t:.0f} s")
            results["good_bad"] = quarterly(str(variant), engine, reports, n_boot, with_rows)
            print("\n".join(describe(f"quarterly review, good/bad variant, --engine {engine}", results["good_bad"])),
                  flush=True)
        print_ratios(results, medium)
    finally:
        shutil.rmtree(reports, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")
    return 0 if all(r["ok"] or r["stopped"] for r in results.values()) else 1
