"""The Great Expectations suites of the three tables: the JSON files in ``expectations/`` (the
rules of data/README.md, each with its human rule text as ``description``), fitted to one data
set's description (``dataset.yaml``) and built into GX suites."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .schema import SCHEMA

__all__ = ["EXPECTATIONS_DIR", "load_suite", "adapted_suite", "build_suite"]

EXPECTATIONS_DIR = Path(__file__).with_name("expectations")


@lru_cache(maxsize=None)
def _suite_text(table: str) -> str:
    return (EXPECTATIONS_DIR / f"{table}.json").read_text(encoding="utf-8")


def load_suite(table: str) -> dict:
    """The JSON expectation suite of ``table`` as a dict (a fresh copy)."""
    return json.loads(_suite_text(table))


def adapted_suite(table: str, description=None, columns=None) -> dict:
    """The JSON suite of ``table`` fitted to one data set's description (``dataset.yaml``):

    - expectations on an optional column (``Column.optional``) the file lacks are left out;
    - "required (no empty cells)" is left out for columns the description declares partial;
    - the CSAT value set is the declared scale's codes 1..k, and its rule text says so (without a
      ``dataset.yaml`` the suite is used exactly as written: "CSAT is a whole number from 1 to 5");
      a source without a CSAT (or NPS) question must leave the column empty;
    - where the suite still restricts ``channel`` to the four groups, a described data set may also
      use ``other`` (the group importers give vendor channels that are none of the four).
    """
    spec = load_suite(table)
    if description is None:
        return spec
    present = None if columns is None else set(columns)
    absent_optional = set() if present is None else {
        c.name for c in SCHEMA[table] if c.optional and c.name not in present}
    partial = set(description.partial(table))
    kept = []
    for entry in spec["expectations"]:
        kwargs = entry.get("kwargs", {})
        names = {kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs}
        if names & absent_optional:
            continue
        if entry["type"] == "expect_column_values_to_not_be_null" and names & partial:
            continue
        if entry["type"] == "expect_column_values_to_be_in_set" and names == {"csat"} and description.declared:
            scale = description.csat
            entry = {**entry, "kwargs": {**kwargs, "value_set": list(scale.codes) if scale.present else []}}
            entry["description"] = (
                f"CSAT is a whole number from 1 to {scale.points} (the {scale.summary()} in dataset.yaml)"
                if scale.present else "CSAT is empty (dataset.yaml: the source has no CSAT question)")
        if (entry["type"] == "expect_column_values_to_be_in_set" and names == {"channel"} and description.declared
                and "other" not in kwargs.get("value_set", [])):
            # imported data sets group vendor channels that are none of the four as "other"
            entry = {**entry, "kwargs": {**kwargs, "value_set": [*kwargs["value_set"], "other"]},
                     "description": "channel is one of " + ", ".join([*kwargs["value_set"], "other"])}
        if entry["type"] == "expect_column_values_to_be_in_set" and names == {"nps"} and not description.nps.present:
            entry = {**entry, "kwargs": {**kwargs, "value_set": []},
                     "description": "NPS is empty (dataset.yaml: the source has no NPS question)"}
        kept.append(entry)
    spec["expectations"] = kept
    return spec


def build_suite(gx, table: str, spec: dict | None = None):
    """The ExpectationSuite of ``table`` built from its JSON (or ``spec``, an adapted copy),
    failing loudly on a bad entry (GX's own ExpectationSuite(...) constructor only logs and drops
    an invalid expectation)."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    spec = load_suite(table) if spec is None else spec
    expectations = []
    for i, entry in enumerate(spec["expectations"]):
        if not entry.get("description"):
            raise ValueError(f"{table}.json expectation {i} has no description (rule text)")
        expectations.append(ExpectationConfiguration(**entry).to_domain_obj())
    suite = gx.ExpectationSuite(name=spec["name"], expectations=expectations,
                                meta=spec.get("meta"), notes=spec.get("notes"))
    if len(suite.expectations) != len(spec["expectations"]):
        raise ValueError(f"{table}.json: GX dropped some expectations while building the suite")
    return suite
