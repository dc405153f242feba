"""environment.yml and pyproject.toml must list the same pinned dependencies; the Makefile and CI
must use the README's commands."""
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from source_tree import parsed

ROOT = Path(__file__).resolve().parents[1]


def _pins(specs):
    out = {}
    for spec in specs:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)\s*", spec)
        assert m, f"not an exact pin: {spec!r}"
        out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = _pins(project["dependencies"] + [spec for specs in project["optional-dependencies"].values()
                                                for spec in specs])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    conda = [d for d in deps if isinstance(d, str) and d not in ("pip",) and not d.startswith("python=")]
    assert _pins(conda) == expected
    pip_part = [d for d in deps if isinstance(d, dict)]
    assert pip_part == [{"pip": ["-e ."]}] and deps[-1] == {"pip": ["-e ."]}


def test_lock_file_pins_every_direct_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = _pins([line for line in (ROOT / "requirements.lock").read_text().splitlines()
                  if line.strip() and not line.startswith("#")])
    for name, version in _pins(project["dependencies"]).items():
        assert lock.get(name) == version, f"requirements.lock pins {name}=={lock.get(name)}, pyproject {version}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make study" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize(("target", "requirement"), [(".installed", ["-e", "."]),
                                                    (".installed-dev", ["-e", ".[dev]"]),
                                                    (".installed-lab", ["-e", ".[lab]"]),
                                                    (".installed-spark", ["-e", ".[dev,spark]"])])
@pytest.mark.parametrize("uv_works", [True, False])
def test_each_install_target_gives_uv_or_pip_the_whole_requirement(target, requirement, uv_works, tmp_path):
    """The install command `make` runs for a target (`make -n -B`, from a venv not made yet), run against a venv whose
    uv and python only record their arguments: uv gets the target's requirement whole, against the lock; where uv
    fails (an index only pip.conf names), pip gets the same. A make macro once split '.[dev,spark]' at its comma."""
    venv = tmp_path / "venv"
    done = subprocess.run(["make", "-n", "-B", f"VENV={venv}", f"{venv}/{target}"], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    command = [line for line in done.stdout.splitlines() if line.startswith("install() {")][-1]
    log = tmp_path / "calls"
    (venv / "bin").mkdir(parents=True)
    for tool, status in (("uv", 0 if uv_works else 1), ("python", 0)):
        stub = venv / "bin" / tool
        stub.write_text(f'#!/bin/sh\nprintf "{tool}" >> {log}\nfor a in "$@"; do printf " [%s]" "$a" >> {log}; done\n'
                        f"echo >> {log}\nexit {status}\n")
        stub.chmod(0o755)
    subprocess.run(["bash", "-c", command], cwd=ROOT, check=True)
    whole = "".join(f" [{part}]" for part in requirement)
    calls = [f"uv [pip] [install] [--quiet] [--system-certs] [--python] [{venv}/bin/python] [-c] [requirements.lock]"
             f"{whole}"]
    if not uv_works:
        calls.append(f"python [-m] [pip] [install] [--quiet] [--no-compile] [-c] [requirements.lock]{whole}")
    assert log.read_text().splitlines() == calls


def _imported_top_level_packages() -> dict[str, str]:
    """{top-level module imported somewhere in src/ (not the standard library, not upstream): a file that imports it}."""
    import ast
    import sys

    found = {}
    for path in sorted((ROOT / "src" / "upstream").rglob("*.py")):
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "upstream":
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared():
    """Each package src/ imports is a direct dependency in pyproject (or in an extra other than dev:
    pyspark), not something that happens to come with papermill or jupyterlab."""
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [spec for group, specs in project["optional-dependencies"].items() if group != "dev" for spec in specs]
    declared = set(_pins(project["dependencies"] + extras))
    distributions = packages_distributions()
    undeclared = {}
    for module, where in _imported_top_level_packages().items():
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & declared:
            undeclared[module] = (sorted(names), where)
    assert not undeclared, f"imported but not declared in pyproject's dependencies: {undeclared}"
