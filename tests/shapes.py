"""A seeded generator of valid data sets in the shapes real exports take (issue 17): every contact rated,
answered surveys only, no invitations after adverse contacts, one team/channel/policy/product, customers who
never or always repeat, agents with one contact next to one with half the volume, binary to 11-point scales,
no NPS, no optional column. Each shape is a small, ordinary operation (no agent steers surveys), written as
the three tables plus ``dataset.yaml``, so the whole corpus runs through every study in seconds.

    tables, description = generate("seven_point", seed=3)
    folder = write_shape(tmp_path / "seven", "seven_point", seed=3)      # CSVs + dataset.yaml
    ds = upstream.load_dataset(folder)

The suite runs CORPUS (six data sets combining the seventeen shapes). Run every shape and the corpus on data the
tests never saw: ``python tests/shapes.py --seed 11 [--shape NAME] [--contacts N --agents K]`` validates each data
set, runs the nine study notebooks in-process (``run_notebooks``) and prints how many agents the screen put under review, or how a study
failed (exit 1); ``UPSTREAM_SHAPES_SEED=11 pytest tests/test_shapes.py`` runs the suite's checks at that seed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

OPTIONAL_CONTACT_COLUMNS = ("handle_time_sec", "n_interactions", "resolved_first_contact", "escalated",
                            "credit_issued")
COMMENTS = {"low": ("Waited days and nobody called back.", "The refund rule makes no sense.",
                    "Still broken after three contacts."),
            "mid": ("It was fine.", "Took a while but sorted.", "Okay, nothing special."),
            "high": ("Quick and friendly, thanks!", "Great help, solved at once.", "Very kind and clear.")}


@dataclass(frozen=True)
class Shape:
    """How one data set departs from an ordinary operation. ``points``/``top_box``: the CSAT scale declared in
    dataset.yaml; ``invite``/``respond``: the shares of contacts invited and of invitations answered;
    ``listed``: which rows the export lists ("all"; "answered": surveys list answered invitations only;
    "rated": contacts and surveys list rated contacts only); ``visibility``: what dataset.yaml declares
    (None: nothing, i.e. everything visible); ``customers``: "some" repeat, "never" or "always"."""

    points: int = 5
    top_box: tuple[int, ...] = (5,)
    invite: float = 0.8
    respond: float = 0.45
    listed: str = "all"
    visibility: dict | None = None
    no_invite_after_adverse: bool = False
    single_levels: bool = False
    customers: str = "some"
    skewed_agents: bool = False
    nps: bool = True
    optional_columns: bool = True
    extra: dict = field(default_factory=dict)


SHAPES: dict[str, Shape] = {
    "ordinary": Shape(),
    "top_two_box": Shape(top_box=(4, 5)),
    "every_contact_rated": Shape(invite=1.0, respond=1.0, listed="rated"),
    "rated_contacts_declared": Shape(invite=1.0, respond=1.0, listed="rated",
                                     visibility={"unanswered_invitations": False, "uninvited_contacts": False,
                                                 "note": "an export of rated tickets"}),
    "answered_surveys_only": Shape(listed="answered",
                                   visibility={"unanswered_invitations": False,
                                               "note": "the survey API lists answered surveys only"}),
    "answered_surveys_undeclared": Shape(listed="answered"),
    "no_invitations_after_adverse": Shape(no_invite_after_adverse=True),
    "single_levels": Shape(single_levels=True),
    "customers_never_repeat": Shape(customers="never"),
    "customers_always_repeat": Shape(customers="always"),
    "skewed_agents": Shape(skewed_agents=True),
    "binary": Shape(points=2, top_box=(2,)),
    "three_point": Shape(points=3, top_box=(3,)),
    "seven_point": Shape(points=7, top_box=(6, 7)),
    "eleven_point": Shape(points=11, top_box=(10, 11)),
    "no_nps": Shape(nps=False),
    "no_optional_columns": Shape(optional_columns=False, nps=False),
}


def combine(*names: str) -> Shape:
    """One shape with every departure of the named shapes (each sets fields the others leave at default)."""
    default, fields = Shape(), {}
    for name in names:
        shape = SHAPES[name]
        fields.update({k: v for k, v in vars(shape).items() if v != getattr(default, k)})
    return Shape(**fields)


#: The suite's corpus: six data sets that together take every shape above (each shape's departures combined with
#: others that do not interact), so the nine studies run six times rather than seventeen.
CORPUS: dict[str, tuple[str, ...]] = {
    "ordinary": ("ordinary",),
    "rated_seven_point_never_repeat": ("every_contact_rated", "seven_point", "customers_never_repeat"),
    "rated_declared_binary_single_levels": ("rated_contacts_declared", "binary", "single_levels", "no_nps"),
    "answered_only_eleven_point_skewed": ("answered_surveys_only", "eleven_point", "skewed_agents"),
    "answered_undeclared_three_point_repeat": ("answered_surveys_undeclared", "three_point",
                                               "customers_always_repeat"),
    "no_adverse_invites_top_two_box_bare": ("no_invitations_after_adverse", "top_two_box", "no_optional_columns"),
}


def shape_of(name: str) -> Shape:
    """A shape of SHAPES, or a data set of CORPUS (its shapes combined)."""
    return SHAPES[name] if name in SHAPES else combine(*CORPUS[name])


def _ordinal(eta: np.ndarray, points: int, rng) -> np.ndarray:
    """Codes 1..points from a cumulative logit with evenly spread thresholds (centred a little low, so the
    top codes are the common ones as in real CSAT)."""
    thresholds = np.linspace(-2.2, 1.0, points - 1)
    cum = 1 / (1 + np.exp(-(thresholds[None, :] - eta[:, None])))
    return 1 + (rng.random(len(eta))[:, None] > cum).sum(axis=1)


def generate(name: str, seed: int = 0, n_contacts: int = 240, n_agents: int = 12) -> tuple[dict, dict]:
    """The three tables (as ``load_dataset`` returns them) and the dataset.yaml mapping of shape ``name`` (a key of
    SHAPES or of CORPUS)."""
    shape = shape_of(name)
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    agent_ids = [f"a{i:02d}" for i in range(1, n_agents + 1)]
    teams = ["north"] if shape.single_levels else ["north", "south", "east"]
    agents = pd.DataFrame({"agent_id": agent_ids, "team": [teams[i % len(teams)] for i in range(n_agents)],
                           "site": np.where(np.arange(n_agents) % 2 == 0, "Leeds", "Manila"),
                           "tenure_months": np.round(rng.uniform(1, 60, n_agents), 1)})
    if shape.skewed_agents:       # three agents with one contact, one agent with half the volume
        ones = list(range(n_agents - 3, n_agents))
        half = n_contacts // 2
        owner = np.concatenate([np.zeros(half, int), np.array(ones),
                                rng.integers(1, n_agents - 3, n_contacts - half - len(ones))])
        owner = rng.permutation(owner)
    else:
        owner = rng.permutation(np.arange(n_contacts) % n_agents)
    levels = {"channel": ["phone", "chat", "email"], "policy": ["standard", "refund above cap", "warranty expired"],
              "product": ["router", "mesh kit", "set-top box"], "issue_type": ["billing", "defect", "how-to"]}
    effects = {"channel": [0.0, 0.2, -0.2], "policy": [0.0, -0.6, -0.3], "product": [0.0, 0.1, -0.1],
               "issue_type": [0.0, -0.2, 0.3]}
    contacts = pd.DataFrame({"contact_id": [f"c{i:05d}" for i in range(1, n_contacts + 1)]})
    opened = (pd.Timestamp("2026-06-08 08:00") + pd.to_timedelta(np.sort(rng.integers(0, 56 * 86400, n_contacts)),
                                                                 unit="s"))
    contacts["opened_at"] = opened
    contacts["closed_at"] = opened + pd.to_timedelta(rng.integers(600, 2 * 86400, n_contacts), unit="s")
    contacts["agent_id"] = np.array(agent_ids)[owner]
    contacts["team"] = agents["team"].to_numpy()[owner]
    eta = rng.normal(0, 0.6, n_agents)[owner]
    for column, values in levels.items():
        single = shape.single_levels and column != "issue_type"
        pick = np.zeros(n_contacts, int) if single else rng.integers(0, 3, n_contacts)
        contacts[column] = np.array(values)[pick]
        eta = eta + np.array(effects[column])[pick]
    if shape.customers == "never":
        customer = np.arange(n_contacts)
    elif shape.customers == "always":
        customer = rng.permutation(np.arange(n_contacts) // 3)
    else:
        customer = rng.integers(0, int(n_contacts * 0.7), n_contacts)
    contacts["customer_id"] = [f"k{c:05d}" for c in customer]
    eta = eta + rng.normal(0, 0.4, customer.max() + 1)[customer]
    resolved = rng.random(n_contacts) < 0.75
    escalated = rng.random(n_contacts) < 0.08
    repeat = (rng.random(n_contacts) < np.where(resolved, 0.05, 0.25)) if shape.customers != "never" else \
        np.zeros(n_contacts, bool)
    eta = eta - 0.8 * ~resolved - 0.3 * escalated
    contacts["handle_time_sec"] = np.round(rng.gamma(2.0, 300.0, n_contacts), 1)
    contacts["n_interactions"] = rng.integers(1, 9, n_contacts)
    contacts["resolved_first_contact"] = resolved
    contacts["repeat_within_7d"] = repeat
    contacts["escalated"] = escalated
    contacts["credit_issued"] = np.where(rng.random(n_contacts) < 0.12, np.round(rng.uniform(5, 50, n_contacts)),
                                         0.0)

    adverse = ~resolved | escalated | repeat
    invited = rng.random(n_contacts) < shape.invite
    if shape.no_invite_after_adverse:
        invited &= ~adverse
    answered = invited & (rng.random(n_contacts) < shape.respond)
    csat = _ordinal(eta, shape.points, rng)
    nps = np.clip(np.round(7 + 1.6 * eta + rng.normal(0, 1.5, n_contacts)), 0, 10).astype(int)
    sent = contacts["closed_at"] + pd.Timedelta(hours=1)
    surveys = pd.DataFrame({"contact_id": contacts["contact_id"], "sent_at": sent,
                            "responded_at": sent + pd.to_timedelta(rng.integers(60, 3 * 86400, n_contacts), unit="s"),
                            "csat": pd.array(csat, dtype="Int64"),
                            "nps": pd.array(nps, dtype="Int64")})
    band = np.where(csat <= max(1, shape.points // 3), "low", np.where(csat >= shape.top_box[0], "high", "mid"))
    surveys["comment"] = [COMMENTS[b][i % 3] if i % 2 == 0 else None for i, b in enumerate(band)]
    skipped = rng.random(n_contacts) < 0.03          # an answer that skipped the CSAT question
    surveys.loc[skipped, "csat"] = pd.NA
    surveys.loc[~answered, ["responded_at"]] = pd.NaT
    surveys.loc[~answered, ["csat", "nps"]] = pd.NA
    surveys.loc[~answered, "comment"] = None
    if not shape.nps:
        surveys["nps"] = pd.array([pd.NA] * n_contacts, dtype="Int64")
    keep_survey = invited.copy()
    if shape.listed in ("answered", "rated"):
        keep_survey = answered
    if shape.listed == "rated":
        keep_survey = answered & surveys["csat"].notna().to_numpy()
        contacts = contacts[keep_survey].reset_index(drop=True)
    surveys = surveys[keep_survey].reset_index(drop=True)
    missing = {}
    if not shape.optional_columns:
        contacts = contacts.drop(columns=list(OPTIONAL_CONTACT_COLUMNS))
        agents = agents.drop(columns=["site", "tenure_months"])
        surveys["comment"] = None
        missing = {"contacts": {"missing": list(OPTIONAL_CONTACT_COLUMNS)},
                   "agents": {"missing": ["site", "tenure_months"]}}
    agents = agents[agents["agent_id"].isin(contacts["agent_id"])].reset_index(drop=True)
    labels = {c: str(c) for c in range(1, shape.points + 1)}
    if shape.points == 2:
        labels = {1: "bad", 2: "good"}
    description = {"upstream_dataset": 1, "name": f"shape-{name}-{seed}",
                   "csat": {"points": shape.points, "labels": labels, "top_box": list(shape.top_box)},
                   "nps": {"present": shape.nps}}
    if missing:
        description["columns"] = missing
    if shape.visibility is not None:
        description["visibility"] = dict(shape.visibility)
    return {"contacts": contacts, "surveys": surveys, "agents": agents}, description


def write_shape(folder: Path, name: str, seed: int = 0, **sizes) -> Path:
    """Write shape ``name`` as contacts.csv, surveys.csv, agents.csv and dataset.yaml into ``folder``."""
    from conftest import write_tables

    tables, description = generate(name, seed, **sizes)
    folder = write_tables(Path(folder), tables)
    (folder / "dataset.yaml").write_text(yaml.safe_dump(description, sort_keys=False), encoding="utf-8")
    return folder


def run_studies(ds, params: dict, cache=None) -> dict:
    """Every study's StudyResult on `ds` (the pipelines the notebooks call), or the estimability refusal
    (``{"refused": [sentences]}``) when the data leave nothing to estimate."""
    import importlib
    import warnings

    from upstream.data.estimability import estimability_problems
    from upstream.studies import STUDY_NAMES, RunCache

    problems = estimability_problems(ds)
    if problems:
        return {"refused": problems}
    cache = cache or RunCache()
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for study in STUDY_NAMES:
            out[study] = importlib.import_module(f"upstream.studies.{study}").run(ds, params, cache)
    return out


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_notebooks(folder: Path, params: dict, cache_dir: Path, studies: tuple[str, ...] | None = None,
                  render: bool = False) -> dict:
    """The quarterly review's notebooks (or those of `studies`) executed in this process (every code cell, in order,
    with the parameters cell's values overridden by `params` and the data folder): each study's pipeline *and* the
    notebook code that displays it, which the pipelines alone do not exercise; with a `report_dir` in `params`, what
    a run publishes is written there. No kernel and no papermill (the CLI test has those);
    figures are built but not rendered to PNG (nor laid out) unless `render` (then as a run renders them), and
    nothing is displayed. Returns each study's StudyResult, or the estimability refusal (``{"refused": [sentences]}``)."""
    import contextlib
    import warnings
    from unittest import mock

    import IPython.display

    from upstream.data import load_dataset
    from upstream.data.estimability import estimability_problems
    from upstream.studies import STUDY_NAMES

    problems = estimability_problems(load_dataset(folder, validate=False))
    if problems:
        return {"refused": problems}
    settings = {"data_dir": str(folder), "report_dir": None, "cache_dir": str(cache_dir), "validated": True, **params}
    patches = (mock.patch.object(IPython.display, "display", lambda *a, **k: None),)
    if not render:
        patches += (mock.patch("upstream.reporting.notebook.figure_png", lambda fig, dpi=110: _PNG),)
    out = {}
    with warnings.catch_warnings(), contextlib.ExitStack() as stack:
        warnings.simplefilter("ignore")
        for patch in patches:
            stack.enter_context(patch)
        for study in studies or STUDY_NAMES:
            notebook = json.loads((NOTEBOOKS / f"{study}.ipynb").read_text(encoding="utf-8"))
            cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
            namespace: dict = {}
            exec(compile(cells[0], f"{study}.ipynb[parameters]", "exec"), namespace)
            namespace.update({k: v for k, v in settings.items() if k in namespace})
            for i, code in enumerate(cells[1:], start=1):
                exec(compile(code, f"{study}.ipynb[{i}]", "exec"), namespace)
            out[study] = namespace["result"]
    return out


