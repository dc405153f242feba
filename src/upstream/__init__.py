"""Upstream: separate the agent from the system in support satisfaction data."""
__version__ = "0.1.0"

#: The engine's fits, imported when first used (PEP 562): the ``upstream`` command's own process (argument
#: checks, validation, the runner) does not need the engine, and importing it costs about a second.
_ENGINE = ("lmer", "glmer", "clmm")


def __getattr__(name: str):
    if name in _ENGINE:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module 'upstream' has no attribute {name!r}")


def load_dataset(folder, validate: bool = True, docs_dir=None):
    """Read, parse and (by default) validate a data set folder; see upstream.data.load_dataset."""
    from .data import load_dataset as _load

    return _load(folder, validate=validate, docs_dir=docs_dir)


__all__ = ["lmer", "glmer", "clmm", "load_dataset", "__version__"]
