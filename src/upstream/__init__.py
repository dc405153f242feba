"""Upstream: separate the agent from the system in support satisfaction data."""
__version__ = "0.1.0"

from .models import clmm, glmer, lmer  # noqa: E402


def load_dataset(folder, validate: bool = True, docs_dir=None):
    """Read, parse and (by default) validate a data set folder; see upstream.data.load_dataset."""
    from .data import load_dataset as _load

    return _load(folder, validate=validate, docs_dir=docs_dir)


__all__ = ["lmer", "glmer", "clmm", "load_dataset", "__version__"]
