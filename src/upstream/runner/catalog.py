"""The project's studies: a study found by name or path from any folder (``resolve_study``), and
``upstream studies`` (and ``upstream run --list``): the studies with the question each answers and the
parameters ``-p`` can set (name, default, what is allowed), read from the study files, the notebooks'
parameters cells and the studies' parameters classes (``upstream.studies.allowed``)."""
from __future__ import annotations

import ast
import difflib
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from .guards import SECRET_PARAMETERS
from .spec import (
    DEFAULT_STUDY,
    RUNNER_PARAMETERS,
    STUDIES_FOLDER,
    StudyError,
    cli_text,
    declared_parameters,
    did_you_mean,
    repo_root,
    study_parameters_class,
)


def project_studies() -> dict[str, Path]:
    """Study name (file stem) → YAML file, for the studies in the project's ``studies/`` folder."""
    folder = repo_root() / STUDIES_FOLDER
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def resolve_study(text: str) -> Path:
    """The study file `text` names: a path (from the cwd, else from the project), or a bare study name
    (``quarterly_review``) of the project's ``studies/`` folder. StudyError with "did you mean" and the
    list of studies when there is no such study."""
    given = Path(text).expanduser()
    if given.is_file():
        return given
    studies = project_studies()
    looks_like_path = given.suffix in (".yaml", ".yml") or "/" in text or os.sep in text
    if not looks_like_path:
        if text in studies:
            return studies[text]
        close = difflib.get_close_matches(text, list(studies), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "."
        listing = f" The studies are: {', '.join(studies)} (`upstream studies` describes them)." if studies else ""
        raise StudyError(f"unknown study '{text}'{hint}{listing}")
    if not given.is_absolute() and (repo_root() / given).is_file():
        return repo_root() / given
    hint = did_you_mean(given.stem, studies) if given.stem not in studies else ""
    raise StudyError(f"study file not found: {text}{hint}")


@dataclass(frozen=True)
class ParameterInfo:
    """One parameter a study's notebooks declare: its default (the study file's, else the notebook's),
    what it accepts, and the notebook's comment on it."""

    name: str
    default: str
    allowed: str
    help: str


@dataclass(frozen=True)
class StudyInfo:
    name: str
    title: str
    question: str
    notebooks: tuple[str, ...]
    parameters: tuple[ParameterInfo, ...]
    default: bool = False


def describe_study(path: Path) -> StudyInfo:
    """What a study file asks and which parameters its notebooks take (StudyError on an unreadable file)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise StudyError(f"{path}: cannot read the study file ({type(err).__name__})") from None
    if not isinstance(raw, dict):
        raise StudyError(f"{path}: a study file must be a mapping")
    given = dict(raw.get("parameters") or {})
    notebooks, params = [], {}
    for entry in raw.get("notebooks") or []:
        rel = entry.get("path") if isinstance(entry, dict) else entry
        nb_given = {**given, **((entry.get("parameters") or {}) if isinstance(entry, dict) else {})}
        nb_path = (path.parent / str(rel)).resolve()
        notebooks.append(nb_path.stem)
        declared = declared_parameters(nb_path) if nb_path.is_file() else None
        rules = _allowed_texts(nb_path)
        for name, info in (declared or {}).items():
            if name in RUNNER_PARAMETERS or name in SECRET_PARAMETERS or name in params:
                continue
            default = cli_text(nb_given[name]) if name in nb_given else _notebook_default(info.get("default", ""))
            allowed = rules.get(name) or _type_text(info.get("inferred_type_name", ""))
            params[name] = ParameterInfo(name, default, allowed, " ".join(str(info.get("help") or "").split()))
    return StudyInfo(name=path.stem, title=str(raw.get("title") or path.stem),
                     question=" ".join(str(raw.get("question") or "").split()), notebooks=tuple(notebooks),
                     parameters=tuple(params.values()), default=path.name == DEFAULT_STUDY.name)


def _allowed_texts(notebook: Path) -> dict[str, str]:
    from upstream.studies.allowed import allowed_values

    cls = study_parameters_class(notebook)
    return {} if cls is None else {name: rule.describe() for name, rule in allowed_values(cls).items()}


def _notebook_default(source: str) -> str:
    try:
        return cli_text(ast.literal_eval(source))
    except (ValueError, SyntaxError):
        return source


def _type_text(type_name: str) -> str:
    return {"float": "a number", "int": "a whole number", "bool": "true or false", "str": "a text",
            "None": ""}.get(type_name, type_name)


def studies_text() -> str:
    """The listing ``upstream studies`` prints."""
    studies = project_studies()
    if not studies:
        return "No studies/ folder found in the project.\n"
    blocks = []
    for path in studies.values():
        info = describe_study(path)
        lines = [f"{info.name}{' (default)' if info.default else ''}: {info.title}"]
        if info.question:
            lines.append(f"  {info.question}")
        if len(info.notebooks) > 1:
            lines.append(f"  notebooks: {', '.join(info.notebooks)}")
        if info.parameters:
            lines.append("  parameters (-p NAME=VALUE; default, allowed):")
            width = max(len(p.name) for p in info.parameters)
            for p in info.parameters:
                lines.append(f"    {p.name:<{width}}  {p.default:<6}  {p.allowed}")
        blocks.append("\n".join(lines))
    return ("\n\n".join(blocks) + "\n\nRun one with `upstream run NAME` (from any folder), e.g. `upstream run "
            "quarterly_review -p reliability_threshold=0.8`.\n")
