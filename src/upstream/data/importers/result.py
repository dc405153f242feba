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
    contact_agents: pd.DataFrame | None = field(default=None, repr=False)   # optional table (shared credit)

    def __repr__(self) -> str:
        rows = ", ".join(f"{t}={len(getattr(self, t)):,} rows" for t in TABLES)
        return f"ImportResult({self.report.vendor}/{self.report.format}, {rows})"

    def write(self, out: str | Path, fmt: str = "csv", validate: bool = False) -> Path:
        """Write contacts, surveys and agents (``fmt`` csv or parquet), dataset.yaml,
        import_report.json, import_report.html (and mapping.yaml when one was used) into ``out``,
        which must not exist or be empty. With ``validate`` the written data set must pass
        ``load_dataset``'s validation first. On any failure nothing is left at ``out``: the files
        go to a temporary folder beside it, renamed into place only when all is well."""
        out = Path(out)
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"fmt must be csv or parquet, not {fmt!r}")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ImportInputError(
                f"{out}: the output folder exists and is not empty; nothing was written "
                "(choose a new folder)", out.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        try:
            for table in TABLES + (("contact_agents",) if self.contact_agents is not None else ()):
                frame = getattr(self, table)
                if fmt == "csv":
                    _to_csv(frame, tmp / f"{table}.csv")
                else:
                    frame.to_parquet(tmp / f"{table}.parquet", index=False)
            (tmp / "dataset.yaml").write_text(
                yaml.safe_dump(_plain(self.dataset), sort_keys=False, allow_unicode=True),
                encoding="utf-8")
            (tmp / "import_report.json").write_text(self.report.to_json(), encoding="utf-8")
            (tmp / "import_report.html").write_text(self.report.to_html(), encoding="utf-8")
            if self.mapping_text is not None:
                (tmp / "mapping.yaml").write_text(self.mapping_text, encoding="utf-8")
            if validate:
                _validate(tmp)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


def _validate(folder: Path) -> None:
    """load_dataset's validation of the written folder, its failures as an ImportInputError."""
    from ..loading import load_dataset
    from ..schema import DataError

    try:
        load_dataset(folder, validate=True)
    except DataError as err:
        paragraphs = "\n\n".join(f.message for f in err.failures)
        raise ImportInputError("the imported tables do not pass Upstream's validation, so nothing was written:\n\n"
                               + paragraphs) from err


def _to_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV with a header: times ISO 8601 (UTC, no offset), true/false, empty = missing
    (Arrow's writer: fast on millions of rows)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    frame = frame.copy()
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            text = np.datetime_as_string(s.to_numpy().astype("datetime64[s]"))
            frame[col] = pd.Series(text, index=s.index, dtype="str").where(s.notna())
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path,
                    pacsv.WriteOptions(quoting_style="needed"))


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
    if value is pd.NaT:
        return None
    return value
