"""The engine's input error, below every model module (``checks`` raises it and imports ``formula``;
``formula`` raises it too, so it lives here rather than in either)."""
from __future__ import annotations

__all__ = ["ModelInputError"]


class ModelInputError(ValueError):
    """Input that lmer, glmer, clmm, predict or bootstrap cannot use. The message names the argument
    or column, the rule it breaks, and a few offending values or row labels."""
