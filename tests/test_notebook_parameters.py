"""Every study notebook agrees with its study's declaration (``upstream.studies.<name>.STUDY``): the
parameters cell (the cell tagged ``parameters``, which papermill overrides) gives each study parameter the
default its parameters class declares, declares nothing the study does not take besides what the runner
injects, hands every one of them to the class, and opens the data with the engine the runner passes."""
from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest

from upstream.runner.spec import RUNNER_PARAMETERS, SHOW_NAMES
from upstream.studies import STUDY_NAMES, declared
from upstream.studies.allowed import allowed_values

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
MISSING = object()


def cells(name: str) -> tuple[str, str]:
    """(the parameters cell, the other code cells) of notebooks/<name>.ipynb, as source text."""
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{name}.ipynb: {len(tagged)} cells tagged 'parameters'"
    return "".join(tagged[0]["source"]), "\n".join("".join(c["source"]) for c in code if c is not tagged[0])


def cell_values(source: str) -> dict:
    """name → value of every `name = <literal>` in a parameters cell."""
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(source).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}


def disagreements(source: str, cls) -> list[str]:
    """What a parameters cell states differently from the parameters class `cls`: a default that differs
    (in value or type), a parameter the class does not take (the runner's own aside). None where the field
    declares what None means (``allowed(..., none=...)``, e.g. screen_z: "the default, 2.17") is that default."""
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    rules = allowed_values(cls)
    problems = []
    for name, value in cell_values(source).items():
        if name in RUNNER_PARAMETERS:
            continue
        default = defaults.get(name, MISSING)
        if default is MISSING:
            problems.append(f"{name} = {value!r}: {cls.__name__} has no such parameter")
        elif value is None and rules[name].none:
            continue
        elif value != default or type(value) is not type(default):
            problems.append(f"{name} = {value!r}: {cls.__name__} declares {default!r}")
    return problems


@pytest.mark.parametrize("name", STUDY_NAMES)
def test_the_parameters_cell_agrees_with_the_declared_defaults(name):
    cls = declared(name).parameters
    source, _ = cells(name)
    assert disagreements(source, cls) == []
    values = cell_values(source)
    assert set(RUNNER_PARAMETERS) <= set(values), f"{name}.ipynb lacks {set(RUNNER_PARAMETERS) - set(values)}"
    assert values["engine"] == "auto" and values["data_dir"] == "../data/sample" and values[SHOW_NAMES] is False
    assert values["study_title"] == declared(name).title


@pytest.mark.parametrize("name", STUDY_NAMES)
def test_the_notebook_hands_every_parameter_to_its_study_and_opens_what_the_runner_passes(name):
    """A parameter the cell declares but the notebook does not pass on would take -p silently and change
    nothing; a notebook that loads the data itself would ignore the engine the runner chose."""
    study = declared(name)
    source, code = cells(name)
    given = set(cell_values(source)) - set(RUNNER_PARAMETERS)
    calls = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr == "from_mapping"]
    assert len(calls) == 1, f"{name}.ipynb builds its parameters {len(calls)} times"
    passed = {k.arg: k.value.id for k in calls[0].keywords if isinstance(k.value, ast.Name)}
    assert passed == {n: n for n in given}
    assert ast.unparse(calls[0].func.value).endswith(study.parameters.__name__)
    assert "load_dataset" not in code
    assert "ds = open_dataset(data_dir, engine=engine, validate=not validated)" in code
    assert code.count("open_dataset(") == 1, f"{name}.ipynb opens the data set more than once"
    assert f"result = {name}.run(ds, params, RunCache(cache_dir))" in code


def test_a_cell_that_disagrees_is_named():
    cls = declared("qa_sample").parameters
    cell = 'data_dir = "../data/sample"\nn_boot = 500\nbudget = 200.0\nscreen_zz = 2.17\nseed = 2026\n'
    assert disagreements(cell, cls) == ["n_boot = 500: QaParameters declares 1000",
                                        "budget = 200.0: QaParameters declares 200",
                                        "screen_zz = 2.17: QaParameters has no such parameter"]


@pytest.mark.parametrize("name", STUDY_NAMES)
def test_the_tables_a_notebook_asks_for_are_its_study_declared_tables(name):
    """`"x" in result.tables` in a notebook names a table its study declares (``STUDY.tables``), so a
    renamed table cannot leave a notebook silently showing nothing."""
    _, code = cells(name)
    asked = {node.left.value for node in ast.walk(ast.parse(code))
             if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)
             and ast.unparse(node.comparators[0]) == "result.tables"}
    assert asked <= set(declared(name).tables), asked - set(declared(name).tables)
    if name in ("channel_audit", "policy_friction", "survey_health"):
        assert asked, f"{name}.ipynb asks for tables by name"


def test_the_runner_keeps_every_declared_secret_out_of_notebooks_and_records():
    """SECRET_PARAMETERS comes from ``allowed(..., secret=True)`` on the shared parameters; no study declares a
    secret of its own that the runner would not know."""
    from upstream.runner.guards import SECRET_PARAMETERS

    assert SECRET_PARAMETERS == ("pseudonym_salt",)
    for name in STUDY_NAMES:
        secrets = {field for field, rule in allowed_values(declared(name).parameters).items() if rule.secret}
        assert secrets == set(SECRET_PARAMETERS), name
