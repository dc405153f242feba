"""Upstream: separate the agent from the system in support satisfaction data."""
__version__ = "0.1.0"

from .mixed import lmer  # noqa: E402

__all__ = ["lmer", "__version__"]
