"""The package's shape: layers you can see in the folder list, no import cycle (annotation-only
imports count), nothing importing upward, small modules and functions, no private name used outside
its module, every imported package declared, an analysis layer that uses only the engine's public
API, and each study one package (its pipeline above its own sentences, figures and page tables, which
sit on the shared reporting)."""
import ast
from pathlib import Path

import pytest
from source_tree import parsed

SRC = Path(__file__).resolve().parents[1] / "src" / "upstream"
#: Bottom to top: a module may import from its own layer and the layers below it only.
LAYERS = [
    {"models", "survey", "simulate", "data"},
    {"analysis"},
    {"reporting"},
    {"studies"},
    {"runner"},
    {"cli", "__init__", "__main__"},
]
MAX_LINES = 400


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(("upstream",) + parts)
        out[name[: -len(".__init__")] if name.endswith(".__init__") else name] = path
    return out


def runtime_nodes(tree):
    """Every node except those under `if TYPE_CHECKING:` (annotations only; never executed)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    return [n for n in ast.walk(tree) if id(n) not in skip]


def imports_of(name: str, path: Path, known: set[str], annotations: bool = False) -> set[str]:
    """Package modules imported by `name` at run time (relative imports resolved, imports inside
    functions included, `if TYPE_CHECKING:` blocks left out unless `annotations`)."""
    tree = parsed(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in (list(ast.walk(tree)) if annotations else runtime_nodes(tree)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            targets = [root] + [f"{root}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rsplit(".", 1)[0] if "." in target else ""
            if target and target != name:
                found.add(target)
    return found


def graph(annotations: bool = False) -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known, annotations) for name, path in mods.items()}


def layer_of(name: str) -> int:
    top = name.split(".")[1] if "." in name else "__init__"
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{name} is in no layer; add its folder to LAYERS")


def test_the_folder_list_shows_the_layers():
    folders = {p.name for p in SRC.iterdir() if p.is_dir() and not p.name.startswith("__")}
    assert {"data", "models", "survey", "analysis", "studies", "reporting", "runner", "simulate"} <= folders


def test_no_import_cycle():
    """Not even through `if TYPE_CHECKING:` imports: two modules whose types need each other share a
    concept that belongs in a module below both (data/schema.py's protocols, models/errors.py)."""
    g = graph(annotations=True)
    index, low, stack, on, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):                       # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    # a package's __init__ re-exporting its own submodules is not a cycle between layers
    real = [c for c in cycles if not all(m.startswith(min(c, key=len) + ".") or m == min(c, key=len) for m in c)]
    assert not real, f"import cycles: {real}"


def test_nothing_imports_upward():
    upward = [(a, b) for a, targets in graph().items() for b in targets
              if b != "upstream" and layer_of(b) > layer_of(a)]
    assert not upward, f"imports from a higher layer: {upward}"


def test_modules_are_small_or_say_why():
    big = []
    for name, path in modules().items():
        lines = path.read_text(encoding="utf-8").count("\n")
        doc = ast.get_docstring(parsed(path)) or ""
        if lines > MAX_LINES and "longer than 400 lines because" not in doc.lower():
            big.append((name, lines))
    assert not big, f"modules over {MAX_LINES} lines without a stated reason: {big}"


ENGINE_INTERNALS = ("structure", "fixed", "frame", "blocks", "optimum", "factor")


@pytest.mark.parametrize("folder", ["analysis", "studies", "reporting"])
def test_upper_layers_use_only_the_public_engine_api(folder):
    """No private attribute access, no engine internals, no engine submodule imports."""
    problems = []
    for path in (SRC / folder).rglob("*.py"):
        tree = parsed(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("models."):
                problems.append(f"{path.name}: imports upstream.{node.module}")
            if isinstance(node, ast.Attribute):
                owner = node.value
                is_fit = isinstance(owner, ast.Attribute) and owner.attr in ("fit", "boot") or \
                    isinstance(owner, ast.Name) and owner.id in ("fit", "boot", "alt", "null", "sim", "base")
                if is_fit and (node.attr.startswith("_") or node.attr in ENGINE_INTERNALS):
                    problems.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert not problems, problems


def names_defined_in(tree) -> set[str]:
    """Every name a module binds itself: functions, classes, variables, attributes it assigns, arguments."""
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.arg):
            own.add(node.arg)
    return own


