"""environment.yml and pyproject.toml must list the same pinned dependencies; the Makefile and CI
must use the README's commands."""
import re
import tomllib
from pathlib import Path

import yaml

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
    expected = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
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
