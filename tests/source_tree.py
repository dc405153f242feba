"""The package's modules parsed once per test process: the architecture tests (test_architecture, test_constants,
test_environment, test_model_formula) each walk the syntax tree of every module, about 1,700 parses of 230 files."""
from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "upstream"


@functools.lru_cache(maxsize=None)
def parsed(path: Path) -> ast.Module:
    """The syntax tree of the source file at ``path`` (shared: read it, do not change it)."""
    return ast.parse(Path(path).read_text(encoding="utf-8"), str(path))
