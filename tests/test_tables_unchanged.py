"""The published tables of the sample study are the same as before a change that is not meant to move
them (a refactor, a faster engine path): tests/fixtures/sample_tables/ holds them, made by its
make_tables.py.

Tolerances follow what the numbers are, not one machine's last digits. The fits stop when the
deviance changes by less than the optimiser's tolerance, so another BLAS or CPU moves an estimate by
about 1e-8 relative, and a variance parameter on its boundary (a slope SD near 0) by about 1e-7
absolute: an exact-to-1e-6 comparison failed on a second machine of the same kind for that reason.
A cell agrees when it is within RTOL of its own value or within SCALE_SHARE of its column's largest
magnitude: for an agent effect that is about 6e-5 points, a thousandth of its standard error (0.16),
so a change that moves any number by a hundredth of a standard error still fails."""
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sample_tables"
RTOL = 1e-4
SCALE_SHARE = 1e-4


def load_maker():
    spec = importlib.util.spec_from_file_location("make_tables", FIXTURES / "make_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    out = tmp_path_factory.mktemp("tables")
    load_maker().build(out)
    return out / "tables"


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "tables").glob("*.csv")))
def test_published_table_is_unchanged(tables, name):
    before = pd.read_csv(FIXTURES / "tables" / name, dtype=str, keep_default_na=False)
    after = pd.read_csv(tables / name, dtype=str, keep_default_na=False)
    assert list(after.columns) == list(before.columns)
    assert len(after) == len(before)
    for column in before.columns:
        a = pd.to_numeric(after[column].replace("", np.nan), errors="coerce")
        b = pd.to_numeric(before[column].replace("", np.nan), errors="coerce")
        if b.notna().sum() and a.notna().sum() == b.notna().sum():
            scale = float(np.nanmax(np.abs(b.to_numpy(float))))
            np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=RTOL, atol=SCALE_SHARE * scale,
                                       err_msg=f"{name}, column {column}")
        else:
            assert after[column].tolist() == before[column].tolist(), f"{name}, column {column}"
