"""An import's output (the canonical tables, the data-set description, the report) and writing
it to a folder atomically: everything goes to a temporary folder beside the target, which is
renamed into place only when every file was written."""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .errors import ImportInputError
from .report import ImportReport

TABLES = ("contacts", "surveys", "agents")


@dataclass(eq=False)
class ImportResult:
    """The three canonical tables (typed as ``upstream.load_dataset`` returns them), the
    ``dataset.yaml`` content and the :class:`ImportReport`."""

    contacts: pd.DataFrame = field(repr=False)
    surveys: pd.DataFrame = field(repr=False)
    agents: pd.DataFrame = field(repr=False)
    dataset: dict = field(repr=False)
    report: ImportReport = field(repr=False)
    mapping_text: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        rows = ", ".join(f"{t}={len(getattr(self, t)):,} rows" for t in TABLES)
        return f"ImportResult({self.report.vendor}/{self.report.format}, {rows})"

    def write(self, out: str | Path) -> Path:
        """Write contacts.csv, surveys.csv, agents.csv, dataset.yaml, import_report.json,
        import_report.html (and mapping.yaml when one was used) into ``out``, which must not
        exist or be empty. On any failure nothing is left at ``out``."""
        out = Path(out)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ImportInputError(
                f"{out}: the output folder exists and is not empty; nothing was written "
                "(choose a new folder)", out.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        try:
            for table in TABLES:
                _to_csv(getattr(self, table), tmp / f"{table}.csv")
            (tmp / "dataset.yaml").write_text(
                yaml.safe_dump(_plain(self.dataset), sort_keys=False, allow_unicode=True),
                encoding="utf-8")
            (tmp / "import_report.json").write_text(self.report.to_json(), encoding="utf-8")
            (tmp / "import_report.html").write_text(self.report.to_html(), encoding="utf-8")
            if self.mapping_text is not None:
                (tmp / "mapping.yaml").write_text(self.mapping_text, encoding="utf-8")
            if out.exists():
                out.rmdir()
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


def _to_csv(frame: pd.DataFrame, path: Path) -> None:
    frame = frame.copy()
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            frame[col] = s.dt.strftime("%Y-%m-%dT%H:%M:%S").where(s.notna(), "")
        elif pd.api.types.is_bool_dtype(s):
            frame[col] = pd.Series(np.where(s.fillna(False), "true", "false"), index=s.index).where(
                s.notna(), "")
    frame.to_csv(path, index=False, float_format="%.10g", encoding="utf-8")


def _plain(value):
    """dataset dict -> YAML-safe plain types (timestamps as ISO text)."""
    if isinstance(value, dict):
        return {(_plain(k) if not isinstance(k, (str, int)) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
