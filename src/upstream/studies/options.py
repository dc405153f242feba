"""Study-specific parameters: a study subclasses ``Parameters`` with its own fields and builds it with
`own_parameters`, which checks the shared fields as ``Parameters.from_mapping`` does and the study's own
by the type of their defaults (whole numbers ≥ 0, numbers, true/false, text or None)."""
from __future__ import annotations

import dataclasses

from .allowed import check_ranges
from .base import ParameterError, Parameters


def own_parameters(cls, values: dict | None, more: dict):
    """An instance of `cls` (a ``Parameters`` subclass) from `values` and `more` (ParameterError on an
    unknown name or a wrong type)."""
    values = {**(values or {}), **more}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    shared = {f.name for f in dataclasses.fields(Parameters)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ParameterError(f"unknown study parameter(s): {', '.join(unknown)} (known: {', '.join(fields)})")
    own = {}
    for name in [n for n in values if n not in shared]:
        value, default = values.pop(name), fields[name].default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ParameterError(f"{name} must be true or false, got {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ParameterError(f"{name} must be a whole number >= 0, got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParameterError(f"{name} must be a number, got {value!r}")
            value = float(value)
        elif value is not None and (not isinstance(value, str) or not value.strip()):
            raise ParameterError(f"{name} must be a non-empty text or None, got {value!r}")
        own[name] = value
    base = Parameters.from_mapping(values)
    params = cls(**base.as_dict(), **own)
    check_ranges(params)  # the ranges declared on the study's own fields
    return params
