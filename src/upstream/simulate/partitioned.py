"""A large simulated operation written month by month as partitioned Parquet, never whole in memory.

    out/agents.parquet
    out/contacts/month=2026-01/part-0.parquet   ... one folder per calendar month
    out/surveys/month=2026-01/part-0.parquet    ... the surveys of that month's contacts
    out/truth.json

The generating model is the one-piece simulator's (``operation.operate``), run once per month on
that month's share of the contacts: the agents, the customers and the agents' survey shifts are
drawn once (one random stream), each month has its own stream (``SeedSequence(seed).spawn``), so a
month can be regenerated alone and the output does not depend on memory. Two things differ from
a one-piece run, by construction: the response intercept is calibrated per month (each month's
response rate is the target in expectation), and the population figures of ``truth.json`` (policy
and channel effects on the CSAT scale, the trend, agents' CSAT-scale effects) are computed on a
seeded 10% sample of the contacts (``truth_sample`` in truth.json); agents' ``n_contacts`` and
``csat_mean_all_contacts`` are exact.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .operation import (
    PARTITIONED_PRESETS,
    PRESETS,
    OperationSpec,
    draw_agents,
    draw_customers,
    draw_shifts,
    operate,
    simulate,
    staff_table,
)
from .truth import build_truth

#: Share of each month's contacts kept for the truth's population figures.
TRUTH_SAMPLE = 0.10


def month_plan(spec: OperationSpec) -> list[tuple[str, int, int, int]]:
    """(month label 'YYYY-MM', first day, end day, contacts) for each calendar month the period
    touches; contacts are split in proportion to the days of the period in each month."""
    start = np.datetime64(spec.start, "D")
    days = start + np.arange(spec.days)
    months = days.astype("datetime64[M]")
    labels, first = np.unique(months, return_index=True)
    ends = list(first[1:]) + [spec.days]
    counts = np.diff(np.round(np.r_[0, np.cumsum(np.array(ends) - first)] * spec.n_contacts / spec.days)).astype(int)
    return [(str(lab), int(a), int(b), int(c)) for lab, a, b, c in zip(labels, first, ends, counts)]


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


def _sample(draws: dict, keep: np.ndarray) -> dict:
    """The contact-level arrays of `draws` at the rows `keep` (agent-level values unchanged)."""
    n = draws["n"]
    return {k: (v[keep] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) and k not in _AGENT_LEVEL else v)
            for k, v in draws.items()}


_AGENT_LEVEL = {"agent_ids", "skill", "tenure_effect", "rush_effect", "agent_latent", "rushing", "steering",
                "low_volume", "invite_shift", "response_shift", "policy_eff", "channel_eff"}


def simulate_partitioned(out_dir, spec: OperationSpec, progress=None) -> Path:
    """Write the operation of `spec` month by month into `out_dir` (which must not exist or be empty).
    `progress(label)` is called after each month."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: the output folder exists and is not empty; choose a new folder")
    if spec.n_agents < 2 or spec.n_contacts < spec.n_agents:
        raise ValueError("a simulated operation needs at least 2 agents and as many contacts as agents")
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    root = np.random.SeedSequence(spec.seed)
    whole, *month_seeds = root.spawn(1 + len(month_plan(spec)))
    rng = np.random.default_rng(whole)
    staff = draw_agents(spec, rng)
    customers = draw_customers(spec, rng)
    shifts = draw_shifts(spec, rng)
    _write_parquet(staff_table(staff), staging / "agents.parquet")
    m = spec.n_agents
    counts, csat_sums, kept, intercepts, first = np.zeros(m, np.int64), np.zeros(m), [], {}, 0
    for (label, lo, hi, n), seed in zip(month_plan(spec), month_seeds):
        if n == 0:
            continue
        month_rng = np.random.default_rng(seed)
        contacts, surveys, draws = operate(spec, month_rng, staff, n, (lo, hi), customers=customers, shifts=shifts,
                                           first_contact=first)
        first += n
        _write_parquet(contacts, staging / "contacts" / f"month={label}" / "part-0.parquet")
        _write_parquet(surveys, staging / "surveys" / f"month={label}" / "part-0.parquet")
        counts += np.bincount(draws["agent_idx"], minlength=m)
        csat_sums += np.bincount(draws["agent_idx"], weights=draws["csat"], minlength=m)
        intercepts[label] = float(draws["intercept"])
        kept.append(_sample(draws, month_rng.random(n) < TRUTH_SAMPLE))
        del contacts, surveys, draws
        if progress is not None:
            progress(label)
    truth = build_truth(_joined(kept, spec))
    for row, n_j, s_j in zip(truth["agents"], counts, csat_sums):
        row["n_contacts"], row["csat_mean_all_contacts"] = int(n_j), float(s_j / max(n_j, 1))
    truth["response_model"]["intercept_by_month"] = intercepts
    truth["truth_sample"] = (f"population, policy, channel, trend, speed-push and credit figures and agents' "
                             f"CSAT-scale effects from a seeded {TRUTH_SAMPLE:.0%} sample of the contacts; agents' "
                             "n_contacts and csat_mean_all_contacts from every contact")
    (staging / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    if out.exists():
        out.rmdir()
    staging.rename(out)
    return out


def _joined(parts: list[dict], spec: OperationSpec) -> dict:
    """One draws dict from the months' samples (contact-level arrays concatenated)."""
    first = parts[0]
    out = dict(first)
    for k, v in first.items():
        if isinstance(v, np.ndarray) and k not in _AGENT_LEVEL and v.shape[:1] == (len(first["csat"]),):
            out[k] = np.concatenate([p[k] for p in parts])
    out["n"] = len(out["csat"])
    out["intercept"] = float(np.mean([p["intercept"] for p in parts]))
    out["rng"] = np.random.default_rng(np.random.SeedSequence([spec.seed, 1]))
    return out


HANDOFF_SHARE = 1 / 3     # `--handoffs`: a third of contacts handled by two or three agents


def simulate_to_folder(out_dir, preset: str = "sample", seed: int | None = None, handoffs: bool = False) -> Path:
    """Simulate with a named preset and write the tables and truth.json into `out_dir` (CSV; the
    presets in PARTITIONED_PRESETS as month-partitioned Parquet, see ``partitioned``). `handoffs`: a
    third of contacts handled by two or three agents, with contact_agents.csv (operation.py)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if handoffs:
        if preset in PARTITIONED_PRESETS:
            raise ValueError(f"--handoffs is not available for the partitioned preset {preset!r}")
        return simulate(PRESETS[preset].replace(handoff_share=HANDOFF_SHARE), seed=seed).write(out_dir)
    if preset in PARTITIONED_PRESETS:
        spec = PRESETS[preset] if seed is None else PRESETS[preset].replace(seed=seed)
        return simulate_partitioned(out_dir, spec)
    return simulate(PRESETS[preset], seed=seed).write(out_dir)
