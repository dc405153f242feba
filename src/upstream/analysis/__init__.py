"""The analysis layer: one question per module, each a set of pure functions over fitted models and
analysis frames (agents and verdicts, policies, variance shares, non-response, scorecards). It uses
only the public API of ``upstream.models`` and ``upstream.survey``."""