def private_names_used_from_elsewhere(path: Path) -> list[str]:
    """`from x import _y`, and `obj._y` where `_y` is bound neither by this module nor on self/cls."""
    tree = parsed(path)
    own = names_defined_in(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [f"{path.name}:{node.lineno}: from {'.' * node.level}{node.module or ''} import {a.name}"
                      for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if not on_self and node.attr not in own:
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_private_name_is_used_outside_its_module():
    """A name another module needs is public, with a docstring; a `_name` stays inside its module."""
    used = [use for path in sorted(SRC.rglob("*.py")) for use in private_names_used_from_elsewhere(path)]
    assert not used, used


def test_private_name_check_finds_both_forms(tmp_path):
    source = tmp_path / "user.py"
    source.write_text("from .lmm import _BLAS\n\ndef f(res):\n    return res._factor.T\n", encoding="utf-8")
    assert private_names_used_from_elsewhere(source) == ["user.py:1: from .lmm import _BLAS",
                                                         "user.py:4: res._factor"]


MAX_FUNCTION_LINES = 80


def long_functions(path: Path) -> list[tuple[str, int]]:
    """(module:function, lines) for every function or method longer than MAX_FUNCTION_LINES lines,
    docstring and decorators included, nested functions counted in their parent."""
    tree = parsed(path)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            lines = node.end_lineno - start + 1
            if lines > MAX_FUNCTION_LINES:
                out.append((f"{path.relative_to(SRC).with_suffix('')}:{node.name}", lines))
    return out


#: Functions still over the limit, with their length today: each may only shrink, and leaves this list when
#: it is split (issue 19). None is left; nothing may be added.
NOT_YET_SPLIT: dict[str, int] = {}


def test_no_function_is_longer_than_80_lines():
    long = dict(item for path in SRC.rglob("*.py") for item in long_functions(path))
    new = {name: n for name, n in long.items() if n > NOT_YET_SPLIT.get(name, MAX_FUNCTION_LINES)}
    assert not new, f"functions over {MAX_FUNCTION_LINES} lines (split them by meaning): {new}"
    split = sorted(set(NOT_YET_SPLIT) - set(long))
    assert not split, f"now {MAX_FUNCTION_LINES} lines or fewer: take them off NOT_YET_SPLIT: {split}"


STUDY_PARTS = ("sentences", "plots", "display")   # a study's own presentation: below its pipeline


def study_packages() -> list[str]:
    return sorted(p.name for p in (SRC / "studies").iterdir() if (p / "__init__.py").is_file())


def test_reporting_holds_only_what_every_study_shares():
    """Sentences, figures and page tables of one study live in its package, not in reporting."""
    own = sorted(str(p.relative_to(SRC)) for folder in ("sentences", "plots", "display")
                 for p in (SRC / "reporting" / folder).glob("*.py")
                 if p.stem not in ("__init__", "common", "pages"))
    assert not own, f"study modules in reporting (move them to upstream/studies/<name>/): {own}"


def test_every_study_package_declares_itself_and_has_a_notebook():
    from upstream.studies import STUDY_NAMES, StudyDeclaration, declared

    notebooks = SRC.parents[1] / "notebooks"
    assert list(STUDY_NAMES) == study_packages()
    assert {"agent_vs_system", "survey_health", "trends", "qa_sample"} <= set(STUDY_NAMES)
    for name in STUDY_NAMES:
        study = declared(name)
        assert isinstance(study, StudyDeclaration) and study.name == name
        assert (notebooks / f"{name}.ipynb").is_file(), f"{name}: no notebooks/{name}.ipynb"
        assert study.page.__module__ == f"upstream.studies.{name}.display"
    with pytest.raises(KeyError, match="no study 'payroll' in upstream.studies; the studies are agent_scorecards, "
                                       "agent_vs_system, channel_audit"):
        declared("payroll")


def test_a_study_presentation_does_not_import_pipelines():
    """Inside a study package, sentences, plots and display are the reporting sub-layer: they may import
    reporting, analysis, the data layer and other studies' presentation, never a pipeline or the studies'
    shared steps (so the pipeline builds on them, not the reverse)."""
    g = graph()
    studies = {f"upstream.studies.{n}" for n in study_packages()}
    wrong = [(a, b) for a, targets in g.items() if a.rsplit(".", 1)[-1] in STUDY_PARTS and a.rsplit(".", 1)[0] in studies
             for b in targets if b.startswith("upstream.studies") and b.rsplit(".", 1)[-1] not in STUDY_PARTS]
    assert not wrong, f"a study's presentation imports a pipeline or studies' steps: {wrong}"