#: A 1×1 PNG: what a figure "renders" to in run_notebooks.
_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8"
                     "ffff3f0005fe02fea7d6a4b40000000049454e44ae426082")


def main(argv=None) -> int:
    """Run the corpus at a seed (``--seed``; every shape unless ``--shape``) and print each study's outcome."""
    import argparse
    import sys
    import tempfile
    import time
    import traceback

    from upstream.data import load_dataset

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shape", action="append", choices=sorted({*SHAPES, *CORPUS}),
                        help="a shape or a corpus data set (default: every shape and every corpus data set)")
    parser.add_argument("--contacts", type=int, default=240)
    parser.add_argument("--agents", type=int, default=12)
    args = parser.parse_args(argv)
    failed = 0
    for name in args.shape or [*SHAPES, *CORPUS]:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            folder = write_shape(Path(tmp) / "data", name, args.seed, n_contacts=args.contacts, n_agents=args.agents)
            load_dataset(folder)             # validates: a corpus data set must pass every rule
            try:
                results = run_notebooks(folder, {"n_boot": 100, "seed": args.seed + 1}, Path(tmp) / "cache")
            except Exception:   # the point of the corpus: report every failure, then go on
                failed += 1
                print(f"{name}: FAILED\n{traceback.format_exc()}", file=sys.stderr)
                continue
            if "refused" in results:
                print(f"{name}: refused: {' '.join(results['refused'])}")
                continue
            screen = results["agent_vs_system"].tables["survey_screen"]
            print(f"{name}: {len(results)} studies in {time.perf_counter() - start:.1f}s; "
                  f"{int(screen['flagged'].sum())} of {len(screen)} agents under survey review")
    return 1 if failed else 0


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
